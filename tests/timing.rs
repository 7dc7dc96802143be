//! Transaction timing against values computed by hand from the packet
//! timestamps (frame numbers as tshark and Wireshark count them; timestamps
//! from `tshark -T fields -e frame.time_epoch`).
//!
//! SPEC §1: connect = SYN -> the ACK completing the handshake (first
//! transaction on a connection whose handshake was seen); send = request
//! first byte -> last byte; wait = request last byte -> final response first
//! byte; receive = response first byte -> last byte.

use connlint::analyze::{run, Analyzed, Limits};
use connlint::http::Keep;
use std::path::Path;

/// (connect, send, wait, receive) in ms, `None` where the phase does not apply.
type Phases = (Option<f64>, Option<f64>, Option<f64>, Option<f64>);

fn phases(file: &str) -> Vec<(bool, Phases)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus/files")
        .join(file);
    let mut conns: Vec<Analyzed> = Vec::new();
    run(
        path.to_str().unwrap(),
        &Limits::default(),
        Keep::TRANSACTIONS,
        |a| conns.push(a),
    );
    conns.sort_by_key(|a| a.connection.id);
    let ms = |ns: Option<i64>| ns.map(|n| n as f64 / 1e6);
    conns
        .iter()
        .flat_map(|a| a.http.transactions.iter())
        .map(|t| {
            (
                t.pipelined,
                (
                    ms(t.timing.connect_ns),
                    ms(t.timing.send_ns),
                    ms(t.timing.wait_ns),
                    ms(t.timing.receive_ns),
                ),
            )
        })
        .collect()
}

fn close(got: Option<f64>, want: Option<f64>, what: &str) {
    match (got, want) {
        (Some(g), Some(w)) => assert!((g - w).abs() < 0.0005, "{what}: {g} ms, by hand {w} ms"),
        (g, w) => assert_eq!(g, w, "{what}"),
    }
}

fn check(file: &str, want: &[(bool, Phases)]) {
    let got = phases(file);
    assert_eq!(got.len(), want.len(), "{file}: transactions");
    for (i, ((gp, g), (wp, w))) in got.iter().zip(want).enumerate() {
        assert_eq!(gp, wp, "{file} #{i}: pipelined");
        close(g.0, w.0, &format!("{file} #{i} connect"));
        close(g.1, w.1, &format!("{file} #{i} send"));
        close(g.2, w.2, &format!("{file} #{i} wait"));
        close(g.3, w.3, &format!("{file} #{i} receive"));
    }
}

/// A close-delimited response: the body ends with the server's FIN.
#[test]
fn close_delimited_response() {
    // f1 SYN .982594, f3 handshake ACK .992607; f4 GET (one segment) .993696;
    // f6 first response byte 1273479693.081655; f7 last data + FIN .091729.
    check(
        "arkime__tests-pcap-http-no-length.pcap",
        &[(false, (Some(10.013), Some(0.0), Some(87.959), Some(10.074)))],
    );
}

/// `Expect: 100-continue`: the 100 is interim, so wait runs to the final
/// response; the request body is sent after the 100, so send spans it.
#[test]
fn post_with_100_continue() {
    // f1 SYN 1237440095.585864, f3 ACK .633840; request head f4 .634312, body
    // f8 and f10 (last byte) .781268; 100 Continue f6 (interim); final
    // response first byte f12 .889620, last byte f63 1237440096.688813.
    check(
        "zeek__testing-btest-Traces-http-100-continue.pcap",
        &[(
            false,
            (Some(47.976), Some(146.956), Some(108.352), Some(799.193)),
        )],
    );
}

/// Keep-alive: three transactions, connect only on the first.
#[test]
fn keep_alive_three_transactions() {
    // f1 SYN 1668614357.135363, f3 ACK .381652.
    // #0: GET f4 .800879; response f5..f8 all at 1668614358.384807.
    // #1: GET f9 .386947; response f10 .822459, f11 .822576.
    // #2: GET f12 .834397; 204 in f13 1668614359.250841.
    check(
        "sv__tests-http-brotli-ce-input.pcap",
        &[
            (false, (Some(246.289), Some(0.0), Some(583.928), Some(0.0))),
            (false, (None, Some(0.0), Some(435.512), Some(0.117))),
            (false, (None, Some(0.0), Some(416.444), Some(0.0))),
        ],
    );
}

/// Two GETs pipelined in one segment: the second waits behind the first's
/// response, and that queueing is part of its wait.
#[test]
fn pipelined_requests_in_one_segment() {
    // f1 SYN .092146, f3 ACK .147048; both GETs in f4 .147088; response #0 in
    // f6 .204445, response #1 in f8 .206087.
    check(
        "sv__tests-firewall-ruletype-firewall-88-default-accept-tx-pipeline-input.pcap",
        &[
            (false, (Some(54.902), Some(0.0), Some(57.357), Some(0.0))),
            (true, (None, Some(0.0), Some(58.999), Some(0.0))),
        ],
    );
}

/// A response whose Content-Length is completed by a capture gap ends at
/// its last byte seen, not when the gap was declared (the end of the flow),
/// and says so. 650HttpResponses stream 59: each 302 is 1496 bytes on the
/// wire, of which the capture holds the first 1360 in one segment; the
/// remaining 136 (and the next response's start) are a hole. Frame 113
/// (1413746308.537528) carries response 1 whole but for that tail; the
/// holes are only declared at the end of the flow, 15.4 s later (frame 133,
/// 1413746323.903584).
#[test]
fn a_response_completed_by_a_gap_ends_at_its_last_byte_seen() {
    use connlint::report::transactions::TransactionRecord;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "tests/corpus/files/pcapplusplus__Tests-Pcap++Test-PcapExamples-650HttpResponses.pcap",
    );
    let mut conns: Vec<Analyzed> = Vec::new();
    run(
        path.to_str().unwrap(),
        &Limits::default(),
        Keep::TRANSACTIONS,
        |a| conns.push(a),
    );
    let c59 = conns.iter().find(|a| a.connection.id == 59).unwrap();
    let tx = &c59.http.transactions[1];
    assert_eq!(tx.status, Some(302));
    let resp = tx.response.as_ref().unwrap();
    assert!(resp.framing_satisfied && resp.end_in_gap);
    assert_eq!(resp.gap_bytes, 136);
    let rec = TransactionRecord::new("650", &c59.connection, tx);
    close(rec.receive_ms, Some(0.0), "receive");
    close(
        rec.response_end_ts.map(|t| (t - 1413746308.537528) * 1e3),
        Some(0.0),
        "response end (ms after frame 113)",
    );
    assert!(rec.response_end_in_gap && !rec.request_end_in_gap);
    // The response before it ends in frame 111, in data: not marked.
    let first = c59.http.transactions[0].response.as_ref().unwrap();
    assert!(!first.end_in_gap && first.gap_bytes == 0);
    // The last one is cut by the end of the capture, not by a gap.
    let last = c59
        .http
        .transactions
        .last()
        .unwrap()
        .response
        .as_ref()
        .unwrap();
    assert!(!last.end_in_gap && !last.framing_satisfied);
}
