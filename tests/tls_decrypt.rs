//! TLS decrypted with the client's key log reads as clear HTTP: on every
//! sample recorded with one (samples/NAME.keylog, curl's SSLKEYLOGFILE),
//! the transactions connlint reads inside equal tshark's reading with the
//! same key log (`samples/tshark/NAME.pcap.http.tsv`, frozen by
//! scripts/tshark-decrypted-reference.py): the same requests and
//! responses, each at the time of the frame that completed it — the
//! plaintext carries its record's capture time. A rule reproduced inside
//! TLS gives the finding it gives in clear; 0-RTT early data the server
//! accepted is read, rejected early data is not; a wrong key log says why
//! per connection and yields nothing to parse; no secret reaches any output.

use assert_cmd::Command;
use connlint::analyze::{run, run_check, Analyzed, Limits};
use connlint::http::Keep;
use connlint::rules::Config;
use connlint::tls::{EarlyData, KeyLog, Undecrypted};
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
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        let capture = samples().join(format!("{name}.pcap"));
        let conns = analyze(
            &capture,
            &limits_with(&samples().join(format!("{name}.keylog"))),
        );
        let mut ours = Vec::new();
        // tshark also reads 0-RTT data the server rejected (and never
        // read): on such a connection its requests before the ServerHello
        // are left out (only those are).
        let mut skipped_early = Vec::new();
        for a in &conns {
            let d = a
                .decryption
                .as_ref()
                .expect("a TLS connection with a key log");
            assert!(
                d.decrypted() && d.describe().starts_with("decrypted"),
                "{name} connection {}: {}",
                a.connection.id,
                d.describe()
            );
            if d.early_data == Some(EarlyData::Rejected) {
                let tls = a.tls.as_ref().unwrap();
                skipped_early.push((a.connection.id, tls.server_hello_ts.unwrap()));
            }
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
                (
                    f[0].parse::<u64>().unwrap(),
                    f[2].parse::<f64>().unwrap(),
                    f[3],
                    what,
                )
            })
            .filter(|(stream, ts, kind, _)| {
                !skipped_early.iter().any(|(id, hello)| {
                    id == stream && *kind == "request" && *ts < hello.as_secs_f64()
                })
            })
            .map(|(stream, ts, kind, what)| row(stream, ts, kind, what))
            .collect();
        let left_out = reference.lines().count() - 1 - theirs.len();
        assert_eq!(
            left_out,
            skipped_early.len(),
            "{name}: one early request each"
        );
        // By time within each connection (a pipelined request comes
        // before the response to the one ahead of it).
        let by_time = |r: &String| {
            let f: Vec<&str> = r.split('\t').collect();
            (f[0].parse::<u64>().unwrap(), f[1].to_string())
        };
        ours.sort_by_key(by_time);
        let mut theirs = theirs;
        theirs.sort_by_key(by_time);
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

/// A capture gap inside a decrypted direction (one segment deleted from a
/// sample with editcap, tests/data/tls/README.md): the direction's
/// decryption ends there and the connection says so, at the frame tshark
/// marks "previous segment not captured"; the messages read are tshark's
/// reading with the key log (which reads no more of that direction
/// either); the capture's note counts the connection.
#[test]
fn a_gap_ends_a_directions_decryption_and_the_connection_says_where() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    for (name, keylog) in [
        (
            "clean-tls13-keepalive-keylog-gap-client",
            "clean-tls13-keepalive-keylog",
        ),
        (
            "clean-tls13-keepalive-keylog-gap-in-record",
            "clean-tls13-keepalive-keylog",
        ),
        (
            "clean-tls12-keepalive-keylog-gap-server",
            "clean-tls12-keepalive-keylog",
        ),
    ] {
        let capture = data.join(format!("{name}.pcap"));
        let keylog = samples().join(format!("{keylog}.keylog"));
        let conns = analyze(&capture, &limits_with(&keylog));
        let lost = std::fs::read_to_string(data.join(format!("{name}.lost.tsv"))).unwrap();
        let lost: Vec<Vec<&str>> = lost
            .lines()
            .skip(1)
            .map(|l| l.split('\t').collect())
            .collect();
        assert_eq!(lost.len(), 1, "{name}: one hole");
        let (stream, frame, port) = (lost[0][0].parse::<u64>().unwrap(), lost[0][1], lost[0][2]);
        let a = conns.iter().find(|a| a.connection.id == stream).unwrap();
        let direction = if port == "443" {
            "server->client"
        } else {
            "client->server"
        };
        let d = a.decryption.as_ref().unwrap();
        let said = format!("decrypted, {direction} stopped at frame {frame}: gap");
        assert_eq!(d.describe(), said, "{name}");
        assert!(d.decrypted(), "{name}: the records before the gap were");
        let mut ours = Vec::new();
        for tx in &a.http.transactions {
            if let Some(req) = tx.request.as_ref() {
                ours.push(row(
                    stream,
                    req.last_byte_ts.as_secs_f64(),
                    "request",
                    format!(
                        "{} {}",
                        tx.method.as_deref().unwrap(),
                        tx.uri.as_deref().unwrap()
                    ),
                ));
            }
            if let Some(resp) = tx.response.as_ref().filter(|r| r.framing_satisfied) {
                ours.push(row(
                    stream,
                    resp.last_byte_ts.as_secs_f64(),
                    "response",
                    tx.status.unwrap().to_string(),
                ));
            }
        }
        let reference = std::fs::read_to_string(data.join(format!("{name}.http.tsv"))).unwrap();
        let mut theirs: Vec<String> = reference
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
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{name}");
        // In the CLI's connection list, and counted in the capture's note.
        let out = Command::cargo_bin("connlint")
            .unwrap()
            .arg("--keylog")
            .arg(&keylog)
            .arg("connections")
            .arg(&capture)
            .env_remove("SSLKEYLOGFILE")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&said), "{name}: {text}");
        assert!(
            text.contains("1 TLS connection decrypted until a capture gap stopped it"),
            "{name}: {text}"
        );
    }
}

#[test]
fn the_cli_marks_decrypted_connections_and_never_prints_a_secret() {
    let mut seen_decrypted = false;
    // TLS 1.2, and TLS 1.3 with 0-RTT (the early traffic secret too); every
    // command and output that reads a key log.
    for name in [
        "clean-tls12-keepalive-keylog",
        "clean-tls13-early-data-keylog",
    ] {
        let capture = samples().join(format!("{name}.pcap"));
        let keylog = samples().join(format!("{name}.keylog"));
        let text = std::fs::read_to_string(&keylog).unwrap();
        let secrets: Vec<String> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.rsplit_once(' ').unwrap().1.to_ascii_lowercase())
            .collect();
        assert!(!secrets.is_empty());
        for args in [
            vec!["connections"],
            vec!["connections", "--format", "json"],
            vec!["transactions", "--format", "json"],
            vec!["transactions", "--format", "har"],
            vec!["transactions", "--waterfall"],
            vec!["report", "-o", "-"],
            vec!["check", "--format", "json"],
            vec!["check", "--format", "sarif"],
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
                assert!(!all.contains(&s[..16]), "{name} {args:?} printed a secret");
            }
        }
    }
    assert!(seen_decrypted);
    // SSLKEYLOGFILE is the default.
    let capture = samples().join("clean-tls12-keepalive-keylog.pcap");
    let keylog = samples().join("clean-tls12-keepalive-keylog.keylog");
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
        "clean-tls13-early-data-keylog",
        "T001-nagle-delayed-ack-stall-tls-keylog",
        "P001-pipelined-before-persistence-known-tls",
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

#[test]
fn har_report_and_waterfall_decrypt_with_the_key_log_too() {
    // Each builds its limits from the configuration; the key log given on
    // the command line must reach them as it reaches `transactions`.
    let name = "clean-tls13-keepalive-keylog";
    let capture = samples().join(format!("{name}.pcap"));
    let keylog = samples().join(format!("{name}.keylog"));
    let connlint = |args: &[&str]| {
        let out = Command::cargo_bin("connlint")
            .unwrap()
            .arg("--keylog")
            .arg(&keylog)
            .args(args)
            .arg(&capture)
            .env_remove("SSLKEYLOGFILE")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = connlint(&["transactions", "--format", "jsonl"])
        .lines()
        .count();
    assert_eq!(listed, 3, "three GETs on one connection");
    let har: serde_json::Value =
        serde_json::from_str(&connlint(&["transactions", "--format", "har"])).unwrap();
    assert_eq!(har["log"]["entries"].as_array().unwrap().len(), listed);
    assert!(connlint(&["transactions", "--waterfall"]).contains(" 3 tx"));
}

#[test]
fn report_har_and_waterfall_read_the_configurations_key_log() {
    // No --keylog, no $SSLKEYLOGFILE: `[tls] keylog` of ./connlint.toml
    // (relative to it) is where the secrets come from, as for `check`.
    let name = "clean-tls13-keepalive-keylog";
    let capture = samples().join(format!("{name}.pcap"));
    let text = std::fs::read_to_string(samples().join(format!("{name}.keylog"))).unwrap();
    let secrets: Vec<String> = text
        .lines()
        .filter_map(|l| l.rsplit_once(' ').map(|(_, s)| s.to_ascii_lowercase()))
        .filter(|s| s.len() >= 64)
        .collect();
    assert!(!secrets.is_empty());
    let dir = std::env::temp_dir().join(format!("connlint-tls-config-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    std::fs::write(dir.join("keys/session.keylog"), &text).unwrap();
    let run = |with_config: bool, args: &[&str]| {
        std::fs::write(
            dir.join("connlint.toml"),
            if with_config {
                "[tls]\nkeylog = \"keys/session.keylog\"\n"
            } else {
                ""
            },
        )
        .unwrap();
        let out = Command::cargo_bin("connlint")
            .unwrap()
            .current_dir(&dir)
            .args(args)
            .arg(&capture)
            .env_remove("SSLKEYLOGFILE")
            .env("COLUMNS", "160")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)).to_ascii_lowercase();
        for s in &secrets {
            assert!(!all.contains(&s[..16]), "{args:?} printed a secret");
        }
        stdout
    };
    let har_entries = |with: bool| {
        let har: serde_json::Value =
            serde_json::from_str(&run(with, &["transactions", "--format", "har"])).unwrap();
        har["log"]["entries"].as_array().unwrap().len()
    };
    assert_eq!(har_entries(true), 3, "three GETs on one connection");
    assert_eq!(har_entries(false), 0, "without the key log nothing is read");

    let waterfall = |with: bool| run(with, &["transactions", "--waterfall"]);
    assert!(waterfall(true).contains(" 3 tx"), "{}", waterfall(true));
    assert!(!waterfall(false).contains(" 3 tx"));

    // The report lists the decrypted requests' URIs (encrypted, none).
    let report = |with: bool| run(with, &["report", "-o", "-"]);
    assert!(report(true).contains("/style.css"));
    assert!(!report(false).contains("/style.css"));

    // `check` as before (its [tls] keylog was read already).
    assert!(run(true, &["check"]).contains(" 3 transactions"));
    assert!(run(false, &["check"]).contains(" 0 transactions"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A finding as (rule, transaction, the values of the evidence keys named).
type Summary = (&'static str, Option<u64>, Vec<Option<serde_json::Value>>);

/// The findings of `check` as (rule, transaction) and the evidence named.
fn findings_of(o: &connlint::analyze::CheckOutcome, keys: &[&str]) -> Vec<Summary> {
    let mut v: Vec<_> = o
        .findings
        .iter()
        .map(|f| {
            (
                f.code,
                f.transaction,
                keys.iter().map(|k| f.evidence.get(*k).cloned()).collect(),
            )
        })
        .collect();
    v.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    v
}

#[test]
fn nagle_stall_and_pipelining_inside_tls_are_the_clear_samples_findings() {
    // Each TLS sample replays a clear one's write pattern (Python's ssl on
    // both sides, the client's key log beside it): `check` with the key log
    // finds the clear sample's rules on the same transactions, described
    // the same way; the numbers differ by the records' 22 bytes each
    // (header, type, tag) and the link's timing, not in kind.
    let config = Config::default_all();
    for (clear, tls, keys) in [
        (
            "T001-nagle-delayed-ack-stall-client-side",
            "T001-nagle-delayed-ack-stall-tls-keylog",
            &["sender", "message", "held_segment_in"][..],
        ),
        (
            "P001-pipelined-before-persistence-known",
            "P001-pipelined-before-persistence-known-tls",
            &["requests_before_confirmation"][..],
        ),
    ] {
        let clear_o = run_check(
            samples().join(format!("{clear}.pcap")).to_str().unwrap(),
            &Limits::default(),
            &config,
        );
        let tls_o = run_check(
            samples().join(format!("{tls}.pcap")).to_str().unwrap(),
            &limits_with(&samples().join(format!("{tls}.keylog"))),
            &config,
        );
        let c = findings_of(&clear_o, keys);
        assert!(!c.is_empty(), "{clear}");
        assert_eq!(findings_of(&tls_o, keys), c, "{tls}");
        assert_eq!(tls_o.tls_connections, 0, "{tls}: judged whole, decrypted");
    }
    // The stall's numbers: the held write is the POST head's record (its
    // plaintext plus 22 bytes), the released one the body's.
    let tls_o = run_check(
        samples()
            .join("T001-nagle-delayed-ack-stall-tls-keylog.pcap")
            .to_str()
            .unwrap(),
        &limits_with(&samples().join("T001-nagle-delayed-ack-stall-tls-keylog.keylog")),
        &config,
    );
    let conns = analyze(
        &samples().join("T001-nagle-delayed-ack-stall-tls-keylog.pcap"),
        &limits_with(&samples().join("T001-nagle-delayed-ack-stall-tls-keylog.keylog")),
    );
    let req = conns[0].http.transactions[0].request.as_ref().unwrap();
    let f = &tls_o.findings[0];
    let num = |k: &str| f.evidence.get(k).and_then(|v| v.as_u64()).unwrap();
    assert_eq!(num("small_segment_bytes"), req.head_bytes + 22);
    assert_eq!(num("released_bytes"), req.body_bytes + 22);
    // Without the key log: the same stall, described by its TLS records.
    let blind = run_check(
        samples()
            .join("T001-nagle-delayed-ack-stall-tls-keylog.pcap")
            .to_str()
            .unwrap(),
        &Limits::default(),
        &config,
    );
    assert_eq!(
        findings_of(&blind, &["held_segment_in"]),
        vec![("T001", None, vec![Some("tls_record".into())])]
    );
}

#[test]
fn early_data_the_server_accepted_is_read_and_rejected_early_data_is_not() {
    let name = "clean-tls13-early-data-keylog";
    let conns = analyze(
        &samples().join(format!("{name}.pcap")),
        &limits_with(&samples().join(format!("{name}.keylog"))),
    );
    assert_eq!(conns.len(), 3);
    let early: Vec<_> = conns
        .iter()
        .map(|a| a.decryption.unwrap().early_data)
        .collect();
    assert_eq!(
        early,
        [None, Some(EarlyData::Accepted), Some(EarlyData::Rejected)]
    );
    // Accepted: the first request is the 0-RTT one, sent with the
    // ClientHello, before the ServerHello; its response follows the
    // handshake.
    let a = &conns[1];
    let tls = a.tls.as_ref().unwrap();
    let tx = &a.http.transactions[0];
    let req = tx.request.as_ref().unwrap();
    assert_eq!(tx.uri.as_deref(), Some("/index.html"));
    assert!(req.first_byte_ts <= tls.client_hello_ts.unwrap());
    assert!(req.last_byte_ts < tls.server_hello_ts.unwrap());
    assert_eq!(Some(req.first_frame), tls.client_hello_frame);
    assert_eq!(tx.status, Some(200));
    let d = a.decryption.unwrap();
    assert_eq!(d.early_data_bytes, req.head_bytes);
    assert_eq!(
        d.describe(),
        "decrypted; 0-RTT early data accepted",
        "the connections column says so"
    );
    // Rejected (a full handshake: nginx reloaded, the ticket unreadable):
    // the early GET is not read, nothing fails, and the two GETs sent after
    // the handshake are the connection's transactions.
    let r = &conns[2];
    let d = r.decryption.unwrap();
    assert_eq!((d.failure, d.early_data_records), (None, 1));
    assert!(d.early_data_skipped_bytes > 0 && d.early_data_bytes == 0);
    let uris: Vec<_> = r
        .http
        .transactions
        .iter()
        .map(|t| t.uri.clone().unwrap())
        .collect();
    assert_eq!(uris, ["/style.css", "/catalog.json"]);
    // Without the early secret the 0-RTT record is counted, not read, and
    // the rest of the connection still decrypts.
    let text = std::fs::read_to_string(samples().join(format!("{name}.keylog"))).unwrap();
    let no_early: String = text
        .lines()
        .filter(|l| !l.starts_with("CLIENT_EARLY_TRAFFIC_SECRET"))
        .map(|l| format!("{l}\n"))
        .collect();
    let limits = Limits {
        tls_keys: Some(Arc::new(KeyLog::parse(&no_early))),
        ..Limits::default()
    };
    let blind = analyze(&samples().join(format!("{name}.pcap")), &limits);
    // Accepted, the early request unreadable: the client's plaintext lacks
    // its start (the server's first answer is to a request not seen), so
    // the connection is not taken as decrypted, and says why.
    let d = blind[1].decryption.unwrap();
    assert_eq!(d.early_data, Some(EarlyData::Unknown));
    assert!(!d.decrypted());
    assert_eq!(
        d.describe(),
        "could not decrypt: no matching secret; 0-RTT early data not read"
    );
    // Rejected: nothing of it was needed; the connection decrypts whole.
    let d = blind[2].decryption.unwrap();
    assert_eq!(
        (d.early_data, d.decrypted()),
        (Some(EarlyData::Unknown), true)
    );
    assert_eq!(blind[2].http.transactions.len(), 2);
}
