//! How a message's body is delimited (RFC 9112 §6.3), decided from its head
//! and, for a response, from the request it answers.

use super::facts::HeaderFacts;
use serde::Serialize;

/// How the body of a message is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Framing {
    /// No body: a request without Content-Length/Transfer-Encoding, or a
    /// response to HEAD, a 1xx, 204 or 304 (whatever the headers say).
    None,
    /// Content-Length.
    Length { bytes: u64 },
    /// Transfer-Encoding with `chunked` last.
    Chunked,
    /// A response body that ends when the server closes.
    CloseDelimited,
    /// 101 Switching Protocols or a 2xx to CONNECT: what follows is not HTTP.
    Tunnel,
    /// A request whose length cannot be determined (RFC 9112 §6.3 items 4
    /// and 5): the rest of its direction cannot be framed.
    Invalid,
    /// The raw HTTP/0.9 response to an HTTP/0.9 request: bytes until close.
    Http09,
}

/// A framing problem in the head; the message facts keep it (F002/F003 and
/// the smuggling-related rules read it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FramingError {
    /// Content-Length values that differ.
    ConflictingContentLength,
    /// A Content-Length value that is not a decimal integer.
    UnparsableContentLength,
    /// A request with Transfer-Encoding whose final coding is not chunked.
    RequestTransferEncodingNotChunked,
}

fn content_length_framing(h: &HeaderFacts) -> Option<Result<u64, FramingError>> {
    let cl = h.content_length.as_ref()?;
    Some(match cl.length() {
        Some(n) => Ok(n),
        None if cl.unparsable > 0 => Err(FramingError::UnparsableContentLength),
        None => Err(FramingError::ConflictingContentLength),
    })
}

/// A request's framing. Transfer-Encoding wins over Content-Length (the
/// combination is recorded separately as a fact).
pub(crate) fn request_framing(h: &HeaderFacts) -> (Framing, Option<FramingError>) {
    if let Some(te) = &h.transfer_encoding {
        return if te.chunked_final {
            (Framing::Chunked, None)
        } else {
            (
                Framing::Invalid,
                Some(FramingError::RequestTransferEncodingNotChunked),
            )
        };
    }
    match content_length_framing(h) {
        Some(Ok(bytes)) => (Framing::Length { bytes }, None),
        Some(Err(e)) => (Framing::Invalid, Some(e)),
        None => (Framing::None, None),
    }
}

/// What a response needs to know about the request it answers.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RequestKind {
    pub head: bool,
    pub connect: bool,
}

/// A response's framing.
pub(crate) fn response_framing(
    status: u16,
    request: RequestKind,
    h: &HeaderFacts,
) -> (Framing, Option<FramingError>) {
    if status == 101 || (request.connect && (200..300).contains(&status)) {
        return (Framing::Tunnel, None);
    }
    if request.head || (100..200).contains(&status) || status == 204 || status == 304 {
        return (Framing::None, None);
    }
    if let Some(te) = &h.transfer_encoding {
        // Not chunked last: the body runs to the close (RFC 9112 §6.3 item 4).
        return if te.chunked_final {
            (Framing::Chunked, None)
        } else {
            (Framing::CloseDelimited, None)
        };
    }
    match content_length_framing(h) {
        Some(Ok(bytes)) => (Framing::Length { bytes }, None),
        // A user agent must treat this as an unrecoverable error; the best a
        // passive observer can do is read to the close.
        Some(Err(e)) => (Framing::CloseDelimited, Some(e)),
        None => (Framing::CloseDelimited, None),
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    use crate::http::facts::tests::scan as facts;

    const GET: RequestKind = RequestKind {
        head: false,
        connect: false,
    };

    #[test]
    fn requests() {
        assert_eq!(request_framing(&facts(&[])), (Framing::None, None));
        assert_eq!(
            request_framing(&facts(&[("Content-Length", "7")])),
            (Framing::Length { bytes: 7 }, None)
        );
        assert_eq!(
            request_framing(&facts(&[
                ("Transfer-Encoding", "chunked"),
                ("Content-Length", "7")
            ])),
            (Framing::Chunked, None)
        );
        assert_eq!(
            request_framing(&facts(&[("Transfer-Encoding", "gzip")])),
            (
                Framing::Invalid,
                Some(FramingError::RequestTransferEncodingNotChunked)
            )
        );
        assert_eq!(
            request_framing(&facts(&[("Content-Length", "1, 2")])),
            (
                Framing::Invalid,
                Some(FramingError::ConflictingContentLength)
            )
        );
        assert_eq!(
            request_framing(&facts(&[("Content-Length", "x")])),
            (
                Framing::Invalid,
                Some(FramingError::UnparsableContentLength)
            )
        );
    }

    #[test]
    fn responses_without_body_whatever_the_headers_say() {
        let cl = facts(&[("Content-Length", "100")]);
        let head = RequestKind {
            head: true,
            connect: false,
        };
        assert_eq!(response_framing(200, head, &cl).0, Framing::None);
        for status in [100, 103, 204, 304] {
            assert_eq!(
                response_framing(status, GET, &cl).0,
                Framing::None,
                "{status}"
            );
        }
        assert_eq!(response_framing(101, GET, &cl).0, Framing::Tunnel);
        let connect = RequestKind {
            head: false,
            connect: true,
        };
        assert_eq!(response_framing(200, connect, &cl).0, Framing::Tunnel);
        assert_eq!(
            response_framing(407, connect, &cl).0,
            Framing::Length { bytes: 100 }
        );
    }

    #[test]
    fn responses_with_body() {
        assert_eq!(
            response_framing(200, GET, &facts(&[])).0,
            Framing::CloseDelimited
        );
        assert_eq!(
            response_framing(200, GET, &facts(&[("Transfer-Encoding", "chunked, gzip")])).0,
            Framing::CloseDelimited
        );
        assert_eq!(
            response_framing(
                200,
                GET,
                &facts(&[("Transfer-Encoding", "chunked"), ("Content-Length", "3")])
            )
            .0,
            Framing::Chunked
        );
        assert_eq!(
            response_framing(
                200,
                GET,
                &facts(&[("Content-Length", "3"), ("Content-Length", "4")])
            ),
            (
                Framing::CloseDelimited,
                Some(FramingError::ConflictingContentLength)
            )
        );
    }
}
