#!/usr/bin/env python3
"""Hostile captures for the memory budget (issue 16): each class of the
README's robustness table, at any scale.

Usage: bench/hostile.py CLASS OUT.pcap [--connections N] [--size N] [--requests N]

Classes (defaults are the full-size captures of the table; pass smaller
numbers for scaled ones):
  heads       N connections (65,000) open at once, each sending SIZE bytes
              (60,000) of one request head that never ends (no CRLF CRLF)
  heads2      the same, the server also sending a never-ending response head
  pipelined   N connections (10,000) x REQUESTS (1,024) pipelined GETs, no
              responses, all open at once
  uris        N connections (300,000) one after the other, each REQUESTS
              (32) requests with SIZE-byte (512) URIs, each answered, closed
  keepalive   N connections (40,000) x REQUESTS (100) keep-alive
              transactions, all open at once, never closed
  short       N (1,000,000) one-request connections, one after the other
  interfaces  a pcapng with N interfaces (200), each with SIZE bytes
              (1 MiB) of options, then one packet on each

Frames are Ethernet/IPv4/TCP with zero checksums (connlint, like tshark
by default, does not verify them); connections are told apart by client
address and port; every packet is 10 us after the previous one. Written
through a buffer: a capture of gigabytes never sits in memory.
"""
import argparse
import struct
import sys

SERVER = bytes([10, 255, 0, 2])
ETH = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00])
FLAGS = {"S": 0x02, "A": 0x10, "P": 0x08, "F": 0x01, "R": 0x04}


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb", buffering=1 << 20)
        self.us = 1_000_000

    def pcap_header(self):
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def frame(self, src, sport, dst, dport, seq, ack, flags, payload=b""):
        f = 0
        for c in flags:
            f |= FLAGS[c]
        if ack is not None:
            f |= 0x10
        tcp = struct.pack(
            "!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, (ack or 0) & 0xFFFFFFFF,
            5 << 4, f, 65535, 0, 0,
        )
        total = 20 + 20 + len(payload)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, src, dst)
        frame = ETH + ip + tcp + payload
        self.us += 10
        self.f.write(struct.pack("<IIII", self.us // 1_000_000, self.us % 1_000_000,
                                 len(frame), len(frame)))
        self.f.write(frame)

    def close(self):
        self.f.close()


def client(i):
    """Connection i's client address and port: 50,000 ports per address."""
    a = 1 + i // 50_000
    return bytes([10, (a >> 8) & 255, a & 255, 1]), 10_000 + i % 50_000


class Conn:
    def __init__(self, w, i):
        self.w = w
        self.c, self.port = client(i)
        self.cseq, self.sseq = 1000, 5000

    def handshake(self):
        w = self.w
        w.frame(self.c, self.port, SERVER, 80, self.cseq, None, "S")
        w.frame(SERVER, 80, self.c, self.port, self.sseq, self.cseq + 1, "S")
        self.cseq += 1
        self.sseq += 1
        w.frame(self.c, self.port, SERVER, 80, self.cseq, self.sseq, "")

    def send(self, payload):
        self.w.frame(self.c, self.port, SERVER, 80, self.cseq, self.sseq, "P", payload)
        self.cseq += len(payload)

    def answer(self, payload):
        self.w.frame(SERVER, 80, self.c, self.port, self.sseq, self.cseq, "P", payload)
        self.sseq += len(payload)

    def close(self):
        w = self.w
        w.frame(SERVER, 80, self.c, self.port, self.sseq, self.cseq, "F")
        self.sseq += 1
        w.frame(self.c, self.port, SERVER, 80, self.cseq, self.sseq, "F")
        self.cseq += 1
        w.frame(SERVER, 80, self.c, self.port, self.sseq, self.cseq, "")


def segments(data, mss=1400):
    return [data[i:i + mss] for i in range(0, len(data), mss)]


def never_ending_head(size, first):
    head = first + b"Host: example.com\r\n"
    line = b"X-Filler: " + b"a" * 80 + b"\r\n"
    while len(head) < size:
        head += line
    return head[:size]


def heads(w, n, size, both):
    conns = [Conn(w, i) for i in range(n)]
    for c in conns:
        c.handshake()
    req = segments(never_ending_head(size, b"GET / HTTP/1.1\r\n"))
    resp = segments(never_ending_head(size, b"HTTP/1.1 200 OK\r\n"))
    for k in range(max(len(req), len(resp))):
        for c in conns:
            if k < len(req):
                c.send(req[k])
            if both and k < len(resp):
                c.answer(resp[k])


def pipelined(w, n, requests):
    conns = [Conn(w, i) for i in range(n)]
    for c in conns:
        c.handshake()
    for k in range(requests):
        get = b"GET /item/%d HTTP/1.1\r\nHost: example.com\r\n\r\n" % k
        for c in conns:
            c.send(get)


def uris(w, n, requests, size):
    for i in range(n):
        c = Conn(w, i)
        c.handshake()
        for k in range(requests):
            uri = b"/%d/%d/" % (i, k)
            uri += b"u" * max(0, size - len(uri))
            c.send(b"GET " + uri + b" HTTP/1.1\r\nHost: example.com\r\n\r\n")
            c.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        c.close()


def keepalive(w, n, requests):
    conns = [Conn(w, i) for i in range(n)]
    for c in conns:
        c.handshake()
    for k in range(requests):
        get = b"GET /item/%d HTTP/1.1\r\nHost: example.com\r\n\r\n" % k
        for c in conns:
            c.send(get)
            c.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def short(w, n):
    for i in range(n):
        c = Conn(w, i)
        c.handshake()
        c.send(b"GET /item HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
        c.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        c.close()


def pcapng_block(kind, body):
    pad = (-len(body)) % 4
    total = 12 + len(body) + pad
    return struct.pack("<II", kind, total) + body + b"\0" * pad + struct.pack("<I", total)


def interfaces(path, n, size):
    with open(path, "wb", buffering=1 << 20) as f:
        f.write(pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        for i in range(n):
            opts = b""
            left = size
            while left > 0:
                chunk = min(left, 65532)
                opts += struct.pack("<HH", 3, chunk) + b"d" * chunk  # if_description
                left -= chunk
            opts += struct.pack("<HH", 0, 0)
            f.write(pcapng_block(1, struct.pack("<HHI", 1, 0, 65535) + opts))
        w = Writer("/dev/null")
        for i in range(n):
            c, port = client(i)
            tcp = struct.pack("!HHIIBBHHH", port, 80, 1000, 0, 5 << 4, 2, 65535, 0, 0)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, 64, 6, 0, c, SERVER)
            frame = ETH + ip + tcp
            ts = 1_000_000 + i * 10
            epb = struct.pack("<IIIII", i, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame))
            f.write(pcapng_block(6, epb + frame))
        w.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("kind", choices=["heads", "heads2", "pipelined", "uris", "keepalive", "short",
                                    "interfaces"])
    p.add_argument("out")
    p.add_argument("--connections", type=int)
    p.add_argument("--size", type=int)
    p.add_argument("--requests", type=int)
    a = p.parse_args()
    defaults = {
        "heads": (65_000, 60_000, 0), "heads2": (65_000, 60_000, 0),
        "pipelined": (10_000, 0, 1024), "uris": (300_000, 512, 32),
        "keepalive": (40_000, 0, 100), "short": (1_000_000, 0, 1),
        "interfaces": (200, 1 << 20, 0),
    }
    n, size, requests = defaults[a.kind]
    n = a.connections or n
    size = a.size or size
    requests = a.requests or requests
    if a.kind == "interfaces":
        interfaces(a.out, n, size)
        return
    w = Writer(a.out)
    w.pcap_header()
    if a.kind in ("heads", "heads2"):
        heads(w, n, size, a.kind == "heads2")
    elif a.kind == "pipelined":
        pipelined(w, n, requests)
    elif a.kind == "uris":
        uris(w, n, requests, size)
    elif a.kind == "keepalive":
        keepalive(w, n, requests)
    else:
        short(w, n)
    w.close()


if __name__ == "__main__":
    sys.exit(main())
