//! The stream handler every command runs on each connection: the HTTP/1.x
//! parser, keeping what the command asks for ([`Keep`]) — every transaction
//! until the connection ends, or only their count; and, for the rules that
//! judge TCP pacing, the ack-release events long enough to matter.
//!
//! One handler for `connections`, `transactions` and `check`, told what to
//! keep, rather than a wrapper per command: the flow table runs one type,
//! and what differs is data.

use super::sniff::Opening;
use super::{HttpConnection, HttpConnectionReport, HttpLimits};
use crate::reassembly::{AckRelease, ConnectionEnd, SegmentMeta, Side, StreamHandler};
use crate::Timestamp;

/// Most ack-release events kept per connection. Beyond it they are counted,
/// not stored: a connection stalling this often is reported many times over
/// already.
pub const MAX_RELEASES: usize = 4096;

/// What the handler keeps of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keep {
    /// Every transaction until the connection ends (`transactions`,
    /// `check`); else each is counted and dropped as it settles
    /// (`connections`, which needs only the count: a long keep-alive
    /// connection then holds none of them).
    pub transactions: bool,
    /// Ack releases ([`AckRelease`]) whose sender was quiet at least this
    /// long before them, in nanoseconds; `None`: none. Shorter ones could
    /// not make any enabled rule fire.
    pub ack_releases_idle_ns: Option<i64>,
}

impl Keep {
    /// Every transaction, no ack releases (`transactions`).
    pub const TRANSACTIONS: Keep = Keep {
        transactions: true,
        ack_releases_idle_ns: None,
    };
    /// Only the count of transactions (`connections`).
    pub const COUNT: Keep = Keep {
        transactions: false,
        ack_releases_idle_ns: None,
    };
}

/// One connection's HTTP layer, as [`Keep`] asks.
#[derive(Debug)]
pub struct ConnectionHandler {
    http: HttpConnection,
    keep: Keep,
    /// Transactions counted and dropped as they settled (`keep.transactions` off).
    settled: u64,
    releases: Vec<AckRelease>,
    releases_dropped: u64,
    /// What the client's first bytes looked like, once it sent some.
    opening: Option<Opening>,
}

/// What the handler made of a finished connection.
#[derive(Debug)]
pub struct HandledConnection {
    /// The transactions kept (all of them, or, when only counting, those
    /// that had not settled before the end) and the rest of the report.
    pub http: HttpConnectionReport,
    /// Transactions counted and dropped before the end; with
    /// [`HandledConnection::http`]'s, the connection's count.
    pub settled: u64,
    /// The ack releases kept, in capture order.
    pub releases: Vec<AckRelease>,
    /// Ack releases past [`MAX_RELEASES`], counted only.
    pub releases_dropped: u64,
    /// What the client opened with ([`Opening::of`] its first bytes).
    pub opening: Opening,
}

impl HandledConnection {
    /// Every transaction the connection carried, kept or counted.
    pub fn transaction_count(&self) -> u64 {
        self.settled
            .saturating_add(self.http.transactions.len() as u64)
    }
}

impl ConnectionHandler {
    pub fn new(limits: HttpLimits, keep: Keep) -> ConnectionHandler {
        ConnectionHandler {
            http: HttpConnection::new(limits),
            keep,
            settled: 0,
            releases: Vec::new(),
            releases_dropped: 0,
            opening: None,
        }
    }

    /// Closes the HTTP layer's books (see [`HttpConnection::finish`]).
    pub fn finish(self) -> HandledConnection {
        HandledConnection {
            http: self.http.finish(),
            settled: self.settled,
            releases: self.releases,
            releases_dropped: self.releases_dropped,
            opening: self.opening.unwrap_or_default(),
        }
    }
}

impl StreamHandler for ConnectionHandler {
    fn on_frame(&mut self, frame: u64) {
        self.http.on_frame(frame);
    }
    fn on_data(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp) {
        if from == Side::Client && self.opening.is_none() {
            self.opening = Some(Opening::of(bytes));
        }
        self.http.on_data(from, offset, bytes, ts);
        if !self.keep.transactions {
            let n = self.http.drain_settled(None).count() as u64;
            self.settled = self.settled.saturating_add(n);
        }
    }
    fn on_gap(&mut self, from: Side, offset: u64, len: u64, ts: Timestamp) {
        self.http.on_gap(from, offset, len, ts);
    }
    fn on_fin(&mut self, from: Side, ts: Timestamp) {
        self.http.on_fin(from, ts);
    }
    fn on_rst(&mut self, from: Side, ts: Timestamp) {
        self.http.on_rst(from, ts);
    }
    fn on_segment(&mut self, from: Side, segment: &SegmentMeta) {
        self.http.on_segment(from, segment);
    }
    fn on_ack_release(&mut self, release: &AckRelease) {
        let Some(min_idle) = self.keep.ack_releases_idle_ns else {
            return;
        };
        if release.idle_ns() < min_idle {
            return;
        }
        if self.releases.len() < MAX_RELEASES {
            self.releases.push(*release);
        } else {
            self.releases_dropped = self.releases_dropped.saturating_add(1);
        }
    }
    fn on_end(&mut self, end: &ConnectionEnd) {
        self.http.on_end(end);
    }
    fn sender_of(payload: &[u8]) -> Option<Side> {
        HttpConnection::sender_of(payload)
    }
}
