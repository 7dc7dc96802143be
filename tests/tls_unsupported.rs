//! TLS connections a key log cannot decrypt because their cipher suite is
//! out of decryption's scope (CBC, CCM: issue 15 "count and report"), on a
//! real recording: tests/data/tls/tls-unsupported-suites-keylog.pcap
//! (samples/recorder/record.sh, OUT_DIR=tests/data/tls): curl and nginx over
//! TLS 1.2 with ECDHE-ECDSA-AES128-SHA256 (CBC), TLS 1.3 with
//! TLS_AES_128_CCM_SHA256, and TLS 1.3 with AES-128-GCM, with curl's key log.
//! tshark decrypts all three with that key log; connlint the third, and
//! counts the other two by reason, version and suite in `check`'s note and
//! JSON and in `connections`' summary and JSON. The suites each connection
//! chose are tshark's reading, frozen in `...suites.tsv`.

use assert_cmd::Command;
use std::path::PathBuf;

fn data(ext: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(format!("tls-unsupported-suites-keylog.{ext}"))
}

fn run(args: &[&str]) -> String {
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .arg("--keylog")
        .arg(data("keylog"))
        .args(args)
        .arg(data("pcap"))
        .env_remove("SSLKEYLOGFILE")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// tshark's reading: the suite each connection (tcp.stream) chose.
fn suites() -> Vec<(u64, u16)> {
    std::fs::read_to_string(data("suites.tsv"))
        .unwrap()
        .lines()
        .map(|l| {
            let (stream, id) = l.split_once('\t').unwrap();
            (
                stream.parse().unwrap(),
                u16::from_str_radix(id.trim_start_matches("0x"), 16).unwrap(),
            )
        })
        .collect()
}

const CBC: &str = "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256";
const CCM: &str = "TLS_AES_128_CCM_SHA256";

#[test]
fn connections_name_the_suite_they_were_not_decrypted_for_and_count_them() {
    assert_eq!(suites(), vec![(0, 0xC023), (1, 0x1304), (2, 0x1301)]);
    let doc: serde_json::Value =
        serde_json::from_str(&run(&["connections", "--format", "json"])).unwrap();
    let conns = doc["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 3);
    let decryption = |id: u64| {
        let c = conns.iter().find(|c| c["id"] == id).unwrap();
        c["tls"]["decryption"].as_str().unwrap().to_string()
    };
    assert_eq!(
        decryption(0),
        format!("could not decrypt: unsupported cipher suite ({CBC})")
    );
    assert_eq!(
        decryption(1),
        format!("could not decrypt: unsupported cipher suite ({CCM})")
    );
    assert_eq!(decryption(2), "decrypted");
    let undecrypted = &doc["captures"][0]["undecrypted"];
    assert_eq!(
        undecrypted,
        &serde_json::json!([
            {"reason": "unsupported_cipher", "version": "TLS 1.2", "cipher_suite": CBC, "connections": 1},
            {"reason": "unsupported_cipher", "version": "TLS 1.3", "cipher_suite": CCM, "connections": 1},
        ]),
        "{doc}"
    );
    let table = run(&["connections"]);
    assert!(
        table.contains(&format!(
            "; 2 TLS connections not decrypted with the key log: 2 unsupported cipher suite \
             (TLS 1.2 {CBC}: 1, TLS 1.3 {CCM}: 1)"
        )),
        "{table}"
    );
}

#[test]
fn check_counts_them_in_its_note_and_json() {
    let doc: serde_json::Value =
        serde_json::from_str(&run(&["check", "--format", "json"])).unwrap();
    let cap = &doc["captures"][0];
    assert_eq!(cap["undecrypted"].as_array().unwrap().len(), 2, "{cap}");
    assert_eq!(cap["tls_connections"], 2, "the two not decrypted: {cap}");
    let note = cap["note"].as_str().unwrap();
    assert!(
        note.ends_with(&format!(
            "; 2 TLS connections not decrypted with the key log: 2 unsupported cipher suite \
             (TLS 1.2 {CBC}: 1, TLS 1.3 {CCM}: 1)"
        )),
        "{note}"
    );
    let table = run(&["check"]);
    assert!(
        table.contains(&format!("2 unsupported cipher suite (TLS 1.2 {CBC}: 1")),
        "{table}"
    );
    // Without a key log nothing is counted as undecrypted: no key log, no attempt.
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .args(["check", "--format", "json"])
        .arg(data("pcap"))
        .env_remove("SSLKEYLOGFILE")
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["captures"][0].get("undecrypted").is_none(), "{doc}");
    assert_eq!(doc["captures"][0]["tls_connections"], 3);
}
