//! Stage 1: reading capture files.
//!
//! A [`CaptureReader`] yields [`Frame`]s one at a time from a pcap or pcapng
//! file (detected by magic number), read through one bounded buffer whether
//! it is a regular file, standard input (`-`) or a pipe. Frames borrow from
//! the reader's buffer, so nothing is copied per packet beyond the read.
//!
//! A damaged file is not fatal to what came before it: `next_frame` returns
//! every good frame, then a [`CaptureError`] naming the byte offset and the
//! reason, and the caller reports what it read.

mod input;
mod linktype;
mod pcap;
mod pcapng;
mod reader;
mod record;
mod reorder;

pub use linktype::LinkType;
pub use reader::{CaptureFormat, CaptureReader};
pub use record::ReaderLimits;
pub use reorder::{Reorder, ReorderLimits, ReorderStats};

use crate::Timestamp;

/// One captured frame, borrowed from the reader.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based frame number, as Wireshark and tshark count them.
    pub number: u64,
    /// Byte offset of the frame's record (pcap record header or pcapng block) in the file.
    pub offset: u64,
    pub ts: Timestamp,
    pub link_type: LinkType,
    /// The captured bytes (may be shorter than `orig_len` when the snaplen cut them).
    pub data: &'a [u8],
    /// The length of the frame on the wire.
    pub orig_len: u32,
}

/// A capture that cannot be read past some point.
///
/// The message is written for a person: what was found at `offset` and, where
/// it helps, what to do about it. The file's path is added by the caller,
/// which knows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte offset {offset}: {reason}")]
pub struct CaptureError {
    pub offset: u64,
    pub reason: String,
}

impl CaptureError {
    pub fn new(offset: u64, reason: impl Into<String>) -> Self {
        CaptureError {
            offset,
            reason: reason.into(),
        }
    }
}
