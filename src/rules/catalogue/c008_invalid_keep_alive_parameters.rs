//! C008 invalid-keep-alive-parameters: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct InvalidKeepAliveParameters;

static META: RuleMeta = RuleMeta {
    code: "C008",
    name: "invalid-keep-alive-parameters",
    family: Family::ConnectionHeader,
    severity: Severity::Info,
    summary: "Keep-Alive parameters that do not parse (timeout/max not non-negative integers)",
    doc: "",
    options: &[],
};

impl Rule for InvalidKeepAliveParameters {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
