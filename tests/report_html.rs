//! `connlint report`: on every shipped capture (the public corpus and the
//! recorded samples) the page is one self-contained file (nothing it would
//! fetch, a Content-Security-Policy that forbids fetching), and its data
//! blob holds a lane or a grouped lane for every connection `connections`
//! lists, a bar for every transaction `transactions` lists, and every
//! finding `check` reports, on the lane of its connection. The grouping
//! bound keeps the earliest-starting connections of a pair and says what
//! it grouped. The browser test (tests/report_browser.rs) checks the page
//! draws them.

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn captures() -> Vec<PathBuf> {
    let mut all = Vec::new();
    for dir in ["tests/corpus/files", "samples"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if matches!(ext, "pcap" | "pcapng" | "cap") {
                all.push(p);
            }
        }
    }
    all.sort();
    all
}

fn json(args: &[&str], capture: &Path) -> Value {
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .args(args)
        .arg(capture)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{}: {args:?}: not JSON: {e}", capture.display()))
}

/// The page `connlint report` writes to stdout for `capture`.
fn page(extra: &[&str], capture: &Path) -> String {
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .arg("report")
        .args(extra)
        .args(["-o", "-"])
        .arg(capture)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "{}: {:?}",
        capture.display(),
        out
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The page's data blob.
fn blob(html: &str) -> Value {
    let open = r#"<script type="application/json" id="connlint-data">"#;
    let start = html.find(open).expect("data blob") + open.len();
    let len = html[start..].find("</script>").expect("blob end");
    serde_json::from_str(&html[start..start + len]).expect("blob is JSON")
}

/// Nothing on the page would be fetched: no external reference of any
/// kind, and a policy that forbids every fetch.
fn assert_self_contained(html: &str, what: &str) {
    assert!(
        html.contains("default-src 'none'"),
        "{what}: no Content-Security-Policy"
    );
    let lower = html.to_ascii_lowercase();
    for needle in [
        " src=",
        "<link",
        "<iframe",
        "<img",
        "@import",
        "url(",
        "fetch(",
        "xmlhttprequest",
    ] {
        assert!(
            !lower.contains(needle),
            "{what}: the page contains {needle:?}"
        );
    }
    assert_eq!(
        lower.matches("<script").count(),
        2,
        "{what}: the blob and the script, nothing else"
    );
}

#[test]
fn every_connection_transaction_and_finding_is_on_the_page() {
    let mut lanes_seen = 0;
    for cap in captures() {
        let what = cap.display().to_string();
        let html = page(&[], &cap);
        assert_self_contained(&html, &what);
        let data = blob(&html);
        let conns = json(&["connections", "--format", "json"], &cap);
        let txs = json(&["transactions", "--format", "json"], &cap);
        let check = json(&["check", "--format", "json"], &cap);

        // Each connection a lane (no capture here reaches a grouping bound).
        let ids: Vec<u64> = conns["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_u64().unwrap())
            .collect();
        let lanes = data["lanes"].as_array().unwrap();
        assert!(data["groups"].as_array().unwrap().is_empty(), "{what}");
        let mut lane_ids: Vec<u64> = lanes.iter().map(|l| l[0][1].as_u64().unwrap()).collect();
        lane_ids.sort_unstable();
        let mut want = ids.clone();
        want.sort_unstable();
        assert_eq!(lane_ids, want, "{what}: lanes");
        lanes_seen += lanes.len();
        // Lanes by start.
        let starts: Vec<i64> = lanes.iter().map(|l| l[1][0].as_i64().unwrap()).collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{what}: order");

        // Each transaction a bar on its connection's lane, with its status.
        let mut bars: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        for l in lanes {
            for b in l[6].as_array().unwrap() {
                bars.insert(
                    (l[0][1].as_u64().unwrap(), b[0].as_u64().unwrap()),
                    b[5].as_u64().unwrap(),
                );
            }
            assert_eq!(
                l[7][0].as_u64().unwrap(),
                l[6].as_array().unwrap().len() as u64,
                "{what}: every transaction drawn"
            );
        }
        let want: BTreeMap<(u64, u64), u64> = txs["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    (
                        t["connection"].as_u64().unwrap(),
                        t["index"].as_u64().unwrap(),
                    ),
                    t["status"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(bars, want, "{what}: bars");

        // Each finding, on its connection's lane, with its message.
        let rules = data["rules"].as_array().unwrap();
        let mut found: Vec<(String, u64, String)> = data["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let lane = &lanes[f[6].as_u64().expect("on a lane") as usize];
                assert_eq!(lane[0][1], f[3], "{what}: the finding's lane");
                (
                    rules[f[0].as_u64().unwrap() as usize]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    f[3].as_u64().unwrap(),
                    f[8].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let mut want: Vec<(String, u64, String)> = check["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["code"].as_str().unwrap().to_string(),
                    f["connection"].as_u64().unwrap(),
                    f["message"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        found.sort();
        want.sort();
        assert_eq!(found, want, "{what}: findings");
        // The header counts them too, and links each rule to its doc.
        let total = html
            .split(r#"<span id="total-findings">"#)
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap();
        assert_eq!(total, want.len().to_string(), "{what}: header count");
        for (code, _, _) in &want {
            assert!(
                html.contains(&format!(r##"<a href="#doc-{code}">"##)),
                "{what}"
            );
            assert!(
                html.contains(&format!(r#"<details id="doc-{code}">"#)),
                "{what}"
            );
        }
    }
    assert!(lanes_seen > 100, "only {lanes_seen} lanes in all");
}

#[test]
fn a_pair_past_its_bound_keeps_its_earliest_connections_and_says_so() {
    // Eight parallel connections of one client to one server.
    let cap = root().join("samples/S003-too-many-parallel-connections.pcap");
    let conns = json(&["connections", "--format", "json"], &cap);
    let mut by_start: Vec<(f64, u64)> = conns["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["start_ts"].as_f64().unwrap(), c["id"].as_u64().unwrap()))
        .collect();
    assert_eq!(by_start.len(), 8);
    by_start.sort_by(|a, b| a.0.total_cmp(&b.0));

    let html = page(&["--lanes-per-pair", "3"], &cap);
    let data = blob(&html);
    let lanes: Vec<u64> = data["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l[0][1].as_u64().unwrap())
        .collect();
    let earliest: Vec<u64> = by_start.iter().take(3).map(|c| c.1).collect();
    assert_eq!(lanes, earliest);
    let groups = data["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    // 5 connections, their 10 transactions.
    assert_eq!(groups[0][1], serde_json::json!([5, 10]));
    assert!(
        html.contains("5 connections of 198.18.0.1 -&#62; 198.18.0.2:80 grouped in one lane"),
        "the page says what it grouped"
    );
    // The S003 finding names the pair, not one connection: it stays on the
    // page, on a lane or on the group.
    let findings = data["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    assert!(findings[0][6].as_i64().unwrap() >= 0 || findings[0][7].as_i64().unwrap() == 0);

    // No bound: every connection its lane.
    let data = blob(&page(&["--lanes-per-pair", "0"], &cap));
    assert_eq!(data["lanes"].as_array().unwrap().len(), 8);
    assert!(data["groups"].as_array().unwrap().is_empty());
}

#[test]
fn an_unwritable_output_is_an_error() {
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .args(["report", "-o", "/nonexistent-dir/report.html"])
        .arg(root().join("samples/S003-too-many-parallel-connections.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent-dir/report.html"));
}
