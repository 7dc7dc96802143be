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

use super::Side;
use crate::Timestamp;

/// A sender's new data that left only after the peer's pure ACK arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckRelease {
    pub sender: Side,
    /// The sender's last new-data segment before the wait: when it was seen,
    /// its size, and the offset just past it.
    pub held_ts: Timestamp,
    pub held_len: u32,
    pub held_end: u64,
    /// The sender's maximum segment size, if its SYN was seen.
    pub mss: Option<u16>,
    /// When the peer's pure ACK was seen, and whether it acknowledged
    /// everything the sender had sent (else the sender may be window-bound).
    pub ack_ts: Timestamp,
    pub acked_all: bool,
    /// The sender's next new data: when, how much, in which frame.
    pub release_ts: Timestamp,
    pub release_len: u32,
    pub release_frame: u64,
}

#[derive(Clone, Copy, Debug)]
struct LastData {
    ts: Timestamp,
    len: u32,
    end: u64,
}

#[derive(Clone, Copy, Debug)]
struct PendingAck {
    ts: Timestamp,
    acked_all: bool,
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
}

impl Pacing {
    /// The sender sent new data `[end - len, end)` at `ts`. Returns the
    /// release if the sender had been waiting on the peer's pure ACK.
    pub fn data(
        &mut self,
        sender: Side,
        mss: Option<u16>,
        ts: Timestamp,
        len: u32,
        end: u64,
        frame: u64,
    ) -> Option<AckRelease> {
        let release = match (self.pending.take(), self.last_data) {
            (Some(ack), Some(held)) => Some(AckRelease {
                sender,
                held_ts: held.ts,
                held_len: held.len,
                held_end: held.end,
                mss,
                ack_ts: ack.ts,
                acked_all: ack.acked_all,
                release_ts: ts,
                release_len: len,
                release_frame: frame,
            }),
            _ => None,
        };
        self.last_data = Some(LastData { ts, len, end });
        release
    }

    /// The peer sent a segment without data acknowledging up to `acked`.
    pub fn peer_pure_ack(&mut self, acked: u64, ts: Timestamp) {
        if acked <= self.acked {
            return; // a duplicate or a window update: releases nothing new
        }
        self.acked = acked;
        if let Some(last) = self.last_data {
            // Only an ACK that covers data the sender was holding on counts.
            if acked > last.end.saturating_sub(u64::from(last.len)) {
                self.pending = Some(PendingAck {
                    ts,
                    acked_all: acked >= last.end,
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp(ms * 1_000_000)
    }

    #[test]
    fn write_write_read_stall_is_reported() {
        let mut p = Pacing::default();
        assert!(p
            .data(Side::Client, Some(1460), t(0), 100, 100, 1)
            .is_none());
        p.peer_pure_ack(100, t(40));
        let r = p.data(Side::Client, Some(1460), t(41), 50, 150, 3).unwrap();
        assert_eq!(
            (r.held_len, r.ack_ts, r.release_ts, r.acked_all),
            (100, t(40), t(41), true)
        );
    }

    #[test]
    fn data_from_the_peer_in_between_is_not_an_ack_release() {
        let mut p = Pacing::default();
        p.data(Side::Client, None, t(0), 100, 100, 1);
        p.peer_pure_ack(100, t(40));
        p.peer_data(Some(100)); // e.g. "HTTP/1.1 100 Continue"
        assert!(p.data(Side::Client, None, t(41), 50, 150, 4).is_none());
    }

    #[test]
    fn duplicate_acks_do_not_count() {
        let mut p = Pacing::default();
        p.data(Side::Server, None, t(0), 100, 100, 1);
        p.peer_pure_ack(100, t(1));
        p.data(Side::Server, None, t(2), 100, 200, 3);
        p.peer_pure_ack(100, t(3)); // duplicate of an old ack
        assert!(p.data(Side::Server, None, t(4), 100, 300, 5).is_none());
    }
}
