//! Repeats of one finding, folded into one entry for people.
//!
//! A busy capture can hold 100 k connections that all do the same thing; the
//! table, SARIF, JUnit and GitHub outputs then show one entry per *group*:
//! the findings of one rule between one client host and one server
//! endpoint, in one capture. [`GroupKey`] is that identity, defined here
//! once and used by every format: the JSON and JSON Lines records carry it
//! as their `group` field (`"S004 10.0.0.1 -> 10.0.0.2:80"`), SARIF as the
//! result's partial fingerprint.
//!
//! A [`Group`] is a bounded accumulator — key, count, connections, first and
//! last time, highest severity, and at most [`EXAMPLES`] example findings —
//! fed one finding at a time, so findings can be grouped as they are
//! produced without holding them all ([`Grouper`] keeps one `Group` per key,
//! in the order of each group's first finding).

use crate::rules::{Finding, Severity};
use crate::Timestamp;
use rustc_hash::FxHashMap;
use std::fmt;

/// Most example findings a group keeps.
pub const EXAMPLES: usize = 3;

/// What makes two findings repeats of each other: the rule, the client's
/// host (its address, without the port: every connection of a client has a
/// new one) and the server endpoint (address and port).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    pub code: &'static str,
    pub client_host: String,
    pub server: String,
}

impl GroupKey {
    pub fn of(f: &Finding) -> GroupKey {
        GroupKey {
            code: f.code,
            client_host: host(&f.client).to_string(),
            server: f.server.clone(),
        }
    }
}

/// `S004 10.0.0.1 -> 10.0.0.2:80`; IPv6: `S004 2001:db8::1 -> [2001:db8::2]:80`.
impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {}", self.code, self.client_host, self.server)
    }
}

/// A finding's **fingerprint**, stable across runs and captures: its
/// [`GroupKey`] (rule, client host, server endpoint), followed, when the
/// finding is about a request, by the request's method and target —
/// `T001 10.0.0.1 -> 10.0.0.2:80 POST /orders`. No connection id, client
/// port, time or frame, which change from one capture to the next.
///
/// So findings with one fingerprint always share a group; a group holds
/// the findings of several fingerprints when its requests differ. SARIF
/// gives each result both (`connlint/v1` and `connlintGroup/v1`), the
/// baseline (`--write-baseline`) records fingerprints.
pub fn fingerprint(f: &Finding) -> String {
    let key = GroupKey::of(f).to_string();
    match request_of(f) {
        Some((method, uri)) => format!("{key} {method} {uri}"),
        None => key,
    }
}

/// The method and target of the request a finding is about, if any.
fn request_of(f: &Finding) -> Option<(&str, &str)> {
    let p = f.place.as_deref()?;
    f.transaction?;
    Some((
        p.method.as_deref().unwrap_or("-"),
        p.uri.as_deref().unwrap_or("-"),
    ))
}

/// The address of an endpoint written `addr:port` or `[addr]:port` (IPv6),
/// without the port or brackets. Anything else is returned as it is.
pub fn host(endpoint: &str) -> &str {
    if let Some(rest) = endpoint.strip_prefix('[') {
        if let Some((addr, _)) = rest.split_once(']') {
            return addr;
        }
        return endpoint;
    }
    match endpoint.rsplit_once(':') {
        // One colon only: an IPv4 address (or a name) and a port.
        Some((addr, _)) if !addr.contains(':') => addr,
        _ => endpoint,
    }
}

/// The findings of one [`GroupKey`] in one capture, summed up.
#[derive(Clone, Debug)]
pub struct Group {
    pub key: GroupKey,
    /// The rule's name (the key has its code).
    pub rule: &'static str,
    /// The highest severity of its findings (a rule can report at two).
    pub severity: Severity,
    pub count: u64,
    /// Distinct connections, counted as the connection changes from one
    /// finding of the group to the next: exact when each connection's
    /// findings arrive together, as they do (in connection order today,
    /// as each connection settles when findings stream).
    pub connections: u64,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    /// The group's first finding: always its first example.
    first: Finding,
    /// The other examples, at most `EXAMPLES - 1`.
    later: Vec<Finding>,
    last_connection: u64,
    /// Every finding so far has the first one's fingerprint.
    one_fingerprint: bool,
}

impl Group {
    /// A group of one: `f`.
    pub fn new(f: &Finding) -> Group {
        Group {
            key: GroupKey::of(f),
            rule: f.rule,
            severity: f.severity,
            count: 1,
            connections: 1,
            first_ts: f.ts,
            last_ts: f.ts,
            first: f.clone(),
            later: Vec::new(),
            last_connection: f.connection,
            one_fingerprint: true,
        }
    }

    /// The fingerprint all of the group's findings share, or, when they
    /// differ (several requests), the group key followed by ` *`.
    pub fn fingerprint(&self) -> String {
        if self.one_fingerprint {
            fingerprint(&self.first)
        } else {
            format!("{} *", self.key)
        }
    }

    /// Adds a finding with this group's key.
    pub fn add(&mut self, f: &Finding) {
        debug_assert_eq!(GroupKey::of(f), self.key);
        // Both bounded by the findings a capture holds: never near u64::MAX.
        self.count = self.count.saturating_add(1);
        if f.connection != self.last_connection {
            self.connections = self.connections.saturating_add(1);
            self.last_connection = f.connection;
        }
        self.severity = self.severity.max(f.severity);
        self.one_fingerprint &= request_of(f) == request_of(&self.first);
        self.first_ts = self.first_ts.min(f.ts);
        self.last_ts = self.last_ts.max(f.ts);
        self.offer(f);
    }

    /// Keeps `f` as an example if there is room, or if it shows a
    /// connection the examples do not while two of them share one: the
    /// examples are the first findings of the first [`EXAMPLES`]
    /// connections, or, when the group has fewer connections so far, its
    /// first findings. They stay in the order they came.
    fn offer(&mut self, f: &Finding) {
        if self.later.len() < EXAMPLES - 1 {
            self.later.push(f.clone());
            return;
        }
        if self.examples().any(|e| e.connection == f.connection) {
            return;
        }
        // The last example whose connection an earlier one shows (never the
        // first example: nothing comes before it).
        let repeat = self.later.iter().enumerate().rev().find(|&(i, e)| {
            std::iter::once(&self.first)
                .chain(self.later.iter().take(i))
                .any(|b| b.connection == e.connection)
        });
        if let Some((i, _)) = repeat {
            self.later.remove(i);
            self.later.push(f.clone());
        }
    }

    /// The example findings, in the order they came; the first is the
    /// group's first finding.
    pub fn examples(&self) -> impl Iterator<Item = &Finding> {
        std::iter::once(&self.first).chain(&self.later)
    }

    /// The first finding of the group.
    pub fn first(&self) -> &Finding {
        &self.first
    }

    /// Findings of the group beyond its examples.
    pub fn beyond_examples(&self) -> u64 {
        self.more(self.later.len().saturating_add(1))
    }

    /// Findings of the group beyond the first `shown`.
    pub fn more(&self, shown: usize) -> u64 {
        self.count.saturating_sub(shown as u64)
    }
}

/// Groups findings fed one at a time, by [`GroupKey`], in the order of each
/// group's first finding. Holds one bounded [`Group`] per key, never the
/// findings themselves, and at most `max` groups: a finding of a further
/// group is counted ([`Grouper::dropped`]), not grouped.
#[derive(Debug)]
pub struct Grouper {
    groups: Vec<Group>,
    index: FxHashMap<GroupKey, usize>,
    max: usize,
    dropped: u64,
}

impl Default for Grouper {
    fn default() -> Self {
        Grouper::with_max(usize::MAX)
    }
}

impl Grouper {
    /// A grouper of at most `max` groups.
    pub fn with_max(max: usize) -> Grouper {
        Grouper {
            groups: Vec::new(),
            index: FxHashMap::default(),
            max,
            dropped: 0,
        }
    }

    /// Adds `f` to its group; false if it is a new group past the bound.
    pub fn push(&mut self, f: &Finding) -> bool {
        let key = GroupKey::of(f);
        match self.index.get(&key) {
            Some(&i) => {
                if let Some(g) = self.groups.get_mut(i) {
                    g.add(f);
                }
            }
            None if self.groups.len() < self.max => {
                self.index.insert(key, self.groups.len());
                self.groups.push(Group::new(f));
            }
            None => {
                self.dropped = self.dropped.saturating_add(1);
                return false;
            }
        }
        true
    }

    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn into_groups(self) -> Vec<Group> {
        self.groups
    }

    /// Findings of groups past the bound, counted only.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

impl<'a> FromIterator<&'a Finding> for Grouper {
    fn from_iter<I: IntoIterator<Item = &'a Finding>>(iter: I) -> Grouper {
        let mut g = Grouper::default();
        iter.into_iter().for_each(|f| {
            g.push(f);
        });
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn finding(code: &'static str, conn: u64, client: &str, server: &str, ts: i64) -> Finding {
        Finding {
            code,
            rule: "rule-name",
            severity: Severity::Info,
            connection: conn,
            client: client.to_string(),
            server: server.to_string(),
            transaction: None,
            ts: Timestamp(ts),
            message: format!("on {conn} at {ts}"),
            evidence: Map::new(),
            covers: None,
            place: None,
        }
    }

    #[test]
    fn host_drops_the_port_and_ipv6_brackets() {
        assert_eq!(host("10.0.0.1:51000"), "10.0.0.1");
        assert_eq!(host("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(host("2001:db8::1"), "2001:db8::1");
        assert_eq!(host("10.0.0.1"), "10.0.0.1");
        assert_eq!(host("[broken"), "[broken");
        assert_eq!(host(""), "");
    }

    #[test]
    fn key_is_rule_client_host_and_server_endpoint() {
        let a = finding("S004", 0, "10.0.0.1:40000", "10.0.0.2:80", 0);
        let b = finding("S004", 1, "10.0.0.1:40001", "10.0.0.2:80", 0);
        assert_eq!(GroupKey::of(&a), GroupKey::of(&b));
        assert_eq!(GroupKey::of(&a).to_string(), "S004 10.0.0.1 -> 10.0.0.2:80");
        // Another rule, client host, server port or server host: another group.
        for other in [
            finding("S001", 0, "10.0.0.1:40000", "10.0.0.2:80", 0),
            finding("S004", 0, "10.0.0.3:40000", "10.0.0.2:80", 0),
            finding("S004", 0, "10.0.0.1:40000", "10.0.0.2:8080", 0),
            finding("S004", 0, "10.0.0.1:40000", "10.0.0.4:80", 0),
        ] {
            assert_ne!(GroupKey::of(&a), GroupKey::of(&other));
        }
        let v6 = finding("S004", 0, "[2001:db8::1]:40000", "[2001:db8::2]:80", 0);
        assert_eq!(
            GroupKey::of(&v6).to_string(),
            "S004 2001:db8::1 -> [2001:db8::2]:80"
        );
    }

    #[test]
    fn a_group_counts_spans_and_keeps_three_connections_as_examples() {
        let mut g: Grouper = (0..100u64)
            .map(|i| {
                finding(
                    "S004",
                    i,
                    &format!("10.0.0.1:{}", 40000 + i),
                    "10.0.0.2:80",
                    1000 - i as i64,
                )
            })
            .collect::<Vec<_>>()
            .iter()
            .collect();
        assert!(g.push(&finding("S001", 7, "10.0.0.1:40007", "10.0.0.2:80", 5)));
        let groups = g.into_groups();
        assert_eq!(groups.len(), 2);
        let s004 = &groups[0];
        assert_eq!(s004.count, 100);
        assert_eq!(s004.connections, 100);
        // Times need not come in order: first and last are the extremes.
        assert_eq!(s004.first_ts, Timestamp(901));
        assert_eq!(s004.last_ts, Timestamp(1000));
        let conns: Vec<u64> = s004.examples().map(|f| f.connection).collect();
        assert_eq!(conns, [0, 1, 2]);
        assert_eq!(s004.more(3), 97);
        assert_eq!(s004.first().connection, 0);
        assert_eq!(groups[1].count, 1);
        assert_eq!(groups[1].key.code, "S001");
    }

    #[test]
    fn examples_prefer_new_connections_but_fill_from_few() {
        let f = |conn, ts| finding("T002", conn, "10.0.0.1:40000", "10.0.0.2:80", ts);
        // Five findings on connection 0: the first three are the examples.
        let mut g = Group::new(&f(0, 0));
        for ts in 1..5 {
            g.add(&f(0, ts));
        }
        let seen: Vec<(u64, i64)> = g.examples().map(|e| (e.connection, e.ts.0)).collect();
        assert_eq!(seen, [(0, 0), (0, 1), (0, 2)]);
        assert_eq!(g.connections, 1);
        // Connection 1 takes the place of connection 0's last example,
        // connection 2 the next one; connection 3 finds no repeat to replace.
        g.add(&f(1, 10));
        g.add(&f(1, 11));
        let seen: Vec<(u64, i64)> = g.examples().map(|e| (e.connection, e.ts.0)).collect();
        assert_eq!(seen, [(0, 0), (0, 1), (1, 10)]);
        g.add(&f(2, 20));
        g.add(&f(3, 30));
        let seen: Vec<(u64, i64)> = g.examples().map(|e| (e.connection, e.ts.0)).collect();
        assert_eq!(seen, [(0, 0), (1, 10), (2, 20)]);
        assert_eq!(g.count, 9);
        assert_eq!(g.connections, 4);
        assert_eq!(g.beyond_examples(), 6);
    }

    #[test]
    fn severity_is_the_highest() {
        let mut a = finding("F003", 0, "10.0.0.1:1", "10.0.0.2:80", 0);
        a.severity = Severity::Warning;
        let mut b = a.clone();
        b.severity = Severity::Error;
        let mut g = Group::new(&a);
        g.add(&b);
        g.add(&a);
        assert_eq!(g.severity, Severity::Error);
    }
}
