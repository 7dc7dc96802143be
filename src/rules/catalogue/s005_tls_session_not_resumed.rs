//! S005 tls-session-not-resumed.

use super::common::duration;
use crate::rules::api::*;
use crate::tls::{HandshakeKind, SessionId, TlsVersion};
use crate::Timestamp;
use std::net::{IpAddr, SocketAddr};

pub struct TlsSessionNotResumed;

static META: RuleMeta = RuleMeta {
    code: "S005",
    name: "tls-session-not-resumed",
    family: Family::Setup,
    severity: Severity::Warning,
    summary:
        "A client kept making full TLS handshakes to a server that had given it a session to resume",
    doc: r#"## What it detects
TLS connections from one client host to one server (address, port and server name) that made full
handshakes although the server had offered to resume the session: at least
`min_full_handshakes` such handshakes, each begun within `window_s` of the connection on which the
server offered it. The server offered resumption when, on an earlier connection of the group, it
issued a session ticket (TLS 1.2: a NewSessionTicket in clear text, or the session_ticket extension
in its ServerHello) or assigned a session id (TLS 1.2's ServerHello). In TLS 1.3 the tickets are
encrypted, so there the evidence is the client's own: it offered a pre-shared key (it held a
ticket) and the server did not accept it. Each full handshake is one of two cases, and the message
says which (the evidence counts both):
- `not_offered`: the client did not offer the session (no ticket, no PSK, no session id the server
  had assigned) — the client does not keep its TLS sessions across connections;
- `refused`: the client offered it and the server made a full handshake anyway — the server does not
  keep them (no session cache, ticket keys that differ between the servers behind one address or
  change on restart).

Reported once per group, on its last full handshake, with the ids of the connections. A TLS 1.3
client that never offers a PSK leaves no evidence that the server issued tickets: not reported.
Connections whose handshake was not seen far enough to tell are left out.

## Why it matters
A full TLS 1.2 handshake takes two round trips before the client may send a request, a resumed
one one: a client that throws its sessions away pays a round trip more on every connection, plus
the certificate transfer and the server's private-key operation (the expensive part of TLS for the
server). In TLS 1.3 both take one round trip, so what a full handshake costs there is the
certificate chain (often several kilobytes, which may not fit the first congestion window) and the
asymmetric crypto on both sides.

## Example
```text
connection 2 198.18.0.1:47033 -> 198.18.0.2:443
  warning S005 tls-session-not-resumed: 2 TLS connections from 198.18.0.1 to
  joes-hardware.example (198.18.0.2:443) made full handshakes after the server had assigned a
  session id on connection 0: the client did not offer it on any of them: keep the TLS session
  between connections (one client object or connection pool, a session cache); each full TLS 1.2
  handshake is a round trip longer than a resumed one ...
```

## How to fix
On the client, keep the TLS session between connections to the same server: one long-lived client
object or connection pool instead of one per request (curl: one handle or a share handle with
`CURL_LOCK_DATA_SSL_SESSION`; Go: `tls.Config.ClientSessionCache`; Java and .NET cache by
default per context; `openssl s_client -sess_out`/`-sess_in`). On the server, when the client
offers its session and is refused: give every server behind the address the same ticket keys
(nginx `ssl_session_ticket_key`, rotated together) or a shared session cache (`ssl_session_cache
shared:SSL:10m`), and do not restart them with new keys between a client's visits.

## Options
- `min_full_handshakes` (2): the fewest full handshakes after the server offered resumption that
  are reported.
- `window_s` (300): how long after the connection that offered it a session counts as
  resumable, in seconds (nginx keeps sessions 5 minutes by default; tickets usually say longer).
"#,
    options: &[
        OptionSpec {
            key: "min_full_handshakes",
            default: 2.0,
            doc: "fewest full handshakes, after the server offered resumption, that are reported",
            integer: true,
        },
        OptionSpec {
            key: "window_s",
            default: 300.0,
            doc: "how long after it was offered a session counts as resumable, in seconds",
            integer: false,
        },
    ],
};

/// Connection ids listed in evidence at most.
const MAX_LISTED: usize = 50;
/// Session ids remembered per group to recognise one offered back.
const MAX_SESSION_IDS: usize = 64;

impl Rule for TlsSessionNotResumed {
    /// A group relates connections whose hellos are at most `window_s`
    /// apart.
    fn horizon(&self, s: &RuleSettings) -> Option<i64> {
        Some(s.s_as_ns("window_s"))
    }

    fn cross(&self, s: &RuleSettings) -> Option<Box<dyn CrossRule>> {
        Some(Box::new(Resumptions {
            min: (s.get("min_full_handshakes") as usize).max(1),
            window_ns: s.s_as_ns("window_s"),
            groups: rustc_hash::FxHashMap::default(),
            kept: 0,
            next_deadline: None,
        }))
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// What S005 keeps of a TLS connection whose handshake was seen.
#[derive(Clone, Debug)]
struct Conn {
    id: u64,
    client: SocketAddr,
    server: SocketAddr,
    start_ts: Timestamp,
    tls: TlsSummary,
}

impl Conn {
    fn hello(&self) -> Timestamp {
        self.tls.client_hello_ts.unwrap_or(self.start_ts)
    }
}

/// Client host, server endpoint, server name: the sessions are the name's.
type Key = (IpAddr, SocketAddr, Option<Box<str>>);

/// The TLS connections of one group seen so far.
#[derive(Default)]
struct Group {
    members: Vec<Conn>,
    /// The latest ClientHello: after `window_s` more, no connection still
    /// to come can be resumable from this group's offers.
    latest: Option<Timestamp>,
    /// The first member with a full handshake: a finding may go on it or
    /// on a later one, so it is held.
    first_full: Option<u64>,
}

/// S005's state over a capture: the TLS connections of each group until
/// `window_s` after its latest ClientHello (or until too many are kept),
/// then judged together as over the whole capture.
struct Resumptions {
    min: usize,
    window_ns: i64,
    groups: rustc_hash::FxHashMap<Key, Group>,
    kept: usize,
    /// The earliest time some group ends.
    next_deadline: Option<Timestamp>,
}

impl Resumptions {
    /// Judges and forgets the groups `done` picks, in key order.
    fn finish(&mut self, done: impl Fn(&Group) -> bool, out: &mut CrossOut) {
        let mut keys: Vec<Key> = self
            .groups
            .iter()
            .filter(|(_, g)| done(g))
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        for key in keys {
            let Some(mut g) = self.groups.remove(&key) else {
                continue;
            };
            self.kept = self.kept.saturating_sub(g.members.len());
            g.members.sort_by_key(|c| (c.start_ts, c.id));
            let refs: Vec<&Conn> = g.members.iter().collect();
            if let Some(found) = misses(&refs, self.window_ns) {
                if found.misses.len() >= self.min {
                    let (host, server, name) = &key;
                    report((*host, *server, name.as_deref()), &found, &mut out.findings);
                }
            }
        }
        let window = self.window_ns;
        self.next_deadline = self
            .groups
            .values()
            .filter_map(|g| g.latest.map(|t| t.add_nanos(window)))
            .min();
    }
}

impl CrossRule for Resumptions {
    fn add(&mut self, c: &ConnSummary<'_>, _out: &mut CrossOut) {
        let Some(tls) = c.tls.as_deref() else {
            return;
        };
        if tls.handshake == HandshakeKind::Unknown {
            return;
        }
        let conn = Conn {
            id: c.id,
            client: c.client,
            server: c.server,
            start_ts: c.start_ts,
            tls: tls.clone(),
        };
        let hello = conn.hello();
        let key = (c.client_host(), c.server, tls.sni.clone());
        let g = self.groups.entry(key).or_default();
        if tls.handshake == HandshakeKind::Full && g.first_full.is_none_or(|f| c.id < f) {
            g.first_full = Some(c.id);
        }
        g.latest = Some(g.latest.map_or(hello, |t| t.max(hello)));
        g.members.push(conn);
        self.kept = self.kept.saturating_add(1);
        let deadline = hello.add_nanos(self.window_ns);
        if self.next_deadline.is_none_or(|d| deadline < d) {
            self.next_deadline = Some(deadline);
        }
    }

    fn settle(&mut self, settled: Timestamp, _exact: bool, out: &mut CrossOut) {
        if self.next_deadline.is_none_or(|d| d >= settled) {
            return;
        }
        let window = self.window_ns;
        self.finish(
            |g| g.latest.is_none_or(|t| t.add_nanos(window) < settled),
            out,
        );
    }

    fn holds(&self) -> Option<u64> {
        self.groups.values().filter_map(|g| g.first_full).min()
    }

    fn bound(&mut self, max: usize, out: &mut CrossOut) -> bool {
        if self.kept <= max {
            return false;
        }
        self.finish(|_| true, out);
        true
    }
}

/// How the server offered the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Offer {
    Ticket,
    SessionId,
    /// TLS 1.3: seen only through the client offering a PSK.
    Psk,
}

impl Offer {
    fn words(self) -> &'static str {
        match self {
            Offer::Ticket => "issued a session ticket",
            Offer::SessionId => "assigned a session id",
            Offer::Psk => "issued a session ticket (the client offered it back)",
        }
    }
}

/// A full handshake where a resumed one was possible.
struct Miss<'a> {
    conn: &'a Conn,
    /// The client offered the session and the server made a full
    /// handshake anyway.
    refused: bool,
}

struct Found<'a> {
    misses: Vec<Miss<'a>>,
    /// The connection on which the server first offered resumption, and how.
    offered_on: Option<(u64, Offer)>,
}

/// The full handshakes of one group (start-ordered) that could have
/// resumed.
fn misses<'a>(group: &[&'a Conn], window_ns: i64) -> Option<Found<'a>> {
    // The latest offer: when, how; and the session ids the server assigned.
    let mut offer: Option<(Timestamp, Offer)> = None;
    let mut ids: Vec<SessionId> = Vec::new();
    let mut found = Found {
        misses: Vec::new(),
        offered_on: None,
    };
    for &c in group {
        let t = &c.tls;
        let hello = c.hello();
        let offered_back = t.offered_ticket
            || t.offered_psk
            || (!t.session_id.is_empty() && ids.contains(&t.session_id));
        let resumable = offer.is_some_and(|(at, _)| hello > at && hello.since(at) <= window_ns);
        if t.handshake == HandshakeKind::Full {
            let tls13 = t.version.is_some_and(TlsVersion::is_tls13);
            if resumable || (tls13 && t.offered_psk) {
                if tls13 && t.offered_psk && found.offered_on.is_none() {
                    found.offered_on = Some((c.id, Offer::Psk));
                }
                found.misses.push(Miss {
                    conn: c,
                    refused: offered_back,
                });
            }
        }
        // What this connection leaves for the next one.
        let end = t
            .handshake_ns
            .map_or(hello, |ns| Timestamp(hello.0.saturating_add(ns)));
        let how = if t.ticket_issued {
            Some(Offer::Ticket)
        } else if !t.server_session_id.is_empty() {
            Some(Offer::SessionId)
        } else if t.handshake == HandshakeKind::Resumed {
            offer.map(|(_, how)| how)
        } else {
            None
        };
        if let Some(how) = how {
            offer = Some((end, how));
            found.offered_on.get_or_insert((c.id, how));
        }
        if !t.server_session_id.is_empty() && ids.len() < MAX_SESSION_IDS {
            ids.push(t.server_session_id);
        }
    }
    Some(found)
}

fn report(
    (host, server, name): (IpAddr, SocketAddr, Option<&str>),
    found: &Found<'_>,
    out: &mut Vec<Finding>,
) {
    let ids: Vec<u64> = found.misses.iter().map(|m| m.conn.id).collect();
    let Some(last) = found.misses.last() else {
        return;
    };
    let n = found.misses.len();
    let refused = found.misses.iter().filter(|m| m.refused).count();
    let not_offered = n.saturating_sub(refused);
    let tls12 = found
        .misses
        .iter()
        .filter(|m| m.conn.tls.version.is_some_and(|v| !v.is_tls13()))
        .count();
    let handshakes: i64 = found
        .misses
        .iter()
        .filter_map(|m| m.conn.tls.handshake_ns)
        .fold(0i64, i64::saturating_add);
    let to = match name {
        Some(n) => format!("{n} ({server})"),
        None => server.to_string(),
    };
    let (on, how) = match found.offered_on {
        Some((id, how)) => (format!(" on connection {id}"), how.words()),
        None => (String::new(), "offered resumption"),
    };
    let why = match (not_offered, refused) {
        (_, 0) => "the client did not offer it on any of them: keep the TLS session between \
                   connections (one client object or connection pool, a session cache)"
            .to_string(),
        (0, _) => "the client offered it each time and the server refused it: give the servers \
                   behind this address a shared session cache and the same ticket keys, kept \
                   across restarts"
            .to_string(),
        _ => format!(
            "the client did not offer it {not_offered} time(s) (keep the TLS session between \
             connections) and the server refused it {refused} time(s) (share the session cache \
             and ticket keys)"
        ),
    };
    let cost = if tls12 > 0 {
        format!(
            "; each full TLS 1.2 handshake is a round trip longer than a resumed one ({tls12} \
             here, {} of TLS handshakes in all) and costs the server a private-key operation",
            duration(handshakes)
        )
    } else {
        "; each full handshake costs the certificate chain and a private-key operation".to_string()
    };
    let message = format!(
        "{n} TLS connections from {host} to {to} made full handshakes after the server had \
         {how}{on}: {why}{cost}"
    );
    let version = last.conn.tls.version.map(|v| v.to_string());
    let c = last.conn;
    let mut f = Finding::on(&META, (c.id, c.client, c.server), c.start_ts, message)
        .with("full_handshakes", n)
        .with("not_offered", not_offered)
        .with("refused", refused)
        .with(
            "connection_ids",
            ids.iter().take(MAX_LISTED).copied().collect::<Vec<u64>>(),
        )
        .with("extra_round_trips", tls12)
        .with_ms("tls_handshakes_ms", handshakes);
    if let Some((id, how)) = found.offered_on {
        f = f.with("offered_on", id).with(
            "offered_by",
            match how {
                Offer::Ticket => "session_ticket",
                Offer::SessionId => "session_id",
                Offer::Psk => "psk",
            },
        );
    }
    if let Some(v) = version {
        f = f.with("tls_version", v);
    }
    if let Some(n) = name {
        f = f.with("sni", n);
    }
    out.push(f);
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
    use crate::tls::build::{app_data, ClientHello, ServerHello};
    use serde_json::json;

    /// `n` TLS 1.2 connections to shop.example, 500 ms apart, each a full
    /// handshake (the server issuing a ticket on each), two exchanges each.
    fn full_tls12(n: u16, offer_ticket: bool) -> Timeline {
        let mut t = Timeline::new();
        for i in 0..n {
            let at = f64::from(i) * 500.0;
            t.connection(&format!("10.0.0.1:{}", 47031 + i), "10.0.0.2:443");
            let mut hello = ClientHello::new().sni("shop.example");
            hello = if offer_ticket && i > 0 {
                hello.ticket(&[7; 160])
            } else {
                hello.ticket(&[])
            };
            let ready = t.tls12_handshake(at, 50.0, &hello, &ServerHello::new().ticket(), true);
            t.client(ready, &app_data(100))
                .server(ready + 50.0, &app_data(100))
                .client(ready + 60.0, &app_data(100))
                .server(ready + 110.0, &app_data(100))
                .close(ready + 120.0);
        }
        t
    }

    #[test]
    fn full_handshakes_after_a_ticket_the_client_never_offered() {
        let f = only(full_tls12(3, false).findings_of("S005"));
        assert_eq!(f.connection, 2);
        assert_evidence(
            &f,
            json!({"full_handshakes": 2, "not_offered": 2, "refused": 0, "connection_ids": [1, 2],
                   "offered_on": 0, "offered_by": "session_ticket", "extra_round_trips": 2,
                   "tls_handshakes_ms": 200.0, "sni": "shop.example", "tls_version": "TLS 1.2"}),
        );
        assert_says(
            &f,
            "2 TLS connections from 10.0.0.1 to shop.example (10.0.0.2:443) made full handshakes \
             after the server had issued a session ticket on connection 0: the client did not \
             offer it on any of them",
        );
        // One full handshake after the offer is below the default minimum.
        assert!(full_tls12(2, false).findings_of("S005").is_empty());
        assert_eq!(
            full_tls12(2, false)
                .findings_with("S005", &[("min_full_handshakes", 1.0)])
                .len(),
            1
        );
    }

    #[test]
    fn the_server_refusing_what_the_client_offered_is_the_servers_to_fix() {
        let f = only(full_tls12(3, true).findings_of("S005"));
        assert_evidence(&f, json!({"not_offered": 0, "refused": 2}));
        assert_says(
            &f,
            "the client offered it each time and the server refused it",
        );
    }

    #[test]
    fn resumed_sessions_and_late_returns_are_not_misses() {
        // Resumed with the session id the server assigned.
        let mut t = Timeline::new();
        let id = [9u8; 32];
        for i in 0..3u16 {
            let at = f64::from(i) * 500.0;
            t.connection(&format!("10.0.0.1:{}", 47061 + i), "10.0.0.2:443");
            let ready = if i == 0 {
                t.tls12_handshake(
                    at,
                    50.0,
                    &ClientHello::new(),
                    &ServerHello::new().session_id(&id),
                    false,
                )
            } else {
                t.tls12_resumed(at, 50.0, &ClientHello::new(), &id)
            };
            t.client(ready, &app_data(100)).close(ready + 10.0);
        }
        assert!(t.findings_of("S005").is_empty());
        // Full handshakes further apart than the window.
        assert!(full_tls12(3, false)
            .findings_with("S005", &[("window_s", 0.3)])
            .is_empty());
    }

    #[test]
    fn tls13_psk_offered_and_refused() {
        let mut t = Timeline::new();
        for i in 0..3u16 {
            let at = f64::from(i) * 500.0;
            t.connection(&format!("10.0.0.1:{}", 47071 + i), "10.0.0.2:443");
            let hello = ClientHello::new().tls13().psk();
            let ready = t.tls13_handshake(at, 50.0, &hello, &ServerHello::new().version(0x0304));
            t.client(ready, &app_data(100)).close(ready + 10.0);
        }
        let f = only(t.findings_of("S005"));
        assert_evidence(
            &f,
            json!({"full_handshakes": 3, "refused": 3, "offered_by": "psk", "extra_round_trips": 0}),
        );
        // Accepted PSKs are resumptions.
        let mut t = Timeline::new();
        for i in 0..3u16 {
            let at = f64::from(i) * 500.0;
            t.connection(&format!("10.0.0.1:{}", 47081 + i), "10.0.0.2:443");
            let hello = ClientHello::new().tls13().psk();
            let sh = ServerHello::new().version(0x0304).psk();
            let ready = t.tls13_handshake(at, 50.0, &hello, &sh);
            t.client(ready, &app_data(100)).close(ready + 10.0);
        }
        assert!(t.findings_of("S005").is_empty());
    }
}
