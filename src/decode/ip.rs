//! IPv4 and IPv6: from an IP packet to the TCP segment (or fragment) inside.
//!
//! Hand-written for the same reasons as the link layers, and because the
//! lengths need care etherparse's lax slices do not give in one place: the
//! payload *captured* (capped at the IP length, so Ethernet padding is never
//! payload) and the payload the IP header *claims* (longer when the snaplen
//! cut the frame) are both carried down to TCP.
//!
//! The IPv4 header checksum is not verified, as tshark does not by default:
//! captures taken on the sending host carry checksums the NIC fills in later.

use super::fragments::{Fragment, FragmentKey};
use super::tcp::be16;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol numbers that matter here.
const TCP: u8 = 6;
const IPIP: u8 = 4;
const UDP: u8 = 17;
const IPV6_IN_IP: u8 = 41;
const GRE: u8 = 47;
const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const AUTH: u8 = 51;
const IPV6_DEST_OPTIONS: u8 = 60;
const IPV6_MOBILITY: u8 = 135;
const IPV6_HIP: u8 = 139;
const IPV6_SHIM6: u8 = 140;

/// Extension headers walked before giving up; each is at least 8 bytes, so
/// this only matters for absurd packets.
const MAX_EXTENSION_HEADERS: usize = 32;

/// What an IP packet holds.
#[derive(Debug)]
pub(crate) enum Ip<'a> {
    /// A TCP segment: `captured` is what the capture holds of it (capped at the
    /// IP length), `claimed` its length according to the IP header.
    Tcp {
        src: IpAddr,
        dst: IpAddr,
        captured: &'a [u8],
        claimed: usize,
    },
    /// A fragment of a datagram that may carry TCP.
    Fragment {
        key: FragmentKey,
        fragment: Fragment<'a>,
    },
    /// A fragment the snaplen cut: it can never be reassembled.
    CutFragment { key: FragmentKey },
    /// Another protocol (UDP, ICMP, GRE, ESP, IP in IP, ...): its number,
    /// its bytes (captured, capped at the IP length) and its length
    /// according to the IP header.
    Other {
        src: IpAddr,
        dst: IpAddr,
        protocol: u8,
        captured: &'a [u8],
        claimed: usize,
    },
    /// A fragment of a datagram of a protocol that cannot lead to TCP
    /// (ICMP, ESP, ...): not buffered.
    OtherFragment { protocol: u8 },
    /// Headers too short or inconsistent to decode.
    Malformed,
}

/// Reads an IPv4 packet. `cut` is how many bytes of the frame the snaplen
/// left out, so `packet.len() + cut` is the packet's length on the wire.
#[inline(always)]
pub(crate) fn ipv4(packet: &[u8], cut: usize) -> Ip<'_> {
    let Some(header) = fixed_header::<20>(packet, 4) else {
        return Ip::Malformed;
    };
    let header_len = usize::from(header[0] & 0x0f) * 4;
    let total_len = believed_len([header[2], header[3]], packet.len(), cut);
    if header_len < 20 {
        return Ip::Malformed;
    }
    let Some(claimed) = total_len.checked_sub(header_len) else {
        return Ip::Malformed;
    };
    let Some(captured) = packet.get(header_len..total_len.min(packet.len())) else {
        return Ip::Malformed;
    };
    let protocol = header[9];
    let flags_offset = u16::from_be_bytes([header[6], header[7]]);
    let more = flags_offset & 0x2000 != 0;
    let offset = u32::from(flags_offset & 0x1fff) * 8;
    let src = IpAddr::V4(Ipv4Addr::new(
        header[12], header[13], header[14], header[15],
    ));
    let dst = IpAddr::V4(Ipv4Addr::new(
        header[16], header[17], header[18], header[19],
    ));

    if more || offset != 0 {
        // Only datagrams that can carry TCP, directly or in a tunnel, are
        // worth buffering.
        if !may_lead_to_tcp(protocol) {
            return Ip::OtherFragment { protocol };
        }
        let key = FragmentKey {
            src,
            dst,
            protocol,
            id: u32::from(u16::from_be_bytes([header[4], header[5]])),
            tunnel: 0,
        };
        if captured.len() < claimed {
            return Ip::CutFragment { key };
        }
        return Ip::Fragment {
            key,
            fragment: Fragment {
                offset,
                more,
                next_header: protocol,
                data: captured,
            },
        };
    }
    match walk(protocol, captured, claimed, false) {
        Walk::Tcp { at } => tcp_at(src, dst, captured, claimed, at),
        Walk::Other { at, protocol } => other_at(src, dst, protocol, captured, claimed, at),
        Walk::Malformed | Walk::Fragment { .. } => Ip::Malformed,
    }
}

/// The first `N` bytes of `packet`, if it has them and its version field
/// says `version`.
fn fixed_header<const N: usize>(packet: &[u8], version: u8) -> Option<&[u8; N]> {
    let header: &[u8; N] = packet.get(..N)?.try_into().ok()?;
    (header.first()? >> 4 == version).then_some(header)
}

/// The length an IP header states (`stated`, big-endian: IPv4's total
/// length, IPv6's payload length), for a packet with `present` bytes in the
/// capture and `cut` more cut by the snaplen. A length of 0 is what TCP
/// segmentation offload leaves in packets captured on the sending host (or
/// an IPv6 jumbogram); one longer than the frame on the wire is a lie.
/// Either way the frame's own length is the best there is (tshark does the
/// same).
fn believed_len(stated: [u8; 2], present: usize, cut: usize) -> usize {
    let stated = usize::from(u16::from_be_bytes(stated));
    let on_wire = present.saturating_add(cut);
    if stated == 0 || stated > on_wire {
        on_wire
    } else {
        stated
    }
}

/// Reads an IPv6 packet and its extension headers; `cut` as for [`ipv4`].
pub(crate) fn ipv6(packet: &[u8], cut: usize) -> Ip<'_> {
    let Some(header) = fixed_header::<40>(packet, 6) else {
        return Ip::Malformed;
    };
    let rest = packet.get(40..).unwrap_or_default();
    let claimed = believed_len([header[4], header[5]], rest.len(), cut);
    let captured = rest.get(..claimed).unwrap_or(rest);
    let next_header = header[6];
    let mut src = [0u8; 16];
    src.copy_from_slice(&header[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&header[24..40]);
    let src = IpAddr::V6(Ipv6Addr::from(src));
    let dst = IpAddr::V6(Ipv6Addr::from(dst));

    match walk(next_header, captured, claimed, true) {
        Walk::Tcp { at } => tcp_at(src, dst, captured, claimed, at),
        Walk::Other { at, protocol } => other_at(src, dst, protocol, captured, claimed, at),
        Walk::Malformed => Ip::Malformed,
        Walk::Fragment {
            at,
            offset,
            more,
            id,
            next_header,
        } => {
            if !may_lead_to_tcp(next_header) {
                return Ip::OtherFragment {
                    protocol: next_header,
                };
            }
            let key = FragmentKey {
                src,
                dst,
                protocol: FragmentKey::IPV6,
                id,
                tunnel: 0,
            };
            match captured.get(at..) {
                Some(data) if data.len() == claimed.saturating_sub(at) => Ip::Fragment {
                    key,
                    fragment: Fragment {
                        offset,
                        more,
                        next_header,
                        data,
                    },
                },
                _ => Ip::CutFragment { key },
            }
        }
    }
}

/// Finds the TCP segment in a reassembled datagram's fragmentable part,
/// which starts with a header of type `next_header`.
pub(crate) fn reassembled(
    src: IpAddr,
    dst: IpAddr,
    ipv6: bool,
    next_header: u8,
    datagram: &[u8],
) -> Ip<'_> {
    let claimed = datagram.len();
    match walk(next_header, datagram, claimed, ipv6) {
        Walk::Tcp { at } => tcp_at(src, dst, datagram, claimed, at),
        Walk::Other { at, protocol } => other_at(src, dst, protocol, datagram, claimed, at),
        // A fragment header inside a reassembled datagram is nonsense.
        Walk::Malformed | Walk::Fragment { .. } => Ip::Malformed,
    }
}

fn tcp_at(src: IpAddr, dst: IpAddr, captured: &[u8], claimed: usize, at: usize) -> Ip<'_> {
    Ip::Tcp {
        src,
        dst,
        captured: captured.get(at..).unwrap_or_default(),
        claimed: claimed.saturating_sub(at),
    }
}

fn other_at(
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    captured: &[u8],
    claimed: usize,
    at: usize,
) -> Ip<'_> {
    Ip::Other {
        src,
        dst,
        protocol,
        captured: captured.get(at..).unwrap_or_default(),
        claimed: claimed.saturating_sub(at),
    }
}

/// Whether a fragmented datagram whose fragmentable part starts with
/// `next_header` can hold TCP: directly, after more extension headers, or
/// in a tunnel (IP in IP, GRE, UDP to a tunnel port).
fn may_lead_to_tcp(next_header: u8) -> bool {
    matches!(
        next_header,
        TCP | AUTH
            | IPIP
            | IPV6_IN_IP
            | GRE
            | UDP
            | IPV6_HOP_BY_HOP
            | IPV6_ROUTING
            | IPV6_DEST_OPTIONS
            | IPV6_MOBILITY
            | IPV6_HIP
            | IPV6_SHIM6
    )
}

/// Where the walk over extension headers ended.
#[derive(Debug, PartialEq, Eq)]
enum Walk {
    /// The TCP header starts at `at`.
    Tcp {
        at: usize,
    },
    /// Another protocol, whose header starts at `at`.
    Other {
        at: usize,
        protocol: u8,
    },
    Malformed,
    /// A real (non-atomic) IPv6 fragment; its data starts at `at`.
    Fragment {
        at: usize,
        offset: u32,
        more: bool,
        id: u32,
        next_header: u8,
    },
}

/// Walks the headers between IP and TCP: the authentication header (IPv4 and
/// IPv6) and, for IPv6, the extension headers. Each header must lie within
/// both the captured bytes (to be read) and the claimed length (to be
/// believed). Atomic IPv6 fragments (offset 0, no more fragments, RFC 6946)
/// are walked through as if the fragment header were not there.
// Always inlined: it runs once per frame and, for plain TCP, ends at its
// first match arm. The saturating offset arithmetic made it just big enough
// for LLVM to stop inlining it, and the call then cost 13% more
// instructions per decoded frame (callgrind, bench keepalive.pcap).
#[inline(always)]
fn walk(mut next: u8, bytes: &[u8], claimed: usize, ipv6: bool) -> Walk {
    let mut at = 0usize;
    for _ in 0..MAX_EXTENSION_HEADERS {
        let header_len = match next {
            TCP => return Walk::Tcp { at },
            // AH: payload length in 4-byte words, minus 2.
            // (`at` is within `bytes`, so saturating only ever makes `get` fail.)
            AUTH => bytes
                .get(at.saturating_add(1))
                .map(|&len| usize::from(len).saturating_add(2).saturating_mul(4)),
            IPV6_FRAGMENT if ipv6 => {
                let after = at.saturating_add(8);
                let Some(fragment): Option<&[u8; 8]> =
                    bytes.get(at..after).and_then(|b| b.try_into().ok())
                else {
                    return Walk::Malformed;
                };
                let offset_flags = be16(fragment, 2);
                let offset = u32::from(offset_flags & 0xfff8);
                let more = offset_flags & 1 != 0;
                let next_header = fragment[0];
                if offset != 0 || more {
                    return Walk::Fragment {
                        at: after,
                        offset,
                        more,
                        id: u32::from_be_bytes([
                            fragment[4],
                            fragment[5],
                            fragment[6],
                            fragment[7],
                        ]),
                        next_header,
                    };
                }
                Some(8)
            }
            IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DEST_OPTIONS | IPV6_MOBILITY | IPV6_HIP
            | IPV6_SHIM6
                if ipv6 =>
            {
                // Length in 8-byte units, not counting the first 8.
                bytes
                    .get(at.saturating_add(1))
                    .map(|&len| usize::from(len).saturating_add(1).saturating_mul(8))
            }
            _ => return Walk::Other { at, protocol: next },
        };
        let Some(header_len) = header_len else {
            return Walk::Malformed;
        };
        let end = at.saturating_add(header_len);
        if end > bytes.len() || end > claimed {
            return Walk::Malformed;
        }
        let Some(&following) = bytes.get(at) else {
            return Walk::Malformed;
        };
        next = following;
        at = end;
    }
    Walk::Malformed
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn walk_through_extension_headers_to_tcp() {
        // hop-by-hop (8 bytes) -> destination options (16) -> AH (12) -> TCP
        let mut bytes = vec![IPV6_DEST_OPTIONS, 0, 1, 4, 0, 0, 0, 0];
        bytes.extend_from_slice(&[AUTH, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        bytes.extend_from_slice(&[TCP, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        bytes.extend_from_slice(&[0; 20]);
        let n = bytes.len();
        assert_eq!(walk(IPV6_HOP_BY_HOP, &bytes, n, true), Walk::Tcp { at: 36 });
        // Cut short, or claimed shorter than the headers.
        assert_eq!(
            walk(IPV6_HOP_BY_HOP, &bytes[..30], n, true),
            Walk::Malformed
        );
        assert_eq!(walk(IPV6_HOP_BY_HOP, &bytes, 20, true), Walk::Malformed);
        // IPv4 does not have IPv6 extension headers.
        assert_eq!(
            walk(IPV6_HOP_BY_HOP, &bytes, n, false),
            Walk::Other {
                at: 0,
                protocol: IPV6_HOP_BY_HOP
            }
        );
    }

    #[test]
    fn walk_passes_atomic_fragments_and_stops_at_real_ones() {
        let atomic = [TCP, 0, 0, 0, 0, 0, 0, 9];
        assert_eq!(walk(IPV6_FRAGMENT, &atomic, 28, true), Walk::Tcp { at: 8 });
        let first = [TCP, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef];
        assert_eq!(
            walk(IPV6_FRAGMENT, &first, 28, true),
            Walk::Fragment {
                at: 8,
                offset: 0,
                more: true,
                id: 0xdeadbeef,
                next_header: TCP
            }
        );
        let later = [TCP, 0, 0x05, 0x08, 0, 0, 0, 1];
        assert!(matches!(
            walk(IPV6_FRAGMENT, &later, 28, true),
            Walk::Fragment {
                offset: 0x508,
                more: false,
                ..
            }
        ));
    }

    #[test]
    fn ipv4_total_length_caps_padding_and_claims_cut_bytes() {
        let mut p = vec![
            0x45, 0, 0, 44, 0, 1, 0x40, 0, 64, TCP, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
        ];
        p.extend_from_slice(&[0xaa; 30]); // 24 bytes of segment + 6 of padding
                                          // (bytes captured, bytes claimed) of the TCP segment.
        let lengths = |p: &[u8], cut| match ipv4(p, cut) {
            Ip::Tcp {
                captured, claimed, ..
            } => (captured.len(), claimed),
            other => panic!("{other:?}"),
        };
        assert_eq!(lengths(&p, 0), (24, 24));
        // Snaplen cut 950 bytes: the IP length is believed.
        p[2..4].copy_from_slice(&1000u16.to_be_bytes());
        assert_eq!(lengths(&p, 950), (30, 980));
        // Nothing cut: the frame on the wire was 50 bytes, the IP length lies.
        assert_eq!(lengths(&p, 0), (30, 30));
        p[2..4].copy_from_slice(&10u16.to_be_bytes());
        assert!(matches!(ipv4(&p, 0), Ip::Malformed));
        p[0] = 0x44;
        assert!(matches!(ipv4(&p, 0), Ip::Malformed));
        p[0] = 0x65;
        assert!(matches!(ipv4(&p, 0), Ip::Malformed));
        assert!(matches!(ipv4(&p[..19], 0), Ip::Malformed));
    }
}
