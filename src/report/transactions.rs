//! `connlint transactions`: one record per HTTP request/response pair.

use super::ms_cell;
use crate::http::{Transaction, TransactionRecord};
use serde::Serialize;

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
    "method",
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
pub const RIGHT: &[usize] = &[0, 1, 4, 5, 6, 7, 8, 9, 10];

/// Shortens a URI for a table cell, keeping its start (the path) and marking the cut.
fn shorten(uri: &str) -> String {
    if uri.chars().count() <= URI_CELL {
        uri.to_string()
    } else {
        let mut s: String = uri.chars().take(URI_CELL - 1).collect();
        s.push('…');
        s
    }
}

/// One table row.
pub fn row(tx: &Transaction, r: &TransactionRecord<'_>) -> Vec<String> {
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
        r.method.unwrap_or("-").to_string(),
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
) -> String {
    let s = |n: u64| if n == 1 { "" } else { "s" };
    format!(
        "{path}: {transactions} transaction{} on {http_connections} HTTP connection{} ({connections} TCP connection{} in all)",
        s(transactions),
        s(http_connections),
        s(connections)
    )
}
