//! What a rule sees of one connection, and the stream handler that gathers it.

use crate::flow::Connection;
use crate::http::{HttpConnection, HttpConnectionReport, HttpLimits};
use crate::reassembly::{AckRelease, SegmentMeta, Side, StreamHandler};
use crate::Timestamp;

/// A finished connection with everything the rules may judge.
pub struct ConnectionFacts<'a> {
    pub conn: &'a Connection,
    pub http: &'a HttpConnectionReport,
    /// Data that left only after the peer's pure ACK, its sender quiet for
    /// at least [`CheckHandler`]'s minimum before (the Nagle / delayed-ACK
    /// evidence).
    pub releases: &'a [AckRelease],
}

/// Most ack-release events kept per connection. Beyond it they are counted,
/// not stored: a connection stalling this often is reported many times over
/// already.
pub const MAX_RELEASES: usize = 4096;

/// The stream handler of `connlint check`: the HTTP parser, plus the
/// ack-release events long enough to matter to a rule.
pub struct CheckHandler {
    pub http: HttpConnection,
    pub releases: Vec<AckRelease>,
    pub releases_dropped: u64,
    /// Releases whose sender was quiet for less than this before them
    /// ([`AckRelease::idle_ns`]) are not kept: no rule could fire on them.
    min_wait_ns: i64,
}

impl CheckHandler {
    pub fn new(limits: HttpLimits, min_wait_ns: i64) -> CheckHandler {
        CheckHandler {
            http: HttpConnection::new(limits),
            releases: Vec::new(),
            releases_dropped: 0,
            min_wait_ns,
        }
    }
}

impl StreamHandler for CheckHandler {
    fn on_data(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp) {
        self.http.on_data(from, offset, bytes, ts);
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
        if release.idle_ns() < self.min_wait_ns {
            return;
        }
        if self.releases.len() < MAX_RELEASES {
            self.releases.push(*release);
        } else {
            self.releases_dropped += 1;
        }
    }
}
