//! F002 content-length-with-transfer-encoding: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct ContentLengthWithTransferEncoding;

static META: RuleMeta = RuleMeta {
    code: "F002",
    name: "content-length-with-transfer-encoding",
    family: Family::Framing,
    severity: Severity::Error,
    summary:
        "a message carries both Content-Length and Transfer-Encoding (request-smuggling vector)",
    doc: "",
    options: &[],
};

impl Rule for ContentLengthWithTransferEncoding {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
