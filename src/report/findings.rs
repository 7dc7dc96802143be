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
use super::{write_json_line, write_pretty_at};
use crate::analyze::CheckSummary;
use crate::capture::CaptureError;
use crate::limits::LimitsHit;
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

const TOOL: Tool = Tool {
    name: "connlint",
    version: env!("CARGO_PKG_VERSION"),
};

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
    /// TLS connections a key log did not decrypt, by reason, version and
    /// cipher suite (absent when none).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    undecrypted: &'a [crate::tls::UndecryptedCount],
    limits_hit: LimitsHit,
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
    pub fn add(&mut self, severity: Severity) {
        self.findings = self.findings.saturating_add(1);
        let n = match severity {
            Severity::Error => &mut self.error,
            Severity::Warning => &mut self.warning,
            Severity::Info => &mut self.info,
        };
        *n = n.saturating_add(1);
    }

    fn merge(&mut self, other: &Summary) {
        self.findings = self.findings.saturating_add(other.findings);
        self.error = self.error.saturating_add(other.error);
        self.warning = self.warning.saturating_add(other.warning);
        self.info = self.info.saturating_add(other.info);
    }

    /// Whether some finding is at or above `fail_on`.
    pub fn fails(&self, fail_on: crate::rules::FailOn) -> bool {
        [
            (self.error, Severity::Error),
            (self.warning, Severity::Warning),
            (self.info, Severity::Info),
        ]
        .iter()
        .any(|&(n, s)| n > 0 && fail_on.fails(s))
    }
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
    /// Only the number of findings per rule (`--statistics`).
    pub statistics: bool,
    /// Groups told apart per capture ([`crate::limits::Limits::max_groups`]).
    pub max_groups: usize,
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
            statistics: false,
            max_groups: usize::MAX,
            term: Term::default(),
            absolute_time: false,
            quiet: false,
            rule_help: RuleHelp::Short,
            hidden: (0, 0),
        }
    }
}

/// A check report, written as the findings come: the document's head
/// ([`CheckReport::begin`]), each capture's part ([`CapturePart`], written
/// as its findings settle, straight to the output or, when captures are
/// read in parallel, to a spool copied in order), and its end
/// ([`CheckReport::end`]). Nothing holds a capture's findings: the JSON
/// document lists `findings` before `captures` and `summary`, SARIF its
/// `results` before its `invocations`; grouped formats hold one bounded
/// entry per group of the capture being read.
pub struct CheckReport {
    format: CheckFormat,
    options: CheckOptions,
    captures: Vec<CaptureDone>,
    /// Findings (JSON) or results (SARIF) written so far: the next one is
    /// preceded by a comma.
    items: u64,
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

/// What the end of a report needs of one capture.
#[derive(Debug)]
pub struct CaptureDone {
    path: String,
    /// The capture could be opened and its format read (damaged ones too).
    read: bool,
    packets: u64,
    bytes: u64,
    connections: u64,
    transactions: u64,
    tls_connections: u64,
    undecrypted: crate::tls::UndecryptedCounts,
    undecrypted_list: Vec<crate::tls::UndecryptedCount>,
    limits_hit: LimitsHit,
    error: Option<CaptureError>,
    pub summary: Summary,
    stats: Vec<RuleCount>,
    /// Entries shown for the capture (groups, or findings with
    /// `--no-group`), for the table's summary line.
    entries: u64,
    /// Findings (JSON) or results (SARIF) the part wrote.
    items: u64,
    junit: Vec<junit::Case>,
}

impl CheckReport {
    pub fn new(format: CheckFormat, options: CheckOptions) -> CheckReport {
        CheckReport {
            format,
            options,
            captures: Vec::new(),
            items: 0,
        }
    }

    /// The document's head.
    pub fn begin<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        if self.options.statistics {
            return Ok(());
        }
        match self.format {
            CheckFormat::Json => {
                out.write_all(b"{\n  \"tool\": ")?;
                write_pretty_at(out, &TOOL, 1)?;
                out.write_all(b",\n  \"findings\": [")
            }
            CheckFormat::Sarif => sarif::begin(out, &self.options),
            CheckFormat::Junit | CheckFormat::Table | CheckFormat::Jsonl | CheckFormat::Github => {
                Ok(())
            }
        }
    }

    /// A part for the capture at `path`, to be written right after what
    /// was written so far (`in_order`), or to a spool that
    /// [`CheckReport::take`] copies in later.
    pub fn part(&self, path: &str, in_order: bool) -> CapturePart {
        CapturePart {
            format: self.format,
            group: self.options.group,
            statistics: self.options.statistics,
            path: path.to_string(),
            term: self.options.term,
            absolute_time: self.options.absolute_time,
            quiet: self.options.quiet,
            time_zero_written: false,
            t0: None,
            grouper: Grouper::with_max(self.options.max_groups),
            current: None,
            summary: Summary::default(),
            stats: Vec::new(),
            entries: 0,
            items: 0,
            comma_first: in_order && self.items > 0,
            junit: junit::Cases::new(&self.options.rules),
        }
    }

    /// Takes a finished part: `spool`, if the part was written to one, is
    /// copied to `out` first.
    pub fn take<W: Write>(
        &mut self,
        out: &mut W,
        done: CaptureDone,
        spool: Option<&mut dyn io::Read>,
    ) -> io::Result<()> {
        if let Some(spool) = spool {
            if done.items > 0 && self.items > 0 {
                out.write_all(b",")?;
            }
            io::copy(spool, out)?;
        }
        self.items = self.items.saturating_add(done.items);
        self.captures.push(done);
        Ok(())
    }

    /// Findings left out by suppressions and the baseline (suppressed, in
    /// the baseline), counted as they streamed: the table's summary line
    /// says them.
    pub fn hide(&mut self, hidden: (u64, u64)) {
        self.options.hidden = hidden;
    }

    /// Every finding's severity count so far.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.captures {
            s.merge(&c.summary);
        }
        s
    }

    /// The document's end: per-capture records, summaries, statistics.
    pub fn end<W: Write>(self, out: &mut W) -> io::Result<()> {
        let summary = self.summary();
        if self.options.statistics {
            let mut all: Vec<RuleCount> = Vec::new();
            for c in &self.captures {
                for s in &c.stats {
                    match all.iter_mut().find(|a| a.code == s.code) {
                        Some(a) => a.count = a.count.saturating_add(s.count),
                        None => all.push(s.clone()),
                    }
                }
            }
            all.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(b.code)));
            return write_statistics(out, self.format, &all);
        }
        match self.format {
            CheckFormat::Json => {
                out.write_all(if self.items == 0 { b"]" } else { b"\n  ]" })?;
                let captures: Vec<CaptureEntry<'_>> =
                    self.captures.iter().map(CaptureDone::entry).collect();
                out.write_all(b",\n  \"captures\": ")?;
                write_pretty_at(out, &captures, 1)?;
                out.write_all(b",\n  \"summary\": ")?;
                write_pretty_at(out, &summary, 1)?;
                out.write_all(b"\n}\n")
            }
            CheckFormat::Jsonl | CheckFormat::Github => Ok(()),
            CheckFormat::Table => table::end(
                out,
                &self.captures,
                &summary,
                &self.options,
                self.options.hidden,
            ),
            CheckFormat::Sarif => sarif::end(out, self.items, &self.captures),
            CheckFormat::Junit => junit::write(out, &self.captures),
        }
    }
}

impl CaptureDone {
    /// What could not be judged on the capture's TLS connections.
    fn tls_note(&self) -> Option<String> {
        crate::analyze::with_undecrypted(
            crate::analyze::tls_note(self.connections, self.tls_connections),
            &self.undecrypted,
        )
    }

    fn entry(&self) -> CaptureEntry<'_> {
        CaptureEntry {
            path: &self.path,
            packets: self.packets,
            bytes: self.bytes,
            connections: self.connections,
            transactions: self.transactions,
            tls_connections: self.tls_connections,
            note: self.tls_note(),
            undecrypted: &self.undecrypted_list,
            limits_hit: self.limits_hit,
            errors: self
                .error
                .iter()
                .map(|e| ErrorEntry {
                    offset: e.offset,
                    message: &e.reason,
                })
                .collect(),
        }
    }
}

/// Writes a whole check report of findings already collected (tests,
/// fuzzing; the CLI streams them).
pub fn write_collected<W: Write>(
    out: &mut W,
    format: CheckFormat,
    options: CheckOptions,
    outcomes: &[crate::analyze::CheckOutcome],
) -> io::Result<()> {
    let mut report = CheckReport::new(format, options);
    report.begin(out)?;
    for o in outcomes {
        let mut part = report.part(&o.summary.path, true);
        for f in &o.findings {
            part.finding(out, f, o.summary.first_ts)?;
        }
        let mut check = CheckSummary {
            summary: o.summary.clone(),
            connections: o.connections,
            transactions: o.transactions,
            tls_connections: o.tls_connections,
        };
        let done = part.finish(out, &mut check)?;
        report.take(out, done, None)?;
    }
    report.end(out)
}

/// One capture's part of a check report, written as its findings settle
/// (to the report's output, or to a spool when captures are read in
/// parallel). Grouped formats keep one bounded [`Group`] per group and
/// write them when the capture is done.
pub struct CapturePart {
    format: CheckFormat,
    group: bool,
    statistics: bool,
    path: String,
    term: Term,
    absolute_time: bool,
    /// `--quiet`: the table writes no entries, only the summary line.
    quiet: bool,
    /// The table's time zero line for the capture has been written.
    time_zero_written: bool,
    t0: Option<Timestamp>,
    grouper: Grouper,
    /// The connection whose header the table printed last.
    current: Option<u64>,
    summary: Summary,
    stats: Vec<RuleCount>,
    entries: u64,
    items: u64,
    /// The part follows findings already written: its first one takes a comma.
    comma_first: bool,
    junit: junit::Cases,
}

impl CapturePart {
    /// One finding, as it settles; `t0` is the capture's first frame.
    pub fn finding<W: Write + ?Sized>(
        &mut self,
        out: &mut W,
        f: &Finding,
        t0: Option<Timestamp>,
    ) -> io::Result<()> {
        self.t0 = t0;
        self.summary.add(f.severity);
        match self.stats.iter_mut().find(|c| c.code == f.code) {
            Some(c) => c.count = c.count.saturating_add(1),
            None => self.stats.push(RuleCount {
                code: f.code,
                name: f.rule,
                count: 1,
            }),
        }
        if self.statistics {
            return Ok(());
        }
        match self.format {
            CheckFormat::Json => {
                let sep: &[u8] = if self.items > 0 || self.comma_first {
                    b",\n    "
                } else {
                    b"\n    "
                };
                out.write_all(sep)?;
                write_pretty_at(out, &FindingRecord::new(&self.path, f), 2)?;
                self.items = self.items.saturating_add(1);
            }
            CheckFormat::Jsonl => write_json_line(out, &FindingRecord::new(&self.path, f))?,
            _ if self.group => {
                self.grouper.push(f);
            }
            CheckFormat::Table => {
                self.entries = self.entries.saturating_add(1);
                if !self.quiet {
                    self.time_zero(out, t0)?;
                    let v = view_of(&self.path, self.term, self.absolute_time, t0);
                    table::write_single(out, &v, f, &mut self.current)?;
                }
            }
            CheckFormat::Sarif => {
                sarif::write_result(out, &self.path, t0, &Group::new(f), self.sep())?;
                self.items = self.items.saturating_add(1);
            }
            CheckFormat::Github => github::write_entry(out, &self.path, t0, &Group::new(f))?,
            CheckFormat::Junit => self.junit.add(&Group::new(f), t0),
        }
        Ok(())
    }

    /// The table's line saying what the capture's times count from,
    /// before its first entry.
    fn time_zero<W: Write + ?Sized>(
        &mut self,
        out: &mut W,
        t0: Option<Timestamp>,
    ) -> io::Result<()> {
        if self.time_zero_written {
            return Ok(());
        }
        self.time_zero_written = true;
        table::write_time_zero(out, &view_of(&self.path, self.term, self.absolute_time, t0))
    }

    /// The separator before the next SARIF result.
    fn sep(&self) -> bool {
        self.items > 0 || self.comma_first
    }

    /// The capture is done (`check` says how it went): its groups are
    /// written; what the report's end needs of it is returned.
    /// The findings of groups past the bound are counted in `check`'s
    /// `limits_hit`.
    pub fn finish<W: Write + ?Sized>(
        mut self,
        out: &mut W,
        check: &mut CheckSummary,
    ) -> io::Result<CaptureDone> {
        let t0 = check.summary.first_ts;
        check.summary.limits_hit.max_groups = self.grouper.dropped();
        let limits_hit = check.summary.limits_hit;
        if !self.statistics {
            let groups = std::mem::take(&mut self.grouper).into_groups();
            if self.group && !matches!(self.format, CheckFormat::Json | CheckFormat::Jsonl) {
                self.entries = groups.len() as u64;
            }
            for g in &groups {
                match self.format {
                    CheckFormat::Table if self.quiet => {}
                    CheckFormat::Table => {
                        self.time_zero(out, t0)?;
                        let v = view_of(&self.path, self.term, self.absolute_time, t0);
                        if g.count == 1 {
                            table::write_single(out, &v, g.first(), &mut self.current)?;
                        } else {
                            self.current = None;
                            table::write_group(out, &v, g)?;
                        }
                    }
                    CheckFormat::Sarif => {
                        sarif::write_result(out, &self.path, t0, g, self.sep())?;
                        self.items = self.items.saturating_add(1);
                    }
                    CheckFormat::Github => github::write_entry(out, &self.path, t0, g)?,
                    CheckFormat::Junit => self.junit.add(g, t0),
                    CheckFormat::Json | CheckFormat::Jsonl => {}
                }
            }
            if self.format == CheckFormat::Github {
                if let Some(e) = &check.summary.error {
                    github::write_error(out, &self.path, e)?;
                }
            }
            if self.format == CheckFormat::Jsonl {
                if let Some(d) = DamageRecord::of(&check.summary) {
                    write_json_line(out, &d)?;
                }
            }
        }
        let junit = if self.format == CheckFormat::Junit {
            self.junit.finish(&self.stats)
        } else {
            Vec::new()
        };
        Ok(CaptureDone {
            path: self.path,
            read: check.summary.format.is_some(),
            packets: check.summary.frames,
            bytes: check.summary.bytes,
            connections: check.connections,
            transactions: check.transactions,
            tls_connections: check.tls_connections,
            undecrypted: check.summary.undecrypted.clone(),
            undecrypted_list: check.summary.undecrypted.list(),
            limits_hit,
            error: check.summary.error.clone(),
            summary: self.summary,
            stats: self.stats,
            entries: self.entries,
            items: self.items,
            junit,
        })
    }
}

/// How the table writes a capture's findings.
fn view_of(path: &str, term: Term, absolute: bool, t0: Option<Timestamp>) -> table::View<'_> {
    table::View {
        path,
        clock: t0.map(|t0| crate::report::Clock { t0, absolute }),
        term,
    }
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
    stats: &[RuleCount],
) -> io::Result<()> {
    match format {
        CheckFormat::Table => {
            let count_width = stats.iter().map(|s| s.count.to_string().len()).max();
            let code_width = stats.iter().map(|s| s.code.len()).max().unwrap_or(0);
            for s in stats {
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
