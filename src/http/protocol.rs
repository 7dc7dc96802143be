//! What a connection speaks, as its first bytes tell: HTTP/1.x, TLS (with
//! HTTP/2 when ALPN chose it), HTTP/2 in clear text with the connection
//! preface, or something else. The handler decides once, on the client's
//! first bytes ([`Sniff`]), and then routes every call to the one reader
//! that needs it.

use crate::tls::{self, Probe};

/// The label of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Protocol {
    /// HTTP/1.x in clear text (a request or status line parsed).
    #[serde(rename = "http1")]
    Http1,
    /// TLS, its application protocol not HTTP/2 or not seen (TLS 1.3
    /// sends the ALPN choice encrypted).
    #[serde(rename = "tls")]
    Tls,
    /// TLS whose ServerHello chose `h2` by ALPN.
    #[serde(rename = "h2")]
    H2,
    /// HTTP/2 in clear text: the client opened with the connection preface
    /// (RFC 9113 §3.4, "prior knowledge").
    #[serde(rename = "h2c")]
    H2c,
    /// None of these (no data, another protocol, a capture that began
    /// mid-stream).
    #[serde(rename = "unknown")]
    Unknown,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http1 => "http1",
            Protocol::Tls => "tls",
            Protocol::H2 => "h2",
            Protocol::H2c => "h2c",
            Protocol::Unknown => "unknown",
        }
    }

    /// TLS, whatever it carries.
    pub fn is_tls(self) -> bool {
        matches!(self, Protocol::Tls | Protocol::H2)
    }
}

/// The HTTP/2 client connection preface (RFC 9113 §3.4).
pub const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the client's first bytes opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Opening {
    Tls,
    H2c,
    /// Anything else: HTTP/1.x or not, the HTTP parser decides.
    Other,
}

/// The client's first bytes, gathered until they tell (at most the
/// preface's 24).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Sniff {
    prefix: [u8; 24],
    len: u8,
}

impl Sniff {
    /// Adds the client's next bytes; `None` while they cannot tell yet.
    pub fn push(&mut self, bytes: &[u8]) -> Option<Opening> {
        let have = usize::from(self.len);
        let take = bytes.len().min(24usize.saturating_sub(have));
        for (slot, b) in self
            .prefix
            .iter_mut()
            .skip(have)
            .zip(bytes.iter().take(take))
        {
            *slot = *b;
        }
        self.len = self.len.saturating_add(take as u8);
        let seen = self.seen();
        let tls = tls::starts_like_client_hello(seen);
        let h2 = if H2_PREFACE.starts_with(seen) {
            if seen.len() == H2_PREFACE.len() {
                Probe::Yes
            } else {
                Probe::More
            }
        } else {
            Probe::No
        };
        match (tls, h2) {
            (Probe::Yes, _) => Some(Opening::Tls),
            (_, Probe::Yes) => Some(Opening::H2c),
            (Probe::No, Probe::No) => Some(Opening::Other),
            _ => None,
        }
    }

    /// The client bytes gathered so far.
    pub fn seen(&self) -> &[u8] {
        self.prefix.get(..usize::from(self.len)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bytes_tell_tls_h2c_and_the_rest() {
        let mut s = Sniff::default();
        assert_eq!(s.push(&[0x16, 0x03]), None);
        assert_eq!(s.push(&[0x01, 0x02, 0x00, 0x01]), Some(Opening::Tls));
        let mut s = Sniff::default();
        assert_eq!(s.push(b"PRI * HTTP/2.0\r\n"), None);
        assert_eq!(s.push(b"\r\nSM\r\n\r\n\0\0\x12\x04"), Some(Opening::H2c));
        let mut s = Sniff::default();
        assert_eq!(s.push(b"GET / HTTP/1.1\r\n"), Some(Opening::Other));
        // "PRI" is also a method an HTTP/1.1 request could have.
        let mut s = Sniff::default();
        assert_eq!(s.push(b"PRI /x HTTP/1.1\r\n"), Some(Opening::Other));
        let mut s = Sniff::default();
        assert_eq!(s.push(b"P"), None, "could still be the preface");
    }
}
