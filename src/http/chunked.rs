//! The chunked transfer coding (RFC 9112 §7.1), decoded incrementally.
//!
//! The decoder is a byte-level state machine for the framing (size lines,
//! extensions, CRLFs, trailers — a few bytes per chunk) and plain arithmetic
//! for chunk data, so a body costs O(chunks), not O(bytes), and a body split
//! at any byte boundary decodes exactly as in one piece: no state lives
//! outside this struct and nothing is buffered.

use serde::Serialize;

/// Why chunk parsing stopped: the body's framing is lost from there on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChunkError {
    /// A chunk-size line without hex digits, or with junk after the size.
    BadSize,
    /// More hex digits than [`HttpLimits::max_chunk_size_digits`](super::HttpLimits).
    SizeTooLong,
    /// Chunk extensions longer than [`HttpLimits::max_chunk_extension_bytes`](super::HttpLimits).
    ExtensionTooLong,
    /// A CR not followed by LF on a size or trailer line.
    BadLineEnding,
    /// Chunk data not followed by CRLF (the size lied, or bytes were inserted).
    MissingCrlfAfterData,
    /// A trailer section longer than [`HttpLimits::max_trailer_bytes`](super::HttpLimits).
    TrailerTooLong,
}

/// What a chunked body looked like (F004 reads these).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChunkFacts {
    /// Chunks with data (the final zero-size chunk not counted).
    pub chunks: u32,
    /// Size lines carrying extensions (`;name=value`).
    pub extensions: u32,
    /// Trailer field lines after the last chunk.
    pub trailer_fields: u32,
    /// The zero-size last chunk was seen.
    pub last_chunk: bool,
    /// Lines ended by a bare LF (tolerated, RFC 9112 §2.2, but noted).
    pub bare_lf: u32,
    /// The syntax error that ended parsing, if any.
    pub error: Option<ChunkError>,
    /// The bytes so far end right after a whole chunk (its data and CRLF),
    /// where the next size line would start. A sender that closes here sent
    /// whole chunks and left out only the last-chunk, which is a broken
    /// body (F004), not one cut off in mid-chunk (R001/R002).
    pub between_chunks: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Hex digits of a chunk size.
    Size,
    /// Whitespace after the size, before `;` or the line end.
    AfterSize,
    /// Inside chunk extensions, up to the line end.
    Extension,
    /// CR seen at the end of a size line.
    SizeLf,
    Data {
        remaining: u64,
    },
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    TrailerLine,
    /// CR seen at the end of a trailer line.
    TrailerLf,
    /// CR seen on the final empty line.
    EndLf,
    Done,
    Failed,
}

/// How a `feed` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// All bytes consumed; the body continues.
    NeedMore,
    /// The body ended after `consumed` bytes (the rest belongs to the next message).
    Done,
    /// A syntax error at byte `consumed - 1`.
    Failed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fed {
    pub consumed: usize,
    /// Chunk-data (payload) bytes among the consumed ones.
    pub data: u64,
    pub outcome: Outcome,
}

/// The limits the decoder enforces, copied from [`super::HttpLimits`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChunkLimits {
    pub max_size_digits: usize,
    pub max_extension_bytes: usize,
    pub max_trailer_bytes: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct ChunkedDecoder {
    state: State,
    size: u64,
    digits: usize,
    extension_bytes: usize,
    trailer_bytes: usize,
    limits: ChunkLimits,
    pub facts: ChunkFacts,
}

impl ChunkedDecoder {
    pub fn new(limits: ChunkLimits) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size,
            size: 0,
            digits: 0,
            extension_bytes: 0,
            trailer_bytes: 0,
            limits,
            facts: ChunkFacts::default(),
        }
    }

    /// Consumes body bytes until the body ends, fails, or the input runs out.
    pub fn feed(&mut self, bytes: &[u8]) -> Fed {
        let mut i = 0usize;
        let mut data = 0u64;
        loop {
            if let State::Data { remaining } = self.state {
                let available = bytes.len().saturating_sub(i);
                // take <= available, which came from a usize.
                let take = usize::try_from(remaining).map_or(available, |r| r.min(available));
                i = i.saturating_add(take);
                let take = take as u64;
                data = data.saturating_add(take);
                self.state = match remaining.saturating_sub(take) {
                    0 => State::DataCr,
                    remaining => State::Data { remaining },
                };
            }
            match self.state {
                State::Done => return self.fed(i, data, Outcome::Done),
                State::Failed => return self.fed(i, data, Outcome::Failed),
                _ => {}
            }
            let Some(&b) = bytes.get(i) else {
                return self.fed(i, data, Outcome::NeedMore);
            };
            i = i.saturating_add(1);
            self.byte(b);
        }
    }

    fn fed(&mut self, consumed: usize, data: u64, outcome: Outcome) -> Fed {
        self.facts.between_chunks =
            self.state == State::Size && self.digits == 0 && self.facts.chunks > 0;
        Fed {
            consumed,
            data,
            outcome,
        }
    }

    /// Skips `len` uncaptured bytes if they lie inside one chunk's data (so
    /// the framing is still known); otherwise leaves the state alone and
    /// returns false: the caller must treat the body's framing as lost.
    pub fn skip_gap(&mut self, len: u64) -> bool {
        match self.state {
            State::Data { remaining } => {
                self.state = match remaining.checked_sub(len) {
                    None => return false,
                    Some(0) => State::DataCr,
                    Some(remaining) => State::Data { remaining },
                };
                true
            }
            _ => false,
        }
    }

    fn fail(&mut self, error: ChunkError) {
        self.facts.error = Some(error);
        self.state = State::Failed;
    }

    fn size_line_done(&mut self) {
        if self.size == 0 {
            self.facts.last_chunk = true;
            self.state = State::TrailerStart;
        } else {
            self.facts.chunks = self.facts.chunks.saturating_add(1);
            self.state = State::Data {
                remaining: self.size,
            };
        }
    }

    fn next_size_line(&mut self) {
        self.state = State::Size;
        self.size = 0;
        self.digits = 0;
        self.extension_bytes = 0;
    }

    fn bare_lf(&mut self) {
        self.facts.bare_lf = self.facts.bare_lf.saturating_add(1);
    }

    fn start_extension(&mut self) {
        self.facts.extensions = self.facts.extensions.saturating_add(1);
        self.state = State::Extension;
    }

    fn byte(&mut self, b: u8) {
        match self.state {
            State::Size => {
                if let Some(v) = hex_value(b) {
                    self.digits = self.digits.saturating_add(1);
                    let grown = self
                        .size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(u64::from(v)));
                    match grown {
                        Some(size) if self.digits <= self.limits.max_size_digits => {
                            self.size = size
                        }
                        _ => self.fail(ChunkError::SizeTooLong),
                    }
                } else if self.digits == 0 {
                    self.fail(ChunkError::BadSize);
                } else {
                    self.after_size(b);
                }
            }
            State::AfterSize => self.after_size(b),
            State::Extension => {
                self.extension_bytes = self.extension_bytes.saturating_add(1);
                match b {
                    b'\r' => self.state = State::SizeLf,
                    b'\n' => {
                        self.bare_lf();
                        self.size_line_done();
                    }
                    _ if self.extension_bytes > self.limits.max_extension_bytes => {
                        self.fail(ChunkError::ExtensionTooLong)
                    }
                    _ => {}
                }
            }
            State::SizeLf => {
                if b == b'\n' {
                    self.size_line_done();
                } else {
                    self.fail(ChunkError::BadLineEnding);
                }
            }
            State::DataCr => match b {
                b'\r' => self.state = State::DataLf,
                b'\n' => {
                    self.bare_lf();
                    self.next_size_line();
                }
                _ => self.fail(ChunkError::MissingCrlfAfterData),
            },
            State::DataLf => {
                if b == b'\n' {
                    self.next_size_line();
                } else {
                    self.fail(ChunkError::MissingCrlfAfterData);
                }
            }
            State::TrailerStart => match b {
                b'\r' => self.state = State::EndLf,
                b'\n' => {
                    self.bare_lf();
                    self.state = State::Done;
                }
                _ => {
                    self.facts.trailer_fields = self.facts.trailer_fields.saturating_add(1);
                    self.state = State::TrailerLine;
                    self.trailer_byte();
                }
            },
            State::TrailerLine => match b {
                b'\r' => self.state = State::TrailerLf,
                b'\n' => {
                    self.bare_lf();
                    self.state = State::TrailerStart;
                }
                _ => self.trailer_byte(),
            },
            State::TrailerLf => {
                if b == b'\n' {
                    self.state = State::TrailerStart;
                } else {
                    self.fail(ChunkError::BadLineEnding);
                }
            }
            State::EndLf => {
                if b == b'\n' {
                    self.state = State::Done;
                } else {
                    self.fail(ChunkError::BadLineEnding);
                }
            }
            // Handled by `feed` before a byte is taken.
            State::Data { .. } | State::Done | State::Failed => {}
        }
    }

    /// After the size digits: BWS, `;` extensions, or the line end.
    fn after_size(&mut self, b: u8) {
        match b {
            b' ' | b'\t' => self.state = State::AfterSize,
            b';' => self.start_extension(),
            b'\r' => self.state = State::SizeLf,
            b'\n' => {
                self.bare_lf();
                self.size_line_done();
            }
            _ => self.fail(ChunkError::BadSize),
        }
    }

    fn trailer_byte(&mut self) {
        self.trailer_bytes = self.trailer_bytes.saturating_add(1);
        if self.trailer_bytes > self.limits.max_trailer_bytes {
            self.fail(ChunkError::TrailerTooLong);
        }
    }
}

fn hex_value(b: u8) -> Option<u32> {
    char::from(b).to_digit(16)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    const LIMITS: ChunkLimits = ChunkLimits {
        max_size_digits: 16,
        max_extension_bytes: 64,
        max_trailer_bytes: 64,
    };

    /// Feeds pieces in order; returns (total consumed, payload bytes, outcome, facts).
    fn run(pieces: &[&[u8]]) -> (usize, u64, Outcome, ChunkFacts) {
        let mut d = ChunkedDecoder::new(LIMITS);
        let (mut consumed, mut data) = (0, 0);
        let mut outcome = Outcome::NeedMore;
        for piece in pieces {
            let fed = d.feed(piece);
            consumed += fed.consumed;
            data += fed.data;
            outcome = fed.outcome;
            if outcome != Outcome::NeedMore {
                break;
            }
        }
        (consumed, data, outcome, d.facts)
    }

    const BODY: &[u8] =
        b"5;name=value;x\r\nhello\r\nA \r\n0123456789\r\n0\r\nExpires: never\r\nX-T: 1\r\n\r\nNEXT";

    #[test]
    fn extensions_trailers_and_the_end_of_the_body() {
        let (consumed, data, outcome, facts) = run(&[BODY]);
        assert_eq!(outcome, Outcome::Done);
        assert_eq!(consumed, BODY.len() - 4, "stops before the next message");
        assert_eq!(data, 15);
        assert_eq!(facts.chunks, 2);
        assert_eq!(facts.extensions, 1);
        assert_eq!(facts.trailer_fields, 2);
        assert!(facts.last_chunk);
        assert_eq!(facts.error, None);
    }

    #[test]
    fn every_split_point_decodes_identically() {
        let whole = run(&[BODY]);
        for cut in 0..=BODY.len() {
            let (a, b) = BODY.split_at(cut);
            assert_eq!(run(&[a, b]), whole, "split at {cut}");
        }
        let bytes: Vec<&[u8]> = BODY.chunks(1).collect();
        assert_eq!(run(&bytes), whole, "byte by byte");
    }

    #[test]
    fn syntax_errors_are_named() {
        let cases: &[(&[u8], ChunkError)] = &[
            (b"zz\r\n", ChunkError::BadSize),
            (b"\r\n", ChunkError::BadSize),
            (b"5x\r\n", ChunkError::BadSize),
            (b"12345678901234567\r\n", ChunkError::SizeTooLong),
            (b"3\rX", ChunkError::BadLineEnding),
            (b"3\r\nabcX\r\n", ChunkError::MissingCrlfAfterData),
            (b"3\r\nabc\rX", ChunkError::MissingCrlfAfterData),
            (b"0\r\nA: b\rX", ChunkError::BadLineEnding),
            (b"0\r\n\rX", ChunkError::BadLineEnding),
        ];
        for (input, error) in cases {
            let (_, _, outcome, facts) = run(&[input]);
            assert_eq!(
                outcome,
                Outcome::Failed,
                "{:?}",
                String::from_utf8_lossy(input)
            );
            assert_eq!(
                facts.error,
                Some(*error),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn caps_on_extensions_and_trailers() {
        let mut long_ext = b"1;".to_vec();
        long_ext.extend(std::iter::repeat_n(b'e', 100));
        assert_eq!(
            run(&[&long_ext]).3.error,
            Some(ChunkError::ExtensionTooLong)
        );
        let mut long_trailer = b"0\r\n".to_vec();
        long_trailer.extend(std::iter::repeat_n(b't', 100));
        assert_eq!(
            run(&[&long_trailer]).3.error,
            Some(ChunkError::TrailerTooLong)
        );
    }

    #[test]
    fn sixteen_hex_digits_fit_and_bare_lf_is_tolerated_but_counted() {
        let mut d = ChunkedDecoder::new(LIMITS);
        let fed = d.feed(b"ffffffffffffffff\r\nab");
        assert_eq!((fed.outcome, fed.data), (Outcome::NeedMore, 2));
        let (consumed, data, outcome, facts) = run(&[b"2\nab\n0\n\n"]);
        assert_eq!((consumed, data, outcome), (8, 2, Outcome::Done));
        assert_eq!(facts.bare_lf, 4);
    }

    #[test]
    fn a_gap_inside_chunk_data_keeps_the_framing() {
        let mut d = ChunkedDecoder::new(LIMITS);
        assert_eq!(d.feed(b"a\r\n01").outcome, Outcome::NeedMore);
        assert!(d.skip_gap(8), "8 of the 10 data bytes missing");
        assert!(!d.skip_gap(1), "the CRLF is framing, not data");
        let fed = d.feed(b"\r\n0\r\n\r\n");
        assert_eq!((fed.outcome, fed.consumed), (Outcome::Done, 7));
    }

    #[test]
    fn between_chunks_only_after_a_whole_chunk() {
        // (input, ends right after a whole chunk)
        let cases: &[(&[u8], bool)] = &[
            (b"", false),
            (b"5\r\nhello\r\n", true),
            (b"5\r\nhello\r\n3\r\nabc\r\n", true),
            (b"5\r\nhel", false),
            (b"5\r\nhello", false),
            (b"5\r\nhello\r", false),
            (b"5\r\nhello\r\n3", false),
            (b"5\r\nhello\r\n0\r\n", false),
        ];
        for (input, want) in cases {
            let (_, _, _, facts) = run(&[input]);
            assert_eq!(
                facts.between_chunks,
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
