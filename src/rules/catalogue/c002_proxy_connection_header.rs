//! C002 proxy-connection-header: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct ProxyConnectionHeader;

static META: RuleMeta = RuleMeta {
    code: "C002",
    name: "proxy-connection-header",
    family: Family::ConnectionHeader,
    severity: Severity::Warning,
    summary: "a request carries Proxy-Connection (non-standard; breaks through chained proxies)",
    doc: "",
    options: &[],
};

impl Rule for ProxyConnectionHeader {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
