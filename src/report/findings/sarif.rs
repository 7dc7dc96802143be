//! `connlint check --format sarif`: SARIF 2.1.0 for code-scanning
//! dashboards, one result per group (or per finding with `--no-group`).

use super::{entries, group_text, place};
use crate::analyze::CheckOutcome;
use crate::report::group::Group;
use crate::rules::Severity;
use crate::Timestamp;
use serde_json::Value;
use std::io::{self, Write};

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The partial fingerprint SARIF consumers match results across runs by:
/// the group key (rule, client host, server endpoint).
pub const SARIF_FINGERPRINT: &str = "connlintGroup/v1";

fn sarif_result(path: &str, t0: Option<Timestamp>, g: &Group) -> Value {
    use serde_json::json;
    let f = g.first();
    let key = g.key.to_string();
    let examples: Vec<Value> = g
        .examples()
        .map(|e| {
            json!({
                "connection": e.connection,
                "client": e.client,
                "server": e.server,
                "transaction": e.transaction,
                "ts": e.ts.as_secs_f64(),
                "message": e.message,
            })
        })
        .collect();
    json!({
        "ruleId": g.key.code,
        "level": sarif_level(g.severity),
        "message": {"text": group_text(g, t0)},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": path}},
            "logicalLocations": [{"fullyQualifiedName": place(f), "kind": "object"}],
        }],
        "partialFingerprints": {SARIF_FINGERPRINT: key},
        "properties": {
            "ts": f.ts.as_secs_f64(),
            "evidence": f.evidence,
            "group": key,
            "count": g.count,
            "connections": g.connections,
            "first_ts": g.first_ts.as_secs_f64(),
            "last_ts": g.last_ts.as_secs_f64(),
            "examples": examples,
        },
    })
}

pub(super) fn write_sarif<W: Write>(
    out: &mut W,
    outcomes: &[CheckOutcome],
    group: bool,
) -> io::Result<()> {
    use serde_json::json;
    let rules: Vec<Value> = crate::rules::all()
        .iter()
        .map(|r| {
            let m = r.meta();
            json!({
                "id": m.code,
                "name": m.name,
                "shortDescription": {"text": m.summary},
                "fullDescription": {"text": m.summary},
                "help": {"text": m.doc, "markdown": m.doc},
                "defaultConfiguration": {"level": sarif_level(m.severity)},
            })
        })
        .collect();
    let mut results: Vec<Value> = Vec::new();
    for o in outcomes {
        for g in entries(o, group) {
            results.push(sarif_result(&o.summary.path, o.summary.first_ts, &g));
        }
    }
    let invocations: Vec<Value> = outcomes
        .iter()
        .filter_map(|o| o.summary.error.as_ref().map(|e| (o, e)))
        .map(|(o, e)| {
            json!({"level": "error", "message": {"text": format!("{}: byte offset {}: {}", o.summary.path, e.offset, e.reason)}})
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "connlint", "version": env!("CARGO_PKG_VERSION"), "rules": rules}},
            "invocations": [{"executionSuccessful": invocations.is_empty(), "toolExecutionNotifications": invocations}],
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    out.write_all(b"\n")
}
