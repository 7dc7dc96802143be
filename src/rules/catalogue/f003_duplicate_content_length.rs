//! F003 duplicate-content-length: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct DuplicateContentLength;

static META: RuleMeta = RuleMeta {
    code: "F003",
    name: "duplicate-content-length",
    family: Family::Framing,
    severity: Severity::Warning,
    summary: "more than one Content-Length value (repeated field lines or a comma list): warning when all values agree (RFC 9112 tolerates it, lenient parsers disagree), error when they differ or one does not parse",
    doc: "",
    options: &[],
};

impl Rule for DuplicateContentLength {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
