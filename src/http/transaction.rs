//! What the HTTP stage hands on: transactions with per-message facts, and a
//! per-connection report.

use super::chunked::ChunkFacts;
use super::facts::{HeaderFacts, HttpVersion};
use super::framing::{Framing, FramingError};
use super::serde_ts::{opt_secs, secs};
use crate::reassembly::{BySide, Side};
use crate::Timestamp;
use serde::Serialize;
use std::borrow::Cow;

/// A request line that did not parse at the start of a client stream not
/// yet known to be HTTP (`GET / HTTP/1.`): it becomes a malformed request
/// if the server then answers with a status line, else it was never HTTP.
#[derive(Debug)]
pub(super) struct Candidate {
    pub method: Cow<'static, str>,
    pub uri: String,
    pub msg: MessageFacts,
}

/// How a message ended relative to the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum MessageEnd {
    /// Still being received (only seen before [`HttpConnection::finish`](super::HttpConnection::finish)).
    InProgress,
    /// The framing was satisfied (or, for a close-delimited body, its sender closed with FIN).
    Complete,
    /// The sender closed with FIN before the framing was satisfied (R002).
    FinBeforeEnd {
        side: Side,
        #[serde(serialize_with = "secs")]
        ts: Timestamp,
    },
    /// A reset (by `side`) before the framing was satisfied (R001).
    RstBeforeEnd {
        side: Side,
        #[serde(serialize_with = "secs")]
        ts: Timestamp,
    },
    /// A gap in the capture made the framing impossible to follow.
    GapInside,
    /// The message's own framing was broken (chunk syntax, an invalid
    /// request length, a head over the cap).
    FramingError,
    /// The capture (or the flow table's interest) ended first, without FIN or RST.
    CaptureEnded,
}

/// Everything recorded about one request or response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageFacts {
    /// `None` when the start line did not parse ([`MessageFacts::malformed`]).
    pub version: Option<HttpVersion>,
    /// Capture time of the segment carrying the first byte of the head.
    #[serde(serialize_with = "secs")]
    pub first_byte_ts: Timestamp,
    /// Capture time of the segment carrying the last byte seen of the message.
    #[serde(serialize_with = "secs")]
    pub last_byte_ts: Timestamp,
    /// The frame that carried the first byte of the head (0: unknown), and
    /// the frame that carried the last byte seen; a byte that arrived ahead
    /// of a hole counts in the frame that filled the hole.
    pub first_frame: u64,
    pub last_frame: u64,
    /// Offset of the first head byte in its direction's stream.
    pub start_offset: u64,
    /// Offset just past the last byte of the message seen so far.
    pub end_offset: u64,
    /// Bytes of the head (start line, fields, empty line).
    pub head_bytes: u64,
    #[serde(flatten)]
    pub headers: HeaderFacts,
    pub framing: Framing,
    pub framing_error: Option<FramingError>,
    /// Chunk syntax and structure, for chunked bodies.
    pub chunked: Option<ChunkFacts>,
    /// Payload bytes captured (chunk data only, for chunked bodies).
    pub body_bytes: u64,
    /// Bytes after the head captured, chunk framing and trailers included.
    pub wire_body_bytes: u64,
    /// Bytes of this message's body that were not captured (gaps).
    pub gap_bytes: u64,
    /// Content-Length, when that is the framing.
    pub expected_body_bytes: Option<u64>,
    /// The body ended where its framing said it would.
    pub framing_satisfied: bool,
    pub end: MessageEnd,
    /// The head did not parse; method and target come from the raw line.
    pub malformed: bool,
    /// The connection ended inside the head; what there was got parsed.
    pub head_truncated: bool,
    /// The message's last bytes on the wire fell in a capture gap (a gap
    /// that completed its Content-Length, or one its sender's close
    /// followed): `last_byte_ts` is the last byte actually seen, not the
    /// end of the message, which the capture does not show.
    pub end_in_gap: bool,
}

impl MessageFacts {
    pub(crate) fn new(first_byte_ts: Timestamp, start_offset: u64) -> MessageFacts {
        MessageFacts {
            version: None,
            first_byte_ts,
            last_byte_ts: first_byte_ts,
            first_frame: 0,
            last_frame: 0,
            start_offset,
            end_offset: start_offset,
            head_bytes: 0,
            headers: HeaderFacts::default(),
            framing: Framing::None,
            framing_error: None,
            chunked: None,
            body_bytes: 0,
            wire_body_bytes: 0,
            gap_bytes: 0,
            expected_body_bytes: None,
            framing_satisfied: false,
            end: MessageEnd::InProgress,
            malformed: false,
            head_truncated: false,
            end_in_gap: false,
        }
    }

    /// Head plus body bytes on the wire (captured or not).
    pub fn total_bytes(&self) -> u64 {
        self.head_bytes
            .saturating_add(self.wire_body_bytes)
            .saturating_add(self.gap_bytes)
    }
}

/// Why a request has no response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NoResponse {
    /// Its response was (or may have been) in a gap of the server's stream.
    LostInGap,
    /// Pairing on this connection was abandoned (an ambiguous gap while
    /// requests were pipelined, or the pending-request cap): no response is
    /// attributed rather than a wrong one.
    Unpaired,
    /// The server closed with FIN first.
    ServerFin {
        #[serde(serialize_with = "secs")]
        ts: Timestamp,
    },
    /// The client closed with FIN and the server never answered.
    ClientFin {
        #[serde(serialize_with = "secs")]
        ts: Timestamp,
    },
    /// Reset by `side`.
    Rst {
        side: Side,
        #[serde(serialize_with = "secs")]
        ts: Timestamp,
    },
    /// The capture ended with the connection open.
    CaptureEnded,
}

/// SPEC §1 timing of one transaction; durations in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Timing {
    /// SYN to handshake ACK: first transaction of a connection whose whole handshake was seen.
    pub connect_ns: Option<i64>,
    /// Request first byte to request last byte.
    pub send_ns: Option<i64>,
    /// Request last byte to response first byte (negative for an early response).
    pub wait_ns: Option<i64>,
    /// Response first byte to response last byte.
    pub receive_ns: Option<i64>,
    #[serde(serialize_with = "opt_secs")]
    pub request_start_ts: Option<Timestamp>,
    #[serde(serialize_with = "opt_secs")]
    pub request_end_ts: Option<Timestamp>,
    #[serde(serialize_with = "opt_secs")]
    pub response_start_ts: Option<Timestamp>,
    #[serde(serialize_with = "opt_secs")]
    pub response_end_ts: Option<Timestamp>,
}

/// A request and its final response, either of which may be missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transaction {
    /// Position within the connection, in order of appearance (0-based).
    pub index: u64,
    /// `None` for a response whose request was not seen.
    pub method: Option<Cow<'static, str>>,
    pub uri: Option<String>,
    /// The request's version (the response's for an orphan response).
    pub version: Option<HttpVersion>,
    /// The final response's status; `None` if there is none (or it did not parse).
    pub status: Option<u16>,
    pub request: Option<MessageFacts>,
    /// The final response (interim 1xx are counted below, not stored).
    pub response: Option<MessageFacts>,
    /// The request's first byte came before the previous response's last
    /// byte. Where a capture hole hid that response's end, the client's ACK
    /// on the request's first segment decides: everything the server had
    /// sent acknowledged means the response had arrived.
    pub pipelined: bool,
    /// A response with no request: the capture began mid-stream, or a gap ate the request.
    pub orphan_response: bool,
    /// The pairing was decided after a gap in one of the streams.
    pub paired_after_gap: bool,
    /// ... and by inference (the client was not pipelining, so the latest
    /// request is the one answered), not by proof.
    pub pairing_inferred: bool,
    /// Interim (1xx other than 101) responses before the final one.
    pub interim_responses: u32,
    /// `100 Continue` responses among them.
    pub continue_responses: u32,
    #[serde(serialize_with = "opt_secs")]
    pub first_interim_ts: Option<Timestamp>,
    /// The connection switched protocols or became a CONNECT tunnel here.
    pub tunnel: bool,
    /// Set when there is a request but no response.
    pub no_response: Option<NoResponse>,
    pub timing: Timing,
    /// Both messages present, their framing satisfied, and every byte of
    /// both captured: a message whose body ran into a capture gap (even one
    /// that its length then completed) is not complete.
    pub complete: bool,
}

impl Transaction {
    pub(crate) fn new(index: u64) -> Transaction {
        Transaction {
            index,
            method: None,
            uri: None,
            version: None,
            status: None,
            request: None,
            response: None,
            pipelined: false,
            orphan_response: false,
            paired_after_gap: false,
            pairing_inferred: false,
            interim_responses: 0,
            continue_responses: 0,
            first_interim_ts: None,
            tunnel: false,
            no_response: None,
            timing: Timing::default(),
            complete: false,
        }
    }

    pub fn response_lost_in_gap(&self) -> bool {
        self.no_response == Some(NoResponse::LostInGap)
    }

    pub fn request_body_bytes(&self) -> u64 {
        self.request.as_ref().map_or(0, |m| m.body_bytes)
    }

    pub fn response_body_bytes(&self) -> u64 {
        self.response.as_ref().map_or(0, |m| m.body_bytes)
    }

    pub(crate) fn message_mut(&mut self, side: Side) -> Option<&mut MessageFacts> {
        match side {
            Side::Client => self.request.as_mut(),
            Side::Server => self.response.as_mut(),
        }
    }
}

/// What the parser made of one direction of the connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DirectionReport {
    /// At least one well-formed head was parsed in this direction.
    pub detected: bool,
    /// Bytes delivered by reassembly.
    pub bytes: u64,
    /// Tunnel / upgraded / HTTP/0.9-response bytes, counted, not parsed.
    pub opaque_bytes: u64,
    /// Bytes skipped because the framing was lost (or the direction is not HTTP).
    pub unparsed_bytes: u64,
    /// Stream offset where parsing first gave up, if it did.
    pub unparsed_from: Option<u64>,
    /// Times parsing picked up again at a message start after losing the framing.
    pub resyncs: u32,
    pub gaps: u32,
    pub gap_bytes: u64,
    /// Heads over [`HttpLimits::max_head_bytes`](super::HttpLimits); the
    /// direction is left unparsed after one.
    pub heads_too_large: u32,
    /// Heads over [`HttpLimits::max_headers`](super::HttpLimits) fields.
    pub too_many_headers: u32,
    /// Heads that did not parse where a message was expected.
    pub malformed_heads: u32,
    /// Partial heads discarded because a gap cut them.
    pub heads_lost_in_gap: u32,
    /// CR/LF bytes between messages (tolerated).
    pub stray_crlf_bytes: u64,
    /// Heads of interim (1xx) responses, which are counted on their
    /// transaction but not kept.
    pub interim_bytes: u64,
    /// Data delivered after this direction's FIN or a RST.
    pub bytes_after_close: u64,
    /// Range starts not probed for a message start because the
    /// connection's probing budget was spent (see `heads.rs`).
    pub probes_over_budget: u64,
}

/// Connection-level oddities that are not tied to one message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HttpAnomalies {
    /// 1xx interim responses with no request waiting.
    pub orphan_interim_responses: u32,
    /// The pending-request cap was hit.
    pub pending_overflow: bool,
    /// Pairing was abandoned for the rest of the connection.
    pub pairing_abandoned: bool,
    /// Pairings decided by inference after a gap.
    pub inferred_pairings: u32,
    /// Transactions parsed but not kept: [`HttpLimits::max_transactions`](super::HttpLimits) was reached.
    pub transactions_not_kept: u64,
    /// Transactions whose send, receive or connect time the packets'
    /// timestamps made negative (the capture's clock went backwards):
    /// clamped to zero. Listed only when there are some.
    #[serde(skip_serializing_if = "is_zero")]
    pub negative_durations: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Everything the HTTP stage found on one connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HttpConnectionReport {
    /// Some message in either direction parsed as HTTP.
    pub is_http: bool,
    /// In order of appearance; empty when the connection is not HTTP.
    pub transactions: Vec<Transaction>,
    /// Per direction, indexed by [`Side::index`].
    pub directions: [DirectionReport; 2],
    pub anomalies: HttpAnomalies,
}

impl HttpConnectionReport {
    pub fn direction(&self, side: Side) -> &DirectionReport {
        self.directions.of(side)
    }

    /// Where each direction (client, server) stopped being parsed.
    pub fn unparsed(&self) -> [Option<u64>; 2] {
        [
            self.directions[0].unparsed_from,
            self.directions[1].unparsed_from,
        ]
    }
}
