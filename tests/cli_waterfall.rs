//! `connlint transactions --waterfall`: one line per connection, the first
//! by start, on one time axis fitted to the width; the handshake's share of
//! the line is its share of the time; retransmissions, gaps and the FIN or
//! RST end where they are; the rules `check` reports on a connection at the
//! end of its line.

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample(name: &str) -> PathBuf {
    root().join(name)
}

fn run(args: &[&str], capture: &PathBuf) -> String {
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .args(args)
        .arg(capture)
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str], capture: &PathBuf) -> Value {
    serde_json::from_str(&run(args, capture)).unwrap()
}

/// The lane lines: (label, bar, tail).
fn lanes(out: &str) -> Vec<(String, String, String)> {
    out.lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| {
            let mut parts = l.splitn(3, '│');
            (
                parts.next().unwrap().trim().to_string(),
                parts.next().unwrap().to_string(),
                parts.next().unwrap().trim().to_string(),
            )
        })
        .collect()
}

#[test]
fn one_line_per_connection_by_start_fitted_to_the_width() {
    let cap = sample("samples/S003-too-many-parallel-connections.pcap");
    let out = run(&["transactions", "--waterfall", "--width", "100"], &cap);
    let conns = json(&["connections", "--format", "json"], &cap);
    let mut by_start: Vec<(f64, u64, f64, f64)> = conns["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["start_ts"].as_f64().unwrap(),
                c["id"].as_u64().unwrap(),
                c["handshake_rtt_ms"].as_f64().unwrap(),
                c["end_ts"].as_f64().unwrap(),
            )
        })
        .collect();
    by_start.sort_by(|a, b| a.0.total_cmp(&b.0));
    let lines = lanes(&out);
    assert_eq!(lines.len(), by_start.len());
    let t0 = by_start[0].0;
    let t1 = by_start.iter().map(|c| c.3).fold(f64::MIN, f64::max);
    for ((label, bar, tail), c) in lines.iter().zip(&by_start) {
        assert!(label.starts_with(&format!("#{} ", c.1)), "{label}");
        // The width: the label, " │", the bar, "│", the tail.
        let full = out.lines().find(|l| l.starts_with(label.as_str())).unwrap();
        assert!(full.chars().count() <= 100, "{full}");
        // The handshake's cells: its share of the time.
        let cells = bar.chars().count() as f64;
        let want = c.2 / 1000.0 / (t1 - t0) * cells;
        let got = bar.chars().filter(|&ch| ch == '░').count() as f64;
        assert!(
            (got - want).abs() <= 1.5,
            "{label}: {got} handshake cells, want ≈{want:.1}"
        );
        // Closed by FIN: the end mark last.
        assert_eq!(bar.trim_end().chars().last(), Some('┤'), "{label}: {bar}");
        assert!(tail.starts_with("2 tx"), "{tail}");
    }
    // The S003 finding, on the connection check names.
    let check = json(&["check", "--format", "json"], &cap);
    let f = &check["findings"][0];
    assert_eq!(f["code"], "S003");
    let on: Vec<&String> = lines
        .iter()
        .filter(|l| l.2.contains("S003"))
        .map(|l| &l.0)
        .collect();
    assert_eq!(on.len(), 1);
    assert!(on[0].starts_with(&format!("#{} ", f["connection"])));
    // Not a terminal: no colour unless asked.
    assert!(!out.contains('\x1b'));
    let coloured = run(&["transactions", "--waterfall", "--color", "always"], &cap);
    assert!(
        coloured.contains("\x1b[38;5;208m░"),
        "the handshake in orange"
    );
}

#[test]
fn the_first_n_and_a_server_filter() {
    let cap = sample("samples/S003-too-many-parallel-connections.pcap");
    let all = lanes(&run(&["transactions", "--waterfall"], &cap));
    let first = lanes(&run(&["transactions", "--waterfall", "--first", "3"], &cap));
    assert_eq!(first.len(), 3);
    for (a, b) in first.iter().zip(&all) {
        assert_eq!(a.0, b.0);
    }
    // The capture commands' --server filter chooses the candidates.
    let out = run(
        &["transactions", "--waterfall", "--server", "198.18.0.9:80"],
        &cap,
    );
    assert!(lanes(&out).is_empty());
    assert!(out.contains("0 of 0 connections"), "{out}");
    let host = lanes(&run(
        &["transactions", "--waterfall", "--server", "198.18.0.2"],
        &cap,
    ));
    assert_eq!(host.len(), 8);
}

#[test]
fn resets_retransmissions_and_gaps_are_marked() {
    let rst = lanes(&run(
        &["transactions", "--waterfall"],
        &sample("samples/R001-rst-truncated-response.pcap"),
    ));
    assert_eq!(rst[0].1.trim_end().chars().last(), Some('╳'));
    assert!(rst[0].2.contains("R001"));

    let cap = sample("tests/corpus/files/arkime__tests-pcap-wireshark-retrans.pcap");
    let retrans = lanes(&run(&["transactions", "--waterfall"], &cap));
    assert!(retrans[0].1.contains('!'), "{:?}", retrans[0]);
    assert!(retrans[0].2.contains("T001×4"), "{:?}", retrans[0]);

    let cap = sample("tests/corpus/files/sv__tests-http-gap-simple-input.pcap");
    let gap = lanes(&run(&["transactions", "--waterfall"], &cap));
    assert!(gap[0].1.contains('?'), "{:?}", gap[0]);
}

#[test]
fn waterfall_options_need_waterfall() {
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .args(["transactions", "--first", "3"])
        .arg(sample("samples/R001-rst-truncated-response.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
