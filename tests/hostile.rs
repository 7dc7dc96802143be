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
    let mut jumps = Vec::new();
    for i in 0..2000u64 {
        jumps.push(seq);
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
    // Each sequence number stands for the 64-bit stream offset nearest the
    // next byte expected (RFC 9293 §3.4 compares sequence numbers modulo
    // 2^32): the model below places the same 2000 segments that way,
    // delivers what is in order, buffers what is ahead, and at the end
    // declares each hole before buffered data a gap. A jump of exactly 2^31
    // is taken backwards (the signed distance -2^31), so half the segments of
    // each period of four land 2^31 - 10 bytes ahead and wait there.
    let (bytes, gaps, gap_bytes) = nearest_offset_model(1001, &jumps);
    assert_eq!(
        (
            c["bytes_client"].as_u64().unwrap(),
            c["gaps"].as_u64().unwrap(),
            c["gap_bytes"].as_u64().unwrap(),
        ),
        (bytes, gaps, gap_bytes),
        "{c}"
    );
    // The figures themselves, so that the model cannot drift with the code.
    assert_eq!((bytes, gaps, gap_bytes), (15_000, 500, (1 << 31) - 5_010));
    assert!(rss < 64.0, "{rss} MB");
    assert!(took < Duration::from_secs(20));
}

/// Delivered bytes, gaps and gap bytes of a stream of 10-byte segments at
/// sequence numbers `seqs` whose first byte is `first`, each placed at the
/// 64-bit offset nearest the next byte expected; no ACK declares a hole, so
/// holes before buffered data are declared at the end.
fn nearest_offset_model(first: u32, seqs: &[u32]) -> (u64, u64, u64) {
    let mut next: i64 = 0;
    let mut pending: std::collections::BTreeMap<i64, i64> = Default::default();
    let (mut bytes, mut gaps, mut gap_bytes) = (0i64, 0u64, 0i64);
    let deliver = |_start: i64,
                   end: i64,
                   next: &mut i64,
                   bytes: &mut i64,
                   pending: &mut std::collections::BTreeMap<i64, i64>| {
        if end > *next {
            *bytes += end - *next;
            *next = end;
        }
        while let Some((&s, &e)) = pending.first_key_value() {
            if s > *next {
                break;
            }
            pending.remove(&s);
            if e > *next {
                *bytes += e - *next;
                *next = e;
            }
        }
    };
    for &seq in seqs {
        let rel = seq.wrapping_sub(first);
        let delta = i64::from(rel.wrapping_sub(next as u32) as i32);
        let start = next + delta;
        let end = start + 10;
        if start < 0 || end <= next {
            continue;
        }
        if start > next {
            let e = pending.entry(start).or_insert(end);
            *e = (*e).max(end);
        } else {
            deliver(start, end, &mut next, &mut bytes, &mut pending);
        }
    }
    while let Some((&s, &e)) = pending.first_key_value() {
        gaps += 1;
        gap_bytes += s - next;
        next = s;
        deliver(s, e, &mut next, &mut bytes, &mut pending);
    }
    (bytes as u64, gaps, gap_bytes as u64)
}

/// A stream whose sequence numbers wrap past 2^32 (ISN 2^32 - 5000): every
/// byte in order, no gap, nothing taken for a retransmission.
#[test]
fn sequence_numbers_wrap_past_2_to_the_32() {
    let isn = u32::MAX - 4_999;
    let mut p = Pcap::new();
    p.tcp(0, (C, 40000), (S, 80), isn, None, "S", b"");
    p.tcp(
        1000,
        (S, 80),
        (C, 40000),
        5000,
        Some(isn.wrapping_add(1)),
        "S",
        b"",
    );
    p.tcp(
        2000,
        (C, 40000),
        (S, 80),
        isn.wrapping_add(1),
        Some(5001),
        "",
        b"",
    );
    let mut seq = isn.wrapping_add(1);
    for i in 0..1000u64 {
        p.tcp(
            3000 + i,
            (C, 40000),
            (S, 80),
            seq,
            Some(5001),
            "P",
            b"0123456789",
        );
        seq = seq.wrapping_add(10);
    }
    let f = p.save("seqwrap.pcap");
    let (code, v, err, _, _) = run(&["connections"], &f);
    assert_eq!(code, 0, "{err}");
    let c = &v["connections"][0];
    assert_eq!(c["bytes_client"], 10_000, "{c}");
    assert_eq!(c["gaps"], 0, "{c}");
    assert_eq!(c["gap_bytes"], 0, "{c}");
    assert_eq!(c["retransmissions"], 0, "{c}");
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

/// A ClientHello message (type 1, 24-bit length) offering TLS 1.3 with
/// server name `sni`, then `extra` extension bytes (as given).
fn client_hello(sni: &str, extra: &[u8]) -> Vec<u8> {
    let mut exts = Vec::new();
    let name = sni.as_bytes();
    exts.extend_from_slice(&[0, 0]);
    exts.extend_from_slice(&((name.len() + 5) as u16).to_be_bytes());
    exts.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    exts.push(0);
    exts.extend_from_slice(&(name.len() as u16).to_be_bytes());
    exts.extend_from_slice(name);
    exts.extend_from_slice(&[0, 43, 0, 3, 2, 3, 4]);
    exts.extend_from_slice(extra);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut m = vec![1];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend(body);
    m
}

/// The client's stream `stream` sent in segments of `segment` bytes on a
/// connection to S:443 after a handshake; the server answers nothing.
fn tls_capture(stream: &[u8], segment: usize) -> Pcap {
    let mut p = Pcap::new();
    p.tcp(0, (C, 40000), (S, 443), 1000, None, "S", b"");
    p.tcp(1000, (S, 443), (C, 40000), 5000, Some(1001), "S", b"");
    p.tcp(2000, (C, 40000), (S, 443), 1001, Some(5001), "", b"");
    let mut seq = 1001u32;
    for (i, chunk) in stream.chunks(segment).enumerate() {
        p.tcp(
            3000 + i as u64,
            (C, 40000),
            (S, 443),
            seq,
            Some(5001),
            "",
            chunk,
        );
        seq = seq.wrapping_add(chunk.len() as u32);
    }
    p
}

#[test]
fn a_client_hello_in_sixty_thousand_one_byte_records_and_segments() {
    // A 60 KB ClientHello (a padding extension), each byte its own handshake
    // record, each record its own segment: read whole (it fits the 64 KiB
    // bound), in time and memory proportional to nothing but the bound.
    let mut padding = vec![0, 21];
    padding.extend_from_slice(&60000u16.to_be_bytes());
    padding.extend(std::iter::repeat_n(0u8, 60000));
    let hello = client_hello("shop.example", &padding);
    let mut stream = Vec::new();
    for b in &hello {
        stream.extend_from_slice(&[22, 3, 1, 0, 1, *b]);
    }
    let f = tls_capture(&stream, 6).save("tls-fragmented-hello.pcap");
    let (code, v, err, rss, took) = run(&["connections"], &f);
    assert_eq!(code, 0, "{err}");
    let c = &v["connections"][0];
    assert_eq!(c["protocol"], "tls");
    assert_eq!(c["tls"]["sni"], "shop.example");
    assert_eq!(c["tls"]["version_offered"], "TLS 1.3");
    assert_eq!(c["tls"]["records_client"]["handshake"], hello.len());
    assert!(rss < 64.0, "{rss} MB");
    assert!(took < Duration::from_secs(30), "{took:?}");
}

#[test]
fn a_client_hello_announcing_sixteen_megabytes_and_lying_extension_lengths() {
    // A hello whose message length says 16 MB, sent as 10 MB of full-size
    // records: over the bound, it is skipped by its length, never held.
    let mut stream = Vec::new();
    let mut body = vec![1, 0xff, 0xff, 0xff];
    body.extend(std::iter::repeat_n(0x41u8, 10 << 20));
    for chunk in body.chunks(16384) {
        stream.extend_from_slice(&[22, 3, 1]);
        stream.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        stream.extend_from_slice(chunk);
    }
    let f = tls_capture(&stream, 1460).save("tls-huge-hello.pcap");
    let (code, v, err, rss, took) = run(&["connections"], &f);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("limit max_tls_hello_bytes reached 1 time"),
        "{err}"
    );
    assert_eq!(v["connections"][0]["protocol"], "tls");
    assert_eq!(v["connections"][0]["tls"]["sni"], Value::Null);
    assert_eq!(v["captures"][0]["limits_hit"]["max_tls_hello_bytes"], 1);
    assert!(rss < 64.0, "{rss} MB");
    assert!(took < Duration::from_secs(30), "{took:?}");
    // An extension that claims 65535 bytes inside a small hello, after the
    // server name: what came before it is still read.
    let mut liar = client_hello("shop.example", &[0, 16, 0xff, 0xff, 0, 2, 1, b'x']);
    let mut stream = vec![22, 3, 1];
    stream.extend_from_slice(&(liar.len() as u16).to_be_bytes());
    stream.append(&mut liar);
    let f = tls_capture(&stream, 100).save("tls-lying-extension.pcap");
    let (code, v, err, _, _) = run(&["connections"], &f);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["connections"][0]["tls"]["sni"], "shop.example");
    assert_eq!(
        v["connections"][0]["tls"]["alpn_offered"],
        serde_json::json!([])
    );
}
