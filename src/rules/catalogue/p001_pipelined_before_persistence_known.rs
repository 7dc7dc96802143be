//! P001 pipelined-before-persistence-known.

use super::common::{disturbed_by_gap, request_label, server_stream_has_gaps, wants_persistence};
use crate::http::{MessageFacts, Transaction};
use crate::rules::api::*;
use crate::Timestamp;

pub struct PipelinedBeforePersistenceKnown;

static META: RuleMeta = RuleMeta {
    code: "P001",
    name: "pipelined-before-persistence-known",
    family: Family::Pipelining,
    severity: Severity::Warning,
    summary: "A request was pipelined before any response showed the connection is persistent",
    doc: r#"## What it detects
A connection whose start is in the capture (the client's SYN was seen), on which the client sent
a second request while the first was still unanswered, before any response on the connection had
confirmed persistence: no response had begun yet, or those that had were HTTP/1.0 without
`Connection: keep-alive` or carried `Connection: close`. It is reported once per connection, on
the first such request; the evidence counts how many requests went out that way.

## Why it matters
Pipelining is only allowed on a connection known to be persistent (RFC 9112 §9.3.2). Until a
response arrives the client does not know whether the server is HTTP/1.1, whether it will keep
the connection open, or whether it will close after the first response (an HTTP/1.0 server, a
`Connection: close`, a server-side request limit). If it closes, every request queued behind the
first is lost; the client has to notice, reconnect and send them again, which costs more than
waiting one round trip would have, and non-idempotent requests cannot be resent safely at all.
Browsers gave up on HTTP/1.1 pipelining largely because of servers and proxies that broke here.

## Example
```text
connection 0 198.18.0.1:43011 -> 198.18.0.2:80
  warning P001 pipelined-before-persistence-known tx 1: GET /site.js was pipelined 5.2 ms after
  GET /site.css, before any response confirmed the connection is persistent: no response had
  begun (the first began 200.8 ms later); wait for the first response (HTTP/1.1 without
  Connection: close) before pipelining
```

## How to fix
Send one request on a new connection and wait for its response; pipeline further requests only
once a response has shown the connection is persistent (HTTP/1.1 without `Connection: close`, or
HTTP/1.0 echoing `Connection: keep-alive`). Better, use several connections or HTTP/2, which
multiplexes without these risks.

## Options
None.
"#,
    options: &[],
};

impl Rule for PipelinedBeforePersistenceKnown {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        // Only a connection seen from its start says which request was first.
        if cx.conn.handshake.syn.is_none() {
            return;
        }
        let txs = &cx.http.transactions;
        let Some(first) = txs.first() else {
            return;
        };
        let Some(first_req) = first.request.as_ref().filter(|r| r.start_offset == 0) else {
            return;
        };
        // The first response must be in the capture, from the server's first
        // byte on, or one may have come unseen before the second request
        // (a one-sided capture, lost packets).
        let first_response_seen = first.response.as_ref().is_some_and(|r| r.start_offset == 0);
        if !first_response_seen && server_stream_has_gaps(cx) {
            return;
        }
        // When the first response confirming persistence began.
        let mut confirmed: Option<Timestamp> = None;
        let mut first_response: Option<Timestamp> = None;
        let mut offending: Option<(&Transaction, &MessageFacts)> = None;
        let mut count = 0u64;
        let mut previous_start = first_req.first_byte_ts;
        for (k, tx) in txs.iter().enumerate() {
            if disturbed_by_gap(tx) {
                break;
            }
            if let Some(req) = &tx.request {
                let unconfirmed = confirmed.is_none_or(|c| c > req.first_byte_ts);
                if k > 0 && tx.pipelined && !req.malformed && unconfirmed {
                    if offending.is_none() {
                        offending = Some((tx, req));
                    }
                    count = count.saturating_add(1);
                } else if offending.is_none() {
                    previous_start = req.first_byte_ts;
                }
                if !unconfirmed {
                    // Everything after is judged against a known-persistent connection.
                    break;
                }
            }
            if let Some(resp) = &tx.response {
                first_response =
                    Some(first_response.map_or(resp.first_byte_ts, |t| t.min(resp.first_byte_ts)));
                if wants_persistence(resp) {
                    let at = resp.first_byte_ts;
                    confirmed = Some(confirmed.map_or(at, |c| c.min(at)));
                }
            }
        }
        let Some((tx, req)) = offending else {
            return;
        };
        let sent = req.first_byte_ts;
        let gap_ns = sent.since(previous_start);
        let what = request_label(tx);
        let previous = txs
            .get(tx.index.saturating_sub(1) as usize)
            .map_or_else(|| "the previous request".to_string(), request_label);
        let began = match first_response {
            Some(t) if t <= sent => "the responses so far did not promise persistence".to_string(),
            Some(t) => format!(
                "no response had begun (the first began {:.1} ms later)",
                t.since(sent) as f64 / 1e6
            ),
            None => "no response ever came".to_string(),
        };
        let mut message = format!(
            "{what} was pipelined {:.1} ms after {previous}, before any response confirmed the \
             connection is persistent: {began}",
            gap_ns as f64 / 1e6
        );
        if count > 1 {
            message.push_str(&format!(" ({count} requests sent this way)"));
        }
        message.push_str(
            "; wait for the first response (HTTP/1.1 without Connection: close) before pipelining",
        );
        let mut f = Finding::new(&META, cx.conn, sent, message)
            .transaction(tx.index)
            .with("requests_before_confirmation", count)
            .with_ms("after_previous_request_ms", gap_ns);
        if let Some(t) = first_response {
            f = f.with_ms("first_response_after_ms", t.since(sent));
        }
        if let Some(t) = confirmed {
            f = f.with_ms("persistence_confirmed_after_ms", t.since(sent));
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

    const OK_10: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
    const OK_10_KA: &[u8] =
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok";
    const OK_CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";

    /// First GET at 50 ms; the second at `second`; the server answers
    /// both (with `first_resp` first) at `answer`.
    fn two(second: f64, answer: f64, first_resp: &[u8]) -> Timeline {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, &get("/a"));
        if second < answer {
            t.client(second, &get("/b"));
            t.server(answer, first_resp).server(answer, OK);
        } else {
            t.server(answer, first_resp).server(answer, OK);
            t.client(second, &get("/b")).server(second + 10.0, OK);
        }
        t.close(second.max(answer) + 50.0);
        t
    }

    /// GET /a at 50 ms; the first 20 bytes of `first`, its response, at
    /// 250; GET /b at `second`. The rest is the test's.
    fn begun(first: &[u8], second: f64) -> Timeline {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, &get("/a"));
        t.server(250.0, &first[..20]).client(second, &get("/b"));
        t
    }

    #[test]
    fn fires_on_a_second_request_before_any_response() {
        let f = only(two(55.0, 250.0, OK).findings_of("P001"));
        assert_eq!(f.transaction, Some(1));
        assert_evidence(
            &f,
            json!({"after_previous_request_ms": 5.0, "first_response_after_ms": 195.0, "requests_before_confirmation": 1}),
        );
        assert_says(&f, "GET /b");
        assert_says(&f, "GET /a");
    }

    #[test]
    fn a_request_after_a_confirming_response_is_fine() {
        // Sent just after the first response began: persistence was known.
        let mut t = begun(OK, 250.1);
        t.server(251.0, &OK[20..]).server(260.0, OK).close(300.0);
        assert!(t.findings_of("P001").is_empty());
        // ... and just before it: fires.
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, &get("/a"));
        t.client(249.9, &get("/b"));
        t.server(250.0, OK).server(260.0, OK).close(300.0);
        let f = only(t.findings_of("P001"));
        assert_eq!(f.evidence["first_response_after_ms"], 0.1);
        // Sequential requests are not pipelining at all.
        assert!(two(300.0, 250.0, OK).findings_of("P001").is_empty());
    }

    #[test]
    fn an_http10_response_does_not_confirm_persistence() {
        // The first response began, but as HTTP/1.0 without keep-alive.
        let mut t = begun(OK_10, 255.0);
        t.server(256.0, &OK_10[20..]).server(260.0, OK).close(300.0);
        let f = only(t.findings_of("P001"));
        assert_says(&f, "did not promise");
        // Only the HTTP/1.1 answer to /b confirmed it, 5 ms after /b left.
        assert_eq!(f.evidence["persistence_confirmed_after_ms"], 5.0);
        // Connection: close is not a promise either.
        let mut t = begun(OK_CLOSE, 255.0);
        t.server(256.0, &OK_CLOSE[20..]).close(300.0);
        assert_eq!(t.findings_of("P001").len(), 1);
        // HTTP/1.0 with keep-alive echoed does confirm it.
        let mut t = begun(OK_10_KA, 255.0);
        t.server(256.0, &OK_10_KA[20..])
            .server(260.0, OK)
            .close(300.0);
        assert!(t.findings_of("P001").is_empty());
    }

    #[test]
    fn once_per_connection_with_a_count() {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, &get("/a"));
        t.client(51.0, &get("/b")).client(52.0, &get("/c"));
        t.server(250.0, OK).server(250.0, OK).server(250.0, OK);
        t.client(300.0, &get("/d")).client(301.0, &get("/e"));
        t.server(350.0, OK).server(350.0, OK).close(400.0);
        let f = only(t.findings_of("P001"));
        assert_eq!(f.transaction, Some(1));
        assert_eq!(f.evidence["requests_before_confirmation"], 2);
    }

    #[test]
    fn a_server_stream_with_lost_bytes_may_hide_the_first_response() {
        // Nothing lost, and nothing came: the second request was pipelined;
        // a one-sided capture (the server's bytes all lost) proves nothing.
        let (a, b) = (get("/a"), get("/b"));
        let events = [
            Ev::Data(Side::Client, &a, 50.0),
            Ev::Data(Side::Client, &b, 150.0),
            Ev::Fin(Side::Client, 300.0),
        ];
        assert_a_gap_silences("P001", &events, Ev::Gap(Side::Server, 500, 200.0));
    }

    #[test]
    fn not_without_the_connection_start() {
        // Picked up mid-stream: earlier responses may have confirmed it.
        let mut t = Timeline::new();
        t.client(50.0, &get("/a")).client(55.0, &get("/b"));
        t.server(250.0, OK).server(250.0, OK).close(300.0);
        assert!(t.findings_of("P001").is_empty());
    }
}
