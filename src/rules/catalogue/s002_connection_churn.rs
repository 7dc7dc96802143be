//! S002 connection-churn: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct ConnectionChurn;

static META: RuleMeta = RuleMeta {
    code: "S002",
    name: "connection-churn",
    family: Family::Setup,
    severity: Severity::Warning,
    summary: ">= churn_min (3) connections from one client to one server, each with one transaction and closed after it, each opened within churn_window_s (10 s) of the previous close: persistence would have saved the handshakes",
    doc: "",
    options: &[],
};

impl Rule for ConnectionChurn {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
