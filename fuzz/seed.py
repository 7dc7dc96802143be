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
- http: the client and server byte streams of TCP connections in real
  captures (tshark's `follow,tcp,raw`), as the http target's events (see
  fuzz/src/http.rs), one Data event per chunk tshark shows.
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
LINK_TYPES = [0, 1, 7, 9, 12, 14, 50, 101, 104, 105, 108, 113, 127, 129, 228, 229, 239, 276, 147]


def captures():
    dirs = ["tests/corpus/files", "samples", "tests/data/capture", "tests/data/decode"]
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
        elif target == "http":
            seed_http(seen)
        print("%s: %d seeds" % (target, len(seen)))


if __name__ == "__main__":
    main()
