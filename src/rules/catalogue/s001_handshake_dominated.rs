//! S001 handshake-dominated.

use super::common::target;
use crate::flow::{Connection, RoleEvidence};
use crate::http::{HttpVersion, MessageFacts, Transaction};
use crate::reassembly::{BySide, Side};
use crate::rules::api::*;
use crate::tls::{HandshakeKind, TlsReport, TlsVersion};
use crate::Timestamp;
use serde::Serialize;

pub struct HandshakeDominated;

static META: RuleMeta = RuleMeta {
    code: "S001",
    name: "handshake-dominated",
    family: Family::Setup,
    severity: Severity::Warning,
    summary: "A connection opened for one small request and its response, then closed: its TCP (and TLS) handshake dominated",
    doc: r#"## What it detects
A connection that was opened for one small exchange and then not reused: its handshake was
seen (SYN, SYN+ACK and the ACK completing it), it carried exactly one request and its complete
response and then closed (FIN or RST from either side), request + response were at most
`small_bytes`, the handshake took at least `min_handshake_ms`, and the handshake was at least
`handshake_ratio` of

    span = handshake + exchange + the capture point's round trip to the client

where *handshake* is SYN -> the ACK completing it and *exchange* is the request's first byte ->
the response's last byte, both as seen at the capture point. The finding is on the connection
(not on a transaction): it is about what the connection was used for. A keep-alive connection
that carried several transactions is never S001: it already did what S001 advises.

### The same verdict wherever the capture was taken
Say the client-server round trip is R, the capture point is a one-way delay `a` from the client
and `b` from the server (R = 2a + 2b), and the server takes P to answer.
- The handshake, SYN -> ACK, is R at every capture point: the SYN passes at `a`, the ACK that
  completes the handshake at `a + R`.
- The request's first byte passes at the same moment as that ACK (or a fixed client delay after
  it, the same everywhere), and the response's last byte passes `2b + P` later. At the client
  (b = R/2) that is R + P; at the server (b = 0) only P: next to the server, the response's last
  byte is seen *leaving*, and it still has the whole way to the client ahead of it.
- The missing part is the round trip between the capture point and the client, `2a`, which the
  handshake measures: SYN+ACK -> ACK (`Connection::capture_rtt_to_ns(Client)`). It is ~0 at the
  client (its own stack's turnaround), R at the server and 2a in between.

So `exchange + 2a = R + P` everywhere, the span is `2R + P` everywhere, and the ratio is
`R / (2R + P)`: 0.5 for a server that answers at once, 0.4 when it takes R/2. The exchange in the
message and in `exchange_ms` is the corrected one (what the client waited);
`capture_exchange_ms` is what the capture point saw and `client_rtt_ms` the correction. The time
between the handshake and the first request byte (a client that connects early) is in neither
the handshake nor the exchange.

### What counts as one request and its response
- Exactly one transaction, with a request and a final response whose framing was satisfied (a
  close-delimited body ends at the server's FIN). The request's own framing need not be: an
  early answer (a `413` before the whole body) still ends the exchange. No response, or one cut short by RST, FIN,
  a gap or the end of the capture: no verdict (the exchange has no end to measure; R001/R002 speak
  for the failures). A HEAD or a 204/304 is an exchange like any other (no body); interim 1xx
  responses (100 Continue) are part of the exchange and their bytes count.
- Not a CONNECT (any answer) and not a 101 switch: a tunnel's or upgraded connection's bytes are
  not HTTP, and the connection was opened to become that tunnel.
- The connection closed (FIN or RST): one still open when the capture ended may yet have carried
  the next request, and one picked up mid-stream has no handshake to judge. No gap and nothing
  unparsed in either direction, since a second request could hide there.
- The request did not leave before the handshake completed (data on the SYN, TCP Fast Open):
  then the handshake did not hold it back.

### On a TLS connection
Without the keys the HTTP inside is not readable, so the exchange is approximated from the
records: the connection carried exactly one run of application-data records from the client (a
request, or requests written together) and one answering run from the server, whose last record
arrived whole; a TLS 1.3 session ticket the server sends after the handshake counts with the
response (it cannot be told apart), and a final record of an encrypted alert's size (the
close_notify) is left out. The handshake is the whole setup, TCP and TLS: the TCP handshake plus
the ClientHello to the end of the TLS handshake, when both Finished messages had been seen (or to
the request's first record, if it left earlier), which is two round trips with TLS 1.3 or a
resumed TLS 1.2 session and three with a full TLS 1.2 handshake (a client's pause between the TCP
handshake and its ClientHello is in neither part, as for clear text). So a prompt server's ratio is about 2/3 with TLS 1.3 and 3/4 with
TLS 1.2. The exchange and the capture-point correction are as above, from the request's first
record to the response's last; the bytes are the records' (headers, tags and padding included).
The evidence adds `tcp_handshake_ms`, `tls_handshake_ms`, `tls_version`, `tls_handshake`
(`full` or `resumed`), the records of each side and `client_hello_frame`.

## Why it matters
Every new TCP connection costs one round trip before the first request byte can leave (SYN,
SYN+ACK, ACK), and then starts in slow start; TLS adds one round trip more (TLS 1.3, or a resumed
TLS 1.2 session) or two (a full TLS 1.2 handshake). For a small request the exchange itself is also
about one round trip, so a fresh connection roughly doubles the latency (triples it with TLS): the
textbook case is a ratio near 0.5. A client that opens a connection per request pays this every time; one that
keeps connections alive (HTTP/1.1 persistence, a connection pool) pays it once. When several
such connections follow one another from one client to one server, S002 connection-churn
reports the chain once and stands for these findings (they are folded into it).

## Example
```text
samples/S001-handshake-dominated.pcap: connection 0 198.18.0.1:41001 -> 198.18.0.2:80
  +0.000s warning S001 handshake-dominated: GET /stock/hammers, the only request on this
  connection: the TCP handshake took 50.5 ms and the exchange 50.7 ms for 230 bytes, so the
  handshake was 50% of 101.2 ms; the client sent `Connection: close`: drop it and send the next
  requests to this server on the same connection (keep-alive, a connection pool)
          evidence: capture_exchange_ms=50.594 client_rtt_ms=0.066 closed_by="server"
          exchange_ms=50.66 handshake_ms=50.53 ratio=0.499 request_bytes=110 request_frame=4
          response_bytes=120 response_frame=6 span_ms=101.19 syn_frame=1
```
The same exchange captured at the server (`samples/S001-handshake-dominated-server-side.pcap`)
reads "the exchange 50.5 ms as the client saw it (0.1 ms at the capture point, which is 50.4 ms
of round trip from the client)", ratio 0.50.

## How to fix
Reuse connections: send `Connection: keep-alive` on HTTP/1.0 or simply do not close HTTP/1.1
connections after one request, give the client a connection pool, and give the server a
keep-alive timeout longer than the client's pause between requests. If connections must be new,
bring the server closer (a CDN or edge proxy) so the round trip is shorter, or use TLS/TCP Fast
Open where both ends support it. Over TLS, resume sessions (tickets) and use TLS 1.3, which save
a round trip of each new connection that must still be made.

## Evidence
`handshake_ms`, `exchange_ms` (as the client saw it), `capture_exchange_ms`, `client_rtt_ms`,
`span_ms`, `ratio`, `request_bytes`, `response_bytes` (heads, bodies and interim responses),
`closed_by`, and the frames: `syn_frame`, `request_frame` (the request's first packet) and
`response_frame` (the response's last packet).

## Options
- `handshake_ratio` (0.4): the share of the span the handshake must reach.
- `min_handshake_ms` (1): handshakes faster than this (a LAN, loopback) are not worth reporting.
- `small_bytes` (65536): request + response bytes at most this large count as small.
"#,
    options: &[
        OptionSpec {
            key: "handshake_ratio",
            default: 0.4,
            doc: "share of handshake + exchange + the capture point's RTT to the client spent in the handshake (0-1)",
            integer: false,
        },
        OptionSpec {
            key: "min_handshake_ms",
            default: 1.0,
            doc: "smallest handshake round trip reported, in ms",
            integer: false,
        },
        OptionSpec {
            key: "small_bytes",
            default: 65536.0,
            doc: "request + response bytes at most this count as a small exchange",
            integer: true,
        },
    ],
};

impl Rule for HandshakeDominated {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, s: &RuleSettings, out: &mut Vec<Finding>) {
        if let Some(t) = cx.tls {
            if let Some(f) = tls_exchange(cx, t, s) {
                out.push(f);
            }
            return;
        }
        let Some(x) = one_exchange(cx) else {
            return;
        };
        let conn = cx.conn;
        let h = &conn.handshake;
        let (Some(syn), Some(handshake), Some(client_rtt)) = (
            h.syn,
            conn.handshake_rtt_ns(),
            conn.capture_rtt_to_ns(Side::Client),
        ) else {
            return;
        };
        // A SYN+ACK seen before the SYN (clock steps, merged interfaces):
        // the correction is meaningless; it is never more than the handshake.
        let client_rtt = client_rtt.clamp(0, handshake.max(0));
        if handshake < s.ms_as_ns("min_handshake_ms") || handshake <= 0 {
            return;
        }
        // The request left before the handshake completed (data on the SYN,
        // TCP Fast Open): the handshake held nothing back.
        if h.ack.is_some_and(|ack| x.request.first_byte_ts < ack) {
            return;
        }
        let capture_exchange = x.response.last_byte_ts.since(x.request.first_byte_ts);
        if capture_exchange < 0 {
            return;
        }
        let request_bytes = x.request.total_bytes();
        let response_bytes = x
            .response
            .total_bytes()
            .saturating_add(cx.http.direction(Side::Server).interim_bytes);
        let bytes = request_bytes.saturating_add(response_bytes);
        if bytes as f64 > s.get("small_bytes") {
            return;
        }
        let exchange = capture_exchange.saturating_add(client_rtt);
        let span = handshake.saturating_add(exchange);
        let ratio = handshake as f64 / span as f64;
        if ratio < s.get("handshake_ratio") {
            return;
        }
        let closed_by = closer(conn);
        let server = conn.stats(Side::Server);
        let evidence = Evidence {
            handshake_ms: Ms(handshake),
            exchange_ms: Ms(exchange),
            capture_exchange_ms: Ms(capture_exchange),
            client_rtt_ms: Ms(client_rtt),
            span_ms: Ms(span),
            ratio,
            request_bytes,
            response_bytes,
            closed_by: closed_by.map(Side::name),
            // The connection's first packet is the client's SYN when that is
            // how its roles were decided.
            syn_frame: (conn.roles == RoleEvidence::Syn && conn.start_ts == syn)
                .then_some(conn.first_frame),
            // With one request and its response and nothing else on the
            // connection, the client's first data is the request's first byte
            // and the server's last data the response's last (checked by time).
            request_frame: conn.stats(Side::Client).first_data_frame,
            response_frame: server
                .last_data_frame
                .filter(|_| server.last_data_ts == Some(x.response.last_byte_ts)),
        };
        let what = target(x.tx).unwrap_or_else(|| "one request".to_string());
        let message = evidence.message(&what, fix(x.request, x.response, closed_by));
        out.push(Finding::new(&META, conn, syn, message).with_evidence(&evidence));
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// What S001 found, as its evidence lists it and its message says it.
#[derive(Serialize)]
struct Evidence {
    handshake_ms: Ms,
    /// As the client saw it: the exchange at the capture point plus the
    /// capture point's round trip to the client.
    exchange_ms: Ms,
    capture_exchange_ms: Ms,
    client_rtt_ms: Ms,
    span_ms: Ms,
    #[serde(serialize_with = "thousandths")]
    ratio: f64,
    request_bytes: u64,
    response_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    closed_by: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    syn_frame: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_frame: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_frame: Option<u64>,
}

impl Evidence {
    /// The finding's message: `what` was the request, `fix` what to change.
    fn message(&self, what: &str, fix: &str) -> String {
        let at_capture = if self.client_rtt_ms.0 >= 1_000_000 {
            format!(
                " as the client saw it ({} at the capture point, which is {} of round trip from \
                 the client)",
                self.capture_exchange_ms, self.client_rtt_ms
            )
        } else {
            String::new()
        };
        format!(
            "{what}, the only request on this connection: the TCP handshake took {} and the \
             exchange {}{at_capture} for {} bytes, so the handshake was {:.0}% of {}; {fix}",
            self.handshake_ms,
            self.exchange_ms,
            self.request_bytes.saturating_add(self.response_bytes),
            self.ratio * 100.0,
            self.span_ms,
        )
    }
}

/// A ratio in evidence: three decimals.
fn thousandths<S: serde::Serializer>(ratio: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((ratio * 1000.0).round() / 1000.0)
}

/// The connection's one transaction, when the connection carried exactly one
/// request and its complete response, nothing else, and then closed.
struct OneExchange<'a> {
    tx: &'a Transaction,
    request: &'a MessageFacts,
    response: &'a MessageFacts,
}

fn one_exchange<'a>(cx: &'a ConnectionFacts<'_>) -> Option<OneExchange<'a>> {
    let http = cx.http;
    let [tx] = http.transactions.as_slice() else {
        return None;
    };
    if !http.is_http || http.anomalies.transactions_not_kept > 0 {
        return None;
    }
    // A tunnel's bytes (CONNECT, 101 Switching Protocols) are not HTTP.
    if tx.tunnel || tx.method.as_deref() == Some("CONNECT") || tx.status == Some(101) {
        return None;
    }
    // Nothing hidden: a second request could be in a gap or in bytes the
    // parser gave up on.
    if http
        .directions
        .iter()
        .any(|d| d.gaps > 0 || d.gap_bytes > 0 || d.unparsed_bytes > 0 || d.opaque_bytes > 0)
    {
        return None;
    }
    // Not reused: the connection closed. One still open at the end of the
    // capture may yet carry the next request.
    let conn = cx.conn;
    if conn.rst.is_none() && conn.fin.iter().all(Option::is_none) {
        return None;
    }
    // The response's framing satisfied: the exchange has an end. The
    // request need only be there (a malformed one answered 400 is still
    // one request and its response).
    let (Some(request), Some(response)) = (&tx.request, &tx.response) else {
        return None;
    };
    if !response.framing_satisfied {
        return None;
    }
    Some(OneExchange {
        tx,
        request,
        response,
    })
}

/// What S001 found on a TLS connection.
#[derive(Serialize)]
struct TlsEvidence {
    /// SYN to the end of the TLS handshake: all the setup.
    handshake_ms: Ms,
    tcp_handshake_ms: Ms,
    tls_handshake_ms: Ms,
    tls_version: Option<TlsVersion>,
    tls_handshake: HandshakeKind,
    exchange_ms: Ms,
    capture_exchange_ms: Ms,
    client_rtt_ms: Ms,
    span_ms: Ms,
    #[serde(serialize_with = "thousandths")]
    ratio: f64,
    request_bytes: u64,
    response_bytes: u64,
    request_records: u32,
    response_records: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    closed_by: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    syn_frame: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_hello_frame: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_frame: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_frame: Option<u64>,
}

/// S001 on a TLS connection: the TCP and TLS handshakes against its one
/// exchange of records (see the rule's documentation).
fn tls_exchange(cx: &ConnectionFacts<'_>, t: &TlsReport, s: &RuleSettings) -> Option<Finding> {
    let conn = cx.conn;
    let (request, response) = t.one_exchange()?;
    // Closed, nothing hidden in a gap, framing followed to the end.
    if conn.rst.is_none() && conn.fin.iter().all(Option::is_none) {
        return None;
    }
    let hidden = t.gaps.iter().any(|g| *g > 0)
        || t.framing_lost.iter().any(Option::is_some)
        || conn.dirs.iter().any(|d| d.gaps > 0 || d.gap_bytes > 0);
    if hidden {
        return None;
    }
    let h = &conn.handshake;
    let syn = h.syn?;
    let tcp = conn.handshake_rtt_ns()?;
    let client_rtt = conn.capture_rtt_to_ns(Side::Client)?.clamp(0, tcp.max(0));
    if tcp < s.ms_as_ns("min_handshake_ms") || tcp <= 0 {
        return None;
    }
    // The setup ends when the request could leave: the end of the TLS
    // handshake, or the request itself if it left sooner (TLS 1.2 False
    // Start).
    // The time between the TCP handshake and the ClientHello (the client's
    // own) is in neither, as between the handshake and a clear request.
    let ready = t.handshake_end_ts()?.min(request.start_ts);
    let tls = ready.since(t.client_hello_ts?);
    let setup = tcp.saturating_add(tls);
    let capture_exchange = response.end_ts.since(request.start_ts);
    if setup <= 0 || capture_exchange < 0 {
        return None;
    }
    let bytes = request.bytes.saturating_add(response.bytes);
    if bytes as f64 > s.get("small_bytes") {
        return None;
    }
    let exchange = capture_exchange.saturating_add(client_rtt);
    let span = setup.saturating_add(exchange);
    let ratio = setup as f64 / span as f64;
    if ratio < s.get("handshake_ratio") {
        return None;
    }
    let closed_by = closer(conn);
    let e = TlsEvidence {
        handshake_ms: Ms(setup),
        tcp_handshake_ms: Ms(tcp),
        tls_handshake_ms: Ms(tls),
        tls_version: t.version(),
        tls_handshake: t.handshake,
        exchange_ms: Ms(exchange),
        capture_exchange_ms: Ms(capture_exchange),
        client_rtt_ms: Ms(client_rtt),
        span_ms: Ms(span),
        ratio,
        request_bytes: request.bytes,
        response_bytes: response.bytes,
        request_records: request.records,
        response_records: response.records,
        closed_by: closed_by.map(Side::name),
        syn_frame: (conn.roles == RoleEvidence::Syn && conn.start_ts == syn)
            .then_some(conn.first_frame),
        client_hello_frame: t.client_hello_frame,
        request_frame: request.start_frame,
        response_frame: response.end_frame,
    };
    let version = t
        .version()
        .map_or_else(|| "TLS".to_string(), |v| v.to_string());
    let at_capture = if client_rtt >= 1_000_000 {
        format!(
            " as the client saw it ({} at the capture point, which is {} of round trip from the \
             client)",
            e.capture_exchange_ms, e.client_rtt_ms
        )
    } else {
        String::new()
    };
    let reuse = match closed_by {
        Some(Side::Server) => {
            "the server closed it after one exchange: enable keep-alive on it, with a timeout \
             longer than the client's pause between requests"
        }
        Some(Side::Client) => {
            "the client closed it after one exchange: keep it open and send the next requests to \
             this server on it (a connection pool)"
        }
        None => {
            "reuse connections (keep-alive, a connection pool) so that requests skip the handshakes"
        }
    };
    let tls_fix = match (t.is_tls13(), t.handshake) {
        (false, HandshakeKind::Full) => {
            "; a new connection that must still be made saves a round trip with TLS session \
             resumption or TLS 1.3"
        }
        (true, HandshakeKind::Full) => {
            "; TLS session resumption also spares a new connection the certificate and key exchange"
        }
        _ => "",
    };
    let inside = if cx.decrypted {
        "decrypted with the key log"
    } else {
        "the HTTP inside is encrypted"
    };
    let message = format!(
        "one exchange of TLS records on this connection (one run of records each way; {inside}): \
         the TCP and {version} handshakes took {} (TCP {}, TLS {}) and the \
         exchange {}{at_capture} for {bytes} bytes, so setting up the connection was {:.0}% of \
         {}; {reuse}{tls_fix}",
        e.handshake_ms,
        e.tcp_handshake_ms,
        e.tls_handshake_ms,
        e.exchange_ms,
        ratio * 100.0,
        e.span_ms,
    );
    Some(Finding::new(&META, conn, syn, message).with_evidence(&e))
}

/// The side whose FIN or RST came first.
fn closer(conn: &Connection) -> Option<Side> {
    let mut first: Option<(Timestamp, Side)> = None;
    let candidates = [
        conn.fin.of(Side::Client).map(|t| (t, Side::Client)),
        conn.fin.of(Side::Server).map(|t| (t, Side::Server)),
        conn.rst.map(|(side, t)| (t, side)),
    ];
    for (t, side) in candidates.into_iter().flatten() {
        if first.is_none_or(|(f, _)| t < f) {
            first = Some((t, side));
        }
    }
    first.map(|(_, side)| side)
}

/// What to change, from what the messages said and who closed.
fn fix(req: &MessageFacts, resp: &MessageFacts, closed_by: Option<Side>) -> &'static str {
    let old = |m: &MessageFacts| m.version == Some(HttpVersion::Http10);
    if req.headers.connection.close {
        "the client sent `Connection: close`: drop it and send the next requests to this server \
         on the same connection (keep-alive, a connection pool)"
    } else if resp.headers.connection.close {
        "the server answered `Connection: close`: enable keep-alive on it so the client can send \
         the next requests on the same connection"
    } else if old(req) && !req.headers.connection.keep_alive {
        "the client spoke HTTP/1.0 without `Connection: keep-alive`: use HTTP/1.1 or ask for \
         keep-alive, and reuse the connection (a connection pool)"
    } else if old(resp) && !resp.headers.connection.keep_alive {
        "the server answered HTTP/1.0 without `Connection: keep-alive`: enable keep-alive on it"
    } else if closed_by == Some(Side::Server) {
        "the server closed it after one request: enable keep-alive on it, with a timeout longer \
         than the client's pause between requests"
    } else if closed_by == Some(Side::Client) {
        "the client closed it after one request: keep it open and send the next requests to this \
         server on it (a connection pool)"
    } else {
        "reuse connections (keep-alive, a connection pool) so that requests skip the handshake"
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
    use serde_json::json;

    const GET: &[u8] = b"GET /api/items HTTP/1.1\r\nHost: example.com\r\n\r\n";
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

    /// Captured at the client: handshake of `rtt` ms, then the request and,
    /// `wait` ms later, the response; the client closes 10 ms later.
    fn exchange(rtt: f64, wait: f64) -> Timeline {
        let mut t = Timeline::new();
        t.handshake(0.0, rtt)
            .client(rtt, GET)
            .server(rtt + wait, OK)
            .close(rtt + wait + 10.0);
        t
    }

    /// The same exchange over a path of round trip `rtt`, with a server
    /// that answers `think` ms after the request arrives, captured `a` ms
    /// (one way) from the client: 0 at the client, rtt/2 at the server.
    fn seen_from(a: f64, rtt: f64, think: f64) -> Timeline {
        let b = rtt / 2.0 - a;
        let mut t = Timeline::new();
        t.syn(a)
            .syn_ack(a + 2.0 * b)
            .handshake_ack(a + rtt)
            .client(a + rtt, GET)
            .server(a + rtt + 2.0 * b + think, OK)
            .close(a + rtt + 2.0 * b + think + 10.0);
        t
    }

    #[test]
    fn fires_when_the_handshake_is_half_the_time() {
        let f = only(exchange(50.0, 50.0).findings_of("S001"));
        assert_eq!(f.transaction, None, "a finding on the connection");
        assert_evidence(
            &f,
            json!({"ratio": 0.5, "handshake_ms": 50.0, "exchange_ms": 50.0, "client_rtt_ms": 0.0, "span_ms": 100.0}),
        );
        assert_evidence(
            &f,
            json!({"request_bytes": 46, "response_bytes": 43, "closed_by": "client"}),
        );
        // Frames: SYN 1, SYN+ACK 2, ACK 3, request 4, response 5.
        assert_evidence(
            &f,
            json!({"syn_frame": 1, "request_frame": 4, "response_frame": 5}),
        );
        assert_says(&f, "GET /api/items");
        assert_says(
            &f,
            "handshake took 50.0 ms and the exchange 50.0 ms for 89 bytes",
        );
        assert_says(&f, "the client closed it");
    }

    #[test]
    fn threshold_edges() {
        let found = |rtt: f64, wait: f64, options: &[(&str, f64)]| {
            exchange(rtt, wait).findings_with("S001", options).len()
        };
        // handshake 40, exchange 60: ratio exactly 0.4 fires; 60.1: 0.3998 does not.
        assert_eq!((found(40.0, 60.0, &[]), found(40.0, 60.1, &[])), (1, 0));
        assert_eq!(found(40.0, 60.1, &[("handshake_ratio", 0.39)]), 1);
        // Fast handshakes are not reported.
        assert_eq!((found(0.9, 0.9, &[]), found(1.0, 1.0, &[])), (0, 1));
        assert_eq!(found(1.0, 1.0, &[("min_handshake_ms", 1.5)]), 0);
        // Large exchanges are not small.
        let bytes = (GET.len() + OK.len()) as f64;
        assert_eq!(found(50.0, 50.0, &[("small_bytes", bytes)]), 1);
        assert_eq!(found(50.0, 50.0, &[("small_bytes", bytes - 1.0)]), 0);
    }

    #[test]
    fn every_capture_point_gives_the_same_verdict() {
        // R = 50 ms. Server answers at once: 50 / (100 + 0) = 0.5 everywhere.
        // Server thinks 25 ms (R/2): exactly 0.4 everywhere; 25.1 ms: below.
        for a in [0.0, 10.0, 25.0] {
            for (think, fires, ratio) in [(0.0, 1, 0.5), (25.0, 1, 0.4), (25.1, 0, 0.0)] {
                let f = seen_from(a, 50.0, think).findings_of("S001");
                assert_eq!(f.len(), fires, "a={a} think={think}: {f:?}");
                for f in &f {
                    let (client_rtt, seen) = (2.0 * a, 50.0 - 2.0 * a + think);
                    assert_evidence(
                        f,
                        json!({"ratio": ratio, "handshake_ms": 50.0, "client_rtt_ms": client_rtt}),
                    );
                    assert_evidence(
                        f,
                        json!({"capture_exchange_ms": seen, "exchange_ms": 50.0 + think}),
                    );
                }
            }
        }
    }

    #[test]
    fn server_side_capture_is_corrected() {
        // At the server the exchange looks instant (request in, response out
        // 1 ms later): without the correction the ratio would be 50/51. With
        // a server that thinks 40 ms, the client waited 90 ms: 50/140, quiet.
        let f = only(seen_from(25.0, 50.0, 1.0).findings_of("S001"));
        assert_evidence(&f, json!({"capture_exchange_ms": 1.0, "exchange_ms": 51.0}));
        assert_says(&f, "1.0 ms at the capture point");
        assert!(seen_from(25.0, 50.0, 40.0).findings_of("S001").is_empty());
    }

    #[test]
    fn one_transaction_fires_two_do_not() {
        // The same first exchange, then a second request on the connection:
        // it was reused, which is what S001 would advise.
        let mut t = Timeline::unclosed(GET, OK, 100.0);
        t.client(110.0, GET).server(160.0, OK).close(170.0);
        assert!(t.findings_of("S001").is_empty());
        assert_eq!(exchange(50.0, 50.0).findings_of("S001").len(), 1);
    }

    #[test]
    fn connect_and_upgrade_are_not_exchanges() {
        let connect = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
        let established = b"HTTP/1.1 200 Connection established\r\n\r\n";
        let mut t = Timeline::unclosed(connect, established, 100.0);
        t.client(101.0, b"\x16\x03\x01\x00\x05hello").close(160.0);
        assert!(t.findings_of("S001").is_empty());
        // A refused CONNECT is still a CONNECT.
        let refused = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n";
        assert!(Timeline::exchange(connect, refused, 100.0)
            .findings_of("S001")
            .is_empty());
        let upgrade =
            b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
        let switching = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
        let mut t = Timeline::unclosed(upgrade, switching, 100.0);
        t.server(101.0, b"\x81\x02hi").close(160.0);
        assert!(t.findings_of("S001").is_empty());
    }

    #[test]
    fn unfinished_or_unclosed_exchanges_are_not_judged() {
        // No SYN seen: no handshake, nothing to judge.
        let mut t = Timeline::new();
        t.client(0.0, GET).server(50.0, OK).close(60.0);
        assert!(t.findings_of("S001").is_empty());
        // Still open at the end of the capture: it may yet be reused.
        assert!(Timeline::unclosed(GET, OK, 100.0)
            .findings_of("S001")
            .is_empty());
        // No response: reset by the server.
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, GET).server_rst(100.0);
        assert!(t.findings_of("S001").is_empty());
        // A response cut short by the server's FIN.
        let cut = b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nhello";
        let mut t = Timeline::unclosed(GET, cut, 100.0);
        t.server_fin(101.0).client_fin(102.0);
        assert!(t.findings_of("S001").is_empty());
        // Closed by a RST right after a complete response: judged.
        let mut t = Timeline::unclosed(GET, OK, 100.0);
        t.client_rst(101.0);
        assert_eq!(only(t.findings_of("S001")).evidence["closed_by"], "client");
    }

    #[test]
    fn head_and_interim_responses_are_one_exchange() {
        let head = b"HEAD /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n";
        let mut t = Timeline::unclosed(head, resp, 100.0);
        t.server_fin(101.0).client_fin(102.0).server_ack(103.0);
        let f = only(t.findings_of("S001"));
        assert_eq!(f.evidence["closed_by"], "server");
        assert_says(&f, "the client sent `Connection: close`");
        // 100 Continue, then the body, then the final response: one
        // exchange of 51 ms whose bytes include the interim head.
        let post =
            b"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n";
        let cont = b"HTTP/1.1 100 Continue\r\n\r\n";
        let mut t = Timeline::unclosed(post, cont, 100.0);
        t.client(100.0, b"ok").server(151.0, OK).close(160.0);
        assert!(t.findings_of("S001").is_empty(), "50 / 151 < 0.4");
        let f = only(t.findings_with("S001", &[("handshake_ratio", 0.3)]));
        let response_bytes = OK.len() + cont.len();
        assert_evidence(
            &f,
            json!({"exchange_ms": 101.0, "response_bytes": response_bytes}),
        );
    }

    mod tls {
        use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
        use crate::tls::build::{app_data, tls13_close_notify, ClientHello, ServerHello};
        use serde_json::json;

        /// One TLS 1.3 exchange over a 50 ms round trip, captured at the
        /// client: the request at 100 ms, the response `wait` ms later
        /// (`records` records of 400 bytes), then the client's
        /// close_notify and FIN.
        fn tls13(wait: f64, records: usize) -> Timeline {
            let mut t = Timeline::new();
            let ch = ClientHello::new().tls13().sni("shop.example");
            let ready = t.tls13_handshake(0.0, 50.0, &ch, &ServerHello::new().version(0x0304));
            t.client(ready, &app_data(300));
            t.server(ready + wait, &app_data(400).repeat(records));
            t.client(ready + wait + 5.0, &tls13_close_notify());
            t.close(ready + wait + 6.0);
            t
        }

        #[test]
        fn the_tcp_and_tls_handshakes_against_one_exchange_of_records() {
            let f = only(tls13(50.0, 1).findings_of("S001"));
            // TCP 50 + TLS 50 against the exchange's 50: 2/3.
            assert_evidence(
                &f,
                json!({"handshake_ms": 100.0, "tcp_handshake_ms": 50.0, "tls_handshake_ms": 50.0,
                       "exchange_ms": 50.0, "ratio": 0.667, "tls_version": "TLS 1.3",
                       "tls_handshake": "full", "request_bytes": 305, "response_bytes": 405,
                       "request_records": 1, "response_records": 1, "client_hello_frame": 4}),
            );
            assert_says(
                &f,
                "the TCP and TLS 1.3 handshakes took 100.0 ms (TCP 50.0 ms, TLS 50.0 ms)",
            );
            assert_says(&f, "the client closed it");
            // The threshold edge: setup 100 against 150 of exchange is 0.4.
            assert_eq!(tls13(150.0, 1).findings_of("S001").len(), 1);
            assert!(tls13(150.5, 1).findings_of("S001").is_empty());
            // Large responses are not small exchanges.
            assert!(tls13(50.0, 200).findings_of("S001").is_empty());
        }

        #[test]
        fn two_exchanges_or_an_unclosed_connection_are_not_judged() {
            let mut t = Timeline::new();
            let ch = ClientHello::new().tls13();
            let ready = t.tls13_handshake(0.0, 50.0, &ch, &ServerHello::new().version(0x0304));
            t.client(ready, &app_data(300))
                .server(ready + 50.0, &app_data(400));
            t.client(ready + 60.0, &app_data(300))
                .server(ready + 110.0, &app_data(400));
            t.close(ready + 120.0);
            assert!(t.findings_of("S001").is_empty(), "reused: two exchanges");
            let mut t = Timeline::new();
            let ready = t.tls13_handshake(0.0, 50.0, &ch, &ServerHello::new().version(0x0304));
            t.client(ready, &app_data(300))
                .server(ready + 50.0, &app_data(400));
            assert!(t.findings_of("S001").is_empty(), "still open");
        }

        #[test]
        fn a_full_tls12_handshake_is_three_round_trips_of_setup() {
            let mut t = Timeline::new();
            let ready =
                t.tls12_handshake(0.0, 50.0, &ClientHello::new(), &ServerHello::new(), false);
            t.client(ready, &app_data(300))
                .server(ready + 50.0, &app_data(400));
            t.server_fin(ready + 60.0).client_fin(ready + 61.0);
            let f = only(t.findings_of("S001"));
            assert_evidence(
                &f,
                json!({"handshake_ms": 150.0, "tls_handshake_ms": 100.0, "ratio": 0.75,
                       "tls_version": "TLS 1.2", "closed_by": "server"}),
            );
            assert_says(
                &f,
                "saves a round trip with TLS session resumption or TLS 1.3",
            );
        }
    }

    #[test]
    fn data_on_the_syn_is_not_held_back() {
        // TCP Fast Open: the request rides on the SYN.
        let mut t = Timeline::new();
        t.syn_with(0.0, GET).syn_ack(50.0).handshake_ack(50.0);
        t.server(51.0, OK).close(60.0);
        assert!(t.findings_of("S001").is_empty());
    }
}
