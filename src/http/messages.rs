//! Messages: what a parsed head starts (a request queued for pairing, a
//! response paired with its request, an interim response counted, a tunnel
//! opened or refused), how its body is read, and how it ends — complete,
//! cut by a close, or with its framing lost.

use super::chunked::{ChunkLimits, ChunkedDecoder};
use super::direction::Range;
use super::direction::{AfterMessage, BodyOutcome, Event, MessageBody};
use super::facts::{HeaderFacts, HttpVersion};
use super::framing::{request_framing, response_framing, Framing, FramingError, RequestKind};
use super::head::{ParsedHead, StartLine};
use super::transaction::{MessageEnd, MessageFacts};
use super::HttpConnection;
use crate::reassembly::{BySide, Side};
use crate::Timestamp;
use std::borrow::Cow;

impl HttpConnection {
    /// A head parsed: start its message. Returns the transaction index of a
    /// request or final response (not of an interim response).
    pub(super) fn on_head(
        &mut self,
        side: Side,
        head: ParsedHead,
        len: usize,
        ts: Timestamp,
    ) -> Option<u64> {
        let d = self.dirs.of_mut(side);
        if d.guessing() && d.report.detected {
            d.report.resyncs = d.report.resyncs.saturating_add(1);
        }
        d.report.detected = true;
        let mut msg = MessageFacts::new(d.head_first_ts, d.head_offset);
        msg.first_frame = d.head_first_frame;
        msg.last_frame = self.frame;
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
        record_head(&mut msg, version, framing, error, headers);
        let then = if version == HttpVersion::Http09 {
            // 0.9 has one request per connection; anything more is not HTTP.
            AfterMessage::Seek
        } else if method == "CONNECT" {
            AfterMessage::AwaitTunnel
        } else {
            AfterMessage::StartLine
        };
        let idx = self.store.new_tx();
        let uri_bytes = uri.capacity();
        if let Some(tx) = self.store.get(idx) {
            tx.method = Some(method);
            tx.uri = Some(uri);
            tx.version = Some(version);
            tx.pipelined = pipelined;
            tx.request = Some(msg);
        }
        self.store.charge_strings(idx, uri_bytes);
        self.store.enqueue_request(idx, pipelined);
        self.request_parsed(idx);
        self.dirs.of_mut(Side::Client).cur = Some(idx);
        self.begin_body(Side::Client, framing, then, ts);
        idx
    }

    /// A request whose head did not parse, kept so that pairing stays in
    /// step (a broken request usually gets a 400 back). What follows it in
    /// the client stream cannot be framed, so requests may be lost there.
    pub(super) fn add_malformed_request(
        &mut self,
        method: Cow<'static, str>,
        uri: String,
        msg: MessageFacts,
        pipelined: bool,
    ) -> u64 {
        let idx = self.store.new_tx();
        let uri_bytes = uri.capacity();
        if let Some(tx) = self.store.get(idx) {
            tx.method = Some(method);
            tx.uri = Some(uri);
            tx.pipelined = pipelined;
            tx.request = Some(msg);
        }
        self.store.charge_strings(idx, uri_bytes);
        self.store.enqueue_request(idx, pipelined);
        idx
    }

    fn on_response(
        &mut self,
        mut msg: MessageFacts,
        version: HttpVersion,
        code: u16,
        headers: HeaderFacts,
        ts: Timestamp,
    ) -> Option<u64> {
        if self.store.requests_pending() == 0 {
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
            let server = self.dirs.of_mut(Side::Server);
            server.report.interim_bytes =
                server.report.interim_bytes.saturating_add(msg.head_bytes);
            self.store.interim(code, msg.first_byte_ts);
            self.dirs.of_mut(Side::Server).step(Event::Interim);
            return None;
        }
        let idx = self.store.pair_or_orphan();
        let kind = match self.store.get(idx).and_then(|tx| tx.method.as_deref()) {
            Some(method) => RequestKind {
                head: method == "HEAD",
                connect: method == "CONNECT",
            },
            None => RequestKind::default(),
        };
        let (framing, error) = response_framing(code, kind, &headers);
        record_head(&mut msg, version, framing, error, headers);
        let tunnel = framing == Framing::Tunnel;
        if let Some(tx) = self.store.get(idx) {
            tx.status = Some(code);
            tx.tunnel = tunnel;
            if tx.request.is_none() {
                // An orphan: the response is all there is to go by.
                tx.version = Some(version);
            }
            tx.response = Some(msg);
        }
        let client = self.dirs.of_mut(Side::Client);
        let then = if tunnel {
            // The rest of both directions is the tunnelled protocol.
            client.step(Event::TunnelOpened);
            AfterMessage::Tunnel
        } else {
            if kind.connect {
                // CONNECT refused: the client may go on with plain HTTP.
                client.step(Event::TunnelRefused);
            }
            AfterMessage::StartLine
        };
        self.dirs.of_mut(Side::Server).cur = Some(idx);
        self.begin_body(Side::Server, framing, then, ts);
        Some(idx)
    }

    /// Sets up the body reader for the message `side` just started, which
    /// `then` leads to once it is over.
    fn begin_body(&mut self, side: Side, framing: Framing, then: AfterMessage, ts: Timestamp) {
        let chunk_limits = ChunkLimits {
            max_size_digits: self.limits.max_chunk_size_digits,
            max_extension_bytes: self.limits.max_chunk_extension_bytes,
            max_trailer_bytes: self.limits.max_trailer_bytes,
        };
        let body = match framing {
            Framing::None | Framing::Tunnel | Framing::Length { bytes: 0 } => {
                self.end_message(side, MessageEnd::Complete, Some(ts));
                MessageBody::None
            }
            Framing::Invalid => {
                self.lose_framing(side, MessageEnd::FramingError);
                return;
            }
            Framing::Length { bytes } => MessageBody::Length(bytes),
            Framing::Chunked => {
                if let Some(msg) = self.cur_msg(side) {
                    msg.chunked = Some(Default::default());
                }
                MessageBody::Chunked(ChunkedDecoder::new(chunk_limits))
            }
            Framing::CloseDelimited | Framing::Http09 => MessageBody::UntilClose,
        };
        self.dirs.of_mut(side).step(Event::Message { body, then });
    }

    /// The request at the head of the queue is HTTP/0.9, whose answer has
    /// no status line.
    pub(super) fn awaiting_http09_response(&mut self) -> bool {
        let Some(idx) = self.store.front_request() else {
            return false;
        };
        self.store
            .get(idx)
            .is_some_and(|tx| tx.version == Some(HttpVersion::Http09) && tx.response.is_none())
    }

    /// The server answers an HTTP/0.9 request: no status line, the bytes
    /// until the close are the response.
    pub(super) fn start_http09_response(&mut self, offset: u64, ts: Timestamp) {
        let idx = self.store.pair_or_orphan();
        let mut msg = MessageFacts::new(ts, offset);
        (msg.first_frame, msg.last_frame) = (self.frame, self.frame);
        msg.version = Some(HttpVersion::Http09);
        msg.framing = Framing::Http09;
        if let Some(tx) = self.store.get(idx) {
            tx.response = Some(msg);
        }
        let d = self.dirs.of_mut(Side::Server);
        d.report.detected = true;
        d.cur = Some(idx);
        d.step(Event::Message {
            body: MessageBody::UntilClose,
            then: AfterMessage::StartLine,
        });
    }

    /// In a body: as much of `bytes` as is the body's, recorded on its message.
    pub(super) fn read_body(&mut self, side: Side, range: Range<'_>) -> usize {
        let Some(read) = self
            .dirs
            .of_mut(side)
            .read_body(range.bytes, range.at_start)
        else {
            return 0;
        };
        let consumed = read.consumed;
        let frame = self.frame;
        if let Some(msg) = self.cur_msg(side) {
            msg.body_bytes = msg.body_bytes.saturating_add(read.payload);
            msg.wire_body_bytes = msg.wire_body_bytes.saturating_add(consumed as u64);
            msg.end_offset = range.offset.saturating_add(consumed as u64);
            if consumed > 0 {
                msg.last_byte_ts = range.ts;
                msg.last_frame = frame;
                msg.end_in_gap = false;
            }
            if read.chunk_facts.is_some() {
                msg.chunked = read.chunk_facts;
            }
        }
        match read.outcome {
            BodyOutcome::More => {}
            BodyOutcome::Done => self.complete_message(side, Some(range.ts)),
            BodyOutcome::Failed => self.lose_framing(side, MessageEnd::FramingError),
            BodyOutcome::Resync => {
                self.lose_framing(side, MessageEnd::GapInside);
                self.dirs.of_mut(side).step(Event::StartSeen);
            }
        }
        consumed
    }

    /// The message `side` is in the middle of.
    pub(super) fn cur_msg(&mut self, side: Side) -> Option<&mut MessageFacts> {
        let idx = self.dirs.of(side).cur?;
        self.store.get(idx)?.message_mut(side)
    }

    /// Requests after this point may have been lost (client) or responses
    /// may have been (server): pairing must not trust FIFO order blindly.
    /// `at_boundary`: the loss began between two messages, so something
    /// started inside it.
    pub(super) fn desync(&mut self, side: Side, at_boundary: bool) {
        match side {
            Side::Client => self.store.client_hole(),
            Side::Server => self.store.server_desync(at_boundary),
        }
    }

    /// Whether a response is in progress: a request arriving now is pipelined.
    pub(super) fn server_busy(&self) -> bool {
        let server = self.dirs.of(Side::Server);
        server.in_body() || !server.head_buf.is_empty()
    }

    /// Records how the current message of `side` ended (facts only).
    pub(super) fn end_message(&mut self, side: Side, end: MessageEnd, last_ts: Option<Timestamp>) {
        let frame = self.frame;
        if let Some(msg) = self.cur_msg(side) {
            msg.end = end;
            msg.framing_satisfied = end == MessageEnd::Complete;
            if let Some(ts) = last_ts {
                msg.last_byte_ts = ts;
                msg.last_frame = frame;
            }
        }
        self.dirs.of_mut(side).cur = None;
    }

    /// The body of `side`'s message ended where its framing said: move on.
    pub(super) fn complete_message(&mut self, side: Side, last_ts: Option<Timestamp>) {
        self.end_message(side, MessageEnd::Complete, last_ts);
        self.dirs.of_mut(side).step(Event::BodyEnd);
    }

    /// The framing of `side` is lost: end its message and seek.
    pub(super) fn lose_framing(&mut self, side: Side, end: MessageEnd) {
        self.end_message(side, end, None);
        self.dirs.of_mut(side).step(Event::FramingLost);
        self.desync(side, false);
    }
}

/// Records on `msg` what its parsed head said and the framing it gives.
fn record_head(
    msg: &mut MessageFacts,
    version: HttpVersion,
    framing: Framing,
    error: Option<FramingError>,
    headers: HeaderFacts,
) {
    msg.version = Some(version);
    msg.framing = framing;
    msg.framing_error = error;
    msg.headers = headers;
    if let Framing::Length { bytes } = framing {
        msg.expected_body_bytes = Some(bytes);
    }
}
