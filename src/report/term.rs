//! The terminal a table is written for: how wide it is and whether it
//! takes colour.
//!
//! - **Width**: a terminal's own width when standard output is one; else
//!   `COLUMNS` when it is set (so `COLUMNS=100 connlint check F | less`
//!   wraps as on a 100-column terminal); else none, and nothing wraps:
//!   piped output keeps one record a line, for grep and awk.
//! - **Colour**: `--color always|never|auto` (default auto); auto colours
//!   only a terminal, and never when `NO_COLOR` is set to anything or
//!   `TERM=dumb` (<https://no-color.org>: the command line overrides it).
//!   Piped output never carries escape codes unless `--color always`.

use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table};
use std::io::IsTerminal;

/// `--color`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour a terminal, unless NO_COLOR is set or TERM is dumb.
    #[default]
    Auto,
    Always,
    Never,
}

/// The narrowest width tables and findings are fitted to.
pub const MIN_WIDTH: u16 = 40;

/// What the output is written for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Term {
    /// Columns to fit to; `None`: do not wrap.
    pub width: Option<u16>,
    pub color: bool,
}

/// A style for a span of text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paint {
    Error,
    Warning,
    Info,
    Code,
    Dim,
    Heading,
}

impl Paint {
    fn sgr(self) -> &'static str {
        match self {
            Paint::Error => "1;31",
            Paint::Warning => "1;33",
            Paint::Info => "36",
            Paint::Code => "1",
            Paint::Dim => "2",
            Paint::Heading => "1",
        }
    }
}

impl Term {
    /// The terminal standard output is, as `choice` and the environment say.
    pub fn detect(choice: ColorChoice) -> Term {
        let tty = std::io::stdout().is_terminal();
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let width = if tty { Table::new().width() } else { None }
            .or_else(|| env("COLUMNS")?.to_str()?.trim().parse::<u16>().ok())
            .filter(|w| *w > 0)
            .map(|w| w.max(MIN_WIDTH));
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                tty && env("NO_COLOR").is_none()
                    && env("TERM").is_none_or(|t| t.to_str() != Some("dumb"))
            }
        };
        Term { width, color }
    }

    /// `text` in `paint` when colouring, else as it is.
    pub fn paint(&self, text: &str, paint: Paint) -> String {
        if self.color && !text.is_empty() {
            format!("\x1b[{}m{text}\x1b[0m", paint.sgr())
        } else {
            text.to_string()
        }
    }

    /// A table laid out for this terminal: a rule under the header and
    /// none between rows or columns, fitted to the width (cells wrap) when
    /// there is one, styled only when colouring.
    pub fn table(&self) -> Table {
        let mut t = Table::new();
        t.load_preset(COMPACT);
        match self.width {
            Some(w) => {
                t.set_width(w);
                t.set_content_arrangement(ContentArrangement::Dynamic);
            }
            None => {
                t.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        if self.color {
            t.enforce_styling();
        } else {
            t.force_no_tty();
        }
        t
    }

    /// Header cells, bold when colouring.
    pub fn header<I: IntoIterator<Item = S>, S: Into<String>>(&self, names: I) -> Vec<Cell> {
        names
            .into_iter()
            .map(|n| {
                let c = Cell::new(n.into());
                if self.color {
                    c.add_attribute(Attribute::Bold)
                } else {
                    c
                }
            })
            .collect()
    }

    /// A table cell coloured for a severity name.
    pub fn severity_cell(&self, severity: &str) -> Cell {
        let c = Cell::new(severity);
        if !self.color {
            return c;
        }
        match severity {
            "error" => c.fg(Color::Red).add_attribute(Attribute::Bold),
            "warning" => c.fg(Color::Yellow).add_attribute(Attribute::Bold),
            "info" => c.fg(Color::Cyan),
            _ => c,
        }
    }

    /// Words of `text` in lines of at most the width (none: one line),
    /// the first after `first` (already written on it, its visible
    /// length `first_len`), the others after `indent`. A word longer than
    /// a line gets a line of its own.
    pub fn wrap(&self, text: &str, first_len: usize, indent: &str) -> Vec<String> {
        let Some(width) = self.width.map(usize::from) else {
            return vec![text.to_string()];
        };
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut used = first_len;
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            let len = word.chars().count();
            if !line.is_empty() && used.saturating_add(1).saturating_add(len) > width {
                lines.push(std::mem::take(&mut line));
                used = indent.chars().count();
            }
            if !line.is_empty() {
                line.push(' ');
                used = used.saturating_add(1);
            }
            line.push_str(word);
            used = used.saturating_add(len);
        }
        lines.push(line);
        lines
    }
}

/// A rule under the header, nothing else (comfy-table's preset string:
/// header lines and their intersections only).
pub const COMPACT: &str = "     ──            ";

/// Shortens `text` to at most `max` characters by cutting its middle,
/// marked with `…`: both the start of a URI (its path) and its end (the
/// resource, the query) stay readable.
pub fn shorten_middle(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max || max < 3 {
        return text.to_string();
    }
    let keep = max.saturating_sub(1);
    let head = keep.div_ceil(2);
    let tail = keep.saturating_sub(head);
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(n.saturating_sub(tail)).collect();
    format!("{start}…{end}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_words_to_the_width_with_a_hanging_indent() {
        let t = Term {
            width: Some(20),
            color: false,
        };
        let lines = t.wrap("the request body waited 93.2 ms for an ACK", 4, "    ");
        assert_eq!(lines, ["the request body", "waited 93.2 ms", "for an ACK"]);
        for (i, l) in lines.iter().enumerate() {
            assert!(4 + l.chars().count() <= 20, "line {i}: {l}");
        }
        let none = Term::default();
        assert_eq!(none.wrap("a b  c", 0, ""), ["a b  c"]);
        // A word longer than the line is not cut.
        assert_eq!(
            t.wrap("x abcdefghijklmnopqrstuvwxyz", 0, ""),
            ["x", "abcdefghijklmnopqrstuvwxyz"]
        );
    }

    #[test]
    fn paints_only_when_colouring() {
        let on = Term {
            width: None,
            color: true,
        };
        assert_eq!(on.paint("error", Paint::Error), "\x1b[1;31merror\x1b[0m");
        assert_eq!(Term::default().paint("error", Paint::Error), "error");
    }

    #[test]
    fn shortens_in_the_middle() {
        assert_eq!(shorten_middle("/a/b", 10), "/a/b");
        let s = shorten_middle("/static/js/vendor/jquery-3.7.1.min.js?v=20240101", 24);
        assert_eq!(s.chars().count(), 24);
        assert!(
            s.starts_with("/static/js/") && s.ends_with("v=20240101"),
            "{s}"
        );
        assert!(s.contains('…'));
    }
}
