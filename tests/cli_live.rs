//! A live capture stopped with Ctrl-C (issue 11, item 1): `tcpdump -w - |
//! connlint check -` keeps the report of what was read. A real connlint
//! process reads a real pipe whose writer stays open (as tcpdump does), gets
//! half a capture, then a real SIGINT (or SIGTERM); its report must be the
//! report of that half, read as a file that ends there, with the findings'
//! exit code.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus/files")
        .join(name)
}

/// 4,700 frames over 25 s, dozens of connections, findings early and late.
const CAPTURE: &str = "pcapplusplus__Tests-Pcap++Test-PcapExamples-example.pcap";

/// The file header and the first `records` records of a little-endian
/// pcap, and how many records it has in all.
fn first_records(pcap: &[u8], records: usize) -> (Vec<u8>, usize) {
    assert_eq!(
        &pcap[..4],
        &[0xD4, 0xC3, 0xB2, 0xA1],
        "a little-endian pcap"
    );
    let mut at = 24;
    let mut n = 0;
    let mut cut = None;
    while at + 16 <= pcap.len() {
        if n == records {
            cut = Some(at);
        }
        let incl = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + incl;
        n += 1;
    }
    (pcap[..cut.unwrap_or(pcap.len())].to_vec(), n)
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(out)))
}

/// The findings of a check report, without the capture's name (`-` for
/// the pipe).
fn findings(report: &Value) -> Vec<Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.as_object_mut().unwrap().remove("capture");
            f
        })
        .collect()
}

fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Feeds `half` into `connlint check --format json -` through a pipe
/// that stays open, sends `signal` once connlint has read it all, and
/// returns its exit code, stdout and stderr.
fn interrupted(half: &[u8], signal: &str) -> (Option<i32>, Vec<u8>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_connlint"))
        .args(["check", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(half).unwrap();
    stdin.flush().unwrap();
    // The pipe stays open: connlint has read what there is and waits for
    // more. Give it time to take in the bytes, then stop it.
    std::thread::sleep(Duration::from_millis(1500));
    let started = Instant::now();
    kill(signal, child.id());
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "connlint took {:?} to stop",
        started.elapsed()
    );
    drop(stdin);
    (
        out.status.code(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ctrl_c_on_a_live_pipe_keeps_the_report_of_what_was_read() {
    let whole = std::fs::read(corpus(CAPTURE)).unwrap();
    let (_, records) = first_records(&whole, 0);
    let (half, _) = first_records(&whole, records / 2);

    // What the half says when it is a file that ends there.
    let dir = std::env::temp_dir().join(format!("connlint-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let half_file = dir.join("half.pcap");
    std::fs::write(&half_file, &half).unwrap();
    let want = Command::new(env!("CARGO_BIN_EXE_connlint"))
        .args(["check", "--format", "json"])
        .arg(&half_file)
        .output()
        .unwrap();
    let want_report = json(&want.stdout);
    let want_findings = findings(&want_report);
    assert!(!want_findings.is_empty(), "the half has findings to keep");
    // And they are not the whole capture's.
    let full = Command::new(env!("CARGO_BIN_EXE_connlint"))
        .args(["check", "--format", "json"])
        .arg(corpus(CAPTURE))
        .output()
        .unwrap();
    assert_ne!(findings(&json(&full.stdout)), want_findings);

    for signal in ["-INT", "-TERM"] {
        let (code, out, err) = interrupted(&half, signal);
        // The findings' exit code (1: warnings at the default --fail-on),
        // not death by the signal (None) nor damage (2).
        assert_eq!(code, want.status.code(), "{signal}: {err}");
        assert_eq!(code, Some(1), "{signal}: {err}");
        let report = json(&out);
        assert_eq!(findings(&report), want_findings, "{signal}");
        assert_eq!(
            report["summary"], want_report["summary"],
            "{signal}: the same counts"
        );
        assert!(
            err.contains("-: interrupted; the report covers the")
                && err.contains(&format!("{} packets", records / 2)),
            "{signal}: {err}"
        );
        assert!(!err.contains("error"), "{signal}: no damage: {err}");
    }
}

#[test]
fn end_of_file_on_a_pipe_is_the_end_of_the_capture() {
    // The writer closes the pipe (tcpdump -c N): the report of all of it,
    // without an interruption note.
    let whole = std::fs::read(corpus(CAPTURE)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_connlint"))
        .args(["check", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&whole).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let full = Command::new(env!("CARGO_BIN_EXE_connlint"))
        .args(["check", "--format", "json"])
        .arg(corpus(CAPTURE))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), full.status.code());
    assert_eq!(findings(&json(&out.stdout)), findings(&json(&full.stdout)));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("interrupted"));
}

#[test]
fn a_second_ctrl_c_quits_at_once() {
    // connlint blocked writing its report to a pipe nobody reads: the first
    // SIGINT asks for the report (which cannot be written), the second
    // exits at once with 130, as a shell user expects.
    let mut child = Command::new(env!("CARGO_BIN_EXE_connlint"))
        .args(["transactions", "--format", "jsonl"])
        .arg(corpus(CAPTURE))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // 338 transactions of ~600 bytes fill the 64 KiB pipe: it blocks.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "blocked on its output");
    kill("-INT", child.id());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first Ctrl-C does not kill it"
    );
    kill("-INT", child.id());
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("still running 10 s after the second Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
}
