//! What a rule stands on, and all it stands on: the [`Rule`] trait, the
//! [`RuleSettings`] it is run with, the [`Finding`] it reports, the
//! [`RuleMeta`] it declares, and what it is shown (one connection's
//! [`ConnectionFacts`], and for a rule that relates connections, each
//! one's [`ConnSummary`] in its [`CrossRule`] state).
//!
//! A rule file imports all of it (`use crate::rules::api::*;`), and
//! otherwise only the catalogue's shared helpers and the pipeline's stages,
//! never another rule file (the `architecture` test checks it). Nothing here
//! knows the catalogue: the engine and the configuration, above it, do.

pub use super::context::ConnectionFacts;
pub use super::finding::{Covers, Finding, Ms};
pub use super::index::{ConnSummary, FailedRequest, RequestFailure, RequestSummary, TlsSummary};
pub use super::meta::{Family, OptionSpec, RuleMeta, Severity};
pub use crate::Timestamp;
use std::collections::BTreeMap;

/// A lint rule. It sees one finished connection at a time
/// ([`Rule::check_connection`]); a rule that compares connections (churn,
/// parallelism, retries, the two legs of a proxy) also declares how far
/// apart in capture time the connections it relates may be
/// ([`Rule::horizon`]) and keeps its own state over the capture
/// ([`Rule::cross`]), fed each finished connection's summary and told as
/// the capture's clock advances what can no longer change.
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;

    /// Checks one finished connection.
    fn check_connection(
        &self,
        _cx: &ConnectionFacts<'_>,
        _settings: &RuleSettings,
        _out: &mut Vec<Finding>,
    ) {
    }

    /// What the rule needs the pipeline to keep of each connection beyond
    /// its transactions, with these settings. The engine folds the enabled
    /// rules' needs into what the HTTP layer keeps, so nothing is kept that
    /// no rule would read.
    fn needs(&self, _settings: &RuleSettings) -> Needs {
        Needs::default()
    }

    /// Whether `mine`, a finding of this rule, already states the cause of
    /// `other`, another rule's finding on the same connection: one cause,
    /// one finding, so the engine drops `other` (the keeper carries its
    /// evidence). Applied only when both rules ran, so ignoring the keeper
    /// brings the other finding back.
    fn folds(&self, _mine: &Finding, _other: &Finding) -> bool {
        false
    }

    /// For a rule that relates connections to each other: the longest time,
    /// in capture time and with these settings, between two connections it
    /// relates (its window: S002's pause between a close and the next SYN,
    /// C007's delay between a proxy's two legs). `None` for a rule that
    /// judges each connection alone. The engine keeps nothing of a
    /// connection for a rule beyond it, and says so in the rule's state
    /// ([`CrossRule::settle`]).
    fn horizon(&self, _settings: &RuleSettings) -> Option<i64> {
        None
    }

    /// The rule's state over one capture, for a rule with a
    /// [`Rule::horizon`].
    fn cross(&self, _settings: &RuleSettings) -> Option<Box<dyn CrossRule>> {
        None
    }
}

/// A cross-connection rule's state over one capture: fed the summary of
/// each finished connection ([`CrossRule::add`]), told as the capture's
/// clock advances that every connection that began before some time has
/// finished ([`CrossRule::settle`]), it reports what can no longer change
/// and forgets what no later connection can relate to. Its findings go on
/// connections it has been shown; until it is sure it will put no more on a
/// connection, or fold none of that connection's findings, it says so
/// ([`CrossRule::holds`]) and the engine keeps that connection's findings
/// (and those of every later one) back.
pub trait CrossRule: Send {
    /// A connection finished.
    fn add(&mut self, summary: &ConnSummary<'_>, out: &mut CrossOut);

    /// Every connection that began before `settled` has finished (and been
    /// added); `exact` is false when the engine stopped waiting for one
    /// that has not (open longer than it waits, or past its bounds), which
    /// may yet arrive late.
    fn settle(&mut self, settled: Timestamp, exact: bool, out: &mut CrossOut);

    /// The lowest connection id this rule may still put a finding on, or
    /// cover ([`Cover`]).
    fn holds(&self) -> Option<u64>;

    /// A connection from `client` opened, before anything of it is added.
    /// Told for every connection when the capture is read by
    /// [`crate::analyze`] (not by the test harness, whose rules must then
    /// assume any host may open one).
    fn opened(&mut self, _client: std::net::IpAddr) {}

    /// Keeps what the rule holds within `max` connections' worth, judging
    /// the oldest early if it must (the bound on cross-connection state
    /// under hostile input, `max_index_connections`); true if it had to.
    fn bound(&mut self, max: usize, out: &mut CrossOut) -> bool;
}

/// What a [`CrossRule`] reports: findings, and the connections its group
/// findings cover (see [`Covers`]).
#[derive(Debug, Default)]
pub struct CrossOut {
    pub findings: Vec<Finding>,
    pub covers: Vec<Cover>,
}

/// A connection taken into a group a rule will report as one finding (a
/// churn chain), or two such groups found to be one. The engine folds the
/// findings the group's rule subsumes on the covered connection into the
/// group's finding ([`Covers`]), which the rule reports later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cover {
    /// `connection` belongs to group `group` of the rule `code`, whose
    /// finding subsumes the findings of `subsumes` there; `order` sorts the
    /// connections listed in the group finding's `folded` evidence (their
    /// start, then id).
    Connection {
        code: &'static str,
        group: u64,
        connection: u64,
        order: (Timestamp, u64),
        subsumes: &'static [&'static str],
    },
    /// Group `from` of the rule `code` joined group `into`: what was folded
    /// into the first now belongs to the second.
    Merge {
        code: &'static str,
        from: u64,
        into: u64,
    },
}

/// The longest, in capture time, that the engine and the cross-connection
/// rules keep something waiting on what may still change it (a connection
/// still open, a stretch still going on): past it, they settle with what
/// they have.
pub const MAX_PENDING_NS: i64 = 300 * 1_000_000_000;

/// What a rule needs kept of each connection beyond its transactions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// The ack releases (data that left only after the peer's pure ACK)
    /// whose sender had been quiet at least this long, in nanoseconds;
    /// `None`: none.
    pub ack_releases_idle_ns: Option<i64>,
}

impl Needs {
    /// What two rules need together: the shorter of the two idle times.
    pub fn and(self, other: Needs) -> Needs {
        let ack_releases_idle_ns = match (self.ack_releases_idle_ns, other.ack_releases_idle_ns) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Needs {
            ack_releases_idle_ns,
        }
    }
}

/// One rule's settings once everything is resolved.
#[derive(Clone, Debug)]
pub struct RuleSettings {
    pub enabled: bool,
    pub severity: Option<Severity>,
    /// Every option of the rule, with its default or configured value.
    pub options: BTreeMap<&'static str, f64>,
}

impl RuleSettings {
    /// The value of one of the rule's declared options.
    ///
    /// Rules ask only for keys they declare (the meta-test checks every
    /// rule's option keys against its uses), so a missing key is a bug: it
    /// falls back to 0 rather than bringing the run down.
    pub fn get(&self, key: &str) -> f64 {
        debug_assert!(self.options.contains_key(key), "undeclared option {key}");
        self.options.get(key).copied().unwrap_or(0.0)
    }

    /// An option in milliseconds, as nanoseconds.
    pub fn ms_as_ns(&self, key: &str) -> i64 {
        (self.get(key) * 1e6) as i64
    }

    /// An option in seconds, as nanoseconds.
    pub fn s_as_ns(&self, key: &str) -> i64 {
        (self.get(key) * 1e9) as i64
    }
}
