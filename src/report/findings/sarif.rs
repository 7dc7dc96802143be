//! `connlint check --format sarif`: SARIF 2.1.0 for code-scanning
//! dashboards (GitHub code scanning among them), one result per group (or
//! per finding with `--no-group`).
//!
//! What GitHub's upload checks and uses:
//! - each result's location is the capture (a non-text artifact: region
//!   `startLine` 1, the convention), its URI percent-encoded, relative as
//!   the user named it or a `file://` URI when absolute;
//! - `partialFingerprints` match results across runs: `connlint/v1` is the
//!   finding's fingerprint (group key plus request; a group whose requests
//!   differ has its key followed by ` *`), `connlintGroup/v1` the group key;
//! - `ruleId` and `ruleIndex` point into `tool.driver.rules`, each rule with
//!   its `helpUri` (its anchor in the README's rule table) and, by default
//!   (`--sarif-rule-help short`), its one-line summary as help; `full`
//!   carries each rule's whole documentation.

use super::{group_text, place, CaptureDone, CheckOptions};
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

/// The partial fingerprint of a result: the finding's fingerprint (see
/// [`crate::report::group::fingerprint`]).
pub const SARIF_FINGERPRINT: &str = "connlint/v1";
/// The partial fingerprint holding the group key alone.
pub const SARIF_GROUP: &str = "connlintGroup/v1";

/// `--sarif-rule-help`: how much documentation each rule carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RuleHelp {
    /// The rule's one-line summary and the link to its documentation.
    #[default]
    Short,
    /// The rule's whole documentation (what `connlint rule CODE` prints).
    Full,
}

/// Where the rules are documented, as an absolute URL (SARIF's `helpUri`
/// must be one): `CONNLINT_DOCS_URL` when set (a page whose anchors are
/// `rule-<code>`, as the README's rule table has), else the README in the
/// package's `repository` (Cargo.toml) at this version's tag; `None`
/// when neither is known, and the rules go without `helpUri`.
pub fn docs_url() -> Option<String> {
    match std::env::var("CONNLINT_DOCS_URL") {
        Ok(u) if u.trim().contains("://") => Some(u.trim().to_string()),
        _ => {
            let repo = env!("CARGO_PKG_REPOSITORY").trim_end_matches('/');
            repo.contains("://")
                .then(|| format!("{repo}/blob/v{}/README.md", env!("CARGO_PKG_VERSION")))
        }
    }
}

/// A rule's documentation anchor: `<docs>#rule-t001`.
pub fn help_uri(docs: &str, code: &str) -> String {
    format!("{docs}#rule-{}", code.to_ascii_lowercase())
}

/// A capture path as a SARIF artifact URI: percent-encoded (RFC 3986:
/// everything but unreserved characters and `/`), relative as given, or
/// `file://` and the path when absolute. `-` (standard input) stays `-`.
pub fn artifact_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    if path.starts_with('/') {
        format!("file://{out}")
    } else {
        out
    }
}

fn sarif_result(path: &str, t0: Option<Timestamp>, g: &Group, rule_index: Option<usize>) -> Value {
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
                "place": e.place,
            })
        })
        .collect();
    let mut result = json!({
        "ruleId": g.key.code,
        "level": sarif_level(g.severity),
        "message": {"text": group_text(g, t0)},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": artifact_uri(path)},
                "region": {"startLine": 1},
            },
            "logicalLocations": [{"fullyQualifiedName": place(f), "kind": "object"}],
        }],
        "partialFingerprints": {SARIF_FINGERPRINT: g.fingerprint(), SARIF_GROUP: key},
        "properties": {
            "ts": f.ts.as_secs_f64(),
            "evidence": f.evidence,
            "place": f.place,
            "group": key,
            "count": g.count,
            "connections": g.connections,
            "first_ts": g.first_ts.as_secs_f64(),
            "last_ts": g.last_ts.as_secs_f64(),
            "examples": examples,
        },
    });
    if let (Some(i), Some(obj)) = (rule_index, result.as_object_mut()) {
        obj.insert("ruleIndex".to_string(), Value::from(i));
    }
    result
}

/// `tool.driver`: connlint, its version, its documentation and its rules.
fn driver(docs: Option<String>, rules: Vec<Value>) -> Value {
    let mut d = serde_json::json!({
        "name": "connlint",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    if let (Some(u), Some(obj)) = (docs, d.as_object_mut()) {
        obj.insert("informationUri".to_string(), Value::from(u));
    }
    d
}

/// The rule catalogue as `tool.driver.rules`, each rule's help as
/// `--sarif-rule-help` asks.
fn rules(rule_help: RuleHelp, docs: Option<&str>) -> Vec<Value> {
    use serde_json::json;
    crate::rules::all()
        .iter()
        .map(|r| {
            let m = r.meta();
            let uri = docs.map(|d| help_uri(d, m.code));
            let see = match &uri {
                Some(u) => format!(" See {u} or `connlint rule {}`.", m.code),
                None => format!(" See `connlint rule {}`.", m.code),
            };
            let help = match rule_help {
                RuleHelp::Short => json!({
                    "text": format!("{}.{see}", m.summary),
                    "markdown": format!("{}.{see}", m.summary),
                }),
                RuleHelp::Full => json!({"text": m.doc, "markdown": m.doc}),
            };
            let mut rule = json!({
                "id": m.code,
                "name": m.name,
                "shortDescription": {"text": m.summary},
                "fullDescription": {"text": m.summary},
                "help": help,
                "defaultConfiguration": {"level": sarif_level(m.severity)},
            });
            if let (Some(u), Some(obj)) = (uri, rule.as_object_mut()) {
                obj.insert("helpUri".to_string(), Value::from(u));
            }
            rule
        })
        .collect()
}

/// The document up to its results: the schema, then the run's tool (with
/// the rule catalogue) and the opening of its results. The results come
/// before the invocations (they are written as they settle).
pub(super) fn begin<W: Write>(out: &mut W, options: &CheckOptions) -> io::Result<()> {
    let docs = docs_url();
    let rules = rules(options.rule_help, docs.as_deref());
    let tool = serde_json::json!({"driver": driver(docs, rules)});
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
    let index = crate::rules::all()
        .iter()
        .position(|r| r.meta().code == g.key.code);
    out.write_all(if comma { b",\n        " } else { b"\n        " })?;
    write_pretty_at(out, &sarif_result(path, t0, g, index), 4)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_uris_are_percent_encoded() {
        assert_eq!(
            artifact_uri("captures/a b#1.pcap"),
            "captures/a%20b%231.pcap"
        );
        assert_eq!(artifact_uri("/tmp/ü.pcap"), "file:///tmp/%C3%BC.pcap");
        assert_eq!(artifact_uri("run-1_~x.pcapng"), "run-1_~x.pcapng");
    }
}
