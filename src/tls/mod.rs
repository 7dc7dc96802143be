//! Stage 5, beside `http`: TLS connections read without keys.
//!
//! Most HTTP/1.x in production runs inside TLS. Without the keys nothing of
//! the HTTP inside can be read, but most of what connection management is
//! about can: the TCP segments, the TLS records' types, sizes and times, and
//! the handshake, which is in clear text up to the ServerHello (TLS 1.3) or
//! the Finished messages (TLS 1.2). This stage reads exactly that much.
//!
//! Layers, each handing the next what it needs and nothing more:
//!
//! - `record.rs`: the record layer of one direction. It frames the stream
//!   into records (the 5-byte header, then `length` bytes) by arithmetic:
//!   a header split across segments is the only thing it copies, a record's
//!   body is never copied or scanned. It tells a [`RecordSink`] where each
//!   record starts, hands it each delivered piece of the record's body and
//!   tells it where the record ends. **This is where decryption hooks in**:
//!   a sink holding the session keys ("HTTPS with keys") gathers an
//!   application-data record's pieces, decrypts the record at its end and
//!   feeds the plaintext to an HTTP parser, between record reassembly and
//!   the HTTP stage, without this module changing.
//! - `handshake.rs`: the handshake messages carried by the handshake
//!   records that are still in clear text, read across records and segments
//!   (a message may span many records, a record may hold many messages).
//!   Only the two hellos are gathered, up to
//!   [`TlsLimits::max_hello_bytes`]; every other message is skipped by its
//!   length, so a certificate chain costs nothing.
//! - `hello.rs`: the ClientHello and ServerHello, parsed with `tls-parser`
//!   (rusticata), reduced to what connection management needs: versions,
//!   server name, ALPN, session resumption (session id, ticket, PSK), early
//!   data, HelloRetryRequest, the cipher suite.
//! - `connection.rs`: one connection, both directions: which record is the
//!   handshake's and which carries application data (the type of a record
//!   is visible, but TLS 1.3 hides every record after the ServerHello
//!   behind the application-data type, so there the handshake's end is
//!   inferred, see [`TlsConnection`]), the timing of the handshake, and the
//!   exchanges of application data (who sent records when).
//! - `facts.rs`: what the stage hands on, [`TlsReport`].
//!
//! Detection is by content: a connection is TLS when the client's stream
//! opens with a handshake record holding a ClientHello
//! ([`starts_like_client_hello`]), on any port. The HTTP stage's handler
//! makes that decision once, on the client's first bytes, so a connection
//! that is not TLS pays nothing per segment for this module.

// Hostile input: every path from capture bytes must be free of panics and
// silent overflow, so the panicking shortcuts are denied here (tests excepted).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

mod connection;
pub mod decrypt;
mod facts;
mod handshake;
mod hello;
pub mod keylog;
mod record;

pub use connection::{ReleasePlace, TlsConnection};
pub use decrypt::{DecryptReport, Decryptor, EarlyData, Plaintext, Undecrypted};
pub use facts::{
    Burst, ClientHelloFacts, DirectionRecords, Exchanges, HandshakeKind, RecordKind,
    ServerHelloFacts, SessionId, TlsReport, TlsVersion,
};
pub use keylog::{KeyLog, KeySource};
pub use record::{ContentType, FramingLost, NoSink, RecordHeader, RecordSink};

/// Bounds on what one TLS connection's reader may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsLimits {
    /// Largest ClientHello or ServerHello gathered for parsing (across
    /// records and segments). A longer one is counted and skipped by its
    /// length, and the connection stays TLS with what its hellos did not
    /// tell unknown. Every other handshake message is skipped by its length
    /// and never held.
    pub max_hello_bytes: usize,
}

impl Default for TlsLimits {
    fn default() -> Self {
        TlsLimits {
            max_hello_bytes: 64 * 1024,
        }
    }
}

/// Whether a stream's first bytes could open a TLS handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    Yes,
    No,
    /// Too few bytes to tell yet.
    More,
}

/// The largest record body a TLS 1.2 peer may send (2^14 plaintext + 2048
/// of expansion, RFC 5246 §6.2.3); TLS 1.3 allows less (2^14 + 256).
pub const MAX_RECORD_BODY: u16 = 16384 + 2048;

/// Whether `bytes`, the first bytes of a client's stream, open a TLS
/// handshake: a handshake record (`16 03 0x`) of a plausible length whose
/// first message is a ClientHello (type 1).
pub fn starts_like_client_hello(bytes: &[u8]) -> Probe {
    starts_like_hello(bytes, 1)
}

/// Whether `bytes`, the first bytes of a server's stream, open with a
/// ServerHello: evidence that this endpoint is the server.
pub fn starts_like_server_hello(bytes: &[u8]) -> Probe {
    starts_like_hello(bytes, 2)
}

fn starts_like_hello(bytes: &[u8], msg_type: u8) -> Probe {
    match bytes {
        [] => Probe::More,
        [t, ..] if *t != 0x16 => Probe::No,
        [_] => Probe::More,
        [_, major, ..] if *major != 0x03 => Probe::No,
        [_, _] => Probe::More,
        [_, _, minor, ..] if *minor > 0x04 => Probe::No,
        [_, _, _] | [_, _, _, _] => Probe::More,
        [_, _, _, hi, lo, rest @ ..] => {
            let len = u16::from_be_bytes([*hi, *lo]);
            if len == 0 || len > MAX_RECORD_BODY {
                return Probe::No;
            }
            match rest.first() {
                Some(&t) if t == msg_type => Probe::Yes,
                Some(_) => Probe::No,
                None => Probe::More,
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
pub(crate) mod build;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_hello_record_is_recognised_from_six_bytes() {
        let ch = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00];
        assert_eq!(starts_like_client_hello(&ch), Probe::Yes);
        assert_eq!(starts_like_server_hello(&ch), Probe::No);
        for n in 0..6 {
            assert_eq!(starts_like_client_hello(&ch[..n]), Probe::More, "{n} bytes");
        }
        // Another record type, version or message type, or a length no
        // record may have: not a ClientHello.
        for bad in [
            [0x17, 0x03, 0x03, 0x00, 0x10, 0x01],
            [0x16, 0x02, 0x00, 0x00, 0x10, 0x01],
            [0x16, 0x03, 0x05, 0x00, 0x10, 0x01],
            [0x16, 0x03, 0x01, 0x00, 0x00, 0x01],
            [0x16, 0x03, 0x01, 0x48, 0x01, 0x01],
            [0x16, 0x03, 0x01, 0x00, 0x10, 0x02],
        ] {
            assert_eq!(starts_like_client_hello(&bad), Probe::No, "{bad:02x?}");
        }
        assert_eq!(
            starts_like_client_hello(b"GET / HTTP/1.1\r\n"),
            Probe::No,
            "HTTP is not TLS"
        );
        assert_eq!(
            starts_like_server_hello(&[0x16, 0x03, 0x03, 0x00, 0x5a, 0x02]),
            Probe::Yes
        );
    }
}
