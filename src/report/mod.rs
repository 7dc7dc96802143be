//! Output: the same records as a table for people, or JSON / JSON Lines for
//! machines (keys as in SPEC §5).

pub mod connections;
pub mod findings;
pub mod group;
pub mod stream;
pub mod transactions;

use std::io::{self, Write};

/// Output formats shared by the listing commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
}

/// Formats a float of seconds or milliseconds for a table cell.
pub(crate) fn ms_cell(ms: Option<f64>) -> String {
    match ms {
        Some(v) => format!("{v:.3}"),
        None => "-".to_string(),
    }
}

/// Writes `value` as one line of JSON.
pub(crate) fn write_json_line<W: Write, T: serde::Serialize>(
    out: &mut W,
    value: &T,
) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::other)?;
    out.write_all(b"\n")
}
