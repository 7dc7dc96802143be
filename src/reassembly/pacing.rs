//! Ack clocking of one direction, for the Nagle / delayed-ACK rules.
//!
//! Nagle's algorithm holds a sender's small segment while earlier data is
//! unacknowledged; delayed ACK holds the receiver's acknowledgement hoping to
//! piggyback it on data; a sender whose window is full cannot send until an
//! ACK opens it. Each of them can stall a sender until the receiver's
//! delayed-ACK timer fires. The evidence on the wire is always the same
//! shape, and needs no packet log to find: the sender goes quiet with data
//! outstanding, the peer's *pure* ACK (no data of its own) arrives, and only
//! then does the sender's next data leave. [`Pacing`] tracks just enough of
//! one direction to recognise that shape as it happens and reports each
//! occurrence as an [`AckRelease`]; the rules judge the numbers.
//!
//! Judging them needs to know where the capture was taken: at the sender, a
//! release follows the ACK at once; at the receiver, a round trip later; and
//! an ACK seen 90 ms after the data may have been held 40 ms by the receiver
//! or 90 ms by the network. So each direction also keeps the smallest round
//! trip seen between the capture point and its sender, from three kinds of
//! sample, each of which can only overstate it: the handshake, a TCP
//! timestamp of the peer coming back in this side's TSecr, and the peer's
//! last data coming back acknowledged by this side.
//!
//! Seen at the receiver, the sender's segments that were already on their
//! way when the ACK left arrive after it. They were not released by it: a
//! segment seen sooner than one round trip to the sender after an ACK is *in
//! flight* — when timestamps can tell (the peer's clock ticked between its
//! previous segment and the ACK), only if its echo is older than the ACK's
//! value. It neither releases nor consumes the ACK, which stays pending —
//! with a few others, since the receiver goes on acknowledging the in-flight
//! data — until the sender's data shows it could have seen it. Timestamps
//! alone are not trusted (some stacks echo stale values): a segment seen a
//! round trip after the ACK is never in flight, whatever it echoes. Each
//! release also says when the sender's previous data was seen, so that the
//! rules can tell a sender that sat idle waiting for the ACK from one still
//! streaming on other ACKs.

mod pending;
mod ring;
mod rtt;
#[cfg(test)]
mod tests;

pub use rtt::timestamp_option;

use super::Side;
use crate::Timestamp;
use pending::{PendingAck, PendingAcks};
use ring::{Seg, SentRing};
use rtt::{ts_older, RoundTrip};

/// A sender's new data that left only after the peer's pure ACK arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckRelease {
    pub sender: Side,
    /// The segment the ACK acknowledged (the newest one it reached into):
    /// when it was seen, in which frame, its size, and the stream offset
    /// just past it. Seen at the receiver, it is the sender's last data
    /// before the ACK; at the sender, later segments may have left after it.
    pub held_ts: Timestamp,
    pub held_frame: u64,
    pub held_len: u32,
    pub held_end: u64,
    /// The most payload a full-sized segment of the sender could carry when
    /// the held segment left: the smaller MSS announced in the two SYNs, less
    /// the TCP options that segment carried (12 bytes with timestamps).
    /// `None` when no SYN was seen.
    pub mss: Option<u16>,
    /// When (and in which frame) the peer's pure ACK was seen, and whether it
    /// acknowledged everything the sender had sent by then (else the sender
    /// had more in flight: it may be window-bound).
    pub ack_ts: Timestamp,
    pub ack_frame: u64,
    pub acked_all: bool,
    /// The sender's last new data before the release: the held segment, or
    /// the last one sent after it (in flight when the ACK was sent, or sent
    /// before the ACK arrived). The sender was quiet from here to the release.
    pub prev_ts: Timestamp,
    pub prev_frame: u64,
    pub prev_end: u64,
    /// Segments of the sender seen between the ACK and the release that were
    /// in flight (sent before the ACK reached the sender).
    pub in_flight: u32,
    /// The sender's next new data: when, where in its stream, how much, in
    /// which frame.
    pub release_ts: Timestamp,
    pub release_offset: u64,
    pub release_len: u32,
    pub release_frame: u64,
    /// The round trip between the capture point and the sender, and between
    /// the capture point and the receiver (the peer that sent the ACK), as
    /// estimated from the handshake, TCP timestamps and data/ACK pairs seen
    /// *before* the release and the ACK respectively (so the wait itself
    /// never counts as a round trip). Upper bounds; `None` before the first
    /// sample.
    pub rtt_to_sender_ns: Option<i64>,
    pub rtt_to_receiver_ns: Option<i64>,
}

impl AckRelease {
    /// Whether the wait has the shape of Nagle's algorithm: the ACK covered
    /// everything the sender had sent, and both the segment it acknowledged
    /// and the first one released are partial (shorter than `mss`, a full
    /// segment's payload). Every stack's Nagle holds a partial segment while
    /// its previous partial segment is unacknowledged (Linux's holds it for
    /// nothing else), and none ever holds a full segment: a full segment
    /// released, or an ACK of only part of the data, is the window's doing.
    ///
    /// T001 reports the waits of this shape; T002 the others.
    pub fn nagle_shaped(&self, mss: u32) -> bool {
        self.acked_all && self.held_len < mss && self.release_len < mss
    }

    /// How long the sender was quiet before the release (from its previous
    /// new data), in nanoseconds.
    pub fn idle_ns(&self) -> i64 {
        self.release_ts.since(self.prev_ts)
    }
}

/// One new-data segment, as [`Pacing::data`] takes it.
#[derive(Clone, Copy, Debug)]
pub struct Sent {
    pub ts: Timestamp,
    pub frame: u64,
    /// Stream offset of its first byte.
    pub offset: u64,
    pub len: u32,
    /// See [`AckRelease::mss`].
    pub mss: Option<u16>,
    /// The TSecr of its TCP timestamp option, if it has one.
    pub tsecr: Option<u32>,
}

/// A retransmission seen sooner than this after the last new data is the
/// capture seeing packets twice (two interfaces, a mirror port: the corpus
/// has copies 0.3 and 2 ms apart). TCP's own retransmission of the last
/// segment before a wait comes no sooner: the tail-loss probe waits at
/// least 10 ms, the RTO 30 ms (BSD) to 1 s, and the last segment cannot be
/// fast-retransmitted, since nothing after it draws duplicate ACKs.
const DUPLICATE_NS: i64 = 10_000_000;

/// A segment seen sooner than one round trip to the sender after an ACK,
/// less this, may have been in flight: only then is its timestamp echo
/// asked. (The round trip is the smallest sample, and a release seen at the
/// sender comes a hair sooner than that now and then.)
const IN_FLIGHT_MARGIN_NS: i64 = 1_000_000;

/// Without a timestamp to tell, a segment is taken as in flight only if it
/// was seen sooner than one round trip after the ACK less this: the slack
/// the rules allow a release by default (`release_ms`), so that nothing they
/// would take as released by the ACK is skipped as in flight.
const IN_FLIGHT_MARGIN_UNTIMED_NS: i64 = 5_000_000;

/// Ack-clock state of one sending direction: fixed-size, updated per
/// segment, no allocation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pacing {
    /// The sender's latest new-data segments.
    sent: SentRing,
    /// The peer's acknowledgement of the newest segment has been taken as a
    /// round-trip sample already (only the first one measures the path).
    sampled: bool,
    /// The sender retransmitted since its newest segment: the peer's next
    /// ACK may answer the retransmission, and the wait was loss recovery,
    /// not an ACK held back.
    retransmitted: bool,
    /// Highest offset the peer has acknowledged.
    acked: u64,
    /// The peer's pure ACKs that advanced `acked`, oldest first, not yet
    /// followed by data the sender sent after seeing them, nor by the
    /// peer's own data.
    pending: PendingAcks,
    /// Round trips between the capture point and this side.
    rtt: RoundTrip,
}

impl Pacing {
    /// Whether a segment of the sender seen at `ts` with timestamp echo
    /// `tsecr` was in flight when `ack` was sent (see the module docs).
    fn in_flight(&self, ack: &PendingAck, ts: Timestamp, tsecr: Option<u32>) -> bool {
        let Some(rtt) = self.rtt.get() else {
            return false; // where is the capture? Take it as a release.
        };
        let after = ts.since(ack.ts);
        match (ack.tsval, tsecr) {
            (Some(v), Some(e)) => after < rtt.saturating_sub(IN_FLIGHT_MARGIN_NS) && ts_older(e, v),
            _ => after < rtt.saturating_sub(IN_FLIGHT_MARGIN_UNTIMED_NS),
        }
    }

    /// The sender sent new data. Returns the release if the sender had been
    /// waiting on one of the peer's pure ACKs.
    pub fn data(&mut self, sender: Side, sent: Sent) -> Option<AckRelease> {
        let mut release = None;
        if !self.pending.live().is_empty() && !self.retransmitted {
            // Of the ACKs the sender could have seen, the one this data
            // follows by a round trip most closely (without a round trip,
            // the newest); it and the older ones are done with.
            let mut seen: Option<(usize, i64)> = None;
            for (i, p) in self.pending.live().iter().enumerate() {
                if self.in_flight(p, sent.ts, sent.tsecr) {
                    continue;
                }
                let miss = match self.rtt.get() {
                    Some(rtt) => sent.ts.since(p.ts).saturating_sub(rtt).saturating_abs(),
                    None => 0,
                };
                if seen.is_none_or(|(_, best)| miss <= best) {
                    seen = Some((i, miss));
                }
            }
            let seen = seen.map(|(i, _)| i);
            let prev = self.sent.newest().copied();
            match (seen, prev) {
                (Some(i), Some(prev)) => {
                    if let Some(ack) = self.pending.live().get(i) {
                        release = Some(AckRelease {
                            sender,
                            held_ts: ack.held.ts,
                            held_frame: ack.held.frame,
                            held_len: ack.held.len,
                            held_end: ack.held.end,
                            mss: ack.held.mss,
                            ack_ts: ack.ts,
                            ack_frame: ack.frame,
                            acked_all: ack.acked_all,
                            prev_ts: prev.ts,
                            prev_frame: prev.frame,
                            prev_end: prev.end,
                            in_flight: ack.in_flight,
                            release_ts: sent.ts,
                            release_offset: sent.offset,
                            release_len: sent.len,
                            release_frame: sent.frame,
                            rtt_to_sender_ns: self.rtt.get(),
                            rtt_to_receiver_ns: ack.rtt_to_receiver,
                        });
                    }
                    self.pending.release_through(i);
                }
                _ => self.pending.all_in_flight(),
            }
        }
        self.sent.push(Seg {
            ts: sent.ts,
            frame: sent.frame,
            end: sent.offset.saturating_add(u64::from(sent.len)),
            len: sent.len,
            mss: sent.mss,
        });
        self.sampled = false;
        self.retransmitted = false;
        release
    }

    /// Whether `sent`, new data without FIN, is a partial segment (shorter
    /// than its MSS) that left right after another partial segment the peer
    /// had not acknowledged (as seen here: an ACK the sender had would have
    /// passed the capture point before this segment). Nagle's algorithm never
    /// lets that out — every stack's holds a partial segment behind an
    /// unacknowledged partial one — so Nagle was off for this sender. A
    /// full segment between the two (a large write's tail, which Linux lets
    /// out with the rest of the write) makes it no evidence.
    pub fn unheld_partial(&self, sent: &Sent) -> bool {
        let Some(prev) = self.sent.newest() else {
            return false;
        };
        match (sent.mss, prev.mss) {
            (Some(m), Some(pm)) => {
                sent.len < u32::from(m)
                    && prev.len < u32::from(pm)
                    && self.acked < prev.end
                    && sent.offset >= prev.end
            }
            _ => false,
        }
    }

    /// The sender retransmitted data at `ts`.
    pub fn retransmission(&mut self, ts: Timestamp) {
        if let Some(last) = self.sent.newest() {
            if ts.since(last.ts) >= DUPLICATE_NS {
                self.retransmitted = true;
                self.pending.clear();
            }
        }
    }

    /// The peer sent a segment without data acknowledging up to `acked`, in
    /// `frame`, with TCP timestamp value `tsval` if any; `peer_rtt` is the
    /// peer's round trip to the capture point as known before this segment.
    pub fn peer_pure_ack(
        &mut self,
        acked: u64,
        ts: Timestamp,
        frame: u64,
        peer_rtt: Option<i64>,
        tsval: Option<u32>,
    ) {
        if acked <= self.acked {
            return; // a duplicate or a window update: releases nothing new
        }
        self.acked = acked;
        if self.retransmitted {
            return;
        }
        let Some(newest) = self.sent.newest().copied() else {
            return;
        };
        // The segment it acknowledged: the newest one it reaches into. Only
        // an ACK of data the sender still remembers can start a wait.
        let Some(held) = self.sent.newest_reached_by(acked) else {
            return;
        };
        self.pending.push(PendingAck {
            ts,
            frame,
            acked_all: acked >= newest.end,
            tsval: tsval.filter(|v| self.rtt.peer_tsval() != Some(*v)),
            in_flight: 0,
            rtt_to_receiver: peer_rtt,
            held,
        });
    }

    /// The peer sent data (which may carry an ACK): whatever the sender does
    /// next answers that data, not a pure ACK.
    pub fn peer_data(&mut self, acked: Option<u64>) {
        self.pending.clear();
        if let Some(a) = acked {
            self.acked = self.acked.max(a);
        }
    }

    /// Smallest round trip seen between the capture point and this side.
    pub fn rtt(&self) -> Option<i64> {
        self.rtt.get()
    }

    /// Takes a round-trip sample between the capture point and this side.
    pub fn note_rtt(&mut self, sample: i64) {
        self.rtt.note(sample);
    }

    /// The peer acknowledged this side's stream up to `acked` at `ts`. The
    /// first acknowledgement of the sender's newest data is a round-trip
    /// sample to the *peer* (the data passed the capture point, reached the
    /// peer, and the ACK came back); it is returned for the peer's [`Pacing`].
    pub fn ack_sample(&mut self, acked: u64, ts: Timestamp) -> Option<i64> {
        let last = *self.sent.newest()?;
        if self.sampled || acked < last.end {
            return None;
        }
        self.sampled = true;
        Some(ts.since(last.ts))
    }

    /// The peer sent a segment carrying TCP timestamp value `tsval` at `ts`.
    pub fn peer_tsval(&mut self, tsval: u32, ts: Timestamp) {
        self.rtt.note_peer_tsval(tsval, ts);
    }

    /// This side sent a segment echoing `tsecr` at `ts`: if it echoes the
    /// peer's newest timestamp, the time since that was first seen is a
    /// round-trip sample to this side.
    pub fn own_tsecr(&mut self, tsecr: u32, ts: Timestamp) {
        self.rtt.own_tsecr(tsecr, ts);
    }
}
