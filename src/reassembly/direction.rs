//! Reassembly of one direction of a connection.
//!
//! Sequence numbers are turned into 64-bit offsets from the stream's start
//! (offset 0 is the byte after the SYN, or the first byte seen when the
//! connection was picked up mid-stream), choosing, for each 32-bit number, the
//! 64-bit offset nearest to where the stream is now. Wraparound of the 32-bit
//! space is then a non-event: it never shows in an offset.
//!
//! Bytes before `next` (the next offset expected) have been delivered or
//! declared lost; nothing before it is ever delivered again. Segments beyond
//! `next` wait in an ordered buffer, first-come-first-kept where they overlap,
//! until the hole before them fills or is declared a gap.

use super::{SegmentKind, Side, StreamHandler};
use crate::Timestamp;
use std::collections::BTreeMap;

/// What one direction of a connection carried.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectionStats {
    pub packets: u64,
    /// Payload bytes delivered to the handler (captured and in order).
    pub bytes: u64,
    /// Segments carrying new data.
    pub data_segments: u64,
    /// Segments that carried only bytes already seen.
    pub retransmissions: u64,
    /// Segments that arrived ahead of a hole and were buffered.
    pub out_of_order: u64,
    /// Retransmitted or overlapping segments whose bytes differed from the
    /// bytes first seen at the same place (first seen are kept).
    pub conflicting_overlaps: u64,
    /// Holes declared in the stream, and the bytes they cover.
    pub gaps: u64,
    pub gap_bytes: u64,
    pub keepalives: u64,
    pub zero_window_probes: u64,
    /// Segments wholly before the point where a mid-stream pickup started.
    pub before_start: u64,
    /// Times the out-of-order buffer reached its cap and a gap was forced.
    pub buffer_cap_hits: u64,
    /// Resets from this side after which the connection carried on with new
    /// data (out of window, or injected): not taken as the close.
    pub ignored_resets: u64,
    /// Segments from the server before any SYN+ACK, without SYN or payload,
    /// which a client in SYN-SENT ignores.
    pub unsynchronized: u64,
    /// Maximum segment size announced in this direction's SYN.
    pub mss: Option<u16>,
    /// Window scale announced in this direction's SYN.
    pub window_scale: Option<u8>,
    /// Largest payload seen in one segment.
    pub max_segment: u32,
    /// When this side last sent new data.
    pub last_data_ts: Option<crate::Timestamp>,
    /// Frame numbers of the first and the last segment that carried new
    /// data from this side (set by the flow table), so that a rule can point
    /// at the packets: on a connection with one request and its response,
    /// the request's first packet and the response's last.
    pub first_data_frame: Option<u64>,
    pub last_data_frame: Option<u64>,
    /// New data this side sent after the peer's FIN: the peer had closed and
    /// would not read it (its kernel answers with RST).
    pub bytes_after_peer_fin: u64,
    /// Segments smaller than a full one that this side sent right after
    /// another such segment the peer had not acknowledged yet, without FIN:
    /// something Nagle's algorithm never lets out, so Nagle was off (see
    /// `Pacing::unheld_partial`).
    pub unheld_partials: u64,
}

/// Bounds on what one direction may buffer.
#[derive(Clone, Copy, Debug)]
pub struct ReassemblyLimits {
    /// Out-of-order bytes held per direction before a gap is declared.
    pub max_out_of_order_bytes: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        ReassemblyLimits {
            max_out_of_order_bytes: 1 << 20,
        }
    }
}

/// How many recently delivered segments are remembered (offset, length,
/// hash) to tell a faithful retransmission from one carrying other bytes.
const RECENT: usize = 16;

#[derive(Clone, Copy, Debug, Default)]
struct Recent {
    offset: u64,
    len: u32,
    hash: u64,
}

/// What a buffered segment costs beyond its bytes (map node, allocation):
/// counted against the cap, so that a million one-byte segments cannot
/// hide behind a byte count.
pub const PENDING_OVERHEAD: usize = 64;

/// A buffered out-of-order segment.
#[derive(Debug)]
struct Pending {
    bytes: Vec<u8>,
    ts: Timestamp,
    /// The frame that carried it (see [`Reassembler::set_frame`]).
    frame: u64,
}

/// One direction's stream under reconstruction.
#[derive(Debug, Default)]
pub struct Reassembler {
    /// The sequence number at offset 0, once known.
    base: Option<u32>,
    /// Whether `base` came from a SYN (else: mid-stream pickup).
    syn_seen: bool,
    /// Next offset expected: everything before is delivered or declared lost.
    next: u64,
    /// Highest data offset the peer has acknowledged.
    acked: u64,
    /// Offset of the FIN, once seen.
    fin_at: Option<u64>,
    fin_delivered: bool,
    pending: BTreeMap<u64, Pending>,
    /// The frame whose segment is being placed (0: not told).
    frame: u64,
    /// Buffered bytes plus [`PENDING_OVERHEAD`] a segment.
    pending_bytes: usize,
    /// Allocated with the first delivered byte: a connection that never
    /// carries data (a SYN flood) should not pay for it.
    recent: Option<Box<[Recent; RECENT]>>,
    recent_pos: usize,
    limits: ReassemblyLimits,
    pub stats: DirectionStats,
}

impl Reassembler {
    pub fn new(limits: ReassemblyLimits) -> Reassembler {
        Reassembler {
            limits,
            ..Reassembler::default()
        }
    }

    /// The stream starts after this SYN's sequence number.
    ///
    /// A SYN seen after data was picked up mid-stream is ignored as a base
    /// (it would move offsets already handed out).
    ///
    /// A later SYN with another ISN does not move the base: a peer that
    /// goes on acknowledging the first numbering (pcap2har out-of-order,
    /// stream 10) shows the first one is the stream's.
    pub fn syn(&mut self, seq: u32) {
        if self.base.is_none() {
            self.base = Some(seq.wrapping_add(1));
            self.syn_seen = true;
        }
    }

    /// Picks the stream's start without a SYN, from the first sequence number
    /// seen (its own first segment, or the peer's acknowledgement of it).
    pub fn pick_up(&mut self, seq: u32) {
        if self.base.is_none() {
            self.base = Some(seq);
        }
    }

    pub fn has_base(&self) -> bool {
        self.base.is_some()
    }

    pub fn syn_seen(&self) -> bool {
        self.syn_seen
    }

    /// Next offset expected.
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// The sequence number of the next byte expected, once the base is known.
    pub fn next_seq(&self) -> Option<u32> {
        // Offsets wrap with the 32-bit sequence space: truncation intended.
        self.base.map(|b| b.wrapping_add(self.next as u32))
    }

    /// The end of the furthest data seen: `next`, or past it the end of the
    /// last buffered out-of-order segment.
    pub fn highest_seen(&self) -> u64 {
        let pending = self
            .pending
            .last_key_value()
            .map_or(0, |(&at, p)| at.saturating_add(p.bytes.len() as u64));
        self.next.max(pending)
    }

    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// The 64-bit offset of a 32-bit sequence number: the one nearest to the
    /// current position. `None` before the base is known, or for a sequence
    /// number that falls before the start of the stream.
    pub fn offset_of(&self, seq: u32) -> Option<u64> {
        let base = self.base?;
        let rel = seq.wrapping_sub(base);
        let here = self.next;
        // Signed distance from `here` within the 32-bit circle (the `as`
        // casts reinterpret bits on purpose; an offset past i64::MAX, which
        // no capture reaches, would come out negative and give `None`).
        let delta = rel.wrapping_sub(here as u32) as i32 as i64;
        let offset = (here as i64).checked_add(delta)?;
        u64::try_from(offset).ok()
    }

    /// Places one segment's payload (`captured` may be shorter than
    /// `payload_len` when the snaplen cut the frame) and delivers what became
    /// in order. Returns what kind of segment it was.
    #[allow(clippy::too_many_arguments)]
    pub fn segment<H: StreamHandler>(
        &mut self,
        side: Side,
        seq: u32,
        captured: &[u8],
        payload_len: u32,
        fin: bool,
        peer_window_zero: bool,
        ts: Timestamp,
        handler: &mut H,
    ) -> SegmentKind {
        self.stats.packets = self.stats.packets.saturating_add(1);
        if self.base.is_none() {
            self.base = Some(seq);
        }
        let Some(start) = self.offset_of(seq) else {
            // Before a mid-stream pickup's first byte: nothing to place.
            self.stats.before_start = self.stats.before_start.saturating_add(1);
            return if payload_len == 0 {
                SegmentKind::PureAck
            } else {
                SegmentKind::Retransmission
            };
        };
        let claimed = u64::from(payload_len);
        self.stats.max_segment = self.stats.max_segment.max(payload_len);
        // The stream ends at the sender's FIN: bytes placed beyond it (bogus
        // or injected segments) are neither delivered nor buffered, so the
        // handler never sees data after `on_fin`, and the stream cannot run
        // past the FIN, which would then never be delivered. A FIN before
        // bytes already delivered contradicts them and is not taken as the end.
        if fin && self.fin_at.is_none() && start.saturating_add(claimed) >= self.next {
            self.end_at(start.saturating_add(claimed));
        }
        let len = match self.fin_at {
            Some(fin) => claimed.min(fin.saturating_sub(start)),
            None => claimed,
        };
        if len == 0 && claimed > 0 {
            return SegmentKind::Retransmission;
        }
        let end = start.saturating_add(len);
        // Link padding beyond the TCP payload, and bytes past the FIN, are not stream data.
        let captured = captured
            .get(..usize::try_from(len).unwrap_or(usize::MAX))
            .unwrap_or(captured);

        let kind = if len <= 1 && !fin && start.checked_add(1) == Some(self.next) {
            // Keep-alive: one byte (or none) at snd.una - 1, already acknowledged.
            self.stats.keepalives = self.stats.keepalives.saturating_add(1);
            return SegmentKind::KeepAlive;
        } else if len == 0 {
            SegmentKind::PureAck
        } else if end <= self.next {
            self.stats.retransmissions = self.stats.retransmissions.saturating_add(1);
            self.check_retransmission(start, captured);
            SegmentKind::Retransmission
        } else if start > self.next {
            self.stats.out_of_order = self.stats.out_of_order.saturating_add(1);
            self.buffer(side, start, captured, ts, handler);
            self.declare_acked_hole(side, ts, handler);
            SegmentKind::NewData
        } else {
            // In order, possibly overlapping the end of what was delivered.
            // `start <= next` here, and the overlap is shorter than the segment.
            let skip = usize::try_from(self.next.saturating_sub(start)).unwrap_or(usize::MAX);
            let probe = len == 1 && peer_window_zero;
            if probe {
                self.stats.zero_window_probes = self.stats.zero_window_probes.saturating_add(1);
            }
            self.stats.data_segments = self.stats.data_segments.saturating_add(1);
            self.deliver(side, start, captured, len, skip, ts, handler);
            // Nothing waits behind the data nearly always: skip the call.
            if !self.pending.is_empty() {
                self.drain(side, handler);
            }
            if probe {
                SegmentKind::ZeroWindowProbe
            } else {
                SegmentKind::NewData
            }
        };
        self.maybe_fin(side, ts, handler);
        kind
    }

    /// The peer acknowledged up to `ack`: bytes before it were sent, so a hole
    /// before it will never be filled from this capture. Declares it a gap.
    pub fn peer_ack<H: StreamHandler>(
        &mut self,
        side: Side,
        ack: u32,
        ts: Timestamp,
        handler: &mut H,
    ) {
        if self.base.is_none() {
            // Mid-stream: the peer tells us where this direction stands.
            self.base = Some(ack);
            return;
        }
        let Some(acked) = self.offset_of(ack) else {
            return;
        };
        // An ACK of the FIN covers one sequence number past the data.
        let data_acked = match self.fin_at {
            Some(fin) if acked > fin => fin,
            _ => acked,
        };
        if data_acked <= self.next {
            return;
        }
        self.acked = self.acked.max(data_acked);
        // With data already waiting beyond the hole, the hole is lost from
        // this capture. With nothing waiting, the missing bytes may still come:
        // captures taken on several interfaces, or with timestamps that run
        // backwards, show an ACK before the data it acknowledges. The gap is
        // then declared when later data arrives beyond it, or at the end.
        if !self.pending.is_empty() {
            self.declare_acked_hole(side, ts, handler);
        }
    }

    /// Declares the hole the peer has acknowledged past, and delivers what
    /// waited behind it.
    fn declare_acked_hole<H: StreamHandler>(&mut self, side: Side, ts: Timestamp, h: &mut H) {
        if self.acked > self.next {
            self.gap_until(side, self.acked, ts, h);
            self.drain(side, h);
            self.maybe_fin(side, ts, h);
        }
    }

    /// Gives up waiting for every hole before buffered data: declares them
    /// gaps and delivers what was buffered, emptying the buffer. Used when the
    /// capture-wide reassembly budget runs out.
    pub fn give_up_holes<H: StreamHandler>(&mut self, side: Side, ts: Timestamp, handler: &mut H) {
        while let Some((&start, _)) = self.pending.first_key_value() {
            if start > self.next {
                self.gap_until(side, start, ts, handler);
            }
            self.drain(side, handler);
        }
    }

    /// End of the stream (connection finished, reset or end of capture):
    /// whatever is still buffered is delivered behind declared gaps.
    pub fn flush<H: StreamHandler>(&mut self, side: Side, ts: Timestamp, handler: &mut H) {
        self.give_up_holes(side, ts, handler);
        // Bytes the peer acknowledged that the capture never showed.
        if self.acked > self.next {
            self.gap_until(side, self.acked, ts, handler);
        }
        if let Some(fin) = self.fin_at {
            if fin > self.next {
                self.gap_until(side, fin, ts, handler);
            }
        }
        self.maybe_fin(side, ts, handler);
    }

    /// Records the FIN's offset and forgets what was buffered or
    /// acknowledged beyond it.
    fn end_at(&mut self, fin: u64) {
        self.fin_at = Some(fin);
        self.acked = self.acked.min(fin);
        let beyond = self.pending.split_off(&fin);
        let dropped = beyond
            .values()
            .map(|p| p.bytes.len().saturating_add(PENDING_OVERHEAD))
            .fold(0usize, usize::saturating_add);
        self.pending_bytes = self.pending_bytes.saturating_sub(dropped);
        if let Some(mut last) = self.pending.last_entry() {
            let keep = usize::try_from(fin.saturating_sub(*last.key())).unwrap_or(usize::MAX);
            let bytes = &mut last.get_mut().bytes;
            if bytes.len() > keep {
                self.pending_bytes = self
                    .pending_bytes
                    .saturating_sub(bytes.len().saturating_sub(keep));
                bytes.truncate(keep);
            }
        }
    }

    fn maybe_fin<H: StreamHandler>(&mut self, side: Side, ts: Timestamp, handler: &mut H) {
        if !self.fin_delivered && self.fin_at == Some(self.next) {
            self.fin_delivered = true;
            handler.on_fin(side, ts);
        }
    }

    fn gap_until<H: StreamHandler>(&mut self, side: Side, to: u64, ts: Timestamp, h: &mut H) {
        let to = match self.pending.first_key_value() {
            Some((&first, _)) => to.min(first),
            None => to,
        };
        let len = to.saturating_sub(self.next);
        if len > 0 {
            self.count_gap(len);
            h.on_gap(side, self.next, len, ts);
            self.next = to;
        }
    }

    fn count_gap(&mut self, len: u64) {
        self.stats.gaps = self.stats.gaps.saturating_add(1);
        self.stats.gap_bytes = self.stats.gap_bytes.saturating_add(len);
    }

    /// Hands over `[start + skip, start + len)`, whose first `captured.len()`
    /// bytes are present; the rest (cut by the snaplen) becomes a gap.
    #[allow(clippy::too_many_arguments)]
    fn deliver<H: StreamHandler>(
        &mut self,
        side: Side,
        start: u64,
        captured: &[u8],
        len: u64,
        skip: usize,
        ts: Timestamp,
        h: &mut H,
    ) {
        if let Some(bytes) = captured.get(skip..) {
            if !bytes.is_empty() {
                h.on_data(side, self.next, bytes, ts);
                let delivered = bytes.len() as u64;
                self.stats.bytes = self.stats.bytes.saturating_add(delivered);
                self.remember(self.next, bytes);
                self.next = self.next.saturating_add(delivered);
            }
        }
        let end = start.saturating_add(len);
        let cut = end.saturating_sub(self.next);
        if cut > 0 {
            // Cut by the snaplen: never captured.
            self.count_gap(cut);
            h.on_gap(side, self.next, cut, ts);
            self.next = end;
        }
    }

    /// The frame the next segment comes in (Wireshark's `frame.number`):
    /// buffered bytes remember it, and are delivered after an
    /// [`StreamHandler::on_frame`] that names it, so that a byte that
    /// arrived ahead of a hole is said to be in the frame that carried it.
    pub fn set_frame(&mut self, frame: u64) {
        self.frame = frame;
    }

    /// Delivers buffered segments that the stream has now reached, each
    /// in the frame that carried it (then the current frame again).
    fn drain<H: StreamHandler>(&mut self, side: Side, h: &mut H) {
        let mut told = false;
        while let Some(entry) = self.pending.first_entry() {
            let start = *entry.key();
            if start > self.next {
                break;
            }
            let p = entry.remove();
            self.pending_bytes = self
                .pending_bytes
                .saturating_sub(p.bytes.len().saturating_add(PENDING_OVERHEAD));
            let len = p.bytes.len() as u64;
            if start.saturating_add(len) > self.next {
                // `start <= next` (checked above).
                let skip = usize::try_from(self.next.saturating_sub(start)).unwrap_or(usize::MAX);
                self.stats.data_segments = self.stats.data_segments.saturating_add(1);
                if p.frame != 0 {
                    h.on_frame(p.frame);
                    told = true;
                }
                self.deliver(side, start, &p.bytes, len, skip, p.ts, h);
            }
        }
        if told {
            h.on_frame(self.frame);
        }
    }

    /// Buffers the captured bytes of a segment at `start`, ahead of a hole.
    /// Where it overlaps buffered segments the buffered bytes win, and a
    /// difference between the two is counted. Bytes cut by the snaplen are
    /// simply absent: the hole they leave is declared when the peer
    /// acknowledges past it, or at flush.
    fn buffer<H: StreamHandler>(
        &mut self,
        side: Side,
        start: u64,
        captured: &[u8],
        ts: Timestamp,
        h: &mut H,
    ) {
        let end = start.saturating_add(captured.len() as u64);
        // Buffered segments are disjoint and sorted, so the ones overlapping
        // [start, end) are the last few that begin before `end`.
        let mut overlaps: Vec<(u64, u64)> = self
            .pending
            .range(..end)
            .rev()
            .map(|(s, p)| (*s, s.saturating_add(p.bytes.len() as u64)))
            .take_while(|&(_, e)| e > start)
            .collect();
        overlaps.reverse();
        // Every offset sliced below lies within the segment it is taken from,
        // so `within` never misses.
        let mut cursor = start;
        for (s, e) in overlaps {
            if s > cursor {
                let hole = within(captured, start, cursor, s).unwrap_or_default();
                self.insert_pending(cursor, hole, ts);
            }
            let (from, to) = (s.max(start), e.min(end));
            if let Some(p) = self.pending.get(&s) {
                let old = within(&p.bytes, s, from, to);
                let new = within(captured, start, from, to);
                if old != new {
                    self.stats.conflicting_overlaps =
                        self.stats.conflicting_overlaps.saturating_add(1);
                }
            }
            cursor = cursor.max(e);
        }
        if cursor < end {
            let rest = within(captured, start, cursor, end).unwrap_or_default();
            self.insert_pending(cursor, rest, ts);
        }
        // Over the cap: give up on the oldest hole.
        while self.pending_bytes > self.limits.max_out_of_order_bytes {
            self.stats.buffer_cap_hits = self.stats.buffer_cap_hits.saturating_add(1);
            let Some((&first, _)) = self.pending.first_key_value() else {
                break;
            };
            self.gap_until(side, first, ts, h);
            self.drain(side, h);
        }
    }

    fn insert_pending(&mut self, at: u64, bytes: &[u8], ts: Timestamp) {
        if bytes.is_empty() {
            return;
        }
        self.pending_bytes = self
            .pending_bytes
            .saturating_add(bytes.len().saturating_add(PENDING_OVERHEAD));
        self.pending.insert(
            at,
            Pending {
                bytes: bytes.to_vec(),
                ts,
                frame: self.frame,
            },
        );
    }

    fn remember(&mut self, offset: u64, bytes: &[u8]) {
        let recent = self
            .recent
            .get_or_insert_with(|| Box::new([Recent::default(); RECENT]));
        // `recent_pos < RECENT` always, so the slot is always there.
        if let Some(slot) = recent.get_mut(self.recent_pos % RECENT) {
            *slot = Recent {
                offset,
                len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
                hash: hash_bytes(bytes),
            };
        }
        self.recent_pos = self.recent_pos.wrapping_add(1) % RECENT;
    }

    /// A retransmission of a recently delivered segment, byte range for byte
    /// range, must carry the same bytes; if not, someone is rewriting the
    /// stream (or evading an inspector) and we say so.
    fn check_retransmission(&mut self, start: u64, captured: &[u8]) {
        if captured.is_empty() {
            return;
        }
        let len = u32::try_from(captured.len()).unwrap_or(u32::MAX);
        if let Some(r) = self
            .recent
            .iter()
            .flat_map(|r| r.iter())
            .find(|r| r.len == len && r.offset == start)
        {
            if r.hash != hash_bytes(captured) {
                self.stats.conflicting_overlaps = self.stats.conflicting_overlaps.saturating_add(1);
            }
        }
    }
}

/// The bytes of `bytes` (which start at stream offset `base`) between stream
/// offsets `from` and `to`, if it holds them.
fn within(bytes: &[u8], base: u64, from: u64, to: u64) -> Option<&[u8]> {
    let index = |at: u64| usize::try_from(at.checked_sub(base)?).ok();
    bytes.get(index(from)?..index(to)?)
}

/// A fingerprint of a segment's bytes: its first 32 bytes and its length.
/// Hashing every payload byte — or even touching the segment's tail — pulls
/// a cold cache line per packet just for the rare retransmission (measured:
/// two thirds of the flow stage's time on an MTU-sized capture). The head
/// sits in the cache lines the headers already brought in, and a
/// retransmission carrying other content (evasion, a broken middlebox)
/// differs there too in practice.
fn hash_bytes(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let head = bytes.get(..32).unwrap_or(bytes);
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut words = head.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        h = (h ^ u64::from_le_bytes(b)).wrapping_mul(K).rotate_left(23);
    }
    for &b in words.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(K).rotate_left(23);
    }
    h
}
