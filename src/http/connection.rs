//! The per-connection parser: a state machine per direction, driven by the
//! reassembly's calls, producing transactions.
//!
//! Each direction is in one of a few states: expecting a head (`Idle`),
//! inside a body, opaque (tunnel / upgrade), seeking a message start after
//! losing the framing, given up, or closed. A delivered byte range is consumed
//! by repeated steps, each taking as much as its state allows: a whole head
//! parsed in place, or a body's worth of bytes skipped by arithmetic.

use super::chunked::{ChunkLimits, ChunkedDecoder, Outcome};
use super::facts::{HeaderFacts, HttpVersion};
use super::framing::{request_framing, response_framing, Framing, RequestKind};
use super::head::{
    find_head_end, first_line, leading_crlf, malformed_request_line, parse_request, parse_response,
    parser_config, probe_request, probe_status, NoHead, Parsed, ParsedHead, Probe, StartLine,
};
use super::pairing::{Decision, Pairing};
use super::timing;
use super::transaction::{
    DirectionReport, HttpAnomalies, HttpConnectionReport, MessageEnd, MessageFacts, NoResponse,
    Transaction,
};
use super::HttpLimits;
use crate::flow::Connection;
use crate::reassembly::{BySide, Side, StreamHandler};
use crate::Timestamp;
use std::borrow::Cow;
use std::collections::VecDeque;

/// Delivered ranges of a direction in which a message start is looked for
/// while neither direction has been recognised as HTTP: enough to get past a
/// mid-stream pickup inside a body, few enough that a long non-HTTP stream is
/// not probed at every segment. A direction in which a whole start line
/// parsed (its head then running into a capture hole) keeps being probed at
/// segment starts: it speaks HTTP, it just has not shown a whole head yet.
const PROBE_RANGES: u64 = 4;
/// The index given to transactions past [`HttpLimits::max_transactions`]:
/// it finds no transaction, so whatever would be recorded on it is dropped.
const NOT_KEPT: u64 = u64::MAX;
/// A head buffer that grew past this is released after use rather than kept
/// per connection.
const KEEP_HEAD_BUFFER_BYTES: usize = 8 * 1024;

/// What a direction is doing.
#[derive(Clone, Debug)]
enum State {
    /// Expecting a head; a partial one may be buffered.
    Idle,
    Body(Body),
    /// Tunnel, upgraded protocol: counted, not parsed.
    Opaque,
    /// The client sent CONNECT and the answer is not in yet.
    AwaitTunnel,
    /// Framing lost (or never found): looking for a message start at the
    /// start of each delivered range.
    Seek,
    /// Given up for good (a head over the cap).
    Unparsed,
    /// After FIN or RST.
    Closed,
}

#[derive(Clone, Debug)]
enum Body {
    Length {
        remaining: u64,
    },
    Chunked(ChunkedDecoder),
    /// Ends at the sender's FIN; `after_gap` once a gap fell inside it.
    Close {
        after_gap: bool,
    },
}

/// Where a direction goes once its current message ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    Idle,
    Opaque,
    AwaitTunnel,
    Seek,
}

#[derive(Debug)]
struct Direction {
    state: State,
    /// A head split across deliveries, and only that (bodies are never copied).
    head_buf: Vec<u8>,
    /// The head buffer holds a complete first line.
    head_has_newline: bool,
    head_first_ts: Timestamp,
    head_last_ts: Timestamp,
    head_offset: u64,
    /// When the head's first byte arrived, a response was still outstanding.
    head_outstanding: bool,
    /// The head being read is a guess (detection or resynchronisation): if it
    /// does not parse, that is not an error, just not a message start.
    tentative: bool,
    /// Transaction whose message this direction is in the middle of.
    cur: Option<u64>,
    after: After,
    /// Offset expected next, to notice holes the reassembly did not report.
    next_offset: Option<u64>,
    ranges: u64,
    /// A whole start line parsed here (its head may have run into a hole):
    /// keep probing past [`PROBE_RANGES`] though no head was parsed whole.
    probe_matched: bool,
    report: DirectionReport,
}

impl Direction {
    fn new() -> Direction {
        Direction {
            state: State::Seek,
            head_buf: Vec::new(),
            head_has_newline: false,
            head_first_ts: Timestamp::ZERO,
            head_last_ts: Timestamp::ZERO,
            head_offset: 0,
            head_outstanding: false,
            tentative: true,
            cur: None,
            after: After::Idle,
            next_offset: None,
            ranges: 0,
            probe_matched: false,
            report: DirectionReport::default(),
        }
    }

    fn clear_head(&mut self) {
        self.head_buf.clear();
        self.head_has_newline = false;
        if self.head_buf.capacity() > KEEP_HEAD_BUFFER_BYTES {
            self.head_buf = Vec::new();
        }
    }

    fn skip(&mut self, offset: u64, len: usize) {
        self.report.unparsed_bytes = self.report.unparsed_bytes.saturating_add(len as u64);
        self.report.unparsed_from.get_or_insert(offset);
    }
}

/// The HTTP/1.x parser of one TCP connection; see the [module docs](super).
#[derive(Debug)]
pub struct HttpConnection {
    limits: HttpLimits,
    config: httparse::ParserConfig,
    dirs: [Direction; 2],
    /// Transactions by index, `txs[k]` having index `base + k`.
    txs: VecDeque<Transaction>,
    base: u64,
    pairing: Pairing,
    fin: [Option<Timestamp>; 2],
    rst: Option<(Side, Timestamp)>,
    anomalies: HttpAnomalies,
    /// A malformed first request line, waiting for the server to show
    /// whether this is HTTP at all.
    candidate: Option<Box<Candidate>>,
}

/// A request line that did not parse at the start of a client stream not
/// yet known to be HTTP (`GET / HTTP/1.`): it becomes a malformed request
/// if the server then answers with a status line, else it was never HTTP.
#[derive(Debug)]
struct Candidate {
    method: Cow<'static, str>,
    uri: String,
    msg: MessageFacts,
}

impl Default for HttpConnection {
    fn default() -> Self {
        HttpConnection::new(HttpLimits::default())
    }
}

impl HttpConnection {
    pub fn new(limits: HttpLimits) -> HttpConnection {
        HttpConnection {
            limits,
            config: parser_config(),
            dirs: [Direction::new(), Direction::new()],
            txs: VecDeque::new(),
            base: 0,
            pairing: Pairing::new(limits.max_pending_requests),
            fin: [None, None],
            rst: None,
            anomalies: HttpAnomalies::default(),
            candidate: None,
        }
    }

    /// Transactions so far (for inspection while the connection is live).
    pub fn transactions(&self) -> impl Iterator<Item = &Transaction> {
        self.txs.iter()
    }

    /// Closes what is still open and hands over everything found. Called
    /// when the flow table lets go of `conn`: bodies that end at the close
    /// end here (if the sender's FIN was seen), other unfinished messages are
    /// marked with how the connection ended, and timing is computed.
    pub fn finish(mut self, conn: &Connection) -> HttpConnectionReport {
        let rst = self.rst.or(conn.rst);
        let fin = [self.fin[0].or(conn.fin[0]), self.fin[1].or(conn.fin[1])];
        for side in [Side::Client, Side::Server] {
            let end = match (rst, *fin.of(side)) {
                (Some((by, ts)), _) => MessageEnd::RstBeforeEnd { side: by, ts },
                (None, Some(ts)) => MessageEnd::FinBeforeEnd { side, ts },
                (None, None) => MessageEnd::CaptureEnded,
            };
            if !self.dirs.of(side).head_buf.is_empty() {
                self.salvage_head(side, end);
            }
            if let State::Body(body) = &self.dirs.of(side).state {
                let close_delimited = matches!(body, Body::Close { .. });
                if close_delimited && rst.is_none() && fin.of(side).is_some() {
                    self.complete_message(side, None);
                } else {
                    self.end_message(side, end, None);
                }
            }
            self.dirs.of_mut(side).state = State::Closed;
        }
        let no_response = match (rst, fin[1], fin[0]) {
            (Some((side, ts)), _, _) => NoResponse::Rst { side, ts },
            (None, Some(ts), _) => NoResponse::ServerFin { ts },
            (None, None, Some(ts)) => NoResponse::ClientFin { ts },
            (None, None, None) => NoResponse::CaptureEnded,
        };
        for idx in self.pairing.drain_requests().collect::<Vec<_>>() {
            if let Some(tx) = tx_at(&mut self.txs, self.base, idx) {
                tx.no_response.get_or_insert(no_response);
            }
        }
        let handshake = conn.handshake.rtt_ns();
        for tx in self.txs.iter_mut() {
            if tx.request.is_some() && tx.response.is_none() {
                tx.no_response.get_or_insert(no_response);
            }
            settle(tx, handshake);
        }
        self.anomalies.pairing_abandoned = self.pairing.abandoned();
        let is_http = self.dirs.iter().any(|d| d.report.detected);
        let [client, server] = self.dirs;
        HttpConnectionReport {
            is_http,
            transactions: if is_http { self.txs.into() } else { Vec::new() },
            directions: [client.report, server.report],
            anomalies: self.anomalies,
        }
    }

    /// Hands over the transactions at the front that are settled (both
    /// messages over, or the request known to get no response), in order,
    /// so that a long keep-alive connection need not hold every transaction
    /// until it closes. `connect_ns` is the handshake RTT
    /// ([`Handshake::rtt_ns`](crate::flow::Handshake::rtt_ns)), used for
    /// transaction 0 only. Drained transactions are not repeated by
    /// [`HttpConnection::finish`]; their indices stay as assigned.
    pub fn drain_settled(
        &mut self,
        connect_ns: Option<i64>,
    ) -> impl Iterator<Item = Transaction> + '_ {
        let busy = [self.dirs[0].cur, self.dirs[1].cur];
        let settled = self
            .txs
            .iter()
            .take_while(|tx| {
                let request_over = tx
                    .request
                    .as_ref()
                    .is_none_or(|m| m.end != MessageEnd::InProgress);
                let response_over = match &tx.response {
                    Some(m) => m.end != MessageEnd::InProgress,
                    None => tx.no_response.is_some(),
                };
                request_over && response_over && !busy.contains(&Some(tx.index))
            })
            .count();
        for tx in self.txs.iter_mut().take(settled) {
            settle(tx, connect_ns);
        }
        self.base = self.base.saturating_add(settled as u64);
        self.txs.drain(..settled)
    }

    // ----- transactions -------------------------------------------------

    /// A new transaction's index, or [`NOT_KEPT`] once the cap is reached
    /// (from then on, for good: indices stay those of the transactions' order).
    fn new_tx(&mut self) -> u64 {
        if self.anomalies.transactions_not_kept > 0
            || self.txs.len() >= self.limits.max_transactions
        {
            self.anomalies.transactions_not_kept =
                self.anomalies.transactions_not_kept.saturating_add(1);
            return NOT_KEPT;
        }
        let idx = self.base.saturating_add(self.txs.len() as u64);
        self.txs.push_back(Transaction::new(idx));
        idx
    }

    fn tx(&mut self, idx: u64) -> Option<&mut Transaction> {
        tx_at(&mut self.txs, self.base, idx)
    }

    /// The message `side` is in the middle of.
    fn cur_msg(&mut self, side: Side) -> Option<&mut MessageFacts> {
        let idx = self.dirs.of(side).cur?;
        self.tx(idx)?.message_mut(side)
    }

    /// Requests after this point may have been lost (client) or responses
    /// may have been (server): pairing must not trust FIFO order blindly.
    /// `at_boundary`: the loss began between two messages, so something
    /// started inside it.
    fn desync(&mut self, side: Side, at_boundary: bool) {
        match side {
            Side::Client => {
                let (txs, base) = (&mut self.txs, self.base);
                self.pairing
                    .push_hole(|idx, why| mark_unanswered(txs, base, idx, why));
            }
            Side::Server => self.pairing.server_desync(at_boundary),
        }
    }

    /// Whether a response is in progress: a request arriving now is pipelined.
    fn server_busy(&self) -> bool {
        let server = self.dirs.of(Side::Server);
        matches!(server.state, State::Body(_)) || !server.head_buf.is_empty()
    }

    /// Records how the current message of `side` ended (facts only).
    fn end_message(&mut self, side: Side, end: MessageEnd, last_ts: Option<Timestamp>) {
        if let Some(msg) = self.cur_msg(side) {
            msg.end = end;
            msg.framing_satisfied = end == MessageEnd::Complete;
            if let Some(ts) = last_ts {
                msg.last_byte_ts = ts;
            }
        }
        self.dirs.of_mut(side).cur = None;
    }

    /// The current message of `side` ended where its framing said: move on.
    fn complete_message(&mut self, side: Side, last_ts: Option<Timestamp>) {
        self.end_message(side, MessageEnd::Complete, last_ts);
        let d = self.dirs.of_mut(side);
        d.state = match std::mem::replace(&mut d.after, After::Idle) {
            After::Idle => State::Idle,
            After::Opaque => State::Opaque,
            After::AwaitTunnel => State::AwaitTunnel,
            After::Seek => State::Seek,
        };
    }

    /// The framing of `side` is lost at `offset`: end its message and seek.
    fn lose_framing(&mut self, side: Side, end: MessageEnd) {
        self.end_message(side, end, None);
        let d = self.dirs.of_mut(side);
        d.state = State::Seek;
        d.after = After::Idle;
        self.desync(side, false);
    }

    // ----- stepping through delivered bytes -------------------------------

    /// Consumes a prefix of `bytes` (at stream `offset`) according to the
    /// state of `side`; returns how much. Zero only together with a state
    /// change, so the caller's loop always progresses.
    fn step(
        &mut self,
        side: Side,
        bytes: &[u8],
        offset: u64,
        ts: Timestamp,
        at_start: bool,
    ) -> usize {
        let len = bytes.len();
        match self.dirs.of(side).state {
            State::Idle => self.step_head(side, bytes, offset, ts),
            State::Body(_) => self.step_body(side, bytes, offset, ts, at_start),
            State::Seek => self.step_seek(side, bytes, offset, ts, at_start),
            State::Opaque => {
                let r = &mut self.dirs.of_mut(side).report;
                r.opaque_bytes = r.opaque_bytes.saturating_add(len as u64);
                len
            }
            State::AwaitTunnel => {
                // More from the client before the CONNECT answer: another
                // request, or tunnel data it did not wait to send.
                let d = self.dirs.of_mut(side);
                d.state = if probe_request(bytes) == Probe::No {
                    State::Opaque
                } else {
                    d.tentative = true;
                    State::Idle
                };
                0
            }
            State::Unparsed => {
                self.dirs.of_mut(side).skip(offset, len);
                len
            }
            State::Closed => {
                let r = &mut self.dirs.of_mut(side).report;
                r.bytes_after_close = r.bytes_after_close.saturating_add(len as u64);
                len
            }
        }
    }

    fn step_seek(
        &mut self,
        side: Side,
        bytes: &[u8],
        offset: u64,
        ts: Timestamp,
        at_start: bool,
    ) -> usize {
        let other = self.dirs.of(side.peer());
        let d = self.dirs.of(side);
        let may_probe = at_start
            && (d.report.detected
                || other.report.detected
                || d.probe_matched
                || d.ranges <= PROBE_RANGES);
        if may_probe {
            let probe = match side {
                Side::Client => probe_request(bytes),
                Side::Server => probe_status(bytes),
            };
            if probe != Probe::No {
                let d = self.dirs.of_mut(side);
                d.state = State::Idle;
                d.tentative = true;
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

    /// The request at the head of the queue is HTTP/0.9, whose answer has
    /// no status line.
    fn awaiting_http09_response(&mut self) -> bool {
        let Some(idx) = self.pairing.front_request() else {
            return false;
        };
        self.tx(idx)
            .is_some_and(|tx| tx.version == Some(HttpVersion::Http09) && tx.response.is_none())
    }

    /// The server answers an HTTP/0.9 request: no status line, the bytes
    /// until the close are the response.
    fn start_http09_response(&mut self, offset: u64, ts: Timestamp) {
        let idx = self.pair_or_orphan();
        let mut msg = MessageFacts::new(ts, offset);
        msg.version = Some(HttpVersion::Http09);
        msg.framing = Framing::Http09;
        if let Some(tx) = self.tx(idx) {
            tx.response = Some(msg);
        }
        let d = self.dirs.of_mut(Side::Server);
        d.report.detected = true;
        d.tentative = false;
        d.cur = Some(idx);
        d.state = State::Body(Body::Close { after_gap: false });
    }

    fn probe(side: Side, bytes: &[u8]) -> Probe {
        match side {
            Side::Client => probe_request(bytes),
            Side::Server => probe_status(bytes),
        }
    }

    fn parse(&self, side: Side, buf: &[u8]) -> Parsed {
        match side {
            Side::Client => parse_request(buf, &self.config, &self.limits),
            Side::Server => parse_response(buf, &self.config, &self.limits),
        }
    }

    fn step_head(&mut self, side: Side, bytes: &[u8], offset: u64, ts: Timestamp) -> usize {
        if self.dirs.of(side).head_buf.is_empty() {
            let crlf = leading_crlf(bytes);
            if crlf > 0 {
                let r = &mut self.dirs.of_mut(side).report;
                r.stray_crlf_bytes = r.stray_crlf_bytes.saturating_add(crlf as u64);
                return crlf;
            }
            // Pipelining is about when the request's first byte was sent.
            let outstanding = self.pairing.requests_pending() > 0 || self.server_busy();
            let d = self.dirs.of_mut(side);
            d.head_first_ts = ts;
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
                    bytes.len()
                }
                Err(NoHead::TooManyHeaders) => {
                    self.too_many_headers(side, bytes.len(), offset);
                    bytes.len()
                }
                Err(NoHead::Malformed) => self.reject_head(side, bytes, offset, ts, ts),
            }
        } else {
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
            // Parse when the head ended, or when its first line just did
            // (to recognise an HTTP/0.9 request or reject garbage early);
            // otherwise a head trickling in byte by byte would be re-parsed
            // once per byte.
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
        let msg = || malformed_message(line_len, offset, first_ts, ts);
        let mut recorded = 0;
        let d = self.dirs.of_mut(side);
        // A guess that did not pan out is only "not a message start", unless
        // the other side speaks HTTP and this looks like a broken message.
        if !d.tentative || (peer_detected && plausible) {
            d.report.malformed_heads = d.report.malformed_heads.saturating_add(1);
            match (side, line) {
                (Side::Client, Some(line)) => {
                    if let Some((method, uri)) = malformed_request_line(line) {
                        let pipelined = self.dirs.of(side).head_outstanding;
                        self.add_malformed_request(method, uri, msg(), pipelined);
                        recorded = line_len;
                    }
                }
                (Side::Server, Some(_)) if plausible => {
                    let idx = self.pair_or_orphan();
                    if let Some(tx) = self.tx(idx) {
                        tx.response = Some(msg());
                    }
                    recorded = line_len;
                }
                _ => {}
            }
            self.desync(side, false);
        } else if side == Side::Client && !d.report.detected && self.candidate.is_none() {
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
        d.state = State::Seek;
        d.after = After::Idle;
        let rest = bytes.len().saturating_sub(recorded);
        if rest > 0 {
            d.skip(offset.saturating_add(recorded as u64), rest);
        }
        bytes.len()
    }

    /// A request whose head did not parse, kept so that pairing stays in
    /// step (a broken request usually gets a 400 back). What follows it in
    /// the client stream cannot be framed, so requests may be lost there.
    fn add_malformed_request(
        &mut self,
        method: Cow<'static, str>,
        uri: String,
        msg: MessageFacts,
        pipelined: bool,
    ) {
        let idx = self.new_tx();
        if let Some(tx) = self.tx(idx) {
            tx.method = Some(method);
            tx.uri = Some(uri);
            tx.pipelined = pipelined;
            tx.request = Some(msg);
        }
        self.enqueue_request(idx, pipelined);
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
        d.state = State::Unparsed;
        self.desync(side, false);
    }

    /// A head with more fields than allowed, `len` bytes at `offset`: skipped.
    fn too_many_headers(&mut self, side: Side, len: usize, offset: u64) {
        let d = self.dirs.of_mut(side);
        d.report.too_many_headers = d.report.too_many_headers.saturating_add(1);
        d.clear_head();
        d.state = State::Seek;
        d.skip(offset, len);
        self.desync(side, false);
    }

    fn step_body(
        &mut self,
        side: Side,
        bytes: &[u8],
        offset: u64,
        ts: Timestamp,
        at_start: bool,
    ) -> usize {
        let len = bytes.len();
        enum Next {
            More,
            Done,
            Failed,
            /// A status line where a close-delimited body was, after a gap.
            Resync,
        }
        let (consumed, payload, next, chunk_facts) = match &mut self.dirs.of_mut(side).state {
            State::Body(Body::Length { remaining }) => {
                let take = usize::try_from(*remaining).map_or(len, |r| r.min(len));
                let take_u64 = take as u64;
                *remaining = remaining.saturating_sub(take_u64);
                let next = if *remaining == 0 {
                    Next::Done
                } else {
                    Next::More
                };
                (take, take_u64, next, None)
            }
            State::Body(Body::Chunked(decoder)) => {
                let fed = decoder.feed(bytes);
                let next = match fed.outcome {
                    Outcome::NeedMore => Next::More,
                    Outcome::Done => Next::Done,
                    Outcome::Failed => Next::Failed,
                };
                (fed.consumed, fed.data, next, Some(decoder.facts))
            }
            State::Body(Body::Close { after_gap }) => {
                if *after_gap && at_start && probe_status(bytes) != Probe::No {
                    (0, 0, Next::Resync, None)
                } else {
                    (len, len as u64, Next::More, None)
                }
            }
            _ => return 0,
        };
        if let Some(msg) = self.cur_msg(side) {
            msg.body_bytes = msg.body_bytes.saturating_add(payload);
            msg.wire_body_bytes = msg.wire_body_bytes.saturating_add(consumed as u64);
            msg.end_offset = offset.saturating_add(consumed as u64);
            if consumed > 0 {
                msg.last_byte_ts = ts;
                msg.end_in_gap = false;
            }
            if chunk_facts.is_some() {
                msg.chunked = chunk_facts;
            }
        }
        match next {
            Next::More => {}
            Next::Done => self.complete_message(side, Some(ts)),
            Next::Failed => self.lose_framing(side, MessageEnd::FramingError),
            Next::Resync => {
                self.lose_framing(side, MessageEnd::GapInside);
                let d = self.dirs.of_mut(side);
                d.state = State::Idle;
                d.tentative = true;
            }
        }
        consumed
    }

    // ----- heads --------------------------------------------------------

    /// A head parsed: start its message. Returns the transaction index of a
    /// request or final response (not of an interim response).
    fn on_head(&mut self, side: Side, head: ParsedHead, len: usize, ts: Timestamp) -> Option<u64> {
        let d = self.dirs.of_mut(side);
        if d.tentative && d.report.detected {
            d.report.resyncs = d.report.resyncs.saturating_add(1);
        }
        d.tentative = false;
        d.report.detected = true;
        let mut msg = MessageFacts::new(d.head_first_ts, d.head_offset);
        d.clear_head();
        msg.head_bytes = len as u64;
        msg.end_offset = msg.start_offset.saturating_add(len as u64);
        msg.last_byte_ts = ts;
        match head.start {
            StartLine::Request {
                method,
                uri,
                version,
            } => Some(self.on_request(msg, method, uri, version, head.headers, ts)),
            StartLine::Status { version, code } => {
                self.on_response(msg, version, code, head.headers, ts)
            }
        }
    }

    fn enqueue_request(&mut self, idx: u64, pipelined: bool) {
        let was_abandoned = self.pairing.abandoned();
        let (txs, base) = (&mut self.txs, self.base);
        let queued = self
            .pairing
            .push_request(idx, pipelined, |i, why| mark_unanswered(txs, base, i, why));
        if !queued {
            // Refused without having been abandoned before: the queue was full.
            self.anomalies.pending_overflow |= !was_abandoned;
            if let Some(tx) = self.tx(idx) {
                tx.no_response = Some(NoResponse::Unpaired);
            }
        }
    }

    fn on_request(
        &mut self,
        mut msg: MessageFacts,
        method: Cow<'static, str>,
        uri: String,
        version: HttpVersion,
        headers: HeaderFacts,
        ts: Timestamp,
    ) -> u64 {
        // A real request: whatever came before it was not one.
        self.candidate = None;
        let pipelined = self.dirs.of(Side::Client).head_outstanding;
        let (framing, error) = if version == HttpVersion::Http09 {
            (Framing::None, None)
        } else {
            request_framing(&headers)
        };
        msg.version = Some(version);
        msg.framing = framing;
        msg.framing_error = error;
        msg.headers = headers;
        if let Framing::Length { bytes } = framing {
            msg.expected_body_bytes = Some(bytes);
        }
        let after = if version == HttpVersion::Http09 {
            // 0.9 has one request per connection; anything more is not HTTP.
            After::Seek
        } else if method == "CONNECT" {
            After::AwaitTunnel
        } else {
            After::Idle
        };
        let idx = self.new_tx();
        if let Some(tx) = self.tx(idx) {
            tx.method = Some(method);
            tx.uri = Some(uri);
            tx.version = Some(version);
            tx.pipelined = pipelined;
            tx.request = Some(msg);
        }
        self.enqueue_request(idx, pipelined);
        let d = self.dirs.of_mut(Side::Client);
        d.cur = Some(idx);
        d.after = after;
        self.begin_body(Side::Client, framing, ts);
        idx
    }

    /// Which request a final response answers, or a new orphan transaction.
    fn pair_or_orphan(&mut self) -> u64 {
        let (txs, base) = (&mut self.txs, self.base);
        let decision = self
            .pairing
            .pair_response(|i, why| mark_unanswered(txs, base, i, why));
        match decision {
            Decision::Pair {
                idx,
                after_gap,
                inferred,
                sequential,
            } => {
                if inferred {
                    self.anomalies.inferred_pairings =
                        self.anomalies.inferred_pairings.saturating_add(1);
                }
                if let Some(tx) = self.tx(idx) {
                    tx.paired_after_gap = after_gap;
                    tx.pairing_inferred = inferred;
                    if sequential {
                        // It followed a response that the gap swallowed.
                        tx.pipelined = false;
                    }
                }
                idx
            }
            Decision::Orphan => {
                let idx = self.new_tx();
                if let Some(tx) = self.tx(idx) {
                    tx.orphan_response = true;
                }
                idx
            }
        }
    }

    fn on_response(
        &mut self,
        mut msg: MessageFacts,
        version: HttpVersion,
        code: u16,
        headers: HeaderFacts,
        ts: Timestamp,
    ) -> Option<u64> {
        if self.pairing.requests_pending() == 0 {
            if let Some(candidate) = self.candidate.take() {
                let client = &mut self.dirs.of_mut(Side::Client).report;
                client.malformed_heads = client.malformed_heads.saturating_add(1);
                // Its line was counted as skipped; it is a head after all.
                let line = &candidate.msg;
                client.unparsed_bytes = client.unparsed_bytes.saturating_sub(line.head_bytes);
                if client.unparsed_from == Some(line.start_offset) {
                    client.unparsed_from = Some(line.end_offset);
                }
                // The first line of the stream: nothing was outstanding.
                self.add_malformed_request(candidate.method, candidate.uri, candidate.msg, false);
                self.desync(Side::Client, false);
            }
        }
        if (100..200).contains(&code) && code != 101 {
            // Interim: the request still waits for its final response.
            let report = &mut self.dirs.of_mut(Side::Server).report;
            report.interim_bytes = report.interim_bytes.saturating_add(msg.head_bytes);
            let first_ts = msg.first_byte_ts;
            match self.pairing.front_request().and_then(|idx| self.tx(idx)) {
                Some(tx) => {
                    tx.interim_responses = tx.interim_responses.saturating_add(1);
                    if code == 100 {
                        tx.continue_responses = tx.continue_responses.saturating_add(1);
                    }
                    tx.first_interim_ts.get_or_insert(first_ts);
                }
                None => {
                    self.anomalies.orphan_interim_responses =
                        self.anomalies.orphan_interim_responses.saturating_add(1);
                }
            }
            self.dirs.of_mut(Side::Server).state = State::Idle;
            return None;
        }
        let idx = self.pair_or_orphan();
        let kind = match self.tx(idx).and_then(|tx| tx.method.as_deref()) {
            Some(method) => RequestKind {
                head: method == "HEAD",
                connect: method == "CONNECT",
            },
            None => RequestKind::default(),
        };
        let (framing, error) = response_framing(code, kind, &headers);
        msg.version = Some(version);
        msg.framing = framing;
        msg.framing_error = error;
        msg.headers = headers;
        if let Framing::Length { bytes } = framing {
            msg.expected_body_bytes = Some(bytes);
        }
        let tunnel = framing == Framing::Tunnel;
        if let Some(tx) = self.tx(idx) {
            tx.status = Some(code);
            tx.tunnel = tunnel;
            if tx.request.is_none() {
                // An orphan: the response is all there is to go by.
                tx.version = Some(version);
            }
            tx.response = Some(msg);
        }
        let client = self.dirs.of_mut(Side::Client);
        if tunnel {
            // The rest of both directions is the tunnelled protocol.
            match client.state {
                State::Idle | State::AwaitTunnel if client.head_buf.is_empty() => {
                    client.state = State::Opaque
                }
                State::Body(_) => client.after = After::Opaque,
                _ => {}
            }
            self.dirs.of_mut(Side::Server).after = After::Opaque;
        } else if kind.connect {
            // CONNECT refused: the client may go on with plain HTTP.
            if matches!(client.state, State::AwaitTunnel) {
                client.state = State::Idle;
            }
            if client.after == After::AwaitTunnel {
                client.after = After::Idle;
            }
        }
        self.dirs.of_mut(Side::Server).cur = Some(idx);
        self.begin_body(Side::Server, framing, ts);
        Some(idx)
    }

    /// Sets up the body reader for the message `side` just started.
    fn begin_body(&mut self, side: Side, framing: Framing, ts: Timestamp) {
        let chunk_limits = ChunkLimits {
            max_size_digits: self.limits.max_chunk_size_digits,
            max_extension_bytes: self.limits.max_chunk_extension_bytes,
            max_trailer_bytes: self.limits.max_trailer_bytes,
        };
        let body = match framing {
            Framing::None | Framing::Tunnel | Framing::Length { bytes: 0 } => {
                self.complete_message(side, Some(ts));
                return;
            }
            Framing::Invalid => {
                self.lose_framing(side, MessageEnd::FramingError);
                return;
            }
            Framing::Length { bytes } => Body::Length { remaining: bytes },
            Framing::Chunked => {
                if let Some(msg) = self.cur_msg(side) {
                    msg.chunked = Some(Default::default());
                }
                Body::Chunked(ChunkedDecoder::new(chunk_limits))
            }
            Framing::CloseDelimited | Framing::Http09 => Body::Close { after_gap: false },
        };
        self.dirs.of_mut(side).state = State::Body(body);
    }

    /// The connection ended inside a head: parse what there is (if the start
    /// line is complete) so the message is not lost, marked truncated.
    fn salvage_head(&mut self, side: Side, end: MessageEnd) {
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
                    if let Some(msg) = self.tx(idx).and_then(|tx| tx.message_mut(side)) {
                        msg.head_truncated = true;
                        msg.end = end;
                        msg.framing_satisfied = false;
                    }
                }
                let d = self.dirs.of_mut(side);
                d.cur = None;
                d.state = State::Closed;
                return;
            }
        }
        let d = self.dirs.of_mut(side);
        d.skip(offset, original);
        d.clear_head();
    }
}

/// Fills in what depends on the transaction being over: completeness and timing.
fn settle(tx: &mut Transaction, handshake_rtt: Option<i64>) {
    tx.complete = matches!(
        (&tx.request, &tx.response),
        (Some(req), Some(resp)) if req.framing_satisfied && resp.framing_satisfied
    );
    let connect = if tx.index == 0 { handshake_rtt } else { None };
    tx.timing = timing::compute(tx, connect);
}

/// Facts for a head that did not parse: `len` bytes at `offset`.
fn malformed_message(len: usize, offset: u64, first_ts: Timestamp, ts: Timestamp) -> MessageFacts {
    let mut msg = MessageFacts::new(first_ts, offset);
    msg.malformed = true;
    msg.head_bytes = len as u64;
    msg.end_offset = offset.saturating_add(len as u64);
    msg.last_byte_ts = ts;
    msg.framing = Framing::Invalid;
    msg.end = MessageEnd::FramingError;
    msg
}

fn tx_at(txs: &mut VecDeque<Transaction>, base: u64, idx: u64) -> Option<&mut Transaction> {
    let k = usize::try_from(idx.checked_sub(base)?).ok()?;
    txs.get_mut(k)
}

fn mark_unanswered(txs: &mut VecDeque<Transaction>, base: u64, idx: u64, why: NoResponse) {
    if let Some(tx) = tx_at(txs, base, idx) {
        tx.no_response = Some(why);
    }
}

impl StreamHandler for HttpConnection {
    fn on_data(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp) {
        let (mut offset, mut bytes) = (offset, bytes);
        if let Some(next) = self.dirs.of(from).next_offset {
            if offset > next {
                // A hole the reassembly did not announce: treat it as a gap.
                self.on_gap(from, next, offset.saturating_sub(next), ts);
            } else if offset < next {
                // Already seen: keep only what is new.
                let seen = usize::try_from(next.saturating_sub(offset)).unwrap_or(usize::MAX);
                bytes = bytes.get(seen..).unwrap_or_default();
                offset = next;
            }
        }
        if bytes.is_empty() {
            return;
        }
        let d = self.dirs.of_mut(from);
        d.next_offset = Some(offset.saturating_add(bytes.len() as u64));
        d.ranges = d.ranges.saturating_add(1);
        d.report.bytes = d.report.bytes.saturating_add(bytes.len() as u64);
        let mut pos = 0usize;
        let mut idle_steps = 0u32;
        while let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) {
            let n = self.step(from, rest, offset.saturating_add(pos as u64), ts, pos == 0);
            if n == 0 {
                idle_steps = idle_steps.saturating_add(1);
                if idle_steps > 8 {
                    // Cannot happen by construction; never loop on hostile input.
                    debug_assert!(false, "http parser made no progress");
                    self.dirs
                        .of_mut(from)
                        .skip(offset.saturating_add(pos as u64), rest.len());
                    self.dirs.of_mut(from).state = State::Seek;
                    break;
                }
            } else {
                idle_steps = 0;
                pos = pos.saturating_add(n);
            }
        }
    }

    fn on_gap(&mut self, from: Side, offset: u64, len: u64, _ts: Timestamp) {
        {
            let d = self.dirs.of_mut(from);
            d.report.gaps = d.report.gaps.saturating_add(1);
            d.report.gap_bytes = d.report.gap_bytes.saturating_add(len);
            let end = offset.saturating_add(len);
            d.next_offset = Some(d.next_offset.map_or(end, |n| n.max(end)));
        }
        match &mut self.dirs.of_mut(from).state {
            State::Idle => {
                let d = self.dirs.of_mut(from);
                if !d.head_buf.is_empty() {
                    d.report.heads_lost_in_gap = d.report.heads_lost_in_gap.saturating_add(1);
                    d.skip(d.head_offset, d.head_buf.len());
                    d.clear_head();
                }
                d.state = State::Seek;
                // Between messages, or inside a head: either way the next
                // message (for the request at the front) began in the gap.
                self.desync(from, true);
            }
            State::Body(Body::Length { remaining }) => {
                let inside = len.min(*remaining);
                *remaining = remaining.saturating_sub(inside);
                let done = *remaining == 0;
                if let Some(msg) = self.cur_msg(from) {
                    msg.gap_bytes = msg.gap_bytes.saturating_add(inside);
                    msg.end_offset = offset.saturating_add(inside);
                    msg.end_in_gap = true;
                }
                if done {
                    // The framing is satisfied even though not every byte
                    // was seen. The message ends where the capture lost it:
                    // its time stays that of the last byte seen, not the
                    // time the gap was declared (often the end of the flow).
                    self.complete_message(from, None);
                    if len > inside && matches!(self.dirs.of(from).state, State::Idle) {
                        // The gap runs past the body: whole messages may be in it.
                        self.dirs.of_mut(from).state = State::Seek;
                        self.desync(from, true);
                    }
                }
            }
            State::Body(Body::Chunked(decoder)) => {
                if decoder.skip_gap(len) {
                    if let Some(msg) = self.cur_msg(from) {
                        msg.gap_bytes = msg.gap_bytes.saturating_add(len);
                        msg.end_offset = offset.saturating_add(len);
                        msg.end_in_gap = true;
                    }
                } else {
                    self.lose_framing(from, MessageEnd::GapInside);
                }
            }
            State::Body(Body::Close { after_gap }) => {
                *after_gap = true;
                if let Some(msg) = self.cur_msg(from) {
                    msg.gap_bytes = msg.gap_bytes.saturating_add(len);
                    msg.end_offset = offset.saturating_add(len);
                    msg.end_in_gap = true;
                }
            }
            State::Seek => {
                // Still looking for a message start; if nothing was seen yet
                // in this direction, the stream's start (a message boundary)
                // is in the gap.
                let at_boundary = self.dirs.of(from).report.bytes == 0;
                self.desync(from, at_boundary);
            }
            State::Opaque | State::AwaitTunnel | State::Unparsed | State::Closed => {}
        }
    }

    fn on_fin(&mut self, from: Side, ts: Timestamp) {
        self.fin.of_mut(from).get_or_insert(ts);
        if matches!(self.dirs.of(from).state, State::Closed) {
            return;
        }
        if !self.dirs.of(from).head_buf.is_empty() {
            self.salvage_head(from, MessageEnd::FinBeforeEnd { side: from, ts });
        }
        match self.dirs.of(from).state {
            // A close-delimited body ends here, as its framing says.
            State::Body(Body::Close { .. }) => self.complete_message(from, None),
            State::Body(_) => {
                self.end_message(from, MessageEnd::FinBeforeEnd { side: from, ts }, None)
            }
            _ => {}
        }
        self.dirs.of_mut(from).state = State::Closed;
    }

    fn on_rst(&mut self, from: Side, ts: Timestamp) {
        if self.rst.is_some() {
            return;
        }
        self.rst = Some((from, ts));
        let end = MessageEnd::RstBeforeEnd { side: from, ts };
        for side in [Side::Client, Side::Server] {
            if matches!(self.dirs.of(side).state, State::Closed) {
                continue;
            }
            if !self.dirs.of(side).head_buf.is_empty() {
                self.salvage_head(side, end);
            }
            if let State::Body(_) = self.dirs.of(side).state {
                self.end_message(side, end, None);
            }
            self.dirs.of_mut(side).state = State::Closed;
        }
    }
}
