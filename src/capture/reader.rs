//! Reading pcap and pcapng captures one record at a time: the reader that
//! tells the two apart by their magic number and hands out frames, whichever
//! container (`pcap.rs`, `pcapng.rs`) found them.
//!
//! The container formats are parsed with the slice parsers of `pcap-file`
//! (3.0: the 2.0 line rejected pcap records longer than the snaplen and
//! mis-decoded pcapng `if_tsresol`/`if_tsoffset`). Framing is checked first,
//! so that every damaged file gets a byte offset and a reason a person can
//! act on, and so that a stream never buffers a length it read from the file
//! before that length is known to be sane.

use super::input::{Compression, Input};
use super::pcap::{PcapFile, PCAP_RECORD_HEADER};
use super::pcapng::{PcapNgFile, SECTION_HEADER};
use super::record::{bytes, u32_at, ReaderLimits};
use super::{CaptureError, Frame};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Which container format a capture is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap,
    PcapNg,
}

/// Reads the frames of one pcap or pcapng capture, in file order.
///
/// Frames borrow the reader's bytes: the bytes it was given in memory, or the
/// buffer of a stream (files are streamed too). Nothing is allocated per frame.
pub struct CaptureReader {
    input: Input,
    limits: ReaderLimits,
    container: Container,
    /// Frames returned so far.
    frames: u64,
    /// Set at the end of the capture or at its first damage.
    done: bool,
    /// The compression the capture was read through, if any.
    compression: Option<Compression>,
}

enum Container {
    Pcap(PcapFile),
    PcapNg(PcapNgFile),
}

impl CaptureReader {
    /// Opens a capture file or, for `-`, standard input; both are streamed
    /// through a bounded buffer (see `input.rs` for why files are not mapped).
    /// Standard input, pipes and other streams that can block are read
    /// through [`Interruptible`](crate::interrupt::Interruptible), so that
    /// Ctrl-C ends them as the end of the capture.
    pub fn open(path: &Path, limits: ReaderLimits) -> Result<CaptureReader, CaptureError> {
        use crate::interrupt::Interruptible;
        if path == Path::new("-") {
            // Standard input read through its own descriptor, not `Stdin`'s
            // buffer: the stream buffer is the only copy of the bytes, and a
            // file redirected in (`connlint check - < F`) is read as a path
            // is; a pipe or terminal, which can block, is read through
            // `Interruptible`.
            #[cfg(unix)]
            {
                use std::os::fd::AsFd;
                if let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() {
                    let file = File::from(fd);
                    if file.metadata().is_ok_and(|m| m.is_file()) {
                        return Self::from_read(Box::new(file), limits);
                    }
                    return Self::from_read(Box::new(Interruptible::new(Box::new(file))), limits);
                }
            }
            let stdin = Interruptible::new(Box::new(std::io::stdin()));
            return Self::from_read(Box::new(stdin), limits);
        }
        let file = File::open(path)
            .map_err(|e| CaptureError::new(0, format!("cannot open the capture: {e}")))?;
        let meta = file.metadata().map_err(|e| {
            CaptureError::new(0, format!("cannot read the capture's metadata: {e}"))
        })?;
        if meta.is_dir() {
            return Err(CaptureError::new(
                0,
                "this is a directory, not a capture file",
            ));
        }
        if !meta.is_file() {
            return Self::from_read(Box::new(Interruptible::new(Box::new(file))), limits);
        }
        if meta.len() == 0 {
            return Err(CaptureError::new(0, "empty file"));
        }
        Self::from_read(Box::new(file), limits)
    }

    /// Reads a capture from any byte stream with bounded buffering: at most
    /// `max(256 KiB, limits.max_record_bytes + 16)` bytes are held, and a
    /// record declaring more is an error before anything is buffered for it.
    pub fn from_read(
        read: Box<dyn Read>,
        limits: ReaderLimits,
    ) -> Result<CaptureReader, CaptureError> {
        let max_buffer = limits.max_record_bytes.saturating_add(PCAP_RECORD_HEADER);
        Self::start(Input::stream(read, max_buffer), limits)
    }

    /// Reads a capture held in memory (tests, fuzzing).
    pub fn from_bytes(bytes: Vec<u8>, limits: ReaderLimits) -> Result<CaptureReader, CaptureError> {
        Self::start(Input::owned(bytes), limits)
    }

    /// Reads the file header (pcap) or first section header block (pcapng),
    /// through gzip or zstd when the bytes start with their magic.
    fn start(mut input: Input, limits: ReaderLimits) -> Result<CaptureReader, CaptureError> {
        let compression = if input.ensure(4)? {
            Compression::sniff(input.window())
        } else {
            None
        };
        if let Some(c) = compression {
            let max_buffer = limits.max_record_bytes.saturating_add(PCAP_RECORD_HEADER);
            input = input.decompressed(c, max_buffer)?;
        }
        let what = match compression {
            Some(c) => format!("the {}-decompressed data", c.name()),
            None => "the file".to_string(),
        };
        if !input.ensure(4)? {
            let have = input.window().len();
            return Err(match (have, compression) {
                (0, None) => CaptureError::new(0, "empty file"),
                (0, Some(c)) => {
                    CaptureError::new(0, format!("the {} data decompresses to nothing", c.name()))
                }
                _ => CaptureError::new(
                    0,
                    format!(
                        "{what} is only {} long, too short to be a capture",
                        bytes(have)
                    ),
                ),
            });
        }
        let magic = u32_at(input.window(), 0, true);
        let container = match magic {
            0xA1B2_C3D4 | 0xD4C3_B2A1 | 0xA1B2_3C4D | 0x4D3C_B2A1 => {
                Container::Pcap(PcapFile::start(&mut input)?)
            }
            SECTION_HEADER => Container::PcapNg(PcapNgFile::start(&mut input, &limits)?),
            _ => {
                let why = not_a_capture(magic, input.window());
                return Err(CaptureError::new(
                    0,
                    match compression {
                        Some(_) => format!("{what}: {why}"),
                        None => why,
                    },
                ));
            }
        };
        Ok(CaptureReader {
            input,
            limits,
            container,
            frames: 0,
            done: false,
            compression,
        })
    }

    /// The TLS key log text of the Decryption Secrets Blocks read since the
    /// last call (pcapng), if any.
    pub fn take_secrets(&mut self) -> Option<Vec<u8>> {
        match &mut self.container {
            Container::PcapNg(f) if !f.secrets.is_empty() => Some(std::mem::take(&mut f.secrets)),
            _ => None,
        }
    }

    /// The compression the capture is read through (`gzip`, `zstd`), if
    /// any: byte offsets are then offsets in the decompressed data.
    pub fn compression(&self) -> Option<&'static str> {
        self.compression.map(Compression::name)
    }

    pub fn format(&self) -> CaptureFormat {
        match self.container {
            Container::Pcap(_) => CaptureFormat::Pcap,
            Container::PcapNg(_) => CaptureFormat::PcapNg,
        }
    }

    /// The next frame; `Ok(None)` at a clean end of file; `Err` once at the first
    /// damage (later calls return `Ok(None)`).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let located = match &mut self.container {
            Container::Pcap(pcap) => pcap.next(&mut self.input, &self.limits),
            Container::PcapNg(ng) => ng.next(&mut self.input, &self.limits),
        };
        let found = match located {
            Ok(Some(found)) => found,
            Ok(None) => {
                self.done = true;
                return Ok(None);
            }
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        let end = found.data_start.saturating_add(found.data_len);
        let Some(data) = self.input.buffer().get(found.data_start..end) else {
            self.done = true;
            return Err(CaptureError::new(
                found.offset,
                "internal error: a frame's bytes are not where the reader left them",
            ));
        };
        self.frames = self.frames.saturating_add(1);
        Ok(Some(Frame {
            number: self.frames,
            offset: found.offset,
            ts: found.ts,
            link_type: found.link_type,
            data,
            orig_len: found.orig_len,
        }))
    }

    /// Bytes consumed so far (the offset of the next record).
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// Bytes a stream's buffer holds (0 for a file or bytes in memory).
    #[cfg(test)]
    fn stream_buffer_capacity(&self) -> usize {
        self.input.buffer_capacity()
    }
}

/// Why the first bytes are not a capture, and what to do about it.
fn not_a_capture(magic: u32, start: &[u8]) -> String {
    let compressed = if start.starts_with(&[0x1F, 0x8B]) {
        Some("gzip")
    } else if start.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        Some("zstd")
    } else if start.starts_with(b"BZh") {
        Some("bzip2")
    } else if start.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0]) {
        Some("xz")
    } else if start.starts_with(&[0x04, 0x22, 0x4D, 0x18]) {
        Some("lz4")
    } else if start.starts_with(b"PK\x03\x04") {
        Some("zip")
    } else {
        None
    };
    match (compressed, magic) {
        (Some(kind), _) => format!(
            "not a pcap or pcapng file: magic 0x{magic:08x} is {kind}-compressed data; decompress it \
             first (or pipe the decompressed capture in as `-`)"
        ),
        (None, 0xA1B2_CD34 | 0x34CD_B2A1) => format!(
            "magic 0x{magic:08x} is the modified (Kuznetzov) pcap format, which connlint does not \
             read; convert it with `editcap -F pcap IN OUT`"
        ),
        (None, _) => format!(
            "not a pcap or pcapng file: magic 0x{magic:08x}; if it is compressed, decompress it first"
        ),
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::capture::input::STREAM_CHUNK;

    fn pcap_header() -> Vec<u8> {
        let mut out = Vec::new();
        for word in [
            0xA1B2_C3D4u32.to_le_bytes(),
            [2, 0, 4, 0],
            [0; 4],
            [0; 4],
            65535u32.to_le_bytes(),
            1u32.to_le_bytes(),
        ] {
            out.extend_from_slice(&word);
        }
        out
    }

    fn pcap_record(out: &mut Vec<u8>, sec: u32, caplen: u32, fill: u8) {
        for word in [sec, 0, caplen, caplen] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend(std::iter::repeat_n(fill, caplen as usize));
    }

    /// The stream buffer grows for a large record and no further than the
    /// limit allows; a record over the limit is refused before growing.
    #[test]
    fn stream_buffer_stays_within_its_bound() {
        let limits = ReaderLimits {
            max_record_bytes: 1 << 20,
        };
        let mut bytes = pcap_header();
        for (i, caplen) in [100u32, 300_000, 600_000, 1 << 20, 70]
            .into_iter()
            .enumerate()
        {
            pcap_record(&mut bytes, i as u32, caplen, i as u8);
        }
        let mut reader =
            CaptureReader::from_read(Box::new(std::io::Cursor::new(bytes.clone())), limits)
                .unwrap();
        assert_eq!(reader.stream_buffer_capacity(), STREAM_CHUNK);
        let mut peak = 0;
        while let Some(frame) = reader.next_frame().unwrap() {
            assert_eq!(frame.data.len(), frame.orig_len as usize);
            peak = peak.max(reader.stream_buffer_capacity());
        }
        assert!(peak >= (1 << 20) + 16);
        assert!(peak <= (1 << 20) + 16, "buffer grew to {peak}");

        // Over the limit by one byte: refused, and the buffer never grew.
        let mut bytes = pcap_header();
        pcap_record(&mut bytes, 0, (1 << 20) + 1, 1);
        let mut reader =
            CaptureReader::from_read(Box::new(std::io::Cursor::new(bytes)), limits).unwrap();
        let error = reader.next_frame().unwrap_err();
        assert_eq!(error.offset, 24);
        assert_eq!(reader.stream_buffer_capacity(), STREAM_CHUNK);
    }
}
