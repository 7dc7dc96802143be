//! Filters (issue 11, item 11): `--host`, `--port`, `--server`, `--client`
//! and `--from` / `--to` restrict the analysis as a tcpdump round trip
//! would, keep connection ids (tshark's `tcp.stream`) and the capture's own
//! name, and say what they left out.

mod common;
use common::run;
use serde_json::Value;

const EXAMPLE: &str = "tests/corpus/files/pcapplusplus__Tests-Pcap++Test-PcapExamples-example.pcap";

fn connections(extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["connections", "--format", "jsonl"];
    args.extend(extra);
    args.push(EXAMPLE);
    let (code, out, err) = run(&args);
    assert_eq!(code, Some(0), "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v.get("id").is_some())
        .collect()
}

#[test]
fn server_and_client_keep_their_connections_with_their_ids() {
    let all = connections(&[]);
    let server = "212.199.202.53:80";
    let want: Vec<&Value> = all.iter().filter(|c| c["server"] == server).collect();
    assert!(want.len() > 3 && want.len() < all.len());
    let got = connections(&["--server", server]);
    assert_eq!(got.iter().collect::<Vec<_>>(), want);
    for c in &got {
        assert_eq!(c["capture"], EXAMPLE, "the capture keeps its name");
    }
    // An address alone matches every port; a client by address.
    let by_ip = connections(&["--server", "212.199.202.53"]);
    assert_eq!(by_ip.len(), want.len());
    let client = "10.0.0.4";
    let from_client = connections(&["--client", client]);
    assert!(!from_client.is_empty());
    assert!(from_client
        .iter()
        .all(|c| c["client"].as_str().unwrap().starts_with("10.0.0.4:")));
    assert_eq!(
        from_client.len(),
        all.iter()
            .filter(|c| c["client"].as_str().unwrap().starts_with("10.0.0.4:"))
            .count()
    );
}

#[test]
fn host_port_and_a_time_window_filter_packets() {
    let (_, _, err) = run(&["check", "--host", "54.225.239.76", EXAMPLE]);
    assert!(err.contains("the filter left out"), "{err}");
    let only = connections(&["--host", "54.225.239.76"]);
    assert!(!only.is_empty());
    assert!(only
        .iter()
        .all(|c| c["server"].as_str().unwrap().starts_with("54.225.239.76:")));
    // The window: the first 4 s after the first packet (the first
    // connections open after 3.1 s).
    let all = connections(&[]);
    let t0 = all
        .iter()
        .map(|c| c["start_ts"].as_f64().unwrap())
        .fold(f64::MAX, f64::min);
    let early = connections(&["--to", "4"]);
    assert!(!early.is_empty() && early.len() < all.len());
    assert!(early
        .iter()
        .all(|c| c["start_ts"].as_f64().unwrap() <= t0 + 4.0 + 1e-6));
    // The same moment in UTC: the first packet's time, from the table's
    // header line, plus 4 s.
    let (_, table, _) = run(&["connections", EXAMPLE]);
    let first = table
        .lines()
        .next()
        .and_then(|l| l.split("after the first packet, ").nth(1))
        .unwrap();
    let (minute, second) = first.trim_end_matches('Z').rsplit_once(':').unwrap();
    let second: f64 = second.parse().unwrap();
    assert!(second < 55.0, "{first}");
    let utc = format!("{minute}:{:09.6}Z", second + 4.0);
    assert_eq!(connections(&["--to", &utc]).len(), early.len(), "{utc}");
    // A port that is in no packet leaves nothing, and says so.
    let (code, _, err) = run(&["check", "--port", "9", EXAMPLE]);
    assert_eq!(code, Some(0));
    // (Frames that hold no TCP are not the port's to judge: they pass.)
    assert!(
        err.contains("nothing to judge: no TCP connection in the ")
            && err.contains(" packets the filter kept (of 4631)"),
        "{err}"
    );
}

#[test]
fn bad_filters_are_usage_errors() {
    for args in [
        vec!["check", "--host", "10.0.0.1:80", EXAMPLE],
        vec!["check", "--server", "example.com", EXAMPLE],
        vec!["check", "--from", "yesterday", EXAMPLE],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
    }
}
