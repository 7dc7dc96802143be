//! P003 unanswered-pipelined-requests-at-close.

use super::common::{request_label, server_stream_has_gaps, MAX_LISTED};
use crate::http::{NoResponse, Transaction};
use crate::reassembly::{BySide, Side};
use crate::rules::api::*;
use crate::Timestamp;

pub struct UnansweredPipelinedRequestsAtClose;

static META: RuleMeta = RuleMeta {
    code: "P003",
    name: "unanswered-pipelined-requests-at-close",
    family: Family::Pipelining,
    severity: Severity::Warning,
    summary: "The connection closed (FIN or RST) with pipelined requests still unanswered",
    doc: r#"## What it detects
A connection that ended with the server's FIN or a reset (from either side) while pipelined
requests on it had received no response. Requests whose response may have been in a capture gap,
and connections the capture simply stops in, are not counted. One finding per connection, on the
first unanswered request; the evidence lists every unanswered transaction.

When another finding already states why the requests went unanswered, that finding carries them
and this one is not reported (one cause, one finding): R003 when the server's reset is its kernel
answering those very requests left unread, R001 or R002 when the reset or FIN that left them
unanswered cut the response before them (`unanswered_transactions`), F002 when the "pipelined"
request lies inside a Content-Length + chunked request's Content-Length (a smuggled request).
With that rule ignored, this one reports them.

## Why it matters
A server may close a persistent connection at any time: an idle or request-count limit, a
restart, or an error. Requests pipelined behind the last response it wrote are then lost, and
the client must notice, open a new connection and send them again. Only idempotent requests may
be resent automatically (RFC 9112 §9.3.2). When the close is a reset, responses the client had
not read yet are discarded too (RFC 9293: a RST flushes the receive queue).

## Example
```text
connection 0 198.18.0.1:43031 -> 198.18.0.2:80
  warning P003 unanswered-pipelined-requests-at-close tx 2: 2 pipelined requests got no response
  before the server closed the connection with FIN (GET /img/2.png, GET /img/3.png); the client
  must resend them on a new connection (only idempotent requests automatically)
```

## How to fix
Clients: pipeline only idempotent requests, and be ready to resend unanswered ones on a new
connection (limit the pipeline depth to what you can afford to resend). Servers: before closing a
persistent connection, answer the requests already read, or announce the close with
`Connection: close` on the last response you send; close with a half-close (`shutdown`) and
drain input so the peer gets a FIN, not a RST.

## Options
None.
"#,
    options: &[],
};

/// Unanswered requests named in the message (all are in the evidence).
const NAMED: usize = 3;

impl Rule for UnansweredPipelinedRequestsAtClose {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        if server_stream_has_gaps(cx) {
            // The missing responses may be in the bytes the capture lost.
            return;
        }
        let unanswered: Vec<&Transaction> = cx
            .http
            .transactions
            .iter()
            .filter(|tx| {
                tx.pipelined
                    && tx.request.is_some()
                    && tx.response.is_none()
                    // The server closed, or someone reset: not a capture that
                    // stopped, nor a response lost in a gap.
                    && matches!(
                        tx.no_response,
                        Some(NoResponse::ServerFin { .. } | NoResponse::Rst { .. })
                    )
            })
            .collect();
        let Some(first) = unanswered.first() else {
            return;
        };
        let (how, by, at) = match (cx.conn.rst, *cx.conn.fin.of(Side::Server)) {
            (Some((side, ts)), _) => ("rst", side, ts),
            (None, Some(ts)) => ("fin", Side::Server, ts),
            (None, None) => match first.no_response {
                Some(NoResponse::Rst { side, ts }) => ("rst", side, ts),
                Some(NoResponse::ServerFin { ts }) => ("fin", Side::Server, ts),
                _ => return,
            },
        };
        let who = by.name();
        let n = unanswered.len();
        let mut names: Vec<String> = unanswered
            .iter()
            .take(NAMED)
            .map(|t| request_label(t))
            .collect();
        if n > NAMED {
            names.push(format!("and {} more", n.saturating_sub(NAMED)));
        }
        let close = if how == "rst" {
            format!("the {who} reset the connection")
        } else {
            "the server closed the connection with FIN".to_string()
        };
        let client_first = cx.conn.fin.of(Side::Client).is_some_and(|c| c < at);
        let message = format!(
            "{n} pipelined request{} got no response before {close} ({}){}; the client must resend \
             {} on a new connection (only idempotent requests automatically)",
            if n == 1 { "" } else { "s" },
            names.join(", "),
            if client_first {
                ", after the client had closed its side"
            } else {
                ""
            },
            if n == 1 { "it" } else { "them" },
        );
        let indices: Vec<u64> = unanswered
            .iter()
            .take(MAX_LISTED)
            .map(|t| t.index)
            .collect();
        let last_sent: Option<Timestamp> = unanswered
            .iter()
            .filter_map(|t| t.request.as_ref().map(|r| r.first_byte_ts))
            .max();
        let mut f = Finding::new(&META, cx.conn, at, message)
            .transaction(first.index)
            .with("unanswered", n as u64)
            .with("unanswered_transactions", indices)
            .with("close", how)
            .with("closed_by", who);
        if let Some(t) = last_sent {
            f = f.with_ms("close_after_last_request_ms", at.since(t));
        }
        out.push(f);
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

#[cfg(test)]
mod tests {
    use crate::reassembly::Side;
    use crate::rules::testing::{assert_a_gap_silences, assert_evidence, assert_says, only};
    use crate::rules::testing::{get, Ev, Timeline, OK};
    use serde_json::json;

    /// GET / answered (persistence confirmed), then /1, /2, /3 pipelined;
    /// the server answers `answered` of them, then `then` happens.
    fn pipeline(
        answered: usize,
        then: impl FnOnce(&mut Timeline) -> &mut Timeline,
    ) -> Vec<crate::rules::Finding> {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, &get("/"));
        t.server(100.0, OK);
        for i in 1..=3 {
            t.client(100.0 + i as f64, &get(&format!("/{i}")));
        }
        for i in 0..answered {
            t.server(200.0 + i as f64, OK);
        }
        then(&mut t);
        t.findings_of("P003")
    }

    #[test]
    fn fires_when_the_server_closes_with_requests_outstanding() {
        let f = only(pipeline(1, |t| {
            t.server_fin(250.0).client_fin(260.0).server_ack(261.0)
        }));
        assert_eq!(f.transaction, Some(2));
        assert_evidence(
            &f,
            json!({"unanswered": 2, "unanswered_transactions": [2, 3], "close": "fin", "closed_by": "server", "close_after_last_request_ms": 147.0}),
        );
        assert_says(&f, "GET /2, GET /3");
    }

    #[test]
    fn a_reset_counts_from_either_side() {
        let f = only(pipeline(2, |t| t.client_rst(250.0)));
        assert_eq!(f.transaction, Some(3));
        assert_evidence(&f, json!({"close": "rst", "closed_by": "client"}));
    }

    #[test]
    fn all_answered_or_capture_ended_is_silent() {
        assert!(pipeline(3, |t| t.server_fin(250.0).client_fin(260.0)).is_empty());
        // The capture stops with the requests outstanding: nothing closed.
        assert!(pipeline(1, |t| t).is_empty());
        // The client closes its side and the capture ends: the server may
        // still answer.
        assert!(pipeline(1, |t| t.client_fin(250.0)).is_empty());
    }

    #[test]
    fn an_unanswered_request_that_was_not_pipelined_is_not_this_rule() {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, &get("/"));
        t.server_fin(250.0).client_fin(260.0);
        assert!(t.findings_of("P003").is_empty());
    }

    #[test]
    fn responses_possibly_lost_in_a_capture_gap_are_not_counted() {
        let (first, one, two) = (get("/"), get("/1"), get("/2"));
        let events = [
            Ev::Data(Side::Client, &first, 50.0),
            Ev::Data(Side::Server, OK, 100.0),
            Ev::Data(Side::Client, &one, 101.0),
            Ev::Data(Side::Client, &two, 102.0),
            Ev::Data(Side::Server, OK, 200.0),
            Ev::Fin(Side::Server, 250.0),
        ];
        assert_a_gap_silences("P003", &events, Ev::Gap(Side::Server, 40, 210.0));
    }
}
