//! Streaming output for the listing commands, in connection-id order
//! without holding the capture's records.
//!
//! Connections finish in the order they end; the reports list them in the
//! order they began (SPEC §5). Ids are dense (every connection gets the next
//! one and finishes exactly once), so a reorder buffer that emits the
//! contiguous prefix keeps only what is out of order — in practice a few
//! connections' worth — instead of the whole capture.

use super::term::Term;
use super::Format;
use comfy_table::CellAlignment;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Rows per table block: a table is laid out whole, so long listings are
/// printed a block at a time.
const TABLE_BLOCK: usize = 1000;

/// What one JSON record of a listing takes, about: the first allocation of
/// its text.
const RECORD_BYTES: usize = 512;

/// Items held at once by default (`Limits::max_list_waiting`; see
/// [`Reorder::with_cap`]).
pub const DEFAULT_MAX_WAITING: usize = 16_384;

/// Releases items in id order as the gaps before them fill. At most `max`
/// wait: past it (a connection open for the whole capture holds every
/// later one back) the earliest gap is given up on, the items after it go
/// on in order, and the connections of the gap are written when they
/// finish, after later ones. Each time is counted in `cut`.
#[derive(Debug)]
pub struct Reorder<T> {
    next: u64,
    waiting: BTreeMap<u64, T>,
    max: usize,
    /// Times the gap before the items waiting was given up on.
    pub cut: u64,
}

impl<T> Default for Reorder<T> {
    fn default() -> Self {
        Reorder::with_cap(DEFAULT_MAX_WAITING)
    }
}

impl<T> Reorder<T> {
    /// A buffer holding at most `max` items (at least one).
    pub fn with_cap(max: usize) -> Self {
        Reorder {
            next: 0,
            waiting: BTreeMap::new(),
            max: max.max(1),
            cut: 0,
        }
    }

    /// Adds item `id`; hands every item now in order to `emit`.
    pub fn push(&mut self, id: u64, item: T, mut emit: impl FnMut(T)) {
        if id == self.next && self.waiting.is_empty() {
            // In order with nothing waiting (nearly always): straight on.
            emit(item);
            self.next = self.next.saturating_add(1);
            return;
        }
        if id < self.next {
            // Its turn was given up on (see `max`): late, straight on.
            emit(item);
            return;
        }
        self.waiting.insert(id, item);
        loop {
            while let Some(item) = self.waiting.remove(&self.next) {
                emit(item);
                // Ids count connections: u64::MAX is out of reach.
                self.next = self.next.saturating_add(1);
            }
            if self.waiting.len() <= self.max {
                return;
            }
            let Some(&first) = self.waiting.keys().next() else {
                return;
            };
            self.next = first;
            self.cut = self.cut.saturating_add(1);
        }
    }

    /// Hands over whatever is left, in id order (end of a capture).
    pub fn drain(&mut self, emit: impl FnMut(T)) {
        std::mem::take(&mut self.waiting)
            .into_values()
            .for_each(emit);
        self.next = 0;
    }
}

/// A record rendered for the chosen format.
pub enum Rendered {
    Json(String),
    Row(Vec<String>),
}

/// Writes a stream of records as JSON (`{"<key>": [...], "captures": [...]}`),
/// JSON Lines, or blocks of table rows.
pub struct ListWriter<W: Write> {
    out: W,
    format: Format,
    key: &'static str,
    header: &'static [&'static str],
    right: &'static [usize],
    /// Columns shown after the header's only in blocks where some row has
    /// a cell for them (the TLS facts of TLS connections, the tunnel of
    /// tunnelled connections): a row's cells past the header's are these,
    /// in order, an empty cell meaning none.
    optional: &'static [&'static str],
    rows: Vec<Vec<String>>,
    written: u64,
    /// The terminal tables are laid out for.
    term: Term,
    /// The first write error; later writes are skipped.
    pub error: Option<io::Error>,
}

impl<W: Write> ListWriter<W> {
    pub fn new(
        out: W,
        format: Format,
        key: &'static str,
        header: &'static [&'static str],
        right: &'static [usize],
    ) -> Self {
        ListWriter {
            out,
            format,
            key,
            header,
            right,
            optional: &[],
            rows: Vec::new(),
            written: 0,
            term: Term::default(),
            error: None,
        }
    }

    /// Lays tables out for `term` (width, colour).
    pub fn with_term(mut self, term: Term) -> Self {
        self.term = term;
        self
    }

    /// Names last columns that rows may add cells for; a table block
    /// shows one only when one of its rows has a (non-empty) cell for it,
    /// so listings without such rows look exactly as before.
    pub fn optional_columns(mut self, names: &'static [&'static str]) -> Self {
        self.optional = names;
        self
    }

    pub fn format(&self) -> Format {
        self.format
    }

    fn attempt(&mut self, f: impl FnOnce(&mut W) -> io::Result<()>) {
        if self.error.is_none() {
            if let Err(e) = f(&mut self.out) {
                self.error = Some(e);
            }
        }
    }

    /// Renders a record for this writer's format: `json` is the record,
    /// `row` its table cells (called only for tables).
    pub fn render<T: Serialize>(&self, json: &T, row: impl FnOnce() -> Vec<String>) -> Rendered {
        match self.format {
            Format::Table => Rendered::Row(row()),
            _ => {
                // Room for a typical record at once, not grown by doubling.
                let mut bytes = Vec::with_capacity(RECORD_BYTES);
                match serde_json::to_writer(&mut bytes, json) {
                    Ok(()) => Rendered::Json(String::from_utf8(bytes).unwrap_or_default()),
                    Err(_) => Rendered::Json(String::new()),
                }
            }
        }
    }

    pub fn begin(&mut self) {
        if self.format == Format::Json {
            let key = self.key;
            self.attempt(|o| write!(o, "{{\n  \"{key}\": ["));
        }
    }

    pub fn item(&mut self, r: Rendered) {
        match (self.format, r) {
            (Format::Json, Rendered::Json(s)) => {
                let sep = if self.written == 0 {
                    "\n    "
                } else {
                    ",\n    "
                };
                self.attempt(|o| write!(o, "{sep}{s}"));
            }
            (Format::Jsonl, Rendered::Json(s)) => self.attempt(|o| writeln!(o, "{s}")),
            (_, Rendered::Row(cells)) => {
                self.rows.push(cells);
                if self.rows.len() >= TABLE_BLOCK {
                    self.flush_table();
                }
            }
            _ => {}
        }
        self.written = self.written.saturating_add(1);
    }

    fn flush_table(&mut self) {
        if self.rows.is_empty() {
            return;
        }
        let mut table = self.term.table();
        let width = self.header.len();
        // The optional columns some row of the block has a cell for.
        let shown: Vec<usize> = (0..self.optional.len())
            .filter(|j| {
                self.rows.iter().any(|r| {
                    r.get(width.saturating_add(*j))
                        .is_some_and(|c| !c.is_empty())
                })
            })
            .collect();
        let mut header = self.header.to_vec();
        header.extend(shown.iter().filter_map(|&j| self.optional.get(j).copied()));
        table.set_header(self.term.header(header));
        for r in self.rows.drain(..) {
            let mut cells: Vec<String> = r.iter().take(width).cloned().collect();
            for &j in &shown {
                cells.push(match r.get(width.saturating_add(j)) {
                    Some(c) if !c.is_empty() => c.clone(),
                    _ => "-".to_string(),
                });
            }
            table.add_row(cells);
        }
        for &col in self.right {
            if let Some(c) = table.column_mut(col) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        self.attempt(|o| writeln!(o, "{table}"));
    }

    /// Ends one capture's part of a table with its summary line.
    pub fn capture_done(&mut self, summary_line: &str) {
        if self.format == Format::Table {
            self.flush_table();
            self.attempt(|o| writeln!(o, "{summary_line}"));
        }
    }

    /// A line of text in a table (a capture's time zero); nothing in
    /// the JSON formats.
    pub fn note(&mut self, line: &str) {
        if self.format == Format::Table {
            self.flush_table();
            self.attempt(|o| writeln!(o, "{line}"));
        }
    }

    /// A record of its own in JSON Lines (a capture's damage); nothing in
    /// the other formats, whose capture summaries carry it.
    pub fn jsonl_record<T: Serialize>(&mut self, record: &T) {
        if self.format == Format::Jsonl {
            let line = serde_json::to_string(record).unwrap_or_default();
            self.attempt(|o| writeln!(o, "{line}"));
        }
    }

    /// Ends the document; for JSON, appends the per-capture summaries.
    pub fn end<C: Serialize>(mut self, captures: &[C]) -> io::Result<()> {
        match self.format {
            Format::Json => {
                let caps = serde_json::to_string_pretty(captures).unwrap_or_else(|_| "[]".into());
                let caps = caps.replace('\n', "\n  ");
                let open = if self.written == 0 { "]" } else { "\n  ]" };
                self.attempt(|o| writeln!(o, "{open},\n  \"captures\": {caps}\n}}"));
            }
            Format::Jsonl | Format::Table => {}
        }
        self.attempt(|o| o.flush());
        match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::Reorder;

    fn run(cap: usize, ids: &[u64]) -> (Vec<u64>, u64) {
        let mut r = Reorder::with_cap(cap);
        let mut out = Vec::new();
        for &id in ids {
            r.push(id, id, |x| out.push(x));
        }
        r.drain(|x| out.push(x));
        (out, r.cut)
    }

    #[test]
    fn items_out_of_order_are_written_in_id_order() {
        assert_eq!(run(8, &[1, 2, 0, 4, 3]), (vec![0, 1, 2, 3, 4], 0));
    }

    #[test]
    fn at_the_cap_the_gap_is_given_up_on_and_its_item_comes_late() {
        // Connection 0 finishes last; 1 and 2 fit under the cap of two.
        assert_eq!(run(2, &[1, 2, 0]), (vec![0, 1, 2], 0));
        // 1, 2, 3 do not: 0's turn is given up, 1.. go on, 0 comes after.
        assert_eq!(run(2, &[1, 2, 3, 4, 0]), (vec![1, 2, 3, 4, 0], 1));
        // Never more than the cap waits, whatever the gap.
        let mut r = Reorder::with_cap(3);
        let mut n = 0;
        for id in 1..1000 {
            r.push(id, (), |_| n += 1);
            assert!(r.waiting.len() <= 3);
        }
        r.push(0, (), |_| n += 1);
        assert_eq!((n, r.cut), (1000, 1));
    }
}
