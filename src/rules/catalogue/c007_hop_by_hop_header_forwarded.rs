//! C007 hop-by-hop-header-forwarded.
//!
//! Two checks under one code: hop-by-hop fields in the direction where they
//! cannot belong (one connection at a time), and, when both legs of a proxy
//! are in the capture, hop-by-hop fields the proxy passed on (over the
//! per-capture index).

use super::c001_keep_alive_header_without_connection_token::{label, Kind};
use super::c002_proxy_connection_header::is_absolute_form;
use super::c005_connection_token_names_end_to_end_header::field_case;
use crate::http::HeaderFacts;
use crate::rules::config::RuleSettings;
use crate::rules::context::ConnectionFacts;
use crate::rules::finding::Finding;
use crate::rules::index::{CaptureIndex, ConnSummary, RequestSummary};
use crate::rules::meta::{Family, OptionSpec, RuleMeta, Severity};
use crate::rules::registry::Rule;
use crate::Timestamp;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

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

/// Candidate outgoing requests looked at per incoming one: a bound on the
/// work for very repetitive traffic (the same URL requested many times a
/// second).
const MAX_CANDIDATES: usize = 256;

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
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_connection(
        &self,
        cx: &ConnectionFacts<'_>,
        _s: &RuleSettings,
        out: &mut Vec<Finding>,
    ) {
        for tx in &cx.http.transactions {
            let wrong = [
                (Kind::Request, tx.request.as_ref()),
                (Kind::Response, tx.response.as_ref()),
            ];
            for (kind, msg) in wrong {
                let Some(msg) = msg else {
                    continue;
                };
                let h = &msg.headers.hop_by_hop;
                let fields: Vec<&str> = match kind {
                    Kind::Request => [(h.proxy_authenticate, "Proxy-Authenticate")]
                        .into_iter()
                        .filter_map(|(on, name)| on.then_some(name))
                        .collect(),
                    Kind::Response => {
                        [(h.proxy_authorization, "Proxy-Authorization"), (h.te, "TE")]
                            .into_iter()
                            .filter_map(|(on, name)| on.then_some(name))
                            .collect()
                    }
                };
                if fields.is_empty() {
                    continue;
                }
                let why = match kind {
                    Kind::Request => "a proxy's challenge that belongs in a 407 response",
                    Kind::Response if h.proxy_authorization && h.te => {
                        "request fields; Proxy-Authorization hands proxy credentials to whoever \
                         reads the response"
                    }
                    Kind::Response if h.proxy_authorization => {
                        "a request field: credentials for a proxy, here handed to whoever reads \
                         the response"
                    }
                    Kind::Response => "a request field (the transfer codings the client accepts)",
                };
                let message = format!(
                    "{}: the {kind} carries {}, {why}; some layer copies headers between requests \
                     and responses: remove {} from the {kind}",
                    label(tx),
                    fields.join(" and "),
                    if fields.len() > 1 { "them" } else { "it" }
                );
                let mut f = Finding::new(&META, cx.conn, msg.first_byte_ts, message)
                    .transaction(tx.index)
                    .with("message", kind.as_str())
                    .with("fields", Value::from(fields));
                if kind == Kind::Response {
                    f = f.with("status", tx.status.map_or(Value::Null, Value::from));
                }
                out.push(f);
            }
        }
    }

    fn check_capture(&self, index: &CaptureIndex, s: &RuleSettings, out: &mut Vec<Finding>) {
        let window = s.ms_as_ns("forward_window_ms");
        for pair in proxy_legs(index, window) {
            let (a, i) = (pair.incoming.conn, pair.incoming.req);
            let (b, o) = (pair.outgoing.conn, pair.outgoing.req);
            let delay = o.ts.since(i.ts);
            let what = format!("{} {}", o.method, shorten(&o.uri));
            let fields = forwarded_fields(&i.headers, &o.headers);
            if !fields.is_empty() {
                let message = format!(
                    "{what} forwarded by {} still carries {} from the incoming request (connection \
                     {} {} -> {} tx {}); a proxy must remove Connection, the fields it names and \
                     the other hop-by-hop fields before forwarding (RFC 9110 §7.6.1): fix the \
                     proxy's header filtering",
                    b.client.ip(),
                    fields.join(", "),
                    a.id,
                    a.client,
                    a.server,
                    i.index
                );
                out.push(finding(
                    b,
                    o.index,
                    o.ts,
                    message,
                    evidence(Kind::Request, &fields, &pair, delay),
                ));
            }
            if let (Some(origin), Some(relayed)) = (&o.response_headers, &i.response_headers) {
                let fields = forwarded_fields(origin, relayed);
                if !fields.is_empty() {
                    let message = format!(
                        "the response to {what} relayed by {} still carries {} from the origin's \
                         response (connection {} {} -> {} tx {}); a proxy must remove Connection, \
                         the fields it names and the other hop-by-hop fields before relaying \
                         (RFC 9110 §7.6.1): fix the proxy's header filtering",
                        a.server.ip(),
                        fields.join(", "),
                        b.id,
                        b.client,
                        b.server,
                        o.index
                    );
                    out.push(finding(
                        a,
                        i.index,
                        i.ts,
                        message,
                        evidence(Kind::Response, &fields, &pair, delay),
                    ));
                }
            }
        }
    }
}

/// One request in the index, with its target split for matching.
#[derive(Clone, Copy)]
struct Leg<'a> {
    conn: &'a ConnSummary,
    req: &'a RequestSummary,
    /// `host[:port]` of an absolute-form target.
    authority: Option<&'a str>,
    /// The path and query, without the leading `/` (an absolute-form
    /// target `http://a?q` and its origin-form `/?q` then agree).
    path: &'a str,
}

impl<'a> Leg<'a> {
    fn new(conn: &'a ConnSummary, req: &'a RequestSummary) -> Leg<'a> {
        let (authority, path) = split_target(&req.uri);
        Leg {
            conn,
            req,
            authority,
            path: path.strip_prefix('/').unwrap_or(path),
        }
    }
}

/// An incoming request and the request the proxy sent on for it.
struct Pair<'a> {
    incoming: Leg<'a>,
    outgoing: Leg<'a>,
}

/// `http://host:port/path?q` -> (`host:port`, `/path?q`); an origin-form
/// target is all path.
fn split_target(uri: &str) -> (Option<&str>, &str) {
    if !is_absolute_form(uri) {
        return (None, uri);
    }
    let Some((_, rest)) = uri.split_once("://") else {
        return (None, uri);
    };
    match rest.find(['/', '?', '#']) {
        Some(i) => {
            let (authority, path) = rest.split_at(i);
            (Some(authority), path)
        }
        None => (Some(rest), ""),
    }
}

/// The IP address an authority names, if it is a literal (`198.18.1.2`,
/// `[2001:db8::2]:8080`).
fn authority_ip(authority: &str) -> Option<IpAddr> {
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split_once(']')?.0.parse().ok();
    }
    host.split(':').next()?.parse().ok()
}

/// Pairs the two legs of proxied requests among the index's connections.
fn proxy_legs(index: &CaptureIndex, window: i64) -> Vec<Pair<'_>> {
    let conns = index.by_start();
    let client_ips: HashSet<IpAddr> = conns.iter().map(|c| c.client.ip()).collect();
    let server_ips: HashSet<IpAddr> = conns.iter().map(|c| c.server.ip()).collect();
    // Incoming legs: requests addressed to a proxy, or received by a host
    // that is also a client here. Most captures have none, and stop here.
    let mut incoming: Vec<Leg<'_>> = Vec::new();
    for c in &conns {
        let relays = client_ips.contains(&c.server.ip());
        for r in &c.requests {
            let leg = Leg::new(c, r);
            if relays || leg.authority.is_some() {
                incoming.push(leg);
            }
        }
    }
    if incoming.is_empty() {
        return Vec::new();
    }
    // Outgoing candidates by (method, path), in time order: requests sent by
    // a host that is also a server here, or by anyone when some incoming
    // request was addressed to a proxy (which may leave by another address).
    let any_absolute = incoming.iter().any(|l| l.authority.is_some());
    let mut by_target: HashMap<(&str, &str), Vec<Leg<'_>>> = HashMap::new();
    for c in &conns {
        if !(any_absolute || server_ips.contains(&c.client.ip())) {
            continue;
        }
        for r in &c.requests {
            let leg = Leg::new(c, r);
            by_target
                .entry((&r.method, leg.path))
                .or_default()
                .push(leg);
        }
    }
    for legs in by_target.values_mut() {
        legs.sort_by_key(|l| (l.req.ts, l.conn.id, l.req.index));
    }
    incoming.sort_by_key(|l| (l.req.ts, l.conn.id, l.req.index));
    let mut used: HashSet<(u64, u64)> = HashSet::new();
    let mut pairs = Vec::new();
    for i in incoming {
        let Some(candidates) = by_target.get(&(&*i.req.method, i.path)) else {
            continue;
        };
        let start = candidates.partition_point(|o| o.req.ts < i.req.ts);
        let found = candidates
            .iter()
            .skip(start)
            .take(MAX_CANDIDATES)
            .take_while(|o| o.req.ts.since(i.req.ts) <= window)
            .find(|o| !used.contains(&(o.conn.id, o.req.index)) && forwards(&i, o));
        if let Some(o) = found {
            used.insert((o.conn.id, o.req.index));
            pairs.push(Pair {
                incoming: i,
                outgoing: *o,
            });
        }
    }
    pairs
}

/// Whether `o` can be the request a proxy sent on for `i` (same method and
/// path and the timing already hold).
fn forwards(i: &Leg<'_>, o: &Leg<'_>) -> bool {
    let (a, b) = (i.conn, o.conn);
    if a.id == b.id || a.server == b.server || a.client.ip() == b.client.ip() {
        return false;
    }
    if !(b.client.ip() == a.server.ip() || i.authority.is_some()) {
        return false;
    }
    match (i.authority, o.authority) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        (Some(x), None) => authority_ip(x).is_none_or(|ip| ip == b.server.ip()),
        _ => true,
    }
}

/// The hop-by-hop fields `out` (the message a proxy sent) passed on from
/// `incoming` (the message it received), in the order of the doc.
fn forwarded_fields(incoming: &HeaderFacts, out: &HeaderFacts) -> Vec<String> {
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
        if out.field_names.contains(t) {
            let name = field_case(t);
            if !v.iter().any(|x| x.eq_ignore_ascii_case(&name)) {
                v.push(name);
            }
        }
    }
    v
}

fn shorten(uri: &str) -> String {
    match uri.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &uri[..cut]),
        None => uri.to_string(),
    }
}

fn evidence(kind: Kind, fields: &[String], pair: &Pair<'_>, delay: i64) -> Map<String, Value> {
    let (a, i) = (pair.incoming.conn, pair.incoming.req);
    let (b, o) = (pair.outgoing.conn, pair.outgoing.req);
    let mut e = Map::new();
    e.insert("message".into(), kind.as_str().into());
    e.insert("forwarded_fields".into(), Value::from(fields.to_vec()));
    let (from, from_tx) = match kind {
        Kind::Request => (a, i.index),
        Kind::Response => (b, o.index),
    };
    e.insert("incoming_connection".into(), from.id.into());
    e.insert("incoming_client".into(), from.client.to_string().into());
    e.insert("incoming_server".into(), from.server.to_string().into());
    e.insert("incoming_transaction".into(), from_tx.into());
    e.insert(
        "absolute_form".into(),
        pair.incoming.authority.is_some().into(),
    );
    e.insert(
        "forward_delay_ms".into(),
        ((delay as f64 / 1e3).round() / 1e3).into(),
    );
    e
}

/// A finding on a connection known only by its index summary.
fn finding(
    conn: &ConnSummary,
    transaction: u64,
    ts: Timestamp,
    message: String,
    evidence: Map<String, Value>,
) -> Finding {
    Finding {
        code: META.code,
        rule: META.name,
        severity: META.severity,
        connection: conn.id,
        client: conn.client.to_string(),
        server: conn.server.to_string(),
        transaction: Some(transaction),
        ts,
        message,
        evidence,
        covers: None,
    }
}

#[cfg(test)]
mod tests {
    use super::{authority_ip, split_target};
    use crate::rules::testing::Timeline;

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    /// Client 10.0.0.1 -> proxy 10.0.0.2:3128 (connection 0, request at
    /// 50), proxy 10.0.0.2 -> origin 10.0.0.3:80 (connection 1, request at
    /// 50 + `delay`), the origin's response, then the proxy's.
    fn proxied(incoming: &[u8], outgoing: &[u8], delay: f64) -> Timeline {
        proxied_with(incoming, outgoing, OK, OK, delay)
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
        let f = proxied(IN, OUT_BROKEN, 1.0).findings_of("C007");
        assert_eq!(f.len(), 1, "{f:?}");
        // Connection ids follow the first packet: the default connection
        // (never used) is not there; the incoming leg is 0... whichever id,
        // the forwarded leg is the one to the origin.
        assert_eq!(f[0].client, "10.0.0.2:50000");
        assert_eq!(f[0].server, "10.0.0.3:80");
        assert_eq!(f[0].transaction, Some(0));
        assert_eq!(
            f[0].evidence["forwarded_fields"],
            serde_json::json!(["Connection", "Keep-Alive", "X-Debug-Hop"])
        );
        assert_eq!(f[0].evidence["incoming_server"], "10.0.0.2:3128");
        assert_eq!(f[0].evidence["forward_delay_ms"], 1.0);
        assert_eq!(f[0].evidence["absolute_form"], true);
        assert!(
            f[0].message.contains("GET /tools/pliers"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn a_proxys_own_connection_header_is_not_forwarding() {
        assert!(proxied(IN, OUT_CLEAN, 1.0).findings_of("C007").is_empty());
        // The same keep-alive token both ways, nothing named: could be the
        // proxy's own.
        let plain_in =
            b"GET http://10.0.0.3/x HTTP/1.1\r\nHost: 10.0.0.3\r\nConnection: keep-alive\r\n\r\n";
        let plain_out = b"GET /x HTTP/1.1\r\nHost: 10.0.0.3\r\nConnection: keep-alive\r\n\r\n";
        assert!(proxied(plain_in, plain_out, 1.0)
            .findings_of("C007")
            .is_empty());
    }

    #[test]
    fn a_named_field_alone_or_a_stray_keep_alive_counts() {
        // The proxy dropped Connection but kept the field it named.
        let out = b"GET /tools/pliers HTTP/1.1\r\nHost: 10.0.0.3\r\nX-Debug-Hop: 1\r\nKeep-Alive: timeout=30\r\n\r\n";
        let f = proxied(IN, out, 1.0).findings_of("C007");
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].evidence["forwarded_fields"],
            serde_json::json!(["Keep-Alive", "X-Debug-Hop"])
        );
    }

    #[test]
    fn forward_window_edges() {
        assert_eq!(proxied(IN, OUT_BROKEN, 2000.0).findings_of("C007").len(), 1);
        assert!(proxied(IN, OUT_BROKEN, 2000.1)
            .findings_of("C007")
            .is_empty());
        assert_eq!(
            proxied(IN, OUT_BROKEN, 2000.1)
                .findings_with("C007", &[("forward_window_ms", 2001.0)])
                .len(),
            1
        );
    }

    #[test]
    fn unrelated_requests_are_not_paired() {
        // Another path.
        let other = b"GET /tools/saws HTTP/1.1\r\nHost: 10.0.0.3\r\nConnection: keep-alive, X-Debug-Hop\r\nX-Debug-Hop: 1\r\n\r\n";
        assert!(proxied(IN, other, 1.0).findings_of("C007").is_empty());
        // The absolute target names another server than the one contacted.
        let elsewhere = b"GET http://10.9.9.9/tools/pliers HTTP/1.1\r\nHost: 10.9.9.9\r\nConnection: X-Debug-Hop\r\nX-Debug-Hop: 1\r\n\r\n";
        assert!(proxied(elsewhere, OUT_BROKEN, 1.0)
            .findings_of("C007")
            .is_empty());
        // The same client sending the request twice (to a proxy, then
        // directly) is not a proxy's two legs.
        let mut t = Timeline::new();
        t.connection("10.0.0.1:40000", "10.0.0.2:3128")
            .handshake(0.0, 50.0)
            .client(50.0, IN);
        t.connection("10.0.0.1:40001", "10.0.0.3:80")
            .handshake(60.0, 1.0)
            .client(61.0, OUT_BROKEN)
            .server(70.0, OK);
        assert!(t.findings_of("C007").is_empty());
        // A forwarded copy cannot precede the request it copies.
        let mut t = Timeline::new();
        t.connection("10.0.0.2:50000", "10.0.0.3:80")
            .handshake(0.0, 1.0)
            .client(10.0, OUT_BROKEN)
            .server(20.0, OK);
        t.connection("10.0.0.1:40000", "10.0.0.2:3128")
            .handshake(0.0, 1.0)
            .client(30.0, IN)
            .server(40.0, OK);
        assert!(t.findings_of("C007").is_empty());
    }

    #[test]
    fn a_reverse_proxy_with_one_address_is_paired_by_origin_form_too() {
        let inc =
            b"GET /app HTTP/1.1\r\nHost: www\r\nConnection: close, X-Trace\r\nX-Trace: 1\r\n\r\n";
        let out = b"GET /app HTTP/1.1\r\nHost: backend\r\nX-Trace: 1\r\n\r\n";
        let f = proxied(inc, out, 0.5).findings_of("C007");
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].evidence["forwarded_fields"],
            serde_json::json!(["X-Trace"])
        );
        assert_eq!(f[0].evidence["absolute_form"], false);
    }

    #[test]
    fn a_relayed_response_is_reported_on_the_clients_leg() {
        let origin = b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Backend\r\nKeep-Alive: timeout=5, max=100\r\nX-Backend: b1\r\nContent-Length: 2\r\n\r\nok";
        let own = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 2\r\n\r\nok";
        let f = proxied_with(IN, OUT_CLEAN, origin, origin, 1.0).findings_of("C007");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].client, "10.0.0.1:40000");
        assert_eq!(f[0].evidence["message"], "response");
        assert_eq!(
            f[0].evidence["forwarded_fields"],
            serde_json::json!(["Connection", "Keep-Alive", "X-Backend"])
        );
        assert_eq!(f[0].evidence["incoming_server"], "10.0.0.3:80");
        // Same Keep-Alive, but beside the proxy's own keep-alive token and
        // with the origin's Connection removed: the proxy's own.
        assert!(proxied_with(IN, OUT_CLEAN, origin, own, 1.0)
            .findings_of("C007")
            .is_empty());
    }

    #[test]
    fn te_and_upgrade_count_unless_re_announced() {
        let inc = b"GET http://10.0.0.3/ws HTTP/1.1\r\nHost: 10.0.0.3\r\nConnection: Upgrade, TE\r\nUpgrade: websocket\r\nTE: trailers\r\n\r\n";
        let blind =
            b"GET /ws HTTP/1.1\r\nHost: 10.0.0.3\r\nUpgrade: websocket\r\nTE: trailers\r\n\r\n";
        let f = proxied(inc, blind, 1.0).findings_of("C007");
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].evidence["forwarded_fields"],
            serde_json::json!(["TE", "Upgrade"])
        );
        let own = b"GET /ws HTTP/1.1\r\nHost: 10.0.0.3\r\nConnection: upgrade, te\r\nUpgrade: websocket\r\nTE: trailers\r\n\r\n";
        assert!(proxied(inc, own, 1.0).findings_of("C007").is_empty());
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
        assert_eq!(
            (f[0].transaction, &f[0].evidence["message"]),
            (Some(0), &"response".into())
        );
        assert_eq!(
            f[0].evidence["fields"],
            serde_json::json!(["Proxy-Authorization"])
        );
        assert_eq!(f[0].evidence["status"], 200);
        assert_eq!(
            (f[1].transaction, &f[1].evidence["message"]),
            (Some(1), &"request".into())
        );
        assert_eq!(
            f[1].evidence["fields"],
            serde_json::json!(["Proxy-Authenticate"])
        );
        assert_eq!(f[2].evidence["fields"], serde_json::json!(["TE"]));
        assert!(f[0].message.contains("GET /clamps"));
    }

    #[test]
    fn right_direction_fields_are_fine() {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(
                50.0,
                b"GET / HTTP/1.1\r\nHost: a\r\nProxy-Authorization: Basic eA==\r\nTE: trailers\r\nConnection: TE\r\n\r\n",
            )
            .server(
                250.0,
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n",
            );
        assert!(t.findings_of("C007").is_empty());
    }

    #[test]
    fn targets_and_authorities() {
        assert_eq!(split_target("http://a:8080/x?y"), (Some("a:8080"), "/x?y"));
        assert_eq!(split_target("http://a"), (Some("a"), ""));
        assert_eq!(split_target("http://a?q"), (Some("a"), "?q"));
        assert_eq!(split_target("/x"), (None, "/x"));
        assert_eq!(authority_ip("198.18.1.2"), "198.18.1.2".parse().ok());
        assert_eq!(authority_ip("u@198.18.1.2:80"), "198.18.1.2".parse().ok());
        assert_eq!(
            authority_ip("[2001:db8::2]:8080"),
            "2001:db8::2".parse().ok()
        );
        assert_eq!(authority_ip("example.com:80"), None);
    }
}
