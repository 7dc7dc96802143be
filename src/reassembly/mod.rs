//! Stage 4: turning one direction's segments back into the byte stream.
//!
//! Each direction of a connection has a [`Reassembler`] that places segments
//! by their 64-bit offset from the initial sequence number (so wraparound of
//! the 32-bit sequence space is a non-event), delivers in-order bytes at once
//! with the capture time of the segment that carried them, buffers
//! out-of-order segments under a cap, and declares a gap — never silently
//! skips — when the peer acknowledges past a hole, when the cap is exceeded,
//! or at FIN/end of capture.
//!
//! What comes out is a sequence of calls on a [`StreamHandler`], ending with
//! [`StreamHandler::on_end`]. The HTTP layer is one; the flow table, which
//! drives the reassemblers, knows handlers only through this trait, so it
//! never sees HTTP.

mod direction;
mod pacing;

pub use direction::{DirectionStats, Reassembler, ReassemblyLimits};
pub use pacing::{timestamp_option, AckRelease, Pacing, Sent};

use crate::Timestamp;

/// Which endpoint sent something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Client,
    Server,
}

impl Side {
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
    /// 0 for the client, 1 for the server: an index into per-direction arrays.
    pub fn index(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// One side's half of a per-direction pair `[client, server]`, the layout of
/// every per-direction array in the crate. A match on the side rather than
/// `pair[side.index()]`: no index, so nothing that could be out of range.
pub trait BySide<T> {
    fn of(&self, side: Side) -> &T;
    fn of_mut(&mut self, side: Side) -> &mut T;
}

impl<T> BySide<T> for [T; 2] {
    #[inline(always)]
    fn of(&self, side: Side) -> &T {
        let [client, server] = self;
        match side {
            Side::Client => client,
            Side::Server => server,
        }
    }

    #[inline(always)]
    fn of_mut(&mut self, side: Side) -> &mut T {
        let [client, server] = self;
        match side {
            Side::Client => client,
            Side::Server => server,
        }
    }
}

/// What a segment was, once placed in its direction's stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentKind {
    /// Carries bytes not seen before (some may also overlap old ones).
    NewData,
    /// Carries only bytes already seen.
    Retransmission,
    /// No payload, and not SYN/FIN/RST: an acknowledgement or window update.
    PureAck,
    /// A keep-alive probe (one byte or none, at the last acknowledged byte minus one).
    KeepAlive,
    /// A one-byte probe into a zero window.
    ZeroWindowProbe,
    /// SYN, FIN or RST without payload.
    Control,
}

/// A summary of one segment, for the packet-level rules (Nagle / delayed ACK).
/// Handed over as the segment is processed; nothing keeps a list of them.
#[derive(Clone, Copy, Debug)]
pub struct SegmentMeta {
    pub ts: Timestamp,
    pub frame: u64,
    pub kind: SegmentKind,
    /// Offset of the first payload byte in the sender's stream.
    pub offset: u64,
    /// Payload length (per the IP header).
    pub len: u32,
    /// If the ACK flag is set: the acknowledged offset in the *peer's* stream.
    pub ack: Option<u64>,
    /// Advertised receive window in bytes (scaled when the scale is known).
    pub window: u64,
}

/// Receives one connection's reassembled streams.
///
/// Calls arrive in capture order across both directions, so a handler sees a
/// request's bytes and the response's bytes interleaved as they were on the
/// wire. Offsets are from the start of each direction's stream (0 = the first
/// byte after the SYN, or the first byte seen on a connection picked up
/// mid-stream).
pub trait StreamHandler {
    /// The frame whose segment the calls that follow come from, until the
    /// next `on_frame`: the flow table says it before it places each
    /// segment. Bytes delivered from the out-of-order buffer are announced
    /// with the frame that carried them (then the current frame again).
    fn on_frame(&mut self, _frame: u64) {}
    /// In-order bytes from `from` at `offset`, first captured at `ts`.
    fn on_data(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp);
    /// `len` bytes from `from` at `offset` were not captured; the stream resumes after them.
    fn on_gap(&mut self, from: Side, offset: u64, len: u64, ts: Timestamp);
    /// `from` sent FIN after its last byte; it will send nothing more.
    fn on_fin(&mut self, from: Side, ts: Timestamp);
    /// `from` reset the connection.
    fn on_rst(&mut self, from: Side, ts: Timestamp);
    /// Every segment of the connection, in capture order, after it was placed.
    fn on_segment(&mut self, _from: Side, _segment: &SegmentMeta) {}
    /// A sender's data that waited on the peer's pure ACK (see [`Pacing`]).
    fn on_ack_release(&mut self, _release: &AckRelease) {}
    /// The connection is over: how it ended, as the flow table saw it. The
    /// last call, after every stream's data, gaps, FIN and RST.
    fn on_end(&mut self, _end: &ConnectionEnd) {}
    /// Bytes the handler holds in proportion to its input (buffers, what it
    /// kept), for the flow table's memory budget. Asked after every
    /// segment: it must be a few field reads, not a walk over what is kept.
    fn held_bytes(&self) -> usize {
        0
    }
    /// Who sent `payload`, judged by its first bytes alone: the client if it
    /// opens like a request of the protocol this handler reads, the server
    /// if like a response, `None` if it cannot tell. The flow table asks it
    /// of a connection picked up without its handshake (and of its first
    /// data, until bytes are delivered), before it falls back to port
    /// numbers: who speaks first tells the roles apart better than ports.
    fn sender_of(_payload: &[u8]) -> Option<Side>
    where
        Self: Sized,
    {
        None
    }
}

/// How a connection ended, as the flow table saw it: what a handler needs of
/// the flow record to close its own books, without seeing the flow table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionEnd {
    /// The first RST that ended the connection: who sent it, and when.
    pub rst: Option<(Side, Timestamp)>,
    /// When each side's FIN was seen, `[client, server]`.
    pub fin: [Option<Timestamp>; 2],
    /// The handshake's round trip at the capture point (SYN to the ACK that
    /// completed it), when the whole handshake was seen.
    pub handshake_rtt_ns: Option<i64>,
}

/// A handler that ignores everything, for a pass that needs only what the
/// flow table records itself (connection roles then come from SYNs and
/// port numbers alone).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopHandler;

impl StreamHandler for NoopHandler {
    fn on_data(&mut self, _: Side, _: u64, _: &[u8], _: Timestamp) {}
    fn on_gap(&mut self, _: Side, _: u64, _: u64, _: Timestamp) {}
    fn on_fin(&mut self, _: Side, _: Timestamp) {}
    fn on_rst(&mut self, _: Side, _: Timestamp) {}
}
