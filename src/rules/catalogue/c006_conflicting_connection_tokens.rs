//! C006 conflicting-connection-tokens.

use super::common::{each_message, label, on_message, tokens};
use crate::rules::api::*;

pub struct ConflictingConnectionTokens;

static META: RuleMeta = RuleMeta {
    code: "C006",
    name: "conflicting-connection-tokens",
    family: Family::ConnectionHeader,
    severity: Severity::Warning,
    summary: "one message says both close and keep-alive",
    doc: r#"## What it detects
A request or response whose `Connection` header lists both `close` and `keep-alive`, in one
field line (`Connection: keep-alive, close`) or across repeated ones. One finding per message.
Only the `Connection` header counts; `Proxy-Connection` is C002's business.

## Why it matters
The two tokens ask for opposite things: `close` says this is the last message on the
connection, `keep-alive` asks to keep it open. RFC 9112 §9.6 makes `close` win, but not every
implementation reads the list that way: some stop at the first token they recognise, some
look only at the last field line, and proxies may forward one of the two. Client and server
then disagree on whether the connection persists, which leads to requests sent on a connection
the peer is closing (lost or reset requests, see C004) or to connections held open that the
other side has abandoned. It usually betrays two layers (an application and a framework, or a
proxy) each adding their own Connection header.

## Example
```text
connection 0 198.18.0.1:42061 -> 198.18.0.2:80
  warning C006 conflicting-connection-tokens tx 0: GET /ladders: the request's Connection
  header says both `close` and `keep-alive` (`keep-alive, close`) ...
```

## How to fix
Send one decision: `Connection: close` for the last request or response on a connection,
`Connection: keep-alive` (HTTP/1.0) or nothing (HTTP/1.1) otherwise. Find the layer that adds
the second token (often a framework adding `keep-alive` after application code set `close`)
and make only one of them own the header.

## Options
None.
"#,
    options: &[],
};

impl Rule for ConflictingConnectionTokens {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        for (tx, kind, msg) in each_message(cx) {
            let c = &msg.headers.connection;
            if !(c.close && c.keep_alive) {
                continue;
            }
            let message = format!(
                "{}: the {kind}'s Connection header says both `close` and `keep-alive` (`{}`{}); \
                 `close` should win (RFC 9112 §9.6) but not every peer or proxy reads it so: \
                 send only one of them",
                label(tx),
                tokens(c),
                if c.fields > 1 {
                    format!(", over {} field lines", c.fields)
                } else {
                    String::new()
                }
            );
            out.push(
                on_message(&META, cx, tx, kind, msg, message)
                    .with("connection", tokens(c))
                    .with("connection_fields", c.fields),
            );
        }
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
    use crate::rules::Finding;
    use serde_json::json;

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

    fn c006(request: &[u8], response: &[u8]) -> Vec<Finding> {
        Timeline::exchange(request, response, 250.0).findings_of("C006")
    }

    #[test]
    fn fires_on_one_field_line_with_both() {
        let req = b"GET /ladders HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n";
        let f = only(c006(req, OK));
        assert_eq!(f.transaction, Some(0));
        assert_evidence(
            &f,
            json!({"message": "request", "connection": "keep-alive, close", "connection_fields": 1}),
        );
        assert_says(&f, "GET /ladders");
    }

    #[test]
    fn fires_across_repeated_field_lines_and_on_responses() {
        let resp = b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\nConnection: CLOSE\r\nContent-Length: 0\r\n\r\n";
        let f = only(c006(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", resp));
        assert_evidence(&f, json!({"message": "response", "connection_fields": 2}));
    }

    #[test]
    fn one_token_is_fine() {
        for req in [
            &b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"[..],
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nProxy-Connection: keep-alive\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close-ish, keep-alive\r\n\r\n",
        ] {
            assert!(c006(req, OK).is_empty());
        }
    }
}
