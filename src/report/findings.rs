//! `connlint check`: findings as a table for people (repeats grouped, see
//! [`super::group`]), as the SPEC §5 JSON document / JSON Lines for scripts
//! (one record per finding, with its group key), as SARIF / JUnit / GitHub
//! annotations for CI (one entry per group), or as per-rule statistics.
//!
//! This file has the records, the JSON document, the statistics and what the
//! formats share (how a finding or a group is put in words); each of the
//! other formats has its own file: `table.rs`, `sarif.rs`, `junit.rs`,
//! `github.rs`.

mod github;
mod junit;
mod sarif;
mod table;

pub use sarif::{RuleHelp, SARIF_FINGERPRINT, SARIF_GROUP};

use super::group::{fingerprint, Group, GroupKey, Grouper};
use super::term::Term;
use super::{write_json_line, Format};
use crate::analyze::CheckOutcome;
use crate::rules::{Finding, Place, RuleMeta, Severity};
use crate::Timestamp;
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
    /// TLS connections, and the note on what could not be judged on them
    /// (both absent without TLS).
    #[serde(skip_serializing_if = "is_zero")]
    tls_connections: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    limits_hit: crate::limits::LimitsHit,
    errors: Vec<ErrorEntry<'a>>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct ErrorEntry<'a> {
    offset: u64,
    message: &'a str,
}

/// One finding with its capture, keys as SPEC §5 names them, and its group.
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
    /// The finding's [`GroupKey`], `"S004 10.0.0.1 -> 10.0.0.2:80"`: the
    /// findings of one capture with the same group are repeats of one
    /// another, shown as one entry by the table, SARIF, JUnit and GitHub.
    pub group: String,
    /// Its [`fingerprint`](super::group::fingerprint): the group key and
    /// the request, what a baseline records.
    pub fingerprint: String,
    /// Frames and the request: `connection_first_frame`,
    /// `connection_last_frame`, `request_frame`, `response_first_frame`,
    /// `response_last_frame`, `method`, `uri`, `host` (see [`Place`]).
    #[serde(flatten)]
    pub place: Option<&'a Place>,
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
            group: GroupKey::of(f).to_string(),
            fingerprint: fingerprint(f),
            place: f.place.as_deref(),
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
            let by_severity = match f.severity {
                Severity::Error => &mut s.error,
                Severity::Warning => &mut s.warning,
                Severity::Info => &mut s.info,
            };
            // Findings are held in memory: neither count can come near u64::MAX.
            *by_severity = by_severity.saturating_add(1);
            s.findings = s.findings.saturating_add(1);
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

/// How `check` shows its findings, besides the format.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// One entry per group in the table, SARIF, JUnit and GitHub output
    /// (the default); false (`--no-group`) lists each finding.
    pub group: bool,
    /// The rules that ran, in catalogue order: JUnit has a test case for
    /// each, passed or failed.
    pub rules: Vec<&'static RuleMeta>,
    /// The terminal the table is written for (width, colour).
    pub term: Term,
    /// Times in the table in UTC (`--absolute-time`).
    pub absolute_time: bool,
    /// Only the summary line in the table (`--quiet`).
    pub quiet: bool,
    /// How much of each rule's documentation SARIF carries.
    pub rule_help: RuleHelp,
    /// Findings left out by suppressions and the baseline, for the
    /// summary line: (suppressed, in the baseline).
    pub hidden: (u64, u64),
}

impl CheckOptions {
    /// The rules `config` enables.
    pub fn new(config: &crate::rules::Config, group: bool) -> CheckOptions {
        CheckOptions {
            group,
            rules: crate::rules::all()
                .iter()
                .zip(&config.rules)
                .filter(|(_, s)| s.enabled)
                .map(|(r, _)| r.meta())
                .collect(),
            ..CheckOptions::default()
        }
    }
}

impl Default for CheckOptions {
    /// Grouped, every rule.
    fn default() -> Self {
        CheckOptions {
            group: true,
            rules: crate::rules::all().iter().map(|r| r.meta()).collect(),
            term: Term::default(),
            absolute_time: false,
            quiet: false,
            rule_help: RuleHelp::Short,
            hidden: (0, 0),
        }
    }
}

/// Writes the findings as a table (repeats grouped) or JSON / JSON Lines.
pub fn write<W: Write>(out: &mut W, format: Format, outcomes: &[CheckOutcome]) -> io::Result<()> {
    write_listing(out, format, outcomes, &CheckOptions::default())
}

/// A capture's damage as a JSON Lines record of its own:
/// `{"kind":"damage","capture":"f.pcap","offset":1234,"message":"..."}`.
#[derive(Serialize)]
pub struct DamageRecord<'a> {
    pub kind: &'static str,
    pub capture: &'a str,
    pub offset: u64,
    pub message: &'a str,
    /// The report covers the packets before the damage.
    pub packets_before: u64,
}

impl<'a> DamageRecord<'a> {
    pub fn of(summary: &'a crate::analyze::CaptureSummary) -> Option<DamageRecord<'a>> {
        summary.error.as_ref().map(|e| DamageRecord {
            kind: "damage",
            capture: &summary.path,
            offset: e.offset,
            message: &e.reason,
            packets_before: summary.frames,
        })
    }
}

fn write_listing<W: Write>(
    out: &mut W,
    format: Format,
    outcomes: &[CheckOutcome],
    options: &CheckOptions,
) -> io::Result<()> {
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
                        tls_connections: o.tls_connections,
                        note: o.tls_note(),
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
        Format::Jsonl => {
            for o in outcomes {
                for f in &o.findings {
                    write_json_line(out, &FindingRecord::new(&o.summary.path, f))?;
                }
                if let Some(d) = DamageRecord::of(&o.summary) {
                    write_json_line(out, &d)?;
                }
            }
            Ok(())
        }
        Format::Table => table::write_table(out, outcomes, options),
    }
}

/// The groups of one capture's findings, in the order of their first finding.
fn groups_of(o: &CheckOutcome) -> Vec<Group> {
    o.findings.iter().collect::<Grouper>().into_groups()
}

/// `ts` as the table prints it: seconds after the capture's first packet.
fn rel(t0: Option<Timestamp>, ts: Timestamp) -> String {
    match t0 {
        Some(t0) => format!("+{:.3}s", ts.since(t0) as f64 / 1e9),
        None => format!("{:.3}s", ts.as_secs_f64()),
    }
}

/// A group in words: `20 findings of S001 handshake-dominated from
/// 10.0.0.1 to 10.0.0.2:80 on 20 connections, +0.100s to +9.000s`.
fn group_phrase(g: &Group, t0: Option<Timestamp>) -> String {
    let (first, last) = (rel(t0, g.first_ts), rel(t0, g.last_ts));
    let when = if first == last {
        format!("at {first}")
    } else {
        format!("{first} to {last}")
    };
    format!(
        "{} finding{} of {} {} from {} to {} on {} connection{}, {when}",
        g.count,
        plural(g.count),
        g.key.code,
        g.rule,
        g.key.client_host,
        g.key.server,
        g.connections,
        plural(g.connections)
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
    /// SARIF 2.1.0, for code-scanning dashboards: one result per group.
    Sarif,
    /// JUnit XML: a test suite per capture, a test case per rule that ran,
    /// failed by its findings.
    Junit,
    /// GitHub Actions workflow commands (annotations on the run): one per group.
    Github,
}

impl CheckFormat {
    /// Whether `--statistics` can be written in this format.
    pub fn has_statistics(self) -> bool {
        matches!(
            self,
            CheckFormat::Table | CheckFormat::Json | CheckFormat::Jsonl
        )
    }
}

/// Writes the findings in a check format.
pub fn write_check<W: Write>(
    out: &mut W,
    format: CheckFormat,
    outcomes: &[CheckOutcome],
    options: &CheckOptions,
) -> io::Result<()> {
    let group = options.group;
    match format {
        CheckFormat::Table => write_listing(out, Format::Table, outcomes, options),
        CheckFormat::Json => write_listing(out, Format::Json, outcomes, options),
        CheckFormat::Jsonl => write_listing(out, Format::Jsonl, outcomes, options),
        CheckFormat::Sarif => sarif::write_sarif(out, outcomes, options),
        CheckFormat::Junit => junit::write_junit(out, outcomes, options),
        CheckFormat::Github => github::write_github(out, outcomes, group),
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

/// One finding in one line of text, where it is first.
fn finding_text(f: &Finding) -> String {
    format!("{}: {}", place(f), f.message)
}

/// A group in one line of text (SARIF, GitHub): its first finding, then,
/// if it has more, how many and over what. A group of one is its finding.
fn group_text(g: &Group, t0: Option<Timestamp>) -> String {
    let mut text = finding_text(g.first());
    if g.count > 1 {
        text.push_str(&format!(
            " (and {} more like it: {})",
            g.more(1),
            group_phrase(g, t0)
        ));
    }
    text
}

/// Each entry a CI format lists for a capture: a group, or with
/// `--no-group` a finding (as a group of one).
fn entries(o: &CheckOutcome, group: bool) -> Vec<Group> {
    if group {
        groups_of(o)
    } else {
        o.findings.iter().map(Group::new).collect()
    }
}

/// One line of `--statistics`: a rule and how many findings it has.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct RuleCount {
    pub code: &'static str,
    pub name: &'static str,
    pub count: u64,
}

/// Findings per rule, most first, then by code. Fed one finding at a time;
/// holds one count per rule.
pub fn statistics<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Vec<RuleCount> {
    let mut counts: Vec<RuleCount> = Vec::new();
    for f in findings {
        match counts.iter_mut().find(|c| c.code == f.code) {
            Some(c) => c.count = c.count.saturating_add(1),
            None => counts.push(RuleCount {
                code: f.code,
                name: f.rule,
                count: 1,
            }),
        }
    }
    counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(b.code)));
    counts
}

/// `--statistics` (ruff's): only the count per rule. As a table, aligned
/// lines `94758  S004  tuple-reused-in-time-wait` and nothing for no
/// findings; as JSON, an array of `{code, name, count}`; as JSON Lines,
/// one such object per line. Other formats are refused.
pub fn write_statistics<W: Write>(
    out: &mut W,
    format: CheckFormat,
    outcomes: &[CheckOutcome],
) -> io::Result<()> {
    let stats = statistics(outcomes.iter().flat_map(|o| &o.findings));
    match format {
        CheckFormat::Table => {
            let count_width = stats.iter().map(|s| s.count.to_string().len()).max();
            let code_width = stats.iter().map(|s| s.code.len()).max().unwrap_or(0);
            for s in &stats {
                let w = count_width.unwrap_or(1);
                writeln!(out, "{:>w$}  {:<code_width$}  {}", s.count, s.code, s.name)?;
            }
            Ok(())
        }
        CheckFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &stats).map_err(io::Error::other)?;
            out.write_all(b"\n")
        }
        CheckFormat::Jsonl => stats.iter().try_for_each(|s| write_json_line(out, s)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--statistics is written as table, json or jsonl",
        )),
    }
}
