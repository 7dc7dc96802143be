#!/usr/bin/env python3
"""Seeds the fuzz corpora (fuzz/corpus/<target>/) from the repository's captures.

    python3 fuzz/seed.py TARGET...      (run from the repository root)

Only targets whose corpus directory is empty or missing are seeded, so a
corpus the fuzzer grew is never overwritten.

- capture_reader, pipeline: whole captures (tests/corpus/files, samples/,
  tests/data/capture) up to MAX_FILE bytes, larger ones cut there (a cut
  capture is a damaged capture: also worth reading); plus tiny synthetic
  headers for every pcap magic and for pcapng.
- decode: single frames and runs of consecutive frames, in the decode
  target's layout (see fuzz/src/decode.rs), from captures of every link type.
- tls: the TLS streams of the TLS samples and corpus captures (tshark's
  `follow,tcp,raw`) as the tls target's events (fuzz/src/tls.rs), with every
  hello bound, and each ClientHello re-cut into records of 1, 7 and 100
  bytes, one small segment each.
- http: the client and server byte streams of TCP connections in real
  captures (tshark's `follow,tcp,raw`), as the http target's events (see
  fuzz/src/http.rs), one Data event per chunk tshark shows.
- decrypt: raw inputs (fuzz/src/decrypt.rs) from the samples with a key log
  (samples/*.keylog beside the capture): each TLS stream with the key log's
  lines for its client random, cut to MAX_DECRYPT bytes; and sealed scripts
  for every suite: a TLS 1.3 or 1.2 connection with handshake records, the
  switch to application keys, requests and responses, KeyUpdates, padding
  and alerts, with the full key log, one secret missing, a wrong client
  random, and cut into small segments.
- reassembly: nothing to seed from (its input is an `arbitrary` script).
"""

import hashlib
import os
import struct
import subprocess
import sys

MAX_FILE = 64 << 10
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Must match LINK_TYPES in fuzz/src/decode.rs.
LINK_TYPES = [0, 1, 7, 9, 12, 14, 50, 101, 104, 105, 108, 113, 127, 129, 228, 229, 239, 276, 147,
              51, 117, 119, 163, 178, 192, 219, 226, 240, 241, 242, 258]


def captures():
    dirs = ["tests/corpus/files", "samples", "tests/data/capture", "tests/data/decode",
            "tests/data/tunnels"]
    out = []
    for d in dirs:
        path = os.path.join(ROOT, d)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            if name.endswith((".pcap", ".pcapng", ".cap")):
                out.append(os.path.join(path, name))
    return out


def save(target, data, seen):
    digest = hashlib.sha1(data).hexdigest()
    if digest in seen:
        return
    seen.add(digest)
    with open(os.path.join(ROOT, "fuzz", "corpus", target, digest), "wb") as f:
        f.write(data)


def frames(path, limit=64):
    """(link type, frame bytes, orig len) of the first `limit` frames of a capture."""
    data = open(path, "rb").read()
    out = []
    if len(data) < 24:
        return out
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        end = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        end = ">"
    elif magic == 0x0A0D0D0A:
        return pcapng_frames(data, limit)
    else:
        return out
    link = struct.unpack(end + "I", data[20:24])[0] & 0xFFFF
    pos = 24
    while pos + 16 <= len(data) and len(out) < limit:
        _, _, incl, orig = struct.unpack(end + "IIII", data[pos:pos + 16])
        body = data[pos + 16:pos + 16 + incl]
        if len(body) < incl:
            break
        out.append((link, body, orig))
        pos += 16 + incl
    return out


def pcapng_frames(data, limit):
    out = []
    end = "<"
    links = []
    pos = 0
    while pos + 12 <= len(data) and len(out) < limit:
        btype = struct.unpack("<I", data[pos:pos + 4])[0]
        if btype == 0x0A0D0D0A:
            end = "<" if data[pos + 8:pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        btype, blen = struct.unpack(end + "II", data[pos:pos + 8])
        if blen < 12 or pos + blen > len(data):
            break
        body = data[pos + 8:pos + blen - 4]
        if btype == 1 and len(body) >= 8:
            links.append(struct.unpack(end + "H", body[:2])[0])
        elif btype == 6 and len(body) >= 20:
            iface, _, _, cap, orig = struct.unpack(end + "IIIII", body[:20])
            if iface < len(links):
                out.append((links[iface], body[20:20 + cap], orig))
        elif btype == 3 and len(body) >= 4 and links:
            orig = struct.unpack(end + "I", body[:4])[0]
            out.append((links[0], body[4:4 + orig], orig))
        pos += blen
    return out


def decode_record(frame, orig):
    cut = min(127, max(0, orig - len(frame)) // 8)
    return struct.pack(">HB", len(frame), cut) + frame


def seed_files(target, seen):
    for path in captures():
        data = open(path, "rb").read()
        save(target, data[:MAX_FILE], seen)
    # Minimal headers: every pcap magic (micro/nano, both byte orders) with
    # one Ethernet record, and a pcapng section with one interface.
    record = b"\x00" * 60
    for magic in (0xA1B2C3D4, 0xA1B23C4D):
        for end in "<>":
            head = struct.pack(end + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)
            rec = struct.pack(end + "IIII", 1, 2, len(record), len(record)) + record
            save(target, head + rec, seen)
    shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
    idb = struct.pack("<IIHHI", 1, 20, 1, 0, 0) + struct.pack("<I", 20)
    epb_body = struct.pack("<IIIII", 0, 0, 1, len(record), len(record)) + record
    epb = struct.pack("<II", 6, 12 + len(epb_body)) + epb_body + struct.pack("<I", 12 + len(epb_body))
    spb_body = struct.pack("<I", len(record)) + record
    spb = struct.pack("<II", 3, 12 + len(spb_body)) + spb_body + struct.pack("<I", 12 + len(spb_body))
    save(target, shb + idb + epb + spb, seen)


def seed_decode(seen):
    for path in captures():
        fs = frames(path)
        for link, frame, orig in fs[:8]:
            if link not in LINK_TYPES:
                continue
            save("decode", bytes([LINK_TYPES.index(link)]) + decode_record(frame, orig), seen)
        # Runs of consecutive frames on one link type (fragment trains).
        for start in range(0, min(len(fs), 24), 8):
            run = [f for f in fs[start:start + 8] if f[0] == fs[start][0]]
            if run and run[0][0] in LINK_TYPES:
                body = b"".join(decode_record(f, o) for _, f, o in run)
                save("decode", bytes([LINK_TYPES.index(run[0][0])]) + body, seen)


def tunnel_wraps(eth):
    """An Ethernet frame (IPv4 or IPv6 inside) in each tunnel and link header
    the decoder reads, built as tests/tunnels.rs builds them."""
    ip = eth[14:]
    etype = eth[12:14]
    mac = bytes.fromhex("02000000ee0102000000ee02")

    def ipv4(proto, payload):
        return (struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0)
                + bytes([192, 0, 2, 1, 192, 0, 2, 2]) + payload)

    def udp(dport, payload):
        return struct.pack(">HHHH", 50000, dport, 8 + len(payload), 0) + payload

    def e(t, payload):
        return mac + struct.pack(">H", t) + payload

    vx = bytes([8, 0, 0, 0, 0, 0, 42, 0]) + eth
    gen = bytes([1, 0, 0x65, 0x58, 0, 0, 7, 0, 1, 8, 1, 0]) + eth
    out = [
        (1, e(0x0800, ipv4(17, udp(4789, vx)))),
        (1, e(0x0800, ipv4(17, udp(6081, gen)))),
        (1, e(0x0800, ipv4(47, struct.pack(">HHHHII", 0xb000, int.from_bytes(etype, "big"), 0, 0, 5, 1) + ip))),
        (1, e(0x0800, ipv4(47, struct.pack(">HHI", 0x2000, 0x6558, 0x123456) + eth))),
        (1, e(0x0800, ipv4(47, struct.pack(">HHI", 0x1000, 0x88be, 1) + bytes([0x10, 0x64, 1, 0x23, 0, 0, 0, 7]) + eth))),
        (1, e(0x0800, ipv4(47, struct.pack(">HHI", 0x1000, 0x22eb, 1) + bytes([0x20, 0, 0, 200, 1, 2, 3, 4, 0, 0, 0, 0x31]) + bytes(8) + eth))),
        (1, e(0x0800, ipv4(4 if etype == b"\x08\x00" else 41, ip))),
        (1, e(0x8847, struct.pack(">II", 100 << 12 | 64, 200 << 12 | 0x100 | 64) + ip)),
        (1, e(0x8847, struct.pack(">II", 16 << 12 | 0x100 | 64, 0) + eth)),
        (1, e(0x0800, ipv4(17, struct.pack(">HHHHHHH", 1701, 1701, 0, 0, 0x4802, 12 + 4 + len(ip), 3) + struct.pack(">HHH", 9, 0, 1) + bytes([0xff, 3, 0, 0x21]) + ip))),
        (1, eth[:12] + bytes([0x89, 0x09, 1, 1, 0, 1, 0, 100]) + eth[12:]),
        (1, e(0x0800, ipv4(51, bytes([4, 4, 0, 0, 0, 0, 0x10, 1, 0, 0, 0, 9]) + bytes(12) + ip))),
        (1, e(0x0800, ipv4(50, ip))),
        (192, bytes([0, 0, 8, 0, 1, 0, 0, 0]) + eth),
        (178, b"MGC\x80" + bytes([0, 6, 4, 4, 0, 0, 0, 7]) + eth),
        (242, bytes(40) + etype + bytes(2) + ip),
        (258, struct.pack("<II", 8, 1) + eth),
        (117, bytes([4, 2, 0, 0]) + ip),
    ]
    return out


def seed_tunnels(seen):
    for path in captures():
        if "/samples/" not in path and "/tunnels/" not in path:
            continue
        fs = [f for f in frames(path, 6) if f[0] == 1 and f[1][12:14] in (b"\x08\x00", b"\x86\xdd")]
        for _, frame, orig in fs[:3]:
            for link, wrapped in tunnel_wraps(frame):
                save("decode", bytes([LINK_TYPES.index(link)]) + decode_record(wrapped, len(wrapped)), seen)
        if fs:
            wraps = [tunnel_wraps(f) for _, f, _ in fs]
            for i in range(len(wraps[0])):
                link = wraps[0][i][0]
                body = b"".join(decode_record(w[i][1], len(w[i][1])) for w in wraps)
                save("decode", bytes([LINK_TYPES.index(link)]) + body, seen)


def follow(path, stream):
    """[(is_client, bytes)] of one TCP stream, in tshark's chunk order."""
    try:
        text = subprocess.run(
            ["tshark", "-r", path, "-q", "-z", "follow,tcp,raw,%d" % stream],
            capture_output=True, text=True, timeout=60, check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    chunks = []
    body = False
    for line in text.splitlines():
        if line.startswith("Node 1:"):
            body = True
            continue
        if not body or line.startswith("="):
            continue
        server = line.startswith("\t")
        hexed = line.strip()
        try:
            chunks.append((not server, bytes.fromhex(hexed)))
        except ValueError:
            continue
    return chunks


def http_script(chunks, small):
    out = bytearray([1 if small else 0])
    for is_client, data in chunks:
        while data:
            piece, data = data[:0xFFFF], data[0xFFFF:]
            out.append(0x00 if is_client else 0x08)
            out += struct.pack("<H", len(piece)) + piece
    out.append(0x06)  # client FIN
    out.append(0x0E)  # server FIN
    return bytes(out)


def seed_http(seen):
    names = [
        "samples/keepalive-11-transactions.pcap",
        "samples/clean-chunked-trailers.pcap",
        "samples/clean-expect-100-continue.pcap",
        "samples/clean-connect-tunnel.pcap",
        "samples/clean-websocket-upgrade.pcap",
        "samples/clean-pipelined-gets.pcap",
        "samples/clean-204-304.pcap",
        "samples/clean-head.pcap",
        "samples/F004-malformed-chunked-body.pcap",
        "samples/F002-content-length-with-transfer-encoding.pcap",
        "samples/F003-duplicate-content-length-conflicting.pcap",
        "samples/C003-keep-alive-not-echoed.pcap",
        "samples/R001-rst-truncated-response.pcap",
        "samples/P002-non-idempotent-method-pipelined.pcap",
        "tests/corpus/files/arkime__tests-pcap-http-100-continue.pcap",
        "tests/corpus/files/arkime__tests-pcap-http-no-length.pcap",
        "tests/corpus/files/arkime__tests-pcap-http-wrapped-header.pcap",
        "tests/corpus/files/arkime__tests-pcap-http-500-head.pcap",
    ]
    for name in names:
        path = os.path.join(ROOT, name)
        if not os.path.exists(path):
            continue
        for stream in range(2):
            chunks = follow(path, stream)
            if not chunks:
                break
            total = 0
            kept = []
            for c in chunks:
                if total > MAX_FILE:
                    break
                kept.append(c)
                total += len(c[1])
            for small in (False, True):
                save("http", http_script(kept, small), seen)


def tls_script(chunks, bound):
    out = bytearray([bound])
    for is_client, data in chunks:
        while data:
            piece, data = data[:0xFFFF], data[0xFFFF:]
            out.append(0x00 if is_client else 0x08)
            out += struct.pack("<H", len(piece)) + piece
    out.append(0x04)  # client FIN
    out.append(0x0C)  # server FIN
    return bytes(out)


def split_hello(chunks, size):
    """The client's first record (its ClientHello) re-cut into records of `size` bytes of
    handshake data, each delivered as its own small segment (op 7): the fragmented hello."""
    if not chunks or not chunks[0][0]:
        return None
    first = chunks[0][1]
    if len(first) < 6 or first[0] != 0x16:
        return None
    n = int.from_bytes(first[3:5], "big")
    body, rest = first[5:5 + n], first[5 + n:]
    out = bytearray([3])
    for i in range(0, len(body), size):
        rec = bytes([0x16, 3, 1]) + struct.pack(">H", len(body[i:i + size])) + body[i:i + size]
        out.append(0x07)
        out.append(len(rec))
        out += rec
    tail = [(True, rest)] if rest else []
    return bytes(out) + tls_script(tail + chunks[1:], 3)[1:]


def seed_tls(seen):
    names = sorted(
        os.path.join("samples", f) for f in os.listdir(os.path.join(ROOT, "samples"))
        if f.endswith(".pcap") and ("tls" in f or f.startswith(("S005", "S006", "S007")))
    ) + [
        "tests/corpus/files/ndpi__tests-cfgs-default-pcap-1kxun.pcap",
        "tests/corpus/files/pcapplusplus__Tests-Pcap++Test-PcapExamples-example.pcap",
    ]
    for name in names:
        path = os.path.join(ROOT, name)
        streams = range(40) if "corpus" in name else range(3)
        for stream in streams:
            chunks = follow(path, stream)
            if not chunks:
                continue
            if not any(c and d[:1] == b"\x16" for c, d in chunks[:1]):
                continue
            kept, total = [], 0
            for c in chunks:
                if total > MAX_FILE:
                    break
                kept.append(c)
                total += len(c[1])
            for bound in (0, 1, 3):
                save("tls", tls_script(kept, bound), seen)
            for size in (1, 7, 100):
                hello = split_hello(kept, size)
                if hello:
                    save("tls", hello, seen)


MAX_DECRYPT = 15 << 10
GET = b"GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


def decrypt_raw(keylog, chunks):
    out = bytearray([1]) + struct.pack("<H", len(keylog)) + keylog
    for is_client, data in chunks:
        out.append(0x00 if is_client else 0x08)
        out += struct.pack("<H", len(data)) + data
    return bytes(out)


def decrypt_sealed(suite_index, flags, tls13, schedule=b""):
    """A sealed script (fuzz/src/decrypt.rs): op bytes, bit 4 the server."""
    C, S = 0x00, 0x10
    ops = bytearray()
    if tls13:
        ops += bytes([1 | S, 40]) + bytes(range(40))      # server handshake flight
        ops += bytes([5 | S])                             # server to application keys
        ops += bytes([1 | C, 36]) + bytes([20, 0, 0, 32]) + bytes(32)  # client Finished
        ops += bytes([5 | C])
    else:
        ops += bytes([5 | C, 1 | C, 16]) + bytes([20, 0, 0, 12]) + bytes(12)
        ops += bytes([5 | S, 1 | S, 16]) + bytes([20, 0, 0, 12]) + bytes(12)
    ops += bytes([0 | C, len(GET)]) + GET
    ops += bytes([4 | S, 3])                              # padding 3
    ops += bytes([0 | S, len(OK)]) + OK
    ops += bytes([2 | C | 0x20, 2 | S])                   # KeyUpdates
    ops += bytes([0 | C | 0x40, len(GET)]) + GET          # a request 4 times over
    ops += bytes([0 | S | 0xA0, 200]) + bytes(range(200))  # a 6400-byte response
    ops += bytes([15 | S, 3 | C, 1, 0])                   # empty record, close_notify
    return bytes([suite_index << 1, flags]) + bytes(range(7, 55)) + bytes(ops) + b"\xff" + schedule


def seed_decrypt(seen):
    for name in sorted(os.listdir(os.path.join(ROOT, "samples"))):
        if not name.endswith(".keylog"):
            continue
        pcap = os.path.join(ROOT, "samples", name[:-len(".keylog")] + ".pcap")
        if not os.path.exists(pcap):
            continue
        lines = open(os.path.join(ROOT, "samples", name), "rb").read().splitlines()
        for stream in range(3):
            chunks = follow(pcap, stream)
            if not chunks or not chunks[0][0] or chunks[0][1][:1] != b"\x16":
                continue
            random = chunks[0][1][11:43].hex().encode()
            keylog = b"\n".join(l for l in lines if random in l.lower()) + b"\n"
            kept, total = [], len(keylog)
            for c in chunks:
                if total + len(c[1]) > MAX_DECRYPT:
                    break
                kept.append(c)
                total += len(c[1]) + 3
            save("decrypt", decrypt_raw(keylog, kept), seen)
            # The same cut into 100-byte segments.
            small = [(c, d[i:i + 100]) for c, d in kept for i in range(0, len(d), 100)]
            save("decrypt", decrypt_raw(keylog, small), seen)
    # Sealed: suites 0-15 as SUITES in fuzz/src/decrypt.rs lists them.
    tls13 = {0, 1, 2, 3, 13, 15}
    for i in range(16):
        t = i in tls13
        full = 0x0F if t else 0x10
        for flags in (full, full | 0x80, full & ~1 & 0x1F, full | 0x20):
            save("decrypt", decrypt_sealed(i, flags, t), seen)
        save("decrypt", decrypt_sealed(i, full, t, bytes([6, 0x7F, 2, 0x80, 0x10] * 20)), seen)
        save("decrypt", decrypt_sealed(i, full, t, bytes([0, 3, 0xC1, 0x40] * 20)), seen)


def main():
    for target in sys.argv[1:]:
        directory = os.path.join(ROOT, "fuzz", "corpus", target)
        os.makedirs(directory, exist_ok=True)
        if os.listdir(directory):
            print("%s: corpus not empty, not seeded" % target)
            continue
        seen = set()
        if target in ("capture_reader", "pipeline"):
            seed_files(target, seen)
        elif target == "decode":
            seed_decode(seen)
            seed_tunnels(seen)
        elif target == "http":
            seed_http(seen)
        elif target == "tls":
            seed_tls(seen)
        elif target == "decrypt":
            seed_decrypt(seen)
        print("%s: %d seeds" % (target, len(seen)))


if __name__ == "__main__":
    main()
