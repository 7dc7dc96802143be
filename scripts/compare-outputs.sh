#!/usr/bin/env bash
# Shows that a change left connlint's output unchanged, byte for byte, on every capture the
# project ships (tests/corpus/files and samples): every listing and finding format, stdout,
# stderr and exit code, with the binary before and after the change.
#
#   scripts/compare-outputs.sh OLD_BIN NEW_BIN          compare two builds
#   scripts/compare-outputs.sh --dump BIN DIR           write one build's outputs into DIR
#
# For a refactor: build main, copy target/release/connlint aside, build the branch, and run
#   scripts/compare-outputs.sh /tmp/connlint-main target/release/connlint
# It prints the differing files (as `diff -r` does) and exits 1 on any difference, 0 when none.
set -euo pipefail
cd "$(dirname "$0")/.."

dump() {  # bin dir
    local bin=$1 dir=$2 f name n=0
    mkdir -p "$dir"
    for f in tests/corpus/files/* samples/*.pcap; do
        name=$(basename "$f")
        for run in "connections --format json" "connections --format jsonl" "connections" \
                   "transactions --format json" "transactions --format jsonl" "transactions" \
                   "check --format json" "check --format jsonl" "check" "check --no-group" \
                   "check --format sarif" "check --format junit" "check --format github" \
                   "check --statistics"; do
            local out="$dir/$name.${run// /_}"
            # shellcheck disable=SC2086 # $run is a word list on purpose
            "$bin" $run "$f" >"$out.stdout" 2>"$out.stderr" && echo 0 >"$out.rc" || echo $? >"$out.rc"
        done
        n=$((n + 1))
    done
    for run in "rules" "rules --format json" "limits"; do
        # shellcheck disable=SC2086
        "$bin" $run >"$dir/_${run// /_}.stdout" 2>&1 || true
    done
    echo "compare-outputs: $n captures x 14 runs -> $dir" >&2
}

if [[ ${1:-} == --dump ]]; then
    dump "$2" "$3"
    exit 0
fi
if [[ $# -ne 2 ]]; then
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dump "$1" "$work/old"
dump "$2" "$work/new"
if diff -rq "$work/old" "$work/new"; then
    echo "compare-outputs: identical ($(find "$work/old" -type f | wc -l) files)"
else
    echo "compare-outputs: outputs differ (see above)" >&2
    exit 1
fi
