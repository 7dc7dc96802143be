//! C007 hop-by-hop-header-forwarded.
//!
//! Two checks under one code, both about hop-by-hop fields where they do not
//! belong: in the wrong direction (a request field in a response, or the
//! reverse), judged one message at a time; and passed on by a proxy, when
//! both of its legs are in the capture, judged over the pairs of legs the
//! capture's proxy legs find ([`ProxyLegs`]).

use super::common::{each_message, field_case, label, on_message, request_line, Kind};
use crate::http::{HeaderFacts, HopByHop};
use crate::rules::api::*;
use crate::rules::proxy_legs::{LegMessage, ProxyLegs, ProxyPair};
use serde_json::Value;

pub struct HopByHopHeaderForwarded;

static META: RuleMeta = RuleMeta {
    code: "C007",
    name: "hop-by-hop-header-forwarded",
    family: Family::ConnectionHeader,
    severity: Severity::Warning,
    summary: "a hop-by-hop field in the wrong direction, or passed on by a proxy whose two legs are captured",
    doc: r#"## What it detects
Two things, both about hop-by-hop header fields (SPEC §2: `Connection` and every field it
names, `Keep-Alive`, `Proxy-Connection`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`,
`Proxy-Authenticate`, `Proxy-Authorization`):

1. **Wrong direction**, on any connection: a response carrying `Proxy-Authorization` or `TE`
   (request fields), or a request carrying `Proxy-Authenticate` (a response field). One
   finding per message.
2. **Forwarded by a proxy**, when both legs of a proxy are in the capture. An incoming request
   (connection A) and the request the proxy sent on (connection B) are paired when they have
   the same method and target (an absolute-form target `http://host/path` compares by its
   path, and by its host when B's target is absolute too or the host is an IP address, which
   must then be B's server), B's request starts no earlier than A's and within
   `forward_window_ms` of it, B's client is a different host from A's client, B's server is
   not A's server, and either A's server is B's client (a proxy with one address) or A's
   target is absolute-form (a request addressed to a proxy, which may leave by another
   interface). Each incoming request pairs with the first such outgoing one not yet paired.
   Then the forwarded message is checked for what it passed on:
   - `Connection`, when it still lists a field name the incoming Connection header listed
     (a proxy's own `Connection: keep-alive` or `close` for the next hop is legitimate);
   - every field the incoming Connection header named (`Connection: X-Debug-Hop` and
     `X-Debug-Hop: 1` arriving, `X-Debug-Hop` leaving), except `Host`, `Content-Length`,
     `Transfer-Encoding`, `Trailer` and `TE`, which a proxy must or may generate itself;
   - `Keep-Alive` with the same value as the incoming one, unless the proxy's own Connection
     header says `keep-alive` for this hop (then it may be the proxy's own);
   - `Proxy-Connection`, if one came in;
   - `TE` and `Upgrade`, if they came in and the forwarded Connection header does not list
     them (a proxy that handles trailers or the upgrade itself re-announces them).
   The same check runs on the way back: the origin's response (on B) against the response the
   proxy gave its client (on A). A forwarded request is reported on B's transaction, a
   relayed response on A's (at the time of A's request).

A reverse proxy whose two legs use different addresses and origin-form targets cannot be
paired from the capture alone and is not checked.

## Why it matters
Hop-by-hop fields describe one connection: whether it stays open (`Connection`,
`Keep-Alive`), what the sender of this hop accepts (`TE`), a protocol switch for this hop
(`Upgrade`), credentials for this proxy (`Proxy-Authorization`). A proxy must remove them,
and every field named by the incoming `Connection` header, before forwarding (RFC 9110 §7.6.1),
because the next connection has its own state. Forwarded, they make the next hop act on the
wrong connection's terms: keep-alive promises that no one will honour (connections held or
dropped unexpectedly), an `Upgrade` the proxy cannot follow, debugging or routing fields meant
for the proxy reaching the origin, credentials meant for the proxy leaking to the origin.
A hop-by-hop field in the wrong direction means some layer copies request headers into
responses (or back): `Proxy-Authorization` in a response hands proxy credentials to whoever
reads the response.

## Example
```text
connection 1 198.18.1.1:42072 -> 198.18.1.2:80
  warning C007 hop-by-hop-header-forwarded tx 0: GET /tools/pliers forwarded by 198.18.1.1
  still carries Connection, Keep-Alive, X-Debug-Hop from the incoming request (connection 0
  198.18.0.1:42071 -> 198.18.0.2:3128 tx 0) ...
```

## How to fix
In the proxy: before forwarding, delete `Connection`, every field its value names,
`Keep-Alive`, `Proxy-Connection`, `TE`, `Trailer`, `Upgrade`, `Proxy-Authorization` and
`Proxy-Authenticate` (unless it implements them itself), then add its own `Connection` for the
next hop. Most proxies do this; custom proxies built on a generic HTTP client often copy all
headers. For the wrong-direction case, find the code that copies headers between the request
and the response and restrict it to end-to-end fields.

## Options
- `forward_window_ms` (2000): the longest time from the incoming request to the forwarded one
  for the two to be paired as legs of one proxy (covers the proxy's upstream connect).
"#,
    options: &[OptionSpec {
        key: "forward_window_ms",
        default: 2000.0,
        doc: "longest time from an incoming request to its forwarded copy, in ms",
        integer: false,
    }],
};

/// Connection tokens that name fields a proxy must or may generate for the
/// next hop itself: their presence there says nothing about forwarding.
const GENERATED: &[&str] = &[
    "te",
    "trailer",
    "transfer-encoding",
    "content-length",
    "host",
];

impl Rule for HopByHopHeaderForwarded {
    /// The first check: hop-by-hop fields in the wrong direction.
    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        for (tx, kind, msg) in each_message(cx) {
            let h = &msg.headers.hop_by_hop;
            let Some((fields, why)) = wrong_direction(kind, h) else {
                continue;
            };
            let message = format!(
                "{}: the {kind} carries {}, {why}; some layer copies headers between requests \
                 and responses: remove {} from the {kind}",
                label(tx),
                fields.join(" and "),
                if fields.len() > 1 { "them" } else { "it" }
            );
            let mut f = on_message(&META, cx, tx, kind, msg, message).with("fields", fields);
            if kind == Kind::Response {
                f = f.with("status", tx.status.map_or(Value::Null, Value::from));
            }
            out.push(f);
        }
    }

    /// The second check relates two connections within `forward_window_ms`.
    fn horizon(&self, s: &RuleSettings) -> Option<i64> {
        Some(s.ms_as_ns("forward_window_ms"))
    }

    /// The second check: what a proxy passed on, the request it forwarded
    /// and the response it relayed back, as the legs are paired.
    fn cross(&self, s: &RuleSettings) -> Option<Box<dyn CrossRule>> {
        Some(Box::new(Forwarded(ProxyLegs::new(
            s.ms_as_ns("forward_window_ms"),
        ))))
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// C007's state: the proxy legs of the last window.
struct Forwarded(ProxyLegs);

impl CrossRule for Forwarded {
    fn add(&mut self, c: &ConnSummary<'_>, _out: &mut CrossOut) {
        self.0.add(c);
    }

    fn settle(&mut self, settled: Timestamp, _exact: bool, out: &mut CrossOut) {
        self.0.settle(settled, |pair| {
            out.findings.extend(passed_on(Kind::Request, &pair));
            out.findings.extend(passed_on(Kind::Response, &pair));
        });
    }

    fn holds(&self) -> Option<u64> {
        self.0.holds()
    }

    fn opened(&mut self, client: std::net::IpAddr) {
        self.0.opened(client);
    }

    fn bound(&mut self, max: usize, out: &mut CrossOut) -> bool {
        self.0.bound(max, |pair| {
            out.findings.extend(passed_on(Kind::Request, &pair));
            out.findings.extend(passed_on(Kind::Response, &pair));
        })
    }
}

/// The fields of `h` that cannot belong in a message of `kind`, and why.
fn wrong_direction(kind: Kind, h: &HopByHop) -> Option<(Vec<&'static str>, &'static str)> {
    let present = |fields: &[(bool, &'static str)]| -> Vec<&'static str> {
        fields
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect()
    };
    let fields = match kind {
        Kind::Request => present(&[(h.proxy_authenticate, "Proxy-Authenticate")]),
        Kind::Response => present(&[(h.proxy_authorization, "Proxy-Authorization"), (h.te, "TE")]),
    };
    let why = match kind {
        Kind::Request => "a proxy's challenge that belongs in a 407 response",
        Kind::Response if h.proxy_authorization && h.te => {
            "request fields; Proxy-Authorization hands proxy credentials to whoever reads the \
             response"
        }
        Kind::Response if h.proxy_authorization => {
            "a request field: credentials for a proxy, here handed to whoever reads the response"
        }
        Kind::Response => "a request field (the transfer codings the client accepts)",
    };
    (!fields.is_empty()).then_some((fields, why))
}

/// The finding on the message of `kind` that the proxy of `pair` sent on
/// (the forwarded request, or the relayed response) if it still carries
/// hop-by-hop fields of the message it came from. It goes on the leg the
/// message left by, and names the leg it came in on.
fn passed_on(kind: Kind, pair: &ProxyPair<'_>) -> Option<Finding> {
    let (incoming, outgoing) = (pair.incoming, pair.outgoing);
    let (came_in, left_by, fields) = match kind {
        Kind::Request => (
            incoming,
            outgoing,
            forwarded_fields(&incoming.request, &outgoing.request),
        ),
        Kind::Response => (
            outgoing,
            incoming,
            forwarded_fields(outgoing.response.as_ref()?, incoming.response.as_ref()?),
        ),
    };
    if fields.is_empty() {
        return None;
    }
    let what = request_line(&outgoing.method, &outgoing.uri);
    let (said, verb) = match kind {
        Kind::Request => (
            format!(
                "{what} forwarded by {} still carries {} from the incoming request",
                left_by.client.ip(),
                fields.join(", ")
            ),
            "forwarding",
        ),
        Kind::Response => (
            format!(
                "the response to {what} relayed by {} still carries {} from the origin's response",
                left_by.server.ip(),
                fields.join(", ")
            ),
            "relaying",
        ),
    };
    let message = format!(
        "{said} (connection {} {} -> {} tx {}); a proxy must remove Connection, the fields it \
         names and the other hop-by-hop fields before {verb} (RFC 9110 §7.6.1): fix the proxy's \
         header filtering",
        came_in.connection, came_in.client, came_in.server, came_in.index
    );
    Some(
        Finding::on(
            &META,
            (left_by.connection, left_by.client, left_by.server),
            left_by.ts,
            message,
        )
        .transaction(left_by.index)
        .with("message", kind.as_str())
        .with("forwarded_fields", fields)
        .with("incoming_connection", came_in.connection)
        .with("incoming_client", came_in.client.to_string())
        .with("incoming_server", came_in.server.to_string())
        .with("incoming_transaction", came_in.index)
        .with("absolute_form", incoming.authority().is_some())
        .with_ms("forward_delay_ms", outgoing.ts.since(incoming.ts)),
    )
}

/// The hop-by-hop fields `sent` (the message a proxy sent) passed on from
/// `received` (the message it received), in the order of the doc.
fn forwarded_fields(received: &LegMessage, sent: &LegMessage) -> Vec<String> {
    if !received.has_hop_by_hop() {
        // Nothing came in that could have been passed on.
        return Vec::new();
    }
    let (incoming, out) = (received.headers(), sent.headers());
    let (incoming, out): (&HeaderFacts, &HeaderFacts) = (&incoming, &out);
    let named: Vec<&str> = incoming
        .connection
        .others
        .iter()
        .map(String::as_str)
        .filter(|t| !GENERATED.contains(t))
        .collect();
    let mut v: Vec<String> = Vec::new();
    let connection_forwarded = named
        .iter()
        .any(|t| out.connection.others.iter().any(|o| o == t));
    if connection_forwarded {
        v.push("Connection".into());
    }
    if let (Some(a), Some(b)) = (&incoming.keep_alive, &out.keep_alive) {
        if a.raw.eq_ignore_ascii_case(&b.raw)
            && (connection_forwarded || !out.connection.keep_alive)
        {
            v.push("Keep-Alive".into());
        }
    }
    if incoming.proxy_connection.is_some() && out.proxy_connection.is_some() {
        v.push("Proxy-Connection".into());
    }
    if incoming.hop_by_hop.te && out.hop_by_hop.te && !out.connection.contains("te") {
        v.push("TE".into());
    }
    if incoming.hop_by_hop.upgrade && out.hop_by_hop.upgrade && !out.connection.upgrade {
        v.push("Upgrade".into());
    }
    for t in named {
        if sent.names.contains(t) {
            let name = field_case(t);
            if !v.iter().any(|x| x.eq_ignore_ascii_case(&name)) {
                v.push(name);
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline, OK};
    use crate::rules::Finding;
    use serde_json::json;

    /// Client 10.0.0.1 -> proxy 10.0.0.2:3128 (connection 0, request at
    /// 50), proxy 10.0.0.2 -> origin 10.0.0.3:80 (connection 1, request at
    /// 50 + `delay`), the origin's response, then the proxy's; C007's
    /// findings.
    fn proxied(incoming: &[u8], outgoing: &[u8], delay: f64) -> Vec<Finding> {
        proxied_with(incoming, outgoing, OK, OK, delay).findings_of("C007")
    }

    fn proxied_with(
        incoming: &[u8],
        outgoing: &[u8],
        origin: &[u8],
        relayed: &[u8],
        delay: f64,
    ) -> Timeline {
        let mut t = Timeline::new();
        t.connection("10.0.0.1:40000", "10.0.0.2:3128")
            .handshake(0.0, 50.0)
            .client(50.0, incoming);
        t.connection("10.0.0.2:50000", "10.0.0.3:80")
            .handshake(45.0, 1.0)
            .client(50.0 + delay, outgoing)
            .server(60.0 + delay, origin)
            .close(70.0 + delay);
        t.on(1).server(80.0 + delay, relayed).close(90.0 + delay);
        t
    }

    const IN: &[u8] = b"GET http://10.0.0.3/tools/pliers HTTP/1.1\r\nHost: 10.0.0.3\r\nConnection: keep-alive, X-Debug-Hop\r\nKeep-Alive: timeout=30\r\nX-Debug-Hop: 1\r\n\r\n";
    const OUT_BROKEN: &[u8] = b"GET /tools/pliers HTTP/1.1\r\nHost: 10.0.0.3\r\nConnection: keep-alive, X-Debug-Hop\r\nKeep-Alive: timeout=30\r\nX-Debug-Hop: 1\r\nVia: 1.1 px\r\n\r\n";
    const OUT_CLEAN: &[u8] = b"GET /tools/pliers HTTP/1.1\r\nHost: 10.0.0.3\r\nConnection: keep-alive\r\nVia: 1.1 px\r\n\r\n";

    #[test]
    fn fires_on_the_forwarded_request() {
        let f = only(proxied(IN, OUT_BROKEN, 1.0));
        // The finding is on the forwarded leg, the one to the origin.
        assert_eq!(
            (f.client.as_str(), f.server.as_str()),
            ("10.0.0.2:50000", "10.0.0.3:80")
        );
        assert_eq!(f.transaction, Some(0));
        assert_evidence(
            &f,
            json!({"forwarded_fields": ["Connection", "Keep-Alive", "X-Debug-Hop"], "incoming_server": "10.0.0.2:3128", "forward_delay_ms": 1.0, "absolute_form": true}),
        );
        assert_says(&f, "GET /tools/pliers");
    }

    #[test]
    fn a_proxys_own_connection_header_is_not_forwarding() {
        assert!(proxied(IN, OUT_CLEAN, 1.0).is_empty());
        // The same keep-alive token both ways, nothing named: could be the
        // proxy's own.
        let plain_in =
            b"GET http://10.0.0.3/x HTTP/1.1\r\nHost: 10.0.0.3\r\nConnection: keep-alive\r\n\r\n";
        let plain_out = b"GET /x HTTP/1.1\r\nHost: 10.0.0.3\r\nConnection: keep-alive\r\n\r\n";
        assert!(proxied(plain_in, plain_out, 1.0).is_empty());
    }

    #[test]
    fn a_named_field_alone_or_a_stray_keep_alive_counts() {
        // The proxy dropped Connection but kept the field it named.
        let out = b"GET /tools/pliers HTTP/1.1\r\nHost: 10.0.0.3\r\nX-Debug-Hop: 1\r\nKeep-Alive: timeout=30\r\n\r\n";
        let f = only(proxied(IN, out, 1.0));
        assert_evidence(
            &f,
            json!({"forwarded_fields": ["Keep-Alive", "X-Debug-Hop"]}),
        );
    }

    #[test]
    fn forward_window_edges() {
        assert_eq!(proxied(IN, OUT_BROKEN, 2000.0).len(), 1);
        assert!(proxied(IN, OUT_BROKEN, 2000.1).is_empty());
        let late = proxied_with(IN, OUT_BROKEN, OK, OK, 2000.1);
        assert_eq!(
            late.findings_with("C007", &[("forward_window_ms", 2001.0)])
                .len(),
            1
        );
    }

    #[test]
    fn unrelated_requests_are_not_paired() {
        // Another path.
        let other = b"GET /tools/saws HTTP/1.1\r\nHost: 10.0.0.3\r\nConnection: keep-alive, X-Debug-Hop\r\nX-Debug-Hop: 1\r\n\r\n";
        assert!(proxied(IN, other, 1.0).is_empty());
        // The absolute target names another server than the one contacted.
        let elsewhere = b"GET http://10.9.9.9/tools/pliers HTTP/1.1\r\nHost: 10.9.9.9\r\nConnection: X-Debug-Hop\r\nX-Debug-Hop: 1\r\n\r\n";
        assert!(proxied(elsewhere, OUT_BROKEN, 1.0).is_empty());
        // The same client sending the request twice (to a proxy, then
        // directly) is not a proxy's two legs.
        let mut t = Timeline::new();
        t.connection("10.0.0.1:40000", "10.0.0.2:3128");
        t.handshake(0.0, 50.0).client(50.0, IN);
        t.connection("10.0.0.1:40001", "10.0.0.3:80");
        t.handshake(60.0, 1.0)
            .client(61.0, OUT_BROKEN)
            .server(70.0, OK);
        assert!(t.findings_of("C007").is_empty());
        // A forwarded copy cannot precede the request it copies.
        let mut t = Timeline::new();
        t.connection("10.0.0.2:50000", "10.0.0.3:80");
        t.handshake(0.0, 1.0)
            .client(10.0, OUT_BROKEN)
            .server(20.0, OK);
        t.connection("10.0.0.1:40000", "10.0.0.2:3128");
        t.handshake(0.0, 1.0).client(30.0, IN).server(40.0, OK);
        assert!(t.findings_of("C007").is_empty());
    }

    #[test]
    fn a_reverse_proxy_with_one_address_is_paired_by_origin_form_too() {
        let inc =
            b"GET /app HTTP/1.1\r\nHost: www\r\nConnection: close, X-Trace\r\nX-Trace: 1\r\n\r\n";
        let out = b"GET /app HTTP/1.1\r\nHost: backend\r\nX-Trace: 1\r\n\r\n";
        let f = only(proxied(inc, out, 0.5));
        assert_evidence(
            &f,
            json!({"forwarded_fields": ["X-Trace"], "absolute_form": false}),
        );
    }

    #[test]
    fn a_relayed_response_is_reported_on_the_clients_leg() {
        let origin = b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Backend\r\nKeep-Alive: timeout=5, max=100\r\nX-Backend: b1\r\nContent-Length: 2\r\n\r\nok";
        let own = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 2\r\n\r\nok";
        let f = only(proxied_with(IN, OUT_CLEAN, origin, origin, 1.0).findings_of("C007"));
        assert_eq!(f.client, "10.0.0.1:40000");
        assert_evidence(
            &f,
            json!({"message": "response", "forwarded_fields": ["Connection", "Keep-Alive", "X-Backend"], "incoming_server": "10.0.0.3:80"}),
        );
        // Same Keep-Alive, but beside the proxy's own keep-alive token and
        // with the origin's Connection removed: the proxy's own.
        let t = proxied_with(IN, OUT_CLEAN, origin, own, 1.0);
        assert!(t.findings_of("C007").is_empty());
    }

    #[test]
    fn te_and_upgrade_count_unless_re_announced() {
        let inc = b"GET http://10.0.0.3/ws HTTP/1.1\r\nHost: 10.0.0.3\r\nConnection: Upgrade, TE\r\nUpgrade: websocket\r\nTE: trailers\r\n\r\n";
        let blind =
            b"GET /ws HTTP/1.1\r\nHost: 10.0.0.3\r\nUpgrade: websocket\r\nTE: trailers\r\n\r\n";
        let f = only(proxied(inc, blind, 1.0));
        assert_evidence(&f, json!({"forwarded_fields": ["TE", "Upgrade"]}));
        let own = b"GET /ws HTTP/1.1\r\nHost: 10.0.0.3\r\nConnection: upgrade, te\r\nUpgrade: websocket\r\nTE: trailers\r\n\r\n";
        assert!(proxied(inc, own, 1.0).is_empty());
    }

    #[test]
    fn wrong_direction_fields_on_one_connection() {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(50.0, b"GET /clamps HTTP/1.1\r\nHost: a\r\n\r\n")
            .server(
                250.0,
                b"HTTP/1.1 200 OK\r\nProxy-Authorization: Basic eA==\r\nContent-Length: 2\r\n\r\nok",
            )
            .client(
                260.0,
                b"GET /vises HTTP/1.1\r\nHost: a\r\nProxy-Authenticate: Basic realm=\"j\"\r\n\r\n",
            )
            .server(300.0, b"HTTP/1.1 200 OK\r\nTE: trailers\r\nContent-Length: 0\r\n\r\n");
        let f = t.findings_of("C007");
        assert_eq!(f.len(), 3, "{f:?}");
        assert_eq!(f[0].transaction, Some(0));
        assert_evidence(
            &f[0],
            json!({"message": "response", "fields": ["Proxy-Authorization"], "status": 200}),
        );
        assert_eq!(f[1].transaction, Some(1));
        assert_evidence(
            &f[1],
            json!({"message": "request", "fields": ["Proxy-Authenticate"]}),
        );
        assert_evidence(&f[2], json!({"fields": ["TE"]}));
        assert_says(&f[0], "GET /clamps");
    }

    #[test]
    fn right_direction_fields_are_fine() {
        let req = b"GET / HTTP/1.1\r\nHost: a\r\nProxy-Authorization: Basic eA==\r\nTE: trailers\r\nConnection: TE\r\n\r\n";
        let resp = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n";
        assert!(Timeline::exchange(req, resp, 250.0)
            .findings_of("C007")
            .is_empty());
    }
}
