//! What a message's header fields say about connection management and framing.
//!
//! Only the fields the rules need are interpreted, and only into small,
//! capped values: the head itself is dropped once parsed.

use super::field_names::FieldNames;
use serde::Serialize;

/// Tokens kept per Connection-like header beyond the well-known ones.
const MAX_OTHER_TOKENS: usize = 16;
/// Longest token kept (a header name in a Connection list).
const MAX_TOKEN_BYTES: usize = 128;
/// Longest raw header value kept for evidence.
const MAX_RAW_BYTES: usize = 256;
/// Distinct Content-Length values kept for evidence.
const MAX_CONTENT_LENGTH_VALUES: usize = 4;

/// The protocol version a message declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum HttpVersion {
    #[serde(rename = "HTTP/0.9")]
    Http09,
    #[serde(rename = "HTTP/1.0")]
    Http10,
    #[serde(rename = "HTTP/1.1")]
    Http11,
}

impl HttpVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Http09 => "HTTP/0.9",
            HttpVersion::Http10 => "HTTP/1.0",
            HttpVersion::Http11 => "HTTP/1.1",
        }
    }

    pub(crate) fn from_minor(minor: u8) -> HttpVersion {
        if minor == 0 {
            HttpVersion::Http10
        } else {
            HttpVersion::Http11
        }
    }
}

/// The tokens of a `Connection` (or `Proxy-Connection`) header, all field
/// lines together. `close`, `keep-alive` and `upgrade` are flags so the
/// common case allocates nothing; any other token (usually a header name the
/// sender wants stripped, which C005 inspects) is kept lowercased.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionTokens {
    /// Field lines carrying the header (0 = absent).
    pub fields: u32,
    pub close: bool,
    pub keep_alive: bool,
    pub upgrade: bool,
    /// Other tokens, lowercased, in order of appearance, at most 16.
    pub others: Vec<String>,
    /// Tokens beyond the cap, counted but not kept.
    pub dropped: u32,
}

impl ConnectionTokens {
    pub fn is_present(&self) -> bool {
        self.fields > 0
    }

    /// Whether `token` (any case) was listed.
    pub fn contains(&self, token: &str) -> bool {
        if token.eq_ignore_ascii_case("close") {
            self.close
        } else if token.eq_ignore_ascii_case("keep-alive") {
            self.keep_alive
        } else if token.eq_ignore_ascii_case("upgrade") {
            self.upgrade
        } else {
            self.others.iter().any(|t| t.eq_ignore_ascii_case(token))
        }
    }

    fn add_field(&mut self, value: &[u8]) {
        self.fields = self.fields.saturating_add(1);
        for token in list_elements(value) {
            if token.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if token.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if token.eq_ignore_ascii_case(b"upgrade") {
                self.upgrade = true;
            } else if self.others.len() < MAX_OTHER_TOKENS {
                let kept = token.get(..MAX_TOKEN_BYTES).unwrap_or(token);
                self.others
                    .push(String::from_utf8_lossy(kept).to_ascii_lowercase());
            } else {
                self.dropped = self.dropped.saturating_add(1);
            }
        }
    }
}

/// The `Keep-Alive` header: raw for evidence, and its `timeout` / `max`
/// parameters when they parse (C008 fires when they do not).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KeepAliveFacts {
    pub fields: u32,
    /// The value(s) as sent, joined with ", ", at most 256 bytes.
    pub raw: String,
    pub timeout: Option<u64>,
    pub max: Option<u64>,
    /// A `timeout` or `max` parameter whose value is not a non-negative integer.
    pub invalid: bool,
}

impl KeepAliveFacts {
    fn add_field(&mut self, value: &[u8]) {
        self.fields = self.fields.saturating_add(1);
        push_raw(&mut self.raw, value);
        for param in list_elements(value) {
            let (name, val) = match param.iter().position(|&b| b == b'=') {
                Some(eq) => (
                    trim_ows(param.get(..eq).unwrap_or_default()),
                    Some(trim_ows(
                        param.get(eq.saturating_add(1)..).unwrap_or_default(),
                    )),
                ),
                None => (param, None),
            };
            let slot = if name.eq_ignore_ascii_case(b"timeout") {
                &mut self.timeout
            } else if name.eq_ignore_ascii_case(b"max") {
                &mut self.max
            } else {
                continue;
            };
            match val.map(unquote).and_then(parse_decimal) {
                Some(n) => *slot = Some(n),
                None => self.invalid = true,
            }
        }
    }
}

/// Every Content-Length value of a message: repeated field lines and comma
/// lists both count (F003), and the framing uses the value only when all
/// agree.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ContentLengthFacts {
    /// Values seen (field lines × list elements).
    pub count: u32,
    /// Field lines carrying the header.
    pub fields: u32,
    /// The distinct values that parsed, in order, at most 4.
    pub values: Vec<u64>,
    /// More than one value (equal or not).
    pub duplicate: bool,
    /// Two values differ.
    pub conflicting: bool,
    /// Values that are not a non-negative decimal integer within 64 bits.
    pub unparsable: u32,
}

impl ContentLengthFacts {
    fn add_field(&mut self, value: &[u8]) {
        self.fields = self.fields.saturating_add(1);
        let mut any = false;
        for element in list_elements(value) {
            any = true;
            self.add_value(parse_decimal(element));
        }
        if !any {
            // An empty Content-Length is a value that does not parse.
            self.add_value(None);
        }
    }

    fn add_value(&mut self, value: Option<u64>) {
        self.count = self.count.saturating_add(1);
        if self.count > 1 {
            self.duplicate = true;
        }
        match value {
            None => self.unparsable = self.unparsable.saturating_add(1),
            Some(v) => {
                if let Some(&first) = self.values.first() {
                    if first != v {
                        self.conflicting = true;
                    }
                }
                if self.values.is_empty() {
                    // The common single value: one allocation of its size.
                    self.values = vec![v];
                } else if !self.values.contains(&v) && self.values.len() < MAX_CONTENT_LENGTH_VALUES
                {
                    self.values.push(v);
                }
            }
        }
    }

    /// The body length if the values determine one (all parse and agree).
    pub fn length(&self) -> Option<u64> {
        if self.unparsable > 0 || self.conflicting {
            None
        } else {
            self.values.first().copied()
        }
    }
}

/// The `Transfer-Encoding` header: which codings, and whether `chunked` is
/// the final one (the only case where the body is chunk-framed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TransferEncodingFacts {
    pub fields: u32,
    /// The value(s) as sent, joined with ", ", at most 256 bytes.
    pub raw: String,
    /// Codings listed, over all field lines.
    pub codings: u32,
    /// Times `chunked` was listed.
    pub chunked_count: u32,
    /// `chunked` is the last coding.
    pub chunked_final: bool,
}

impl TransferEncodingFacts {
    fn add_field(&mut self, value: &[u8]) {
        self.fields = self.fields.saturating_add(1);
        push_raw(&mut self.raw, value);
        for coding in list_elements(value) {
            // A coding may carry parameters (`gzip;q=1`); its name decides.
            let name = trim_ows(coding.split(|&b| b == b';').next().unwrap_or_default());
            self.codings = self.codings.saturating_add(1);
            let chunked = name.eq_ignore_ascii_case(b"chunked");
            if chunked {
                self.chunked_count = self.chunked_count.saturating_add(1);
            }
            self.chunked_final = chunked;
        }
    }
}

/// Hop-by-hop fields other than Connection / Keep-Alive / Proxy-Connection
/// (those have their own facts): C007 checks where they appear.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HopByHop {
    pub te: bool,
    pub trailer: bool,
    pub upgrade: bool,
    pub proxy_authenticate: bool,
    pub proxy_authorization: bool,
}

/// Everything the rules need from one message's header section. The
/// headers most messages lack are boxed: a transaction is kept for every
/// message of a connection, so its size is paid many times over.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HeaderFacts {
    pub header_count: u32,
    pub connection: ConnectionTokens,
    pub keep_alive: Option<Box<KeepAliveFacts>>,
    pub proxy_connection: Option<Box<ConnectionTokens>>,
    pub content_length: Option<ContentLengthFacts>,
    pub transfer_encoding: Option<Box<TransferEncodingFacts>>,
    /// Both Content-Length and Transfer-Encoding (F002, a smuggling vector).
    pub content_length_with_transfer_encoding: bool,
    /// `Expect: 100-continue`.
    pub expect_continue: bool,
    /// The `Upgrade` value (e.g. `websocket`), at most 256 bytes.
    pub upgrade: Option<String>,
    /// The first `Host` value, at most 256 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub hop_by_hop: HopByHop,
    /// Which fields the message carried (C007). Not serialised: it is a
    /// set of hashes, evidence for rules, not a report.
    #[serde(skip)]
    pub field_names: FieldNames,
    /// Every field as on the wire, in order, when the parser was asked to
    /// keep them ([`HttpConnection::keep_fields`](super::HttpConnection::keep_fields));
    /// `None` otherwise. Bounded by the head's size cap.
    #[serde(skip)]
    pub fields: Option<Box<[HeaderField]>>,
}

/// One header field as on the wire: its name as written, its value with
/// bytes that are not UTF-8 replaced (U+FFFD).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderField {
    pub name: String,
    pub value: String,
}

impl HeaderFacts {
    /// Interprets the fields `httparse` found. Names compare case-insensitively.
    pub(crate) fn scan(headers: &[httparse::Header<'_>]) -> HeaderFacts {
        let mut facts = HeaderFacts {
            header_count: u32::try_from(headers.len()).unwrap_or(u32::MAX),
            ..HeaderFacts::default()
        };
        for header in headers {
            let name = header.name.as_bytes();
            let value = header.value;
            facts.field_names.insert(name);
            // Dispatch on length first: most fields are none of these.
            match name.len() {
                2 if name.eq_ignore_ascii_case(b"te") => facts.hop_by_hop.te = true,
                4 if name.eq_ignore_ascii_case(b"host") && facts.host.is_none() => {
                    // The first value: one allocation of its size.
                    facts.host = Some(first_raw(trim_ows(value)));
                }
                6 if name.eq_ignore_ascii_case(b"expect") => {
                    facts.expect_continue |= trim_ows(value).eq_ignore_ascii_case(b"100-continue")
                }
                7 if name.eq_ignore_ascii_case(b"upgrade") => {
                    facts.hop_by_hop.upgrade = true;
                    push_raw(facts.upgrade.get_or_insert_with(String::new), value);
                }
                7 if name.eq_ignore_ascii_case(b"trailer") => facts.hop_by_hop.trailer = true,
                10 if name.eq_ignore_ascii_case(b"connection") => facts.connection.add_field(value),
                10 if name.eq_ignore_ascii_case(b"keep-alive") => facts
                    .keep_alive
                    .get_or_insert_with(Box::default)
                    .add_field(value),
                14 if name.eq_ignore_ascii_case(b"content-length") => facts
                    .content_length
                    .get_or_insert_with(ContentLengthFacts::default)
                    .add_field(value),
                16 if name.eq_ignore_ascii_case(b"proxy-connection") => facts
                    .proxy_connection
                    .get_or_insert_with(Box::default)
                    .add_field(value),
                17 if name.eq_ignore_ascii_case(b"transfer-encoding") => facts
                    .transfer_encoding
                    .get_or_insert_with(Box::default)
                    .add_field(value),
                18 if name.eq_ignore_ascii_case(b"proxy-authenticate") => {
                    facts.hop_by_hop.proxy_authenticate = true
                }
                19 if name.eq_ignore_ascii_case(b"proxy-authorization") => {
                    facts.hop_by_hop.proxy_authorization = true
                }
                _ => {}
            }
        }
        facts.content_length_with_transfer_encoding =
            facts.content_length.is_some() && facts.transfer_encoding.is_some();
        facts
    }
}

/// Optional whitespace, plus CR and LF so that an obs-folded value
/// (`chunked\r\n gzip`, kept raw by httparse) splits like a plain one.
fn is_ows(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_ows(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_ows(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// The non-empty elements of a comma-separated list (RFC 9110 §5.6.1).
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

fn unquote(s: &[u8]) -> &[u8] {
    match s {
        [b'"', inner @ .., b'"'] => inner,
        _ => s,
    }
}

/// `1*DIGIT` as a u64; `None` for anything else, including overflow.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        let digit = char::from(b).to_digit(10)?;
        n = n.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    Some(n)
}

/// What [`push_raw`] makes of a first value (into an empty string), in one
/// allocation of its size.
fn first_raw(value: &[u8]) -> String {
    let value = trim_ows(value);
    let kept = value.get(..MAX_RAW_BYTES).unwrap_or(value);
    String::from_utf8_lossy(kept).into_owned()
}

/// Appends a raw value for evidence, joined with ", ", never past the cap.
fn push_raw(raw: &mut String, value: &[u8]) {
    if raw.len() >= MAX_RAW_BYTES {
        return;
    }
    if !raw.is_empty() {
        raw.push_str(", ");
    }
    let room = MAX_RAW_BYTES.saturating_sub(raw.len());
    let value = trim_ows(value);
    let kept = value.get(..room).unwrap_or(value);
    raw.push_str(&String::from_utf8_lossy(kept));
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_first_raw_value_is_what_push_raw_makes_of_it() {
        let long = "h".repeat(300);
        for value in ["", " a.example ", "\tx:80\r\n", long.as_str(), "caf\u{e9}"] {
            let mut pushed = String::new();
            push_raw(&mut pushed, value.as_bytes());
            assert_eq!(first_raw(value.as_bytes()), pushed, "{value:?}");
        }
        // Bytes that are not UTF-8, and the cap.
        let mut pushed = String::new();
        push_raw(&mut pushed, b"a\xffb");
        assert_eq!(first_raw(b"a\xffb"), pushed);
        assert_eq!(first_raw(long.as_bytes()).len(), MAX_RAW_BYTES);
    }

    #[test]
    fn content_length_values_stay_distinct_and_capped() {
        let f = scan(&[
            ("Content-Length", "5"),
            ("Content-Length", "5, 6"),
            ("Content-Length", "7, 8, 9, 10"),
        ]);
        let cl = f.content_length.unwrap();
        assert_eq!(cl.values, vec![5, 6, 7, 8]);
        assert!(cl.duplicate && cl.conflicting);
        assert_eq!(cl.length(), None);
        let one = scan(&[("Content-Length", "42")]).content_length.unwrap();
        assert_eq!((one.length(), one.values), (Some(42), vec![42]));
    }

    /// [`HeaderFacts::scan`] of `(name, value)` pairs (the framing tests use it too).
    pub(crate) fn scan(fields: &[(&str, &str)]) -> HeaderFacts {
        let headers: Vec<httparse::Header<'_>> = fields
            .iter()
            .map(|(n, v)| httparse::Header {
                name: n,
                value: v.as_bytes(),
            })
            .collect();
        HeaderFacts::scan(&headers)
    }

    #[test]
    fn connection_tokens_are_case_insensitive_and_keep_header_names() {
        let f = scan(&[
            ("Connection", "Keep-Alive, X-Custom"),
            ("connection", " CLOSE ,, Content-Length"),
        ]);
        assert_eq!(f.connection.fields, 2);
        assert!(f.connection.keep_alive && f.connection.close && !f.connection.upgrade);
        assert_eq!(f.connection.others, vec!["x-custom", "content-length"]);
        assert!(f.connection.contains("content-LENGTH"));
        assert!(!f.connection.contains("host"));
    }

    #[test]
    fn keep_alive_parameters_parse_or_flag() {
        let ok = scan(&[("Keep-Alive", "timeout=5, max=\"100\"")]);
        let ka = ok.keep_alive.unwrap();
        assert_eq!(
            (ka.timeout, ka.max, ka.invalid),
            (Some(5), Some(100), false)
        );
        assert_eq!(ka.raw, "timeout=5, max=\"100\"");
        let bad = scan(&[("keep-alive", "timeout=-1, max=lots")])
            .keep_alive
            .unwrap();
        assert!(bad.invalid);
        assert_eq!((bad.timeout, bad.max), (None, None));
        let unknown = scan(&[("Keep-Alive", "300")]).keep_alive.unwrap();
        assert!(
            !unknown.invalid,
            "a bare HTTP/1.0-era number is not timeout/max"
        );
    }

    #[test]
    fn content_length_duplicates_conflicts_and_garbage() {
        let same = scan(&[("Content-Length", "5"), ("Content-Length", "5, 5")]);
        let cl = same.content_length.unwrap();
        assert_eq!(
            (cl.count, cl.fields, cl.duplicate, cl.conflicting),
            (3, 2, true, false)
        );
        assert_eq!(cl.length(), Some(5));

        let differ = scan(&[("Content-Length", "5"), ("Content-Length", "6")]);
        let cl = differ.content_length.unwrap();
        assert!(cl.conflicting && cl.duplicate);
        assert_eq!(cl.values, vec![5, 6]);
        assert_eq!(cl.length(), None);

        for junk in ["+5", "0x10", "", "99999999999999999999999", "5 5"] {
            let cl = scan(&[("Content-Length", junk)]).content_length.unwrap();
            assert_eq!(cl.unparsable, 1, "{junk:?}");
            assert_eq!(cl.length(), None, "{junk:?}");
        }
    }

    #[test]
    fn transfer_encoding_final_coding_decides() {
        let f = scan(&[("Transfer-Encoding", "gzip, chunked")]);
        let te = f.transfer_encoding.unwrap();
        assert!(te.chunked_final);
        assert_eq!((te.codings, te.chunked_count), (2, 1));

        let not_final = scan(&[
            ("Transfer-Encoding", "chunked"),
            ("Transfer-Encoding", "lalala"),
        ]);
        assert!(!not_final.transfer_encoding.unwrap().chunked_final);

        let folded = scan(&[("Transfer-Encoding", "\r\n chunked")]);
        assert!(folded.transfer_encoding.unwrap().chunked_final);

        let both = scan(&[("Content-Length", "3"), ("Transfer-Encoding", "chunked")]);
        assert!(both.content_length_with_transfer_encoding);
    }

    #[test]
    fn hop_by_hop_and_expect_and_upgrade() {
        let f = scan(&[
            ("TE", "trailers"),
            ("Proxy-Authorization", "Basic x"),
            ("Expect", " 100-Continue "),
            ("Upgrade", "websocket"),
            ("Proxy-Connection", "keep-alive"),
        ]);
        assert!(f.hop_by_hop.te && f.hop_by_hop.proxy_authorization && f.hop_by_hop.upgrade);
        assert!(!f.hop_by_hop.proxy_authenticate && !f.hop_by_hop.trailer);
        assert!(f.expect_continue);
        assert_eq!(f.upgrade.as_deref(), Some("websocket"));
        assert!(f.proxy_connection.unwrap().keep_alive);
        assert_eq!(f.header_count, 5);
        // Every field's name is recorded, whatever the field.
        assert!(f.field_names.contains("expect") && f.field_names.contains("Proxy-Connection"));
        assert_eq!(f.field_names.len(), 5);
    }

    #[test]
    fn kept_values_are_capped() {
        let long = "a".repeat(10_000);
        let tokens: Vec<String> = (0..40).map(|i| format!("x-{i}")).collect();
        let f = scan(&[("Keep-Alive", &long), ("Connection", &tokens.join(","))]);
        assert_eq!(f.keep_alive.unwrap().raw.len(), MAX_RAW_BYTES);
        assert_eq!(f.connection.others.len(), MAX_OTHER_TOKENS);
        assert_eq!(f.connection.dropped, 40 - MAX_OTHER_TOKENS as u32);
    }
}
