//! What a person at a terminal sees (issue 11, items 4, 5, 7, 12 and 13):
//! tables fitted to a real pseudo-terminal's width and coloured there, not
//! in a pipe; one time zero named in the header; `--quiet`; `transactions
//! --summary`; completions, man page, `init`, rule suggestions; damage in
//! JSON Lines and a summary that does not count an unread capture.

mod common;
use common::{root, run_with as piped};
use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use serde_json::Value;
use std::io::Read;

const RETRANS: &str = "tests/corpus/files/arkime__tests-pcap-wireshark-retrans.pcap";
const EXAMPLE: &str = "tests/corpus/files/pcapplusplus__Tests-Pcap++Test-PcapExamples-example.pcap";
const CUT: &str = "tests/corpus/files/pcap2har__tests-out-of-order.pcap";

/// connlint in a pseudo-terminal `cols` wide; its output, `\r` removed.
fn in_pty(args: &[&str], cols: u16, env: &[(&str, &str)]) -> String {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 50,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_connlint"));
    cmd.args(args);
    cmd.cwd(root());
    cmd.env_remove("NO_COLOR");
    cmd.env_remove("COLUMNS");
    cmd.env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let reading = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        // Linux ends a pty whose other side closed with EIO.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    });
    child.wait().unwrap();
    drop(pair.master);
    String::from_utf8_lossy(&reading.join().unwrap()).replace('\r', "")
}

/// The visible columns of a line: escape sequences left out.
fn visible(line: &str) -> usize {
    let mut n = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

#[test]
fn tables_fit_a_terminal_and_are_coloured_only_there() {
    for args in [
        vec!["connections", EXAMPLE],
        vec!["transactions", RETRANS],
        vec!["check", RETRANS],
    ] {
        let (_, wide, _) = piped(&args, &[]);
        assert!(
            wide.lines().any(|l| visible(l) > 100),
            "{args:?}: wide when piped"
        );
        assert!(
            !wide.contains('\x1b'),
            "{args:?}: no escape codes in a pipe"
        );
        let out = in_pty(&args, 80, &[]);
        // Table rows and findings fit; a capture's own lines start with its
        // path, which may be longer than the terminal.
        let path = args[1];
        let long: Vec<&str> = out
            .lines()
            .filter(|l| visible(l) > 80 && !l.starts_with(path))
            .collect();
        assert!(
            long.is_empty(),
            "{args:?}: lines over 80 columns: {long:#?}"
        );
        assert!(out.contains("\x1b["), "{args:?}: coloured on a terminal");
        let plain = in_pty(&args, 80, &[("NO_COLOR", "1")]);
        assert!(!plain.contains("\x1b["), "{args:?}: NO_COLOR");
        assert!(plain
            .lines()
            .all(|l| visible(l) <= 80 || l.starts_with(path)));
    }
    // --color always colours a pipe; never, a terminal.
    let (_, out, _) = piped(&["--color", "always", "check", RETRANS], &[]);
    assert!(out.contains("\x1b[1;33mwarning"), "{out}");
    let out = in_pty(&["--color", "never", "check", RETRANS], 80, &[]);
    assert!(!out.contains("\x1b["));
    // No separator after every row: one rule under the header.
    let (_, table, _) = piped(&["connections", EXAMPLE], &[]);
    let rules = table
        .lines()
        .filter(|l| l.starts_with('─') || l.starts_with('═'))
        .count();
    assert_eq!(rules, 1, "{table}");
}

#[test]
fn every_command_counts_time_from_the_first_packet_and_says_so() {
    // The first packet is 3.1 s before the first connection's SYN.
    let (_, conns, _) = piped(&["connections", EXAMPLE], &[]);
    let header = conns.lines().next().unwrap();
    assert!(
        header.ends_with(": times in seconds after the first packet, 2013-05-02T20:20:33.491822Z"),
        "{header}"
    );
    let first = conns.lines().nth(3).unwrap();
    assert!(first.contains(" 3.124982 "), "{first}");
    let (_, check, _) = piped(&["check", EXAMPLE], &[]);
    assert!(check.contains("\n  +3.643s warning S003"), "{check}");
    // --absolute-time: UTC in the rows.
    let (_, abs, _) = piped(&["connections", "--absolute-time", EXAMPLE], &[]);
    assert!(abs.contains("2013-05-02T20:20:36.616804Z"), "{abs}");
}

#[test]
fn quiet_prints_the_summary_and_summary_the_latency() {
    let (code, out, err) = piped(&["-q", "check", RETRANS], &[]);
    assert_eq!(code, Some(1));
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with("4 findings in 1 group (0 error, 4 warning"),
        "{out}"
    );
    assert!(err.is_empty(), "{err}");
    let (_, out, _) = piped(
        &["transactions", "--summary", "--format", "json", EXAMPLE],
        &[],
    );
    let endpoints: Value = serde_json::from_str(&out).unwrap();
    let (_, txs, _) = piped(&["transactions", "--format", "jsonl", EXAMPLE], &[]);
    let txs: Vec<Value> = txs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let total: u64 = endpoints
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["transactions"].as_u64().unwrap())
        .sum();
    assert_eq!(total, txs.len() as u64);
    // The busiest endpoint's median wait is a wait of one of its transactions.
    let top = &endpoints[0];
    let waits: Vec<f64> = txs
        .iter()
        .filter(|t| t["server"] == top["server"])
        .filter_map(|t| t["wait_ms"].as_f64())
        .collect();
    let p50 = top["wait_p50_ms"].as_f64().unwrap();
    assert!(waits.contains(&p50), "{p50} in {waits:?}");
    let below = waits.iter().filter(|w| **w <= p50).count();
    assert!(below * 2 >= waits.len() && (below - 1) * 2 < waits.len());
}

#[test]
fn completions_man_init_and_rule_suggestions() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (code, out, _) = piped(&["completions", shell], &[]);
        assert_eq!(code, Some(0));
        assert!(
            out.contains("connlint") && out.contains("--fail-on-empty"),
            "{shell}"
        );
    }
    let (code, man, _) = piped(&["man"], &[]);
    assert_eq!(code, Some(0));
    assert!(
        man.starts_with(".ie") || man.contains(".TH connlint"),
        "{man}"
    );
    // init writes a file check reads as it reads no file.
    let dir = std::env::temp_dir().join(format!("connlint-init-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("connlint.toml");
    let _ = std::fs::remove_file(&cfg);
    let c = cfg.to_str().unwrap();
    assert_eq!(piped(&["init", c], &[]).0, Some(0));
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        text.contains("[rules.S001]") && text.contains("handshake_ratio = 0.4"),
        "{text}"
    );
    let (_, with, _) = piped(&["check", "--format", "jsonl", "--config", c, EXAMPLE], &[]);
    let (_, without, _) = piped(&["check", "--format", "jsonl", EXAMPLE], &[]);
    assert_eq!(with, without);
    let (code, _, err) = piped(&["init", c], &[]);
    assert_eq!(code, Some(2), "not over an existing file");
    assert!(err.contains("--force"), "{err}");
    // A word that names no rule: the rules it is in.
    let (code, _, err) = piped(&["rule", "nagle"], &[]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("did you mean: T001 nagle-delayed-ack-stall"),
        "{err}"
    );
    // Help shows defaults.
    let (_, help, _) = piped(&["check", "--help"], &[]);
    let fail_on = help
        .lines()
        .skip_while(|l| !l.contains("--fail-on <"))
        .take(3)
        .collect::<String>();
    assert!(fail_on.contains("[default:"), "{fail_on}");
}

#[test]
fn damage_is_a_json_lines_record_and_an_unread_capture_is_not_counted() {
    let (code, out, _) = piped(&["check", "--format", "jsonl", CUT], &[]);
    assert_eq!(code, Some(2));
    let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "damage");
    assert_eq!(last["capture"], CUT);
    assert!(last["offset"].as_u64().unwrap() > 0);
    let (_, out, _) = piped(&["connections", "--format", "jsonl", CUT], &[]);
    assert!(out.lines().any(|l| l.contains("\"kind\":\"damage\"")));
    let (code, out, err) = piped(&["check", "/nonexistent/x.pcap"], &[]);
    assert_eq!(code, Some(2));
    assert!(
        out.contains("in 0 captures (1 could not be read)"),
        "{out} {err}"
    );
}

#[test]
fn a_terminal_on_standard_input_gets_a_hint_not_a_silent_wait() {
    // `connlint check -` typed alone: stdin is the terminal. The hint comes
    // at once; Ctrl-D (end of file) then ends the run on an empty input.
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_connlint"));
    cmd.args(["check", "-"]);
    cmd.cwd(root());
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let mut writer = pair.master.take_writer().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !String::from_utf8_lossy(&seen).contains("standard input, a terminal") {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => seen.extend(chunk),
            Err(_) => panic!("no hint: {}", String::from_utf8_lossy(&seen)),
        }
    }
    let hint = String::from_utf8_lossy(&seen).into_owned();
    assert!(
        hint.contains("tcpdump -w - ... | connlint check -"),
        "{hint}"
    );
    // Ctrl-D: the capture ends there, empty, which is an error (exit 2).
    std::io::Write::write_all(&mut writer, b"\x04").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.exit_code(), 2);
}
