//! C003 keep-alive-not-echoed.

use super::c001_keep_alive_header_without_connection_token::{label, tokens_value, version};
use crate::flow::EndReason;
use crate::http::{Framing, HttpVersion, MessageFacts, Transaction};
use crate::reassembly::Side;
use crate::rules::config::RuleSettings;
use crate::rules::context::ConnectionFacts;
use crate::rules::finding::Finding;
use crate::rules::meta::{Family, OptionSpec, RuleMeta, Severity};
use crate::rules::registry::Rule;
use crate::Timestamp;

pub struct KeepAliveNotEchoed;

static META: RuleMeta = RuleMeta {
    code: "C003",
    name: "keep-alive-not-echoed",
    family: Family::ConnectionHeader,
    severity: Severity::Warning,
    summary: "an HTTP/1.0 keep-alive request was not confirmed, yet the connection was reused or held open",
    doc: r#"## What it detects
An HTTP/1.0 request that asked for a persistent connection (`Connection: keep-alive`, without
`close`) got a response that neither confirmed it (no `keep-alive` token in the response's
Connection header) nor refused it (`close`), and then the connection was used as if it were
persistent anyway:

- **reused**: the client sent another request on the connection after the unconfirmed
  response reached it (the finding is on that request), or
- **held open**: no other request came, but the connection stayed open at least
  `hold_open_ms` after the response ended: the server neither closed it nor was it closed by
  the client or a reset (the finding is on the unconfirmed transaction). A connection the
  flow table gave up on after a long idle time counts as held open; one the capture ended
  on is measured up to its last packet.

"Reached the client" is the response's first byte plus the round trip from the capture point
to the client (from the handshake; zero when unknown): a request the client had sent before
it could see the answer is a pipelining question (P001), not this one. Responses delimited by
the server's close and tunnels are skipped (the server closes by definition). One finding per
connection, on the first occurrence. A response that says `Connection: close` followed by
another request is C004's case.

## Why it matters
HTTP/1.0 connections are not persistent unless the server echoes the client's
`Connection: keep-alive` (RFC 2068 §19.7.1, RFC 9112 §9.3). Without the echo, the client must
treat the connection as closing and the server must close it after the response. When the two
sides act on different assumptions, the request a client sends on an unconfirmed connection
races with the server's close and can be lost or reset (and a non-idempotent one cannot be
safely retried), while a server that neither echoes nor closes keeps a connection, a socket
and often a worker, waiting for a request that a correct client will never send, until its
idle timeout.

## Example
```text
connection 0 198.18.0.1:42031 -> 198.18.0.2:80
  warning C003 keep-alive-not-echoed tx 1: GET /screws: the client reused the connection 0.2 ms
  after response 0 (GET /nails) came back without confirming `Connection: keep-alive` ...
```

## How to fix
Server: echo `Connection: keep-alive` on HTTP/1.0 responses when you keep the connection
open (and frame the body with Content-Length), or close right after the response when you do
not. Client: reuse an HTTP/1.0 connection only after the response echoed the token;
otherwise open a new connection (or speak HTTP/1.1, where persistence is the default).

## Options
- `hold_open_ms` (1000): how long after an unconfirmed response the connection may stay open
  before the server counts as holding it open for another request. A server that does not
  mean to keep the connection closes within a millisecond or two of its last byte.
"#,
    options: &[OptionSpec {
        key: "hold_open_ms",
        default: 1000.0,
        doc: "time after an unconfirmed response the connection may stay open, in ms",
        integer: false,
    }],
};

impl Rule for KeepAliveNotEchoed {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_connection(&self, cx: &ConnectionFacts<'_>, s: &RuleSettings, out: &mut Vec<Finding>) {
        let hold_ns = s.ms_as_ns("hold_open_ms");
        let to_client = cx.conn.capture_rtt_to_ns(Side::Client).unwrap_or(0).max(0);
        let txs = &cx.http.transactions;
        for (i, tx) in txs.iter().enumerate() {
            let Some((req, resp)) = unconfirmed(tx) else {
                continue;
            };
            let next = txs
                .get(i + 1..)
                .unwrap_or_default()
                .iter()
                .find_map(|t| Some((t, t.request.as_ref()?)));
            if let Some((next_tx, next_req)) = next {
                // Sent before the client could have seen the answer:
                // pipelining, which P001 judges.
                if next_req.first_byte_ts < resp.first_byte_ts.add_nanos(to_client) {
                    continue;
                }
                let after = next_req.first_byte_ts.since(resp.last_byte_ts);
                let message = format!(
                    "{}: the client reused the connection {:.1} ms after response {} ({}) came back \
                     without confirming `Connection: keep-alive`; an HTTP/1.0 connection is not \
                     persistent unless the server echoes the token, so the server may close under \
                     this request: reuse it only after the echo, else open a new connection",
                    label(next_tx),
                    after as f64 / 1e6,
                    tx.index,
                    label(tx)
                );
                out.push(
                    Finding::new(&META, cx.conn, next_req.first_byte_ts, message)
                        .transaction(next_tx.index)
                        .with("unconfirmed_transaction", tx.index)
                        .with("request_version", version(req))
                        .with("response_version", version(resp))
                        .with(
                            "response_connection",
                            tokens_value(&resp.headers.connection),
                        )
                        .with_ms("after_response_ms", after)
                        .with("answered", next_tx.response.is_some()),
                );
                return;
            }
            if !resp.framing_satisfied {
                continue;
            }
            let (until, closed_by) = held_until(cx, resp.last_byte_ts);
            let held = until.since(resp.last_byte_ts);
            if held < hold_ns {
                continue;
            }
            let message = format!(
                "{}: the HTTP/1.0 request asked for keep-alive and the response did not confirm \
                 it, yet the connection stayed open {}{:.1} ms after the response ({}); a server \
                 that does not echo `Connection: keep-alive` must close: echo the token if it \
                 means to keep the connection, else close right after the response",
                label(tx),
                if closed_by == "idle timeout" || closed_by == "capture end" {
                    "at least "
                } else {
                    ""
                },
                held as f64 / 1e6,
                match closed_by {
                    "client" => "until the client closed it",
                    "server" => "until the server closed it",
                    "reset" => "until a reset",
                    "idle timeout" => "and then went idle",
                    _ => "until the capture ended",
                }
            );
            out.push(
                Finding::new(&META, cx.conn, resp.last_byte_ts, message)
                    .transaction(tx.index)
                    .with("request_version", version(req))
                    .with("response_version", version(resp))
                    .with(
                        "response_connection",
                        tokens_value(&resp.headers.connection),
                    )
                    .with_ms("held_open_ms", held)
                    .with("closed_by", closed_by),
            );
            return;
        }
    }
}

/// The request and response of a transaction where an HTTP/1.0 request
/// asked for keep-alive and the response said nothing either way.
fn unconfirmed(tx: &Transaction) -> Option<(&MessageFacts, &MessageFacts)> {
    let req = tx.request.as_ref()?;
    let resp = tx.response.as_ref()?;
    let asked = req.version == Some(HttpVersion::Http10)
        && req.headers.connection.keep_alive
        && !req.headers.connection.close;
    let silent = !resp.headers.connection.keep_alive && !resp.headers.connection.close;
    // A body that ends at the server's close, or a tunnel: the connection
    // cannot be reused, and the server is expected to hold it.
    let closes = tx.tunnel
        || matches!(
            resp.framing,
            Framing::CloseDelimited | Framing::Tunnel | Framing::Http09
        );
    (asked && silent && !closes).then_some((req, resp))
}

/// When the connection stopped being open after `from`, and why: the first
/// FIN or RST after it, else the last packet seen.
fn held_until(cx: &ConnectionFacts<'_>, from: Timestamp) -> (Timestamp, &'static str) {
    let c = cx.conn;
    let events = [
        (c.fin[Side::Client.index()], "client"),
        (c.fin[Side::Server.index()], "server"),
        (c.rst.map(|(_, t)| t), "reset"),
    ];
    let first = events
        .into_iter()
        .filter_map(|(t, who)| Some((t?, who)))
        .filter(|&(t, _)| t >= from)
        .min_by_key(|&(t, _)| t);
    match first {
        Some(e) => e,
        None if c.end_reason == EndReason::IdleTimeout => (c.end_ts, "idle timeout"),
        None => (c.end_ts, "capture end"),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::Timeline;

    const ASK: &[u8] = b"GET /nails HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n";
    const ASK2: &[u8] = b"GET /screws HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n";
    const SILENT: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
    const ECHO: &[u8] = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok";

    /// Request at 50, response at 250, then `then`.
    fn first(response: &[u8]) -> Timeline {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(50.0, ASK)
            .server(250.0, response);
        t
    }

    #[test]
    fn fires_on_the_request_that_reuses_an_unconfirmed_connection() {
        let mut t = first(SILENT);
        t.client(250.2, ASK2)
            .server(300.0, SILENT)
            .server_fin(300.0);
        let f = t.findings_of("C003");
        assert_eq!(f.len(), 1, "once per connection");
        assert_eq!(f[0].transaction, Some(1));
        assert_eq!(f[0].evidence["unconfirmed_transaction"], 0);
        assert_eq!(f[0].evidence["after_response_ms"], 0.2);
        assert_eq!(f[0].evidence["answered"], true);
        assert!(f[0].evidence["response_connection"].is_null());
        assert!(f[0].message.contains("GET /screws"), "{}", f[0].message);
    }

    #[test]
    fn silent_when_the_server_echoes_or_refuses() {
        let mut t = first(ECHO);
        t.client(260.0, ASK2).server(300.0, ECHO).close(400.0);
        assert!(t.findings_of("C003").is_empty());
        let mut t = first(b"HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
        t.client(260.0, ASK2).server(300.0, SILENT).close(400.0);
        assert!(t.findings_of("C003").is_empty(), "that is C004's case");
    }

    #[test]
    fn silent_when_nothing_was_asked() {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(50.0, b"GET / HTTP/1.0\r\n\r\n")
            .server(250.0, SILENT)
            .client(260.0, b"GET /b HTTP/1.0\r\n\r\n")
            .server(300.0, SILENT);
        assert!(t.findings_of("C003").is_empty());
        // HTTP/1.1 asking keep-alive is persistent by default.
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(50.0, b"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n")
            .server(250.0, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .client(260.0, b"GET /b HTTP/1.1\r\n\r\n")
            .server(300.0, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert!(t.findings_of("C003").is_empty());
    }

    #[test]
    fn a_request_sent_before_the_answer_could_arrive_is_not_reuse() {
        // Client-side capture, so the client sees the response when the
        // capture does: request 1 at 249.9 was sent before it.
        let mut t = first(SILENT);
        t.client(249.9, ASK2)
            .server(300.0, SILENT)
            .server_fin(300.0);
        assert!(t.findings_of("C003").is_empty());
    }

    #[test]
    fn held_open_threshold_edges() {
        // The server closes 1000 ms after the response: held open.
        let mut t = first(SILENT);
        t.server_fin(1250.0).client_fin(1251.0);
        let f = t.findings_of("C003");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].transaction, Some(0));
        assert_eq!(f[0].evidence["held_open_ms"], 1000.0);
        assert_eq!(f[0].evidence["closed_by"], "server");
        // 999.9 ms: a prompt enough close.
        let mut t = first(SILENT);
        t.server_fin(1249.9).client_fin(1251.0);
        assert!(t.findings_of("C003").is_empty());
        assert_eq!(t.findings_with("C003", &[("hold_open_ms", 999.0)]).len(), 1);
    }

    #[test]
    fn the_client_closing_late_also_shows_the_server_held_it() {
        let mut t = first(SILENT);
        t.client_fin(3250.0).server_fin(3251.0);
        let f = t.findings_of("C003");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence["closed_by"], "client");
        assert_eq!(f[0].evidence["held_open_ms"], 3000.0);
        // A prompt server close is the correct behaviour.
        let mut t = first(SILENT);
        t.server_fin(250.0).client_fin(300.0);
        assert!(t.findings_of("C003").is_empty());
    }

    #[test]
    fn close_delimited_bodies_are_not_held_open() {
        let mut t = first(b"HTTP/1.0 200 OK\r\n\r\nbody until close");
        t.server_ack(1500.0).server_fin(3000.0);
        assert!(t.findings_of("C003").is_empty());
    }
}
