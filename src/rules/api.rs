//! What a rule stands on, and all it stands on: the [`Rule`] trait, the
//! [`RuleSettings`] it is run with, the [`Finding`] it reports, the
//! [`RuleMeta`] it declares, and what it is shown (one connection's
//! [`ConnectionFacts`], or the capture's [`CaptureIndex`]).
//!
//! A rule file imports all of it (`use crate::rules::api::*;`), and
//! otherwise only the catalogue's shared helpers and the pipeline's stages,
//! never another rule file (the `architecture` test checks it). Nothing here
//! knows the catalogue: the engine and the configuration, above it, do.

pub use super::context::ConnectionFacts;
pub use super::finding::{Covers, Finding, Ms};
pub use super::index::{CaptureIndex, ConnSummary, FailedRequest, RequestSummary, TlsSummary};
pub use super::meta::{Family, OptionSpec, RuleMeta, Severity};
use std::collections::BTreeMap;

/// A lint rule. It sees one finished connection at a time
/// ([`Rule::check_connection`]) and, for the rules that compare connections
/// (churn, parallelism, retries, the two legs of a proxy), the capture's
/// index of connection summaries ([`Rule::check_capture`]).
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

    /// Checks what the capture's connections say together. Called when
    /// summaries are about to leave the index and at the end of the capture;
    /// findings are de-duplicated by (code, connection, transaction), so a
    /// rule may report the same thing twice.
    fn check_capture(
        &self,
        _index: &CaptureIndex,
        _settings: &RuleSettings,
        _out: &mut Vec<Finding>,
    ) {
    }
}

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
