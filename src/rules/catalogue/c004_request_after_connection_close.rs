//! C004 request-after-connection-close.

use super::common::{label, subset, Kind, MAX_LISTED};
use crate::reassembly::Side;
use crate::rules::api::*;
use crate::Timestamp;

pub struct RequestAfterConnectionClose;

static META: RuleMeta = RuleMeta {
    code: "C004",
    name: "request-after-connection-close",
    family: Family::ConnectionHeader,
    severity: Severity::Error,
    summary:
        "a request sent on a connection after a request or response on it carried Connection: close",
    doc: r#"## What it detects
A request sent on a connection after an earlier message on the same connection said
`Connection: close`:

- an earlier **request** said `close`: every later request on the connection counts, since the
  client itself announced that it would send no more;
- an earlier **response** said `close`: a later request counts once it was sent after the
  client could have read that response, i.e. it reached the capture point no earlier than the
  response's first byte plus the round trip from the capture point to the client (from the
  handshake; zero when unknown, which is exact for a capture taken at the client). A request
  already on its way when the `close` arrived is a pipelining casualty (P003), not this.

The finding is on the first offending request, with the number of offending requests on the
connection (`requests_after_close`, `offending_transactions`) as evidence. When the server's
kernel reset the connection over them (they met a closed socket), that reset is told here
(`server_reset_after_ms`) and not again as R003: the client's request after the close is the
cause.

## Why it matters
`Connection: close` means "this is the last message on this connection" (RFC 9112 §9.6): a
client that sends it must not send further requests, and a server that sends it will close
after the response. A request sent afterwards races with the close: the server may read it
and ignore it, or, having closed its socket with unread data, answer with a TCP reset that
also destroys the response the client had not yet read. The request is then lost or must be
retried, which is unsafe for non-idempotent methods. Even when a lax server does answer it,
the client depends on behaviour the protocol does not promise.

## Example
```text
connection 0 198.18.0.1:42041 -> 198.18.0.2:80
  error C004 request-after-connection-close tx 1: GET /tape was sent 0.2 ms after response 0
  (GET /glue) said `Connection: close` ...
```

## How to fix
Client: after a response with `Connection: close` (or after sending `close` yourself), stop
using the connection: read the response to its end, close, and send further requests on a new
connection. Connection pools must mark such connections as not reusable. If the server sends
`close` unexpectedly, check its keep-alive limits (max requests per connection, timeouts).

## Options
None.
"#,
    options: &[],
};

impl Rule for RequestAfterConnectionClose {
    /// R003 on requests sent after the close: the server's reset over them
    /// is its kernel's answer to this mistake, not a careless close.
    fn folds(&self, mine: &Finding, other: &Finding) -> bool {
        other.code == "R003"
            && other.evidence.get("closer").and_then(|v| v.as_str()) == Some("server")
            && subset(
                other.evidence.get("unread_transactions"),
                mine.evidence.get("offending_transactions"),
            )
    }

    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        let to_client = cx.conn.capture_rtt_to_ns(Side::Client).unwrap_or(0).max(0);
        let txs = &cx.http.transactions;
        let mut close: Option<Close> = None;
        let mut first: Option<usize> = None;
        let mut offending = 0u64;
        let mut listed: Vec<u64> = Vec::new();
        for (i, tx) in txs.iter().enumerate() {
            if let (Some(req), Some(c)) = (&tx.request, close) {
                if req.first_byte_ts >= c.binds_from {
                    offending = offending.saturating_add(1);
                    if listed.len() < MAX_LISTED {
                        listed.push(tx.index);
                    }
                    first.get_or_insert(i);
                }
            }
            let said = [
                tx.request
                    .as_ref()
                    .filter(|m| m.headers.connection.close)
                    .map(|m| (Kind::Request, m.first_byte_ts, m.first_byte_ts)),
                tx.response
                    .as_ref()
                    .filter(|m| m.headers.connection.close)
                    .map(|m| {
                        (
                            Kind::Response,
                            m.first_byte_ts,
                            m.first_byte_ts.add_nanos(to_client),
                        )
                    }),
            ];
            for (kind, ts, binds_from) in said.into_iter().flatten() {
                if close.is_none_or(|c| binds_from < c.binds_from) {
                    close = Some(Close {
                        kind,
                        transaction: tx.index,
                        ts,
                        binds_from,
                    });
                }
            }
        }
        let (Some(i), Some(c)) = (first, close) else {
            return;
        };
        let Some(tx) = txs.get(i) else {
            return;
        };
        let Some(req) = &tx.request else {
            return;
        };
        let after = req.first_byte_ts.since(c.ts);
        let closing = txs
            .iter()
            .find(|t| t.index == c.transaction)
            .map_or_else(|| format!("transaction {}", c.transaction), label);
        let which = match c.kind {
            Kind::Request => format!("the client's own request {}", c.transaction),
            Kind::Response => format!("response {}", c.transaction),
        };
        // The server's kernel resetting the connection over the request (the
        // data met a closed socket): the consequence, told here (not R003).
        let reset = cx
            .conn
            .rst
            .filter(|&(side, ts)| side == Side::Server && ts >= req.first_byte_ts)
            .map(|(_, ts)| ts);
        let message = format!(
            "{} was sent {:.1} ms after {which} ({closing}) said `Connection: close`; the \
             connection is ending and the request can be dropped or reset{}: send it on a new \
             connection{}",
            label(tx),
            after as f64 / 1e6,
            reset.map_or_else(String::new, |ts| format!(
                " (the server reset the connection {:.1} ms after it, unread)",
                ts.since(req.first_byte_ts) as f64 / 1e6
            )),
            if offending > 1 {
                format!(" ({offending} requests on this connection were sent after the close)")
            } else {
                String::new()
            }
        );
        let mut f = Finding::new(&META, cx.conn, req.first_byte_ts, message)
            .transaction(tx.index)
            .with("close_in", c.kind.as_str())
            .with("close_transaction", c.transaction)
            .with_ms("after_close_ms", after)
            .with("requests_after_close", offending)
            .with("offending_transactions", listed)
            .with("answered", tx.response.is_some());
        if let Some(ts) = reset {
            f = f.with_ms("server_reset_after_ms", ts.since(req.first_byte_ts));
        }
        out.push(f);
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// The earliest `Connection: close` that binds the client.
#[derive(Clone, Copy)]
struct Close {
    kind: Kind,
    transaction: u64,
    /// When the message carrying it was seen.
    ts: Timestamp,
    /// From when a request counts as sent in spite of it.
    binds_from: Timestamp,
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline, OK};
    use serde_json::json;

    const GLUE: &[u8] = b"GET /glue HTTP/1.1\r\nHost: a\r\n\r\n";
    const TAPE: &[u8] = b"GET /tape HTTP/1.1\r\nHost: a\r\n\r\n";
    const CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";

    /// GLUE at 50, then `then`.
    fn glue_then(then: impl FnOnce(&mut Timeline) -> &mut Timeline) -> Timeline {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, GLUE);
        then(&mut t);
        t
    }

    #[test]
    fn the_reset_over_the_late_request_is_this_findings_not_r003s() {
        // The server said close and closed; the client's next request
        // crosses the FIN and the server's kernel resets.
        let t = glue_then(|t| {
            t.server(100.0, CLOSE).server_fin(100.1);
            t.client(150.0, TAPE).server_rst(200.0)
        });
        assert_eq!(t.codes_but_setup(), ["C004"]);
        let f = only(t.findings_of("C004"));
        assert_evidence(
            &f,
            json!({"offending_transactions": [1], "server_reset_after_ms": 50.0}),
        );
        assert_says(&f, "reset the connection 50.0 ms after it");
        // Alone, R003 sees data after the server's FIN answered by a reset.
        assert_eq!(t.findings_of("R003").len(), 1);
    }

    #[test]
    fn fires_on_a_request_after_a_closing_response() {
        let t = glue_then(|t| {
            t.server(250.0, CLOSE).client(250.2, TAPE);
            t.server(300.0, CLOSE).server_fin(300.0)
        });
        let f = only(t.findings_of("C004"));
        assert_eq!(f.transaction, Some(1));
        assert_evidence(
            &f,
            json!({"close_in": "response", "close_transaction": 0, "after_close_ms": 0.2, "requests_after_close": 1}),
        );
        assert_says(&f, "GET /tape");
    }

    #[test]
    fn a_request_on_its_way_before_the_close_arrived_does_not_count() {
        // Pipelined before the response: sent at 100, the close came at 250.
        let t = glue_then(|t| t.client(100.0, TAPE).server(250.0, CLOSE).server_fin(250.0));
        assert!(t.findings_of("C004").is_empty());
    }

    #[test]
    fn the_clients_own_close_binds_every_later_request() {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(
            50.0,
            b"GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        );
        t.client(50.1, TAPE).client(50.2, GLUE).server(250.0, CLOSE);
        let f = only(t.findings_of("C004"));
        assert_eq!(f.transaction, Some(1));
        assert_evidence(
            &f,
            json!({"close_in": "request", "requests_after_close": 2, "answered": false}),
        );
    }

    #[test]
    fn silent_on_keep_alive_connections_and_on_the_last_request() {
        let t = glue_then(|t| {
            t.server(250.0, OK).client(260.0, TAPE);
            t.server(300.0, CLOSE).server_fin(300.0)
        });
        assert!(t.findings_of("C004").is_empty());
    }
}
