//! One TCP connection as the flow table records it.

use crate::reassembly::{BySide, DirectionStats, Side};
use crate::Timestamp;
use std::net::SocketAddr;

/// How the client/server roles were decided, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoleEvidence {
    /// The client sent the SYN.
    Syn,
    /// The client received the SYN+ACK.
    SynAck,
    /// Picked up mid-stream: the first payload was an HTTP request or response.
    Payload,
    /// Picked up mid-stream: the server is the endpoint on the well-known or lower port.
    Port,
}

/// The three-way handshake as seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Handshake {
    /// First SYN from the client.
    pub syn: Option<Timestamp>,
    /// First SYN+ACK from the server.
    pub syn_ack: Option<Timestamp>,
    /// The client's first ACK of the SYN+ACK (with or without data).
    pub ack: Option<Timestamp>,
}

impl Handshake {
    /// SYN to the ACK that completes the handshake, in nanoseconds: the time
    /// a client pays before it can send its first request byte. `None` unless
    /// all three were seen.
    pub fn rtt_ns(&self) -> Option<i64> {
        match (self.syn, self.syn_ack, self.ack) {
            (Some(syn), Some(_), Some(ack)) => Some(ack.since(syn)),
            _ => None,
        }
    }
}

/// How the connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CloseKind {
    /// Closed by FIN (at least one side), no RST.
    Fin,
    /// Reset by either side.
    Rst,
    /// Neither FIN nor RST seen.
    Open,
}

/// Why the flow table let go of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    /// Both FINs, or a RST, and the linger time passed.
    Closed,
    /// A SYN with a new sequence number reused the tuple.
    Reused,
    /// No packet for longer than its idle timeout (`established_timeout_s`
    /// once established, else `idle_timeout_s`).
    IdleTimeout,
    /// The table was full and this was the oldest idle connection.
    Evicted,
    /// The memory budget (`max_memory`) was reached and this was among the
    /// least recently active connections: finished early, judged on what
    /// was seen.
    MemoryPressure,
    /// The capture ended.
    EndOfCapture,
}

/// A TCP connection: its endpoints, timing, and what each direction carried.
#[derive(Clone, Debug)]
pub struct Connection {
    /// Index of the connection in the capture, in order of first packet (as tshark's `tcp.stream`).
    pub id: u64,
    /// 0 for the first connection on a 4-tuple, 1 for the next reuse, ...
    pub generation: u32,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub roles: RoleEvidence,
    pub first_frame: u64,
    pub last_frame: u64,
    pub start_ts: Timestamp,
    pub end_ts: Timestamp,
    pub packets: u64,
    pub handshake: Handshake,
    /// FIN time of each side (index [`Side::index`]).
    pub fin: [Option<Timestamp>; 2],
    /// The first RST: who sent it and when.
    pub rst: Option<(Side, Timestamp)>,
    /// What the first RST's segment said, when it was seen (set with `rst`).
    pub rst_segment: Option<RstSegment>,
    pub end_reason: EndReason,
    /// Per direction (index [`Side::index`]): bytes, retransmissions, gaps, ...
    pub dirs: [DirectionStats; 2],
    /// The connection that used the same 4-tuple before this one, if the
    /// flow table still remembered it.
    pub previous: Option<Previous>,
    /// The connection this one continues: the flow table had let it go
    /// while established (idle past its timeout, or evicted from a full
    /// table) and this connection's first packet continued its sequence
    /// numbers. Same tuple, same generation, roles as it had.
    pub resumes: Option<Previous>,
    /// The tunnel layers its first segment came through (none for
    /// untunnelled traffic).
    pub tunnel: Option<Box<crate::decode::TunnelPath>>,
}

/// The segment of a connection's first RST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RstSegment {
    /// Its frame number in the capture.
    pub frame: u64,
    /// The offset in the peer's stream it acknowledged (its ACK number), when
    /// it had the ACK flag: how much of the peer's data the resetting side's
    /// kernel had received in order. A Linux kernel that resets on `close()`
    /// with unread data acknowledges everything it received.
    pub ack: Option<u64>,
    /// How far the peer's stream had been seen at the capture point when the
    /// RST passed (the end of its furthest segment): what the peer had sent.
    pub peer_seen: u64,
}

/// The earlier connection on a reused 4-tuple, and how it ended: what a
/// rule about the reuse (S004, TIME_WAIT) needs of it, carried here so that
/// no rule has to keep every finished connection around to look it up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Previous {
    pub id: u64,
    /// Its last packet.
    pub end_ts: Timestamp,
    /// Whether it had closed (FIN both ways or RST) rather than gone quiet.
    pub closed: bool,
    /// FIN time of each side (index [`Side::index`]).
    pub fin: [Option<Timestamp>; 2],
    /// When its first RST was seen, if it was reset.
    pub rst_ts: Option<Timestamp>,
}

impl Previous {
    /// `conn`, finished, as the connection before the next one on its
    /// tuple; `closed`: whether it had closed (see [`Previous::closed`]).
    pub fn of(conn: &Connection, closed: bool) -> Previous {
        Previous {
            id: conn.id,
            end_ts: conn.end_ts,
            closed,
            fin: conn.fin,
            rst_ts: conn.rst.map(|(_, ts)| ts),
        }
    }

    /// Its first FIN or RST: the moment it began to close.
    pub fn close_ts(&self) -> Option<Timestamp> {
        [self.fin[0], self.fin[1], self.rst_ts]
            .into_iter()
            .flatten()
            .min()
    }

    /// The side whose FIN came first (the active closer, which holds
    /// TIME_WAIT), `None` when neither or both at the same instant.
    pub fn first_closer(&self) -> Option<Side> {
        first_closer(self.fin)
    }
}

impl Connection {
    /// A connection first seen at `ts` in frame `frame`, with nothing recorded
    /// yet: the flow table fills in the rest as packets arrive (and tests
    /// set what they need).
    pub fn new(
        id: u64,
        client: SocketAddr,
        server: SocketAddr,
        roles: RoleEvidence,
        frame: u64,
        ts: Timestamp,
    ) -> Connection {
        Connection {
            id,
            generation: 0,
            client,
            server,
            roles,
            first_frame: frame,
            last_frame: frame,
            start_ts: ts,
            end_ts: ts,
            packets: 0,
            handshake: Handshake::default(),
            fin: [None, None],
            rst: None,
            rst_segment: None,
            end_reason: EndReason::EndOfCapture,
            dirs: Default::default(),
            previous: None,
            resumes: None,
            tunnel: None,
        }
    }

    pub fn close_kind(&self) -> CloseKind {
        if self.rst.is_some() {
            CloseKind::Rst
        } else if self.fin.iter().any(Option::is_some) {
            CloseKind::Fin
        } else {
            CloseKind::Open
        }
    }

    pub fn stats(&self, side: Side) -> &DirectionStats {
        self.dirs.of(side)
    }

    pub fn handshake_rtt_ns(&self) -> Option<i64> {
        self.handshake.rtt_ns()
    }

    /// The round trip between the capture point and `side`, from the
    /// handshake: a packet to the server comes back (SYN -> SYN+ACK), a packet
    /// to the client comes back (SYN+ACK -> ACK). Where the capture was taken
    /// next to one end, that end's round trip is near zero.
    pub fn capture_rtt_to_ns(&self, side: Side) -> Option<i64> {
        let h = &self.handshake;
        match side {
            Side::Server => Some(h.syn_ack?.since(h.syn?)),
            Side::Client => Some(h.ack?.since(h.syn_ack?)),
        }
    }
}

/// The side whose FIN (at these times, client's then server's) came first:
/// the active closer, which holds TIME_WAIT. `None` when neither closed or
/// both at the same instant.
pub fn first_closer(fin: [Option<Timestamp>; 2]) -> Option<Side> {
    match fin {
        [Some(c), Some(s)] if c < s => Some(Side::Client),
        [Some(c), Some(s)] if s < c => Some(Side::Server),
        [Some(_), None] => Some(Side::Client),
        [None, Some(_)] => Some(Side::Server),
        _ => None,
    }
}
