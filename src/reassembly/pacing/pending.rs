//! The peer's pure ACKs that may yet release the sender's next data: a few
//! at once, oldest first, in a fixed array.

use super::ring::Seg;
use crate::Timestamp;

/// How many of the peer's pure ACKs may wait for a release at once. Seen at
/// the receiver, it acknowledges the in-flight data as it arrives, so a few
/// ACKs wait together; when they are more, the newest replaces the last
/// slot: the oldest are the ones a quiet sender waits on, and the newest the
/// one a streaming sender answers next.
const PENDING: usize = 4;

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct PendingAck {
    pub ts: Timestamp,
    pub frame: u64,
    pub acked_all: bool,
    /// The ACK's TSval, when it differs from the peer's previous segment's
    /// (with a coarse clock, an echo of an older segment's value would look
    /// like an echo of this one).
    pub tsval: Option<u32>,
    pub in_flight: u32,
    pub rtt_to_receiver: Option<i64>,
    pub held: Seg,
}

/// Up to [`PENDING`] ACKs, oldest first.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct PendingAcks {
    acks: [PendingAck; PENDING],
    len: u8,
}

impl PendingAcks {
    /// The ACKs waiting, oldest first.
    pub fn live(&self) -> &[PendingAck] {
        let len = usize::from(self.len).min(PENDING);
        self.acks.get(..len).unwrap_or_default()
    }

    /// The sender's data followed ACK `i`: it and the older ones are done
    /// with; the newer ones stay, and that data was in flight for them.
    pub fn release_through(&mut self, i: usize) {
        let len = usize::from(self.len).min(PENDING);
        let done = i.saturating_add(1);
        if let Some(live) = self.acks.get_mut(..len) {
            live.rotate_left(done);
        }
        let rest = len.saturating_sub(done);
        self.len = rest as u8; // < PENDING
        self.all_in_flight();
    }

    /// The sender's data followed none of them: it was in flight for all.
    pub fn all_in_flight(&mut self) {
        let len = usize::from(self.len).min(PENDING);
        for p in self.acks.iter_mut().take(len) {
            p.in_flight = p.in_flight.saturating_add(1);
        }
    }

    /// A new ACK waits; when [`PENDING`] do already, it replaces the newest.
    pub fn push(&mut self, ack: PendingAck) {
        let len = usize::from(self.len).min(PENDING);
        let slot = len.min(PENDING - 1);
        if let Some(p) = self.acks.get_mut(slot) {
            *p = ack;
        }
        self.len = slot.saturating_add(1) as u8; // <= PENDING
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }
}
