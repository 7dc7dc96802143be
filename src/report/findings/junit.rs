//! `connlint check --format junit`: a test suite per capture, a test case
//! per rule that ran, failed by its findings.

use super::{entries, group_phrase, place, plural, CheckOptions};
use crate::analyze::CheckOutcome;
use crate::report::group::Group;
use crate::rules::{Finding, RuleMeta};
use crate::Timestamp;
use std::io::{self, Write};

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

/// A finding as a line of a JUnit failure's text.
fn junit_line(f: &Finding) -> String {
    format!("{} ({}): {}", place(f), f.severity, f.message)
}

/// A group as lines of a JUnit failure's text: a group of one is its
/// finding's line; a larger one says what it is, lists its examples and
/// how many more there are.
fn junit_group(text: &mut String, g: &Group, t0: Option<Timestamp>) {
    if g.count == 1 {
        text.push_str(&junit_line(g.first()));
        text.push('\n');
        return;
    }
    text.push_str(&group_phrase(g, t0));
    text.push_str(":\n");
    for f in g.examples() {
        text.push_str("  ");
        text.push_str(&junit_line(f));
        text.push('\n');
    }
    let more = g.beyond_examples();
    if more > 0 {
        text.push_str(&format!("  and {more} more like it\n"));
    }
}

/// JUnit: a test suite per capture, holding a test case `read` (an
/// `<error>` when the capture is damaged) and one test case per rule that
/// ran, or that has findings, in catalogue order. A rule's test case fails
/// with at most one `<failure>` whose text lists its groups (each finding
/// with `--no-group`); so `tests` >= `failures`.
pub(super) fn write_junit<W: Write>(
    out: &mut W,
    outcomes: &[CheckOutcome],
    options: &CheckOptions,
) -> io::Result<()> {
    struct Case {
        meta: &'static RuleMeta,
        findings: u64,
        groups: u64,
        text: String,
    }
    struct Suite<'a> {
        o: &'a CheckOutcome,
        cases: Vec<Case>,
        failures: u64,
    }
    let suites: Vec<Suite> = outcomes
        .iter()
        .map(|o| {
            let t0 = o.summary.first_ts;
            let groups = entries(o, options.group);
            let cases: Vec<Case> = crate::rules::all()
                .iter()
                .map(|r| r.meta())
                .filter(|m| {
                    options.rules.iter().any(|r| r.code == m.code)
                        || o.findings.iter().any(|f| f.code == m.code)
                })
                .map(|meta| {
                    let mut case = Case {
                        meta,
                        findings: 0,
                        groups: 0,
                        text: String::new(),
                    };
                    for g in groups.iter().filter(|g| g.key.code == meta.code) {
                        case.findings = case.findings.saturating_add(g.count);
                        case.groups = case.groups.saturating_add(1);
                        junit_group(&mut case.text, g, t0);
                    }
                    case
                })
                .collect();
            let failures = cases.iter().filter(|c| c.findings > 0).count() as u64;
            Suite { o, cases, failures }
        })
        .collect();
    // Each suite: the `read` case and one case per rule (a few dozen).
    let tests: u64 = suites
        .iter()
        .map(|s| (s.cases.len() as u64).saturating_add(1))
        .sum();
    let failures: u64 = suites.iter().map(|s| s.failures).sum();
    let errors = outcomes
        .iter()
        .filter(|o| o.summary.error.is_some())
        .count();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="connlint" tests="{tests}" failures="{failures}" errors="{errors}">"#
    )?;
    for s in &suites {
        let path = xml(&s.o.summary.path);
        writeln!(
            out,
            r#"  <testsuite name="{path}" tests="{}" failures="{}" errors="{}">"#,
            s.cases.len().saturating_add(1),
            s.failures,
            u8::from(s.o.summary.error.is_some())
        )?;
        match &s.o.summary.error {
            Some(e) => writeln!(
                out,
                r#"    <testcase name="read" classname="{path}">
      <error type="damaged capture" message="byte offset {}: {}"/>
    </testcase>"#,
                e.offset,
                xml(&e.reason)
            )?,
            None => writeln!(out, r#"    <testcase name="read" classname="{path}"/>"#)?,
        }
        for c in &s.cases {
            let name = xml(&format!("{} {}", c.meta.code, c.meta.name));
            if c.findings == 0 {
                writeln!(out, r#"    <testcase name="{name}" classname="{path}"/>"#)?;
                continue;
            }
            let mut message = format!("{} finding{}", c.findings, plural(c.findings));
            if c.groups < c.findings {
                message.push_str(&format!(" in {} group{}", c.groups, plural(c.groups)));
            }
            writeln!(
                out,
                r#"    <testcase name="{name}" classname="{path}">
      <failure type="{name}" message="{message}">{}</failure>
    </testcase>"#,
                xml(&c.text)
            )?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}
