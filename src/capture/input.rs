//! Where a capture's bytes come from: an owned buffer, or a stream (a file,
//! stdin, a pipe) read with bounded buffering.
//!
//! The format parsers see one contiguous *window* of bytes starting at the
//! next unread record and ask for it to be at least `n` bytes long
//! ([`Input::ensure`]). Each source satisfies that differently:
//!
//! - an owned buffer already holds everything;
//! - a stream is read into a buffer that is compacted and refilled, and grows
//!   only when a single record needs more room, up to a limit the caller
//!   enforces before asking.
//!
//! Regular files are streamed too, not memory-mapped. Both were built and
//! measured on a 570 MB capture of MTU-sized frames in the page cache: reading
//! into a 256 KiB buffer took 0.08 s at 2.8 MB peak RSS; mapping it in 8 MiB
//! windows took 0.11-0.14 s at 10.8 MB, the kernel's page-table setup and
//! teardown for every 4 KiB page costing more than the copy — and the copy
//! lands in a buffer that stays in cache while the packets are parsed. A
//! single map of the whole file would also count the whole file into RSS.
//! Reading needs no `unsafe`, and a file truncated while it is read is a
//! clean error instead of SIGBUS.

use super::CaptureError;
use std::io::{self, Read};

/// A compression a capture is read through, told by its magic bytes: the
/// formats tcpdump rotations (`-z gzip`) and archives use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
}

/// The largest zstd window connlint decodes: 2^24 bytes (16 MiB), enough
/// for every level up to 19 without `--long`. A frame that asks for more
/// is refused rather than allocated (zstd's own default allows 128 MiB).
pub const ZSTD_WINDOW_LOG_MAX: u32 = 24;

impl Compression {
    /// The compression whose magic `start` begins with, if connlint reads it.
    pub fn sniff(start: &[u8]) -> Option<Compression> {
        if start.starts_with(&[0x1F, 0x8B, 0x08]) {
            Some(Compression::Gzip)
        } else if start.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// A decoder of this compression over `read`, with bounded buffers: a
    /// gzip stream (every member of a concatenation) holds its 32 KiB
    /// window, a zstd one at most [`ZSTD_WINDOW_LOG_MAX`].
    fn decoder(self, read: Box<dyn Read>) -> io::Result<Box<dyn Read>> {
        Ok(match self {
            Compression::Gzip => Box::new(Named {
                kind: self,
                read: flate2::read::MultiGzDecoder::new(read),
            }),
            Compression::Zstd => {
                let mut d = zstd::stream::read::Decoder::new(read)?;
                d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
                Box::new(Named {
                    kind: self,
                    read: d,
                })
            }
        })
    }
}

/// A decoder whose errors say which compression they come from.
struct Named<R> {
    kind: Compression,
    read: R,
}

impl<R: Read> Read for Named<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.read.read(out).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                return e;
            }
            let hint = if self.kind == Compression::Zstd && e.to_string().contains("memory") {
                format!(
                    " (connlint decodes zstd windows up to {} MiB; decompress it with \
                     `zstd -d --long=31` and pipe it in as `-`)",
                    (1u32 << ZSTD_WINDOW_LOG_MAX) >> 20
                )
            } else {
                String::new()
            };
            io::Error::new(e.kind(), format!("{} data: {e}{hint}", self.kind.name()))
        })
    }
}

/// How much a stream buffer holds before any record forces it to grow. Reads
/// ask for whatever free space the buffer has, so this is also the largest read.
pub(super) const STREAM_CHUNK: usize = 256 << 10;

pub(super) struct Input {
    source: Source,
    /// Index in the source's buffer of the next unread byte.
    pos: usize,
    /// File offset of the source's buffer's first byte.
    base: u64,
}

enum Source {
    Owned(Vec<u8>),
    Stream(Stream),
}

struct Stream {
    read: Box<dyn Read>,
    buf: Vec<u8>,
    /// `buf[..filled]` holds bytes read from the stream.
    filled: usize,
    eof: bool,
    /// The buffer grows by doubling up to this many bytes (or to a single
    /// record's size if the caller lets a larger one through).
    max_len: usize,
}

impl Input {
    pub(super) fn owned(bytes: Vec<u8>) -> Input {
        Input {
            source: Source::Owned(bytes),
            pos: 0,
            base: 0,
        }
    }

    /// A stream whose buffer may grow to `max_len` bytes (the largest record
    /// plus its header); it starts at [`STREAM_CHUNK`].
    pub(super) fn stream(read: Box<dyn Read>, max_len: usize) -> Input {
        Input {
            source: Source::Stream(Stream {
                read,
                buf: vec![0; STREAM_CHUNK],
                filled: 0,
                eof: false,
                max_len,
            }),
            pos: 0,
            base: 0,
        }
    }

    /// The same input read through `compression`: the bytes not yet read
    /// (those buffered, then the rest of the stream) are decompressed as a
    /// stream whose buffer may grow to `max_len`. Offsets start again at
    /// 0, in the decompressed bytes.
    pub(super) fn decompressed(
        self,
        compression: Compression,
        max_len: usize,
    ) -> Result<Input, CaptureError> {
        let pos = self.pos;
        let rest: Box<dyn Read> = match self.source {
            Source::Owned(mut v) => {
                v.drain(..pos.min(v.len()));
                Box::new(io::Cursor::new(v))
            }
            Source::Stream(s) => {
                let mut buffered = s.buf;
                buffered.truncate(s.filled);
                buffered.drain(..pos.min(buffered.len()));
                Box::new(io::Cursor::new(buffered).chain(s.read))
            }
        };
        let read = compression.decoder(rest).map_err(|e| {
            CaptureError::new(0, format!("cannot start {}: {e}", compression.name()))
        })?;
        Ok(Input::stream(read, max_len))
    }

    /// Whether bytes are buffered in memory the reader owns (a stream), so
    /// that record sizes must be bounded before they are buffered.
    pub(super) fn is_stream(&self) -> bool {
        matches!(self.source, Source::Stream(_))
    }

    /// File offset of the next unread byte.
    pub(super) fn offset(&self) -> u64 {
        self.base.saturating_add(self.pos as u64)
    }

    /// Index in [`Input::buffer`] of the next unread byte.
    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    /// Everything currently available, from the buffer's start.
    pub(super) fn buffer(&self) -> &[u8] {
        match &self.source {
            Source::Owned(v) => v,
            Source::Stream(s) => s.buf.get(..s.filled).unwrap_or_default(),
        }
    }

    /// The unread bytes currently available.
    pub(super) fn window(&self) -> &[u8] {
        self.buffer().get(self.pos..).unwrap_or_default()
    }

    /// Marks `n` bytes of the window as read. The caller has seen them in the
    /// window, so this never passes its end.
    pub(super) fn advance(&mut self, n: usize) {
        // Clamped so that `pos` never passes the buffer's end, which the
        // stream's compaction relies on.
        self.pos = self.pos.saturating_add(n).min(self.buffer().len());
    }

    /// Makes the window at least `n` bytes long if the input has that many
    /// left. Returns `false` when it ends first; the window then holds all
    /// that is left. May move the window's bytes (indices from
    /// [`Input::pos`] are valid only until the next call).
    ///
    /// For a stream, `n` must already have been checked against the record
    /// limit: the buffer grows to `n` if it has to.
    #[inline]
    pub(super) fn ensure(&mut self, n: usize) -> Result<bool, CaptureError> {
        if self.window().len() >= n {
            return Ok(true);
        }
        self.ensure_more(n)
    }

    #[inline(never)]
    fn ensure_more(&mut self, n: usize) -> Result<bool, CaptureError> {
        let offset = self.offset();
        match &mut self.source {
            Source::Owned(v) => Ok(v.len().saturating_sub(self.pos) >= n),
            Source::Stream(s) => {
                while s.filled.saturating_sub(self.pos) < n {
                    if s.eof {
                        return Ok(false);
                    }
                    if s.buf.len().saturating_sub(self.pos) < n || s.filled == s.buf.len() {
                        // Move the partial record to the front; the bytes
                        // before it have been handed out and are done with.
                        let start = self.pos.min(s.filled);
                        s.buf.copy_within(start..s.filled, 0);
                        s.filled = s.filled.saturating_sub(start);
                        self.base = offset;
                        self.pos = 0;
                        if s.buf.len() < n {
                            // Doubling keeps a run of ever larger records from
                            // copying the buffer each time; `reserve_exact`
                            // keeps the capacity at the bound.
                            let grown = n.max(s.buf.len().saturating_mul(2).min(s.max_len));
                            s.buf.reserve_exact(grown.saturating_sub(s.buf.len()));
                            s.buf.resize(grown, 0);
                        }
                    }
                    let free = s.buf.get_mut(s.filled..).unwrap_or_default();
                    match s.read.read(free) {
                        Ok(0) => s.eof = true,
                        Ok(got) => s.filled = s.filled.saturating_add(got).min(s.buf.len()),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            let at = self.base.saturating_add(s.filled as u64);
                            return Err(CaptureError::new(at, format!("read error: {e}")));
                        }
                    }
                }
                Ok(true)
            }
        }
    }

    /// Bytes the stream buffer holds (0 for other sources), to check that it
    /// stays bounded.
    #[cfg(test)]
    pub(super) fn buffer_capacity(&self) -> usize {
        match &self.source {
            Source::Stream(s) => s.buf.capacity(),
            _ => 0,
        }
    }
}
