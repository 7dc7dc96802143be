//! The baseline: how a team adopts connlint on a system that already has
//! findings. `check --write-baseline FILE` records today's findings by
//! their fingerprint ([`fingerprint`]: rule, client host, server endpoint,
//! and the request's method and target); `check --baseline FILE` then
//! reports only findings whose fingerprint is not in it, and says how many
//! baseline entries no longer occur (fixed, or not exercised by this run).
//!
//! The file is JSON, sorted, one entry per fingerprint with the rule and
//! how many findings it had, so that it diffs well under review:
//!
//! ```json
//! {
//!   "connlint_baseline": 1,
//!   "findings": [
//!     {"fingerprint": "T001 10.0.0.1 -> 10.0.0.2:80 POST /orders", "rule": "nagle-delayed-ack-stall", "count": 4}
//!   ]
//! }
//! ```

use super::group::fingerprint;
use crate::rules::Finding;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The format version written and read.
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct File {
    connlint_baseline: u32,
    findings: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    fingerprint: String,
    rule: String,
    count: u64,
}

/// The baseline's content as JSON, from the findings of a run.
pub fn to_json<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> String {
    let mut r = Recorder::default();
    for f in findings {
        r.add(f);
    }
    r.into_json()
}

/// The fingerprints of a run's findings, recorded as they stream
/// (`--write-baseline`): one entry per fingerprint, not per finding.
#[derive(Debug, Default)]
pub struct Recorder {
    by: BTreeMap<String, (&'static str, u64)>,
}

impl Recorder {
    pub fn add(&mut self, f: &Finding) {
        let e = self.by.entry(fingerprint(f)).or_insert((f.rule, 0));
        e.1 = e.1.saturating_add(1);
    }

    /// The baseline's content as JSON.
    pub fn into_json(self) -> String {
        let file = File {
            connlint_baseline: VERSION,
            findings: self
                .by
                .into_iter()
                .map(|(fingerprint, (rule, count))| Entry {
                    fingerprint,
                    rule: rule.to_string(),
                    count,
                })
                .collect(),
        };
        let mut s = serde_json::to_string_pretty(&file).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// A baseline read back, and which of its entries this run met.
#[derive(Debug, Default)]
pub struct Baseline {
    met: HashMap<String, bool>,
}

impl Baseline {
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let file: File = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if file.connlint_baseline != VERSION {
            return Err(format!(
                "baseline format {} is not the one this connlint reads ({VERSION})",
                file.connlint_baseline
            ));
        }
        Ok(Baseline {
            met: file
                .findings
                .into_iter()
                .map(|e| (e.fingerprint, false))
                .collect(),
        })
    }

    /// Removes the findings the baseline knows; returns how many.
    pub fn filter(&mut self, findings: &mut Vec<Finding>) -> u64 {
        let before = findings.len();
        findings.retain(|f| !self.knows(f));
        before.saturating_sub(findings.len()) as u64
    }

    /// Whether the baseline knows `f` (its entry is then met).
    pub fn knows(&mut self, f: &Finding) -> bool {
        match self.met.get_mut(&fingerprint(f)) {
            Some(met) => {
                *met = true;
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.met.len()
    }

    pub fn is_empty(&self) -> bool {
        self.met.is_empty()
    }

    /// Baseline entries no finding of this run matched, sorted.
    pub fn gone(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .met
            .iter()
            .filter(|(_, met)| !**met)
            .map(|(k, _)| k.as_str())
            .collect();
        v.sort_unstable();
        v
    }
}
