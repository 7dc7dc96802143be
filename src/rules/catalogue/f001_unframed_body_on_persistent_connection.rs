//! F001 unframed-body-on-persistent-connection: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct UnframedBodyOnPersistentConnection;

static META: RuleMeta = RuleMeta {
    code: "F001",
    name: "unframed-body-on-persistent-connection",
    family: Family::Framing,
    severity: Severity::Warning,
    summary: "a response body delimited only by close (no Content-Length, not chunked) on a connection both sides meant to keep alive",
    doc: "",
    options: &[],
};

impl Rule for UnframedBodyOnPersistentConnection {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
