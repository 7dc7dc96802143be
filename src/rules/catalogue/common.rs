//! What more than one rule needs: naming a transaction or a message in a
//! finding's one-line message, printing Connection tokens, and the few
//! judgements several rules make the same way (whether a sender wants
//! persistence, whether a capture gap may hide a response, which methods
//! are idempotent).
//!
//! A helper lives here once two rules need it; what only one rule needs
//! stays in its file.

use crate::http::{ConnectionTokens, HttpVersion, MessageFacts, NoResponse, Transaction};
use crate::reassembly::Side;
use crate::rules::api::{ConnectionFacts, Finding, RuleMeta};
use serde_json::Value;
use std::fmt;

/// Transaction indices (and the like) listed in one evidence field at most.
pub(super) const MAX_LISTED: usize = 64;

/// A request target short enough for a one-line message.
pub(super) fn shorten(uri: &str) -> String {
    match uri.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &uri[..cut]),
        None => uri.to_string(),
    }
}

/// "GET /path", the target shortened.
pub(super) fn request_line(method: &str, uri: &str) -> String {
    format!("{method} {}", shorten(uri))
}

/// "GET /path" for a transaction whose method and target were both seen.
pub(super) fn target(tx: &Transaction) -> Option<String> {
    match (&tx.method, &tx.uri) {
        (Some(m), Some(u)) => Some(request_line(m, u)),
        _ => None,
    }
}

/// "GET /path" for a message's transaction, the method alone without a
/// target, or "transaction N" when the request was not seen.
pub(super) fn label(tx: &Transaction) -> String {
    match (&tx.method, &tx.uri) {
        (Some(m), Some(u)) => request_line(m, u),
        (Some(m), None) => m.to_string(),
        _ => format!("transaction {}", tx.index),
    }
}

/// "GET /path", or "request N" when the request line was not seen.
pub(super) fn request_label(tx: &Transaction) -> String {
    target(tx).unwrap_or_else(|| format!("request {}", tx.index))
}

/// "200 response to GET /path" ("unparsed response ..." without a status).
pub(super) fn response_to(tx: &Transaction) -> String {
    let status = tx
        .status
        .map_or_else(|| "unparsed".to_string(), |s| s.to_string());
    format!("{status} response to {}", request_label(tx))
}

/// Which message of a transaction a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Request,
    Response,
}

impl Kind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Response => "response",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The request and the final response of a transaction, those present.
pub(super) fn messages(tx: &Transaction) -> impl Iterator<Item = (Kind, &MessageFacts)> {
    [
        (Kind::Request, tx.request.as_ref()),
        (Kind::Response, tx.response.as_ref()),
    ]
    .into_iter()
    .filter_map(|(k, m)| Some((k, m?)))
}

/// Every message on the connection, with its transaction, request first.
pub(super) fn each_message<'a>(
    cx: &'a ConnectionFacts<'_>,
) -> impl Iterator<Item = (&'a Transaction, Kind, &'a MessageFacts)> {
    cx.http
        .transactions
        .iter()
        .flat_map(|tx| messages(tx).map(move |(kind, msg)| (tx, kind, msg)))
}

/// A finding about one message: at its first byte, on its transaction, with
/// which message it is as `message` evidence.
pub(super) fn on_message(
    meta: &'static RuleMeta,
    cx: &ConnectionFacts<'_>,
    tx: &Transaction,
    kind: Kind,
    msg: &MessageFacts,
    message: String,
) -> Finding {
    Finding::new(meta, cx.conn, msg.first_byte_ts, message)
        .transaction(tx.index)
        .with("message", kind.as_str())
}

/// The tokens of a Connection-like header, lowercased, as one list
/// (`keep-alive, x-debug-hop`).
pub(super) fn tokens(c: &ConnectionTokens) -> String {
    let mut v: Vec<&str> = Vec::new();
    if c.keep_alive {
        v.push("keep-alive");
    }
    if c.close {
        v.push("close");
    }
    if c.upgrade {
        v.push("upgrade");
    }
    v.extend(c.others.iter().map(String::as_str));
    v.join(", ")
}

/// [`tokens`] as evidence: `null` when the header is absent.
pub(super) fn tokens_value(c: &ConnectionTokens) -> Value {
    if c.is_present() {
        Value::from(tokens(c))
    } else {
        Value::Null
    }
}

/// A message's HTTP version as evidence: `null` when it did not parse.
pub(super) fn version(m: &MessageFacts) -> Value {
    m.version.map_or(Value::Null, |v| Value::from(v.as_str()))
}

/// `x-forwarded-for` as `X-Forwarded-For`, for messages.
pub(super) fn field_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    match out.as_str() {
        "Te" => "TE".to_string(),
        "Etag" => "ETag".to_string(),
        "Www-Authenticate" => "WWW-Authenticate".to_string(),
        _ => out,
    }
}

/// Whether a message's sender means to keep the connection open: HTTP/1.1
/// unless it says `close`, HTTP/1.0 only with `keep-alive` (RFC 9112 §9.3).
pub(super) fn wants_persistence(msg: &MessageFacts) -> bool {
    let c = &msg.headers.connection;
    match msg.version {
        Some(HttpVersion::Http11) => !c.close,
        Some(HttpVersion::Http10) => c.keep_alive && !c.close,
        _ => false,
    }
}

/// Some of the server's bytes were not captured (lost packets, or a
/// capture of one direction only): a response may have been among them.
pub(super) fn server_stream_has_gaps(cx: &ConnectionFacts<'_>) -> bool {
    let side = Side::Server;
    cx.conn.stats(side).gap_bytes > 0 || cx.http.direction(side).gaps > 0
}

/// A transaction's pairing, or the stream before it, was disturbed by a
/// capture gap: which request was outstanding when is then a guess.
pub(super) fn disturbed_by_gap(tx: &Transaction) -> bool {
    tx.paired_after_gap
        || tx.orphan_response
        || matches!(
            tx.no_response,
            Some(NoResponse::LostInGap | NoResponse::Unpaired)
        )
}

/// Methods RFC 9110 §9.2.2 and the WebDAV RFCs (4918 §9, 5323, 3253) define
/// as idempotent.
const IDEMPOTENT: &[&str] = &[
    "GET",
    "HEAD",
    "OPTIONS",
    "TRACE",
    "PUT",
    "DELETE",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "UNLOCK",
    "SEARCH",
    "REPORT",
];

/// Whether `method` is idempotent. Methods are case-sensitive; an unknown
/// one is not.
pub(super) fn is_idempotent(method: &str) -> bool {
    IDEMPOTENT.contains(&method)
}

/// Whether the transaction list `a` (a JSON array) is non-empty and within
/// `b`: how a folding rule checks that another finding's requests are its own.
pub(super) fn subset(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a.and_then(Value::as_array), b.and_then(Value::as_array)) {
        (Some(a), Some(b)) => !a.is_empty() && a.iter().all(|x| b.contains(x)),
        _ => false,
    }
}

/// A duration for a message: milliseconds below 10 s, seconds above.
pub(super) fn duration(ns: i64) -> String {
    if ns.unsigned_abs() < 10_000_000_000 {
        format!("{:.1} ms", ns as f64 / 1e6)
    } else {
        format!("{:.1} s", ns as f64 / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::{field_case, is_idempotent, label, request_label, tokens};

    #[test]
    fn transactions_are_named_by_their_request_line() {
        let mut tx = crate::http::Transaction::new(3);
        assert_eq!(label(&tx), "transaction 3");
        assert_eq!(request_label(&tx), "request 3");
        tx.method = Some("GET".into());
        assert_eq!(label(&tx), "GET");
        tx.uri = Some("/".repeat(70));
        assert_eq!(label(&tx).chars().count(), 4 + 60 + 1);
        assert_eq!(request_label(&tx), label(&tx));
    }

    #[test]
    fn tokens_and_field_names() {
        let c = crate::http::ConnectionTokens {
            fields: 1,
            close: true,
            keep_alive: true,
            others: vec!["x-a".into()],
            ..Default::default()
        };
        assert_eq!(tokens(&c), "keep-alive, close, x-a");
        assert_eq!(field_case("x-forwarded-for"), "X-Forwarded-For");
        assert_eq!(field_case("etag"), "ETag");
        assert_eq!(field_case("te"), "TE");
    }

    #[test]
    fn method_classes() {
        for m in [
            "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "PROPFIND",
        ] {
            assert!(is_idempotent(m), "{m}");
        }
        for m in ["POST", "PATCH", "CONNECT", "LOCK", "get", "BREW"] {
            assert!(!is_idempotent(m), "{m}");
        }
    }
}
