//! C003 keep-alive-not-echoed: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct KeepAliveNotEchoed;

static META: RuleMeta = RuleMeta {
    code: "C003",
    name: "keep-alive-not-echoed",
    family: Family::ConnectionHeader,
    severity: Severity::Warning,
    summary: "HTTP/1.0 request asked Connection: keep-alive, the response did not confirm it, yet the client sent another request on the connection (or the server held it open for one)",
    doc: "",
    options: &[],
};

impl Rule for KeepAliveNotEchoed {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
