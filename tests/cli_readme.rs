//! The README's examples are what connlint prints (issue 11): the Quick
//! start's `check` output (on a 100-column terminal, as `COLUMNS=100`
//! sets it) and the `--statistics` example, byte for byte.

use std::path::Path;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The first ```text block after the line holding `marker`.
fn block_after(text: &str, marker: &str) -> String {
    let from = text
        .find(marker)
        .unwrap_or_else(|| panic!("README: no `{marker}`"));
    let rest = &text[from..];
    let start = rest.find("```text\n").unwrap() + "```text\n".len();
    let end = rest[start..].find("```").unwrap();
    // Indented blocks (in a list) are indented by their list item.
    let body = &rest[start..start + end];
    let indent = body.len() - body.trim_start_matches(' ').len();
    body.lines()
        .map(|l| l.get(indent..).unwrap_or("").trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

fn connlint(args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_connlint"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .env("COLUMNS", "100")
        .env_remove("NO_COLOR")
        .args(args)
        .output()
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    let out = out
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    (o.status.code(), out.trim().to_string())
}

#[test]
fn the_quick_start_example_is_what_check_prints() {
    let want = block_after(&readme(), "tests/cli_readme.rs checks that this is");
    let (code, got) = connlint(&[
        "check",
        "samples/T001-nagle-delayed-ack-stall-client-side.pcap",
    ]);
    assert_eq!(code, Some(1), "the README says it exits 1");
    assert_eq!(got, want);
}

#[test]
fn the_statistics_example_is_what_check_prints() {
    let want = block_after(&readme(), "`--statistics` prints only the count per rule");
    let (_, got) = connlint(&[
        "check",
        "--statistics",
        "tests/corpus/files/zeek__testing-btest-Traces-http-methods.pcap",
        "tests/corpus/files/arkime__tests-pcap-wireshark-retrans.pcap",
        "tests/corpus/files/pcapplusplus__Tests-Pcap++Test-PcapExamples-example.pcap",
    ]);
    assert_eq!(got, want);
}
