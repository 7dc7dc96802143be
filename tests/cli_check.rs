//! `connlint check` as CI uses it: exit codes 0/1/2 (SPEC §4), --fail-on,
//! --select/--ignore by code, name and prefix, --exit-zero, connlint.toml
//! (thresholds, severity, unknown keys named), and the JSON contract.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn sample(f: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(f)
}

const S001: &str = "S001-handshake-dominated.pcap";
const CLEAN: &str = "clean-keepalive-reuse-nodelay.pcap";

fn check(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn config(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("connlint-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn exit_codes_follow_the_findings_and_fail_on() {
    let s001 = sample(S001);
    let s = s001.to_str().unwrap();
    // A warning fails the default --fail-on warning.
    assert_eq!(check(&["--select", "S001", s]).0, Some(1));
    assert_eq!(
        check(&["--select", "S001", "--fail-on", "error", s]).0,
        Some(0)
    );
    assert_eq!(
        check(&["--select", "S001", "--fail-on", "info", s]).0,
        Some(1)
    );
    assert_eq!(
        check(&["--select", "S001", "--fail-on", "never", s]).0,
        Some(0)
    );
    assert_eq!(check(&["--select", "S001", "--exit-zero", s]).0, Some(0));
    // A clean capture passes.
    assert_eq!(check(&[sample(CLEAN).to_str().unwrap()]).0, Some(0));
}

#[test]
fn select_and_ignore_take_codes_names_and_prefixes() {
    let s = sample(S001);
    let s = s.to_str().unwrap();
    for sel in ["S001", "handshake-dominated", "S", "S0", "s001"] {
        let (code, out, err) = check(&["--select", sel, "--format", "json", s]);
        assert_eq!(code, Some(1), "--select {sel}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert!(
            v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["code"] == "S001"),
            "--select {sel}"
        );
    }
    for ign in ["S001", "handshake-dominated", "S"] {
        let (code, out, _) = check(&["--select", "S001", "--ignore", ign, "--format", "json", s]);
        assert_eq!(code, Some(0), "--ignore {ign}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert!(v["findings"].as_array().unwrap().is_empty());
    }
    // A selector that names nothing is a usage error, not a silent pass.
    let (code, _, err) = check(&["--select", "S999", s]);
    assert_eq!(code, Some(2));
    assert!(err.contains("S999"), "{err}");
}

#[test]
fn config_file_sets_thresholds_and_severity_and_names_unknown_keys() {
    let s = sample(S001);
    let s = s.to_str().unwrap();
    // The S001 sample's ratio is about 0.5: a threshold of 0.6 silences it.
    let c = config(
        "ratio.toml",
        "select = [\"S001\"]\n[rules.S001]\nhandshake_ratio = 0.6\n",
    );
    assert_eq!(check(&["--config", c.to_str().unwrap(), s]).0, Some(0));
    // Severity override: error, and --fail-on error now fails.
    let c = config("sev.toml", "select = [\"S001\"]\nfail-on = \"error\"\n[rules.handshake-dominated]\nseverity = \"error\"\n");
    let (code, out, _) = check(&["--config", c.to_str().unwrap(), "--format", "json", s]);
    assert_eq!(code, Some(1));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"][0]["severity"], "error");
    // Unknown keys anywhere are errors naming the key.
    for (name, text, key) in [
        ("top.toml", "selectt = [\"S\"]\n", "selectt"),
        ("rule.toml", "[rules.S999]\nx = 1\n", "S999"),
        (
            "opt.toml",
            "[rules.S001]\nhandshake_ration = 0.5\n",
            "handshake_ration",
        ),
        (
            "limit.toml",
            "[limits]\nmax_conections = 5\n",
            "max_conections",
        ),
        (
            "sevv.toml",
            "[rules.S001]\nseverity = \"fatal\"\n",
            "severity",
        ),
    ] {
        let c = config(name, text);
        let (code, _, err) = check(&["--config", c.to_str().unwrap(), s]);
        assert_eq!(code, Some(2), "{name}");
        assert!(err.contains(key), "{name}: {err}");
    }
    // A config file that does not exist is an error too.
    assert_eq!(
        check(&["--config", "/nonexistent/connlint.toml", s]).0,
        Some(2)
    );
}

#[test]
fn json_follows_the_contract() {
    let s = sample(S001);
    let (_, out, _) = check(&["--select", "S001", "--format", "json", s.to_str().unwrap()]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["tool"]["name"], "connlint");
    let cap = &v["captures"][0];
    for k in [
        "path",
        "packets",
        "bytes",
        "connections",
        "transactions",
        "errors",
    ] {
        assert!(cap.get(k).is_some(), "captures[].{k}");
    }
    let f = &v["findings"][0];
    for k in [
        "capture",
        "code",
        "rule",
        "severity",
        "connection",
        "client",
        "server",
        "transaction",
        "ts",
        "message",
        "evidence",
    ] {
        assert!(f.get(k).is_some(), "findings[].{k}");
    }
    assert_eq!(f["client"], "198.18.0.1:41001");
    assert_eq!(f["server"], "198.18.0.2:80");
    // S001 is about the connection, not one of its transactions: the key
    // is there, null.
    assert_eq!(f["transaction"], Value::Null);
    assert!(f["ts"].as_f64().unwrap() > 1.0e9);
    assert_eq!(v["summary"]["findings"], 1);
    assert_eq!(v["summary"]["warning"], 1);
    // jsonl: one finding object per line.
    let (_, out, _) = check(&["--select", "S001", "--format", "jsonl", s.to_str().unwrap()]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1);
    let one: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(one["code"], "S001");
}

#[test]
fn damaged_capture_exits_2_even_with_findings() {
    let bytes = std::fs::read(sample(S001)).unwrap();
    let p = std::env::temp_dir().join(format!("connlint-cut-{}.pcap", std::process::id()));
    std::fs::write(&p, &bytes[..bytes.len() - 7]).unwrap();
    let (code, out, err) = check(&["--format", "json", p.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["captures"][0]["errors"].as_array().unwrap().len(), 1);
}

#[test]
fn rules_and_rule_commands() {
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .args(["rules", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 28);
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .args(["rule", "handshake-dominated"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("S001 handshake-dominated"), "{text}");
    assert!(text.contains("handshake_ratio"));
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .args(["rule", "X123"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn captures_read_in_parallel_are_reported_in_the_order_given() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.len() > 10);
    // Reversed, so that the order given is not the order a directory is read in.
    files.reverse();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    for format in ["json", "table", "sarif", "junit"] {
        let one = check(&[&["--format", format, "-j", "1"][..], &args].concat());
        let four = check(&[&["--format", format, "-j", "4"][..], &args].concat());
        assert_eq!(one, four, "{format}");
        assert_eq!(one.0, Some(1), "{format}: the samples have findings");
    }
    let (_, json, _) = check(&[&["--format", "json", "-j", "4"][..], &args].concat());
    let v: Value = serde_json::from_str(&json).unwrap();
    let paths: Vec<&str> = v["captures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, args);
    // A directory stands for the captures under it, in path order.
    let dir_arg = dir.to_string_lossy().into_owned();
    let (code, by_dir, _) = check(&["--format", "jsonl", "-j", "2", &dir_arg]);
    files.reverse();
    let listed: Vec<&str> = files.iter().map(String::as_str).collect();
    let (_, by_list, _) = check(&[&["--format", "jsonl", "-j", "1"][..], &listed].concat());
    assert_eq!((code, by_dir), (Some(1), by_list));
}

#[test]
fn standard_input_reads_as_the_file_does() {
    let f = sample(S001);
    let by_path = check(&["--format", "jsonl", f.to_str().unwrap()]);
    // A file redirected in (read like a path), and a pipe.
    let mut cat = std::process::Command::new("cat")
        .arg(&f)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = cat.stdout.take().unwrap();
    for input in [
        std::process::Stdio::from(std::fs::File::open(&f).unwrap()),
        std::process::Stdio::from(pipe),
    ] {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("connlint"))
            .args(["check", "--format", "jsonl", "-"])
            .stdin(input)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).replace("\"capture\":\"-\"", "");
        assert_eq!(out.status.code(), by_path.0);
        assert_eq!(
            stdout,
            by_path
                .1
                .replace(&format!("\"capture\":{:?}", f.to_str().unwrap()), "")
        );
    }
    assert!(cat.wait().unwrap().success());
}
