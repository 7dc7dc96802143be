//! The two legs of a proxy, a service of the capture index: the request a
//! proxy received (the incoming leg, on one connection) paired with the
//! request it sent on for it (the outgoing leg, on another), when both
//! connections are in the capture. C007 compares the two to find the
//! hop-by-hop fields the proxy passed on.
//!
//! Two requests are paired when they have the same method and target (an
//! absolute-form target `http://host/path` compares by its path, and by its
//! host when the outgoing target is absolute too or the host is an IP
//! address, which must then be the outgoing connection's server), the
//! outgoing one starts no earlier than the incoming one and within the
//! window, their clients are different hosts, their servers differ, and
//! either the incoming connection's server is the outgoing one's client (a
//! proxy with one address) or the incoming target is absolute-form (a request
//! addressed to a proxy, which may leave by another interface). Each incoming
//! request pairs with the first such outgoing one not yet paired. A reverse
//! proxy whose two legs use different addresses and origin-form targets
//! cannot be paired from the capture alone.

use super::index::{CaptureIndex, ConnSummary, RequestSummary};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

/// Candidate outgoing requests looked at per incoming one: a bound on the
/// work for very repetitive traffic (the same URL requested many times a
/// second).
const MAX_CANDIDATES: usize = 256;

/// One request in the index, with its target split for matching.
#[derive(Clone, Copy)]
pub struct Leg<'a> {
    pub conn: &'a ConnSummary,
    pub req: &'a RequestSummary,
    /// `host[:port]` of an absolute-form target.
    pub authority: Option<&'a str>,
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
pub struct ProxyPair<'a> {
    pub incoming: Leg<'a>,
    pub outgoing: Leg<'a>,
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

impl CaptureIndex {
    /// Pairs the two legs of proxied requests among the index's connections
    /// (see the module doc), the outgoing one at most `window` ns after the
    /// incoming one.
    pub fn proxy_pairs(&self, window: i64) -> Vec<ProxyPair<'_>> {
        let conns = self.by_start();
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
                pairs.push(ProxyPair {
                    incoming: i,
                    outgoing: *o,
                });
            }
        }
        pairs
    }
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

/// `http://host/path`: a request target addressed to a proxy.
pub fn is_absolute_form(uri: &str) -> bool {
    match uri.split_once(':') {
        Some((scheme, rest)) if !scheme.is_empty() => {
            scheme
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
                && rest.starts_with("//")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{authority_ip, is_absolute_form, split_target};

    #[test]
    fn absolute_form_targets() {
        assert!(is_absolute_form("http://a/b"));
        assert!(is_absolute_form("HTTPS://a:443"));
        assert!(!is_absolute_form("/a:b://c"));
        assert!(!is_absolute_form("a.example:443"));
        assert!(!is_absolute_form("*"));
        assert!(!is_absolute_form("://x"));
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
