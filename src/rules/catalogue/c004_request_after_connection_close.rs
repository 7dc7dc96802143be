//! C004 request-after-connection-close: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct RequestAfterConnectionClose;

static META: RuleMeta = RuleMeta {
    code: "C004",
    name: "request-after-connection-close",
    family: Family::ConnectionHeader,
    severity: Severity::Error,
    summary:
        "a request sent on a connection after a request or response on it carried Connection: close",
    doc: "",
    options: &[],
};

impl Rule for RequestAfterConnectionClose {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
