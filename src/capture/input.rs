//! Where a capture's bytes come from: an owned buffer, a memory-mapped file,
//! or a stream read with bounded buffering.
//!
//! The format parsers see one contiguous *window* of bytes starting at the
//! next unread record and ask for it to be at least `n` bytes long
//! ([`Input::ensure`]). Each source satisfies that differently:
//!
//! - an owned buffer already holds everything;
//! - a regular file is mapped a window at a time (8 MiB, or one record if
//!   larger) and remapped further along as reading proceeds, so resident memory
//!   stays flat however large the file: mapped pages count towards the
//!   process's RSS for as long as they stay mapped;
//! - a stream (stdin, a pipe) is read into a buffer that is compacted and
//!   refilled, and grows only when a single record needs more room, up to a
//!   limit the caller enforces before asking.

use super::CaptureError;
use memmap2::{Advice, Mmap, MmapOptions};
use std::fs::File;
use std::io::{self, Read};

/// How much of a regular file is mapped at once. Small enough that the mapped
/// pages stay a small share of the memory budget, large enough that remapping
/// (two system calls) is rare.
pub(super) const MAP_WINDOW: usize = 8 << 20;

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
    Mapped(MappedFile),
    Stream(Stream),
}

struct MappedFile {
    file: File,
    file_len: u64,
    /// Bytes of the file being mapped at a time (except for larger records).
    window: usize,
    /// The current window; `None` only between unmapping one window and
    /// mapping the next, so that two are never resident at once.
    map: Option<Mmap>,
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

    /// Maps the start of a non-empty regular file. On failure the file is
    /// handed back so that the caller can stream it instead.
    pub(super) fn mapped(
        file: File,
        file_len: u64,
        window: usize,
    ) -> Result<Input, (File, io::Error)> {
        let first = window_len(window, 0, file_len);
        match map_window(&file, 0, first) {
            Ok(map) => Ok(Input {
                source: Source::Mapped(MappedFile {
                    file,
                    file_len,
                    window,
                    map: Some(map),
                }),
                pos: 0,
                base: 0,
            }),
            Err(e) => Err((file, e)),
        }
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
            Source::Mapped(m) => m.map.as_deref().unwrap_or_default(),
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
            Source::Mapped(m) => {
                let mapped = m.map.as_ref().map_or(0, |map| map.len());
                if mapped.saturating_sub(self.pos) >= n {
                    return Ok(true);
                }
                if self.base.saturating_add(mapped as u64) >= m.file_len {
                    return Ok(false);
                }
                let len = window_len(m.window.max(n), offset, m.file_len);
                m.map = None;
                self.base = offset;
                self.pos = 0;
                m.map = Some(map_window(&m.file, offset, len).map_err(|e| {
                    CaptureError::new(offset, format!("cannot map the file from here on: {e}"))
                })?);
                Ok(len >= n)
            }
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
                        s.filled -= start;
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

/// Length of the window mapped at `offset`: `want` bytes, or what is left of
/// the file if less.
fn window_len(want: usize, offset: u64, file_len: u64) -> usize {
    let left = file_len.saturating_sub(offset);
    usize::try_from(left).map_or(want, |left| left.min(want))
}

/// Maps `len` bytes of `file` from `offset`, read-only.
///
/// The project's one `unsafe` block: mapping a file is unsafe because the
/// mapped bytes are only as stable as the file. Everything else reads the map
/// as an ordinary `&[u8]`.
#[allow(unsafe_code)]
fn map_window(file: &File, offset: u64, len: usize) -> io::Result<Mmap> {
    // SAFETY: the map is read-only and private to this reader, and the file is
    // a regular file whose length was read just before (`offset + len` lies
    // within it). What memmap2 cannot rule out is another process truncating or
    // rewriting the file while it is mapped: the bytes could then change under a
    // `&[u8]`, or reading past the new end would raise SIGBUS. A capture being
    // analysed is not being rewritten; tools that mmap their input (ripgrep, for
    // one) accept the same condition. Nothing here writes through the map.
    // `populate` faults the window in with the mapping (measured ~5% faster
    // than faulting page by page on a cached 1 GB capture).
    let map = unsafe {
        MmapOptions::new()
            .offset(offset)
            .len(len)
            .populate()
            .map(file)?
    };
    // Only a hint: read-ahead helps a front-to-back scan; failure changes nothing.
    let _ = map.advise(Advice::Sequential);
    Ok(map)
}
