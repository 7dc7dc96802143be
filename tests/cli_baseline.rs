//! Adopting connlint on a system with findings (issue 11, item 10): a
//! baseline of today's findings by fingerprint, then only new ones; and
//! suppressions in connlint.toml by rule and place, each with its reason.

mod common;
use common::run;
use serde_json::Value;
use std::path::PathBuf;

const RETRANS: &str = "tests/corpus/files/arkime__tests-pcap-wireshark-retrans.pcap";
const METHODS: &str = "tests/corpus/files/zeek__testing-btest-Traces-http-methods.pcap";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("connlint-baseline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn findings(args: &[&str]) -> Vec<Value> {
    let mut a = vec!["check", "--format", "jsonl"];
    a.extend(args);
    let (_, out, err) = run(&a);
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l} {err}")))
        .collect()
}

#[test]
fn a_baseline_hides_known_findings_and_counts_those_gone() {
    let b = scratch("retrans.json");
    let b = b.to_str().unwrap();
    let all = findings(&[RETRANS]);
    assert!(all.len() >= 4);
    let (code, _, err) = run(&["check", "--write-baseline", b, RETRANS]);
    assert_eq!(code, Some(1), "writing a baseline still reports: {err}");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(b).unwrap()).unwrap();
    let entries = file["findings"].as_array().unwrap();
    let total: u64 = entries.iter().map(|e| e["count"].as_u64().unwrap()).sum();
    assert_eq!(total, all.len() as u64);
    for f in &all {
        assert!(entries.iter().any(|e| e["fingerprint"] == f["fingerprint"]));
    }
    // The same capture against it: nothing new, exit 0.
    let (code, out, err) = run(&["check", "--baseline", b, RETRANS]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("0 findings"), "{out}");
    assert!(
        out.contains(&format!("{} in the baseline", all.len())),
        "{out}"
    );
    assert!(
        err.contains(&format!(
            "baseline: {} known findings not shown; 0 of its {} entr",
            all.len(),
            entries.len()
        )),
        "{err}"
    );
    // Another capture: its findings are new, and the baseline's are gone.
    let other = findings(&[METHODS]);
    let (code, _, err) = run(&["check", "--baseline", b, METHODS]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains(&format!(
            "0 known findings not shown; {n} of its {n} entr",
            n = entries.len()
        )),
        "{err}"
    );
    assert_eq!(findings(&["--baseline", b, METHODS]).len(), other.len());
    // A baseline that is not one is a usage error.
    let bad = scratch("bad.json");
    std::fs::write(&bad, "{}").unwrap();
    assert_eq!(
        run(&["check", "--baseline", bad.to_str().unwrap(), RETRANS]).0,
        Some(2)
    );
}

#[test]
fn suppressions_need_a_reason_and_hide_only_what_they_name() {
    let all = findings(&[RETRANS]);
    let t001 = all.iter().filter(|f| f["code"] == "T001").count();
    assert!(t001 > 0);
    let cfg = scratch("suppress.toml");
    std::fs::write(
        &cfg,
        "[[suppress]]\nrule = \"nagle-delayed-ack-stall\"\nserver = \"172.17.96.77:*\"\nuri = \"/exhmed*\"\nreason = \"the test server is known to hold ACKs\"\n",
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let left = findings(&["--config", c, RETRANS]);
    assert_eq!(left.len(), all.len() - t001);
    assert!(left.iter().all(|f| f["code"] != "T001"));
    let (_, _, err) = run(&["check", "--config", c, RETRANS]);
    assert!(
        err.contains(&format!(
            "{t001} findings suppressed: nagle-delayed-ack-stall"
        )) && err.contains("hold ACKs"),
        "{err}"
    );
    // A pattern that matches nothing hides nothing.
    std::fs::write(
        &cfg,
        "[[suppress]]\nrule = \"T001\"\nuri = \"/other\"\nreason = \"r\"\n",
    )
    .unwrap();
    assert_eq!(findings(&["--config", c, RETRANS]).len(), all.len());
    // No reason: a configuration error.
    std::fs::write(&cfg, "[[suppress]]\nrule = \"T001\"\n").unwrap();
    let (code, _, err) = run(&["check", "--config", c, RETRANS]);
    assert_eq!(code, Some(2));
    assert!(err.contains("needs a `reason`"), "{err}");
}
