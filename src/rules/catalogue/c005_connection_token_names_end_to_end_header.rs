//! C005 connection-token-names-end-to-end-header.

use super::common::{each_message, field_case, label, on_message, tokens};
use crate::http::is_end_to_end_field;
use crate::rules::api::*;
use serde_json::Value;

pub struct ConnectionTokenNamesEndToEndHeader;

static META: RuleMeta = RuleMeta {
    code: "C005",
    name: "connection-token-names-end-to-end-header",
    family: Family::ConnectionHeader,
    severity: Severity::Warning,
    summary: "a Connection token names an end-to-end field (Host, Cookie, Content-Length, ...) that a proxy would strip",
    doc: r#"## What it detects
A request or response whose `Connection` header lists, as a connection option, the name of an
end-to-end header field: one a proxy must otherwise forward. One finding per such message,
listing every such name, and whether the message actually carried that field.

The end-to-end fields checked are the standard ones whose loss changes what the message means
or how it is framed, routed, authenticated or cached:
`Host`, `Content-Length`, `Content-Type`, `Content-Encoding`, `Content-Language`,
`Content-Location`, `Content-Range`, `Content-Disposition`, `Authorization`, `Cookie`,
`Set-Cookie`, `WWW-Authenticate`, `Date`, `ETag`, `Last-Modified`, `Expires`, `Cache-Control`,
`Pragma`, `Age`, `Vary`, `Via`, `Location`, `Referer`, `Origin`, `User-Agent`, `Server`,
`Accept`, `Accept-Encoding`, `Accept-Language`, `Accept-Charset`, `Accept-Ranges`, `Range`,
`If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`, `If-Range`, `Expect`,
`Max-Forwards`, `Forwarded`, `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host`,
`Allow`, `Retry-After`, `Link`, `Strict-Transport-Security`, the CORS `Access-Control-*` fields.
Hop-by-hop names (`TE`, `Upgrade`, `Trailer`, `Transfer-Encoding`, `Keep-Alive`,
`Proxy-Authorization`, ..., SPEC §2) and unknown or private names (`X-Debug-Hop`) are what the
Connection header is for and are not reported.

## Why it matters
Every name listed in `Connection` turns that field into a hop-by-hop field: a proxy or gateway
must remove it, together with the Connection header, before forwarding the message (RFC 9110
§7.6.1). Naming an end-to-end field there therefore makes every compliant intermediary delete
it: `Connection: Cookie` strips the session cookie, `Connection: Authorization` the
credentials, `Connection: Host` the routing, and `Connection: Content-Length` the framing of
the body, which a proxy then has to guess at, a known request-smuggling and cache-poisoning
lever. Requests behave differently with and without a proxy in the path, which is hard to
debug, and attackers use it to strip headers that a back end relies on (such as
`X-Forwarded-For` set by a front proxy).

## Example
```text
connection 0 198.18.0.1:42051 -> 198.18.0.2:80
  warning C005 connection-token-names-end-to-end-header tx 0: GET /account: the request's
  Connection header names `Cookie`, an end-to-end field that every proxy on the way must strip ...
```

## How to fix
List only connection options (`close`, `keep-alive`, `upgrade`, `TE`) and genuinely
hop-by-hop, private fields in `Connection`. If the field must reach the origin, remove its
name from `Connection`; if it must not pass a proxy, do not send it at all. On a server or
proxy, reject or normalise requests whose Connection header names Host, Content-Length or
credentials.

## Options
None.
"#,
    options: &[],
};

impl Rule for ConnectionTokenNamesEndToEndHeader {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        for (tx, kind, msg) in each_message(cx) {
            let h = &msg.headers;
            let named: Vec<&str> = h
                .connection
                .others
                .iter()
                .map(String::as_str)
                .filter(|t| is_end_to_end_field(t))
                .collect();
            if named.is_empty() {
                continue;
            }
            let carried: Vec<&str> = named
                .iter()
                .copied()
                .filter(|t| h.field_names.contains(t))
                .collect();
            let shown: Vec<String> = named
                .iter()
                .map(|t| format!("`{}`", field_case(t)))
                .collect();
            let message = format!(
                "{}: the {kind}'s Connection header names {}, {} that every proxy on the way \
                 must strip (RFC 9110 §7.6.1){}; remove {} from Connection",
                label(tx),
                shown.join(", "),
                if named.len() > 1 {
                    "end-to-end fields"
                } else {
                    "an end-to-end field"
                },
                if carried.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", and the {kind} carries {}",
                        if carried.len() == named.len() && named.len() == 1 {
                            "it".to_string()
                        } else {
                            carried
                                .iter()
                                .map(|t| field_case(t))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    )
                },
                if named.len() > 1 { "them" } else { "it" }
            );
            out.push(
                on_message(&META, cx, tx, kind, msg, message)
                    .with("connection", tokens(&h.connection))
                    .with(
                        "end_to_end_tokens",
                        Value::from(named.iter().map(|t| field_case(t)).collect::<Vec<_>>()),
                    )
                    .with(
                        "carried",
                        Value::from(carried.iter().map(|t| field_case(t)).collect::<Vec<_>>()),
                    ),
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

    fn c005(request: &[u8], response: &[u8]) -> Vec<Finding> {
        Timeline::exchange(request, response, 250.0).findings_of("C005")
    }

    #[test]
    fn fires_when_connection_names_the_cookie() {
        let req =
            b"GET /account HTTP/1.1\r\nHost: a\r\nCookie: session=7f\r\nConnection: Cookie\r\n\r\n";
        let f = only(c005(req, OK));
        assert_eq!(f.transaction, Some(0));
        assert_evidence(
            &f,
            json!({"message": "request", "end_to_end_tokens": ["Cookie"], "carried": ["Cookie"]}),
        );
        assert_says(&f, "`Cookie`");
    }

    #[test]
    fn lists_every_end_to_end_name_once_per_message() {
        let req = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Content-Length, X-Hop, host\r\n\r\n";
        let f = only(c005(req, OK));
        assert_evidence(
            &f,
            json!({"end_to_end_tokens": ["Content-Length", "Host"], "carried": ["Host"]}),
        );
    }

    #[test]
    fn responses_count_too() {
        let resp = b"HTTP/1.1 200 OK\r\nConnection: Set-Cookie\r\nSet-Cookie: a=b\r\nContent-Length: 0\r\n\r\n";
        let f = only(c005(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", resp));
        assert_eq!(f.evidence["message"], "response");
    }

    #[test]
    fn hop_by_hop_and_private_names_are_what_connection_is_for() {
        for ok in [
            &b"GET / HTTP/1.1\r\nHost: a\r\nConnection: TE\r\nTE: trailers\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Debug-Hop\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close, Keep-Alive, Transfer-Encoding\r\n\r\n",
        ] {
            assert!(c005(ok, OK).is_empty(), "{}", String::from_utf8_lossy(ok));
        }
    }
}
