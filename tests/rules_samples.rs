//! Every rule fires on its sample capture — on the right connection and
//! transaction, with the severity and evidence the row states — and on nothing
//! else there; the clean samples stay silent and carry the transactions their
//! row states. The expectations are samples/expected.tsv, written when the
//! samples were recorded (samples/README.md).
//!
//! The `evidence` column is machine-read and strict: whitespace-separated
//! tokens `key=value` (exact) or `key≈value` (`~` also accepted: close), a
//! value in double quotes when it holds a space. `severity=` is the finding's
//! severity and every finding row states it; any other bare key must be an
//! evidence key of the finding (a typo fails, it is not skipped); `txN.field`
//! is field `field` of transaction N on the row's connection, as
//! `connlint transactions --format json` writes it. A list value is written
//! comma-separated, `null` / `true` / `false` are JSON's. `≈` holds a number
//! to within max(2 % of the stated value, 0.5) for a `_ms` key (times are
//! stated to 0.1 ms from the recording; run-to-run recording jitter is far
//! above that, the analysis of one file is exact) and max(2 %, 0.005)
//! otherwise. Prose goes in the `notes` column, which is not read.

use connlint::analyze::{run, run_check, Analyzed, Limits};
use connlint::http::Keep;
use connlint::report::transactions::TransactionRecord;
use connlint::rules::{Config, Finding};
use serde_json::Value;
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
    /// The evidence column, parsed.
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Exact,
    Close,
}

#[derive(Debug, Clone)]
struct Token {
    key: String,
    op: Op,
    value: String,
}

/// Splits the evidence column into tokens; a malformed one is an error.
fn tokens(column: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut rest = column.trim_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(['=', '≈', '~'])
            .ok_or_else(|| format!("token without = or ≈: {rest:?}"))?;
        let key = &rest[..key_end];
        let valid_key = |k: &str| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        let key_ok = match key.split_once('.') {
            Some((tx, field)) => {
                tx.strip_prefix("tx")
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                    && valid_key(field)
            }
            None => valid_key(key),
        };
        if !key_ok {
            return Err(format!("bad key {key:?} in {rest:?}"));
        }
        let op_char = rest[key_end..].chars().next().unwrap();
        let op = if op_char == '=' { Op::Exact } else { Op::Close };
        let after = &rest[key_end + op_char.len_utf8()..];
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q
                .find('"')
                .ok_or_else(|| format!("unterminated quote in {rest:?}"))?;
            (&q[..end], &q[end + 1..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if value.is_empty() {
            return Err(format!("empty value for {key}"));
        }
        if !next.is_empty() && !next.starts_with(char::is_whitespace) {
            return Err(format!("no space after the value of {key}: {rest:?}"));
        }
        out.push(Token {
            key: key.to_string(),
            op,
            value: value.to_string(),
        });
        rest = next.trim_start();
    }
    Ok(out)
}

/// How close a `≈` value must be.
fn tolerance(key: &str, stated: f64) -> f64 {
    let floor = if key.ends_with("_ms") { 0.5 } else { 0.005 };
    (stated.abs() * 0.02).max(floor)
}

/// Compares one stated value with the actual JSON value; `None` when they agree.
fn compare(key: &str, op: &Op, stated: &str, actual: &Value) -> Option<String> {
    let bad = || Some(format!("{key}: stated {stated:?}, actual {actual}"));
    match (op, actual) {
        (Op::Close, Value::Number(n)) => {
            let Ok(want) = stated.parse::<f64>() else {
                return Some(format!("{key}: {stated:?} is not a number"));
            };
            let got = n.as_f64().unwrap();
            if (got - want).abs() <= tolerance(key, want) {
                None
            } else {
                Some(format!(
                    "{key}: stated ≈{stated} (± {}), actual {got}",
                    tolerance(key, want)
                ))
            }
        }
        (Op::Close, _) => Some(format!(
            "{key}: ≈ on a value that is not a number: {actual}"
        )),
        (Op::Exact, Value::Array(items)) => {
            let parts: Vec<&str> = stated.split(',').collect();
            if parts.len() != items.len() {
                return bad();
            }
            parts
                .iter()
                .zip(items)
                .find_map(|(p, v)| compare(key, op, p, v))
                .and_then(|_| bad())
        }
        (Op::Exact, Value::Number(n)) => {
            let same = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => stated.parse::<u64>().ok() == Some(u),
                (None, Some(i)) => stated.parse::<i64>().ok() == Some(i),
                _ => stated.parse::<f64>().ok() == n.as_f64(),
            };
            if same {
                None
            } else {
                bad()
            }
        }
        (Op::Exact, Value::String(t)) if t == stated => None,
        (Op::Exact, Value::Bool(b)) if stated == b.to_string() => None,
        (Op::Exact, Value::Null) if stated == "null" => None,
        _ => bad(),
    }
}

fn expectations() -> BTreeMap<String, Vec<Expected>> {
    let text = std::fs::read_to_string(samples().join("expected.tsv")).unwrap();
    let mut out: BTreeMap<String, Vec<Expected>> = BTreeMap::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 6, "six columns: {line}");
        let tokens = tokens(f[4]).unwrap_or_else(|e| panic!("{}: {e}", f[0]));
        let severity = tokens.iter().filter(|t| t.key == "severity").count();
        assert_eq!(
            severity,
            usize::from(f[1] != "-"),
            "{}: a finding row states severity= once, a clean row not at all",
            f[0]
        );
        out.entry(f[0].to_string()).or_default().push(Expected {
            code: f[1].to_string(),
            connection: f[2].to_string(),
            transaction: f[3].parse().ok(),
            tokens,
        });
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
    e.code != "-"
        && e.code == f.code
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
    let mut checked = 0;
    for (file, expected) in &exp {
        let path = samples().join(file);
        // A TLS sample recorded with its client's key log is checked with it.
        let outcome = run_check(path.to_str().unwrap(), &limits_for(&path), &config);
        assert!(
            outcome.summary.error.is_none(),
            "{file}: {:?}",
            outcome.summary.error
        );
        let txs = transactions(&path);
        for e in expected {
            let finding = if e.code == "-" {
                None
            } else {
                match outcome.findings.iter().find(|f| matches(e, f)) {
                    None => {
                        problems.push(format!(
                            "{file}: {} did not fire on {} tx {:?}",
                            e.code, e.connection, e.transaction
                        ));
                        continue;
                    }
                    Some(f) if f.evidence.is_empty() => {
                        problems.push(format!("{file}: {} fired without evidence", e.code));
                        continue;
                    }
                    Some(f) => Some(f),
                }
            };
            for t in &e.tokens {
                checked += 1;
                let problem = check_token(t, e, finding, &txs);
                problems.extend(problem.map(|p| format!("{file}: {} {p}", e.code)));
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
    assert!(checked >= 280, "only {checked} evidence values checked");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A TLS sample recorded with its client's key log (NAME.keylog beside it)
/// is read with it.
fn limits_for(path: &Path) -> Limits {
    let mut limits = Limits::default();
    if let Ok(text) = std::fs::read_to_string(path.with_extension("keylog")) {
        limits.tls_keys = Some(std::sync::Arc::new(connlint::tls::KeyLog::parse(&text)));
    }
    limits
}

/// The sample's transactions as `connlint transactions --format json` writes them.
fn transactions(path: &Path) -> Vec<Value> {
    let p = path.to_str().unwrap();
    let mut conns: Vec<Analyzed> = Vec::new();
    run(p, &limits_for(path), Keep::TRANSACTIONS, |a| conns.push(a));
    let mut out = Vec::new();
    for a in &conns {
        for tx in &a.http.transactions {
            out.push(serde_json::to_value(TransactionRecord::new(p, &a.connection, tx)).unwrap());
        }
    }
    out
}

/// One token of a row against the finding (or, `txN.`, a transaction).
fn check_token(
    t: &Token,
    e: &Expected,
    finding: Option<&Finding>,
    txs: &[Value],
) -> Option<String> {
    if let Some((tx, field)) = t.key.split_once('.') {
        let n: u64 = tx[2..].parse().unwrap();
        let Some((client, server)) = e.connection.split_once(" -> ") else {
            return Some(format!("{}: no connection", t.key));
        };
        let Some(rec) = txs.iter().find(|r| {
            r["client"] == client && r["server"] == server && r["index"].as_u64() == Some(n)
        }) else {
            return Some(format!("{}: no transaction {n} on {}", t.key, e.connection));
        };
        return match rec.get(field) {
            None => Some(format!("{}: transactions have no field {field}", t.key)),
            Some(v) => compare(&t.key, &t.op, &t.value, v),
        };
    }
    let Some(f) = finding else {
        return Some(format!("{}: a clean row states only txN. values", t.key));
    };
    if t.key == "severity" {
        return (t.op != Op::Exact || t.value != f.severity.to_string())
            .then(|| format!("severity: stated {}, actual {}", t.value, f.severity));
    }
    match f.evidence.get(&t.key) {
        None => Some(format!(
            "{}: not an evidence key of the finding (keys: {})",
            t.key,
            f.evidence.keys().cloned().collect::<Vec<_>>().join(", ")
        )),
        Some(v) => compare(&t.key, &t.op, &t.value, v),
    }
}

#[test]
fn the_evidence_column_is_strict() {
    let ok = tokens(
        r#"severity=warning mss=1448 ratio≈0.50 t~1 keep_alive="timeout=5, max=100" tx3.uri=/a"#,
    )
    .unwrap();
    assert_eq!(ok.len(), 6);
    assert_eq!(ok[4].value, "timeout=5, max=100");
    assert_eq!(ok[5].key, "tx3.uri");
    for bad in [
        "mss",
        "MSS=1448",
        "m-ss=1",
        "x=",
        "tx.uri=/",
        "txa.uri=/",
        r#"a="b"c"#,
        "prose here",
    ] {
        assert!(tokens(bad).is_err(), "{bad}");
    }
    // Exact and close comparisons, and their edges.
    let n = |x: f64| serde_json::json!(x);
    assert!(compare("mss", &Op::Exact, "1448", &serde_json::json!(1448)).is_none());
    assert!(compare("mss", &Op::Exact, "1460", &serde_json::json!(1448)).is_some());
    assert!(compare("stall_ms", &Op::Close, "93.2", &n(93.7)).is_none());
    assert!(compare("stall_ms", &Op::Close, "93.2", &n(95.1)).is_some());
    assert!(compare("stall_ms", &Op::Close, "0.1", &n(0.6)).is_none());
    assert!(compare("stall_ms", &Op::Close, "0.1", &n(0.61)).is_some());
    assert!(compare("ratio", &Op::Close, "0.50", &n(0.499)).is_none());
    assert!(compare("ratio", &Op::Close, "0.50", &n(0.52)).is_some());
    assert!(compare("ports", &Op::Exact, "1,2", &serde_json::json!([1, 2])).is_none());
    assert!(compare("ports", &Op::Exact, "1,2", &serde_json::json!([1, 2, 3])).is_some());
    assert!(compare("ports", &Op::Exact, "1,3", &serde_json::json!([1, 2])).is_some());
    assert!(compare("c", &Op::Exact, "null", &Value::Null).is_none());
    assert!(compare("c", &Op::Exact, "close", &Value::Null).is_some());
    assert!(compare("b", &Op::Exact, "true", &serde_json::json!(false)).is_some());
    assert!(compare("s", &Op::Close, "1", &serde_json::json!("1")).is_some());
}
