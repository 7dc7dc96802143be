//! `connlint transactions`: one record per HTTP request/response pair.

use super::ms_cell;
use crate::flow::Connection;
use crate::http::{HttpVersion, Transaction};
use crate::Timestamp;
use serde::Serialize;

/// One transaction as `connlint transactions --format json` prints it:
/// the SPEC §5 keys, in that order, then whether each message's end fell in
/// a capture gap (its times then end at the last byte seen).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransactionRecord<'a> {
    pub capture: &'a str,
    pub connection: u64,
    pub index: u64,
    pub client: String,
    pub server: String,
    pub method: Option<&'a str>,
    pub uri: Option<&'a str>,
    pub version: Option<&'static str>,
    pub status: Option<u16>,
    pub request_body_bytes: u64,
    pub response_body_bytes: u64,
    pub complete: bool,
    pub pipelined: bool,
    pub request_start_ts: Option<f64>,
    pub response_end_ts: Option<f64>,
    pub connect_ms: Option<f64>,
    pub send_ms: Option<f64>,
    pub wait_ms: Option<f64>,
    pub receive_ms: Option<f64>,
    /// The request's last bytes were in a capture gap: `send_ms` ends at
    /// the last request byte seen.
    pub request_end_in_gap: bool,
    /// The response's last bytes were in a capture gap: `response_end_ts`
    /// and `receive_ms` end at the last response byte seen.
    pub response_end_in_gap: bool,
    /// The request's Host header (its first, at most 256 bytes).
    pub host: Option<&'a str>,
    /// Frames (Wireshark's `frame.number`) of the request's first byte and
    /// of the response's first and last bytes; the connection is tshark's
    /// `tcp.stream` of the same number.
    pub request_frame: Option<u64>,
    pub response_first_frame: Option<u64>,
    pub response_last_frame: Option<u64>,
}

impl<'a> TransactionRecord<'a> {
    pub fn new(capture: &'a str, conn: &Connection, tx: &'a Transaction) -> TransactionRecord<'a> {
        let ms = |ns: Option<i64>| ns.map(|ns| ns as f64 / 1e6);
        let frame = |f: u64| (f > 0).then_some(f);
        TransactionRecord {
            capture,
            connection: conn.id,
            index: tx.index,
            // SocketAddr's Display writes IPv6 as `[addr]:port`, as SPEC §5 asks.
            client: conn.client.to_string(),
            server: conn.server.to_string(),
            method: tx.method.as_deref(),
            uri: tx.uri.as_deref(),
            version: tx.version.map(HttpVersion::as_str),
            status: tx.status,
            request_body_bytes: tx.request_body_bytes(),
            response_body_bytes: tx.response_body_bytes(),
            complete: tx.complete,
            pipelined: tx.pipelined,
            request_start_ts: tx.timing.request_start_ts.map(Timestamp::as_secs_f64),
            response_end_ts: tx.timing.response_end_ts.map(Timestamp::as_secs_f64),
            connect_ms: ms(tx.timing.connect_ns),
            send_ms: ms(tx.timing.send_ns),
            wait_ms: ms(tx.timing.wait_ns),
            receive_ms: ms(tx.timing.receive_ns),
            request_end_in_gap: tx.request.as_ref().is_some_and(|m| m.end_in_gap),
            response_end_in_gap: tx.response.as_ref().is_some_and(|m| m.end_in_gap),
            host: tx.request.as_ref().and_then(|m| m.headers.host.as_deref()),
            request_frame: tx.request.as_ref().and_then(|m| frame(m.first_frame)),
            response_first_frame: tx.response.as_ref().and_then(|m| frame(m.first_frame)),
            response_last_frame: tx.response.as_ref().and_then(|m| frame(m.last_frame)),
        }
    }
}

/// A transaction on a tunnelled connection: its record and the tunnel
/// (untunnelled ones are written as their record alone, as before).
#[derive(Serialize)]
pub struct TunnelledRecord<'r, 'a> {
    #[serde(flatten)]
    pub record: &'r TransactionRecord<'a>,
    pub tunnel: &'r str,
}

/// Longest URI shown in a table cell; the JSON keeps the whole URI.
const URI_CELL: usize = 48;

/// Table columns of `connlint transactions`, and which are right-aligned.
pub const HEADER: &[&str] = &[
    "conn",
    "#",
    "frame",
    "start s",
    "method",
    "host",
    "uri",
    "status",
    "req bytes",
    "resp bytes",
    "connect ms",
    "send ms",
    "wait ms",
    "receive ms",
    "notes",
];
pub const RIGHT: &[usize] = &[0, 1, 2, 3, 7, 8, 9, 10, 11, 12, 13];

/// Shortens a URI for a table cell in its middle, keeping the start of
/// its path and its end (the resource, the query).
fn shorten(uri: &str) -> String {
    super::term::shorten_middle(uri, URI_CELL)
}

/// One table row; `start` is the request's first byte as the table shows
/// times (seconds after the capture's first packet, or UTC).
pub fn row(tx: &Transaction, r: &TransactionRecord<'_>, start: String) -> Vec<String> {
    let mut notes = Vec::new();
    if r.pipelined {
        notes.push("pipelined");
    }
    if tx.orphan_response {
        notes.push("no request seen");
    }
    if tx.response.is_none() && tx.request.is_some() {
        notes.push("no response");
    } else if !r.complete {
        notes.push("incomplete");
    }
    if tx.tunnel {
        notes.push("tunnel");
    }
    if tx.pairing_inferred {
        notes.push("paired across a gap");
    }
    if r.request_end_in_gap {
        notes.push("request ends in a gap");
    }
    if r.response_end_in_gap {
        notes.push("response ends in a gap");
    }
    vec![
        r.connection.to_string(),
        r.index.to_string(),
        r.request_frame
            .or(r.response_first_frame)
            .map_or("-".to_string(), |f| f.to_string()),
        start,
        r.method.unwrap_or("-").to_string(),
        r.host
            .map_or("-".to_string(), |h| super::term::shorten_middle(h, 32)),
        r.uri.map_or("-".to_string(), shorten),
        r.status.map_or("-".to_string(), |s| s.to_string()),
        r.request_body_bytes.to_string(),
        r.response_body_bytes.to_string(),
        ms_cell(r.connect_ms),
        ms_cell(r.send_ms),
        ms_cell(r.wait_ms),
        ms_cell(r.receive_ms),
        notes.join(", "),
    ]
}

/// "12 transactions on 3 HTTP connections (5 TCP connections in all)".
pub fn summary_line(
    path: &str,
    transactions: u64,
    http_connections: u64,
    connections: u64,
    tls_connections: u64,
    decrypted: u64,
) -> String {
    let s = |n: u64| if n == 1 { "" } else { "s" };
    let mut tls = match decrypted {
        0 => String::new(),
        n => format!("; {n} TLS connection{} decrypted with the key log", s(n)),
    };
    if tls_connections > 0 {
        let n = tls_connections;
        tls.push_str(&format!(
            "; {n} TLS connection{} whose HTTP is encrypted, not listed",
            s(n)
        ));
    }
    format!(
        "{path}: {transactions} transaction{} on {http_connections} HTTP connection{} ({connections} TCP connection{} in all{tls})",
        s(transactions),
        s(http_connections),
        s(connections)
    )
}
