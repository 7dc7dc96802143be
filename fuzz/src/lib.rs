//! Fuzz harnesses for connlint, one module per target.
//!
//! Each module's `run(&[u8])` takes the fuzzer's bytes through one stage of
//! the pipeline and checks invariants that must hold for any input; a
//! violated invariant panics, which libFuzzer reports as a crash. The
//! modules use nothing but `connlint`, `arbitrary` and (decrypt) the AEAD
//! crates connlint depends on, so that
//! `tests/fuzz_regressions.rs` can include them with `#[path]` and replay the
//! saved crash inputs on stable Rust.

pub mod capture_reader;
pub mod decode;
pub mod decrypt;
pub mod http;
pub mod pipeline;
pub mod reassembly;
pub mod tls;
