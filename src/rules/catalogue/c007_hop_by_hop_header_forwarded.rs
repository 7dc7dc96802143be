//! C007 hop-by-hop-header-forwarded: not yet written (stub).

use crate::rules::meta::{Family, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct HopByHopHeaderForwarded;

static META: RuleMeta = RuleMeta {
    code: "C007",
    name: "hop-by-hop-header-forwarded",
    family: Family::ConnectionHeader,
    severity: Severity::Warning,
    summary: "a hop-by-hop field where it cannot belong (Proxy-Authorization or TE in a response, Proxy-Authenticate in a request), or, with both legs of a proxy in one capture, the forwarded message still carries Connection/Keep-Alive/Proxy-Connection/TE/Upgrade or a field the incoming Connection header named",
    doc: "",
    options: &[],
};

impl Rule for HopByHopHeaderForwarded {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
