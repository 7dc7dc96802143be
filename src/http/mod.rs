//! Stage 5: HTTP/1.x transactions over reassembled TCP streams.
//!
//! One [`HttpConnection`] per TCP connection receives the reassembly's
//! [`StreamHandler`](crate::reassembly::StreamHandler) calls for both
//! directions and turns them into [`Transaction`]s: a request, its final
//! response, and the facts the lint rules need about each (Connection and
//! Keep-Alive tokens, Content-Length / Transfer-Encoding anomalies, chunk
//! syntax errors, how the connection ended relative to the message, timing).
//!
//! Design choices that matter for the rest of the pipeline:
//!
//! - **Detection by content, not port.** A direction is HTTP once a request
//!   line (client) or a status line (server) parses at its start; anything
//!   else is counted and left alone.
//! - **Heads are parsed once, bodies are never scanned.** `httparse` parses a
//!   head straight from the delivered slice; only a head split across
//!   deliveries is copied (capped at [`HttpLimits::max_head_bytes`]). Body
//!   bytes are skipped by arithmetic (Content-Length, chunk data), so the cost
//!   of a multi-gigabyte download is a handful of subtractions per segment.
//! - **Facts, not verdicts.** This module records what each message said and
//!   how it ended; the rules decide what is wrong with it.
//! - **Pairing is FIFO and never guesses silently.** Responses pair with
//!   requests in order; after a gap that may have swallowed whole messages the
//!   pairing is either provably right or inferred and flagged
//!   ([`Transaction::pairing_inferred`]); see `pairing.rs` for the rules.
//!
//! Where things are: `handler.rs` is the stream handler the commands run,
//! keeping what each asks for and sending TLS connections to the TLS stage
//! (`protocol.rs` tells them apart by the client's first bytes); `connection.rs` takes the reassembly's calls and
//! dispatches each delivered range on its direction's state; `direction.rs`
//! is that state machine (states named after RFC 9112, its transition table
//! in the module docs); `heads.rs` finds message starts and reads heads;
//! `messages.rs` starts and ends messages and reads bodies; `store.rs` holds
//! the transactions and their pairing. `head.rs`, `facts.rs`,
//! `field_names.rs`, `framing.rs` and `chunked.rs` parse and interpret bytes.
//!
//! Use: create one [`ConnectionHandler`] per connection (the
//! [`HttpConnection`] parser, told by [`Keep`] what to hold on to), feed it
//! the reassembly's calls, and call [`ConnectionHandler::finish`] after the
//! flow table's [`on_end`](crate::reassembly::StreamHandler::on_end).

mod ack_evidence;
mod chunked;
mod connection;
mod direction;
mod facts;
mod field_names;
mod framing;
mod handler;
mod head;
mod heads;
mod messages;
mod pairing;
mod protocol;
mod serde_ts;
pub mod sniff;
mod store;
mod timing;
mod transaction;

pub use chunked::{ChunkError, ChunkFacts};
pub use connection::HttpConnection;
pub use facts::{
    ConnectionTokens, ContentLengthFacts, HeaderFacts, HeaderField, HopByHop, HttpVersion,
    KeepAliveFacts, TransferEncodingFacts,
};
pub use field_names::is_end_to_end_field;
pub use field_names::FieldNames;
pub use framing::{Framing, FramingError};
pub use handler::{
    ConnectionHandler, HandledConnection, Keep, Mark, MarkKind, MAX_MARKS, MAX_RELEASES,
};
pub use protocol::{Protocol, H2_PREFACE};
pub use transaction::{
    DirectionReport, HttpAnomalies, HttpConnectionReport, MessageEnd, MessageFacts, NoResponse,
    Timing, Transaction,
};

/// Bounds on what one connection's parser may hold or accept. Every buffer
/// and queue in this module is sized by these, never by a number on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest message head (start line + header fields) that is parsed; a
    /// longer one is recorded and the rest of its direction left unparsed.
    pub max_head_bytes: usize,
    /// Header fields per message (at most [`HttpLimits::HARD_MAX_HEADERS`]).
    pub max_headers: usize,
    /// Requests waiting for a response; past this the pairing is abandoned
    /// for the connection (counted) instead of growing without bound.
    pub max_pending_requests: usize,
    /// Hex digits in a chunk size (16 digits = 64 bits).
    pub max_chunk_size_digits: usize,
    /// Bytes of chunk extensions on one chunk-size line.
    pub max_chunk_extension_bytes: usize,
    /// Bytes of trailer section after the last chunk.
    pub max_trailer_bytes: usize,
    /// Transactions held per connection and not yet taken with
    /// [`HttpConnection::drain_settled`]: past this, parsing and pairing go
    /// on but further transactions are only counted
    /// ([`HttpAnomalies::transactions_not_kept`]), so that one endless
    /// connection cannot exhaust memory.
    pub max_transactions: usize,
}

/// Whether `bytes`, the first payload of a direction, starts like an HTTP
/// request line (a method token and a space): evidence for the flow table
/// that this endpoint is the client when no SYN was seen.
pub fn starts_like_request(bytes: &[u8]) -> bool {
    head::probe_request(bytes) == head::Probe::Yes
}

/// Whether `bytes`, the first payload of a direction, starts like an HTTP/1.x
/// status line: evidence that this endpoint is the server.
pub fn starts_like_response(bytes: &[u8]) -> bool {
    head::probe_status(bytes) == head::Probe::Yes
}

impl HttpLimits {
    /// The header array `httparse` fills lives on the stack; this is its size.
    pub const HARD_MAX_HEADERS: usize = 512;
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_head_bytes: 64 * 1024,
            max_headers: 256,
            max_pending_requests: 1024,
            max_chunk_size_digits: 16,
            max_chunk_extension_bytes: 4096,
            max_trailer_bytes: 64 * 1024,
            max_transactions: 100_000,
        }
    }
}
