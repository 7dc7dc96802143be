//! Message heads: the cheap "does this start a message?" probes used for
//! detection and resynchronisation, finding where a split head ends, and
//! parsing a complete head with `httparse` (HTTP/0.9 request lines by hand).

use super::facts::{HeaderFacts, HeaderField, HttpVersion};
use super::HttpLimits;
use std::borrow::Cow;
use std::mem::MaybeUninit;

/// Longest method token accepted when probing for a request line.
const MAX_METHOD_BYTES: usize = 32;
/// URIs longer than this are truncated when kept (the head cap bounds them anyway).
const MAX_URI_BYTES: usize = 8192;

/// The answer of a probe on the first bytes of a would-be message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Probe {
    Yes,
    NeedMore,
    No,
}

/// Leading CR/LF bytes, tolerated before a message (RFC 9112 §2.2).
pub(crate) fn leading_crlf(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A method token followed by SP: the cheapest evidence of a request line.
pub(crate) fn probe_request(buf: &[u8]) -> Probe {
    let buf = buf.get(leading_crlf(buf)..).unwrap_or_default();
    for (i, &b) in buf.iter().enumerate().take(MAX_METHOD_BYTES + 1) {
        if b == b' ' {
            return if i > 0 { Probe::Yes } else { Probe::No };
        }
        if !is_tchar(b) {
            return Probe::No;
        }
    }
    if buf.len() > MAX_METHOD_BYTES {
        Probe::No
    } else {
        Probe::NeedMore
    }
}

/// `HTTP/1.`: the start of a status line `httparse` can parse.
pub(crate) fn probe_status(buf: &[u8]) -> Probe {
    const PREFIX: &[u8] = b"HTTP/1.";
    let buf = buf.get(leading_crlf(buf)..).unwrap_or_default();
    let n = buf.len().min(PREFIX.len());
    if buf.get(..n) != PREFIX.get(..n) {
        Probe::No
    } else if n < PREFIX.len() {
        Probe::NeedMore
    } else {
        Probe::Yes
    }
}

/// Where a head that began in `prev` ends in `next`: the index in `next` just
/// past the empty line (`\n\n` or `\n\r\n`, possibly straddling the two), so
/// that only the head's own bytes are ever copied into the head buffer.
/// `prev` never starts with CR/LF (leading ones are skipped before a head).
pub(crate) fn find_head_end(prev: &[u8], next: &[u8]) -> Option<usize> {
    let at = |k: usize| -> Option<u8> {
        match k.checked_sub(prev.len()) {
            None => prev.get(k).copied(),
            Some(j) => next.get(j).copied(),
        }
    };
    let mut from = 0;
    while let Some(p) = next.get(from..)?.iter().position(|&b| b == b'\n') {
        // Indices within `prev` and `next`: far from overflowing.
        let i = from.saturating_add(p);
        let k = prev.len().saturating_add(i);
        let back1 = k.checked_sub(1).and_then(at);
        let back2 = k.checked_sub(2).and_then(at);
        if back1 == Some(b'\n') || (back1 == Some(b'\r') && back2 == Some(b'\n')) {
            return Some(i.saturating_add(1));
        }
        from = i.saturating_add(1);
    }
    None
}

/// The start line of a parsed head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StartLine {
    Request {
        method: Cow<'static, str>,
        uri: String,
        version: HttpVersion,
    },
    Status {
        version: HttpVersion,
        code: u16,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParsedHead {
    pub start: StartLine,
    pub headers: HeaderFacts,
}

/// Why there is no head (yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoHead {
    /// More bytes needed.
    Partial,
    /// More header fields than [`HttpLimits::max_headers`].
    TooManyHeaders,
    /// Not a well-formed head.
    Malformed,
}

/// A parsed head and its length in bytes, or why there is none.
pub(crate) type Parsed = Result<(ParsedHead, usize), NoHead>;

/// The parser settings: as lenient as the browsers and servers whose traffic
/// is being observed, since the question is what *they* did, not whether the
/// bytes are pretty.
pub(crate) fn parser_config() -> httparse::ParserConfig {
    let mut config = httparse::ParserConfig::default();
    config
        .allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .ignore_invalid_headers_in_responses(true)
        .ignore_invalid_headers_in_requests(true);
    config
}

fn header_slots(limits: &HttpLimits) -> usize {
    limits.max_headers.clamp(1, HttpLimits::HARD_MAX_HEADERS)
}

/// Runs `parse` (one of `httparse`'s parsers) with header slots on the
/// stack, at most [`HttpLimits::max_headers`]; it returns the head's length
/// and, when the start line gave everything a head needs, the head. Any
/// parse error but too many fields goes to `on_error`.
fn parse_in_slots<'b>(
    limits: &HttpLimits,
    parse: impl FnOnce(
        &mut [MaybeUninit<httparse::Header<'b>>],
    ) -> Result<httparse::Status<(usize, Option<ParsedHead>)>, httparse::Error>,
    on_error: impl FnOnce() -> Parsed,
) -> Parsed {
    let mut storage: [MaybeUninit<httparse::Header<'b>>; HttpLimits::HARD_MAX_HEADERS] =
        [const { MaybeUninit::uninit() }; HttpLimits::HARD_MAX_HEADERS];
    let slots = header_slots(limits);
    let Some(headers) = storage.get_mut(..slots) else {
        return Err(NoHead::Malformed);
    };
    match parse(headers) {
        Ok(httparse::Status::Complete((len, Some(head)))) => Ok((head, len)),
        Ok(httparse::Status::Complete((_, None))) => Err(NoHead::Malformed),
        Ok(httparse::Status::Partial) => Err(NoHead::Partial),
        Err(httparse::Error::TooManyHeaders) => Err(NoHead::TooManyHeaders),
        Err(_) => on_error(),
    }
}

/// Parses a request head at the start of `buf` (no leading CR/LF); a line
/// `httparse` rejects may still be an HTTP/0.9 request.
pub(crate) fn parse_request<'b>(
    buf: &'b [u8],
    config: &httparse::ParserConfig,
    limits: &HttpLimits,
    keep_fields: bool,
) -> Parsed {
    let parse = |headers: &mut [MaybeUninit<httparse::Header<'b>>]| {
        let mut request = httparse::Request::new(&mut []);
        let len = match config.parse_request_with_uninit_headers(&mut request, buf, headers)? {
            httparse::Status::Complete(len) => len,
            httparse::Status::Partial => return Ok(httparse::Status::Partial),
        };
        let head = match (request.method, request.path, request.version) {
            (Some(method), Some(path), Some(minor)) => Some(ParsedHead {
                start: StartLine::Request {
                    method: method_name(method.as_bytes()),
                    uri: capped_string(path.as_bytes(), MAX_URI_BYTES),
                    version: HttpVersion::from_minor(minor),
                },
                headers: scan(request.headers, keep_fields),
            }),
            _ => None,
        };
        Ok(httparse::Status::Complete((len, head)))
    };
    parse_in_slots(limits, parse, || match http09_request_line(buf) {
        Http09::Line { uri, len } => Ok((
            ParsedHead {
                start: StartLine::Request {
                    method: Cow::Borrowed("GET"),
                    uri: capped_string(uri, MAX_URI_BYTES),
                    version: HttpVersion::Http09,
                },
                headers: HeaderFacts::default(),
            },
            len,
        )),
        Http09::NeedMore => Err(NoHead::Partial),
        Http09::No => Err(NoHead::Malformed),
    })
}

/// Parses a response head at the start of `buf` (no leading CR/LF).
pub(crate) fn parse_response<'b>(
    buf: &'b [u8],
    config: &httparse::ParserConfig,
    limits: &HttpLimits,
    keep_fields: bool,
) -> Parsed {
    let parse = |headers: &mut [MaybeUninit<httparse::Header<'b>>]| {
        let mut response = httparse::Response::new(&mut []);
        let len = match config.parse_response_with_uninit_headers(&mut response, buf, headers)? {
            httparse::Status::Complete(len) => len,
            httparse::Status::Partial => return Ok(httparse::Status::Partial),
        };
        let head = match (response.version, response.code) {
            (Some(minor), Some(code)) => Some(ParsedHead {
                start: StartLine::Status {
                    version: HttpVersion::from_minor(minor),
                    code,
                },
                headers: scan(response.headers, keep_fields),
            }),
            _ => None,
        };
        Ok(httparse::Status::Complete((len, head)))
    };
    parse_in_slots(limits, parse, || Err(NoHead::Malformed))
}

/// The facts of a head's fields, and the fields themselves when asked
/// (`keep_fields`: the HAR export lists them).
fn scan(headers: &[httparse::Header<'_>], keep_fields: bool) -> HeaderFacts {
    let mut facts = HeaderFacts::scan(headers);
    if keep_fields {
        facts.fields = Some(
            headers
                .iter()
                .map(|h| HeaderField {
                    name: h.name.to_string(),
                    value: String::from_utf8_lossy(h.value).into_owned(),
                })
                .collect(),
        );
    }
    facts
}

enum Http09<'a> {
    Line { uri: &'a [u8], len: usize },
    NeedMore,
    No,
}

/// `GET SP uri CRLF` with no version: an HTTP/0.9 simple request. Only GET
/// existed in 0.9, which also keeps other line protocols (`EHLO host`) out.
fn http09_request_line(buf: &[u8]) -> Http09<'_> {
    let Some(rest) = buf.strip_prefix(b"GET ") else {
        return Http09::No;
    };
    let Some(p) = rest.iter().position(|&b| matches!(b, b' ' | b'\r' | b'\n')) else {
        return if rest.len() > MAX_URI_BYTES {
            Http09::No
        } else {
            Http09::NeedMore
        };
    };
    let uri = rest.get(..p).unwrap_or_default();
    if uri.is_empty() || !uri.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Http09::No;
    }
    // `len` counts "GET ", the URI and the line ending.
    match (rest.get(p), rest.get(p.saturating_add(1))) {
        (Some(b'\n'), _) => Http09::Line {
            uri,
            len: p.saturating_add(4 + 1),
        },
        (Some(b'\r'), Some(b'\n')) => Http09::Line {
            uri,
            len: p.saturating_add(4 + 2),
        },
        (Some(b'\r'), None) => Http09::NeedMore,
        _ => Http09::No,
    }
}

/// The first line of `buf` without its line ending, if it is complete.
pub(crate) fn first_line(buf: &[u8]) -> Option<&[u8]> {
    let end = buf.iter().position(|&b| b == b'\n')?;
    let line = buf.get(..end)?;
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

/// Method and target of a request line `httparse` rejected (a bad version,
/// say), so that the transaction — and the 400 that usually answers it —
/// still appear. `None` unless the line starts with a method token and SP.
pub(crate) fn malformed_request_line(line: &[u8]) -> Option<(Cow<'static, str>, String)> {
    let sp = line.iter().position(|&b| b == b' ')?;
    let method = line.get(..sp)?;
    if method.is_empty() || method.len() > MAX_METHOD_BYTES || !method.iter().all(|&b| is_tchar(b))
    {
        return None;
    }
    let rest = line.get(sp.saturating_add(1)..).unwrap_or_default();
    let target = rest
        .split(|&b| b == b' ')
        .find(|t| !t.is_empty())
        .unwrap_or_default();
    Some((method_name(method), capped_string(target, MAX_URI_BYTES)))
}

/// Methods as static strings when well known, so most requests allocate only their URI.
fn method_name(method: &[u8]) -> Cow<'static, str> {
    const KNOWN: &[&str] = &[
        "GET",
        "HEAD",
        "POST",
        "PUT",
        "DELETE",
        "CONNECT",
        "OPTIONS",
        "TRACE",
        "PATCH",
        "PROPFIND",
        "PROPPATCH",
        "MKCOL",
        "COPY",
        "MOVE",
        "LOCK",
        "UNLOCK",
        "SEARCH",
        "REPORT",
    ];
    match KNOWN.iter().find(|k| k.as_bytes() == method) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(capped_string(method, MAX_METHOD_BYTES)),
    }
}

/// At most `max` bytes of `bytes` as a string (lossy; cut on a char boundary).
pub(crate) fn capped_string(bytes: &[u8], max: usize) -> String {
    let mut s = String::from_utf8_lossy(bytes.get(..max).unwrap_or(bytes)).into_owned();
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            // Terminates: 0 is always a char boundary.
            cut = cut.saturating_sub(1);
        }
        s.truncate(cut);
    }
    s
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn req(buf: &[u8]) -> Parsed {
        parse_request(buf, &parser_config(), &HttpLimits::default(), false)
    }

    #[test]
    fn probes() {
        assert_eq!(probe_request(b"GET / HTTP/1.1"), Probe::Yes);
        assert_eq!(probe_request(b"\r\n\r\nPOST /"), Probe::Yes);
        assert_eq!(probe_request(b"GE"), Probe::NeedMore);
        assert_eq!(probe_request(b""), Probe::NeedMore);
        assert_eq!(probe_request(b"\x16\x03\x01\x02\x00"), Probe::No);
        assert_eq!(probe_request(b" GET"), Probe::No);
        assert_eq!(probe_request(&[b'A'; 40]), Probe::No);
        assert_eq!(probe_status(b"HTTP/1.1 200 OK"), Probe::Yes);
        assert_eq!(probe_status(b"HTT"), Probe::NeedMore);
        assert_eq!(probe_status(b"SSH-2.0-OpenSSH"), Probe::No);
        assert_eq!(probe_status(b"HTTP/2 200"), Probe::No);
    }

    #[test]
    fn head_end_straddling_two_pieces() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
        let end = head.len() - 4;
        for cut in 1..end {
            let (prev, next) = head.split_at(cut);
            assert_eq!(find_head_end(prev, next), Some(end - cut), "cut {cut}");
        }
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n", b"\nX"), Some(1));
        assert_eq!(
            find_head_end(b"GET / HTTP/1.1\r\nA: b", b"\r\nB: c\r\n"),
            None
        );
    }

    #[test]
    fn request_heads() {
        let Ok((head, len)) = req(b"GET /a?b HTTP/1.0\r\nConnection: keep-alive\r\n\r\nX") else {
            panic!("complete")
        };
        assert_eq!(len, 45);
        assert_eq!(
            head.start,
            StartLine::Request {
                method: Cow::Borrowed("GET"),
                uri: "/a?b".into(),
                version: HttpVersion::Http10
            }
        );
        assert!(head.headers.connection.keep_alive);
        assert_eq!(req(b"GET / HTTP/1.1\r\nHost: a\r\n"), Err(NoHead::Partial));
        assert_eq!(req(b"GET / HTTP/1.\r\n\r\n"), Err(NoHead::Malformed));
    }

    #[test]
    fn http09_request_lines() {
        let Ok((head, len)) = req(b"GET /index.html\r\n") else {
            panic!("0.9")
        };
        assert_eq!(len, 17);
        assert!(matches!(
            head.start,
            StartLine::Request { version: HttpVersion::Http09, ref uri, .. } if uri == "/index.html"
        ));
        assert_eq!(req(b"GET /index.html\r"), Err(NoHead::Partial));
        assert_eq!(req(b"GET /index.html"), Err(NoHead::Partial));
        assert_eq!(
            req(b"POST /x\r\n"),
            Err(NoHead::Malformed),
            "0.9 had only GET"
        );
        assert_eq!(req(b"EHLO mail.example\r\n"), Err(NoHead::Malformed));
    }

    #[test]
    fn too_many_headers_is_its_own_outcome() {
        let limits = HttpLimits {
            max_headers: 2,
            ..HttpLimits::default()
        };
        let buf = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(
            parse_request(buf, &parser_config(), &limits, false),
            Err(NoHead::TooManyHeaders)
        );
        assert!(req(buf).is_ok());
    }

    #[test]
    fn responses_and_lenient_header_names() {
        let buf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding : chunked\r\n\r\n";
        let Ok((head, _)) = parse_response(buf, &parser_config(), &HttpLimits::default(), false)
        else {
            panic!("complete")
        };
        assert!(head.headers.transfer_encoding.unwrap().chunked_final);
        assert_eq!(
            parse_response(
                b"HTTP/1.1 2XX OK\r\n\r\n",
                &parser_config(),
                &HttpLimits::default(),
                false
            ),
            Err(NoHead::Malformed)
        );
    }

    #[test]
    fn fields_are_kept_as_on_the_wire_only_when_asked() {
        let buf = b"GET / HTTP/1.1\r\nHost: example.com\r\nX-Odd:  v\xff \r\n\r\n";
        let limits = HttpLimits::default();
        let Ok((head, _)) = parse_request(buf, &parser_config(), &limits, true) else {
            panic!("complete")
        };
        let fields: Vec<(&str, &str)> = head
            .headers
            .fields
            .iter()
            .flatten()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(fields, [("Host", "example.com"), ("X-Odd", "v\u{fffd}")]);
        let Ok((head, _)) = parse_request(buf, &parser_config(), &limits, false) else {
            panic!("complete")
        };
        assert_eq!(head.headers.fields, None);
    }

    #[test]
    fn malformed_lines_still_name_method_and_target() {
        assert_eq!(
            malformed_request_line(b"GET / HTTP/1."),
            Some((Cow::Borrowed("GET"), "/".to_string()))
        );
        assert_eq!(malformed_request_line(b"\x16\x03 x"), None);
        assert_eq!(first_line(b"ab\r\ncd"), Some(&b"ab"[..]));
        assert_eq!(first_line(b"ab"), None);
        assert_eq!(capped_string("ééé".as_bytes(), 3), "é");
    }
}
