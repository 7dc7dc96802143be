//! The catalogue keeps its promises: every rule has a unique code and name,
//! documentation with the four sections, options it actually reads, a unit
//! test in its file, and a sample capture on which it fires; the README's
//! rules table is the registry's.

use std::collections::HashSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The source file of a rule: src/rules/catalogue/<code>_<name>.rs.
fn source_of(code: &str, name: &str) -> String {
    let file = format!("{}_{}.rs", code.to_lowercase(), name.replace('-', "_"));
    std::fs::read_to_string(root().join("src/rules/catalogue").join(&file))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn every_rule_is_documented_tested_and_sampled() {
    let rules = connlint::rules::all();
    assert_eq!(rules.len(), 25, "SPEC §3 has 25 rules");
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
