//! The two legs of a proxy, a service of the capture's cross-connection
//! state: the request a proxy received (the incoming leg, on one
//! connection) paired with the request it sent on for it (the outgoing leg,
//! on another), when both connections are in the capture. C007 compares the
//! two to find the hop-by-hop fields the proxy passed on.
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
//!
//! [`ProxyLegs`] pairs them as the capture's clock advances: each request
//! is kept, compactly, for the window; an incoming leg is paired once every
//! connection that began before the end of its window has finished, in the
//! order of the incoming requests' times, as over the whole capture at once.
//! Candidates are found by the outgoing leg's client address and target, so
//! a request addressed by origin form to a host that sends no requests (or
//! to itself: loopback traffic) costs one lookup, and the work follows the
//! hosts that can be proxies; only an absolute-form request (addressed to a
//! proxy) looks at every client's.
//!
//! A request is an incoming leg only if its server host may be a proxy: it
//! has opened a connection by the time the request's own connection
//! finishes (a proxy opens the connection it forwards on before it answers;
//! see [`ProxyLegs::opened`]). On traffic between clients and origin
//! servers, then, no request waits to be paired and none holds the
//! findings of later connections back.

use super::index::ConnSummary;
use crate::http::{FieldNames, HeaderFacts};
use crate::Timestamp;
use rustc_hash::{FxHashMap, FxHasher};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};

/// Hosts remembered as having opened a connection (possible proxies);
/// past it, every host is taken for one.
const MAX_OPENERS: usize = 1 << 16;

/// Candidate outgoing requests looked at per incoming one: a bound on the
/// work for very repetitive traffic (the same URL requested many times a
/// second).
const MAX_CANDIDATES: usize = 256;

/// What C007 compares of one message: its header facts when it carries any
/// hop-by-hop field (else the defaults), and which fields it carried.
#[derive(Clone, Debug)]
pub struct LegMessage {
    headers: Option<Box<HeaderFacts>>,
    pub names: FieldNames,
}

impl LegMessage {
    fn of(h: &HeaderFacts) -> LegMessage {
        let hop = !h.connection.others.is_empty()
            || h.keep_alive.is_some()
            || h.proxy_connection.is_some()
            || h.hop_by_hop.te
            || h.hop_by_hop.upgrade;
        LegMessage {
            headers: hop.then(|| {
                Box::new(HeaderFacts {
                    field_names: FieldNames::default(),
                    ..h.clone()
                })
            }),
            names: h.field_names.clone(),
        }
    }

    /// The message's hop-by-hop facts (defaults when it had none).
    pub fn headers(&self) -> std::borrow::Cow<'_, HeaderFacts> {
        match &self.headers {
            Some(h) => std::borrow::Cow::Borrowed(h),
            None => std::borrow::Cow::Owned(HeaderFacts::default()),
        }
    }

    /// Whether it carries any hop-by-hop field.
    pub fn has_hop_by_hop(&self) -> bool {
        self.headers.is_some()
    }
}

/// One request kept for pairing.
#[derive(Clone, Debug)]
pub struct Leg {
    pub connection: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Transaction index within its connection.
    pub index: u64,
    pub method: Box<str>,
    pub uri: Box<str>,
    /// First byte of the request.
    pub ts: Timestamp,
    pub request: LegMessage,
    pub response: Option<LegMessage>,
    /// Where in `uri` the path and query start (after the authority and
    /// the leading `/`), and the authority's end, if absolute-form.
    path_at: usize,
    authority_end: Option<usize>,
    used: bool,
}

impl Leg {
    /// `host[:port]` of an absolute-form target.
    pub fn authority(&self) -> Option<&str> {
        let end = self.authority_end?;
        let start = self.uri.find("://")?.saturating_add(3);
        self.uri.get(start..end)
    }

    /// The path and query, without the leading `/` (an absolute-form
    /// target `http://a?q` and its origin-form `/?q` then agree).
    fn path(&self) -> &str {
        self.uri.get(self.path_at..).unwrap_or("")
    }

    fn order(&self) -> (Timestamp, u64, u64) {
        (self.ts, self.connection, self.index)
    }
}

/// An incoming request and the request the proxy sent on for it.
pub struct ProxyPair<'a> {
    pub incoming: &'a Leg,
    pub outgoing: &'a Leg,
}

/// Method and path, hashed (compared in full when matched).
fn target_key(method: &str, path: &str) -> u64 {
    let mut h = FxHasher::default();
    (method, path).hash(&mut h);
    h.finish()
}

/// A request in a queue: its order (time, connection, transaction) and
/// its slot.
type Queued = ((Timestamp, u64, u64), u32);

/// The requests of the last window, for pairing as the clock advances.
#[derive(Default)]
pub struct ProxyLegs {
    window: i64,
    legs: Vec<Option<Leg>>,
    free: Vec<u32>,
    /// Slots by the client's address and target, in request order.
    by_client: FxHashMap<(IpAddr, u64), VecDeque<u32>>,
    /// Slots by target, in request order (for absolute-form requests).
    by_target: FxHashMap<u64, VecDeque<u32>>,
    /// Requests that may be incoming legs, paired when settled.
    incoming: BinaryHeap<Reverse<Queued>>,
    /// Every request, forgotten when no incoming leg can want it.
    expiry: BinaryHeap<Reverse<Queued>>,
    /// Connections whose requests are not paired yet (they may get a
    /// finding), with how many each.
    holds: BTreeMap<u64, u32>,
    /// The hosts that have opened a connection, when told
    /// ([`ProxyLegs::opened`]); `None`: not told, or too many, and any
    /// host may be a proxy.
    openers: Option<rustc_hash::FxHashSet<IpAddr>>,
    /// More than [`MAX_OPENERS`] hosts opened connections.
    openers_full: bool,
}

impl ProxyLegs {
    /// Pairs requests at most `window` ns apart.
    pub fn new(window: i64) -> ProxyLegs {
        ProxyLegs {
            window,
            ..ProxyLegs::default()
        }
    }

    /// A connection from `client` opened. A proxy opens the connection it
    /// forwards a request on before it answers that request, so before the
    /// connection it came in on can finish: a request whose server host has
    /// opened no connection by the time its own connection is added cannot
    /// be an incoming leg (it is kept only as a candidate), and holds
    /// nothing back.
    pub fn opened(&mut self, client: IpAddr) {
        if self.openers_full {
            return;
        }
        let set = self.openers.get_or_insert_with(Default::default);
        if set.len() >= MAX_OPENERS && !set.contains(&client) {
            self.openers = None;
            self.openers_full = true;
            return;
        }
        set.insert(client);
    }

    /// Whether `host` may be a proxy: it has opened a connection (or the
    /// openers are not known).
    fn may_forward(&self, host: IpAddr) -> bool {
        self.openers.as_ref().is_none_or(|s| s.contains(&host))
    }

    /// Keeps the requests of a finished connection.
    pub fn add(&mut self, c: &ConnSummary<'_>) {
        for r in c.requests() {
            let (authority, path) = split_target(r.uri);
            let authority_end = authority.map(|a| {
                let start = r.uri.find("://").map_or(0, |i| i.saturating_add(3));
                start.saturating_add(a.len())
            });
            let path_start = r.uri.len().saturating_sub(path.len());
            let path_at = if path.starts_with('/') {
                path_start.saturating_add(1)
            } else {
                path_start
            };
            let leg = Leg {
                connection: c.id,
                client: c.client,
                server: c.server,
                index: r.index,
                method: r.method.into(),
                uri: r.uri.into(),
                ts: r.ts,
                request: LegMessage::of(r.headers),
                response: r.response_headers.map(LegMessage::of),
                path_at,
                authority_end,
                used: false,
            };
            let key = target_key(&leg.method, leg.path());
            // Addressed by origin form to itself (loopback), a request has
            // no proxy's other leg: it is only a candidate.
            // An absolute-form request is addressed to a proxy, which may
            // forward it from another address.
            let may_come_in = leg.authority_end.is_some()
                || (c.client.ip() != c.server.ip() && self.may_forward(c.server.ip()));
            let order = leg.order();
            let slot = match self.free.pop() {
                Some(i) => {
                    if let Some(s) = self.legs.get_mut(i as usize) {
                        *s = Some(leg);
                    }
                    i
                }
                None => {
                    self.legs.push(Some(leg));
                    u32::try_from(self.legs.len().saturating_sub(1)).unwrap_or(u32::MAX)
                }
            };
            let legs = &self.legs;
            let at_order = |v: &VecDeque<u32>| {
                v.partition_point(|&i| {
                    legs.get(i as usize)
                        .and_then(Option::as_ref)
                        .is_some_and(|l| l.order() < order)
                })
            };
            let list = self.by_client.entry((c.client.ip(), key)).or_default();
            list.insert(at_order(list), slot);
            let list = self.by_target.entry(key).or_default();
            list.insert(at_order(list), slot);
            self.expiry.push(Reverse((order, slot)));
            if may_come_in {
                self.incoming.push(Reverse((order, slot)));
                let n = self.holds.entry(c.id).or_insert(0);
                *n = n.saturating_add(1);
            }
        }
    }

    /// Pairs every incoming leg whose window began before `settled -
    /// window` (every connection that began before its window ended has
    /// finished), in order, handing each pair to `pair`; then forgets the
    /// requests no incoming leg still to pair can want.
    pub fn settle(&mut self, settled: Timestamp, mut pair: impl FnMut(ProxyPair<'_>)) {
        let horizon = settled.add_nanos(self.window.saturating_neg());
        while self
            .incoming
            .peek()
            .is_some_and(|Reverse((order, _))| order.0 < horizon)
        {
            self.pair_next(&mut pair);
        }
        while let Some(&Reverse((order, slot))) = self.expiry.peek() {
            if order.0 >= horizon {
                break;
            }
            self.expiry.pop();
            self.forget(slot);
        }
    }

    /// Keeps at most `max` requests, pairing and forgetting the oldest
    /// early if it must; true if it had to.
    pub fn bound(&mut self, max: usize, mut pair: impl FnMut(ProxyPair<'_>)) -> bool {
        if self.len() <= max {
            return false;
        }
        while self.len() > max / 2 {
            let Some(Reverse((order, slot))) = self.expiry.pop() else {
                break;
            };
            while self
                .incoming
                .peek()
                .is_some_and(|Reverse((o, _))| *o <= order)
            {
                self.pair_next(&mut pair);
            }
            self.forget(slot);
        }
        true
    }

    /// Pairs the earliest incoming leg waiting.
    fn pair_next(&mut self, pair: &mut impl FnMut(ProxyPair<'_>)) {
        let Some(Reverse((_, slot))) = self.incoming.pop() else {
            return;
        };
        let Some(i) = self.legs.get(slot as usize).and_then(Option::as_ref) else {
            return;
        };
        let connection = i.connection;
        if let Some(o) = self.candidate(i) {
            if let Some(leg) = self.legs.get_mut(o as usize).and_then(Option::as_mut) {
                leg.used = true;
            }
            if let (Some(Some(incoming)), Some(Some(outgoing))) =
                (self.legs.get(slot as usize), self.legs.get(o as usize))
            {
                pair(ProxyPair { incoming, outgoing });
            }
        }
        if let Some(n) = self.holds.get_mut(&connection) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.holds.remove(&connection);
            }
        }
    }

    /// The first outgoing leg not yet paired that `i` can be paired with.
    fn candidate(&self, i: &Leg) -> Option<u32> {
        let key = target_key(&i.method, i.path());
        let list = match i.authority_end {
            // Addressed to a proxy, which may leave by any address.
            Some(_) => self.by_target.get(&key)?,
            // A proxy with one address sends from its server address.
            None if i.client.ip() != i.server.ip() => self.by_client.get(&(i.server.ip(), key))?,
            None => return None,
        };
        let leg = |s: u32| self.legs.get(s as usize).and_then(Option::as_ref);
        let start = list.partition_point(|&s| leg(s).is_some_and(|o| o.ts < i.ts));
        list.iter()
            .skip(start)
            .take(MAX_CANDIDATES)
            .filter_map(|&s| Some((s, leg(s)?)))
            .take_while(|(_, o)| o.ts.since(i.ts) <= self.window)
            .find(|(_, o)| {
                !o.used && *o.method == *i.method && o.path() == i.path() && forwards(i, o)
            })
            .map(|(s, _)| s)
    }

    fn forget(&mut self, slot: u32) {
        let Some(leg) = self.legs.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        self.free.push(slot);
        let key = target_key(&leg.method, leg.path());
        for list in [
            self.by_client.get_mut(&(leg.client.ip(), key)),
            self.by_target.get_mut(&key),
        ]
        .into_iter()
        .flatten()
        {
            // Requests are forgotten in order: it is nearly always the first.
            match list.iter().position(|&s| s == slot) {
                Some(0) => {
                    list.pop_front();
                }
                Some(i) => {
                    list.remove(i);
                }
                None => {}
            }
        }
        if self
            .by_client
            .get(&(leg.client.ip(), key))
            .is_some_and(VecDeque::is_empty)
        {
            self.by_client.remove(&(leg.client.ip(), key));
        }
        if self.by_target.get(&key).is_some_and(VecDeque::is_empty) {
            self.by_target.remove(&key);
        }
    }

    /// The lowest connection whose requests are not paired yet.
    pub fn holds(&self) -> Option<u64> {
        self.holds.keys().next().copied()
    }

    /// Requests kept.
    pub fn len(&self) -> usize {
        self.legs.len().saturating_sub(self.free.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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

/// Whether `o` can be the request a proxy sent on for `i` (same method and
/// path and the timing already hold).
fn forwards(i: &Leg, o: &Leg) -> bool {
    if i.connection == o.connection || i.server == o.server || i.client.ip() == o.client.ip() {
        return false;
    }
    if !(o.client.ip() == i.server.ip() || i.authority_end.is_some()) {
        return false;
    }
    match (i.authority(), o.authority()) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        (Some(x), None) => authority_ip(x).is_none_or(|ip| ip == o.server.ip()),
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
