//! SARIF that GitHub code scanning accepts (issue 11, item 8): valid
//! against the SARIF 2.1.0 schema (tests/sarif), a region on every
//! location, `ruleIndex` pointing at its rule, percent-encoded artifact
//! URIs, partial fingerprints that stay the same from run to run, and the
//! rules' full help only when asked. (tests/cli_formats.rs validates the
//! documents of more invocations.)

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn corpus(name: &str) -> String {
    format!("tests/corpus/files/{name}")
}

const EXAMPLE: &str = "pcapplusplus__Tests-Pcap++Test-PcapExamples-example.pcap";
const METHODS: &str = "zeek__testing-btest-Traces-http-methods.pcap";
const RETRANS: &str = "arkime__tests-pcap-wireshark-retrans.pcap";
const CUT: &str = "pcap2har__tests-out-of-order.pcap";

/// `connlint check --format sarif ARGS`, run from the repository root so
/// that the capture paths stay relative, as a CI job names them.
fn sarif(args: &[&str]) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_connlint"))
        .current_dir(root())
        .args(["check", "--format", "sarif"])
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), v)
}

fn validator() -> jsonschema::Validator {
    // The OASIS schema as tests/sarif/README.md describes (its two
    // `language` patterns written as the language tag they mean).
    let path: PathBuf = root().join("tests/sarif/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid(v: &Value, what: &str) {
    let errors: Vec<String> = validator()
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

#[test]
fn sarif_is_valid_against_the_2_1_0_schema() {
    let example = corpus(EXAMPLE);
    let methods = corpus(METHODS);
    let cut = corpus(CUT);
    for args in [
        vec![example.as_str(), methods.as_str()],
        vec!["--no-group", example.as_str(), methods.as_str()],
        vec!["--sarif-rule-help", "full", methods.as_str()],
        // Damage: a notification, and executionSuccessful false.
        vec![cut.as_str()],
        // No findings at all.
        vec!["samples/clean-head.pcap"],
    ] {
        let (_, v) = sarif(&args);
        assert_valid(&v, &args.join(" "));
    }
    // The check can fail: a result without its message is not SARIF.
    let (_, mut v) = sarif(&[&methods]);
    v["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(validator().iter_errors(&v).next().is_some());
}

#[test]
fn results_have_what_github_code_scanning_uses() {
    let example = corpus(EXAMPLE);
    let (code, v) = sarif(&[&example, &corpus(METHODS), &corpus(RETRANS)]);
    assert_eq!(code, Some(1));
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert!(results.len() > 3);
    let mut uris = Vec::new();
    for r in results {
        // ruleIndex points at the rule named by ruleId.
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(
            loc["region"]["startLine"], 1,
            "a non-text artifact's region"
        );
        uris.push(loc["artifactLocation"]["uri"].as_str().unwrap().to_string());
        let fp = &r["partialFingerprints"];
        let group = fp["connlintGroup/v1"].as_str().unwrap();
        let each = fp["connlint/v1"].as_str().unwrap();
        assert!(each.starts_with(group), "{each} / {group}");
    }
    // Relative as named, with `+` percent-encoded.
    assert!(
        uris.contains(
            &"tests/corpus/files/pcapplusplus__Tests-Pcap%2B%2BTest-PcapExamples-example.pcap"
                .to_string()
        ),
        "{uris:?}"
    );
    assert!(uris.contains(&corpus(METHODS)));
    // A finding on a request names it in its fingerprint.
    let on_request = results
        .iter()
        .find(|r| r["properties"]["place"]["method"].is_string())
        .expect("a finding about a request");
    let p = &on_request["properties"]["place"];
    let fp = on_request["partialFingerprints"]["connlint/v1"]
        .as_str()
        .unwrap();
    assert!(
        fp.ends_with(&format!(
            " {} {}",
            p["method"].as_str().unwrap(),
            p["uri"].as_str().unwrap()
        )) || fp.ends_with(" *"),
        "{fp}"
    );
}

#[test]
fn fingerprints_are_stable_across_runs_and_capture_order() {
    let (a, b) = (corpus(EXAMPLE), corpus(METHODS));
    let prints = |args: &[&str]| -> Vec<(String, String)> {
        let (_, v) = sarif(args);
        let mut p: Vec<(String, String)> = v["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    r["partialFingerprints"]["connlint/v1"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        p.sort();
        p
    };
    let first = prints(&[&a, &b]);
    assert_eq!(prints(&[&a, &b]), first);
    assert_eq!(prints(&[&b, &a]), first);
    // No connection id, port or time in them: one per distinct cause.
    for (_, fp) in &first {
        assert!(!fp.contains("connection"), "{fp}");
    }
}

#[test]
fn rule_help_is_short_unless_asked() {
    let m = corpus(METHODS);
    let (_, short) = sarif(&[&m]);
    let (_, full) = sarif(&["--sarif-rule-help", "full", &m]);
    let help = |v: &Value| -> usize {
        v["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["help"]["text"].as_str().unwrap().len())
            .sum()
    };
    let (s, f) = (help(&short), help(&full));
    assert!(s * 10 < f, "short help {s} bytes, full {f}");
    let rules = short["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    for r in rules {
        let text = r["help"]["text"].as_str().unwrap();
        assert!(
            text.contains(&format!("connlint rule {}", r["id"].as_str().unwrap())),
            "{text}"
        );
    }
}
