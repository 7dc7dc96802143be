//! connlint against tshark on the real public captures in tests/corpus.
//!
//! For every capture on a link type connlint reads:
//! - the number of TCP connections equals the number of TCP streams tshark
//!   numbers (`tcp.stream`, which also opens a new stream on a reused port);
//! - for every stream in which tshark saw no missing bytes, the bytes
//!   connlint reassembled in each direction equal tshark's
//!   (`-z follow,tcp,raw,N`, stored as length + SHA-256 by
//!   scripts/tshark-reference.py).
//!
//! Where the two differ, the file is listed below with who is right and why;
//! the test then asserts connlint's (right) answer.

use connlint::analyze::{run_with_handler, Limits};
use connlint::capture::CaptureReader;
use connlint::reassembly::{Side, StreamHandler};
use connlint::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Hashes what a connection delivers, per direction, and what it had
/// delivered before its first gap.
#[derive(Default)]
struct Digests {
    sha: [Sha256; 2],
    len: [u64; 2],
    /// Bytes since the last gap (a fresh hasher at each gap).
    since_gap: [Sha256; 2],
    since_gap_len: [u64; 2],
    gaps: [u32; 2],
    /// Every gap-free run of bytes but the last, in stream order.
    runs: [Vec<(u64, String)>; 2],
}

impl StreamHandler for Digests {
    /// Roles as connlint's HTTP layer tells them (who speaks first), so the
    /// directions match the commands'.
    fn sender_of(payload: &[u8]) -> Option<Side> {
        connlint::http::HttpConnection::sender_of(payload)
    }
    fn on_data(&mut self, from: Side, _: u64, bytes: &[u8], _: Timestamp) {
        self.sha[from.index()].update(bytes);
        self.len[from.index()] += bytes.len() as u64;
        self.since_gap[from.index()].update(bytes);
        self.since_gap_len[from.index()] += bytes.len() as u64;
    }
    fn on_gap(&mut self, from: Side, _: u64, _: u64, _: Timestamp) {
        let i = from.index();
        let run = std::mem::take(&mut self.since_gap[i]);
        self.runs[i].push((self.since_gap_len[i], hex(&run.finalize())));
        self.since_gap_len[i] = 0;
        self.gaps[i] += 1;
    }
    fn on_fin(&mut self, _: Side, _: Timestamp) {}
    fn on_rst(&mut self, _: Side, _: Timestamp) {}
}

struct Ours {
    id: u64,
    client: String,
    server: String,
    /// (bytes, sha256 hex) sent by the client and by the server.
    sent: [(u64, String); 2],
    /// For a direction that had gaps: every gap-free run of bytes.
    runs: [Vec<(u64, String)>; 2],
}

fn analyze(path: &Path) -> (Vec<Ours>, connlint::analyze::CaptureSummary) {
    let mut conns = Vec::new();
    let limits = Limits::default();
    let summary = run_with_handler(
        path.to_str().unwrap(),
        CaptureReader::open(path, limits.reader),
        &limits,
        Digests::default,
        |f| {
            let h = f.handler;
            let mut runs = h.runs.clone();
            for (i, run) in runs.iter_mut().enumerate() {
                if h.gaps[i] > 0 {
                    run.push((h.since_gap_len[i], hex(&h.since_gap[i].clone().finalize())));
                }
            }
            let [c, s] = h.sha;
            conns.push(Ours {
                runs,
                id: f.connection.id,
                client: f.connection.client.to_string(),
                server: f.connection.server.to_string(),
                sent: [
                    (h.len[0], hex(&c.finalize())),
                    (h.len[1], hex(&s.finalize())),
                ],
            });
        },
    );
    conns.sort_by_key(|c| c.id);
    (conns, summary)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// tshark's row for one stream: endpoints, and per direction bytes, hash, gaps.
struct Theirs {
    node: [String; 2],
    sent: [(u64, String); 2],
    gaps: u64,
}

fn tsv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    lines
        .map(|l| {
            header
                .iter()
                .map(|h| h.to_string())
                .zip(l.split('\t').map(str::to_string))
                .collect()
        })
        .collect()
}

fn theirs(file: &str) -> BTreeMap<u64, Theirs> {
    tsv(&corpus().join("tshark").join(format!("{file}.streams.tsv")))
        .into_iter()
        .map(|r| {
            let n: u64 = r["tcp_stream"].parse().unwrap();
            let num = |k: &str| r[k].parse::<u64>().unwrap_or(0);
            (
                n,
                Theirs {
                    node: [r["node0"].clone(), r["node1"].clone()],
                    sent: [
                        (num("bytes_0_to_1"), r["sha256_0_to_1"].clone()),
                        (num("bytes_1_to_0"), r["sha256_1_to_0"].clone()),
                    ],
                    gaps: num("gaps_0") + num("gaps_1"),
                },
            )
        })
        .collect()
}

/// Captures on link types connlint does not decode (its report counts their
/// frames as unsupported). Every link type in the corpus is decoded —
/// including 802.11 radiotap, ARCNET, Cisco HDLC and NFLOG — so none.
const UNSUPPORTED: &[&str] = &[];

/// Files where connlint's connection count differs from tshark's, with
/// connlint's count and why connlint is right.
const COUNT_DIFFERS: &[(&str, usize, &str)] = &[(
    "ndpi__tests-cfgs-default-pcap-fuzz-2006-09-29-28586.pcap",
    36,
    "frames 27 and 80 are fuzzed: their TCP data offset points past the end of the segment. tshark \
     flags both as malformed yet still numbers a stream for each (stream 8 opened by frame 27, \
     stream 23 holding frame 80 alone), so it counts 38. connlint skips a TCP header that does not \
     fit as malformed (counted in the capture's stats), so frame 80 opens nothing and the three \
     frames tshark put behind frame 27 in stream 8 stay in the connection of their 4-tuple.",
)];

/// Streams whose bytes differ from tshark's in a way no rule below
/// explains, with the reason connlint is right.
const BYTES_DIFFER: &[(&str, u64, &str)] = &[(
    "pcap2har__tests-out-of-order.pcap",
    10,
    "the server sent a second SYN-ACK (frame 468) with a new ISN after the handshake had completed \
     on the first one; tshark re-bases the server's sequence numbers on it, so the 309716 bytes of \
     response that follow in the first numbering (which the client goes on acknowledging, frames \
     491-503) fall outside its window and its follow output is empty. connlint keeps the first ISN \
     and delivers them.",
)];

/// Files with streams in which tshark's follow output is only one gap-free
/// run of the stream, without a marker for the holes around it: it reports
/// no missing bytes and fewer bytes. It starts at the first data it saw and
/// stops at the first hole that is never filled — so where the capture shows
/// later data first and earlier data after (chrissanders tcp_dupack, frames
/// 2-8), or begins after bytes the peer's ACK shows were sent (1kxun stream
/// 84, frames 1587-1599), it leaves out what lies before. connlint declares
/// each hole a gap (the peer acknowledged past it, or the capture ended) and
/// delivers all the captured bytes around them, in stream order. For these
/// the test asserts that tshark's bytes are exactly one of connlint's
/// gap-free runs. The list is checked both ways, so it cannot go stale.
const TSHARK_STOPS_AT_HOLE: &[&str] = &[
    "chrissanders__tcp_dupack.pcapng",
    "ndpi__tests-cfgs-default-pcap-1kxun.pcap",
    "ndpi__tests-cfgs-default-pcap-quickplay.pcap",
    "pcapplusplus__Tests-Pcap++Test-PcapExamples-4KHttpRequests.pcap",
    "pcapplusplus__Tests-Pcap++Test-PcapExamples-650HttpResponses.pcap",
    "pcapplusplus__Tests-Pcap++Test-PcapExamples-unidirectional_tcp_stream_with_missing_packet.pcap",
    "sv__tests-tcp-rst-unacked-stream-07-http-input.pcap",
];

#[test]
fn connections_and_stream_bytes_match_tshark() {
    let summary = tsv(&corpus().join("tshark/summary.tsv"));
    let mut failures = Vec::new();
    let mut compared_streams = 0;
    let mut compared_files = 0;
    let mut stops_at_hole = std::collections::BTreeSet::new();
    for row in &summary {
        let file = &row["file"];
        let path = corpus().join("files").join(file);
        let (ours, sum) = analyze(&path);
        if UNSUPPORTED.contains(&file.as_str()) {
            assert!(
                !sum.decode.unsupported_link.is_empty() && ours.is_empty(),
                "{file}: expected to be reported as an unsupported link type"
            );
            continue;
        }
        compared_files += 1;
        let tshark_streams: usize = row["tcp_streams"].parse().unwrap();
        let expected = COUNT_DIFFERS
            .iter()
            .find(|(f, _, _)| f == file)
            .map_or(tshark_streams, |(_, n, _)| *n);
        if ours.len() != expected {
            failures.push(format!(
                "{file}: {} connections, tshark {tshark_streams}",
                ours.len()
            ));
            continue;
        }
        if expected != tshark_streams {
            continue; // numbering differs; bytes are checked where it does not
        }
        for (n, t) in theirs(file) {
            if t.gaps > 0 {
                continue;
            }
            let Some(o) = ours.iter().find(|o| o.id == n) else {
                failures.push(format!("{file}: no connection {n}"));
                continue;
            };
            // tshark's node 0 is whoever sent the stream's first packet.
            let (c2s, s2c) = if t.node[0] == o.client && t.node[1] == o.server {
                (&t.sent[0], &t.sent[1])
            } else if t.node[1] == o.client && t.node[0] == o.server {
                (&t.sent[1], &t.sent[0])
            } else {
                failures.push(format!(
                    "{file}: stream {n} is {} <-> {}, connection {n} is {} <-> {}",
                    t.node[0], t.node[1], o.client, o.server
                ));
                continue;
            };
            compared_streams += 1;
            let known = BYTES_DIFFER.iter().any(|(f, s, _)| f == file && *s == n);
            // Per direction: equal, or (see TSHARK_STOPS_AT_HOLE) tshark's
            // bytes are ours before our first gap.
            let mut same = true;
            for (i, theirs) in [c2s, s2c].into_iter().enumerate() {
                if &o.sent[i] == theirs {
                    continue;
                }
                if o.runs[i].contains(theirs) {
                    stops_at_hole.insert(file.clone());
                } else {
                    same = false;
                }
            }
            if same == known {
                failures.push(format!(
                    "{file}: stream {n}: ours c>s {} s>c {}, tshark c>s {} s>c {}{}",
                    o.sent[0].0,
                    o.sent[1].0,
                    c2s.0,
                    s2c.0,
                    if known {
                        " (listed as differing, but now equal)"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("compared {compared_files} captures and {compared_streams} streams with tshark");
    let listed: std::collections::BTreeSet<String> =
        TSHARK_STOPS_AT_HOLE.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        stops_at_hole, listed,
        "files where tshark stops at an unfilled hole"
    );
    assert!(
        compared_files >= 100,
        "only {compared_files} files compared"
    );
    assert!(
        compared_streams >= 1000,
        "only {compared_streams} streams compared"
    );
}
