//! R003 reset-on-close-with-unread-data.

use super::common::{request_label, server_stream_has_gaps, subset, MAX_LISTED};
use crate::http::{MessageEnd, NoResponse, Transaction};
use crate::reassembly::{BySide, Side};
use crate::rules::api::*;
use crate::Timestamp;

pub struct ResetOnCloseWithUnreadData;

static META: RuleMeta = RuleMeta {
    code: "R003",
    name: "reset-on-close-with-unread-data",
    family: Family::Reset,
    severity: Severity::Warning,
    summary:
        "A side closed with data from its peer still unread, and its kernel answered with a RST",
    doc: r#"## What it detects
A connection reset by the side that was closing it, while data from the peer was unread:
- that side had sent FIN, the peer then sent more data (which a closed socket cannot read), and
  the closing side answered with a RST; or
- the server reset the connection without a FIN while pipelined requests it had received were
  still unanswered: it called `close()` with them unread in its socket, so its kernel sent RST
  instead of FIN (the finding also stands for those requests going unanswered, which P003
  would otherwise report separately: one cause, one finding; the client must resend them); or
- the server answered a request early, before its body was in (a `413`, a `401`, often with
  `Connection: close`), stopped reading (its advertised window shrinks) and closed with body
  bytes in its socket, so its kernel reset the connection while the body was still arriving.
  The response is whole, so this is not R001. The evidence compares the RST's ACK number
  (`rst_ack_bytes`: how much of the client's stream the server's kernel had received) with what
  the client had sent when the RST passed the capture point (`client_sent_bytes`;
  `in_flight_bytes` is the difference), and gives `unread_bytes`, the body bytes past the head
  that the RST acknowledges (at most what the server left unread: the capture cannot see how
  much of them the application read after the head; the reset on close shows some were
  unread), with the RST's frame number (`rst_frame`).

A server that resets while answering (a response cut short) is R001's; a lone request that the
server aborts without answering is not judged here, since the capture cannot tell whether it was
read. Data that arrives after the server's FIN because the client sent a request after a
`Connection: close` is C004's finding (the client's mistake, not the server's close).

## Why it matters
Closing a socket that still holds unread input makes the kernel abort the connection with a RST
(RFC 9293 §3.6, RFC 1122 §4.2.2.13) rather than close it gracefully. The RST makes the peer's
kernel discard everything it had received but not yet handed to the application, such as the
last response the closing side just wrote. The peer sees `ECONNRESET` instead of a response and
an orderly end, and cannot tell which of its requests were processed. With HTTP keep-alive this
is the classic race: the server closes an idle connection just as the client sends a new request
on it.

## Example
```text
connection 0 198.18.0.1:45031 -> 198.18.0.2:80
  warning R003 reset-on-close-with-unread-data tx 2: the server closed the connection with 92
  bytes from the client unread (GET /brochure/page3), which had arrived 183.2 ms earlier, so its
  kernel sent RST instead of FIN; the RST discards the response the client has not read yet:
  half-close and drain input before closing, and answer or refuse (Connection: close) requests
  already received
```

## How to fix
Close gracefully: half-close with `shutdown(SHUT_WR)`, keep reading (and discarding) until the
peer's FIN or a short timeout, then `close()` (nginx's `lingering_close` does this after an
early answer). Clients that upload large bodies should send `Expect: 100-continue` and wait for
the `100` before the body. Servers that close idle keep-alive connections
should announce it (`Connection: close` on the last response, or a `Keep-Alive: timeout` shorter
than the real one) so clients stop reusing the connection first; clients should not reuse a
connection close to the server's idle timeout, and should retry idempotent requests that meet a
reset.

## Options
None.
"#,
    options: &[],
};

/// Requests named in the message.
const NAMED: usize = 3;

impl Rule for ResetOnCloseWithUnreadData {
    /// P003 on the same reset, when the pipelined requests it finds
    /// unanswered are the ones this finding says were left unread: the
    /// server's close with them in its socket is the one cause.
    fn folds(&self, mine: &Finding, other: &Finding) -> bool {
        other.code == "P003"
            && other.evidence.get("close").and_then(|v| v.as_str()) == Some("rst")
            && other.evidence.get("closed_by") == mine.evidence.get("closer")
            && subset(
                other.evidence.get("unanswered_transactions"),
                mine.evidence.get("unread_transactions"),
            )
    }

    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        // An HTTP linter: resets on other protocols (TLS alerts crossing a
        // close, say) are not its business.
        if !cx.http.is_http {
            return;
        }
        let Some((closer, rst_ts)) = cx.conn.rst else {
            return;
        };
        let peer = closer.peer();
        let fin = cx.conn.fin.of(closer).filter(|&f| f <= rst_ts);
        // Data the peer sent after the closer's FIN: a closed socket cannot read it.
        let after_fin = if fin.is_some() {
            cx.conn.stats(peer).bytes_after_peer_fin
        } else {
            0
        };
        let txs = &cx.http.transactions;
        // A reset that cut a response short is an abort (R001), not a close
        // with unread input.
        let cut_a_response = txs.iter().any(|tx| {
            tx.response
                .as_ref()
                .is_some_and(|r| matches!(r.end, MessageEnd::RstBeforeEnd { .. }))
        });
        let close_ts = fin.unwrap_or(rst_ts);
        // An unanswered request's response may be in a gap of the server's stream.
        let gaps = server_stream_has_gaps(cx);
        // Pipelined requests the server had received before it closed and
        // never answered.
        let unread: Vec<&Transaction> = if closer == Side::Server && !cut_a_response && !gaps {
            txs.iter()
                .filter(|tx| {
                    tx.pipelined
                        && tx.response.is_none()
                        && matches!(
                            tx.no_response,
                            Some(NoResponse::Rst {
                                side: Side::Server,
                                ..
                            })
                        )
                        && tx
                            .request
                            .as_ref()
                            .is_some_and(|r| !r.malformed && r.first_byte_ts < close_ts)
                })
                .collect()
        } else {
            Vec::new()
        };
        let unread_request_bytes: u64 = unread
            .iter()
            .filter_map(|tx| tx.request.as_ref())
            .map(|r| r.total_bytes())
            .sum();
        let unread_bytes = after_fin.saturating_add(unread_request_bytes);
        if unread_bytes == 0 {
            if closer == Side::Server && !cut_a_response {
                if let Some(f) = early_answer(cx, rst_ts) {
                    out.push(f);
                }
            }
            return;
        }
        // Requests that arrived after the closer's FIN, for the message.
        let late: Vec<&Transaction> = match (closer, fin) {
            (Side::Server, Some(f)) => txs
                .iter()
                .filter(|tx| tx.request.as_ref().is_some_and(|r| r.first_byte_ts >= f))
                .collect(),
            _ => Vec::new(),
        };
        // Which requests the message names: those that met the closed socket,
        // or else those left unread in it.
        let named: Vec<&Transaction> = if after_fin > 0 { late } else { unread };
        let who = closer.name();
        let other = peer.name();
        let first_data: Option<Timestamp> = named
            .iter()
            .filter_map(|tx| tx.request.as_ref().map(|r| r.first_byte_ts))
            .min();
        let mut what = String::new();
        if !named.is_empty() {
            let mut names: Vec<String> =
                named.iter().take(NAMED).map(|t| request_label(t)).collect();
            if named.len() > NAMED {
                names.push(format!("and {} more", named.len().saturating_sub(NAMED)));
            }
            what = format!(" ({})", names.join(", "));
        }
        let message = match fin {
            Some(f) if after_fin > 0 => format!(
                "the {who} closed with FIN, then {after_fin} bytes from the {other} arrived{what} \
                 that it could no longer read, and it answered with a RST {:.1} ms after its FIN; \
                 the RST discards what the {other} had not read yet: announce the close \
                 (Connection: close, a Keep-Alive timeout) so the {other} stops sending, and \
                 retry idempotent requests that meet a reset",
                rst_ts.since(f) as f64 / 1e6
            ),
            _ => format!(
                "the {who} closed the connection with {unread_bytes} bytes from the {other} \
                 unread{what}{}, so its kernel {}; the RST discards the response the {other} has \
                 not read yet, and the {other} must resend unanswered requests on a new \
                 connection (only idempotent ones automatically): half-close and drain input \
                 before closing, and answer or refuse (Connection: close) requests already \
                 received",
                first_data.map_or_else(String::new, |t| format!(
                    ", which had arrived {:.1} ms earlier",
                    rst_ts.since(t) as f64 / 1e6
                )),
                if fin.is_some() {
                    "reset the connection after its FIN"
                } else {
                    "sent RST instead of FIN"
                },
            ),
        };
        let indices: Vec<u64> = named.iter().take(MAX_LISTED).map(|t| t.index).collect();
        let mut f = Finding::new(&META, cx.conn, rst_ts, message)
            .with("closer", who)
            .with("rst_from", who)
            .with("unread_bytes", unread_bytes)
            .with("unread_transactions", indices);
        if let Some(tx) = named.first() {
            f = f.transaction(tx.index);
        }
        if let Some(fin) = fin {
            f = f
                .with("bytes_after_fin", after_fin)
                .with_ms("rst_after_fin_ms", rst_ts.since(fin));
        }
        if let Some(t) = first_data {
            f = f.with_ms("unread_data_age_ms", close_ts.since(t));
        }
        if let Some(last) = cx.conn.stats(closer).last_data_ts.filter(|&t| t <= rst_ts) {
            f = f.with_ms("rst_after_last_data_ms", rst_ts.since(last));
        }
        out.push(f);
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// The server answered a request before its body was in (an early 413,
/// say), then closed with body bytes unread in its socket, so its kernel
/// reset the connection while the body was still arriving. The response is
/// whole (else it is R001's); the request is not.
fn early_answer(cx: &ConnectionFacts<'_>, rst_ts: Timestamp) -> Option<Finding> {
    let seg = cx.conn.rst_segment?;
    let acked = seg.ack?;
    let tx = cx.http.transactions.iter().find(|tx| {
        tx.request
            .as_ref()
            .is_some_and(|r| !r.malformed && matches!(r.end, MessageEnd::RstBeforeEnd { .. }))
            && tx
                .response
                .as_ref()
                .is_some_and(|r| r.framing_satisfied && r.first_byte_ts <= rst_ts)
    })?;
    let (req, resp) = (tx.request.as_ref()?, tx.response.as_ref()?);
    let head_end = req.start_offset.saturating_add(req.head_bytes);
    // Body bytes the server's kernel had taken in (its RST acknowledges them)
    // past the head its answer was based on.
    let unread = acked.checked_sub(head_end).filter(|&n| n > 0)?;
    let sent = seg.peer_seen.max(acked);
    let in_flight = sent.saturating_sub(acked);
    let expected = req
        .expected_body_bytes
        .map_or_else(String::new, |n| format!(" {n}-byte"));
    let message =
        format!(
        "the server answered {} with {} before the request's{expected} body was in, then closed \
         with the body still arriving: its RST acknowledged {acked} bytes of the client's stream, \
         the {}-byte head and {unread} body bytes it closed on without reading them all, while \
         the client had sent {sent} ({in_flight} more on the way), so its kernel sent RST instead \
         of FIN; the RST \
         discards the response the client has not read yet (it sees a reset, not the {}): read \
         and discard the rest of the body (or half-close and drain) before closing, and have \
         clients send large bodies with `Expect: 100-continue`",
        request_label(tx),
        tx.status.map_or_else(|| "a response".to_string(), |s| s.to_string()),
        req.head_bytes,
        tx.status.map_or_else(|| "response".to_string(), |s| s.to_string()),
    );
    let mut f = Finding::new(&META, cx.conn, rst_ts, message)
        .transaction(tx.index)
        .with("closer", "server")
        .with("rst_from", "server")
        .with("unread_bytes", unread)
        .with("unread_transactions", vec![tx.index])
        .with("rst_ack_bytes", acked)
        .with("client_sent_bytes", sent)
        .with("in_flight_bytes", in_flight)
        .with("request_head_bytes", req.head_bytes)
        .with("rst_frame", seg.frame)
        .with_ms("rst_after_response_ms", rst_ts.since(resp.last_byte_ts))
        .with_ms("response_before_rst_ms", rst_ts.since(resp.first_byte_ts));
    if let Some(n) = req.expected_body_bytes {
        f = f.with("request_body_expected_bytes", n);
    }
    if let Some(status) = tx.status {
        f = f.with("status", status);
    }
    Some(f)
}

#[cfg(test)]
mod tests {
    use crate::reassembly::Side;
    use crate::rules::testing::{assert_a_gap_silences, assert_evidence, assert_says, only};
    use crate::rules::testing::{get, Ev, Timeline, OK};
    use serde_json::json;

    /// GET / answered; /2 and /3 pipelined at 200 and 220 ms; /2 answered
    /// at 300 ms.
    fn pipelined() -> Timeline {
        Timeline::two_pipelined(220.0, OK)
    }

    #[test]
    fn a_server_reset_with_pipelined_requests_unread() {
        let mut t = pipelined();
        t.server_rst(300.1);
        let f = only(t.findings_of("R003"));
        assert_eq!(f.transaction, Some(2));
        assert_evidence(
            &f,
            json!({"closer": "server", "unread_bytes": get("/3").len(), "unread_transactions": [2], "unread_data_age_ms": 80.1, "rst_after_last_data_ms": 0.1}),
        );
        assert_says(&f, "GET /3");
        // One finding, not P003's too; with R003 ignored, P003 reports the
        // unanswered request.
        assert_eq!(t.codes_but_setup(), ["R003"]);
        assert_says(&f, "must resend");
        assert_eq!(t.findings_of("P003").len(), 1);
    }

    #[test]
    fn data_after_the_closers_fin_then_a_reset() {
        // The server closes an idle keep-alive connection; the client sends
        // a new request that crosses the FIN; the server resets.
        let mut t = Timeline::unclosed(&get("/"), OK, 100.0);
        t.server_fin(5000.0)
            .client(5000.5, &get("/again"))
            .server_rst(5025.0);
        let f = only(t.findings_of("R003"));
        assert_eq!(f.transaction, Some(1));
        assert_evidence(
            &f,
            json!({"bytes_after_fin": get("/again").len(), "rst_after_fin_ms": 25.0}),
        );
        // The same from the client: it closed, the server kept sending.
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, &get("/"));
        t.client_fin(60.0).server(100.0, OK).client_rst(125.0);
        let f = only(t.findings_of("R003"));
        assert_evidence(&f, json!({"closer": "client", "unread_bytes": OK.len()}));
    }

    #[test]
    fn graceful_closes_and_plain_aborts_are_not_this_rule() {
        // Everything answered, server closes with FIN.
        let mut t = pipelined();
        t.server(310.0, OK).server_fin(320.0).client_fin(330.0);
        assert!(t.findings_of("R003").is_empty());
        // A FIN with requests unanswered but no reset: P003's, not this.
        let mut t = pipelined();
        t.server_fin(320.0).client_fin(330.0);
        assert!(t.findings_of("R003").is_empty());
        // A lone request the server aborts: whether it was read is unknown.
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(50.0, &get("/"))
            .server_rst(200.0);
        assert!(t.findings_of("R003").is_empty());
        // A reset from the side that did not close (the peer of the FIN).
        let mut t = Timeline::unclosed(&get("/"), OK, 100.0);
        t.server_fin(200.0).client_rst(210.0);
        assert!(t.findings_of("R003").is_empty());
    }

    #[test]
    fn a_reset_that_cuts_a_response_is_r001s() {
        let mut t =
            Timeline::two_pipelined(220.0, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok");
        t.server_rst(300.1);
        assert!(t.findings_of("R003").is_empty());
    }

    #[test]
    fn an_answer_possibly_lost_in_a_capture_gap_is_not_unread_data() {
        let (first, two, three) = (get("/"), get("/2"), get("/3"));
        let events = [
            Ev::Data(Side::Client, &first, 50.0),
            Ev::Data(Side::Server, OK, 100.0),
            Ev::Data(Side::Client, &two, 200.0),
            Ev::Data(Side::Client, &three, 220.0),
            Ev::Data(Side::Server, OK, 300.0),
            Ev::Rst(Side::Server, 300.1),
        ];
        assert_a_gap_silences("R003", &events, Ev::Gap(Side::Server, 40, 300.0));
    }

    const POST_HEAD: &[u8] = b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n";
    const TOO_LARGE: &[u8] =
        b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno";

    /// A POST of a 1000-byte body: head and `body` bytes at 50, `response`
    /// at 100 and the server's RST at 100.2 acknowledging what came so far,
    /// while 200 more body bytes were on their way (seen at 100.1).
    fn early_answer(body: usize, response: &[u8]) -> Timeline {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0);
        let mut head = POST_HEAD.to_vec();
        head.extend(std::iter::repeat_n(b'u', body));
        t.client(50.0, &head).server(100.0, response);
        // Pushed before the late body, so it acknowledges only what came first.
        t.server_rst(100.2).client(100.1, &[b'u'; 200]);
        t
    }

    #[test]
    fn an_early_answer_then_a_reset_with_the_body_unread() {
        let t = early_answer(300, TOO_LARGE);
        assert_eq!(
            t.codes_but_setup(),
            ["R003"],
            "the response is whole: not R001"
        );
        let f = only(t.findings_of("R003"));
        assert_eq!(f.transaction, Some(0));
        let head = POST_HEAD.len() as u64;
        assert_evidence(
            &f,
            json!({"unread_bytes": 300, "rst_ack_bytes": head + 300, "client_sent_bytes": head + 500, "in_flight_bytes": 200}),
        );
        assert_evidence(
            &f,
            json!({"request_head_bytes": head, "request_body_expected_bytes": 1000, "status": 413, "rst_after_response_ms": 0.2}),
        );
        assert!(f.evidence["rst_frame"].as_u64().unwrap() > 0);
        assert_says(&f, "answered POST /upload with 413");
    }

    #[test]
    fn an_early_answer_threshold_edges() {
        // The RST acknowledges the head and one body byte: one byte unread.
        let f = only(early_answer(1, TOO_LARGE).findings_of("R003"));
        assert_eq!(f.evidence["unread_bytes"], 1);
        // Only the head: nothing shown unread when it closed.
        assert!(early_answer(0, TOO_LARGE).findings_of("R003").is_empty());
        // The answer one byte short is a truncated response: R001, not this.
        let cut =
            b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 3\r\n\r\nno";
        let t = early_answer(300, cut);
        assert!(t.findings_of("R003").is_empty());
        assert_eq!(t.findings_of("R001").len(), 1);
        // The request's body all in before the reset: not an early answer.
        let whole = [POST_HEAD, &[b'u'; 1000]].concat();
        let mut t = Timeline::unclosed(&whole, TOO_LARGE, 100.0);
        t.server_rst(100.2);
        assert!(t.findings_of("R003").is_empty());
    }

    #[test]
    fn not_on_connections_that_are_not_http() {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(50.0, b"\x16\x03\x01 tls client hello");
        t.client_fin(60.0)
            .server(100.0, b"\x15\x03\x03 alert")
            .client_rst(101.0);
        assert!(t.findings_of("R003").is_empty());
    }

    #[test]
    fn each_connection_is_judged_on_its_own() {
        // Connection 0 ends with the unread pipelined request and a reset;
        // connection 1, open meanwhile, closes cleanly.
        let mut t = pipelined();
        t.connection("10.0.0.1:40001", "10.0.0.2:80");
        t.handshake(0.0, 50.0)
            .client(60.0, &get("/x"))
            .server(110.0, OK);
        t.on(0).server_rst(300.1);
        t.on(1).close(400.0);
        let f = only(t.findings_of("R003"));
        assert_eq!(f.client, "10.0.0.1:40000");
    }

    #[test]
    fn a_half_close_then_a_reset_with_pipelined_requests_unread() {
        let mut t = pipelined();
        t.server_fin(300.05).server_rst(300.1);
        let f = only(t.findings_of("R003"));
        assert_evidence(
            &f,
            json!({"bytes_after_fin": 0, "unread_transactions": [2]}),
        );
        assert_says(&f, "reset the connection after its FIN");
    }
}
