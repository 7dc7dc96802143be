//! C001 keep-alive-header-without-connection-token.

use super::common::{each_message, label, on_message, tokens, tokens_value, version};
use crate::rules::api::*;

pub struct KeepAliveHeaderWithoutConnectionToken;

static META: RuleMeta = RuleMeta {
    code: "C001",
    name: "keep-alive-header-without-connection-token",
    family: Family::ConnectionHeader,
    severity: Severity::Warning,
    summary: "a Keep-Alive header in a message whose Connection header lacks keep-alive",
    doc: r#"## What it detects
A request or response that carries a `Keep-Alive` header field (`timeout=5, max=100`) while its
own `Connection` header does not list the `keep-alive` token: the Connection header is absent,
says only `close`, or names other things. One finding per such message.

## Why it matters
`Keep-Alive` is the HTTP/1.0-era companion of `Connection: keep-alive` (RFC 2068 §19.7.1): it
tells the peer how long an idle persistent connection will be kept (`timeout`) and for how many
more requests (`max`). It is a hop-by-hop field, and it only means something next to the
`keep-alive` connection token: RFC 2068 says the header MUST be ignored when the token is
missing. So the parameters the sender meant to announce never take effect, and a peer that
relies on them (a client that times its idle connections by `timeout`) gets nothing. It also
usually means a proxy or framework removed or rewrote the Connection header and left its
companion behind, or the sender mixed up which header carries what. A proxy that does not know
the field is hop-by-hop, because no Connection header names it, may forward it to the next
hop, where it describes the wrong connection.

## Example
```text
connection 0 198.18.0.1:42011 -> 198.18.0.2:80
  warning C001 keep-alive-header-without-connection-token tx 0: GET /tools/saws: the response
  sends `Keep-Alive: timeout=5, max=100` but has no Connection header; recipients ignore
  Keep-Alive without `Connection: keep-alive` ...
```

## How to fix
Send `Connection: keep-alive` together with `Keep-Alive` (HTTP/1.0 peers need both; servers
such as Apache and nginx do this), or drop `Keep-Alive` altogether on HTTP/1.1, where
persistence is the default and the parameters are merely advisory. If a proxy or middleware
rewrites `Connection`, make it remove `Keep-Alive` as well.

## Options
None.
"#,
    options: &[],
};

impl Rule for KeepAliveHeaderWithoutConnectionToken {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        for (tx, kind, msg) in each_message(cx) {
            let h = &msg.headers;
            let Some(ka) = &h.keep_alive else {
                continue;
            };
            if h.connection.keep_alive {
                continue;
            }
            let connection = if h.connection.is_present() {
                format!(
                    "its Connection header says only `{}`",
                    tokens(&h.connection)
                )
            } else {
                "has no Connection header".to_string()
            };
            let message = format!(
                "{}: the {kind} sends `Keep-Alive: {}` but {connection}; recipients ignore \
                 Keep-Alive without `Connection: keep-alive` (RFC 2068 §19.7.1), so its \
                 parameters never take effect: add `Connection: keep-alive` or drop Keep-Alive",
                label(tx),
                ka.raw
            );
            out.push(
                on_message(&META, cx, tx, kind, msg, message)
                    .with("keep_alive", ka.raw.as_str())
                    .with("connection", tokens_value(&h.connection))
                    .with("version", version(msg)),
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

    const GET: &[u8] = b"GET /tools/saws HTTP/1.1\r\nHost: example.com\r\n\r\n";

    fn c001(request: &[u8], response: &[u8]) -> Vec<Finding> {
        Timeline::exchange(request, response, 250.0).findings_of("C001")
    }

    #[test]
    fn fires_on_a_response_without_a_connection_header() {
        let resp =
            b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 2\r\n\r\nok";
        let f = only(c001(GET, resp));
        assert_eq!(f.transaction, Some(0));
        assert_evidence(
            &f,
            json!({"message": "response", "keep_alive": "timeout=5, max=100", "connection": null}),
        );
        assert_says(&f, "GET /tools/saws");
    }

    #[test]
    fn fires_on_a_request_whose_connection_header_says_close() {
        let req = b"GET / HTTP/1.0\r\nConnection: close\r\nKeep-Alive: 300\r\n\r\n";
        let f = only(c001(req, b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
        assert_evidence(&f, json!({"message": "request", "connection": "close"}));
    }

    #[test]
    fn silent_when_the_token_is_there_or_keep_alive_is_absent() {
        // The token in any case, among others.
        let resp = b"HTTP/1.1 200 OK\r\nConnection: TE, Keep-Alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n";
        assert!(c001(GET, resp).is_empty());
        // `Connection: keep-alive` alone, no Keep-Alive header.
        let req = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
        let resp = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n";
        assert!(c001(req, resp).is_empty());
        // Proxy-Connection does not stand in for Connection.
        let req =
            b"GET http://a/ HTTP/1.0\r\nProxy-Connection: keep-alive\r\nKeep-Alive: 300\r\n\r\n";
        assert_eq!(
            c001(req, b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").len(),
            1
        );
    }
}
