//! S003 too-many-parallel-connections.

use super::common::duration;
use crate::rules::api::*;
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

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// A connection that was open and is HTTP or TLS (or carried nothing at all).
fn counts(c: &ConnSummary) -> bool {
    c.established
        && c.in_use_until() > c.start_ts
        && (c.is_http || c.tls.is_some() || c.bytes == [0, 0])
}

/// HTTP or TLS, not a bare preconnect.
fn carries_data(c: &ConnSummary) -> bool {
    c.is_http || c.tls.is_some()
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
    /// Some connection open during the episode carried HTTP or TLS.
    any_http: bool,
}

/// Sweeps the open intervals of start-ordered `conns` and returns every
/// stretch with more than `max` open. A connection ending at the instant
/// another starts does not overlap it.
fn episodes(conns: &[&ConnSummary], max: usize) -> Vec<Episode> {
    // (time, 0 = end / 1 = start, index): ends first at equal times.
    let mut events: Vec<(Timestamp, u8, usize)> = Vec::with_capacity(conns.len().saturating_mul(2));
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
                .any(|&k| conns.get(k).is_some_and(|c| carries_data(c))),
        });
        e.opened.push(i);
        e.any_http |= conns.get(i).is_some_and(|c| carries_data(c));
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
