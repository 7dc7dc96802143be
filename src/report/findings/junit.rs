//! `connlint check --format junit`: a test suite per capture, a test case
//! per rule that ran, failed by its findings.

use super::{group_phrase, place, plural, CaptureDone};
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

/// One rule's test case in one capture's suite.
#[derive(Debug)]
pub(super) struct Case {
    meta: &'static RuleMeta,
    findings: u64,
    groups: u64,
    text: String,
}

/// The test cases of one capture, filled as its groups (or findings) come.
pub(super) struct Cases {
    /// The rules that ran: each has a test case, passed or failed.
    ran: Vec<&'static str>,
    cases: Vec<Case>,
}

impl Cases {
    pub(super) fn new(rules: &[&'static RuleMeta]) -> Cases {
        Cases {
            ran: rules.iter().map(|m| m.code).collect(),
            cases: Vec::new(),
        }
    }

    /// A group (a finding, with `--no-group`) of the capture.
    pub(super) fn add(&mut self, g: &Group, t0: Option<Timestamp>) {
        let at = match self.cases.iter().position(|c| c.meta.code == g.key.code) {
            Some(i) => i,
            None => {
                let Some(meta) = crate::rules::all()
                    .iter()
                    .map(|r| r.meta())
                    .find(|m| m.code == g.key.code)
                else {
                    return;
                };
                self.cases.push(Case {
                    meta,
                    findings: 0,
                    groups: 0,
                    text: String::new(),
                });
                self.cases.len().saturating_sub(1)
            }
        };
        if let Some(case) = self.cases.get_mut(at) {
            case.findings = case.findings.saturating_add(g.count);
            case.groups = case.groups.saturating_add(1);
            junit_group(&mut case.text, g, t0);
        }
    }

    /// The suite's test cases: every rule that ran or has findings, in
    /// catalogue order (`stats`: the findings per rule, to include those
    /// past the group bound).
    pub(super) fn finish(mut self, stats: &[super::RuleCount]) -> Vec<Case> {
        crate::rules::all()
            .iter()
            .map(|r| r.meta())
            .filter(|m| self.ran.contains(&m.code) || stats.iter().any(|c| c.code == m.code))
            .map(
                |meta| match self.cases.iter().position(|c| c.meta.code == meta.code) {
                    Some(i) => self.cases.swap_remove(i),
                    None => Case {
                        meta,
                        findings: 0,
                        groups: 0,
                        text: String::new(),
                    },
                },
            )
            .collect()
    }
}

/// JUnit: a test suite per capture, holding a test case `read` (an
/// `<error>` when the capture is damaged) and one test case per rule that
/// ran, or that has findings, in catalogue order. A rule's test case fails
/// with at most one `<failure>` whose text lists its groups (each finding
/// with `--no-group`); so `tests` >= `failures`.
pub(super) fn write<W: Write>(out: &mut W, captures: &[CaptureDone]) -> io::Result<()> {
    let failures_of = |c: &CaptureDone| c.junit.iter().filter(|c| c.findings > 0).count() as u64;
    let tests: u64 = captures
        .iter()
        .map(|c| 1u64.saturating_add(c.junit.len() as u64))
        .sum();
    let failures: u64 = captures.iter().map(failures_of).sum();
    let errors = captures.iter().filter(|c| c.error.is_some()).count();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="connlint" tests="{tests}" failures="{failures}" errors="{errors}">"#
    )?;
    for s in captures {
        let path = xml(&s.path);
        writeln!(
            out,
            r#"  <testsuite name="{path}" tests="{}" failures="{}" errors="{}">"#,
            1usize.saturating_add(s.junit.len()),
            failures_of(s),
            u8::from(s.error.is_some())
        )?;
        match &s.error {
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
        for c in &s.junit {
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
