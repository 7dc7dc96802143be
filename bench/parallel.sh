#!/usr/bin/env bash
# Many captures on all cores (issue 10): splits one capture into N pieces with `editcap -c` and times
# `connlint check -j1` against `-jJ` on the pieces (best of R runs each, alternating), checking that
# the two outputs are byte-identical.
#
# Usage: bench/parallel.sh [options] [CAPTURE]     (see -h)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

usage() {
    cat <<'EOF'
Usage: bench/parallel.sh [options] [CAPTURE]

Splits CAPTURE (default /work/bench-data/churn.pcap, made by `bench/record.sh -C`) into N pieces of
equal packet counts (editcap -c) in a temporary directory, then runs `connlint check --format json`
on all pieces with -j1 and with -jJ, alternating, R times each, and prints the best and median wall
time of each and their ratio. Exits non-zero if the outputs differ.

Options:
  -b, --bin PATH     connlint binary (default: <repo>/target/release/connlint)
  -p, --pieces N     pieces (default 8)
  -j, --jobs J       jobs of the parallel run (default: nproc)
  -r, --runs R       runs of each (default 5)
  -h, --help         this help
Requires: editcap and capinfos (wireshark-common), GNU date.
EOF
}

capture=/work/bench-data/churn.pcap
bin=$repo/target/release/connlint
pieces=8
jobs=$(nproc)
runs=5
while (($#)); do
    case "$1" in
        -b | --bin) bin=${2:?"-b needs a path"}; shift 2 ;;
        -p | --pieces) pieces=${2:?"-p needs a number"}; shift 2 ;;
        -j | --jobs) jobs=${2:?"-j needs a number"}; shift 2 ;;
        -r | --runs) runs=${2:?"-r needs a number"}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        -*) echo "parallel.sh: unknown option $1 (see -h)" >&2; exit 64 ;;
        *) capture=$1; shift ;;
    esac
done

die() { echo "parallel.sh: $*" >&2; exit 1; }
[[ -r $capture ]] || die "cannot read capture $capture"
[[ -x $bin ]] || die "no connlint binary at $bin (cargo build --release, or pass -b PATH)"
command -v editcap >/dev/null || die "editcap is missing; install wireshark-common"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
packets=$(capinfos -c -M "$capture" 2>/dev/null | awk -F': *' '/Number of packets/ { print $2 }')
editcap -c $(((packets + pieces - 1) / pieces)) "$capture" "$dir/piece.pcap"
mapfile -t files < <(ls "$dir"/piece_*.pcap)

# Wall seconds of one run, its output kept in $2.
wall() {
    local out=$1 t0 t1
    shift
    t0=$(date +%s.%N)
    "$bin" check --format json "$@" "${files[@]}" >"$out" 2>/dev/null || true
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}

one=() par=()
for ((i = 0; i < runs; i++)); do
    one+=("$(wall "$dir/one.json" -j1)")
    par+=("$(wall "$dir/par.json" "-j$jobs")")
    cmp -s "$dir/one.json" "$dir/par.json" || die "-j1 and -j$jobs outputs differ"
done

stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f %.3f", v[1], v[int((NR + 1) / 2)] }'; }
read -r one_min one_med <<<"$(stats "${one[@]}")"
read -r par_min par_med <<<"$(stats "${par[@]}")"
echo "| $(basename "$capture") in ${#files[@]} pieces | best (s) | median (s) |"
echo "|---|---:|---:|"
echo "| \`check -j1\` | $one_min | $one_med |"
echo "| \`check -j$jobs\` | $par_min | $par_med |"
printf '| -j%s / -j1 | %.2f | %.2f |\n' "$jobs" "$(bc -l <<<"$par_min / $one_min")" "$(bc -l <<<"$par_med / $one_med")"
echo "(outputs byte-identical)"
