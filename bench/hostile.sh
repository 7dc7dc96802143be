#!/usr/bin/env bash
# Peak RSS and time of `connlint check` on the hostile captures of the memory budget (issue 16),
# made by bench/hostile.py, at full size (the README's robustness table) or scaled down.
#
# Usage: bench/hostile.sh [-b BIN] [-s SCALE] [-d DIR] [-- extra connlint args]
#   -b BIN     connlint binary (default: target/release/connlint)
#   -s SCALE   divide every class's connection count by SCALE (default 1: full size, GBs of disk)
#   -d DIR     where the captures are made and kept (default /work/bench-data/hostile)
# Prints a Markdown table: capture, file size, peak RSS, peak accounted memory, time, exit code,
# limits reached. Requires GNU time (/usr/bin/time) and python3.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=$here/../target/release/connlint
scale=1
dir=/work/bench-data/hostile
while (($#)); do
    case "$1" in
        -b) bin=$2; shift 2 ;;
        -s) scale=$2; shift 2 ;;
        -d) dir=$2; shift 2 ;;
        --) shift; break ;;
        *) sed -n '2,11p' "$0"; exit 64 ;;
    esac
done
mkdir -p "$dir"
# class, connections at full size, extra generator options
classes=(
    "heads 65000"
    "heads2 65000"
    "heads 200000"
    "pipelined 10000"
    "pipelined 20000"
    "uris 300000"
    "keepalive 40000"
    "short 1000000"
    "interfaces 200"
)
echo "| capture | size | peak RSS | peak accounted | time | exit | limits reached |"
echo "|---|---:|---:|---:|---:|---:|---|"
for c in "${classes[@]}"; do
    read -r class n <<<"$c"
    n=$((n / scale))
    ext=pcap; [[ $class == interfaces ]] && ext=pcapng
    f=$dir/$class-$n.$ext
    [[ -s $f ]] || python3 "$here/hostile.py" "$class" "$f" --connections "$n"
    out=$(mktemp); err=$(mktemp); t=$(mktemp)
    /usr/bin/time -o "$t" -f '%M %e %x' "$bin" check --format json --stats "$@" "$f" >"$out" 2>"$err" || true
    read -r kib secs code < <(tail -n 1 "$t")
    acc=$(grep -o 'peak accounted memory [0-9.]* MiB' "$err" | grep -o '[0-9.]* MiB' || echo '-')
    hit=$(python3 -c "import json,sys; print(', '.join(f'{k} {v}' for k,v in json.load(open(sys.argv[1]))['captures'][0]['limits_hit'].items()))" "$out" 2>/dev/null || echo '?')
    printf '| %s %s | %s MB | %s MiB | %s | %s s | %s | %s |\n' "$class" "$n" "$(($(stat -c %s "$f") / 1000000))" \
        "$((kib / 1024))" "$acc" "$secs" "$code" "$hit"
    rm -f "$out" "$err" "$t"
done
