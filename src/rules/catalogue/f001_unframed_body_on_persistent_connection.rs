//! F001 unframed-body-on-persistent-connection.

use super::common::{response_to, wants_persistence};
use crate::http::{Framing, HttpVersion, MessageEnd};
use crate::reassembly::{BySide, Side};
use crate::rules::api::*;

pub struct UnframedBodyOnPersistentConnection;

static META: RuleMeta = RuleMeta {
    code: "F001",
    name: "unframed-body-on-persistent-connection",
    family: Family::Framing,
    severity: Severity::Warning,
    summary:
        "A response body ends only at the close although both sides meant to keep the connection",
    doc: r#"## What it detects
A response whose body is delimited only by the server closing the connection (no Content-Length,
no chunked Transfer-Encoding, and a status that has a body) on a connection both sides meant to
keep alive: the request is HTTP/1.1 without `Connection: close` (or HTTP/1.0 with
`Connection: keep-alive`), and so is the response (HTTP/1.1 without `close`, or HTTP/1.0 echoing
`keep-alive`). Responses whose Content-Length values are broken are F003's, not this rule's.

## Why it matters
A message on a persistent connection must carry its own length (RFC 9112 §6.3, §9.3): the only
way to end a body that has none is to close the connection. So the response contradicts itself.
It said the connection would stay open, yet the server must close it, and the client cannot reuse
it. A client that believes the headers waits for more. Worse, a cache or proxy cannot tell a
complete body from one cut short by a crash, since both end with the same close.

## Example
```text
connection 0 198.18.0.1:44011 -> 198.18.0.2:80
  warning F001 unframed-body-on-persistent-connection tx 0: the 200 response to GET /prices.txt
  has neither Content-Length nor chunked encoding on an HTTP/1.1 keep-alive connection; its
  46-byte body ended only when the server closed, so the connection cannot be reused: send
  Content-Length or use chunked encoding
```

## How to fix
Have the server (or the framework, or the proxy in front of it) send `Content-Length` when the
body size is known, and `Transfer-Encoding: chunked` when it is streamed. If the server really
means to close after the response, it should say `Connection: close`.

## Options
None.
"#,
    options: &[],
};

impl Rule for UnframedBodyOnPersistentConnection {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        for tx in &cx.http.transactions {
            let (Some(req), Some(resp)) = (&tx.request, &tx.response) else {
                continue;
            };
            if resp.framing != Framing::CloseDelimited
                || resp.framing_error.is_some()
                || resp.headers.content_length.is_some()
                || resp.malformed
                || req.malformed
            {
                continue;
            }
            if !wants_persistence(req) || !wants_persistence(resp) {
                continue;
            }
            let ended = match resp.end {
                MessageEnd::Complete => "ended only when the server closed",
                MessageEnd::RstBeforeEnd { .. } => "ended with a reset",
                MessageEnd::FinBeforeEnd { .. } => "ended only when the server closed",
                MessageEnd::CaptureEnded | MessageEnd::InProgress => "had no end in the capture",
                MessageEnd::GapInside | MessageEnd::FramingError => "lost its end in the capture",
            };
            let te = resp
                .headers
                .transfer_encoding
                .as_deref()
                .map(|te| te.raw.clone());
            let length = match &te {
                Some(raw) => format!(
                    "has no Content-Length and Transfer-Encoding `{raw}` does not end in chunked"
                ),
                None => "has neither Content-Length nor chunked encoding".to_string(),
            };
            let message = format!(
                "the {} {length} on an {} keep-alive connection; its {}-byte body {ended}, so the \
                 connection cannot be reused: send Content-Length or use chunked encoding",
                response_to(tx),
                version_name(resp.version),
                resp.wire_body_bytes.saturating_add(resp.gap_bytes),
            );
            let mut f = Finding::new(&META, cx.conn, resp.first_byte_ts, message)
                .transaction(tx.index)
                .with("request_version", version_name(req.version))
                .with("response_version", version_name(resp.version))
                .with(
                    "body_bytes",
                    resp.wire_body_bytes.saturating_add(resp.gap_bytes),
                );
            if let Some(status) = tx.status {
                f = f.with("status", status);
            }
            if let Some(raw) = te {
                f = f.with("transfer_encoding", raw);
            }
            if let Some(fin) = *cx.conn.fin.of(Side::Server) {
                f = f.with_ms(
                    "server_fin_after_response_ms",
                    fin.since(resp.first_byte_ts),
                );
            }
            out.push(f);
        }
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

fn version_name(v: Option<HttpVersion>) -> &'static str {
    v.map_or("unknown", HttpVersion::as_str)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
    use crate::rules::Finding;
    use serde_json::json;

    const GET11: &[u8] = b"GET /p HTTP/1.1\r\nHost: a\r\n\r\n";
    const GET11_CLOSE: &[u8] = b"GET /p HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    const GET10: &[u8] = b"GET /p HTTP/1.0\r\n\r\n";
    const GET10_KA: &[u8] = b"GET /p HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";

    /// `request`, then `response` and the server's FIN; F001's findings.
    fn f001(request: &[u8], response: &[u8]) -> Vec<Finding> {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, request);
        t.server(100.0, response).server_fin(101.0);
        t.client_fin(110.0).server_ack(111.0);
        t.findings_of("F001")
    }

    #[test]
    fn fires_on_a_close_delimited_body_both_sides_meant_to_keep() {
        let f = only(f001(
            GET11,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello",
        ));
        assert_eq!(f.transaction, Some(0));
        assert_evidence(
            &f,
            json!({"body_bytes": 5, "status": 200, "server_fin_after_response_ms": 1.0}),
        );
        assert_says(&f, "GET /p");
        // HTTP/1.0 with keep-alive agreed on both sides.
        let resp = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nhello";
        assert_eq!(f001(GET10_KA, resp).len(), 1);
        // A final coding other than chunked is close-delimited too.
        let f = only(f001(
            GET11,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhello",
        ));
        assert_eq!(f.evidence["transfer_encoding"], "gzip");
    }

    #[test]
    fn silent_when_either_side_did_not_mean_to_keep_the_connection() {
        let unframed = b"HTTP/1.1 200 OK\r\n\r\nhello";
        assert!(f001(GET11_CLOSE, unframed).is_empty());
        assert!(f001(GET10, unframed).is_empty());
        assert!(f001(GET11, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello").is_empty());
        assert!(f001(GET11, b"HTTP/1.0 200 OK\r\n\r\nhello").is_empty());
        // HTTP/1.0 asked for keep-alive, the server did not echo it.
        assert!(f001(GET10_KA, b"HTTP/1.0 200 OK\r\n\r\nhello").is_empty());
    }

    #[test]
    fn silent_when_the_body_is_framed_or_absent() {
        for resp in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 304 Not Modified\r\n\r\n",
            // Conflicting lengths are F003's.
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        ] {
            assert!(
                f001(GET11, resp).is_empty(),
                "{}",
                String::from_utf8_lossy(resp)
            );
        }
    }
}
