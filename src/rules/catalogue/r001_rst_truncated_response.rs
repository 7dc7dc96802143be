//! R001 rst-truncated-response.

use super::common::response_to;
use super::truncation::{behind_text, folds_unanswered, unanswered_behind, Shortfall};
use crate::http::{MessageEnd, NoResponse};
use crate::reassembly::Side;
use crate::rules::api::{ConnectionFacts, Family, Finding, Rule, RuleMeta, RuleSettings, Severity};

pub struct RstTruncatedResponse;

static META: RuleMeta = RuleMeta {
    code: "R001",
    name: "rst-truncated-response",
    family: Family::Reset,
    severity: Severity::Error,
    summary: "The connection was reset before the response's framing was satisfied",
    doc: r#"## What it detects
A response that had begun when the connection was reset (by either side) and whose framing was
not yet satisfied: fewer body bytes than its Content-Length, no zero-size last chunk, a head cut
short, or a close-delimited body that ended with a RST instead of a FIN. The evidence gives the
bytes expected and received, which side sent the RST, and how long after the last response byte
it came. A response cut by the end of the capture, or whose end fell in a capture gap, is not
reported: only a RST in the capture counts. Pipelined requests behind the cut response that the
same reset left unanswered are listed (`unanswered_transactions`) and must be resent; P003 does
not report them again.

## Why it matters
A RST aborts the connection: the receiving kernel discards whatever it had not yet handed to the
application, and the client gets `ECONNRESET` instead of the rest of the body. A client that does
not check the length may store or render a partial file; a proxy may cache it. A server-side RST
usually means a crash, a timeout that aborts the socket (`SO_LINGER` 0), a load balancer dropping
the connection, or a close with unread request bytes (see R003). A client-side RST means the
client gave up (user cancel, timeout) and closed with the response still arriving.

## Example
```text
connection 0 198.18.0.1:45011 -> 198.18.0.2:80
  error R001 rst-truncated-response tx 0: the 200 response to GET /catalogue.txt was cut by a
  RST from the server after 3000 of 10000 body bytes (7000 missing), 104.2 ms after its last
  byte; find why the server aborts the connection (crash, timeout, SO_LINGER 0, a close with
  unread input)
```

## How to fix
Find out why the side that sent the RST aborted: server logs for crashes and timeouts around that
time, idle and request timeouts on load balancers and proxies that are shorter than the response
takes, `SO_LINGER` with a zero timeout, or a close with unread input. Clients should check the
received length against Content-Length (or the last chunk) and retry idempotent requests.

## Options
None.
"#,
    options: &[],
};

impl Rule for RstTruncatedResponse {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    /// P003 on the same reset: the pipelined requests behind the cut
    /// response went unanswered because of this abort (one cause).
    fn folds(&self, mine: &Finding, other: &Finding) -> bool {
        folds_unanswered(mine, other, "rst", "rst_from")
    }

    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        for tx in &cx.http.transactions {
            let Some(resp) = &tx.response else {
                continue;
            };
            let MessageEnd::RstBeforeEnd { side, ts } = resp.end else {
                continue;
            };
            if resp.malformed {
                continue;
            }
            let short = Shortfall::of(resp);
            let who = side.name();
            let after_ms = ts.since(resp.last_byte_ts) as f64 / 1e6;
            let fix = match side {
                Side::Server => {
                    "find why the server aborts the connection (crash, timeout, SO_LINGER 0, a \
                     close with unread input)"
                }
                Side::Client => {
                    "the client gave up while the response was arriving: check its timeouts, and \
                     have it retry idempotent requests"
                }
            };
            let behind = unanswered_behind(cx, tx, |n| matches!(n, NoResponse::Rst { .. }));
            let message = format!(
                "the {} was cut by a RST from the {who} {}, {after_ms:.1} ms after its last byte{}; \
                 {fix}",
                response_to(tx),
                short.describe(),
                behind_text(&behind),
            );
            let mut f = Finding::new(&META, cx.conn, ts, message)
                .transaction(tx.index)
                .with("rst_from", who)
                .with_ms("rst_after_last_data_ms", ts.since(resp.last_byte_ts))
                .with_ms("rst_after_response_start_ms", ts.since(resp.first_byte_ts));
            if !behind.is_empty() {
                f = f.with("unanswered_transactions", behind);
            }
            out.push(short.evidence(f));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::Timeline;

    const GET: &[u8] = b"GET /c HTTP/1.1\r\nHost: a\r\n\r\n";

    /// GET, then `response` at 100 ms (nothing else from the server).
    fn answered(response: &[u8]) -> Timeline {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, GET);
        t.server(100.0, response);
        t
    }

    const PARTIAL: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhell";

    #[test]
    fn fires_on_a_reset_before_the_content_length_is_reached() {
        let mut t = answered(PARTIAL);
        t.server_rst(200.0);
        let f = t.findings_of("R001");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].transaction, Some(0));
        assert_eq!(f[0].evidence["expected_bytes"], 10);
        assert_eq!(f[0].evidence["received_bytes"], 4);
        assert_eq!(f[0].evidence["missing_bytes"], 6);
        assert_eq!(f[0].evidence["rst_from"], "server");
        assert_eq!(f[0].evidence["rst_after_last_data_ms"], 100.0);
        assert!(f[0].message.contains("4 of 10"), "{}", f[0].message);
        // A reset by the client counts as well.
        let mut t = answered(PARTIAL);
        t.client_rst(200.0);
        let f = t.findings_of("R001");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence["rst_from"], "client");
    }

    #[test]
    fn one_byte_short_fires_and_complete_does_not() {
        let mut t = answered(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell");
        t.server_rst(200.0);
        assert_eq!(t.findings_of("R001")[0].evidence["missing_bytes"], 1);
        let mut t = answered(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nhell");
        t.server_rst(200.0);
        assert!(t.findings_of("R001").is_empty());
    }

    #[test]
    fn chunked_without_its_last_chunk_and_cut_heads() {
        let mut t =
            answered(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
        t.server_rst(200.0);
        let f = t.findings_of("R001");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence["framing"], "chunked");
        assert!(!f[0].evidence.contains_key("expected_bytes"));
        let mut t = answered(b"HTTP/1.1 200 OK\r\nContent-Le");
        t.server_rst(200.0);
        let f = t.findings_of("R001");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence["head_truncated"], true);
    }

    /// GET / answered; /2 and /3 pipelined; /2's response cut short.
    fn cut_with_a_request_behind() -> Timeline {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, GET);
        t.server(100.0, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        t.client(200.0, b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
            .client(201.0, b"GET /3 HTTP/1.1\r\nHost: a\r\n\r\n");
        t.server(300.0, PARTIAL);
        t
    }

    /// The connection-rule findings (S001 judges the handshake).
    pub(crate) fn codes(t: &Timeline) -> Vec<&'static str> {
        t.all_findings()
            .iter()
            .map(|f| f.code)
            .filter(|c| !c.starts_with('S'))
            .collect()
    }

    #[test]
    fn the_requests_behind_a_cut_response_are_this_findings_not_p003s() {
        let mut t = cut_with_a_request_behind();
        t.server_rst(400.0);
        assert_eq!(codes(&t), ["R001"], "one reset, one finding");
        let f = t.findings_of("R001");
        assert_eq!(f[0].transaction, Some(1));
        assert_eq!(
            f[0].evidence["unanswered_transactions"],
            serde_json::json!([2])
        );
        assert!(
            f[0].message.contains("pipelined request behind it (tx 2)"),
            "{}",
            f[0].message
        );
        // Without R001 (ignored), P003 still reports the unanswered request.
        assert_eq!(t.findings_of("P003").len(), 1);
        // Nothing behind it: no such evidence.
        let mut t = answered(PARTIAL);
        t.server_rst(200.0);
        assert!(!t.findings_of("R001")[0]
            .evidence
            .contains_key("unanswered_transactions"));
    }

    #[test]
    fn capture_end_fin_or_no_response_are_not_this_rule() {
        // The capture stops mid-body.
        assert!(answered(PARTIAL).findings_of("R001").is_empty());
        // A FIN is R002's.
        let mut t = answered(PARTIAL);
        t.server_fin(200.0);
        assert!(t.findings_of("R001").is_empty());
        // Reset with no response byte at all: nothing was truncated.
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, GET).server_rst(200.0);
        assert!(t.findings_of("R001").is_empty());
    }
}
