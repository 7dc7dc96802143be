//! C003 keep-alive-not-echoed.

use super::common::{label, tokens_value, version};
use crate::flow::EndReason;
use crate::http::{Framing, HttpVersion, MessageFacts, Transaction};
use crate::reassembly::{BySide, Side};
use crate::rules::api::*;
use crate::Timestamp;

pub struct KeepAliveNotEchoed;

static META: RuleMeta = RuleMeta {
    code: "C003",
    name: "keep-alive-not-echoed",
    family: Family::ConnectionHeader,
    severity: Severity::Warning,
    summary: "an HTTP/1.0 keep-alive request was not confirmed, yet the connection was reused or not promptly closed",
    doc: r#"## What it detects
An HTTP/1.0 request that asked for a persistent connection (`Connection: keep-alive`, without
`close`) got a response that neither confirmed it (no `keep-alive` token in the response's
Connection header) nor refused it (`close`), and then the two sides did not act as if the
connection were closing:

- **reused**: the client sent another request on the connection after the unconfirmed
  response reached it (the finding is on that request), or
- **not closed by the server**: no other request came, and the server did not close the
  connection promptly (the finding is on the unconfirmed transaction). A server that means to
  close sends its FIN (or a reset) right behind its last byte, within a few milliseconds; the
  rule fires when the server's close came `close_within_ms` or more after the response's last
  byte, or never, or when the server's FIN only answered the client's: it came at least the
  round trip from the capture point to the server after the client's FIN, so the server sent
  it after the client's FIN had reached it. That is the textbook case: the client, seeing no
  echo, waits a little, gives up and closes itself, and the server's FIN follows. A
  connection the flow table gave up on after a long idle time, or that the capture ends on,
  counts as not closed when it had been open that long.

The evidence says who closed first (`closed_by`: client, server, client reset, server reset,
idle timeout, capture end) and when, in milliseconds after the response's last byte
(`held_open_ms`, `client_fin_after_ms`, `server_fin_after_ms`), and whether the server's FIN
answered the client's (`server_fin_answered_client`).

"Reached the client" is the response's first byte plus the round trip from the capture point
to the client (from the handshake; zero when unknown): a request the client had sent before
it could see the answer is a pipelining question (P001), not this one. Without a handshake,
the round trip to the server is unknown and only the `close_within_ms` bound is applied.
Responses delimited by the server's close, tunnels, and responses whose end fell in a capture
gap (the close cannot be timed against it) are skipped. One finding per connection, on the
first occurrence. Once a request or response on the connection said `Connection: close`,
later transactions are not judged here: a request after it is C004's case.

## Why it matters
HTTP/1.0 connections are not persistent unless the server echoes the client's
`Connection: keep-alive` (RFC 2068 §19.7.1, RFC 9112 §9.3). Without the echo, the client must
treat the connection as closing and the server must close it after the response. When the two
sides act on different assumptions, the request a client sends on an unconfirmed connection
races with the server's close and can be lost or reset (and a non-idempotent one cannot be
safely retried). A server that neither echoes nor closes leaves the client guessing: a correct
client waits for a close that does not come, then closes itself (the server's FIN only answers
it), and a less careful one reuses the connection; meanwhile the server keeps a socket, and
often a worker, waiting for a request that a correct client will never send.

## Example
```text
connection 0 198.18.0.1:42032 -> 198.18.0.2:80
  warning C003 keep-alive-not-echoed tx 0: GET /nails: the HTTP/1.0 request asked for
  keep-alive and the response did not confirm it, yet the server did not close: the client
  closed 100.7 ms after the response and the server's FIN came 54.2 ms after the client's, in
  answer to it; a server that does not echo `Connection: keep-alive` must close right behind
  the response ...
```

## How to fix
Server: echo `Connection: keep-alive` on HTTP/1.0 responses when you keep the connection
open (and frame the body with Content-Length), or close right after the response when you do
not. Client: reuse an HTTP/1.0 connection only after the response echoed the token;
otherwise open a new connection (or speak HTTP/1.1, where persistence is the default).

## Options
- `close_within_ms` (50): how soon after an unconfirmed response's last byte the server must
  close (FIN or reset) to count as closing it. A server that means to close sends its FIN
  right behind its last byte, within a few milliseconds; the bound leaves room for a busy
  server. (Before, the rule had `hold_open_ms`, 1000 ms, which a correct HTTP/1.0 client,
  closing by itself long before, never let it reach.)
"#,
    options: &[OptionSpec {
        key: "close_within_ms",
        default: 50.0,
        doc: "time after an unconfirmed response within which the server must close, in ms",
        integer: false,
    }],
};

impl Rule for KeepAliveNotEchoed {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, s: &RuleSettings, out: &mut Vec<Finding>) {
        let within_ns = s.ms_as_ns("close_within_ms");
        let to_client = cx.conn.capture_rtt_to_ns(Side::Client).unwrap_or(0).max(0);
        let txs = &cx.http.transactions;
        for (i, tx) in txs.iter().enumerate() {
            // Once a message said `close`, what follows on the connection
            // is C004's (one cause, one finding).
            let says_close =
                |m: &Option<MessageFacts>| m.as_ref().is_some_and(|m| m.headers.connection.close);
            if says_close(&tx.request) || says_close(&tx.response) {
                return;
            }
            let Some((req, resp)) = unconfirmed(tx) else {
                continue;
            };
            let next = txs
                .get(i..)
                .unwrap_or_default()
                .iter()
                .skip(1)
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
            if !resp.framing_satisfied || resp.end_in_gap {
                continue;
            }
            let Some(close) = how_closed(cx, resp.last_byte_ts, within_ns) else {
                continue;
            };
            let end = resp.last_byte_ts;
            let after = |t: Timestamp| t.since(end) as f64 / 1e6;
            let what = match (close.client_fin, close.server_close) {
                (Some(c), Some(sc)) if close.answered => format!(
                    "the client closed {:.1} ms after the response and the server's FIN came \
                     {:.1} ms after the client's, in answer to it",
                    after(c),
                    sc.since(c) as f64 / 1e6
                ),
                (client, Some(sc)) => format!(
                    "{}the server {} only {:.1} ms after it",
                    client
                        .filter(|&c| c <= sc)
                        .map_or_else(String::new, |c| format!(
                            "the client closed {:.1} ms after the response and ",
                            after(c)
                        )),
                    if close.server_reset {
                        "reset the connection"
                    } else {
                        "closed"
                    },
                    after(sc)
                ),
                (Some(c), None) => format!(
                    "the client closed {:.1} ms after the response and the server had not closed \
                     {:.1} ms after it",
                    after(c),
                    close.server_open as f64 / 1e6
                ),
                (None, None) => match close.closed_by {
                    "client reset" => format!(
                        "the client reset the connection {:.1} ms after the response, the server \
                         not having closed",
                        after(close.until)
                    ),
                    "idle timeout" => format!(
                        "the connection stayed open at least {:.1} ms after it and then went idle",
                        close.server_open as f64 / 1e6
                    ),
                    _ => format!(
                        "the connection stayed open at least {:.1} ms after it, until the capture \
                         ended",
                        close.server_open as f64 / 1e6
                    ),
                },
            };
            let message = format!(
                "{}: the HTTP/1.0 request asked for keep-alive and the response did not confirm \
                 it, yet the server did not close: {what}; a server that does not echo \
                 `Connection: keep-alive` must close right behind the response (its FIN within a \
                 few ms), else the client is left guessing: echo the token if it means to keep the \
                 connection, else close",
                label(tx),
            );
            let mut f = Finding::new(&META, cx.conn, end, message)
                .transaction(tx.index)
                .with("request_version", version(req))
                .with("response_version", version(resp))
                .with(
                    "response_connection",
                    tokens_value(&resp.headers.connection),
                )
                .with("closed_by", close.closed_by)
                .with_ms("held_open_ms", close.held);
            if let Some(c) = close.client_fin {
                f = f.with_ms("client_fin_after_ms", c.since(end));
            }
            if let Some(sf) = close.server_fin {
                f = f
                    .with_ms("server_fin_after_ms", sf.since(end))
                    .with("server_fin_answered_client", close.answered);
            } else {
                f = f.with_ms("server_open_ms", close.server_open);
            }
            out.push(f);
            return;
        }
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
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

/// How the connection ended after an unconfirmed response that ended at
/// `from`, when the server did not close it promptly; `None` when it did
/// (or when the capture does not show long enough to tell).
struct Close {
    /// Who closed first: "client", "server", "client reset", "server
    /// reset", or "idle timeout" / "capture end" when nobody did.
    closed_by: &'static str,
    /// When the first close came (or the last packet, when nobody closed).
    until: Timestamp,
    /// `until - from`, in ns.
    held: i64,
    /// The client's FIN after `from`.
    client_fin: Option<Timestamp>,
    /// The server's FIN after `from`.
    server_fin: Option<Timestamp>,
    /// The server's own close after `from` (its FIN or its reset) ...
    server_close: Option<Timestamp>,
    /// ... which was a reset.
    server_reset: bool,
    /// How long after `from` the server was seen not to have closed: to its
    /// close, else to the client's reset or the last packet, in ns.
    server_open: i64,
    /// The server's FIN came at least the round trip to the server after
    /// the client's: it was sent after the client's FIN had reached it.
    answered: bool,
}

fn how_closed(cx: &ConnectionFacts<'_>, from: Timestamp, within_ns: i64) -> Option<Close> {
    let c = cx.conn;
    let after = |t: Option<Timestamp>| t.filter(|&t| t >= from);
    let client_fin = after(*c.fin.of(Side::Client));
    let server_fin = after(*c.fin.of(Side::Server));
    let rst = c.rst.filter(|&(_, t)| t >= from);
    let server_rst = rst.filter(|&(s, _)| s == Side::Server).map(|(_, t)| t);
    let client_rst = rst.filter(|&(s, _)| s == Side::Client).map(|(_, t)| t);
    // The server's own close: its FIN, or its reset.
    let server_close = match (server_fin, server_rst) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    // Whether the server's FIN answered the client's: sent after the
    // client's FIN reached the server. Unknown without a handshake.
    let answered = match (client_fin, server_fin, c.capture_rtt_to_ns(Side::Server)) {
        (Some(cf), Some(sf), Some(rtt)) => sf.since(cf) >= rtt.max(0),
        _ => false,
    };
    let prompt = server_close.is_some_and(|t| t.since(from) < within_ns) && !answered;
    if prompt {
        return None;
    }
    let events = [
        (client_fin, "client"),
        (server_fin, "server"),
        (client_rst, "client reset"),
        (server_rst, "server reset"),
    ];
    let first = events
        .into_iter()
        .filter_map(|(t, who)| Some((t?, who)))
        .min_by_key(|&(t, _)| t);
    let (until, closed_by) = match first {
        Some(e) => e,
        None if c.end_reason == EndReason::IdleTimeout => (c.end_ts, "idle timeout"),
        None => (c.end_ts, "capture end"),
    };
    // Without a close of its own, the server counts as not closing once
    // the connection was seen open (or the client gave up) that long after
    // the response.
    let open_until = server_close.unwrap_or_else(|| client_rst.unwrap_or(c.end_ts.max(until)));
    let server_open = open_until.since(from);
    if server_close.is_none() && server_open < within_ns {
        return None;
    }
    Some(Close {
        closed_by,
        until,
        held: until.since(from),
        client_fin,
        server_fin,
        server_close,
        server_reset: server_close.is_some() && server_close == server_rst,
        server_open,
        answered,
    })
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
    use serde_json::json;

    const ASK: &[u8] = b"GET /nails HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n";
    const ASK2: &[u8] = b"GET /screws HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n";
    const SILENT: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
    const ECHO: &[u8] = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok";

    /// Request at 50, `response` at 250 (ending there), nothing else yet.
    fn first(response: &[u8]) -> Timeline {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(50.0, ASK)
            .server(250.0, response);
        t
    }

    /// [`first`] with an unconfirmed response, then `then`; C003's findings.
    fn after_silence(
        then: impl FnOnce(&mut Timeline) -> &mut Timeline,
    ) -> Vec<crate::rules::Finding> {
        let mut t = first(SILENT);
        then(&mut t);
        t.findings_of("C003")
    }

    #[test]
    fn fires_on_the_request_that_reuses_an_unconfirmed_connection() {
        let f = only(after_silence(|t| {
            t.client(250.2, ASK2)
                .server(300.0, SILENT)
                .server_fin(300.0)
        }));
        assert_eq!(f.transaction, Some(1), "once per connection");
        assert_evidence(
            &f,
            json!({"unconfirmed_transaction": 0, "after_response_ms": 0.2, "answered": true, "response_connection": null}),
        );
        assert_says(&f, "GET /screws");
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
            .client(50.0, b"GET / HTTP/1.0\r\n\r\n");
        t.server(250.0, SILENT)
            .client(260.0, b"GET /b HTTP/1.0\r\n\r\n");
        t.server(300.0, SILENT);
        assert!(t.findings_of("C003").is_empty());
        // HTTP/1.1 asking keep-alive is persistent by default.
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(50.0, b"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n");
        t.server(250.0, ok)
            .client(260.0, b"GET /b HTTP/1.1\r\n\r\n");
        t.server(300.0, ok);
        assert!(t.findings_of("C003").is_empty());
    }

    #[test]
    fn a_request_sent_before_the_answer_could_arrive_is_not_reuse() {
        // Client-side capture, so the client sees the response when the
        // capture does: request 1 at 249.9 was sent before it.
        let f = after_silence(|t| {
            t.client(249.9, ASK2)
                .server(300.0, SILENT)
                .server_fin(300.0)
        });
        assert!(f.is_empty());
    }

    #[test]
    fn server_close_threshold_edges() {
        // The response ends at 250; the server closes 50 ms later: too late.
        let f = only(after_silence(|t| t.server_fin(300.0).client_fin(301.0)));
        assert_eq!(f.transaction, Some(0));
        assert_evidence(
            &f,
            json!({"closed_by": "server", "held_open_ms": 50.0, "server_fin_after_ms": 50.0, "server_fin_answered_client": false}),
        );
        assert_says(&f, "the server closed only 50.0 ms after it");
        // 49.9 ms: a prompt close.
        let mut t = first(SILENT);
        t.server_fin(299.9).client_fin(301.0);
        assert!(t.findings_of("C003").is_empty());
        assert_eq!(
            t.findings_with("C003", &[("close_within_ms", 49.0)]).len(),
            1
        );
        // A reset from the server is its close too.
        assert!(after_silence(|t| t.server_rst(299.9)).is_empty());
        let f = only(after_silence(|t| t.server_rst(300.0)));
        assert_eq!(f.evidence["closed_by"], "server reset");
        assert_says(&f, "reset the connection only 50.0 ms");
    }

    #[test]
    fn the_textbook_case_the_client_gives_up_and_the_server_answers_its_fin() {
        // No echo: the client waits 100 ms and closes; the server's FIN
        // comes a round trip (50 ms) later, in answer.
        let f = only(after_silence(|t| {
            t.client_fin(350.0).server_fin(400.1).client_ack(400.2)
        }));
        assert_evidence(
            &f,
            json!({"closed_by": "client", "client_fin_after_ms": 100.0, "server_fin_after_ms": 150.1, "server_fin_answered_client": true}),
        );
        assert_says(
            &f,
            "the client closed 100.0 ms after the response and the server's FIN came 50.1 ms \
             after the client's, in answer to it",
        );
    }

    /// Request at 12, response at 20 on a 10 ms round trip; the client
    /// closes 5 ms after the response, the server's FIN comes at `server`.
    fn quick_client(server: f64, handshake: bool) -> Timeline {
        let mut t = Timeline::new();
        if handshake {
            t.handshake(0.0, 10.0);
        }
        t.client(12.0, ASK).server(20.0, SILENT);
        t.client_fin(25.0)
            .server_fin(server)
            .client_ack(server + 0.1);
        t
    }

    #[test]
    fn a_server_fin_sent_after_the_clients_arrived_only_answers_it() {
        // 15 ms after the response, within close_within_ms, but a round trip
        // (10 ms) after the client's FIN: the server sent it in answer.
        let f = only(quick_client(35.0, true).findings_of("C003"));
        assert_evidence(
            &f,
            json!({"server_fin_answered_client": true, "closed_by": "client"}),
        );
        // 0.1 ms earlier it crossed the client's FIN: the server closed by itself.
        assert!(quick_client(34.9, true).findings_of("C003").is_empty());
        // Without a handshake the round trip is unknown: the time bound alone.
        assert!(quick_client(35.0, false).findings_of("C003").is_empty());
    }

    #[test]
    fn a_connection_nobody_closes_is_judged_on_what_the_capture_shows() {
        // The capture ends 49.9 ms after the response: too soon to tell.
        assert!(after_silence(|t| t.client_ack(299.9)).is_empty());
        let f = only(after_silence(|t| t.client_ack(300.0)));
        assert_evidence(
            &f,
            json!({"closed_by": "capture end", "server_open_ms": 50.0}),
        );
        // The client closes after 5 ms and the capture ends 49.9 ms after the
        // response with no FIN from the server: still too soon.
        assert!(after_silence(|t| t.client_fin(255.0).server_ack(299.9)).is_empty());
        let f = only(after_silence(|t| t.client_fin(255.0).server_ack(300.0)));
        assert_eq!(f.evidence["closed_by"], "client");
        assert_says(&f, "the server had not closed 50.0 ms after it");
        // A client that resets before the bound cuts the wait short.
        assert!(after_silence(|t| t.client_rst(299.9)).is_empty());
        let f = only(after_silence(|t| t.client_rst(300.0)));
        assert_eq!(f.evidence["closed_by"], "client reset");
    }

    #[test]
    fn the_client_closing_late_also_shows_the_server_held_it() {
        let f = only(after_silence(|t| t.client_fin(3250.0).server_fin(3251.0)));
        assert_evidence(
            &f,
            json!({"closed_by": "client", "held_open_ms": 3000.0, "server_fin_answered_client": false}),
        );
        // A prompt server close is the correct behaviour.
        assert!(after_silence(|t| t.server_fin(250.0).client_fin(300.0)).is_empty());
    }

    #[test]
    fn the_old_option_name_is_refused_naming_the_new_one() {
        use crate::rules::config::{CliSelection, Config, ConfigFile};
        let file = ConfigFile::parse("[rules.C003]\nhold_open_ms = 1000\n").unwrap();
        let err = Config::resolve(Some(("connlint.toml", &file)), &CliSelection::default())
            .err()
            .unwrap();
        assert!(err.0.contains("hold_open_ms"), "{err}");
        assert!(err.0.contains("close_within_ms"), "{err}");
        let file =
            ConfigFile::parse("[rules.keep-alive-not-echoed]\nclose_within_ms = 20\n").unwrap();
        assert!(Config::resolve(Some(("connlint.toml", &file)), &CliSelection::default()).is_ok());
    }

    #[test]
    fn close_delimited_bodies_are_not_held_open() {
        let mut t = first(b"HTTP/1.0 200 OK\r\n\r\nbody until close");
        t.server_ack(1500.0).server_fin(3000.0);
        assert!(t.findings_of("C003").is_empty());
    }
}
