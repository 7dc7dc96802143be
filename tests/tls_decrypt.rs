//! TLS decrypted with the client's key log reads as clear HTTP: on every
//! sample recorded with one (samples/NAME.keylog, curl's SSLKEYLOGFILE),
//! the transactions connlint reads inside equal tshark's reading with the
//! same key log (`samples/tshark/NAME.pcap.http.tsv`, frozen by
//! scripts/tshark-decrypted-reference.py): the same requests and
//! responses, each at the time of the frame that completed it — the
//! plaintext carries its record's capture time. A rule reproduced inside
//! TLS gives the finding it gives in clear; a wrong key log says why per
//! connection and yields nothing to parse; no secret reaches any output.

use assert_cmd::Command;
use connlint::analyze::{run, run_check, Analyzed, Limits};
use connlint::http::Keep;
use connlint::rules::Config;
use connlint::tls::{KeyLog, Undecrypted};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn keyed() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(samples())
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.strip_suffix(".keylog").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

fn limits_with(keylog: &Path) -> Limits {
    let text = std::fs::read_to_string(keylog).unwrap();
    Limits {
        tls_keys: Some(Arc::new(KeyLog::parse(&text))),
        ..Limits::default()
    }
}

fn analyze(capture: &Path, limits: &Limits) -> Vec<Analyzed> {
    let mut out = Vec::new();
    let s = run(capture.to_str().unwrap(), limits, Keep::TRANSACTIONS, |a| {
        out.push(a)
    });
    assert!(s.error.is_none(), "{s:?}");
    out.sort_by_key(|a| a.connection.id);
    out
}

/// One HTTP message as tshark's reference lists it.
fn row(stream: u64, ts: f64, kind: &str, what: String) -> String {
    format!("{stream}\t{ts:.6}\t{kind}\t{what}")
}

#[test]
fn decrypted_transactions_equal_tsharks_reading_with_the_key_log() {
    let names = keyed();
    assert!(names.len() >= 7, "{names:?}");
    for name in names {
        let capture = samples().join(format!("{name}.pcap"));
        let conns = analyze(
            &capture,
            &limits_with(&samples().join(format!("{name}.keylog"))),
        );
        let mut ours = Vec::new();
        for a in &conns {
            let d = a
                .decryption
                .as_ref()
                .expect("a TLS connection with a key log");
            assert_eq!(
                d.describe(),
                "decrypted",
                "{name} connection {}",
                a.connection.id
            );
            for tx in &a.http.transactions {
                let req = tx.request.as_ref().unwrap();
                // tshark dissects a message at the frame that completed it
                // (a response cut short, never).
                ours.push(row(
                    a.connection.id,
                    req.last_byte_ts.as_secs_f64(),
                    "request",
                    format!(
                        "{} {}",
                        tx.method.as_deref().unwrap(),
                        tx.uri.as_deref().unwrap()
                    ),
                ));
                let Some(resp) = tx.response.as_ref().filter(|r| r.framing_satisfied) else {
                    continue;
                };
                ours.push(row(
                    a.connection.id,
                    resp.last_byte_ts.as_secs_f64(),
                    "response",
                    tx.status.unwrap().to_string(),
                ));
            }
        }
        let reference =
            std::fs::read_to_string(samples().join(format!("tshark/{name}.pcap.http.tsv")))
                .unwrap();
        let theirs: Vec<String> = reference
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let what = match f[3] {
                    "request" => format!("{} {}", f[4], f[5]),
                    _ => f[6].to_string(),
                };
                row(f[0].parse().unwrap(), f[2].parse().unwrap(), f[3], what)
            })
            .collect();
        assert!(!theirs.is_empty(), "{name}: tshark read no HTTP");
        assert_eq!(ours, theirs, "{name}");
    }
}

#[test]
fn without_the_key_log_nothing_is_read_and_a_wrong_one_says_why() {
    let capture = samples().join("clean-tls13-keepalive-keylog.pcap");
    let plain = analyze(&capture, &Limits::default());
    assert_eq!(plain.len(), 1);
    assert!(plain[0].decryption.is_none() && plain[0].http.transactions.is_empty());

    // Another session's secrets: no matching client random.
    let other = analyze(
        &capture,
        &limits_with(&samples().join("clean-tls13-aes128-keylog.keylog")),
    );
    let d = other[0].decryption.unwrap();
    assert_eq!(d.failure, Some(Undecrypted::NoMatchingSecret));
    assert_eq!(d.describe(), "could not decrypt: no matching secret");
    assert!(other[0].http.transactions.is_empty());

    // The right client random, every secret one bit off.
    let text =
        std::fs::read_to_string(samples().join("clean-tls13-keepalive-keylog.keylog")).unwrap();
    let wrong: String = text
        .lines()
        .map(|l| {
            let (head, secret) = l.rsplit_once(' ').unwrap();
            let last = secret.chars().last().unwrap().to_digit(16).unwrap() ^ 1;
            format!("{head} {}{last:x}\n", &secret[..secret.len() - 1])
        })
        .collect();
    let limits = Limits {
        tls_keys: Some(Arc::new(KeyLog::parse(&wrong))),
        ..Limits::default()
    };
    let bad = analyze(&capture, &limits);
    let d = bad[0].decryption.unwrap();
    assert_eq!(d.failure, Some(Undecrypted::AuthenticationFailed));
    assert_eq!(d.describe(), "could not decrypt: authentication failed");
    assert_eq!(d.records, [0, 0]);
    assert!(
        bad[0].http.transactions.is_empty(),
        "nothing unauthenticated is parsed"
    );
}

#[test]
fn a_rule_inside_tls_gives_the_finding_it_gives_in_clear() {
    let config = Config::default_all();
    let clear = run_check(
        samples()
            .join("C002-proxy-connection-header.pcap")
            .to_str()
            .unwrap(),
        &Limits::default(),
        &config,
    );
    let tls = run_check(
        samples()
            .join("C002-proxy-connection-header-tls.pcap")
            .to_str()
            .unwrap(),
        &limits_with(&samples().join("C002-proxy-connection-header-tls.keylog")),
        &config,
    );
    let c002 = |o: &connlint::analyze::CheckOutcome| {
        o.findings
            .iter()
            .filter(|f| f.code == "C002")
            .map(|f| (f.transaction, f.evidence.get("proxy_connection").cloned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(c002(&clear).len(), 1);
    assert_eq!(c002(&tls), c002(&clear));
    // Without the key log the header is encrypted: no C002.
    let blind = run_check(
        samples()
            .join("C002-proxy-connection-header-tls.pcap")
            .to_str()
            .unwrap(),
        &Limits::default(),
        &config,
    );
    assert!(c002(&blind).is_empty());
    assert_eq!(
        tls.tls_connections, 0,
        "a decrypted connection is judged whole"
    );
    assert_eq!(blind.tls_connections, 1);
}

#[test]
fn a_response_cut_inside_tls_is_one_http_finding_with_the_key_log() {
    let config = Config::default_all();
    let capture = samples().join("R001-rst-truncated-response-tls-keylog.pcap");
    let codes = |o: &connlint::analyze::CheckOutcome| {
        o.findings
            .iter()
            .map(|f| {
                (
                    f.code,
                    f.transaction,
                    f.evidence.get("missing_bytes").cloned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let blind = run_check(capture.to_str().unwrap(), &Limits::default(), &config);
    let keyed = run_check(
        capture.to_str().unwrap(),
        &limits_with(&samples().join("R001-rst-truncated-response-tls-keylog.keylog")),
        &config,
    );
    // Without keys: the record the RST cut; with them: the response, by
    // its Content-Length, and only that.
    let blind = codes(&blind);
    let keyed = codes(&keyed);
    assert_eq!(blind.len(), 1);
    assert_eq!((blind[0].0, blind[0].1), ("R001", None));
    assert_eq!(keyed.len(), 1, "{keyed:?}");
    assert_eq!((keyed[0].0, keyed[0].1), ("R001", Some(0)));
    let missing = keyed[0].2.as_ref().and_then(|v| v.as_u64()).unwrap();
    assert!(missing > 0 && missing < 1024 * 1024, "{missing}");
}

#[test]
fn the_cli_marks_decrypted_connections_and_never_prints_a_secret() {
    let name = "clean-tls12-keepalive-keylog";
    let capture = samples().join(format!("{name}.pcap"));
    let keylog = samples().join(format!("{name}.keylog"));
    let text = std::fs::read_to_string(&keylog).unwrap();
    let secrets: Vec<String> = text
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.to_ascii_lowercase())
        .collect();
    assert!(!secrets.is_empty());
    let mut seen_decrypted = false;
    for args in [
        vec!["connections"],
        vec!["connections", "--format", "json"],
        vec!["transactions", "--format", "json"],
        vec!["check", "--format", "json"],
        vec!["check"],
    ] {
        let out = Command::cargo_bin("connlint")
            .unwrap()
            .arg("--keylog")
            .arg(&keylog)
            .args(&args)
            .arg(&capture)
            .env_remove("SSLKEYLOGFILE")
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .to_ascii_lowercase();
        seen_decrypted |= all.contains("decrypted");
        for s in &secrets {
            assert!(!all.contains(&s[..16]), "{args:?} printed a secret");
        }
    }
    assert!(seen_decrypted);
    // SSLKEYLOGFILE is the default.
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .arg("connections")
        .arg(&capture)
        .env("SSLKEYLOGFILE", &keylog)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("1.2 full http/1.1, decrypted"));
}

#[test]
fn secrets_injected_into_pcapng_decrypt_without_a_key_log() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    for name in [
        "clean-tls13-keepalive-keylog",
        "clean-tls12-chacha20-keylog",
    ] {
        let summary = |conns: &[Analyzed]| {
            conns
                .iter()
                .flat_map(|a| {
                    a.http.transactions.iter().map(move |tx| {
                        (
                            a.connection.id,
                            tx.uri.clone(),
                            tx.status,
                            tx.response.as_ref().map(|r| r.last_byte_ts),
                        )
                    })
                })
                .collect::<Vec<_>>()
        };
        let keyed = analyze(
            &samples().join(format!("{name}.pcap")),
            &limits_with(&samples().join(format!("{name}.keylog"))),
        );
        let injected = analyze(&data.join(format!("{name}.dsb.pcapng")), &Limits::default());
        assert!(injected.iter().all(|a| a.decrypted()), "{name}");
        assert!(!summary(&keyed).is_empty());
        assert_eq!(summary(&injected), summary(&keyed), "{name}");
    }
}
