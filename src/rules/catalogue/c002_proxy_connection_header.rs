//! C002 proxy-connection-header.

use super::common::{label, tokens, tokens_value};
use crate::rules::api::*;
use crate::rules::proxy_legs::is_absolute_form;

pub struct ProxyConnectionHeader;

static META: RuleMeta = RuleMeta {
    code: "C002",
    name: "proxy-connection-header",
    family: Family::ConnectionHeader,
    severity: Severity::Warning,
    summary: "a request carries Proxy-Connection (non-standard; breaks through chained proxies)",
    doc: r#"## What it detects
A request carrying a `Proxy-Connection` header field, whatever its value. One finding per
request.

## Why it matters
`Proxy-Connection` was invented by early Netscape browsers as a `Connection` header meant only
for a proxy, so that an old proxy that forwarded `Connection` blindly would not pass
`keep-alive` on to the origin. No RFC ever defined it; RFC 9112 §9.6 (Appendix C.2.2 of RFC
7230) tells clients not to send it. The trick also fails exactly where it was meant to help:
a proxy that does not know the field treats it as end-to-end and forwards it, so with two
proxies in a chain the second one reads a keep-alive request that the first did not agree to,
and keeps a connection open that the hop before it closes, which leaves clients hanging until
a timeout. Servers and proxies that do honour it disagree with those that ignore it, so the
same client behaves differently depending on the path.

## Example
```text
connection 0 198.18.0.1:42021 -> 198.18.0.2:80
  warning C002 proxy-connection-header tx 0: GET http://joes-hardware.example/tools/drills: the
  request carries `Proxy-Connection: keep-alive`, a non-standard header ...; use `Connection`
```

## How to fix
Send `Connection: keep-alive` (or nothing, on HTTP/1.1) instead; every HTTP/1.1 proxy removes
`Connection` and the fields it names before forwarding. Look for old HTTP client libraries or
hand-written proxy code that still adds `Proxy-Connection`, and have proxies strip it.

## Options
None.
"#,
    options: &[],
};

impl Rule for ProxyConnectionHeader {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        for tx in &cx.http.transactions {
            let Some(req) = &tx.request else {
                continue;
            };
            let Some(pc) = &req.headers.proxy_connection else {
                continue;
            };
            let absolute_form = tx.uri.as_deref().is_some_and(is_absolute_form);
            let message = format!(
                "{}: the request carries `Proxy-Connection: {}`, a non-standard header that a proxy \
                 which does not know it forwards to the next hop; use `Connection: keep-alive` \
                 (or nothing on HTTP/1.1) and remove Proxy-Connection",
                label(tx),
                tokens(pc)
            );
            out.push(
                Finding::new(&META, cx.conn, req.first_byte_ts, message)
                    .transaction(tx.index)
                    .with("proxy_connection", tokens(pc))
                    .with("connection", tokens_value(&req.headers.connection))
                    .with("absolute_form", absolute_form),
            );
        }
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline, OK};
    use crate::rules::Finding;
    use serde_json::json;

    fn c002(request: &[u8]) -> Vec<Finding> {
        Timeline::exchange(request, OK, 250.0).findings_of("C002")
    }

    #[test]
    fn fires_on_a_request_with_proxy_connection() {
        let f = only(c002(
            b"GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\nProxy-Connection: Keep-Alive\r\n\r\n",
        ));
        assert_eq!(f.transaction, Some(0));
        assert_evidence(
            &f,
            json!({"proxy_connection": "keep-alive", "absolute_form": true, "connection": null}),
        );
        assert_says(&f, "GET http://a.example/x");
    }

    #[test]
    fn silent_without_it_and_on_responses() {
        assert!(c002(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n").is_empty());
        let resp = b"HTTP/1.1 200 OK\r\nProxy-Connection: close\r\nContent-Length: 0\r\n\r\n";
        let t = Timeline::exchange(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", resp, 250.0);
        assert!(t.findings_of("C002").is_empty());
    }

    #[test]
    fn every_request_that_carries_it_is_reported() {
        let mut t = Timeline::new();
        let get = b"GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: keep-alive\r\n\r\n";
        t.handshake(0.0, 50.0).client(50.0, get).server(100.0, OK);
        t.client(110.0, get).server(160.0, OK);
        let f = t.findings_of("C002");
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].transaction, Some(1));
        assert_eq!(f[1].evidence["absolute_form"], false);
    }
}
