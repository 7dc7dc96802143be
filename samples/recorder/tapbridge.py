#!/usr/bin/env python3
"""Userspace delay line between two TAP devices.

`tc netem` is not available on the recording machines, yet the samples need a
realistic round trip (the rules compare handshake time with transaction time,
and Nagle/delayed-ACK stalls only show up against a non-zero RTT).  This
program creates two TAP devices, forwards every Ethernet frame from one to the
other and holds each frame for a fixed one-way delay first, so two network
namespaces joined through it see a link with RTT = 2 * delay.

The TAP devices are created here, in the namespace this program runs in; the
recorder then moves them into the client/server/proxy namespaces with
`ip link set DEV netns NS`.  The file descriptors stay valid across the move,
so the bridge keeps forwarding.

Frames leave in arrival order per direction (equal delay, FIFO tie-break), so
the bridge never reorders.  Optionally it drops chosen frames to simulate loss
(`--drop a2b:3` drops the 3rd TCP frame carrying payload from A to B).

Stdlib only.  Stops cleanly on SIGTERM/SIGINT; closing the descriptors
destroys the (non-persistent) TAP devices.
"""

import argparse
import fcntl
import heapq
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
MAX_FRAME = 65536


def open_tap(name):
    """Create TAP device `name` and return its fd (frames without packet info)."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifr)
    os.set_blocking(fd, False)
    return fd


def tcp_payload_len(frame):
    """Length of the TCP payload in an Ethernet frame, or None if not TCP.

    Used only to pick the frames `--drop` counts; anything unexpected is
    treated as "not TCP" rather than guessed at.
    """
    if len(frame) < 14:
        return None
    off = 12
    ethertype = struct.unpack_from("!H", frame, off)[0]
    off += 2
    while ethertype in (0x8100, 0x88A8) and len(frame) >= off + 4:
        ethertype = struct.unpack_from("!H", frame, off + 2)[0]
        off += 4
    if ethertype == 0x0800 and len(frame) >= off + 20:
        ihl = (frame[off] & 0x0F) * 4
        total = struct.unpack_from("!H", frame, off + 2)[0]
        if frame[off + 9] != 6 or len(frame) < off + ihl + 20:
            return None
        tcp_off = off + ihl
        ip_payload = total - ihl
    elif ethertype == 0x86DD and len(frame) >= off + 40:
        if frame[off + 6] != 6 or len(frame) < off + 60:
            return None  # extension headers are not used by the samples
        tcp_off = off + 40
        ip_payload = struct.unpack_from("!H", frame, off + 4)[0]
    else:
        return None
    doff = (frame[tcp_off + 12] >> 4) * 4
    return max(ip_payload - doff, 0)


def parse_drop(spec):
    """'a2b:3' -> ('a2b', 3): drop the 3rd TCP data frame from A to B."""
    try:
        direction, nth = spec.split(":")
        nth = int(nth)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--drop wants DIR:N like a2b:3, got {spec!r}")
    if direction not in ("a2b", "b2a") or nth < 1:
        raise argparse.ArgumentTypeError(f"--drop wants a2b:N or b2a:N with N >= 1, got {spec!r}")
    return direction, nth


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tap_a", help="name of the first TAP device to create")
    ap.add_argument("tap_b", help="name of the second TAP device to create")
    ap.add_argument("--delay-ms", type=float, default=25.0, help="one-way delay per frame (default 25)")
    ap.add_argument("--drop", type=parse_drop, action="append", default=[],
                    help="drop the Nth TCP frame with payload in a direction, e.g. a2b:3 (repeatable)")
    ap.add_argument("--ready-file", help="touch this file once both devices exist")
    args = ap.parse_args()

    fd_a = open_tap(args.tap_a)
    fd_b = open_tap(args.tap_b)
    peer = {fd_a: fd_b, fd_b: fd_a}
    dirname = {fd_a: "a2b", fd_b: "b2a"}
    drops = {"a2b": set(), "b2a": set()}
    for direction, nth in args.drop:
        drops[direction].add(nth)
    data_seen = {"a2b": 0, "b2a": 0}
    delay = args.delay_ms / 1000.0

    stopping = False

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write(f"{os.getpid()}\n")

    queue = []  # (due, seq, out_fd, frame)
    seq = 0
    forwarded = dropped = 0
    while not stopping:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out_fd, frame = heapq.heappop(queue)
            try:
                os.write(out_fd, frame)
                forwarded += 1
            except OSError:
                pass  # device down or not yet configured: the frame is lost, as on a real link
        timeout = max(queue[0][0] - now, 0.0) if queue else 0.5
        try:
            readable, _, _ = select.select([fd_a, fd_b], [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in readable:
            while True:
                try:
                    frame = os.read(fd, MAX_FRAME)
                except BlockingIOError:
                    break
                except OSError:
                    break
                if not frame:
                    break
                direction = dirname[fd]
                if drops[direction]:
                    plen = tcp_payload_len(frame)
                    if plen:
                        data_seen[direction] += 1
                        if data_seen[direction] in drops[direction]:
                            dropped += 1
                            continue
                heapq.heappush(queue, (now + delay, seq, peer[fd], frame))
                seq += 1
    os.close(fd_a)
    os.close(fd_b)
    print(f"tapbridge: forwarded {forwarded} frames, dropped {dropped}", file=sys.stderr)


if __name__ == "__main__":
    main()
