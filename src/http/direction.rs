//! One direction of an HTTP/1.x connection as a state machine: what the next
//! delivered byte is — a start line, the rest of a head, body bytes counted
//! by length, by chunk framing or until the close, tunnel bytes — with every
//! change of state made by one function, [`next`], from an [`Event`].
//!
//! The states are RFC 9112's. A message is a start line and header fields
//! (§2.1), then a body whose length §6.3 decides from the head and, for a
//! response, from the request it answers: none (rule 1: a response to HEAD,
//! 1xx, 204, 304; rule 7: a request without Content-Length or
//! Transfer-Encoding), a tunnel (rule 2: a 2xx to CONNECT; likewise 101
//! Switching Protocols), chunked (rules 3, 4: `chunked` the final coding), by
//! length (rule 6: Content-Length), or until the close (rule 8: any other
//! response; an HTTP/0.9 response). A passive observer adds states of its
//! own: a direction whose framing is lost seeks the next message start
//! (`Seek`: a probe at the start of each delivered range, on a byte budget
//! past the first ranges of a direction nothing says speaks HTTP, see
//! `heads.rs`), one with a head over the cap stays `Unparsed`, and a client that
//! sent CONNECT awaits the answer before it is known to be a tunnel.
//!
//! | state | event | next state | what the connection does with it |
//! |---|---|---|---|
//! | `Seek` | `StartSeen`: a delivered range starts like a start line | `StartLine` (a guess) | reads the range as a head |
//! | `Seek` (server) | `Message` with an HTTP/0.9 request waiting: the answer has no head | `BodyUntilClose` | pairs it with the request |
//! | `StartLine` | `HeadSplit`: the head does not end in this range | `Headers` | buffers it (up to the head cap) |
//! | `StartLine`, `Headers` | `Message { body, then }`: a head parsed | by §6.3: `BodyByLength`, `BodyChunked`, `BodyUntilClose`, or with no body `then` | starts the message on its transaction; with no body it is complete |
//! | `StartLine`, `Headers` | `Interim`: a 1xx other than 101 (RFC 9110 §15.2) | `StartLine` | counts it on the waiting request |
//! | `StartLine`, `Headers` | `HeadTooLarge` | `Unparsed` | skips the rest of the direction |
//! | `BodyByLength`, `BodyChunked`, `BodyUntilClose` | `BodyEnd`: the length is read (a gap may complete it), the last chunk and trailers are, or the sender closed | `then`: `StartLine`; `AwaitTunnel` after CONNECT; `Tunnel`; `Seek` after an HTTP/0.9 request | the message is complete |
//! | any open state | `FramingLost`: no head where one should start, too many fields, an invalid length, a broken chunk, a gap inside a head, between messages or inside chunk framing, a status line after a gap in a body until close | `Seek` | ends the message (framing error, gap inside), warns the pairing |
//! | `AwaitTunnel` | `StartSeen`: the client sends more before the answer, and it starts like a request | `StartLine` (a guess) | |
//! | `AwaitTunnel` | `NotHttp`: ... and it does not | `Tunnel` | |
//! | `StartLine`, `AwaitTunnel` (client) | `TunnelOpened`: the server's 2xx to CONNECT or 101 | `Tunnel` | |
//! | `BodyByLength`, `BodyChunked` (client) | `TunnelOpened` | the same, then `Tunnel` | |
//! | `AwaitTunnel` (client) | `TunnelRefused`: a final non-2xx to CONNECT | `StartLine` | |
//! | `BodyByLength`, `BodyChunked` then `AwaitTunnel` | `TunnelRefused` | the same, then `StartLine` | |
//! | any | `Close`: FIN, RST, or the flow table lets go | `Closed` | salvages a split head, ends the message |
//!
//! A direction starts in `Seek`: nothing says where its first message starts
//! until a probe does. `Message`, `Interim`, `BodyEnd`, `FramingLost`,
//! `HeadTooLarge`, `StartSeen`, `NotHttp` and `Close` are taken in whatever
//! state they come (the table says where they do); `HeadSplit`,
//! `TunnelOpened` and `TunnelRefused` change only the states listed.
//!
//! Body bytes and gaps inside a body change the body state's counters
//! ([`Direction::read_body`], [`Direction::gap_in_body`]), never the state:
//! the connection then sends the event their outcome calls for.

use super::chunked::{ChunkFacts, ChunkedDecoder, Outcome};
use super::head::{probe_status, Probe};
use super::transaction::DirectionReport;
use crate::Timestamp;

/// What is left of a delivered range: `bytes` at stream `offset`, captured
/// at `ts`; `at_start` at the start of what the reassembly delivered, where
/// a message start may be probed for.
#[derive(Clone, Copy, Debug)]
pub(super) struct Range<'a> {
    pub bytes: &'a [u8],
    pub offset: u64,
    pub ts: Timestamp,
    pub at_start: bool,
}

/// A head buffer that grew past this is released after use rather than kept
/// per connection.
const KEEP_HEAD_BUFFER_BYTES: usize = 8 * 1024;

/// Where a direction is in its stream; see the [module docs](self).
#[derive(Clone, Debug)]
pub(super) enum State {
    /// At a message boundary: the next byte starts a start line (leading
    /// CR/LF tolerated). `guess`: the boundary was found by a probe (first
    /// bytes, resynchronisation), so what does not parse here is only "not a
    /// message start", not a malformed message.
    StartLine { guess: bool },
    /// Inside a head split across deliveries: its bytes so far (start line,
    /// field lines) are in [`Direction::head_buf`]. `guess` as above.
    Headers { guess: bool },
    /// A body of `remaining` more bytes (Content-Length).
    BodyByLength { remaining: u64, then: AfterMessage },
    /// A chunked body, decoded as it arrives.
    BodyChunked {
        decoder: ChunkedDecoder,
        then: AfterMessage,
    },
    /// A body that ends at its sender's FIN; `after_gap` once a gap fell
    /// inside it (a status line at a range start may then be a message the
    /// gap's loss of framing hid).
    BodyUntilClose { after_gap: bool },
    /// The client sent CONNECT and the answer is not in yet.
    AwaitTunnel,
    /// Tunnel, upgraded protocol: counted, not parsed.
    Tunnel,
    /// Framing lost (or never found): looking for a message start at the
    /// start of each delivered range.
    Seek,
    /// Given up for good (a head over the cap).
    Unparsed,
    /// After FIN or RST.
    Closed,
}

/// Where a direction goes once its message ends where its framing said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AfterMessage {
    /// The next message.
    StartLine,
    /// The answer to the client's CONNECT.
    AwaitTunnel,
    /// The rest of the direction is the tunnelled protocol.
    Tunnel,
    /// HTTP/0.9 has one request per connection: what follows is not HTTP.
    Seek,
}

/// A message's body as its head decided it (RFC 9112 §6.3).
#[derive(Clone, Debug)]
pub(super) enum MessageBody {
    None,
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
}

/// What happened to a direction; see the table in the [module docs](self).
#[derive(Clone, Debug)]
pub(super) enum Event {
    StartSeen,
    HeadSplit,
    Message {
        body: MessageBody,
        then: AfterMessage,
    },
    Interim,
    HeadTooLarge,
    BodyEnd,
    FramingLost,
    NotHttp,
    TunnelOpened,
    TunnelRefused,
    Close,
}

/// The transition function: the state after `event` in `state`.
pub(super) fn next(state: State, event: Event) -> State {
    match (state, event) {
        (_, Event::StartSeen) => State::StartLine { guess: true },
        (State::StartLine { guess }, Event::HeadSplit) => State::Headers { guess },
        (_, Event::Message { body, then }) => match body {
            MessageBody::None => after(then),
            MessageBody::Length(remaining) => State::BodyByLength { remaining, then },
            MessageBody::Chunked(decoder) => State::BodyChunked { decoder, then },
            MessageBody::UntilClose => State::BodyUntilClose { after_gap: false },
        },
        (_, Event::Interim) => State::StartLine { guess: false },
        (_, Event::HeadTooLarge) => State::Unparsed,
        (State::BodyByLength { then, .. } | State::BodyChunked { then, .. }, Event::BodyEnd) => {
            after(then)
        }
        (_, Event::BodyEnd) => State::StartLine { guess: false },
        (_, Event::FramingLost) => State::Seek,
        (_, Event::NotHttp) => State::Tunnel,
        (State::StartLine { .. } | State::AwaitTunnel, Event::TunnelOpened) => State::Tunnel,
        (State::AwaitTunnel, Event::TunnelRefused) => State::StartLine { guess: false },
        (state, Event::TunnelOpened) => then_after_body(state, AfterMessage::Tunnel, |_| true),
        (state, Event::TunnelRefused) => then_after_body(state, AfterMessage::StartLine, |then| {
            then == AfterMessage::AwaitTunnel
        }),
        (_, Event::Close) => State::Closed,
        (state, Event::HeadSplit) => state,
    }
}

/// The state a message's end leads to.
fn after(then: AfterMessage) -> State {
    match then {
        AfterMessage::StartLine => State::StartLine { guess: false },
        AfterMessage::AwaitTunnel => State::AwaitTunnel,
        AfterMessage::Tunnel => State::Tunnel,
        AfterMessage::Seek => State::Seek,
    }
}

/// `state` with what follows its body set to `to` if `when` the current
/// one; any other state unchanged.
fn then_after_body(
    mut state: State,
    to: AfterMessage,
    when: impl Fn(AfterMessage) -> bool,
) -> State {
    if let State::BodyByLength { then, .. } | State::BodyChunked { then, .. } = &mut state {
        if when(*then) {
            *then = to;
        }
    }
    state
}

/// What reading body bytes did, for the connection to record.
pub(super) struct BodyRead {
    /// Bytes of the range that belong to the body.
    pub consumed: usize,
    /// Payload among them (chunk data only, for a chunked body).
    pub payload: u64,
    pub outcome: BodyOutcome,
    /// The chunk facts so far, for a chunked body.
    pub chunk_facts: Option<ChunkFacts>,
}

pub(super) enum BodyOutcome {
    /// The body goes on.
    More,
    /// The framing is satisfied.
    Done,
    /// The chunk framing is broken.
    Failed,
    /// A status line at a range's start where a body until close was,
    /// after a gap: the gap hid where that body ended.
    Resync,
}

/// What a gap did to the body it fell in.
pub(super) enum BodyGap {
    /// `bytes` of the gap were the body's (all of it but for a body by
    /// length that the gap completed, `done`).
    Inside { bytes: u64, done: bool },
    /// The gap hid the chunk framing: the body's end can no longer be found.
    Lost,
}

/// One direction: its state, the head being read, and what was seen.
#[derive(Debug)]
pub(super) struct Direction {
    state: State,
    /// A head split across deliveries, and only that (bodies are never
    /// copied); not empty exactly in [`State::Headers`].
    pub head_buf: Vec<u8>,
    /// The head buffer holds a complete first line.
    pub head_has_newline: bool,
    pub head_first_ts: Timestamp,
    /// The frame of the head's first byte.
    pub head_first_frame: u64,
    pub head_last_ts: Timestamp,
    pub head_offset: u64,
    /// When the head's first byte arrived, a response was still outstanding.
    pub head_outstanding: bool,
    /// Transaction whose message this direction is in the middle of.
    pub cur: Option<u64>,
    /// Offset expected next, to notice holes the reassembly did not report.
    pub next_offset: Option<u64>,
    pub ranges: u64,
    /// A whole start line parsed here (its head may have run into a hole):
    /// keep probing past the first few ranges though no head was parsed whole.
    pub probe_matched: bool,
    /// The message start being read was guessed by a probe on the budget
    /// (past the first ranges of a direction not known to speak HTTP).
    pub budgeted_guess: bool,
    pub report: DirectionReport,
}

impl Direction {
    pub fn new() -> Direction {
        Direction {
            state: State::Seek,
            head_buf: Vec::new(),
            head_has_newline: false,
            head_first_ts: Timestamp::ZERO,
            head_first_frame: 0,
            head_last_ts: Timestamp::ZERO,
            head_offset: 0,
            head_outstanding: false,
            cur: None,
            next_offset: None,
            ranges: 0,
            probe_matched: false,
            budgeted_guess: false,
            report: DirectionReport::default(),
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Takes `event`: the only way the state changes.
    pub fn step(&mut self, event: Event) {
        let state = std::mem::replace(&mut self.state, State::Closed);
        self.state = next(state, event);
    }

    pub fn in_body(&self) -> bool {
        matches!(
            self.state,
            State::BodyByLength { .. } | State::BodyChunked { .. } | State::BodyUntilClose { .. }
        )
    }

    /// Whether the head being read (or about to be) is a guess.
    pub fn guessing(&self) -> bool {
        matches!(
            self.state,
            State::StartLine { guess: true } | State::Headers { guess: true }
        )
    }

    pub fn clear_head(&mut self) {
        self.head_buf.clear();
        self.head_has_newline = false;
        if self.head_buf.capacity() > KEEP_HEAD_BUFFER_BYTES {
            self.head_buf = Vec::new();
        }
    }

    /// Counts `len` bytes at `offset` as not parsed.
    pub fn skip(&mut self, offset: u64, len: usize) {
        self.report.unparsed_bytes = self.report.unparsed_bytes.saturating_add(len as u64);
        self.report.unparsed_from.get_or_insert(offset);
    }

    /// Reads the body at the start of `bytes` (`at_start`: at a delivered
    /// range's start); `None` outside a body.
    pub fn read_body(&mut self, bytes: &[u8], at_start: bool) -> Option<BodyRead> {
        let len = bytes.len();
        let (consumed, payload, outcome, chunk_facts) = match &mut self.state {
            State::BodyByLength { remaining, .. } => {
                let take = usize::try_from(*remaining).map_or(len, |r| r.min(len));
                let take_u64 = take as u64;
                *remaining = remaining.saturating_sub(take_u64);
                let outcome = if *remaining == 0 {
                    BodyOutcome::Done
                } else {
                    BodyOutcome::More
                };
                (take, take_u64, outcome, None)
            }
            State::BodyChunked { decoder, .. } => {
                let fed = decoder.feed(bytes);
                let outcome = match fed.outcome {
                    Outcome::NeedMore => BodyOutcome::More,
                    Outcome::Done => BodyOutcome::Done,
                    Outcome::Failed => BodyOutcome::Failed,
                };
                (fed.consumed, fed.data, outcome, Some(decoder.facts))
            }
            State::BodyUntilClose { after_gap } => {
                if *after_gap && at_start && probe_status(bytes) != Probe::No {
                    (0, 0, BodyOutcome::Resync, None)
                } else {
                    (len, len as u64, BodyOutcome::More, None)
                }
            }
            _ => return None,
        };
        Some(BodyRead {
            consumed,
            payload,
            outcome,
            chunk_facts,
        })
    }

    /// A gap of `len` bytes inside the body; `None` outside a body.
    pub fn gap_in_body(&mut self, len: u64) -> Option<BodyGap> {
        Some(match &mut self.state {
            State::BodyByLength { remaining, .. } => {
                let inside = len.min(*remaining);
                *remaining = remaining.saturating_sub(inside);
                BodyGap::Inside {
                    bytes: inside,
                    done: *remaining == 0,
                }
            }
            State::BodyChunked { decoder, .. } => {
                if decoder.skip_gap(len) {
                    BodyGap::Inside {
                        bytes: len,
                        done: false,
                    }
                } else {
                    BodyGap::Lost
                }
            }
            State::BodyUntilClose { after_gap } => {
                *after_gap = true;
                BodyGap::Inside {
                    bytes: len,
                    done: false,
                }
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::http::chunked::ChunkLimits;

    fn decoder() -> ChunkedDecoder {
        ChunkedDecoder::new(ChunkLimits {
            max_size_digits: 16,
            max_extension_bytes: 64,
            max_trailer_bytes: 64,
        })
    }

    fn message(body: MessageBody, then: AfterMessage) -> Event {
        Event::Message { body, then }
    }

    fn length(remaining: u64, then: AfterMessage) -> State {
        State::BodyByLength { remaining, then }
    }

    fn then_of(state: &State) -> Option<AfterMessage> {
        match state {
            State::BodyByLength { then, .. } | State::BodyChunked { then, .. } => Some(*then),
            _ => None,
        }
    }

    #[test]
    fn a_message_start_is_found_by_a_probe_and_is_a_guess() {
        for from in [State::Seek, State::AwaitTunnel] {
            let s = next(from, Event::StartSeen);
            assert!(matches!(s, State::StartLine { guess: true }), "{s:?}");
        }
        let split = next(State::StartLine { guess: true }, Event::HeadSplit);
        assert!(matches!(split, State::Headers { guess: true }));
        let split = next(State::StartLine { guess: false }, Event::HeadSplit);
        assert!(matches!(split, State::Headers { guess: false }));
        // Only a start line splits into a head.
        assert!(matches!(next(State::Seek, Event::HeadSplit), State::Seek));
    }

    #[test]
    fn a_head_starts_the_body_its_framing_says() {
        use AfterMessage as A;
        let h = || State::Headers { guess: true };
        let s = next(h(), message(MessageBody::Length(5), A::StartLine));
        assert!(matches!(
            s,
            State::BodyByLength {
                remaining: 5,
                then: A::StartLine
            }
        ));
        let s = next(
            h(),
            message(MessageBody::Chunked(decoder()), A::AwaitTunnel),
        );
        assert!(matches!(
            s,
            State::BodyChunked {
                then: A::AwaitTunnel,
                ..
            }
        ));
        let s = next(h(), message(MessageBody::UntilClose, A::StartLine));
        assert!(matches!(s, State::BodyUntilClose { after_gap: false }));
        // The HTTP/0.9 response: a body until close straight from Seek.
        let s = next(State::Seek, message(MessageBody::UntilClose, A::StartLine));
        assert!(matches!(s, State::BodyUntilClose { after_gap: false }));
        // No body: straight to what follows the message, no longer a guess.
        let none = |then| next(h(), message(MessageBody::None, then));
        assert!(matches!(
            none(A::StartLine),
            State::StartLine { guess: false }
        ));
        assert!(matches!(none(A::AwaitTunnel), State::AwaitTunnel));
        assert!(matches!(none(A::Tunnel), State::Tunnel));
        assert!(matches!(none(A::Seek), State::Seek));
        assert!(matches!(
            next(h(), Event::Interim),
            State::StartLine { guess: false }
        ));
        assert!(matches!(next(h(), Event::HeadTooLarge), State::Unparsed));
    }

    #[test]
    fn a_body_ends_where_its_message_said_to_go() {
        use AfterMessage as A;
        assert!(matches!(
            next(length(0, A::AwaitTunnel), Event::BodyEnd),
            State::AwaitTunnel
        ));
        let chunked = State::BodyChunked {
            decoder: decoder(),
            then: A::Tunnel,
        };
        assert!(matches!(next(chunked, Event::BodyEnd), State::Tunnel));
        assert!(matches!(
            next(State::BodyUntilClose { after_gap: true }, Event::BodyEnd),
            State::StartLine { guess: false }
        ));
    }

    #[test]
    fn lost_framing_seeks_and_close_closes_from_anywhere() {
        let all = || {
            vec![
                State::StartLine { guess: false },
                State::Headers { guess: true },
                length(3, AfterMessage::StartLine),
                State::BodyUntilClose { after_gap: false },
                State::AwaitTunnel,
                State::Tunnel,
                State::Seek,
                State::Unparsed,
            ]
        };
        for s in all() {
            assert!(matches!(next(s, Event::FramingLost), State::Seek));
        }
        for s in all() {
            assert!(matches!(next(s, Event::Close), State::Closed));
        }
        assert!(matches!(
            next(State::AwaitTunnel, Event::NotHttp),
            State::Tunnel
        ));
    }

    #[test]
    fn a_tunnel_opens_now_or_after_the_body_and_a_refusal_undoes_the_wait() {
        use AfterMessage as A;
        for from in [State::StartLine { guess: false }, State::AwaitTunnel] {
            assert!(matches!(next(from, Event::TunnelOpened), State::Tunnel));
        }
        let s = next(length(9, A::AwaitTunnel), Event::TunnelOpened);
        assert_eq!(then_of(&s), Some(A::Tunnel));
        // A split head and the states outside a message are left alone.
        for from in [
            State::Headers { guess: false },
            State::Seek,
            State::Unparsed,
        ] {
            let s = next(from.clone(), Event::TunnelOpened);
            assert_eq!(format!("{s:?}"), format!("{from:?}"));
        }

        assert!(matches!(
            next(State::AwaitTunnel, Event::TunnelRefused),
            State::StartLine { guess: false }
        ));
        let s = next(length(9, A::AwaitTunnel), Event::TunnelRefused);
        assert_eq!(then_of(&s), Some(A::StartLine));
        // Only a wait for the tunnel is undone.
        let s = next(length(9, A::Tunnel), Event::TunnelRefused);
        assert_eq!(then_of(&s), Some(A::Tunnel));
        let s = next(State::Tunnel, Event::TunnelRefused);
        assert!(matches!(s, State::Tunnel));
    }

    #[test]
    fn body_bytes_and_gaps_count_down_without_changing_state() {
        let mut d = Direction::new();
        d.step(message(MessageBody::Length(10), AfterMessage::StartLine));
        let r = d.read_body(b"abcd", true).unwrap();
        assert_eq!((r.consumed, r.payload), (4, 4));
        assert!(matches!(r.outcome, BodyOutcome::More));
        assert!(matches!(
            d.gap_in_body(100),
            Some(BodyGap::Inside {
                bytes: 6,
                done: true
            })
        ));
        assert!(matches!(
            d.state(),
            State::BodyByLength { remaining: 0, .. }
        ));

        let mut d = Direction::new();
        d.step(message(MessageBody::UntilClose, AfterMessage::StartLine));
        let r = d.read_body(b"HTTP/1.1 200 OK\r\n", true).unwrap();
        assert!(matches!(r.outcome, BodyOutcome::More), "no gap yet");
        assert!(matches!(
            d.gap_in_body(7),
            Some(BodyGap::Inside {
                bytes: 7,
                done: false
            })
        ));
        let r = d.read_body(b"HTTP/1.1 200 OK\r\n", true).unwrap();
        assert!(matches!(r.outcome, BodyOutcome::Resync));
        assert_eq!(r.consumed, 0);
        let r = d.read_body(b"HTTP/1.1 200 OK\r\n", false).unwrap();
        assert!(
            matches!(r.outcome, BodyOutcome::More),
            "not at a range start"
        );

        let mut d = Direction::new();
        d.step(message(
            MessageBody::Chunked(decoder()),
            AfterMessage::StartLine,
        ));
        assert!(
            matches!(d.gap_in_body(1), Some(BodyGap::Lost)),
            "in a size line"
        );
        assert!(Direction::new().read_body(b"x", true).is_none());
        assert!(Direction::new().gap_in_body(1).is_none());
    }
}
