#!/usr/bin/env python3
"""Regenerate tshark's reading of every capture in tests/corpus/files.

Why: connlint's reassembly and flow tracking need an independent reference on real bytes. tshark is
the de-facto one. This script freezes what tshark says into small text files that are committed, so
tests run on a fresh clone without tshark installed. Rerun it only when the corpus or the tshark
version changes, then review the diff.

Usage (from the repository root; python3 stdlib only, needs `tshark` on PATH):

    python3 scripts/tshark-reference.py            # all captures
    python3 scripts/tshark-reference.py NAME ...   # only these captures (summary.tsv is left alone)

The output is deterministic (sorted, no absolute paths, no timestamps) and the script is idempotent:
running it twice leaves the tree unchanged.

Per capture F in tests/corpus/files, tshark runs four times (plus one more run per extra 200
streams):

1. `tshark -n -r F -T fields -e frame.number -e frame.time_relative -e frame.len -e tcp.stream
   -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e tcp.srcport -e tcp.dstport`
   gives the set of tcp.stream numbers and exact per-stream frame/byte counts.
2. `tshark -n -r F -q -z conv,tcp -z expert -z follow,tcp,raw,0 -z follow,tcp,raw,1 ...`
   (at most 200 follow taps per run) gives the conversation table, expert infos and stream bytes.
3. `tshark -n -r F -Y http -T json --no-duplicate-keys -J "frame tcp http"` gives the HTTP
   messages (F.http.tsv).
4. `tshark -n -r F -Y tcp -T fields -E occurrence=f -e frame.number -e tcp.srcport -e tcp.dstport
   -e tcp.seq_raw -e tcp.ack_raw -e tcp.len` gives every TCP frame (F.tcp.tsv).

Files written to tests/corpus/tshark/ (all TSV with a header row):

- `F.conv.tsv`: tshark's TCP conversation table, one row per conversation, sorted by relative start
  then endpoints. Columns: addr_a, port_a, addr_b, port_b, frames_a_to_b, bytes_a_to_b,
  frames_b_to_a, bytes_b_to_a, rel_start, duration, tcp_stream, bytes_a_to_b_shown,
  bytes_b_to_a_shown.
  tshark 4.0 prints byte counts of 10000 and more rounded down to kB/MB ("468 kB"), so the exact
  bytes_* come from summing frame.len per tcp.stream (run 1). A row is matched to the tcp.stream
  with the same endpoints whose frame counts agree exactly and whose byte sums truncate to the
  shown values (the start time breaks ties); tcp_stream names it. tshark 4.0 keys TCP
  conversations by stream, so every row matches one stream, except where a frame was malformed:
  such a frame gets a tcp.stream number but never reaches the conversation tap (the fuzzed nDPI
  capture). An unmatched row keeps tshark's numbers, tcp_stream is empty and bytes_* are filled
  only where tshark printed them unrounded. The *_shown columns keep tshark's own text. "A" is the
  sender of the conversation's first frame; bytes are whole frame lengths (frame.len), as tshark
  counts them, not TCP payload.
  IPv6 addresses are printed bare (tshark joins "addr:port"; the split is at the last ':').
- `F.streams.tsv`: per tcp.stream N: stream, node0 and node1 endpoints (ip:port, IPv6 as
  [addr]:port, as `-z follow` prints them; node 0 sends the stream's first frame), payload bytes
  node0->node1 and their sha256, bytes node1->node0 and their sha256, and gaps_0 / gaps_1 /
  missing_0 / missing_1: how many "[N bytes missing in capture file]" markers tshark inserted in each
  direction and the sum of their N. tshark's raw follow output puts those markers *into the data*
  (as the ASCII text plus a NUL); this script strips them, so the byte counts and hashes cover only
  bytes that were actually captured, concatenated across the holes. A stream whose frames never
  reach the follow tap (a malformed frame) has empty endpoints and zero bytes. Data carried in a
  SYN (TCP Fast Open) is part of the followed bytes.
  Caveat: for streams with gaps, lost segments, retransmissions with different bytes or overlaps,
  tshark's follow shows only what *it* reassembled (its choice of which copy wins, where it gives up);
  byte equality with connlint is therefore only meaningful for captures without loss — see
  tests/corpus/lossless.txt.
- `F.expert.tsv`: tshark's expert infos (`-z expert`): severity, group, protocol, count, summary,
  sorted. Used to derive lossless.txt.
- `F.tcp.tsv`: per frame that carries TCP (frame order): frame.number, tcp.srcport, tcp.dstport,
  tcp.seq_raw, tcp.ack_raw, tcp.len of its first (outermost) TCP header. tests/decode.rs compares
  connlint's decoded segments with it frame by frame.
- `summary.tsv`: per capture: file, link_type (from MANIFEST.tsv's description), tshark_exit (status
  of the `-z` run), tshark_stderr (first line of stderr, ignoring the "Running as user root" notice),
  tcp_streams (distinct tcp.stream values; they run 0..n-1 in this corpus), conv_rows,
  conv_rows_unmatched (rows no tcp.stream accounts for, see above), tshark_version.
- `../lossless.txt`: captures where tshark's expert info shows no loss or reordering (see the file's
  header for the exact rule) and which are not in the corpus README's list of files tshark has
  trouble with.

- `F.http.tsv`: tshark's HTTP reading, one row per HTTP request or response message (several per
  frame where a frame carries several), in frame order, from
  `tshark -n -r F -Y http -T json --no-duplicate-keys -J "frame tcp http"`. Columns: frame.number,
  tcp.stream, frame.time_relative, kind (request / response), http.request.method,
  http.request.uri, http.response.code, http.content_length, http.time, and how tshark pairs a
  response with its request: http.request_in (the frame of the request; tshark gives it to the
  first response of a frame only) and http.response_for.uri (the URL of the request the response
  answers, also on the later responses of a frame). A message that is neither a request nor a
  response (no method, no status) is left out. The first nine columns are those of the files that
  came with the shared corpus (tshark 4.0.17), which this script reproduces byte for byte; the last
  two were added for tests/corpus_http.rs's pairing check.
"""

import hashlib
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "tests", "corpus")
FILES = os.path.join(CORPUS, "files")
OUT = os.path.join(CORPUS, "tshark")
MANIFEST = os.path.join(CORPUS, "MANIFEST.tsv")
LOSSLESS = os.path.join(CORPUS, "lossless.txt")

FOLLOW_BATCH = 200

ROOT_NOTICE = 'Running as user "root" and group "root". This could be dangerous.'

# Expert summaries (lower-cased substrings) that mean tshark saw loss, reordering or overlapping data.
LOSS_PHRASES = (
    "previous segment(s) not captured",
    "acked segment that wasn't captured",
    "retransmission",
    "out-of-order",
    "overlap",
)
# Only these protocols' expert rows are checked, so an HTTP request line such as
# "GET /retransmission HTTP/1.1" in a Chat row cannot mark a capture lossy.
LOSS_PROTOCOLS = ("TCP", "IPv4", "IPv6")

# The corpus README's "Files tshark has trouble with" section, as file names, with the reason.
TROUBLE = {
    "sv__tests-http-mime-truncated-input.pcap": "tshark exits 2 (cut short)",
    "pcap2har__tests-out-of-order.pcap": "tshark exits 2 (cut short); several messages per frame",
    "sv__tests-tcp-rst-unacked-stream-07-http-input.pcap": "tshark finds no HTTP",
    "zeek__testing-btest-Traces-http-http_09.pcap": "tshark finds no HTTP (HTTP/0.9)",
    "zeek__testing-btest-Traces-http-no-version.pcap": "tshark finds no HTTP",
    "zeek__testing-btest-Traces-http-get-to-ssh-server.pcap": "tshark finds no HTTP (port 22)",
    "zeek__testing-btest-Traces-ipv6-http-atomic-frag.pcap": "tshark finds no HTTP (atomic frags)",
    "zeek__testing-btest-Traces-http-methods.pcap": "tshark finds 27 of 49 requests",
    "sv__tests-http-protocol-nodup-input.pcap": "several messages per frame",
    "sv__tests-firewall-ruletype-firewall-88-default-accept-tx-pipeline-input.pcap":
        "several messages per frame",
    "sv__tests-http-multiple-cl-input.pcap": "several messages per frame",
    "zeek__testing-btest-Traces-http-261-variant-04-te_cl_desync.pcap": "several messages per frame",
    "zeek__testing-btest-Traces-http-http-desync-request-response-5.pcap":
        "several messages per frame",
    "pcapplusplus__Tests-Pcap++Test-PcapExamples-example.pcap": "several messages per frame",
    "ndpi__tests-cfgs-default-pcap-1kxun.pcap": "http.request also counts SSDP",
    "sv__tests-http-request-invalid-input.pcap": "http.request also counts SSDP",
    "ndpi__tests-cfgs-default-pcap-fuzz-2006-09-29-28586.pcap": "fuzzed, malformed packets",
    "ndpi__tests-cfgs-default-pcap-quickplay.pcap": "HTTP malformed exception",
    "pcapplusplus__Tests-ExamplesTest-pcap_examples-http-packets.pcap": "HTTP header warnings",
    "arkime__tests-pcap-wireshark-retrans.pcap": "overlapping retransmissions",
    "sv__tests-bug-4376-syn_retransmit_with_ts.pcap": "overlapping retransmissions",
    "zeek__testing-btest-Traces-http-100-continue.pcap": "100 response timed before the POST",
}

CONV_RE = re.compile(
    r"^(?P<a>\S+)\s+<->\s+(?P<b>\S+)\s+"
    r"(?P<fba>\d+)\s+(?P<bba>\d+ (?:bytes|kB|MB|GB|TB))\s+"
    r"(?P<fab>\d+)\s+(?P<bab>\d+ (?:bytes|kB|MB|GB|TB))\s+"
    r"(?P<ft>\d+)\s+(?P<bt>\d+ (?:bytes|kB|MB|GB|TB))\s+"
    r"(?P<start>-?\d+\.\d+)\s+(?P<dur>-?\d+\.\d+)\s*$"
)
EXPERT_HEAD_RE = re.compile(r"^(Errors|Warns|Notes|Chats|Comments) \((\d+)\)$")
# "%12u %10s %18s  %s" (tap-expert.c): the group may overflow its width ("Response Code") and the
# protocol may contain a space ("IEEE 802.11"), so the group is matched from the known names and the
# protocol runs up to the first double space.
EXPERT_GROUPS = (
    "Response Code", "Request Code", "Checksum", "Sequence", "Undecoded", "Reassemble",
    "Malformed", "Debug", "Protocol", "Security", "Comment", "Decryption", "Assumption",
    "Deprecated", "Receive", "Interface", "Unknown",
)
EXPERT_ROW_RE = re.compile(
    r"^\s*(\d+)\s+(%s)\s+(\S(?:\S| (?! ))*)  (.*)$" % "|".join(re.escape(g) for g in EXPERT_GROUPS)
)
MISSING_RE = re.compile(rb"^\[(\d+) bytes missing in capture file\]\x00?$")
HEX_RE = re.compile(r"^[0-9a-f]*$")
UNITS = {"bytes": 1, "kB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4}


class RefError(Exception):
    pass


def run_tshark(fname, args):
    """Run tshark in the captures' directory on the bare file name, so messages hold no paths."""
    proc = subprocess.run(
        ["tshark", "-n", "-r", fname] + args,
        cwd=FILES,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out = proc.stdout.decode("utf-8", "replace")
    err = [
        ln.strip()
        for ln in proc.stderr.decode("utf-8", "replace").splitlines()
        if ln.strip() and ln.strip() != ROOT_NOTICE
    ]
    return proc.returncode, out, err


def tshark_version():
    out = subprocess.run(
        ["tshark", "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True
    ).stdout
    first = out.decode().splitlines()[0]
    m = re.match(r"TShark \(Wireshark\) (.*?)\.?$", first)
    return m.group(1) if m else first


def split_endpoint(text):
    """'1.2.3.4:80' or '2001:db8::1:80' (conv table) or '[2001:db8::1]:80' (follow) -> (addr, port)."""
    addr, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise RefError("cannot split endpoint %r" % text)
    if addr.startswith("[") and addr.endswith("]"):
        addr = addr[1:-1]
    return addr, int(port)


def fmt_endpoint(addr, port):
    return ("[%s]:%d" % (addr, port)) if ":" in addr else ("%s:%d" % (addr, port))


def last(field):
    """With -E occurrence=a, nested headers give 'outer,inner'; TCP belongs to the innermost IP."""
    return field.split(",")[-1] if field else ""


def read_fields(fname):
    """Per-stream exact frame/byte counts by direction, from one -T fields run."""
    code, out, err = run_tshark(
        fname,
        ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
        + [
            x
            for f in (
                "frame.number", "frame.time_relative", "frame.len", "tcp.stream",
                "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport",
            )
            for x in ("-e", f)
        ],
    )
    streams = {}
    odd_frames = 0
    for line in out.splitlines():
        cols = line.split("\t")
        if len(cols) != 10 or not cols[3]:
            continue
        _num, trel, flen, stream, ip4s, ip4d, ip6s, ip6d, sport, dport = cols
        if "," in stream:
            # A frame with two TCP headers (e.g. an ICMP error quoting one): not attributable.
            odd_frames += 1
            continue
        sid = int(stream)
        src = last(ip6s) if ip6s else last(ip4s)
        dst = last(ip6d) if ip6d else last(ip4d)
        if ip4s and ip6s:
            odd_frames += 1  # IPv4 in IPv6 or the reverse; take the innermost header we can tell
        s = streams.get(sid)
        src_ep = (src, int(last(sport)))
        dst_ep = (dst, int(last(dport)))
        if s is None:
            s = streams[sid] = {
                "a": src_ep, "b": dst_ep, "start": trel,
                "frames_ab": 0, "bytes_ab": 0, "frames_ba": 0, "bytes_ba": 0,
            }
        if src_ep == s["a"]:
            s["frames_ab"] += 1
            s["bytes_ab"] += int(flen)
        else:
            s["frames_ba"] += 1
            s["bytes_ba"] += int(flen)
    return code, err, streams, odd_frames


def json_fields(obj, into):
    """Every `name: value` leaf of tshark's -T json tree, first occurrence wins; a list of
    strings (a repeated field) is joined with commas."""
    if isinstance(obj, dict):
        for key, val in obj.items():
            if isinstance(val, list) and all(isinstance(x, str) for x in val):
                into.setdefault(key, ",".join(val))
            elif isinstance(val, (dict, list)):
                json_fields(val, into)
            else:
                into.setdefault(key, val)
    elif isinstance(obj, list):
        for item in obj:
            json_fields(item, into)
    return into


HTTP_COLUMNS = ["frame.number", "tcp.stream", "frame.time_relative", "kind", "http.request.method",
                "http.request.uri", "http.response.code", "http.content_length", "http.time",
                "http.request_in", "http.response_for.uri"]


def read_http(fname):
    """One row per HTTP message (see the docstring)."""
    proc = subprocess.run(
        ["tshark", "-n", "-r", fname, "-Y", "http", "-T", "json", "--no-duplicate-keys",
         "-J", "frame tcp http"],
        cwd=FILES, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    rows = []
    for pkt in json.loads(proc.stdout or b"[]"):
        layers = pkt["_source"]["layers"]
        frame = json_fields(layers.get("frame", {}), {})
        tcp = layers.get("tcp", {})
        tcp = json_fields(tcp[0] if isinstance(tcp, list) else tcp, {})
        messages = layers.get("http", [])
        for msg in messages if isinstance(messages, list) else [messages]:
            f = json_fields(msg, {})
            if "http.request.method" in f:
                kind = "request"
            elif "http.response.code" in f:
                kind = "response"
            else:
                continue
            rows.append((frame.get("frame.number", ""), tcp.get("tcp.stream", ""),
                         frame.get("frame.time_relative", ""), kind)
                        + tuple(clean(f.get(c, "")) for c in HTTP_COLUMNS[4:]))
    return rows


TCP_COLUMNS = ["frame.number", "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.len"]


def read_tcp(fname):
    """Every frame that carries TCP, with its outermost TCP header's ports, raw seq and ack and
    payload length (tests/decode.rs compares connlint's decoder with these)."""
    code, out, _err = run_tshark(
        fname, ["-Y", "tcp", "-T", "fields", "-E", "occurrence=f"]
        + [x for f in TCP_COLUMNS for x in ("-e", f)],
    )
    return [line.split("\t") for line in out.splitlines() if line]


def parse_tap_output(out):
    """Split a `-q -z conv,tcp -z expert -z follow,...` output into its three kinds of block."""
    conv, expert, follows = [], [], {}
    lines = out.splitlines()
    i = 0
    sev = None
    while i < len(lines):
        line = lines[i]
        if line == "TCP Conversations":
            i += 1
            while i < len(lines) and not re.fullmatch(r"=+", lines[i]):
                m = CONV_RE.match(lines[i])
                if m:
                    conv.append(m.groupdict())
                elif "<->" in lines[i]:
                    raise RefError("unparsed conversation line %r" % lines[i])
                i += 1
            sev = None
        elif line.startswith("Follow: tcp,raw"):
            hdr = {}
            i += 1
            while i < len(lines) and ":" in lines[i] and not HEX_RE.match(lines[i].lstrip("\t")):
                key, _, val = lines[i].partition(": ")
                hdr[key] = val
                i += 1
            m = re.fullmatch(r"tcp\.stream eq (\d+)", hdr.get("Filter", ""))
            if not m or "Node 0" not in hdr or "Node 1" not in hdr:
                raise RefError("bad follow header %r" % hdr)
            chunks = []
            while i < len(lines) and not re.fullmatch(r"=+", lines[i]):
                data = lines[i]
                node = 1 if data.startswith("\t") else 0
                data = data.lstrip("\t")
                if not HEX_RE.match(data) or len(data) % 2:
                    raise RefError("bad follow data line %r" % data[:80])
                chunks.append((node, bytes.fromhex(data)))
                i += 1
            follows[int(m.group(1))] = (hdr["Node 0"], hdr["Node 1"], chunks)
            sev = None
        else:
            m = EXPERT_HEAD_RE.match(line)
            if m:
                sev = m.group(1)
            elif sev and line and not line.startswith("=") and "Frequency" not in line:
                r = EXPERT_ROW_RE.match(line)
                if not r:
                    raise RefError("unparsed expert line %r" % line)
                expert.append((sev, r.group(2), r.group(3), int(r.group(1)), r.group(4)))
        i += 1
    return conv, expert, follows


def shown_bytes_ok(exact, shown):
    num, unit = shown.split(" ")
    return exact // UNITS[unit] == int(num)


def exact_shown(shown):
    num, unit = shown.split(" ")
    return int(num) if unit == "bytes" else ""


def write_tsv(path, header, rows):
    text = "\t".join(header) + "\n" + "".join("\t".join(str(c) for c in r) + "\n" for r in rows)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    os.replace(tmp, path)


def clean(text):
    return text.replace("\t", " ").replace("\n", " ")


def process(fname, link_type, version):
    code_f, err_f, streams, odd_frames = read_fields(fname)
    ids = sorted(streams)
    batches = [ids[k:k + FOLLOW_BATCH] for k in range(0, len(ids), FOLLOW_BATCH)] or [[]]
    conv, expert, follows = [], [], {}
    code, err = None, []
    for n, batch in enumerate(batches):
        args = ["-q"]
        if n == 0:
            args += ["-z", "conv,tcp", "-z", "expert"]
        for sid in batch:
            args += ["-z", "follow,tcp,raw,%d" % sid]
        c, out, e = run_tshark(fname, args)
        cv, ex, fo = parse_tap_output(out)
        if n == 0:
            code, err, conv, expert = c, e, cv, ex
        follows.update(fo)
    if code != code_f:
        raise RefError("exit status differs between runs: %s vs %s" % (code_f, code))

    # Conversation table, with exact byte counts from the stream that matches each row.
    by_endpoints = {}
    for sid, s in streams.items():
        by_endpoints.setdefault(frozenset((s["a"], s["b"])), []).append(sid)
    conv_rows = []
    unmatched = 0
    for c in conv:
        a, b = split_endpoint(c["a"]), split_endpoint(c["b"])
        fab, fba = int(c["fab"]), int(c["fba"])
        # tshark's "->" column is A to B, "<-" is B to A.
        matches = []
        for sid in by_endpoints.get(frozenset((a, b)), []):
            s = streams[sid]
            fwd = s["a"] == a
            sab, sba = (s["bytes_ab"], s["bytes_ba"]) if fwd else (s["bytes_ba"], s["bytes_ab"])
            tab, tba = (s["frames_ab"], s["frames_ba"]) if fwd else (s["frames_ba"], s["frames_ab"])
            if ((tab, tba) == (fab, fba) and shown_bytes_ok(sab, c["bab"])
                    and shown_bytes_ok(sba, c["bba"])):
                matches.append((s["start"] != c["start"], sid, sab, sba))
        matches.sort()
        if matches and (len(matches) == 1 or matches[0][0] != matches[1][0]):
            _, sid, bab, bba = matches[0]
        else:
            # No stream with these endpoints and counts: tshark's conversation tap and its
            # tcp.stream numbering disagree (seen in fuzzed captures). Keep tshark's row; exact
            # bytes only where tshark printed them unrounded.
            unmatched += 1
            sid = ""
            bab = exact_shown(c["bab"])
            bba = exact_shown(c["bba"])
        conv_rows.append((a[0], a[1], b[0], b[1], fab, bab, fba, bba, c["start"], c["dur"], sid,
                          c["bab"], c["bba"]))
    conv_rows.sort(key=lambda r: (float(r[8]), r[0], r[1], r[2], r[3], str(r[10])))
    write_tsv(
        os.path.join(OUT, fname + ".conv.tsv"),
        ["addr_a", "port_a", "addr_b", "port_b", "frames_a_to_b", "bytes_a_to_b",
         "frames_b_to_a", "bytes_b_to_a", "rel_start", "duration", "tcp_stream",
         "bytes_a_to_b_shown", "bytes_b_to_a_shown"],
        conv_rows,
    )

    # Followed stream bytes.
    stream_rows = []
    for sid in ids:
        if sid not in follows:
            raise RefError("no follow output for stream %d" % sid)
        n0, n1, chunks = follows[sid]
        data = [bytearray(), bytearray()]
        gaps, missing = [0, 0], [0, 0]
        for node, chunk in chunks:
            m = MISSING_RE.match(chunk)
            if m:
                gaps[node] += 1
                missing[node] += int(m.group(1))
            else:
                data[node] += chunk
        ep0 = fmt_endpoint(*split_endpoint(n0)) if n0 != ":0" else ""
        ep1 = fmt_endpoint(*split_endpoint(n1)) if n1 != ":0" else ""
        stream_rows.append((sid, ep0, ep1,
                            len(data[0]), hashlib.sha256(data[0]).hexdigest(),
                            len(data[1]), hashlib.sha256(data[1]).hexdigest(),
                            gaps[0], gaps[1], missing[0], missing[1]))
    write_tsv(
        os.path.join(OUT, fname + ".streams.tsv"),
        ["tcp_stream", "node0", "node1", "bytes_0_to_1", "sha256_0_to_1", "bytes_1_to_0",
         "sha256_1_to_0", "gaps_0", "gaps_1", "missing_0", "missing_1"],
        stream_rows,
    )

    write_tsv(os.path.join(OUT, fname + ".http.tsv"), HTTP_COLUMNS, read_http(fname))
    write_tsv(os.path.join(OUT, fname + ".tcp.tsv"), TCP_COLUMNS, read_tcp(fname))

    write_tsv(
        os.path.join(OUT, fname + ".expert.tsv"),
        ["severity", "group", "protocol", "count", "summary"],
        sorted((s, g, p, n, clean(t)) for s, g, p, n, t in expert),
    )

    lossy = sorted({
        ph for _s, _g, p, _n, t in expert
        if p in LOSS_PROTOCOLS for ph in LOSS_PHRASES if ph in t.lower()
    })
    summary = (fname, link_type, code, clean(err[0]) if err else "", len(ids), len(conv_rows),
               unmatched, version)
    return summary, lossy, odd_frames


def read_manifest():
    links = {}
    with open(MANIFEST, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        idx_name, idx_desc = header.index("filename"), header.index("description")
        for line in fh:
            cols = line.rstrip("\n").split("\t")
            m = re.search(r"link=([^;]+)", cols[idx_desc])
            links[cols[idx_name]] = m.group(1).strip() if m else ""
    return links


def write_lossless(clean_files, lossy, trouble_clean):
    lines = [
        "# Captures in which tshark sees no loss, reordering or overlap: connlint's reassembled",
        "# bytes must equal tshark's (tshark/<file>.streams.tsv) byte for byte for these.",
        "#",
        "# Derived by scripts/tshark-reference.py from `tshark -n -r F -q -z expert` (rows saved in",
        "# tshark/<file>.expert.tsv): a capture is listed when",
        "#  - no expert row of protocol %s has a summary containing (case-insensitive)"
        % "/".join(LOSS_PROTOCOLS),
    ]
    lines += ["#      \"%s\"" % ph for ph in LOSS_PHRASES]
    lines += [
        "#  - tshark read the file to the end (exit status 0), and",
        "#  - the file is not in the corpus README's \"Files tshark has trouble with\" list.",
        "#",
        "# Trouble-list files left out although their expert info is clean (the trouble is about",
        "# tshark's HTTP reading, not TCP; candidates to add back if needed):",
    ]
    lines += ["#   %s  (%s)" % (f, TROUBLE[f]) for f in sorted(trouble_clean)]
    lines += ["#", "# Left out for loss, reordering or overlap (the phrases found) or a cut-short file:"]
    lines += ["#   %s\n#       %s" % (f, lossy[f]) for f in sorted(lossy)]
    total = len(clean_files) + len(lossy) + len(trouble_clean)
    lines += ["#", "# %d of %d captures:" % (len(clean_files), total), ""]
    lines += sorted(clean_files)
    with open(LOSSLESS + ".tmp", "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(LOSSLESS + ".tmp", LOSSLESS)


def main(argv):
    links = read_manifest()
    names = sorted(f for f in os.listdir(FILES) if not f.startswith("."))
    only = argv[1:]
    if only:
        names = [n for n in names if n in only]
    missing = set(names) - set(links)
    if missing:
        raise SystemExit("not in MANIFEST.tsv: %s" % ", ".join(sorted(missing)))
    version = tshark_version()
    os.makedirs(OUT, exist_ok=True)
    summaries, clean_files, lossy_files, trouble_clean = [], [], {}, []
    for k, name in enumerate(names, 1):
        print("[%3d/%d] %s" % (k, len(names), name), flush=True)
        try:
            summary, lossy, odd = process(name, links[name], version)
        except RefError as exc:
            raise SystemExit("%s: %s" % (name, exc))
        summaries.append(summary)
        if odd:
            print("        note: %d frames with nested IP/TCP headers" % odd, flush=True)
        if summary[4] != summary[5]:
            print("        note: %d tcp streams but %d conversation rows"
                  % (summary[4], summary[5]), flush=True)
        if summary[6]:
            print("        note: %d conversation rows match no tcp.stream" % summary[6], flush=True)
        if summary[2] != 0:
            lossy_files[name] = "tshark exit %d" % summary[2]
        elif lossy:
            lossy_files[name] = ", ".join('"%s"' % ph for ph in lossy)
        elif name in TROUBLE:
            trouble_clean.append(name)
        else:
            clean_files.append(name)
    if only:
        print("partial run: summary.tsv and lossless.txt not rewritten")
        return
    write_tsv(
        os.path.join(OUT, "summary.tsv"),
        ["file", "link_type", "tshark_exit", "tshark_stderr", "tcp_streams", "conv_rows",
         "conv_rows_unmatched", "tshark_version"],
        summaries,
    )
    write_lossless(clean_files, lossy_files, trouble_clean)
    print("done: %d captures, %d lossless, tshark %s" % (len(names), len(clean_files), version))


if __name__ == "__main__":
    main(sys.argv)
