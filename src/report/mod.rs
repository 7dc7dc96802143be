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
