//! S003 too-many-parallel-connections.

use super::common::duration;
use super::holds::Holds;
use crate::rules::api::*;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::net::{IpAddr, SocketAddr};

pub struct TooManyParallelConnections;

static META: RuleMeta = RuleMeta {
    code: "S003",
    name: "too-many-parallel-connections",
    family: Family::Setup,
    severity: Severity::Warning,
    summary: "More than max_parallel connections from one client host to one server endpoint were open at once",
    doc: r#"## What it detects
More than `max_parallel` connections from one client host (address, any port) to one server
endpoint (address and port) open at the same instant. A connection is open from its SYN (or
its first packet, if the capture began after the SYN) until it starts to close (its first FIN
or RST, or its last data if a response was still arriving after that): a connection already
closing is being replaced, not used. A connection that never closes in the capture is open
until its last packet, and an idle keep-alive connection counts while it sits in the pool. Counted are connections that carried HTTP, TLS
connections (HTTPS, whose HTTP is encrypted: the connection is what counts here), and
connections that were established but carried no data at all (preconnects); other traffic to
the same port (anything connlint reads as neither HTTP nor TLS) is not. Each stretch of time with
too many open is reported once, on the connection whose opening crossed the limit, with the
peak and the ids and client ports of the connections open at the peak.

## Why it matters
HTTP/1.1 can carry only one request at a time per connection, so clients open several
connections to fetch in parallel; RFC 2616 asked for at most 2, and browsers settled on 6 per
host. Beyond that, every extra connection pays its own handshake and slow start, the
connections compete with each other for the same bottleneck (each one's congestion control
thinks it is alone, so together they are more aggressive than one flow and cause more loss),
and the server holds a socket, buffers and often a worker per connection. A client opening
many connections to one server is usually a pool without a bound, or a fan-out of requests
that should be queued.

## Example
```text
connection 6 10.0.0.1:41027 -> 10.0.0.2:80
  warning S003 too-many-parallel-connections: 8 connections from 10.0.0.1 to 10.0.0.2:80 were
  open at the same time (more than 6) for 463.3 ms ...
```

## How to fix
Bound the client's connection pool per host (6 is the browsers' number) and queue requests
beyond it; reuse connections with keep-alive instead of opening new ones for each request; for
many concurrent requests to one server, use HTTP/2 or HTTP/3, which multiplex them on one
connection.

## Options
- `max_parallel` (6): the most connections from one client host to one server endpoint that
  may be open at once.
"#,
    options: &[OptionSpec {
        key: "max_parallel",
        default: 6.0,
        doc: "most connections from one client host to one server endpoint open at once",
        integer: true,
    }],
};

/// Ids and ports listed in evidence at most.
const MAX_LISTED: usize = 64;

impl Rule for TooManyParallelConnections {
    /// Connections relate while they are open at the same time.
    fn horizon(&self, _: &RuleSettings) -> Option<i64> {
        Some(0)
    }

    fn cross(&self, s: &RuleSettings) -> Option<Box<dyn CrossRule>> {
        Some(Box::new(Parallel::new(s.get("max_parallel") as usize)))
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// A connection that was open and is HTTP or TLS (or carried nothing at all).
fn counts(c: &ConnSummary<'_>) -> bool {
    c.established
        && c.in_use_until() > c.start_ts
        && (c.is_http || c.tls.is_some() || c.bytes == [0, 0])
}

/// HTTP or TLS, not a bare preconnect.
fn carries_data(c: &ConnSummary<'_>) -> bool {
    c.is_http || c.tls.is_some()
}

/// A stretch of time with more than the limit open.
#[derive(Debug)]
struct Episode {
    /// The connection whose opening crossed the limit: id, port.
    anchor: (u64, u16),
    start: Timestamp,
    peak: usize,
    peak_ts: Timestamp,
    /// The connections open at the (first) peak, at most [`MAX_LISTED`]:
    /// id, port.
    at_peak: Vec<(u64, u16)>,
    /// The connections opened during the episode, the anchor first.
    opened: u64,
    /// Some connection open during the episode carried HTTP or TLS.
    any_http: bool,
    /// Reported before its end (it went on longer than rules wait).
    reported: bool,
}

/// The counted connections of one client host to one server endpoint.
#[derive(Debug, Default)]
struct Group {
    key: Option<(IpAddr, SocketAddr)>,
    /// Open now, by (start, id): port, HTTP.
    open: BTreeMap<(Timestamp, u64), (u16, bool)>,
    current: Option<Episode>,
    /// Connections of the group whose end has not been swept yet.
    conns: u32,
}

/// A counted connection until its end is swept.
#[derive(Debug)]
struct Conn {
    group: u32,
    start: Timestamp,
    port: u16,
    http: bool,
}

/// Which end of a connection's open interval; ends sweep first at equal
/// times (a connection ending at the instant another starts does not
/// overlap it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Edge {
    End,
    Start,
}

/// One end of a connection's interval in the sweep: when, which end, and
/// the connection (start, id).
type Sweep = (Timestamp, Edge, (Timestamp, u64));

/// S003's state over a capture: the sweep of every group's open intervals,
/// in time order, as far as the settled time (every interval that began
/// before it is known, and so is every end before it). Each stretch with
/// more than `max` open is reported on the connection whose opening
/// crossed the limit, when it ends (or once it has gone on for
/// [`MAX_PENDING_NS`]).
struct Parallel {
    max: usize,
    steps: BinaryHeap<Reverse<Sweep>>,
    conns: FxHashMap<u64, Conn>,
    group_of: FxHashMap<(IpAddr, SocketAddr), u32>,
    groups: Vec<Group>,
    free_groups: Vec<u32>,
    /// Groups in an episode not yet reported, by its start.
    going: BTreeSet<(Timestamp, u32)>,
    holds: Holds,
}

impl Parallel {
    fn new(max: usize) -> Parallel {
        Parallel {
            max,
            steps: BinaryHeap::new(),
            conns: FxHashMap::default(),
            group_of: FxHashMap::default(),
            groups: Vec::new(),
            free_groups: Vec::new(),
            going: BTreeSet::new(),
            holds: Holds::default(),
        }
    }

    fn group(&mut self, key: (IpAddr, SocketAddr)) -> u32 {
        if let Some(&g) = self.group_of.get(&key) {
            return g;
        }
        let g = Group {
            key: Some(key),
            ..Group::default()
        };
        let i = match self.free_groups.pop() {
            Some(i) => {
                if let Some(slot) = self.groups.get_mut(i as usize) {
                    *slot = g;
                }
                i
            }
            None => {
                self.groups.push(g);
                u32::try_from(self.groups.len().saturating_sub(1)).unwrap_or(u32::MAX)
            }
        };
        self.group_of.insert(key, i);
        i
    }

    fn start(&mut self, ts: Timestamp, id: u64) {
        self.holds.release(id);
        let Some(c) = self.conns.get(&id) else {
            return;
        };
        let (g, key, port, http) = (c.group, (c.start, id), c.port, c.http);
        let max = self.max;
        let Some(group) = self.groups.get_mut(g as usize) else {
            return;
        };
        group.open.insert(key, (port, http));
        let open = group.open.len();
        if open <= max {
            return;
        }
        let new = group.current.is_none();
        let e = group.current.get_or_insert_with(|| Episode {
            anchor: (id, port),
            start: ts,
            peak: 0,
            peak_ts: ts,
            at_peak: Vec::new(),
            opened: 0,
            any_http: group.open.values().any(|(_, http)| *http),
            reported: false,
        });
        e.opened = e.opened.saturating_add(1);
        e.any_http |= http;
        if open > e.peak {
            e.peak = open;
            e.peak_ts = ts;
            e.at_peak = group
                .open
                .iter()
                .take(MAX_LISTED)
                .map(|((_, id), (port, _))| (*id, *port))
                .collect();
        }
        if new {
            self.going.insert((ts, g));
            self.holds.hold(id);
        }
    }

    fn end(&mut self, ts: Timestamp, id: u64, out: &mut CrossOut) {
        let Some(c) = self.conns.remove(&id) else {
            return;
        };
        let max = self.max;
        let g = c.group;
        let Some(group) = self.groups.get_mut(g as usize) else {
            return;
        };
        group.open.remove(&(c.start, id));
        group.conns = group.conns.saturating_sub(1);
        if group.open.len() <= max {
            if let Some(e) = group.current.take() {
                self.going.remove(&(e.start, g));
                self.close(g, e, ts, out);
            }
        }
        self.drop_if_idle(g);
    }

    /// Reports episode `e` of group `g`, over at `end` (or still going on).
    fn close(&mut self, g: u32, e: Episode, end: Timestamp, out: &mut CrossOut) {
        if !e.reported {
            self.holds.release(e.anchor.0);
            if e.any_http {
                if let Some(key) = self.groups.get(g as usize).and_then(|g| g.key) {
                    out.findings.push(report(key, &e, end, self.max));
                }
            }
        }
    }

    fn drop_if_idle(&mut self, g: u32) {
        let Some(group) = self.groups.get_mut(g as usize) else {
            return;
        };
        if group.conns == 0 && group.current.is_none() {
            if let Some(key) = group.key.take() {
                self.group_of.remove(&key);
            }
            *group = Group::default();
            self.free_groups.push(g);
        }
    }
}

impl CrossRule for Parallel {
    fn add(&mut self, c: &ConnSummary<'_>, _out: &mut CrossOut) {
        if !counts(c) {
            return;
        }
        let g = self.group((c.client_host(), c.server));
        if let Some(group) = self.groups.get_mut(g as usize) {
            group.conns = group.conns.saturating_add(1);
        }
        self.conns.insert(
            c.id,
            Conn {
                group: g,
                start: c.start_ts,
                port: c.client.port(),
                http: carries_data(c),
            },
        );
        // Until its opening is swept, it may be the one that crosses.
        self.holds.hold(c.id);
        let order = (c.start_ts, c.id);
        self.steps.push(Reverse((c.start_ts, Edge::Start, order)));
        self.steps
            .push(Reverse((c.in_use_until(), Edge::End, order)));
    }

    fn settle(&mut self, settled: Timestamp, _exact: bool, out: &mut CrossOut) {
        while let Some(&Reverse((at, edge, (_, id)))) = self.steps.peek() {
            if at >= settled {
                break;
            }
            self.steps.pop();
            match edge {
                Edge::Start => self.start(at, id),
                Edge::End => self.end(at, id, out),
            }
        }
        // A stretch that goes on and on is reported once it has lasted as
        // long as rules wait, with what it has been so far.
        while let Some(&(start, g)) = self.going.first() {
            if settled.since(start) <= MAX_PENDING_NS {
                break;
            }
            self.going.remove(&(start, g));
            let e = self
                .groups
                .get_mut(g as usize)
                .and_then(|grp| grp.current.as_mut())
                .filter(|e| !e.reported)
                .map(|e| {
                    e.reported = true;
                    (e.anchor.0, e.any_http)
                });
            if let Some((anchor, any_http)) = e {
                self.holds.release(anchor);
                let key = self.groups.get(g as usize).and_then(|grp| grp.key);
                let e = self
                    .groups
                    .get(g as usize)
                    .and_then(|grp| grp.current.as_ref());
                if let (Some(key), Some(e), true) = (key, e, any_http) {
                    out.findings.push(report(key, e, settled, self.max));
                }
            }
        }
    }

    fn holds(&self) -> Option<u64> {
        self.holds.earliest()
    }

    fn bound(&mut self, max: usize, out: &mut CrossOut) -> bool {
        if self.conns.len() <= max {
            return false;
        }
        while self.conns.len() > max / 2 {
            let Some(Reverse((at, edge, (_, id)))) = self.steps.pop() else {
                break;
            };
            match edge {
                Edge::Start => self.start(at, id),
                Edge::End => self.end(at, id, out),
            }
        }
        true
    }
}

fn report(
    (host, server): (IpAddr, SocketAddr),
    e: &Episode,
    end: Timestamp,
    max: usize,
) -> Finding {
    let ids: Vec<u64> = e.at_peak.iter().map(|(id, _)| *id).collect();
    let ports: Vec<u16> = e.at_peak.iter().map(|(_, port)| *port).collect();
    let over = end.since(e.start);
    let message = format!(
        "{} connections from {host} to {server} were open at the same time (more than {max}) for \
         {}: each extra connection pays its own handshake and slow start and competes with \
         the others for the same path; bound the client's pool to {max} per host and reuse \
         connections (keep-alive), or multiplex with HTTP/2",
        e.peak,
        duration(over),
    );
    let (anchor, port) = e.anchor;
    Finding::on(
        &META,
        (anchor, SocketAddr::new(host, port), server),
        e.start,
        message,
    )
    .with("max_open", e.peak)
    .with("max_parallel", max)
    .with_ms("over_limit_ms", over)
    .with_ms("peak_after_ms", e.peak_ts.since(e.start))
    .with("opened_while_over", e.opened)
    .with("connection_ids", ids)
    .with("client_ports", ports)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline, OK};
    use serde_json::json;

    const GET: &[u8] = b"GET /img/tile.png HTTP/1.1\r\nHost: example.com\r\n\r\n";

    /// A connection from `client` to 10.0.0.2:80 open from `from` (SYN) to
    /// `to` (the client's FIN; the server's follows at +1, the last ACK at
    /// +2), with one exchange.
    fn conn(t: &mut Timeline, client: &str, from: f64, to: f64) {
        t.connection(client, "10.0.0.2:80");
        t.handshake(from, 1.0)
            .client(from + 1.0, GET)
            .server(from + 2.0, OK)
            .close(to);
    }

    /// `n` connections from 10.0.0.1 ports `first_port`..., the k-th opened
    /// at `at + k` ms, all open until `to`.
    fn burst(t: &mut Timeline, n: u16, first_port: u16, at: f64, to: f64) {
        for k in 0..n {
            conn(
                t,
                &format!("10.0.0.1:{}", first_port + k),
                at + f64::from(k),
                to,
            );
        }
    }

    /// [`burst`] of `n` from port 41021 at 0 ms, open until 500 ms.
    fn burst_of(n: u16) -> Timeline {
        let mut t = Timeline::new();
        burst(&mut t, n, 41021, 0.0, 500.0);
        t
    }

    #[test]
    fn fires_on_the_connection_that_crossed_the_limit() {
        let f = only(burst_of(8).findings_of("S003"));
        assert_eq!((f.connection, f.client.as_str()), (6, "10.0.0.1:41027"));
        // Over the limit from the 7th SYN (6 ms) until the first of the
        // eight closes (500 ms), which leaves 7 — still over — so until the
        // second closes, also at 500 ms.
        assert_evidence(
            &f,
            json!({"max_open": 8, "max_parallel": 6, "opened_while_over": 2, "over_limit_ms": 494.0, "peak_after_ms": 1.0}),
        );
        let ports: Vec<u16> = (41021..=41028).collect();
        assert_evidence(&f, json!({"client_ports": ports}));
        assert_says(&f, "8 connections from 10.0.0.1 to 10.0.0.2:80");
    }

    #[test]
    fn limit_edges() {
        let found = |n: u16, max: f64| {
            burst_of(n)
                .findings_with("S003", &[("max_parallel", max)])
                .len()
        };
        assert_eq!((found(6, 6.0), found(7, 6.0)), (0, 1));
        assert_eq!((found(7, 7.0), found(3, 2.0)), (0, 1));
    }

    #[test]
    fn touching_intervals_do_not_overlap() {
        // Six: the first open until 100 ms, five more until 200 ms; a
        // seventh opens at `seventh`.
        let six_and = |seventh: f64| {
            let mut t = Timeline::new();
            conn(&mut t, "10.0.0.1:41021", 0.0, 100.0);
            burst(&mut t, 5, 41022, 1.0, 200.0);
            conn(&mut t, "10.0.0.1:41030", seventh, 300.0);
            t.findings_of("S003")
        };
        // Exactly when the first starts to close (its FIN at 100 ms): never
        // seven at once.
        assert!(six_and(100.0).is_empty());
        // Nor while the first is closing (its last ACK is at 102 ms): the
        // client is replacing that connection, not adding one.
        assert!(six_and(101.0).is_empty());
        // ... but one microsecond before the FIN, it overlaps.
        assert_eq!(only(six_and(99.999)).client, "10.0.0.1:41030");
    }

    #[test]
    fn grouped_by_client_host_and_server_endpoint() {
        // 4 + 4 from two client hosts: neither has more than 6.
        let mut t = Timeline::new();
        for k in 0..8u16 {
            let client = format!("10.0.0.{}:{}", 1 + 2 * (k % 2), 41021 + k);
            conn(&mut t, &client, f64::from(k), 500.0);
        }
        assert!(t.findings_of("S003").is_empty());
        // 4 + 4 to two ports of the server: neither endpoint has more than 6.
        let mut t = Timeline::new();
        for k in 0..8u16 {
            let server = format!("10.0.0.2:{}", 80 + k % 2);
            t.connection(&format!("10.0.0.1:{}", 41021 + k), &server);
            let at = f64::from(k);
            t.handshake(at, 1.0)
                .client(at + 1.0, GET)
                .server(at + 2.0, OK);
            t.close(498.0);
        }
        assert!(t.findings_of("S003").is_empty());
    }

    #[test]
    fn each_stretch_is_reported_once() {
        // Two bursts of 8, a second apart: two findings, one per burst, on
        // each burst's 7th connection.
        let mut t = burst_of(8);
        burst(&mut t, 8, 42021, 1500.0, 2000.0);
        let on: Vec<u64> = t.findings_of("S003").iter().map(|f| f.connection).collect();
        assert_eq!(on, [6, 14]);
        // A count that dips to 7 and comes back to 8 is still one stretch.
        let mut t = Timeline::new();
        conn(&mut t, "10.0.0.1:41021", 0.0, 200.0);
        burst(&mut t, 7, 41022, 1.0, 500.0);
        conn(&mut t, "10.0.0.1:41099", 300.0, 500.0);
        let f = only(t.findings_of("S003"));
        assert_eq!(f.evidence["opened_while_over"], 3);
    }

    #[test]
    fn a_connection_never_closed_is_open_until_its_last_packet() {
        // Six that went quiet at 2-7 ms do not overlap a seventh opened at
        // 100 ms, not until the capture ends ...
        let mut t = Timeline::new();
        for k in 0..6u16 {
            let at = f64::from(k);
            t.connection(&format!("10.0.0.1:{}", 41021 + k), "10.0.0.2:80");
            t.handshake(at, 1.0)
                .client(at + 1.0, GET)
                .server(at + 2.0, OK);
        }
        t.connection("10.0.0.1:41099", "10.0.0.2:80");
        t.handshake(100.0, 1.0).client(101.0, GET).server(102.0, OK);
        t.client(1000.0, GET).server(1001.0, OK);
        assert!(t.findings_of("S003").is_empty());
        // ... until each of them carries another exchange at 150 ms.
        for n in 1..=6 {
            t.on(n).client(150.0, GET).server(151.0, OK);
        }
        assert_eq!(only(t.findings_of("S003")).client, "10.0.0.1:41099");
    }

    #[test]
    fn tls_connections_count_and_other_protocols_do_not() {
        use crate::tls::build::{app_data, ClientHello, ServerHello};
        // Seven TLS connections to one server, open together.
        let mut t = Timeline::new();
        for k in 0..7u16 {
            t.connection(&format!("10.0.0.1:{}", 41021 + k), "10.0.0.2:443");
            let at = f64::from(k);
            let ready = t.tls13_handshake(
                at,
                1.0,
                &ClientHello::new().tls13(),
                &ServerHello::new().version(0x0304),
            );
            t.client(ready, &app_data(100))
                .server(ready + 1.0, &app_data(100))
                .close(498.0);
        }
        let f = only(t.findings_of("S003"));
        assert_evidence(&f, json!({"max_open": 7}));
    }

    #[test]
    fn non_http_connections_do_not_count() {
        // Seven connections carrying opaque bytes (a record header, but no
        // ClientHello in it: not TLS) and no HTTP.
        let mut t = Timeline::new();
        for k in 0..7u16 {
            t.connection(&format!("10.0.0.1:{}", 41021 + k), "10.0.0.2:80");
            let at = f64::from(k);
            t.handshake(at, 1.0)
                .client(at + 1.0, b"\x16\x03\x01\x00\x05hello");
            t.server(at + 2.0, b"\x16\x03\x03\x00\x02ok").close(498.0);
        }
        assert!(t.findings_of("S003").is_empty());
    }

    #[test]
    fn a_stretch_longer_than_the_index_horizon_is_reported_once() {
        // A connection every 2 s, each open 20 s, for 700 s: about ten open
        // at any time. The index runs the rules and evicts the oldest
        // connections while the stretch goes on; what is left must not look
        // like a new stretch.
        let mut t = Timeline::new();
        for k in 0..350u16 {
            let at = f64::from(k) * 2000.0;
            conn(
                &mut t,
                &format!("10.0.0.1:{}", 20000 + k),
                at,
                at + 20_000.0,
            );
        }
        let f = only(t.findings_of("S003"));
        assert_eq!((f.connection, &f.evidence["max_open"]), (6, &json!(10)));
    }
}
