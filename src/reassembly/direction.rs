//! Reassembly of one direction of a connection. (being written)

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
    /// Overlapping bytes that differed from the bytes first seen there.
    pub conflicting_overlaps: u64,
    /// Holes declared in the stream, and the bytes they cover.
    pub gaps: u64,
    pub gap_bytes: u64,
    pub keepalives: u64,
    pub zero_window_probes: u64,
    /// Segments before the point where a mid-stream pickup started, dropped.
    pub before_start: u64,
    /// Maximum segment size announced in this direction's SYN.
    pub mss: Option<u16>,
    /// Window scale announced in this direction's SYN.
    pub window_scale: Option<u8>,
    /// Largest payload seen in one segment.
    pub max_segment: u32,
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

#[derive(Debug, Default)]
pub struct Reassembler {}
