//! `connlint transactions --format har`: on every shipped capture (the
//! public corpus and the recorded samples), the HAR validates against the
//! HAR 1.2 JSON schema shipped in tests/har/schema (har-schema 2.0.0, ISC,
//! see tests/har/README.md), keeps the rules of the spec the schema does
//! not encode, and its timings are `transactions --format json`'s as the
//! module docs of `src/report/har.rs` map them; each entry carries exactly
//! the findings `check --format json` reports on its transaction.

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every capture of the corpus and the samples.
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

fn run(args: &[&str], capture: &Path) -> Value {
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .args(args)
        .arg(capture)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{}: {args:?}: not JSON: {e}", capture.display()))
}

/// Serves the schema's files by name, so `"$ref": "log.json#"` resolves
/// against the base URI without any network.
struct Shipped;

impl jsonschema::Retrieve for Shipped {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.path().as_str().rsplit('/').next().unwrap_or_default();
        let text = std::fs::read_to_string(root().join("tests/har/schema").join(name))?;
        Ok(serde_json::from_str(&text)?)
    }
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("tests/har/schema/har.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .with_base_uri("https://connlint.invalid/har/")
        .with_retriever(Shipped)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// Seconds since the epoch of `2026-12-03T13:29:00.123456Z`.
fn epoch(iso: &str) -> f64 {
    let n = |r: std::ops::Range<usize>| iso[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (hh, mm) = (n(11..13), n(14..16));
    let secs: f64 = iso[17..iso.len() - 1].parse().unwrap();
    // days_from_civil (Howard Hinnant)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + hh * 3600 + mm * 60) as f64 + secs
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} != {b}");
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

#[test]
fn the_har_of_every_capture_is_valid_and_its_timings_are_the_json_ones() {
    let validator = validator();
    let mut entries_seen = 0usize;
    let mut pipelined_seen = 0usize;
    let mut connect_seen = 0usize;
    let mut findings_seen = 0usize;
    for capture in captures() {
        let name = capture.display().to_string();
        let har = run(&["transactions", "--format", "har"], &capture);
        let errors: Vec<String> = validator
            .iter_errors(&har)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .take(5)
            .collect();
        assert!(errors.is_empty(), "{name}: HAR 1.2 schema: {errors:?}");

        let json = run(&["transactions", "--format", "json"], &capture);
        let txs = json["transactions"].as_array().unwrap();
        let entries = har["log"]["entries"].as_array().unwrap();
        assert_eq!(
            entries.len(),
            txs.len(),
            "{name}: one entry per transaction"
        );
        assert_eq!(har["log"]["pages"].as_array().unwrap().len(), 1, "{name}");
        let by_key: BTreeMap<(u64, u64), &Value> = txs
            .iter()
            .map(|t| {
                let k = (
                    t["connection"].as_u64().unwrap(),
                    t["index"].as_u64().unwrap(),
                );
                (k, t)
            })
            .collect();
        let mut previous_start = f64::MIN;
        for e in entries {
            entries_seen += 1;
            let x = &e["_connlint"];
            let key = (
                x["connection"].as_u64().unwrap(),
                x["transaction"].as_u64().unwrap(),
            );
            let t = by_key[&key];
            let what = format!("{name} {key:?}");
            let tm = &e["timings"];
            let f = |k: &str| tm[k].as_f64().unwrap();
            // The spec's rules the schema leaves out ("min" is no keyword).
            for k in ["send", "wait", "receive"] {
                assert!(f(k) >= 0.0, "{what}: {k} {}", f(k));
            }
            for k in ["blocked", "connect", "dns", "ssl"] {
                assert!(f(k) >= 0.0 || f(k) == -1.0, "{what}: {k}");
            }
            assert_eq!((f("dns"), f("ssl")), (-1.0, -1.0), "{what}");
            let sum: f64 = ["blocked", "connect", "send", "wait", "receive"]
                .iter()
                .map(|k| f(k).max(0.0))
                .sum();
            close(
                e["time"].as_f64().unwrap(),
                sum,
                1e-6,
                &format!("{what}: time"),
            );
            assert_eq!(e["connection"], Value::from(key.0.to_string()), "{what}");
            assert_eq!(x["pipelined"], t["pipelined"], "{what}");
            // Timings against the JSON's.
            let missing: Vec<&str> = x["missing"]
                .as_array()
                .map(|m| m.iter().map(|v| v.as_str().unwrap()).collect())
                .unwrap_or_default();
            let connect = num(&t["connect_ms"]);
            match connect {
                Some(c) => {
                    connect_seen += 1;
                    close(f("connect"), c, 1e-9, &format!("{what}: connect"));
                }
                None => assert_eq!(f("connect"), -1.0, "{what}: connect"),
            }
            let negative = |k: &str| x["negative_ms"][k].as_f64();
            for (k, jk) in [("send", "send_ms"), ("receive", "receive_ms")] {
                match num(&t[jk]) {
                    Some(v) if v < 0.0 => {
                        assert_eq!(f(k), 0.0, "{what}: {k} negative");
                        close(negative(k).unwrap(), v, 1e-9, &what);
                    }
                    Some(v) => {
                        close(f(k), v, 1e-9, &format!("{what}: {k}"));
                        assert_eq!(negative(k), None, "{what}");
                    }
                    None => {
                        assert_eq!(f(k), 0.0, "{what}: {k}");
                        assert!(missing.contains(&k), "{what}: {k} missing");
                    }
                }
            }
            let pipelined = t["pipelined"].as_bool().unwrap();
            match num(&t["wait_ms"]) {
                Some(w) if w < 0.0 => {
                    assert_eq!(f("wait"), 0.0, "{what}: early response");
                    close(negative("wait").unwrap(), w, 1e-9, &what);
                }
                Some(w) => {
                    let queued = if pipelined && connect.is_none() {
                        f("blocked")
                    } else {
                        0.0
                    };
                    if pipelined && queued > 0.0 {
                        pipelined_seen += 1;
                    }
                    close(f("wait") + queued, w, 1e-6, &format!("{what}: wait"));
                }
                None => {
                    assert_eq!(f("wait"), 0.0, "{what}: wait");
                    assert!(missing.contains(&"wait"), "{what}: wait missing");
                }
            }
            if !pipelined && connect.is_none() {
                assert_eq!(f("blocked"), 0.0, "{what}: nothing to wait for");
            }
            // Where the entry starts: the request's first byte, or the SYN
            // when the entry carries the connect (and the wait after it).
            let started = epoch(e["startedDateTime"].as_str().unwrap());
            if let Some(req) = num(&t["request_start_ts"]) {
                let lead = match connect {
                    Some(c) => (c + f("blocked")) / 1e3,
                    None => 0.0,
                };
                close(started + lead, req, 2e-6, &format!("{what}: start"));
            }
            // DevTools sorts by start; so does the HAR.
            assert!(started >= previous_start - 1e-6, "{what}: entries by start");
            previous_start = started;
        }

        // Findings: each entry has exactly check's findings on its transaction.
        let check = run(&["check", "--format", "json"], &capture);
        let mut expected: BTreeMap<(u64, u64), Vec<String>> = BTreeMap::new();
        let mut elsewhere = Vec::new();
        for f in check["findings"].as_array().unwrap() {
            let label = format!("{} {}", f["code"], f["message"]);
            match f["transaction"].as_u64() {
                Some(tx) if by_key.contains_key(&(f["connection"].as_u64().unwrap(), tx)) => {
                    expected
                        .entry((f["connection"].as_u64().unwrap(), tx))
                        .or_default()
                        .push(label)
                }
                _ => elsewhere.push(label),
            }
        }
        for e in entries {
            let x = &e["_connlint"];
            let key = (
                x["connection"].as_u64().unwrap(),
                x["transaction"].as_u64().unwrap(),
            );
            let got: Vec<String> = x["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| format!("{} {}", f["code"], f["message"]))
                .collect();
            findings_seen += got.len();
            assert_eq!(
                got,
                expected.remove(&key).unwrap_or_default(),
                "{name} {key:?}: findings"
            );
        }
        let log: Vec<String> = har["log"]["_connlint"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["code"], f["message"]))
            .collect();
        assert_eq!(log, elsewhere, "{name}: findings on no transaction");
    }
    // The captures exercise what the mapping is about.
    assert!(entries_seen > 1000, "{entries_seen} entries");
    assert!(connect_seen > 50, "{connect_seen} with connect");
    assert!(pipelined_seen > 0, "a pipelined request queued");
    assert!(findings_seen > 10, "{findings_seen} findings on entries");
}

#[test]
fn headers_urls_and_sizes_are_the_wire_ones() {
    // A pipelined GET and POST to joes-hardware.example (recorded sample).
    let capture = root().join("samples/P002-non-idempotent-method-pipelined.pcap");
    let har = run(&["transactions", "--format", "har"], &capture);
    let entries = har["log"]["entries"].as_array().unwrap();
    let urls: Vec<&str> = entries
        .iter()
        .map(|e| e["request"]["url"].as_str().unwrap())
        .collect();
    assert!(
        urls.iter()
            .all(|u| u.starts_with("http://joes-hardware.example/")),
        "{urls:?}"
    );
    let first = &entries[0];
    let host = first["request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "Host")
        .unwrap();
    assert_eq!(host["value"], "joes-hardware.example");
    assert_eq!(first["serverIPAddress"], "198.18.0.2");
    // The request head on the wire: "GET /shop HTTP/1.1\r\n" and its fields.
    let head: usize = 20
        + first["request"]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap().len() + 2 + h["value"].as_str().unwrap().len() + 2)
            .sum::<usize>()
        + 2;
    assert_eq!(first["request"]["headersSize"], head);
    let posted = entries
        .iter()
        .find(|e| e["request"]["method"] == "POST")
        .unwrap();
    assert!(posted["request"]["bodySize"].as_u64().unwrap() > 0);
}
