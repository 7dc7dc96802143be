#!/usr/bin/env python3
"""Writes the synthetic captures of issue 10's memory bounds (not committed: regenerate them).

  syn    N SYNs, each from a new (client, port) and never answered: N half-open connections,
         the flow table's worst case (every one stays "open" until its idle timeout).
  churn  N one-request connections (SYN, SYN-ACK, ACK, GET, 200, FIN, ACK, FIN, ACK), closed by
         the server first, like `bench/record.sh -C` records from wrk and nginx.

Client hosts cycle over --clients addresses (10.1.x.y) and each one's ports over Linux's default
ephemeral range (32768-60999), so tuples are reused as on busy clients; a reused tuple gets a new
ISN (a new connection). Connections open --rate per second, evenly. Little-endian pcap,
microseconds, Ethernet, checksums left zero (connlint, like tshark, does not verify them).

Usage: bench/generate.py {syn,churn} N OUT [--rate R] [--clients C] [--ports P]
"""
import argparse
import struct
import sys

SERVER = bytes([10, 0, 0, 2])
GET = b"GET /item HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
ETH = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00])
FIRST_PORT, PORTS = 32768, 61000 - 32768

SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def frame(src, dst, sport, dport, seq, ack, flags, payload, us):
    ip = struct.pack(
        ">BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0, src, dst
    )
    tcp = struct.pack(
        ">HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0
    )
    n = 14 + 40 + len(payload)
    return struct.pack("<IIII", us // 1_000_000, us % 1_000_000, n, n) + ETH + ip + tcp + payload


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("kind", choices=["syn", "churn"])
    p.add_argument("n", type=int)
    p.add_argument("out")
    p.add_argument("--rate", type=float, default=20_000, help="connections opened per second")
    p.add_argument("--clients", type=int, default=16, help="client hosts")
    p.add_argument("--ports", type=int, default=PORTS, help="ports each client cycles over")
    a = p.parse_args()
    step = max(1, int(1_000_000 / a.rate))
    g, k = len(GET), len(OK)
    with open(a.out, "wb", buffering=1 << 22) as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        out = []
        for i in range(a.n):
            host = i % a.clients
            client = bytes([10, 1, host >> 8 & 0xFF, host & 0xFF])
            port = FIRST_PORT + (i // a.clients) % a.ports
            t = 1_000_000 + i * step
            c = (i * 7919) & 0x7FFFFFFF
            s = (i * 104729) & 0x7FFFFFFF
            up = lambda us, seq, ack, fl, pl=b"": frame(client, SERVER, port, 80, seq, ack, fl, pl, us)
            down = lambda us, seq, ack, fl, pl=b"": frame(SERVER, client, 80, port, seq, ack, fl, pl, us)
            if a.kind == "syn":
                out.append(up(t, c, 0, SYN))
            else:
                out += [
                    up(t, c, 0, SYN),
                    down(t + 50, s, c + 1, SYN | ACK),
                    up(t + 100, c + 1, s + 1, ACK),
                    up(t + 150, c + 1, s + 1, PSH | ACK, GET),
                    down(t + 300, s + 1, c + 1 + g, PSH | ACK, OK),
                    down(t + 310, s + 1 + k, c + 1 + g, FIN | ACK),
                    up(t + 400, c + 1 + g, s + 2 + k, ACK),
                    up(t + 410, c + 1 + g, s + 2 + k, FIN | ACK),
                    down(t + 500, s + 2 + k, c + 2 + g, ACK),
                ]
            if len(out) > 4096:
                f.write(b"".join(out))
                out.clear()
        f.write(b"".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
