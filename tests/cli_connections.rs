//! `connlint connections` end to end: formats, stdin, and damaged captures
//! (exit 2, the file and byte offset named, the readable part reported).

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn corpus(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus/files")
        .join(file)
}

/// A keep-alive capture with 11 transactions and a FIN close (pcap, usec).
const KEEPALIVE: &str = "sv__tests-filestore-filecontainer-http-filecontainer-http.pcap";
/// 25 connections of a page load (pcapng).
const ESPN: &str = "chrissanders__http_espn.pcapng";

fn connlint() -> Command {
    Command::cargo_bin("connlint").unwrap()
}

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("connlint-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(out)))
}

#[test]
fn json_has_the_spec_keys_and_values() {
    let out = connlint()
        .args(["connections", "--format", "json"])
        .arg(corpus(KEEPALIVE))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out.stdout);
    let conns = v["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1);
    let c = &conns[0];
    for key in [
        "capture",
        "id",
        "client",
        "server",
        "generation",
        "handshake_rtt_ms",
        "start_ts",
        "end_ts",
        "close",
        "bytes_client",
        "bytes_server",
        "retransmissions",
        "gaps",
        "transactions",
    ] {
        assert!(c.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(c["client"], "192.168.202.94:52356");
    assert_eq!(c["server"], "192.168.28.253:8000");
    assert_eq!(c["close"], "fin");
    // tshark: stream 0 carries 4978 bytes client->server, 57220 server->client.
    assert_eq!(c["bytes_client"], 4978);
    assert_eq!(c["bytes_server"], 57220);
    // SYN at frame 1 (t=0), final handshake ACK at frame 3, 10 ms later.
    assert!((c["handshake_rtt_ms"].as_f64().unwrap() - 10.0).abs() < 1e-6);
    assert_eq!(v["captures"][0]["packets"], 94);
}

#[test]
fn ipv6_endpoints_are_bracketed() {
    let out = connlint()
        .args(["connections", "--format", "jsonl"])
        .arg(corpus("arkime__tests-pcap-v6-http.pcap"))
        .output()
        .unwrap();
    let first: Value =
        serde_json::from_slice(out.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
    let client = first["client"].as_str().unwrap();
    assert!(client.starts_with('[') && client.contains("]:"), "{client}");
}

#[test]
fn stdin_reads_the_same_as_the_file() {
    let bytes = std::fs::read(corpus(ESPN)).unwrap();
    let from_file = connlint()
        .args(["connections", "--format", "jsonl"])
        .arg(corpus(ESPN))
        .output()
        .unwrap();
    let from_stdin = connlint()
        .args(["connections", "--format", "jsonl", "-"])
        .write_stdin(bytes)
        .output()
        .unwrap();
    assert_eq!(from_stdin.status.code(), Some(0));
    let strip = |out: &[u8]| -> Vec<Value> {
        out.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let mut v: Value = serde_json::from_slice(l).unwrap();
                v.as_object_mut().unwrap().remove("capture");
                v
            })
            .collect()
    };
    let a = strip(&from_file.stdout);
    assert_eq!(a.len(), 25);
    assert_eq!(a, strip(&from_stdin.stdout));
}

#[test]
fn table_lists_connections_and_a_summary() {
    let out = connlint()
        .arg("connections")
        .arg(corpus(ESPN))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("25 connections in"), "{text}");
    assert!(text.contains("handshake ms"));
}

/// Checks the damage contract: exit 2, one stderr line with the path, the
/// byte offset and a reason; and the report of what came before.
fn assert_damaged(path: &Path, offset: u64, reason: &str, min_connections: usize) {
    let out = connlint()
        .args(["connections", "--format", "json"])
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    let line = err.lines().find(|l| l.contains("error")).unwrap();
    assert!(line.contains(&path.display().to_string()), "{line}");
    assert!(line.contains(&format!("byte offset {offset}")), "{line}");
    assert!(line.contains(reason), "{line}");
    let v = json_of(&out.stdout);
    assert!(
        v["connections"].as_array().unwrap().len() >= min_connections,
        "{v}"
    );
    assert_eq!(v["captures"][0]["errors"][0]["offset"], offset);
}

/// Byte offsets of the records of a little-endian pcap.
fn record_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut at = 24;
    let mut out = Vec::new();
    while at + 16 <= bytes.len() {
        out.push(at);
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
    }
    out
}

#[test]
fn cut_mid_record_reports_what_came_before() {
    let bytes = std::fs::read(corpus(KEEPALIVE)).unwrap();
    let recs = record_offsets(&bytes);
    let cut_record = recs[60];
    let cut = scratch("cut.pcap", &bytes[..cut_record + 30]);
    assert_damaged(&cut, cut_record as u64, "cut short", 1);
    // The 60 packets before the cut are all there.
    let out = connlint()
        .args(["connections", "--format", "json"])
        .arg(&cut)
        .output()
        .unwrap();
    assert_eq!(json_of(&out.stdout)["captures"][0]["packets"], 60);
}

#[test]
fn bad_magic_is_named_at_offset_zero() {
    let p = scratch(
        "text.pcap",
        b"this is not a capture at all, just some text\n",
    );
    assert_damaged(&p, 0, "magic", 0);
    let gz = scratch("gz.pcap", &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4]);
    let out = connlint().arg("connections").arg(&gz).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gzip"));
}

#[test]
fn absurd_caplen_is_refused_without_allocating_it() {
    let mut bytes = std::fs::read(corpus(KEEPALIVE)).unwrap();
    let recs = record_offsets(&bytes);
    let at = recs[40];
    bytes[at + 8..at + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let p = scratch("caplen.pcap", &bytes);
    assert_damaged(&p, at as u64, "", 1);
}

#[test]
fn pcapng_block_length_that_lies() {
    let mut bytes = std::fs::read(corpus(ESPN)).unwrap();
    // Walk the blocks (little-endian section) and break the 100th one's
    // trailing length.
    let mut at = 0usize;
    let mut n = 0;
    while n < 100 {
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        at += len;
        n += 1;
    }
    let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
    bytes[at + len - 4..at + len].copy_from_slice(&7u32.to_le_bytes());
    let p = scratch("lying.pcapng", &bytes);
    assert_damaged(&p, at as u64, "", 1);
}

#[test]
fn garbage_appended_after_the_last_record() {
    let mut bytes = std::fs::read(corpus(KEEPALIVE)).unwrap();
    let end = bytes.len();
    bytes.extend_from_slice(&[0xAB; 9]);
    let p = scratch("tail.pcap", &bytes);
    assert_damaged(&p, end as u64, "", 1);
}

#[test]
fn one_damaged_capture_among_good_ones() {
    let bytes = std::fs::read(corpus(KEEPALIVE)).unwrap();
    let cut = scratch("half.pcap", &bytes[..bytes.len() / 2]);
    let out = connlint()
        .args(["connections", "--format", "json"])
        .arg(corpus(ESPN))
        .arg(&cut)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = json_of(&out.stdout);
    assert_eq!(v["captures"].as_array().unwrap().len(), 2);
    assert!(v["connections"].as_array().unwrap().len() >= 26);
}

#[test]
fn missing_file_and_usage_errors_exit_2() {
    let out = connlint()
        .args(["connections", "/nonexistent/x.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.pcap"));
    let out = connlint()
        .args(["connections", "--format", "xml", "a.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = connlint().arg("connections").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
