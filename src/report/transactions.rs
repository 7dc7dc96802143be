//! `connlint transactions`: one record per HTTP request/response pair.

use super::{ms_cell, write_json_line, Format};
use crate::analyze::Analyzed;
use crate::http::TransactionRecord;
use comfy_table::{presets, CellAlignment, Table};
use serde::Serialize;
use std::io::{self, Write};

/// Longest URI shown in a table cell; the JSON keeps the whole URI.
const URI_CELL: usize = 48;

/// The analyzed connections of one capture, in id order.
pub struct CaptureTransactions<'a> {
    pub path: &'a str,
    pub connections: &'a [Analyzed],
}

fn records<'a>(
    captures: &'a [CaptureTransactions<'a>],
) -> impl Iterator<Item = TransactionRecord<'a>> + 'a {
    captures.iter().flat_map(|c| {
        c.connections.iter().flat_map(move |a| {
            a.http
                .transactions
                .iter()
                .map(move |tx| TransactionRecord::new(c.path, &a.connection, tx))
        })
    })
}

#[derive(Serialize)]
struct Document<'a> {
    transactions: Vec<TransactionRecord<'a>>,
}

pub fn write<W: Write>(
    out: &mut W,
    format: Format,
    captures: &[CaptureTransactions<'_>],
) -> io::Result<()> {
    match format {
        Format::Json => {
            let doc = Document {
                transactions: records(captures).collect(),
            };
            serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
            out.write_all(b"\n")
        }
        Format::Jsonl => records(captures).try_for_each(|r| write_json_line(out, &r)),
        Format::Table => write_table(out, captures),
    }
}

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

fn write_table<W: Write>(out: &mut W, captures: &[CaptureTransactions<'_>]) -> io::Result<()> {
    for cap in captures {
        if captures.len() > 1 {
            writeln!(out, "{}", cap.path)?;
        }
        let mut table = Table::new();
        table.load_preset(presets::UTF8_HORIZONTAL_ONLY);
        table.set_header(vec![
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
        ]);
        let mut n = 0usize;
        let mut http_conns = 0usize;
        for a in cap.connections {
            if a.http.is_http {
                http_conns += 1;
            }
            for tx in &a.http.transactions {
                n += 1;
                let r = TransactionRecord::new(cap.path, &a.connection, tx);
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
                table.add_row(vec![
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
                ]);
            }
        }
        for col in [0, 1, 4, 5, 6, 7, 8, 9, 10] {
            if let Some(c) = table.column_mut(col) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        if n > 0 {
            writeln!(out, "{table}")?;
        }
        writeln!(
            out,
            "{}: {n} transaction{} on {http_conns} HTTP connection{} ({} TCP connection{} in all)",
            cap.path,
            if n == 1 { "" } else { "s" },
            if http_conns == 1 { "" } else { "s" },
            cap.connections.len(),
            if cap.connections.len() == 1 { "" } else { "s" },
        )?;
    }
    Ok(())
}
