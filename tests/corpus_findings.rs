//! What the rules report on the public corpus is pinned: every finding on a
//! real capture was judged real when its rule was written (the reasons per
//! rule are in the header of tests/corpus/expected-findings.tsv). A change
//! in what fires on real traffic fails here, to be judged again.

use connlint::analyze::{run_check, Limits};
use connlint::rules::Config;
use std::collections::BTreeMap;
use std::path::Path;

#[test]
fn corpus_findings_are_the_judged_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let text = std::fs::read_to_string(root.join("expected-findings.tsv")).unwrap();
    let mut expected: BTreeMap<(String, String), usize> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        expected.insert((f[0].to_string(), f[1].to_string()), f[2].parse().unwrap());
    }
    let config = Config::default_all();
    let mut got: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir(root.join("files"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let o = run_check(path.to_str().unwrap(), &Limits::default(), &config);
        for f in &o.findings {
            *got.entry((name.clone(), f.code.to_string())).or_default() += 1;
        }
    }
    let mut diff = Vec::new();
    for k in expected
        .keys()
        .chain(got.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (e, g) = (
            expected.get(k).copied().unwrap_or(0),
            got.get(k).copied().unwrap_or(0),
        );
        if e != g {
            diff.push(format!("{} {}: expected {e}, got {g}", k.0, k.1));
        }
    }
    assert!(
        diff.is_empty(),
        "corpus findings changed; judge them and update expected-findings.tsv:\n{}",
        diff.join("\n")
    );
}
