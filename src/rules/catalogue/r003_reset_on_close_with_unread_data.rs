//! R003 reset-on-close-with-unread-data: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct ResetOnCloseWithUnreadData;

static META: RuleMeta = RuleMeta {
    code: "R003",
    name: "reset-on-close-with-unread-data",
    family: Family::Reset,
    severity: Severity::Warning,
    summary: "one side closed while data from the peer was still unread (e.g. pipelined requests arriving after the server's close), and an RST followed",
    doc: "",
    options: &[],
};

impl Rule for ResetOnCloseWithUnreadData {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
