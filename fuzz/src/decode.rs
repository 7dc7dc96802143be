//! Target `decode`: frames of a chosen link type through the decoder.
//!
//! Input layout (simple enough for the fuzzer to find, and to write seeds in):
//!
//! ```text
//! byte 0      link type: an index into LINK_TYPES (modulo its length)
//! then, per frame:
//!   2 bytes   frame length, big-endian (the last frame takes what is left
//!             if the length runs past the end)
//!   1 byte    low 7 bits: bytes the snaplen "cut" (orig_len = len + 8 * n);
//!             high bit: 31 s pass before this frame (past the fragment timeout)
//!   len bytes the frame
//! ```
//!
//! One frame exercises the link, IP and TCP parsers; several in a row
//! exercise IPv4/IPv6 fragment reassembly (overlaps, timeouts, caps).
//!
//! Invariants: every frame lands in exactly one stats bucket (the identity
//! documented on `DecodeStats`); a segment's captured payload is no longer
//! than its claimed length, lies within the frame unless it was reassembled,
//! and its options fit in a TCP header.

use connlint::capture::{Frame, LinkType};
use connlint::decode::{DecodeStats, Decoded, Decoder, FragmentLimits};
use connlint::Timestamp;

/// Every link type the decoder reads (see `decode/link.rs`), and one it
/// does not, so that the unsupported path is taken too.
pub const LINK_TYPES: [u32; 19] = [
    0, 1, 7, 9, 12, 14, 50, 101, 104, 105, 108, 113, 127, 129, 228, 229, 239, 276, 147,
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
    let link_type = LinkType(LINK_TYPES[usize::from(link) % LINK_TYPES.len()]);
    let mut decoder = Decoder::new(FRAGMENT_LIMITS);
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
        decode_one(&mut decoder, &frame);
    }
    decoder.finish();
    check_buckets(&decoder.stats);
}

fn decode_one(decoder: &mut Decoder, frame: &Frame<'_>) {
    let reassembled_before = decoder.stats.fragments_reassembled;
    let frames_before = decoder.stats.frames;
    // (captured payload, options) of the segment, if the frame gave one;
    // the segment borrows the decoder, so its sizes are taken out first.
    let sizes = match decoder.decode(frame) {
        Decoded::Tcp(seg) => {
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
        Decoded::Skipped => None,
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
/// malformed + fragments - fragments_reassembled`.
fn check_buckets(s: &DecodeStats) {
    let unsupported: u64 = s.unsupported_link.values().sum();
    assert_eq!(
        s.frames + s.fragments_reassembled,
        s.tcp_segments + s.non_tcp + s.non_ip + unsupported + s.malformed + s.fragments,
        "a frame landed in no bucket or in two: {s:?}"
    );
}
