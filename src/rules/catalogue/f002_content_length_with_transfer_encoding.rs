//! F002 content-length-with-transfer-encoding.

use super::common::{request_label, response_to, subset, MAX_LISTED};
use crate::http::{MessageFacts, Transaction};
use crate::rules::api::*;

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

When a request has both and a later request in the client stream starts before the request's
Content-Length would end, that later request is what the two framings disagree on: a request to
a chunked reader, body to a Content-Length reader. It is listed (`smuggled_transactions`) and
named in the message, and the pipelining findings it would otherwise draw (P001, P002, P003) are
not reported: they are this finding's consequence.

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
    /// The pipelining findings (P001, P002, P003) on a request that lies
    /// inside this request's Content-Length: it is not a pipelined request
    /// but the bytes the two framings disagree on (one cause, one finding).
    fn folds(&self, mine: &Finding, other: &Finding) -> bool {
        let Some(smuggled) = mine
            .evidence
            .get("smuggled_transactions")
            .and_then(|v| v.as_array())
        else {
            return false;
        };
        match other.code {
            "P001" | "P002" => other
                .transaction
                .is_some_and(|t| smuggled.contains(&t.into())),
            "P003" => subset(
                other.evidence.get("unanswered_transactions"),
                mine.evidence.get("smuggled_transactions"),
            ),
            _ => false,
        }
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
                (Some(r), _) => {
                    format!("the request {} carries {}", request_label(tx), describe(r))
                }
                (None, Some(r)) => format!("the {} carries {}", response_to(tx), describe(r)),
                (None, None) => continue,
            };
            let also = if req.is_some() && resp.is_some() {
                " (and so does its response)"
            } else {
                ""
            };
            let smuggled = req.map(|r| smuggled(cx, tx, r)).unwrap_or_default();
            let inside = match smuggled.as_slice() {
                [] => String::new(),
                [one, ..] => format!(
                    "; past its chunked end, inside its Content-Length, the client stream holds \
                     {} (tx {}{}): one reader's next request, the other's body",
                    cx.http
                        .transactions
                        .iter()
                        .find(|t| t.index == *one)
                        .map_or_else(|| format!("request {one}"), request_label),
                    one,
                    if smuggled.len() > 1 {
                        format!(" and {} more", smuggled.len().saturating_sub(1))
                    } else {
                        String::new()
                    }
                ),
            };
            let message = format!(
                "{what}{also}; parsers disagree on where its body ends (request smuggling){inside}: \
                 send only one of them"
            );
            let mut f = Finding::new(&META, cx.conn, first.first_byte_ts, message)
                .transaction(tx.index)
                .with("message", sides);
            if !smuggled.is_empty() {
                f = f.with("smuggled_transactions", smuggled);
            }
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

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// The requests after `req` (a request with both framings) that start
/// before its Content-Length would end: read by chunked, they are new
/// requests; read by Content-Length, they are its body.
fn smuggled(cx: &ConnectionFacts<'_>, tx: &Transaction, req: &MessageFacts) -> Vec<u64> {
    let Some(cl) = req
        .headers
        .content_length
        .as_ref()
        .and_then(|cl| cl.values.iter().copied().max())
    else {
        return Vec::new();
    };
    let cl_end = req
        .start_offset
        .saturating_add(req.head_bytes)
        .saturating_add(cl);
    cx.http
        .transactions
        .iter()
        .filter(|t| t.index > tx.index)
        .filter(|t| t.request.as_ref().is_some_and(|r| r.start_offset < cl_end))
        .take(MAX_LISTED)
        .map(|t| t.index)
        .collect()
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

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline, OK};
    use crate::rules::Finding;
    use serde_json::json;

    /// zeek's 261-variant-04 shape: a chunked POST whose Content-Length (50)
    /// runs past its chunked end, over a GET in the same segment; the
    /// server answers nothing and closes.
    fn smuggling(cl: usize) -> Timeline {
        let bytes = format!(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: {cl}\r\n\r\n\
             0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
        );
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, bytes.as_bytes());
        t.client_fin(51.0).server_fin(60.0).client_ack(61.0);
        t
    }

    #[test]
    fn a_request_inside_the_content_length_is_this_findings_not_pipelinings() {
        let t = smuggling(50);
        assert_eq!(t.codes_but_setup(), ["F002"]);
        let f = only(t.findings_of("F002"));
        assert_evidence(&f, json!({"smuggled_transactions": [1]}));
        assert_says(&f, "GET /smuggled (tx 1)");
        // Alone, the pipelining rules still see a pipelined GET.
        for code in ["P001", "P002", "P003"] {
            assert_eq!(t.findings_of(code).len(), 1, "{code}");
        }
    }

    #[test]
    fn a_request_past_the_content_length_is_not_smuggled() {
        // The GET starts at body byte 5 (after `0` CRLF CRLF): a
        // Content-Length of 5 ends exactly there, 6 covers its first byte.
        let f = only(smuggling(5).findings_of("F002"));
        assert!(!f.evidence.contains_key("smuggled_transactions"));
        let f = only(smuggling(6).findings_of("F002"));
        assert_evidence(&f, json!({"smuggled_transactions": [1]}));
        assert_eq!(
            smuggling(5).codes_but_setup(),
            ["F002", "P001", "P002", "P003"]
        );
    }

    fn f002(request: &[u8], response: &[u8]) -> Vec<Finding> {
        Timeline::exchange(request, response, 100.0).findings_of("F002")
    }

    #[test]
    fn fires_on_a_request_with_both() {
        let req = b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 15\r\n\
                    Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        let f = only(f002(req, OK));
        assert_eq!(f.transaction, Some(0));
        assert_evidence(
            &f,
            json!({"message": "request", "content_length": [15], "transfer_encoding": "chunked"}),
        );
        assert_says(&f, "Content-Length: 15 and Transfer-Encoding: chunked");
    }

    #[test]
    fn fires_on_a_response_with_both_and_an_obfuscated_coding() {
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: xchunked\r\n\r\nok";
        let f = only(f002(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", resp));
        assert_evidence(&f, json!({"message": "response", "chunked_final": false}));
    }

    #[test]
    fn one_field_alone_is_fine() {
        let chunked = b"POST /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert!(f002(chunked, OK).is_empty());
        let cl = b"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi";
        assert!(f002(cl, OK).is_empty());
    }
}
