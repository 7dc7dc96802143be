//! `connlint check`: findings as a table grouped by connection, or as the
//! SPEC §5 JSON document / JSON Lines.

use super::{write_json_line, Format};
use crate::analyze::CheckOutcome;
use crate::rules::{Finding, Severity};
use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::{self, Write};

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct CaptureEntry<'a> {
    path: &'a str,
    packets: u64,
    bytes: u64,
    connections: u64,
    transactions: u64,
    limits_hit: crate::limits::LimitsHit,
    errors: Vec<ErrorEntry<'a>>,
}

#[derive(Serialize)]
struct ErrorEntry<'a> {
    offset: u64,
    message: &'a str,
}

/// One finding with its capture, keys as SPEC §5 names them.
#[derive(Serialize)]
pub struct FindingRecord<'a> {
    pub capture: &'a str,
    pub code: &'static str,
    pub rule: &'static str,
    pub severity: Severity,
    pub connection: u64,
    pub client: &'a str,
    pub server: &'a str,
    pub transaction: Option<u64>,
    pub ts: f64,
    pub message: &'a str,
    pub evidence: &'a Map<String, Value>,
}

impl<'a> FindingRecord<'a> {
    pub fn new(capture: &'a str, f: &'a Finding) -> Self {
        FindingRecord {
            capture,
            code: f.code,
            rule: f.rule,
            severity: f.severity,
            connection: f.connection,
            client: &f.client,
            server: &f.server,
            transaction: f.transaction,
            ts: f.ts.as_secs_f64(),
            message: &f.message,
            evidence: &f.evidence,
        }
    }
}

/// Counts by severity.
#[derive(Serialize, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    pub findings: u64,
    pub error: u64,
    pub warning: u64,
    pub info: u64,
}

impl Summary {
    pub fn of(outcomes: &[CheckOutcome]) -> Summary {
        let mut s = Summary::default();
        for f in outcomes.iter().flat_map(|o| &o.findings) {
            s.findings += 1;
            match f.severity {
                Severity::Error => s.error += 1,
                Severity::Warning => s.warning += 1,
                Severity::Info => s.info += 1,
            }
        }
        s
    }
}

#[derive(Serialize)]
struct Document<'a> {
    tool: Tool,
    captures: Vec<CaptureEntry<'a>>,
    findings: Vec<FindingRecord<'a>>,
    summary: Summary,
}

fn records(outcomes: &[CheckOutcome]) -> impl Iterator<Item = FindingRecord<'_>> {
    outcomes.iter().flat_map(|o| {
        o.findings
            .iter()
            .map(move |f| FindingRecord::new(&o.summary.path, f))
    })
}

pub fn write<W: Write>(out: &mut W, format: Format, outcomes: &[CheckOutcome]) -> io::Result<()> {
    match format {
        Format::Json => {
            let doc = Document {
                tool: Tool {
                    name: "connlint",
                    version: env!("CARGO_PKG_VERSION"),
                },
                captures: outcomes
                    .iter()
                    .map(|o| CaptureEntry {
                        path: &o.summary.path,
                        packets: o.summary.frames,
                        bytes: o.summary.bytes,
                        connections: o.connections,
                        transactions: o.transactions,
                        limits_hit: o.summary.limits_hit,
                        errors: o
                            .summary
                            .error
                            .iter()
                            .map(|e| ErrorEntry {
                                offset: e.offset,
                                message: &e.reason,
                            })
                            .collect(),
                    })
                    .collect(),
                findings: records(outcomes).collect(),
                summary: Summary::of(outcomes),
            };
            serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
            out.write_all(b"\n")
        }
        Format::Jsonl => records(outcomes).try_for_each(|r| write_json_line(out, &r)),
        Format::Table => write_table(out, outcomes),
    }
}

fn write_table<W: Write>(out: &mut W, outcomes: &[CheckOutcome]) -> io::Result<()> {
    for o in outcomes {
        let path = &o.summary.path;
        let t0 = o.summary.first_ts;
        let mut current: Option<u64> = None;
        for f in &o.findings {
            if current != Some(f.connection) {
                current = Some(f.connection);
                writeln!(
                    out,
                    "\n{path}: connection {} {} -> {}",
                    f.connection, f.client, f.server
                )?;
            }
            let at = t0.map_or(String::new(), |t0| {
                format!("+{:.3}s ", f.ts.since(t0) as f64 / 1e9)
            });
            let tx = f.transaction.map_or(String::new(), |t| format!(" tx {t}"));
            writeln!(
                out,
                "  {at}{:<7} {} {}{tx}: {}",
                f.severity.name(),
                f.code,
                f.rule,
                f.message
            )?;
            if !f.evidence.is_empty() {
                let ev: Vec<String> = f.evidence.iter().map(|(k, v)| format!("{k}={v}")).collect();
                writeln!(out, "          evidence: {}", ev.join(" "))?;
            }
        }
    }
    let s = Summary::of(outcomes);
    let conns: u64 = outcomes.iter().map(|o| o.connections).sum();
    let txs: u64 = outcomes.iter().map(|o| o.transactions).sum();
    if s.findings > 0 {
        writeln!(out)?;
    }
    writeln!(
        out,
        "{} finding{} ({} error, {} warning, {} info) in {} capture{}, {} connection{}, {} transaction{}",
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

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `connlint rules`: the catalogue as a table or JSON.
pub fn write_rules<W: Write>(out: &mut W, json: bool) -> io::Result<()> {
    let rules: Vec<&crate::rules::RuleMeta> =
        crate::rules::all().iter().map(|r| r.meta()).collect();
    if json {
        serde_json::to_writer_pretty(&mut *out, &rules).map_err(io::Error::other)?;
        return out.write_all(b"\n");
    }
    let mut table = Table::new();
    table.load_preset(presets::UTF8_HORIZONTAL_ONLY);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(vec!["code", "name", "severity", "fires when"]);
    for m in rules {
        table.add_row(vec![m.code, m.name, m.severity.name(), m.summary]);
    }
    writeln!(out, "{table}")
}

/// `connlint rule X`: one rule's documentation.
pub fn write_rule<W: Write>(out: &mut W, m: &crate::rules::RuleMeta) -> io::Result<()> {
    writeln!(
        out,
        "{} {} ({}, default severity {})\n",
        m.code,
        m.name,
        m.family.title(),
        m.severity
    )?;
    writeln!(out, "{}\n", m.summary)?;
    writeln!(out, "{}", m.doc.trim_end())?;
    if !m.options.is_empty() {
        writeln!(out, "\nOptions (connlint.toml, [rules.{}]):", m.code)?;
        for o in m.options {
            writeln!(out, "  {} = {}   {}", o.key, o.default, o.doc)?;
        }
    }
    Ok(())
}
