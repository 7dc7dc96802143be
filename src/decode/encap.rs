//! Tunnels: from an encapsulating header to what it carries.
//!
//! Each function reads one encapsulation from its documented layout,
//! records the layer in the frame's [`TunnelPath`], and returns the carried
//! packet as a [`Network`] for the decoder's next round: IP, Ethernet
//! (through [`link::ethernet`], so VLAN tags and further tunnels inside are
//! peeled the same way), PPP, or an MPLS stack.
//!
//! - VXLAN (RFC 7348 §5): UDP to 4789 (or Linux's old default 8472); flags
//!   with the I bit, 3 reserved bytes, a 24-bit VNI, a reserved byte; then
//!   Ethernet.
//! - GENEVE (RFC 8926 §3): UDP to 6081; version 0 and the options' length
//!   in 4-byte words, flags, a protocol type (an ethertype, 0x6558 for
//!   Ethernet), the VNI, a reserved byte, the options; then the payload.
//! - GRE (RFC 2784, RFC 2890): flags C, R, K, S and the version, a protocol
//!   type; a checksum word when C, a key when K, a sequence number when S.
//!   The routing of RFC 1701 (R) is obsolete and not read. Version 1 is
//!   PPTP's enhanced GRE (RFC 2637 §4.1): a key of payload length and call
//!   id, optional sequence and acknowledgement numbers, then PPP.
//! - ERSPAN (draft-foschiano-erspan-03): GRE 0x88be with a sequence number
//!   is type II (an 8-byte header: version 1, VLAN, COS, encapsulation,
//!   truncation, a 10-bit session id, an index), without one type I (no
//!   header); GRE 0x22eb is type III (a 12-byte header: version 2, VLAN,
//!   COS, BSO, T, the session id, a timestamp, SGT, P, frame type,
//!   hardware id, direction, granularity, and O for an 8-byte platform
//!   sub-header). Then Ethernet (frame type 0) or IP (frame type 2).
//! - NVGRE (RFC 7637 §3.2): GRE with only the key flag and protocol 0x6558;
//!   the key is a 24-bit VSID and an 8-bit flow id.
//! - IP in IP: IPv4 protocol 4 or 41, IPv6 next header 4 or 41 (RFC 2003,
//!   RFC 4213, RFC 2473).
//! - MPLS (RFC 3032): 4-byte label stack entries (20-bit label, TC, bottom
//!   of stack, TTL) to the bottom; then IPv4 or IPv6 by the version nibble,
//!   or a pseudowire control word (first nibble 0, RFC 4385) before an
//!   Ethernet frame, or (any other nibble) an Ethernet pseudowire without
//!   one.
//! - L2TPv2 (RFC 2661 §3.1): UDP 1701 either way; flags T L S O P and
//!   version 2, an optional length, tunnel and session ids, optional Ns/Nr,
//!   an optional offset; then a PPP frame. Control messages (T) carry no
//!   user traffic.
//! - Cisco MetaData (ethertype 0x8909): version, length, an option header,
//!   the 16-bit SGT, then the carried ethertype.
//! - ESP (protocol 50) is encrypted: counted, never opened.

use super::link::{self, Network, NO_ETHERTYPE};
use super::tcp::be16;
use super::tunnel::{TooDeep, TunnelKind, TunnelPath};
use std::net::IpAddr;

/// Why a tunnel led nowhere, for the decoder's stats.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Another IP protocol, or UDP that is not a tunnel: counted by number.
    NonTcp(u8),
    /// ESP: encrypted.
    Esp,
    /// More layers than the bound.
    TooDeep,
    /// Too short or inconsistent.
    Malformed,
    /// A GRE protocol or tunnel payload that is not IP, by ethertype.
    NotIp(u16),
}

impl From<TooDeep> for Stop {
    fn from(_: TooDeep) -> Stop {
        Stop::TooDeep
    }
}

const IPIP: u8 = 4;
const UDP: u8 = 17;
const IPV6_IN_IP: u8 = 41;
const GRE: u8 = 47;
const ESP: u8 = 50;

pub(crate) const VXLAN_PORT: u16 = 4789;
pub(crate) const VXLAN_LINUX_PORT: u16 = 8472;
pub(crate) const GENEVE_PORT: u16 = 6081;
pub(crate) const L2TP_PORT: u16 = 1701;

const ETHERTYPE_TEB: u16 = 0x6558;
const GRE_ERSPAN_2: u16 = 0x88be;
const GRE_ERSPAN_3: u16 = 0x22eb;
const GRE_PPP: u16 = 0x880b;
const GRE_WCCP: u16 = 0x883e;

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    match bytes.get(at..at.checked_add(4)?) {
        Some(&[a, b, c, d]) => Some(u32::from_be_bytes([a, b, c, d])),
        _ => None,
    }
}

/// What an IP packet of `protocol` from `src` to `dst` carries, when it is
/// a tunnel; `payload` is its bytes after the IP header(s).
pub(crate) fn over_ip<'a>(
    protocol: u8,
    src: IpAddr,
    dst: IpAddr,
    payload: &'a [u8],
    path: &mut TunnelPath,
) -> Result<Network<'a>, Stop> {
    let outer = Some((src, dst));
    match protocol {
        IPIP | IPV6_IN_IP => {
            let kind = match (src.is_ipv4(), protocol == IPIP) {
                (true, true) => TunnelKind::Ipip,
                (true, false) => TunnelKind::Sit,
                (false, true) => TunnelKind::Ip4in6,
                (false, false) => TunnelKind::Ip6in6,
            };
            path.push(kind, None, outer)?;
            Ok(if protocol == IPIP {
                Network::Ipv4(payload)
            } else {
                Network::Ipv6(payload)
            })
        }
        GRE => gre(payload, outer, path),
        UDP => udp(payload, outer, path),
        ESP => Err(Stop::Esp),
        other => Err(Stop::NonTcp(other)),
    }
}

/// UDP: a tunnel when the port says so and the header agrees; else plain
/// UDP.
fn udp<'a>(
    datagram: &'a [u8],
    outer: Option<(IpAddr, IpAddr)>,
    path: &mut TunnelPath,
) -> Result<Network<'a>, Stop> {
    let (Some(_), Some(body)) = (datagram.get(..4), datagram.get(8..)) else {
        return Err(Stop::NonTcp(UDP));
    };
    let (sport, dport) = (be16(datagram, 0), be16(datagram, 2));
    match dport {
        VXLAN_PORT | VXLAN_LINUX_PORT => vxlan(body, outer, path),
        GENEVE_PORT => geneve(body, outer, path),
        _ if dport == L2TP_PORT || sport == L2TP_PORT => l2tp(body, outer, path),
        _ => Err(Stop::NonTcp(UDP)),
    }
}

/// VXLAN: the I flag must be set for the VNI to be valid (RFC 7348 §5);
/// a datagram without it is not VXLAN data.
fn vxlan<'a>(
    body: &'a [u8],
    outer: Option<(IpAddr, IpAddr)>,
    path: &mut TunnelPath,
) -> Result<Network<'a>, Stop> {
    let (Some(&flags), Some(vni), Some(frame)) = (body.first(), be32(body, 4), body.get(8..))
    else {
        return Err(Stop::NonTcp(UDP));
    };
    if flags & 0x08 == 0 {
        return Err(Stop::NonTcp(UDP));
    }
    path.push(TunnelKind::Vxlan, Some(vni >> 8), outer)?;
    Ok(link::ethernet(frame))
}

/// GENEVE: version 0 only (another version's layout is unknown).
fn geneve<'a>(
    body: &'a [u8],
    outer: Option<(IpAddr, IpAddr)>,
    path: &mut TunnelPath,
) -> Result<Network<'a>, Stop> {
    let (Some(&first), Some(vni)) = (body.first(), be32(body, 4)) else {
        return Err(Stop::NonTcp(UDP));
    };
    if first >> 6 != 0 {
        return Err(Stop::NonTcp(UDP));
    }
    let options = usize::from(first & 0x3f).saturating_mul(4);
    let protocol = be16(body, 2);
    path.push(TunnelKind::Geneve, Some(vni >> 8), outer)?;
    let Some(payload) = body.get(options.saturating_add(8)..) else {
        return Err(Stop::Malformed);
    };
    Ok(match protocol {
        ETHERTYPE_TEB => link::ethernet(payload),
        other => link::by_ethertype(other, payload),
    })
}

/// L2TPv2 data messages, carrying PPP.
fn l2tp<'a>(
    body: &'a [u8],
    outer: Option<(IpAddr, IpAddr)>,
    path: &mut TunnelPath,
) -> Result<Network<'a>, Stop> {
    if body.len() < 2 {
        return Err(Stop::NonTcp(UDP));
    }
    let flags = be16(body, 0);
    if flags & 0x000f != 2 || flags & 0x8000 != 0 {
        // Another version (L2TPv3 over UDP, L2F), or a control message.
        return Err(Stop::NonTcp(UDP));
    }
    let mut at = 2usize;
    if flags & 0x4000 != 0 {
        at = at.saturating_add(2);
    }
    let Some(_) = body.get(at..at.saturating_add(4)) else {
        return Err(Stop::Malformed);
    };
    let (tunnel, session) = (be16(body, at), be16(body, at.saturating_add(2)));
    at = at.saturating_add(4);
    if flags & 0x0800 != 0 {
        at = at.saturating_add(4);
    }
    if flags & 0x0200 != 0 {
        let Some(_) = body.get(at..at.saturating_add(2)) else {
            return Err(Stop::Malformed);
        };
        at = at
            .saturating_add(2)
            .saturating_add(usize::from(be16(body, at)));
    }
    path.push(
        TunnelKind::L2tp,
        Some(u32::from(tunnel) << 16 | u32::from(session)),
        outer,
    )?;
    match body.get(at..) {
        Some(ppp) => Ok(link::ppp_with_address(ppp)),
        None => Err(Stop::Malformed),
    }
}

const GRE_C: u16 = 0x8000;
const GRE_R: u16 = 0x4000;
const GRE_K: u16 = 0x2000;
const GRE_S: u16 = 0x1000;
/// Acknowledgement number present (version 1).
const GRE_A: u16 = 0x0080;

/// GRE, versions 0 and 1.
fn gre<'a>(
    packet: &'a [u8],
    outer: Option<(IpAddr, IpAddr)>,
    path: &mut TunnelPath,
) -> Result<Network<'a>, Stop> {
    if packet.len() < 4 {
        return Err(Stop::Malformed);
    }
    let flags = be16(packet, 0);
    let protocol = be16(packet, 2);
    let version = flags & 0x7;
    if flags & GRE_R != 0 || version > 1 {
        return Err(Stop::Malformed);
    }
    let mut at = 4usize;
    if flags & GRE_C != 0 {
        at = at.saturating_add(4);
    }
    let key = if flags & GRE_K != 0 {
        let key = be32(packet, at).ok_or(Stop::Malformed)?;
        at = at.saturating_add(4);
        Some(key)
    } else {
        None
    };
    let sequenced = flags & GRE_S != 0;
    if sequenced {
        at = at.saturating_add(4);
    }
    if version == 1 {
        if flags & GRE_A != 0 {
            at = at.saturating_add(4);
        }
        let (Some(key), GRE_PPP) = (key, protocol) else {
            return Err(Stop::Malformed);
        };
        path.push(TunnelKind::Pptp, Some(key & 0xffff), outer)?;
        return match packet.get(at..) {
            Some(ppp) => Ok(link::ppp_with_address(ppp)),
            None => Err(Stop::Malformed),
        };
    }
    let payload = packet.get(at..).ok_or(Stop::Malformed)?;
    match protocol {
        ETHERTYPE_TEB if key.is_some() && flags & (GRE_C | GRE_S) == 0 => {
            path.push(TunnelKind::Nvgre, key.map(|k| k >> 8), outer)?;
            Ok(link::ethernet(payload))
        }
        ETHERTYPE_TEB => {
            path.push(TunnelKind::Gre, key, outer)?;
            Ok(link::ethernet(payload))
        }
        GRE_ERSPAN_2 if !sequenced => {
            path.push(TunnelKind::Erspan1, None, outer)?;
            Ok(link::ethernet(payload))
        }
        GRE_ERSPAN_2 => {
            let (Some(&first), Some(frame)) = (payload.first(), payload.get(8..)) else {
                return Err(Stop::Malformed);
            };
            if first >> 4 != 1 {
                return Err(Stop::Malformed);
            }
            let session = u32::from(be16(payload, 2) & 0x03ff);
            path.push(TunnelKind::Erspan2, Some(session), outer)?;
            Ok(link::ethernet(frame))
        }
        GRE_ERSPAN_3 => {
            let (Some(&first), Some(_)) = (payload.first(), payload.get(..12)) else {
                return Err(Stop::Malformed);
            };
            if first >> 4 != 2 {
                return Err(Stop::Malformed);
            }
            let session = u32::from(be16(payload, 2) & 0x03ff);
            let tail = be16(payload, 10);
            let frame_type = (tail >> 10) & 0x1f;
            let header = if tail & 0x1 != 0 { 20 } else { 12 };
            path.push(TunnelKind::Erspan3, Some(session), outer)?;
            let frame = payload.get(header..).ok_or(Stop::Malformed)?;
            match frame_type {
                0 => Ok(link::ethernet(frame)),
                2 => Ok(link::by_version(frame)),
                _ => Err(Stop::NotIp(NO_ETHERTYPE)),
            }
        }
        GRE_WCCP => {
            // A 4-byte WCCP redirect header, then the redirected IPv4 packet.
            path.push(TunnelKind::Gre, key, outer)?;
            payload.get(4..).map(Network::Ipv4).ok_or(Stop::Malformed)
        }
        other => {
            path.push(TunnelKind::Gre, key, outer)?;
            Ok(link::by_ethertype(other, payload))
        }
    }
}

/// An MPLS label stack, to the entry with the bottom-of-stack bit, then
/// its payload guessed from the first nibble as Wireshark and tcpdump do.
pub(crate) fn mpls<'a>(stack: &'a [u8], path: &mut TunnelPath) -> Result<Network<'a>, Stop> {
    let mut at = 0usize;
    loop {
        let entry = be32(stack, at).ok_or(Stop::Malformed)?;
        path.push(TunnelKind::Mpls, Some(entry >> 12), None)?;
        at = at.saturating_add(4);
        if entry & 0x100 != 0 {
            break;
        }
    }
    let payload = stack.get(at..).ok_or(Stop::Malformed)?;
    Ok(match payload.first().map(|b| b >> 4) {
        Some(4) => Network::Ipv4(payload),
        Some(6) => Network::Ipv6(payload),
        // A pseudowire control word (RFC 4385), then the emulated Ethernet.
        Some(0) => payload.get(4..).map_or(Network::Malformed, link::ethernet),
        // The pseudowire associated channel (RFC 4385 §5): OAM, not traffic.
        Some(1) => Network::NotIp(NO_ETHERTYPE),
        Some(_) => link::ethernet(payload),
        None => Network::Malformed,
    })
}

/// Cisco MetaData: 6 bytes (version, length, option, SGT), the carried
/// ethertype, then its payload.
pub(crate) fn cmd<'a>(header: &'a [u8], path: &mut TunnelPath) -> Result<Network<'a>, Stop> {
    let (Some(_), Some(rest)) = (header.get(..8), header.get(8..)) else {
        return Err(Stop::Malformed);
    };
    path.push(TunnelKind::Cmd, Some(u32::from(be16(header, 4))), None)?;
    Ok(link::by_ethertype(be16(header, 6), rest))
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const OUTER: (IpAddr, IpAddr) = (
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
    );
    const IP4: [u8; 2] = [0x45, 0x00];

    fn eth_ip4() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&IP4);
        f
    }

    fn udp(dport: u16, body: &[u8]) -> Vec<u8> {
        let mut d = vec![0xc0, 0x00];
        d.extend_from_slice(&dport.to_be_bytes());
        d.extend_from_slice(&[0, 0, 0, 0]);
        d.extend_from_slice(body);
        d
    }

    #[test]
    fn vxlan_needs_the_i_flag() {
        let mut body = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        body.extend(eth_ip4());
        let mut path = TunnelPath::default();
        let d = udp(4789, &body);
        assert_eq!(
            over_ip(UDP, OUTER.0, OUTER.1, &d, &mut path),
            Ok(Network::Ipv4(&IP4))
        );
        assert_eq!(path.to_string(), "vxlan vni 42 192.0.2.1->192.0.2.2");
        body[0] = 0;
        let d = udp(4789, &body);
        assert_eq!(
            over_ip(UDP, OUTER.0, OUTER.1, &d, &mut TunnelPath::default()),
            Err(Stop::NonTcp(UDP))
        );
        let dns = udp(53, &body);
        assert_eq!(
            over_ip(UDP, OUTER.0, OUTER.1, &dns, &mut TunnelPath::default()),
            Err(Stop::NonTcp(UDP))
        );
    }

    #[test]
    fn geneve_skips_options_and_reads_ip_or_ethernet() {
        // 2 words of options, protocol IPv4, VNI 7.
        let mut body = vec![0x02, 0x00, 0x08, 0x00, 0, 0, 7, 0];
        body.extend_from_slice(&[0x01, 0x08, 0x01, 0x01, 0xaa, 0xbb, 0xcc, 0xdd]);
        body.extend_from_slice(&IP4);
        let d = udp(6081, &body);
        let mut path = TunnelPath::default();
        assert_eq!(
            over_ip(UDP, OUTER.0, OUTER.1, &d, &mut path),
            Ok(Network::Ipv4(&IP4))
        );
        assert_eq!(path.to_string(), "geneve vni 7 192.0.2.1->192.0.2.2");
        let mut teb = vec![0x00, 0x00, 0x65, 0x58, 0, 1, 0, 0];
        teb.extend(eth_ip4());
        let d = udp(6081, &teb);
        assert_eq!(
            over_ip(UDP, OUTER.0, OUTER.1, &d, &mut TunnelPath::default()),
            Ok(Network::Ipv4(&IP4))
        );
        // Options longer than the packet.
        let d = udp(6081, &[0x3f, 0, 0x08, 0, 0, 0, 1, 0]);
        assert_eq!(
            over_ip(UDP, OUTER.0, OUTER.1, &d, &mut TunnelPath::default()),
            Err(Stop::Malformed)
        );
    }

    #[test]
    fn gre_with_checksum_key_and_sequence() {
        let mut g = vec![0xb0, 0x00, 0x08, 0x00];
        g.extend_from_slice(&[0xde, 0xad, 0, 0]); // checksum, reserved
        g.extend_from_slice(&5u32.to_be_bytes()); // key
        g.extend_from_slice(&9u32.to_be_bytes()); // sequence
        g.extend_from_slice(&IP4);
        let mut path = TunnelPath::default();
        assert_eq!(
            over_ip(GRE, OUTER.0, OUTER.1, &g, &mut path),
            Ok(Network::Ipv4(&IP4))
        );
        assert_eq!(path.to_string(), "gre key 5 192.0.2.1->192.0.2.2");
        // Routing present (RFC 1701) and versions above 1 are not read.
        g[0] = 0x40;
        assert_eq!(
            over_ip(GRE, OUTER.0, OUTER.1, &g, &mut TunnelPath::default()),
            Err(Stop::Malformed)
        );
        let unknown = [0x00, 0x00, 0x12, 0x34, 1, 2, 3];
        assert_eq!(
            over_ip(GRE, OUTER.0, OUTER.1, &unknown, &mut TunnelPath::default()),
            Ok(Network::NotIp(0x1234))
        );
    }

    #[test]
    fn erspan_types_one_two_three() {
        let mut one = vec![0x00, 0x00, 0x88, 0xbe];
        one.extend(eth_ip4());
        let mut path = TunnelPath::default();
        assert_eq!(
            over_ip(GRE, OUTER.0, OUTER.1, &one, &mut path),
            Ok(Network::Ipv4(&IP4))
        );
        assert_eq!(path.layers()[0].kind, TunnelKind::Erspan1);
        let mut two = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1];
        two.extend_from_slice(&[0x10, 0x64, 0x01, 0x23, 0, 0, 0, 0]); // session 0x123
        two.extend(eth_ip4());
        let mut path = TunnelPath::default();
        assert_eq!(
            over_ip(GRE, OUTER.0, OUTER.1, &two, &mut path),
            Ok(Network::Ipv4(&IP4))
        );
        assert_eq!(path.to_string(), "erspan2 session 291 192.0.2.1->192.0.2.2");
        // Type III with the platform sub-header and an IP frame type.
        let mut three = vec![0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1];
        three.extend_from_slice(&[0x20, 0x00, 0x00, 0x07, 1, 2, 3, 4, 0, 0]);
        three.extend_from_slice(&((2u16 << 10) | 1).to_be_bytes());
        three.extend_from_slice(&[0u8; 8]);
        three.extend_from_slice(&IP4);
        let mut path = TunnelPath::default();
        assert_eq!(
            over_ip(GRE, OUTER.0, OUTER.1, &three, &mut path),
            Ok(Network::Ipv4(&IP4))
        );
        assert_eq!(path.to_string(), "erspan3 session 7 192.0.2.1->192.0.2.2");
    }

    #[test]
    fn mpls_stack_to_ip_or_pseudowire() {
        let mut s = Vec::new();
        s.extend_from_slice(&((16u32 << 12) | 64).to_be_bytes());
        s.extend_from_slice(&((17u32 << 12) | 0x100 | 64).to_be_bytes());
        s.extend_from_slice(&IP4);
        let mut path = TunnelPath::default();
        assert_eq!(mpls(&s, &mut path), Ok(Network::Ipv4(&IP4)));
        assert_eq!(path.to_string(), "mpls label 16/17");
        let mut pw = ((20u32 << 12) | 0x100).to_be_bytes().to_vec();
        pw.extend_from_slice(&[0, 0, 0, 0]);
        pw.extend(eth_ip4());
        assert_eq!(
            mpls(&pw, &mut TunnelPath::default()),
            Ok(Network::Ipv4(&IP4))
        );
        // No bottom of stack before the end.
        assert_eq!(
            mpls(&s[..4], &mut TunnelPath::default()),
            Err(Stop::Malformed)
        );
        // A stack deeper than the bound.
        let deep: Vec<u8> = (0..9).flat_map(|_| (16u32 << 12).to_be_bytes()).collect();
        assert_eq!(mpls(&deep, &mut TunnelPath::default()), Err(Stop::TooDeep));
    }

    #[test]
    fn l2tp_data_with_length_sequence_and_offset() {
        // T=0 L=1 S=1 O=1, version 2
        let mut body = vec![0x4a, 0x02, 0, 0, 0, 3, 0, 9, 0, 0, 0, 0, 0, 2, 0xee, 0xee];
        body.extend_from_slice(&[0xff, 0x03, 0x00, 0x21]);
        body.extend_from_slice(&IP4);
        let d = udp(1701, &body);
        let mut path = TunnelPath::default();
        assert_eq!(
            over_ip(UDP, OUTER.0, OUTER.1, &d, &mut path),
            Ok(Network::Ipv4(&IP4))
        );
        assert_eq!(
            path.to_string(),
            "l2tp tunnel 3 session 9 192.0.2.1->192.0.2.2"
        );
        let control = udp(1701, &[0xc8, 0x02, 0, 12, 0, 0, 0, 0]);
        assert_eq!(
            over_ip(UDP, OUTER.0, OUTER.1, &control, &mut TunnelPath::default()),
            Err(Stop::NonTcp(UDP))
        );
    }

    #[test]
    fn cmd_then_ethertype() {
        let mut h = vec![0x01, 0x01, 0x00, 0x01, 0x00, 0x64, 0x08, 0x00];
        h.extend_from_slice(&IP4);
        let mut path = TunnelPath::default();
        assert_eq!(cmd(&h, &mut path), Ok(Network::Ipv4(&IP4)));
        assert_eq!(path.to_string(), "cmd sgt 100");
        assert_eq!(cmd(&h[..7], &mut path), Err(Stop::Malformed));
    }

    #[test]
    fn pptp_enhanced_gre() {
        // K and S set, version 1, PPP; payload length 4, call id 7, sequence.
        let mut g = vec![0x30, 0x01, 0x88, 0x0b, 0, 4, 0, 7, 0, 0, 0, 1];
        g.extend_from_slice(&[0xff, 0x03, 0x00, 0x21]);
        g.extend_from_slice(&IP4);
        let mut path = TunnelPath::default();
        assert_eq!(
            over_ip(GRE, OUTER.0, OUTER.1, &g, &mut path),
            Ok(Network::Ipv4(&IP4))
        );
        assert_eq!(path.to_string(), "pptp call 7 192.0.2.1->192.0.2.2");
    }

    #[test]
    fn esp_is_counted_not_opened() {
        assert_eq!(
            over_ip(ESP, OUTER.0, OUTER.1, &[0; 40], &mut TunnelPath::default()),
            Err(Stop::Esp)
        );
    }
}
