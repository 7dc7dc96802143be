#!/usr/bin/env bash
# Peak resident memory of connlint's commands on growing prefixes of one capture: memory must follow
# the connections open at once, not the capture (issue 10: the same within 10% at 1/8, 1/4, 1/2 and
# the whole churn capture, and under 64 MiB). Optionally the instruction count of each command on the
# smallest prefix (valgrind --tool=callgrind), a measure of per-connection cost that, unlike wall time,
# does not move with the load of a shared machine.
#
# Usage: bench/memory.sh [options] [CAPTURE]     (see -h)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

usage() {
    cat <<'EOF'
Usage: bench/memory.sh [options] [CAPTURE]

Makes the prefixes CAPTURE-1of8/-1of4/-1of2.pcap next to CAPTURE (default
/work/bench-data/churn.pcap, made by `bench/record.sh -C`) with editcap if they are missing, runs
check (json), connections (jsonl) and transactions (jsonl) on each and on the whole capture under
/usr/bin/time, and prints a Markdown table of peak RSS (MiB) per command and size, with the largest
over the smallest. For the synthetic bounds (a million SYNs, a million one-request
connections), make CAPTURE with bench/generate.py first.

Options:
  -b, --bin PATH     connlint binary (default: <repo>/target/release/connlint)
  -c, --callgrind    also count instructions on the 1/8 prefix (valgrind --tool=callgrind; slow)
  -h, --help         this help
Requires: GNU time (/usr/bin/time), editcap and capinfos (wireshark-common); valgrind for -c.
EOF
}

capture=/work/bench-data/churn.pcap
bin=$repo/target/release/connlint
callgrind=no
while (($#)); do
    case "$1" in
        -b | --bin) bin=${2:?"-b needs a path"}; shift 2 ;;
        -c | --callgrind) callgrind=yes; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) echo "memory.sh: unknown option $1 (see -h)" >&2; exit 64 ;;
        *) capture=$1; shift ;;
    esac
done

die() { echo "memory.sh: $*" >&2; exit 1; }
[[ -r $capture ]] || die "cannot read capture $capture; record one with: sudo bench/record.sh -C"
[[ -x $bin ]] || die "no connlint binary at $bin (cargo build --release, or pass -b PATH)"
[[ -x /usr/bin/time ]] || die "GNU time is missing at /usr/bin/time; install it with: apt-get install -y time"

base=${capture%.pcap}
packets=$(capinfos -c -M "$capture" 2>/dev/null | awk -F': *' '/Number of packets/ { print $2 }')
sizes=()
for n in 8 4 2; do
    slice=$base-1of$n.pcap
    if [[ ! -s $slice || $slice -ot $capture ]]; then
        command -v editcap >/dev/null || die "editcap is missing; install wireshark-common"
        editcap -r "$capture" "$slice" "1-$((packets / n))"
    fi
    sizes+=("$slice")
done
sizes+=("$capture")

commands=("check --format json" "connections --format jsonl" "transactions --format jsonl")

# Peak RSS in KiB of one run ("Maximum resident set size" of GNU time).
peak_kib() {
    local out
    out=$(mktemp)
    /usr/bin/time -o "$out" -f '%M' "$bin" "$@" >/dev/null 2>&1 || true
    tail -n 1 "$out"
    rm -f "$out"
}

printf '| command |'
for f in "${sizes[@]}"; do printf ' %s |' "$(basename "$f" .pcap)"; done
printf ' largest / smallest |\n|---|'
for _ in "${sizes[@]}"; do printf -- '---:|'; done
printf -- '---:|\n'
for c in "${commands[@]}"; do
    printf '| `%s` |' "$c"
    lo='' hi=''
    for f in "${sizes[@]}"; do
        # shellcheck disable=SC2086 # $c is a word list on purpose
        k=$(peak_kib $c "$f")
        printf ' %.1f |' "$(bc -l <<<"$k / 1024")"
        [[ -z $lo || $k -lt $lo ]] && lo=$k
        [[ -z $hi || $k -gt $hi ]] && hi=$k
    done
    printf ' %.2f |\n' "$(bc -l <<<"$hi / $lo")"
done

if [[ $callgrind == yes ]]; then
    command -v valgrind >/dev/null || die "valgrind is missing; install it with: apt-get install -y valgrind"
    echo
    echo "| command on $(basename "${sizes[0]}") | instructions (callgrind Ir) |"
    echo "|---|---:|"
    for c in "${commands[@]}"; do
        out=$(mktemp)
        # shellcheck disable=SC2086
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" $c "${sizes[0]}" >/dev/null 2>"$out" || true
        ir=$(awk '/Collected :/ { print $NF }' "$out")
        rm -f "$out"
        printf '| `%s` | %s |\n' "$c" "$ir"
    done
fi
