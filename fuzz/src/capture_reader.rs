//! Target `capture_reader`: arbitrary bytes as a whole capture file.
//!
//! The bytes are read twice, from memory (`CaptureReader::from_bytes`) and as
//! a stream that hands them over a few bytes per `read` (as a pipe may), so
//! that the stream buffer's compaction and growth run at every record
//! boundary. Both must see the same frames and stop at the same offset.
//!
//! Invariants: frames are numbered 1, 2, ... with strictly increasing
//! offsets inside the file; a frame's bytes lie inside the file; an error
//! comes after every frame (its offset is not before the last frame's) and
//! nothing comes after it; the reader never claims to have consumed more
//! than the file.

use connlint::capture::{CaptureError, CaptureReader, ReaderLimits};
use connlint::Timestamp;
use std::io::Read;

/// What one read of the capture produced, for comparing the two readers.
#[derive(Debug, PartialEq, Eq)]
struct FrameSummary {
    number: u64,
    offset: u64,
    ts: Timestamp,
    link_type: u32,
    data: Vec<u8>,
    orig_len: u32,
}

/// Record limit small enough that some fuzzed records exceed it (the
/// stream refuses those before buffering them), large enough for seeds.
const LIMITS: ReaderLimits = ReaderLimits {
    max_record_bytes: 1 << 16,
};

pub fn run(data: &[u8]) {
    let owned = read_all(data.len(), CaptureReader::from_bytes(data.to_vec(), LIMITS));
    // Read sizes cycle through 1..=7 bytes, then whatever is asked: every
    // record boundary falls at a different place in the stream's reads.
    let stream = read_all(
        data.len(),
        CaptureReader::from_read(Box::new(Trickle::new(data.to_vec())), LIMITS),
    );
    assert_eq!(
        owned.0, stream.0,
        "memory and stream readers saw different frames"
    );
    // Both stop at the same place, whether cleanly or at damage; the
    // messages may differ (a stream refuses an over-limit record that a
    // file would show as cut short).
    assert_eq!(
        owned.1.as_ref().map(|e| e.offset),
        stream.1.as_ref().map(|e| e.offset),
        "memory and stream readers stopped at different offsets: {:?} / {:?}",
        owned.1,
        stream.1
    );
}

/// Reads every frame, checking the invariants; returns the frames and the
/// error that ended the capture, if any.
fn read_all(
    file_len: usize,
    opened: Result<CaptureReader, CaptureError>,
) -> (Vec<FrameSummary>, Option<CaptureError>) {
    let file_len = file_len as u64;
    let mut reader = match opened {
        Ok(r) => r,
        Err(e) => {
            assert!(e.offset <= file_len, "open error past the end: {e}");
            assert!(!e.reason.is_empty());
            return (Vec::new(), Some(e));
        }
    };
    let mut frames: Vec<FrameSummary> = Vec::new();
    let error = loop {
        let before = reader.offset();
        assert!(
            before <= file_len,
            "offset {before} past the end ({file_len})"
        );
        match reader.next_frame() {
            Ok(Some(frame)) => {
                assert_eq!(frame.number, frames.len() as u64 + 1, "frame numbers skip");
                assert!(frame.offset >= before, "frame before the reader's position");
                if let Some(last) = frames.last() {
                    assert!(frame.offset > last.offset, "frame offsets do not increase");
                }
                let end = frame.offset + frame.data.len() as u64;
                assert!(end <= file_len, "frame runs past the end of the file");
                assert!(frame.data.len() <= LIMITS.max_record_bytes.max(262_144));
                frames.push(FrameSummary {
                    number: frame.number,
                    offset: frame.offset,
                    ts: frame.ts,
                    link_type: frame.link_type.0,
                    data: frame.data.to_vec(),
                    orig_len: frame.orig_len,
                });
            }
            Ok(None) => break None,
            Err(e) => {
                assert!(e.offset <= file_len, "error past the end: {e}");
                assert!(!e.reason.is_empty());
                if let Some(last) = frames.last() {
                    assert!(
                        e.offset > last.offset,
                        "error before a frame it let through: {e}"
                    );
                }
                break Some(e);
            }
        }
        assert!(reader.offset() > before, "a frame consumed no bytes");
    };
    // Nothing after the end, clean or not.
    for _ in 0..2 {
        assert!(
            matches!(reader.next_frame(), Ok(None)),
            "frame after the end"
        );
    }
    assert!(reader.offset() <= file_len);
    (frames, error)
}

/// A reader that hands out its bytes a few at a time.
struct Trickle {
    bytes: Vec<u8>,
    pos: usize,
    reads: usize,
}

impl Trickle {
    fn new(bytes: Vec<u8>) -> Trickle {
        Trickle {
            bytes,
            pos: 0,
            reads: 0,
        }
    }
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reads += 1;
        let want = match self.reads % 8 {
            0 => buf.len(),
            n => n.min(buf.len()),
        };
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        let n = want.min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}
