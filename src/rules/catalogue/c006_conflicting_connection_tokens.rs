//! C006 conflicting-connection-tokens: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct ConflictingConnectionTokens;

static META: RuleMeta = RuleMeta {
    code: "C006",
    name: "conflicting-connection-tokens",
    family: Family::ConnectionHeader,
    severity: Severity::Warning,
    summary: "one message says both close and keep-alive",
    doc: "",
    options: &[],
};

impl Rule for ConflictingConnectionTokens {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
