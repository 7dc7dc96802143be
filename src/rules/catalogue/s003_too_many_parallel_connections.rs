//! S003 too-many-parallel-connections: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct TooManyParallelConnections;

static META: RuleMeta = RuleMeta {
    code: "S003",
    name: "too-many-parallel-connections",
    family: Family::Setup,
    severity: Severity::Warning,
    summary: "> max_parallel (6) connections from one client host to one server endpoint open at the same instant",
    doc: "",
    options: &[],
};

impl Rule for TooManyParallelConnections {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
