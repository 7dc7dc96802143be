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

use super::Side;
use crate::Timestamp;

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

/// One of the sender's new-data segments, as remembered.
#[derive(Clone, Copy, Debug, Default)]
struct Seg {
    ts: Timestamp,
    frame: u64,
    end: u64,
    len: u32,
    mss: Option<u16>,
}

impl Seg {
    fn start(&self) -> u64 {
        self.end.saturating_sub(u64::from(self.len))
    }
}

/// A retransmission seen sooner than this after the last new data is the
/// capture seeing packets twice (two interfaces, a mirror port: the corpus
/// has copies 0.3 and 2 ms apart). TCP's own retransmission of the last
/// segment before a wait comes no sooner: the tail-loss probe waits at
/// least 10 ms, the RTO 30 ms (BSD) to 1 s, and the last segment cannot be
/// fast-retransmitted, since nothing after it draws duplicate ACKs.
const DUPLICATE_NS: i64 = 10_000_000;

/// How many of the sender's latest segments are remembered, to find the one
/// an ACK acknowledged: at the sender, the segments a window let out after
/// it leave before the ACK comes back. An ACK of a segment older than these
/// starts no wait.
const SENT: usize = 8;

/// How many of the peer's pure ACKs may wait for a release at once. Seen at
/// the receiver, it acknowledges the in-flight data as it arrives, so a few
/// ACKs wait together; when they are more, the newest replaces the last
/// slot: the oldest are the ones a quiet sender waits on, and the newest the
/// one a streaming sender answers next.
const PENDING: usize = 4;

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

#[derive(Clone, Copy, Debug, Default)]
struct PendingAck {
    ts: Timestamp,
    frame: u64,
    acked_all: bool,
    /// The ACK's TSval, when it differs from the peer's previous segment's
    /// (with a coarse clock, an echo of an older segment's value would look
    /// like an echo of this one).
    tsval: Option<u32>,
    in_flight: u32,
    rtt_to_receiver: Option<i64>,
    held: Seg,
}

/// Ack-clock state of one sending direction: fixed-size, updated per
/// segment, no allocation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pacing {
    /// The sender's latest new-data segments, a ring: `sent_len` of them,
    /// the newest at `newest`.
    sent: [Seg; SENT],
    sent_len: u8,
    newest: u8,
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
    pending: [PendingAck; PENDING],
    pending_len: u8,
    /// Smallest round-trip sample between the capture point and this side.
    rtt: Option<i64>,
    /// The peer's newest TCP timestamp value and when it was first seen,
    /// until this side echoes it.
    echo: Option<(u32, Timestamp)>,
    /// The peer's latest TCP timestamp value.
    peer_tsval: Option<u32>,
}

/// Whether TCP timestamp `a` is older than `b` (RFC 7323 arithmetic).
fn ts_older(a: u32, b: u32) -> bool {
    // Reinterpreting the difference as signed is the wraparound rule.
    (b.wrapping_sub(a) as i32) > 0
}

impl Pacing {
    /// The sender's newest segment, `back` segments back (0: the newest).
    fn sent_back(&self, back: usize) -> Option<&Seg> {
        if back >= usize::from(self.sent_len) {
            return None;
        }
        let i = usize::from(self.newest)
            .wrapping_add(SENT)
            .wrapping_sub(back)
            % SENT;
        self.sent.get(i)
    }

    fn push_sent(&mut self, seg: Seg) {
        let next = if self.sent_len == 0 {
            0
        } else {
            (usize::from(self.newest) + 1) % SENT
        };
        if let Some(slot) = self.sent.get_mut(next) {
            *slot = seg;
        }
        self.newest = next as u8; // < SENT
        self.sent_len = self.sent_len.saturating_add(1).min(SENT as u8);
    }

    /// Whether a segment of the sender seen at `ts` with timestamp echo
    /// `tsecr` was in flight when `ack` was sent (see the module docs).
    fn in_flight(&self, ack: &PendingAck, ts: Timestamp, tsecr: Option<u32>) -> bool {
        let Some(rtt) = self.rtt else {
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
        let len = usize::from(self.pending_len).min(PENDING);
        if len > 0 && !self.retransmitted {
            // Of the ACKs the sender could have seen, the one this data
            // follows by a round trip most closely (without a round trip,
            // the newest); it and the older ones are done with.
            let mut seen: Option<(usize, i64)> = None;
            for (i, p) in self.pending.iter().enumerate().take(len) {
                if self.in_flight(p, sent.ts, sent.tsecr) {
                    continue;
                }
                let miss = match self.rtt {
                    Some(rtt) => sent.ts.since(p.ts).saturating_sub(rtt).saturating_abs(),
                    None => 0,
                };
                if seen.is_none_or(|(_, best)| miss <= best) {
                    seen = Some((i, miss));
                }
            }
            let seen = seen.map(|(i, _)| i);
            let prev = self.sent_back(0).copied();
            match (seen, prev) {
                (Some(i), Some(prev)) => {
                    if let Some(ack) = self.pending.get(i) {
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
                            rtt_to_sender_ns: self.rtt,
                            rtt_to_receiver_ns: ack.rtt_to_receiver,
                        });
                    }
                    // Drop it and the older ones; the newer ones stay,
                    // and this segment was in flight for them.
                    let done = i.saturating_add(1);
                    if let Some(live) = self.pending.get_mut(..len) {
                        live.rotate_left(done);
                    }
                    let rest = len.saturating_sub(done);
                    self.pending_len = rest as u8; // < PENDING
                    for p in self.pending.iter_mut().take(rest) {
                        p.in_flight = p.in_flight.saturating_add(1);
                    }
                }
                _ => {
                    for p in self.pending.iter_mut().take(len) {
                        p.in_flight = p.in_flight.saturating_add(1);
                    }
                }
            }
        }
        self.push_sent(Seg {
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
        let Some(prev) = self.sent_back(0) else {
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
        if let Some(last) = self.sent_back(0) {
            if ts.since(last.ts) >= DUPLICATE_NS {
                self.retransmitted = true;
                self.pending_len = 0;
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
        let Some(newest) = self.sent_back(0).copied() else {
            return;
        };
        // The segment it acknowledged: the newest one it reaches into. Only
        // an ACK of data the sender still remembers can start a wait.
        let Some(held) = (0..usize::from(self.sent_len))
            .filter_map(|b| self.sent_back(b))
            .find(|s| s.start() < acked)
            .copied()
        else {
            return;
        };
        let ack = PendingAck {
            ts,
            frame,
            acked_all: acked >= newest.end,
            tsval: tsval.filter(|v| self.peer_tsval != Some(*v)),
            in_flight: 0,
            rtt_to_receiver: peer_rtt,
            held,
        };
        let len = usize::from(self.pending_len).min(PENDING);
        let slot = len.min(PENDING - 1);
        if let Some(p) = self.pending.get_mut(slot) {
            *p = ack;
        }
        self.pending_len = slot.saturating_add(1) as u8; // <= PENDING
    }

    /// The peer sent data (which may carry an ACK): whatever the sender does
    /// next answers that data, not a pure ACK.
    pub fn peer_data(&mut self, acked: Option<u64>) {
        self.pending_len = 0;
        if let Some(a) = acked {
            self.acked = self.acked.max(a);
        }
    }

    /// Smallest round trip seen between the capture point and this side.
    pub fn rtt(&self) -> Option<i64> {
        self.rtt
    }

    /// Takes a round-trip sample between the capture point and this side.
    pub fn note_rtt(&mut self, sample: i64) {
        if sample >= 0 {
            self.rtt = Some(self.rtt.map_or(sample, |r| r.min(sample)));
        }
    }

    /// The peer acknowledged this side's stream up to `acked` at `ts`. The
    /// first acknowledgement of the sender's newest data is a round-trip
    /// sample to the *peer* (the data passed the capture point, reached the
    /// peer, and the ACK came back); it is returned for the peer's [`Pacing`].
    pub fn ack_sample(&mut self, acked: u64, ts: Timestamp) -> Option<i64> {
        let last = *self.sent_back(0)?;
        if self.sampled || acked < last.end {
            return None;
        }
        self.sampled = true;
        Some(ts.since(last.ts))
    }

    /// The peer sent a segment carrying TCP timestamp value `tsval` at `ts`.
    pub fn peer_tsval(&mut self, tsval: u32, ts: Timestamp) {
        self.peer_tsval = Some(tsval);
        match self.echo {
            Some((v, _)) if v == tsval => {} // keep when it was first seen
            _ => self.echo = Some((tsval, ts)),
        }
    }

    /// This side sent a segment echoing `tsecr` at `ts`: if it echoes the
    /// peer's newest timestamp, the time since that was first seen is a
    /// round-trip sample to this side.
    pub fn own_tsecr(&mut self, tsecr: u32, ts: Timestamp) {
        if let Some((v, seen)) = self.echo {
            if v == tsecr {
                self.echo = None;
                self.note_rtt(ts.since(seen));
            }
        }
    }
}

/// The TCP timestamp option (TSval, TSecr) of a raw options area. The usual
/// layouts (`NOP NOP TS ...` as Linux, BSD and Windows send it, or `TS`
/// first) are read directly; anything else goes through the full parser.
/// Reading only this, and cheaply, keeps per-segment option parsing off the
/// hot path (see `TcpSegment::options_raw`).
pub fn timestamp_option(raw: &[u8]) -> Option<(u32, u32)> {
    let be = |b: &[u8]| -> Option<u32> { Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?)) };
    match raw {
        [] => None,
        [1, 1, 8, 10, rest @ ..] | [8, 10, rest @ ..] if rest.len() >= 8 => {
            Some((be(rest)?, be(rest.get(4..)?)?))
        }
        _ => crate::decode::parse_options(raw).timestamp,
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp(ms * 1_000_000)
    }

    fn sent(ms: i64, offset: u64, len: u32, frame: u64) -> Sent {
        Sent {
            ts: t(ms),
            frame,
            offset,
            len,
            mss: Some(1448),
            tsecr: None,
        }
    }

    /// The same, echoing TCP timestamp `tsecr`.
    fn sent_ts(ms: i64, offset: u64, len: u32, frame: u64, tsecr: u32) -> Sent {
        Sent {
            tsecr: Some(tsecr),
            ..sent(ms, offset, len, frame)
        }
    }

    #[test]
    fn write_write_read_stall_is_reported() {
        let mut p = Pacing::default();
        p.note_rtt(100_000);
        assert!(p.data(Side::Client, sent(0, 0, 100, 1)).is_none());
        p.peer_pure_ack(100, t(40), 2, Some(50_000_000), None);
        let r = p.data(Side::Client, sent(41, 100, 50, 3)).unwrap();
        assert_eq!(
            (r.held_len, r.held_end, r.held_frame, r.mss),
            (100, 100, 1, Some(1448))
        );
        assert_eq!((r.ack_ts, r.ack_frame, r.acked_all), (t(40), 2, true));
        assert_eq!(
            (
                r.release_ts,
                r.release_offset,
                r.release_len,
                r.release_frame
            ),
            (t(41), 100, 50, 3)
        );
        assert_eq!(
            (r.rtt_to_sender_ns, r.rtt_to_receiver_ns),
            (Some(100_000), Some(50_000_000))
        );
        // Nothing came between: the sender was quiet since the held segment.
        assert_eq!((r.prev_ts, r.prev_frame, r.prev_end), (t(0), 1, 100));
        assert_eq!((r.in_flight, r.idle_ns()), (0, 41_000_000));
        // The release is the new held segment; nothing pending any more.
        assert!(p.data(Side::Client, sent(42, 150, 50, 4)).is_none());
    }

    #[test]
    fn data_from_the_peer_in_between_is_not_an_ack_release() {
        let mut p = Pacing::default();
        p.data(Side::Client, sent(0, 0, 100, 1));
        p.peer_pure_ack(100, t(40), 2, None, None);
        p.peer_data(Some(100)); // e.g. "HTTP/1.1 100 Continue"
        assert!(p.data(Side::Client, sent(41, 100, 50, 4)).is_none());
    }

    #[test]
    fn duplicate_acks_and_acks_of_older_data_do_not_count() {
        let mut p = Pacing::default();
        p.data(Side::Server, sent(0, 0, 100, 1));
        p.peer_pure_ack(100, t(1), 2, None, None);
        p.data(Side::Server, sent(2, 100, 100, 3));
        p.peer_pure_ack(100, t(3), 4, None, None); // duplicate of an old ack
        assert!(p.data(Side::Server, sent(4, 200, 100, 5)).is_none());
        p.data(Side::Server, sent(5, 300, 200, 6));
        p.peer_pure_ack(450, t(8), 9, None, None); // into the last segment: partial
        let r = p.data(Side::Server, sent(9, 500, 100, 10)).unwrap();
        assert!(!r.acked_all);
        assert_eq!((r.held_frame, r.held_end), (6, 500));
    }

    #[test]
    fn at_the_sender_the_ack_times_the_segment_it_covers() {
        // A window-bound sender: three segments, the peer's ACK of the
        // first lets out two more; the delayed ACK of the third comes back
        // while those two are unacknowledged.
        let mut p = Pacing::default();
        p.note_rtt(50_000); // the capture is at the sender
        p.data(Side::Server, sent(0, 0, 1000, 1));
        p.data(Side::Server, sent(0, 1000, 1000, 2));
        p.data(Side::Server, sent(0, 2000, 1000, 3));
        p.peer_pure_ack(2000, t(50), 4, Some(50_000_000), None);
        let r = p.data(Side::Server, sent(50, 3000, 1000, 5)).unwrap();
        assert_eq!((r.held_frame, r.idle_ns()), (2, 50_000_000));
        p.data(Side::Server, sent(50, 4000, 1000, 6));
        p.peer_pure_ack(3000, t(93), 7, Some(50_000_000), None);
        let r = p.data(Side::Server, sent(93, 5000, 1000, 8)).unwrap();
        // The ACK covers frame 3 (sent at 0), not the last data (frame 6).
        assert_eq!((r.held_frame, r.held_ts, r.held_end), (3, t(0), 3000));
        assert!(!r.acked_all);
        assert_eq!(
            (r.prev_frame, r.prev_end, r.idle_ns()),
            (6, 5000, 43_000_000)
        );
        // An ACK of data older than the last eight segments starts no wait.
        let mut p = Pacing::default();
        for i in 0..9 {
            p.data(Side::Server, sent(0, i * 100, 100, i + 1));
        }
        p.peer_pure_ack(100, t(90), 10, None, None);
        assert!(p.data(Side::Server, sent(91, 900, 100, 11)).is_none());
        // (Frame 2 left the memory with frame 11; frame 3 is in it.)
        p.peer_pure_ack(300, t(92), 12, None, None);
        assert_eq!(
            p.data(Side::Server, sent(93, 1000, 100, 13))
                .unwrap()
                .held_frame,
            3
        );
    }

    /// A receiver-side capture: the server's segment at 0, the client's
    /// delayed ACK at 40, one round trip to the server of 50 ms.
    fn receiver_side() -> Pacing {
        let mut p = Pacing::default();
        p.note_rtt(50_000_000);
        p.data(Side::Server, sent(0, 0, 1000, 1));
        p.peer_pure_ack(1000, t(40), 2, Some(100_000), None);
        p
    }

    #[test]
    fn in_flight_data_neither_releases_nor_consumes_the_ack() {
        // Without timestamps, data seen sooner than the round trip less 5 ms
        // after the ACK was on its way already.
        let mut p = receiver_side();
        assert!(p.data(Side::Server, sent(50, 1000, 1000, 3)).is_none());
        assert!(p.data(Side::Server, sent(84, 2000, 1000, 4)).is_none());
        let r = p.data(Side::Server, sent(90, 3000, 1000, 5)).unwrap();
        assert_eq!((r.ack_frame, r.held_frame, r.held_end), (2, 1, 1000));
        assert_eq!((r.prev_frame, r.prev_end, r.in_flight), (4, 3000, 2));
        assert_eq!(r.idle_ns(), 6_000_000);
        // The edge: 45 ms after the ACK is a release, a hair less is not.
        let mut p = receiver_side();
        assert!(p
            .data(
                Side::Server,
                Sent {
                    ts: Timestamp(84_999_999),
                    ..sent(0, 1000, 1000, 3)
                }
            )
            .is_none());
        assert!(p.data(Side::Server, sent(85, 2000, 1000, 4)).is_some());
        // Without a round trip to the sender, nothing is in flight.
        let mut p = Pacing::default();
        p.data(Side::Server, sent(0, 0, 1000, 1));
        p.peer_pure_ack(1000, t(40), 2, None, None);
        assert!(p.data(Side::Server, sent(41, 1000, 1000, 3)).is_some());
    }

    /// [`receiver_side`] with timestamps: the server's segment echoes 7, the
    /// client's earlier segment carried 7 and its ACK carries `tsval`.
    fn receiver_side_ts(tsval: u32) -> Pacing {
        let mut p = Pacing::default();
        p.note_rtt(50_000_000);
        p.peer_tsval(7, t(-10));
        p.data(Side::Server, sent_ts(0, 0, 1000, 1, 7));
        p.peer_pure_ack(1000, t(40), 2, Some(100_000), Some(tsval));
        p.peer_tsval(tsval, t(40));
        p
    }

    #[test]
    fn timestamps_tell_in_flight_data_within_the_round_trip() {
        // An older echo 48 ms after the ACK: in flight (time alone would
        // have taken it as the release).
        let mut p = receiver_side_ts(47);
        assert!(p
            .data(Side::Server, sent_ts(88, 1000, 1000, 3, 7))
            .is_none());
        assert!(p
            .data(Side::Server, sent_ts(90, 2000, 1000, 4, 47))
            .is_some());
        // The ACK's own value echoed 20 ms after it: the sender had it (the
        // round trip was overstated), a release.
        let mut p = receiver_side_ts(47);
        let r = p
            .data(Side::Server, sent_ts(60, 1000, 1000, 3, 47))
            .unwrap();
        assert_eq!(r.ack_frame, 2);
        // Timestamps alone are not trusted: a stale echo one round trip less
        // 1 ms after the ACK or later is a release; sooner, in flight.
        let mut p = receiver_side_ts(47);
        assert!(p
            .data(
                Side::Server,
                Sent {
                    ts: Timestamp(88_999_999),
                    ..sent_ts(0, 1000, 1000, 3, 7)
                }
            )
            .is_none());
        assert!(p
            .data(Side::Server, sent_ts(89, 2000, 1000, 4, 7))
            .is_some());
        // Wraparound: 2^32 - 1 is older than 3.
        let mut p = receiver_side_ts(3);
        assert!(p
            .data(Side::Server, sent_ts(88, 1000, 1000, 3, u32::MAX))
            .is_none());
    }

    #[test]
    fn a_clock_that_did_not_tick_tells_nothing() {
        // The ACK carries the same value as the client's previous segment
        // (a coarse clock): an echo of it proves nothing, time decides.
        let mut p = receiver_side_ts(7);
        assert!(p
            .data(Side::Server, sent_ts(84, 1000, 1000, 3, 7))
            .is_none());
        assert!(p
            .data(Side::Server, sent_ts(86, 2000, 1000, 4, 7))
            .is_some());
    }

    #[test]
    fn several_acks_wait_together() {
        // The client delays its ACK of the first segment (40); two
        // in-flight segments arrive (50), each acknowledged at once.
        let mut p = receiver_side();
        p.data(Side::Server, sent(50, 1000, 1000, 3));
        p.peer_pure_ack(2000, t(50), 4, Some(100_000), None);
        p.data(Side::Server, sent(50, 2000, 1000, 5));
        p.peer_pure_ack(3000, t(50), 6, Some(100_000), None);
        // One round trip after the first ACK: its release; the others wait.
        let r = p.data(Side::Server, sent(90, 3000, 1000, 7)).unwrap();
        assert_eq!((r.ack_frame, r.held_frame, r.in_flight), (2, 1, 2));
        assert_eq!((r.prev_frame, r.idle_ns()), (5, 40_000_000));
        // One round trip after the others: the newest is the release, of a
        // sender that was streaming (10 ms since its last data).
        let r = p.data(Side::Server, sent(100, 4000, 1000, 8)).unwrap();
        assert_eq!((r.ack_frame, r.held_frame, r.in_flight), (6, 5, 1));
        assert_eq!(r.idle_ns(), 10_000_000);
        assert!(p.data(Side::Server, sent(150, 5000, 1000, 9)).is_none());
    }

    #[test]
    fn the_release_goes_to_the_ack_it_follows_by_a_round_trip() {
        // The delayed ACK (40) and one 1.1 ms after it, of in-flight data;
        // no timestamps. Data 50 ms after the first follows it by a round
        // trip; data 50 ms after the second, the second.
        for (at, frame) in [(90.0, 2), (91.1, 4)] {
            let mut p = receiver_side();
            p.data(Side::Server, sent(41, 1000, 1000, 3));
            p.peer_pure_ack(2000, Timestamp(41_100_000), 4, None, None);
            let ts = Timestamp((at * 1e6) as i64);
            let r = p
                .data(
                    Side::Server,
                    Sent {
                        ts,
                        ..sent(0, 2000, 1000, 5)
                    },
                )
                .unwrap();
            assert_eq!(r.ack_frame, frame, "data at {at}");
        }
    }

    #[test]
    fn when_too_many_acks_wait_the_oldest_are_kept() {
        let mut p = receiver_side();
        for i in 0..6u64 {
            p.data(Side::Server, sent(50, 1000 * (i + 1), 1000, 10 + 2 * i));
            p.peer_pure_ack(1000 * (i + 2), t(50), 11 + 2 * i, None, None);
        }
        // Kept: the delayed ACK (2), two after it (11, 13), and the newest (21).
        let r = p.data(Side::Server, sent(90, 7000, 1000, 30)).unwrap();
        assert_eq!((r.ack_frame, r.in_flight), (2, 6));
        let r = p.data(Side::Server, sent(100, 8000, 1000, 31)).unwrap();
        assert_eq!(r.ack_frame, 21);
        assert!(p.data(Side::Server, sent(200, 9000, 1000, 32)).is_none());
    }

    #[test]
    fn a_partial_segment_behind_an_unacknowledged_one_is_unheld() {
        let mut p = Pacing::default();
        assert!(!p.unheld_partial(&sent(0, 0, 100, 1)), "nothing before it");
        p.data(Side::Client, sent(0, 0, 100, 1));
        assert!(p.unheld_partial(&sent(1, 100, 100, 2)));
        assert!(!p.unheld_partial(&sent(1, 100, 1448, 2)), "a full segment");
        assert!(!p.unheld_partial(&sent(1, 50, 100, 2)), "not after it");
        assert!(!p.unheld_partial(&Sent {
            mss: None,
            ..sent(1, 100, 100, 2)
        }));
        // Acknowledged (up to its end) before the next: Nagle lets it go.
        p.peer_pure_ack(99, t(1), 2, None, None);
        assert!(p.unheld_partial(&sent(2, 100, 100, 3)));
        p.peer_pure_ack(100, t(2), 3, None, None);
        assert!(!p.unheld_partial(&sent(3, 100, 100, 4)));
        // Behind a full segment (a large write's tail): no evidence.
        p.data(Side::Client, sent(4, 100, 1448, 4));
        assert!(!p.unheld_partial(&sent(4, 1548, 100, 5)));
    }

    #[test]
    fn nagle_shape_edges() {
        let mut p = Pacing::default();
        p.data(Side::Client, sent(0, 0, 1000, 1));
        p.peer_pure_ack(1000, t(40), 2, None, None);
        let r = p.data(Side::Client, sent(41, 1000, 500, 3)).unwrap();
        assert!(r.nagle_shaped(1001));
        assert!(!r.nagle_shaped(1000), "a full segment was acknowledged");
        let full = AckRelease {
            release_len: 1001,
            ..r
        };
        assert!(!full.nagle_shaped(1001), "a full segment was released");
        assert!(AckRelease {
            release_len: 1000,
            ..r
        }
        .nagle_shaped(1001));
        assert!(!AckRelease {
            acked_all: false,
            ..r
        }
        .nagle_shaped(1001));
    }

    #[test]
    fn a_retransmission_makes_the_wait_loss_recovery() {
        // The held segment is lost and retransmitted 200 ms later; the ACK
        // that follows answers the retransmission.
        let mut p = Pacing::default();
        p.data(Side::Client, sent(0, 0, 100, 1));
        p.retransmission(t(200));
        p.peer_pure_ack(100, t(250), 3, None, None);
        assert!(p.data(Side::Client, sent(250, 100, 50, 4)).is_none());
        // A retransmission between the ACK and the next data voids the ACK.
        p.peer_pure_ack(150, t(290), 5, None, None);
        p.retransmission(t(300));
        assert!(p.data(Side::Client, sent(301, 150, 50, 6)).is_none());
        // The same packet captured twice, 0.3 and 2 ms apart, is no
        // retransmission.
        let mut p = Pacing::default();
        p.data(Side::Client, sent(0, 0, 100, 1));
        p.retransmission(Timestamp(300_000));
        p.retransmission(t(2));
        p.retransmission(Timestamp(9_999_999));
        p.peer_pure_ack(100, t(40), 3, None, None);
        assert!(p.data(Side::Client, sent(41, 100, 50, 4)).is_some());
    }

    #[test]
    fn round_trips_keep_the_smallest_sample() {
        let mut p = Pacing::default();
        assert_eq!(p.rtt(), None);
        p.note_rtt(50);
        p.note_rtt(70);
        p.note_rtt(-1); // clock going backwards is no sample
        assert_eq!(p.rtt(), Some(50));

        // Data/ACK pairs: only the first acknowledgement of the last data.
        let mut s = Pacing::default();
        s.data(Side::Client, sent(0, 0, 100, 1));
        assert_eq!(s.ack_sample(50, t(10)), None);
        assert_eq!(s.ack_sample(100, t(20)), Some(20_000_000));
        assert_eq!(s.ack_sample(100, t(30)), None);

        // Timestamps: the first echo of the peer's newest value, timed from
        // when that value was first seen.
        let mut x = Pacing::default();
        x.peer_tsval(7, t(0));
        x.peer_tsval(7, t(5));
        x.own_tsecr(6, t(8)); // an older value: not timed
        x.own_tsecr(7, t(9));
        x.own_tsecr(7, t(12)); // echoed again: already taken
        assert_eq!(x.rtt(), Some(9_000_000));
    }

    #[test]
    fn timestamp_option_fast_and_slow_paths() {
        let ts = [1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6];
        assert_eq!(timestamp_option(&ts), Some((5, 6)));
        assert_eq!(timestamp_option(&ts[2..]), Some((5, 6)));
        // MSS first, then the timestamp: the full parser finds it.
        let odd = [2, 4, 5, 180, 8, 10, 0, 0, 0, 9, 0, 0, 0, 10];
        assert_eq!(timestamp_option(&odd), Some((9, 10)));
        assert_eq!(timestamp_option(&[]), None);
        assert_eq!(timestamp_option(&[1, 1, 8, 10, 0, 0]), None); // cut by the snaplen
    }
}
