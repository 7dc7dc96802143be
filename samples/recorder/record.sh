#!/usr/bin/env bash
# Record connlint's sample captures from real Linux TCP stacks.
#
#   samples/recorder/record.sh list          the scenario names (of samples/; list --all adds test data)
#   samples/recorder/record.sh all           record every sample
#   samples/recorder/record.sh NAME...       record some (NAME = file name without .pcap)
#
# Each scenario runs its client, server (and proxy) from scenarios.py in their own
# network namespaces (cl-<pid>, sv-<pid>, px-<pid>), joined by tapbridge.py, a
# userspace delay line between two TAP devices (25 ms each way; `tc netem` is not
# available on the recording machines).  tcpdump runs in the namespace the scenario
# names as its capture point and writes samples/NAME.pcap (TCP only).
#
# Needs root (namespaces, TAP devices, tcpdump).  Environment: DELAY_MS (default 25),
# OUT_DIR (default: the samples/ directory), KEEP_LOGS=1 to keep the programs' logs,
# BRIDGE_OPTS extra tapbridge.py options (e.g. "--drop a2b:1" to lose the first data
# frame from the client side; a2b is client -> server on the direct link).
# TUNNEL=vxlan records a direct IPv4 scenario through a tunnel instead: the
# scenario's addresses (198.18.0.1/2) move onto a Linux VXLAN device (VNI 42,
# UDP 4789) whose underlay is 192.0.2.1/2 on the delayed link, and tcpdump
# captures the underlay, writing OUT_DIR/NAME.vxlan.pcap. (Of the tunnel
# devices Linux has, the recording kernel builds only vxlan; the others are
# built byte by byte in tests/tunnels.rs.)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR=${OUT_DIR:-$(dirname "$HERE")}
DELAY_MS=${DELAY_MS:-25}
PY=${PYTHON:-python3}

if [[ $EUID -ne 0 ]]; then
    echo "record.sh: needs root for network namespaces, TAP devices and tcpdump; run it with sudo" >&2
    exit 2
fi
for tool in ip tcpdump ethtool mergecap "$PY"; do
    command -v "$tool" >/dev/null || { echo "record.sh: $tool not found; install it first" >&2; exit 2; }
done

ID=$$
NS_C=cl-$ID
NS_S=sv-$ID
NS_P=px-$ID
WORK=""
PIDS=()      # every background process this script started, by pid
NSS=()       # namespaces this script created

cleanup() {
    local pid ns
    # Stop what we started, newest first (capture and programs before the bridges).
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid=${PIDS[i]}
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
    for ns in "${NSS[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
    done
    NSS=()
    if [[ -n $WORK && -d $WORK ]]; then
        if [[ ${KEEP_LOGS:-0} == 1 ]]; then echo "record.sh: logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
    fi
    WORK=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for_file() {  # path, what, timeout in tenths of a second
    local i
    for ((i = 0; i < $3; i++)); do
        [[ -e $1 ]] && return 0
        sleep 0.1
    done
    echo "record.sh: timed out waiting for $2" >&2
    return 1
}

wait_for_text() {  # file, text, what
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "record.sh: timed out waiting for $3" >&2
    cat "$1" >&2 || true
    return 1
}

# link NAME NS_LEFT MAC_LEFT NS_RIGHT MAC_RIGHT DEV_LEFT DEV_RIGHT
# One delayed Ethernet link: a tapbridge with one TAP moved into each namespace.
link() {
    local name=$1 nsl=$2 macl=$3 nsr=$4 macr=$5 devl=$6 devr=$7
    local tl=${name}a$ID tr=${name}b$ID
    # shellcheck disable=SC2086 # BRIDGE_OPTS is a word list, e.g. "--drop a2b:1"
    "$PY" "$HERE/tapbridge.py" --delay-ms "$DELAY_MS" ${BRIDGE_OPTS:-} --ready-file "$WORK/bridge-$name" "$tl" "$tr" \
        2>"$WORK/bridge-$name.log" &
    PIDS+=($!)
    wait_for_file "$WORK/bridge-$name" "tapbridge $name" 50
    ip link set "$tl" netns "$nsl"
    ip link set "$tr" netns "$nsr"
    ip -n "$nsl" link set "$tl" name "$devl" address "$macl" mtu 1500
    ip -n "$nsr" link set "$tr" name "$devr" address "$macr" mtu 1500
    local ns dev
    for ns_dev in "$nsl:$devl" "$nsr:$devr"; do
        ns=${ns_dev%%:*}; dev=${ns_dev#*:}
        # Segmentation/receive offloads would let tcpdump see 64 KiB super-segments.
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off >/dev/null 2>&1 || true
        ip -n "$ns" link set "$dev" up
    done
}

# addr NS DEV ADDR/PREFIX PEER_ADDR PEER_MAC: address plus a static neighbour entry,
# so no ARP/ND precedes the first SYN.
addr() {
    local ns=$1 dev=$2 cidr=$3 peer=$4 peermac=$5
    if [[ $cidr == *:* ]]; then
        ip -n "$ns" addr add "$cidr" dev "$dev" nodad
    else
        ip -n "$ns" addr add "$cidr" dev "$dev"
    fi
    ip -n "$ns" neigh replace "$peer" lladdr "$peermac" dev "$dev" nud permanent
}

new_ns() {
    ip netns add "$1"
    NSS+=("$1")
    ip -n "$1" link set lo up
    if [[ $FAMILY == 4 ]]; then
        ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    else
        ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
    fi
}

start_capture() {  # ns dev outfile
    # shellcheck disable=SC2086 # the filter is words
    ip netns exec "$1" tcpdump -i "$2" -Z root --immediate-mode -U -s 0 -w "$3" ${CAPTURE_FILTER:-tcp} 2>"$3.log" &
    PIDS+=($!)
    CAPS+=($!)
    wait_for_text "$3.log" "listening on" "tcpdump in $1"
}

run_role() {  # ns role
    READY_DIR=$WORK ip netns exec "$1" "$PY" "$HERE/scenarios.py" run "$NAME" "$2" >"$WORK/$2.log" 2>&1 &
    PIDS+=($!)
    ROLE_PIDS+=($!)
}

# tunnel_overlay C_MAC S_MAC: moves the direct link's scenario addresses
# onto a tunnel between the two namespaces (see TUNNEL above).
tunnel_overlay() {
    local c1=$1 s1=$2 t1=02:00:c6:12:02:01 t2=02:00:c6:12:02:02 ns
    ip -n "$NS_C" addr flush dev eth0
    ip -n "$NS_S" addr flush dev eth0
    addr "$NS_C" eth0 192.0.2.1/24 192.0.2.2 "$s1"
    addr "$NS_S" eth0 192.0.2.2/24 192.0.2.1 "$c1"
    case $TUNNEL in
        vxlan)
            ip -n "$NS_C" link add tun0 address $t1 type vxlan id 42 local 192.0.2.1 remote 192.0.2.2 dstport 4789
            ip -n "$NS_S" link add tun0 address $t2 type vxlan id 42 local 192.0.2.2 remote 192.0.2.1 dstport 4789
            CAPTURE_FILTER="udp port 4789" ;;
        *) echo "record.sh: TUNNEL=$TUNNEL: only vxlan can be recorded here" >&2; exit 2 ;;
    esac
    for ns in "$NS_C" "$NS_S"; do
        ip netns exec "$ns" ethtool -K tun0 tso off gso off gro off tx off >/dev/null 2>&1 || true
        ip -n "$ns" link set tun0 up
    done
    addr "$NS_C" tun0 198.18.0.1/24 198.18.0.2 $t2
    addr "$NS_S" tun0 198.18.0.2/24 198.18.0.1 $t1
}

record_one() {
    NAME=$1
    local meta
    meta=$("$PY" "$HERE/scenarios.py" meta "$NAME") || exit 2
    local TOPO FAMILY CAPTURE CONNS
    eval "$meta"
    WORK=$(mktemp -d /tmp/connlint-record.XXXXXX)
    CAPS=()
    ROLE_PIDS=()
    echo "record.sh: $NAME (topology $TOPO, IPv$FAMILY, captured at the $CAPTURE)" >&2

    local C1=02:00:c6:12:00:01 S1=02:00:c6:12:00:02 P2=02:00:c6:12:01:01 O2=02:00:c6:12:01:02
    new_ns "$NS_C"
    new_ns "$NS_S"
    if [[ $TOPO == direct ]]; then
        link l "$NS_C" $C1 "$NS_S" $S1 eth0 eth0
        if [[ $FAMILY == 6 ]]; then
            addr "$NS_C" eth0 2001:db8::1/64 2001:db8::2 $S1
            addr "$NS_S" eth0 2001:db8::2/64 2001:db8::1 $C1
        else
            addr "$NS_C" eth0 198.18.0.1/24 198.18.0.2 $S1
            addr "$NS_S" eth0 198.18.0.2/24 198.18.0.1 $C1
        fi
        if [[ -n ${TUNNEL:-} ]]; then
            [[ $FAMILY == 4 ]] || { echo "record.sh: TUNNEL needs an IPv4 scenario" >&2; exit 2; }
            tunnel_overlay $C1 $S1
        fi
    else
        # client 198.18.0.1 --(link a)-- 198.18.0.2 proxy 198.18.1.1 --(link u)-- 198.18.1.2 origin
        new_ns "$NS_P"
        link a "$NS_C" $C1 "$NS_P" $S1 eth0 eth0
        link u "$NS_P" $P2 "$NS_S" $O2 eth1 eth0
        addr "$NS_C" eth0 198.18.0.1/24 198.18.0.2 $S1
        addr "$NS_P" eth0 198.18.0.2/24 198.18.0.1 $C1
        addr "$NS_P" eth1 198.18.1.1/24 198.18.1.2 $O2
        addr "$NS_S" eth0 198.18.1.2/24 198.18.1.1 $P2
    fi

    local parts=()
    case $CAPTURE in
        client) start_capture "$NS_C" eth0 "$WORK/cap0.pcap"; parts=("$WORK/cap0.pcap") ;;
        server) start_capture "$NS_S" eth0 "$WORK/cap0.pcap"; parts=("$WORK/cap0.pcap") ;;
        proxy)
            start_capture "$NS_P" eth0 "$WORK/cap0.pcap"
            start_capture "$NS_P" eth1 "$WORK/cap1.pcap"
            parts=("$WORK/cap0.pcap" "$WORK/cap1.pcap") ;;
        *) echo "record.sh: unknown capture point $CAPTURE" >&2; exit 2 ;;
    esac

    run_role "$NS_S" server
    wait_for_file "$WORK/server" "the $NAME server to listen" 50
    if [[ $TOPO == proxy ]]; then
        run_role "$NS_P" proxy
        wait_for_file "$WORK/proxy" "the $NAME proxy to listen" 50
    fi
    sleep 0.2  # a quiet lead-in, so the capture starts before the first SYN by a margin

    if ! timeout 60 env READY_DIR="$WORK" ip netns exec "$NS_C" "$PY" "$HERE/scenarios.py" run "$NAME" client \
            >"$WORK/client.log" 2>&1; then
        echo "record.sh: $NAME client failed:" >&2
        cat "$WORK"/*.log >&2 || true
        exit 1
    fi
    local pid ok=1
    for pid in "${ROLE_PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null || ! wait "$pid"; then ok=0; fi
    done
    if [[ $ok != 1 ]]; then
        echo "record.sh: $NAME server/proxy did not finish cleanly:" >&2
        cat "$WORK"/*.log >&2 || true
        exit 1
    fi
    sleep 0.3  # last ACKs cross the 25 ms link
    for pid in "${CAPS[@]}"; do
        kill -INT "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    local out="$OUT_DIR/$NAME${TUNNEL:+.$TUNNEL}.pcap"
    if [[ ${#parts[@]} == 1 ]]; then
        cp "${parts[0]}" "$out"
    else
        mergecap -F pcap -w "$out" "${parts[@]}"
    fi
    if [[ -s $WORK/keylog ]]; then
        # A TLS client's secrets (SSLKEYLOGFILE): beside the capture, for decryption.
        cp "$WORK/keylog" "${out%.pcap}.keylog"
        echo "record.sh: wrote ${out%.pcap}.keylog" >&2
    fi
    if [[ ${KEEP_LOGS:-0} == 1 ]]; then cat "$WORK"/*.log >&2 || true; fi
    if command -v tshark >/dev/null; then
        local syns
        syns=$(tshark -r "$out" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0" 2>/dev/null | wc -l)
        if [[ $syns != "$CONNS" ]]; then
            echo "record.sh: $out holds $syns connections, the scenario makes $CONNS; not trusting it" >&2
            exit 1
        fi
    fi
    echo "record.sh: wrote $out ($(stat -c %s "$out") bytes)" >&2
    cleanup
}

case ${1:-} in
    "" | -h | --help)
        sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
        exit 2 ;;
    list)
        "$PY" "$HERE/scenarios.py" list "${@:2}" ;;
    all)
        for n in $("$PY" "$HERE/scenarios.py" list); do record_one "$n"; done ;;
    *)
        for n in "$@"; do record_one "$n"; done ;;
esac
