//! Stage 2: from a captured frame to a TCP segment.
//!
//! The link layer (Ethernet with VLAN/QinQ tags and PPPoE sessions, Linux
//! SLL/SLL2, BSD null/loopback in either byte order, raw IPv4/IPv6, Cisco HDLC,
//! PPP, NFLOG, 802.11 with or without radiotap, ARCNET) is peeled off, then IP
//! (IPv4 and IPv6 with extension headers, fragments reassembled under a
//! bound), then TCP, whose options we parse ourselves. Parsing is lax: a frame
//! cut by the snaplen still yields the headers it holds and the part of the
//! payload it holds, with the length the IP header claims (believed up to the
//! frame's length on the wire, as tshark does).
//!
//! Everything is hand-written over `get`-checked slices rather than
//! etherparse's lax slicing: half of these link types are not in etherparse,
//! its lax TCP slice gives up on a header cut inside its options, and this
//! path runs once per frame: 20–30 ns a frame for Ethernet/IPv4/TCP including
//! options, against 35–50 ns for `LaxSlicedPacket::from_ethernet` alone
//! (release build, the corpus's echo-connections capture, a busy 2-core
//! machine). Nothing is allocated per frame except while IP
//! fragments are being reassembled.
//!
//! Anything that is not TCP, or is on a link type we do not read, is counted in
//! [`DecodeStats`] and skipped: never an error.

// Hostile input: every path from capture bytes must be free of panics and
// silent overflow, so the panicking shortcuts are denied here (tests excepted).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

mod fragments;
mod ip;
mod link;
mod tcp;

pub use fragments::FragmentLimits;
pub use tcp::{parse_options, SackBlocks, TcpFlags, TcpOptions};

use crate::capture::Frame;
use crate::Timestamp;
use fragments::{FragmentKey, FragmentTable, Reassembly};
use ip::Ip;
use link::Network;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// A TCP segment, borrowed from the frame (or from the decoder's fragment
/// buffer when the IP datagram was reassembled from fragments).
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'a> {
    pub ts: Timestamp,
    /// Frame number of the frame that carried (or completed) this segment.
    pub frame: u64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// The window field as sent (not scaled).
    pub window: u16,
    /// The raw options area (what the snaplen left of it); see
    /// [`TcpSegment::options`]. Parsed on demand: the flow table reads
    /// options only from SYNs, and parsing and carrying them for every
    /// segment measurably slowed the whole pipeline.
    pub options_raw: &'a [u8],
    /// The payload bytes present in the capture.
    pub payload: &'a [u8],
    /// The payload length according to the IP header; larger than
    /// `payload.len()` when the snaplen cut the frame.
    pub payload_len: u32,
}

impl TcpSegment<'_> {
    /// The options the connlint rules use: MSS, window scale, SACK, timestamps.
    pub fn options(&self) -> TcpOptions {
        tcp::parse_options(self.options_raw)
    }
}

/// What the decoder made of one frame.
#[derive(Debug)]
pub enum Decoded<'a> {
    Tcp(TcpSegment<'a>),
    /// Not TCP, held as a fragment, on an unsupported link, or malformed;
    /// already counted in the stats.
    Skipped,
}

/// Counts of what was seen and skipped, reported with every capture.
///
/// Every frame lands in exactly one bucket, so
/// `frames == tcp_segments + non_tcp + non_ip + Σ unsupported_link + malformed
/// + fragments - fragments_reassembled` (a frame that completes a datagram is
/// counted as a fragment, and the datagram as a TCP segment, non-TCP or
/// malformed). Fragments still waiting when the capture ends are counted as
/// dropped by [`Decoder::finish`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeStats {
    pub frames: u64,
    pub tcp_segments: u64,
    /// IP packets carrying another protocol (UDP, ICMP, ...), including
    /// fragments of non-TCP datagrams, which are not buffered.
    pub non_tcp: u64,
    /// Frames whose link layer carries something other than IP (ARP, LLDP, ...).
    pub non_ip: u64,
    /// Frames on link types connlint does not decode, by link type.
    pub unsupported_link: BTreeMap<u32, u64>,
    /// Frames whose headers are too short or inconsistent to decode,
    /// including frames the snaplen cut before the end of the TCP header's
    /// fixed 20 bytes.
    pub malformed: u64,
    /// IP fragments of datagrams that may carry TCP (IPv4, and IPv6 beyond
    /// atomic fragments), datagrams completed from them, and fragments
    /// dropped (bound reached, timed out, inconsistent, cut by the snaplen).
    pub fragments: u64,
    pub fragments_reassembled: u64,
    pub fragments_dropped: u64,
}

/// Decodes frames into TCP segments; keeps the IP fragment buffers.
#[derive(Debug, Default)]
pub struct Decoder {
    fragments: FragmentTable,
    pub stats: DecodeStats,
}

/// Why a frame yielded no segment, for the stats.
enum Skip {
    NonTcp,
    NonIp,
    Unsupported,
    Malformed,
    /// Held for reassembly or dropped; already counted.
    Fragment,
}

impl Decoder {
    pub fn new(limits: FragmentLimits) -> Decoder {
        Decoder {
            fragments: FragmentTable::new(limits),
            stats: DecodeStats::default(),
        }
    }

    /// Decodes one frame. The returned segment may borrow from `self` (a
    /// reassembled datagram), so it must be consumed before the next call.
    ///
    /// Never fails and never panics: what is not a readable TCP segment is
    /// counted in [`Decoder::stats`] and returned as [`Decoded::Skipped`].
    /// Allocates only when IP fragments are being reassembled.
    pub fn decode<'a>(&'a mut self, frame: &Frame<'a>) -> Decoded<'a> {
        let Decoder { fragments, stats } = self;
        stats.frames = stats.frames.saturating_add(1);
        match decode_frame(fragments, stats, frame) {
            Ok(segment) => {
                stats.tcp_segments = stats.tcp_segments.saturating_add(1);
                Decoded::Tcp(segment)
            }
            Err(skip) => {
                match skip {
                    Skip::NonTcp => stats.non_tcp = stats.non_tcp.saturating_add(1),
                    Skip::NonIp => stats.non_ip = stats.non_ip.saturating_add(1),
                    Skip::Malformed => stats.malformed = stats.malformed.saturating_add(1),
                    Skip::Unsupported => {
                        let count = stats.unsupported_link.entry(frame.link_type.0).or_insert(0);
                        *count = count.saturating_add(1);
                    }
                    Skip::Fragment => {}
                }
                Decoded::Skipped
            }
        }
    }

    /// Ends the capture: datagrams still waiting for fragments will not
    /// complete, so they are dropped and counted in `fragments_dropped`.
    pub fn finish(&mut self) {
        self.fragments.clear();
        let dropped = std::mem::take(&mut self.fragments.dropped);
        self.stats.fragments_dropped = self.stats.fragments_dropped.saturating_add(dropped);
    }
}

#[inline(always)]
fn decode_frame<'a>(
    fragments: &'a mut FragmentTable,
    stats: &mut DecodeStats,
    frame: &Frame<'a>,
) -> Result<TcpSegment<'a>, Skip> {
    // Bytes of the frame the snaplen left out; IP lengths are believed up to
    // the frame's length on the wire, not beyond.
    let cut = usize::try_from(frame.orig_len)
        .unwrap_or(usize::MAX)
        .saturating_sub(frame.data.len());
    let packet = match link::network(frame.link_type, frame.data) {
        Network::Ipv4(bytes) => ip::ipv4(bytes, cut),
        Network::Ipv6(bytes) => ip::ipv6(bytes, cut),
        Network::NotIp => return Err(Skip::NonIp),
        Network::Unsupported => return Err(Skip::Unsupported),
        Network::Malformed => return Err(Skip::Malformed),
    };
    match packet {
        Ip::Tcp { .. } => segment(frame, packet),
        Ip::NonTcp => Err(Skip::NonTcp),
        Ip::Malformed => Err(Skip::Malformed),
        Ip::CutFragment { key } => {
            stats.fragments = stats.fragments.saturating_add(1);
            fragments.discard(&key);
            let dropped = std::mem::take(&mut fragments.dropped).saturating_add(1);
            stats.fragments_dropped = stats.fragments_dropped.saturating_add(dropped);
            Err(Skip::Fragment)
        }
        Ip::Fragment { key, fragment } => {
            stats.fragments = stats.fragments.saturating_add(1);
            let result = fragments.insert(key, frame.ts, fragment);
            let dropped = std::mem::take(&mut fragments.dropped);
            stats.fragments_dropped = stats.fragments_dropped.saturating_add(dropped);
            match result {
                Reassembly::Held | Reassembly::Dropped => Err(Skip::Fragment),
                Reassembly::Complete { next_header } => {
                    stats.fragments_reassembled = stats.fragments_reassembled.saturating_add(1);
                    let fragments: &'a FragmentTable = fragments;
                    let ipv6 = key.protocol == FragmentKey::IPV6;
                    let datagram = fragments.completed();
                    segment(
                        frame,
                        ip::reassembled(key.src, key.dst, ipv6, next_header, datagram),
                    )
                }
            }
        }
    }
}

/// Reads the TCP header of what the IP layer found.
#[inline(always)]
fn segment<'a>(frame: &Frame<'a>, packet: Ip<'a>) -> Result<TcpSegment<'a>, Skip> {
    let Ip::Tcp {
        src,
        dst,
        captured,
        claimed,
    } = packet
    else {
        return Err(match packet {
            Ip::NonTcp => Skip::NonTcp,
            _ => Skip::Malformed,
        });
    };
    let header = tcp::parse_header(captured, claimed).ok_or(Skip::Malformed)?;
    Ok(TcpSegment {
        ts: frame.ts,
        frame: frame.number,
        src: SocketAddr::new(src, header.src_port),
        dst: SocketAddr::new(dst, header.dst_port),
        seq: header.seq,
        ack: header.ack,
        flags: header.flags,
        window: header.window,
        options_raw: header.options,
        payload: header.payload,
        payload_len: header.payload_len,
    })
}
