//! Runs the enabled rules over a capture's finished connections.

use super::config::{Config, RuleSettings};
use super::context::ConnectionFacts;
use super::finding::Finding;
use super::index::{CaptureIndex, ConnSummary};
use super::registry::{self, Rule};
use std::collections::HashSet;

/// How long a connection summary stays in the index after the connection
/// ended: longer than every cross-connection window (S004's 60 s TIME_WAIT
/// is the longest default), so none is cut short.
pub const INDEX_HORIZON_NS: i64 = 300 * 1_000_000_000;
/// Most summaries in the index at once.
pub const INDEX_MAX: usize = 200_000;

/// The linter of one capture: feed it finished connections, then finish.
pub struct Linter<'c> {
    rules: Vec<(&'static dyn Rule, &'c RuleSettings)>,
    index: CaptureIndex,
    findings: Vec<Finding>,
    /// (code, connection, transaction) already reported by a cross-connection
    /// rule, which may see the same connections at several evictions.
    seen: HashSet<(&'static str, u64, Option<u64>)>,
}

impl<'c> Linter<'c> {
    pub fn new(config: &'c Config) -> Linter<'c> {
        let rules = registry::all()
            .iter()
            .zip(&config.rules)
            .filter(|(_, s)| s.enabled)
            .map(|(r, s)| (*r, s))
            .collect();
        Linter {
            rules,
            index: CaptureIndex::default(),
            findings: Vec::new(),
            seen: HashSet::new(),
        }
    }

    /// Checks one finished connection and records its summary for the
    /// cross-connection rules.
    pub fn connection(&mut self, cx: &ConnectionFacts<'_>) {
        let start = self.findings.len();
        for (rule, settings) in &self.rules {
            let before = self.findings.len();
            rule.check_connection(cx, settings, &mut self.findings);
            apply_severity(&mut self.findings[before..], settings);
        }
        fold(&mut self.findings, start);
        self.index.push(ConnSummary::new(cx));
        if self.index.wants_eviction(INDEX_HORIZON_NS, INDEX_MAX) {
            self.run_capture_rules();
            self.index.evict(INDEX_HORIZON_NS, INDEX_MAX);
        }
    }

    fn run_capture_rules(&mut self) {
        for (rule, settings) in &self.rules {
            let mut out = Vec::new();
            rule.check_capture(&self.index, settings, &mut out);
            apply_severity(&mut out, settings);
            for f in out {
                if self.seen.insert((f.code, f.connection, f.transaction)) {
                    self.findings.push(f);
                }
            }
        }
    }

    /// Runs the cross-connection rules on what is left and returns every
    /// finding, ordered by connection, then time.
    pub fn finish(mut self) -> Vec<Finding> {
        self.run_capture_rules();
        let mut f = self.findings;
        f.sort_by(|a, b| {
            a.connection
                .cmp(&b.connection)
                .then(a.ts.cmp(&b.ts))
                .then(a.transaction.cmp(&b.transaction))
                .then(a.code.cmp(b.code))
        });
        f
    }
}

/// Drops the findings from `start` on (one connection's) whose cause
/// another of them already states ([`Rule::folds`]).
fn fold(findings: &mut Vec<Finding>, start: usize) {
    let Some(new) = findings.get(start..).filter(|n| n.len() > 1) else {
        return;
    };
    let rule_of = |code: &str| registry::all().iter().find(|r| r.meta().code == code);
    let folded: Vec<bool> = new
        .iter()
        .map(|other| {
            new.iter().any(|mine| {
                mine.code != other.code && rule_of(mine.code).is_some_and(|r| r.folds(mine, other))
            })
        })
        .collect();
    let mut k = 0;
    findings.retain(|_| {
        let i = k;
        k += 1;
        i < start || !folded.get(i - start).copied().unwrap_or(false)
    });
}

fn apply_severity(findings: &mut [Finding], settings: &RuleSettings) {
    if let Some(s) = settings.severity {
        for f in findings {
            f.severity = s;
        }
    }
}
