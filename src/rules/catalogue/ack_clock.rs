//! The ack-clock reasoning T001 and T002 share: a sender that sat idle until
//! the peer's ACK arrived, judged from wherever the capture was taken.
//!
//! Both rules start from the reassembly's ack-release events
//! ([`AckRelease`]) and ask the same questions: how big is a full segment
//! ([`mss_of`]), how far is the capture point from each side ([`rtt_to`]),
//! was the data seen when that ACK could have released it
//! ([`released_by_ack`]), and was it Nagle's algorithm that held it
//! ([`is_nagle_hold`]). That last answer splits the stall between them, one
//! cause, one finding: a Nagle hold is T001's, every other wait on a delayed
//! ACK is T002's. Both judge each release and report once per message
//! ([`per_message`]).

use super::common::target;
use crate::flow::Connection;
use crate::http::{HttpConnectionReport, MessageFacts, Transaction};
use crate::reassembly::{AckRelease, Side};
use crate::rules::api::{ConnectionFacts, Needs, OptionSpec, RuleSettings};
use std::net::SocketAddr;

/// The option both rules have for [`released_by_ack`]'s slack (each rule
/// has its own setting of it).
pub(super) const RELEASE_MS: OptionSpec = OptionSpec {
    key: "release_ms",
    default: 5.0,
    doc: "slack around the ACK's round trip to the sender for the release, in ms",
    integer: false,
};

/// The MSS a held segment is judged against, and where it came from.
#[derive(Clone, Copy, Debug)]
pub(super) struct Mss {
    pub bytes: u32,
    pub from: &'static str,
}

/// The sender's full segment size: from the SYNs when seen; else the
/// largest segment either side sent, but never below the default MSS every
/// TCP must accept (RFC 9293 §3.7.1: 536 over IPv4, 1220 over IPv6), since a
/// capture of small messages only shows no full segment at all.
pub(super) fn mss_of(conn: &Connection, r: &AckRelease) -> Mss {
    if let Some(m) = r.mss {
        return Mss {
            bytes: u32::from(m),
            from: "syn",
        };
    }
    let largest = conn.dirs[0].max_segment.max(conn.dirs[1].max_segment);
    let default = match conn.client {
        SocketAddr::V4(_) => 536,
        SocketAddr::V6(_) => 1220,
    };
    if largest >= default {
        Mss {
            bytes: largest,
            from: "largest_segment",
        }
    } else {
        Mss {
            bytes: default,
            from: "default",
        }
    }
}

/// Whether the sender has shown its Nagle's algorithm is off: somewhere on
/// the connection it let a partial segment out right behind another one the
/// peer had not acknowledged yet, which no stack's Nagle lets out.
pub(super) fn nagle_off(conn: &Connection, sender: Side) -> bool {
    conn.stats(sender).unheld_partials > 0
}

/// Whether Nagle's algorithm explains the wait: a partial segment held until
/// the ACK of the sender's previous partial segment
/// ([`AckRelease::nagle_shaped`]), from a sender whose Nagle is not shown to
/// be off. T001 reports exactly these; T002 every other wait.
pub(super) fn is_nagle_hold(conn: &Connection, r: &AckRelease, mss: Mss) -> bool {
    r.nagle_shaped(mss.bytes) && !nagle_off(conn, r.sender)
}

/// A round trip between the capture point and one side.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rtt {
    pub ns: i64,
    pub from: &'static str,
}

/// The round trip between the capture point and `side`: the handshake's, or
/// the estimate from timestamps and data/ACK pairs, whichever is smaller
/// (both can only overstate it: a retransmitted SYN, a delayed ACK).
pub(super) fn rtt_to(conn: &Connection, side: Side, sampled: Option<i64>) -> Option<Rtt> {
    let handshake = conn.capture_rtt_to_ns(side).filter(|n| *n >= 0);
    let (ns, from) = match (handshake, sampled) {
        (Some(h), Some(s)) if s < h => (s, "samples"),
        (Some(h), _) => (h, "handshake"),
        (None, Some(s)) => (s, "samples"),
        (None, None) => return None,
    };
    Some(Rtt { ns, from })
}

/// Whether the release was seen when the ACK's arrival at the sender would
/// put it: one round trip between the capture point and the sender after
/// the ACK, give or take `slack_ns`. Earlier, the sender could not have had
/// the ACK yet; later, something else (the application) decided.
pub(super) fn released_by_ack(r: &AckRelease, rtt_to_sender_ns: i64, slack_ns: i64) -> bool {
    let after = r.release_ts.since(r.ack_ts);
    after >= rtt_to_sender_ns.saturating_sub(slack_ns)
        && after <= rtt_to_sender_ns.saturating_add(slack_ns)
}

/// Each side's messages by stream offset, to place an offset in a message.
pub(super) struct Messages<'a> {
    by_side: [Vec<(&'a MessageFacts, &'a Transaction)>; 2],
}

impl<'a> Messages<'a> {
    pub fn new(http: &'a HttpConnectionReport) -> Messages<'a> {
        let mut by_side: [Vec<(&'a MessageFacts, &'a Transaction)>; 2] = [Vec::new(), Vec::new()];
        for tx in &http.transactions {
            if let Some(m) = &tx.request {
                by_side[0].push((m, tx));
            }
            if let Some(m) = &tx.response {
                by_side[1].push((m, tx));
            }
        }
        for list in &mut by_side {
            list.sort_by_key(|(m, _)| m.start_offset);
        }
        Messages { by_side }
    }

    /// The message of `side` that holds the byte at `offset`.
    pub fn find(&self, side: Side, offset: u64) -> Option<(&'a Transaction, &'a MessageFacts)> {
        let list = self.by_side.get(side.index())?;
        let after = list.partition_point(|(m, _)| m.start_offset <= offset);
        let (m, tx) = list.get(after.checked_sub(1)?)?;
        (offset < m.end_offset).then_some((*tx, *m))
    }
}

/// "POST /orders" for a message's transaction, or a plain description.
pub(super) fn what(tx: &Transaction, side: Side) -> String {
    target(tx).unwrap_or_else(|| match (side, tx.status) {
        (Side::Server, Some(status)) => format!("response {status}"),
        (Side::Server, None) => "a response".to_string(),
        (Side::Client, _) => "a request".to_string(),
    })
}

/// What either rule needs kept: the ack releases whose sender was quiet at
/// least its option `idle_key` (in ms); a shorter wait is not the rule's.
pub(super) fn needs(s: &RuleSettings, idle_key: &str) -> Needs {
    Needs {
        ack_releases_idle_ns: Some(s.ms_as_ns(idle_key)),
    }
}

/// Judges each of the connection's ack releases with `judge` (given the
/// connection's [`Messages`] to place the release in), which returns, for a
/// stall the rule reports, its transaction (`None`: outside any message),
/// how long it lasted and what the report needs of it; and tallies them per
/// message, in the order of each message's first stall.
pub(super) fn per_message<'a, T>(
    cx: &ConnectionFacts<'a>,
    mut judge: impl FnMut(&'a AckRelease, &Messages<'a>) -> Option<(Option<u64>, i64, T)>,
) -> Vec<Tally<T>> {
    if cx.releases.is_empty() {
        return Vec::new();
    }
    let messages = Messages::new(cx.http);
    let mut found = PerMessage::default();
    for r in cx.releases {
        if let Some((tx, wait_ns, what)) = judge(r, &messages) {
            found.add(r.sender, tx, wait_ns, what);
        }
    }
    found.found
}

/// The first stall of each message (of each sender, for data outside any
/// message), with how many there were and how long they lasted together:
/// one finding per message.
struct PerMessage<T> {
    found: Vec<Tally<T>>,
}

/// One message's stalls.
pub(super) struct Tally<T> {
    key: (Side, Option<u64>),
    /// What the first stall showed.
    pub first: T,
    pub count: u32,
    pub total_ns: i64,
}

impl<T> Default for PerMessage<T> {
    fn default() -> Self {
        PerMessage { found: Vec::new() }
    }
}

impl<T> PerMessage<T> {
    /// Counts a stall of `sender`'s data in transaction `tx` (`None`:
    /// outside any message) that lasted `wait_ns`; `first` describes it when
    /// it is the message's first.
    fn add(&mut self, sender: Side, tx: Option<u64>, wait_ns: i64, first: T) {
        let key = (sender, tx);
        // Stalls of one message come together: look from the back.
        match self.found.iter_mut().rev().find(|t| t.key == key) {
            Some(t) => {
                t.count = t.count.saturating_add(1);
                t.total_ns = t.total_ns.saturating_add(wait_ns);
            }
            None => self.found.push(Tally {
                key,
                first,
                count: 1,
                total_ns: wait_ns,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_says, only, Timeline, OK};

    /// A client-side capture over a 50 ms round trip: GET / at 50 ms, in
    /// one write or in two (the second right behind the first, which no
    /// Nagle's algorithm lets out), answered at 100.1; then GET /a at 150,
    /// the server's pure ACK of it at 243 (a delayed ACK), GET /b at once
    /// after it, both answered.
    fn held_behind_a_delayed_ack(first_in_two_writes: bool) -> Timeline {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0);
        if first_in_two_writes {
            t.client(50.0, b"GET / HTTP/1.1\r\n")
                .client(50.1, b"Host: h\r\n\r\n");
        } else {
            t.client(50.0, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        }
        t.server(100.1, OK)
            .client(150.0, b"GET /a.css HTTP/1.1\r\nHost: h\r\n\r\n");
        t.server_ack(243.0)
            .client(243.0, b"GET /b.js HTTP/1.1\r\nHost: h\r\n\r\n");
        t.server(293.0, OK).server(293.1, OK).close(400.0);
        t
    }

    #[test]
    fn a_sender_with_nagle_off_is_held_by_its_window_not_by_nagle() {
        // Nagle on: a Nagle hold, T001's alone.
        let t = held_behind_a_delayed_ack(false);
        assert_eq!(t.findings_of("T001").len(), 1);
        assert!(t.findings_of("T002").is_empty());
        // Off: the same wait was its window's (one segment after a timeout,
        // say), T002's alone.
        let t = held_behind_a_delayed_ack(true);
        assert!(t.findings_of("T001").is_empty());
        let f = only(t.findings_of("T002"));
        assert_eq!(f.evidence["blocked_by"], "window");
        assert_says(&f, "Nagle's algorithm off");
    }
}
