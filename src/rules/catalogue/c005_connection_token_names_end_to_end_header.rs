//! C005 connection-token-names-end-to-end-header: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct ConnectionTokenNamesEndToEndHeader;

static META: RuleMeta = RuleMeta {
    code: "C005",
    name: "connection-token-names-end-to-end-header",
    family: Family::ConnectionHeader,
    severity: Severity::Warning,
    summary: "a Connection token names an end-to-end field (Content-Length, Host, Authorization, Cookie, Content-Type, ...) that a proxy would then strip",
    doc: "",
    options: &[],
};

impl Rule for ConnectionTokenNamesEndToEndHeader {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
