//! What connlint reads of TLS handshakes equals what tshark's TLS dissector
//! reads (`tls.handshake.*`), on every capture in tests/corpus/files and
//! samples/ that holds one: versions offered and chosen, server name, ALPN
//! offered and chosen, what the ClientHello offered to resume with, whether
//! the session was resumed, the cipher suite, HelloRetryRequest. tshark's
//! reading is frozen in `tests/corpus/tshark/*.tls.tsv` and
//! `samples/tshark/*.tls.tsv` by `scripts/tshark-tls-reference.py` (its
//! docstring says how each column is derived).

use connlint::analyze::{run, Limits};
use connlint::http::Keep;
use connlint::tls::{HandshakeKind, TlsReport};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Connection id -> (client, server, TLS report) of every TLS connection.
fn connlint_tls(capture: &Path) -> BTreeMap<u64, (String, String, TlsReport)> {
    let mut out = BTreeMap::new();
    run(
        capture.to_str().unwrap(),
        &Limits::default(),
        Keep::COUNT,
        |a| {
            if let Some(t) = a.tls {
                out.insert(
                    a.connection.id,
                    (
                        a.connection.client.to_string(),
                        a.connection.server.to_string(),
                        *t,
                    ),
                );
            }
        },
    );
    out
}

/// connlint's reading in the reference's columns.
fn columns(client: &str, server: &str, t: &TlsReport) -> Vec<String> {
    let hex = |v: Option<u16>| v.map_or(String::new(), |v| format!("0x{v:04x}"));
    let flag = |b: bool| if b { "1" } else { "0" }.to_string();
    let ch = t.client_hello.as_ref();
    let sh = t.server_hello.as_ref();
    vec![
        client.to_string(),
        server.to_string(),
        hex(t.offered_version().map(|v| v.0)),
        hex(t.version().map(|v| v.0)),
        t.sni().unwrap_or("").to_string(),
        t.alpn_offered().join(","),
        t.alpn().unwrap_or("").to_string(),
        ch.map_or(0, |c| c.session_id.len()).to_string(),
        flag(ch.is_some_and(|c| c.ticket_bytes > 0)),
        flag(ch.is_some_and(|c| c.psk)),
        flag(ch.is_some_and(|c| c.early_data)),
        match (sh, t.handshake) {
            (None, _) => String::new(),
            (Some(_), HandshakeKind::Resumed) => "1".into(),
            (Some(_), _) => "0".into(),
        },
        hex(sh.map(|s| s.cipher_suite)),
        flag(t.hello_retry),
    ]
}

fn references(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".tls.tsv"))
        .collect();
    v.sort();
    v
}

fn compare(reference: &Path, capture: &Path) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(reference).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let ours = connlint_tls(capture);
    let name = capture.file_name().unwrap().to_string_lossy().to_string();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for line in lines {
        let cols: Vec<&str> = line.split('\t').collect();
        let stream: u64 = cols[0].parse().unwrap();
        seen.insert(stream);
        let Some((client, server, t)) = ours.get(&stream) else {
            problems.push(format!(
                "{name}: stream {stream}: tshark reads a TLS handshake, connlint no TLS connection"
            ));
            continue;
        };
        let mine = columns(client, server, t);
        for (i, (want, got)) in cols[1..].iter().zip(&mine).enumerate() {
            if want != got {
                problems.push(format!(
                    "{name}: stream {stream}: {}: tshark {want:?}, connlint {got:?}",
                    header[i + 1]
                ));
            }
        }
    }
    for id in ours.keys().filter(|id| !seen.contains(id)) {
        problems.push(format!(
            "{name}: connection {id}: TLS for connlint, no ClientHello for tshark"
        ));
    }
    (seen.len(), problems)
}

#[test]
fn tls_handshake_fields_equal_tsharks_on_every_tls_capture() {
    let sets = [
        (
            root().join("tests/corpus/tshark"),
            root().join("tests/corpus/files"),
        ),
        (root().join("samples/tshark"), root().join("samples")),
    ];
    let (mut streams, mut files, mut problems) = (0, 0, Vec::new());
    for (refs, captures) in &sets {
        for r in references(refs) {
            let capture = captures.join(
                r.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .trim_end_matches(".tls.tsv"),
            );
            let (n, p) = compare(&r, &capture);
            streams += n;
            files += 1;
            problems.extend(p);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // 2 corpus captures (6 streams) and 22 samples (32 streams) as recorded
    // (ten of them with a key log, tests/tls_decrypt.rs).
    assert_eq!(
        (files, streams),
        (24, 38),
        "reference files and TLS streams compared"
    );
}

#[test]
fn every_capture_connlint_finds_tls_in_has_a_tshark_reading() {
    for (refs, captures, ext) in [
        ("tests/corpus/tshark", "tests/corpus/files", ""),
        ("samples/tshark", "samples", ".pcap"),
    ] {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(root().join(captures))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.to_string_lossy().ends_with(ext))
            .collect();
        entries.sort();
        for capture in entries {
            let name = capture.file_name().unwrap().to_string_lossy().to_string();
            let has_tls = !connlint_tls(&capture).is_empty();
            let reference = root().join(refs).join(format!("{name}.tls.tsv"));
            assert_eq!(
                has_tls,
                reference.exists(),
                "{name}: connlint finds TLS: {has_tls}; tshark reading {}",
                reference.display()
            );
        }
    }
}
