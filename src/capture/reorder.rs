//! Frames in time order: capture files merged or rotated out of order, and
//! single records whose timestamp is corrupt, between the reader (file
//! order) and the decoder.
//!
//! The pipeline reads a capture in time order: the flow table opens a
//! connection at its first packet, reassembly delivers bytes as segments
//! arrive, the HTTP layer sees a request before its response. A file whose
//! records are out of time order (two captures concatenated with `mergecap
//! -a`, rotated files joined in the wrong order, interfaces or capture
//! queues written one buffer after another) breaks all of that: a response
//! before its request, data before the SYN. [`Reorder`] puts frames back in
//! order within a bounded window:
//!
//! - **Which frames move.** A frame earlier than the latest frame read by
//!   more than [`TOLERANCE_NS`] (1 ms) is *late*, and is moved back to its
//!   time among the frames still held. Within the tolerance the file's
//!   order stands: that is how far the clocks of two capture queues or
//!   interfaces disagree, where the order in which frames were written is as
//!   good a witness as their timestamps (and synthetic captures often give
//!   every frame of a side one timestamp).
//! - **The window.** Frames are held until the latest frame read is
//!   [`ReorderLimits::window_ns`] later than they are, and at most
//!   [`ReorderLimits::max_frames`] frames and [`ReorderLimits::max_bytes`]
//!   bytes are held (the earliest leave first). A late frame that belongs
//!   before a frame already passed on cannot be put back: it is passed on
//!   where it was read and counted ([`ReorderStats::frames_out_of_order`]),
//!   and every command notes it.
//! - **Cost.** Holding a frame copies it. A capture in order is copied only
//!   while it starts (until [`SETTLE_FRAMES`] frames in a row came in order)
//!   and after each late frame; in between frames pass straight through, so
//!   the first late frame after such a stretch cannot be put back (it is
//!   counted as out of order, and holding resumes).
//! - **Clock anomalies.** A frame whose timestamp is more than an hour (and
//!   twice the window) away from the frames on both sides of it, which agree
//!   with each other, has a corrupt timestamp: it is passed on at the time
//!   of the frame before it and counted
//!   ([`ReorderStats::clock_anomalies`]), so one record years off neither
//!   splits every connection by an idle timeout nor makes every frame after
//!   it late. A capture that genuinely resumes after a pause is followed by
//!   frames that agree with its new time; the lone last frame of a capture
//!   that far from the one before it is taken for an anomaly too.
//!
//! Frame numbers stay those of the file, so findings cite the frames tshark
//! shows.

use super::{Frame, LinkType};
use crate::Timestamp;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

const SECOND: i64 = 1_000_000_000;

/// Frames earlier than the latest read by at most this much keep their
/// place in the file's order (see the [module docs](self)).
pub const TOLERANCE_NS: i64 = SECOND / 1_000;

/// Frames in a row that must come in order before holding stops.
pub const SETTLE_FRAMES: u64 = 1024;

/// The least distance from its neighbours at which a frame's timestamp is a
/// clock anomaly (the bound is at least twice the window too).
pub const CLOCK_JUMP_NS: i64 = 3_600 * SECOND;

/// The bounds of the reordering window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReorderLimits {
    /// A frame is held until a frame this much later was read.
    pub window_ns: i64,
    /// Frames held at once.
    pub max_frames: usize,
    /// Bytes of frames held at once.
    pub max_bytes: usize,
}

impl Default for ReorderLimits {
    fn default() -> Self {
        ReorderLimits {
            window_ns: 10 * SECOND,
            max_frames: 16_384,
            max_bytes: 16 << 20,
        }
    }
}

/// What reordering did to a capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReorderStats {
    /// Late frames put back in time order.
    pub frames_reordered: u64,
    /// Late frames that could not be put back (beyond the window or its
    /// bounds, or the first after frames passed straight through): passed
    /// on where they were read.
    pub frames_out_of_order: u64,
    /// Frames whose timestamp was taken for corrupt and replaced by the
    /// previous frame's.
    pub clock_anomalies: u64,
    /// Most frames held at once.
    pub max_held_frames: u64,
}

/// A frame copied out of the reader's buffer.
#[derive(Debug)]
struct Held {
    /// Where it goes in time order; ties keep the file's order (`seq`).
    key: Timestamp,
    seq: u64,
    number: u64,
    offset: u64,
    ts: Timestamp,
    link_type: LinkType,
    orig_len: u32,
    data: Vec<u8>,
}

impl Held {
    fn frame(&self) -> Frame<'_> {
        Frame {
            number: self.number,
            offset: self.offset,
            ts: self.ts,
            link_type: self.link_type,
            data: &self.data,
            orig_len: self.orig_len,
        }
    }
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        (self.key, self.seq) == (other.key, other.seq)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    /// Reversed, so that the max-heap hands out the earliest frame.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.key, other.seq).cmp(&(self.key, self.seq))
    }
}

/// A frame on its way: still in the reader's buffer, or copied.
enum Item<'a> {
    Borrowed(Frame<'a>),
    Owned(Held),
}

impl Item<'_> {
    fn ts(&self) -> Timestamp {
        match self {
            Item::Borrowed(f) => f.ts,
            Item::Owned(h) => h.ts,
        }
    }
}

/// The reordering stage; see the [module docs](self).
pub struct Reorder {
    limits: ReorderLimits,
    jump_ns: i64,
    /// The clock check: the time of the last frame it passed on, and the
    /// frames it holds for the next one's opinion (the first frames of the
    /// capture, or one that jumped).
    prev: Option<Timestamp>,
    pending: Vec<Held>,
    /// The window: frames held, in a heap by time.
    held: BinaryHeap<Held>,
    held_bytes: usize,
    /// Holding (the capture's start, or since a late frame), or passing
    /// frames straight through.
    holding: bool,
    /// Frames in a row that came in order.
    in_order: u64,
    /// The latest time read, and where the last frame passed on went.
    latest: Option<Timestamp>,
    released: Option<Timestamp>,
    seq: u64,
    /// Buffers of frames passed on, for the next ones held.
    spare: Vec<Vec<u8>>,
    /// The steady state of a capture in order: nothing held or pending,
    /// and the last frame passed on is the latest read, at this time.
    /// While it is set, `prev`, `latest` and `released` are not kept up to
    /// date (they all equal it): [`Reorder::passes_straight`] looks at this
    /// one field, which is what keeps the stage's cost per frame small.
    steady: Option<Timestamp>,
    pub stats: ReorderStats,
}

/// Spare frame buffers kept for reuse.
const MAX_SPARE: usize = 64;

impl Reorder {
    pub fn new(limits: ReorderLimits) -> Reorder {
        Reorder {
            limits,
            jump_ns: CLOCK_JUMP_NS.max(limits.window_ns.saturating_mul(2)),
            prev: None,
            pending: Vec::new(),
            held: BinaryHeap::new(),
            held_bytes: 0,
            holding: true,
            in_order: 0,
            latest: None,
            released: None,
            seq: 0,
            spare: Vec::new(),
            steady: None,
            stats: ReorderStats::default(),
        }
    }

    /// Whether a frame at `ts` may go on at once, as it is (borrowed, not
    /// copied): the capture is in its steady state (see `steady`) and the
    /// frame is not earlier than the one before it, nor a clock jump away.
    /// Then the frame counts as passed on, and the caller hands it on
    /// itself; otherwise it goes to [`Reorder::push`]. The same frames pass
    /// as through `push`, in the same order: this is `push`'s in-order path
    /// with its bookkeeping reduced to one timestamp.
    #[inline(always)]
    pub fn passes_straight(&mut self, ts: Timestamp) -> bool {
        match self.steady {
            Some(t) if ts >= t && ts.since(t) <= self.jump_ns => {
                self.steady = Some(ts);
                true
            }
            _ => false,
        }
    }

    /// Leaves the steady state: the fields it stood for get its time.
    fn unsteady(&mut self) {
        if let Some(t) = self.steady.take() {
            self.prev = Some(t);
            self.latest = Some(t);
            self.released = Some(t);
        }
    }

    /// Takes the next frame in file order; frames that are ready go to `out`
    /// in time order.
    #[inline]
    pub fn push(&mut self, frame: Frame<'_>, out: &mut impl FnMut(Frame<'_>)) {
        if self.passes_straight(frame.ts) {
            out(frame);
            return;
        }
        self.unsteady();
        // The fast path: a frame close to the one before it, nothing held
        // for the clock check.
        if let (Some(prev), true) = (self.prev, self.pending.is_empty()) {
            if self.close(prev, frame.ts) {
                self.prev = Some(frame.ts);
                if self.passes(frame.ts) {
                    if self.latest == self.prev {
                        // Not earlier than any frame before it.
                        self.steady = self.latest;
                    }
                    out(frame);
                } else {
                    self.place(Item::Borrowed(frame), out);
                }
                return;
            }
            // It jumped: hold it until the next frame tells.
            let held = self.copy(&frame);
            self.pending.push(held);
            return;
        }
        self.clock_check(frame, out);
    }

    /// The end of the capture: everything held goes to `out`, in time order.
    pub fn finish(&mut self, out: &mut impl FnMut(Frame<'_>)) {
        self.unsteady();
        let mut pending = std::mem::take(&mut self.pending).into_iter();
        match (self.prev, pending.next(), pending.next()) {
            (Some(prev), Some(mut lone), _) => {
                // The last frame, far from the one before it.
                self.anomaly(&mut lone, prev);
                self.place(Item::Owned(lone), out);
            }
            (None, first, second) => {
                for h in [first, second].into_iter().flatten() {
                    self.place(Item::Owned(h), out);
                }
            }
            (Some(_), None, _) => {}
        }
        while let Some(h) = self.held.pop() {
            self.release(h, out);
        }
    }

    #[inline]
    fn close(&self, a: Timestamp, b: Timestamp) -> bool {
        a.since(b).saturating_abs() <= self.jump_ns
    }

    fn anomaly(&mut self, h: &mut Held, at: Timestamp) {
        h.ts = at;
        self.stats.clock_anomalies = self.stats.clock_anomalies.saturating_add(1);
    }

    /// The slow path of the clock check: frames held for an opinion.
    fn clock_check(&mut self, frame: Frame<'_>, out: &mut impl FnMut(Frame<'_>)) {
        let ts = frame.ts;
        let mut pending = std::mem::take(&mut self.pending).into_iter();
        match (self.prev, pending.next(), pending.next()) {
            // The capture's first frame waits for a second opinion.
            (None, None, _) => {
                let held = self.copy(&frame);
                self.pending.push(held);
                return;
            }
            (None, Some(first), None) => {
                if !self.close(first.ts, ts) {
                    // They disagree: a third frame decides which is off.
                    let held = self.copy(&frame);
                    self.pending = vec![first, held];
                    return;
                }
                self.prev = Some(first.ts);
                self.place(Item::Owned(first), out);
            }
            (None, Some(mut first), Some(mut second)) => {
                let (a, b) = (first.ts, second.ts);
                if self.close(b, ts) && !self.close(a, ts) {
                    self.anomaly(&mut first, b);
                } else if self.close(a, ts) && !self.close(b, ts) {
                    self.anomaly(&mut second, a);
                }
                self.prev = Some(second.ts);
                self.place(Item::Owned(first), out);
                self.place(Item::Owned(second), out);
            }
            (Some(prev), Some(mut suspect), _) => {
                // The frame after one that jumped: back at the old time, it
                // was the jump that was wrong.
                if self.close(prev, ts) && !self.close(suspect.ts, ts) {
                    self.anomaly(&mut suspect, prev);
                }
                self.prev = Some(suspect.ts);
                self.place(Item::Owned(suspect), out);
            }
            (Some(_), None, _) => {}
        }
        // This frame, judged against the one passed on before it.
        self.push(frame, out);
    }

    /// The in-order path, the one nearly every frame takes: a frame that is
    /// not late while nothing is held passes straight on. Updates the order
    /// state as [`Reorder::place`] would and says whether it may pass.
    #[inline]
    fn passes(&mut self, ts: Timestamp) -> bool {
        if self.holding
            || self
                .latest
                .is_some_and(|latest| ts.add_nanos(TOLERANCE_NS) < latest)
        {
            return false;
        }
        let key = self.latest.map_or(ts, |latest| ts.max(latest));
        self.seq = self.seq.saturating_add(1);
        self.latest = Some(key);
        self.in_order = self.in_order.saturating_add(1);
        self.released = Some(key);
        true
    }

    /// A frame in file order, its timestamp trusted: passed on, or held
    /// until its time comes.
    #[inline]
    fn place(&mut self, item: Item<'_>, out: &mut impl FnMut(Frame<'_>)) {
        self.seq = self.seq.saturating_add(1);
        let ts = item.ts();
        let late = self
            .latest
            .is_some_and(|latest| ts.add_nanos(TOLERANCE_NS) < latest);
        let key = if late {
            ts
        } else {
            let key = self.latest.map_or(ts, |latest| ts.max(latest));
            self.latest = Some(key);
            key
        };
        if late {
            self.in_order = 0;
            self.holding = true;
            if self.released.is_some_and(|r| key < r) {
                // Its place has been passed on already.
                self.stats.frames_out_of_order = self.stats.frames_out_of_order.saturating_add(1);
                self.emit(item, out);
                return;
            }
            self.stats.frames_reordered = self.stats.frames_reordered.saturating_add(1);
        } else {
            self.in_order = self.in_order.saturating_add(1);
            if !self.holding {
                self.released = Some(key);
                self.emit(item, out);
                return;
            }
        }
        let mut held = match item {
            Item::Borrowed(f) => self.copy(&f),
            Item::Owned(h) => h,
        };
        held.key = key;
        held.seq = self.seq;
        self.held_bytes = self.held_bytes.saturating_add(held.data.len());
        self.held.push(held);
        self.stats.max_held_frames = self.stats.max_held_frames.max(self.held.len() as u64);
        let due = self.latest.map_or(Timestamp::ZERO, |l| {
            l.add_nanos(self.limits.window_ns.saturating_neg())
        });
        while let Some(first) = self.held.peek() {
            let over =
                self.held.len() > self.limits.max_frames || self.held_bytes > self.limits.max_bytes;
            if !(over || first.key <= due) {
                break;
            }
            if let Some(h) = self.held.pop() {
                self.release(h, out);
            }
        }
        if self.in_order >= SETTLE_FRAMES {
            // In order for long enough: pass frames straight through.
            while let Some(h) = self.held.pop() {
                self.release(h, out);
            }
            self.holding = false;
        }
    }

    fn release(&mut self, h: Held, out: &mut impl FnMut(Frame<'_>)) {
        self.held_bytes = self.held_bytes.saturating_sub(h.data.len());
        self.released = Some(self.released.map_or(h.key, |r| r.max(h.key)));
        out(h.frame());
        self.recycle(h.data);
    }

    #[inline]
    fn emit(&mut self, item: Item<'_>, out: &mut impl FnMut(Frame<'_>)) {
        match item {
            Item::Borrowed(f) => out(f),
            Item::Owned(h) => {
                out(h.frame());
                self.recycle(h.data);
            }
        }
    }

    fn copy(&mut self, f: &Frame<'_>) -> Held {
        let mut data = self.spare.pop().unwrap_or_default();
        data.clear();
        data.extend_from_slice(f.data);
        Held {
            key: f.ts,
            seq: 0,
            number: f.number,
            offset: f.offset,
            ts: f.ts,
            link_type: f.link_type,
            orig_len: f.orig_len,
            data,
        }
    }

    fn recycle(&mut self, data: Vec<u8>) {
        // Buffers of jumbo frames are not worth keeping.
        if self.spare.len() < MAX_SPARE && data.capacity() <= 64 * 1024 {
            self.spare.push(data);
        }
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

    const T0: i64 = 1_700_000_000 * SECOND;

    /// Runs frames with these times (ms after T0) through a stage; returns
    /// the frame numbers in the order they came out, with their times.
    fn run(limits: ReorderLimits, ms: &[i64]) -> (Vec<(u64, i64)>, ReorderStats) {
        let data = [0u8; 60];
        let mut r = Reorder::new(limits);
        let mut got = Vec::new();
        let mut out = |f: Frame<'_>| got.push((f.number, (f.ts.0 - T0) / 1_000_000));
        for (i, &t) in ms.iter().enumerate() {
            let f = Frame {
                number: i as u64 + 1,
                offset: 0,
                ts: Timestamp(T0 + t * 1_000_000),
                link_type: LinkType(1),
                data: &data,
                orig_len: 60,
            };
            r.push(f, &mut out);
        }
        r.finish(&mut out);
        (got, r.stats)
    }

    fn numbers(v: &[(u64, i64)]) -> Vec<u64> {
        v.iter().map(|(n, _)| *n).collect()
    }

    #[test]
    fn frames_in_order_pass_in_order_untouched() {
        let ms: Vec<i64> = (0..3000).collect();
        let (got, stats) = run(ReorderLimits::default(), &ms);
        assert_eq!(numbers(&got), (1..=3000).collect::<Vec<_>>());
        assert_eq!(stats.frames_reordered + stats.frames_out_of_order, 0);
        // Held while the capture started, then passed straight through.
        assert_eq!(stats.max_held_frames, SETTLE_FRAMES);
    }

    #[test]
    fn the_steady_state_passes_frames_not_earlier_and_not_a_jump_away() {
        let data = [0u8; 60];
        let at = |ns: i64| Timestamp(T0 + ns);
        let frame = |number: u64, ns: i64| Frame {
            number,
            offset: 0,
            ts: at(ns),
            link_type: LinkType(1),
            data: &data,
            orig_len: 60,
        };
        let mut r = Reorder::new(ReorderLimits::default());
        let mut got = Vec::new();
        let mut out = |f: Frame<'_>| got.push(f.number);
        // Held while the capture starts; the frame after that settles it.
        for i in 0..=SETTLE_FRAMES {
            assert!(!r.passes_straight(at(i as i64)));
            r.push(frame(i + 1, i as i64), &mut out);
        }
        let last = SETTLE_FRAMES as i64;
        // The same time passes; a nanosecond earlier does not (push keeps
        // it in file order, within the tolerance), and the state returns
        // with a frame not earlier than the latest.
        assert!(r.passes_straight(at(last)));
        assert!(!r.passes_straight(at(last - 1)));
        r.push(frame(2000, last - 1), &mut out);
        assert!(!r.passes_straight(at(last + 1)));
        r.push(frame(2001, last + 1), &mut out);
        // Up to a clock jump away, and not one nanosecond more.
        assert!(r.passes_straight(at(last + 1 + CLOCK_JUMP_NS)));
        assert!(!r.passes_straight(at(last + 2 + 2 * CLOCK_JUMP_NS)));
        assert_eq!(got.len() as u64, SETTLE_FRAMES + 3);
        assert_eq!(got[got.len() - 2..], [2000, 2001]);
        assert_eq!(r.stats.frames_reordered + r.stats.frames_out_of_order, 0);
    }

    #[test]
    fn late_frames_go_back_to_their_time() {
        let (got, stats) = run(ReorderLimits::default(), &[50, 40, 30, 20, 10, 60]);
        assert_eq!(numbers(&got), [5, 4, 3, 2, 1, 6]);
        assert_eq!(stats.frames_reordered, 4);
        assert_eq!(stats.frames_out_of_order, 0);
    }

    #[test]
    fn within_the_tolerance_the_files_order_stands() {
        // A frame 1 ms early keeps its place; 2 ms early it moves.
        let (got, stats) = run(ReorderLimits::default(), &[10, 9, 20, 18, 30]);
        assert_eq!(numbers(&got), [1, 2, 4, 3, 5]);
        assert_eq!(stats.frames_reordered, 1);
    }

    #[test]
    fn a_frame_later_than_the_window_is_passed_on_where_it_was_read_and_counted() {
        let limits = ReorderLimits {
            window_ns: 100 * 1_000_000,
            ..ReorderLimits::default()
        };
        // 0 leaves once 150 is read (100 ms later); 20 belongs before it.
        let (got, stats) = run(limits, &[0, 150, 20, 160, 90]);
        assert_eq!(numbers(&got), [1, 3, 5, 2, 4]);
        assert_eq!(stats.frames_reordered, 2);
        assert_eq!(stats.frames_out_of_order, 0);
        let (got, stats) = run(limits, &[0, 150, 260, 20, 270]);
        // 0 and 150 left when 260 was read: 20 cannot go back.
        assert_eq!(numbers(&got), [1, 2, 4, 3, 5]);
        assert_eq!(stats.frames_out_of_order, 1);
    }

    #[test]
    fn the_frame_and_byte_bounds_release_the_earliest() {
        let limits = ReorderLimits {
            max_frames: 2,
            ..ReorderLimits::default()
        };
        let (got, stats) = run(limits, &[10, 20, 30, 5]);
        // 10 left when 30 came (three held): 5 is out of order.
        assert_eq!(numbers(&got), [1, 4, 2, 3]);
        assert_eq!(stats.frames_out_of_order, 1);
        assert_eq!(stats.max_held_frames, 3);
        let limits = ReorderLimits {
            max_bytes: 120,
            ..ReorderLimits::default()
        };
        let (_, stats) = run(limits, &[10, 20, 30, 5]);
        assert_eq!(stats.frames_out_of_order, 1);
    }

    #[test]
    fn a_late_frame_after_a_long_run_in_order_is_counted_and_holding_resumes() {
        let mut ms: Vec<i64> = (0..2000).map(|i| i * 10).collect();
        // Two late frames after the run: the first cannot be put back (what
        // it belongs before was passed straight through), the second is
        // (frames are held again).
        ms.extend([20_010, 20_000, 20_030, 20_020]);
        let (got, stats) = run(ReorderLimits::default(), &ms);
        assert_eq!(stats.frames_out_of_order, 1);
        assert_eq!(stats.frames_reordered, 1);
        let tail: Vec<u64> = numbers(&got[got.len() - 4..]);
        assert_eq!(tail, [2001, 2002, 2004, 2003]);
    }

    #[test]
    fn one_frame_years_off_is_a_clock_anomaly_at_its_neighbours_time() {
        let year = 365 * 86_400 * 1_000;
        let (got, stats) = run(ReorderLimits::default(), &[0, 10, 20 + 3 * year, 30, 40]);
        assert_eq!(got, [(1, 0), (2, 10), (3, 10), (4, 30), (5, 40)]);
        assert_eq!(stats.clock_anomalies, 1);
        assert_eq!(stats.frames_out_of_order + stats.frames_reordered, 0);
        // Years back (a zeroed record) alike.
        let (got, stats) = run(ReorderLimits::default(), &[0, 10, -3 * year, 30, 40]);
        assert_eq!(got[2], (3, 10));
        assert_eq!(stats.clock_anomalies, 1);
        // The first frame and the last.
        let (got, stats) = run(ReorderLimits::default(), &[3 * year, 10, 20, 30]);
        assert_eq!(got, [(1, 10), (2, 10), (3, 20), (4, 30)]);
        assert_eq!(stats.clock_anomalies, 1);
        let (got, stats) = run(ReorderLimits::default(), &[0, 10, 20, 3 * year]);
        assert_eq!(got[3], (4, 20));
        assert_eq!(stats.clock_anomalies, 1);
        // The second frame.
        let (got, stats) = run(ReorderLimits::default(), &[0, 3 * year, 20, 30]);
        assert_eq!(got[1], (2, 0));
        assert_eq!(stats.clock_anomalies, 1);
    }

    #[test]
    fn a_capture_that_resumes_after_a_pause_is_no_anomaly() {
        let day = 86_400 * 1_000;
        let (got, stats) = run(ReorderLimits::default(), &[0, 10, 2 * day, 2 * day + 10]);
        assert_eq!(got, [(1, 0), (2, 10), (3, 2 * day), (4, 2 * day + 10)]);
        assert_eq!(stats.clock_anomalies, 0);
        assert_eq!(stats.frames_reordered + stats.frames_out_of_order, 0);
        // Rotated files joined the wrong way round: the second part is
        // genuinely earlier, and what it belongs before is still held.
        let (got, stats) = run(ReorderLimits::default(), &[2 * day, 2 * day + 10, 0, 10]);
        assert_eq!(numbers(&got), [3, 4, 1, 2]);
        assert_eq!(stats.clock_anomalies, 0);
        assert_eq!(stats.frames_reordered, 2);
    }
}
