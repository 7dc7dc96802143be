//! TLS connections end to end, on captures recorded from real stacks
//! (samples/, see samples/README.md): the protocol label and TLS facts in
//! `connections`, the TLS columns of its table, and what `check` says it
//! could and could not judge.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

fn connlint() -> Command {
    Command::cargo_bin("connlint").unwrap()
}

fn json(args: &[&str], capture: &str) -> Value {
    let out = connlint().args(args).arg(sample(capture)).output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn connections(capture: &str) -> Vec<Value> {
    json(&["connections", "--format", "json"], capture)["connections"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn each_connection_is_labelled_by_what_its_first_bytes_opened() {
    for (capture, label) in [
        ("clean-keepalive-reuse-nodelay.pcap", "http1"),
        ("clean-tls13-keepalive.pcap", "tls"),
        ("clean-tls12-keepalive.pcap", "tls"),
        ("clean-tls12-h2.pcap", "h2"),
        ("clean-h2c-prior-knowledge.pcap", "h2c"),
    ] {
        let c = connections(capture);
        assert_eq!(c.len(), 1, "{capture}");
        assert_eq!(c[0]["protocol"], label, "{capture}");
        assert_eq!(
            c[0]["tls"].is_object(),
            label == "tls" || label == "h2",
            "{capture}"
        );
    }
}

#[test]
fn a_tls13_connection_shows_its_handshake_and_timing() {
    let c = &connections("clean-tls13-keepalive.pcap")[0];
    let t = &c["tls"];
    assert_eq!(t["version"], "TLS 1.3");
    assert_eq!(t["version_offered"], "TLS 1.3");
    assert_eq!(t["sni"], "joes-hardware.example");
    assert_eq!(t["alpn_offered"], serde_json::json!(["http/1.1"]));
    assert_eq!(t["alpn"], Value::Null, "sent encrypted in TLS 1.3");
    assert_eq!(t["handshake"], "full");
    assert_eq!(c["transactions"], 0, "the HTTP inside is encrypted");
    // One round trip of TLS on a 50 ms path (plus the server's key work).
    let hs = t["tls_handshake_ms"].as_f64().unwrap();
    assert!((50.0..80.0).contains(&hs), "{hs}");
    // Three requests on the connection: three runs of records each way.
    assert_eq!(
        (t["client_bursts"].as_u64(), t["server_bursts"].as_u64()),
        (Some(3), Some(3))
    );
}

#[test]
fn a_full_tls12_handshake_takes_two_round_trips_and_a_resumed_one_one() {
    let c = connections("clean-tls12-resumed-sessions.pcap");
    let ms = |i: usize| c[i]["tls"]["tls_handshake_ms"].as_f64().unwrap();
    assert_eq!(c[0]["tls"]["handshake"], "full");
    assert_eq!(c[0]["tls"]["session_ticket_issued"], true);
    assert!((100.0..140.0).contains(&ms(0)), "{}", ms(0));
    assert_eq!(c.len(), 3);
    for (i, conn) in c.iter().enumerate().skip(1) {
        assert_eq!(conn["tls"]["handshake"], "resumed", "{i}");
        assert_eq!(
            conn["tls"]["resumption_offered"],
            serde_json::json!(["ticket"])
        );
        assert!((50.0..70.0).contains(&ms(i)), "{}", ms(i));
    }
}

#[test]
fn the_table_shows_the_tls_columns_only_where_there_is_tls() {
    let table = |capture: &str| {
        let out = connlint()
            .arg("connections")
            .arg(sample(capture))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let t = table("S006-tls12-chosen-when-13-offered.pcap");
    for col in ["proto", "tls", "sni", "tls ms", "1st data ms"] {
        assert!(t.contains(col), "{col} in {t}");
    }
    assert!(
        t.contains("1.2 full http/1.1") && t.contains("joes-hardware.example"),
        "{t}"
    );
    let t = table("clean-keepalive-reuse-nodelay.pcap");
    assert!(t.contains("proto") && t.contains("http1"), "{t}");
    assert!(!t.contains("sni"), "no TLS columns without TLS: {t}");
}

#[test]
fn check_says_what_it_judged_on_a_tls_capture() {
    let out = connlint()
        .arg("check")
        .arg(sample("clean-tls13-resumed-sessions.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("3 of 3 connections were TLS"), "{text}");
    assert!(text.contains("capture behind the TLS terminator"), "{text}");
    let v = json(
        &["check", "--format", "json"],
        "clean-tls13-resumed-sessions.pcap",
    );
    assert_eq!(v["captures"][0]["tls_connections"], 3);
    assert!(
        v["captures"][0]["note"]
            .as_str()
            .unwrap()
            .contains("encrypted")
            || v["captures"][0]["note"]
                .as_str()
                .unwrap()
                .contains("session keys")
    );
    // Without TLS, nothing of the kind.
    let v = json(
        &["check", "--format", "json"],
        "clean-keepalive-reuse-nodelay.pcap",
    );
    assert!(v["captures"][0].get("tls_connections").is_none());
    assert!(v["captures"][0].get("note").is_none());
}
