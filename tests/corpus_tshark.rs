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

use connlint::analyze::{run_capture, Limits};
use connlint::reassembly::{Side, StreamHandler};
use connlint::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Hashes what a connection delivers, per direction.
#[derive(Default)]
struct Digests {
    sha: [Sha256; 2],
    len: [u64; 2],
}

impl StreamHandler for Digests {
    fn on_data(&mut self, from: Side, _: u64, bytes: &[u8], _: Timestamp) {
        self.sha[from.index()].update(bytes);
        self.len[from.index()] += bytes.len() as u64;
    }
    fn on_gap(&mut self, _: Side, _: u64, _: u64, _: Timestamp) {}
    fn on_fin(&mut self, _: Side, _: Timestamp) {}
    fn on_rst(&mut self, _: Side, _: Timestamp) {}
}

struct Ours {
    id: u64,
    client: String,
    server: String,
    /// (bytes, sha256 hex) sent by the client and by the server.
    sent: [(u64, String); 2],
}

fn analyze(path: &Path) -> (Vec<Ours>, connlint::analyze::CaptureSummary) {
    let mut conns = Vec::new();
    let summary = run_capture(path.to_str().unwrap(), &Limits::default(), Digests::default, |f| {
        let [c, s] = f.handler.sha;
        conns.push(Ours {
            id: f.connection.id,
            client: f.connection.client.to_string(),
            server: f.connection.server.to_string(),
            sent: [
                (f.handler.len[0], hex(&c.finalize())),
                (f.handler.len[1], hex(&s.finalize())),
            ],
        });
    });
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
        .map(|l| header.iter().map(|h| h.to_string()).zip(l.split('\t').map(str::to_string)).collect())
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

/// Link types connlint does not decode (its report counts their frames as
/// unsupported). 802.11 would need radiotap + 802.11 + LLC/SNAP and
/// ARCNET its own framing; neither carries HTTP connection management that
/// the other captures lack.
const UNSUPPORTED: &[&str] = &[];

/// Files where connlint's connection count differs from tshark's, with
/// connlint's count and why connlint is right.
const COUNT_DIFFERS: &[(&str, usize, &str)] = &[];

/// Streams whose bytes differ from tshark's although tshark saw no hole,
/// with the reason connlint is right.
const BYTES_DIFFER: &[(&str, u64, &str)] = &[];

#[test]
fn connections_and_stream_bytes_match_tshark() {
    let summary = tsv(&corpus().join("tshark/summary.tsv"));
    let mut failures = Vec::new();
    let mut compared_streams = 0;
    let mut compared_files = 0;
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
            failures.push(format!("{file}: {} connections, tshark {tshark_streams}", ours.len()));
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
            let same = &o.sent[0] == c2s && &o.sent[1] == s2c;
            if same == known {
                failures.push(format!(
                    "{file}: stream {n}: ours c>s {} s>c {}, tshark c>s {} s>c {}{}",
                    o.sent[0].0,
                    o.sent[1].0,
                    c2s.0,
                    s2c.0,
                    if known { " (listed as differing, but now equal)" } else { "" }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    assert!(compared_files >= 100, "only {compared_files} files compared");
    assert!(compared_streams >= 1000, "only {compared_streams} streams compared");
}
