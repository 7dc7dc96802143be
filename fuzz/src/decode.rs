//! Target `decode`: frames of a chosen link type through the decoder.
//!
//! Input layout (simple enough for the fuzzer to find, and to write seeds in):
//!
//! ```text
//! byte 0      low 7 bits: link type, an index into LINK_TYPES (modulo its
//!             length); high bit: tunnels merged (`--merge-tunnels`)
//! then, per frame:
//!   2 bytes   frame length, big-endian (the last frame takes what is left
//!             if the length runs past the end)
//!   1 byte    low 7 bits: bytes the snaplen "cut" (orig_len = len + 8 * n);
//!             high bit: 31 s pass before this frame (past the fragment timeout)
//!   len bytes the frame
//! ```
//!
//! One frame exercises the link, tunnel, IP and TCP parsers; several in a
//! row exercise IPv4/IPv6 fragment reassembly (overlaps, timeouts, caps,
//! fragments inside tunnels) and the tunnel table (a small `max_tunnels`).
//!
//! Invariants: every frame lands in exactly one stats bucket (the identity
//! documented on `DecodeStats`), every dropped fragment has its reason, the
//! per-protocol breakdown adds up; a segment's captured payload is no longer
//! than its claimed length, lies within the frame unless it was reassembled,
//! and its options fit in a TCP header; a segment has a tunnel key exactly
//! when it came through a tunnel (and tunnels are not merged), within the
//! layer bound.

use connlint::capture::{Frame, LinkType};
use connlint::decode::{
    DecodeStats, Decoded, Decoder, FragmentLimits, TunnelOptions, MAX_TUNNEL_LAYERS,
};
use connlint::Timestamp;

/// Every link type the decoder reads (see `decode/link.rs`), and one it
/// does not, so that the unsupported path is taken too.
pub const LINK_TYPES: [u32; 31] = [
    0, 1, 7, 9, 12, 14, 50, 101, 104, 105, 108, 113, 127, 129, 228, 229, 239, 276, 147, 51, 117,
    119, 163, 178, 192, 219, 226, 240, 241, 242, 258,
];

/// Fragment bounds small enough for the fuzzer to reach them.
const FRAGMENT_LIMITS: FragmentLimits = FragmentLimits {
    max_datagrams: 4,
    max_bytes: 16 << 10,
    timeout_ns: 30_000_000_000,
};

pub fn run(data: &[u8]) {
    let Some((&link, mut rest)) = data.split_first() else {
        return;
    };
    let link_type = LinkType(LINK_TYPES[usize::from(link & 0x7f) % LINK_TYPES.len()]);
    let merge = link & 0x80 != 0;
    let mut decoder = Decoder::with_tunnels(
        FRAGMENT_LIMITS,
        TunnelOptions {
            merge,
            max_tunnels: 2,
        },
    );
    let mut ts = Timestamp(1_700_000_000_000_000_000);
    let mut number = 0u64;
    while let [hi, lo, aux, body @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(body.len());
        let (frame_bytes, next) = body.split_at(len);
        rest = next;
        number += 1;
        ts = ts.add_nanos(if aux & 0x80 != 0 {
            31_000_000_000
        } else {
            1_000_000
        });
        let frame = Frame {
            number,
            offset: 24 + 16 * number,
            ts,
            link_type,
            data: frame_bytes,
            orig_len: (len as u32).saturating_add(u32::from(aux & 0x7f) * 8),
        };
        decode_one(&mut decoder, &frame, merge);
    }
    decoder.finish();
    check_buckets(&decoder.stats);
}

fn decode_one(decoder: &mut Decoder, frame: &Frame<'_>, merge: bool) {
    let reassembled_before = decoder.stats.fragments_reassembled;
    let frames_before = decoder.stats.frames;
    // (captured payload, options) of the segment, if the frame gave one;
    // the segment borrows the decoder, so its sizes are taken out first.
    let sizes = match decoder.decode_tunnelled(frame) {
        (Decoded::Tcp(seg), tunnel) => {
            match tunnel.path {
                Some(path) => {
                    assert!(!path.layers().is_empty());
                    assert!(path.layers().len() <= MAX_TUNNEL_LAYERS);
                    assert_eq!(tunnel.key == 0, merge, "a tunnel has a key unless merged");
                    assert!(!path.to_string().is_empty());
                }
                None => assert_eq!(tunnel.key, 0),
            }
            assert!(
                seg.payload.len() <= seg.payload_len as usize,
                "captured payload {} longer than claimed {}",
                seg.payload.len(),
                seg.payload_len
            );
            assert!(
                seg.options_raw.len() <= 40,
                "TCP options longer than 40 bytes"
            );
            assert_eq!(seg.frame, frame.number);
            assert_eq!(seg.ts, frame.ts);
            // What an IP header can claim: 65535 bytes of datagram.
            assert!(
                seg.payload_len <= 65_535,
                "payload length {}",
                seg.payload_len
            );
            Some((seg.payload.len(), seg.options_raw.len()))
        }
        (Decoded::Skipped, tunnel) => {
            assert!(tunnel.path.is_none() && tunnel.key == 0);
            None
        }
    };
    let from_fragments = decoder.stats.fragments_reassembled > reassembled_before;
    if let (Some((payload, options)), false) = (sizes, from_fragments) {
        // A datagram from a single frame lies within the frame.
        assert!(
            payload + options + 20 <= frame.data.len(),
            "segment larger than its frame"
        );
    }
    assert_eq!(decoder.stats.frames, frames_before + 1);
    check_buckets(&decoder.stats);
}

/// `frames == tcp_segments + non_tcp + non_ip + Σ unsupported_link +
/// malformed + esp + tunnel_too_deep + fragments - fragments_reassembled`,
/// and the breakdowns add up.
fn check_buckets(s: &DecodeStats) {
    let unsupported: u64 = s.unsupported_link.values().sum();
    assert_eq!(
        s.frames + s.fragments_reassembled,
        s.tcp_segments
            + s.non_tcp
            + s.non_ip
            + unsupported
            + s.malformed
            + s.esp
            + s.tunnel_too_deep
            + s.fragments,
        "a frame landed in no bucket or in two: {s:?}"
    );
    assert_eq!(
        s.fragments_dropped,
        s.fragments_incomplete + s.fragments_over_limit + s.fragments_invalid,
        "a dropped fragment without its reason: {s:?}"
    );
    assert_eq!(
        s.non_tcp,
        s.non_tcp_protocols.values().sum::<u64>(),
        "{s:?}"
    );
    assert!(
        s.non_ip >= s.non_ip_ethertypes.values().sum::<u64>(),
        "{s:?}"
    );
}
