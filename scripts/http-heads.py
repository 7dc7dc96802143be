#!/usr/bin/env python3
"""Count HTTP request lines, status lines and complete heads in the bytes tshark reassembles.

Why: for the corpus captures where tshark's HTTP reading is wrong (tests/corpus_http.rs,
TSHARK_WRONG), the test needs numbers that do not come from connlint. This script takes tshark's
per-segment payloads (`tshark -n -r F -o tcp.desegment_tcp_streams:FALSE -Y "tcp.len > 0" -T fields
-e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e tcp.seq_raw -e tcp.payload`), puts each
direction's bytes in sequence order itself (each byte from the first segment that carried it; a
byte no segment carried is a hole), and counts, per stream, in plain byte patterns. tshark's own
follow output is not used: tshark 4.0 does not reassemble out-of-order segments there, which is
why these captures are listed in the first place.

- request_lines: lines `METHOD SP TARGET [SP HTTP/version]` (METHOD: upper-case letters, '-' or
  '_'; no version is HTTP/0.9 and counts only at the start of a line; a line with a version counts
  anywhere, since a request that follows a body starts where the body ends);
- request_heads: those whose head is complete in the capture: a request line with a version
  followed by an empty line (CRLF CRLF or LF LF) before the next hole, or an HTTP/0.9 line;
- status_lines / response_heads: the same for `HTTP/d.d SP DDD` anywhere, leaving out interim 1xx
  responses other than 101 (connlint pairs the final response); a head that runs into a hole or
  the end of the capture is not complete.

A body that holds text shaped like a request line would be counted; none of the listed captures
has one (the test bounds connlint's counts by these, so one would show).

Usage (from the repository root; needs tshark): python3 scripts/http-heads.py
Writes tests/corpus/tshark/http-heads.tsv: file, tcp_stream, node0, node1 (as in F.streams.tsv),
request_lines, request_heads, status_lines, response_heads, counted over both directions (a
stream's client is the side that sends requests). The files are the TSHARK_WRONG list of
tests/corpus_http.rs, read from there.
"""

import importlib.util
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location(
    "tshark_reference", os.path.join(ROOT, "scripts", "tshark-reference.py"))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)

# A method (RFC 9110 token, here upper-case letters, '-' and '_'), one space, a target, one space,
# `HTTP/` and whatever version follows (a malformed one such as `HTTP/1.` too), the line's end.
REQUEST_ANYWHERE = re.compile(rb"(?<![A-Z_-])[A-Z_-]+ [^\s]+ HTTP/[^\s]*\r?\n")
REQUEST_09 = re.compile(rb"(?:^|(?<=\n))[A-Z_-]+ [^\s]+\r?\n")
STATUS_ANYWHERE = re.compile(rb"HTTP/\d\.\d (\d{3})[ \r\n]")


def listed_files():
    text = open(os.path.join(ROOT, "tests", "corpus_http.rs"), encoding="utf-8").read()
    block = text[text.index("const TSHARK_WRONG"):]
    block = block[:block.index("\n];")]
    return re.findall(r'^\s*\("([^"]+)",', block, re.M)


def segments(fname):
    """Per (tcp.stream, sender ip:port): the payload-carrying segments as (seq, bytes), seq
    unwrapped (nearest to the previous one) from tcp.seq_raw, from one -T fields run."""
    _code, out, _err = ref.run_tshark(
        fname,
        ["-o", "tcp.desegment_tcp_streams:FALSE", "-Y", "tcp.len > 0", "-T", "fields",
         "-E", "occurrence=l"]
        + [x for f in ("tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "tcp.seq_raw",
                       "tcp.payload") for x in ("-e", f)],
    )
    flows = {}
    for line in out.splitlines():
        cols = line.split("\t")
        if len(cols) != 6 or not cols[0] or not cols[5]:
            continue
        stream, ip4, ip6, port, seq, payload = cols
        key = (int(stream), (ip6 or ip4) + ":" + port)
        raw = int(seq)
        f = flows.setdefault(key, {"last": raw, "base": raw, "segs": []})
        # The 64-bit position nearest the previous segment's.
        delta = (raw - f["last"]) & 0xFFFFFFFF
        if delta >= 1 << 31:
            delta -= 1 << 32
        pos = (f["segs"][-1][0] if f["segs"] else 0) + delta
        f["last"] = raw
        f["segs"].append((pos, bytes.fromhex(payload.replace(":", ""))))
    return flows


def pieces(segs):
    """A direction's bytes in sequence order, each byte from the first segment that carried it,
    split where no segment covers a byte (a hole)."""
    out, cur, end = [], bytearray(), None
    for pos, data in sorted(segs, key=lambda s: s[0]):
        if end is not None and pos > end:
            out.append(bytes(cur))
            cur, end = bytearray(), None
        if end is None:
            cur += data
            end = pos + len(data)
        elif pos + len(data) > end:
            cur += data[end - pos:]
            end = pos + len(data)
    out.append(bytes(cur))
    return out


def count(piece):
    """Request lines, complete request heads, status lines and complete response heads in one
    hole-free piece. A message that follows a body starts where the body ends, not after a line
    feed, so request lines with a version and status lines are found anywhere; HTTP/0.9 request
    lines (no version) only at the start of a line."""
    req_lines = req_heads = st_lines = st_heads = 0
    head_end = re.compile(rb"\r?\n\r?\n")
    for m in REQUEST_ANYWHERE.finditer(piece):
        req_lines += 1
        if head_end.search(piece, m.start()):
            req_heads += 1
    for m in REQUEST_09.finditer(piece):
        req_lines += 1
        req_heads += 1
    for m in STATUS_ANYWHERE.finditer(piece):
        code = int(m.group(1))
        if 100 <= code < 200 and code != 101:
            continue
        st_lines += 1
        if head_end.search(piece, m.start()):
            st_heads += 1
    return req_lines, req_heads, st_lines, st_heads


def main():
    rows = []
    for fname in listed_files():
        totals = {}
        for (sid, _sender), f in sorted(segments(fname).items()):
            t = totals.setdefault(sid, [0, 0, 0, 0])
            for piece in pieces(f["segs"]):
                totals[sid] = t = [a + b for a, b in zip(t, count(piece))]
        for sid, total in sorted(totals.items()):
            if any(total):
                rows.append((fname, sid, *total))
        print(fname, *[sum(r[k] for r in rows if r[0] == fname) for k in (2, 3, 4, 5)],
              flush=True)
    ref.write_tsv(os.path.join(ref.OUT, "http-heads.tsv"),
                  ["file", "tcp_stream", "request_lines", "request_heads", "status_lines",
                   "response_heads"], rows)


if __name__ == "__main__":
    main()
