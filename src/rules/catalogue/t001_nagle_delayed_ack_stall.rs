//! T001 nagle-delayed-ack-stall: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct NagleDelayedAckStall;

static META: RuleMeta = RuleMeta {
    code: "T001",
    name: "nagle-delayed-ack-stall",
    family: Family::Tcp,
    severity: Severity::Warning,
    summary: "inside one HTTP message, a sender with a small (< MSS) unacknowledged segment sends its next data only after the peer's pure ACK (not after peer data such as a 100 Continue), and that wait is >= stall_ms (20 ms): the write-write-read pattern. Works from either capture point (client side, server side)",
    doc: "",
    options: &[],
};

impl Rule for NagleDelayedAckStall {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
