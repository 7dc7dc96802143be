//! The crate's layout is the pipeline, and imports run one way: a module
//! may use the modules below it in [`LAYERS`], never one above it, and no
//! two files import each other. Read from the sources' `crate::` paths, so a
//! new arrow that runs back up fails here, with the line that made it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crate's top-level modules, lowest first. The pipeline's stages are
/// in the order data flows (capture -> decode -> reassembly -> flow -> http
/// -> rules), then what ties them together (limits, analyze) and what shows
/// the result (report, cli). `interrupt` (the stop a signal requests) is
/// below them all: the capture reader and the analysis loop both ask it. `reassembly` sits below `flow` because the flow
/// table owns each connection's two reassemblers; both meet the HTTP layer
/// only through the `StreamHandler` trait that `reassembly` defines. `tls`
/// reads TLS connections without keys; it is the HTTP stage's peer (both
/// take the reassembled streams), placed just below `http` because the
/// HTTP stage's connection handler decides, on the client's first bytes,
/// which of the two reads a connection, and will feed decrypted records to
/// the HTTP parser: `http` uses `tls`, never the other way.
const LAYERS: &[&str] = &[
    "interrupt",
    "time",
    "capture",
    "decode",
    "reassembly",
    "flow",
    "filter",
    "tls",
    "http",
    "rules",
    "limits",
    "analyze",
    "report",
    "cli",
    "main",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`src/http/head.rs` ->
/// `http`, `src/time.rs` -> `time`).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a file without its unit tests (`#[cfg(test)]` to the end of
/// the file, as this crate writes them) and without comments.
fn code(text: &str) -> String {
    let body = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    body.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::X` a file names, with the line it is on. `crate::Timestamp`
/// is `time`'s re-export at the crate root.
fn imports(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (n, line) in code(text).lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let module = if name == "Timestamp" {
                "time".to_string()
            } else {
                name
            };
            out.push((module, n + 1));
        }
    }
    out
}

fn rank(module: &str) -> usize {
    LAYERS.iter().position(|m| *m == module).unwrap_or_else(|| {
        panic!("module `{module}` is not placed in LAYERS (tests/architecture.rs)")
    })
}

#[test]
fn stages_import_only_the_stages_below_them() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    assert!(files.len() > 40, "{} source files", files.len());
    let mut wrong = Vec::new();
    for file in &files {
        let from = module_of(file);
        let text = std::fs::read_to_string(file).unwrap();
        for (to, line) in imports(&text) {
            if to != from && rank(&to) > rank(&from) {
                wrong.push(format!(
                    "{}:{line}: `{from}` uses `{to}`, a later stage",
                    file.strip_prefix(src()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that run back up the pipeline:\n{}",
        wrong.join("\n")
    );
}

/// Which file a `crate::a::b::c` path lands in: the longest prefix that is
/// a file (`a/b.rs` or `a/b/mod.rs`).
fn file_of(path: &[String], known: &BTreeSet<PathBuf>) -> Option<PathBuf> {
    for n in (1..=path.len()).rev() {
        let rel: PathBuf = path[..n].iter().collect();
        for candidate in [rel.with_extension("rs"), rel.join("mod.rs")] {
            let full = src().join(&candidate);
            if known.contains(&full) {
                return Some(full);
            }
        }
    }
    None
}

/// The path at the start of `text`, braces and all: `a::{b::C, d}`.
fn path_text(text: &str) -> &str {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return &text[..i],
            '}' => depth -= 1,
            c if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':') => return &text[..i],
            _ => {}
        }
    }
    text
}

/// `a::{b::C, d::{e, F}}` -> `a::b::C`, `a::d::e`, `a::d::F`.
fn expand(path: &str) -> Vec<String> {
    let Some(open) = path.find('{') else {
        return vec![path.to_string()];
    };
    let head = &path[..open];
    let inner = path[open + 1..]
        .strip_suffix('}')
        .unwrap_or(&path[open + 1..]);
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .flat_map(|i| expand(&format!("{head}{i}")))
        .collect()
}

#[test]
fn no_two_files_import_each_other() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let known: BTreeSet<PathBuf> = files.iter().cloned().collect();
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in &files {
        let text = code(&std::fs::read_to_string(file).unwrap());
        // `crate::a::b::c` and `super::x` paths, resolved to files.
        let dir = file.parent().unwrap();
        for line in text.lines() {
            for (prefix, base) in [("crate::", src()), ("super::", dir.to_path_buf())] {
                let mut rest = line;
                while let Some(i) = rest.find(prefix) {
                    rest = &rest[i + prefix.len()..];
                    // `super::` from a mod.rs is its own folder's parent.
                    let base = if prefix == "super::" && file.ends_with("mod.rs") {
                        base.parent().unwrap().to_path_buf()
                    } else {
                        base.clone()
                    };
                    let rel = base.strip_prefix(src()).unwrap_or(Path::new(""));
                    let stem: Vec<String> = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    for path in expand(path_text(rest)) {
                        let mut full = stem.clone();
                        full.extend(
                            path.split("::")
                                .map(str::trim)
                                .take_while(|s| s.chars().next().is_some_and(char::is_lowercase))
                                .map(str::to_string),
                        );
                        if let Some(target) = file_of(&full, &known) {
                            if &target != file {
                                edges.entry(file.clone()).or_default().insert(target);
                            }
                        }
                    }
                }
            }
        }
    }
    let mut loops = Vec::new();
    for (a, targets) in &edges {
        for b in targets {
            if a < b && edges.get(b).is_some_and(|t| t.contains(a)) {
                loops.push(format!(
                    "{} <-> {}",
                    a.strip_prefix(src()).unwrap().display(),
                    b.strip_prefix(src()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        loops.is_empty(),
        "files that import each other:\n{}",
        loops.join("\n")
    );
}
