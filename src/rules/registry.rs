//! The rule registry: every rule connlint knows, in catalogue order.
//!
//! A rule sees one finished connection at a time ([`Rule::check_connection`])
//! and, for the rules that compare connections (churn, parallelism, retries,
//! the two legs of a proxy), the capture's index of connection summaries
//! ([`Rule::check_capture`]).

use super::config::RuleSettings;
use super::context::ConnectionFacts;
use super::finding::Finding;
use super::index::CaptureIndex;
use super::meta::RuleMeta;

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

/// Every rule, in catalogue order (SPEC §3).
pub fn all() -> &'static [&'static dyn Rule] {
    super::catalogue::RULES
}
