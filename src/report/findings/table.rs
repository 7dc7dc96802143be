//! `connlint check` as a table for people: findings under their
//! connection's header, repeats grouped (see [`crate::report::group`]), and
//! a summary line.

use super::{group_phrase, plural, rel, CaptureDone, Summary};
use crate::report::group::Group;
use crate::rules::Finding;
use crate::Timestamp;
use std::io::{self, Write};

/// One finding's line (and its evidence line) in the table, indented by
/// `indent` beyond the usual two spaces.
fn write_finding<W: Write + ?Sized>(
    out: &mut W,
    f: &Finding,
    t0: Option<Timestamp>,
    indent: &str,
) -> io::Result<()> {
    let at = t0.map_or(String::new(), |t0| format!("{} ", rel(Some(t0), f.ts)));
    let tx = f.transaction.map_or(String::new(), |t| format!(" tx {t}"));
    writeln!(
        out,
        "{indent}  {at}{:<7} {} {}{tx}: {}",
        f.severity.name(),
        f.code,
        f.rule,
        f.message
    )?;
    if !f.evidence.is_empty() {
        let ev: Vec<String> = f.evidence.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(out, "{indent}          evidence: {}", ev.join(" "))?;
    }
    Ok(())
}

/// A finding under its connection's header; consecutive findings on one
/// connection share the header (`current` is the connection of the last).
pub(super) fn write_single<W: Write + ?Sized>(
    out: &mut W,
    path: &str,
    t0: Option<Timestamp>,
    f: &Finding,
    current: &mut Option<u64>,
) -> io::Result<()> {
    if *current != Some(f.connection) {
        *current = Some(f.connection);
        writeln!(
            out,
            "\n{path}: connection {} {} -> {}",
            f.connection, f.client, f.server
        )?;
    }
    write_finding(out, f, t0, "")
}

/// A group of more than one: what it is, its examples under their
/// connections, and how many more there are.
pub(super) fn write_group<W: Write + ?Sized>(
    out: &mut W,
    path: &str,
    t0: Option<Timestamp>,
    g: &Group,
) -> io::Result<()> {
    writeln!(out, "\n{path}: {}", group_phrase(g, t0))?;
    let mut current = None;
    for f in g.examples() {
        if current != Some(f.connection) {
            current = Some(f.connection);
            writeln!(
                out,
                "  connection {} {} -> {}",
                f.connection, f.client, f.server
            )?;
        }
        write_finding(out, f, t0, "  ")?;
    }
    let more = g.beyond_examples();
    if more > 0 {
        writeln!(out, "  and {more} more like it")?;
    }
    Ok(())
}

/// The summary line after every capture's entries.
pub(super) fn end<W: Write>(
    out: &mut W,
    captures: &[CaptureDone],
    s: &Summary,
    group: bool,
) -> io::Result<()> {
    let entries: u64 = captures.iter().map(|c| c.entries).sum();
    let conns: u64 = captures.iter().map(|c| c.connections).sum();
    let txs: u64 = captures.iter().map(|c| c.transactions).sum();
    if s.findings > 0 {
        writeln!(out)?;
    }
    // The counts are of findings; the groups are said only when there are fewer.
    let in_groups = if group && entries < s.findings {
        format!(" in {entries} group{}", plural(entries))
    } else {
        String::new()
    };
    for note in captures
        .iter()
        .filter_map(|c| c.tls_note().map(|n| format!("note: {}: {n}", c.path)))
    {
        writeln!(out, "{note}")?;
    }
    writeln!(
        out,
        "{} finding{}{in_groups} ({} error, {} warning, {} info) in {} capture{}, {} connection{}, {} transaction{}",
        s.findings,
        plural(s.findings),
        s.error,
        s.warning,
        s.info,
        captures.len(),
        plural(captures.len() as u64),
        conns,
        plural(conns),
        txs,
        plural(txs)
    )
}
