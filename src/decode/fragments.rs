//! IP fragment reassembly, bounded.
//!
//! Fragmented TCP is rare (path MTU discovery exists to avoid it) but it does
//! happen — tunnels, old stacks, evasion tests — and a segment lost to
//! fragmentation would look like a gap in the stream. So datagrams are put
//! back together here, under limits that keep a capture full of fragments that
//! never complete (or an attacker's) from holding memory: a cap on datagrams in
//! progress, a cap on bytes buffered, and a timeout in capture time.
//!
//! Overlapping fragments keep the bytes that arrived first (RFC 5722 says to
//! drop such IPv6 datagrams altogether; first-wins gives the same answer for
//! honest retransmitted fragments, and the overlap is not ours to judge).
//! The table serves IPv4 and IPv6 alike; only the key's contents differ.

use crate::Timestamp;
use std::collections::HashMap;
use std::net::IpAddr;

/// Bounds on IP fragment reassembly (IPv4, and IPv6 beyond atomic fragments).
#[derive(Clone, Copy, Debug)]
pub struct FragmentLimits {
    /// Datagrams being reassembled at once; the oldest is dropped past it.
    pub max_datagrams: usize,
    /// Bytes buffered across all datagrams being reassembled.
    pub max_bytes: usize,
    /// A datagram whose fragments do not all arrive within this many
    /// nanoseconds of capture time is dropped.
    pub timeout_ns: i64,
}

impl Default for FragmentLimits {
    fn default() -> Self {
        FragmentLimits {
            max_datagrams: 1024,
            max_bytes: 4 << 20,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// The largest fragmentable part a datagram can have: IPv4's total length and
/// IPv6's payload length are 16-bit fields.
const MAX_DATAGRAM: u32 = 65535;

/// Distinct received byte ranges kept per datagram. Honest fragmentation
/// arrives in a few contiguous runs; a sender scattering tiny fragments with
/// holes between them is dropped rather than given a long list to walk.
const MAX_RANGES: usize = 64;

/// Which datagram a fragment belongs to: RFC 791's (source, destination,
/// protocol, identification) for IPv4; for IPv6 (source, destination,
/// identification), with `protocol` fixed at [`FragmentKey::IPV6`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FragmentKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub id: u32,
    /// A hash of the tunnel layers the fragment came through (0 for
    /// none), so that two tunnels carrying the same inner datagram ids do
    /// not mix their fragments.
    pub tunnel: u64,
}

impl FragmentKey {
    /// Stands in for the protocol in IPv6 keys; IPv6 fragments of one
    /// datagram need not agree on it.
    pub const IPV6: u8 = 0xff;
}

/// One fragment as the IP layer found it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fragment<'a> {
    /// Byte offset of `data` in the reassembled datagram's fragmentable part.
    pub offset: u32,
    /// More fragments follow (the MF flag / M bit).
    pub more: bool,
    /// The protocol (IPv4) or next header (IPv6) of the fragmentable part;
    /// only the first fragment's is kept.
    pub next_header: u8,
    /// The fragment's data, complete (a fragment cut by the snaplen is not
    /// offered).
    pub data: &'a [u8],
}

/// What became of a fragment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reassembly {
    /// Held until the rest arrives.
    Held,
    /// The datagram is complete; its bytes are in
    /// [`FragmentTable::completed`], starting with a header of type
    /// `next_header`.
    Complete { next_header: u8 },
    /// The fragment could not be kept (limits, inconsistency).
    Dropped,
}

#[derive(Debug)]
struct Datagram {
    /// Arrival order, to evict the oldest first even when capture
    /// timestamps run backwards.
    seq: u64,
    first_seen: Timestamp,
    /// The fragmentable part, zero-filled where fragments are still missing.
    buf: Vec<u8>,
    /// Received ranges of `buf`, sorted, disjoint, not adjacent.
    ranges: Vec<(u32, u32)>,
    /// Length of the fragmentable part, known once the last fragment came.
    total: Option<u32>,
    /// Next header of the fragment at offset 0, once it came.
    next_header: Option<u8>,
    /// Fragments taken into this datagram, to count them if it is dropped.
    fragments: u64,
}

impl Datagram {
    /// Records `[start, start + data.len())` as received and copies in the
    /// bytes not received before (first wins). `buf` is already long enough.
    /// Returns false when the datagram has grown too scattered to keep.
    fn insert(&mut self, start: u32, data: &[u8]) -> bool {
        let end = start.saturating_add(u32::try_from(data.len()).unwrap_or(u32::MAX));
        if start == end {
            return true;
        }
        // Copy the parts of [start, end) that fall in holes between ranges.
        let mut cursor = start;
        for &(s, e) in &self.ranges {
            if e <= cursor {
                continue;
            }
            if s >= end {
                break;
            }
            if s > cursor {
                copy_range(&mut self.buf, data, start, cursor, s);
            }
            cursor = cursor.max(e);
            if cursor >= end {
                break;
            }
        }
        if cursor < end {
            copy_range(&mut self.buf, data, start, cursor, end);
        }
        // Merge [start, end) with the ranges it overlaps or touches.
        let mut merged = (start, end);
        self.ranges.retain(|&(s, e)| {
            if e < merged.0 || s > merged.1 {
                true
            } else {
                merged = (merged.0.min(s), merged.1.max(e));
                false
            }
        });
        let at = self.ranges.partition_point(|&(s, _)| s < merged.0);
        self.ranges.insert(at, merged);
        self.ranges.len() <= MAX_RANGES
    }

    fn is_complete(&self) -> bool {
        match (self.total, self.ranges.as_slice()) {
            (Some(total), [(0, end)]) => *end == total,
            (Some(0), []) => true,
            _ => false,
        }
    }
}

/// Copies `data[from - start .. to - start]` to `buf[from..to]`
/// (`start <= from <= to`, and both slices long enough, by construction).
fn copy_range(buf: &mut [u8], data: &[u8], start: u32, from: u32, to: u32) {
    let (Some(src_from), Some(src_to)) = (from.checked_sub(start), to.checked_sub(start)) else {
        return;
    };
    let src = data.get(index(src_from)..index(src_to));
    let dst = buf.get_mut(index(from)..index(to));
    if let (Some(src), Some(dst)) = (src, dst) {
        dst.copy_from_slice(src);
    }
}

/// A datagram offset as a buffer index. Offsets are below [`MAX_DATAGRAM`],
/// so this never saturates on a real target; if it did, the `get` it feeds
/// would fail instead of indexing wrongly.
fn index(offset: u32) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX)
}

/// Datagrams being reassembled, and the last one completed (which the
/// decoder's returned segment borrows until the next frame).
#[derive(Debug, Default)]
pub(crate) struct FragmentTable {
    limits: FragmentLimits,
    datagrams: HashMap<FragmentKey, Datagram>,
    /// Sum of the `buf` lengths of `datagrams`.
    bytes: usize,
    next_seq: u64,
    /// Earliest `first_seen` in the table, to skip the expiry scan when
    /// nothing can have timed out.
    oldest: Option<Timestamp>,
    completed: Vec<u8>,
    /// Fragments dropped since the decoder last asked (limits, timeouts,
    /// inconsistencies), for the decoder's stats.
    pub dropped: u64,
    /// The same fragments by reason, and how often a bound was reached.
    pub drops: Drops,
}

/// Why fragments were dropped, and how often each bound was reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Drops {
    /// Their datagram never completed: fragments missing when it timed
    /// out or the capture ended, or cut by the snaplen.
    pub incomplete: u64,
    /// Dropped to stay within `max_datagrams` or `max_bytes`.
    pub over_limit: u64,
    /// Inconsistent, too scattered, or past 65535 bytes.
    pub invalid: u64,
    /// Times `max_datagrams` made room by dropping a datagram.
    pub datagram_limit_hits: u64,
    /// Times `max_bytes` made room by dropping a datagram.
    pub byte_limit_hits: u64,
}

/// Why a datagram is dropped.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Reason {
    Incomplete,
    OverLimit,
    Invalid,
}

impl FragmentTable {
    pub(crate) fn new(limits: FragmentLimits) -> Self {
        FragmentTable {
            limits,
            ..FragmentTable::default()
        }
    }

    /// The datagram last reported [`Reassembly::Complete`].
    pub(crate) fn completed(&self) -> &[u8] {
        &self.completed
    }

    /// Datagrams still waiting for fragments.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.datagrams.len()
    }

    /// Takes one fragment.
    pub(crate) fn insert(
        &mut self,
        key: FragmentKey,
        now: Timestamp,
        fragment: Fragment<'_>,
    ) -> Reassembly {
        self.expire(now);
        let len = u32::try_from(fragment.data.len()).unwrap_or(u32::MAX);
        let end = fragment.offset.saturating_add(len);
        if end > MAX_DATAGRAM {
            // Ping of death: no datagram may be this long. Whatever else was
            // received of it goes too.
            self.drop_datagram(&key, Reason::Invalid);
            self.count_dropped(1, Reason::Invalid);
            return Reassembly::Dropped;
        }
        if !self.datagrams.contains_key(&key) {
            if self.limits.max_datagrams == 0 {
                self.count_dropped(1, Reason::OverLimit);
                self.drops.datagram_limit_hits = self.drops.datagram_limit_hits.saturating_add(1);
                return Reassembly::Dropped;
            }
            while self.datagrams.len() >= self.limits.max_datagrams {
                if !self.evict_oldest(None) {
                    break;
                }
                self.drops.datagram_limit_hits = self.drops.datagram_limit_hits.saturating_add(1);
            }
            let seq = self.next_seq;
            self.next_seq = self.next_seq.saturating_add(1);
            self.oldest = Some(self.oldest.map_or(now, |o| o.min(now)));
            self.datagrams.insert(
                key,
                Datagram {
                    seq,
                    first_seen: now,
                    buf: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    next_header: None,
                    fragments: 0,
                },
            );
        }
        // Make room for the buffer growth this fragment needs.
        let current = self.datagrams.get(&key).map_or(0, |d| d.buf.len());
        let growth = index(end).saturating_sub(current);
        while self.bytes.saturating_add(growth) > self.limits.max_bytes {
            self.drops.byte_limit_hits = self.drops.byte_limit_hits.saturating_add(1);
            if !self.evict_oldest(Some(&key)) {
                // Only this datagram is left and it does not fit.
                self.drop_datagram(&key, Reason::OverLimit);
                self.count_dropped(1, Reason::OverLimit);
                return Reassembly::Dropped;
            }
        }
        let Some(datagram) = self.datagrams.get_mut(&key) else {
            self.count_dropped(1, Reason::Invalid);
            return Reassembly::Dropped;
        };
        datagram.fragments = datagram.fragments.saturating_add(1);
        if datagram.buf.len() < index(end) {
            datagram.buf.resize(index(end), 0);
            self.bytes = self.bytes.saturating_add(growth);
        }
        let consistent = match (fragment.more, datagram.total) {
            // A second last fragment must agree on the length.
            (false, Some(total)) => total == end,
            (false, None) => datagram.ranges.last().is_none_or(|&(_, e)| e <= end),
            // No fragment may reach past the known end.
            (true, Some(total)) => end <= total,
            (true, None) => true,
        };
        if !consistent || !datagram.insert(fragment.offset, fragment.data) {
            self.drop_datagram(&key, Reason::Invalid);
            return Reassembly::Dropped;
        }
        if !fragment.more {
            datagram.total = Some(end);
        }
        if fragment.offset == 0 && datagram.next_header.is_none() {
            datagram.next_header = Some(fragment.next_header);
        }
        if !datagram.is_complete() {
            return Reassembly::Held;
        }
        let Some(done) = self.datagrams.remove(&key) else {
            return Reassembly::Held;
        };
        self.bytes = self.bytes.saturating_sub(done.buf.len());
        self.recompute_oldest();
        let next_header = done.next_header.unwrap_or(fragment.next_header);
        // Keep the completed bytes where the returned segment can borrow
        // them; the previous completed buffer is freed.
        self.completed = done.buf;
        Reassembly::Complete { next_header }
    }

    /// Drops the datagram `key` names, if any, counting its fragments, and
    /// counts the fragment that could not be kept (cut by the snaplen).
    pub(crate) fn discard(&mut self, key: &FragmentKey) {
        self.drop_datagram(key, Reason::Incomplete);
        self.count_dropped(1, Reason::Incomplete);
    }

    /// Counts `n` fragments dropped for `reason`.
    pub(crate) fn count_dropped(&mut self, n: u64, reason: Reason) {
        self.dropped = self.dropped.saturating_add(n);
        let slot = match reason {
            Reason::Incomplete => &mut self.drops.incomplete,
            Reason::OverLimit => &mut self.drops.over_limit,
            Reason::Invalid => &mut self.drops.invalid,
        };
        *slot = slot.saturating_add(n);
    }

    /// Drops every datagram still waiting, counting its fragments as dropped.
    pub(crate) fn clear(&mut self) {
        let mut n = 0u64;
        for (_, d) in self.datagrams.drain() {
            n = n.saturating_add(d.fragments);
        }
        self.count_dropped(n, Reason::Incomplete);
        self.bytes = 0;
        self.oldest = None;
    }

    /// Drops datagrams first seen more than the timeout before `now`.
    fn expire(&mut self, now: Timestamp) {
        let timeout = self.limits.timeout_ns;
        match self.oldest {
            Some(oldest) if now.since(oldest) > timeout => {}
            _ => return,
        }
        let mut dropped = 0u64;
        let mut bytes = 0usize;
        self.datagrams.retain(|_, d| {
            let keep = now.since(d.first_seen) <= timeout;
            if !keep {
                dropped = dropped.saturating_add(d.fragments);
                bytes = bytes.saturating_add(d.buf.len());
            }
            keep
        });
        self.count_dropped(dropped, Reason::Incomplete);
        self.bytes = self.bytes.saturating_sub(bytes);
        self.recompute_oldest();
    }

    /// Drops the datagram that arrived first, other than `keep`. Returns
    /// false when there is none.
    fn evict_oldest(&mut self, keep: Option<&FragmentKey>) -> bool {
        let victim = self
            .datagrams
            .iter()
            .filter(|(k, _)| Some(*k) != keep)
            .min_by_key(|(_, d)| d.seq)
            .map(|(k, _)| *k);
        match victim {
            Some(key) => {
                self.drop_datagram(&key, Reason::OverLimit);
                true
            }
            None => false,
        }
    }

    fn drop_datagram(&mut self, key: &FragmentKey, reason: Reason) {
        if let Some(d) = self.datagrams.remove(key) {
            self.count_dropped(d.fragments, reason);
            self.bytes = self.bytes.saturating_sub(d.buf.len());
            self.recompute_oldest();
        }
    }

    fn recompute_oldest(&mut self) {
        self.oldest = self.datagrams.values().map(|d| d.first_seen).min();
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(id: u32) -> FragmentKey {
        FragmentKey {
            tunnel: 0,
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            protocol: 6,
            id,
        }
    }

    fn frag(offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            offset,
            more,
            next_header: 6,
            data,
        }
    }

    const T0: Timestamp = Timestamp(1_000_000_000);

    #[test]
    fn reassembles_out_of_order() {
        let mut t = FragmentTable::new(FragmentLimits::default());
        assert_eq!(
            t.insert(key(1), T0, frag(16, false, b"cc")),
            Reassembly::Held
        );
        assert_eq!(
            t.insert(key(1), T0, frag(0, true, b"aaaaaaaa")),
            Reassembly::Held
        );
        assert_eq!(
            t.insert(key(1), T0, frag(8, true, b"bbbbbbbb")),
            Reassembly::Complete { next_header: 6 }
        );
        assert_eq!(t.completed(), b"aaaaaaaabbbbbbbbcc");
        assert_eq!(t.pending(), 0);
        assert_eq!(t.bytes, 0);
    }

    #[test]
    fn overlaps_keep_the_first_bytes() {
        let mut t = FragmentTable::new(FragmentLimits::default());
        t.insert(key(1), T0, frag(8, true, b"XXXXXXXX"));
        t.insert(key(1), T0, frag(0, true, b"aaaaaaaaBBBBBBBBcc"));
        let r = t.insert(key(1), T0, frag(16, false, b"YYYY"));
        assert_eq!(r, Reassembly::Complete { next_header: 6 });
        assert_eq!(t.completed(), b"aaaaaaaaXXXXXXXXccYY");
    }

    #[test]
    fn inconsistent_last_fragments_drop_the_datagram() {
        let mut t = FragmentTable::new(FragmentLimits::default());
        t.insert(key(1), T0, frag(0, true, b"aaaaaaaa"));
        t.insert(key(1), T0, frag(16, false, b"cc"));
        assert_eq!(
            t.insert(key(1), T0, frag(16, false, b"cccc")),
            Reassembly::Dropped
        );
        assert_eq!(t.dropped, 3);
        assert_eq!(t.pending(), 0);
        t.insert(key(2), T0, frag(8, false, b"cc"));
        assert_eq!(
            t.insert(key(2), T0, frag(8, true, b"cccccccc")),
            Reassembly::Dropped
        );
    }

    #[test]
    fn oversized_datagram_is_dropped() {
        let mut t = FragmentTable::new(FragmentLimits::default());
        t.insert(key(1), T0, frag(0, true, b"aaaaaaaa"));
        assert_eq!(
            t.insert(key(1), T0, frag(65528, false, b"01234567")),
            Reassembly::Dropped
        );
        assert_eq!(t.dropped, 2);
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn limits_on_datagrams_bytes_and_time() {
        let limits = FragmentLimits {
            max_datagrams: 2,
            max_bytes: 100,
            timeout_ns: 1_000,
        };
        let mut t = FragmentTable::new(limits);
        t.insert(key(1), T0, frag(0, true, b"aaaaaaaa"));
        t.insert(key(2), T0, frag(0, true, b"aaaaaaaa"));
        t.insert(key(3), T0, frag(0, true, b"aaaaaaaa"));
        assert_eq!(t.pending(), 2);
        assert_eq!(t.dropped, 1, "oldest evicted");
        assert!(!t.datagrams.contains_key(&key(1)));

        // 96 bytes needed for key 3 at offset 88: key 2 must go.
        assert_eq!(
            t.insert(key(3), T0, frag(88, true, b"bbbbbbbb")),
            Reassembly::Held
        );
        assert_eq!(t.pending(), 1);
        assert_eq!(t.dropped, 2);
        assert_eq!(t.bytes, 96);
        // A fragment that cannot fit even alone.
        assert_eq!(
            t.insert(key(3), T0, frag(96, true, b"cccccccc")),
            Reassembly::Dropped
        );
        assert_eq!(t.pending(), 0);
        assert_eq!(t.bytes, 0);
        assert_eq!(t.dropped, 5);

        t.insert(key(4), T0, frag(0, true, b"aaaaaaaa"));
        let later = T0.add_nanos(1_001);
        t.insert(key(5), later, frag(0, true, b"aaaaaaaa"));
        assert!(!t.datagrams.contains_key(&key(4)), "timed out");
        assert_eq!(t.dropped, 6);
        t.clear();
        assert_eq!(t.dropped, 7);
        assert_eq!(t.bytes, 0);
    }

    #[test]
    fn scattered_fragments_past_the_range_cap_are_dropped() {
        let mut t = FragmentTable::new(FragmentLimits::default());
        let mut last = Reassembly::Held;
        for i in 0..=MAX_RANGES as u32 {
            last = t.insert(key(1), T0, frag(i * 16, true, b"aaaaaaaa"));
        }
        assert_eq!(last, Reassembly::Dropped);
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn zero_limits_drop_everything() {
        let mut t = FragmentTable::new(FragmentLimits {
            max_datagrams: 0,
            max_bytes: 0,
            timeout_ns: 0,
        });
        assert_eq!(
            t.insert(key(1), T0, frag(0, true, b"aaaaaaaa")),
            Reassembly::Dropped
        );
        assert_eq!(t.dropped, 1);
    }
}
