//! R002 fin-truncated-response.

use super::common::response_to;
use super::truncation::{behind_text, folds_unanswered, unanswered_behind, RecordCut, Shortfall};
use crate::http::{Framing, MessageEnd, NoResponse};
use crate::reassembly::{BySide, Side};
use crate::rules::api::*;

pub struct FinTruncatedResponse;

static META: RuleMeta = RuleMeta {
    code: "R002",
    name: "fin-truncated-response",
    family: Family::Reset,
    severity: Severity::Error,
    summary: "The server closed with FIN before the response's Content-Length or final chunk",
    doc: r#"## What it detects
A response whose sender, the server, closed its side of the connection with FIN before the
response's framing was satisfied: fewer body bytes than its Content-Length, a chunked body cut
inside a chunk, or a head cut short. A FIN carries the sender's final sequence number, so the
shortfall is certain even where a capture gap hid some bytes before it. A chunked body that stops
cleanly after a whole chunk is a malformed body (F004), and a response whose framing was already
broken (conflicting Content-Length, bad chunk syntax) is F003's or F004's; a response cut only by
the end of the capture is not judged. Pipelined requests behind the cut response that the same
FIN left unanswered are listed (`unanswered_transactions`) and must be resent; P003 does not
report them again.

On a TLS connection, whose HTTP is encrypted, the evidence is a record: the server sent its FIN
in the middle of one of its TLS records (fewer bytes than the record's header announced), which
no TLS stack does while it works — the process died or was killed, or a proxy in front of it
gave up. There is no transaction; the evidence gives the record's length, the bytes of it
received and missing, and the server's application data so far. A FIN between two records (with
or without a close_notify alert) is not judged: the records do not show whether the response was
whole.

## Why it matters
The server says "that is all" while the response says more is coming. The client is left with a
partial body. A careful client treats it as an error and retries (if the request is idempotent);
a careless one stores or renders a truncated file, and a cache may keep it. Typical causes are a
backend that crashed or timed out mid-response behind a proxy that then closes, a Content-Length
computed before compression or templating changed the body, or a response sent from a stale file
length.

## Example
```text
connection 0 198.18.0.1:45021 -> 198.18.0.2:80
  error R002 fin-truncated-response tx 0: the 200 response to GET /catalogue.txt ended with the
  server's FIN after 3000 of 10000 body bytes (7000 missing); make the framing match the body
  actually sent, and find why the server stops early
```

## How to fix
Check that the Content-Length the server sends is computed from the bytes it actually writes (after
compression, templating, encoding). Look for errors, timeouts, or crashes at the server or an
upstream behind a proxy. If the length is not known in advance, use chunked encoding so that an
early stop is visible as a missing last chunk.

## Options
None.
"#,
    options: &[],
};

impl Rule for FinTruncatedResponse {
    /// P003 on the same FIN: the pipelined requests behind the cut
    /// response went unanswered because the server stopped (one cause).
    fn folds(&self, mine: &Finding, other: &Finding) -> bool {
        folds_unanswered(mine, other, "fin", "fin_from")
    }

    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        // Decrypted, the cut response is judged from its HTTP below (one
        // finding per cause).
        let encrypted = cx.tls.filter(|_| !cx.decrypted);
        if let (Some(t), Some(ts)) = (encrypted, *cx.conn.fin.of(Side::Server)) {
            let reset_first = cx.conn.rst.is_some_and(|(_, r)| r < ts);
            if let Some(cut) = RecordCut::of(t, false).filter(|_| !reset_first) {
                let message = format!(
                    "the server closed with FIN inside its TLS record, {}: the response (encrypted) \
                     was cut short and the client cannot tell it from a whole one but by the \
                     broken record; find why the server stops early (a crash, a killed worker, a \
                     proxy giving up on its upstream)",
                    cut.describe(),
                );
                let f = Finding::new(&META, cx.conn, ts, message).with("fin_from", "server");
                out.push(cut.evidence(f));
            }
        }
        for tx in &cx.http.transactions {
            let Some(resp) = &tx.response else {
                continue;
            };
            let MessageEnd::FinBeforeEnd {
                side: Side::Server,
                ts,
            } = resp.end
            else {
                continue;
            };
            if resp.malformed || resp.framing_error.is_some() {
                continue;
            }
            if resp.framing == Framing::Chunked
                && resp
                    .chunked
                    .is_some_and(|c| c.error.is_some() || c.between_chunks)
            {
                // Broken chunk syntax, or whole chunks and no last one: F004's.
                continue;
            }
            let short = Shortfall::of(resp);
            let client_first = cx.conn.fin.of(Side::Client).is_some_and(|c| c < ts);
            let fix = if short.head_cut {
                "end the header section with an empty line before closing, and find why the \
                 server stops early"
            } else {
                "make the framing match the body actually sent, and find why the server stops early"
            };
            let behind = unanswered_behind(cx, tx, |n| matches!(n, NoResponse::ServerFin { .. }));
            let message = format!(
                "the {} ended with the server's FIN {}{}{}; {fix}",
                response_to(tx),
                short.describe(),
                if client_first {
                    " (the client had closed its side first)"
                } else {
                    ""
                },
                behind_text(&behind),
            );
            let f = Finding::new(&META, cx.conn, ts, message)
                .transaction(tx.index)
                .with("fin_from", "server")
                .with("client_closed_first", client_first)
                .with_ms("fin_after_last_data_ms", ts.since(resp.last_byte_ts));
            out.push(short.evidence(f, behind));
        }
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

#[cfg(test)]
mod tests {
    use crate::reassembly::Side;
    use crate::rules::testing::{assert_evidence, assert_says, get, hand_fed, only};
    use crate::rules::testing::{Ev, Timeline};
    use crate::rules::Finding;
    use serde_json::json;

    const PARTIAL: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhell";

    /// GET /c, `response` at 100 ms, then `then`; R002's findings.
    fn r002(response: &[u8], then: impl FnOnce(&mut Timeline) -> &mut Timeline) -> Vec<Finding> {
        Timeline::answered_then(response, then).findings_of("R002")
    }

    #[test]
    fn a_fin_inside_a_servers_tls_record() {
        use crate::tls::build::{app_data, ClientHello, ServerHello};
        let record = app_data(9000);
        let closed = |server_data: &[u8]| {
            let mut t = Timeline::new();
            let ready = t.tls13_handshake(
                0.0,
                50.0,
                &ClientHello::new().tls13(),
                &ServerHello::new().version(0x0304),
            );
            t.client(ready, &app_data(200))
                .server(ready + 50.0, server_data)
                .server_fin(ready + 51.0)
                .client_fin(ready + 52.0);
            t.findings_of("R002")
        };
        let f = only(closed(&record[..5000]));
        assert_evidence(
            &f,
            json!({"fin_from": "server", "record_bytes": 9000, "received_bytes": 4995, "missing_bytes": 4005}),
        );
        assert_says(&f, "closed with FIN inside its TLS record");
        assert!(closed(&record).is_empty(), "a whole record, then the FIN");
    }

    #[test]
    fn the_requests_behind_a_cut_response_are_this_findings_not_p003s() {
        let mut t = Timeline::two_pipelined(201.0, PARTIAL);
        t.server_fin(400.0).client_fin(401.0);
        assert_eq!(t.codes_but_setup(), ["R002"], "one FIN, one finding");
        let f = only(t.findings_of("R002"));
        assert_evidence(&f, json!({"unanswered_transactions": [2]}));
        assert_eq!(
            t.findings_of("P003").len(),
            1,
            "P003 alone still reports it"
        );
    }

    #[test]
    fn fires_on_a_server_fin_before_the_content_length() {
        let f = only(r002(PARTIAL, |t| {
            t.server_fin(150.0).client_fin(160.0).server_ack(161.0)
        }));
        assert_eq!(f.transaction, Some(0));
        assert_evidence(
            &f,
            json!({"expected_bytes": 10, "received_bytes": 4, "fin_from": "server", "fin_after_last_data_ms": 50.0, "client_closed_first": false}),
        );
        assert_says(&f, "4 of 10");
        // The client closing first is noted.
        let f = only(r002(PARTIAL, |t| t.client_fin(120.0).server_fin(150.0)));
        assert_eq!(f.evidence["client_closed_first"], true);
    }

    #[test]
    fn a_chunked_body_cut_inside_a_chunk() {
        let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n9\r\nabc";
        let f = only(r002(cut, |t| t.server_fin(150.0)));
        assert_eq!(f.evidence["framing"], "chunked");
        // Whole chunks and then the FIN: F004's, not a truncation.
        let whole = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";
        assert!(r002(whole, |t| t.server_fin(150.0)).is_empty());
    }

    #[test]
    fn broken_framing_capture_end_and_resets_are_not_this_rule() {
        // Conflicting lengths: the body is close-delimited and ends at the FIN.
        let two = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 10\r\n\r\nhell";
        assert!(r002(two, |t| t.client_fin(120.0).server_fin(150.0)).is_empty());
        // Bad chunk syntax.
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nsix\r\n";
        assert!(r002(bad, |t| t.client_fin(120.0).server_fin(150.0)).is_empty());
        assert!(r002(PARTIAL, |t| t).is_empty());
        assert!(r002(PARTIAL, |t| t.server_rst(150.0)).is_empty());
    }

    #[test]
    fn a_fin_proves_the_shortfall_even_after_a_capture_gap() {
        let get = get("/c");
        let run = |lost: u64| {
            let events = [
                Ev::Data(Side::Client, &get, 50.0),
                Ev::Data(Side::Server, PARTIAL, 100.0),
                Ev::Gap(Side::Server, lost, 110.0),
                Ev::Fin(Side::Server, 150.0),
            ];
            hand_fed("R002", &events)
        };
        // 4 captured + 3 lost of 10.
        let f = only(run(3));
        assert_evidence(&f, json!({"received_bytes": 7, "uncaptured_bytes": 3}));
        // The lost bytes were the rest of the body: complete.
        assert!(run(6).is_empty());
    }

    #[test]
    fn a_head_cut_by_the_fin() {
        let f = only(r002(b"HTTP/1.0 200 OK\r\nServer: x\r\n", |t| {
            t.server_fin(150.0)
        }));
        assert_eq!(f.evidence["head_truncated"], true);
        assert_says(&f, "header section");
    }
}
