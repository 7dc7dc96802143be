//! F004 malformed-chunked-body.

use super::common::{request_label, response_to};
use crate::http::{ChunkError, ChunkFacts, MessageEnd, MessageFacts};
use crate::rules::api::*;
use crate::Timestamp;

pub struct MalformedChunkedBody;

static META: RuleMeta = RuleMeta {
    code: "F004",
    name: "malformed-chunked-body",
    family: Family::Framing,
    severity: Severity::Error,
    summary:
        "A chunked body that does not parse, or that ends at the close without its zero-size chunk",
    doc: r#"## What it detects
A request or response with `Transfer-Encoding: chunked` whose body breaks the chunked syntax
(RFC 9112 §7.1):
- a chunk-size line that does not parse (no hex digits, junk after the size, more hex digits than
  fit in 64 bits) or a size or trailer line whose CR is not followed by LF;
- chunk data not followed by CRLF (the size does not match the data);
- a body whose sender closed the connection with FIN right after a whole chunk, without ever
  sending the zero-size last chunk: the sender treated the body as close-delimited.

A body cut off in the middle of a chunk by a FIN or a reset is a truncated response (R002, R001),
and one cut by the end of the capture or a capture gap is not judged at all. Chunk extensions or
trailers over connlint's parsing limits are not reported as malformed.

## Why it matters
Chunked coding is how a message without a known length says where it ends. When it is malformed
the recipient cannot find the end of the message: a strict parser rejects it and closes the
connection, a lenient one guesses, and two parsers on the path (a proxy and a server) that guess
differently disagree on where the next message starts, which is request smuggling. A body that
stops without its last chunk cannot be told apart from one cut short by a crash, so a client or a
cache may take a partial body as complete.

## Example
```text
connection 0 198.18.0.1:44051 -> 198.18.0.2:80
  error F004 malformed-chunked-body tx 0: the chunked 200 response to GET /tools/rulers has a
  chunk-size line that does not parse at body byte 10, after 1 chunk; the recipient cannot find
  the end of the message and parsers may disagree on where the next one starts: fix the sender's
  chunked encoder
```

## How to fix
Fix the sender's chunked encoder: each chunk is its size in hex, CRLF, exactly that many bytes,
CRLF; the body ends with `0` CRLF, optional trailer fields, CRLF. Let the HTTP library do the
framing instead of writing it by hand, and never write a body that was declared chunked without
that framing (a proxy that strips `Transfer-Encoding` must also remove the chunk framing).

## Options
None.
"#,
    options: &[],
};

impl Rule for MalformedChunkedBody {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        for tx in &cx.http.transactions {
            // The request first: when both are broken, it is what broke first.
            let found = [("request", &tx.request), ("response", &tx.response)]
                .into_iter()
                .find_map(|(side, m)| {
                    let m = m.as_ref()?;
                    problem(m).map(|(p, c)| (side, m, p, c))
                });
            let Some((side, msg, problem, chunks)) = found else {
                continue;
            };
            let whom = if side == "request" {
                format!("the chunked request {}", request_label(tx))
            } else {
                format!("the chunked {}", response_to(tx))
            };
            let after = format!(
                "after {} chunk{}",
                chunks.chunks,
                if chunks.chunks == 1 { "" } else { "s" }
            );
            let f = match problem {
                Problem::Syntax(e) => {
                    // The decoder stops on the offending byte, which it has consumed.
                    let at = msg.wire_body_bytes.saturating_sub(1);
                    let message = format!(
                        "{whom} has {} at body byte {at}, {after}; the recipient cannot find the end \
                         of the message and parsers may disagree on where the next one starts: fix \
                         the sender's chunked encoder",
                        error_text(e)
                    );
                    Finding::new(&META, cx.conn, msg.last_byte_ts, message)
                        .with("error", error_key(e))
                        .with("body_offset", at)
                }
                Problem::NoLastChunk { fin } => {
                    let message = format!(
                        "{whom} ended with the sender's FIN {after} ({} body bytes) and no zero-size \
                         last chunk; a recipient cannot tell it from a body cut short: end chunked \
                         bodies with `0` CRLF CRLF",
                        msg.body_bytes
                    );
                    Finding::new(&META, cx.conn, fin, message)
                        .with("error", "no-last-chunk")
                        .with_ms("fin_after_last_chunk_ms", fin.since(msg.last_byte_ts))
                }
            };
            out.push(
                f.transaction(tx.index)
                    .with("message", side)
                    .with("chunks", chunks.chunks)
                    .with("body_bytes", msg.body_bytes),
            );
        }
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// What is wrong with a chunked body, if anything this rule reports.
enum Problem {
    Syntax(ChunkError),
    NoLastChunk { fin: Timestamp },
}

fn problem(msg: &MessageFacts) -> Option<(Problem, ChunkFacts)> {
    let chunked = msg.chunked?;
    match chunked.error {
        Some(
            e @ (ChunkError::BadSize
            | ChunkError::SizeTooLong
            | ChunkError::BadLineEnding
            | ChunkError::MissingCrlfAfterData),
        ) => Some((Problem::Syntax(e), chunked)),
        // Our own limits, not the sender's syntax.
        Some(ChunkError::ExtensionTooLong | ChunkError::TrailerTooLong) => None,
        None => match msg.end {
            MessageEnd::FinBeforeEnd { ts, .. } if chunked.between_chunks && msg.gap_bytes == 0 => {
                Some((Problem::NoLastChunk { fin: ts }, chunked))
            }
            _ => None,
        },
    }
}

fn error_text(e: ChunkError) -> &'static str {
    match e {
        ChunkError::BadSize => "a chunk-size line that does not parse",
        ChunkError::SizeTooLong => "a chunk size too long to be a 64-bit number",
        ChunkError::BadLineEnding => "a CR not followed by LF in its chunk framing",
        ChunkError::MissingCrlfAfterData => "chunk data not followed by CRLF (the size is wrong)",
        ChunkError::ExtensionTooLong => "chunk extensions over the limit",
        ChunkError::TrailerTooLong => "trailers over the limit",
    }
}

fn error_key(e: ChunkError) -> &'static str {
    match e {
        ChunkError::BadSize => "bad-size",
        ChunkError::SizeTooLong => "size-too-long",
        ChunkError::BadLineEnding => "bad-line-ending",
        ChunkError::MissingCrlfAfterData => "missing-crlf-after-data",
        ChunkError::ExtensionTooLong => "extension-too-long",
        ChunkError::TrailerTooLong => "trailer-too-long",
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
    use serde_json::json;

    const GET: &[u8] = b"GET /t HTTP/1.1\r\nHost: a\r\n\r\n";
    const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

    /// GET, then a chunked response head and `body`; the client closes
    /// first, the server after (as a client that gives up would).
    fn response(body: &[u8]) -> Timeline {
        Timeline::exchange(GET, &[HEAD, body].concat(), 100.0)
    }

    /// GET, then a chunked response head and `body` at 100 ms, and nothing
    /// more from either side yet.
    fn unfinished(body: &[u8]) -> Timeline {
        Timeline::unclosed(GET, &[HEAD, body].concat(), 100.0)
    }

    #[test]
    fn a_size_line_that_does_not_parse() {
        let f = only(response(b"5\r\nruler\r\nsix\r\ns in 3\r\n0\r\n\r\n").findings_of("F004"));
        assert_eq!(f.transaction, Some(0));
        assert_evidence(
            &f,
            json!({"error": "bad-size", "body_offset": 10, "chunks": 1, "message": "response"}),
        );
        assert_says(&f, "GET /t");
    }

    #[test]
    fn other_syntax_errors() {
        for (body, key) in [
            (&b"3\r\nabcd\r\n0\r\n\r\n"[..], "missing-crlf-after-data"),
            (b"3\rXabc\r\n0\r\n\r\n", "bad-line-ending"),
            (b"11111111111111111\r\n", "size-too-long"),
        ] {
            let f = only(response(body).findings_of("F004"));
            assert_eq!(f.evidence["error"], key);
        }
    }

    #[test]
    fn a_body_that_stops_after_a_whole_chunk_at_the_senders_fin() {
        let mut t = unfinished(b"5\r\nhello\r\n");
        t.server_fin(120.0).client_fin(130.0);
        let f = only(t.findings_of("F004"));
        assert_evidence(
            &f,
            json!({"error": "no-last-chunk", "fin_after_last_chunk_ms": 20.0, "body_bytes": 5}),
        );
    }

    #[test]
    fn well_formed_truncated_or_unfinished_bodies_are_not_this_rule() {
        assert!(response(b"5\r\nhello\r\n0\r\n\r\n")
            .findings_of("F004")
            .is_empty());
        // Cut mid-chunk by the server's FIN: truncated (R002), not malformed.
        let mut t = unfinished(b"5\r\nhel");
        t.server_fin(120.0).client_fin(130.0);
        assert!(t.findings_of("F004").is_empty());
        // After a whole chunk but the capture ends there: not judged.
        let mut t = unfinished(b"5\r\nhello\r\n");
        assert!(t.findings_of("F004").is_empty());
        // ... or the server resets there: R001's.
        t.server_rst(120.0);
        assert!(t.findings_of("F004").is_empty());
    }

    #[test]
    fn a_chunked_request_counts_too() {
        let req = b"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        let resp = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        let f = only(Timeline::exchange(req, resp, 100.0).findings_of("F004"));
        assert_evidence(&f, json!({"message": "request", "body_offset": 0}));
    }

    #[test]
    fn broken_framing_is_not_also_called_a_truncation() {
        // As in the F004 sample: bad size line, the client closes first,
        // the server's FIN follows. Of the framing and truncation rules,
        // only F004 may speak.
        let t = response(b"5\r\nruler\r\nsix\r\ns in 3\r\n0\r\n\r\n");
        let codes = t.codes_but_setup();
        let codes: Vec<_> = codes.iter().filter(|c| c.starts_with(['F', 'R'])).collect();
        assert_eq!(codes, [&"F004"]);
    }
}
