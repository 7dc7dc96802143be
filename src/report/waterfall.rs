//! `connlint transactions CAPTURE --waterfall`: the HTML report's lanes in
//! the terminal, for a quick look over ssh. Per capture, the first
//! connections by start (of those the filters let through), one
//! line each, on one time axis fitted to the width: the handshake, each
//! transaction's send / wait / receive, the idle rest of the connection,
//! retransmissions and gaps, the FIN or RST end, then the rules that found
//! something on it. With colour (a terminal) the phases take DevTools'
//! colours; without, each its own block.

use super::CheckConsumer;
use crate::analyze::{Analyzed, CheckOutcome};
use crate::flow::CloseKind;
use crate::http::MarkKind;
use crate::rules::Finding;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// What a cell shows, least to most important: a cell shows the most
/// important thing in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cell {
    Empty,
    Idle,
    Connect,
    Blocked,
    Send,
    Wait,
    Receive,
    Gap,
    Retransmission,
    Fin,
    Rst,
}

impl Cell {
    fn glyph(self) -> char {
        match self {
            Cell::Empty => ' ',
            Cell::Idle => '─',
            Cell::Connect => '░',
            Cell::Blocked => '┄',
            Cell::Send => '▒',
            Cell::Wait => '▓',
            Cell::Receive => '█',
            Cell::Gap => '?',
            Cell::Retransmission => '!',
            Cell::Fin => '┤',
            Cell::Rst => '╳',
        }
    }

    /// ANSI 256-colour foreground (DevTools' colours, near enough).
    fn colour(self) -> Option<u8> {
        match self {
            Cell::Connect => Some(208),
            Cell::Blocked | Cell::Idle => Some(245),
            Cell::Send => Some(110),
            Cell::Wait => Some(71),
            Cell::Receive => Some(68),
            Cell::Retransmission | Cell::Rst => Some(160),
            Cell::Gap => Some(91),
            Cell::Empty | Cell::Fin => None,
        }
    }
}

/// A connection's line, in nanoseconds since the epoch.
struct Lane {
    label: String,
    start: i64,
    end: i64,
    /// Intervals to paint, in order (later ones win where more important).
    spans: Vec<(i64, i64, Cell)>,
    /// Instants: retransmissions, gaps, the end.
    ticks: Vec<(i64, Cell)>,
    transactions: usize,
    findings: BTreeMap<&'static str, u64>,
}

/// Options of the terminal waterfall.
#[derive(Clone, Debug)]
pub struct WaterfallOptions {
    /// Connections per capture (the earliest-starting).
    pub first: usize,
    /// Columns in all.
    pub width: usize,
    pub colour: bool,
}

/// Draws each capture's waterfall as it is read.
pub struct Waterfall<W: Write> {
    out: W,
    options: WaterfallOptions,
    /// The kept lanes by (start, id): the last one goes when an earlier
    /// one comes and there are enough.
    lanes: BTreeMap<(i64, u64), Lane>,
    /// Connection id -> its lane's key, for the findings.
    key_of: FxHashMap<u64, (i64, u64)>,
    /// Connections of the capture (those the filters let through).
    seen: u64,
    error: Option<io::Error>,
}

impl<W: Write> Waterfall<W> {
    pub fn new(out: W, options: WaterfallOptions) -> Self {
        Waterfall {
            out,
            options,
            lanes: BTreeMap::new(),
            key_of: FxHashMap::default(),
            seen: 0,
            error: None,
        }
    }

    /// The first write error, if any; the writer.
    pub fn finish(self) -> io::Result<W> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.out),
        }
    }

    fn lane(a: &Analyzed) -> Lane {
        let c = &a.connection;
        let ns = |t: crate::Timestamp| t.nanos();
        let start = c.start_ts.nanos();
        let end = c.end_ts.nanos();
        let mut spans = vec![(start, end, Cell::Idle)];
        let handshake_done = c.handshake.rtt_ns().and(c.handshake.ack).map(ns);
        if let Some(done) = handshake_done.or(c.handshake.syn_ack.map(ns)) {
            spans.push((start, done, Cell::Connect));
        }
        // Waiting for the first request after the handshake (the HTML's
        // "handshake wait").
        let first_request = a
            .http
            .transactions
            .first()
            .and_then(|t| t.timing.request_start_ts)
            .map(ns);
        if let (Some(done), Some(rs)) = (handshake_done, first_request) {
            spans.push((done, rs, Cell::Blocked));
        }
        for tx in &a.http.transactions {
            let t = &tx.timing;
            let (rs, re) = (t.request_start_ts.map(ns), t.request_end_ts.map(ns));
            let (ps, pe) = (t.response_start_ts.map(ns), t.response_end_ts.map(ns));
            if let (Some(rs), Some(re)) = (rs, re) {
                spans.push((rs, re, Cell::Send));
            }
            if let (Some(re), Some(ps)) = (re, ps) {
                spans.push((re, ps, Cell::Wait));
            }
            if let (Some(ps), Some(pe)) = (ps, pe) {
                spans.push((ps, pe, Cell::Receive));
            }
        }
        let mut ticks: Vec<(i64, Cell)> = a
            .marks
            .iter()
            .map(|m| {
                let cell = match m.kind {
                    MarkKind::Retransmission => Cell::Retransmission,
                    MarkKind::Gap => Cell::Gap,
                };
                (m.ts.nanos(), cell)
            })
            .collect();
        match c.close_kind() {
            CloseKind::Rst => {
                if let Some((_, ts)) = c.rst {
                    ticks.push((ts.nanos(), Cell::Rst));
                }
            }
            CloseKind::Fin => {
                if let Some(ts) = c.fin.iter().flatten().max() {
                    ticks.push((ts.nanos(), Cell::Fin));
                }
            }
            CloseKind::Open => {}
        }
        let gen = if c.generation > 0 {
            format!(" gen {}", c.generation)
        } else {
            String::new()
        };
        let tunnel = c
            .tunnel
            .as_ref()
            .map_or(String::new(), |t| format!(" [{t}]"));
        let protocol = match a.protocol.name() {
            "http1" => String::new(),
            p => format!(" {p}"),
        };
        Lane {
            label: format!(
                "#{} {} → {}{gen}{tunnel}{protocol}",
                c.id, c.client, c.server
            ),
            start,
            end,
            spans,
            ticks,
            transactions: a.http.transactions.len(),
            findings: BTreeMap::new(),
        }
    }

    fn draw(&mut self, path: &str) -> io::Result<()> {
        let lanes: Vec<Lane> = std::mem::take(&mut self.lanes).into_values().collect();
        self.key_of.clear();
        let width = self.options.width.max(40);
        writeln!(
            self.out,
            "{path}: {} of {} connections, by start; time since the first one's first packet",
            lanes.len(),
            self.seen
        )?;
        let (Some(t0), Some(t1)) = (
            lanes.iter().map(|l| l.start).min(),
            lanes.iter().map(|l| l.end).max(),
        ) else {
            return Ok(());
        };
        let label_w = lanes
            .iter()
            .map(|l| l.label.chars().count())
            .max()
            .unwrap_or(0)
            .min(width.saturating_mul(2) / 5);
        // After the bar: the transactions, then the rules that fired.
        let tail: Vec<String> = lanes
            .iter()
            .map(|lane| {
                let mut t = format!(" {} tx", lane.transactions);
                for (code, n) in &lane.findings {
                    t.push(' ');
                    t.push_str(code);
                    if *n > 1 {
                        t.push_str(&format!("×{n}"));
                    }
                }
                t
            })
            .collect();
        let tail_w = tail.iter().map(|t| t.chars().count()).max().unwrap_or(0);
        // label, " │", the bar, "│", the tail: the width.
        let bar_w = width
            .saturating_sub(label_w.saturating_add(3).saturating_add(tail_w))
            .max(10);
        let span = t1.saturating_sub(t0).max(1);
        let col = |t: i64| -> usize {
            let off = i128::from(t.saturating_sub(t0).clamp(0, span));
            let c = off
                .saturating_mul(bar_w as i128)
                .checked_div(i128::from(span))
                .unwrap_or(0);
            usize::try_from(c).unwrap_or(0).min(bar_w.saturating_sub(1))
        };
        // The axis: its start and end, and the span in the middle.
        let secs = |ns: i64| format!("{:.3} s", ns as f64 / 1e9);
        let left = secs(0);
        let right = secs(span);
        writeln!(
            self.out,
            "{:label_w$}  {left}{:>pad$}",
            "",
            right,
            pad = bar_w.saturating_sub(left.chars().count())
        )?;
        for (i, lane) in lanes.iter().enumerate() {
            let mut cells = vec![Cell::Empty; bar_w];
            for &(a, b, cell) in &lane.spans {
                for c in cells.iter_mut().take(col(b).saturating_add(1)).skip(col(a)) {
                    *c = (*c).max(cell);
                }
            }
            for &(t, cell) in &lane.ticks {
                if let Some(c) = cells.get_mut(col(t)) {
                    *c = (*c).max(cell);
                }
            }
            let mut label: String = lane.label.chars().take(label_w).collect();
            if lane.label.chars().count() > label_w {
                label.pop();
                label.push('…');
            }
            let mut line = format!("{label:label_w$} │");
            let mut current: Option<u8> = None;
            for c in &cells {
                if self.options.colour && c.colour() != current {
                    current = c.colour();
                    match current {
                        Some(n) => line.push_str(&format!("\x1b[38;5;{n}m")),
                        None => line.push_str("\x1b[0m"),
                    }
                }
                line.push(c.glyph());
            }
            if current.is_some() {
                line.push_str("\x1b[0m");
            }
            line.push('│');
            line.push_str(tail.get(i).map_or("", String::as_str));
            writeln!(self.out, "{line}")?;
        }
        // The legend, wrapped to the width.
        let mut legend = String::new();
        for item in [
            "░ handshake",
            "┄ waiting to send",
            "▒ send",
            "▓ wait",
            "█ receive",
            "─ idle",
            "! retransmission",
            "? gap",
            "┤ FIN",
            "╳ RST",
            "then: transactions, rules that fired",
        ] {
            let line_len = legend.rsplit('\n').next().map_or(0, |l| l.chars().count());
            if line_len > 0
                && line_len
                    .saturating_add(item.chars().count())
                    .saturating_add(2)
                    > width
            {
                legend.push('\n');
            } else if line_len > 0 {
                legend.push_str("  ");
            }
            legend.push_str(item);
        }
        writeln!(self.out, "{legend}")?;
        writeln!(self.out)
    }
}

impl<W: Write> CheckConsumer for Waterfall<W> {
    fn capture(&mut self, _path: &str) {
        self.seen = 0;
    }

    fn connection(&mut self, a: &Analyzed) {
        self.seen = self.seen.saturating_add(1);
        let key = (a.connection.start_ts.nanos(), a.connection.id);
        if self.lanes.len() >= self.options.first {
            match self.lanes.last_key_value().map(|(k, _)| *k) {
                Some(last) if key < last => {
                    self.lanes.remove(&last);
                    self.key_of.remove(&last.1);
                }
                _ => return,
            }
        }
        self.lanes.insert(key, Self::lane(a));
        self.key_of.insert(key.1, key);
    }

    fn finding(&mut self, f: &Finding) {
        let lane = self
            .key_of
            .get(&f.connection)
            .and_then(|k| self.lanes.get_mut(k));
        if let Some(lane) = lane {
            let n = lane.findings.entry(f.code).or_default();
            *n = n.saturating_add(1);
        }
    }

    fn capture_done(&mut self, o: &CheckOutcome) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.draw(&o.summary.path) {
            self.error = Some(e);
        }
    }
}
