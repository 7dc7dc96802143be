//! R001 rst-truncated-response.

use super::common::response_to;
use super::truncation::{behind_text, folds_unanswered, unanswered_behind, RecordCut, Shortfall};
use crate::http::{MessageEnd, NoResponse};
use crate::reassembly::{BySide, Side};
use crate::rules::api::*;

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

On a TLS connection, whose HTTP is encrypted, the evidence is the server's record the RST cut
short: the server had sent part of a record (its length is in its header) when either side reset
the connection, so it was sending — a response was cut short. The evidence gives the record's
length, the bytes of it received and missing, and the server's application data so far; there is
no transaction. A reset that falls between two records, or after the server's own FIN cut a
record (R002), is not reported here.

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
    /// P003 on the same reset: the pipelined requests behind the cut
    /// response went unanswered because of this abort (one cause).
    fn folds(&self, mine: &Finding, other: &Finding) -> bool {
        folds_unanswered(mine, other, "rst", "rst_from")
    }

    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        // Decrypted, the cut response is judged from its HTTP below (one
        // finding per cause).
        let encrypted = cx.tls.filter(|_| !cx.decrypted);
        if let (Some(t), Some((side, ts))) = (encrypted, cx.conn.rst) {
            let fin_first = cx.conn.fin.of(Side::Server).is_some_and(|f| f <= ts)
                && RecordCut::of(t, false).is_some();
            if let Some(cut) = RecordCut::of(t, true).filter(|_| !fin_first) {
                let fix = match side {
                    Side::Server => {
                        "find why the server aborts the connection while it sends (crash, \
                         timeout, SO_LINGER 0, a close with unread input)"
                    }
                    Side::Client => {
                        "the client gave up while the response was arriving: check its timeouts, \
                         and have it retry idempotent requests"
                    }
                };
                let message = format!(
                    "a RST from the {} cut the server's TLS record {}: the server was sending (a \
                     response cut short; the HTTP inside is encrypted); {fix}",
                    side.name(),
                    cut.describe(),
                );
                let f = Finding::new(&META, cx.conn, ts, message).with("rst_from", side.name());
                out.push(cut.evidence(f));
            }
        }
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
            let f = Finding::new(&META, cx.conn, ts, message)
                .transaction(tx.index)
                .with("rst_from", who)
                .with_ms("rst_after_last_data_ms", ts.since(resp.last_byte_ts))
                .with_ms("rst_after_response_start_ms", ts.since(resp.first_byte_ts));
            out.push(short.evidence(f, behind));
        }
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, get, only, Timeline};
    use crate::rules::Finding;
    use serde_json::json;

    const PARTIAL: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhell";

    /// GET /c, `response` at 100 ms, then `then`; R001's findings.
    fn r001(response: &[u8], then: impl FnOnce(&mut Timeline) -> &mut Timeline) -> Vec<Finding> {
        Timeline::answered_then(response, then).findings_of("R001")
    }

    #[test]
    fn fires_on_a_reset_before_the_content_length_is_reached() {
        let f = only(r001(PARTIAL, |t| t.server_rst(200.0)));
        assert_eq!(f.transaction, Some(0));
        assert_evidence(
            &f,
            json!({"expected_bytes": 10, "received_bytes": 4, "missing_bytes": 6, "rst_from": "server", "rst_after_last_data_ms": 100.0}),
        );
        assert_says(&f, "4 of 10");
        assert!(
            !f.evidence.contains_key("unanswered_transactions"),
            "none behind it"
        );
        // A reset by the client counts as well.
        let f = only(r001(PARTIAL, |t| t.client_rst(200.0)));
        assert_eq!(f.evidence["rst_from"], "client");
    }

    #[test]
    fn chunked_without_its_last_chunk_and_cut_heads() {
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";
        let f = only(r001(chunked, |t| t.server_rst(200.0)));
        assert_eq!(f.evidence["framing"], "chunked");
        assert!(!f.evidence.contains_key("expected_bytes"));
        let f = only(r001(b"HTTP/1.1 200 OK\r\nContent-Le", |t| {
            t.server_rst(200.0)
        }));
        assert_eq!(f.evidence["head_truncated"], true);
    }

    #[test]
    fn the_requests_behind_a_cut_response_are_this_findings_not_p003s() {
        let mut t = Timeline::two_pipelined(201.0, PARTIAL);
        t.server_rst(400.0);
        assert_eq!(t.codes_but_setup(), ["R001"], "one reset, one finding");
        let f = only(t.findings_of("R001"));
        assert_eq!(f.transaction, Some(1));
        assert_evidence(&f, json!({"unanswered_transactions": [2]}));
        assert_says(&f, "pipelined request behind it (tx 2)");
        // Without R001 (ignored), P003 still reports the unanswered request.
        assert_eq!(t.findings_of("P003").len(), 1);
    }

    #[test]
    fn a_reset_inside_a_servers_tls_record_and_not_between_records() {
        use crate::tls::build::{app_data, ClientHello, ServerHello};
        let record = app_data(16000);
        let cut = |server_data: &[u8]| {
            let mut t = Timeline::new();
            let ready = t.tls13_handshake(
                0.0,
                50.0,
                &ClientHello::new().tls13(),
                &ServerHello::new().version(0x0304),
            );
            t.client(ready, &app_data(200))
                .server(ready + 50.0, server_data)
                .client_rst(ready + 60.0);
            t.findings_of("R001")
        };
        let f = only(cut(&record[..3000]));
        assert_eq!(f.transaction, None);
        assert_evidence(
            &f,
            json!({"rst_from": "client", "record_bytes": 16000, "received_bytes": 2995, "missing_bytes": 13005, "server_records": 1}),
        );
        assert_says(
            &f,
            "cut the server's TLS record after 2995 of its 16000 bytes",
        );
        assert!(cut(&record).is_empty(), "between records: nothing was cut");
    }

    #[test]
    fn capture_end_fin_or_no_response_are_not_this_rule() {
        // The capture stops mid-body.
        assert!(r001(PARTIAL, |t| t).is_empty());
        // A FIN is R002's.
        assert!(r001(PARTIAL, |t| t.server_fin(200.0)).is_empty());
        // Reset with no response byte at all: nothing was truncated.
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(50.0, &get("/c"))
            .server_rst(200.0);
        assert!(t.findings_of("R001").is_empty());
    }
}
