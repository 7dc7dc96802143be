//! Output: the same records as a table for people, or JSON / JSON Lines for
//! machines (keys as in SPEC §5).

pub mod baseline;
pub mod connections;
pub mod findings;
pub mod group;
pub mod har;
pub mod html;
pub mod init;
pub mod latency;
pub mod stream;
pub mod term;
pub mod transactions;
pub mod waterfall;

use crate::Timestamp;
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

/// How the tables show a moment: seconds after the capture's first packet
/// (Wireshark's `frame.time_relative`), every command alike, or with
/// `--absolute-time` the time in UTC. JSON always has seconds since the
/// epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    /// The capture's first packet.
    pub t0: Timestamp,
    pub absolute: bool,
}

impl Clock {
    /// A table cell: `12.345678` (seconds after the first packet) or
    /// `2023-11-14T22:13:20.250000Z`.
    pub fn cell(&self, ts: Timestamp) -> String {
        if self.absolute {
            ts.utc(6)
        } else {
            format!("{:.6}", ts.since(self.t0) as f64 / 1e9)
        }
    }

    /// A finding's time: `+0.151s` or `22:13:20.401Z`... in full UTC.
    pub fn offset(&self, ts: Timestamp) -> String {
        if self.absolute {
            ts.utc(3)
        } else {
            format!("+{:.3}s", ts.since(self.t0) as f64 / 1e9)
        }
    }

    /// The line that says what the times of a capture's table count
    /// from: `f.pcap: times are seconds after the first packet,
    /// 2023-11-14T22:13:20.250000Z`.
    pub fn header_line(&self, path: &str) -> String {
        if self.absolute {
            format!("{path}: times in UTC; first packet {}", self.t0.utc(6))
        } else {
            format!(
                "{path}: times in seconds after the first packet, {}",
                self.t0.utc(6)
            )
        }
    }
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
pub(crate) fn write_json_line<W: Write + ?Sized, T: serde::Serialize>(
    out: &mut W,
    value: &T,
) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// Writes `value` as pretty JSON (two-space indent) laid out as if it sat
/// `depth` levels deep in a document `serde_json::to_writer_pretty` wrote:
/// what lets a report stream the items of a document's arrays one at a
/// time, byte for byte as if it had written the document whole.
pub(crate) fn write_pretty_at<W: Write + ?Sized, T: serde::Serialize>(
    out: &mut W,
    value: &T,
    depth: usize,
) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, Indented::at(depth));
    value.serialize(&mut ser).map_err(io::Error::other)
}

/// `serde_json`'s pretty formatter (two-space indent), started at a depth.
struct Indented {
    current: usize,
    has_value: bool,
}

impl Indented {
    fn at(depth: usize) -> Indented {
        Indented {
            current: depth,
            has_value: false,
        }
    }
}

fn indent<W: Write + ?Sized>(w: &mut W, n: usize) -> io::Result<()> {
    for _ in 0..n {
        w.write_all(b"  ")?;
    }
    Ok(())
}

impl serde_json::ser::Formatter for Indented {
    fn begin_array<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        self.current = self.current.saturating_add(1);
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        self.current = self.current.saturating_sub(1);
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.current)?;
        }
        w.write_all(b"]")
    }

    fn begin_array_value<W: Write + ?Sized>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.current)
    }

    fn end_array_value<W: Write + ?Sized>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        self.current = self.current.saturating_add(1);
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        self.current = self.current.saturating_sub(1);
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.current)?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: Write + ?Sized>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.current)
    }

    fn begin_object_value<W: Write + ?Sized>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: Write + ?Sized>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}
