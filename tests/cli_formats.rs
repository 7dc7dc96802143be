//! The CI formats' levels and the SARIF schema: each finding's severity
//! (from the per-finding JSON Lines of the same captures) maps to SARIF's
//! `level` (error / warning / note, on the result and on the rule's default
//! configuration), to GitHub's annotation command (error / warning /
//! notice) and to the severity JUnit's failure text names; a damaged capture
//! is an error in all three. Every SARIF document connlint writes here
//! validates against the SARIF 2.1.0 JSON schema shipped in tests/sarif/.
//! Structure and grouping are tests/cli_grouping.rs's.

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// One finding of each severity: C004 is an error, C001 a warning, C008
/// information (the catalogue's severities; `the_captures_hold_every_severity`
/// checks they still do).
const ERROR: &str = "samples/C004-request-after-connection-close.pcap";
const WARNING: &str = "samples/C001-keep-alive-header-without-connection-token.pcap";
const INFO: &str = "samples/C008-invalid-keep-alive-parameters.pcap";
/// Many findings of several rules and severities in one capture.
const METHODS: &str = "tests/corpus/files/zeek__testing-btest-Traces-http-methods.pcap";
const CLEAN: &str = "samples/clean-keepalive-reuse-nodelay.pcap";
const ALL: [&str; 5] = [ERROR, WARNING, INFO, METHODS, CLEAN];

fn path(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(p)
        .to_string_lossy()
        .into_owned()
}

fn check(args: &[&str], captures: &[String]) -> (Option<i32>, String) {
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .arg("check")
        .args(args)
        .args(captures)
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

fn all() -> Vec<String> {
    ALL.iter().map(|c| path(c)).collect()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// Every finding, ungrouped, in output order.
fn findings(captures: &[String]) -> Vec<Value> {
    let (_, out) = check(&["--format", "jsonl"], captures);
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A damaged copy of METHODS (its last record cut), removed on drop.
struct Damaged(std::path::PathBuf);
impl Damaged {
    fn new(tag: &str) -> Self {
        let bytes = std::fs::read(path(METHODS)).unwrap();
        let p = std::env::temp_dir().join(format!(
            "connlint-formats-{tag}-{}.pcap",
            std::process::id()
        ));
        std::fs::write(&p, &bytes[..bytes.len() - 7]).unwrap();
        Damaged(p)
    }
    fn path(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}
impl Drop for Damaged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn sarif_level(severity: &str) -> &'static str {
    match severity {
        "error" => "error",
        "warning" => "warning",
        "info" => "note",
        other => panic!("unknown severity {other}"),
    }
}

fn github_level(severity: &str) -> &'static str {
    match severity {
        "error" => "error",
        "warning" => "warning",
        "info" => "notice",
        other => panic!("unknown severity {other}"),
    }
}

#[test]
fn the_captures_hold_every_severity() {
    let f = findings(&all());
    let severities: BTreeSet<&str> = f.iter().map(|r| s(&r["severity"])).collect();
    assert_eq!(
        severities,
        BTreeSet::from(["error", "info", "warning"]),
        "the level tests need one finding of each severity"
    );
    for (capture, severity) in [(ERROR, "error"), (WARNING, "warning"), (INFO, "info")] {
        let one = findings(&[path(capture)]);
        assert_eq!(one.len(), 1, "{capture}");
        assert_eq!(s(&one[0]["severity"]), severity, "{capture}");
    }
}

#[test]
fn sarif_levels_follow_the_severities() {
    let f = findings(&all());
    let (code, out) = check(&["--format", "sarif", "--no-group"], &all());
    assert_eq!(code, Some(1));
    let v: Value = serde_json::from_str(&out).unwrap();
    let run = &v["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), f.len());
    for (r, rec) in results.iter().zip(&f) {
        assert_eq!(r["ruleId"], rec["code"]);
        assert_eq!(
            s(&r["level"]),
            sarif_level(s(&rec["severity"])),
            "{}",
            rec["code"]
        );
    }
    // The rules' default levels are their catalogue severities.
    let (_, list) = {
        let out = Command::cargo_bin("connlint")
            .unwrap()
            .args(["rules", "--format", "json"])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let catalogue: Value = serde_json::from_str(&list).unwrap();
    let catalogue = catalogue
        .as_array()
        .or_else(|| catalogue["rules"].as_array())
        .unwrap();
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), catalogue.len());
    let mut seen = BTreeSet::new();
    for (rule, meta) in rules.iter().zip(catalogue) {
        assert_eq!(rule["id"], meta["code"]);
        let severity = s(&meta["severity"]);
        seen.insert(severity.to_string());
        assert_eq!(
            s(&rule["defaultConfiguration"]["level"]),
            sarif_level(severity),
            "{}",
            rule["id"]
        );
    }
    assert_eq!(seen.len(), 3, "the catalogue has all three severities");
    // Grouped: a group's level is its findings' (one rule, one severity).
    let (_, out) = check(&["--format", "sarif"], &all());
    let v: Value = serde_json::from_str(&out).unwrap();
    let mut levels = BTreeSet::new();
    for r in v["runs"][0]["results"].as_array().unwrap() {
        let rec = f
            .iter()
            .find(|rec| rec["code"] == r["ruleId"])
            .expect("a finding of the result's rule");
        assert_eq!(s(&r["level"]), sarif_level(s(&rec["severity"])));
        levels.insert(s(&r["level"]).to_string());
    }
    assert_eq!(levels.len(), 3, "{levels:?}");
}

#[test]
fn a_damaged_capture_is_an_error_in_every_ci_format() {
    let cut = Damaged::new("levels");
    let captures = [cut.path(), path(CLEAN)];
    let (code, out) = check(&["--format", "sarif"], &captures);
    assert_eq!(code, Some(2));
    let v: Value = serde_json::from_str(&out).unwrap();
    let inv = &v["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let notes = inv["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(s(&notes[0]["level"]), "error");
    assert!(s(&notes[0]["message"]["text"]).contains("byte offset "));

    let (code, out) = check(&["--format", "github"], &captures);
    assert_eq!(code, Some(2));
    let damaged: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("title=damaged capture::"))
        .collect();
    assert_eq!(damaged.len(), 1, "{out}");
    assert!(damaged[0].starts_with("::error file="), "{}", damaged[0]);

    let (code, out) = check(&["--format", "junit"], &captures);
    assert_eq!(code, Some(2));
    let doc = roxmltree::Document::parse(&out).unwrap();
    let errors: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("error"))
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(doc.root_element().attribute("errors"), Some("1"));
}

#[test]
fn github_levels_follow_the_severities() {
    let f = findings(&all());
    let (code, out) = check(&["--format", "github", "--no-group"], &all());
    assert_eq!(code, Some(1));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), f.len());
    let mut levels = BTreeSet::new();
    for (l, rec) in lines.iter().zip(&f) {
        let level = github_level(s(&rec["severity"]));
        assert!(
            l.starts_with(&format!("::{level} file=")),
            "{} {}: {l}",
            rec["code"],
            rec["severity"]
        );
        assert!(l.contains(&format!(",title={} ", s(&rec["code"]))), "{l}");
        levels.insert(level);
    }
    assert_eq!(levels, BTreeSet::from(["error", "notice", "warning"]));
}

#[test]
fn junit_failures_name_each_findings_severity() {
    let f = findings(&all());
    let (code, out) = check(&["--format", "junit", "--no-group"], &all());
    assert_eq!(code, Some(1));
    let doc = roxmltree::Document::parse(&out).unwrap();
    let mut lines = Vec::new();
    for failure in doc.descendants().filter(|n| n.has_tag_name("failure")) {
        lines.extend(failure.text().unwrap().lines().map(str::to_string));
    }
    // Each finding's line, with its severity in parentheses, exactly once.
    for rec in &f {
        let tx = rec["transaction"]
            .as_u64()
            .map_or(String::new(), |t| format!(" transaction {t}"));
        let want = format!(
            "connection {} {} -> {}{tx} ({}): {}",
            rec["connection"],
            s(&rec["client"]),
            s(&rec["server"]),
            s(&rec["severity"]),
            s(&rec["message"])
        );
        assert_eq!(
            lines.iter().filter(|l| **l == want).count(),
            1,
            "{want}\nin\n{}",
            lines.join("\n")
        );
    }
    assert_eq!(lines.len(), f.len());
}

fn sarif_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(path("tests/sarif/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: {} schema errors:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let validator = sarif_validator();
    // The validator itself rejects what the schema forbids, so the test can fail.
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
        "results": [{"message": {"text": "m"}, "level": "fatal"}]}]});
    assert!(
        !validator.is_valid(&bad),
        "an unknown level must be rejected"
    );
    let cut = Damaged::new("schema");
    let cases: [(&str, Vec<&str>, Vec<String>); 4] = [
        ("grouped", vec![], all()),
        ("--no-group", vec!["--no-group"], all()),
        ("no finding", vec![], vec![path(CLEAN)]),
        ("damaged capture", vec![], vec![cut.path(), path(ERROR)]),
    ];
    for (what, extra, captures) in cases {
        let mut args = vec!["--format", "sarif"];
        args.extend(extra);
        let (code, out) = check(&args, &captures);
        assert!(matches!(code, Some(0..=2)), "{what}: {code:?}");
        let doc: Value = serde_json::from_str(&out).unwrap();
        assert_valid(&validator, &doc, what);
    }
}
