//! The TCP header: flags, and the options connlint uses.
//!
//! Options are parsed here rather than with etherparse because its option
//! iterator stops at the first kind it does not know, and captures are full of
//! kinds it does not know (TFO cookies, MPTCP, experimental kinds), which would
//! hide the timestamps or SACK blocks that follow them.

/// TCP header flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn psh(self) -> bool {
        self.0 & Self::PSH != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
}

/// Up to four SACK blocks (left edge, right edge), as the option allows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SackBlocks {
    pub blocks: [(u32, u32); 4],
    pub len: u8,
}

impl SackBlocks {
    pub fn as_slice(&self) -> &[(u32, u32)] {
        // `len` is capped at the array's length, so the fallback is never taken.
        self.blocks
            .get(..usize::from(self.len.min(4)))
            .unwrap_or_default()
    }
}

/// The TCP options connlint uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    pub sack: SackBlocks,
    /// (TSval, TSecr)
    pub timestamp: Option<(u32, u32)>,
}

/// Option kinds (IANA "TCP Option Kind Numbers").
const EOL: u8 = 0;
const NOP: u8 = 1;
const MSS: u8 = 2;
const WINDOW_SCALE: u8 = 3;
const SACK_PERMITTED: u8 = 4;
const SACK: u8 = 5;
const TIMESTAMPS: u8 = 8;

/// Parses the options area of a TCP header (the bytes after the fixed 20).
///
/// Never fails: a capture may hold a header cut by the snaplen or a sender's
/// garbage, and whatever options were readable before the damage are still
/// worth having. Parsing stops at End of Option List, at a length byte that is
/// missing, below 2 (which would loop forever or step backwards), or running
/// past the end. A known kind with the wrong length is skipped by its length
/// and ignored, as Wireshark does; unknown kinds are skipped by their length.
/// When an option repeats, the last one wins.
pub fn parse_options(bytes: &[u8]) -> TcpOptions {
    let mut options = TcpOptions::default();
    let mut rest = bytes;
    while let Some((&kind, after_kind)) = rest.split_first() {
        match kind {
            EOL => break,
            NOP => {
                rest = after_kind;
                continue;
            }
            _ => {}
        }
        let Some(&len) = after_kind.first() else {
            break;
        };
        let len = usize::from(len);
        if len < 2 {
            break;
        }
        let Some(option) = rest.get(..len) else {
            break;
        };
        let value = option.get(2..).unwrap_or_default();
        match (kind, value.len()) {
            (MSS, 2) => options.mss = Some(be16(value, 0)),
            (WINDOW_SCALE, 1) => options.window_scale = value.first().copied(),
            (SACK_PERMITTED, 0) => options.sack_permitted = true,
            (SACK, n) if n % 8 == 0 && n > 0 => {
                let mut sack = SackBlocks::default();
                for (slot, block) in sack.blocks.iter_mut().zip(value.chunks_exact(8)) {
                    *slot = (be32(block, 0), be32(block, 4));
                    sack.len = sack.len.saturating_add(1);
                }
                options.sack = sack;
            }
            (TIMESTAMPS, 8) => options.timestamp = Some((be32(value, 0), be32(value, 4))),
            _ => {}
        }
        rest = rest.get(len..).unwrap_or_default();
    }
    options
}

/// Big-endian u16 at `at`, 0 when out of range (callers check lengths first).
pub(crate) fn be16(bytes: &[u8], at: usize) -> u16 {
    match bytes.get(at..at.wrapping_add(2)) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}

/// Big-endian u32 at `at`, 0 when out of range (callers check lengths first).
pub(crate) fn be32(bytes: &[u8], at: usize) -> u32 {
    match bytes.get(at..at.wrapping_add(4)) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// The fixed part of a TCP header, 20 bytes.
pub(crate) const TCP_MIN_HEADER: usize = 20;

/// What the TCP header says, before the IP addresses are attached.
pub(crate) struct TcpHeader<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub options: &'a [u8],
    pub payload: &'a [u8],
    pub payload_len: u32,
}

/// Reads a TCP header from `captured`, the part of the IP payload present in
/// the capture (already capped at the IP length, so link padding is not in
/// it), where the IP header says the segment is `claimed` bytes long.
///
/// `None` when the segment cannot be a TCP segment: fewer than the fixed 20
/// bytes captured, a data offset below 5 words, or a data offset past the
/// segment's own length. A header cut by the snaplen inside its options is
/// fine: the options present are kept and the payload is empty.
#[inline(always)]
pub(crate) fn parse_header(captured: &[u8], claimed: usize) -> Option<TcpHeader<'_>> {
    let fixed: &[u8; TCP_MIN_HEADER] = captured.get(..TCP_MIN_HEADER)?.try_into().ok()?;
    let header_len = usize::from(fixed[12] >> 4) * 4;
    if header_len < TCP_MIN_HEADER {
        return None;
    }
    // A data offset past the segment's own length is not TCP.
    let payload_claimed = claimed.checked_sub(header_len)?;
    let options_end = header_len.min(captured.len());
    let options = captured
        .get(TCP_MIN_HEADER..options_end)
        .unwrap_or_default();
    Some(TcpHeader {
        src_port: u16::from_be_bytes([fixed[0], fixed[1]]),
        dst_port: u16::from_be_bytes([fixed[2], fixed[3]]),
        seq: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
        ack: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
        flags: TcpFlags(fixed[13]),
        window: u16::from_be_bytes([fixed[14], fixed[15]]),
        options,
        payload: captured.get(header_len..).unwrap_or_default(),
        payload_len: u32::try_from(payload_claimed).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_known_option() {
        let bytes = [
            2, 4, 0x05, 0xb4, // MSS 1460
            1,    // NOP
            3, 3, 7, // window scale 7
            4, 2, // SACK permitted
            8, 10, 0, 0, 0, 1, 0, 0, 0, 2, // TSval 1, TSecr 2
        ];
        let o = parse_options(&bytes);
        assert_eq!(o.mss, Some(1460));
        assert_eq!(o.window_scale, Some(7));
        assert!(o.sack_permitted);
        assert_eq!(o.timestamp, Some((1, 2)));
        assert_eq!(o.sack.as_slice(), &[]);
    }

    #[test]
    fn reads_sack_blocks_up_to_four() {
        let mut bytes = vec![1, 1, 5, 2 + 8 * 3];
        for (l, r) in [(10u32, 20u32), (30, 40), (50, 60)] {
            bytes.extend_from_slice(&l.to_be_bytes());
            bytes.extend_from_slice(&r.to_be_bytes());
        }
        let o = parse_options(&bytes);
        assert_eq!(o.sack.as_slice(), &[(10, 20), (30, 40), (50, 60)]);

        let mut four = vec![5, 2 + 8 * 4];
        for i in 0..4u32 {
            four.extend_from_slice(&(i * 100).to_be_bytes());
            four.extend_from_slice(&(i * 100 + 50).to_be_bytes());
        }
        assert_eq!(parse_options(&four).sack.len, 4);
        assert_eq!(parse_options(&four).sack.as_slice()[3], (300, 350));
    }

    #[test]
    fn sack_with_a_partial_block_is_ignored() {
        let bytes = [5, 2 + 7, 0, 0, 0, 1, 0, 0, 0, 3, 3, 2];
        let o = parse_options(&bytes);
        assert_eq!(o.sack.len, 0);
        assert_eq!(o.window_scale, Some(2), "parsing goes on after it");
    }

    #[test]
    fn unknown_kinds_are_skipped_by_their_length() {
        // TFO cookie (34), MPTCP (30), then a timestamp.
        let bytes = [
            34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 30, 4, 0, 0, 8, 10, 0, 0, 1, 0, 0, 0, 2, 0,
        ];
        assert_eq!(parse_options(&bytes).timestamp, Some((256, 512)));
    }

    #[test]
    fn known_kind_with_wrong_length_is_skipped_not_trusted() {
        let bytes = [2, 3, 5, 3, 3, 4];
        let o = parse_options(&bytes);
        assert_eq!(o.mss, None);
        assert_eq!(o.window_scale, Some(4));
    }

    #[test]
    fn stops_at_end_of_option_list() {
        let bytes = [2, 4, 1, 0, 0, 3, 3, 9];
        let o = parse_options(&bytes);
        assert_eq!(o.mss, Some(256));
        assert_eq!(o.window_scale, None, "bytes after EOL are padding");
    }

    #[test]
    fn stops_at_zero_or_one_length_without_looping() {
        assert_eq!(
            parse_options(&[2, 4, 0, 100, 99, 0, 3, 3, 9]).window_scale,
            None
        );
        let o = parse_options(&[2, 4, 0, 100, 99, 1, 3, 3, 9]);
        assert_eq!(o.mss, Some(100));
        assert_eq!(o.window_scale, None);
    }

    #[test]
    fn stops_at_truncated_option() {
        // Timestamps claims 10 bytes but only 6 are there (snaplen cut).
        let o = parse_options(&[3, 3, 5, 8, 10, 0, 0, 0]);
        assert_eq!(o.window_scale, Some(5));
        assert_eq!(o.timestamp, None);
        // Kind with no length byte at all.
        assert_eq!(parse_options(&[1, 1, 2]), TcpOptions::default());
        assert_eq!(parse_options(&[]), TcpOptions::default());
    }

    #[test]
    fn header_with_options_cut_by_snaplen_keeps_what_is_there() {
        let mut seg = vec![0u8; 20];
        seg[12] = 8 << 4; // 32-byte header
        seg[13] = TcpFlags::SYN;
        seg.extend_from_slice(&[2, 4, 0x05, 0xb4, 1, 1]); // 6 of 12 option bytes captured
        let h = parse_header(&seg, 32).expect("cut header still decodes");
        assert_eq!(parse_options(h.options).mss, Some(1460));
        assert!(h.flags.syn());
        assert_eq!(h.payload, &[] as &[u8]);
        assert_eq!(h.payload_len, 0);
    }

    #[test]
    fn header_rejects_bad_data_offsets() {
        let mut seg = vec![0u8; 40];
        seg[12] = 4 << 4;
        assert!(parse_header(&seg, 40).is_none(), "offset below 5 words");
        seg[12] = 15 << 4;
        assert!(parse_header(&seg, 40).is_none(), "offset past the segment");
        assert!(parse_header(&seg[..19], 40).is_none(), "fixed header cut");
        seg[12] = 5 << 4;
        let h = parse_header(&seg, 40).expect("plain header");
        assert_eq!(h.payload.len(), 20);
        assert_eq!(h.payload_len, 20);
    }
}
