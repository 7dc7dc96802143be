//! Every rule fires on its sample capture — on the right connection and
//! transaction, with evidence — and on nothing else there; the clean samples
//! stay silent. The expectations are samples/expected.tsv, written when the
//! samples were recorded (samples/README.md).

use connlint::analyze::{run_check, Limits};
use connlint::rules::{Config, Finding};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

#[derive(Debug)]
struct Expected {
    code: String,
    /// "client -> server"; the client may be a bare host (a host-level rule).
    connection: String,
    transaction: Option<u64>,
}

fn expectations() -> BTreeMap<String, Vec<Expected>> {
    let text = std::fs::read_to_string(samples().join("expected.tsv")).unwrap();
    let mut out: BTreeMap<String, Vec<Expected>> = BTreeMap::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let list = out.entry(f[0].to_string()).or_default();
        if f[1] != "-" {
            list.push(Expected {
                code: f[1].to_string(),
                connection: f[2].to_string(),
                transaction: f[3].parse().ok(),
            });
        }
    }
    out
}

fn matches(e: &Expected, f: &Finding) -> bool {
    let Some((client, server)) = e.connection.split_once(" -> ") else {
        return false;
    };
    let client_ok = if client.contains("]:") || client.matches(':').count() == 1 {
        f.client == client
    } else {
        // A host: any port of it.
        f.client.rsplit_once(':').is_some_and(|(h, _)| h == client)
    };
    e.code == f.code
        && client_ok
        && f.server == server
        && (e.transaction.is_none() || e.transaction == f.transaction)
}

/// `CONNLINT_RULES=T001,T002` restricts the check to those codes (both the
/// rules run and the expectations), for working on a few rules at a time.
fn only() -> Option<Vec<String>> {
    std::env::var("CONNLINT_RULES").ok().map(|v| {
        v.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

#[test]
fn each_sample_gives_exactly_its_expected_findings() {
    let config = match only() {
        Some(codes) => Config::resolve(
            None,
            &connlint::rules::CliSelection {
                select: Some(codes),
                ..Default::default()
            },
        )
        .unwrap(),
        None => Config::default_all(),
    };
    let mut problems = Vec::new();
    let mut exp = expectations();
    if let Some(codes) = only() {
        for list in exp.values_mut() {
            list.retain(|e| codes.contains(&e.code));
        }
    }
    assert!(exp.len() >= 35, "{} samples listed", exp.len());
    for (file, expected) in &exp {
        let path = samples().join(file);
        // A TLS sample recorded with its client's key log is checked with it.
        let mut limits = Limits::default();
        if let Ok(text) = std::fs::read_to_string(path.with_extension("keylog")) {
            limits.tls_keys = Some(std::sync::Arc::new(connlint::tls::KeyLog::parse(&text)));
        }
        let outcome = run_check(path.to_str().unwrap(), &limits, &config);
        assert!(
            outcome.summary.error.is_none(),
            "{file}: {:?}",
            outcome.summary.error
        );
        for e in expected {
            match outcome.findings.iter().find(|f| matches(e, f)) {
                None => problems.push(format!(
                    "{file}: {} did not fire on {} tx {:?}",
                    e.code, e.connection, e.transaction
                )),
                Some(f) if f.evidence.is_empty() => {
                    problems.push(format!("{file}: {} fired without evidence", e.code))
                }
                Some(_) => {}
            }
        }
        for f in &outcome.findings {
            if !expected.iter().any(|e| matches(e, f)) {
                problems.push(format!(
                    "{file}: unexpected {} on {} -> {} tx {:?}: {}",
                    f.code, f.client, f.server, f.transaction, f.message
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
