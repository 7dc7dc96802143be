//! Ack clocking of one direction, for the Nagle / delayed-ACK rules. (being written)
use super::Side;
use crate::Timestamp;

/// A sender's new data that left only after the peer's pure ACK arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckRelease {
    pub sender: Side,
    /// The sender's last segment before the wait: when it left and its size.
    pub held_ts: Timestamp,
    pub held_len: u32,
    /// The sender's maximum segment size, if known.
    pub mss: Option<u16>,
    /// The peer's pure ACK that covered all outstanding data.
    pub ack_ts: Timestamp,
    /// The sender's next new data.
    pub release_ts: Timestamp,
    pub release_len: u32,
    pub release_frame: u64,
}

#[derive(Debug, Default)]
pub struct Pacing {}
