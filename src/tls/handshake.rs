//! Handshake messages in clear text (RFC 8446 §4, RFC 5246 §7.4): a 4-byte
//! header (type, 24-bit length) and the body, carried by handshake records
//! as one stream per direction — a message may span many records (and
//! segments), a record may hold several messages.
//!
//! The reader follows the message headers through that stream and keeps a
//! message's body only when it is a ClientHello or ServerHello that fits in
//! [`TlsLimits::max_hello_bytes`](super::TlsLimits); every other message,
//! and a hello over the bound, is skipped by its length. So a hostile
//! handshake (a 16 MB message length, a ClientHello in a thousand one-byte
//! records) costs at most the bound in memory and its own length in time.

use super::hello::{parse_client_hello, parse_server_hello};
use super::{ClientHelloFacts, ServerHelloFacts};

/// Handshake message types (RFC 8446 §4, RFC 5246 §7.4, RFC 5077 §3.3).
pub(super) mod kind {
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const NEW_SESSION_TICKET: u8 = 4;
    pub const CERTIFICATE: u8 = 11;
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    pub const CERTIFICATE_REQUEST: u8 = 13;
    pub const SERVER_HELLO_DONE: u8 = 14;
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
}

/// A whole handshake message, as far as the connection needs it.
#[derive(Debug)]
pub(super) enum Message {
    ClientHello(Box<ClientHelloFacts>),
    ServerHello(Box<ServerHelloFacts>),
    /// A hello whose body did not parse.
    Malformed,
    /// A hello longer than the bound: skipped, not parsed.
    TooLarge,
    /// Any other message: its type.
    Other {
        msg_type: u8,
    },
}

/// One direction's handshake message reader; see the [module docs](self).
#[derive(Debug, Default)]
pub(super) struct MessageReader {
    header: [u8; 4],
    header_len: u8,
    /// The message being read: type, length, and body bytes still to come.
    current: Option<u8>,
    remaining: u32,
    /// Whether the current message's body is being kept.
    keeping: bool,
    body: Vec<u8>,
    /// Whole messages read so far.
    pub messages: u32,
}

impl MessageReader {
    /// Reads `piece` of the handshake stream; each message completed in it
    /// goes to `done`.
    pub fn feed(&mut self, piece: &[u8], max_hello: usize, done: &mut impl FnMut(Message)) {
        let mut rest = piece;
        while !rest.is_empty() {
            if let Some(msg_type) = self.current {
                let take = rest
                    .len()
                    .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                let (now, later) = rest.split_at(take);
                if self.keeping {
                    self.body.extend_from_slice(now);
                }
                self.remaining = self.remaining.saturating_sub(take as u32);
                rest = later;
                if self.remaining == 0 {
                    self.finish(msg_type, done);
                }
                continue;
            }
            let have = usize::from(self.header_len);
            let take = rest.len().min(4usize.saturating_sub(have));
            let (now, later) = rest.split_at(take);
            for (slot, b) in self.header.iter_mut().skip(have).zip(now) {
                *slot = *b;
            }
            rest = later;
            self.header_len = self.header_len.saturating_add(take as u8);
            if self.header_len < 4 {
                continue;
            }
            self.header_len = 0;
            let [msg_type, a, b, c] = self.header;
            let len = u32::from_be_bytes([0, a, b, c]);
            let hello = msg_type == kind::CLIENT_HELLO || msg_type == kind::SERVER_HELLO;
            let fits = usize::try_from(len).is_ok_and(|l| l <= max_hello);
            self.keeping = hello && fits;
            self.body.clear();
            if hello && !fits {
                done(Message::TooLarge);
            }
            self.current = Some(msg_type);
            self.remaining = len;
            if len == 0 {
                self.finish(msg_type, done);
            }
        }
    }

    fn finish(&mut self, msg_type: u8, done: &mut impl FnMut(Message)) {
        self.current = None;
        self.messages = self.messages.saturating_add(1);
        let hello = msg_type == kind::CLIENT_HELLO || msg_type == kind::SERVER_HELLO;
        if !hello {
            done(Message::Other { msg_type });
            return;
        }
        if !self.keeping {
            return; // too large: already said
        }
        self.keeping = false;
        let parsed = if msg_type == kind::CLIENT_HELLO {
            parse_client_hello(&self.body).map(|h| Message::ClientHello(Box::new(h)))
        } else {
            parse_server_hello(&self.body).map(|h| Message::ServerHello(Box::new(h)))
        };
        done(parsed.unwrap_or(Message::Malformed));
        self.body.clear();
        // A large hello's buffer is not kept for the rest of the connection.
        if self.body.capacity() > 4096 {
            self.body = Vec::new();
        }
    }

    /// Bytes held for a hello in progress (or kept from the last one).
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.body.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(reader: &mut MessageReader, piece: &[u8], max: usize) -> Vec<String> {
        let mut out = Vec::new();
        reader.feed(piece, max, &mut |m| {
            out.push(match m {
                Message::ClientHello(h) => format!("client_hello sni={:?}", h.sni),
                Message::ServerHello(_) => "server_hello".to_string(),
                Message::Malformed => "malformed".to_string(),
                Message::TooLarge => "too_large".to_string(),
                Message::Other { msg_type } => format!("other {msg_type}"),
            })
        });
        out
    }

    #[test]
    fn messages_across_pieces_and_pieces_across_messages() {
        let ch = crate::tls::build::ClientHello::new()
            .sni("shop.example")
            .message();
        let mut stream = ch.clone();
        stream.extend_from_slice(&[kind::CERTIFICATE, 0, 0, 3, 1, 2, 3]);
        stream.extend_from_slice(&[kind::SERVER_HELLO_DONE, 0, 0, 0]);
        let mut r = MessageReader::default();
        let whole = collect(&mut r, &stream, 65536);
        assert_eq!(
            whole,
            [
                "client_hello sni=Some(\"shop.example\")",
                "other 11",
                "other 14"
            ]
        );
        let mut r = MessageReader::default();
        let mut bytewise = Vec::new();
        for b in &stream {
            bytewise.extend(collect(&mut r, &[*b], 65536));
        }
        assert_eq!(bytewise, whole);
    }

    #[test]
    fn a_hello_over_the_bound_is_skipped_by_its_length() {
        let ch = crate::tls::build::ClientHello::new().message();
        let body = ch.len() - 4;
        let mut r = MessageReader::default();
        let mut stream = ch.clone();
        stream.extend_from_slice(&ch);
        let got = collect(&mut r, &stream, body - 1);
        assert_eq!(got, ["too_large", "too_large"]);
        assert_eq!(r.held_bytes(), 0, "nothing kept");
        assert_eq!(
            collect(&mut r, &ch, body).len(),
            1,
            "at the bound it is read"
        );
        // A length of 16 MB announced and never sent holds nothing either.
        let mut r = MessageReader::default();
        let got = collect(&mut r, &[1, 0xff, 0xff, 0xff, 0, 0, 0, 0], 65536);
        assert_eq!(got, ["too_large"]);
        assert_eq!(r.held_bytes(), 0);
    }
}
