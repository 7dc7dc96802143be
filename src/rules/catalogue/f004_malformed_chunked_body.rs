//! F004 malformed-chunked-body: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct MalformedChunkedBody;

static META: RuleMeta = RuleMeta {
    code: "F004",
    name: "malformed-chunked-body",
    family: Family::Framing,
    severity: Severity::Error,
    summary: "chunk size line that does not parse, missing CRLF after chunk data, or a body that ends without the zero-size chunk on a complete connection",
    doc: "",
    options: &[],
};

impl Rule for MalformedChunkedBody {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
