#!/usr/bin/env bash
# Runs connlint's fuzz targets, one after another, for a given time each.
#
#   scripts/fuzz.sh SECONDS [TARGET...]     e.g. scripts/fuzz.sh 600   (10 min per target)
#
# Targets: capture_reader decode reassembly http pipeline tls decrypt (all when none is
# named). Needs a nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz --locked`); seeding the http corpus uses tshark.
#
# Corpora live in fuzz/corpus/<target> (seeded by fuzz/seed.py when empty),
# crashes in fuzz/artifacts/<target>; both stay out of git. Environment:
#   FUZZ_RUNS=N      stop a target after N executions as well (default: no limit)
#   FUZZ_JOBS=N      run N targets at once (default 1; the machine has 2 cores)
#   FUZZ_ARGS="..."  more libFuzzer flags
#   FUZZ_SANITIZER=none  build and run without AddressSanitizer (cargo fuzz -s none):
#                    connlint has no `unsafe`, and a target whose time goes to ASan's
#                    allocator bookkeeping runs faster (debug assertions stay on)
# At the end a table per target: executions, exec/s, corpus size and the
# crashes, timeouts and out-of-memory inputs found (from libFuzzer's final
# stats and the artifacts written during the run).
set -euo pipefail

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

[ $# -ge 1 ] || usage
case "$1" in
    '' | *[!0-9]*) usage ;;
esac
seconds=$1
shift
all=(capture_reader decode reassembly http pipeline tls decrypt)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $t "* ]] || { echo "unknown target: $t (one of: ${all[*]})" >&2; exit 2; }
done

root=$(cd "$(dirname "$0")/.." && pwd)
fuzz=$root/fuzz
# Logs under artifacts/, which git ignores.
logs=$fuzz/artifacts/logs
mkdir -p "$logs"
cd "$fuzz"

# Flags per target: dictionaries, and input sizes that fit what the target reads.
target_args() {
    case "$1" in
        capture_reader | pipeline) echo "-dict=dict/capture.dict -max_len=65536" ;;
        decode) echo "-dict=dict/capture.dict -max_len=16384" ;;
        reassembly) echo "-max_len=4096" ;;
        http) echo "-dict=dict/http.dict -max_len=65536" ;;
        tls) echo "-dict=dict/tls.dict -max_len=65536" ;;
        # Sealed scripts are short (a few hundred bytes make a connection of
        # many records); raw seeds are real streams.
        decrypt) echo "-dict=dict/decrypt.dict -max_len=16384" ;;
    esac
}

echo "building fuzz targets (nightly, debug assertions on)..."
sanitizer=()
[ -n "${FUZZ_SANITIZER:-}" ] && sanitizer=(-s "$FUZZ_SANITIZER")
cargo +nightly fuzz build -a "${sanitizer[@]}" >"$logs/build.log" 2>&1 || { tail -30 "$logs/build.log"; exit 1; }
python3 "$fuzz/seed.py" "${targets[@]}"

run_one() {
    local t=$1
    mkdir -p "corpus/$t" "artifacts/$t"
    # Artifacts present before the run are not this run's findings.
    find "artifacts/$t" -type f | sort >"$logs/$t.before"
    local start runs=()
    start=$(date +%s)
    [ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
    # shellcheck disable=SC2046 # the flags are words
    cargo +nightly fuzz run -a "${sanitizer[@]}" "$t" "corpus/$t" -- \
        -max_total_time="$seconds" "${runs[@]}" \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        $(target_args "$t") ${FUZZ_ARGS:-} >"$logs/$t.log" 2>&1 || true
    find "artifacts/$t" -type f | sort >"$logs/$t.after"
    echo $(($(date +%s) - start)) >"$logs/$t.seconds"
}

jobs=${FUZZ_JOBS:-1}
for t in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
    echo "fuzzing $t for ${seconds}s (log: fuzz/artifacts/logs/$t.log)"
    run_one "$t" &
done
wait

stat() { # stat NAME LOG: a value of libFuzzer's final stats
    grep -m1 "^stat::$1:" "$2" | awk '{print $2}'
}

printf '\n%-15s %12s %8s %8s %8s %8s %8s %8s\n' target executions seconds exec/s corpus crashes timeouts ooms
status=0
for t in "${targets[@]}"; do
    log=$logs/$t.log
    execs=$(stat number_of_executed_units "$log")
    secs=$(cat "$logs/$t.seconds")
    rate=$(stat average_exec_per_sec "$log")
    corpus=$(find "corpus/$t" -type f | wc -l)
    new=$(comm -13 "$logs/$t.before" "$logs/$t.after")
    crashes=$(grep -c '/crash-' <<<"$new" || true)
    timeouts=$(grep -c '/timeout-' <<<"$new" || true)
    ooms=$(grep -c '/oom-' <<<"$new" || true)
    leaks=$(grep -c '/leak-' <<<"$new" || true)
    crashes=$((crashes + leaks))
    printf '%-15s %12s %8s %8s %8s %8s %8s %8s\n' "$t" "${execs:-?}" "$secs" "${rate:-?}" \
        "$corpus" "$crashes" "$timeouts" "$ooms"
    if [ -n "$new" ]; then
        status=1
        sed 's/^/    new: /' <<<"$new"
    fi
    if [ -z "$execs" ]; then
        status=1
        echo "    no final stats: see fuzz/artifacts/logs/$t.log"
    fi
done
exit $status
