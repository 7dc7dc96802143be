//! `connlint check` as a table for people: findings under their
//! connection's header, repeats grouped (see [`crate::report::group`]), and
//! a summary line.
//!
//! Each finding is a line `+0.151s warning T001 nagle-delayed-ack-stall tx 0
//! frames 4-9: message` (times after the capture's first packet, or UTC
//! with `--absolute-time`; the frames to open in Wireshark) and its
//! evidence. On a terminal (or with `COLUMNS` set) the message and the
//! evidence wrap under that header line to the width; piped, each stays
//! one line. Severities and codes are coloured on a terminal.

use super::{group_phrase, plural, CaptureDone, CheckOptions, Summary};
use crate::report::group::Group;
use crate::report::term::{Paint, Term};
use crate::report::Clock;
use crate::rules::{Finding, Severity};
use std::io::{self, Write};

/// What one capture's findings are written with.
pub(super) struct View<'a> {
    pub path: &'a str,
    pub clock: Option<Clock>,
    pub term: Term,
}

/// The line that says what the capture's times count from, before its
/// first entry (none without a first packet).
pub(super) fn write_time_zero<W: Write + ?Sized>(out: &mut W, v: &View) -> io::Result<()> {
    match v.clock {
        Some(c) => writeln!(out, "\n{}", c.header_line(v.path)),
        None => Ok(()),
    }
}

fn severity_paint(s: Severity) -> Paint {
    match s {
        Severity::Error => Paint::Error,
        Severity::Warning => Paint::Warning,
        Severity::Info => Paint::Info,
    }
}

/// One finding's lines (and its evidence's), indented by `indent` beyond
/// the usual two spaces.
fn write_finding<W: Write + ?Sized>(
    out: &mut W,
    f: &Finding,
    v: &View,
    indent: &str,
) -> io::Result<()> {
    let at = v
        .clock
        .map_or(String::new(), |c| format!("{} ", c.offset(f.ts)));
    let tx = f.transaction.map_or(String::new(), |t| format!(" tx {t}"));
    let frames = f.place.as_deref().map_or(String::new(), |p| {
        let r = p.frame_range();
        format!(" frame{} {r}", if r.contains('-') { "s" } else { "" })
    });
    let severity = format!("{:<7}", f.severity.name());
    let head = format!(
        "{indent}  {at}{} {} {}{tx}{frames}:",
        v.term.paint(&severity, severity_paint(f.severity)),
        v.term.paint(f.code, Paint::Code),
        f.rule
    );
    let ev: Vec<String> = f.evidence.iter().map(|(k, v)| format!("{k}={v}")).collect();
    match v.term.width {
        None => {
            writeln!(out, "{head} {}", f.message)?;
            if !ev.is_empty() {
                let label = v.term.paint("evidence:", Paint::Dim);
                writeln!(out, "{indent}          {label} {}", ev.join(" "))?;
            }
        }
        Some(_) => {
            // The message under its header line, then the evidence, each
            // wrapped with a hanging indent.
            writeln!(out, "{head}")?;
            let body = format!("{indent}    ");
            for line in v.term.wrap(&f.message, body.len(), &body) {
                writeln!(out, "{body}{line}")?;
            }
            if !ev.is_empty() {
                let label = "evidence: ";
                let first = body.len().saturating_add(label.len());
                let cont = " ".repeat(first);
                let lines = v.term.wrap(&ev.join(" "), first, &cont);
                for (i, line) in lines.iter().enumerate() {
                    if i == 0 {
                        writeln!(out, "{body}{}{line}", v.term.paint(label, Paint::Dim))?;
                    } else {
                        writeln!(out, "{cont}{line}")?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// A connection's header line: `f.pcap: connection 3 a -> b` (its id is
/// tshark's `tcp.stream`).
fn connection_line(f: &Finding) -> String {
    format!("connection {} {} -> {}", f.connection, f.client, f.server)
}

/// A finding under its connection's header; consecutive findings on one
/// connection share the header (`current` is the connection of the last).
pub(super) fn write_single<W: Write + ?Sized>(
    out: &mut W,
    v: &View,
    f: &Finding,
    current: &mut Option<u64>,
) -> io::Result<()> {
    if *current != Some(f.connection) {
        *current = Some(f.connection);
        writeln!(out, "\n{}: {}", v.path, connection_line(f))?;
    }
    write_finding(out, f, v, "")
}

/// A group of more than one: what it is, its examples under their
/// connections, and how many more there are.
pub(super) fn write_group<W: Write + ?Sized>(out: &mut W, v: &View, g: &Group) -> io::Result<()> {
    let phrase = group_phrase(g, v.clock.map(|c| c.t0));
    writeln!(
        out,
        "\n{}: {}",
        v.path,
        v.term.paint(&phrase, Paint::Heading)
    )?;
    let mut current = None;
    for f in g.examples() {
        if current != Some(f.connection) {
            current = Some(f.connection);
            writeln!(out, "  {}", connection_line(f))?;
        }
        write_finding(out, f, v, "  ")?;
    }
    let more = g.beyond_examples();
    if more > 0 {
        writeln!(out, "  and {more} more like it")?;
    }
    Ok(())
}

/// The summary line after every capture's entries (and the notes);
/// `hidden` is (suppressed, in the baseline).
pub(super) fn end<W: Write>(
    out: &mut W,
    captures: &[CaptureDone],
    s: &Summary,
    options: &CheckOptions,
    hidden: (u64, u64),
) -> io::Result<()> {
    let entries: u64 = captures.iter().map(|c| c.entries).sum();
    let conns: u64 = captures.iter().map(|c| c.connections).sum();
    let txs: u64 = captures.iter().map(|c| c.transactions).sum();
    if s.findings > 0 && !options.quiet {
        writeln!(out)?;
    }
    // The counts are of findings; the groups are said only when there are fewer.
    let in_groups = if options.group && entries < s.findings {
        format!(" in {entries} group{}", plural(entries))
    } else {
        String::new()
    };
    // Captures that could not be opened are not counted as read; damaged
    // ones were read up to the damage.
    let read = captures.iter().filter(|c| c.read).count() as u64;
    let unread = (captures.len() as u64).saturating_sub(read);
    let damaged = captures
        .iter()
        .filter(|c| c.read && c.error.is_some())
        .count() as u64;
    let mut notes = Vec::new();
    if damaged > 0 {
        notes.push(format!("{damaged} damaged"));
    }
    if unread > 0 {
        notes.push(format!("{unread} could not be read"));
    }
    let (suppressed, known) = hidden;
    if suppressed > 0 {
        notes.push(format!("{suppressed} suppressed"));
    }
    if known > 0 {
        notes.push(format!("{known} in the baseline"));
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join(", "))
    };
    if !options.quiet {
        for note in captures
            .iter()
            .filter_map(|c| c.tls_note().map(|n| format!("note: {}: {n}", c.path)))
        {
            writeln!(out, "{note}")?;
        }
    }
    let line = format!(
        "{} finding{}{in_groups} ({} error, {} warning, {} info) in {} capture{}{notes}, {} connection{}, {} transaction{}",
        s.findings,
        plural(s.findings),
        s.error,
        s.warning,
        s.info,
        read,
        plural(read),
        conns,
        plural(conns),
        txs,
        plural(txs)
    );
    // On a terminal the summary wraps to its width too (continued indented).
    for (i, part) in options.term.wrap(&line, 0, "  ").iter().enumerate() {
        let indent = if i == 0 { "" } else { "  " };
        writeln!(out, "{indent}{part}")?;
    }
    Ok(())
}
