//! `connlint check --format sarif`: SARIF 2.1.0 for code-scanning
//! dashboards, one result per group (or per finding with `--no-group`).

use super::{group_text, place, CaptureDone};
use crate::report::group::Group;
use crate::report::write_pretty_at;
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

/// The document up to its results: the schema, then the run's tool (with
/// the rule catalogue) and the opening of its results.
pub(super) fn begin<W: Write>(out: &mut W) -> io::Result<()> {
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
    let tool = json!({"driver": {"name": "connlint", "version": env!("CARGO_PKG_VERSION"), "rules": rules}});
    out.write_all(b"{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n  \"runs\": [\n    {\n      \"tool\": ")?;
    write_pretty_at(out, &tool, 3)?;
    out.write_all(b",\n      \"results\": [")
}

/// One result (a group, or a finding as a group of one), after a comma
/// when one came before.
pub(super) fn write_result<W: Write + ?Sized>(
    out: &mut W,
    path: &str,
    t0: Option<Timestamp>,
    g: &Group,
    comma: bool,
) -> io::Result<()> {
    out.write_all(if comma { b",\n        " } else { b"\n        " })?;
    write_pretty_at(out, &sarif_result(path, t0, g), 4)
}

/// The rest of the document: the results' end, the invocation (with each
/// damaged capture), the version.
pub(super) fn end<W: Write>(out: &mut W, results: u64, captures: &[CaptureDone]) -> io::Result<()> {
    use serde_json::json;
    let notifications: Vec<Value> = captures
        .iter()
        .filter_map(|c| c.error.as_ref().map(|e| (c, e)))
        .map(|(c, e)| {
            json!({"level": "error", "message": {"text": format!("{}: byte offset {}: {}", c.path, e.offset, e.reason)}})
        })
        .collect();
    let invocations = json!([{"executionSuccessful": notifications.is_empty(), "toolExecutionNotifications": notifications}]);
    out.write_all(if results == 0 {
        b"],\n      \"invocations\": "
    } else {
        b"\n      ],\n      \"invocations\": "
    })?;
    write_pretty_at(out, &invocations, 3)?;
    out.write_all(b"\n    }\n  ],\n  \"version\": \"2.1.0\"\n}\n")
}
