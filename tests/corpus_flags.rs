//! The transaction flags issue 12's item 7 changed on the public corpus,
//! pinned: tests/corpus/transaction-flags.tsv lists every transaction whose
//! `pipelined` or `complete` flag the change turned (133 requests no longer
//! `pipelined`, 7 messages no longer `complete`, on 13 captures), each with
//! the reason read from the packets with tshark:
//!
//! - not pipelined: the client's ACK on the request's first segment covers
//!   where the next response begins (when its status line was captured), or
//!   everything the server had sent (the capture's holes included) and the
//!   server had sent more since the previous request; on captures holding
//!   only the client's side, its ACK grew between the two requests;
//! - not complete: server bytes inside the response's body are missing from
//!   the capture.
//!
//! A listed transaction whose flags change, or that disappears, fails here,
//! so the flags on real traffic are judged again before such a change lands.

use connlint::analyze::{run, Limits};
use connlint::http::Keep;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// (capture file, connection id, transaction index).
type Key = (String, u64, u64);

/// The listed flags: (pipelined, complete).
fn listed() -> BTreeMap<Key, (bool, bool)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let text = std::fs::read_to_string(root.join("transaction-flags.tsv")).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    assert_eq!(
        lines.next(),
        Some("file\tconnection\ttransaction\tpipelined\tcomplete\treason"),
        "the header line of transaction-flags.tsv"
    );
    let flag = |s: &str| match s {
        "true" => true,
        "false" => false,
        other => panic!("a flag is true or false, not {other:?}"),
    };
    let mut out = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 6, "six tab-separated columns: {line}");
        assert!(
            f[5].len() >= 40,
            "each row needs its reason from the packets: {line}"
        );
        let key = (
            f[0].to_string(),
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
        );
        let old = out.insert(key, (flag(f[3]), flag(f[4])));
        assert!(old.is_none(), "listed twice: {line}");
    }
    out
}

#[test]
fn the_flags_item_7_changed_on_the_corpus_are_the_judged_ones() {
    let listed = listed();
    assert_eq!(
        listed.len(),
        140,
        "133 pipelined and 7 complete flags turned"
    );
    let files: BTreeSet<&String> = listed.keys().map(|(f, _, _)| f).collect();
    assert_eq!(files.len(), 13);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/files");
    let mut wrong = Vec::new();
    let mut found = 0;
    for file in files {
        let path = root.join(file);
        let mut got: BTreeMap<(u64, u64), (bool, bool)> = BTreeMap::new();
        run(
            path.to_str().unwrap(),
            &Limits::default(),
            Keep::TRANSACTIONS,
            |a| {
                for (i, t) in a.http.transactions.iter().enumerate() {
                    got.insert((a.connection.id, i as u64), (t.pipelined, t.complete));
                }
            },
        );
        for ((_, conn, tx), want) in
            listed.range((file.clone(), 0, 0)..=(file.clone(), u64::MAX, u64::MAX))
        {
            match got.get(&(*conn, *tx)) {
                Some(have) if have == want => found += 1,
                have => wrong.push(format!(
                    "{file} connection {conn} transaction {tx}: (pipelined, complete) = {have:?}, listed {want:?}"
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(found, listed.len());
}

#[test]
fn a_request_after_an_ack_that_releases_the_servers_bytes_starts_in_its_own_frame() {
    // 1kxun stream 51: the server's frames 1175-1176 (bytes 4321-7116) wait
    // behind a hole (1-4321) until the client's frame 1292 ACKs 7116 and
    // carries GET /images/detail_revision/go_homepage.png. The ACK releases
    // the server's bytes, announced in frames 1175 and 1176; the request
    // that follows in the same segment is in frame 1292 (tshark:
    // `tcp.stream == 51 && http.request`: frames 1162, 1292, 1308), not in
    // the server's frame 1176.
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus/files/ndpi__tests-cfgs-default-pcap-1kxun.pcap");
    let mut frames = Vec::new();
    run(
        path.to_str().unwrap(),
        &Limits::default(),
        Keep::TRANSACTIONS,
        |a| {
            if a.connection.id == 51 {
                frames = a
                    .http
                    .transactions
                    .iter()
                    .map(|t| t.request.as_ref().map(|m| m.first_frame))
                    .collect();
            }
        },
    );
    assert_eq!(frames, [Some(1162), Some(1292), Some(1308)]);
}
