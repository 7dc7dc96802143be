//! C001 keep-alive-header-without-connection-token: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct KeepAliveHeaderWithoutConnectionToken;

static META: RuleMeta = RuleMeta {
    code: "C001",
    name: "keep-alive-header-without-connection-token",
    family: Family::ConnectionHeader,
    severity: Severity::Warning,
    summary: "a Keep-Alive header in a message whose Connection header lacks keep-alive",
    doc: "",
    options: &[],
};

impl Rule for KeepAliveHeaderWithoutConnectionToken {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
