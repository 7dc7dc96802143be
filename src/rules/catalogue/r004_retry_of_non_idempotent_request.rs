//! R004 retry-of-non-idempotent-request: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct RetryOfNonIdempotentRequest;

static META: RuleMeta = RuleMeta {
    code: "R004",
    name: "retry-of-non-idempotent-request",
    family: Family::Reset,
    severity: Severity::Error,
    summary: "a non-idempotent request that failed (reset/close without complete response) sent again on a new connection",
    doc: "",
    options: &[],
};

impl Rule for RetryOfNonIdempotentRequest {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
