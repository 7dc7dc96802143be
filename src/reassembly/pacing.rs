//! Ack clocking of one direction, for the Nagle / delayed-ACK rules.
//!
//! Nagle's algorithm holds a sender's small segment while earlier data is
//! unacknowledged; delayed ACK holds the receiver's acknowledgement hoping to
//! piggyback it on data. Together they stall write-write-read exchanges until
//! the delayed-ACK timer fires. The evidence on the wire is always the same
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
//! trip seen between the capture point and its sender, from two kinds of
//! sample, each of which can only overstate it: a TCP timestamp of the peer
//! coming back in this side's TSecr, and the peer's last data coming back
//! acknowledged by this side.

use super::Side;
use crate::Timestamp;

/// A sender's new data that left only after the peer's pure ACK arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckRelease {
    pub sender: Side,
    /// The sender's last new-data segment before the wait: when it was seen,
    /// in which frame, its size, and the stream offset just past it.
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
    /// acknowledged everything the sender had sent (else the sender may be
    /// window-bound).
    pub ack_ts: Timestamp,
    pub ack_frame: u64,
    pub acked_all: bool,
    /// The sender's next new data: when, where in its stream, how much, in
    /// which frame.
    pub release_ts: Timestamp,
    pub release_offset: u64,
    pub release_len: u32,
    pub release_frame: u64,
    /// The round trip between the capture point and the sender, and between
    /// the capture point and the receiver (the peer that sent the ACK), as
    /// estimated from TCP timestamps and data/ACK pairs seen *before* the
    /// release and the ACK respectively (so the wait itself never counts as
    /// a round trip). Upper bounds; `None` before the first sample.
    pub rtt_to_sender_ns: Option<i64>,
    pub rtt_to_receiver_ns: Option<i64>,
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
}

#[derive(Clone, Copy, Debug)]
struct LastData {
    ts: Timestamp,
    frame: u64,
    len: u32,
    end: u64,
    mss: Option<u16>,
    /// The peer's acknowledgement of `end` has been taken as a round-trip
    /// sample already (only the first one measures the path).
    sampled: bool,
    /// The sender retransmitted since: the peer's next ACK may answer the
    /// retransmission, and the wait was loss recovery, not an ACK held back.
    retransmitted: bool,
}

/// A retransmission seen sooner than this after the last new data is the
/// capture seeing packets twice (two interfaces, a mirror port: the corpus
/// has copies 0.3 and 2 ms apart). TCP's own retransmission of the last
/// segment before a wait comes no sooner: the tail-loss probe waits at
/// least 10 ms, the RTO 30 ms (BSD) to 1 s, and the last segment cannot be
/// fast-retransmitted, since nothing after it draws duplicate ACKs.
const DUPLICATE_NS: i64 = 10_000_000;

#[derive(Clone, Copy, Debug)]
struct PendingAck {
    ts: Timestamp,
    frame: u64,
    acked_all: bool,
    rtt_to_receiver: Option<i64>,
}

/// Ack-clock state of one sending direction: a few words, updated per segment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pacing {
    last_data: Option<LastData>,
    /// Highest offset the peer has acknowledged.
    acked: u64,
    /// The peer's latest pure ACK that advanced `acked`, if nothing but that
    /// ACK has happened since the sender's last data.
    pending: Option<PendingAck>,
    /// Smallest round-trip sample between the capture point and this side.
    rtt: Option<i64>,
    /// The peer's newest TCP timestamp value and when it was first seen,
    /// until this side echoes it.
    echo: Option<(u32, Timestamp)>,
}

impl Pacing {
    /// The sender sent new data. Returns the release if the sender had been
    /// waiting on the peer's pure ACK.
    pub fn data(&mut self, sender: Side, sent: Sent) -> Option<AckRelease> {
        let release = match (self.pending.take(), self.last_data) {
            (Some(ack), Some(held)) if !held.retransmitted => Some(AckRelease {
                sender,
                held_ts: held.ts,
                held_frame: held.frame,
                held_len: held.len,
                held_end: held.end,
                mss: held.mss,
                ack_ts: ack.ts,
                ack_frame: ack.frame,
                acked_all: ack.acked_all,
                release_ts: sent.ts,
                release_offset: sent.offset,
                release_len: sent.len,
                release_frame: sent.frame,
                rtt_to_sender_ns: self.rtt,
                rtt_to_receiver_ns: ack.rtt_to_receiver,
            }),
            _ => None,
        };
        self.last_data = Some(LastData {
            ts: sent.ts,
            frame: sent.frame,
            len: sent.len,
            end: sent.offset.saturating_add(u64::from(sent.len)),
            mss: sent.mss,
            sampled: false,
            retransmitted: false,
        });
        release
    }

    /// The sender retransmitted data at `ts`.
    pub fn retransmission(&mut self, ts: Timestamp) {
        if let Some(last) = self.last_data.as_mut() {
            if ts.since(last.ts) >= DUPLICATE_NS {
                last.retransmitted = true;
                self.pending = None;
            }
        }
    }

    /// The peer sent a segment without data acknowledging up to `acked`, in
    /// `frame`; `peer_rtt` is the peer's round trip to the capture point as
    /// known before this segment.
    pub fn peer_pure_ack(&mut self, acked: u64, ts: Timestamp, frame: u64, peer_rtt: Option<i64>) {
        if acked <= self.acked {
            return; // a duplicate or a window update: releases nothing new
        }
        self.acked = acked;
        if let Some(last) = self.last_data {
            // Only an ACK that covers data the sender was holding on counts.
            if !last.retransmitted && acked > last.end.saturating_sub(u64::from(last.len)) {
                self.pending = Some(PendingAck {
                    ts,
                    frame,
                    acked_all: acked >= last.end,
                    rtt_to_receiver: peer_rtt,
                });
            }
        }
    }

    /// The peer sent data (which may carry an ACK): whatever the sender does
    /// next answers that data, not a pure ACK.
    pub fn peer_data(&mut self, acked: Option<u64>) {
        self.pending = None;
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
    /// first acknowledgement of the sender's last data is a round-trip sample
    /// to the *peer* (the data passed the capture point, reached the peer,
    /// and the ACK came back); it is returned for the peer's [`Pacing`].
    pub fn ack_sample(&mut self, acked: u64, ts: Timestamp) -> Option<i64> {
        let last = self.last_data.as_mut()?;
        if last.sampled || acked < last.end {
            return None;
        }
        last.sampled = true;
        Some(ts.since(last.ts))
    }

    /// The peer sent a segment carrying TCP timestamp value `tsval` at `ts`.
    pub fn peer_tsval(&mut self, tsval: u32, ts: Timestamp) {
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
        }
    }

    #[test]
    fn write_write_read_stall_is_reported() {
        let mut p = Pacing::default();
        p.note_rtt(100_000);
        assert!(p.data(Side::Client, sent(0, 0, 100, 1)).is_none());
        p.peer_pure_ack(100, t(40), 2, Some(50_000_000));
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
        // The release is the new held segment; nothing pending any more.
        assert!(p.data(Side::Client, sent(42, 150, 50, 4)).is_none());
    }

    #[test]
    fn data_from_the_peer_in_between_is_not_an_ack_release() {
        let mut p = Pacing::default();
        p.data(Side::Client, sent(0, 0, 100, 1));
        p.peer_pure_ack(100, t(40), 2, None);
        p.peer_data(Some(100)); // e.g. "HTTP/1.1 100 Continue"
        assert!(p.data(Side::Client, sent(41, 100, 50, 4)).is_none());
    }

    #[test]
    fn duplicate_acks_and_acks_of_older_data_do_not_count() {
        let mut p = Pacing::default();
        p.data(Side::Server, sent(0, 0, 100, 1));
        p.peer_pure_ack(100, t(1), 2, None);
        p.data(Side::Server, sent(2, 100, 100, 3));
        p.peer_pure_ack(100, t(3), 4, None); // duplicate of an old ack
        assert!(p.data(Side::Server, sent(4, 200, 100, 5)).is_none());
        p.data(Side::Server, sent(5, 300, 100, 6));
        p.peer_pure_ack(300, t(6), 7, None); // acks up to, not into, the last segment
        assert!(p.data(Side::Server, sent(7, 400, 100, 8)).is_none());
        p.peer_pure_ack(450, t(8), 9, None); // into the last segment: partial
        let r = p.data(Side::Server, sent(9, 500, 100, 10)).unwrap();
        assert!(!r.acked_all);
    }

    #[test]
    fn a_retransmission_makes_the_wait_loss_recovery() {
        // The held segment is lost and retransmitted 200 ms later; the ACK
        // that follows answers the retransmission.
        let mut p = Pacing::default();
        p.data(Side::Client, sent(0, 0, 100, 1));
        p.retransmission(t(200));
        p.peer_pure_ack(100, t(250), 3, None);
        assert!(p.data(Side::Client, sent(250, 100, 50, 4)).is_none());
        // A retransmission between the ACK and the next data voids the ACK.
        p.peer_pure_ack(150, t(290), 5, None);
        p.retransmission(t(300));
        assert!(p.data(Side::Client, sent(301, 150, 50, 6)).is_none());
        // The same packet captured twice, 0.3 and 2 ms apart, is no
        // retransmission.
        let mut p = Pacing::default();
        p.data(Side::Client, sent(0, 0, 100, 1));
        p.retransmission(Timestamp(300_000));
        p.retransmission(t(2));
        p.retransmission(Timestamp(9_999_999));
        p.peer_pure_ack(100, t(40), 3, None);
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
