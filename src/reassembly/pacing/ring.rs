//! The sender's latest new-data segments, a fixed ring: what an ACK of the
//! peer can be matched against.

use crate::Timestamp;

/// How many of the sender's latest segments are remembered, to find the one
/// an ACK acknowledged: at the sender, the segments a window let out after
/// it leave before the ACK comes back. An ACK of a segment older than these
/// starts no wait.
const SENT: usize = 8;

/// One of the sender's new-data segments, as remembered.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Seg {
    pub ts: Timestamp,
    pub frame: u64,
    /// Stream offset just past its last byte.
    pub end: u64,
    pub len: u32,
    pub mss: Option<u16>,
}

impl Seg {
    pub fn start(&self) -> u64 {
        self.end.saturating_sub(u64::from(self.len))
    }
}

/// The latest [`SENT`] segments: `len` of them, the newest at `newest`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct SentRing {
    segs: [Seg; SENT],
    len: u8,
    newest: u8,
}

impl SentRing {
    /// The segment `back` segments before the newest (0: the newest).
    pub fn back(&self, back: usize) -> Option<&Seg> {
        if back >= usize::from(self.len) {
            return None;
        }
        let i = usize::from(self.newest)
            .wrapping_add(SENT)
            .wrapping_sub(back)
            % SENT;
        self.segs.get(i)
    }

    pub fn newest(&self) -> Option<&Seg> {
        self.back(0)
    }

    /// The newest segment an acknowledgement up to `acked` reaches into.
    pub fn newest_reached_by(&self, acked: u64) -> Option<Seg> {
        (0..usize::from(self.len))
            .filter_map(|b| self.back(b))
            .find(|s| s.start() < acked)
            .copied()
    }

    pub fn push(&mut self, seg: Seg) {
        let next = if self.len == 0 {
            0
        } else {
            (usize::from(self.newest) + 1) % SENT
        };
        if let Some(slot) = self.segs.get_mut(next) {
            *slot = seg;
        }
        self.newest = next as u8; // < SENT
        self.len = self.len.saturating_add(1).min(SENT as u8);
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn seg(end: u64) -> Seg {
        Seg {
            end,
            len: 10,
            ..Seg::default()
        }
    }

    #[test]
    fn the_ring_keeps_the_latest_eight_newest_first() {
        let mut r = SentRing::default();
        assert!(r.newest().is_none());
        for i in 1..=10 {
            r.push(seg(i * 10));
        }
        assert_eq!(r.newest().unwrap().end, 100);
        assert_eq!(r.back(7).unwrap().end, 30);
        assert!(r.back(8).is_none(), "the two oldest are gone");
        // The newest segment that starts below the acknowledged offset.
        assert_eq!(r.newest_reached_by(55).unwrap().end, 60);
        assert_eq!(r.newest_reached_by(21).unwrap().end, 30, "the oldest kept");
        assert!(
            r.newest_reached_by(20).is_none(),
            "only older data: not in the ring"
        );
    }
}
