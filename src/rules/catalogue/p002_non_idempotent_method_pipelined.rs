//! P002 non-idempotent-method-pipelined: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct NonIdempotentMethodPipelined;

static META: RuleMeta = RuleMeta {
    code: "P002",
    name: "non-idempotent-method-pipelined",
    family: Family::Pipelining,
    severity: Severity::Error,
    summary: "a POST/PATCH/non-idempotent request sent while an earlier response is outstanding, or an idempotent one queued behind it",
    doc: "",
    options: &[],
};

impl Rule for NonIdempotentMethodPipelined {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
