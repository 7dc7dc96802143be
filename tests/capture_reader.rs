//! The capture stage on real and hand-built bytes: every format variant,
//! every kind of damage (with its exact byte offset), files cut at every
//! byte, streams that deliver a few bytes per read, and bounded buffering.

use connlint::capture::{CaptureError, CaptureFormat, CaptureReader, LinkType, ReaderLimits};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// Reading helpers

/// A frame copied out of the reader, so that frames from different readers
/// can be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Got {
    number: u64,
    offset: u64,
    ts: i64,
    link_type: u32,
    data: Vec<u8>,
    orig_len: u32,
}

/// Every frame, then the error that ended the capture if one did. Also checks
/// that the reader stays finished afterwards.
fn read_all(mut reader: CaptureReader) -> (Vec<Got>, Option<CaptureError>) {
    let mut frames = Vec::new();
    let error = loop {
        match reader.next_frame() {
            Ok(Some(f)) => frames.push(Got {
                number: f.number,
                offset: f.offset,
                ts: f.ts.nanos(),
                link_type: f.link_type.0,
                data: f.data.to_vec(),
                orig_len: f.orig_len,
            }),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    for _ in 0..3 {
        assert!(
            matches!(reader.next_frame(), Ok(None)),
            "a finished reader must stay finished"
        );
    }
    (frames, error)
}

fn limits() -> ReaderLimits {
    ReaderLimits::default()
}

fn from_bytes(bytes: &[u8]) -> (Vec<Got>, Option<CaptureError>) {
    read_all(CaptureReader::from_bytes(bytes.to_vec(), limits()).expect("header reads"))
}

/// A stream that hands out 1, 2, ... 7 bytes per read, over and over, the way
/// a slow pipe might.
struct Trickle {
    bytes: Vec<u8>,
    at: usize,
    next: usize,
}

impl Trickle {
    fn new(bytes: &[u8]) -> Trickle {
        Trickle {
            bytes: bytes.to_vec(),
            at: 0,
            next: 0,
        }
    }
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = self.next % 7 + 1;
        self.next += 1;
        let n = want.min(buf.len()).min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn trickled(bytes: &[u8], limits: ReaderLimits) -> Result<CaptureReader, CaptureError> {
    CaptureReader::from_read(Box::new(Trickle::new(bytes)), limits)
}

fn header_error(result: Result<CaptureReader, CaptureError>) -> CaptureError {
    match result {
        Ok(_) => panic!("expected the header to be rejected"),
        Err(e) => e,
    }
}

fn assert_error(error: Option<CaptureError>, offset: u64, phrases: &[&str]) {
    let error = error.expect("expected the capture to end in an error");
    assert_eq!(error.offset, offset, "wrong offset for: {}", error.reason);
    for phrase in phrases {
        assert!(
            error.reason.contains(phrase),
            "reason {:?} should mention {phrase:?}",
            error.reason
        );
    }
}

/// A file in this test binary's scratch directory.
fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, bytes).expect("write scratch file");
    path
}

// ---------------------------------------------------------------------------
// pcap builders

fn put_u16(out: &mut Vec<u8>, le: bool, v: u16) {
    out.extend_from_slice(&if le { v.to_le_bytes() } else { v.to_be_bytes() });
}

fn put_u32(out: &mut Vec<u8>, le: bool, v: u32) {
    out.extend_from_slice(&if le { v.to_le_bytes() } else { v.to_be_bytes() });
}

fn put_u64(out: &mut Vec<u8>, le: bool, v: u64) {
    out.extend_from_slice(&if le { v.to_le_bytes() } else { v.to_be_bytes() });
}

fn pcap_header(le: bool, nanos: bool, snaplen: u32, link_type: u32) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, le, if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 });
    put_u16(&mut out, le, 2);
    put_u16(&mut out, le, 4);
    put_u32(&mut out, le, 0);
    put_u32(&mut out, le, 0);
    put_u32(&mut out, le, snaplen);
    put_u32(&mut out, le, link_type);
    out
}

/// A record whose header declares `incl_len`, followed by `data` (which may
/// be shorter, to build lies).
fn pcap_record_raw(
    le: bool,
    sec: u32,
    frac: u32,
    incl_len: u32,
    orig_len: u32,
    data: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, le, sec);
    put_u32(&mut out, le, frac);
    put_u32(&mut out, le, incl_len);
    put_u32(&mut out, le, orig_len);
    out.extend_from_slice(data);
    out
}

fn pcap_record(le: bool, sec: u32, frac: u32, data: &[u8], orig_len: u32) -> Vec<u8> {
    pcap_record_raw(le, sec, frac, data.len() as u32, orig_len, data)
}

fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

// ---------------------------------------------------------------------------
// pcapng builders

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const OPB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn block(le: bool, block_type: u32, body: &[u8]) -> Vec<u8> {
    let mut padded = body.to_vec();
    pad4(&mut padded);
    let total = 12 + padded.len() as u32;
    let mut out = Vec::new();
    put_u32(&mut out, le, block_type);
    put_u32(&mut out, le, total);
    out.extend_from_slice(&padded);
    put_u32(&mut out, le, total);
    out
}

fn shb(le: bool) -> Vec<u8> {
    let mut body = Vec::new();
    put_u32(&mut body, le, 0x1A2B_3C4D);
    put_u16(&mut body, le, 1);
    put_u16(&mut body, le, 0);
    put_u64(&mut body, le, u64::MAX);
    block(le, SHB, &body)
}

/// Options as (code, value); the end-of-options marker is added.
fn options(le: bool, opts: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    if opts.is_empty() {
        return out;
    }
    for (code, value) in opts {
        put_u16(&mut out, le, *code);
        put_u16(&mut out, le, value.len() as u16);
        out.extend_from_slice(value);
        pad4(&mut out);
    }
    put_u32(&mut out, le, 0);
    out
}

const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

fn idb(le: bool, link_type: u16, snaplen: u32, opts: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    put_u16(&mut body, le, link_type);
    put_u16(&mut body, le, 0);
    put_u32(&mut body, le, snaplen);
    body.extend_from_slice(&options(le, opts));
    block(le, IDB, &body)
}

fn tsoffset(le: bool, secs: i64) -> (u16, Vec<u8>) {
    let mut v = Vec::new();
    put_u64(&mut v, le, secs as u64);
    (IF_TSOFFSET, v)
}

fn epb(le: bool, interface: u32, ticks: u64, data: &[u8], orig_len: u32) -> Vec<u8> {
    let mut body = Vec::new();
    put_u32(&mut body, le, interface);
    put_u32(&mut body, le, (ticks >> 32) as u32);
    put_u32(&mut body, le, ticks as u32);
    put_u32(&mut body, le, data.len() as u32);
    put_u32(&mut body, le, orig_len);
    body.extend_from_slice(data);
    pad4(&mut body);
    // An epb_flags option, as Windows captures carry: must not disturb anything.
    body.extend_from_slice(&options(le, &[(2, vec![1, 0, 0, 0])]));
    block(le, EPB, &body)
}

fn opb(le: bool, interface: u16, ticks: u64, data: &[u8], orig_len: u32) -> Vec<u8> {
    let mut body = Vec::new();
    put_u16(&mut body, le, interface);
    put_u16(&mut body, le, 0);
    put_u32(&mut body, le, (ticks >> 32) as u32);
    put_u32(&mut body, le, ticks as u32);
    put_u32(&mut body, le, data.len() as u32);
    put_u32(&mut body, le, orig_len);
    body.extend_from_slice(data);
    block(le, OPB, &body)
}

fn spb(le: bool, orig_len: u32, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    put_u32(&mut body, le, orig_len);
    body.extend_from_slice(data);
    block(le, SPB, &body)
}

/// Concatenates blocks and returns the offset of each.
fn concat(parts: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for part in parts {
        offsets.push(out.len() as u64);
        out.extend_from_slice(part);
    }
    (out, offsets)
}

// ---------------------------------------------------------------------------
// pcap

#[test]
fn pcap_in_both_byte_orders_and_both_resolutions() {
    for le in [true, false] {
        for nanos in [false, true] {
            let frac = if nanos { 123_456_789 } else { 123_456 };
            let (bytes, offsets) = concat(&[
                pcap_header(le, nanos, 65535, 1),
                pcap_record(le, 1_700_000_000, frac, &payload(60, 1), 60),
                pcap_record(le, 1_700_000_001, 0, &payload(1514, 2), 1514),
                pcap_record(le, u32::MAX, 999, &payload(1, 3), 1),
            ]);
            let magic: &[u8] = match (le, nanos) {
                (true, false) => &[0xD4, 0xC3, 0xB2, 0xA1],
                (true, true) => &[0x4D, 0x3C, 0xB2, 0xA1],
                (false, false) => &[0xA1, 0xB2, 0xC3, 0xD4],
                (false, true) => &[0xA1, 0xB2, 0x3C, 0x4D],
            };
            assert_eq!(&bytes[..4], magic);
            let reader = CaptureReader::from_bytes(bytes.clone(), limits()).unwrap();
            assert_eq!(reader.format(), CaptureFormat::Pcap);
            assert_eq!(reader.offset(), 24);
            let (frames, error) = read_all(reader);
            assert!(error.is_none(), "{error:?}");
            let unit = if nanos { 1 } else { 1000 };
            let expected = [
                (
                    1_700_000_000 * 1_000_000_000 + i64::from(frac) * unit,
                    payload(60, 1),
                ),
                (1_700_000_001 * 1_000_000_000, payload(1514, 2)),
                (
                    i64::from(u32::MAX) * 1_000_000_000 + 999 * unit,
                    payload(1, 3),
                ),
            ];
            assert_eq!(frames.len(), 3);
            for (i, (frame, (ts, data))) in frames.iter().zip(expected).enumerate() {
                assert_eq!(frame.number, i as u64 + 1);
                assert_eq!(frame.offset, offsets[i + 1]);
                assert_eq!(frame.ts, ts, "le={le} nanos={nanos} frame {i}");
                assert_eq!(frame.link_type, 1);
                assert_eq!(frame.orig_len, data.len() as u32);
                assert_eq!(frame.data, data);
            }
        }
    }
}

/// pcap-file 2.0 refused records whose captured length exceeds the header's
/// snaplen; libpcap and Wireshark read them, and so must we.
#[test]
fn pcap_records_longer_than_the_snaplen_are_read() {
    for snaplen in [64, 0, 1, u32::MAX] {
        let (bytes, offsets) = concat(&[
            pcap_header(true, false, snaplen, 113),
            pcap_record(true, 10, 20, &payload(100, 7), 1500),
            // Beyond snaplen and beyond libpcap's 262144, but within the
            // record limit: unusual, not absurd.
            pcap_record(true, 11, 0, &payload(300_000, 8), 300_000),
        ]);
        let (frames, error) = from_bytes(&bytes);
        assert!(error.is_none(), "snaplen {snaplen}: {error:?}");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].data, payload(100, 7));
        assert_eq!(frames[0].orig_len, 1500);
        assert_eq!(frames[0].link_type, LinkType::LINUX_SLL.0);
        assert_eq!(frames[0].ts, 10_000_020_000);
        assert_eq!(frames[1].offset, offsets[2]);
        assert_eq!(frames[1].data.len(), 300_000);
    }
}

#[test]
fn pcap_link_type_ignores_fcs_bits() {
    // LINKTYPE_ETHERNET with the FCS-length bits (28..31) of the link-type field set.
    let bytes = [
        pcap_header(true, false, 65535, 0x1000_0001),
        pcap_record(true, 1, 0, &[0; 14], 14),
    ]
    .concat();
    let (frames, error) = from_bytes(&bytes);
    assert!(error.is_none());
    assert_eq!(frames[0].link_type, 1);
}

#[test]
fn header_only_captures_have_no_frames() {
    let pcap = pcap_header(false, true, 0, 1);
    let pcapng = shb(true);
    let pcapng_with_interface = [shb(false), idb(false, 1, 0, &[])].concat();
    for bytes in [pcap, pcapng, pcapng_with_interface] {
        let reader = CaptureReader::from_bytes(bytes.clone(), limits()).unwrap();
        let (frames, error) = read_all(reader);
        assert!(frames.is_empty());
        assert!(error.is_none(), "{error:?}");
        let (frames, error) = read_all(trickled(&bytes, limits()).unwrap());
        assert!(frames.is_empty());
        assert!(error.is_none(), "{error:?}");
    }
}

// ---------------------------------------------------------------------------
// pcapng

/// pcap-file 2.0 ignored if_tsoffset and mis-scaled binary if_tsresol. Here:
/// nanosecond ticks plus an offset, 2^-20 s ticks, the microsecond default,
/// and an offset that puts the time before 1970.
#[test]
fn pcapng_timestamps_follow_each_interfaces_resolution_and_offset() {
    let le = true;
    let (bytes, offsets) = concat(&[
        shb(le),
        idb(
            le,
            1,
            0,
            &[(IF_TSRESOL, vec![9]), tsoffset(le, 1_600_000_000)],
        ),
        idb(le, 113, 0, &[(IF_TSRESOL, vec![0x80 | 20])]),
        idb(le, 101, 65535, &[]),
        idb(le, 0, 65535, &[tsoffset(le, -10)]),
        epb(le, 0, 1_500_000_123, &payload(20, 0), 20),
        epb(
            le,
            1,
            (1_700_000_000u64 << 20) | (1 << 19),
            &payload(21, 1),
            21,
        ),
        epb(le, 1, (1_700_000_000u64 << 20) + 1, &payload(22, 2), 1000),
        epb(le, 2, 1_700_000_000_654_321, &payload(23, 3), 23),
        epb(le, 3, 5_000_000, &payload(24, 4), 24),
    ]);
    let reader = CaptureReader::from_bytes(bytes, limits()).unwrap();
    assert_eq!(reader.format(), CaptureFormat::PcapNg);
    let (frames, error) = read_all(reader);
    assert!(error.is_none(), "{error:?}");
    let expected: [(i64, u32); 5] = [
        (1_600_000_001_500_000_123, 1),
        (1_700_000_000_500_000_000, 113),
        // One tick of 2^-20 s is 953.67 ns: truncated to 953.
        (1_700_000_000_000_000_953, 113),
        (1_700_000_000_654_321_000, 101),
        (-5_000_000_000, 0),
    ];
    assert_eq!(frames.len(), expected.len());
    for (i, (frame, (ts, link))) in frames.iter().zip(expected).enumerate() {
        assert_eq!(frame.ts, ts, "frame {i}");
        assert_eq!(frame.link_type, link, "frame {i}");
        assert_eq!(frame.offset, offsets[5 + i]);
        assert_eq!(frame.number, i as u64 + 1);
        assert_eq!(frame.data, payload(20 + i, i as u8));
    }
    assert_eq!(frames[2].orig_len, 1000);
}

/// Micro- and nanosecond ticks without an offset are worked out in place
/// (not through pcap-file): the same values, up to the edge where the time
/// no longer fits in i64 nanoseconds and stays at `i64::MAX`, as before.
#[test]
fn pcapng_micro_and_nanosecond_ticks_up_to_the_largest_time() {
    let le = true;
    let max_us = (i64::MAX / 1_000) as u64; // 9_223_372_036_854_775
    let (bytes, _) = concat(&[
        shb(le),
        idb(le, 1, 0, &[]),
        idb(le, 1, 0, &[(IF_TSRESOL, vec![9])]),
        epb(le, 0, 1_700_000_000_654_321, &payload(20, 0), 20),
        epb(le, 1, 1_700_000_000_654_321_987, &payload(21, 1), 21),
        epb(le, 0, max_us, &payload(22, 2), 22),
        epb(le, 0, max_us + 1, &payload(23, 3), 23),
        epb(le, 0, u64::MAX, &payload(24, 4), 24),
        epb(le, 1, i64::MAX as u64, &payload(25, 5), 25),
        epb(le, 1, i64::MAX as u64 + 1, &payload(26, 6), 26),
    ]);
    let (frames, error) = from_bytes(&bytes);
    assert!(error.is_none(), "{error:?}");
    let got: Vec<i64> = frames.iter().map(|f| f.ts).collect();
    assert_eq!(
        got,
        [
            1_700_000_000_654_321_000,
            1_700_000_000_654_321_987,
            9_223_372_036_854_775_000,
            i64::MAX,
            i64::MAX,
            i64::MAX,
            i64::MAX,
        ]
    );
}

#[test]
fn pcapng_sections_each_have_their_byte_order_and_interfaces() {
    let (bytes, _) = concat(&[
        shb(true),
        idb(true, 1, 0, &[]),
        epb(true, 0, 1_000_000, &payload(10, 0), 10),
        shb(false),
        idb(false, 228, 0, &[]),
        idb(false, 229, 0, &[(IF_TSRESOL, vec![3])]),
        epb(false, 1, 2_000, &payload(11, 1), 11),
        epb(false, 0, 3_000_000, &payload(12, 2), 12),
        // Interface ids start again with each section.
        shb(true),
        idb(true, 276, 0, &[]),
        epb(true, 0, 4_000_000, &payload(13, 3), 13),
    ]);
    let (frames, error) = from_bytes(&bytes);
    assert!(error.is_none(), "{error:?}");
    let got: Vec<(i64, u32)> = frames.iter().map(|f| (f.ts, f.link_type)).collect();
    assert_eq!(
        got,
        [
            (1_000_000_000, 1),
            (2_000_000_000, 229),
            (3_000_000_000, 228),
            (4_000_000_000, 276)
        ]
    );
    assert_eq!(frames[3].data, payload(13, 3));
}

#[test]
fn pcapng_simple_and_obsolete_packet_blocks() {
    let le = false;
    let (bytes, offsets) = concat(&[
        shb(le),
        idb(le, 1, 58, &[(IF_TSRESOL, vec![9])]),
        idb(le, 105, 0, &[]),
        epb(le, 0, 7_000_000_000, &payload(30, 0), 30),
        // Cut to the interface's snaplen of 58 (the block holds 60 with its
        // padding); the wire length is the block's.
        spb(le, 100, &payload(58, 1)),
        // Block shorter than both: only what it holds.
        spb(le, 100, &payload(40, 2)),
        opb(le, 1, 8_000_000, &payload(50, 3), 70),
    ]);
    let (frames, error) = from_bytes(&bytes);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames.len(), 4);
    // Simple packet blocks have no timestamp: they take the previous frame's.
    assert_eq!(frames[1].ts, 7_000_000_000);
    assert_eq!(frames[1].link_type, 1);
    assert_eq!(frames[1].orig_len, 100);
    assert_eq!(frames[1].data, payload(58, 1));
    assert_eq!(frames[1].offset, offsets[4]);
    assert_eq!(frames[2].data, payload(40, 2));
    assert_eq!(frames[2].ts, 7_000_000_000);
    assert_eq!(frames[3].ts, 8_000_000_000);
    assert_eq!(frames[3].link_type, 105);
    assert_eq!(frames[3].orig_len, 70);
    assert_eq!(frames[3].data, payload(50, 3));
    assert_eq!(frames[3].number, 4);
}

#[test]
fn pcapng_blocks_without_packets_are_skipped() {
    let le = true;
    let mut isb = Vec::new();
    put_u32(&mut isb, le, 0);
    put_u64(&mut isb, le, 0);
    let (bytes, offsets) = concat(&[
        shb(le),
        block(le, 4, &[0, 0, 0, 0]), // name resolution, empty
        idb(le, 1, 0, &[]),
        epb(le, 0, 1, &payload(15, 0), 15),
        block(le, 5, &isb),                       // interface statistics
        block(le, 0x0000_0BAD, &[1, 2, 3, 4, 5]), // custom
        block(le, 0x0000_000A, b"secrets"),       // decryption secrets
        block(le, 0x7654_3210, &[]),              // unknown
        epb(le, 0, 2, &payload(16, 1), 16),
    ]);
    let (frames, error) = from_bytes(&bytes);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames.len(), 2);
    assert_eq!((frames[0].number, frames[0].offset), (1, offsets[3]));
    assert_eq!((frames[1].number, frames[1].offset), (2, offsets[8]));
    assert_eq!(frames[1].ts, 2_000);
}

// ---------------------------------------------------------------------------
// Damage at the start

#[test]
fn empty_file_is_an_error_at_offset_0() {
    let e = header_error(CaptureReader::from_bytes(Vec::new(), limits()));
    assert_eq!((e.offset, e.reason.as_str()), (0, "empty file"));
    let e = header_error(trickled(&[], limits()));
    assert_eq!((e.offset, e.reason.as_str()), (0, "empty file"));
    let path = scratch_file("empty.pcap", &[]);
    let e = header_error(CaptureReader::open(&path, limits()));
    assert_eq!((e.offset, e.reason.as_str()), (0, "empty file"));
}

#[test]
fn bad_magic_names_the_magic_and_suggests_decompressing() {
    let e = header_error(CaptureReader::from_bytes(
        b"hello, this is text".to_vec(),
        limits(),
    ));
    assert_eq!(e.offset, 0);
    assert!(
        e.reason.contains("not a pcap or pcapng file"),
        "{}",
        e.reason
    );
    assert!(e.reason.contains("magic 0x68656c6c"), "{}", e.reason);
    assert!(e.reason.contains("decompress"), "{}", e.reason);

    // gzip and zstd are read (tests/cli_compressed.rs); a gzip header cut
    // short is an error that names gzip.
    let gzip = vec![0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0, 3];
    let e = header_error(CaptureReader::from_bytes(gzip, limits()));
    assert_eq!(e.offset, 0);
    assert!(e.reason.contains("gzip data"), "{}", e.reason);
    // The compressions connlint does not read still say to decompress.
    for (start, kind) in [
        (&b"BZh91AY&SY"[..], "bzip2"),
        (&[0xFD, b'7', b'z', b'X', b'Z', 0, 0, 4][..], "xz"),
    ] {
        let e = header_error(CaptureReader::from_bytes(start.to_vec(), limits()));
        assert_eq!(e.offset, 0);
        assert!(
            e.reason.contains(kind) && e.reason.contains("decompress"),
            "{}",
            e.reason
        );
    }

    let e = header_error(CaptureReader::from_bytes(vec![0xA1, 0xB2], limits()));
    assert_eq!(e.offset, 0);
    assert!(e.reason.contains("only 2 bytes"), "{}", e.reason);
}

#[test]
fn cut_file_headers_are_errors_at_offset_0() {
    let pcap = pcap_header(true, false, 65535, 1);
    let e = header_error(CaptureReader::from_bytes(pcap[..10].to_vec(), limits()));
    assert_eq!(e.offset, 0);
    assert!(
        e.reason
            .contains("10 bytes into the 24-byte pcap file header"),
        "{}",
        e.reason
    );

    let ng = shb(true);
    let e = header_error(CaptureReader::from_bytes(ng[..20].to_vec(), limits()));
    assert_eq!(e.offset, 0);
    assert!(
        e.reason
            .contains("section header block declares a total length of 28"),
        "{}",
        e.reason
    );

    let mut bad_order = shb(true);
    bad_order[8..12].copy_from_slice(&[1, 2, 3, 4]);
    let e = header_error(CaptureReader::from_bytes(bad_order, limits()));
    assert_eq!(e.offset, 0);
    assert!(
        e.reason.contains("byte-order magic 0x01020304"),
        "{}",
        e.reason
    );
}

// ---------------------------------------------------------------------------
// Damage later on: frames before it, then the error at the record's offset

#[test]
fn pcap_cut_in_the_middle_of_a_record() {
    let (mut bytes, offsets) = concat(&[
        pcap_header(true, false, 65535, 1),
        pcap_record(true, 1, 0, &payload(40, 0), 40),
        pcap_record(true, 2, 0, &payload(100, 1), 100),
    ]);
    bytes.truncate(offsets[2] as usize + 16 + 30);
    let (frames, error) = from_bytes(&bytes);
    assert_eq!(frames.len(), 1);
    assert_error(
        error,
        offsets[2],
        &[
            "declares 100 captured bytes but the file ends after 30",
            "cut short",
        ],
    );
}

#[test]
fn pcap_trailing_garbage_shorter_than_a_record_header() {
    let (mut bytes, offsets) = concat(&[
        pcap_header(false, false, 65535, 1),
        pcap_record(false, 1, 0, &payload(40, 0), 40),
    ]);
    let garbage_at = bytes.len() as u64;
    bytes.extend_from_slice(&[0xFF; 5]);
    let (frames, error) = from_bytes(&bytes);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].offset, offsets[1]);
    assert_error(
        error,
        garbage_at,
        &[
            "5 bytes into a 16-byte pcap record header",
            "trailing garbage",
        ],
    );
}

#[test]
fn pcap_absurd_captured_length_is_an_error_not_an_allocation() {
    let (bytes, offsets) = concat(&[
        pcap_header(true, false, 65535, 1),
        pcap_record(true, 1, 0, &payload(40, 0), 40),
        pcap_record_raw(true, 2, 0, 0xFFFF_FFF0, 0xFFFF_FFF0, &payload(64, 1)),
    ]);
    let (frames, error) = from_bytes(&bytes);
    assert_eq!(frames.len(), 1);
    assert_error(
        error,
        offsets[2],
        &[
            "declares 4294967280 captured bytes",
            "snaplen (65535)",
            "damaged",
        ],
    );

    // With a smaller limit: beyond libpcap's maximum and the limit is an
    // error; beyond the limit alone is not, for a file in memory.
    let small = ReaderLimits {
        max_record_bytes: 1000,
    };
    let too_big = [
        pcap_header(true, false, 65535, 1),
        pcap_record_raw(true, 2, 0, 300_000, 300_000, &payload(64, 1)),
    ]
    .concat();
    let (_, error) = read_all(CaptureReader::from_bytes(too_big, small).unwrap());
    assert_error(
        error,
        24,
        &["declares 300000 captured bytes", "1000-byte record limit"],
    );
    let unusual = [
        pcap_header(true, false, 65535, 1),
        pcap_record(true, 2, 0, &payload(2000, 1), 2000),
    ]
    .concat();
    let (frames, error) = read_all(CaptureReader::from_bytes(unusual.clone(), small).unwrap());
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames[0].data.len(), 2000);
    // A stream cannot buffer it.
    let (frames, error) = read_all(trickled(&unusual, small).unwrap());
    assert!(frames.is_empty());
    assert_error(
        error,
        24,
        &["declares 2000 captured bytes", "1000-byte limit", "stream"],
    );
}

/// An endless stream whose bytes are counted: a reader that believed a 4 GB
/// captured length would try to buffer it.
struct Endless {
    prefix: Vec<u8>,
    served: usize,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.prefix.get(self.served + i).copied().unwrap_or(0);
        }
        self.served += buf.len();
        Ok(buf.len())
    }
}

#[test]
fn stream_with_a_4_gb_captured_length_errors_without_buffering_it() {
    let prefix = [
        pcap_header(true, false, u32::MAX, 1),
        pcap_record(true, 1, 0, &payload(40, 0), 40),
        pcap_record_raw(true, 2, 0, 0xFFFF_FFFF, 0xFFFF_FFFF, &[]),
    ]
    .concat();
    let endless = std::rc::Rc::new(std::cell::RefCell::new(Endless { prefix, served: 0 }));
    struct Shared(std::rc::Rc<std::cell::RefCell<Endless>>);
    impl Read for Shared {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().read(buf)
        }
    }
    let reader = CaptureReader::from_read(Box::new(Shared(endless.clone())), limits()).unwrap();
    let (frames, error) = read_all(reader);
    assert_eq!(frames.len(), 1);
    assert_error(
        error,
        24 + 56,
        &["declares 4294967295 captured bytes", "limit", "stream"],
    );
    // One buffer's worth was read, not gigabytes.
    assert!(
        endless.borrow().served <= 256 << 10,
        "read {} bytes",
        endless.borrow().served
    );

    // The same in pcapng: a block claiming 4 GB.
    let mut prefix = [shb(true), idb(true, 1, 0, &[])].concat();
    let at = prefix.len() as u64;
    put_u32(&mut prefix, true, EPB);
    put_u32(&mut prefix, true, 0xFFFF_FFFC);
    let endless = std::rc::Rc::new(std::cell::RefCell::new(Endless { prefix, served: 0 }));
    let reader = CaptureReader::from_read(Box::new(Shared(endless.clone())), limits()).unwrap();
    let (frames, error) = read_all(reader);
    assert!(frames.is_empty());
    assert_error(
        error,
        at,
        &[
            "enhanced packet block declares a total length of 4294967292 bytes",
            "stream",
        ],
    );
    assert!(endless.borrow().served <= 256 << 10);
}

#[test]
fn pcapng_block_lengths_that_lie() {
    let le = true;
    let start = [
        shb(le),
        idb(le, 1, 0, &[]),
        epb(le, 0, 1, &payload(9, 0), 9),
    ]
    .concat();
    let at = start.len() as u64;
    let good = epb(le, 0, 2, &payload(10, 1), 10);
    let with = |tail: &[u8]| [start.as_slice(), tail].concat();
    let total = good.len() as u32;

    let mut short = good.clone();
    short[4..8].copy_from_slice(&8u32.to_le_bytes());
    let mut unaligned = good.clone();
    unaligned[4..8].copy_from_slice(&(total - 2).to_le_bytes());
    let mut mismatch = good.clone();
    let n = mismatch.len();
    mismatch[n - 4..].copy_from_slice(&(total + 4).to_le_bytes());
    let mut past_end = good.clone();
    past_end[4..8].copy_from_slice(&(total + 400).to_le_bytes());
    let cut = good[..good.len() - 6].to_vec();
    let header_cut = good[..7].to_vec();

    let cases: [(&[u8], &[&str]); 6] = [
        (
            &short,
            &["declares a total length of 8 bytes", "12-byte minimum"],
        ),
        (
            &unaligned,
            &[
                &format!("declares a total length of {} bytes", total - 2),
                "multiple of 4",
            ],
        ),
        (
            &mismatch,
            &[&format!(
                "{total} bytes at its start but {} at its end",
                total + 4
            )],
        ),
        (
            &past_end,
            &[&format!(
                "declares a total length of {} bytes but the file ends after {total}",
                total + 400
            )],
        ),
        (
            &cut,
            &[&format!(
                "declares a total length of {total} bytes but the file ends after {}",
                total - 6
            )],
        ),
        (&header_cut, &["7 bytes into a 12-byte pcapng block header"]),
    ];
    for (tail, phrases) in cases {
        let bytes = with(tail);
        for (frames, error) in [
            from_bytes(&bytes),
            read_all(trickled(&bytes, limits()).unwrap()),
        ] {
            assert_eq!(frames.len(), 1, "{phrases:?}");
            assert_error(error, at, phrases);
        }
    }
}

#[test]
fn pcapng_packet_fields_that_lie() {
    let le = false;
    let start = [shb(le), idb(le, 1, 0, &[])].concat();
    let at = start.len() as u64;
    let with = |tail: Vec<u8>| [start.clone(), tail].concat();

    let (_, error) = from_bytes(&with(epb(le, 3, 1, &payload(10, 0), 10)));
    assert_error(
        error,
        at,
        &[
            "enhanced packet block refers to interface 3",
            "describes only 1 interface",
        ],
    );
    let (_, error) = from_bytes(&with(opb(le, 1, 1, &payload(10, 0), 10)));
    assert_error(error, at, &["packet block refers to interface 1"]);

    let mut caplen_lies = epb(le, 0, 1, &payload(10, 0), 10);
    caplen_lies[20..24].copy_from_slice(&1000u32.to_be_bytes());
    let (_, error) = from_bytes(&with(caplen_lies));
    assert_error(error, at, &["declares 1000 captured bytes but holds only"]);

    let (_, error) = from_bytes(&with(block(le, EPB, &[0; 8])));
    assert_error(error, at, &["too short for its packet header"]);

    // A simple packet block needs interface 0.
    let (frames, error) = from_bytes(&[shb(le), spb(le, 4, &[1, 2, 3, 4])].concat());
    assert!(frames.is_empty());
    assert_error(error, 28, &["before any interface description block"]);

    // A new section forgets the old one's interfaces.
    let (bytes, offsets) = concat(&[
        start.clone(),
        epb(le, 0, 1, &[1], 1),
        shb(le),
        epb(le, 0, 1, &[2], 1),
    ]);
    let (frames, error) = from_bytes(&bytes);
    assert_eq!(frames.len(), 1);
    assert_error(
        error,
        offsets[3],
        &["refers to interface 0", "describes only 0"],
    );

    // A later section header with a bad byte-order magic.
    let mut bad = shb(le);
    bad[8..12].copy_from_slice(b"oops");
    let (_, error) = from_bytes(&with(bad));
    assert_error(error, at, &["byte-order magic 0x6f6f7073"]);

    // A malformed interface description (if_tsresol must be one byte).
    let (_, error) = from_bytes(&with(idb(le, 1, 0, &[(IF_TSRESOL, vec![6, 6])])));
    assert_error(error, at, &["interface description block is malformed"]);
}

#[test]
fn pcapng_stream_rejects_blocks_over_the_limit_that_a_file_accepts() {
    let small = ReaderLimits {
        max_record_bytes: 1000,
    };
    let bytes = [
        shb(true),
        idb(true, 1, 0, &[]),
        epb(true, 0, 1, &payload(2000, 0), 2000),
    ]
    .concat();
    let (frames, error) = read_all(CaptureReader::from_bytes(bytes.clone(), small).unwrap());
    assert!(error.is_none());
    assert_eq!(frames[0].data, payload(2000, 0));
    let (frames, error) = read_all(trickled(&bytes, small).unwrap());
    assert!(frames.is_empty());
    assert_error(
        error,
        48,
        &["1000-byte limit for one block when reading a stream"],
    );
}

// ---------------------------------------------------------------------------
// Cut at every byte

/// A capture, the offsets where its records (pcap records or pcapng blocks)
/// start and end, and for each record whether it is a packet.
struct Layout {
    bytes: Vec<u8>,
    header_len: usize,
    records: Vec<(usize, usize, bool)>,
}

fn layout(header: Vec<u8>, records: &[(Vec<u8>, bool)]) -> Layout {
    let header_len = header.len();
    let mut bytes = header;
    let mut spans = Vec::new();
    for (record, is_packet) in records {
        let start = bytes.len();
        bytes.extend_from_slice(record);
        spans.push((start, bytes.len(), *is_packet));
    }
    Layout {
        bytes,
        header_len,
        records: spans,
    }
}

fn check_every_prefix(capture: &Layout, stream: bool) {
    let (all, error) = from_bytes(&capture.bytes);
    assert!(error.is_none());
    for cut in 0..=capture.bytes.len() {
        let prefix = &capture.bytes[..cut];
        let opened = if stream {
            trickled(prefix, limits())
        } else {
            CaptureReader::from_bytes(prefix.to_vec(), limits())
        };
        if cut < capture.header_len {
            let e = header_error(opened);
            assert_eq!(e.offset, 0, "cut at {cut}: {}", e.reason);
            continue;
        }
        let (frames, error) = read_all(opened.unwrap_or_else(|e| panic!("cut at {cut}: {e}")));
        let complete = capture.records.iter().filter(|r| r.1 <= cut && r.2).count();
        assert_eq!(frames, all[..complete], "cut at {cut}");
        match capture.records.iter().find(|r| r.0 < cut && cut < r.1) {
            None => assert!(
                error.is_none(),
                "cut at {cut} is at a record boundary: {error:?}"
            ),
            Some(partial) => {
                let e =
                    error.unwrap_or_else(|| panic!("cut at {cut} inside a record read cleanly"));
                assert_eq!(e.offset, partial.0 as u64, "cut at {cut}: {}", e.reason);
            }
        }
    }
}

fn small_pcap() -> Layout {
    layout(
        pcap_header(true, true, 96, 1),
        &[
            (pcap_record(true, 1, 5, &payload(42, 0), 42), true),
            (pcap_record(true, 2, 6, &[], 0), true),
            (pcap_record(true, 3, 7, &payload(3, 1), 60), true),
            (pcap_record(true, 4, 8, &payload(97, 2), 1500), true),
        ],
    )
}

fn small_pcapng() -> Layout {
    let le = false;
    layout(
        shb(le),
        &[
            (idb(le, 1, 0, &[(IF_TSRESOL, vec![9])]), false),
            (epb(le, 0, 1_000, &payload(42, 0), 42), true),
            (block(le, 4, &[0, 0, 0, 0]), false),
            (spb(le, 5, &payload(5, 1)), true),
            (idb(le, 113, 0, &[]), false),
            (epb(le, 1, 2_000, &payload(1, 2), 1), true),
            (shb(!le), false),
            (idb(!le, 0, 0, &[]), false),
            (opb(!le, 0, 3, &payload(7, 3), 7), true),
        ],
    )
}

#[test]
fn pcap_cut_at_every_byte() {
    check_every_prefix(&small_pcap(), false);
}

#[test]
fn pcapng_cut_at_every_byte() {
    check_every_prefix(&small_pcapng(), false);
}

#[test]
fn streams_cut_at_every_byte() {
    check_every_prefix(&small_pcap(), true);
    check_every_prefix(&small_pcapng(), true);
}

// ---------------------------------------------------------------------------
// Real captures (copied from the public corpus; provenance in
// tests/data/capture/PROVENANCE.tsv)

fn data_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/capture")
        .join(name)
}

struct Expected {
    file: &'static str,
    format: CaptureFormat,
    link_type: u32,
    /// `pkts=` in the MANIFEST description.
    frames: usize,
    /// First and last `frame.time_epoch` from `tshark -r FILE -T fields -e
    /// frame.time_epoch` (tshark 4.0), as nanoseconds.
    first_ts: i64,
    last_ts: i64,
    /// Sum of tshark's `frame.cap_len` and `frame.len` over all frames.
    captured_bytes: usize,
    wire_bytes: u64,
}

const REAL: [Expected; 5] = [
    Expected {
        file: "sv__tests-http-connect-http-connect-simple-input.pcap",
        format: CaptureFormat::Pcap, // LE microseconds
        link_type: 0,
        frames: 16,
        first_ts: 1_599_545_738_655_423_000,
        last_ts: 1_599_545_738_658_224_000,
        captured_bytes: 1107,
        wire_bytes: 1107,
    },
    Expected {
        file: "pcapplusplus__Tests-Pcap++Test-PcapExamples-nanosecs_big_endian.pcap",
        format: CaptureFormat::Pcap, // BE nanoseconds
        link_type: 1,
        frames: 10,
        first_ts: 1_766_361_926_167_647_291,
        last_ts: 1_766_361_926_168_451_894,
        captured_bytes: 2198,
        wire_bytes: 2198,
    },
    Expected {
        file: "ndpi__tests-cfgs-default-pcap-fuzz-2006-09-29-28586.pcap",
        format: CaptureFormat::Pcap, // BE microseconds
        link_type: 1,
        frames: 131,
        first_ts: 1_031_854_484_481_540_000,
        last_ts: 1_031_854_568_982_740_000,
        captured_bytes: 33626,
        wire_bytes: 33626,
    },
    Expected {
        file: "ndpi__tests-cfgs-default-pcap-http_asymmetric.pcapng",
        format: CaptureFormat::PcapNg, // two interfaces
        link_type: 1,
        frames: 23,
        first_ts: 1_631_378_210_394_414_000,
        last_ts: 1_631_378_215_504_945_000,
        captured_bytes: 9961,
        wire_bytes: 9961,
    },
    Expected {
        file: "tcpdump__tests-tcp-handshake-nano.pcap",
        format: CaptureFormat::Pcap, // LE nanoseconds
        link_type: 113,
        frames: 3,
        first_ts: 1_418_145_369_924_505_488,
        last_ts: 1_418_145_370_052_115_157,
        captured_bytes: 220,
        wire_bytes: 220,
    },
];

#[test]
fn real_captures_match_tshark() {
    for want in &REAL {
        let reader = CaptureReader::open(&data_file(want.file), limits()).unwrap();
        assert_eq!(reader.format(), want.format, "{}", want.file);
        let (frames, error) = read_all(reader);
        assert!(error.is_none(), "{}: {error:?}", want.file);
        assert_eq!(frames.len(), want.frames, "{}", want.file);
        assert_eq!(frames[0].ts, want.first_ts, "{}", want.file);
        assert_eq!(frames[frames.len() - 1].ts, want.last_ts, "{}", want.file);
        assert!(
            frames.iter().all(|f| f.link_type == want.link_type),
            "{}",
            want.file
        );
        let captured: usize = frames.iter().map(|f| f.data.len()).sum();
        let wire: u64 = frames.iter().map(|f| u64::from(f.orig_len)).sum();
        assert_eq!(
            (captured, wire),
            (want.captured_bytes, want.wire_bytes),
            "{}",
            want.file
        );
        assert!(frames
            .iter()
            .enumerate()
            .all(|(i, f)| f.number == i as u64 + 1));
    }
}

#[test]
fn real_pcapng_frames_come_from_both_interfaces_in_file_order() {
    // tshark: frame.interface_id for frames 1..5 is 1, 0, 1, 1, 0, with
    // frame.time_epoch .394414, .394789, .395432, .395680, .396184.
    let reader = CaptureReader::open(&data_file(REAL[3].file), limits()).unwrap();
    let (frames, _) = read_all(reader);
    let firsts: Vec<i64> = frames[..5]
        .iter()
        .map(|f| f.ts - 1_631_378_210_000_000_000)
        .collect();
    assert_eq!(
        firsts,
        [
            394_414_000,
            394_789_000,
            395_432_000,
            395_680_000,
            396_184_000
        ]
    );
}

#[test]
fn trickled_streams_and_memory_give_the_same_frames_as_the_memory_map() {
    let mut captures: Vec<(String, Vec<u8>)> = REAL
        .iter()
        .map(|want| {
            (
                want.file.to_string(),
                std::fs::read(data_file(want.file)).unwrap(),
            )
        })
        .collect();
    captures.push(("small pcap".into(), small_pcap().bytes));
    captures.push(("small pcapng".into(), small_pcapng().bytes));
    for (name, bytes) in captures {
        let path = scratch_file(&format!("same-{}", name.replace(' ', "-")), &bytes);
        let (from_file, e1) = read_all(CaptureReader::open(&path, limits()).unwrap());
        let (streamed, e2) = read_all(trickled(&bytes, limits()).unwrap());
        let (owned, e3) = read_all(CaptureReader::from_bytes(bytes.clone(), limits()).unwrap());
        assert!(e1.is_none() && e2.is_none() && e3.is_none(), "{name}");
        assert!(!from_file.is_empty());
        assert_eq!(from_file, streamed, "{name}");
        assert_eq!(from_file, owned, "{name}");
    }
}

/// A stream that hands out fixed-size chunks.
struct Chunked {
    bytes: Vec<u8>,
    at: usize,
    chunk: usize,
}

impl Read for Chunked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Captures several times larger than the stream buffer, with records from
/// empty to larger than the buffer, so that the buffer is compacted and
/// refilled many times and has to grow.
#[test]
fn long_streams_compact_and_grow_their_buffer() {
    let sizes = [
        0usize, 1, 3, 60, 1514, 9000, 65535, 300_000, 17, 1514, 400_000, 2,
    ];
    let mut pcap = pcap_header(false, false, 65535, 1);
    let mut pcapng = [shb(true), idb(true, 1, 0, &[])].concat();
    for round in 0..4u32 {
        for (i, &size) in sizes.iter().enumerate() {
            let data = payload(size, (round as u8) ^ (i as u8));
            pcap.extend(pcap_record(false, round, i as u32, &data, size as u32 + 4));
            pcapng.extend(epb(
                true,
                0,
                u64::from(round) << 20 | i as u64,
                &data,
                size as u32,
            ));
            pcapng.extend(block(true, 5, &[0; 12]));
        }
    }
    assert!(pcap.len() > 3_000_000);
    for bytes in [pcap, pcapng] {
        let (all, error) = from_bytes(&bytes);
        assert!(error.is_none());
        assert_eq!(all.len(), 4 * sizes.len());
        for chunk in [1000, 65536, 1 << 20] {
            let stream = Chunked {
                bytes: bytes.clone(),
                at: 0,
                chunk,
            };
            let (streamed, error) =
                read_all(CaptureReader::from_read(Box::new(stream), limits()).unwrap());
            assert!(error.is_none(), "chunk {chunk}: {error:?}");
            assert_eq!(streamed, all, "chunk {chunk}");
        }
        let (trickled_frames, error) = read_all(trickled(&bytes, limits()).unwrap());
        assert!(error.is_none());
        assert_eq!(trickled_frames, all);
        // Cut inside the last big record: the error names its offset.
        let big = &all[all.len() - 2];
        let cut = &bytes[..big.offset as usize + 100_000];
        let stream = Chunked {
            bytes: cut.to_vec(),
            at: 0,
            chunk: 4096,
        };
        let (frames, error) =
            read_all(CaptureReader::from_read(Box::new(stream), limits()).unwrap());
        assert_eq!(frames, all[..all.len() - 2]);
        assert_eq!(error.unwrap().offset, big.offset);
    }
}

#[cfg(unix)]
#[test]
fn open_streams_a_fifo() {
    let path =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("capture-{}.fifo", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    let bytes = std::fs::read(data_file(REAL[3].file)).unwrap();
    let writer_path = path.clone();
    let writer_bytes = bytes.clone();
    let writer = std::thread::spawn(move || {
        let mut fifo = std::fs::OpenOptions::new()
            .write(true)
            .open(writer_path)
            .unwrap();
        for chunk in writer_bytes.chunks(1000) {
            fifo.write_all(chunk).unwrap();
        }
    });
    let (from_fifo, error) = read_all(CaptureReader::open(&path, limits()).unwrap());
    writer.join().unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(error.is_none(), "{error:?}");
    let (from_memory, _) = read_all(CaptureReader::from_bytes(bytes, limits()).unwrap());
    assert_eq!(from_fifo.len(), REAL[3].frames);
    assert_eq!(from_fifo, from_memory);
}

#[test]
fn open_reports_what_it_cannot_open() {
    let e = header_error(CaptureReader::open(
        Path::new("/nonexistent/x.pcap"),
        limits(),
    ));
    assert_eq!(e.offset, 0);
    assert!(e.reason.contains("cannot open"), "{}", e.reason);
    let e = header_error(CaptureReader::open(
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        limits(),
    ));
    assert!(e.reason.contains("directory"), "{}", e.reason);
}

// ---------------------------------------------------------------------------
// The whole public corpus: tests/corpus, or another directory laid out the
// same way (MANIFEST.tsv and files/) named by CONNLINT_CORPUS.

#[test]
fn corpus_frame_counts_match_the_manifest() {
    let dir = std::env::var_os("CONNLINT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus"));
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut checked = 0;
    for line in manifest.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (file, description) = (fields[0], fields[7]);
        let pkts: usize = description
            .split(';')
            .find_map(|part| part.trim().strip_prefix("pkts="))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{file}: no pkts= in the description"));
        let cut_short = description.contains("cut short in the middle of a packet");
        let path = dir.join("files").join(file);
        let (frames, error) = read_all(CaptureReader::open(&path, limits()).unwrap());
        assert_eq!(frames.len(), pkts, "{file}");
        assert_eq!(error.is_some(), cut_short, "{file}: {error:?}");
        let bytes = std::fs::read(&path).unwrap();
        let (streamed, stream_error) = read_all(trickled(&bytes, limits()).unwrap());
        assert_eq!(frames, streamed, "{file}");
        assert_eq!(error, stream_error, "{file}");
        checked += 1;
    }
    // Every file of files/ is in the manifest and was read.
    let files = std::fs::read_dir(dir.join("files")).unwrap().count();
    assert_eq!(checked, files, "MANIFEST.tsv rows and files/ disagree");
    assert!(
        checked >= 119,
        "only {checked} captures in {}",
        dir.display()
    );
}
