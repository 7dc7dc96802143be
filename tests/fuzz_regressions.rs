//! Inputs the fuzzers found crashes with (tests/data/fuzz/<target>/), replayed
//! through the same harnesses on stable Rust: the fuzz crate's modules are
//! included as they are, so each input runs exactly the code path and the
//! invariants the fuzzer ran. See fuzz/README.md.
//!
//! `FUZZ_DESCRIBE=1 cargo test --test fuzz_regressions -- --nocapture`
//! prints what each script-driven input decodes to.

#[path = "../fuzz/src/capture_reader.rs"]
mod capture_reader;
#[path = "../fuzz/src/decode.rs"]
mod decode;
#[path = "../fuzz/src/decrypt.rs"]
mod decrypt;
#[path = "../fuzz/src/http.rs"]
mod http;
#[path = "../fuzz/src/pipeline.rs"]
mod pipeline;
#[path = "../fuzz/src/reassembly.rs"]
mod reassembly;
#[path = "../fuzz/src/tls.rs"]
mod tls;

use std::path::PathBuf;

/// The saved inputs of one target, sorted by name.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .filter(|(name, _)| !name.ends_with(".md"))
        .collect();
    out.sort();
    out
}

fn replay(target: &str, run: fn(&[u8]), describe: Option<fn(&[u8]) -> String>) {
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "no saved inputs for {target}");
    for (name, bytes) in inputs {
        if let (Some(describe), Some(_)) = (describe, std::env::var_os("FUZZ_DESCRIBE")) {
            println!("{target}/{name}:\n{}", describe(&bytes));
        }
        println!("{target}/{name}");
        run(&bytes);
    }
}

#[test]
fn capture_reader_regressions() {
    replay("capture_reader", capture_reader::run, None);
}

#[test]
fn decode_regressions() {
    replay("decode", decode::run, None);
}

#[test]
fn reassembly_regressions() {
    replay("reassembly", reassembly::run, Some(reassembly::describe));
}

#[test]
fn http_regressions() {
    replay("http", http::run, Some(http::describe));
}

#[test]
fn pipeline_regressions() {
    replay("pipeline", pipeline::run, None);
}

#[test]
fn tls_regressions() {
    replay("tls", tls::run, Some(tls::describe));
}

#[test]
fn decrypt_regressions() {
    replay("decrypt", decrypt::run, Some(decrypt::describe));
}
