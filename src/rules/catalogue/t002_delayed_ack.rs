//! T002 delayed-ack: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct DelayedAck;

static META: RuleMeta = RuleMeta {
    code: "T002",
    name: "delayed-ack",
    family: Family::Tcp,
    severity: Severity::Info,
    summary: "a pure ACK sent >= delayed_ack_ms (35 ms) after the data it acknowledges, and the data's sender transmits new data as soon as that ACK reaches it (seen at the capture point: within release_ms (5 ms) plus the round trip between the capture point and the sender, estimated from the handshake or timestamps) — evidence it was blocked on the ACK (Nagle, or a full window)",
    doc: "",
    options: &[],
};

impl Rule for DelayedAck {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
