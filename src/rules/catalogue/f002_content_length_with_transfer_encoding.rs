//! F002 content-length-with-transfer-encoding.

use crate::http::{MessageFacts, Transaction};
use crate::rules::config::RuleSettings;
use crate::rules::context::ConnectionFacts;
use crate::rules::finding::Finding;
use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct ContentLengthWithTransferEncoding;

static META: RuleMeta = RuleMeta {
    code: "F002",
    name: "content-length-with-transfer-encoding",
    family: Family::Framing,
    severity: Severity::Error,
    summary:
        "A message carries both Content-Length and Transfer-Encoding (a request-smuggling vector)",
    doc: r#"## What it detects
A request or response whose header section has both a `Content-Length` field and a
`Transfer-Encoding` field, whatever their values. One finding per transaction, naming the
message(s) and both values.

## Why it matters
The two fields are two answers to one question: where does the body end? RFC 9112 §6.1 says
Transfer-Encoding wins and the message "ought to be handled as an error", and a server may reject
it; a sender must not generate it. In practice some parsers use Content-Length, some the chunked
framing, some reject it, and some disagree about an obfuscated Transfer-Encoding value. When a
front-end proxy and a back-end server pick different answers, the bytes one of them takes as the
end of a body the other takes as the start of the next request: HTTP request smuggling
(CL.TE / TE.CL), which lets an attacker slip a request past the proxy's checks or poison
responses for other users.

## Example
```text
connection 0 198.18.0.1:44021 -> 198.18.0.2:80
  error F002 content-length-with-transfer-encoding tx 0: the request POST /feedback carries both
  Content-Length: 15 and Transfer-Encoding: chunked; parsers disagree on where its body ends
  (request smuggling): send only one of them
```

## How to fix
Send exactly one of them: `Transfer-Encoding: chunked` for a streamed body, `Content-Length`
otherwise. Proxies should reject such requests (400) or remove Content-Length before forwarding,
and close the connection after answering, as RFC 9112 §6.1 recommends.

## Options
None.
"#,
    options: &[],
};

impl Rule for ContentLengthWithTransferEncoding {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        for tx in &cx.http.transactions {
            let req = tx
                .request
                .as_ref()
                .filter(|m| m.headers.content_length_with_transfer_encoding);
            let resp = tx
                .response
                .as_ref()
                .filter(|m| m.headers.content_length_with_transfer_encoding);
            let (first, sides) = match (req, resp) {
                (Some(r), Some(_)) => (r, "request and response"),
                (Some(r), None) => (r, "request"),
                (None, Some(r)) => (r, "response"),
                (None, None) => continue,
            };
            let what = match (req, resp) {
                (Some(r), _) => format!("the request {} carries {}", label(tx), describe(r)),
                (None, Some(r)) => format!(
                    "the {} response to {} carries {}",
                    tx.status
                        .map_or_else(|| "unparsed".to_string(), |s| s.to_string()),
                    label(tx),
                    describe(r)
                ),
                (None, None) => continue,
            };
            let also = if req.is_some() && resp.is_some() {
                " (and so does its response)"
            } else {
                ""
            };
            let message = format!(
                "{what}{also}; parsers disagree on where its body ends (request smuggling): send \
                 only one of them"
            );
            let mut f = Finding::new(&META, cx.conn, first.first_byte_ts, message)
                .transaction(tx.index)
                .with("message", sides);
            if let Some(cl) = &first.headers.content_length {
                f = f.with("content_length", cl.values.clone());
            }
            if let Some(te) = &first.headers.transfer_encoding {
                f = f
                    .with("transfer_encoding", te.raw.as_str())
                    .with("chunked_final", te.chunked_final);
            }
            out.push(f);
        }
    }
}

/// `Content-Length: 15 and Transfer-Encoding: chunked`.
fn describe(msg: &MessageFacts) -> String {
    let cl = match &msg.headers.content_length {
        Some(cl) if !cl.values.is_empty() => cl
            .values
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        _ => "(no valid value)".to_string(),
    };
    let te = msg
        .headers
        .transfer_encoding
        .as_deref()
        .map_or("", |te| te.raw.as_str());
    format!("both Content-Length: {cl} and Transfer-Encoding: {te}")
}

/// `METHOD target`, shortened for a one-line message.
fn label(tx: &Transaction) -> String {
    match (&tx.method, &tx.uri) {
        (Some(m), Some(u)) => format!("{m} {}", shorten(u)),
        _ => format!("request {}", tx.index),
    }
}

fn shorten(uri: &str) -> String {
    match uri.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &uri[..cut]),
        None => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::Timeline;

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    fn exchange(request: &[u8], response: &[u8]) -> Timeline {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, request);
        t.server(100.0, response).close(150.0);
        t
    }

    #[test]
    fn fires_on_a_request_with_both() {
        let req = b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 15\r\n\
                    Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        let f = exchange(req, OK).findings_of("F002");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].transaction, Some(0));
        assert_eq!(f[0].evidence["message"], "request");
        assert_eq!(f[0].evidence["content_length"], serde_json::json!([15]));
        assert_eq!(f[0].evidence["transfer_encoding"], "chunked");
        assert!(
            f[0].message
                .contains("Content-Length: 15 and Transfer-Encoding: chunked"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn fires_on_a_response_with_both_and_an_obfuscated_coding() {
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: xchunked\r\n\r\nok";
        let f = exchange(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", resp).findings_of("F002");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence["message"], "response");
        assert_eq!(f[0].evidence["chunked_final"], false);
    }

    #[test]
    fn one_field_alone_is_fine() {
        let chunked = b"POST /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert!(exchange(chunked, OK).findings_of("F002").is_empty());
        let cl = b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi";
        assert!(exchange(cl, OK).findings_of("F002").is_empty());
    }
}
