//! Output: the same records as a table for people, or JSON / JSON Lines for
//! machines (keys as in SPEC §5).

pub mod connections;
pub mod findings;
pub mod group;
pub mod har;
pub mod html;
pub mod stream;
pub mod transactions;
pub mod waterfall;

use std::io::{self, Write};

/// A writer that consumes what `check`'s pipeline hands out, as it comes:
/// per capture, each finished connection, then each finding (now at the
/// capture's end; as connections settle once findings stream), then the
/// capture's outcome. The HAR and HTML writers are ones.
pub trait CheckConsumer {
    /// A capture begins; what follows until [`CheckConsumer::capture_done`] is its.
    fn capture(&mut self, path: &str);
    fn connection(&mut self, a: &crate::analyze::Analyzed);
    fn finding(&mut self, f: &crate::rules::Finding);
    /// The capture is read: its summary and counts (its `findings` were
    /// each handed to [`CheckConsumer::finding`] already).
    fn capture_done(&mut self, outcome: &crate::analyze::CheckOutcome);
}

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
