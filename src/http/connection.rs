//! The parser of one connection: takes the reassembly's calls and hands each
//! delivered range to what its direction is reading.
//!
//! The work is in three places beside this one: `direction.rs`, the state
//! machine of each direction (states named as in RFC 9112, the transition
//! table in its docs); `heads.rs`, finding message starts and reading heads;
//! `messages.rs`, what a parsed head starts and how its body and its message
//! end. The transactions they produce live in `store.rs`. A delivered range
//! is consumed by repeated steps, each taking as much as its direction's
//! state allows: a whole head parsed in place, or a body's worth of bytes
//! skipped by arithmetic.

use super::ack_evidence::AckEvidence;
use super::direction::{BodyGap, Direction, Event, Range, State};
use super::head::{parser_config, probe_request, Probe};
use super::store::TransactionStore;
use super::transaction::{Candidate, HttpConnectionReport, MessageEnd, NoResponse, Transaction};
use super::HttpLimits;
use crate::reassembly::{BySide, ConnectionEnd, SegmentMeta, Side, StreamHandler};
use crate::Timestamp;

/// The HTTP/1.x parser of one TCP connection; see the [module docs](super).
#[derive(Debug)]
pub struct HttpConnection {
    pub(super) limits: HttpLimits,
    pub(super) config: httparse::ParserConfig,
    pub(super) dirs: [Direction; 2],
    pub(super) store: TransactionStore,
    fin: [Option<Timestamp>; 2],
    rst: Option<(Side, Timestamp)>,
    /// A malformed first request line, waiting for the server to show
    /// whether this is HTTP at all.
    pub(super) candidate: Option<Box<Candidate>>,
    /// How the connection ended, once the flow table said so.
    pub(super) end: ConnectionEnd,
    /// Keep every message's header fields as on the wire
    /// ([`HeaderFacts::fields`](super::HeaderFacts::fields)).
    pub(super) keep_fields: bool,
    /// Bytes charged to probing on the budget (see `heads.rs`).
    pub(super) probe_spent: u64,
    /// The client's ACKs, for pipelining after a hole (`ack_evidence.rs`).
    pub(super) acks: AckEvidence,
    /// The frame being processed ([`StreamHandler::on_frame`]): messages
    /// record the frames of their first and last bytes.
    pub(super) frame: u64,
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
            store: TransactionStore::new(&limits),
            fin: [None, None],
            rst: None,
            candidate: None,
            end: ConnectionEnd::default(),
            keep_fields: false,
            probe_spent: 0,
            acks: AckEvidence::default(),
            frame: 0,
        }
    }

    /// Keeps every message's header fields as on the wire, names and
    /// values ([`HeaderFacts::fields`](super::HeaderFacts::fields)), for
    /// an export that lists them (HAR). Off by default: the rules need only
    /// the facts.
    pub fn keep_fields(mut self) -> HttpConnection {
        self.keep_fields = true;
        self
    }

    /// Transactions so far (for inspection while the connection is live).
    pub fn transactions(&self) -> impl Iterator<Item = &Transaction> {
        self.store.iter()
    }

    /// Closes what is still open and hands over everything found. Called
    /// once the connection is over ([`StreamHandler::on_end`] told how):
    /// bodies that end at the close end here (if the sender's FIN was seen),
    /// other unfinished messages are marked with how the connection ended,
    /// and timing is computed.
    pub fn finish(mut self) -> HttpConnectionReport {
        let rst = self.rst.or(self.end.rst);
        let fin = [
            self.fin[0].or(self.end.fin[0]),
            self.fin[1].or(self.end.fin[1]),
        ];
        for side in [Side::Client, Side::Server] {
            let end = match (rst, *fin.of(side)) {
                (Some((by, ts)), _) => MessageEnd::RstBeforeEnd { side: by, ts },
                (None, Some(ts)) => MessageEnd::FinBeforeEnd { side, ts },
                (None, None) => MessageEnd::CaptureEnded,
            };
            if !self.dirs.of(side).head_buf.is_empty() {
                self.salvage_head(side, end);
            }
            let d = self.dirs.of(side);
            if d.in_body() {
                let until_close = matches!(d.state(), State::BodyUntilClose { .. });
                if until_close && rst.is_none() && fin.of(side).is_some() {
                    self.complete_message(side, None);
                } else {
                    self.end_message(side, end, None);
                }
            }
            self.dirs.of_mut(side).step(Event::Close);
        }
        let no_response = match (rst, fin[1], fin[0]) {
            (Some((side, ts)), _, _) => NoResponse::Rst { side, ts },
            (None, Some(ts), _) => NoResponse::ServerFin { ts },
            (None, None, Some(ts)) => NoResponse::ClientFin { ts },
            (None, None, None) => NoResponse::CaptureEnded,
        };
        let (txs, anomalies) = self.store.finish(no_response, self.end.handshake_rtt_ns);
        let is_http = self.dirs.iter().any(|d| d.report.detected);
        let [client, server] = self.dirs;
        HttpConnectionReport {
            is_http,
            transactions: if is_http { txs.into() } else { Vec::new() },
            directions: [client.report, server.report],
            anomalies,
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
        self.store.drain_settled(busy, connect_ns)
    }

    /// Consumes a prefix of `range` according to the state of `side`;
    /// returns how much. Zero only together with a change of state, so the
    /// caller's loop always progresses.
    fn consume(&mut self, side: Side, range: Range<'_>) -> usize {
        let Range { bytes, offset, .. } = range;
        let len = bytes.len();
        let d = self.dirs.of_mut(side);
        match d.state() {
            State::StartLine { .. } => self.read_start_line(side, range),
            State::Headers { .. } => self.read_rest_of_head(side, range),
            State::BodyByLength { .. }
            | State::BodyChunked { .. }
            | State::BodyUntilClose { .. } => self.read_body(side, range),
            State::Seek => self.seek(side, range),
            State::Tunnel => {
                d.report.opaque_bytes = d.report.opaque_bytes.saturating_add(len as u64);
                len
            }
            State::AwaitTunnel => {
                // More from the client before the CONNECT answer: another
                // request, or tunnel data it did not wait to send.
                d.step(if probe_request(bytes) == Probe::No {
                    Event::NotHttp
                } else {
                    Event::StartSeen
                });
                0
            }
            State::Unparsed => {
                d.skip(offset, len);
                len
            }
            State::Closed => {
                d.report.bytes_after_close = d.report.bytes_after_close.saturating_add(len as u64);
                len
            }
        }
    }
}

impl StreamHandler for HttpConnection {
    fn on_frame(&mut self, frame: u64) {
        self.frame = frame;
    }
    fn held_bytes(&self) -> usize {
        let [client, server] = &self.dirs;
        client
            .head_buf
            .capacity()
            .saturating_add(server.head_buf.capacity())
            .saturating_add(self.store.held_bytes())
    }

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
            let range = Range {
                bytes: rest,
                offset: offset.saturating_add(pos as u64),
                ts,
                at_start: pos == 0,
            };
            let n = self.consume(from, range);
            if n == 0 {
                idle_steps = idle_steps.saturating_add(1);
                if idle_steps > 8 {
                    // Cannot happen by construction; never loop on hostile input.
                    debug_assert!(false, "http parser made no progress");
                    let d = self.dirs.of_mut(from);
                    d.skip(offset.saturating_add(pos as u64), rest.len());
                    d.step(Event::FramingLost);
                    break;
                }
            } else {
                idle_steps = 0;
                pos = pos.saturating_add(n);
            }
        }
    }

    fn on_gap(&mut self, from: Side, offset: u64, len: u64, _ts: Timestamp) {
        let d = self.dirs.of_mut(from);
        d.report.gaps = d.report.gaps.saturating_add(1);
        // `u64::MAX` is a gap to the end of a stream whose length is unknown
        // (decryption ended): a gap, but no byte count to report.
        if len != u64::MAX {
            d.report.gap_bytes = d.report.gap_bytes.saturating_add(len);
        }
        let end = offset.saturating_add(len);
        d.next_offset = Some(d.next_offset.map_or(end, |n| n.max(end)));
        match d.state() {
            State::StartLine { .. } | State::Headers { .. } => {
                if !d.head_buf.is_empty() {
                    d.report.heads_lost_in_gap = d.report.heads_lost_in_gap.saturating_add(1);
                    d.skip(d.head_offset, d.head_buf.len());
                    d.clear_head();
                }
                d.step(Event::FramingLost);
                // Between messages, or inside a head: either way the next
                // message (for the request at the front) began in the gap.
                self.desync(from, true);
            }
            State::Seek => {
                // Still looking for a message start; if nothing was seen yet
                // in this direction, the stream's start (a message boundary)
                // is in the gap.
                let at_boundary = d.report.bytes == 0;
                self.desync(from, at_boundary);
            }
            _ => match d.gap_in_body(len) {
                Some(BodyGap::Inside { bytes, done }) => {
                    if let Some(msg) = self.cur_msg(from) {
                        msg.gap_bytes = msg.gap_bytes.saturating_add(bytes);
                        msg.end_offset = offset.saturating_add(bytes);
                        msg.end_in_gap = true;
                    }
                    if done {
                        // The framing is satisfied even though not every
                        // byte was seen. The message ends where the capture
                        // lost it: its time stays that of the last byte
                        // seen, not the time the gap was declared (often the
                        // end of the flow).
                        self.complete_message(from, None);
                        let d = self.dirs.of_mut(from);
                        let between =
                            matches!(d.state(), State::StartLine { .. } | State::Headers { .. });
                        if len > bytes && between {
                            // The gap runs past the body: whole messages may be in it.
                            d.step(Event::FramingLost);
                            self.desync(from, true);
                        }
                    }
                }
                Some(BodyGap::Lost) => self.lose_framing(from, MessageEnd::GapInside),
                // Awaiting a tunnel, in one, unparsed or closed: nothing to lose.
                None => {}
            },
        }
    }

    fn on_fin(&mut self, from: Side, ts: Timestamp) {
        self.fin.of_mut(from).get_or_insert(ts);
        if matches!(self.dirs.of(from).state(), State::Closed) {
            return;
        }
        if !self.dirs.of(from).head_buf.is_empty() {
            self.salvage_head(from, MessageEnd::FinBeforeEnd { side: from, ts });
        }
        match self.dirs.of(from).state() {
            // A body until close ends here, as its framing says.
            State::BodyUntilClose { .. } => self.complete_message(from, None),
            State::BodyByLength { .. } | State::BodyChunked { .. } => {
                self.end_message(from, MessageEnd::FinBeforeEnd { side: from, ts }, None)
            }
            _ => {}
        }
        self.dirs.of_mut(from).step(Event::Close);
    }

    fn on_rst(&mut self, from: Side, ts: Timestamp) {
        if self.rst.is_some() {
            return;
        }
        self.rst = Some((from, ts));
        let end = MessageEnd::RstBeforeEnd { side: from, ts };
        for side in [Side::Client, Side::Server] {
            if matches!(self.dirs.of(side).state(), State::Closed) {
                continue;
            }
            if !self.dirs.of(side).head_buf.is_empty() {
                self.salvage_head(side, end);
            }
            if self.dirs.of(side).in_body() {
                self.end_message(side, end, None);
            }
            self.dirs.of_mut(side).step(Event::Close);
        }
    }
    #[inline(always)]
    fn on_segment(&mut self, from: Side, segment: &SegmentMeta) {
        self.ack_segment(from, segment);
    }
    fn on_end(&mut self, end: &ConnectionEnd) {
        self.end = *end;
    }
    fn sender_of(payload: &[u8]) -> Option<Side> {
        if super::starts_like_request(payload) {
            Some(Side::Client)
        } else if super::starts_like_response(payload) {
            Some(Side::Server)
        } else {
            None
        }
    }
}
