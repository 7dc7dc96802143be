//! R001 rst-truncated-response: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct RstTruncatedResponse;

static META: RuleMeta = RuleMeta {
    code: "R001",
    name: "rst-truncated-response",
    family: Family::Reset,
    severity: Severity::Error,
    summary: "the connection was reset before the response's framing was satisfied (Content-Length not reached, no final chunk); evidence: bytes expected/received, which side sent the RST, when",
    doc: "",
    options: &[],
};

impl Rule for RstTruncatedResponse {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
