//! The catalogue keeps its promises: every rule has a unique code and name,
//! documentation with the four sections, options it actually reads, a unit
//! test in its file, and a sample capture on which it fires; every rule file
//! is in the registry and every registered rule has its file; the README's
//! rules table is the registry's.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A rule's file stem: `<code>_<name>` in snake case.
fn stem_of(code: &str, name: &str) -> String {
    format!("{}_{}", code.to_lowercase(), name.replace('-', "_"))
}

/// The source of a rule: src/rules/catalogue/<stem>.rs, with the files of
/// its directory (src/rules/catalogue/<stem>/, its tests say) if it has one.
fn source_of(code: &str, name: &str) -> String {
    let dir = root().join("src/rules/catalogue");
    let stem = stem_of(code, name);
    let file = format!("{stem}.rs");
    let mut src =
        std::fs::read_to_string(dir.join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    if let Ok(entries) = std::fs::read_dir(dir.join(&stem)) {
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths
            .iter()
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        {
            src.push_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p:?}: {e}")));
        }
    }
    src
}

/// The rule files: src/rules/catalogue/<letter><three digits>_*.rs.
fn rule_file_stems() -> BTreeSet<String> {
    std::fs::read_dir(root().join("src/rules/catalogue"))
        .expect("src/rules/catalogue")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".rs")?;
            let b = stem.as_bytes();
            let rule = b.len() > 5
                && b[0].is_ascii_lowercase()
                && b[1..4].iter().all(u8::is_ascii_digit)
                && b[4] == b'_';
            rule.then(|| stem.to_string())
        })
        .collect()
}

#[test]
fn every_rule_file_is_registered_and_every_rule_has_its_file() {
    let registered: BTreeSet<String> = connlint::rules::all()
        .iter()
        .map(|r| stem_of(r.meta().code, r.meta().name))
        .collect();
    assert_eq!(
        registered.len(),
        connlint::rules::all().len(),
        "two rules share a code and name"
    );
    assert_eq!(
        rule_file_stems(),
        registered,
        "src/rules/catalogue/*.rs and the list in catalogue/mod.rs differ"
    );
}

#[test]
fn every_rule_is_documented_tested_and_sampled() {
    let rules = connlint::rules::all();
    assert!(!rules.is_empty(), "no rules registered");
    let expected = std::fs::read_to_string(root().join("samples/expected.tsv")).unwrap();
    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    for r in rules {
        let m = r.meta();
        assert!(codes.insert(m.code), "duplicate code {}", m.code);
        assert!(names.insert(m.name), "duplicate name {}", m.name);
        for section in [
            "## What it detects",
            "## Why it matters",
            "## Example",
            "## How to fix",
        ] {
            assert!(m.doc.contains(section), "{}: doc lacks `{section}`", m.code);
        }
        assert!(
            !m.summary.is_empty() && m.summary.len() < 120,
            "{}: summary should be one short line",
            m.code
        );
        let src = source_of(m.code, m.name);
        assert!(
            src.contains("#[cfg(test)]") && src.contains("#[test]"),
            "{}: no unit test in its file",
            m.code
        );
        for o in m.options {
            let used = src.contains(&format!("\"{}\")", o.key));
            assert!(
                used,
                "{}: option `{}` is declared but never read",
                m.code, o.key
            );
            assert!(
                m.doc.contains(&format!("`{}`", o.key)),
                "{}: doc does not explain `{}`",
                m.code,
                o.key
            );
        }
        let sampled = expected
            .lines()
            .any(|l| l.split('\t').nth(1) == Some(m.code));
        assert!(sampled, "{}: no sample in samples/expected.tsv", m.code);
    }
}

/// The rules table between the README's markers, as `connlint rules` would
/// print it in Markdown.
fn rules_table() -> String {
    let mut s = String::from("| code | name | severity | what it finds |\n|---|---|---|---|\n");
    for r in connlint::rules::all() {
        let m = r.meta();
        s.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            m.code, m.name, m.severity, m.summary
        ));
    }
    s
}

#[test]
fn readme_rules_table_matches_the_registry() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = "<!-- rules:start -->\n";
    let end = "<!-- rules:end -->";
    let a = readme.find(start).expect("README has a rules:start marker") + start.len();
    let b = readme.find(end).expect("README has a rules:end marker");
    let want = rules_table();
    if readme[a..b] != want {
        if std::env::var_os("CONNLINT_BLESS").is_some() {
            let updated = format!("{}{}{}", &readme[..a], want, &readme[b..]);
            std::fs::write(root().join("README.md"), updated).unwrap();
        } else {
            panic!("README rules table is out of date; run `CONNLINT_BLESS=1 cargo test --test rules_meta`\n{want}");
        }
    }
}
