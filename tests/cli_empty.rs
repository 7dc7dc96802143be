//! A capture with nothing to judge says so (issue 11, item 2): a warning
//! naming what there was, `--fail-on-empty` (and `fail-on-empty` in
//! connlint.toml) to fail on it, and a run that judged HTTP unchanged.

mod common;
use common::run;
use std::path::PathBuf;

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("connlint-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A pcap file header (little-endian, Ethernet) and no packet.
fn header_only() -> Vec<u8> {
    let mut h = vec![0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0];
    h.extend([0; 8]);
    h.extend(65535u32.to_le_bytes());
    h.extend(1u32.to_le_bytes());
    h
}

const ECHO: &str = "tests/corpus/files/zeek__testing-btest-Traces-echo-connections.pcap";

#[test]
fn a_header_only_capture_warns_and_fails_only_when_asked() {
    let p = scratch("header-only.pcap", &header_only());
    let p = p.to_str().unwrap();
    let (code, out, err) = run(&["check", p]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "warning: {p}: nothing to judge: the capture holds no packets"
        )),
        "{err}"
    );
    assert!(out.contains("0 findings"), "{out}");
    let (code, _, err) = run(&["check", "--fail-on-empty", p]);
    assert_eq!(code, Some(1), "{err}");
    // The config key does the same.
    let cfg = scratch("fail-on-empty.toml", b"fail-on-empty = true\n");
    let (code, _, err) = run(&["check", "--config", cfg.to_str().unwrap(), p]);
    assert_eq!(code, Some(1), "{err}");
}

#[test]
fn tcp_without_http_says_what_it_saw() {
    let (code, _, err) = run(&["check", ECHO]);
    assert_eq!(code, Some(0));
    assert!(
        err.contains(
            "nothing to judge: no HTTP/1.x or TLS in the 500 TCP connections (server port 7000 (500))"
        ),
        "{err}"
    );
    assert_eq!(run(&["check", "--fail-on-empty", ECHO]).0, Some(1));
    // `connections` lists TCP: no warning there; `transactions` warns.
    let (_, _, err) = run(&["connections", ECHO]);
    assert!(!err.contains("nothing to judge"), "{err}");
    let (_, _, err) = run(&["transactions", ECHO]);
    assert!(err.contains("nothing to judge"), "{err}");
}

#[test]
fn a_capture_with_http_is_not_empty() {
    let s = "samples/clean-head.pcap";
    let (code, _, err) = run(&["check", "--fail-on-empty", s]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("nothing to judge"), "{err}");
    // One empty capture among others fails the run when asked.
    let p = scratch("header-only-2.pcap", &header_only());
    let (code, _, _) = run(&["check", "--fail-on-empty", s, p.to_str().unwrap()]);
    assert_eq!(code, Some(1));
}
