//! Link layers: from the captured bytes to the IP packet they carry.
//!
//! Hand-written rather than sliced with etherparse: most of the link types
//! captures come in (BSD null/loopback, SLL2, PPPoE, Cisco HDLC, NFLOG,
//! 802.11, ARCNET) are not in etherparse at all, and the few that are cost a handful
//! of bounds checks here. Every function only looks at the bytes through
//! `get`, so a short or hostile frame ends in [`Network::Malformed`], never in
//! a panic.

use super::tcp::be16;
use crate::capture::LinkType;

/// What a link layer carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Network<'a> {
    /// The bytes from the IPv4 header on (possibly with link padding after it).
    Ipv4(&'a [u8]),
    /// The bytes from the IPv6 header on.
    Ipv6(&'a [u8]),
    /// An MPLS label stack (ethertype 0x8847/0x8848), from its first entry.
    Mpls(&'a [u8]),
    /// A Cisco MetaData header (ethertype 0x8909), from its version byte.
    Cmd(&'a [u8]),
    /// Something other than IP (ARP, LLDP, STP, 802.11 management, ...),
    /// with its ethertype, or [`NO_ETHERTYPE`] where the link names its
    /// payload otherwise.
    NotIp(u16),
    /// A link type connlint does not decode (possibly inside a PPI or
    /// PKTAP header).
    Unsupported(u32),
    /// Too short or inconsistent to tell what is inside.
    Malformed,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// 802.1Q customer tag.
const ETHERTYPE_VLAN: u16 = 0x8100;
/// 802.1ad service tag (QinQ outer tag).
const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Pre-standard QinQ outer tags some switches still send.
const ETHERTYPE_QINQ_OLD1: u16 = 0x9100;
const ETHERTYPE_QINQ_OLD2: u16 = 0x9200;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
/// Cisco MetaData (TrustSec SGT).
const ETHERTYPE_CMD: u16 = 0x8909;

/// Stands in for the ethertype of a non-IP payload a link names otherwise
/// (an LLC frame, a PPP protocol, an address family); ethertypes are at
/// least 0x0600, so it is never a real one.
pub(crate) const NO_ETHERTYPE: u16 = 0;

/// VLAN tags peeled before giving up. Real networks stack at most three
/// (QinQinQ); the cap only stops a frame of nothing but tags from being
/// walked to its end.
const MAX_VLAN_TAGS: usize = 8;

/// BSD address families for IPv4 and IPv6 as the various BSDs, macOS and
/// Linux number them (AF_INET6 is 24 on NetBSD/OpenBSD, 28 on FreeBSD,
/// 30 on macOS, 10 on Linux).
const AF_INET: u32 = 2;
const AF_INET6: [u32; 4] = [24, 28, 30, 10];

/// Finds the IP packet inside a frame of the given link type.
pub(crate) fn network(link_type: LinkType, data: &[u8]) -> Network<'_> {
    match link_type.0 {
        1 => ethernet(data),
        0 | 108 => bsd_loopback(data),
        101 | 12 | 14 => by_version(data),
        228 => Network::Ipv4(data),
        229 => Network::Ipv6(data),
        113 => linux_sll(data),
        276 => linux_sll2(data),
        104 => cisco_hdlc(data),
        239 => nflog(data),
        9 | 50 => ppp_with_address(data),
        105 => ieee802_11(data),
        127 => radiotap(data),
        7 => arcnet(data, false),
        129 => arcnet(data, true),
        51 => pppoe_session(data),
        117 => pflog(data),
        119 => prism(data),
        163 => avs(data),
        178 => juniper_ethernet(data),
        192 => ppi(data),
        219 => Network::Mpls(data),
        226 => ipnet(data),
        240 => data.get(4..).map_or(Network::Malformed, ethernet),
        241 => data.get(12..).map_or(Network::Malformed, ethernet),
        242 => ipoib(data),
        258 => pktap(data),
        other => Network::Unsupported(other),
    }
}

/// The link types a PPI or PKTAP header may wrap: any but those two, so
/// that a hostile frame cannot nest them without end.
fn wrapped(link_type: u32, data: &[u8]) -> Network<'_> {
    match link_type {
        192 | 258 => Network::Malformed,
        other => network(LinkType(other), data),
    }
}

/// Raw IP: the version nibble says which.
pub(crate) fn by_version(data: &[u8]) -> Network<'_> {
    match data.first().map(|b| b >> 4) {
        Some(4) => Network::Ipv4(data),
        Some(6) => Network::Ipv6(data),
        _ => Network::Malformed,
    }
}

/// Ethernet II (or 802.3 with LLC/SNAP): 6 + 6 address bytes, then an
/// ethertype or a length.
pub(crate) fn ethernet(data: &[u8]) -> Network<'_> {
    let Some(rest) = data.get(14..) else {
        return Network::Malformed;
    };
    let type_or_len = be16(data, 12);
    if type_or_len < 0x0600 {
        // 802.3 length field: the frame is LLC; only SNAP carries IP.
        return snap(rest);
    }
    by_ethertype(type_or_len, rest)
}

/// An ethertype and what follows it, peeling VLAN tags and PPPoE sessions.
/// Shared by every link layer that names its payload with an ethertype.
pub(crate) fn by_ethertype(mut ethertype: u16, mut rest: &[u8]) -> Network<'_> {
    for _ in 0..=MAX_VLAN_TAGS {
        match ethertype {
            ETHERTYPE_IPV4 => return Network::Ipv4(rest),
            ETHERTYPE_IPV6 => return Network::Ipv6(rest),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD1 | ETHERTYPE_QINQ_OLD2 => {
                // 2 bytes of tag control (priority, DEI, VLAN id), then the
                // ethertype of what the tag wraps.
                let Some(inner) = rest.get(4..) else {
                    return Network::Malformed;
                };
                ethertype = be16(rest, 2);
                rest = inner;
            }
            ETHERTYPE_PPPOE_SESSION => return pppoe_session(rest),
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MULTICAST => return Network::Mpls(rest),
            ETHERTYPE_CMD => return Network::Cmd(rest),
            other => return Network::NotIp(other),
        }
    }
    Network::Malformed
}

/// PPPoE session stage (RFC 2516): version/type, code, session id, length,
/// then a PPP frame without address and control bytes.
fn pppoe_session(data: &[u8]) -> Network<'_> {
    let (Some(&ver_type), Some(ppp)) = (data.first(), data.get(6..)) else {
        return Network::Malformed;
    };
    if ver_type != 0x11 {
        return Network::Malformed;
    }
    // The length field bounds the PPP frame; anything after it is link padding.
    let ppp = ppp.get(..usize::from(be16(data, 4))).unwrap_or(ppp);
    ppp_protocol(ppp)
}

/// A PPP protocol field (RFC 1661), one byte when compressed (odd first byte,
/// RFC 1661 §6.5) or two, then the datagram.
fn ppp_protocol(data: &[u8]) -> Network<'_> {
    let Some(&first) = data.first() else {
        return Network::Malformed;
    };
    let (protocol, rest) = if first & 1 == 1 {
        (u16::from(first), data.get(1..))
    } else {
        (be16(data, 0), data.get(2..))
    };
    let Some(rest) = rest else {
        return Network::Malformed;
    };
    match protocol {
        0x0021 => Network::Ipv4(rest),
        0x0057 => Network::Ipv6(rest),
        // MPLS unicast and multicast (RFC 3032 §4.3).
        0x0281 | 0x0283 => Network::Mpls(rest),
        _ => Network::NotIp(NO_ETHERTYPE),
    }
}

/// PPP link types 9 and 50: an optional 0xff 0x03 address/control pair
/// (absent when address-and-control-field compression was negotiated), then
/// the protocol.
pub(crate) fn ppp_with_address(data: &[u8]) -> Network<'_> {
    match data {
        [0xff, 0x03, rest @ ..] => ppp_protocol(rest),
        _ => ppp_protocol(data),
    }
}

/// BSD null (link type 0) and OpenBSD loopback (108): a 4-byte address family.
/// NULL writes it in the writer's byte order and LOOP in network order, but
/// files are moved between machines and some writers get LOOP wrong, so both
/// orders are accepted for both: a family is a small number, so its byte-swapped
/// form cannot be mistaken for another family.
fn bsd_loopback(data: &[u8]) -> Network<'_> {
    let Some((&family, rest)) = data.split_first_chunk::<4>() else {
        return Network::Malformed;
    };
    let family = u32::from_le_bytes(family);
    let family = if family > 0xffff {
        family.swap_bytes()
    } else {
        family
    };
    if family == AF_INET {
        Network::Ipv4(rest)
    } else if AF_INET6.contains(&family) {
        Network::Ipv6(rest)
    } else {
        Network::NotIp(NO_ETHERTYPE)
    }
}

/// Linux "cooked" capture v1 (16 bytes): packet type, ARPHRD type, address
/// length, 8 address bytes, then the protocol as an ethertype (values below
/// 0x0600 are Linux's own non-ethertype protocols, none of them IP).
fn linux_sll(data: &[u8]) -> Network<'_> {
    match data.get(16..) {
        Some(rest) => by_ethertype(be16(data, 14), rest),
        None => Network::Malformed,
    }
}

/// Linux "cooked" capture v2 (20 bytes): the protocol comes first, then
/// reserved bytes, interface index, ARPHRD type, packet type, address.
fn linux_sll2(data: &[u8]) -> Network<'_> {
    match data.get(20..) {
        Some(rest) => by_ethertype(be16(data, 0), rest),
        None => Network::Malformed,
    }
}

/// Cisco HDLC: address, control, then an ethertype.
fn cisco_hdlc(data: &[u8]) -> Network<'_> {
    match data.get(4..) {
        Some(rest) => by_ethertype(be16(data, 2), rest),
        None => Network::Malformed,
    }
}

/// LLC with a SNAP header (AA AA 03, a 3-byte OUI, an ethertype), the only
/// LLC form that carries IP in practice (802.3 frames, 802.11 data).
fn snap(data: &[u8]) -> Network<'_> {
    match data {
        [0xaa, 0xaa, 0x03, _, _, _, t0, t1, rest @ ..] => {
            by_ethertype(u16::from_be_bytes([*t0, *t1]), rest)
        }
        [_, _, _, ..] => Network::NotIp(NO_ETHERTYPE),
        _ => Network::Malformed,
    }
}

/// NFLOG TLV type holding the logged packet (`NFULA_PAYLOAD`).
const NFULA_PAYLOAD: u16 = 9;
/// Highest attribute type Linux defines (with margin); used to guess the
/// byte order the TLV headers were written in.
const NFULA_MAX_KNOWN: u16 = 0x20;

/// Linux NFLOG (link type 239): family, version, resource id, then TLVs whose
/// 2-byte length and type are in the byte order of the machine that wrote the
/// capture, each padded to 4 bytes. The packet is the payload attribute.
fn nflog(data: &[u8]) -> Network<'_> {
    let Some(mut tlvs) = data.get(4..) else {
        return Network::Malformed;
    };
    // Attribute types are small numbers; read the first type both ways and
    // keep the order that makes it one.
    let little_endian = match tlvs.get(2..4) {
        Some(&[a, b]) => {
            let le = u16::from_le_bytes([a, b]) & 0x7fff;
            (1..=NFULA_MAX_KNOWN).contains(&le)
        }
        _ => return Network::NotIp(NO_ETHERTYPE),
    };
    let read = |bytes: &[u8], at: usize| -> u16 {
        match bytes.get(at..at.saturating_add(2)) {
            Some(&[a, b]) if little_endian => u16::from_le_bytes([a, b]),
            Some(&[a, b]) => u16::from_be_bytes([a, b]),
            _ => 0,
        }
    };
    while tlvs.len() >= 4 {
        let len = usize::from(read(tlvs, 0));
        // The top bits of the type are netlink flags (nested, byte order).
        let kind = read(tlvs, 2) & 0x3fff;
        if len < 4 {
            return Network::Malformed;
        }
        let Some(value) = tlvs.get(4..len) else {
            return Network::Malformed;
        };
        if kind == NFULA_PAYLOAD {
            return by_version(value);
        }
        let padded = len.saturating_add(3) & !3;
        tlvs = tlvs.get(padded..).unwrap_or_default();
    }
    // Logged without its packet (e.g. a copy range of 0).
    Network::NotIp(NO_ETHERTYPE)
}

/// Radiotap (link type 127): a little-endian header length at bytes 2..4,
/// then an 802.11 frame.
fn radiotap(data: &[u8]) -> Network<'_> {
    let len = match data.get(2..4) {
        Some(&[a, b]) => usize::from(u16::from_le_bytes([a, b])),
        _ => return Network::Malformed,
    };
    match data.get(len..) {
        Some(frame) if len >= 8 => ieee802_11(frame),
        _ => Network::Malformed,
    }
}

/// An 802.11 frame (link type 105). Only unprotected data frames carry IP we
/// can read: their header is 24 bytes, 30 with four addresses, plus 2 for
/// QoS and 4 more for HT control, then LLC/SNAP. A frame check sequence at
/// the end, if the capture kept it, is cut off later by the IP length.
fn ieee802_11(data: &[u8]) -> Network<'_> {
    let (Some(&fc0), Some(&fc1)) = (data.first(), data.get(1)) else {
        return Network::Malformed;
    };
    let frame_type = (fc0 >> 2) & 0x3;
    let subtype = fc0 >> 4;
    let protected = fc1 & 0x40 != 0;
    // Type 2 is data; subtypes with bit 2 set carry no payload (null data).
    if frame_type != 2 || subtype & 0x4 != 0 || protected {
        return Network::NotIp(NO_ETHERTYPE);
    }
    let four_addresses = fc1 & 0x3 == 0x3;
    let qos = subtype & 0x8 != 0;
    let ht_control = qos && fc1 & 0x80 != 0;
    let header_len = match (four_addresses, qos, ht_control) {
        (false, false, _) => 24,
        (false, true, false) => 26,
        (false, true, true) => 30,
        (true, false, _) => 30,
        (true, true, false) => 32,
        (true, true, true) => 36,
    };
    match data.get(header_len..) {
        Some(llc) => snap(llc),
        None => Network::Malformed,
    }
}

/// ARCNET protocol ids for IP: RFC 1201 IPv4, RFC 2497 IPv6 (both with
/// RFC 1201 fragmentation fields), and the older RFC 1051 IPv4 (without).
const ARC_IP_RFC1201: u8 = 0xd4;
const ARC_IPV6: u8 = 0xc4;
const ARC_IP_RFC1051: u8 = 0xf0;

/// ARCNET (link type 7) and Linux ARCNET (129, which adds a 2-byte offset
/// field): source, destination, [offset], protocol id; RFC 1201 protocols
/// then have a split flag and a sequence number, and an exception packet
/// (split flag 0xff) repeats the protocol id, flag and sequence after 2 bytes
/// of padding.
fn arcnet(data: &[u8], linux: bool) -> Network<'_> {
    // The protocol id, and where what follows it starts.
    let (protocol_at, after) = if linux { (4, 5) } else { (2, 3) };
    let Some(&protocol) = data.get(protocol_at) else {
        return Network::Malformed;
    };
    let rest = match protocol {
        ARC_IP_RFC1051 => data.get(after..),
        ARC_IP_RFC1201 | ARC_IPV6 => match data.get(after) {
            Some(0xff) => data.get(after.saturating_add(7)..),
            Some(_) => data.get(after.saturating_add(3)..),
            None => None,
        },
        _ => return Network::NotIp(NO_ETHERTYPE),
    };
    match (protocol, rest) {
        (ARC_IPV6, Some(rest)) => Network::Ipv6(rest),
        (_, Some(rest)) => Network::Ipv4(rest),
        (_, None) => Network::Malformed,
    }
}

/// OpenBSD/FreeBSD pflog (link type 117): a header whose first byte is its
/// length (padded to 4 bytes in the file) and whose second is the address
/// family, then the packet.
fn pflog(data: &[u8]) -> Network<'_> {
    let (Some(&len), Some(&family)) = (data.first(), data.get(1)) else {
        return Network::Malformed;
    };
    let len = usize::from(len).saturating_add(3) & !3;
    let Some(packet) = data.get(len..).filter(|_| len >= 4) else {
        return Network::Malformed;
    };
    let family = u32::from(family);
    if family == AF_INET {
        Network::Ipv4(packet)
    } else if AF_INET6.contains(&family) {
        Network::Ipv6(packet)
    } else {
        Network::NotIp(NO_ETHERTYPE)
    }
}

/// Prism monitor-mode header (link type 119): message code, then the
/// header's length as a 4-byte number in the writer's byte order (144 in
/// practice), then an 802.11 frame.
fn prism(data: &[u8]) -> Network<'_> {
    let Some(&[a, b, c, d]) = data.get(4..8) else {
        return Network::Malformed;
    };
    let le = u32::from_le_bytes([a, b, c, d]);
    let len = if le > 0xffff {
        u32::from_be_bytes([a, b, c, d])
    } else {
        le
    };
    match data.get(usize::try_from(len).unwrap_or(usize::MAX)..) {
        Some(frame) if len >= 8 => ieee802_11(frame),
        _ => Network::Malformed,
    }
}

/// AVS capture header (link type 163): a big-endian version and header
/// length, then an 802.11 frame.
fn avs(data: &[u8]) -> Network<'_> {
    let Some(&[a, b, c, d]) = data.get(4..8) else {
        return Network::Malformed;
    };
    let len = u32::from_be_bytes([a, b, c, d]);
    match data.get(usize::try_from(len).unwrap_or(usize::MAX)..) {
        Some(frame) if len >= 8 => ieee802_11(frame),
        _ => Network::Malformed,
    }
}

/// Juniper's magic, "MGC".
const JUNIPER_MAGIC: [u8; 3] = *b"MGC";
/// The header has extension TLVs after it, with a 2-byte total length.
const JUNIPER_FLAG_EXT: u8 = 0x80;
/// The link-layer header was stripped: a 4-byte little-endian protocol
/// follows the header instead.
const JUNIPER_FLAG_NO_L2: u8 = 0x02;

/// Juniper Ethernet (link type 178): "MGC", a flags byte, extension TLVs
/// when flagged (2-byte length, then that many bytes), then an Ethernet
/// frame or, with the layer 2 header stripped, a protocol number (2 IPv4,
/// 6 IPv6, 3/7 IP after MPLS, 4/5/8 MPLS, 204 Ethernet) and the packet.
fn juniper_ethernet(data: &[u8]) -> Network<'_> {
    let (Some(magic), Some(&flags)) = (data.get(..3), data.get(3)) else {
        return Network::Malformed;
    };
    if magic != JUNIPER_MAGIC {
        return Network::Malformed;
    }
    let header = if flags & JUNIPER_FLAG_EXT != 0 {
        match data.get(4..6) {
            Some(_) => usize::from(be16(data, 4)).saturating_add(6),
            None => return Network::Malformed,
        }
    } else {
        4
    };
    let Some(rest) = data.get(header..) else {
        return Network::Malformed;
    };
    if flags & JUNIPER_FLAG_NO_L2 == 0 {
        return ethernet(rest);
    }
    let (Some(&[a, b, c, d]), Some(packet)) = (rest.get(..4), rest.get(4..)) else {
        return Network::Malformed;
    };
    match u32::from_le_bytes([a, b, c, d]) {
        2 | 3 => Network::Ipv4(packet),
        6 | 7 => Network::Ipv6(packet),
        4 | 5 | 8 => Network::Mpls(packet),
        204 => ethernet(packet),
        _ => Network::NotIp(NO_ETHERTYPE),
    }
}

/// Per-Packet Information (link type 192): version 0, flags, a
/// little-endian header length and link type, fields; then a frame of
/// that link type (802.11 or Ethernet in practice).
fn ppi(data: &[u8]) -> Network<'_> {
    let (Some(&[version, _flags, l0, l1]), Some(&[d0, d1, d2, d3])) =
        (data.get(..4), data.get(4..8))
    else {
        return Network::Malformed;
    };
    let len = usize::from(u16::from_le_bytes([l0, l1]));
    if version != 0 || len < 8 {
        return Network::Malformed;
    }
    match data.get(len..) {
        Some(frame) => wrapped(u32::from_le_bytes([d0, d1, d2, d3]), frame),
        None => Network::Malformed,
    }
}

/// Solaris ipnet (link type 226): version, address family (2 IPv4, 26
/// IPv6), then 22 more bytes of header.
fn ipnet(data: &[u8]) -> Network<'_> {
    let (Some(&family), Some(packet)) = (data.get(1), data.get(24..)) else {
        return Network::Malformed;
    };
    match family {
        2 => Network::Ipv4(packet),
        26 => Network::Ipv6(packet),
        _ => Network::NotIp(NO_ETHERTYPE),
    }
}

/// IP over InfiniBand (link type 242). In pcap files (tcpdump's and
/// Wireshark's reading) the packet follows a 44-byte header: the 20-byte
/// destination and source hardware addresses, an ethertype, 2 reserved
/// bytes. RFC 4391's own 4-byte header (ethertype, reserved) is read too
/// when the 44-byte reading does not name IP or ARP and the 4-byte one does.
fn ipoib(data: &[u8]) -> Network<'_> {
    let known = |t: u16| matches!(t, ETHERTYPE_IPV4 | ETHERTYPE_IPV6 | 0x0806);
    if let (Some(_), Some(rest)) = (data.get(40..42), data.get(44..)) {
        let t = be16(data, 40);
        if known(t) {
            return by_ethertype(t, rest);
        }
    }
    match data.get(4..) {
        Some(rest) if known(be16(data, 0)) => by_ethertype(be16(data, 0), rest),
        Some(_) if data.len() >= 44 => {
            by_ethertype(be16(data, 40), data.get(44..).unwrap_or_default())
        }
        _ => Network::Malformed,
    }
}

/// Apple PKTAP (link type 258): a header whose first two 4-byte fields, in
/// the writer's (little-endian) byte order, are its length and the link
/// type of the frame after it.
fn pktap(data: &[u8]) -> Network<'_> {
    let (Some(&[l0, l1, l2, l3]), Some(&[d0, d1, d2, d3])) = (data.get(..4), data.get(4..8)) else {
        return Network::Malformed;
    };
    let len = u32::from_le_bytes([l0, l1, l2, l3]);
    match data.get(usize::try_from(len).unwrap_or(usize::MAX)..) {
        Some(frame) if len >= 8 => wrapped(u32::from_le_bytes([d0, d1, d2, d3]), frame),
        _ => Network::Malformed,
    }
}

#[cfg(test)]
mod tests;
