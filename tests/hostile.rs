//! Hostile captures, generated here, run through the real binary: each
//! finishes in bounded time and memory (`--stats` reports peak RSS) and says
//! what happened — a bound reached, a gap, a conflicting overlap, or an
//! error with its byte offset.

use assert_cmd::Command;
use etherparse::PacketBuilder;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A pcap file (little-endian, microseconds, Ethernet) being written.
struct Pcap(Vec<u8>);

impl Pcap {
    fn new() -> Pcap {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&0i32.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        Pcap(v)
    }

    fn record(&mut self, us: u64, frame: &[u8]) {
        let v = &mut self.0;
        v.extend_from_slice(&((us / 1_000_000) as u32).to_le_bytes());
        v.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
        v.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        v.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        v.extend_from_slice(frame);
    }

    /// One TCP segment from `src` to `dst` (a.b.c.d, port).
    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        us: u64,
        src: ([u8; 4], u16),
        dst: ([u8; 4], u16),
        seq: u32,
        ack: Option<u32>,
        flags: &str,
        payload: &[u8],
    ) {
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src.0, dst.0, 64)
            .tcp(src.1, dst.1, seq, 65535);
        if let Some(a) = ack {
            b = b.ack(a);
        }
        for f in flags.chars() {
            b = match f {
                'S' => b.syn(),
                'F' => b.fin(),
                'R' => b.rst(),
                'P' => b.psh(),
                _ => b,
            };
        }
        let mut frame = Vec::with_capacity(64 + payload.len());
        b.write(&mut frame, payload).unwrap();
        self.record(us, &frame);
    }

    fn save(&self, name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("connlint-hostile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, &self.0).unwrap();
        p
    }
}

const C: [u8; 4] = [10, 0, 0, 1];
const S: [u8; 4] = [10, 0, 0, 2];

/// Runs `connlint <args> --stats --format json FILE`: (exit code, JSON, stderr, peak RSS in MB, wall time).
fn run(args: &[&str], file: &PathBuf) -> (i32, Value, String, f64, Duration) {
    let t = Instant::now();
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .args(args)
        .args(["--stats", "--format", "json"])
        .arg(file)
        .output()
        .unwrap();
    let took = t.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let rss = stderr
        .split("peak RSS ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no peak RSS in: {stderr}"));
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr, rss, took)
}

/// A handshake between C:40000 and S:80 with ISNs 1000 and 5000.
fn handshake(p: &mut Pcap) {
    p.tcp(0, (C, 40000), (S, 80), 1000, None, "S", b"");
    p.tcp(1000, (S, 80), (C, 40000), 5000, Some(1001), "S", b"");
    p.tcp(2000, (C, 40000), (S, 80), 1001, Some(5001), "", b"");
}

#[test]
fn sequence_jumps_of_2_to_the_31() {
    let mut p = Pcap::new();
    handshake(&mut p);
    let mut seq = 1001u32;
    for i in 0..2000u64 {
        p.tcp(
            3000 + i,
            (C, 40000),
            (S, 80),
            seq,
            Some(5001),
            "P",
            b"0123456789",
        );
        seq = seq.wrapping_add(if i % 2 == 0 { 1 << 31 } else { 10 });
    }
    let f = p.save("seqjump.pcap");
    let (code, v, err, rss, took) = run(&["connections"], &f);
    assert_eq!(code, 0, "{err}");
    let c = &v["connections"][0];
    assert_eq!(v["connections"].as_array().unwrap().len(), 1);
    assert!(
        c["gaps"].as_u64().unwrap() > 0 || c["bytes_client"].as_u64().unwrap() > 0,
        "{c}"
    );
    assert!(rss < 64.0, "{rss} MB");
    assert!(took < Duration::from_secs(20));
}

#[test]
fn a_million_tiny_out_of_order_segments() {
    let mut p = Pcap::new();
    handshake(&mut p);
    // One byte each, last byte first: everything waits behind the first hole.
    let n = 1_000_000u32;
    for i in 0..n {
        let off = n - 1 - i;
        p.tcp(
            3000 + u64::from(i),
            (C, 40000),
            (S, 80),
            1001 + off,
            Some(5001),
            "",
            b"x",
        );
    }
    let f = p.save("tiny-ooo.pcap");
    let (code, v, err, rss, took) = run(&["connections"], &f);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("limit max_out_of_order_bytes reached"),
        "{err}"
    );
    assert!(
        v["captures"][0]["limits_hit"]["max_out_of_order_bytes"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Every byte is accounted for: delivered after gaps were declared.
    let c = &v["connections"][0];
    assert_eq!(
        c["bytes_client"].as_u64().unwrap() + c["gap_bytes"].as_u64().unwrap(),
        u64::from(n)
    );
    assert!(rss < 64.0, "{rss} MB");
    assert!(took < Duration::from_secs(120), "{took:?}");
}

#[test]
fn a_ten_megabyte_header_line() {
    let mut p = Pcap::new();
    handshake(&mut p);
    let mut head = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 10 << 20));
    head.extend_from_slice(b"\r\n\r\n");
    let mut seq = 1001u32;
    for (i, chunk) in head.chunks(1460).enumerate() {
        p.tcp(
            3000 + i as u64,
            (C, 40000),
            (S, 80),
            seq,
            Some(5001),
            "",
            chunk,
        );
        seq = seq.wrapping_add(chunk.len() as u32);
    }
    let f = p.save("bighead.pcap");
    let (code, v, err, rss, _) = run(&["transactions"], &f);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("limit max_head_bytes reached"), "{err}");
    assert!(v["transactions"].as_array().unwrap().is_empty());
    assert!(rss < 64.0, "{rss} MB");
}

#[test]
fn chunk_size_of_sixteen_fs() {
    let mut p = Pcap::new();
    handshake(&mut p);
    let req = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    p.tcp(3000, (C, 40000), (S, 80), 1001, Some(5001), "P", req);
    let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabcdefgh";
    p.tcp(
        4000,
        (S, 80),
        (C, 40000),
        5001,
        Some(1001 + req.len() as u32),
        "P",
        resp,
    );
    p.tcp(
        5000,
        (S, 80),
        (C, 40000),
        5001 + resp.len() as u32,
        Some(1001 + req.len() as u32),
        "F",
        b"",
    );
    let f = p.save("chunk-ffff.pcap");
    let (code, v, err, rss, took) = run(&["transactions"], &f);
    assert_eq!(code, 0, "{err}");
    let t = &v["transactions"][0];
    assert_eq!(t["status"], 200);
    assert_eq!(
        t["complete"], false,
        "a 2^64-1 byte chunk cannot have ended: {t}"
    );
    assert!(rss < 64.0 && took < Duration::from_secs(10));
}

#[test]
fn a_million_frames_in_reverse_time_order() {
    // Every record 2 ms earlier than the one before (beyond the 1 ms the
    // file's order is trusted for): each is late. The reorder stage holds
    // at most its bound (here 1000 frames), puts back what it can and counts
    // the rest, in bounded time and memory.
    // One SYN retransmitted: one connection, so the memory measured is
    // the reorder stage's.
    let mut p = Pcap::new();
    let n = 1_000_000u64;
    for i in 0..n {
        p.tcp(2_000 * (n - i), (C, 40000), (S, 80), 1000, None, "S", b"");
    }
    let f = p.save("backwards.pcap");
    let (code, v, err, rss, took) = run(&["connections", "--limit", "max_reorder_frames=1000"], &f);
    assert_eq!(code, 0, "{err}");
    let cap = &v["captures"][0];
    let (moved, late) = (
        cap["frames_reordered"].as_u64().unwrap(),
        cap["frames_out_of_order"].as_u64().unwrap(),
    );
    assert_eq!(moved, 1000, "as many as were held");
    assert_eq!(moved + late, n - 1, "every frame but the first was late");
    assert!(
        err.contains(&format!("{late} frames out of time order")),
        "{err}"
    );
    assert_eq!(cap["connections"], 1);
    assert!(rss < 64.0, "{rss} MB");
    assert!(took < Duration::from_secs(120), "{took:?}");
}

#[test]
fn a_million_syns_to_distinct_ports() {
    let mut p = Pcap::new();
    let n = 1_000_000u32;
    for i in 0..n {
        let src = [10, 1, (i >> 16) as u8, (i >> 8) as u8];
        let port = 1024 + (i % 60000) as u16;
        p.tcp(u64::from(i), (src, port), (S, 80), i, None, "S", b"");
    }
    let f = p.save("synflood.pcap");
    let (code, v, err, rss, took) = run(&["connections", "--limit", "max_connections=65536"], &f);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        v["captures"][0]["connections"].as_u64().unwrap(),
        u64::from(n)
    );
    assert!(err.contains("limit max_connections reached"), "{err}");
    // The connections are reported; the table never held more than its bound.
    assert!(rss < 400.0, "{rss} MB");
    assert!(took < Duration::from_secs(120), "{took:?}");
}

#[test]
fn overlapping_retransmissions_with_different_bytes() {
    let mut p = Pcap::new();
    handshake(&mut p);
    p.tcp(
        3000,
        (C, 40000),
        (S, 80),
        1001,
        Some(5001),
        "P",
        b"GET /good HTTP/1.1\r\n\r\n",
    );
    p.tcp(
        4000,
        (C, 40000),
        (S, 80),
        1001,
        Some(5001),
        "P",
        b"GET /evil HTTP/1.1\r\n\r\n",
    );
    let f = p.save("overlap.pcap");
    let (code, v, err, _, _) = run(&["connections"], &f);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["connections"][0]["conflicting_overlaps"], 1);
    let (_, t, _, _, _) = run(&["transactions"], &f);
    assert_eq!(
        t["transactions"][0]["uri"], "/good",
        "the first copy is kept"
    );
}

#[test]
fn a_pcap_record_of_four_gigabytes() {
    let mut p = Pcap::new();
    handshake(&mut p);
    let at = p.0.len();
    p.0.extend_from_slice(&[0; 8]);
    p.0.extend_from_slice(&u32::MAX.to_le_bytes());
    p.0.extend_from_slice(&u32::MAX.to_le_bytes());
    p.0.extend_from_slice(&[0xAA; 100]);
    let f = p.save("4gb.pcap");
    let (code, v, err, rss, _) = run(&["connections"], &f);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("byte offset {at}")), "{err}");
    assert_eq!(
        v["captures"][0]["packets"], 3,
        "the records before it are reported"
    );
    assert!(rss < 64.0);
}

/// A pcapng section header block and an interface description (Ethernet).
fn pcapng_start() -> Vec<u8> {
    let mut v = Vec::new();
    let shb: [u32; 7] = [
        0x0A0D_0D0A,
        28,
        0x1A2B_3C4D,
        0x0000_0001,
        0xFFFF_FFFF,
        0xFFFF_FFFF,
        28,
    ];
    for w in shb {
        v.extend_from_slice(&w.to_le_bytes());
    }
    // SHB's version is two u16 (major 1, minor 0): fix the word written above.
    v[12..16].copy_from_slice(&[1, 0, 0, 0]);
    let idb: [u32; 5] = [1, 20, 1, 0, 20];
    for w in idb {
        v.extend_from_slice(&w.to_le_bytes());
    }
    v[28 + 8..28 + 12].copy_from_slice(&[1, 0, 0, 0]); // link type 1, reserved 0
    v[28 + 12..28 + 16].copy_from_slice(&65535u32.to_le_bytes()); // snaplen
    v
}

#[test]
fn pcapng_block_lengths_that_point_past_the_end_or_go_nowhere() {
    // Past the end.
    let mut v = pcapng_start();
    let at = v.len();
    for w in [6u32, 1 << 30, 0, 0, 0] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    let mut p = Pcap::new();
    p.0 = v;
    let f = p.save("past-end.pcapng");
    let (code, _, err, _, took) = run(&["connections"], &f);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("byte offset {at}")), "{err}");
    assert!(took < Duration::from_secs(10));
    // A block length of 0 (a reader that trusted it would never advance) and
    // one shorter than a block's own header.
    for (name, len) in [("zero.pcapng", 0u32), ("short.pcapng", 8)] {
        let mut v = pcapng_start();
        let at = v.len();
        for w in [6u32, len, 0, 0, 0, 0, 0, 0] {
            v.extend_from_slice(&w.to_le_bytes());
        }
        let mut p = Pcap::new();
        p.0 = v;
        let f = p.save(name);
        let (code, _, err, _, took) = run(&["connections"], &f);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(&format!("byte offset {at}")), "{name}: {err}");
        assert!(took < Duration::from_secs(10), "{name}");
    }
}
