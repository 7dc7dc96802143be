//! What the pcap and pcapng readers share: the reader's bounds, where a
//! located frame lies, the record-header check that turns a cut file into
//! an offset and a reason, and bounds-checked integer reads. Its own module
//! so that the two containers and the reader that dispatches between them
//! import it, not each other.

use super::input::Input;
use super::{CaptureError, LinkType};
use crate::Timestamp;

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

/// Where the next frame lies in the input's buffer and what it is; found
/// before the frame borrows the buffer.
pub(super) struct Located {
    pub offset: u64,
    pub data_start: usize,
    pub data_len: usize,
    pub ts: Timestamp,
    pub link_type: LinkType,
    pub orig_len: u32,
}

/// Makes the `len`-byte header of the next record (`what`) available at the
/// start of the input's window: `false` at a clean end of file, an error when
/// the file ends inside the header.
pub(super) fn record_header(
    input: &mut Input,
    len: usize,
    what: &str,
) -> Result<bool, CaptureError> {
    let offset = input.offset();
    if input.ensure(len)? {
        return Ok(true);
    }
    let have = input.window().len();
    if have == 0 {
        return Ok(false);
    }
    Err(CaptureError::new(
        offset,
        format!(
            "the file ends {} into a {len}-byte {what}: it is cut short or has trailing garbage",
            bytes(have)
        ),
    ))
}

/// "1 byte", "5 bytes".
pub(super) fn bytes(n: usize) -> String {
    if n == 1 {
        "1 byte".to_string()
    } else {
        format!("{n} bytes")
    }
}

/// The `N` bytes at `at`, if there are that many.
fn array_at<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.saturating_add(N))?.try_into().ok()
}

/// The 32-bit word at `at` (0 past the end).
pub(super) fn u32_at(bytes: &[u8], at: usize, big_endian: bool) -> u32 {
    match array_at(bytes, at) {
        Some(word) if big_endian => u32::from_be_bytes(word),
        Some(word) => u32::from_le_bytes(word),
        None => 0,
    }
}

/// The 16-bit half-word at `at` (0 past the end).
pub(super) fn u16_at(bytes: &[u8], at: usize, big_endian: bool) -> u16 {
    match array_at(bytes, at) {
        Some(half) if big_endian => u16::from_be_bytes(half),
        Some(half) => u16::from_le_bytes(half),
        None => 0,
    }
}
