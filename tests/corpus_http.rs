//! connlint's HTTP transactions against tshark's HTTP reading of the corpus
//! (tests/corpus/tshark/*.http.tsv): per TCP stream, the requests (method and
//! URI, in order) and the final responses (status codes, in order) agree,
//! except where tshark is wrong; each such file is listed below with why, and
//! the test asserts connlint's answer for it.

use connlint::analyze::{run, Analyzed, Limits};
use connlint::http::Keep;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Requests and final responses of one stream.
#[derive(Debug, Default, PartialEq, Eq, Clone)]
struct Stream {
    requests: Vec<(String, String)>,
    statuses: Vec<u16>,
    /// Statuses of the responses whose framing was satisfied.
    complete_statuses: Vec<u16>,
}

fn tshark_streams(file: &str) -> BTreeMap<u64, Stream> {
    let text =
        std::fs::read_to_string(corpus().join("tshark").join(format!("{file}.http.tsv"))).unwrap();
    let mut out: BTreeMap<u64, Stream> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let Ok(stream) = f[1].parse::<u64>() else {
            continue;
        };
        let s = out.entry(stream).or_default();
        match f[3] {
            "request" => s.requests.push((f[4].to_string(), f[5].to_string())),
            "response" => {
                // tshark lists interim 1xx as responses; connlint counts them
                // on the transaction and pairs the final one (101 is final).
                if let Ok(code) = f[6].parse::<u16>() {
                    if !(100..200).contains(&code) || code == 101 {
                        s.statuses.push(code);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn our_streams(file: &str) -> BTreeMap<u64, Stream> {
    let mut conns: Vec<Analyzed> = Vec::new();
    let path = corpus().join("files").join(file);
    run(
        path.to_str().unwrap(),
        &Limits::default(),
        Keep::TRANSACTIONS,
        |a| conns.push(a),
    );
    let mut out = BTreeMap::new();
    for a in conns {
        let mut s = Stream::default();
        for tx in &a.http.transactions {
            if let (Some(m), Some(u)) = (&tx.method, &tx.uri) {
                s.requests.push((m.to_string(), u.clone()));
            }
            if let Some(code) = tx.status {
                s.statuses.push(code);
                if tx
                    .response
                    .as_ref()
                    .is_some_and(|r| r.framing_satisfied && r.gap_bytes == 0)
                {
                    s.complete_statuses.push(code);
                }
            }
        }
        if !s.requests.is_empty() || !s.statuses.is_empty() {
            out.insert(a.connection.id, s);
        }
    }
    out
}

/// Files where tshark lists only the responses it reassembled whole: its
/// statuses are exactly connlint's responses whose framing was satisfied with
/// no byte missing. connlint also reports the others — cut by a RST, a FIN, a
/// gap or the end of the capture — marked incomplete (rules R001/R002 need
/// them). Checked both ways, so the list cannot go stale.
const TSHARK_LISTS_WHOLE_RESPONSES_ONLY: &[&str] = &[
    "arkime__tests-pcap-no-syn-ack.pcap",
    "arkime__tests-pcap-twovlan.pcap",
    "chrissanders__http_espn.pcapng",
    "ndpi__tests-cfgs-default-pcap-1kxun.pcap",
    "sv__tests-http-close-headers-input.pcap",
    "sv__tests-http-gap-double-input.pcap",
    "sv__tests-http-gap-simple-input.pcap",
    "sv__tests-tcp-rst-unacked-stream-11-TLPW1-tcp-47.32.209.86-10.11.23.101-tcp-80-49470.pcap",
    "zeek__testing-btest-Traces-http-bro.org.pcap",
    "zeek__testing-btest-Traces-http-content-range-gap.pcap",
];

/// Files where tshark's HTTP reading is wrong in another way: connlint's
/// requests and final responses (asserted), and why connlint is right.
const TSHARK_WRONG: &[(&str, usize, usize, &str)] = &[
    ("arkime__tests-pcap-wireshark-retrans.pcap", 4, 4,
     "tshark dissects retransmitted response segments a second time and lists 6 responses for 4 requests; \
      connlint reassembles each byte once"),
    ("ndpi__tests-cfgs-default-pcap-fuzz-2006-09-29-28586.pcap", 4, 6,
     "fuzzed capture whose addresses are corrupted, so tshark's streams are numbered differently (see \
      corpus_tshark.rs); tshark drops responses on mangled tuples as well. Totals compared"),
    ("pcap2har__tests-missing_response.pcap", 2, 1,
     "the first GET is answered in full (6511-byte body, framing satisfied); tshark does not list that \
      response because its segments arrive out of order and tshark does not reassemble out-of-order \
      segments by default (tcp.reassemble_out_of_order is off); the second GET has no response"),
    ("pcap2har__tests-out-of-order.pcap", 287, 287,
     "out-of-order segments (not reassembled by tshark by default), and in stream 10 a second SYN-ACK \
      with a new ISN makes tshark renumber the server's stream and lose all 47 responses, which the \
      client goes on acknowledging in the first numbering"),
    ("pcap2har__tests-pcapr.net.pcap", 42, 42,
     "the first response of streams with fast retransmissions and out-of-order segments (stream 4, \
      frames 118-310) is lost to tshark, which does not reassemble out-of-order segments by default; \
      connlint reassembles it without a gap (26689-byte body)"),
    ("pcapplusplus__Tests-Pcap++Test-PcapExamples-example.pcap", 338, 338,
     "two responses whose segments arrive out of order; tshark does not reassemble out-of-order segments by default"),
    ("pcapplusplus__Tests-Pcap++Test-PcapExamples-4KHttpRequests.pcap", 307, 0,
     "request-only capture with small holes in the client streams; tshark stops at a hole that is never \
      filled (see corpus_tshark.rs), connlint declares the gap and resynchronises at the next request line. \
      In streams 9, 86, 87, 106 and 112 every head before the last runs into a hole, so none parses \
      whole; their request lines parse, so connlint keeps probing them past the first four segments: \
      86's last segment is a whole GET /favicon.ico head (tshark lists it too), the other four end \
      in a head the capture cuts, kept as a truncated request as everywhere else"),
    ("pcapplusplus__Tests-Pcap++Test-PcapExamples-650HttpResponses.pcap", 0, 676,
     "response-only capture with holes; 682 segments start with a status line, some of them \
      retransmissions; connlint resynchronises after each hole, tshark stops at it"),
    ("pcapplusplus__Tests-Pcap++Test-PcapExamples-unidirectional_tcp_stream_with_missing_packet.pcap", 2, 0,
     "a second POST follows the missing packet; tshark stops at the hole, connlint resynchronises"),
    ("sv__tests-http-connect-http-connect-simple-input.pcap", 1, 1,
     "after `CONNECT abc:443` is answered 200 the connection is a tunnel (RFC 9110 §9.3.6): its bytes \
      belong to the tunnelled protocol and are counted as opaque, not parsed as this hop's HTTP"),
    ("sv__tests-http-gap-beyond-body-input.pcap", 3, 2,
     "a gap covers the end of the first response and the start of the second: the second response is \
      lost in the gap (its request is marked so), the third is found by resynchronising; tshark lists none"),
    ("sv__tests-http-multiple-cl-input.pcap", 1, 1,
     "the first request has two different Content-Length values: RFC 9112 §6.3 makes that an \
      unrecoverable framing error, so connlint does not guess where the next request starts (a \
      request-smuggling vector) and marks the rest of the client stream unparsed; tshark takes the first value"),
    ("sv__tests-http-pipeline-files-with-gap-input.pcap", 3, 3,
     "pipelined requests whose responses follow a gap; tshark stops at the hole, connlint pairs the \
      three responses in request order"),
    ("sv__tests-http1-noint-status-input.pcap", 1, 0,
     "the status line says `HTTP/1.1 2XX`: a status code is three digits (RFC 9112 §4), so there is no \
      final status; tshark reads it as 2. connlint keeps the response as malformed with no status"),
    ("zeek__testing-btest-Traces-http-get-to-ssh-server.pcap", 1, 0,
     "an HTTP GET sent to port 22 is found by content; the SSH server answers with its banner, which \
      is not an HTTP response. tshark looks for HTTP by port only"),
    ("zeek__testing-btest-Traces-http-http_09.pcap", 1, 0,
     "an HTTP/0.9 request (`GET /zeek.html` with no version) answered by a bare body with no status \
      line; tshark does not dissect HTTP/0.9"),
    ("zeek__testing-btest-Traces-http-no-version.pcap", 1, 0,
     "a request line without a version is HTTP/0.9; tshark does not dissect it"),
    ("zeek__testing-btest-Traces-ipv6-http-atomic-frag.pcap", 4, 0,
     "four HTTP/0.9 requests (`GET /bad.html` with no version) over IPv6 atomic fragments, answered by \
      bare HTML bodies; tshark does not dissect HTTP/0.9"),
    ("zeek__testing-btest-Traces-http-methods.pcap", 26, 49,
     "stream 3 sends `OPTIONS` alone on its line: no request target, no version, so not a request \
      line (RFC 9112 §3); tshark lists it with an empty URI. connlint keeps the server's 400 as a \
      response without a request. All 49 responses agree"),
];

fn totals(streams: &BTreeMap<u64, Stream>) -> (usize, usize) {
    streams.values().fold((0, 0), |a, s| {
        (a.0 + s.requests.len(), a.1 + s.statuses.len())
    })
}

#[test]
fn transactions_match_tshark_except_where_tshark_is_wrong() {
    let summary = std::fs::read_to_string(corpus().join("tshark/summary.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut whole_only = std::collections::BTreeSet::new();
    let (mut files, mut requests, mut responses) = (0, 0, 0);
    for line in summary.lines().skip(1) {
        let file = line.split('\t').next().unwrap();
        let theirs = tshark_streams(file);
        let ours = our_streams(file);
        files += 1;
        let (r, s) = totals(&ours);
        requests += r;
        responses += s;
        if let Some((_, req, resp, _)) = TSHARK_WRONG.iter().find(|(f, ..)| *f == file) {
            if (r, s) != (*req, *resp) {
                failures.push(format!(
                    "{file}: {r} requests and {s} responses, expected {req} and {resp}"
                ));
            }
            continue;
        }
        let agree = |complete_only: bool| {
            theirs.len() == ours.len()
                && theirs.iter().zip(&ours).all(|((a, t), (b, o))| {
                    a == b
                        && t.requests == o.requests
                        && t.statuses
                            == if complete_only {
                                &o.complete_statuses
                            } else {
                                &o.statuses
                            }[..]
                })
        };
        if agree(false) {
            continue;
        }
        if agree(true) {
            whole_only.insert(file.to_string());
            continue;
        }
        let (tr, ts) = totals(&theirs);
        failures.push(format!(
            "{file}: {r} requests and {s} responses, tshark {tr} and {ts}"
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let listed: std::collections::BTreeSet<String> = TSHARK_LISTS_WHOLE_RESPONSES_ONLY
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        whole_only, listed,
        "files where tshark lists only whole responses"
    );
    eprintln!("{files} captures: {requests} requests and {responses} final responses checked against tshark");
    assert!(
        requests > 2500 && responses > 2500,
        "{requests} {responses}"
    );
}

/// A client stream whose every head before the last runs into a capture
/// hole is still probed at each segment start, because its request lines
/// parse: stream 86 of 4KHttpRequests holds a whole `GET /favicon.ico` head
/// in its seventh segment (frame 324), past the first four.
#[test]
fn probing_goes_on_in_a_stream_whose_request_lines_parse() {
    let file = "pcapplusplus__Tests-Pcap++Test-PcapExamples-4KHttpRequests.pcap";
    let mut conns: Vec<Analyzed> = Vec::new();
    let path = corpus().join("files").join(file);
    run(
        path.to_str().unwrap(),
        &Limits::default(),
        Keep::TRANSACTIONS,
        |a| conns.push(a),
    );
    let c86 = conns.iter().find(|a| a.connection.id == 86).unwrap();
    let txs = &c86.http.transactions;
    assert_eq!(txs.len(), 1, "{txs:?}");
    assert_eq!(txs[0].uri.as_deref(), Some("/favicon.ico"));
    let req = txs[0].request.as_ref().unwrap();
    assert!(
        !req.head_truncated && !req.malformed,
        "a whole head: {req:?}"
    );
    assert!(req.framing_satisfied);
    // The six heads before it were each cut by a hole.
    assert_eq!(c86.http.directions[0].heads_lost_in_gap, 6);
}

/// Requests with their frames, per stream: tshark's (the frame that
/// completes the request's head) and connlint's (its first byte's frame),
/// for issue 11's "findings lead to Wireshark".
fn request_frames(
    file: &str,
) -> (
    BTreeMap<u64, Vec<(String, u64)>>,
    BTreeMap<u64, Vec<(String, u64)>>,
) {
    let text =
        std::fs::read_to_string(corpus().join("tshark").join(format!("{file}.http.tsv"))).unwrap();
    let mut theirs: BTreeMap<u64, Vec<(String, u64)>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if let (Ok(frame), Ok(stream), "request") = (f[0].parse::<u64>(), f[1].parse::<u64>(), f[3])
        {
            theirs
                .entry(stream)
                .or_default()
                .push((f[5].to_string(), frame));
        }
    }
    let mut ours: BTreeMap<u64, Vec<(String, u64)>> = BTreeMap::new();
    let path = corpus().join("files").join(file);
    run(
        path.to_str().unwrap(),
        &Limits::default(),
        Keep::TRANSACTIONS,
        |a| {
            for tx in &a.http.transactions {
                if let (Some(u), Some(req)) = (&tx.uri, &tx.request) {
                    ours.entry(a.connection.id)
                        .or_default()
                        .push((u.clone(), req.first_frame));
                }
            }
        },
    );
    (theirs, ours)
}

/// Each request's frame number is Wireshark's: where tshark reads the same
/// request on the same `tcp.stream`, connlint's frame of its first byte is
/// tshark's frame (a head in one segment) or before it (a head tshark
/// reassembled from several segments, listed in the last); never after.
#[test]
fn request_frames_are_wiresharks_frame_numbers() {
    let summary = std::fs::read_to_string(corpus().join("tshark/summary.tsv")).unwrap();
    let (mut same, mut before, mut after) = (0usize, 0usize, Vec::new());
    for line in summary.lines().skip(1) {
        let file = line.split('\t').next().unwrap();
        if TSHARK_WRONG.iter().any(|(f, ..)| *f == file) {
            continue;
        }
        let (theirs, ours) = request_frames(file);
        for (stream, t) in &theirs {
            let Some(o) = ours.get(stream) else { continue };
            for ((tu, tf), (ou, of)) in t.iter().zip(o) {
                if tu != ou {
                    break;
                }
                match of.cmp(tf) {
                    std::cmp::Ordering::Equal => same += 1,
                    std::cmp::Ordering::Less if *of > 0 => before += 1,
                    _ => after.push(format!(
                        "{file} stream {stream} {tu}: frame {of}, tshark {tf}"
                    )),
                }
            }
        }
    }
    assert!(after.is_empty(), "{}", after.join("\n"));
    eprintln!(
        "{same} request frames equal tshark's, {before} earlier (heads over several segments)"
    );
    assert!(same > 1500 && same > 10 * before, "{same} {before}");
}
