#!/usr/bin/env bash
# Measures connlint against the two yardsticks of its throughput targets on one capture, in one run:
#   cat F >/dev/null  - the ceiling: reading the bytes and nothing else (target: connlint >= 50% of it)
#   tshark            - what people use today (target: connlint >= 40x faster)
# and records peak RSS (target: < 64 MB, flat as captures grow). Prints a Markdown table for the README.
#
# Usage: bench/run.sh [options] [CAPTURE]     (see -h)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

usage() {
    cat <<'EOF'
Usage: bench/run.sh [options] [CAPTURE]

Times cat, tshark and connlint on CAPTURE (default /work/bench-data/keepalive.pcap, made by
bench/record.sh) and prints a Markdown table: best wall time of N runs, MB/s, packets/s, peak RSS,
and connlint's ratios against tshark (x times faster) and cat (% of cat's throughput).

Options:
  -b, --bin PATH        connlint binary (default: <repo>/target/release/connlint)
  -n, --runs N          runs per fast command (cat, connlint), best one kept; default 3
  -N, --tshark-runs N   runs per tshark command; default 1 (tshark takes minutes on a big capture)
      --http            also time the HTTP-level commands: tshark -Y http, connlint transactions, check
      --no-http         only the connection-level commands
                        (default: HTTP-level too when the binary answers `transactions --help`)
  -h, --help            this help

A connlint subcommand that fails or does not exist yet is shown as n/a; the rest of the table stands.
Requires: GNU time (/usr/bin/time), tshark, capinfos (or tcpdump) for the packet count.
EOF
}

capture=/work/bench-data/keepalive.pcap
bin=$repo/target/release/connlint
runs=3
tshark_runs=1
http=auto
argv=("$@")
while (($#)); do
    case "$1" in
        -b | --bin) bin=${2:?"-b needs a path"}; shift 2 ;;
        -n | --runs) runs=${2:?"-n needs a number"}; shift 2 ;;
        -N | --tshark-runs) tshark_runs=${2:?"-N needs a number"}; shift 2 ;;
        --http) http=yes; shift ;;
        --no-http) http=no; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) echo "run.sh: unknown option $1 (see -h)" >&2; exit 64 ;;
        *) capture=$1; shift ;;
    esac
done

die() { echo "run.sh: $*" >&2; exit 1; }
for n in "$runs" "$tshark_runs"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "'$n' is not a positive number of runs"
done
[[ -r $capture ]] || die "cannot read capture $capture; record one with: sudo bench/record.sh $capture"
[[ -x /usr/bin/time ]] || die "GNU time is missing at /usr/bin/time; install it with: apt-get install -y time"
command -v tshark >/dev/null || die "tshark is missing; install it with: apt-get install -y tshark"
if [[ ! -x $bin ]]; then
    if [[ $bin == "$repo/target/release/connlint" ]]; then
        die "no connlint binary at $bin; build it with: cargo build --release (or pass -b PATH)"
    fi
    die "connlint binary $bin does not exist or is not executable (pass -b PATH)"
fi

bytes=$(stat -L -c %s "$capture")

# The packet count is a property of the file, and counting means reading it all, so it is cached next
# to the capture (record.sh writes the same file) and recomputed only when the capture is newer.
count_cache=$capture.packets
if [[ -s $count_cache && $count_cache -nt $capture ]]; then
    packets=$(<"$count_cache")
else
    if command -v capinfos >/dev/null; then
        packets=$(capinfos -c -M "$capture" 2>/dev/null | awk -F': *' '/Number of packets/ { print $2 }')
    else
        packets=$(tcpdump -r "$capture" -nn 2>/dev/null | wc -l)
    fi
    echo "$packets" >"$count_cache" 2>/dev/null ||
        echo "run.sh: note: cannot cache the packet count in $count_cache" >&2
fi
[[ $packets =~ ^[0-9]+$ && $packets -gt 0 ]] || die "could not count the packets in $capture"

if [[ $http == auto ]]; then
    if "$bin" transactions --help >/dev/null 2>&1; then http=yes; else http=no; fi
fi

tmp=$(mktemp -d /tmp/connlint-run.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Warm the page cache so every command, cat included, reads from memory and the first one measured is
# not charged for the disk.
cat "$capture" >/dev/null

# measure NAME RUNS OK_CODES CMD...: best wall time in seconds (to the microsecond, from bash's clock
# around /usr/bin/time) and the largest "Maximum resident set size" of all runs. Stores the result in
# wall[NAME] and rss_kb[NAME], or failed[NAME] with the reason. OK_CODES is a space-separated list:
# `check` exits 1 when it finds something, which is success here.
declare -A wall rss_kb failed
measure() {
    local name=$1 n=$2 ok=$3
    shift 3
    local i t0 t1 us code best='' peak=0 r
    for ((i = 0; i < n; i++)); do
        t0=${EPOCHREALTIME/./}
        code=0
        /usr/bin/time -v -o "$tmp/time" "$@" >/dev/null 2>"$tmp/stderr" || code=$?
        t1=${EPOCHREALTIME/./}
        if [[ " $ok " != *" $code "* ]]; then
            failed[$name]="exit $code: $(grep -v '^Running as user' "$tmp/stderr" | head -n 1 | cut -c 1-120)"
            return 0
        fi
        us=$((t1 - t0))
        if [[ -z $best ]] || ((us < best)); then best=$us; fi
        r=$(awk -F': *' '/Maximum resident set size/ { print $2 }' "$tmp/time")
        if ((r > peak)); then peak=$r; fi
    done
    wall[$name]=$best
    rss_kb[$name]=$peak
}

echo "measuring $capture ($bytes bytes, $packets packets) ..." >&2
names=(cat tshark-conv connlint-connections)
declare -A cmd_text baseline
cmd_text[cat]='cat F'
cmd_text[tshark-conv]='tshark -r F -q -z conv,tcp'
cmd_text[connlint-connections]='connlint connections F --format jsonl'
baseline[connlint-connections]=tshark-conv

echo "  cat" >&2
measure cat "$runs" 0 cat "$capture"
echo "  tshark conv,tcp" >&2
measure tshark-conv "$tshark_runs" 0 tshark -r "$capture" -q -z conv,tcp
echo "  connlint connections" >&2
measure connlint-connections "$runs" 0 "$bin" connections "$capture" --format jsonl
if [[ $http == yes ]]; then
    names+=(tshark-http connlint-transactions connlint-check)
    cmd_text[tshark-http]='tshark -r F -Y http -T fields -e http.time'
    cmd_text[connlint-transactions]='connlint transactions F --format jsonl'
    cmd_text[connlint-check]='connlint check F --format json'
    baseline[connlint-transactions]=tshark-http
    baseline[connlint-check]=tshark-http
    echo "  tshark -Y http" >&2
    measure tshark-http "$tshark_runs" 0 tshark -r "$capture" -Y http -T fields -e http.time
    echo "  connlint transactions" >&2
    measure connlint-transactions "$runs" 0 "$bin" transactions "$capture" --format jsonl
    echo "  connlint check" >&2
    measure connlint-check "$runs" "0 1" "$bin" check "$capture" --format json
fi

# --- report -----------------------------------------------------------------------------------------
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_gb=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
version=$("$bin" --version 2>/dev/null | head -n 1 || true)
# fmt EXPR DECIMALS: EXPR is arithmetic on numbers this script computed, evaluated by awk for floats.
fmt() { awk "BEGIN { printf \"%.$2f\", $1 }"; }
# Thousands separators for the big integers, so the table reads at a glance.
sep() { printf '%s' "$1" | rev | sed -E 's/([0-9]{3})/\1,/g; s/,$//' | rev; }

echo
echo "| command | runs | wall (s) | MB/s | packets/s | peak RSS (MB) | vs tshark | vs cat |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for name in "${names[@]}"; do
    n=$runs
    [[ $name == tshark-* ]] && n=$tshark_runs
    if [[ -n ${failed[$name]:-} ]]; then
        echo "| \`${cmd_text[$name]}\` | $n | n/a | n/a | n/a | n/a | n/a | n/a |"
        continue
    fi
    us=${wall[$name]}
    secs=$(fmt "$us / 1000000" 3)
    mbps=$(fmt "$bytes / $us" 0)
    pps=$(sep "$(fmt "$packets * 1000000 / $us" 0)")
    rss=$(fmt "${rss_kb[$name]} / 1024" 1)
    vs_tshark=-
    vs_cat=-
    if [[ $name == connlint-* ]]; then
        b=${baseline[$name]}
        if [[ -n ${wall[$b]:-} ]]; then vs_tshark="$(fmt "${wall[$b]} / $us" 1)x faster"; else vs_tshark=n/a; fi
        if [[ -n ${wall[cat]:-} ]]; then vs_cat="$(fmt "100 * ${wall[cat]} / $us" 0)% of cat"; else vs_cat=n/a; fi
    fi
    echo "| \`${cmd_text[$name]}\` | $n | $secs | $mbps | $pps | $rss | $vs_tshark | $vs_cat |"
done
echo
echo "F = \`$capture\`: $(sep "$bytes") bytes, $(sep "$packets") packets. Best wall time of the runs;" \
    "peak RSS is the largest of them; output to /dev/null; page cache warm."
echo "Machine: $(nproc) CPUs ($cpu), ${mem_gb} GB RAM, Linux $(uname -r); $(tshark -v 2>/dev/null | head -n 1 | sed "s/\.$//")."
echo "connlint: ${version:-$bin}."
printf 'Command: bench/run.sh'
if ((${#argv[@]})); then printf ' %q' "${argv[@]}"; fi
echo
for name in "${names[@]}"; do
    if [[ -n ${failed[$name]:-} ]]; then
        echo
        echo "n/a: \`${cmd_text[$name]}\` failed (${failed[$name]})"
    fi
done
