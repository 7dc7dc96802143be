//! `connlint check` as a table for people: findings under their
//! connection's header, repeats grouped (see [`crate::report::group`]), and
//! a summary line.

use super::{group_phrase, groups_of, plural, rel, Summary};
use crate::analyze::CheckOutcome;
use crate::report::group::Group;
use crate::rules::Finding;
use crate::Timestamp;
use std::io::{self, Write};

/// One finding's line (and its evidence line) in the table, indented by
/// `indent` beyond the usual two spaces.
fn write_finding<W: Write>(
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
fn write_single<W: Write>(
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
fn write_group<W: Write>(
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

pub(super) fn write_table<W: Write>(
    out: &mut W,
    outcomes: &[CheckOutcome],
    group: bool,
) -> io::Result<()> {
    let mut entries = 0u64;
    for o in outcomes {
        let path = &o.summary.path;
        let t0 = o.summary.first_ts;
        let mut current: Option<u64> = None;
        if group {
            let groups = groups_of(o);
            entries = entries.saturating_add(groups.len() as u64);
            for g in &groups {
                if g.count == 1 {
                    write_single(out, path, t0, g.first(), &mut current)?;
                } else {
                    current = None;
                    write_group(out, path, t0, g)?;
                }
            }
        } else {
            for f in &o.findings {
                write_single(out, path, t0, f, &mut current)?;
            }
        }
    }
    let s = Summary::of(outcomes);
    let conns: u64 = outcomes.iter().map(|o| o.connections).sum();
    let txs: u64 = outcomes.iter().map(|o| o.transactions).sum();
    if s.findings > 0 {
        writeln!(out)?;
    }
    // The counts are of findings; the groups are said only when there are fewer.
    let in_groups = if group && entries < s.findings {
        format!(" in {entries} group{}", plural(entries))
    } else {
        String::new()
    };
    for note in outcomes.iter().filter_map(|o| {
        o.tls_note()
            .map(|n| format!("note: {}: {n}", o.summary.path))
    }) {
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
        outcomes.len(),
        plural(outcomes.len() as u64),
        conns,
        plural(conns),
        txs,
        plural(txs)
    )
}
