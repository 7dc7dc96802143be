//! Runs the enabled rules over a capture's finished connections and hands
//! their findings on as they settle: in connection order, then time, as
//! each connection's findings can no longer change, holding nothing of the
//! capture's findings beyond that.
//!
//! A connection's own rules run when it finishes. The rules that relate
//! connections ([`CrossRule`]) are fed its summary then, and told as the
//! capture's clock advances that every connection that began before some
//! time has finished (the *settled* time): connection ids follow first
//! packets, so once every id below `n` has finished, no connection still to
//! finish began before connection `n - 1`'s first packet. The engine waits
//! at most [`MAX_WAIT_NS`] of capture time for a connection still open
//! (and holds at most [`LintLimits::max_index_connections`] finished
//! connections behind one), then settles without it.
//!
//! One cause, one finding: a group finding (a churn chain) takes
//! connections into its group as its rule finds them ([`Cover`]); the
//! engine then folds the findings its rule subsumes on those connections
//! into it. No rule code is known here: the cover says what it stands for.

use super::api::{
    ConnSummary, ConnectionFacts, Cover, CrossOut, CrossRule, Finding, Needs, Rule, RuleSettings,
};
use super::catalogue;
use super::config::Config;
use super::meta::Severity;
use crate::Timestamp;
use rustc_hash::FxHashMap;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Connection ids listed per folded rule in a covering finding's evidence.
const MAX_FOLDED_LISTED: usize = 50;
/// The longest the engine waits, in capture time, for a connection still
/// open before it settles what the cross-connection rules hold without it
/// (it is then judged late, against what they still hold).
pub const MAX_WAIT_NS: i64 = super::api::MAX_PENDING_NS;
/// Distinct tunnel descriptions named on findings; findings on connections
/// in further tunnels go without the name (the listings still show it).
const MAX_TUNNEL_NAMES: usize = 1 << 16;

/// The engine's bounds.
#[derive(Clone, Copy, Debug)]
pub struct LintLimits {
    /// Finished connections held for the cross-connection rules behind one
    /// still open (past it, the rules stop waiting for the open ones), and
    /// connections' worth of state each such rule keeps (past it, it
    /// judges its oldest early).
    pub max_index_connections: usize,
    /// Bytes the index of finished connections (what a finding of a
    /// cross-connection rule needs to be placed) may hold; past it, the
    /// cross-connection rules judge their oldest early, so that those
    /// connections' findings are handed on and their index dropped. A
    /// quarter of `max_memory` when [`crate::analyze`] runs the linter.
    pub max_index_bytes: usize,
}

impl Default for LintLimits {
    fn default() -> Self {
        LintLimits {
            max_index_connections: 262_144,
            max_index_bytes: 64 << 20,
        }
    }
}

/// What the engine ran into over a capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LintStats {
    /// Times [`LintLimits::max_index_connections`] was reached.
    pub index_limit_hits: u64,
    /// Times the engine stopped waiting for a connection open longer than
    /// [`MAX_WAIT_NS`].
    pub waits_cut: u64,
    /// Times [`LintLimits::max_index_bytes`] was reached.
    pub index_memory_hits: u64,
}

/// A cross-connection rule's state, with the settings its findings get.
struct Cross<'c> {
    state: Box<dyn CrossRule>,
    settings: &'c RuleSettings,
}

/// A folded connection: its order key (start, id), and its id.
type Listed = ((Timestamp, u64), u64);

/// The findings folded into one group finding so far.
#[derive(Default)]
struct Tally {
    count: u64,
    /// Per folded rule, its connections (order key, id), the first
    /// [`MAX_FOLDED_LISTED`] in order.
    listed: Vec<(&'static str, Vec<Listed>)>,
}

impl Tally {
    fn note(&mut self, code: &'static str, order: (Timestamp, u64), connection: u64) {
        self.count = self.count.saturating_add(1);
        let at = match self.listed.iter().position(|(c, _)| *c == code) {
            Some(i) => i,
            None => {
                self.listed.push((code, Vec::new()));
                self.listed.len().saturating_sub(1)
            }
        };
        if let Some((_, ids)) = self.listed.get_mut(at) {
            insert_listed(ids, (order, connection));
        }
    }

    fn merge(&mut self, other: Tally) {
        self.count = self.count.saturating_add(other.count);
        for (code, ids) in other.listed {
            match self.listed.iter_mut().find(|(c, _)| *c == code) {
                Some((_, mine)) => ids.into_iter().for_each(|e| insert_listed(mine, e)),
                None => self.listed.push((code, ids)),
            }
        }
    }

    /// Writes `folded` and `folded_findings` into a group finding.
    fn attach(self, f: &mut Finding) {
        if self.count == 0 {
            return;
        }
        let mut folded = Map::new();
        for (code, ids) in self.listed {
            let ids: Vec<Value> = ids.into_iter().map(|(_, id)| Value::from(id)).collect();
            folded.insert(code.to_string(), Value::Array(ids));
        }
        f.evidence
            .insert("folded".to_string(), Value::Object(folded));
        f.evidence
            .insert("folded_findings".to_string(), Value::from(self.count));
    }
}

/// Keeps `ids` sorted by order key, each connection once, at most
/// [`MAX_FOLDED_LISTED`].
fn insert_listed(ids: &mut Vec<Listed>, e: Listed) {
    if ids.iter().any(|(_, id)| *id == e.1) {
        return;
    }
    let at = ids.partition_point(|x| x.0 < e.0);
    if at >= MAX_FOLDED_LISTED {
        return;
    }
    ids.insert(at, e);
    ids.truncate(MAX_FOLDED_LISTED);
}

/// The linter of one capture: feed it finished connections, then finish;
/// each call hands on the findings that have settled, in order.
pub struct Linter<'c> {
    rules: Vec<(&'static dyn Rule, &'c RuleSettings)>,
    cross: Vec<Cross<'c>>,
    limits: LintLimits,
    /// Findings of finished connections not handed on yet, by connection.
    held: FxHashMap<u64, Vec<Finding>>,
    /// Finished connections with ids above `prefix`, with their first
    /// packet's time.
    ahead: BTreeMap<u64, Timestamp>,
    /// Every connection with a lower id has finished.
    prefix: u64,
    /// First packet of connection `prefix - 1`.
    prefix_ts: Option<Timestamp>,
    /// Every connection with a lower id has been handed on.
    released: u64,
    /// The latest end of a finished connection: the capture's clock.
    now: Timestamp,
    /// The settled time last given to the cross-connection rules.
    settled: Option<Timestamp>,
    tallies: FxHashMap<(&'static str, u64), Tally>,
    /// Interned tunnel descriptions, and those of tunnelled connections not
    /// handed on yet.
    tunnel_names: Vec<String>,
    tunnel_index: FxHashMap<String, u32>,
    tunnel_of: FxHashMap<u64, u32>,
    /// What places the cross-connection rules' findings, per finished
    /// connection not handed on yet.
    books: FxHashMap<u64, super::place::Book>,
    /// Bytes the books hold, as each was measured when kept; told to the
    /// gauge, if any ([`Linter::with_gauge`]).
    book_bytes: usize,
    gauge: Option<crate::flow::MemoryGauge>,
    pub stats: LintStats,
}

impl<'c> Linter<'c> {
    pub fn new(config: &'c Config) -> Linter<'c> {
        Linter::with_limits(config, LintLimits::default())
    }

    pub fn with_limits(config: &'c Config, limits: LintLimits) -> Linter<'c> {
        let rules: Vec<(&'static dyn Rule, &'c RuleSettings)> = catalogue::all()
            .iter()
            .zip(&config.rules)
            .filter(|(_, s)| s.enabled)
            .map(|(r, s)| (*r, s))
            .collect();
        let cross = rules
            .iter()
            .filter_map(|(r, s)| {
                Some(Cross {
                    state: r.cross(s)?,
                    settings: s,
                })
            })
            .collect();
        Linter {
            rules,
            cross,
            limits,
            held: FxHashMap::default(),
            ahead: BTreeMap::new(),
            prefix: 0,
            prefix_ts: None,
            released: 0,
            now: Timestamp::ZERO,
            settled: None,
            tallies: FxHashMap::default(),
            tunnel_names: Vec::new(),
            tunnel_index: FxHashMap::default(),
            tunnel_of: FxHashMap::default(),
            books: FxHashMap::default(),
            book_bytes: 0,
            gauge: None,
            stats: LintStats::default(),
        }
    }

    /// Tells `gauge` what the index holds, as it changes (the flow table
    /// counts it on the memory budget).
    pub fn with_gauge(mut self, gauge: crate::flow::MemoryGauge) -> Self {
        self.gauge = Some(gauge);
        self
    }

    fn book_bytes_changed(&mut self, old: usize, new: usize) {
        self.book_bytes = self.book_bytes.saturating_sub(old).saturating_add(new);
        if let Some(g) = &self.gauge {
            g.set(self.book_bytes);
        }
    }

    /// The index holds more than [`LintLimits::max_index_bytes`]: each
    /// cross-connection rule judges its oldest early, down to half the
    /// connections held, and what no rule holds any more is handed on.
    fn shed_index(&mut self, emit: &mut impl FnMut(Finding)) {
        if self.book_bytes <= self.limits.max_index_bytes {
            return;
        }
        self.stats.index_memory_hits = self.stats.index_memory_hits.saturating_add(1);
        let max = self.books.len() / 2;
        for i in 0..self.cross.len() {
            let mut out = CrossOut::default();
            if let Some(c) = self.cross.get_mut(i) {
                c.state.bound(max, &mut out);
            }
            self.take(i, out, emit);
        }
        self.release(self.prefix, emit);
    }

    /// What the enabled rules, together, need kept of each connection.
    pub fn needs(&self) -> Needs {
        self.rules
            .iter()
            .fold(Needs::default(), |n, (rule, settings)| {
                n.and(rule.needs(settings))
            })
    }

    /// Checks one finished connection, hands it to the cross-connection
    /// rules, and hands `emit` every finding now settled, in order.
    pub fn connection(&mut self, cx: &ConnectionFacts<'_>, emit: &mut impl FnMut(Finding)) {
        let id = cx.conn.id;
        let mut own = Vec::new();
        for (rule, settings) in &self.rules {
            let before = own.len();
            rule.check_connection(cx, settings, &mut own);
            apply_severity(own.get_mut(before..).unwrap_or_default(), settings);
        }
        // One cause, one finding on this connection first ([`Rule::folds`]),
        // then across connections as covers come.
        fold(&mut own);
        let shed = cx.conn.end_reason == crate::flow::EndReason::MemoryPressure;
        for f in &mut own {
            super::place::from_connection(f, cx);
            if shed {
                mark_shed(f);
            }
        }
        if !own.is_empty() {
            self.held.entry(id).or_default().extend(own);
        }
        if let Some(t) = &cx.conn.tunnel {
            self.note_tunnel(id, t);
        }
        if !self.cross.is_empty() {
            let summary = ConnSummary::new(cx);
            let book = super::place::Book::of(&summary);
            self.book_bytes_changed(0, book.held_bytes());
            if let Some(old) = self.books.insert(id, book) {
                self.book_bytes_changed(old.held_bytes(), 0);
            }
            for i in 0..self.cross.len() {
                let mut out = CrossOut::default();
                if let Some(c) = self.cross.get_mut(i) {
                    c.state.add(&summary, &mut out);
                }
                self.take(i, out, emit);
            }
        }
        self.finished(id, cx.conn.start_ts);
        if cx.conn.end_ts > self.now {
            self.now = cx.conn.end_ts;
        }
        self.advance(emit);
        self.shed_index(emit);
    }

    /// A connection from `client` opened (told before it finishes, as the
    /// capture is read): the cross-connection rules that care learn which
    /// hosts open connections (C007: which can be proxies).
    pub fn opened(&mut self, client: std::net::IpAddr) {
        for c in &mut self.cross {
            c.state.opened(client);
        }
    }

    /// Settles everything (the capture is over) and hands on what is left.
    pub fn finish(mut self, emit: &mut impl FnMut(Finding)) -> LintStats {
        self.settle(Timestamp(i64::MAX), true, emit);
        self.release(u64::MAX, emit);
        // Nothing should be left; whatever is, in id order.
        let mut rest: Vec<(u64, Vec<Finding>)> = self.held.drain().collect();
        rest.sort_unstable_by_key(|(id, _)| *id);
        for (id, findings) in rest {
            debug_assert!(false, "findings left on connection {id}");
            self.hand_on(id, findings, emit);
        }
        self.stats
    }

    /// Every finding of a capture, in order: [`Linter::connection`] for each
    /// of `connections`, then [`Linter::finish`] (tests).
    pub fn collect<'a>(
        config: &Config,
        connections: impl IntoIterator<Item = ConnectionFacts<'a>>,
    ) -> Vec<Finding> {
        let mut linter = Linter::new(config);
        let mut found = Vec::new();
        let mut emit = |f| found.push(f);
        for cx in connections {
            linter.connection(&cx, &mut emit);
        }
        linter.finish(&mut emit);
        found
    }

    fn note_tunnel(&mut self, id: u64, tunnel: &crate::decode::TunnelPath) {
        let name = tunnel.to_string();
        let i = match self.tunnel_index.get(&name) {
            Some(&i) => i,
            None if self.tunnel_names.len() < MAX_TUNNEL_NAMES => {
                let i = u32::try_from(self.tunnel_names.len()).unwrap_or(u32::MAX);
                self.tunnel_index.insert(name.clone(), i);
                self.tunnel_names.push(name);
                i
            }
            None => return,
        };
        self.tunnel_of.insert(id, i);
    }

    /// Connection `id`, which began at `first_ts`, has finished.
    fn finished(&mut self, id: u64, first_ts: Timestamp) {
        if id < self.prefix {
            return;
        }
        if id == self.prefix && self.ahead.is_empty() {
            // In order with nothing ahead (nearly always).
            self.prefix_ts = Some(first_ts);
            self.prefix = self.prefix.saturating_add(1);
            return;
        }
        self.ahead.insert(id, first_ts);
        while let Some(ts) = self.ahead.remove(&self.prefix) {
            self.prefix_ts = Some(ts);
            self.prefix = self.prefix.saturating_add(1);
        }
    }

    /// Settles as far as the finished connections allow (or the bounds
    /// force), then hands on what the rules no longer hold.
    fn advance(&mut self, emit: &mut impl FnMut(Finding)) {
        if !self.cross.is_empty() {
            let exact = self.prefix_ts.unwrap_or(Timestamp(i64::MIN));
            let mut at = exact;
            let waited = self.now.add_nanos(MAX_WAIT_NS.saturating_neg());
            if waited > at {
                at = waited;
                self.stats.waits_cut = self.stats.waits_cut.saturating_add(1);
            }
            if self.ahead.len() > self.limits.max_index_connections && self.now > at {
                at = self.now;
                self.stats.index_limit_hits = self.stats.index_limit_hits.saturating_add(1);
            }
            if self.settled.is_none_or(|s| at > s) {
                self.settle(at, at == exact, emit);
            }
        }
        self.release(self.prefix, emit);
    }

    fn settle(&mut self, at: Timestamp, exact: bool, emit: &mut impl FnMut(Finding)) {
        self.settled = Some(at);
        let max = self.limits.max_index_connections;
        for i in 0..self.cross.len() {
            let mut out = CrossOut::default();
            if let Some(c) = self.cross.get_mut(i) {
                c.state.settle(at, exact, &mut out);
                if c.state.bound(max, &mut out) {
                    self.stats.index_limit_hits = self.stats.index_limit_hits.saturating_add(1);
                }
            }
            self.take(i, out, emit);
        }
    }

    /// Hands on the findings of every connection below `upto` that no rule
    /// holds any more.
    fn release(&mut self, upto: u64, emit: &mut impl FnMut(Finding)) {
        let held_by = self.cross.iter().filter_map(|c| c.state.holds()).min();
        let upto = upto.min(held_by.unwrap_or(u64::MAX)).min(self.prefix);
        while self.released < upto {
            let id = self.released;
            if let Some(findings) = self.held.remove(&id) {
                self.hand_on(id, findings, emit);
            }
            self.tunnel_of.remove(&id);
            if let Some(book) = self.books.remove(&id) {
                self.book_bytes_changed(book.held_bytes(), 0);
            }
            self.released = self.released.saturating_add(1);
        }
    }

    /// One connection's findings, in order, named with its tunnel.
    fn hand_on(&mut self, id: u64, mut findings: Vec<Finding>, emit: &mut impl FnMut(Finding)) {
        findings.sort_by(|a, b| {
            a.ts.cmp(&b.ts)
                .then(a.transaction.cmp(&b.transaction))
                .then(a.code.cmp(b.code))
        });
        let tunnel = self
            .tunnel_of
            .get(&id)
            .and_then(|&i| self.tunnel_names.get(i as usize));
        for mut f in findings {
            if let Some(name) = tunnel {
                f.evidence
                    .insert("tunnel".to_string(), Value::from(name.as_str()));
            }
            emit(f);
        }
    }

    /// Takes what cross-connection rule `i` reported.
    fn take(&mut self, i: usize, out: CrossOut, emit: &mut impl FnMut(Finding)) {
        for cover in out.covers {
            self.cover(cover);
        }
        let Some(settings) = self.cross.get(i).map(|c| c.settings) else {
            return;
        };
        let mut findings = out.findings;
        apply_severity(&mut findings, settings);
        for mut f in findings {
            if let Some(book) = self.books.get(&f.connection) {
                book.place(&mut f);
            }
            if let Some(covers) = f.covers.take() {
                if let Some(t) = self.tallies.remove(&(f.code, covers.group)) {
                    t.attach(&mut f);
                }
            }
            if f.connection < self.released {
                // A rule reported on a connection it had let go: hand it
                // on rather than lose it.
                debug_assert!(false, "{} reported on a released connection", f.code);
                emit(f);
                continue;
            }
            self.held.entry(f.connection).or_default().push(f);
        }
    }

    fn cover(&mut self, cover: Cover) {
        match cover {
            Cover::Connection {
                code,
                group,
                connection,
                order,
                subsumes,
            } => {
                let limit = self.severity_of(code);
                let Some(findings) = self.held.get_mut(&connection) else {
                    return;
                };
                let mut folded: Vec<&'static str> = Vec::new();
                findings.retain(|f| {
                    let fold = subsumes.contains(&f.code) && f.severity <= limit;
                    if fold {
                        folded.push(f.code);
                    }
                    !fold
                });
                if findings.is_empty() {
                    self.held.remove(&connection);
                }
                if !folded.is_empty() {
                    let t = self.tallies.entry((code, group)).or_default();
                    for c in folded {
                        t.note(c, order, connection);
                    }
                }
            }
            Cover::Merge { code, from, into } => {
                if let Some(t) = self.tallies.remove(&(code, from)) {
                    self.tallies.entry((code, into)).or_default().merge(t);
                }
            }
        }
    }

    /// The severity findings of rule `code` get (a finding more severe than
    /// a group finding is not folded into it: a configured severity must
    /// not be hidden).
    fn severity_of(&self, code: &str) -> Severity {
        self.rules
            .iter()
            .find(|(r, _)| r.meta().code == code)
            .map_or(Severity::Error, |(r, s)| {
                s.severity.unwrap_or(r.meta().severity)
            })
    }
}

/// Drops the findings of one connection whose cause another of them
/// already states ([`Rule::folds`]).
/// A finding on a connection finished early under memory pressure
/// (`max_memory`) says it was judged on what had been seen.
fn mark_shed(f: &mut Finding) {
    f.message.push_str(
        " (the connection was finished early under memory pressure, max_memory: judged on what \
         was seen until then)",
    );
    f.evidence
        .insert("finished_early".into(), Value::from("memory pressure"));
}

fn fold(findings: &mut Vec<Finding>) {
    if findings.len() < 2 {
        return;
    }
    let rule_of = |code: &str| catalogue::all().iter().find(|r| r.meta().code == code);
    let folded: Vec<bool> = findings
        .iter()
        .map(|other| {
            findings.iter().any(|mine| {
                mine.code != other.code && rule_of(mine.code).is_some_and(|r| r.folds(mine, other))
            })
        })
        .collect();
    let mut k = 0usize;
    findings.retain(|_| {
        let i = k;
        k = k.saturating_add(1);
        !folded.get(i).copied().unwrap_or(false)
    });
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
    fn a_chain_longer_than_the_wait_is_one_finding_that_folds_all() {
        // One request every 5 s for 800 s: the chain is one finding, and
        // every connection's S001 is folded into it, though the first ones
        // were handed on long before the chain ended.
        let t = chain(160, 5000.0);
        let f = run(&t, &["S001", "S002"], "");
        assert_eq!(f.len(), 1, "{:?}", codes(&f));
        assert_eq!(f[0].code, "S002");
        assert_eq!(f[0].evidence["connections"], 160);
        assert_eq!(f[0].evidence["folded_findings"], 160);
        let listed = f[0].evidence["folded"]["S001"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(listed, 50, "ids listed at most");
    }
}
