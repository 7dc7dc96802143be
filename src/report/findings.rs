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

/// Output formats of `connlint check`: the listing formats, plus the ones
/// CI systems read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    Table,
    Json,
    Jsonl,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// JUnit XML: one test case per capture, one failure per finding.
    Junit,
    /// GitHub Actions workflow commands (annotations on the run).
    Github,
}

/// Writes the findings in a check format.
pub fn write_check<W: Write>(
    out: &mut W,
    format: CheckFormat,
    outcomes: &[CheckOutcome],
) -> io::Result<()> {
    match format {
        CheckFormat::Table => write(out, Format::Table, outcomes),
        CheckFormat::Json => write(out, Format::Json, outcomes),
        CheckFormat::Jsonl => write(out, Format::Jsonl, outcomes),
        CheckFormat::Sarif => write_sarif(out, outcomes),
        CheckFormat::Junit => write_junit(out, outcomes),
        CheckFormat::Github => write_github(out, outcomes),
    }
}

/// Where a finding is, in words: connection, endpoints, transaction.
fn place(f: &Finding) -> String {
    let tx = f
        .transaction
        .map_or(String::new(), |t| format!(" transaction {t}"));
    format!(
        "connection {} {} -> {}{tx}",
        f.connection, f.client, f.server
    )
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn write_sarif<W: Write>(out: &mut W, outcomes: &[CheckOutcome]) -> io::Result<()> {
    use serde_json::json;
    let rules: Vec<Value> = crate::rules::all()
        .iter()
        .map(|r| {
            let m = r.meta();
            json!({
                "id": m.code,
                "name": m.name,
                "shortDescription": {"text": m.summary},
                "fullDescription": {"text": m.summary},
                "help": {"text": m.doc, "markdown": m.doc},
                "defaultConfiguration": {"level": sarif_level(m.severity)},
            })
        })
        .collect();
    let results: Vec<Value> = outcomes
        .iter()
        .flat_map(|o| {
            o.findings.iter().map(move |f| {
                json!({
                    "ruleId": f.code,
                    "level": sarif_level(f.severity),
                    "message": {"text": format!("{}: {}", place(f), f.message)},
                    "locations": [{
                        "physicalLocation": {"artifactLocation": {"uri": o.summary.path}},
                        "logicalLocations": [{"fullyQualifiedName": place(f), "kind": "object"}],
                    }],
                    "properties": {"ts": f.ts.as_secs_f64(), "evidence": f.evidence},
                })
            })
        })
        .collect();
    let invocations: Vec<Value> = outcomes
        .iter()
        .filter_map(|o| o.summary.error.as_ref().map(|e| (o, e)))
        .map(|(o, e)| {
            json!({"level": "error", "message": {"text": format!("{}: byte offset {}: {}", o.summary.path, e.offset, e.reason)}})
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "connlint", "version": env!("CARGO_PKG_VERSION"), "rules": rules}},
            "invocations": [{"executionSuccessful": invocations.is_empty(), "toolExecutionNotifications": invocations}],
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// Escapes text for XML attribute values and character data.
fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

fn write_junit<W: Write>(out: &mut W, outcomes: &[CheckOutcome]) -> io::Result<()> {
    let s = Summary::of(outcomes);
    let errors = outcomes
        .iter()
        .filter(|o| o.summary.error.is_some())
        .count();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="connlint" tests="{}" failures="{}" errors="{errors}">"#,
        outcomes.len(),
        s.findings
    )?;
    for o in outcomes {
        let path = xml(&o.summary.path);
        writeln!(
            out,
            r#"  <testsuite name="{path}" tests="1" failures="{}" errors="{}">"#,
            o.findings.len(),
            u8::from(o.summary.error.is_some())
        )?;
        writeln!(
            out,
            r#"    <testcase name="{path}" classname="connlint.check">"#
        )?;
        for f in &o.findings {
            writeln!(
                out,
                r#"      <failure type="{} {}" message="{}">{} ({}): {}</failure>"#,
                f.code,
                f.rule,
                xml(&f.message),
                xml(&place(f)),
                f.severity,
                xml(&f.message)
            )?;
        }
        if let Some(e) = &o.summary.error {
            writeln!(
                out,
                r#"      <error type="damaged capture" message="byte offset {}: {}"/>"#,
                e.offset,
                xml(&e.reason)
            )?;
        }
        writeln!(out, "    </testcase>\n  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

/// GitHub workflow commands escape `%`, CR and LF in messages (and `:` and
/// `,` in properties).
fn gh(s: &str, property: bool) -> String {
    let mut o = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        o = o.replace(':', "%3A").replace(',', "%2C");
    }
    o
}

fn write_github<W: Write>(out: &mut W, outcomes: &[CheckOutcome]) -> io::Result<()> {
    for o in outcomes {
        for f in &o.findings {
            let level = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            writeln!(
                out,
                "::{level} file={},title={}::{}: {}",
                gh(&o.summary.path, true),
                gh(&format!("{} {}", f.code, f.rule), true),
                gh(&place(f), false),
                gh(&f.message, false)
            )?;
        }
        if let Some(e) = &o.summary.error {
            writeln!(
                out,
                "::error file={},title=damaged capture::byte offset {}: {}",
                gh(&o.summary.path, true),
                e.offset,
                gh(&e.reason, false)
            )?;
        }
    }
    Ok(())
}
