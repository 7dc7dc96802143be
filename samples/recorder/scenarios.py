#!/usr/bin/env python3
"""Client, server and proxy programs behind connlint's sample captures.

Each scenario is one behaviour from the rule catalogue (SPEC section 3) or one
clean case, played by small programs on plain sockets so that every write is
deliberate: which bytes go in which send(), with or without TCP_NODELAY, how
long the server thinks, whether a socket is closed with shutdown(SHUT_WR),
close() or SO_LINGER {1, 0} (RST), and whether input is read before closing.
Everything else (segmentation, Nagle, delayed ACKs, quick-ACK mode,
TIME_WAIT, the RST for unread data) is the Linux kernel's own behaviour on a
link with 25 ms one-way delay (see tapbridge.py).

Timing budget, because it decides which rules fire: RTT is 50 ms, so a
handshake costs 50 ms.  S001 fires on a connection that carried one request
and its response and then closed, when handshake >= 0.4 * (handshake +
exchange + the capture point's RTT to the client).  With a prompt server that
is about 50 / (50 + 50) -> ratio 0.5, so every one-transaction sample that is
*not* about S001 lets the server think THINK (150 ms) before its first answer
(ratio about 0.2).  A connection with several transactions is never S001.  Think times are kept away from the 40 ms delayed-ACK
timer so that no pure ACK looks like it released data (T001/T002) by accident.

Usage (normally through record.sh, inside network namespaces):
    scenarios.py list [--all]          the samples (--all: and the test-data scenarios)
    scenarios.py meta NAME             shell assignments: TOPO FAMILY CAPTURE CONNS
    scenarios.py run NAME ROLE         ROLE is client, server or proxy
Environment: READY_DIR - where server/proxy touch a file once listening.
"""

import base64
import hashlib
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

# Addresses: RFC 2544 benchmark range and RFC 3849 documentation prefix only,
# and only inside the recorder's own namespaces.
CLIENT4 = "198.18.0.1"
SERVER4 = "198.18.0.2"  # direct topology: the origin server; proxy topology: the proxy
PROXY_UP4 = "198.18.1.1"  # proxy's address on the upstream link
ORIGIN4 = "198.18.1.2"  # origin server behind the proxy
CLIENT6 = "2001:db8::1"
SERVER6 = "2001:db8::2"

HTTP_PORT = 80
PROXY_PORT = 3128
TLS_PORT = 443
HOST = "joes-hardware.example"
UA = "connlint-sample/1"
THINK = 0.150  # server think time before a first answer (keeps S001 quiet)

T0 = time.monotonic()


def log(role, msg):
    print(f"[{time.monotonic() - T0:8.3f}] {role}: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- messages


def message(start, headers=(), body=b""):
    """One HTTP/1.x message as bytes; headers are (name, value) pairs, kept in order."""
    lines = [start] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def request(method, target, headers=(), body=b"", version="HTTP/1.1", host=HOST):
    hs = [("Host", host), ("User-Agent", UA)] + list(headers)
    return message(f"{method} {target} {version}", hs, body)


def response(status, headers=(), body=b"", version="HTTP/1.1", length=True):
    """A response; adds Content-Length for `body` unless length=False."""
    hs = list(headers)
    if length:
        hs.append(("Content-Length", str(len(body))))
    return message(f"{version} {status}", hs, body)


def page(text):
    return f"<html><body>{text}</body></html>\n".encode()


def png(side, seed):
    """A valid side x side 8-bit grey PNG with a noisy pattern (a few hundred bytes)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes((x * y * seed + x ^ y) & 0xFF for x in range(side)) for y in range(side))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


# ---------------------------------------------------------------- sockets


def ready(role):
    d = os.environ.get("READY_DIR")
    if d:
        with open(os.path.join(d, role), "w") as f:
            f.write("ready\n")


def nodelay(sock, on=True):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if on else 0)


def listen(addr, port, family=socket.AF_INET, backlog=16):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(backlog)
    return s


def connect(src, sport, dst, dport, nodelay_on=True, family=socket.AF_INET):
    """Connect from a fixed source port so captures are reproducible."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    nodelay(s, nodelay_on)
    s.bind((src, sport))
    s.connect((dst, dport))
    return s


def rst_close(sock):
    """close() that sends RST instead of FIN (SO_LINGER on, timeout 0)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def graceful_close(sock, peer=None):
    """Half-close, wait for the peer's FIN (reading what it still sends), then close."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    if peer is not None:
        peer.drain_to_eof()
    else:
        Peer(sock).drain_to_eof()
    sock.close()


class Peer:
    """Buffered reader over a socket that never reads further than asked.

    recv() returns what the kernel has; bytes beyond the current message stay
    in `buf` (or in the kernel, if they had not arrived yet) - R003 depends on
    a pipelined request staying unread in the kernel.
    """

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("peer closed")
        self.buf += data

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
        return lines[0], headers

    def read_exact(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_chunked(self):
        body = b""
        while True:
            size = int(self.read_line().split(b";")[0], 16)
            if size == 0:
                break
            body += self.read_exact(size)
            self.read_exact(2)
        while self.read_line():  # trailers
            pass
        return body

    def read_body(self, headers, method=None, status=None):
        if method == "HEAD" or status in (204, 304) or (status is not None and 100 <= status < 200):
            return b""
        if status is not None and method == "CONNECT" and 200 <= status < 300:
            return b""
        te = header(headers, "Transfer-Encoding")
        if te and "chunked" in te.lower():
            return self.read_chunked()
        cl = header(headers, "Content-Length")
        if cl is not None:
            return self.read_exact(int(cl))
        if status is None:
            return b""  # request without a body
        return self.drain_to_eof()

    def read_request(self):
        start, headers = self.read_head()
        body = self.read_body(headers)
        return start, headers, body

    def read_response(self, method="GET"):
        """Read one final response (skipping 1xx other than 101)."""
        while True:
            start, headers = self.read_head()
            status = int(start.split()[1])
            if 100 <= status < 200 and status != 101:
                continue
            body = self.read_body(headers, method, status)
            return start, headers, body

    def drain_to_eof(self):
        data = self.buf
        self.buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data


def header(headers, name):
    for k, v in headers:
        if k.lower() == name.lower():
            return v
    return None


# ---------------------------------------------------------------- scenario registry

SCENARIOS = {}


def scenario(name, port, topo="direct", family=4, capture="client", conns=1, summary="", sample=True):
    """Register client/server(/proxy) functions for one capture.

    `port` is the first fixed client source port of the scenario; a scenario
    that opens several connections uses port, port+1, ...  `conns` is how many
    connections the capture must hold (record.sh checks it). `sample=False`:
    the capture is test data recorded into tests/data (OUT_DIR), not a sample
    of samples/, so `list` (and `record.sh all`) leave it out.
    """

    def deco(cls):
        cls.name = name
        cls.port = port
        cls.topo = topo
        cls.family = family
        cls.capture = capture
        cls.conns = conns
        cls.summary = summary
        cls.sample = sample
        SCENARIOS[name] = cls
        return cls

    return deco


class Direct:
    """Client and server on one delayed link (IPv4 unless family=6)."""

    family = 4

    @classmethod
    def addrs(cls):
        if cls.family == 6:
            return socket.AF_INET6, CLIENT6, SERVER6
        return socket.AF_INET, CLIENT4, SERVER4

    @classmethod
    def open(cls, sport, nodelay_on=True):
        fam, c, s = cls.addrs()
        return connect(c, sport, s, HTTP_PORT, nodelay_on, fam)

    @classmethod
    def listener(cls):
        fam, _, s = cls.addrs()
        return listen(s, HTTP_PORT, fam)


# ---------------------------------------------------------------- S: connection cost


@scenario("S001-handshake-dominated", 41001,
          summary="one small GET on a fresh connection, prompt answer: half the time is the handshake")
class S001(Direct):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        c.sendall(response("200 OK", [("Content-Type", "text/html"), ("Connection", "close")],
                           page("hammers: 3")))
        graceful_close(c, p)

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        s.sendall(request("GET", "/stock/hammers", [("Connection", "close")]))
        p = Peer(s)
        p.read_response()
        p.drain_to_eof()
        s.close()


@scenario("S001-handshake-dominated-server-side", 41002, capture="server",
          summary="the same one-GET connection, captured at the server: the response's last byte is seen leaving")
class S001Server(S001):
    pass


@scenario("S002-connection-churn", 41011, conns=3,
          summary="three sequential one-transaction connections, each opened right after the previous closed")
class S002(Direct):
    N = 3

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        for _ in range(cls.N):
            c, _ = ls.accept()
            nodelay(c)
            p = Peer(c)
            p.read_request()
            time.sleep(THINK)
            c.sendall(response("200 OK", [("Content-Type", "text/html"), ("Connection", "close")],
                               page("catalog page")))
            graceful_close(c, p)

    @classmethod
    def client(cls, role):
        for i in range(cls.N):
            if i:
                time.sleep(0.100)  # the previous connection's last ACK is in: next opens after a clean close
            s = cls.open(cls.port + i)
            s.sendall(request("GET", f"/catalog?page={i + 1}", [("Connection", "close")]))
            p = Peer(s)
            p.read_response()
            p.drain_to_eof()
            s.close()


@scenario("S003-too-many-parallel-connections", 41021, conns=8,
          summary="eight concurrent connections from one client to one server endpoint")
class S003(Direct):
    N = 8

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)

        def serve(c):
            nodelay(c)
            p = Peer(c)
            first = True
            while True:
                try:
                    start, _, _ = p.read_request()
                except EOFError:
                    break
                time.sleep(THINK + 0.15 if first else 0.010)
                first = False
                path = start.split()[1]
                c.sendall(response("200 OK", [("Content-Type", "image/png")], f"png:{path}".encode()))
            c.close()

        threads = []
        for _ in range(cls.N):
            c, _ = ls.accept()
            t = threading.Thread(target=serve, args=(c,))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()

    @classmethod
    def client(cls, role):
        # Open all eight at once (non-blocking connects, SYNs in port order), like a
        # browser fetching tiles, then run one request/response pair per thread.
        socks = []
        for i in range(cls.N):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            nodelay(s)
            s.bind((CLIENT4, cls.port + i))
            s.setblocking(False)
            s.connect_ex((SERVER4, HTTP_PORT))
            socks.append(s)
        pending = list(socks)
        while pending:
            _, writable, _ = select.select([], pending, [], 5)
            if not writable:
                raise TimeoutError("connects did not complete")
            for s in writable:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, os.strerror(err))
                s.setblocking(True)
                pending.remove(s)

        def fetch(i):
            s = socks[i]
            p = Peer(s)
            for part in ("a", "b"):
                s.sendall(request("GET", f"/img/tile-{i}{part}.png"))
                p.read_response()
            s.close()

        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(cls.N)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


@scenario("S004-tuple-reused-in-time-wait", 41031, conns=2,
          summary="the same 4-tuple connects again 200 ms after the server's active close (server in TIME_WAIT)")
class S004(Direct):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        for _ in range(2):
            c, _ = ls.accept()
            nodelay(c)
            p = Peer(c)
            p.read_request()
            time.sleep(THINK)
            c.sendall(response("200 OK", [("Content-Type", "text/html"), ("Connection", "close")],
                               page("cart")))
            graceful_close(c, p)  # server closes first: its side of the tuple sits in TIME_WAIT

    @classmethod
    def client(cls, role):
        for i in range(2):
            s = cls.open(cls.port)  # same source port both times (SO_REUSEADDR)
            s.sendall(request("GET", "/cart", [("Connection", "close")]))
            p = Peer(s)
            p.read_response()
            p.drain_to_eof()
            s.close()
            if i == 0:
                time.sleep(0.200)


# ---------------------------------------------------------------- T: Nagle / delayed ACK


class T001Base(Direct):
    """POST written as head, then body, without TCP_NODELAY: write-write-read.

    Linux ACKs the first data of a fresh connection at once (quick-ACK mode);
    the stall needs the server in delayed-ACK (ping-pong) mode, which a server
    reaches by itself after answering a few requests promptly.  TCP_QUICKACK=0
    on the accepted socket puts it there before the first request arrives, and
    the client lets 100 ms pass after the handshake so the option is in place.
    """

    BODY = b"item=claw-hammer&qty=2"

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
        nodelay(c)
        p = Peer(c)
        p.read_request()
        c.sendall(response("201 Created", [("Content-Type", "text/plain"), ("Connection", "close")],
                           b"order 1001 created\n"))
        graceful_close(c, p)

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port, nodelay_on=False)
        time.sleep(0.100)
        head = request("POST", "/orders", [("Content-Type", "application/x-www-form-urlencoded"),
                                           ("Content-Length", str(len(cls.BODY))),
                                           ("Connection", "close")])
        s.send(head)  # write ...
        s.send(cls.BODY)  # ... write (held by Nagle until the head is ACKed) ...
        p = Peer(s)
        p.read_response("POST")  # ... read
        p.drain_to_eof()
        s.close()


@scenario("T001-nagle-delayed-ack-stall-client-side", 41051, capture="client",
          summary="POST head and body in two writes without TCP_NODELAY; body waits for the delayed ACK; captured at the client")
class T001Client(T001Base):
    pass


@scenario("T001-nagle-delayed-ack-stall-server-side", 41052, capture="server",
          summary="the same write-write-read POST, captured at the server")
class T001Server(T001Base):
    pass


@scenario("T001-nagle-delayed-ack-stall-pipelined", 41061,
          summary="pipelined GETs in separate writes without TCP_NODELAY: Nagle holds the second until the server's delayed ACK of the first")
class T001Pipelined(Direct):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(response("200 OK", [("Content-Type", "text/html")], page("index")))
        # An interactive server's kernel is in delayed-ACK (ping-pong) mode; make sure
        # this one is before the next request arrives.
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
        for name in ("a.css", "b.js"):
            p.read_request()
            time.sleep(THINK)
            c.sendall(response("200 OK", [("Content-Type", "text/plain")], f"/* {name} */\n".encode()))
        graceful_close(c, p)

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port, nodelay_on=False)
        p = Peer(s)
        s.send(request("GET", "/"))
        p.read_response()
        s.send(request("GET", "/a.css"))  # small segment, unacknowledged ...
        s.send(request("GET", "/b.js"))  # ... so Nagle holds this until the ACK
        p.read_response()
        p.read_response()
        s.close()


class T002WindowBase(Direct):
    """A server bound by its congestion window, waiting on the client's delayed ACK.

    The server's route to the client has `initcwnd 3`: the RFC 3390 initial window for this
    MSS (min(4 * MSS, max(2 * MSS, 4380 bytes)) = 3 segments), which stacks used before
    RFC 6928's ten.  Its 30000-byte answer (TCP_NODELAY, one write) leaves as three full
    segments; the client ACKs the first two at once (two full segments) and holds its ACK of
    the third for the delayed-ACK timer, while the four segments the first ACK let out are
    still on their way.  The server, its window full, sends nothing more until that delayed
    ACK reaches it.  The client is put in delayed-ACK (ping-pong) mode with TCP_QUICKACK=0, as
    the T001 server is; after the timer fires its kernel ACKs every segment (quick-ACK mode).

    A small SO_RCVBUF at the client does not give this shape on Linux: a receiver whose
    reading application frees half the offered window ACKs at once with the window update.
    """

    BODY_BYTES = 30000

    @classmethod
    def server(cls, role):
        import subprocess

        # Only inside the recorder's server namespace, on its own link.
        subprocess.run(["ip", "route", "add", CLIENT4 + "/32", "dev", "eth0", "initcwnd", "3"], check=True)
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        line = b"joes-hardware spare parts catalogue, page filler.\n"  # 51 bytes
        body = (line * (cls.BODY_BYTES // len(line) + 1))[: cls.BODY_BYTES]
        c.sendall(response("200 OK", [("Content-Type", "text/plain")], body))
        graceful_close(c, p)

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
        time.sleep(0.100)  # the option is in place before the response arrives
        p = Peer(s)
        s.sendall(request("GET", "/catalogue.txt"))
        p.read_response()
        p.drain_to_eof()
        s.close()


@scenario("T002-delayed-ack-window-limited-client-side", 41071, capture="client",
          summary="a server whose 3-segment congestion window is full waits for the client's delayed ACK of the third segment; captured at the client")
class T002WindowClient(T002WindowBase):
    pass


@scenario("T002-delayed-ack-window-limited-server-side", 41072, capture="server",
          summary="the same window-limited response, captured at the server")
class T002WindowServer(T002WindowBase):
    pass


# ---------------------------------------------------------------- C: Connection header


class OneExchange(Direct):
    """One request, server thinks THINK, one response; the client closes first.

    Subclasses set REQ (bytes) and RESP (bytes).
    """

    REQ = b""
    RESP = b""
    METHOD = "GET"

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(cls.RESP)
        p.drain_to_eof()  # client closes first
        c.close()

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        s.sendall(cls.REQ)
        p = Peer(s)
        p.read_response(cls.METHOD)
        s.close()


@scenario("C001-keep-alive-header-without-connection-token", 42011,
          summary="response carries Keep-Alive: timeout=5, max=100 but no Connection: keep-alive")
class C001(OneExchange):
    REQ = request("GET", "/tools/saws")
    RESP = response("200 OK", [("Content-Type", "text/html"), ("Keep-Alive", "timeout=5, max=100")],
                    page("saws"))


@scenario("C002-proxy-connection-header", 42021,
          summary="request carries the non-standard Proxy-Connection: keep-alive")
class C002(OneExchange):
    REQ = request("GET", f"http://{HOST}/tools/drills", [("Proxy-Connection", "keep-alive")])
    RESP = response("200 OK", [("Content-Type", "text/html")], page("drills"))


@scenario("C003-keep-alive-not-echoed", 42031,
          summary="HTTP/1.0 request asks keep-alive, the 1.0 response does not echo it, the client sends a second request anyway")
class C003(Direct):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        # HTTP/1.0 without "Connection: keep-alive": not persistent, but this lax
        # server does not close and answers what comes next.
        c.sendall(response("200 OK", [("Content-Type", "text/html")], page("nails"), version="HTTP/1.0"))
        p.read_request()
        c.sendall(response("200 OK", [("Content-Type", "text/html")], page("screws"), version="HTTP/1.0"))
        graceful_close(c, p)

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/nails", [("Connection", "keep-alive")], version="HTTP/1.0"))
        p.read_response()
        s.sendall(request("GET", "/screws", [("Connection", "keep-alive")], version="HTTP/1.0"))
        p.read_response()
        p.drain_to_eof()
        s.close()


@scenario("C003-keep-alive-not-echoed-client-closes", 42032,
          summary="HTTP/1.0 request asks keep-alive, the 1.0 response neither echoes it nor closes; the client waits 100 ms, closes, and the server's FIN answers the client's")
class C003ClientCloses(Direct):
    WAIT = 0.100  # how long the correct HTTP/1.0 client waits for the server's close

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        # HTTP/1.0 without "Connection: keep-alive": not persistent, yet this server
        # neither echoes the token nor closes; it waits for another request.
        c.sendall(response("200 OK", [("Content-Type", "text/html")], page("nails"), version="HTTP/1.0"))
        p.drain_to_eof()  # none comes: the client's FIN
        c.close()  # only now, in answer to the client's FIN

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/nails", [("Connection", "keep-alive")], version="HTTP/1.0"))
        _, headers, _ = p.read_response()
        echoed = "keep-alive" in (header(headers, "Connection") or "").lower()
        log(role, f"keep-alive echoed: {echoed}; waiting {cls.WAIT * 1000:.0f} ms for the server to close")
        r, _, _ = select.select([s], [], [], cls.WAIT)
        if r and not s.recv(1, socket.MSG_PEEK):
            log(role, "the server closed")
        else:
            log(role, "no close from the server; closing ourselves")
        s.close()


@scenario("C004-request-after-connection-close", 42041,
          summary="the first response says Connection: close, the client sends a second request on the connection anyway")
class C004(Direct):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(response("200 OK", [("Content-Type", "text/html"), ("Connection", "close")], page("glue")))
        # This server is slow to close; the client's next request arrives first and
        # is answered, so nothing else (reset, unanswered request) muddies the sample.
        p.read_request()
        c.sendall(response("200 OK", [("Content-Type", "text/html"), ("Connection", "close")], page("tape")))
        graceful_close(c, p)

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/glue"))
        p.read_response()  # says Connection: close ...
        s.sendall(request("GET", "/tape"))  # ... ignored
        p.read_response()
        p.drain_to_eof()
        s.close()


@scenario("C005-connection-token-names-end-to-end-header", 42051,
          summary="request lists Cookie in its Connection header, so any proxy would strip the cookie")
class C005(OneExchange):
    REQ = request("GET", "/account", [("Cookie", "session=7f3a9c"), ("Connection", "Cookie")])
    RESP = response("200 OK", [("Content-Type", "text/html")], page("account"))


@scenario("C006-conflicting-connection-tokens", 42061,
          summary="request says Connection: keep-alive, close")
class C006(Direct):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(response("200 OK", [("Content-Type", "text/html"), ("Connection", "close")], page("ladders")))
        graceful_close(c, p)

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/ladders", [("Connection", "keep-alive, close")]))
        p.read_response()
        p.drain_to_eof()
        s.close()


@scenario("C007-hop-by-hop-header-forwarded", 42071, topo="proxy", capture="proxy", conns=2,
          summary="a proxy forwards Connection, Keep-Alive and the Connection-named X-Debug-Hop upstream; both legs captured at the proxy")
class C007Forwarded:
    UPSTREAM_PORT = 42072  # proxy's source port towards the origin

    @classmethod
    def server(cls, role):
        ls = listen(ORIGIN4, HTTP_PORT)
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(response("200 OK", [("Content-Type", "text/html")], page("pliers")))
        p.drain_to_eof()
        c.close()

    @classmethod
    def proxy(cls, role):
        ls = listen(SERVER4, PROXY_PORT)
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        cp = Peer(c)
        start, headers = cp.read_head()
        method, target, version = start.split()
        path = "/" + target.split("://", 1)[1].split("/", 1)[1]
        # The bug under test: every field is copied, hop-by-hop ones included.
        fwd = message(f"{method} {path} {version}", headers + [("Via", "1.1 px")])
        u = connect(PROXY_UP4, cls.UPSTREAM_PORT, ORIGIN4, HTTP_PORT)
        u.sendall(fwd)
        up = Peer(u)
        rs, rh, rb = up.read_response(method)
        c.sendall(message(rs, rh + [("Via", "1.1 px")]) + rb)
        cp.drain_to_eof()  # client closes first
        c.close()
        graceful_close(u, up)

    @classmethod
    def client(cls, role):
        s = connect(CLIENT4, cls.port, SERVER4, PROXY_PORT)
        p = Peer(s)
        s.sendall(request("GET", f"http://{ORIGIN4}/tools/pliers",
                          [("Connection", "keep-alive, X-Debug-Hop"), ("Keep-Alive", "timeout=30"),
                           ("X-Debug-Hop", "1")], host=ORIGIN4))
        p.read_response()
        s.close()


@scenario("C007-hop-by-hop-header-in-wrong-direction", 42081,
          summary="a response carries Proxy-Authorization (txn 0) and a request carries Proxy-Authenticate (txn 1)")
class C007Direction(Direct):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(response("200 OK", [("Content-Type", "text/html"),
                                      ("Proxy-Authorization", "Basic c2FtcGxlOnNhbXBsZQ==")], page("clamps")))
        p.read_request()
        c.sendall(response("200 OK", [("Content-Type", "text/html")], page("vises")))
        p.drain_to_eof()
        c.close()

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/clamps"))
        p.read_response()
        s.sendall(request("GET", "/vises", [("Proxy-Authenticate", 'Basic realm="joes"')]))
        p.read_response()
        s.close()


@scenario("C008-invalid-keep-alive-parameters", 42091,
          summary="response says Keep-Alive: timeout=five, max=-1")
class C008(OneExchange):
    REQ = request("GET", "/tools/levels")
    RESP = response("200 OK", [("Content-Type", "text/html"), ("Connection", "keep-alive"),
                               ("Keep-Alive", "timeout=five, max=-1")], page("levels"))


# ---------------------------------------------------------------- P: pipelining


@scenario("P001-pipelined-before-persistence-known", 43011,
          summary="second GET sent 5 ms after the first, before any response on a fresh connection")
class P001(Direct):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        p.read_request()
        time.sleep(THINK)
        c.sendall(response("200 OK", [("Content-Type", "text/css")], b"body{}\n"))
        c.sendall(response("200 OK", [("Content-Type", "text/javascript")], b"void 0;\n"))
        p.drain_to_eof()
        c.close()

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/site.css"))
        time.sleep(0.005)
        s.sendall(request("GET", "/site.js"))
        p.read_response()
        p.read_response()
        s.close()


@scenario("P002-non-idempotent-method-pipelined", 43021,
          summary="after a first exchange, a POST is pipelined behind an outstanding GET")
class P002(Direct):
    BODY = b'{"sku":"claw-hammer","qty":1}'

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(response("200 OK", [("Content-Type", "text/html")], page("shop")))
        p.read_request()
        time.sleep(0.100)
        c.sendall(response("200 OK", [("Content-Type", "application/json")], b'{"items":0}\n'))
        p.read_request()
        c.sendall(response("201 Created", [("Content-Type", "application/json")], b'{"order":1002}\n'))
        p.drain_to_eof()
        c.close()

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/shop"))
        p.read_response()
        s.sendall(request("GET", "/cart.json"))
        time.sleep(0.005)
        s.sendall(request("POST", "/orders", [("Content-Type", "application/json"),
                                              ("Content-Length", str(len(cls.BODY)))], cls.BODY))
        p.read_response()
        p.read_response("POST")
        s.close()


@scenario("P003-unanswered-pipelined-requests-at-close", 43031,
          summary="three GETs pipelined on a persistent connection; the server answers one and closes with FIN")
class P003(Direct):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(response("200 OK", [("Content-Type", "text/html")], page("gallery")))
        p.read_request()
        time.sleep(THINK)
        p.read_request()  # read the rest so the close is a FIN, not an RST
        p.read_request()
        c.sendall(response("200 OK", [("Content-Type", "image/png")], b"png:1\n"))
        graceful_close(c, p)  # closes with /img/2 and /img/3 unanswered

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/gallery"))
        p.read_response()
        for i in (1, 2, 3):
            s.sendall(request("GET", f"/img/{i}.png"))
            time.sleep(0.005)
        p.read_response()
        p.drain_to_eof()  # server closed: the other two are lost
        s.close()


# ---------------------------------------------------------------- F: framing


@scenario("F001-unframed-body-on-persistent-connection", 44011,
          summary="HTTP/1.1 keep-alive exchange whose response has neither Content-Length nor chunked: body ends at the server's FIN")
class F001(Direct):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(response("200 OK", [("Content-Type", "text/plain")],
                           b"price list\nhammer 12.00\nsaw 18.50\ndrill 79.00\n", length=False))
        graceful_close(c, p)

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/prices.txt"))
        p.read_response()  # close-delimited: reads to EOF
        s.close()


@scenario("F002-content-length-with-transfer-encoding", 44021,
          summary="POST carries both Content-Length: 15 and Transfer-Encoding: chunked (15 = the chunked body's length)")
class F002(Direct):
    BODY = b"5\r\nhello\r\n0\r\n\r\n"

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()  # chunked wins over Content-Length
        time.sleep(THINK)
        c.sendall(response("200 OK", [("Content-Type", "text/plain")], b"ok\n"))
        p.drain_to_eof()
        c.close()

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("POST", "/feedback", [("Content-Type", "text/plain"),
                                                ("Content-Length", str(len(cls.BODY))),
                                                ("Transfer-Encoding", "chunked")], cls.BODY))
        p.read_response("POST")
        s.close()


@scenario("F003-duplicate-content-length-agreeing", 44031,
          summary="response repeats Content-Length: 25 on two field lines (values agree)")
class F003Agree(OneExchange):
    REQ = request("GET", "/tools/chisels")
    RESP = message("HTTP/1.1 200 OK", [("Content-Type", "text/plain"), ("Content-Length", "25"),
                                       ("Content-Length", "25")], b"chisels: 4 sizes in stock")


@scenario("F003-duplicate-content-length-conflicting", 44041,
          summary="response carries Content-Length: 25 and Content-Length: 40; body is 25 bytes; the client gives up and closes")
class F003Conflict(OneExchange):
    REQ = request("GET", "/tools/files")
    RESP = message("HTTP/1.1 200 OK", [("Content-Type", "text/plain"), ("Content-Length", "25"),
                                       ("Content-Length", "40")], b"files: 6 shapes in stock.")

    @classmethod
    def client(cls, role):
        # RFC 9112 6.3: invalid framing -> a user agent closes the connection.
        s = cls.open(cls.port)
        s.sendall(cls.REQ)
        p = Peer(s)
        p.read_head()
        p.read_exact(25)
        s.close()


@scenario("F004-malformed-chunked-body", 44051,
          summary="chunked response whose second chunk-size line is 'six'; the client gives up and closes")
class F004(OneExchange):
    REQ = request("GET", "/tools/rulers")
    RESP = message("HTTP/1.1 200 OK", [("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")],
                   b"5\r\nruler\r\nsix\r\ns in 3\r\n0\r\n\r\n")

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        s.sendall(cls.REQ)
        p = Peer(s)
        p.read_head()
        p.read_line()  # "5"
        p.read_exact(7)
        bad = p.read_line()
        log(role, f"chunk size line {bad!r} does not parse; closing")
        s.close()


# ---------------------------------------------------------------- R: closing and resets


class Truncated(Direct):
    """Content-Length: 10000 promised, 3000 body bytes sent, then the server closes."""

    TOTAL = 10000
    SENT = 3000

    @classmethod
    def body(cls):
        line = b"joes-hardware spare parts catalogue, page filler.\n"  # 51 bytes
        return (line * (cls.SENT // len(line) + 1))[: cls.SENT]

    @classmethod
    def send_partial(cls, c):
        head = message("HTTP/1.1 200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(cls.TOTAL))])
        c.sendall(head + cls.body())
        time.sleep(0.100)  # let it all be ACKed, so the close loses nothing in flight

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        s.sendall(request("GET", "/catalogue.txt"))
        p = Peer(s)
        p.read_head()
        got = len(p.drain_to_eof())
        log(role, f"got {got} of {cls.TOTAL} body bytes")
        s.close()


@scenario("R001-rst-truncated-response", 45011,
          summary="response promises Content-Length 10000, the server resets (SO_LINGER 0) after 3000 body bytes")
class R001(Truncated):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        cls.send_partial(c)
        rst_close(c)


@scenario("R002-fin-truncated-response", 45021,
          summary="response promises Content-Length 10000, the server closes with FIN after 3000 body bytes")
class R002(Truncated):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        cls.send_partial(c)
        graceful_close(c, p)


@scenario("R003-reset-on-close-with-unread-data", 45031,
          summary="server answers the first of two pipelined GETs and closes with the second unread: the kernel sends RST")
class R003(Direct):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(response("200 OK", [("Content-Type", "text/html")], page("brochure")))
        p.read_request()  # /page2 only: /page3 has not arrived yet
        time.sleep(THINK)  # /page3 arrives meanwhile and stays unread
        c.sendall(response("200 OK", [("Content-Type", "text/html")], page("page 2")))
        c.close()  # unread data -> RST instead of FIN

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/brochure"))
        p.read_response()
        s.sendall(request("GET", "/brochure/page2"))
        time.sleep(0.020)
        s.sendall(request("GET", "/brochure/page3"))
        try:
            p.read_response()
            p.read_response()
        except (ConnectionResetError, EOFError) as e:
            log(role, f"connection ended: {e!r}")
        s.close()


@scenario("R003-reset-on-close-early-answer", 45032,
          summary="a 512 KiB upload; the server reads only the head, answers 413 with Connection: close and closes with the body unread: RST while the body still arrives")
class R003EarlyAnswer(Direct):
    BODY = 512 * 1024

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        # Read exactly the head and not a byte of the body: peek until the
        # blank line is in, then take just that much.
        while True:
            peek = c.recv(65536, socket.MSG_PEEK)
            end = peek.find(b"\r\n\r\n")
            if end >= 0:
                break
            time.sleep(0.001)
        head = c.recv(end + 4)
        log(role, f"read the {len(head)}-byte head only")
        # The body keeps arriving and piles up unread (the window shrinks).
        time.sleep(THINK)
        body = page("request entity too large: at most 64 KiB")
        c.sendall(response("413 Payload Too Large", [("Content-Type", "text/html"), ("Connection", "close")], body))
        c.close()  # the body still in the socket -> RST instead of FIN

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        payload = request("POST", "/upload", [("Content-Type", "application/octet-stream"),
                                              ("Content-Length", str(cls.BODY))], b"u" * cls.BODY)
        sent = {}

        def upload():
            try:
                s.sendall(payload)
                sent["all"] = True
            except OSError as e:
                sent["error"] = repr(e)

        t = threading.Thread(target=upload)
        t.start()
        try:
            start, _, _ = p.read_response("POST")
            log(role, f"got {start!r}")
        except (ConnectionResetError, EOFError) as e:
            log(role, f"no response read: {e!r}")
        t.join()
        log(role, f"upload: {sent}")
        s.close()


@scenario("R004-retry-of-non-idempotent-request", 45041, conns=2,
          summary="a POST is reset without an answer; the client sends it again on a new connection")
class R004(Direct):
    BODY = b'{"sku":"torque-wrench","qty":1}'

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        rst_close(c)  # crashes mid-request: no response, RST
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(response("201 Created", [("Content-Type", "application/json")], b'{"order":1003}\n'))
        p.drain_to_eof()
        c.close()

    @classmethod
    def client(cls, role):
        req = request("POST", "/orders", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(cls.BODY)))], cls.BODY)
        for attempt in range(2):
            s = cls.open(cls.port + attempt)
            s.sendall(req)
            p = Peer(s)
            try:
                p.read_response("POST")
                s.close()
                return
            except (ConnectionResetError, EOFError) as e:
                log(role, f"attempt {attempt}: {e!r}; retrying the POST on a new connection")
                s.close()


# ---------------------------------------------------------------- clean captures


class KeepAlive(Direct):
    """Several transactions on one HTTP/1.1 connection, TCP_NODELAY, one write per message."""

    EXCHANGES = [
        (request("GET", "/"), "GET", response("200 OK", [("Content-Type", "text/html")], page("joe's hardware"))),
        (request("GET", "/style.css"), "GET", response("200 OK", [("Content-Type", "text/css")], b"h1{color:red}\n")),
        (request("POST", "/cart", [("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", "16")],
                 b"sku=hammer&qty=1"), "POST",
         response("200 OK", [("Content-Type", "text/plain")], b"cart: 1 item\n")),
        (request("GET", "/logo.png"), "GET", response("200 OK", [("Content-Type", "image/png")], b"\x89PNG....\n")),
    ]

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        for i, (_, _, resp) in enumerate(cls.EXCHANGES):
            p.read_request()
            time.sleep(THINK if i == 0 else 0.015)
            c.sendall(resp)
        p.drain_to_eof()
        c.close()

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        for req, method, _ in cls.EXCHANGES:
            s.sendall(req)
            p.read_response(method)
        s.close()


@scenario("clean-keepalive-reuse-nodelay", 46011,
          summary="four transactions (GET, GET, POST, GET) reuse one connection; TCP_NODELAY, one write per message")
class CleanKeepAlive(KeepAlive):
    pass


@scenario("clean-keepalive-page-load", 46101,
          summary="a page load on one keep-alive connection: a small HTML page, then five small subresource GETs, prompt server")
class CleanPageLoad(Direct):
    """What S001 must not flag: a browser-like page load that reuses its connection.

    The server answers at once (no THINK): the first transaction alone is half
    handshake, as on any fresh connection, but the connection then carries
    the page's subresources, which is what S001 advises. TCP_NODELAY, one
    write per message; the client "parses" 5 ms between a response and its
    next request; no Connection header on either side (HTTP/1.1 persists).
    """

    HTML = ("<!doctype html><html><head><title>Joe's Hardware</title>"
            "<link rel=stylesheet href=/css/site.css><script src=/js/cart.js></script>"
            "<link rel=icon href=/favicon.ico></head><body><h1>Joe's Hardware</h1>"
            + "".join(f"<p><img src=/img/{n}.png alt={n}> {n}: in stock</p>" for n in ("hammer", "saw"))
            + "</body></html>\n").encode()
    ASSETS = [
        ("/css/site.css", "text/css", b"body{font-family:sans-serif}h1{color:#a00}p{margin:4px}\n" * 6),
        ("/js/cart.js", "application/javascript", b"function add(sku){fetch('/cart?sku='+sku)}\n" * 12),
        ("/img/hammer.png", "image/png", png(24, 1)),
        ("/img/saw.png", "image/png", png(32, 7)),
        ("/favicon.ico", "image/x-icon", bytes(318)),
    ]

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        bodies = {"/": ("text/html", cls.HTML)}
        bodies.update({path: (ctype, body) for path, ctype, body in cls.ASSETS})
        while True:
            try:
                start, _, _ = p.read_request()
            except EOFError:
                break
            ctype, body = bodies[start.split()[1]]
            c.sendall(response("200 OK", [("Content-Type", ctype)], body))
        c.close()

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/", [("Accept", "text/html")]))
        p.read_response()
        for path, _, _ in cls.ASSETS:
            time.sleep(0.005)
            s.sendall(request("GET", path, [("Accept", "*/*"), ("Referer", f"http://{HOST}/")]))
            p.read_response()
        s.close()


def noise(n, seed):
    """`n` deterministic bytes that look like compressed media (no HTTP in them)."""
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(b"%d:%d" % (seed, counter)).digest()
        counter += 1
    return bytes(out[:n])


@scenario("long-download-keepalive", 46111, sample=False,
          summary="a keep-alive connection: a small page, a 600000-byte download, then two small GETs")
class LongDownload(KeepAlive):
    """The capture that begins in the middle of a big download, once cut.

    One connection, TCP_NODELAY, one write per message: GET / (a small page,
    which confirms persistence), GET /video.bin (600000 bytes of
    incompressible-looking data, about 415 segments), then GET /next.json and
    GET /last.txt, each answered at once. Recorded whole; the test data cut
    from it (tests/data/realworld/README.md) start inside the download.
    """

    EXCHANGES = [
        (request("GET", "/"), "GET", response("200 OK", [("Content-Type", "text/html")], page("downloads"))),
        (request("GET", "/video.bin"), "GET",
         response("200 OK", [("Content-Type", "application/octet-stream")], noise(600000, 1))),
        (request("GET", "/next.json"), "GET",
         response("200 OK", [("Content-Type", "application/json")], b'{"next": "/last.txt"}\n')),
        (request("GET", "/last.txt"), "GET", response("200 OK", [("Content-Type", "text/plain")], b"done\n")),
    ]


@scenario("clean-ipv6-keepalive", 46091, family=6,
          summary="the keep-alive reuse exchange over IPv6")
class CleanIPv6(KeepAlive):
    family = 6


@scenario("clean-pipelined-gets", 46021,
          summary="after a first exchange confirms persistence, three GETs pipelined in one write; answered in order")
class CleanPipelined(Direct):
    NAMES = ("a.css", "b.js", "c.png")

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(response("200 OK", [("Content-Type", "text/html")], page("index")))
        for i, name in enumerate(cls.NAMES):
            p.read_request()
            if i == 0:
                time.sleep(0.015)
            c.sendall(response("200 OK", [("Content-Type", "text/plain")], f"contents of {name}\n".encode()))
        p.drain_to_eof()
        c.close()

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/"))
        p.read_response()
        s.sendall(b"".join(request("GET", "/" + n) for n in cls.NAMES))
        for _ in cls.NAMES:
            p.read_response()
        s.close()


@scenario("clean-chunked-trailers", 46031,
          summary="chunked response streamed in four writes (TCP_NODELAY, 10 ms apart) ending with an X-Checksum trailer")
class CleanChunked(Direct):
    CHUNKS = (b"Mozilla", b"Developer", b"Network")

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(message("HTTP/1.1 200 OK", [("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked"),
                                              ("Trailer", "X-Checksum")])
                  + b"%x\r\n%s\r\n" % (len(cls.CHUNKS[0]), cls.CHUNKS[0]))
        for chunk in cls.CHUNKS[1:]:
            time.sleep(0.010)
            c.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        time.sleep(0.010)
        digest = hashlib.sha256(b"".join(cls.CHUNKS)).hexdigest()[:16]
        c.sendall(b"0\r\nX-Checksum: sha256-" + digest.encode() + b"\r\n\r\n")
        p.drain_to_eof()
        c.close()

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/stream", [("TE", "trailers"), ("Connection", "TE")]))
        p.read_response()
        s.close()


@scenario("clean-head", 46041,
          summary="HEAD answered with Content-Length 10000 and no body, then a GET on the same connection")
class CleanHead(Direct):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(message("HTTP/1.1 200 OK", [("Content-Type", "application/pdf"), ("Content-Length", "10000")]))
        p.read_request()
        time.sleep(0.015)
        c.sendall(response("200 OK", [("Content-Type", "text/plain")], b"manual: 10000 bytes\n"))
        p.drain_to_eof()
        c.close()

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("HEAD", "/manual.pdf"))
        p.read_response("HEAD")
        s.sendall(request("GET", "/manual.txt"))
        p.read_response()
        s.close()


@scenario("clean-204-304", 46051,
          summary="204 No Content, then 304 Not Modified (with Content-Length 1234, no body), then a 200 on the same connection")
class Clean204304(Direct):
    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        p.read_request()
        time.sleep(THINK)
        c.sendall(message("HTTP/1.1 204 No Content", [("Cache-Control", "no-store")]))
        p.read_request()
        time.sleep(0.015)
        c.sendall(message("HTTP/1.1 304 Not Modified", [("ETag", '"v7"'), ("Content-Length", "1234")]))
        p.read_request()
        time.sleep(0.015)
        c.sendall(response("200 OK", [("Content-Type", "text/html")], page("deals")))
        p.drain_to_eof()
        c.close()

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/ping"))
        p.read_response()
        s.sendall(request("GET", "/logo.png", [("If-None-Match", '"v7"')]))
        p.read_response()
        s.sendall(request("GET", "/deals"))
        p.read_response()
        s.close()


@scenario("clean-expect-100-continue", 46061,
          summary="POST with Expect: 100-continue; the body follows the 100 Continue, then 201")
class CleanExpect(Direct):
    BODY = b"".join(b"line %04d of the inventory upload\n" % i for i in range(36))  # 1224 bytes

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        _, headers = p.read_head()
        c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        p.read_exact(int(header(headers, "Content-Length")))
        time.sleep(0.015)  # answer within the delayed-ACK timer: the ACK rides on the response
        c.sendall(response("201 Created", [("Content-Type", "text/plain")], b"stored\n"))
        p.drain_to_eof()
        c.close()

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("POST", "/inventory", [("Content-Type", "text/plain"),
                                                 ("Content-Length", str(len(cls.BODY))),
                                                 ("Expect", "100-continue")]))
        start, _ = p.read_head()
        assert start.split()[1] == "100", start
        s.sendall(cls.BODY)
        p.read_response("POST")
        s.close()


def tunnel_blob(tag, n):
    """Deterministic non-HTTP bytes for the tunnel (stand-in for TLS records)."""
    out = bytearray(b"\x17\x03\x03" + n.to_bytes(2, "big"))
    x = sum(tag)
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(x >> 23)
    return bytes(out)


@scenario("clean-connect-tunnel", 46071, topo="proxy", capture="client",
          summary="CONNECT through a proxy, 200, then two opaque request/reply exchanges through the tunnel; client leg captured")
class CleanConnect:
    UPSTREAM_PORT = 46072

    @classmethod
    def server(cls, role):
        ls = listen(ORIGIN4, TLS_PORT)
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        for i in range(2):
            got = b""
            while len(got) < 605:
                d = c.recv(65536)
                if not d:
                    raise EOFError
                got += d
            c.sendall(tunnel_blob(b"reply%d" % i, 900))
        while c.recv(65536):
            pass
        c.close()

    @classmethod
    def proxy(cls, role):
        ls = listen(SERVER4, PROXY_PORT)
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        cp = Peer(c)
        start, _ = cp.read_head()
        host, port = start.split()[1].rsplit(":", 1)
        u = connect(PROXY_UP4, cls.UPSTREAM_PORT, host, int(port))
        c.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")

        def pump(src, dst, pending=b""):
            if pending:
                dst.sendall(pending)
            while True:
                d = src.recv(65536)
                if not d:
                    dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(d)

        t = threading.Thread(target=pump, args=(c, u, cp.buf))
        t.start()
        pump(u, c)
        t.join()
        c.close()
        u.close()

    @classmethod
    def client(cls, role):
        s = connect(CLIENT4, cls.port, SERVER4, PROXY_PORT)
        p = Peer(s)
        target = f"{ORIGIN4}:{TLS_PORT}"
        s.sendall(request("CONNECT", target, host=target))
        p.read_response("CONNECT")
        for i in range(2):
            s.sendall(tunnel_blob(b"hello%d" % i, 600))
            p.read_exact(905)
        s.shutdown(socket.SHUT_WR)
        p.drain_to_eof()
        s.close()


@scenario("clean-websocket-upgrade", 46081,
          summary="GET with Upgrade: websocket, 101 Switching Protocols, one text frame each way, close frames")
class CleanWebSocket(Direct):
    KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's example key
    MASK = b"\x37\xfa\x21\x3d"

    @classmethod
    def masked(cls, opcode, payload):
        data = bytes(b ^ cls.MASK[i % 4] for i, b in enumerate(payload))
        return bytes([0x80 | opcode, 0x80 | len(payload)]) + cls.MASK + data

    @classmethod
    def server(cls, role):
        ls = cls.listener()
        ready(role)
        c, _ = ls.accept()
        nodelay(c)
        p = Peer(c)
        _, headers = p.read_head()
        key = header(headers, "Sec-WebSocket-Key")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        time.sleep(THINK)
        c.sendall(message("HTTP/1.1 101 Switching Protocols", [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                                                ("Sec-WebSocket-Accept", accept.decode())]))
        p.read_exact(2 + 4 + 5)  # masked "hello"
        time.sleep(0.015)
        c.sendall(b"\x81\x0ahello back")
        p.read_exact(2 + 4 + 2)  # masked close frame
        c.sendall(b"\x88\x02\x03\xe8")
        graceful_close(c, p)  # the server closes the TCP connection first (RFC 6455 7.1.1)

    @classmethod
    def client(cls, role):
        s = cls.open(cls.port)
        p = Peer(s)
        s.sendall(request("GET", "/chat", [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                           ("Sec-WebSocket-Key", cls.KEY), ("Sec-WebSocket-Version", "13")]))
        p.read_response()
        s.sendall(cls.masked(0x1, b"hello"))
        p.read_exact(12)
        s.sendall(cls.masked(0x8, b"\x03\xe8"))
        p.read_exact(4)
        p.drain_to_eof()
        s.close()



# ---------------------------------------------------------------- TLS: real stacks (nginx, curl, openssl)
#
# The TLS scenarios run the real programs: nginx (OpenSSL 3) as the server,
# curl and `openssl s_client` as clients, plus Python's ssl module (OpenSSL
# again) where a client must write in a particular way (T001). The server's
# certificate is a throwaway self-signed one made at record time in the
# recorder's temporary directory (deleted with it): no key is committed.
# The server role runs nginx in the foreground until the client role says
# it is done (a file in READY_DIR), then stops it gracefully (SIGQUIT).

TLS_HOST = HOST


def work_dir():
    d = os.environ.get("READY_DIR")
    if not d:
        import tempfile
        d = tempfile.mkdtemp(prefix="connlint-tls-")
    return d


def throwaway_certificate(work):
    """A P-256 self-signed certificate for TLS_HOST, valid one day, for this recording only."""
    key, cert = os.path.join(work, "tls-key.pem"), os.path.join(work, "tls-cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "1", "-subj", f"/CN={TLS_HOST}",
                    "-addext", f"subjectAltName=DNS:{TLS_HOST}", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return key, cert


def client_done():
    with open(os.path.join(work_dir(), "client-done"), "w") as f:
        f.write("done\n")


def wait_client_done(limit=50.0):
    path = os.path.join(work_dir(), "client-done")
    end = time.monotonic() + limit
    while not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.05)


def wait_listening(port, limit=10.0):
    """Waits until something listens on `port` in this namespace (without connecting to it)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
        if out.strip():
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def set_client_port(port):
    """The next connection's source port (for programs that cannot bind one: openssl s_client).
    The range is per network namespace; a single port makes it deterministic."""
    with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
        f.write(f"{port} {port}")


class TlsNginx(Direct):
    """nginx with TLS on SERVER4:443 (and PLAIN_HTTP2 on :80 for h2c); clients in subclasses."""

    PROTOCOLS = "TLSv1.2 TLSv1.3"
    TICKETS = "on"
    CACHE = "none"  # nginx's default: no session cache
    HTTP2 = False
    PLAIN_HTTP2 = False
    KEEPALIVE = "5s"
    EARLY_DATA = False
    EXTRA = ""  # more server-block directives
    FILES = {
        "index.html": page("Joe's Hardware: hammers, saws, pliers"),
        "catalog.json": b'{"items":[' + b",".join(b'{"sku":%d,"name":"tool %d","price":%d}' % (i, i, 5 + i) for i in range(40)) + b"]}\n",
        "style.css": b"body{font-family:sans-serif}h1{color:#a00}p{margin:4px}\n" * 8,
    }

    @classmethod
    def extra_files(cls, www):
        pass

    @classmethod
    def server(cls, role):
        work = work_dir()
        key, cert = throwaway_certificate(work)
        www = os.path.join(work, "www")
        os.makedirs(www, exist_ok=True)
        for name, body in cls.FILES.items():
            with open(os.path.join(www, name), "wb") as f:
                f.write(body)
        cls.extra_files(www)
        temp = os.path.join(work, "nginx-tmp")
        os.makedirs(temp, exist_ok=True)
        plain = f"listen {SERVER4}:{HTTP_PORT} http2;" if cls.PLAIN_HTTP2 else ""
        conf = f"""
user root;
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    default_type application/octet-stream;
    keepalive_timeout {cls.KEEPALIVE};
    tcp_nodelay on;
    sendfile off;
    server {{
        listen {SERVER4}:{TLS_PORT} ssl{' http2' if cls.HTTP2 else ''};
        {plain}
        server_name {TLS_HOST};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols {cls.PROTOCOLS};
        ssl_session_tickets {cls.TICKETS};
        ssl_session_cache {cls.CACHE};
        ssl_early_data {'on' if cls.EARLY_DATA else 'off'};
        {cls.EXTRA}
        root {www};
    }}
}}
"""
        path = os.path.join(work, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        proc = subprocess.Popen(["nginx", "-p", work, "-e", os.path.join(work, "nginx-stderr.log"), "-c", path])
        try:
            wait_listening(HTTP_PORT if cls.PLAIN_HTTP2 else TLS_PORT)
            ready(role)
            wait_client_done()
            time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGQUIT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log(role, "nginx stopped")

    @staticmethod
    def curl(urls, *opts, port=None):
        """One curl invocation fetching `urls` (paths) from the TLS server, bodies discarded."""
        args = ["curl", "-sS", "-k", "--resolve", f"{TLS_HOST}:{TLS_PORT}:{SERVER4}"]
        if port is not None:
            args += ["--local-port", str(port)]
        args += list(opts)
        for u in urls:
            args += ["-o", "/dev/null", f"https://{TLS_HOST}{u}"]
        log("client", " ".join(args))
        # curl writes its TLS secrets (NSS key log format) where record.sh
        # finds them and keeps them beside the capture as NAME.keylog.
        env = dict(os.environ, SSLKEYLOGFILE=os.path.join(work_dir(), "keylog"))
        subprocess.run(args, check=True, env=env)

    @classmethod
    def client(cls, role):
        try:
            cls.run_client(role)
        finally:
            client_done()


@scenario("clean-tls13-keepalive", 47001,
          summary="curl fetches three files over one TLS 1.3 keep-alive connection (HTTP/1.1) from nginx")
class CleanTls13KeepAlive(TlsNginx):
    @classmethod
    def run_client(cls, role):
        cls.curl(["/index.html", "/style.css", "/catalog.json"], "--http1.1", port=cls.port)


@scenario("clean-tls12-keepalive", 47002,
          summary="curl limited to TLS 1.2 fetches three files over one keep-alive connection from nginx")
class CleanTls12KeepAlive(TlsNginx):
    @classmethod
    def run_client(cls, role):
        cls.curl(["/index.html", "/style.css", "/catalog.json"], "--http1.1", "--tlsv1.2", "--tls-max", "1.2",
                 port=cls.port)


@scenario("clean-tls12-h2", 47003,
          summary="curl offers h2 over TLS 1.2 to nginx with HTTP/2: the ServerHello chooses h2; two streams on one connection")
class CleanTls12H2(TlsNginx):
    HTTP2 = True

    @classmethod
    def run_client(cls, role):
        cls.curl(["/index.html", "/catalog.json"], "--http2", "--tlsv1.2", "--tls-max", "1.2", port=cls.port)


@scenario("clean-h2c-prior-knowledge", 47004,
          summary="curl speaks HTTP/2 in clear text with prior knowledge (the connection preface) to nginx on port 80, one GET")
class CleanH2c(TlsNginx):
    PLAIN_HTTP2 = True

    @classmethod
    def run_client(cls, role):
        # One URL: curl 7.88 fails reusing a prior-knowledge connection for a second one.
        args = ["curl", "-sS", "--http2-prior-knowledge", "--local-port", str(cls.port),
                "-o", "/dev/null", f"http://{SERVER4}/catalog.json"]
        log(role, " ".join(args))
        subprocess.run(args, check=True)


@scenario("S001-handshake-dominated-tls", 47011,
          summary="one small GET over a fresh TLS 1.3 connection: TCP and TLS handshakes are two thirds of the time")
class S001Tls(TlsNginx):
    @classmethod
    def run_client(cls, role):
        cls.curl(["/index.html"], "--http1.1", port=cls.port)


@scenario("S002-connection-churn-tls", 47021, conns=3,
          summary="curl fetches three files with Connection: close: three TLS connections one after another (sessions resumed)")
class S002Tls(TlsNginx):
    @classmethod
    def run_client(cls, role):
        # One invocation: curl resumes its TLS session on the second and third connection.
        cls.curl(["/index.html", "/style.css", "/catalog.json"], "--http1.1", "-H", "Connection: close")


@scenario("S005-tls-session-not-resumed", 47031, conns=3,
          summary="three curl runs (TLS 1.2, two files each) to a server with a session cache: every run does a full handshake")
class S005(TlsNginx):
    # A server that really keeps sessions (nginx's default "none" assigns
    # session ids it does not keep): the client's fault alone.
    CACHE = "shared:SSL:1m"

    @classmethod
    def run_client(cls, role):
        for i in range(3):
            cls.curl(["/index.html", "/style.css"], "--http1.1", "--tlsv1.2", "--tls-max", "1.2",
                     port=cls.port + i)
            time.sleep(0.3)


@scenario("S006-tls12-chosen-when-13-offered", 47041,
          summary="curl offers TLS 1.3 to an nginx configured for TLS 1.2 only: a full two-round-trip handshake")
class S006(TlsNginx):
    PROTOCOLS = "TLSv1.2"

    @classmethod
    def run_client(cls, role):
        cls.curl(["/index.html", "/style.css"], "--http1.1", port=cls.port)


@scenario("S007-h2-offered-http1-chosen", 47051,
          summary="curl offers h2 and http/1.1 over TLS 1.2 to an nginx without HTTP/2: the ServerHello chooses http/1.1")
class S007(TlsNginx):
    @classmethod
    def run_client(cls, role):
        cls.curl(["/index.html", "/style.css"], "--http2", "--tlsv1.2", "--tls-max", "1.2", port=cls.port)


# ---------------------------------------------------------------- TLS with a key log (decryption)
#
# curl writes its secrets to a key log (SSLKEYLOGFILE); record.sh keeps it
# beside the capture as NAME.keylog, so that `connlint --keylog` (and
# tshark's tls.keylog_file) read the HTTP inside. The secrets are of a
# throwaway server key and a one-off session: nothing else is protected by them.

@scenario("clean-tls13-keepalive-keylog", 47201,
          summary="curl fetches three files over one TLS 1.3 keep-alive connection (AES-256-GCM, OpenSSL's first choice) from nginx, with its key log")
class CleanTls13KeepAliveKeylog(TlsNginx):
    @classmethod
    def run_client(cls, role):
        cls.curl(["/index.html", "/style.css", "/catalog.json"], "--http1.1", port=cls.port)


@scenario("clean-tls13-chacha20-keylog", 47202,
          summary="curl fetches two files over one TLS 1.3 connection with TLS_CHACHA20_POLY1305_SHA256, with its key log")
class CleanTls13ChaChaKeylog(TlsNginx):
    @classmethod
    def run_client(cls, role):
        cls.curl(["/index.html", "/catalog.json"], "--http1.1", "--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256",
                 port=cls.port)


@scenario("clean-tls13-aes128-keylog", 47203,
          summary="curl fetches two files over one TLS 1.3 connection with TLS_AES_128_GCM_SHA256, with its key log")
class CleanTls13Aes128Keylog(TlsNginx):
    @classmethod
    def run_client(cls, role):
        cls.curl(["/index.html", "/catalog.json"], "--http1.1", "--tls13-ciphers", "TLS_AES_128_GCM_SHA256",
                 port=cls.port)


@scenario("clean-tls12-keepalive-keylog", 47204,
          summary="curl limited to TLS 1.2 fetches three files over one keep-alive connection (ECDHE-ECDSA-AES128-GCM-SHA256) from nginx, with its key log")
class CleanTls12KeepAliveKeylog(TlsNginx):
    @classmethod
    def run_client(cls, role):
        cls.curl(["/index.html", "/style.css", "/catalog.json"], "--http1.1", "--tlsv1.2", "--tls-max", "1.2",
                 "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256", port=cls.port)


@scenario("clean-tls12-chacha20-keylog", 47205,
          summary="curl limited to TLS 1.2 fetches two files with ECDHE-ECDSA-CHACHA20-POLY1305 (RFC 7905), with its key log")
class CleanTls12ChaChaKeylog(TlsNginx):
    @classmethod
    def run_client(cls, role):
        cls.curl(["/index.html", "/catalog.json"], "--http1.1", "--tlsv1.2", "--tls-max", "1.2",
                 "--ciphers", "ECDHE-ECDSA-CHACHA20-POLY1305", port=cls.port)


@scenario("C002-proxy-connection-header-tls", 47211,
          summary="curl sends Proxy-Connection: keep-alive inside TLS 1.3 to nginx (C002 of the clear sample, read with the key log)")
class C002Tls(TlsNginx):
    @classmethod
    def run_client(cls, role):
        cls.curl(["/index.html"], "--http1.1", "-H", "Proxy-Connection: keep-alive", port=cls.port)


@scenario("R001-rst-truncated-response-tls-keylog", 47212,
          summary="R001-rst-truncated-response-tls again, with curl's key log: decrypted, the cut response is judged from its HTTP")
class R001TlsKeylog(TlsNginx):
    @classmethod
    def extra_files(cls, www):
        with open(os.path.join(www, "catalog.pdf"), "wb") as f:
            f.write(os.urandom(1024 * 1024))

    @classmethod
    def run_client(cls, role):
        try:
            cls.curl(["/catalog.pdf"], "--http1.1", "--limit-rate", "100k", "--max-time", "0.5", port=cls.port)
        except subprocess.CalledProcessError as e:
            log(role, f"curl gave up as asked ({e.returncode})")


class SClientSessions(TlsNginx):
    """openssl s_client three times in a row, saving the session (-sess_out) and offering it again (-sess_in)."""

    TLS_FLAGS = ()
    PATHS = ("/index.html", "/style.css")
    # Offer the session the previous run saved (True), or always the first
    # run's (False: a TLS 1.2 ticket may be used again, and OpenSSL's
    # client does not save the renewed one).
    CHAIN = True

    @classmethod
    def one(cls, port, sess_in, sess_out):
        set_client_port(port)
        args = ["openssl", "s_client", "-connect", f"{SERVER4}:{TLS_PORT}", "-servername", TLS_HOST,
                "-quiet", "-no_ign_eof", *cls.TLS_FLAGS, "-sess_out", sess_out]
        if sess_in:
            args += ["-sess_in", sess_in]
        log("client", " ".join(args))
        p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        reader = Peer(FileSock(p.stdout))
        for i, path in enumerate(cls.PATHS):
            last = i == len(cls.PATHS) - 1
            headers = [("Connection", "close")] if last else []
            p.stdin.write(request("GET", path, headers, host=TLS_HOST))
            p.stdin.flush()
            reader.read_response()
            time.sleep(0.005)
        reader.drain_to_eof()
        p.stdin.close()
        p.wait(10)

    @classmethod
    def run_client(cls, role):
        work = work_dir()
        sess = [os.path.join(work, f"session-{i}.pem") for i in range(3)]
        for i in range(3):
            offered = (sess[i - 1] if cls.CHAIN else sess[0]) if i else None
            cls.one(cls.port + i, offered, sess[i])
            time.sleep(0.3)


class FileSock:
    """A pipe made to look like a socket for Peer."""

    def __init__(self, f):
        self.f = f

    def recv(self, n):
        return self.f.read1(n)


@scenario("clean-tls13-resumed-sessions", 47061, conns=3,
          summary="openssl s_client three times with -sess_out/-sess_in (TLS 1.3, two requests each): the second and third resume with a PSK")
class CleanTls13Resumed(SClientSessions):
    pass


@scenario("clean-tls12-resumed-sessions", 47071, conns=3,
          summary="openssl s_client -tls1_2 three times, the second and third with -sess_in of the first's session (two requests each): both resume with its ticket")
class CleanTls12Resumed(SClientSessions):
    TLS_FLAGS = ("-tls1_2",)
    CHAIN = False


@scenario("R001-rst-truncated-response-tls", 47081,
          summary="curl downloads a 1 MB file over TLS at 100 kB/s and gives up after half a second: it closes with the response unread, and its kernel resets while nginx is sending")
class R001Tls(TlsNginx):
    @classmethod
    def extra_files(cls, www):
        with open(os.path.join(www, "catalog.pdf"), "wb") as f:
            f.write(os.urandom(1024 * 1024))

    @classmethod
    def run_client(cls, role):
        try:
            cls.curl(["/catalog.pdf"], "--http1.1", "--limit-rate", "100k", "--max-time", "0.5", port=cls.port)
        except subprocess.CalledProcessError as e:
            log(role, f"curl gave up as asked ({e.returncode})")


@scenario("T001-nagle-delayed-ack-stall-tls", 47091,
          summary="a TLS client without TCP_NODELAY writes a POST's head and body as two TLS records: Nagle holds the second until the server's delayed ACK")
class T001Tls(Direct):
    """Write-write-read over TLS 1.3 (Python's ssl module: OpenSSL on both sides).

    nginx answers a POST to a static location before its body arrives, so
    the server here is a small TLS server that reads the whole request
    (head, then Content-Length bytes) before it answers, as an application
    server does. The client waits 100 ms after the handshake (so that the
    session tickets have arrived and its Finished is acknowledged), then
    writes the POST's head and body in two calls without TCP_NODELAY.
    """

    BODY = b'{"item":42,"count":1}\n'

    @classmethod
    def server(cls, role):
        work = work_dir()
        key, cert = throwaway_certificate(work)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])
        ls = listen(SERVER4, TLS_PORT)
        ready(role)
        raw, _ = ls.accept()
        nodelay(raw)
        c = ctx.wrap_socket(raw, server_side=True)
        p = Peer(c)
        p.read_request()
        time.sleep(2 * THINK)  # keeps the one exchange from being handshake-dominated (S001)
        c.sendall(response("201 Created", [("Content-Type", "application/json")], b'{"order":7}\n'))
        try:
            p.read_request()
        except (EOFError, ssl.SSLError, OSError):
            pass
        c.close()

    @classmethod
    def client(cls, role):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        raw = connect(CLIENT4, cls.port, SERVER4, TLS_PORT, nodelay_on=False)
        s = ctx.wrap_socket(raw, server_hostname=TLS_HOST)
        time.sleep(0.1)
        head = request("POST", "/orders", [("Content-Type", "application/json"),
                                           ("Content-Length", str(len(cls.BODY)))], host=TLS_HOST)
        s.sendall(head)
        s.sendall(cls.BODY)
        Peer(s).read_response()
        s.close()


def tls_server_context(work):
    """A TLS server context for Python scenario servers (OpenSSL, TLS 1.2 and 1.3), throwaway certificate."""
    key, cert = throwaway_certificate(work)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def tls_client_context():
    """A TLS client context that writes its secrets where record.sh keeps them (NAME.keylog)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.keylog_filename = os.path.join(work_dir(), "keylog")
    return ctx


def tls_close(sock):
    """close_notify, then the peer's (or its FIN), then FIN: what a TLS stack that closes cleanly does
    (a Python ssl socket closed without it makes OpenSSL 3 answer the FIN with a fatal alert and RSTs)."""
    try:
        sock.unwrap()
    except (ssl.SSLError, OSError, ValueError):
        pass
    sock.close()


@scenario("T001-nagle-delayed-ack-stall-tls-keylog", 47213,
          summary="T001-nagle-delayed-ack-stall-tls again with the client's key log: decrypted, the held write is the POST's body")
class T001TlsKeylog(T001Tls):
    @classmethod
    def server(cls, role):
        ctx = tls_server_context(work_dir())
        ls = listen(SERVER4, TLS_PORT)
        ready(role)
        raw, _ = ls.accept()
        nodelay(raw)
        c = ctx.wrap_socket(raw, server_side=True)
        p = Peer(c)
        p.read_request()
        time.sleep(2 * THINK)  # keeps the one exchange from being handshake-dominated (S001)
        c.sendall(response("201 Created", [("Content-Type", "application/json")], b'{"order":7}\n'))
        try:
            p.drain_to_eof()  # up to the client's close_notify
        except (ssl.SSLError, OSError):
            pass
        tls_close(c)

    @classmethod
    def client(cls, role):
        raw = connect(CLIENT4, cls.port, SERVER4, TLS_PORT, nodelay_on=False)
        s = tls_client_context().wrap_socket(raw, server_hostname=TLS_HOST)
        time.sleep(0.1)
        head = request("POST", "/orders", [("Content-Type", "application/json"),
                                           ("Content-Length", str(len(cls.BODY)))], host=TLS_HOST)
        s.sendall(head)  # write (one TLS record) ...
        s.sendall(cls.BODY)  # ... write (a second record, held by Nagle until the head is ACKed) ...
        Peer(s).read_response()  # ... read
        tls_close(s)


@scenario("P001-pipelined-before-persistence-known-tls", 47214,
          summary="P001's exchange inside TLS 1.3 with the client's key log: the second GET 5 ms after the first, before any response")
class P001Tls(Direct):
    """P001-pipelined-before-persistence-known with both programs speaking TLS (Python's ssl)."""

    @classmethod
    def server(cls, role):
        ctx = tls_server_context(work_dir())
        ls = listen(SERVER4, TLS_PORT)
        ready(role)
        raw, _ = ls.accept()
        nodelay(raw)
        c = ctx.wrap_socket(raw, server_side=True)
        p = Peer(c)
        p.read_request()
        p.read_request()
        time.sleep(THINK)
        c.sendall(response("200 OK", [("Content-Type", "text/css")], b"body{}\n"))
        c.sendall(response("200 OK", [("Content-Type", "text/javascript")], b"void 0;\n"))
        try:
            p.drain_to_eof()  # up to the client's close_notify
        except (ssl.SSLError, OSError):
            pass
        tls_close(c)

    @classmethod
    def client(cls, role):
        raw = connect(CLIENT4, cls.port, SERVER4, TLS_PORT)
        s = tls_client_context().wrap_socket(raw, server_hostname=TLS_HOST)
        p = Peer(s)
        s.sendall(request("GET", "/site.css", host=TLS_HOST))
        time.sleep(0.005)
        s.sendall(request("GET", "/site.js", host=TLS_HOST))
        p.read_response()
        p.read_response()
        tls_close(s)


@scenario("clean-tls13-early-data-keylog", 47221, conns=3,
          summary="openssl s_client resumes a TLS 1.3 session with 0-RTT early data (a GET) to nginx with ssl_early_data on, then offers the same ticket again: early data rejected")
class CleanTls13EarlyData(TlsNginx):
    """Three openssl s_client runs with the key log (-keylogfile):

    1. a full handshake, two GETs, the session saved (-sess_out);
    2. the session offered again (-sess_in) with a GET as 0-RTT early data
       (-early_data FILE), then a second GET after the handshake;
    3. nginx reloaded (SIGHUP: new ticket keys), the second run's session
       offered with the same early data: the server cannot open the ticket, so
       it refuses the PSK, makes a full handshake and skips the early data;
       it answers only the two GETs sent after the handshake (s_client does
       not send rejected early data again).

    Each run's last GET says Connection: close. nginx closes with lingering
    (`lingering_close always`: close_notify, FIN, then it reads until the
    client's FIN) so that s_client's close_notify, which answers nginx's
    after the FIN, is read rather than reset (an R003 of its own).
    """

    PROTOCOLS = "TLSv1.3"
    CACHE = "shared:SSL:1m"
    EARLY_DATA = True
    EXTRA = "lingering_close always;"

    @classmethod
    def one(cls, port, sess_in, sess_out, early=None, paths=()):
        set_client_port(port)
        work = work_dir()
        args = ["openssl", "s_client", "-connect", f"{SERVER4}:{TLS_PORT}", "-servername", TLS_HOST,
                "-quiet", "-no_ign_eof", "-keylogfile", os.path.join(work, "keylog"), "-sess_out", sess_out]
        if sess_in:
            args += ["-sess_in", sess_in]
        if early:
            path = os.path.join(work, f"early-{port}.txt")
            with open(path, "wb") as f:
                f.write(request("GET", early, host=TLS_HOST))
            args += ["-early_data", path]
        log("client", " ".join(args))
        p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        reader = Peer(FileSock(p.stdout))
        rejected = cls.REJECTED.get(port, False)
        if early and not rejected:
            reader.read_response()  # the answer to the early request
        for i, path in enumerate(paths):
            last = i == len(paths) - 1
            headers = [("Connection", "close")] if last else []
            p.stdin.write(request("GET", path, headers, host=TLS_HOST))
            p.stdin.flush()
            reader.read_response()
            time.sleep(0.005)
        reader.drain_to_eof()
        p.stdin.close()
        p.wait(10)
        log("client", p.stderr.read().decode("latin-1", "replace"))

    REJECTED = {}

    @classmethod
    def run_client(cls, role):
        work = work_dir()
        sess = [os.path.join(work, f"session-{i}.pem") for i in range(3)]
        cls.one(cls.port, None, sess[0], paths=("/index.html", "/style.css"))
        time.sleep(0.3)
        cls.one(cls.port + 1, sess[0], sess[1], early="/index.html", paths=("/style.css",))
        time.sleep(0.3)
        with open(os.path.join(work, "nginx.pid")) as f:
            os.kill(int(f.read().strip()), signal.SIGHUP)  # a new worker with new ticket keys
        time.sleep(0.5)
        cls.REJECTED[cls.port + 2] = True
        cls.one(cls.port + 2, sess[1], sess[2], early="/index.html", paths=("/style.css", "/catalog.json"))


# ---------------------------------------------------------------- entry point


def main(argv):
    if len(argv) >= 2 and argv[1] == "list":
        for name, sc in SCENARIOS.items():
            if sc.sample or argv[2:] == ["--all"]:
                print(name)
        return 0
    if len(argv) == 3 and argv[1] == "meta":
        sc = SCENARIOS.get(argv[2])
        if sc is None:
            print(f"unknown scenario {argv[2]!r}; `scenarios.py list` shows them", file=sys.stderr)
            return 2
        print(f"TOPO={sc.topo} FAMILY={sc.family} CAPTURE={sc.capture} CONNS={sc.conns}")
        return 0
    if len(argv) == 4 and argv[1] == "run":
        sc = SCENARIOS.get(argv[2])
        role = argv[3]
        if sc is None or role not in ("client", "server", "proxy") or not hasattr(sc, role):
            print(f"no role {role!r} in scenario {argv[2]!r}", file=sys.stderr)
            return 2
        log(role, f"{sc.name} start")
        getattr(sc, role)(role)
        log(role, "done")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
