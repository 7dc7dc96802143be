//! Stage 3: grouping segments into connections.
//!
//! The [`FlowTable`] maps the canonical 4-tuple of each segment to the live
//! [`Connection`] on it. The client is the SYN sender (else the SYN+ACK
//! receiver, else a heuristic: who speaks HTTP first, then port numbers). A
//! SYN whose sequence number differs from the one that opened the connection
//! on that tuple starts a new *generation* — the way tshark opens a new stream
//! on a reused port. Connections end when both sides have closed (or one
//! reset) and a short linger has passed, when they sit idle past a timeout in
//! capture time, or at the end of the capture; each is then handed to the
//! caller with its stream handler and dropped, so memory follows the
//! connections open at once, not the length of the capture.

mod connection;
pub mod roles;
mod table;

pub use connection::{
    first_closer, CloseKind, Connection, EndReason, Handshake, Previous, RoleEvidence, RstSegment,
};
pub use table::{Finished, FlowLimits, FlowStats, FlowTable};

/// Bytes held beyond the flow table in proportion to the input (the
/// cross-connection rules' index), written by their holder and read by the
/// flow table, whose memory budget ([`FlowLimits::max_memory`]) counts them.
pub type MemoryGauge = std::rc::Rc<std::cell::Cell<usize>>;

/// The largest [`FlowStats::peak_memory`] of the captures read by this
/// process, for `--stats` (beside the process's peak RSS).
static PEAK_MEMORY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Records one capture's peak of accounted memory (once per capture).
pub fn note_peak_memory(bytes: u64) {
    PEAK_MEMORY.fetch_max(bytes, std::sync::atomic::Ordering::Relaxed);
}

/// The largest peak of accounted memory of the captures read so far.
pub fn peak_memory() -> u64 {
    PEAK_MEMORY.load(std::sync::atomic::Ordering::Relaxed)
}
