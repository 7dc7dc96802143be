//! S004 tuple-reused-in-time-wait: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct TupleReusedInTimeWait;

static META: RuleMeta = RuleMeta {
    code: "S004",
    name: "tuple-reused-in-time-wait",
    family: Family::Setup,
    severity: Severity::Info,
    summary: "same 4-tuple opened again < time_wait_s (60 s) after it closed",
    doc: "",
    options: &[],
};

impl Rule for TupleReusedInTimeWait {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
