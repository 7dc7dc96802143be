//! S002 connection-churn.

use super::common::{duration, request_line};
use crate::reassembly::Side;
use crate::rules::api::*;
use rustc_hash::FxHashMap;
use std::net::{IpAddr, SocketAddr};

pub struct ConnectionChurn;

static META: RuleMeta = RuleMeta {
    code: "S002",
    name: "connection-churn",
    family: Family::Setup,
    severity: Severity::Warning,
    summary:
        "One client opened a new connection to the same server for each request, one after another",
    doc: r#"## What it detects
At least `churn_min` HTTP connections from one client host to one server endpoint (address
and port) that each carried exactly one transaction, got a complete response and were then
closed (FIN or RST) — on TLS connections, whose HTTP is encrypted, one exchange of records
(one run of the client's application-data records and the server's whole answering run, as
S001 reads it) stands for the transaction — where each connection's SYN came no later than `churn_window_s` after an
earlier connection of the group closed (its first FIN or RST). Connections that overlap in time
do not link (they could not have shared one connection), but sequential chains that interleave
(a client with a few lanes, each opening a connection per request) form one group. The group
is reported once, on its last connection, with the ids and client ports of all the others.

One cause, one finding: S001 handshake-dominated on a connection of the chain says the same
thing one connection at a time, so those findings are folded into this one (its `folded`
evidence lists them, `folded_findings` counts them) unless configured more severe than it. The
handshakes' cost is in `handshakes_ms` (all of the chain's) and `saved_handshakes_ms` (all but
the first, which keeping one connection would have saved); on TLS connections these are the
whole setup, the TCP handshake plus the TLS one (ClientHello to both Finished messages), and `tls_connections` and `tls_resumed` say
how many of the chain were TLS and how many of those resumed a session.

## Why it matters
Every new connection costs a round trip of handshake before the request can leave, then
starts in slow start with a small congestion window, and leaves a TIME_WAIT entry behind on
the side that closed first. A client that makes requests one after another to the same server
and closes the connection after each pays all of that on every request; HTTP/1.1 connections
are persistent by default precisely so that the second and later requests skip it. Churn is
usually `Connection: close` on one side, a server with keep-alive disabled or a keep-alive
timeout shorter than the client's pause between requests, or a client without a connection
pool.

## Example
```text
connection 2 10.0.0.1:41013 -> 10.0.0.2:80
  warning S002 connection-churn: 3 connections from 10.0.0.1 to 10.0.0.2:80 (ports 41011,
  41012, 41013) each carried one request (first: GET /catalog?page=1) and were closed by the
  server, the next one opening at most 200.5 ms later: 2 of the 3 handshakes (101.5 ms) ...
```

## How to fix
Keep connections alive and reuse them: do not send `Connection: close` (HTTP/1.1 is
persistent by default; HTTP/1.0 needs `Connection: keep-alive` on both sides), enable
keep-alive on the server with a timeout longer than the client's pause between requests, and
give the client a connection pool (one session object, not one per request).

## Options
- `churn_min` (3): the fewest connections in a chain that is reported (at least 2).
- `churn_window_s` (10): the longest pause, in seconds, between one connection's close and
  the next one's SYN for the two to count as a chain.
"#,
    options: &[
        OptionSpec {
            key: "churn_min",
            default: 3.0,
            doc: "fewest one-request connections in a reported chain",
            integer: true,
        },
        OptionSpec {
            key: "churn_window_s",
            default: 10.0,
            doc: "longest pause between a close and the next SYN in a chain, in seconds",
            integer: false,
        },
    ],
};

/// Ids and ports listed in evidence at most.
const MAX_LISTED: usize = 50;
/// Rules whose findings on a chain's connections report the chain's cause
/// one connection at a time: S001 handshake-dominated.
const SUBSUMES: &[&str] = &["S001"];

impl Rule for ConnectionChurn {
    fn check_capture(&self, index: &CaptureIndex, s: &RuleSettings, out: &mut Vec<Finding>) {
        let min = (s.get("churn_min") as usize).max(2);
        let window_ns = s.s_as_ns("churn_window_s");
        for (key, conns) in index.by_client_host_and_server(is_one_shot) {
            if conns.len() < min {
                continue;
            }
            for chain in chains(&conns, window_ns) {
                if chain.members.len() >= min {
                    report(key, &conns, &chain, out);
                }
            }
        }
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// One HTTP transaction with a complete response, then the close; on a
/// TLS connection, one exchange of records (one run of the client's
/// application data and the server's whole answer), then the close.
fn is_one_shot(c: &ConnSummary) -> bool {
    let http = c.is_http
        && c.transactions == 1
        && c.requests.len() == 1
        && c.requests.iter().all(|r| r.answered);
    let tls = c.tls.as_ref().is_some_and(|t| t.one_exchange);
    (http || tls) && c.close_ts.is_some()
}

/// A group of connections linked by "opened within the window after the
/// previous one closed".
struct Chain {
    /// Indices into the start-ordered connections, in start order.
    members: Vec<usize>,
    /// The longest close-to-SYN pause in the chain, in nanoseconds.
    max_gap_ns: i64,
}

/// Links each connection (start-ordered) with every connection that closed
/// in the `window_ns` before its SYN, and returns the linked groups.
fn chains(conns: &[&ConnSummary], window_ns: i64) -> Vec<Chain> {
    let n = conns.len();
    let mut closes: Vec<(crate::Timestamp, usize)> = conns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some((c.close_ts?, i)))
        .collect();
    closes.sort();
    let mut parent: Vec<usize> = (0..n).collect();
    // next_open[k]: the first position >= k whose close is not yet joined
    // with the next one's, so that joining a run of closes costs nothing
    // the second time (a busy client has many closes in every window).
    let mut next_open: Vec<usize> = (0..closes.len()).collect();
    let mut gap = vec![0i64; n];
    for (j, c) in conns.iter().enumerate() {
        // Only a seen SYN says when a connection was opened.
        if !c.handshake_seen {
            continue;
        }
        let hi = closes.partition_point(|(t, _)| *t <= c.start_ts);
        let lo = closes.partition_point(|(t, _)| c.start_ts.since(*t) > window_ns);
        // A connection closes after its own SYN, so none of these is `j`.
        let Some(&(latest, i)) = closes.get(lo..hi).and_then(<[_]>::last) else {
            continue;
        };
        if let Some(g) = gap.get_mut(j) {
            *g = c.start_ts.since(latest);
        }
        union(&mut parent, i, j);
        let mut k = find(&mut next_open, lo);
        // `k + 1` is at most `hi`, a position in `closes`: it cannot overflow.
        while let Some(next) = k.checked_add(1).filter(|&next| next < hi) {
            if let (Some(&(_, a)), Some(&(_, b))) = (closes.get(k), closes.get(next)) {
                union(&mut parent, a, b);
            }
            if let Some(open) = next_open.get_mut(k) {
                *open = next;
            }
            k = find(&mut next_open, next);
        }
    }
    let mut by_root: FxHashMap<usize, Chain> = FxHashMap::default();
    for (j, g) in gap.iter().enumerate() {
        let root = find(&mut parent, j);
        let chain = by_root.entry(root).or_insert(Chain {
            members: Vec::new(),
            max_gap_ns: 0,
        });
        chain.members.push(j);
        chain.max_gap_ns = chain.max_gap_ns.max(*g);
    }
    let mut out: Vec<Chain> = by_root.into_values().collect();
    out.sort_by_key(|c| c.members.first().copied());
    out
}

/// The representative of `i`'s set (path halving). Used both for the
/// connection groups (a parent points to a smaller index) and for
/// `next_open` (a parent points to a larger one).
fn find(parent: &mut [usize], mut i: usize) -> usize {
    while let Some(&p) = parent.get(i) {
        if p == i {
            break;
        }
        let grand = parent.get(p).copied().unwrap_or(p);
        if let Some(slot) = parent.get_mut(i) {
            *slot = grand;
        }
        i = grand;
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        if let Some(slot) = parent.get_mut(ra.max(rb)) {
            *slot = ra.min(rb);
        }
    }
}

fn report(
    (host, server): (IpAddr, SocketAddr),
    conns: &[&ConnSummary],
    chain: &Chain,
    out: &mut Vec<Finding>,
) {
    let members: Vec<&ConnSummary> = chain
        .members
        .iter()
        .filter_map(|&i| conns.get(i).copied())
        .collect();
    let (Some(first), Some(last)) = (members.first(), members.last()) else {
        return;
    };
    let n = members.len();
    // The setup each paid: the TCP handshake, and the TLS one on TLS.
    let handshakes: Vec<i64> = members.iter().filter_map(|c| c.setup_ns).collect();
    // Saturates at i64::MAX ns (292 years), where a hostile capture's
    // timestamps could make the sum wrap.
    let handshake_total = handshakes.iter().fold(0i64, |a, &h| a.saturating_add(h));
    // The handshakes persistence would have saved: all but the first; when
    // some connections' handshakes were not seen, the seen ones' mean for
    // each of the n - 1 (in i128, which the product cannot overflow).
    let saved = if handshakes.len() == n {
        handshake_total.saturating_sub(handshakes.first().copied().unwrap_or(0))
    } else {
        let others = i128::from(handshake_total).saturating_mul(n.saturating_sub(1) as i128);
        let mean_times_others = others.checked_div(handshakes.len().max(1) as i128);
        mean_times_others.map_or(0, |ns| i64::try_from(ns).unwrap_or(i64::MAX))
    };
    let closers = |side: Side| {
        members
            .iter()
            .filter(|c| {
                c.first_closer() == Some(side)
                    || (c.first_closer().is_none() && c.rst.is_some_and(|(s, _)| s == side))
            })
            .count()
    };
    let (by_client, by_server) = (closers(Side::Client), closers(Side::Server));
    let closed_by = if by_server == n {
        "server"
    } else if by_client == n {
        "client"
    } else {
        "mixed"
    };
    let close_in_request = members
        .iter()
        .filter(|c| c.requests.iter().any(|r| r.headers.connection.close))
        .count();
    let close_in_response = members
        .iter()
        .filter(|c| {
            c.requests.iter().any(|r| {
                r.response_headers
                    .as_ref()
                    .is_some_and(|h| h.connection.close)
            })
        })
        .count();
    let ports: Vec<u16> = members.iter().map(|c| c.client.port()).collect();
    let port_list = match ports.split_last() {
        Some((last, rest)) if rest.len() >= 5 => format!("{} … {last}", join(rest.iter().take(3))),
        _ => join(&ports),
    };
    let what = first
        .requests
        .first()
        .map(|r| format!(" (first: {})", request_line(&r.method, &r.uri)))
        .unwrap_or_default();
    let who = match closed_by {
        "server" => " by the server",
        "client" => " by the client",
        _ => "",
    };
    let fix = if close_in_request == n {
        "the client sends `Connection: close`: drop it and reuse connections from a pool"
    } else if close_in_response == n {
        "the server answers `Connection: close`: enable keep-alive on it"
    } else if closed_by == "server" {
        "the server closes after each response: enable keep-alive, with a timeout longer than \
         the client's pause between requests"
    } else if closed_by == "client" {
        "the client closes after each response: keep the connection open and reuse it (a pool)"
    } else {
        "keep connections alive (HTTP/1.1 persistence) and reuse them from a pool"
    };
    let tls = members.iter().filter(|c| c.tls.is_some()).count();
    let (carried, handshakes_are) = if tls == n {
        (
            "one exchange of TLS records (one request and its response, as far as encrypted \
             records show)"
                .to_string(),
            "TCP and TLS handshakes",
        )
    } else {
        (format!("one request{what}"), "handshakes")
    };
    let message = format!(
        "{n} connections from {host} to {server} (ports {port_list}) each carried {carried} and \
         were closed{who}, the next one opening at most {} later: {} of the {n} {handshakes_are} \
         ({}) could have been saved by keeping one connection; {fix}",
        duration(chain.max_gap_ns),
        n.saturating_sub(1),
        duration(saved),
    );
    let ids: Vec<u64> = members.iter().take(MAX_LISTED).map(|c| c.id).collect();
    let listed_ports: Vec<u16> = ports.iter().take(MAX_LISTED).copied().collect();
    let mut f = last.finding(&META, last.start_ts, message);
    if tls > 0 {
        let resumed = members
            .iter()
            .filter(|c| {
                c.tls
                    .as_ref()
                    .is_some_and(|t| t.handshake == crate::tls::HandshakeKind::Resumed)
            })
            .count();
        f = f.with("tls_connections", tls).with("tls_resumed", resumed);
    }
    out.push(
        f.with("connections", n)
            .with("connection_ids", ids)
            .with("client_ports", listed_ports)
            .with_ms("max_gap_ms", chain.max_gap_ns)
            .with_ms("handshakes_ms", handshake_total)
            .with_ms("saved_handshakes_ms", saved)
            .with_ms("span_ms", last.end_ts.since(first.start_ts))
            .with("closed_by", closed_by)
            .with("requests_with_connection_close", close_in_request)
            .with("responses_with_connection_close", close_in_response)
            // Reported once: a later run that sees the chain grown, or its
            // head evicted, extends this finding (the engine matches it by
            // its connections). S001 on these connections is this cause
            // reported one connection at a time: folded into this finding.
            .covering(members.iter().map(|c| c.id), SUBSUMES),
    );
}

fn join<'a>(ports: impl IntoIterator<Item = &'a u16>) -> String {
    ports
        .into_iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
    use serde_json::json;

    const GET: &[u8] = b"GET /catalog HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n";
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
    const OK_KEEP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    /// One request on a new connection from port `port` at `at` ms, closed
    /// by the server ([`Timeline::one_shot`]; its close at +110).
    fn one_shot(t: &mut Timeline, port: u16, at: f64) {
        t.connection(&format!("10.0.0.1:{port}"), "10.0.0.2:80");
        t.one_shot(at, GET, OK);
    }

    /// `n` one-shot connections, each SYN `gap` ms after the previous close.
    fn chain(n: usize, gap: f64) -> Timeline {
        let mut t = Timeline::new();
        for i in 0..n {
            one_shot(&mut t, 41011 + i as u16, i as f64 * (110.0 + gap));
        }
        t
    }

    #[test]
    fn one_exchange_tls_connections_make_a_chain_too() {
        use crate::tls::build::{app_data, ClientHello, ServerHello};
        let mut t = Timeline::new();
        for i in 0..3u16 {
            let at = f64::from(i) * 300.0;
            t.connection(&format!("10.0.0.1:{}", 41011 + i), "10.0.0.2:443");
            let ready = t.tls13_handshake(
                at,
                50.0,
                &ClientHello::new().tls13(),
                &ServerHello::new().version(0x0304),
            );
            t.client(ready, &app_data(200))
                .server(ready + 50.0, &app_data(300));
            t.server_fin(ready + 60.0)
                .client_fin(ready + 61.0)
                .server_ack(ready + 62.0);
        }
        let f = only(t.findings_of("S002"));
        assert_eq!(f.connection, 2);
        assert_evidence(
            &f,
            json!({"connections": 3, "tls_connections": 3, "tls_resumed": 0, "handshakes_ms": 300.0, "saved_handshakes_ms": 200.0}),
        );
        assert_says(&f, "each carried one exchange of TLS records");
        assert_says(&f, "2 of the 3 TCP and TLS handshakes (200.0 ms)");
    }

    #[test]
    fn fires_once_on_the_last_connection_of_the_chain() {
        let f = only(chain(3, 50.0).findings_of("S002"));
        assert_eq!((f.connection, f.client.as_str()), (2, "10.0.0.1:41013"));
        assert_evidence(
            &f,
            json!({"connections": 3, "connection_ids": [0, 1, 2], "client_ports": [41011, 41012, 41013]}),
        );
        assert_evidence(
            &f,
            json!({"max_gap_ms": 50.0, "handshakes_ms": 150.0, "saved_handshakes_ms": 100.0, "closed_by": "server"}),
        );
        assert_says(&f, "client sends `Connection: close`");
    }

    #[test]
    fn chain_length_and_window_edges() {
        let found = |n: usize, gap: f64, options: &[(&str, f64)]| {
            chain(n, gap).findings_with("S002", options).len()
        };
        assert_eq!((found(2, 50.0, &[]), found(3, 50.0, &[])), (0, 1));
        assert_eq!(found(3, 50.0, &[("churn_min", 4.0)]), 0);
        let f = only(chain(7, 50.0).findings_of("S002"));
        assert_eq!((f.connection, &f.evidence["connections"]), (6, &json!(7)));
        // 10 s between a close and the next SYN still chains; 10.001 s does not.
        assert_eq!((found(3, 10_000.0, &[]), found(3, 10_001.0, &[])), (1, 0));
        assert_eq!(found(3, 10_001.0, &[("churn_window_s", 11.0)]), 1);
    }

    #[test]
    fn up_to_five_ports_are_listed_then_the_first_three_and_the_last() {
        let ports = |n: usize| {
            let f = only(chain(n, 50.0).findings_of("S002"));
            let (_, rest) = f.message.split_once("(ports ").unwrap();
            rest.split_once(')').unwrap().0.to_string()
        };
        assert_eq!(ports(5), "41011, 41012, 41013, 41014, 41015");
        assert_eq!(ports(6), "41011, 41012, 41013 … 41016");
    }

    #[test]
    fn a_broken_chain_is_two_chains() {
        // 3 + (a 20 s pause) + 3: two findings, on the third and the sixth.
        let mut t = Timeline::new();
        for i in 0..3 {
            one_shot(&mut t, 41011 + i, f64::from(i) * 160.0);
            one_shot(&mut t, 41021 + i, 20_000.0 + f64::from(i) * 160.0);
        }
        let f = t.findings_of("S002");
        let on: Vec<u64> = f.iter().map(|f| f.connection).collect();
        assert_eq!(on, [2, 5], "{f:?}");
    }

    #[test]
    fn reused_or_overlapping_connections_are_not_churn() {
        // Two requests on the second connection: no longer one per connection.
        let mut t = Timeline::new();
        one_shot(&mut t, 41011, 0.0);
        t.connection("10.0.0.1:41012", "10.0.0.2:80");
        t.handshake(160.0, 50.0)
            .client(210.0, GET)
            .server(260.0, OK_KEEP);
        t.client(270.0, GET).server(280.0, OK).close(290.0);
        one_shot(&mut t, 41013, 340.0);
        assert!(t.findings_of("S002").is_empty());
        // Three one-request connections open at the same time: parallel,
        // not a chain (one connection could not have carried them in turn).
        let mut t = Timeline::new();
        for i in 0..3 {
            one_shot(&mut t, 41011 + i, f64::from(i));
        }
        assert!(t.findings_of("S002").is_empty());
        // Different servers: no chain.
        let mut t = Timeline::new();
        for i in 0..3u16 {
            let server = format!("10.0.0.{}:80", 2 + i);
            t.connection(&format!("10.0.0.1:{}", 41011 + i), &server);
            t.one_shot(f64::from(i) * 160.0, GET, OK);
        }
        assert!(t.findings_of("S002").is_empty());
    }

    #[test]
    fn failed_requests_do_not_make_churn() {
        // The middle connection is reset before its response: a failure
        // (R001/R004 territory), not a request served and closed.
        let mut t = Timeline::new();
        one_shot(&mut t, 41011, 0.0);
        t.connection("10.0.0.1:41012", "10.0.0.2:80");
        t.handshake(160.0, 50.0)
            .client(210.0, GET)
            .server_rst(260.0);
        one_shot(&mut t, 41013, 300.0);
        assert!(t.findings_of("S002").is_empty());
    }

    #[test]
    fn interleaved_chains_from_one_client_are_one_group() {
        // Two lanes, each a chain of 2, overlapping each other: 4 one-shot
        // connections, each opened soon after some other one closed.
        let mut t = Timeline::new();
        for (port, at) in [(41011, 0.0), (41012, 60.0), (41013, 115.0), (41014, 175.0)] {
            one_shot(&mut t, port, at);
        }
        let f = only(t.findings_of("S002"));
        assert_eq!((f.connection, &f.evidence["connections"]), (3, &json!(4)));
    }

    #[test]
    fn a_chain_longer_than_the_index_horizon_is_reported_once() {
        // One request every 5 s for 800 s: the index runs the rules and
        // evicts the chain's head while the chain goes on; the rest of the
        // chain is the same group, not a new one.
        let mut t = Timeline::new();
        for i in 0..160u16 {
            one_shot(&mut t, 20000 + i, f64::from(i) * 5000.0);
        }
        let f = only(t.findings_of("S002"));
        let n = f.evidence["connections"].as_u64().unwrap_or(0);
        assert!((3..=160).contains(&n), "{n}");
    }
}
