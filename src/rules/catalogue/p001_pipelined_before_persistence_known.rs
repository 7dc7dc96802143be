//! P001 pipelined-before-persistence-known: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct PipelinedBeforePersistenceKnown;

static META: RuleMeta = RuleMeta {
    code: "P001",
    name: "pipelined-before-persistence-known",
    family: Family::Pipelining,
    severity: Severity::Warning,
    summary: "a second request sent before any response on the connection confirmed persistence (HTTP/1.0 peer, or first response not yet begun)",
    doc: "",
    options: &[],
};

impl Rule for PipelinedBeforePersistenceKnown {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
