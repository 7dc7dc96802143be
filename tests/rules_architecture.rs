//! The rules' imports go one way. The catalogue is a row of peers: no rule
//! file imports another (what two rules share lives in a shared module of
//! the catalogue), the shared modules import no rule, and the modules a rule
//! stands on (the API, the capture index and its services) import neither
//! the catalogue nor what runs it.
//!
//! The files are read as text: a rule file is `src/rules/catalogue/` plus a
//! code and a name (`c001_keep_alive_header_without_connection_token.rs`),
//! with the files of its directory, if it has one (its tests, say).

use std::fs;
use std::path::{Path, PathBuf};

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules")
}

/// Whether a file stem is a rule's: a family letter, three digits, `_`.
fn is_rule_stem(stem: &str) -> bool {
    let b = stem.as_bytes();
    b.len() > 5
        && b[0].is_ascii_lowercase()
        && b[1..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'_'
}

/// Every `.rs` file under `dir`, recursively.
fn sources_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(sources_under(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// A module of the catalogue: its name and its files' text.
struct Module {
    name: String,
    files: Vec<(PathBuf, String)>,
}

/// The catalogue's modules but `mod.rs`: (rule files, shared modules).
fn catalogue() -> (Vec<Module>, Vec<Module>) {
    let dir = rules_dir().join("catalogue");
    let mut rules = Vec::new();
    let mut shared = Vec::new();
    for path in sources_under(&dir) {
        if path.parent() != Some(dir.as_path()) || path.ends_with("mod.rs") {
            continue; // a module's own directory is read with the module
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let mut files = vec![path.clone()];
        files.extend(sources_under(&dir.join(&name)));
        let files = files
            .into_iter()
            .map(|p| {
                let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
                (p, text)
            })
            .collect();
        let m = Module { name, files };
        if is_rule_stem(&m.name) {
            rules.push(m);
        } else {
            shared.push(m);
        }
    }
    (rules, shared)
}

/// Whether `text` names the module `name` as a whole word.
fn names(text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// The lines of `files` that reach into the catalogue by another way than
/// a module's name: its glob (`use super::*` at a rule file's top level,
/// which brings in the catalogue's private modules), or `super::super`
/// (from inside a rule's own modules).
fn reaches_around(files: &[(PathBuf, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in files {
        for (n, line) in text.lines().enumerate() {
            let glob = line.starts_with("use super::*") || line.starts_with("pub use super::*");
            if glob || line.contains("super::super") {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn no_rule_file_imports_another() {
    let (rules, _) = catalogue();
    assert!(rules.len() > 1, "no rule files found");
    let mut wrong = Vec::new();
    for r in &rules {
        for other in rules.iter().filter(|o| o.name != r.name) {
            for (path, text) in &r.files {
                if names(text, &other.name) {
                    wrong.push(format!("{} uses {}", path.display(), other.name));
                }
            }
        }
        wrong.extend(reaches_around(&r.files));
    }
    assert!(
        wrong.is_empty(),
        "rule files are peers: move what two rules share into a shared module of the \
         catalogue (common.rs, ...):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_shared_modules_import_no_rule() {
    let (rules, shared) = catalogue();
    assert!(!shared.is_empty(), "no shared modules found");
    let mut wrong = Vec::new();
    for m in &shared {
        for r in &rules {
            for (path, text) in &m.files {
                if names(text, &r.name) {
                    wrong.push(format!("{} uses {}", path.display(), r.name));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn what_a_rule_stands_on_imports_nothing_above_it() {
    let below = [
        "api.rs",
        "context.rs",
        "finding.rs",
        "meta.rs",
        "index.rs",
        "proxy_legs.rs",
    ];
    let above = ["catalogue", "config", "engine", "testing"];
    let mut wrong = Vec::new();
    for file in below {
        let path = rules_dir().join(file);
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        for module in above {
            for path_form in [format!("super::{module}"), format!("rules::{module}")] {
                if names(&text, &path_form) {
                    wrong.push(format!("src/rules/{file} uses {path_form}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_checks_see_what_they_look_for() {
    assert!(names("use super::c001_x::{label};", "c001_x"));
    assert!(names("crate::rules::catalogue::c001_x::Kind", "c001_x"));
    assert!(!names("use super::c001_x_y::label;", "c001_x"));
    assert!(!names("my_c001_x", "c001_x"));
    assert!(names("use super::catalogue;", "super::catalogue"));
    let file = |text: &str| vec![(PathBuf::from("f.rs"), text.to_string())];
    assert_eq!(reaches_around(&file("use super::*;\n")).len(), 1);
    assert_eq!(reaches_around(&file("    use super::super::x;\n")).len(), 1);
    assert!(reaches_around(&file("    use super::*;\n")).is_empty());
    assert!(is_rule_stem("t002_delayed_ack") && !is_rule_stem("common"));
}
