//! Finding where messages start and reading their heads: probing a
//! direction whose framing is lost (or never found), parsing a head in place
//! or from the buffer a split head collects in, and what happens to bytes
//! that should have been a head and are not one.

use super::direction::{Event, Range};
use super::head::{
    find_head_end, first_line, leading_crlf, malformed_request_line, parse_request, parse_response,
    probe_request, probe_status, NoHead, Parsed, Probe,
};
use super::transaction::{Candidate, MessageEnd, MessageFacts};
use super::HttpConnection;
use crate::http::framing::Framing;
use crate::reassembly::{BySide, Side};
use crate::Timestamp;

/// Delivered ranges of a direction in which a message start is looked for
/// freely while neither direction has been recognised as HTTP. A direction
/// in which a whole start line parsed (its head then running into a capture
/// hole) keeps being probed freely at segment starts: it speaks HTTP, it
/// just has not shown a whole head yet; and so does every direction once
/// either has shown a head.
pub(super) const PROBE_RANGES: u64 = 4;

/// Past those first ranges, a direction not known to speak HTTP is still
/// probed at the start of every delivered range — a capture that begins in
/// the middle of a long download on a keep-alive connection shows hundreds
/// of body segments before the next status line — but on a budget, so that
/// no stream can make probing cost more than a fixed share of its bytes:
/// each such probe is charged the bytes it may look at (up to
/// [`PROBE_LOOK_BYTES`], and when it guesses a message start, the head the
/// guess then parses, up to `max_head_bytes`), against an allowance of
/// [`PROBE_ALLOWANCE_BYTES`] per connection plus one byte for every
/// [`PROBE_BYTES_PER_CHARGE`] bytes the connection delivered. A body of
/// full-sized segments earns 45 bytes a segment and spends at most 24, so a
/// download is probed to its end; a stream of tiny segments, or one whose
/// every segment looks like a start line, is probed only as often as its
/// bytes pay for (probes skipped are counted,
/// [`DirectionReport::probes_over_budget`](super::DirectionReport)). Work is
/// linear in the bytes delivered, whatever their segmentation.
pub(super) const PROBE_ALLOWANCE_BYTES: u64 = 4096;
/// See [`PROBE_ALLOWANCE_BYTES`].
pub(super) const PROBE_BYTES_PER_CHARGE: u64 = 32;
/// What a probe is charged when it finds no message start: the bytes
/// [`probe_request`] may compare (a method token and its space, after a few
/// CR/LF); [`probe_status`] compares fewer.
pub(super) const PROBE_LOOK_BYTES: u64 = 24;

impl HttpConnection {
    /// In `Seek`: a message may start at the start of a delivered range
    /// (while probing is worth it); anything else is skipped.
    pub(super) fn seek(&mut self, side: Side, range: Range<'_>) -> usize {
        let Range {
            bytes,
            offset,
            ts,
            at_start,
        } = range;
        let other = self.dirs.of(side.peer());
        let d = self.dirs.of(side);
        let free = d.report.detected
            || other.report.detected
            || d.probe_matched
            || d.ranges <= PROBE_RANGES;
        let may_probe = at_start && (free || self.probe_on_budget(side, bytes));
        if may_probe {
            if Self::probe(side, bytes) != Probe::No {
                let d = self.dirs.of_mut(side);
                d.budgeted_guess = !free;
                d.step(Event::StartSeen);
                return 0;
            }
            if side == Side::Server && self.awaiting_http09_response() {
                self.start_http09_response(offset, ts);
                return 0;
            }
        }
        self.dirs.of_mut(side).skip(offset, bytes.len());
        bytes.len()
    }

    /// Whether a probe past the free ranges fits the connection's budget
    /// (see [`PROBE_ALLOWANCE_BYTES`]); if so it is charged, else counted.
    fn probe_on_budget(&mut self, side: Side, bytes: &[u8]) -> bool {
        let len = bytes.len() as u64;
        let cost = if Self::probe(side, bytes) == Probe::No {
            len.min(PROBE_LOOK_BYTES)
        } else {
            len.min(self.limits.max_head_bytes as u64)
        };
        let delivered = self
            .dirs
            .of(Side::Client)
            .report
            .bytes
            .saturating_add(self.dirs.of(Side::Server).report.bytes);
        let allowance = PROBE_ALLOWANCE_BYTES.saturating_add(delivered / PROBE_BYTES_PER_CHARGE);
        let spent = self.probe_spent.saturating_add(cost);
        if spent <= allowance {
            self.probe_spent = spent;
            true
        } else {
            let r = &mut self.dirs.of_mut(side).report;
            r.probes_over_budget = r.probes_over_budget.saturating_add(1);
            false
        }
    }

    pub(super) fn probe(side: Side, bytes: &[u8]) -> Probe {
        match side {
            Side::Client => probe_request(bytes),
            Side::Server => probe_status(bytes),
        }
    }

    fn parse(&self, side: Side, buf: &[u8]) -> Parsed {
        match side {
            Side::Client => parse_request(buf, &self.config, &self.limits, self.keep_fields),
            Side::Server => parse_response(buf, &self.config, &self.limits, self.keep_fields),
        }
    }

    /// In `StartLine`: a head parsed whole from the delivered bytes, or the
    /// start of one buffered (`HeadSplit`), or a rejection.
    pub(super) fn read_start_line(&mut self, side: Side, range: Range<'_>) -> usize {
        let Range {
            bytes, offset, ts, ..
        } = range;
        let crlf = leading_crlf(bytes);
        if crlf > 0 {
            let r = &mut self.dirs.of_mut(side).report;
            r.stray_crlf_bytes = r.stray_crlf_bytes.saturating_add(crlf as u64);
            return crlf;
        }
        // Pipelining is about when the request's first byte was sent.
        let mut outstanding = self.store.requests_pending() > 0 || self.server_busy();
        if side == Side::Client {
            outstanding = self.request_starts(outstanding);
        }
        let d = self.dirs.of_mut(side);
        d.head_first_ts = ts;
        d.head_first_frame = self.frame;
        d.head_last_ts = ts;
        d.head_offset = offset;
        d.head_outstanding = outstanding;
        if Self::probe(side, bytes) == Probe::No {
            return self.reject_head(side, bytes, offset, ts, ts);
        }
        // A head is at most `max_head_bytes`, whether it arrives in one
        // piece or several; looking no further also bounds the parse.
        let window = bytes.get(..self.limits.max_head_bytes).unwrap_or(bytes);
        match self.parse(side, window) {
            Ok((head, len)) => {
                self.on_head(side, head, len, ts);
                len
            }
            Err(NoHead::Partial) => {
                if window.len() < bytes.len() {
                    self.head_too_large(side, offset);
                    return 0;
                }
                let d = self.dirs.of_mut(side);
                d.head_buf.extend_from_slice(bytes);
                d.head_has_newline = bytes.contains(&b'\n');
                // The parser accepted a whole start line: HTTP.
                d.probe_matched |= d.head_has_newline;
                d.step(Event::HeadSplit);
                bytes.len()
            }
            Err(NoHead::TooManyHeaders) => {
                self.too_many_headers(side, bytes.len(), offset);
                bytes.len()
            }
            Err(NoHead::Malformed) => self.reject_head(side, bytes, offset, ts, ts),
        }
    }

    /// In `Headers`: the buffered head grows by the delivered bytes up to
    /// its end, and is parsed when it may have become whole.
    pub(super) fn read_rest_of_head(&mut self, side: Side, range: Range<'_>) -> usize {
        let Range {
            bytes, offset, ts, ..
        } = range;
        let d = self.dirs.of_mut(side);
        let prev = d.head_buf.len();
        let end = find_head_end(&d.head_buf, bytes);
        let take = end.unwrap_or(bytes.len());
        if prev.saturating_add(take) > self.limits.max_head_bytes {
            self.head_too_large(side, offset);
            return 0;
        }
        let new = bytes.get(..take).unwrap_or_default();
        d.head_buf.extend_from_slice(new);
        d.head_last_ts = ts;
        // Parse when the head ended, or when its first line just did (to
        // recognise an HTTP/0.9 request or reject garbage early); otherwise a
        // head trickling in byte by byte would be re-parsed once per byte.
        let first_line_done = !d.head_has_newline && new.contains(&b'\n');
        d.head_has_newline |= first_line_done;
        let still_probing = prev < 40;
        if end.is_none() && !first_line_done && !still_probing {
            return take;
        }
        let buffered = std::mem::take(&mut self.dirs.of_mut(side).head_buf);
        let parsed = self.parse(side, &buffered);
        let probe = Self::probe(side, &buffered);
        self.dirs.of_mut(side).head_buf = buffered;
        match parsed {
            Ok((head, len)) => {
                // The head ends inside `new`; the rest of it is body.
                let consumed = len.saturating_sub(prev).min(take);
                self.on_head(side, head, len, ts);
                consumed
            }
            Err(NoHead::Partial) if probe != Probe::No => {
                let d = self.dirs.of_mut(side);
                d.probe_matched |= d.head_has_newline;
                take
            }
            Err(NoHead::Partial | NoHead::Malformed) => {
                let buffered = std::mem::take(&mut self.dirs.of_mut(side).head_buf);
                let (head_offset, first_ts) = (
                    self.dirs.of(side).head_offset,
                    self.dirs.of(side).head_first_ts,
                );
                self.reject_head(side, &buffered, head_offset, first_ts, ts);
                self.dirs.of_mut(side).head_buf = buffered;
                self.dirs.of_mut(side).clear_head();
                take
            }
            Err(NoHead::TooManyHeaders) => {
                let (len, head_offset) = (
                    self.dirs.of(side).head_buf.len(),
                    self.dirs.of(side).head_offset,
                );
                self.too_many_headers(side, len, head_offset);
                take
            }
        }
    }

    /// What should have been a head is not one. `bytes` starts where the
    /// head would have; the rest of the delivered range is skipped.
    fn reject_head(
        &mut self,
        side: Side,
        bytes: &[u8],
        offset: u64,
        first_ts: Timestamp,
        ts: Timestamp,
    ) -> usize {
        let peer_detected = self.dirs.of(side.peer()).report.detected;
        // A first line longer than a head may be is no message's: it is
        // skipped like the rest, so a recorded head never passes the cap.
        let head = bytes.get(..self.limits.max_head_bytes).unwrap_or(bytes);
        let line = first_line(head);
        let plausible = match (side, line) {
            (Side::Client, Some(line)) => malformed_request_line(line).is_some(),
            (Side::Server, Some(line)) => line.starts_with(b"HTTP/"),
            (_, None) => false,
        };
        // A recorded malformed message owns its first line; the rest is skipped.
        let line_len = head
            .iter()
            .position(|&b| b == b'\n')
            .map_or(0, |p| p.saturating_add(1));
        let frames = (self.dirs.of(side).head_first_frame, self.frame);
        let msg = || malformed_message(line_len, offset, (first_ts, ts), frames);
        let mut recorded = 0;
        let d = self.dirs.of_mut(side);
        // A guess that did not pan out is only "not a message start", unless
        // the other side speaks HTTP and this looks like a broken message.
        if !d.guessing() || (peer_detected && plausible) {
            d.report.malformed_heads = d.report.malformed_heads.saturating_add(1);
            match (side, line) {
                (Side::Client, Some(line)) => {
                    if let Some((method, uri)) = malformed_request_line(line) {
                        let pipelined = self.dirs.of(side).head_outstanding;
                        let idx = self.add_malformed_request(method, uri, msg(), pipelined);
                        self.request_parsed(idx);
                        recorded = line_len;
                    }
                }
                (Side::Server, Some(_)) if plausible => {
                    let idx = self.store.pair_or_orphan();
                    if let Some(tx) = self.store.get(idx) {
                        tx.response = Some(msg());
                    }
                    recorded = line_len;
                }
                _ => {}
            }
            self.desync(side, false);
        } else if side == Side::Client
            && !d.report.detected
            && !d.budgeted_guess
            && self.candidate.is_none()
        {
            // The very first line of a client stream: keep it in case the
            // server answers it with a status line.
            let uppercase = bytes.first().is_some_and(u8::is_ascii_uppercase);
            if let Some((method, uri)) = line.and_then(malformed_request_line).filter(|_| uppercase)
            {
                self.candidate = Some(Box::new(Candidate {
                    method,
                    uri,
                    msg: msg(),
                }));
            }
        }
        let d = self.dirs.of_mut(side);
        d.clear_head();
        d.step(Event::FramingLost);
        let rest = bytes.len().saturating_sub(recorded);
        if rest > 0 {
            d.skip(offset.saturating_add(recorded as u64), rest);
        }
        bytes.len()
    }

    fn head_too_large(&mut self, side: Side, offset: u64) {
        let d = self.dirs.of_mut(side);
        d.report.heads_too_large = d.report.heads_too_large.saturating_add(1);
        let head_offset = if d.head_buf.is_empty() {
            offset
        } else {
            d.head_offset
        };
        d.skip(head_offset, d.head_buf.len());
        d.clear_head();
        d.step(Event::HeadTooLarge);
        self.desync(side, false);
    }

    /// A head with more fields than allowed, `len` bytes at `offset`: skipped.
    fn too_many_headers(&mut self, side: Side, len: usize, offset: u64) {
        let d = self.dirs.of_mut(side);
        d.report.too_many_headers = d.report.too_many_headers.saturating_add(1);
        d.clear_head();
        d.step(Event::FramingLost);
        d.skip(offset, len);
        self.desync(side, false);
    }

    /// The connection ended inside a head: parse what there is (if the start
    /// line is complete) so the message is not lost, marked truncated. The
    /// direction is closed afterwards either way.
    pub(super) fn salvage_head(&mut self, side: Side, end: MessageEnd) {
        let mut buf = std::mem::take(&mut self.dirs.of_mut(side).head_buf);
        let (offset, last_ts) = (
            self.dirs.of(side).head_offset,
            self.dirs.of(side).head_last_ts,
        );
        let original = buf.len();
        if first_line(&buf).is_some() && Self::probe(side, &buf) != Probe::No {
            while buf.last() == Some(&b'\r') {
                buf.pop();
            }
            let terminator: &[u8] = if buf.ends_with(b"\n") {
                b"\r\n"
            } else {
                b"\r\n\r\n"
            };
            buf.extend_from_slice(terminator);
            if let Ok((head, _)) = self.parse(side, &buf) {
                if let Some(idx) = self.on_head(side, head, original, last_ts) {
                    if let Some(msg) = self.store.get(idx).and_then(|tx| tx.message_mut(side)) {
                        msg.head_truncated = true;
                        msg.end = end;
                        msg.framing_satisfied = false;
                    }
                }
                let d = self.dirs.of_mut(side);
                d.cur = None;
                d.step(Event::Close);
                return;
            }
        }
        let d = self.dirs.of_mut(side);
        d.skip(offset, original);
        d.clear_head();
        d.step(Event::Close);
    }
}

/// Facts for a head that did not parse: `len` bytes at `offset`.
/// `(first, last)` are the times and frames of its first and last bytes.
fn malformed_message(
    len: usize,
    offset: u64,
    (first_ts, ts): (Timestamp, Timestamp),
    (first_frame, last_frame): (u64, u64),
) -> MessageFacts {
    let mut msg = MessageFacts::new(first_ts, offset);
    msg.first_frame = first_frame;
    msg.last_frame = last_frame;
    msg.malformed = true;
    msg.head_bytes = len as u64;
    msg.end_offset = offset.saturating_add(len as u64);
    msg.last_byte_ts = ts;
    msg.framing = Framing::Invalid;
    msg.end = MessageEnd::FramingError;
    msg
}
