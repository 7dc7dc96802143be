//! S003 too-many-parallel-connections.

use super::common::duration;
use crate::rules::api::{
    CaptureIndex, ConnSummary, Family, Finding, OptionSpec, Rule, RuleMeta, RuleSettings, Severity,
};
use crate::Timestamp;
use std::collections::BTreeSet;
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
until its last packet, and an idle keep-alive connection counts while it sits in the pool. Counted are connections that carried HTTP and
connections that were established but carried no data at all (preconnects); other traffic to
the same port (TLS, anything connlint cannot read as HTTP) is not. Each stretch of time with
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
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_capture(&self, index: &CaptureIndex, s: &RuleSettings, out: &mut Vec<Finding>) {
        let max = s.get("max_parallel") as usize;
        for (key, conns) in index.by_client_host_and_server(counts) {
            if conns.len() <= max {
                continue;
            }
            for episode in episodes(&conns, max) {
                report(index, key, &conns, &episode, max, out);
            }
        }
    }
}

/// A connection that was open and is HTTP (or carried nothing at all).
fn counts(c: &ConnSummary) -> bool {
    c.established && c.in_use_until() > c.start_ts && (c.is_http || c.bytes == [0, 0])
}

/// A stretch of time with more than the limit open.
struct Episode {
    /// The connection whose opening crossed the limit.
    anchor: usize,
    start: Timestamp,
    end: Timestamp,
    peak: usize,
    peak_ts: Timestamp,
    /// The connections open at the (first) peak, at most [`MAX_LISTED`].
    at_peak: Vec<usize>,
    /// The connections opened during the episode, the anchor first.
    opened: Vec<usize>,
    /// Some connection open during the episode carried HTTP.
    any_http: bool,
}

/// Sweeps the open intervals of start-ordered `conns` and returns every
/// stretch with more than `max` open. A connection ending at the instant
/// another starts does not overlap it.
fn episodes(conns: &[&ConnSummary], max: usize) -> Vec<Episode> {
    // (time, 0 = end / 1 = start, index): ends first at equal times.
    let mut events: Vec<(Timestamp, u8, usize)> = Vec::with_capacity(conns.len() * 2);
    for (i, c) in conns.iter().enumerate() {
        events.push((c.start_ts, 1, i));
        events.push((c.in_use_until(), 0, i));
    }
    events.sort_unstable();
    let mut open: BTreeSet<usize> = BTreeSet::new();
    let mut current: Option<Episode> = None;
    let mut out = Vec::new();
    for (ts, kind, i) in events {
        if kind == 0 {
            open.remove(&i);
            if open.len() <= max {
                if let Some(mut e) = current.take() {
                    e.end = ts;
                    out.push(e);
                }
            }
            continue;
        }
        open.insert(i);
        if open.len() <= max {
            continue;
        }
        let e = current.get_or_insert_with(|| Episode {
            anchor: i,
            start: ts,
            end: ts,
            peak: 0,
            peak_ts: ts,
            at_peak: Vec::new(),
            opened: Vec::new(),
            any_http: open
                .iter()
                .any(|&k| conns.get(k).is_some_and(|c| c.is_http)),
        });
        e.opened.push(i);
        e.any_http |= conns.get(i).is_some_and(|c| c.is_http);
        if open.len() > e.peak {
            e.peak = open.len();
            e.peak_ts = ts;
            e.at_peak = open.iter().copied().take(MAX_LISTED).collect();
        }
    }
    out
}

fn report(
    index: &CaptureIndex,
    (host, server): (IpAddr, SocketAddr),
    conns: &[&ConnSummary],
    e: &Episode,
    max: usize,
    out: &mut Vec<Finding>,
) {
    if !e.any_http {
        return;
    }
    // Reported once: a later run may see the stretch with more of its
    // connections finished, or with its oldest evicted.
    let opened = e.opened.iter().filter_map(|&i| conns.get(i)).map(|c| c.id);
    if index.claim_group(META.code, opened) {
        return;
    }
    let Some(anchor) = conns.get(e.anchor) else {
        return;
    };
    let at_peak: Vec<&ConnSummary> = e
        .at_peak
        .iter()
        .filter_map(|&i| conns.get(i).copied())
        .collect();
    let ids: Vec<u64> = at_peak.iter().map(|c| c.id).collect();
    let ports: Vec<u16> = at_peak.iter().map(|c| c.client.port()).collect();
    let over = e.end.since(e.start);
    let message = format!(
        "{} connections from {host} to {server} were open at the same time (more than {max}) for \
         {}: each extra connection pays its own handshake and slow start and competes with \
         the others for the same path; bound the client's pool to {max} per host and reuse \
         connections (keep-alive), or multiplex with HTTP/2",
        e.peak,
        duration(over),
    );
    out.push(
        anchor
            .finding(&META, e.start, message)
            .with("max_open", e.peak)
            .with("max_parallel", max)
            .with_ms("over_limit_ms", over)
            .with_ms("peak_after_ms", e.peak_ts.since(e.start))
            .with("opened_while_over", e.opened.len())
            .with("connection_ids", ids)
            .with("client_ports", ports),
    );
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::Timeline;

    const GET: &[u8] = b"GET /img/tile.png HTTP/1.1\r\nHost: example.com\r\n\r\n";
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

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

    /// `n` connections from 10.0.0.1, the k-th opened at k ms, all open
    /// until 500 ms.
    fn burst(n: u16) -> Timeline {
        let mut t = Timeline::new();
        for k in 0..n {
            conn(
                &mut t,
                &format!("10.0.0.1:{}", 41021 + k),
                f64::from(k),
                500.0,
            );
        }
        t
    }

    #[test]
    fn fires_on_the_connection_that_crossed_the_limit() {
        let f = burst(8).findings_of("S003");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].connection, 6);
        assert_eq!(f[0].client, "10.0.0.1:41027");
        assert_eq!(f[0].evidence["max_open"], 8);
        assert_eq!(f[0].evidence["max_parallel"], 6);
        assert_eq!(f[0].evidence["opened_while_over"], 2);
        // Over the limit from the 7th SYN (6 ms) until the first of the
        // eight closes (500 ms), which leaves 7 — still over — so until the
        // second closes, also at 500 ms.
        assert_eq!(f[0].evidence["over_limit_ms"], 494.0);
        assert_eq!(f[0].evidence["peak_after_ms"], 1.0);
        assert_eq!(
            f[0].evidence["client_ports"],
            serde_json::json!([41021, 41022, 41023, 41024, 41025, 41026, 41027, 41028])
        );
        assert!(
            f[0].message
                .contains("8 connections from 10.0.0.1 to 10.0.0.2:80"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn limit_edges() {
        assert_eq!(burst(6).findings_of("S003").len(), 0);
        assert_eq!(burst(7).findings_of("S003").len(), 1);
        assert_eq!(
            burst(7)
                .findings_with("S003", &[("max_parallel", 7.0)])
                .len(),
            0
        );
        assert_eq!(
            burst(3)
                .findings_with("S003", &[("max_parallel", 2.0)])
                .len(),
            1
        );
    }

    #[test]
    fn touching_intervals_do_not_overlap() {
        // Six open until 100 ms; a seventh opens exactly when the first
        // starts to close (its FIN at 100 ms): never seven at once.
        let mut t = Timeline::new();
        conn(&mut t, "10.0.0.1:41021", 0.0, 100.0);
        for k in 1..6u16 {
            conn(
                &mut t,
                &format!("10.0.0.1:{}", 41021 + k),
                f64::from(k),
                200.0,
            );
        }
        conn(&mut t, "10.0.0.1:41030", 100.0, 300.0);
        assert!(t.findings_of("S003").is_empty());
        // Nor when it opens while the first is closing (its last ACK is at
        // 102 ms): the client is replacing that connection, not adding one.
        let mut t = Timeline::new();
        conn(&mut t, "10.0.0.1:41021", 0.0, 100.0);
        for k in 1..6u16 {
            conn(
                &mut t,
                &format!("10.0.0.1:{}", 41021 + k),
                f64::from(k),
                200.0,
            );
        }
        conn(&mut t, "10.0.0.1:41030", 101.0, 300.0);
        assert!(t.findings_of("S003").is_empty());
        // ... but one microsecond before the FIN, it overlaps.
        let mut t = Timeline::new();
        conn(&mut t, "10.0.0.1:41021", 0.0, 100.0);
        for k in 1..6u16 {
            conn(
                &mut t,
                &format!("10.0.0.1:{}", 41021 + k),
                f64::from(k),
                200.0,
            );
        }
        conn(&mut t, "10.0.0.1:41030", 99.999, 300.0);
        let f = t.findings_of("S003");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].client, "10.0.0.1:41030");
    }

    #[test]
    fn grouped_by_client_host_and_server_endpoint() {
        // 4 + 4 from two client hosts: neither has more than 6.
        let mut t = Timeline::new();
        for k in 0..8u16 {
            conn(
                &mut t,
                &format!("10.0.0.{}:{}", 1 + 2 * (k % 2), 41021 + k),
                f64::from(k),
                500.0,
            );
        }
        assert!(t.findings_of("S003").is_empty());
        // 4 + 4 to two ports of the server: neither endpoint has more than 6.
        let mut t = Timeline::new();
        for k in 0..8u16 {
            t.connection(
                &format!("10.0.0.1:{}", 41021 + k),
                &format!("10.0.0.2:{}", 80 + k % 2),
            );
            let at = f64::from(k);
            t.handshake(at, 1.0)
                .client(at + 1.0, GET)
                .server(at + 2.0, OK)
                .close(498.0);
        }
        assert!(t.findings_of("S003").is_empty());
    }

    #[test]
    fn each_stretch_is_reported_once() {
        // Two bursts of 8, a second apart: two findings, one per burst, on
        // each burst's 7th connection.
        let mut t = Timeline::new();
        for k in 0..8u16 {
            conn(
                &mut t,
                &format!("10.0.0.1:{}", 41021 + k),
                f64::from(k),
                500.0,
            );
        }
        for k in 0..8u16 {
            conn(
                &mut t,
                &format!("10.0.0.1:{}", 42021 + k),
                1500.0 + f64::from(k),
                2000.0,
            );
        }
        let f = t.findings_of("S003");
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!((f[0].connection, f[1].connection), (6, 14));
        // A connection never closed in the capture is open until its last
        // packet, not until the capture ends: six that went quiet at 2-7 ms
        // do not overlap a seventh opened at 100 ms ...
        let mut t = Timeline::new();
        for k in 0..6u16 {
            let at = f64::from(k);
            t.connection(&format!("10.0.0.1:{}", 41021 + k), "10.0.0.2:80");
            t.handshake(at, 1.0)
                .client(at + 1.0, GET)
                .server(at + 2.0, OK);
        }
        t.connection("10.0.0.1:41099", "10.0.0.2:80");
        t.handshake(100.0, 1.0)
            .client(101.0, GET)
            .server(102.0, OK)
            .client(1000.0, GET)
            .server(1001.0, OK);
        assert!(t.findings_of("S003").is_empty());
        // ... until each of them carries another exchange at 150 ms.
        for n in 1..=6 {
            t.on(n).client(150.0, GET).server(151.0, OK);
        }
        let f = t.findings_of("S003");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].client, "10.0.0.1:41099");

        // A count that dips to 7 and comes back to 8 is still one stretch.
        let mut t = Timeline::new();
        for k in 0..8u16 {
            let end = if k == 0 { 200.0 } else { 500.0 };
            conn(
                &mut t,
                &format!("10.0.0.1:{}", 41021 + k),
                f64::from(k),
                end,
            );
        }
        conn(&mut t, "10.0.0.1:41099", 300.0, 500.0);
        let f = t.findings_of("S003");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].evidence["opened_while_over"], 3);
    }

    #[test]
    fn non_http_connections_do_not_count() {
        // Seven connections carrying opaque (TLS-like) bytes and no HTTP.
        let mut t = Timeline::new();
        for k in 0..7u16 {
            t.connection(&format!("10.0.0.1:{}", 41021 + k), "10.0.0.2:80");
            let at = f64::from(k);
            t.handshake(at, 1.0)
                .client(at + 1.0, b"\x16\x03\x01\x00\x05hello")
                .server(at + 2.0, b"\x16\x03\x03\x00\x02ok")
                .close(498.0);
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
        let f = t.findings_of("S003");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].connection, 6);
        assert_eq!(f[0].evidence["max_open"], 10);
    }
}
