//! Stage 2: from a captured frame to a TCP segment.
//!
//! The link layer (Ethernet with VLAN/QinQ tags and PPPoE sessions, Linux
//! SLL/SLL2, BSD null/loopback in either byte order, raw IPv4/IPv6, Cisco HDLC,
//! PPP, NFLOG, 802.11 with or without radiotap, Prism or AVS headers, PPI,
//! PKTAP, pflog, Solaris ipnet, IP over InfiniBand, Juniper Ethernet,
//! netANALYZER, ARCNET, bare MPLS) is peeled off, then IP (IPv4 and IPv6 with
//! extension headers, fragments reassembled under a bound), then TCP, whose
//! options we parse ourselves. Tunnels between IP and TCP are peeled the same
//! way, up to [`MAX_TUNNEL_LAYERS`] deep (see `encap.rs` for each layout):
//! VXLAN, GENEVE, GRE (keys, sequence numbers, checksums; NVGRE; Ethernet
//! bridging; ERSPAN types I-III; PPTP), IP in IP in both versions, MPLS label
//! stacks (with or without a pseudowire control word), L2TPv2 with PPP, Cisco
//! MetaData (SGT), the IPsec authentication header; ESP is counted. The
//! layers a segment came through are its [`Tunnel`]. Parsing is lax: a frame
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
//! [`DecodeStats`] and skipped: never an error. Untunnelled frames take the
//! same path as before tunnels were read (one extra store per frame); the
//! loop over layers runs only for what is not plain TCP.

mod encap;
mod fragments;
mod ip;
mod link;
mod tcp;
mod tunnel;

pub use fragments::FragmentLimits;
pub use tcp::{parse_options, SackBlocks, TcpFlags, TcpOptions};
pub use tunnel::{
    Tunnel, TunnelKind, TunnelLayer, TunnelOptions, TunnelPath, MAX_TUNNEL_LAYERS, OVERFLOW_KEY,
};

use crate::capture::Frame;
use crate::Timestamp;
use encap::Stop;
use fragments::{Drops, FragmentKey, FragmentTable, Reassembly};
use ip::Ip;
use link::Network;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use tunnel::TunnelTable;

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
/// `frames == tcp_segments + non_tcp + non_ip + Σ unsupported_link + malformed +
/// esp + tunnel_too_deep + fragments - fragments_reassembled` (a frame that
/// completes a datagram is counted as a fragment, and the datagram as a TCP
/// segment, non-TCP, ... like a frame). Fragments still waiting when the
/// capture ends are counted as dropped (and incomplete) by [`Decoder::finish`].
/// The maps break buckets down (`non_tcp` by protocol, `non_ip` by
/// ethertype where there is one); `tunnels` counts frames by the tunnels
/// they came through, whatever bucket they landed in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeStats {
    pub frames: u64,
    pub tcp_segments: u64,
    /// IP packets carrying another protocol (UDP that is not a tunnel, ICMP,
    /// ...), including fragments of datagrams that cannot lead to TCP,
    /// which are not buffered.
    pub non_tcp: u64,
    /// `non_tcp` by IP protocol number (for IPv6, the last next header).
    pub non_tcp_protocols: BTreeMap<u8, u64>,
    /// Frames whose link layer (or tunnel) carries something other than IP
    /// (ARP, LLDP, ...).
    pub non_ip: u64,
    /// `non_ip` by ethertype, for the frames that name their payload with
    /// one (not LLC, PPP protocols, address families, 802.11 management).
    pub non_ip_ethertypes: BTreeMap<u16, u64>,
    /// Frames on link types connlint does not decode, by link type.
    pub unsupported_link: BTreeMap<u32, u64>,
    /// Frames whose headers are too short or inconsistent to decode,
    /// including frames the snaplen cut before the end of the TCP header's
    /// fixed 20 bytes.
    pub malformed: u64,
    /// IPsec ESP packets: encrypted, so never opened.
    pub esp: u64,
    /// Frames with more tunnel layers than [`MAX_TUNNEL_LAYERS`].
    pub tunnel_too_deep: u64,
    /// Frames by the kind of each tunnel layer they came through (a frame
    /// through two layers counts twice).
    pub tunnels: BTreeMap<TunnelKind, u64>,
    /// Segments whose tunnel was new when `max_tunnels` identities were
    /// already known: their flows share one key.
    pub tunnels_over_limit: u64,
    /// IP fragments of datagrams that may carry TCP (IPv4, and IPv6 beyond
    /// atomic fragments), datagrams completed from them, and fragments
    /// dropped (bound reached, timed out, inconsistent, cut by the snaplen).
    pub fragments: u64,
    pub fragments_reassembled: u64,
    pub fragments_dropped: u64,
    /// Of the dropped: their datagram never completed (fragments missing at
    /// its timeout or the end of the capture, or cut by the snaplen).
    pub fragments_incomplete: u64,
    /// Of the dropped: to stay within `max_fragment_datagrams` or
    /// `max_fragment_bytes`.
    pub fragments_over_limit: u64,
    /// Of the dropped: inconsistent, too scattered, or longer than 65535.
    pub fragments_invalid: u64,
    /// Times `max_fragment_datagrams` / `max_fragment_bytes` made a drop.
    pub fragment_datagram_limit_hits: u64,
    pub fragment_byte_limit_hits: u64,
}

/// Ethertypes of protocols that never carry TCP: their frames are not
/// "TCP unseen" (see [`DecodeStats::undecoded`]).
const NEVER_TCP_ETHERTYPES: &[u16] = &[
    0x0806, // ARP
    0x8035, // RARP
    0x0842, // Wake-on-LAN
    0x22f0, // AVTP
    0x22f3, // TRILL
    0x8809, // slow protocols (LACP, OAM)
    0x8863, // PPPoE discovery
    0x886f, // Microsoft NLB heartbeat
    0x888e, // 802.1X
    0x8892, // PROFINET
    0x889a, // HyperSCSI
    0x88a4, // EtherCAT
    0x88b8, // GOOSE
    0x88ba, // Sampled values
    0x88cc, // LLDP
    0x88e1, // HomePlug
    0x88e3, // MRP
    0x88f5, // MVRP
    0x88f6, // MMRP
    0x88f7, // PTP
    0x88fb, // PRP
    0x8902, // CFM
    0x8906, // FCoE
    0x8914, // FIP
    0x893a, // 1905.1
    0x9000, // loopback
    0x88d9, // LLTD
    0x8899, // Realtek
    0x0800, // (IPv4 never lands here; listed for completeness)
];

impl DecodeStats {
    /// Frames that may hold TCP connlint could not see, by what they were,
    /// most first: unsupported link types, ethertypes not known to be
    /// something else, ESP, tunnels nested too deep, fragments of datagrams
    /// that never completed. `(count, description)`.
    pub fn undecoded(&self) -> Vec<(u64, String)> {
        let mut v: Vec<(u64, String)> = Vec::new();
        for (lt, n) in &self.unsupported_link {
            v.push((
                *n,
                format!(
                    "frame{} on unsupported link type {}",
                    plural(*n),
                    crate::capture::LinkType(*lt)
                ),
            ));
        }
        for (et, n) in &self.non_ip_ethertypes {
            if !NEVER_TCP_ETHERTYPES.contains(et) {
                v.push((*n, format!("frame{} with ethertype 0x{et:04x}", plural(*n))));
            }
        }
        if self.esp > 0 {
            v.push((
                self.esp,
                format!("ESP packet{} (encrypted)", plural(self.esp)),
            ));
        }
        if self.tunnel_too_deep > 0 {
            v.push((
                self.tunnel_too_deep,
                format!(
                    "frame{} with more than {MAX_TUNNEL_LAYERS} tunnel layers",
                    plural(self.tunnel_too_deep)
                ),
            ));
        }
        if self.fragments_incomplete > 0 {
            v.push((
                self.fragments_incomplete,
                format!(
                    "IP fragment{} of datagrams never completed",
                    plural(self.fragments_incomplete)
                ),
            ));
        }
        v.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        v
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Decodes frames into TCP segments; keeps the IP fragment buffers and the
/// tunnels seen.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Fragments of the outermost datagrams (and of inner ones whose tunnel
    /// packet was not itself reassembled), and of inner datagrams inside a
    /// reassembled one.
    fragments: [FragmentTable; 2],
    /// The tunnel layers of the frame being decoded.
    path: TunnelPath,
    tunnels: TunnelTable,
    options: TunnelOptions,
    pub stats: DecodeStats,
}

/// Why a frame yielded no segment, for the stats.
enum Skip {
    NonTcp(u8),
    NonIp(u16),
    Unsupported(u32),
    Malformed,
    Esp,
    TooDeep,
    /// Held for reassembly or dropped; already counted.
    Fragment,
}

impl From<Stop> for Skip {
    fn from(stop: Stop) -> Skip {
        match stop {
            Stop::NonTcp(p) => Skip::NonTcp(p),
            Stop::Esp => Skip::Esp,
            Stop::TooDeep => Skip::TooDeep,
            Stop::Malformed => Skip::Malformed,
            Stop::NotIp(et) => Skip::NonIp(et),
        }
    }
}

fn bump<K: Ord>(map: &mut BTreeMap<K, u64>, key: K) {
    let count = map.entry(key).or_insert(0);
    *count = count.saturating_add(1);
}

impl Decoder {
    pub fn new(limits: FragmentLimits) -> Decoder {
        Decoder::with_tunnels(limits, TunnelOptions::default())
    }

    pub fn with_tunnels(limits: FragmentLimits, options: TunnelOptions) -> Decoder {
        Decoder {
            fragments: [FragmentTable::new(limits), FragmentTable::new(limits)],
            path: TunnelPath::default(),
            tunnels: TunnelTable::default(),
            options,
            stats: DecodeStats::default(),
        }
    }

    /// Decodes one frame. The returned segment may borrow from `self` (a
    /// reassembled datagram), so it must be consumed before the next call.
    ///
    /// Never fails and never panics: what is not a readable TCP segment is
    /// counted in [`Decoder::stats`] and returned as [`Decoded::Skipped`].
    /// Allocates only when IP fragments are being reassembled, and once per
    /// new tunnel.
    pub fn decode<'a>(&'a mut self, frame: &Frame<'a>) -> Decoded<'a> {
        self.decode_tunnelled(frame).0
    }

    /// [`Decoder::decode`], with the tunnel the segment came through
    /// ([`Tunnel::NONE`] for untunnelled traffic and skipped frames).
    pub fn decode_tunnelled<'a>(&'a mut self, frame: &Frame<'a>) -> (Decoded<'a>, Tunnel<'a>) {
        let Decoder {
            fragments,
            path,
            tunnels,
            options,
            stats,
        } = self;
        stats.frames = stats.frames.saturating_add(1);
        let result = decode_frame(fragments, stats, path, frame);
        let tunnelled = !path.is_empty();
        if tunnelled {
            for layer in path.layers() {
                bump(&mut stats.tunnels, layer.kind);
            }
        }
        match result {
            Ok(segment) => {
                stats.tcp_segments = stats.tcp_segments.saturating_add(1);
                if !tunnelled {
                    return (Decoded::Tcp(segment), Tunnel::NONE);
                }
                let key = if options.merge {
                    0
                } else {
                    let key = tunnels.intern(path, options.max_tunnels);
                    stats.tunnels_over_limit = tunnels.over_limit;
                    key
                };
                let path: &'a TunnelPath = path;
                (
                    Decoded::Tcp(segment),
                    Tunnel {
                        path: Some(path),
                        key,
                    },
                )
            }
            Err(skip) => {
                match skip {
                    Skip::NonTcp(protocol) => {
                        stats.non_tcp = stats.non_tcp.saturating_add(1);
                        bump(&mut stats.non_tcp_protocols, protocol);
                    }
                    Skip::NonIp(ethertype) => {
                        stats.non_ip = stats.non_ip.saturating_add(1);
                        if ethertype != link::NO_ETHERTYPE {
                            bump(&mut stats.non_ip_ethertypes, ethertype);
                        }
                    }
                    Skip::Malformed => stats.malformed = stats.malformed.saturating_add(1),
                    Skip::Esp => stats.esp = stats.esp.saturating_add(1),
                    Skip::TooDeep => {
                        stats.tunnel_too_deep = stats.tunnel_too_deep.saturating_add(1)
                    }
                    Skip::Unsupported(link_type) => bump(&mut stats.unsupported_link, link_type),
                    Skip::Fragment => {}
                }
                (Decoded::Skipped, Tunnel::NONE)
            }
        }
    }

    /// Ends the capture: datagrams still waiting for fragments will not
    /// complete, so they are dropped and counted in `fragments_dropped`
    /// and `fragments_incomplete`.
    pub fn finish(&mut self) {
        let Decoder {
            fragments, stats, ..
        } = self;
        for table in fragments.iter_mut() {
            table.clear();
            take_drops(table, stats);
        }
    }
}

/// Moves what a fragment table dropped since last asked into the stats.
fn take_drops(table: &mut FragmentTable, stats: &mut DecodeStats) {
    let dropped = std::mem::take(&mut table.dropped);
    let drops: Drops = std::mem::take(&mut table.drops);
    stats.fragments_dropped = stats.fragments_dropped.saturating_add(dropped);
    stats.fragments_incomplete = stats.fragments_incomplete.saturating_add(drops.incomplete);
    stats.fragments_over_limit = stats.fragments_over_limit.saturating_add(drops.over_limit);
    stats.fragments_invalid = stats.fragments_invalid.saturating_add(drops.invalid);
    stats.fragment_datagram_limit_hits = stats
        .fragment_datagram_limit_hits
        .saturating_add(drops.datagram_limit_hits);
    stats.fragment_byte_limit_hits = stats
        .fragment_byte_limit_hits
        .saturating_add(drops.byte_limit_hits);
}

#[inline(always)]
fn decode_frame<'a>(
    fragments: &'a mut [FragmentTable; 2],
    stats: &mut DecodeStats,
    path: &mut TunnelPath,
    frame: &Frame<'a>,
) -> Result<TcpSegment<'a>, Skip> {
    path.clear();
    // Bytes of the frame the snaplen left out; IP lengths are believed up to
    // the frame's length on the wire, not beyond.
    let cut = usize::try_from(frame.orig_len)
        .unwrap_or(usize::MAX)
        .saturating_sub(frame.data.len());
    // The common case, plain TCP over IP, without the loop over layers.
    let packet = match link::network(frame.link_type, frame.data) {
        Network::Ipv4(bytes) => ip::ipv4(bytes, cut),
        Network::Ipv6(bytes) => ip::ipv6(bytes, cut),
        other => return layers(fragments, stats, path, frame, Step::Net(other, cut)),
    };
    if let Ip::Tcp { .. } = packet {
        return segment(frame, packet);
    }
    layers(fragments, stats, path, frame, Step::Ip(packet))
}

/// Where the walk through a frame's layers stands.
enum Step<'a> {
    /// A link-layer payload (or a tunnel's), with the bytes the snaplen cut
    /// from its end.
    Net(Network<'a>, usize),
    Ip(Ip<'a>),
}

/// Rounds of [`layers`] before giving up: each round either ends the walk,
/// peels a tunnel layer (at most [`MAX_TUNNEL_LAYERS`]), parses an IP
/// header after one, or completes a datagram (at most twice).
const MAX_ROUNDS: usize = 4 * MAX_TUNNEL_LAYERS + 8;

/// Everything but plain TCP: tunnels, fragments, and what is skipped.
#[inline(never)]
fn layers<'a>(
    fragments: &'a mut [FragmentTable; 2],
    stats: &mut DecodeStats,
    path: &mut TunnelPath,
    frame: &Frame<'a>,
    mut step: Step<'a>,
) -> Result<TcpSegment<'a>, Skip> {
    let [outer, inner] = fragments;
    // Fragment tables not yet used for this frame: the first for fragments
    // before any reassembly, the second for fragments inside a datagram
    // reassembled from the first (whose bytes the first then holds).
    let mut tables: [Option<&'a mut FragmentTable>; 2] = [Some(outer), Some(inner)];
    let mut reassembled = 0usize;
    for _ in 0..MAX_ROUNDS {
        step = match step {
            Step::Net(network, cut) => match network {
                Network::Ipv4(bytes) => Step::Ip(ip::ipv4(bytes, cut)),
                Network::Ipv6(bytes) => Step::Ip(ip::ipv6(bytes, cut)),
                Network::Mpls(bytes) => Step::Net(encap::mpls(bytes, path)?, cut),
                Network::Cmd(bytes) => Step::Net(encap::cmd(bytes, path)?, cut),
                Network::NotIp(ethertype) => return Err(Skip::NonIp(ethertype)),
                Network::Unsupported(link_type) => return Err(Skip::Unsupported(link_type)),
                Network::Malformed => return Err(Skip::Malformed),
            },
            Step::Ip(packet) => match packet {
                Ip::Tcp { .. } => return segment(frame, packet),
                Ip::Other {
                    src,
                    dst,
                    protocol,
                    captured,
                    claimed,
                } => {
                    let cut = claimed.saturating_sub(captured.len());
                    Step::Net(encap::over_ip(protocol, src, dst, captured, path)?, cut)
                }
                Ip::OtherFragment { protocol } => return Err(Skip::NonTcp(protocol)),
                Ip::Malformed => return Err(Skip::Malformed),
                Ip::CutFragment { key } => {
                    stats.fragments = stats.fragments.saturating_add(1);
                    let key = in_tunnel(key, path);
                    match tables.get_mut(reassembled).and_then(Option::take) {
                        Some(table) => {
                            table.discard(&key);
                            take_drops(table, stats);
                        }
                        None => count_lost_fragment(stats),
                    }
                    return Err(Skip::Fragment);
                }
                Ip::Fragment { key, fragment } => {
                    stats.fragments = stats.fragments.saturating_add(1);
                    let key = in_tunnel(key, path);
                    let Some(table) = tables.get_mut(reassembled).and_then(Option::take) else {
                        // A fragment inside a datagram itself reassembled
                        // from fragments inside another: not kept.
                        count_lost_fragment(stats);
                        return Err(Skip::Fragment);
                    };
                    let result = table.insert(key, frame.ts, fragment);
                    take_drops(table, stats);
                    match result {
                        Reassembly::Held | Reassembly::Dropped => return Err(Skip::Fragment),
                        Reassembly::Complete { next_header } => {
                            stats.fragments_reassembled =
                                stats.fragments_reassembled.saturating_add(1);
                            reassembled = reassembled.saturating_add(1);
                            let table: &'a FragmentTable = table;
                            let ipv6 = key.protocol == FragmentKey::IPV6;
                            Step::Ip(ip::reassembled(
                                key.src,
                                key.dst,
                                ipv6,
                                next_header,
                                table.completed(),
                            ))
                        }
                    }
                }
            },
        };
    }
    Err(Skip::TooDeep)
}

/// A fragment that no table can take.
fn count_lost_fragment(stats: &mut DecodeStats) {
    stats.fragments_dropped = stats.fragments_dropped.saturating_add(1);
    stats.fragments_invalid = stats.fragments_invalid.saturating_add(1);
}

/// The fragment key, told apart by the tunnel the fragment came through.
fn in_tunnel(mut key: FragmentKey, path: &TunnelPath) -> FragmentKey {
    if !path.is_empty() {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        path.layers().hash(&mut h);
        key.tunnel = h.finish() | 1;
    }
    key
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
        return Err(Skip::Malformed);
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
