#!/usr/bin/env bash
# The cost of decryption: `connlint check` on the TLS keep-alive capture with its key log against
# `check` on the same traffic in the clear, both recorded by bench/record.sh (`-S 1.3`: curl and nginx
# over TLS 1.3 with AES-128-GCM, key log OUT.keylog; `-L curl`: the same curl traffic in the clear).
#
# Usage: bench/tls.sh [-b BIN] [-n RUNS] [-c PACKETS] [TLS.pcap [CLEAR.pcap]]
#
#   -b BIN      connlint binary (default target/release/connlint)
#   -n RUNS     timed runs of each (default 5), alternated TLS, clear, TLS, clear, ... so that other
#               load on the machine hits both alike; the medians and the median of the pairwise
#               ratios are printed; 0: no timed runs (with -c: instruction counts only)
#   -c PACKETS  also count instructions with callgrind on the first PACKETS packets of each capture
#               (repeatable under load; default 0: skip)
#
# Prints, for each: median wall seconds, MB/s of capture (10^6 bytes), transactions read, and the
# TLS/clear ratios per byte and per transaction (the target: within 3x). Defaults:
# /work/bench-data/keepalive-tls13.pcap (key log beside it) and /work/bench-data/keepalive-curl.pcap.
set -euo pipefail

bin=target/release/connlint
runs=5
slice=0
while getopts ':b:n:c:h' opt; do
    case "$opt" in
        b) bin=$OPTARG ;;
        n) runs=$OPTARG ;;
        c) slice=$OPTARG ;;
        h) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "tls.sh: see -h" >&2; exit 64 ;;
    esac
done
shift $((OPTIND - 1))
tls=${1:-/work/bench-data/keepalive-tls13.pcap}
clear=${2:-/work/bench-data/keepalive-curl.pcap}
keylog=$tls.keylog
for f in "$bin" "$tls" "$keylog" "$clear"; do
    [[ -e $f ]] || { echo "tls.sh: $f not found (bench/record.sh -S 1.3 and -L curl record them)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/connlint-tls-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

tls_cmd=("$bin" check --format json --keylog "$keylog" "$tls")
clear_cmd=("$bin" check --format json "$clear")
if ((runs == 0 && slice == 0)); then
    echo "tls.sh: -n 0 without -c measures nothing" >&2
    exit 64
fi

# What each reads: transactions, and that the TLS capture was decrypted (every TLS connection
# `tls: decrypted`, none left for the note).
transactions() {
    "$@" 2>/dev/null | python3 -c '
import json, sys
doc = json.load(sys.stdin)
caps = doc["captures"]
print(sum(c["transactions"] for c in caps), sum(c.get("tls_connections", 0) for c in caps))'
}
if ((runs > 0)); then
read -r tls_tx tls_left < <(transactions "${tls_cmd[@]}")
read -r clear_tx _ < <(transactions "${clear_cmd[@]}")
if ((tls_left > 0)); then
    echo "tls.sh: $tls_left TLS connections were not decrypted with $keylog" >&2
fi

now() { date +%s%N; }
timed() { # timed CMD...: wall nanoseconds
    local t0
    t0=$(now)
    "$@" >/dev/null 2>&1 || true # check exits 1 with findings
    echo $(($(now) - t0))
}
"${tls_cmd[@]}" >/dev/null 2>&1 || true # warm the page cache
"${clear_cmd[@]}" >/dev/null 2>&1 || true
: >"$work/times"
for ((i = 0; i < runs; i++)); do
    echo "$(timed "${tls_cmd[@]}") $(timed "${clear_cmd[@]}")" >>"$work/times"
done

tls_bytes=$(stat -c %s "$tls")
clear_bytes=$(stat -c %s "$clear")
python3 - "$work/times" "$tls_bytes" "$clear_bytes" "$tls_tx" "$clear_tx" <<'EOF'
import statistics, sys
rows = [tuple(int(x) / 1e9 for x in l.split()) for l in open(sys.argv[1])]
tb, cb, tt, ct = (int(x) for x in sys.argv[2:6])
t = statistics.median(r[0] for r in rows)
c = statistics.median(r[1] for r in rows)
pair = statistics.median(r[0] / r[1] for r in rows)
print(f"{'':28} {'wall s (median)':>16} {'MB/s':>8} {'transactions':>13} {'us/transaction':>15}")
print(f"{'TLS 1.3 with the key log':28} {t:16.3f} {tb / t / 1e6:8.0f} {tt:13} {t / tt * 1e6:15.1f}")
print(f"{'same traffic in the clear':28} {c:16.3f} {cb / c / 1e6:8.0f} {ct:13} {c / ct * 1e6:15.1f}")
print(f"TLS/clear, {len(rows)} alternated pairs: wall {pair:.2f}x (median of the pairs), "
      f"per byte {(t / tb) / (c / cb):.2f}x, per transaction {(t / tt) / (c / ct):.2f}x")
EOF
fi

if ((slice > 0)); then
    command -v valgrind >/dev/null && command -v editcap >/dev/null ||
        { echo "tls.sh: -c needs valgrind and editcap" >&2; exit 1; }
    editcap -r "$tls" "$work/tls.pcap" "1-$slice" >/dev/null
    editcap -r "$clear" "$work/clear.pcap" "1-$slice" >/dev/null
    ir() { # ir OUT CMD...: instructions executed
        valgrind --tool=callgrind --callgrind-out-file="$1" "${@:2}" >/dev/null 2>&1 || true
        callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
    }
    ti=$(ir "$work/cg.tls" "$bin" check --format json --keylog "$keylog" "$work/tls.pcap")
    ci=$(ir "$work/cg.clear" "$bin" check --format json "$work/clear.pcap")
    read -r ttx _ < <(transactions "$bin" check --format json --keylog "$keylog" "$work/tls.pcap")
    read -r ctx _ < <(transactions "$bin" check --format json "$work/clear.pcap")
    tsz=$(stat -c %s "$work/tls.pcap")
    csz=$(stat -c %s "$work/clear.pcap")
    python3 -c "
ti, ci, tsz, csz, ttx, ctx = $ti, $ci, $tsz, $csz, $ttx, $ctx
print(f'callgrind, first $slice packets: TLS {ti:,} instructions ({ti / tsz:.2f}/byte, {ti / max(ttx, 1):,.0f}/transaction), '
      f'clear {ci:,} ({ci / csz:.2f}/byte, {ci / max(ctx, 1):,.0f}/transaction): '
      f'{(ti / tsz) / (ci / csz):.2f}x per byte, {(ti / max(ttx, 1)) / (ci / max(ctx, 1)):.2f}x per transaction')"
    if [[ -n ${KEEP_CALLGRIND:-} ]]; then
        cp "$work/cg.tls" "$work/cg.clear" "$KEEP_CALLGRIND"/
    fi
fi
