//! P003 unanswered-pipelined-requests-at-close: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct UnansweredPipelinedRequestsAtClose;

static META: RuleMeta = RuleMeta {
    code: "P003",
    name: "unanswered-pipelined-requests-at-close",
    family: Family::Pipelining,
    severity: Severity::Warning,
    summary: "the connection closed (FIN or RST) with pipelined requests that got no response",
    doc: "",
    options: &[],
};

impl Rule for UnansweredPipelinedRequestsAtClose {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
