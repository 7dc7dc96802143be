//! `connlint check` groups repeats for people and lists them for machines:
//! the table, SARIF, JUnit and GitHub output show one entry per group (one
//! rule, one client host, one server endpoint, in one capture) with its
//! count, time span, first three connections as examples and "and N more
//! like it"; `--no-group` lists each finding; JSON / JSON Lines keep one
//! record per finding with its `group` key; `--statistics` counts per rule.
//!
//! Every expectation is computed here from the per-finding JSON Lines of the
//! same run, by an independent model of the grouping, so the tests follow
//! the rules' findings on these real captures rather than pinning them.

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Twenty-odd small requests from one client host to one server, each on
/// its own connection: one S002 churn chain that folds the connections' S001
/// findings; with S002 ignored (as every run here does, see [`check`]) they
/// are one large S001 group.
const METHODS: &str = "tests/corpus/files/zeek__testing-btest-Traces-http-methods.pcap";
/// One keep-alive connection with a Nagle stall on each of four POSTs:
/// a T001 group with more findings than connections.
const RETRANS: &str = "tests/corpus/files/arkime__tests-pcap-wireshark-retrans.pcap";
/// A browser: one client host, several servers, S001 and S003.
const EXAMPLE: &str = "tests/corpus/files/pcapplusplus__Tests-Pcap++Test-PcapExamples-example.pcap";
/// IPv6 endpoints.
const IPV6: &str = "tests/corpus/files/zeek__testing-btest-Traces-ipv6-http-atomic-frag.pcap";
/// With the next, two findings of two rules in two captures: groups of one.
const T001: &str = "samples/T001-nagle-delayed-ack-stall-client-side.pcap";
const T002: &str = "samples/T002-delayed-ack-window-limited-client-side.pcap";
const CLEAN: &str = "samples/clean-keepalive-reuse-nodelay.pcap";

fn path(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(p)
        .to_string_lossy()
        .into_owned()
}

/// Runs `check` with S002 ignored, so that the S001 findings it would fold
/// into one churn finding stand alone: the many-connection group these tests
/// need.
fn check(args: &[&str], captures: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .arg("check")
        .args(["--ignore", "S002"])
        .args(args)
        .args(captures.iter().map(|c| path(c)))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every finding, one JSON object each, in output order.
fn findings(captures: &[&str]) -> Vec<Value> {
    let (_, out, err) = check(&["--format", "jsonl"], captures);
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l} ({err})")))
        .collect()
}

/// The model: an endpoint's address without port or IPv6 brackets.
fn host(endpoint: &str) -> &str {
    if let Some(rest) = endpoint.strip_prefix('[') {
        return rest.split(']').next().unwrap();
    }
    endpoint.rsplit_once(':').unwrap().0
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

/// The group key the model expects: code, client host, server endpoint.
fn key(f: &Value) -> String {
    format!(
        "{} {} -> {}",
        s(&f["code"]),
        host(s(&f["client"])),
        s(&f["server"])
    )
}

/// A group as the model sees it: its findings (indices) in order.
struct Expected<'a> {
    capture: &'a str,
    key: String,
    findings: Vec<&'a Value>,
}

impl<'a> Expected<'a> {
    fn count(&self) -> usize {
        self.findings.len()
    }
    fn first(&self) -> &'a Value {
        self.findings[0]
    }
    /// Distinct connections, in order of appearance.
    fn connections(&self) -> Vec<u64> {
        let mut seen = Vec::new();
        for f in &self.findings {
            let c = f["connection"].as_u64().unwrap();
            if !seen.contains(&c) {
                seen.push(c);
            }
        }
        seen
    }
    /// The first finding of each of the first three connections; with
    /// fewer connections, the earliest other findings fill up to three.
    /// In the order they came.
    fn examples(&self) -> Vec<&'a Value> {
        let conns = self.connections();
        let mut chosen: Vec<usize> = conns
            .iter()
            .take(3)
            .map(|c| {
                self.findings
                    .iter()
                    .position(|f| f["connection"].as_u64() == Some(*c))
                    .unwrap()
            })
            .collect();
        for i in 0..self.findings.len() {
            if chosen.len() >= 3 {
                break;
            }
            if !chosen.contains(&i) {
                chosen.push(i);
            }
        }
        chosen.sort();
        chosen.into_iter().map(|i| self.findings[i]).collect()
    }
    fn ts(&self) -> (f64, f64) {
        let ts = self.findings.iter().map(|f| f["ts"].as_f64().unwrap());
        (
            ts.clone().fold(f64::INFINITY, f64::min),
            ts.fold(f64::NEG_INFINITY, f64::max),
        )
    }
}

/// The model's groups: per capture, in the order of their first finding.
fn groups(findings: &[Value]) -> Vec<Expected<'_>> {
    let mut out: Vec<Expected> = Vec::new();
    for f in findings {
        let (capture, key) = (s(&f["capture"]), key(f));
        match out
            .iter_mut()
            .find(|g| g.capture == capture && g.key == key)
        {
            Some(g) => g.findings.push(f),
            None => out.push(Expected {
                capture,
                key,
                findings: vec![f],
            }),
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The header of a group's table entry up to its time span.
fn group_header(g: &Expected) -> String {
    let f = g.first();
    let conns = g.connections().len();
    format!(
        "{}: {} findings of {} {} from {} to {} on {} connection{}, ",
        g.capture,
        g.count(),
        s(&f["code"]),
        s(&f["rule"]),
        host(s(&f["client"])),
        s(&f["server"]),
        conns,
        plural(conns)
    )
}

/// A finding's line in the table, less its leading spaces and relative
/// time (`+1.234s `), which the JSON cannot reproduce.
fn finding_line(f: &Value) -> String {
    let tx = f["transaction"]
        .as_u64()
        .map_or(String::new(), |t| format!(" tx {t}"));
    format!(
        "{:<7} {} {}{tx} {}: {}",
        s(&f["severity"]),
        s(&f["code"]),
        s(&f["rule"]),
        frames(f),
        s(&f["message"])
    )
}

/// The frames a finding's line names, from its record: the request's first
/// frame to the response's last on a transaction, else the connection's
/// first to last (`frame 7` when they are one).
fn frames(f: &Value) -> String {
    let n = |k: &str| f[k].as_u64();
    let (a, b) = match n("request_frame").or(n("response_first_frame")) {
        Some(a) => (a, n("response_last_frame").unwrap_or(a)),
        None => (
            n("connection_first_frame").unwrap(),
            n("connection_last_frame").unwrap(),
        ),
    };
    if a == b {
        format!("frame {a}")
    } else {
        format!("frames {a}-{b}")
    }
}

/// Drops each capture's clock line (`F: times in seconds after the first
/// packet, UTC`) and the blank line before it, checking there is one
/// before each capture's findings.
fn without_clock_lines(out: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for l in out.lines() {
        if l.contains(": times in seconds after the first packet, 20") {
            assert_eq!(lines.pop().as_deref(), Some(""), "a blank line before {l}");
            continue;
        }
        lines.push(l.to_string());
    }
    lines
}

fn evidence_line(f: &Value) -> Option<String> {
    let ev = f["evidence"].as_object().unwrap();
    (!ev.is_empty()).then(|| {
        let parts: Vec<String> = ev.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("evidence: {}", parts.join(" "))
    })
}

/// Splits `+1.234s rest` into the seconds and the rest.
fn split_time(line: &str) -> (f64, &str) {
    let t = line.trim_start();
    let (at, rest) = t.split_once("s ").unwrap();
    (at.strip_prefix('+').unwrap().parse().unwrap(), rest)
}

const ALL: [&str; 3] = [METHODS, RETRANS, EXAMPLE];

#[test]
fn the_captures_hold_the_cases_these_tests_need() {
    let f = findings(&ALL);
    let g = groups(&f);
    assert!(
        g.iter().any(|g| g.connections().len() > 3),
        "a group over more than three connections (S001 on {METHODS})"
    );
    assert!(
        g.iter()
            .any(|g| g.count() > 3 && g.connections().len() == 1),
        "a group of more than three findings on one connection (T001 on {RETRANS})"
    );
    assert!(g.iter().any(|g| g.count() == 1), "a group of one");
    let captures: Vec<&str> = g.iter().map(|g| g.capture).collect();
    assert!(ALL.iter().all(|c| captures.contains(&path(c).as_str())));
}

#[test]
fn the_table_shows_a_group_once_with_its_count_span_three_examples_and_the_rest() {
    let f = findings(&ALL);
    let expected = groups(&f);
    let (code, out, err) = check(&[], &ALL);
    assert_eq!(code, Some(1), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    let mut finding_lines = 0;
    for g in &expected {
        let examples = g.examples();
        if g.count() == 1 {
            // A group of one is today's finding under its connection.
            let f = g.first();
            let header = format!(
                "{}: connection {} {} -> {}",
                g.capture,
                f["connection"],
                s(&f["client"]),
                s(&f["server"])
            );
            // Under that header, or under the previous finding's when it
            // was on the same connection.
            let under = (0..lines.len()).filter(|&i| lines[i] == header).any(|at| {
                lines[at + 1..]
                    .iter()
                    .take_while(|l| !l.is_empty())
                    .any(|l| l.starts_with("  +") && split_time(l).1 == finding_line(f))
            });
            assert!(under, "{} under {header}:\n{out}", finding_line(f));
            finding_lines += 1;
            continue;
        }
        let header = group_header(g);
        let starts: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].starts_with(&header))
            .collect();
        assert_eq!(starts.len(), 1, "one entry for {}:\n{out}", g.key);
        let block: Vec<&str> = lines[starts[0] + 1..]
            .iter()
            .copied()
            .take_while(|l| !l.is_empty())
            .collect();
        // The span: first and last finding, seconds from the capture's start.
        let span = &lines[starts[0]][header.len()..];
        let (first, last) = g.ts();
        let (a, b) = match span.split_once(" to ") {
            Some((a, b)) => (a, b),
            None => (
                span.strip_prefix("at ").unwrap(),
                span.strip_prefix("at ").unwrap(),
            ),
        };
        let a: f64 = a.trim_matches(|c| c == '+' || c == 's').parse().unwrap();
        let b: f64 = b.trim_matches(|c| c == '+' || c == 's').parse().unwrap();
        assert!(((b - a) - (last - first)).abs() < 0.0015, "{span}");
        // The examples, each under its connection, with its evidence.
        let mut want = Vec::new();
        let mut current = None;
        for e in &examples {
            if current != e["connection"].as_u64() {
                current = e["connection"].as_u64();
                want.push(format!(
                    "  connection {} {} -> {}",
                    e["connection"],
                    s(&e["client"]),
                    s(&e["server"])
                ));
            }
            want.push(format!("    {}", finding_line(e)));
            if let Some(ev) = evidence_line(e) {
                want.push(format!("            {ev}"));
            }
        }
        if g.count() > 3 {
            want.push(format!("  and {} more like it", g.count() - 3));
        }
        let got: Vec<String> = block
            .iter()
            .map(|l| match l.trim_start().starts_with('+') {
                true => format!("    {}", split_time(l).1),
                false => l.to_string(),
            })
            .collect();
        assert_eq!(got, want, "{}", g.key);
        // The first example is the group's first finding: when it is also
        // the earliest, it is at the span's start.
        if g.first()["ts"].as_f64() == Some(first) {
            let line = block
                .iter()
                .find(|l| l.trim_start().starts_with('+'))
                .unwrap();
            assert_eq!(split_time(line).0, a);
        }
        finding_lines += examples.len();
    }
    // Nothing else is listed, and the summary counts findings, then groups.
    let listed = lines
        .iter()
        .filter(|l| l.trim_start().starts_with('+'))
        .count();
    assert_eq!(listed, finding_lines);
    let summary = lines.last().unwrap();
    let want = format!("{} findings in {} groups (", f.len(), expected.len());
    assert!(summary.starts_with(&want), "{summary} / {want}");
    assert!(summary.contains(" in 3 captures, "), "{summary}");
}

#[test]
fn no_group_lists_every_finding_as_before() {
    let f = findings(&ALL);
    let (code, out, _) = check(&["--no-group"], &ALL);
    assert_eq!(code, Some(1));
    // Today's listing, rebuilt from the records: a header each time the
    // connection changes, each finding's line and evidence.
    let mut want = Vec::new();
    let mut current: Option<(&str, u64)> = None;
    for r in &f {
        let here = (s(&r["capture"]), r["connection"].as_u64().unwrap());
        if current != Some(here) {
            current = Some(here);
            want.push(String::new());
            want.push(format!(
                "{}: connection {} {} -> {}",
                here.0,
                here.1,
                s(&r["client"]),
                s(&r["server"])
            ));
        }
        want.push(format!("  {}", finding_line(r)));
        if let Some(ev) = evidence_line(r) {
            want.push(format!("          {ev}"));
        }
    }
    want.push(String::new());
    // Notes (what could not be judged, e.g. on TLS connections) are not
    // findings.
    let got: Vec<String> = without_clock_lines(&out)
        .into_iter()
        .filter(|l| !l.starts_with("note: "))
        .map(|l| match l.starts_with("  +") {
            true => format!("  {}", split_time(&l).1),
            false => l,
        })
        .collect();
    let clocks = out
        .lines()
        .filter(|l| l.contains(": times in seconds after the first packet, "))
        .count();
    assert_eq!(
        clocks,
        ALL.len(),
        "one clock line per capture with findings"
    );
    assert_eq!(&got[..got.len() - 1], &want[..]);
    let summary = got.last().unwrap();
    assert!(
        summary.starts_with(&format!("{} findings (", f.len())),
        "{summary}"
    );
    assert!(!summary.contains("group"));
    // Where every group is of one, grouped output is exactly that listing.
    let (_, grouped, _) = check(&[], &[T001, T002]);
    let (_, listed, _) = check(&["--no-group"], &[T001, T002]);
    assert_eq!(findings(&[T001, T002]).len(), 2);
    assert_eq!(grouped, listed);
}

#[test]
fn json_and_jsonl_keep_every_finding_and_add_the_group_key() {
    let captures = [METHODS, RETRANS, EXAMPLE, IPV6];
    let f = findings(&captures);
    let (_, doc, _) = check(&["--format", "json"], &captures);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let records = doc["findings"].as_array().unwrap();
    assert_eq!(records, &f, "json and jsonl list the same records");
    assert_eq!(doc["summary"]["findings"].as_u64(), Some(f.len() as u64));
    for r in &f {
        assert_eq!(s(&r["group"]), key(r));
    }
    // IPv6: the client host loses its brackets, the server keeps them.
    assert!(f.iter().any(|r| {
        let g = s(&r["group"]);
        g.contains(" 2001:db8:1::2 -> [2001:db8:1::1]:80")
    }));
    // --no-group is about presentation: the records do not change.
    for format in ["json", "jsonl"] {
        let a = check(&["--format", format], &captures).1;
        let b = check(&["--format", format, "--no-group"], &captures).1;
        assert_eq!(a, b, "{format}");
    }
}

#[test]
fn statistics_counts_findings_per_rule_most_first() {
    let captures = [METHODS, RETRANS, EXAMPLE];
    let f = findings(&captures);
    let mut want: BTreeMap<&str, (&str, u64)> = BTreeMap::new();
    for r in &f {
        want.entry(s(&r["code"])).or_insert((s(&r["rule"]), 0)).1 += 1;
    }
    let mut want: Vec<(&str, &str, u64)> = want.into_iter().map(|(c, (n, k))| (c, n, k)).collect();
    want.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
    assert!(want.len() >= 3);

    let (code, out, _) = check(&["--statistics"], &captures);
    assert_eq!(code, Some(1), "the exit code still follows --fail-on");
    let width = want[0].2.to_string().len();
    let expect: String = want
        .iter()
        .map(|(c, n, k)| format!("{k:>width$}  {c}  {n}\n"))
        .collect();
    assert_eq!(out, expect, "only the counts, aligned, most first");
    assert_eq!(
        check(&["--statistics", "--fail-on", "never"], &captures).0,
        Some(0)
    );

    let (_, out, _) = check(&["--statistics", "--format", "json"], &captures);
    let v: Value = serde_json::from_str(&out).unwrap();
    let got: Vec<(&str, &str, u64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            assert_eq!(o.as_object().unwrap().len(), 3, "{o}");
            (s(&o["code"]), s(&o["name"]), o["count"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(got, want);
    let (_, out, _) = check(&["--statistics", "--format", "jsonl"], &captures);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(&lines, v.as_array().unwrap());

    // No findings: nothing (an empty array in JSON), exit 0.
    let (code, out, _) = check(&["--statistics"], &[CLEAN]);
    assert_eq!((code, out.as_str()), (Some(0), ""));
    let (_, out, _) = check(&["--statistics", "--format", "json"], &[CLEAN]);
    assert_eq!(out.trim(), "[]");
    // The CI formats have no statistics: a usage error.
    for format in ["sarif", "junit", "github"] {
        let (code, out, err) = check(&["--statistics", "--format", format], &[METHODS]);
        assert_eq!(code, Some(2), "{format}");
        assert!(out.is_empty());
        assert!(err.contains("--statistics"), "{err}");
    }
}

#[test]
fn sarif_has_one_result_per_group_fingerprinted_by_its_key() {
    let f = findings(&ALL);
    let expected = groups(&f);
    let (code, out, _) = check(&["--format", "sarif"], &ALL);
    assert_eq!(code, Some(1));
    let v: Value = serde_json::from_str(&out).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), expected.len());
    for (r, g) in results.iter().zip(&expected) {
        let first = g.first();
        assert_eq!(r["ruleId"], first["code"]);
        // An absolute path is a file:// URI, percent-encoded (`Pcap++` has
        // two characters outside RFC 3986's unreserved set).
        assert_eq!(
            s(&r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]),
            format!("file://{}", g.capture.replace('+', "%2B"))
        );
        assert_eq!(s(&r["partialFingerprints"]["connlintGroup/v1"]), g.key);
        let p = &r["properties"];
        assert_eq!(s(&p["group"]), g.key);
        assert_eq!(p["count"].as_u64(), Some(g.count() as u64));
        assert_eq!(
            p["connections"].as_u64(),
            Some(g.connections().len() as u64)
        );
        let (a, b) = g.ts();
        assert_eq!(
            (p["first_ts"].as_f64(), p["last_ts"].as_f64()),
            (Some(a), Some(b))
        );
        assert_eq!(p["evidence"], first["evidence"]);
        let examples: Vec<(u64, &str)> = p["examples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["connection"].as_u64().unwrap(), s(&e["message"])))
            .collect();
        let want: Vec<(u64, &str)> = g
            .examples()
            .iter()
            .map(|e| (e["connection"].as_u64().unwrap(), s(&e["message"])))
            .collect();
        assert_eq!(examples, want);
        let text = s(&r["message"]["text"]);
        assert!(text.contains(s(&first["message"])), "{text}");
        assert_eq!(
            text.contains(&format!("(and {} more like it: ", g.count() - 1)),
            g.count() > 1,
            "{text}"
        );
    }
    // --no-group: one result per finding, still fingerprinted by its group.
    let (_, out, _) = check(&["--format", "sarif", "--no-group"], &ALL);
    let v: Value = serde_json::from_str(&out).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), f.len());
    for (r, rec) in results.iter().zip(&f) {
        assert_eq!(s(&r["partialFingerprints"]["connlintGroup/v1"]), key(rec));
        assert_eq!(r["properties"]["count"], 1);
        assert!(!s(&r["message"]["text"]).contains("more like it"));
    }
}

#[test]
fn junit_has_a_test_case_per_capture_and_rule_failed_once_by_its_groups() {
    let f = findings(&ALL);
    let expected = groups(&f);
    for grouped in [true, false] {
        // Only the S and T rules run (less S002, which `check` ignores):
        // each is a test case, passed or failed.
        let mut args = vec!["--format", "junit", "--select", "S,T"];
        if !grouped {
            args.push("--no-group");
        }
        let (code, out, _) = check(&args, &ALL);
        assert_eq!(code, Some(1));
        let doc = roxmltree::Document::parse(&out).unwrap();
        let root = doc.root_element();
        let attr = |n: roxmltree::Node, a: &str| n.attribute(a).unwrap().parse::<u64>().unwrap();
        let suites: Vec<_> = root
            .children()
            .filter(|n| n.has_tag_name("testsuite"))
            .collect();
        assert_eq!(suites.len(), ALL.len());
        let (mut tests, mut failures) = (0, 0);
        for suite in &suites {
            let capture = suite.attribute("name").unwrap();
            let cases: Vec<_> = suite
                .children()
                .filter(|n| n.has_tag_name("testcase"))
                .collect();
            let names: Vec<&str> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
            assert_eq!(
                names,
                [
                    "read",
                    "S001 handshake-dominated",
                    "S003 too-many-parallel-connections",
                    "S004 tuple-reused-in-time-wait",
                    "S005 tls-session-not-resumed",
                    "S006 tls12-chosen-when-13-offered",
                    "S007 h2-offered-http1-chosen",
                    "T001 nagle-delayed-ack-stall",
                    "T002 delayed-ack"
                ]
            );
            assert_eq!(attr(*suite, "tests"), cases.len() as u64);
            let mut failed = 0;
            for case in &cases[1..] {
                assert_eq!(case.attribute("classname"), Some(capture));
                let code = &case.attribute("name").unwrap()[..4];
                let groups: Vec<&Expected> = expected
                    .iter()
                    .filter(|g| g.capture == capture && s(&g.first()["code"]) == code)
                    .collect();
                let fails: Vec<_> = case
                    .children()
                    .filter(|n| n.has_tag_name("failure"))
                    .collect();
                if groups.is_empty() {
                    assert!(fails.is_empty());
                    continue;
                }
                failed += 1;
                assert_eq!(fails.len(), 1, "at most one failure per test case");
                let n: usize = groups.iter().map(|g| g.count()).sum();
                let message = fails[0].attribute("message").unwrap();
                assert!(message.starts_with(&format!("{n} finding")), "{message}");
                let text = fails[0].text().unwrap();
                let line = |e: &Value| {
                    let tx = e["transaction"]
                        .as_u64()
                        .map_or(String::new(), |t| format!(" transaction {t}"));
                    format!(
                        "connection {} {} -> {}{tx} ({}): {}\n",
                        e["connection"],
                        s(&e["client"]),
                        s(&e["server"]),
                        s(&e["severity"]),
                        s(&e["message"])
                    )
                };
                let mut want = String::new();
                if !grouped {
                    // Each finding of the rule, in the listing's order.
                    f.iter()
                        .filter(|e| s(&e["capture"]) == capture && s(&e["code"]) == code)
                        .for_each(|e| want.push_str(&line(e)));
                }
                for g in groups.iter().filter(|_| grouped) {
                    if g.count() == 1 {
                        want.push_str(&line(g.first()));
                        continue;
                    }
                    let h = group_header(g);
                    let h = &h[g.capture.len() + 2..];
                    let at = text.find(h).unwrap_or_else(|| panic!("{h} in {text}"));
                    let rest = &text[at..];
                    want.push_str(&rest[..rest.find(":\n").unwrap() + 2]);
                    for e in g.examples() {
                        want.push_str(&format!("  {}", line(e)));
                    }
                    if g.count() > 3 {
                        want.push_str(&format!("  and {} more like it\n", g.count() - 3));
                    }
                }
                assert_eq!(text, want, "{capture} {code}");
            }
            assert_eq!(attr(*suite, "failures"), failed);
            tests += cases.len() as u64;
            failures += failed;
        }
        assert_eq!(attr(root, "tests"), tests);
        assert_eq!(attr(root, "failures"), failures);
        assert!(tests >= failures);
    }
}

#[test]
fn junit_reports_a_damaged_capture_as_an_error_of_its_read_case() {
    let bytes = std::fs::read(path(METHODS)).unwrap();
    let p = std::env::temp_dir().join(format!("connlint-junit-cut-{}.pcap", std::process::id()));
    std::fs::write(&p, &bytes[..bytes.len() - 7]).unwrap();
    let (code, out, _) = check(&["--format", "junit"], &[p.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    let doc = roxmltree::Document::parse(&out).unwrap();
    let read = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("read"))
        .unwrap();
    let error = read.children().find(|n| n.has_tag_name("error")).unwrap();
    assert!(error
        .attribute("message")
        .unwrap()
        .starts_with("byte offset "));
    assert_eq!(doc.root_element().attribute("errors"), Some("1"));
}

#[test]
fn github_has_one_annotation_per_group() {
    let f = findings(&ALL);
    let expected = groups(&f);
    let (code, out, _) = check(&["--format", "github"], &ALL);
    assert_eq!(code, Some(1));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), expected.len());
    for (l, g) in lines.iter().zip(&expected) {
        let first = g.first();
        let level = match s(&first["severity"]) {
            "info" => "notice",
            other => other,
        };
        let title = format!("title={} {}::", s(&first["code"]), s(&first["rule"]));
        assert!(l.starts_with(&format!("::{level} file=")), "{l}");
        assert!(l.contains(&title), "{l}");
        assert_eq!(
            l.contains(&format!("(and {} more like it: ", g.count() - 1)),
            g.count() > 1,
            "{l}"
        );
    }
    let (_, out, _) = check(&["--format", "github", "--no-group"], &ALL);
    assert_eq!(out.lines().count(), f.len());
    assert!(!out.contains("more like it"));
}
