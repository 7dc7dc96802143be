//! S007 h2-offered-http1-chosen.

use crate::rules::api::*;

pub struct H2OfferedHttp1Chosen;

static META: RuleMeta = RuleMeta {
    code: "S007",
    name: "h2-offered-http1-chosen",
    family: Family::Setup,
    severity: Severity::Info,
    summary: "The client offered HTTP/2 (ALPN h2) and the server chose HTTP/1.1",
    doc: r#"## What it detects
A TLS connection whose ClientHello offered `h2` in its ALPN extension and whose ServerHello chose
`http/1.1` — or chose nothing, which leaves the client with HTTP/1.1 too (RFC 7301 §3.2: a server
without ALPN support ignores the extension). The ServerHello carries the choice only up to TLS
1.2: TLS 1.3 sends it in the encrypted EncryptedExtensions, so a TLS 1.3 connection is never
judged (its label stays `tls`; `alpn` is `null` in `connections`).

## Why it matters
HTTP/1.1 carries one request at a time per connection. A client that wanted HTTP/2 — one
connection multiplexing all its requests, with header compression — falls back to queueing
requests behind each other (head-of-line blocking) or to opening several connections in parallel,
each with its own TCP and TLS handshake and slow start (see S003). Browsers open up to six per
host. It is `info`: HTTP/1.1 is a valid choice, and the capture may show servers nobody in reach
can change.

## Example
```text
connection 0 198.18.0.1:47051 -> 198.18.0.2:443
  info S007 h2-offered-http1-chosen: the client offered h2, http/1.1 (ALPN) and the server chose
  http/1.1 over TLS 1.2: requests on this connection go one at a time, and a client that needs
  more at once opens more connections; enable HTTP/2 on the server
```

## How to fix
Enable HTTP/2 on the server or on the TLS terminator in front of it (nginx: `listen 443 ssl
http2;`, or `http2 on;` from 1.25.1; Apache: `Protocols h2 http/1.1` with mod_http2; HAProxy:
`alpn h2,http/1.1` on the bind line). Where the backend cannot speak HTTP/2, a terminator that
does can still multiplex the clients' requests.

## Options
None.
"#,
    options: &[],
};

impl Rule for H2OfferedHttp1Chosen {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        let Some(t) = cx.tls else {
            return;
        };
        let Some(version) = t.version() else {
            return;
        };
        // TLS 1.3 sends the choice encrypted: nothing to judge.
        if version.is_tls13() || !t.alpn_offered().iter().any(|p| p == "h2") {
            return;
        }
        let chose = match t.alpn() {
            Some("http/1.1") => "chose http/1.1",
            None => "did not negotiate ALPN, which leaves the client with HTTP/1.1",
            Some(_) => return,
        };
        let message = format!(
            "the client offered {} (ALPN) and the server {chose} over {version}: requests on this \
             connection go one at a time, and a client that needs more at once opens more \
             connections; enable HTTP/2 on the server",
            t.alpn_offered().join(", "),
        );
        let ts = t.server_hello_ts.unwrap_or(cx.conn.start_ts);
        let mut f = Finding::new(&META, cx.conn, ts, message)
            .with("alpn_offered", t.alpn_offered().to_vec())
            .with("alpn_chosen", t.alpn())
            .with("tls_version", version.to_string());
        if let Some(sni) = t.sni() {
            f = f.with("sni", sni);
        }
        out.push(f);
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
    use crate::tls::build::{app_data, ClientHello, ServerHello};
    use serde_json::json;

    fn tls12(offer: &[&str], chosen: Option<&str>) -> Timeline {
        let mut t = Timeline::new();
        let mut sh = ServerHello::new();
        if let Some(c) = chosen {
            sh = sh.alpn(c);
        }
        let ready = t.tls12_handshake(0.0, 50.0, &ClientHello::new().alpn(offer), &sh, false);
        t.client(ready, &app_data(100)).close(ready + 10.0);
        t
    }

    #[test]
    fn fires_when_h2_was_offered_and_http1_chosen_or_nothing() {
        let f = only(tls12(&["h2", "http/1.1"], Some("http/1.1")).findings_of("S007"));
        assert_evidence(
            &f,
            json!({"alpn_offered": ["h2", "http/1.1"], "alpn_chosen": "http/1.1", "tls_version": "TLS 1.2"}),
        );
        assert_says(&f, "the server chose http/1.1 over TLS 1.2");
        let f = only(tls12(&["h2", "http/1.1"], None).findings_of("S007"));
        assert_evidence(&f, json!({"alpn_chosen": null}));
        assert_says(&f, "did not negotiate ALPN");
    }

    #[test]
    fn not_when_h2_was_chosen_or_not_offered_or_tls13_hides_it() {
        assert!(tls12(&["h2", "http/1.1"], Some("h2"))
            .findings_of("S007")
            .is_empty());
        assert!(tls12(&["http/1.1"], Some("http/1.1"))
            .findings_of("S007")
            .is_empty());
        let mut t = Timeline::new();
        let ready = t.tls13_handshake(
            0.0,
            50.0,
            &ClientHello::new().tls13().alpn(&["h2", "http/1.1"]),
            &ServerHello::new().version(0x0304),
        );
        t.client(ready, &app_data(100)).close(ready + 10.0);
        assert!(t.findings_of("S007").is_empty());
    }
}
