#!/usr/bin/env python3
"""Print a sample capture as a per-connection timeline (stdlib only).

    timeline.py FILE.pcap...

One line per TCP segment: time since the capture's first packet (ms), the gap
since the previous segment on the same connection (ms), direction, flags,
relative sequence/ack numbers, payload length and the first line of any
payload that starts like HTTP.  Pure ACKs are marked so delayed ACKs and
Nagle stalls can be read off directly.  This is how the numbers in
samples/expected.tsv were read; it is a reading aid, not a linter.
"""

import socket
import struct
import sys

HTTP_STARTS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"CONNECT ", b"OPTIONS ", b"PATCH ", b"HTTP/")


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        endian, scale = "<", 1e-6
    elif magic == b"\x4d\x3c\xb2\xa1":
        endian, scale = "<", 1e-9
    elif magic == b"\xa1\xb2\xc3\xd4":
        endian, scale = ">", 1e-6
    else:
        raise SystemExit(f"{path}: not a classic pcap file (use editcap -F pcap)")
    linktype = struct.unpack_from(endian + "I", data, 20)[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack_from(endian + "IIII", data, off)
        off += 16
        yield sec + frac * scale, linktype, data[off:off + incl]
        off += incl


def tcp_of(linktype, frame):
    """(src, dst, sport, dport, seq, ack, flags, payload) or None."""
    if linktype == 1:
        if len(frame) < 14:
            return None
        etype = struct.unpack_from("!H", frame, 12)[0]
        off = 14
    elif linktype == 276:  # Linux SLL2
        etype = struct.unpack_from("!H", frame, 0)[0]
        off = 20
    else:
        return None
    if etype == 0x0800:
        ihl = (frame[off] & 0x0F) * 4
        total = struct.unpack_from("!H", frame, off + 2)[0]
        if frame[off + 9] != 6:
            return None
        src = ".".join(str(b) for b in frame[off + 12:off + 16])
        dst = ".".join(str(b) for b in frame[off + 16:off + 20])
        t = off + ihl
        end = off + total
    elif etype == 0x86DD:
        if frame[off + 6] != 6:
            return None
        plen = struct.unpack_from("!H", frame, off + 4)[0]

        def v6(b):
            return f"[{socket.inet_ntop(socket.AF_INET6, b)}]"

        src, dst = v6(frame[off + 8:off + 24]), v6(frame[off + 24:off + 40])
        t = off + 40
        end = t + plen
    else:
        return None
    sport, dport, seq, ack = struct.unpack_from("!HHII", frame, t)
    doff = (frame[t + 12] >> 4) * 4
    flags = frame[t + 13]
    return src, dst, sport, dport, seq, ack, flags, frame[t + doff:end]


def flag_str(f):
    names = [(0x02, "S"), (0x10, "A"), (0x08, "P"), (0x01, "F"), (0x04, "R")]
    return "".join(n for bit, n in names if f & bit) or "."


def main(paths):
    for path in paths:
        print(f"== {path}")
        conns = {}  # canonical key -> state
        t0 = None
        for ts, lt, fr in frames(path):
            seg = tcp_of(lt, fr)
            if seg is None:
                continue
            src, dst, sport, dport, seq, ack, flags, payload = seg
            if t0 is None:
                t0 = ts
            a, b = (src, sport), (dst, dport)
            key = (a, b) if (a, b) in conns or (b, a) not in conns else (b, a)
            if flags & 0x02 and not flags & 0x10 and key in conns:
                conns[key]["gen"] += 1  # new SYN on a known tuple
                conns[key].update(isn={})
            st = conns.setdefault(key, {"id": len(conns), "gen": 0, "last": None, "isn": {}})
            fwd = (a, b) == key
            isn = st["isn"]
            if flags & 0x02:
                isn[a] = seq
            rel_seq = (seq - isn.get(a, seq)) & 0xFFFFFFFF
            rel_ack = (ack - isn.get(b, ack)) & 0xFFFFFFFF if flags & 0x10 else 0
            gap = "" if st["last"] is None else f"{(ts - st['last']) * 1000:8.1f}"
            st["last"] = ts
            arrow = "->" if fwd else "<-"
            note = ""
            if payload[:8].startswith(HTTP_STARTS) or any(payload.startswith(h) for h in HTTP_STARTS):
                note = payload.split(b"\r\n", 1)[0].decode("latin-1")[:60]
            elif not payload and flags == 0x10:
                note = "(pure ACK)"
            conn = f"c{st['id']}" + (f"g{st['gen']}" if st["gen"] else "")
            ep = f"{key[0][0]}:{key[0][1]}"
            print(f"{(ts - t0) * 1000:9.1f} {gap:>8} {conn:5} {ep:22} {arrow} {flag_str(flags):5}"
                  f" seq={rel_seq:<6} ack={rel_ack:<6} len={len(payload):<5} {note}")


if __name__ == "__main__":
    main(sys.argv[1:])
