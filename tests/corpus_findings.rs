//! Every finding connlint makes on the public corpus is listed, one per line,
//! in tests/corpus/expected-findings.tsv — capture, rule, connection,
//! transaction — with a one-line reason it is real, judged by reading the
//! packets with tshark. A finding that is not listed fails here, and so does
//! a listed one that disappears: a change in what fires on real traffic is
//! judged again before it lands.

use connlint::analyze::{run, run_check, Limits};
use connlint::http::Keep;
use connlint::rules::Config;
use std::collections::BTreeMap;
use std::path::Path;

/// (capture file, rule code, connection id, transaction or "-").
type Key = (String, String, u64, String);

fn expected() -> BTreeMap<Key, Vec<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let text = std::fs::read_to_string(root.join("expected-findings.tsv")).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    assert_eq!(
        lines.next(),
        Some("file\tcode\tconnection\ttransaction\treason"),
        "the header line of expected-findings.tsv"
    );
    let mut out: BTreeMap<Key, Vec<String>> = BTreeMap::new();
    for (n, line) in lines.enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            f.len(),
            5,
            "line {}: five tab-separated columns: {line}",
            n + 2
        );
        let reason = f[4].trim();
        assert!(
            reason.len() >= 20,
            "line {}: a finding needs its one-line reason: {line}",
            n + 2
        );
        let key = (
            f[0].to_string(),
            f[1].to_string(),
            f[2].parse().unwrap(),
            f[3].to_string(),
        );
        out.entry(key).or_default().push(reason.to_string());
    }
    out
}

#[test]
fn corpus_findings_are_the_reviewed_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let expected = expected();
    let config = Config::default_all();
    let limits = Limits::default();
    let mut got: BTreeMap<Key, usize> = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir(root.join("files"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 119, "{} corpus files", files.len());
    let mut s001_on_reused = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let o = run_check(path.to_str().unwrap(), &limits, &config);
        // Transactions per connection, counted by `connections`' own path.
        let mut per_conn: BTreeMap<u64, u64> = BTreeMap::new();
        run(path.to_str().unwrap(), &limits, Keep::COUNT, |a| {
            per_conn.insert(a.connection.id, a.transaction_count());
        });
        for f in &o.findings {
            let tx = f.transaction.map_or("-".to_string(), |t| t.to_string());
            *got.entry((name.clone(), f.code.to_string(), f.connection, tx))
                .or_default() += 1;
            // The issue's own check: S001 never fires on a connection that
            // carried more than one transaction.
            if f.code == "S001" && per_conn.get(&f.connection).copied().unwrap_or(0) > 1 {
                s001_on_reused.push(format!("{name} connection {}", f.connection));
            }
        }
    }
    assert!(
        s001_on_reused.is_empty(),
        "S001 on reused connections: {s001_on_reused:?}"
    );
    let mut missing = Vec::new();
    let mut unlisted = Vec::new();
    for (k, reasons) in &expected {
        let g = got.get(k).copied().unwrap_or(0);
        if g < reasons.len() {
            missing.push(format!(
                "{}\t{}\t{}\t{} (listed {}, found {g})",
                k.0,
                k.1,
                k.2,
                k.3,
                reasons.len()
            ));
        }
    }
    for (k, g) in &got {
        let e = expected.get(k).map_or(0, Vec::len);
        for _ in e..*g {
            unlisted.push(format!("{}\t{}\t{}\t{}\t", k.0, k.1, k.2, k.3));
        }
    }
    assert!(
        missing.is_empty() && unlisted.is_empty(),
        "corpus findings changed; judge each with tshark and update tests/corpus/expected-findings.tsv\n\
         listed but no longer found:\n{}\nfound but not listed (add a reason after the last tab):\n{}",
        missing.join("\n"),
        unlisted.join("\n")
    );
}
