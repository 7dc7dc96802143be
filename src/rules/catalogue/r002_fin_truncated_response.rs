//! R002 fin-truncated-response: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct FinTruncatedResponse;

static META: RuleMeta = RuleMeta {
    code: "R002",
    name: "fin-truncated-response",
    family: Family::Reset,
    severity: Severity::Error,
    summary: "the server closed with FIN before the response's Content-Length or final chunk",
    doc: "",
    options: &[],
};

impl Rule for FinTruncatedResponse {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
