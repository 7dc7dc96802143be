//! S001 handshake-dominated: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct HandshakeDominated;

static META: RuleMeta = RuleMeta {
    code: "S001",
    name: "handshake-dominated",
    family: Family::Setup,
    severity: Severity::Warning,
    summary: "first transaction on a connection whose handshake was seen; connect >= handshake_ratio (0.4) of connect+send+wait+receive (one RTT of handshake against one RTT of request/response is the textbook case: about half); handshake RTT >= min_handshake_ms (1 ms); request+response bytes <= small_bytes (64 KiB)",
    doc: "",
    options: &[],
};

impl Rule for HandshakeDominated {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
