//! PLACEHOLDER: implemented by the capture helper.
use super::{CaptureError, Frame};
use std::path::Path;

/// Which container format a capture is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap,
    PcapNg,
}

/// Bounds on what the reader will buffer for one record.
#[derive(Clone, Copy, Debug)]
pub struct ReaderLimits {
    /// Largest record (pcap record or pcapng block) accepted, in bytes.
    pub max_record_bytes: usize,
}

impl Default for ReaderLimits {
    fn default() -> Self {
        ReaderLimits {
            max_record_bytes: 16 << 20,
        }
    }
}

pub struct CaptureReader {}

impl CaptureReader {
    /// Opens a capture file (memory-mapped) or, for `-`, standard input (streamed).
    pub fn open(_path: &Path, _limits: ReaderLimits) -> Result<CaptureReader, CaptureError> {
        todo!()
    }
    /// Reads a capture from any byte stream with bounded buffering.
    pub fn from_read(
        _read: Box<dyn std::io::Read>,
        _limits: ReaderLimits,
    ) -> Result<CaptureReader, CaptureError> {
        todo!()
    }
    /// Reads a capture held in memory (tests, fuzzing).
    pub fn from_bytes(
        _bytes: Vec<u8>,
        _limits: ReaderLimits,
    ) -> Result<CaptureReader, CaptureError> {
        todo!()
    }
    pub fn format(&self) -> CaptureFormat {
        todo!()
    }
    /// The next frame; `Ok(None)` at a clean end of file; `Err` once at the first
    /// damage (later calls return `Ok(None)`).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        todo!()
    }
    /// Bytes consumed so far (the offset of the next record).
    pub fn offset(&self) -> u64 {
        todo!()
    }
}
