//! What the command-line tests share: the built binary, run from the
//! package root (so capture paths are relative to it) without the caller's
//! `COLUMNS`, which would wrap tables.

// Each test crate uses only some of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs connlint with `args` and the variables `env`: (exit code, stdout,
/// stderr).
pub fn run_with(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_connlint"))
        .current_dir(root())
        .env_remove("COLUMNS")
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs connlint with `args`: (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (Option<i32>, String, String) {
    run_with(args, &[])
}
