//! Runs the enabled rules over a capture's finished connections.
//!
//! One cause, one finding: a group finding (a churn chain) may declare the
//! connections it speaks for and the rules it subsumes there
//! ([`Covers`](super::finding::Covers)); the engine then folds those rules'
//! findings on those connections into it. No rule code is known here: the
//! covering finding says what it stands for.

use super::api::{CaptureIndex, ConnSummary, ConnectionFacts, Finding, Needs, Rule, RuleSettings};
use super::catalogue;
use super::config::Config;
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;
use std::collections::HashSet;

/// How long a connection summary stays in the index after the connection
/// ended: longer than every cross-connection window (S004's 60 s TIME_WAIT
/// is the longest default), so none is cut short.
pub const INDEX_HORIZON_NS: i64 = 300 * 1_000_000_000;
/// Most summaries in the index at once.
pub const INDEX_MAX: usize = 200_000;
/// Connection ids listed per folded rule in a covering finding's evidence.
const MAX_FOLDED_LISTED: usize = 50;

/// The linter of one capture: feed it finished connections, then finish.
pub struct Linter<'c> {
    rules: Vec<(&'static dyn Rule, &'c RuleSettings)>,
    index: CaptureIndex,
    findings: Vec<Finding>,
    /// Positions in `findings` folded into a covering finding: not reported.
    folded: FxHashSet<usize>,
    /// Positions in `findings` by connection, for the connections still in
    /// the index (only those can be covered by a group finding).
    by_connection: FxHashMap<u64, Vec<usize>>,
    /// Per connection, the group findings covering it: (their code, their
    /// position). Kept, like `by_connection`, for the connections still in
    /// the index.
    groups: FxHashMap<u64, Vec<(&'static str, usize)>>,
    /// (code, connection, transaction) already reported by a cross-connection
    /// rule, which may see the same connections at several evictions.
    seen: HashSet<(&'static str, u64, Option<u64>)>,
}

impl<'c> Linter<'c> {
    pub fn new(config: &'c Config) -> Linter<'c> {
        let rules = catalogue::all()
            .iter()
            .zip(&config.rules)
            .filter(|(_, s)| s.enabled)
            .map(|(r, s)| (*r, s))
            .collect();
        Linter {
            rules,
            index: CaptureIndex::default(),
            findings: Vec::new(),
            folded: FxHashSet::default(),
            by_connection: FxHashMap::default(),
            groups: FxHashMap::default(),
            seen: HashSet::new(),
        }
    }

    /// What the enabled rules, together, need kept of each connection.
    pub fn needs(&self) -> Needs {
        self.rules
            .iter()
            .fold(Needs::default(), |n, (rule, settings)| {
                n.and(rule.needs(settings))
            })
    }

    /// Checks one finished connection and records its summary for the
    /// cross-connection rules.
    pub fn connection(&mut self, cx: &ConnectionFacts<'_>) {
        let mut out = Vec::new();
        for (rule, settings) in &self.rules {
            let before = out.len();
            rule.check_connection(cx, settings, &mut out);
            apply_severity(out.get_mut(before..).unwrap_or_default(), settings);
        }
        // One cause, one finding on this connection first ([`Rule::folds`]),
        // then across connections as the findings join the capture's.
        fold(&mut out, 0);
        for mut f in out {
            super::place::from_connection(&mut f, cx);
            self.add(f);
        }
        self.index.push(ConnSummary::new(cx));
        if self.index.wants_eviction(INDEX_HORIZON_NS, INDEX_MAX) {
            self.run_capture_rules();
            self.index.evict(INDEX_HORIZON_NS, INDEX_MAX);
            let live: FxHashSet<u64> = self.index.iter().map(|s| s.id).collect();
            self.by_connection.retain(|id, _| live.contains(id));
            self.groups.retain(|id, _| live.contains(id));
        }
    }

    fn run_capture_rules(&mut self) {
        let rules = self.rules.clone();
        for (rule, settings) in rules {
            let mut out = Vec::new();
            rule.check_capture(&self.index, settings, &mut out);
            apply_severity(&mut out, settings);
            self.place(&mut out);
            for f in out {
                if self.seen.insert((f.code, f.connection, f.transaction)) {
                    self.add(f);
                }
            }
        }
    }

    /// Adds their place to the findings of a cross-connection rule, from
    /// their connections' summaries (looked up once each).
    fn place(&self, findings: &mut [Finding]) {
        if findings.len() <= 16 {
            for f in findings {
                if let Some(s) = self.index.get(f.connection) {
                    super::place::from_summary(f, s);
                }
            }
            return;
        }
        let by_id: FxHashMap<u64, &ConnSummary> = self.index.iter().map(|s| (s.id, s)).collect();
        for f in findings {
            if let Some(s) = by_id.get(&f.connection) {
                super::place::from_summary(f, s);
            }
        }
    }

    /// Records a finding: a group finding folds what it subsumes, or joins
    /// the finding of its group already reported; any other finding is
    /// folded at once if a group finding already covers its connection.
    fn add(&mut self, mut f: Finding) {
        let Some(covers) = f.covers.take() else {
            let pos = self.findings.len();
            let (code, connection) = (f.code, f.connection);
            self.by_connection.entry(connection).or_default().push(pos);
            self.findings.push(f);
            let covering: Vec<usize> = self
                .groups
                .get(&connection)
                .map(|g| g.iter().map(|&(_, at)| at).collect())
                .unwrap_or_default();
            for g in covering {
                if self.subsumes(g, code) {
                    self.fold(g, pos);
                }
            }
            return;
        };
        let code = f.code;
        // The same group seen again: the finding already reported stands
        // for it, and now for its new connections too.
        let earlier = covers.connections.iter().find_map(|id| {
            self.groups
                .get(id)
                .and_then(|g| g.iter().find(|(c, _)| *c == code))
                .map(|&(_, at)| at)
        });
        let target = match earlier {
            Some(g) => g,
            None => {
                let pos = self.findings.len();
                self.by_connection
                    .entry(f.connection)
                    .or_default()
                    .push(pos);
                f.covers = Some(covers.clone());
                self.findings.push(f);
                pos
            }
        };
        for &id in &covers.connections {
            let g = self.groups.entry(id).or_default();
            if !g.iter().any(|(c, _)| *c == code) {
                g.push((code, target));
            }
            let on_it = self.by_connection.get(&id).cloned().unwrap_or_default();
            for pos in on_it {
                let subsumed = self
                    .findings
                    .get(pos)
                    .is_some_and(|x| covers.subsumes.contains(&x.code));
                if subsumed {
                    self.fold(target, pos);
                }
            }
        }
    }

    /// Whether the group finding at `group` subsumes findings of `code`.
    fn subsumes(&self, group: usize, code: &str) -> bool {
        self.findings
            .get(group)
            .and_then(|g| g.covers.as_ref())
            .is_some_and(|c| c.subsumes.contains(&code))
    }

    /// Folds the finding at `pos` into the group finding at `group`, unless
    /// it is more severe (a configured severity must not be hidden).
    fn fold(&mut self, group: usize, pos: usize) {
        if pos == group || self.folded.contains(&pos) || self.folded.contains(&group) {
            return;
        }
        let (Some(g), Some(x)) = (self.findings.get(group), self.findings.get(pos)) else {
            return;
        };
        if x.severity > g.severity {
            return;
        }
        let (code, connection) = (x.code, x.connection);
        self.folded.insert(pos);
        let Some(g) = self.findings.get_mut(group) else {
            return;
        };
        let folded = g
            .evidence
            .entry("folded")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(map) = folded {
            let ids = map.entry(code).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(ids) = ids {
                if ids.len() < MAX_FOLDED_LISTED && !ids.contains(&Value::from(connection)) {
                    ids.push(Value::from(connection));
                }
            }
        }
        let n = g
            .evidence
            .get("folded_findings")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        g.evidence.insert(
            "folded_findings".to_string(),
            Value::from(n.saturating_add(1)),
        );
    }

    /// Runs the cross-connection rules on what is left and returns every
    /// finding, ordered by connection, then time.
    pub fn finish(mut self) -> Vec<Finding> {
        self.run_capture_rules();
        let folded = self.folded;
        let mut f: Vec<Finding> = self
            .findings
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !folded.contains(i))
            .map(|(_, f)| f)
            .collect();
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
    let rule_of = |code: &str| catalogue::all().iter().find(|r| r.meta().code == code);
    let folded: Vec<bool> = new
        .iter()
        .map(|other| {
            new.iter().any(|mine| {
                mine.code != other.code && rule_of(mine.code).is_some_and(|r| r.folds(mine, other))
            })
        })
        .collect();
    let mut drop = std::iter::repeat_n(false, start).chain(folded);
    findings.retain(|_| !drop.next().unwrap_or(false));
}

fn apply_severity(findings: &mut [Finding], settings: &RuleSettings) {
    if let Some(s) = settings.severity {
        for f in findings {
            f.severity = s;
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use crate::rules::testing::{config_with, Timeline};
    use crate::rules::Finding;

    const GET: &[u8] = b"GET /catalog HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n";
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";

    /// `n` one-request connections (handshake-dominated: 50 / 100), one
    /// opening every `every_ms`.
    fn chain(n: u16, every_ms: f64) -> Timeline {
        let mut t = Timeline::new();
        for i in 0..n {
            t.connection(&format!("10.0.0.1:{}", 20000 + i), "10.0.0.2:80");
            t.one_shot(f64::from(i) * every_ms, GET, OK);
        }
        t
    }

    fn run(t: &Timeline, select: &[&str], toml: &str) -> Vec<Finding> {
        t.run(&config_with(select, toml))
    }

    fn codes(f: &[Finding]) -> Vec<(&str, u64)> {
        f.iter().map(|f| (f.code, f.connection)).collect()
    }

    #[test]
    fn a_churn_chain_folds_the_handshake_findings_of_its_connections() {
        let t = chain(3, 160.0);
        // Alone, S001 fires on each of the three connections.
        assert_eq!(run(&t, &["S001"], "").len(), 3);
        // With S002, one finding stands for the cause.
        let f = run(&t, &["S001", "S002"], "");
        assert_eq!(codes(&f), vec![("S002", 2)], "{f:?}");
        assert_eq!(
            f[0].evidence["folded"],
            serde_json::json!({"S001": [0, 1, 2]})
        );
        assert_eq!(f[0].evidence["folded_findings"], 3);
        // A connection outside the chain keeps its own S001.
        let mut t = chain(3, 160.0);
        t.connection("10.0.0.1:30000", "10.0.0.3:80");
        t.handshake(1000.0, 50.0)
            .client(1050.0, GET)
            .server(1100.0, OK)
            .close(1110.0);
        let f = run(&t, &["S001", "S002"], "");
        assert_eq!(codes(&f), vec![("S002", 2), ("S001", 3)], "{f:?}");
    }

    #[test]
    fn a_more_severe_finding_is_not_folded() {
        let t = chain(3, 160.0);
        let f = run(
            &t,
            &["S001", "S002"],
            "[rules.S001]\nseverity = \"error\"\n",
        );
        assert_eq!(f.iter().filter(|f| f.code == "S001").count(), 3, "{f:?}");
        assert!(!f.iter().any(|f| f.evidence.contains_key("folded")));
    }

    #[test]
    fn a_chain_seen_at_several_evictions_is_one_finding_that_folds_all() {
        // One request every 5 s for 800 s: the cross-connection rules run
        // when the index evicts (the chain's head leaves while it goes on),
        // and again at the end. The chain is one finding, and every
        // connection's S001 is folded into it, including those that arrived
        // after it was first reported.
        let t = chain(160, 5000.0);
        let f = run(&t, &["S001", "S002"], "");
        assert_eq!(f.len(), 1, "{:?}", codes(&f));
        assert_eq!(f[0].code, "S002");
        assert_eq!(f[0].evidence["folded_findings"], 160);
        let listed = f[0].evidence["folded"]["S001"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(listed, 50, "ids listed at most");
    }
}
