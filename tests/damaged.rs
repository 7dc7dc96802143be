//! Damaged captures: whatever the damage, connlint exits 0, 1 or 2 — never a
//! crash or a hang — and a damaged file gets one line naming the file, the
//! byte offset and the reason, after the report of everything before it.

use assert_cmd::Command;
use proptest::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn corpus(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus/files")
        .join(file)
}

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("connlint-damaged-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// xorshift64*: a fixed seed makes every run damage the same way.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Captures of both formats, byte orders and several link types, small
/// enough to run hundreds of times.
const SOURCES: &[&str] = &[
    "sv__tests-filestore-filecontainer-http-filecontainer-http.pcap",
    "chrissanders__http_google.pcapng",
    "zeek__testing-btest-Traces-http-pipelined-requests.pcap",
    "pcapplusplus__Tests-Pcap++Test-PcapExamples-nanosecs_big_endian.pcap",
    "ndpi__tests-cfgs-default-pcap-http_starting_with_reply.pcapng",
    "sv__tests-http-ipv6-input.pcap",
    "arkime__tests-pcap-twovlan.pcap",
    "sv__tests-bug-4810-pppoe-session-http.pcap",
    "zeek__testing-btest-Traces-http-100-continue.pcap",
    "sv__tests-decode-chdlc-01-hdlc-http_1tx.pcap",
];

fn damage(rng: &mut Rng, b: &mut Vec<u8>) -> String {
    let n = b.len();
    match rng.below(6) {
        0 => {
            let at = rng.below(n);
            b.truncate(at);
            format!("truncated at {at}")
        }
        1 => {
            let flips = 1 + rng.below(20);
            for _ in 0..flips {
                let at = rng.below(n);
                b[at] ^= 1 << rng.below(8);
            }
            format!("{flips} bit flips")
        }
        2 => {
            // A length field that lies: overwrite 4 bytes at a record-ish
            // offset with a large or small number.
            let at = 24 + rng.below(n.saturating_sub(28));
            let v: u32 = match rng.below(3) {
                0 => u32::MAX,
                1 => rng.next() as u32,
                _ => 0,
            };
            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            format!("length {v:#x} at {at}")
        }
        3 => {
            let len = 1 + rng.below(4096);
            for _ in 0..len {
                b.push(rng.next() as u8);
            }
            format!("{len} bytes of garbage appended")
        }
        4 => {
            let at = rng.below(n);
            let len = (1 + rng.below(2048)).min(n - at);
            b[at..at + len].fill(0);
            format!("{len} bytes zeroed at {at}")
        }
        _ => {
            let at = rng.below(n);
            let len = (1 + rng.below(512)).min(n - at);
            for x in &mut b[at..at + len] {
                *x = rng.next() as u8;
            }
            format!("{len} random bytes at {at}")
        }
    }
}

#[test]
fn three_hundred_damaged_copies_never_crash_or_hang() {
    let mut rng = Rng(0x00C0_FFEE_1234_5678);
    let originals: Vec<Vec<u8>> = SOURCES
        .iter()
        .map(|f| std::fs::read(corpus(f)).unwrap())
        .collect();
    let mut exits = [0usize; 3];
    for i in 0..300 {
        let k = i % SOURCES.len();
        let mut bytes = originals[k].clone();
        let what = damage(&mut rng, &mut bytes);
        let path = scratch(&format!("d{i}-{}", SOURCES[k]), &bytes);
        let out = Command::cargo_bin("connlint")
            .unwrap()
            .args(["check", "--format", "json"])
            .arg(&path)
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let code = out.status.code();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(code, Some(0..=2)),
            "{} ({what}): exit {code:?} — crash or hang\n{stderr}",
            SOURCES[k]
        );
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{what}: no JSON report: {e}"));
        if code == Some(2) {
            let line = stderr
                .lines()
                .find(|l| l.starts_with("connlint: error:"))
                .unwrap_or_else(|| panic!("{what}: exit 2 without an error line: {stderr}"));
            assert!(
                line.contains(&path.display().to_string()) && line.contains("byte offset"),
                "{line}"
            );
            assert!(!v["captures"][0]["errors"].as_array().unwrap().is_empty());
        }
        exits[code.unwrap_or(0) as usize] += 1;
        std::fs::remove_file(&path).ok();
    }
    eprintln!(
        "exit codes over 300 damaged copies: 0: {}, 1: {}, 2: {}",
        exits[0], exits[1], exits[2]
    );
    assert!(exits[2] > 50, "most kinds of damage are structural");
}

/// Offsets of the records of a little-endian microsecond pcap.
fn record_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut at = 24;
    let mut out = Vec::new();
    while at + 16 <= bytes.len() {
        out.push(at);
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
    }
    out.push(at);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Cut anywhere: at a record boundary the capture is whole (exit 0);
    /// anywhere else it is damaged at the start of the cut record (exit 2),
    /// and every record before it is in the report.
    #[test]
    fn cutting_a_capture_anywhere(frac in 0.0f64..1.0) {
        let bytes = std::fs::read(corpus("zeek__testing-btest-Traces-http-pipelined-requests.pcap")).unwrap();
        let recs = record_offsets(&bytes);
        let cut = 24 + ((bytes.len() - 24) as f64 * frac) as usize;
        let path = scratch(&format!("cut-{cut}.pcap"), &bytes[..cut]);
        let out = Command::cargo_bin("connlint").unwrap()
            .args(["connections", "--format", "json"]).arg(&path)
            .timeout(Duration::from_secs(30)).output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let whole = recs.iter().filter(|&&r| r <= cut).count() - 1;
        let complete_before = recs.iter().take_while(|&&r| r < cut).count();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if recs.contains(&cut) {
            prop_assert_eq!(out.status.code(), Some(0), "{}", stderr);
            prop_assert_eq!(v["captures"][0]["packets"].as_u64().unwrap() as usize, whole);
        } else {
            let start = recs[complete_before - 1];
            prop_assert_eq!(out.status.code(), Some(2));
            let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("connlint: error:")).collect();
            prop_assert_eq!(errors.len(), 1, "{}", stderr);
            let expected = format!("{}: byte offset {start}: ", path.display());
            prop_assert!(errors[0].contains(&expected), "{}", errors[0]);
            prop_assert_eq!(v["captures"][0]["packets"].as_u64().unwrap() as usize, complete_before - 1);
        }
        std::fs::remove_file(&path).ok();
    }
}
