//! Target `pipeline`: arbitrary bytes as a capture, through everything
//! `connlint check` runs (reader, decoder, flow table, reassembly, HTTP,
//! rules) and the JSON and table reports of the findings.
//!
//! Invariants: no panic; the summary agrees with itself (frames read =
//! frames decoded, bytes consumed within the file); every finding names a
//! rule of the catalogue and a connection that was seen.

use connlint::analyze::{run_check_opened, Limits};
use connlint::capture::CaptureReader;
use connlint::report::findings::{write_collected, CheckFormat, CheckOptions};
use connlint::rules::{all, Config};
use std::sync::OnceLock;

/// Every rule at its defaults.
fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(Config::default_all)
}

pub fn run(data: &[u8]) {
    let limits = Limits::default();
    let config = config();
    let opened = CaptureReader::from_bytes(data.to_vec(), limits.reader);
    let outcome = run_check_opened("fuzz.pcap", opened, &limits, config);
    let summary = &outcome.summary;
    assert_eq!(
        summary.frames, summary.decode.frames,
        "frames read but not decoded"
    );
    assert!(
        summary.bytes <= data.len() as u64,
        "consumed past the end of the file"
    );
    assert_eq!(
        outcome.connections, summary.flow.connections,
        "connections lost"
    );
    let codes: Vec<&str> = all().iter().map(|r| r.meta().code).collect();
    for f in &outcome.findings {
        assert!(
            codes.contains(&f.code),
            "finding of unknown rule {}",
            f.code
        );
        assert!(
            f.connection < outcome.connections,
            "finding on unknown connection"
        );
        assert!(
            !f.message.is_empty(),
            "{} finding without a message",
            f.code
        );
    }
    let outcomes = [outcome];
    for format in [
        CheckFormat::Json,
        CheckFormat::Table,
        CheckFormat::Sarif,
        CheckFormat::Junit,
    ] {
        write_collected(
            &mut std::io::sink(),
            format,
            CheckOptions::default(),
            &outcomes,
        )
        .expect("report to a sink");
    }
}
