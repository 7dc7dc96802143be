#!/usr/bin/env bash
# Records the benchmark capture: HTTP/1.1 keep-alive traffic between wrk and nginx over real Linux TCP,
# with MTU-sized (1514-byte) Ethernet frames, until the pcap reaches a target size.
#
# Why this shape: connlint's throughput targets are about the common case of a large capture of busy,
# persistent connections. Loopback with default settings would hand tcpdump 64 KB TSO/GSO super-segments,
# which flatters any per-packet cost, so the traffic crosses a veth pair between two network namespaces
# with MTU 1500 and segmentation/receive/checksum offloads off: what is captured is what a NIC would carry.
# Everything lives in two throw-away namespaces on addresses from 198.18.0.0/15 (RFC 2544's benchmark
# range); no traffic leaves them.
#
# With -C it records the opposite workload: every request on a new connection (Connection: close), the
# traffic connection management is most about.
#
# With -S 1.3 or -S 1.2 the same keep-alive traffic runs over TLS (AES-128-GCM), with curl as the load
# client writing its secrets to OUT.keylog (SSLKEYLOGFILE; wrk writes none); `-L curl` records the same
# curl traffic in the clear, the yardstick for the cost of decryption (bench/tls.sh).
#
# Usage: bench/record.sh [options] [OUT]     (run as root; OUT defaults to /work/bench-data/keepalive.pcap,
#                                             or churn.pcap with -C)
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/record.sh [options] [OUT]

Records HTTP/1.1 keep-alive traffic (wrk -> nginx, veth pair between two network namespaces, MTU 1500,
offloads off) into OUT (default /work/bench-data/keepalive.pcap) until it reaches the target size.

Options:
  -s MB     target capture size in MB (10^6 bytes), default 550
  -t SEC    give up after this many seconds of load, default 300
  -c N      wrk connections, default 8
  -T N      wrk threads, default 2
  -r RATE   shape the server's sending rate with tc (e.g. 800mbit) so tcpdump keeps up; "none" = unshaped.
            Default 800mbit.
  -C        churn: every request on a new connection (wrk sends `Connection: close`, nginx closes after
            the response), one small object each: the many-short-connections workload (~100,000
            connections). Defaults then: size 380 MB, 4 connections, rate 150mbit (small packets: tcpdump
            drops at higher rates on 2 cores), OUT /work/bench-data/churn.pcap.
  -S VER    TLS: nginx serves TLS 1.3 (VER 1.3, TLS_AES_128_GCM_SHA256) or TLS 1.2 (VER 1.2,
            ECDHE-RSA-AES128-GCM-SHA256) and curl is the load client, its key log written to OUT.keylog.
            Default OUT /work/bench-data/keepalive-tls13.pcap (or -tls12), size 550 MB.
  -L CLIENT load client: wrk (default) or curl (default with -S): CONNS curl processes, each fetching
            -n URLs of the rotation over one keep-alive connection, then the next connection.
  -n N      curl: URLs per connection, default 1400 (what wrk's connections carry in the default capture)
  -h        this help
Requires root and: ip, ethtool, tc, nginx, wrk (or curl), tcpdump, capinfos; openssl for -S.
EOF
}

size_mb=
max_secs=300
churn=0
conns=
threads=2
rate=
tls=
client=
per_conn=1400
while getopts ':s:t:c:T:r:S:L:n:Ch' opt; do
    case "$opt" in
        C) churn=1 ;;
        S) tls=$OPTARG ;;
        L) client=$OPTARG ;;
        n) per_conn=$OPTARG ;;
        s) size_mb=$OPTARG ;;
        t) max_secs=$OPTARG ;;
        c) conns=$OPTARG ;;
        T) threads=$OPTARG ;;
        r) rate=$OPTARG ;;
        h) usage; exit 0 ;;
        :) echo "record.sh: option -$OPTARG needs a value (see -h)" >&2; exit 64 ;;
        *) echo "record.sh: unknown option -$OPTARG (see -h)" >&2; exit 64 ;;
    esac
done
shift $((OPTIND - 1))
case "$tls" in
    "" | 1.2 | 1.3) ;;
    *) echo "record.sh: -S takes 1.2 or 1.3 (see -h)" >&2; exit 64 ;;
esac
client=${client:-$([[ -n $tls ]] && echo curl || echo wrk)}
case "$client" in
    wrk) [[ -z $tls ]] || { echo "record.sh: wrk writes no key log: TLS needs -L curl" >&2; exit 64; } ;;
    curl) ((!churn)) || { echo "record.sh: -C runs with wrk" >&2; exit 64; } ;;
    *) echo "record.sh: -L takes wrk or curl (see -h)" >&2; exit 64 ;;
esac
if ((churn)); then
    out=${1:-/work/bench-data/churn.pcap}
    size_mb=${size_mb:-380}
    conns=${conns:-4}
    rate=${rate:-150mbit}
elif [[ -n $tls ]]; then
    out=${1:-/work/bench-data/keepalive-tls${tls/./}.pcap}
    size_mb=${size_mb:-550}
    conns=${conns:-8}
    rate=${rate:-800mbit}
else
    out=${1:-/work/bench-data/keepalive.pcap}
    size_mb=${size_mb:-550}
    conns=${conns:-8}
    rate=${rate:-800mbit}
fi

for n in "$size_mb" "$max_secs" "$conns" "$threads" "$per_conn"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "record.sh: '$n' is not a positive integer (see -h)" >&2; exit 64; }
done
if [[ $(id -u) -ne 0 ]]; then
    echo "record.sh: needs root (network namespaces, tcpdump); run it with sudo" >&2
    exit 1
fi
missing=()
tools=(ip ethtool tc nginx "$client" tcpdump capinfos)
[[ -z $tls ]] || tools+=(openssl)
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
    echo "record.sh: missing ${missing[*]}; install with: apt-get install -y iproute2 ethtool nginx-light wrk tcpdump wireshark-common" >&2
    exit 1
fi

target_bytes=$((size_mb * 1000 * 1000))
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")

# Unique names so a concurrent or crashed run never collides with this one. Interface names must stay
# within 15 characters.
tag=$$
ns_srv=connlint-bench-srv-$tag
ns_cli=connlint-bench-cli-$tag
if_srv=clb-s$tag
if_cli=clb-c$tag
addr_srv=198.18.0.1
addr_cli=198.18.0.2
port=8080

work=$(mktemp -d /tmp/connlint-bench.XXXXXX)
nginx_pid=
wrk_pid=
tcpdump_pid=
curl_pids=()

log() { printf '[record] %s\n' "$*" >&2; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in "${curl_pids[@]}"; do
        # Each curl worker leads its own process group (setsid): the loop and its curl.
        kill -- "-$pid" 2>/dev/null || true
    done
    for pid in "$wrk_pid" "$nginx_pid" "$tcpdump_pid"; do
        if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi
    done
    for pid in "$wrk_pid" "$nginx_pid" "$tcpdump_pid" "${curl_pids[@]}"; do
        if [[ -n $pid ]]; then wait "$pid" 2>/dev/null || true; fi
    done
    # Deleting the namespaces also deletes the veth pair (and anything left running in them loses its
    # network), so this is the one step that must always happen.
    ip netns del "$ns_cli" 2>/dev/null || true
    ip netns del "$ns_srv" 2>/dev/null || true
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "failed at line $LINENO: $BASH_COMMAND (namespaces and processes are cleaned up)"' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# --- network: two namespaces joined by a veth pair, MTU 1500, no offloads ---------------------------
ip netns add "$ns_srv"
ip netns add "$ns_cli"
ip link add "$if_srv" netns "$ns_srv" type veth peer name "$if_cli" netns "$ns_cli"
for side in "$ns_srv:$if_srv:$addr_srv" "$ns_cli:$if_cli:$addr_cli"; do
    IFS=: read -r ns ifname addr <<<"$side"
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "$ifname" mtu 1500
    # IPv6 would add router solicitations and MLD reports: noise no benchmark needs.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    # tso/gso off: TCP itself cuts MSS-sized segments, so tcpdump sees wire-sized frames.
    # gro off: the receiver does not glue them back together before the capture point.
    # tx off: checksums are computed in software, so the capture carries valid TCP checksums.
    ip netns exec "$ns" ethtool -K "$ifname" tso off gso off gro off tx off >/dev/null 2>&1 ||
        ip netns exec "$ns" ethtool -K "$ifname" tso off gso off gro off
    ip -n "$ns" addr add "$addr/24" dev "$ifname"
    ip -n "$ns" link set "$ifname" up
done
if [[ $rate != none ]]; then
    # A token bucket on the server's egress keeps the packet rate at something tcpdump can write
    # without kernel drops on a shared 2-core machine; drops would put gaps into the benchmark input.
    ip netns exec "$ns_srv" tc qdisc add dev "$if_srv" root tbf rate "$rate" burst 256kb latency 50ms
fi

# --- content: a mix of small and multi-segment responses --------------------------------------------
mkdir -p "$work/www" "$work/tmp" "$work/logs"
for kb in 1 4 16 64 256; do
    head -c $((kb * 1024)) /dev/urandom >"$work/www/f${kb}k.bin"
done
chmod -R a+rX "$work"

scheme=http
tls_server=
if [[ -n $tls ]]; then
    scheme=https
    port=8443
    openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=bench.connlint -days 2 \
        -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
    if [[ $tls == 1.3 ]]; then
        ciphers="ssl_protocols TLSv1.3; ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;"
    else
        ciphers="ssl_protocols TLSv1.2; ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256;"
    fi
    tls_server="server {
        listen $addr_srv:$port ssl;
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        $ciphers
        root $work/www;
    }"
    rm -f "$out.keylog"
fi

cat >"$work/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    keepalive_timeout 300s;
    client_body_temp_path $work/tmp/body;
    proxy_temp_path $work/tmp/proxy;
    fastcgi_temp_path $work/tmp/fastcgi;
    uwsgi_temp_path $work/tmp/uwsgi;
    scgi_temp_path $work/tmp/scgi;
    default_type application/octet-stream;
    server {
        listen $addr_srv:8080;
        root $work/www;
    }
    $tls_server
    # Request counter, reachable only on the server namespace's loopback so reading it is not captured.
    server {
        listen 127.0.0.1:8081;
        location = /status { stub_status; }
    }
}
EOF

# Rotates through the sizes; 1 KB and 4 KB are requested more often, as small objects dominate real
# traffic and they are the per-transaction (not per-byte) cost.
rotation=(/f1k.bin /f16k.bin /f4k.bin /f64k.bin /f1k.bin /f256k.bin /f4k.bin /f16k.bin)
if [[ $client == curl ]]; then
    # The same rotation as wrk's keep-alive script, per_conn URLs a connection (curl keeps one
    # connection for a run of URLs to one host).
    {
        echo "http1.1"
        echo "insecure"
        echo "silent"
        for ((i = 0; i < per_conn; i++)); do
            echo "url = \"$scheme://$addr_srv:$port${rotation[i % ${#rotation[@]}]}\""
            echo "output = \"/dev/null\""
        done
    } >"$work/urls.cfg"
    cat >"$work/curl-worker.sh" <<EOF
while :; do SSLKEYLOGFILE=$out.keylog curl -K $work/urls.cfg || sleep 0.1; done
EOF
fi
if ((churn)); then
    # One small object per connection: the handshake, request, response and close are the whole
    # connection, as for a client that does not reuse connections.
    cat >"$work/rotate.lua" <<'EOF'
local paths = {"/f1k.bin", "/f4k.bin"}
local i = 0
request = function()
    i = i % #paths + 1
    return wrk.format("GET", paths[i], {["Connection"] = "close"})
end
EOF
else
    cat >"$work/rotate.lua" <<'EOF'
local paths = {"/f1k.bin", "/f16k.bin", "/f4k.bin", "/f64k.bin", "/f1k.bin", "/f256k.bin", "/f4k.bin", "/f16k.bin"}
local i = 0
request = function()
    i = i % #paths + 1
    return wrk.format("GET", paths[i])
end
EOF
fi

nginx_requests() {
    # stub_status line 3 is "accepts handled requests"; minus our own status requests is not worth it.
    ip netns exec "$ns_srv" curl -sf "http://127.0.0.1:8081/status" 2>/dev/null | awk 'NR == 3 { print $3 }'
}

ip netns exec "$ns_srv" nginx -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" &
nginx_pid=$!
for _ in $(seq 50); do
    if ip netns exec "$ns_cli" bash -c "exec 3<>/dev/tcp/$addr_srv/$port" 2>/dev/null; then break; fi
    kill -0 "$nginx_pid" 2>/dev/null || { log "nginx died: $(cat "$work/logs/error.log")"; exit 1; }
    sleep 0.1
done

# --- capture ----------------------------------------------------------------------------------------
rm -f "$out"
ip netns exec "$ns_cli" tcpdump -i "$if_cli" -s 0 -B 131072 -w "$out" 2>"$work/tcpdump.log" &
tcpdump_pid=$!
for _ in $(seq 50); do
    grep -qs 'listening on' "$work/tcpdump.log" && break
    kill -0 "$tcpdump_pid" 2>/dev/null || { log "tcpdump died: $(cat "$work/tcpdump.log")"; exit 1; }
    sleep 0.1
done

requests_before=$(nginx_requests)
log "capturing to $out until ${size_mb} MB (at most ${max_secs} s; wrk -t$threads -c$conns; rate $rate)"
start=$(date +%s.%N)
if [[ $client == wrk ]]; then
    ip netns exec "$ns_cli" wrk -t "$threads" -c "$conns" -d "${max_secs}s" -s "$work/rotate.lua" \
        "http://$addr_srv:$port/" >"$work/wrk.log" 2>&1 &
    wrk_pid=$!
else
    for ((i = 0; i < conns; i++)); do
        ip netns exec "$ns_cli" setsid bash "$work/curl-worker.sh" >>"$work/curl.log" 2>&1 &
        curl_pids+=($!)
    done
    # The curl workers loop until stopped: a timer stands in for wrk's -d.
    sleep "$max_secs" &
    wrk_pid=$!
fi

reason=timeout
while kill -0 "$wrk_pid" 2>/dev/null; do
    size=$(stat -c %s "$out" 2>/dev/null || echo 0)
    if ((size >= target_bytes)); then reason=size; break; fi
    sleep 0.05
done
[[ $reason == size ]] || reason="wrk ended after ${max_secs} s"
requests_after=$(nginx_requests)

# Stop the capture first (SIGINT: tcpdump flushes its buffer and prints its drop counters), then the load.
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" || true
tcpdump_pid=
end=$(date +%s.%N)
for pid in "${curl_pids[@]}"; do
    kill -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
curl_pids=()
# wrk stops on SIGINT; the curl timer (a background sleep, SIGINT ignored) on SIGTERM.
kill "-$([[ $client == wrk ]] && echo INT || echo TERM)" "$wrk_pid" 2>/dev/null || true
wait "$wrk_pid" 2>/dev/null || true
wrk_pid=

# --- summary ----------------------------------------------------------------------------------------
bytes=$(stat -c %s "$out")
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
requests=$((requests_after - requests_before))
log "stopped: $reason"
echo "capture:        $out"
echo "size:           $bytes bytes ($((bytes / 1000000)) MB) in $secs s"
echo "nginx served:   ~$requests requests while capturing"
grep -E 'packets (captured|received by filter|dropped by kernel)' "$work/tcpdump.log" | sed 's/^/tcpdump:        /'
if grep -qE '^[1-9][0-9]* packets dropped by kernel' "$work/tcpdump.log"; then
    log "WARNING: tcpdump dropped packets: the capture has gaps; re-record with a lower -r rate"
fi
packets=$(capinfos -c -M "$out" 2>/dev/null | awk -F': *' '/Number of packets/ { print $2 }')
echo "packets:        $packets"
# Cached for bench/run.sh, which needs the count for packets/s and should not pay for it each run.
echo "$packets" >"$out.packets"

# Exact counts from the capture with BPF (fast, unlike tshark): wrk writes each request in one
# segment, so segments whose payload starts with "GET " are requests and "HTTP" starts a response head.
count() { tcpdump -r "$out" -nn "$1" 2>/dev/null | wc -l; }
payload4='tcp[((tcp[12:1] & 0xf0) >> 2):4]'
echo "connections:    $(count 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn') (SYNs seen)"
if [[ -n $tls ]]; then
    echo "key log:        $out.keylog ($(grep -c . "$out.keylog" 2>/dev/null || echo 0) lines)"
    echo "(TLS: requests and responses are encrypted; count them with connlint and the key log)"
else
    echo "requests:       $(count "$payload4 = 0x47455420") (segments starting \"GET \")"
    echo "responses:      $(count "$payload4 = 0x48545450") (segments starting \"HTTP\")"
fi
echo "frame sizes (bytes: frames, top 8):"
tcpdump -r "$out" -nn -e 2>/dev/null |
    awk '{ for (i = 1; i < NF; i++) if ($i == "length") { l = $(i + 1); sub(":", "", l); n[l]++; break } }
         END { for (l in n) printf "%10d %7d\n", n[l], l }' |
    sort -rn | head -8 | awk '{ printf "  %6d B: %d\n", $2, $1 }'
