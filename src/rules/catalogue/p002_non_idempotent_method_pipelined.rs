//! P002 non-idempotent-method-pipelined.

use super::common::{disturbed_by_gap, is_idempotent, request_label, server_stream_has_gaps};
use crate::http::Transaction;
use crate::rules::api::*;

pub struct NonIdempotentMethodPipelined;

static META: RuleMeta = RuleMeta {
    code: "P002",
    name: "non-idempotent-method-pipelined",
    family: Family::Pipelining,
    severity: Severity::Error,
    summary: "A non-idempotent request (POST, PATCH, ...) was pipelined, or a request was queued behind one",
    doc: r#"## What it detects
Two cases on one connection:
- a request with a non-idempotent method (POST, PATCH, CONNECT, LOCK, or any method not known to
  be idempotent) sent while the response to an earlier request was still outstanding;
- any request sent after a non-idempotent request whose final response status had not yet
  arrived: it is queued behind it.

Idempotent methods are GET, HEAD, OPTIONS, TRACE, PUT, DELETE and the idempotent WebDAV methods
(PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, UNLOCK, SEARCH, REPORT); methods compare
case-sensitively. One finding per request, at the time it was sent.

## Why it matters
A pipelined request is exposed to the connection failing under it: if the server closes or the
connection resets with requests outstanding, the client cannot tell which of them the server
processed. An idempotent request can simply be sent again; a non-idempotent one cannot, since
repeating a POST may order twice, and not repeating it may order nothing. RFC 9112 §9.3.2 says
clients should not pipeline non-idempotent requests, nor pipeline anything after one until its
final response status has arrived.

## Example
```text
connection 0 198.18.0.1:43021 -> 198.18.0.2:80
  error P002 non-idempotent-method-pipelined tx 2: POST /orders was pipelined while the response
  to GET /cart.json (tx 1) was outstanding (it ended 145.7 ms later); if the connection fails
  now the client cannot know whether it was processed nor safely resend it: send non-idempotent
  requests only on an idle connection
```

## How to fix
Send POST, PATCH and other non-idempotent requests only when no response is outstanding on the
connection, and wait for their final response status before sending anything else on it. Use a
separate connection (or HTTP/2) for requests that must not wait.

## Options
None.
"#,
    options: &[],
};

impl Rule for NonIdempotentMethodPipelined {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        let txs = &cx.http.transactions;
        // A response missing from a server stream with gaps may simply not
        // have been captured: then nothing says what was outstanding.
        let gaps = server_stream_has_gaps(cx);
        // Non-idempotent requests whose final status had not arrived by the
        // time the latest request was sent (requests go out in order, so one
        // that drops out never comes back).
        let mut unanswered: Vec<&Transaction> = Vec::new();
        for (k, tx) in txs.iter().enumerate() {
            if disturbed_by_gap(tx) {
                // Which responses were outstanding is a guess from here on.
                return;
            }
            let (Some(method), Some(req)) = (&tx.method, &tx.request) else {
                continue;
            };
            if req.malformed {
                continue;
            }
            let sent = req.first_byte_ts;
            unanswered.retain(|p| p.response.as_ref().is_none_or(|r| r.first_byte_ts > sent));
            let idempotent = is_idempotent(method);
            if tx.pipelined {
                if let Some(f) = Self::judge(cx, k, &unanswered, gaps) {
                    out.push(f);
                }
            }
            if !idempotent {
                unanswered.push(tx);
            }
        }
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// Earlier transactions looked at for the outstanding response: responses
/// come in order, so it is one of the last few.
const LOOK_BACK: usize = 64;

impl NonIdempotentMethodPipelined {
    /// The finding for pipelined request number `k`, if it breaks the rule.
    fn judge(
        cx: &ConnectionFacts<'_>,
        k: usize,
        unanswered: &[&Transaction],
        gaps: bool,
    ) -> Option<Finding> {
        let txs = &cx.http.transactions;
        let tx = txs.get(k)?;
        let method = tx.method.as_deref()?;
        let idempotent = is_idempotent(method);
        let sent = tx.request.as_ref()?.first_byte_ts;
        let what = request_label(tx);
        if !idempotent {
            // The latest earlier transaction still being answered.
            let prev = txs
                .get(k.saturating_sub(LOOK_BACK)..k)?
                .iter()
                .rev()
                .find(|p| {
                    p.request.is_some() && p.response.as_ref().is_none_or(|r| r.last_byte_ts > sent)
                })?;
            if gaps && prev.response.is_none() {
                return None;
            }
            let ends = prev.response.as_ref().map(|r| r.last_byte_ts.since(sent));
            let when = match ends {
                Some(ns) => format!("it ended {:.1} ms later", ns as f64 / 1e6),
                None => "it never came".to_string(),
            };
            let message = format!(
                "{what} was pipelined while the response to {} (tx {}) was outstanding ({when}); \
                 if the connection fails now the client cannot know whether it was processed \
                 nor safely resend it: send non-idempotent requests only on an idle connection",
                request_label(prev),
                prev.index
            );
            let mut f = Finding::new(&META, cx.conn, sent, message)
                .transaction(tx.index)
                .with("method", method)
                .with("outstanding_transaction", prev.index);
            if let Some(ns) = ends {
                f = f.with_ms("outstanding_response_ends_after_ms", ns);
            }
            return Some(f);
        }
        // An idempotent request queued behind a non-idempotent one whose
        // final status had not arrived.
        let blocker = unanswered.last()?;
        if gaps && blocker.response.is_none() {
            return None;
        }
        let status_at = blocker
            .response
            .as_ref()
            .map(|r| r.first_byte_ts.since(sent));
        let when = match status_at {
            Some(ns) => format!("its status arrived {:.1} ms later", ns as f64 / 1e6),
            None => "it never got one".to_string(),
        };
        let message = format!(
            "{what} was pipelined behind {} (tx {}) before its final status arrived ({when}); \
             if that request fails the client cannot tell what the server did with either: \
             wait for the final response to a non-idempotent request before sending more",
            request_label(blocker),
            blocker.index
        );
        let mut f = Finding::new(&META, cx.conn, sent, message)
            .transaction(tx.index)
            .with("method", method)
            .with("queued_behind_transaction", blocker.index)
            .with(
                "queued_behind_method",
                blocker.method.as_deref().unwrap_or(""),
            );
        if let Some(ns) = status_at {
            f = f.with_ms("status_arrived_after_ms", ns);
        }
        Some(f)
    }
}

#[cfg(test)]
mod tests {
    use crate::reassembly::Side;
    use crate::rules::testing::{assert_a_gap_silences, assert_evidence, assert_says, only};
    use crate::rules::testing::{Ev, Timeline, OK};
    use serde_json::json;

    fn req(method: &str, path: &str) -> Vec<u8> {
        if method == "POST" || method == "PATCH" {
            format!("{method} {path} HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{{}}")
        } else {
            format!("{method} {path} HTTP/1.1\r\nHost: a\r\n\r\n")
        }
        .into_bytes()
    }

    /// GET / answered at 100 ms (persistence confirmed), then `first` at
    /// 200 ms; the rest is the test's.
    fn confirmed_then(first: &str) -> Timeline {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, &req("GET", "/"));
        t.server(100.0, OK).client(200.0, &req(first, "/one"));
        t
    }

    /// [`confirmed_then`] `first`, then `second` at `second_at`; both
    /// answered at 300 and 310 ms (or once sent); P002's findings.
    fn p002(first: &str, second: &str, second_at: f64) -> Vec<crate::rules::Finding> {
        let mut t = confirmed_then(first);
        if second_at < 300.0 {
            t.client(second_at, &req(second, "/two"));
            t.server(300.0, OK).server(310.0, OK);
        } else {
            t.server(300.0, OK);
            t.client(second_at, &req(second, "/two"));
            t.server(second_at + 10.0, OK);
        }
        t.close(400.0);
        t.findings_of("P002")
    }

    #[test]
    fn a_pipelined_post_fires() {
        let f = only(p002("GET", "POST", 205.0));
        assert_eq!(f.transaction, Some(2));
        assert_evidence(
            &f,
            json!({"method": "POST", "outstanding_transaction": 1, "outstanding_response_ends_after_ms": 95.0}),
        );
        assert_says(&f, "POST /two");
        assert_says(&f, "GET /one");
        assert_eq!(p002("GET", "PATCH", 205.0).len(), 1);
    }

    #[test]
    fn a_post_sent_once_the_response_ended_is_fine() {
        // Response 1 ends at 300 ms: a POST at 300.1 is not pipelined.
        assert!(p002("GET", "POST", 300.1).is_empty());
        // Pipelined GETs are fine.
        assert!(p002("GET", "GET", 205.0).is_empty());
        assert!(p002("GET", "PUT", 205.0).is_empty());
    }

    #[test]
    fn an_idempotent_request_queued_behind_a_post_fires() {
        let f = only(p002("POST", "GET", 205.0));
        assert_eq!(f.transaction, Some(2));
        assert_evidence(
            &f,
            json!({"queued_behind_transaction": 1, "queued_behind_method": "POST", "status_arrived_after_ms": 95.0}),
        );
        // A POST behind a POST: one finding for the second, not two.
        let f = only(p002("POST", "POST", 205.0));
        assert!(f.evidence.contains_key("outstanding_transaction"));
    }

    #[test]
    fn queued_behind_a_post_whose_status_already_arrived_is_fine() {
        // The POST's response head arrives at 300 ms but its body only at
        // 320; a GET at 310 is pipelined, yet the status was in.
        let mut t = confirmed_then("POST");
        t.server(300.0, &OK[..OK.len() - 2])
            .client(310.0, &req("GET", "/two"));
        t.server(320.0, b"ok").server(330.0, OK).close(400.0);
        assert!(t.findings_of("P002").is_empty());
        // GET at 299.9, before the status: fires.
        let mut t = confirmed_then("POST");
        t.client(299.9, &req("GET", "/two"));
        t.server(300.0, OK).server(330.0, OK).close(400.0);
        let f = only(t.findings_of("P002"));
        assert_eq!(f.evidence["status_arrived_after_ms"], 0.1);
    }

    #[test]
    fn a_response_possibly_lost_in_a_capture_gap_proves_nothing() {
        let (first, one, two) = (req("GET", "/"), req("GET", "/one"), req("POST", "/two"));
        let events = [
            Ev::Data(Side::Client, &first, 50.0),
            Ev::Data(Side::Server, OK, 100.0),
            Ev::Data(Side::Client, &one, 200.0),
            Ev::Data(Side::Client, &two, 205.0),
            Ev::Fin(Side::Client, 400.0),
        ];
        assert_a_gap_silences("P002", &events, Ev::Gap(Side::Server, 500, 300.0));
    }
}
