//! Captures as the real world makes them (issue 12, items 4-7): a capture
//! that begins in the middle of a long download, connections idle for
//! hours, records out of time order, and transactions whose messages a
//! capture hole cut.
//!
//! Every test runs a real capture — recorded from Linux stacks by
//! `samples/recorder/record.sh` (the samples, and
//! tests/data/realworld/long-download-keepalive.pcap), or one of those made
//! into the problem case with editcap, mergecap and tshark as
//! tests/data/realworld/README.md tells, or here by dropping, shifting or
//! reordering whole records — and checks what connlint makes of it against
//! the packets (and, where the README keeps one, against tshark's reading).

use connlint::analyze::{run_check_opened, run_opened, CaptureSummary, Limits};
use connlint::capture::{CaptureReader, ReaderLimits};
use connlint::flow::Connection;
use connlint::http::{HttpConnectionReport, Keep, Transaction};
use connlint::rules::{Config, Finding};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// Classic pcap records, read and written (little-endian, microseconds).

fn path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn bytes_of(rel: &str) -> Vec<u8> {
    let p = path(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A classic little-endian pcap: its file header and its records, each
/// record whole (16-byte header and frame).
#[derive(Clone)]
struct Pcap {
    header: Vec<u8>,
    records: Vec<Vec<u8>>,
}

impl Pcap {
    fn read(rel: &str) -> Pcap {
        let bytes = bytes_of(rel);
        assert_eq!(
            &bytes[..4],
            &[0xd4, 0xc3, 0xb2, 0xa1],
            "{rel}: a little-endian microsecond pcap"
        );
        let mut records = Vec::new();
        let mut at = 24;
        while at + 16 <= bytes.len() {
            let incl = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
            records.push(bytes[at..at + 16 + incl].to_vec());
            at += 16 + incl;
        }
        Pcap {
            header: bytes[..24].to_vec(),
            records,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.header.clone();
        for r in &self.records {
            out.extend_from_slice(r);
        }
        out
    }

    /// Without frame `number` (1-based, as tshark counts).
    fn without_frame(mut self, number: usize) -> Pcap {
        self.records.remove(number - 1);
        self
    }
}

// ---------------------------------------------------------------------------
// Running a capture through the pipeline.

struct Analysed {
    connection: Connection,
    http: HttpConnectionReport,
}

struct Outcome {
    connections: Vec<Analysed>,
    findings: Vec<Finding>,
    summary: CaptureSummary,
}

impl Outcome {
    fn transactions(&self) -> Vec<(u64, &Transaction)> {
        self.connections
            .iter()
            .flat_map(|a| a.http.transactions.iter().map(|t| (a.connection.id, t)))
            .collect()
    }
}

fn run_bytes(bytes: &[u8], limits: &Limits) -> Outcome {
    let open = || CaptureReader::from_bytes(bytes.to_vec(), ReaderLimits::default());
    let mut connections = Vec::new();
    let summary = run_opened("mem", open(), limits, Keep::TRANSACTIONS, |a| {
        connections.push(Analysed {
            connection: a.connection,
            http: a.http,
        })
    });
    connections.sort_by_key(|a| (a.connection.id, a.connection.start_ts));
    let findings = run_check_opened("mem", open(), limits, &Config::default_all()).findings;
    Outcome {
        connections,
        findings,
        summary,
    }
}

fn run(pcap: &Pcap) -> Outcome {
    run_bytes(&pcap.bytes(), &Limits::default())
}

/// (method, uri, status, response body bytes) of a transaction.
type Exchange = (Option<String>, Option<String>, Option<u16>, u64);

/// Each transaction's exchange.
fn exchanges(o: &Outcome) -> Vec<Exchange> {
    o.transactions()
        .iter()
        .map(|(_, t)| {
            (
                t.method.as_deref().map(str::to_string),
                t.uri.clone(),
                t.status,
                t.response_body_bytes(),
            )
        })
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

const LONG_DOWNLOAD: &str = "tests/data/realworld/long-download-keepalive.pcap";
const KEEPALIVE: &str = "samples/clean-keepalive-reuse-nodelay.pcap";

// ---------------------------------------------------------------------------
// Item 4: a capture that begins in the middle of a long download.

#[test]
fn the_recorded_download_is_four_transactions() {
    let o = run(&Pcap::read(LONG_DOWNLOAD));
    assert_eq!(
        exchanges(&o),
        vec![
            (s("GET"), s("/"), Some(200), 36),
            (s("GET"), s("/video.bin"), Some(200), 600_000),
            (s("GET"), s("/next.json"), Some(200), 22),
            (s("GET"), s("/last.txt"), Some(200), 5),
        ]
    );
    assert!(o
        .transactions()
        .iter()
        .all(|(_, t)| t.complete && !t.pipelined));
}

#[test]
fn a_capture_of_the_server_side_begun_inside_a_download_finds_the_responses_after_it() {
    // Frames 300-806 of the recording, the server's segments only (a tap that
    // sees one direction): 250 segments of the 600000-byte body, then the
    // two small responses. tshark reads them as two 200s of 22 and 5 bytes.
    let o = run(&Pcap::read(
        "tests/data/realworld/long-download-server-side.pcap",
    ));
    assert_eq!(o.connections.len(), 1);
    let tshark = std::fs::read_to_string(path(
        "tests/data/realworld/long-download-server-side.tshark.tsv",
    ))
    .unwrap();
    let expected: Vec<Exchange> = tshark
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            (None, None, f[2].parse().ok(), f[3].parse().unwrap())
        })
        .collect();
    assert_eq!(expected.len(), 2);
    assert_eq!(exchanges(&o), expected);
    let server = o.connections[0]
        .http
        .direction(connlint::reassembly::Side::Server);
    assert_eq!(
        server.probes_over_budget, 0,
        "the download is probed to its end"
    );
    assert!(
        server.unparsed_bytes > 250 * 1000,
        "the body before them is skipped"
    );
    for (_, t) in o.transactions() {
        assert!(t.orphan_response, "no request was captured");
    }
}

#[test]
fn both_directions_begun_inside_the_download_pair_the_next_requests() {
    // The same cut with the client's side: the requests show the server is
    // HTTP, as before; the responses pair with them.
    let mut p = Pcap::read(LONG_DOWNLOAD);
    p.records.drain(..299);
    let o = run(&p);
    assert_eq!(
        exchanges(&o),
        vec![
            (s("GET"), s("/next.json"), Some(200), 22),
            (s("GET"), s("/last.txt"), Some(200), 5),
        ]
    );
}

// ---------------------------------------------------------------------------
// Item 7: transaction flags after a hole.

#[test]
fn a_request_sent_after_the_response_lost_in_a_hole_is_not_pipelined() {
    // Frame 6 of the sample is response 0 (105 bytes); without it the
    // server's stream loses its framing and request 0 still waits for an
    // answer when request 1 starts. The client's ACK on request 1 (frame 8,
    // ack 106) covers all the server had sent: response 0 had arrived, and
    // request 1 waited for it.
    let whole = run(&Pcap::read(KEEPALIVE));
    assert!(whole.transactions().iter().all(|(_, t)| !t.pipelined));
    let o = run(&Pcap::read(KEEPALIVE).without_frame(6));
    let txs = o.transactions();
    assert_eq!(txs.len(), 4);
    assert_eq!(txs[0].1.status, None, "response 0 was in the hole");
    assert_eq!(txs[1].1.uri.as_deref(), Some("/style.css"));
    assert!(txs[1].1.paired_after_gap);
    assert!(
        txs.iter().all(|(_, t)| !t.pipelined),
        "{:?}",
        txs.iter().map(|(_, t)| t.pipelined).collect::<Vec<_>>()
    );
}

#[test]
fn a_request_sent_before_any_answer_is_still_pipelined_after_a_hole() {
    // The P001 sample: GET /site.js (frame 5) leaves 5 ms after GET
    // /site.css, 200 ms before any response. Without frame 8 (response 0)
    // the server's framing is lost, but nothing had come back when the
    // second GET left (its ACK is the server's first byte): still pipelined.
    let p = Pcap::read("samples/P001-pipelined-before-persistence-known.pcap");
    assert!(run(&p).transactions()[1].1.pipelined);
    let o = run(&p.without_frame(8));
    let txs = o.transactions();
    assert_eq!(txs.len(), 2);
    assert_eq!(txs[0].1.status, None, "response 0 was in the hole");
    assert!(txs[1].1.pipelined);
}

#[test]
fn a_response_whose_body_ran_into_a_hole_is_not_complete() {
    // Frame 400 carries 1448 bytes in the middle of /video.bin's body, frame
    // 798 its last 611: whichever is missing, the Content-Length is
    // satisfied through the hole, but the body was not seen whole.
    for (frame, gap) in [(400, 1448), (798, 611)] {
        let o = run(&Pcap::read(LONG_DOWNLOAD).without_frame(frame));
        let txs = o.transactions();
        assert_eq!(txs.len(), 4, "frame {frame}");
        let video = txs[1].1;
        assert_eq!(video.uri.as_deref(), Some("/video.bin"));
        let resp = video.response.as_ref().unwrap();
        assert_eq!(resp.gap_bytes, gap, "frame {frame}");
        assert!(
            resp.framing_satisfied,
            "the length was reached (no truncation)"
        );
        assert!(
            !video.complete,
            "frame {frame}: a body with a hole is not complete"
        );
        // The others are untouched, and the requests after it were not pipelined.
        for (_, t) in [txs[0], txs[2], txs[3]] {
            assert!(t.complete && !t.pipelined);
        }
    }
}

// ---------------------------------------------------------------------------
// Item 6: capture files out of time order.

/// What a capture gives, as the JSON of `connections` and `transactions`
/// (the capture's name and the frame numbers aside, which differ between a
/// file and its reordered copy).
fn records(o: &Outcome) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    use connlint::report::connections::ConnectionRecord;
    use connlint::report::transactions::TransactionRecord;
    let conns = o
        .connections
        .iter()
        .map(|a| {
            let n = Some(a.http.transactions.len() as u64);
            serde_json::to_value(ConnectionRecord::new("mem", &a.connection, n)).unwrap()
        })
        .collect();
    let txs = o
        .connections
        .iter()
        .flat_map(|a| {
            a.http.transactions.iter().map(|t| {
                let mut v =
                    serde_json::to_value(TransactionRecord::new("mem", &a.connection, t)).unwrap();
                // Frame numbers are the file's: a reordered copy numbers them otherwise.
                v.as_object_mut()
                    .unwrap()
                    .retain(|k, _| !k.ends_with("_frame"));
                v
            })
        })
        .collect();
    (conns, txs)
}

#[test]
fn per_direction_files_joined_server_first_are_put_back_in_time_order() {
    // The sample split by direction (two capture queues whose hash put the
    // two directions apart) and joined with `mergecap -a`, the server's
    // first: every response comes before its request. Read in file order
    // it was four orphan responses and four unanswered requests.
    let joined = run(&Pcap::read(
        "tests/data/realworld/clean-keepalive-queues-server-first.pcap",
    ));
    let original = run(&Pcap::read(KEEPALIVE));
    assert_eq!(records(&joined), records(&original));
    assert_eq!(joined.transactions().len(), 4);
    assert!(joined.transactions().iter().all(|(_, t)| t.complete));
    let r = joined.summary.reorder;
    assert_eq!(r.frames_reordered, 8, "the client's frames but its last");
    assert_eq!((r.frames_out_of_order, r.clock_anomalies), (0, 0));
    assert_eq!(joined.summary.first_ts, original.summary.first_ts);
    assert_eq!(joined.findings.len(), 0);
}

#[test]
fn a_sample_written_backwards_is_read_forwards() {
    let mut p = Pcap::read(KEEPALIVE);
    let original = run(&p);
    p.records.reverse();
    let reversed = run(&p);
    assert_eq!(records(&reversed), records(&original));
    assert_eq!(reversed.summary.reorder.frames_out_of_order, 0);
}

#[test]
fn frames_beyond_the_reorder_window_are_analysed_where_read_counted_and_noted() {
    // Holding at most four frames, the client's first frames are read when
    // the server's that follow them were passed on: they cannot go back.
    let file = "tests/data/realworld/clean-keepalive-queues-server-first.pcap";
    let mut limits = Limits::default();
    limits.set("max_reorder_frames=4").unwrap();
    let o = run_bytes(&bytes_of(file), &limits);
    assert!(o.summary.reorder.frames_out_of_order > 0);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_connlint"))
        .args([
            "connections",
            "--format",
            "json",
            "--limit",
            "max_reorder_frames=4",
        ])
        .arg(path(file))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let n = o.summary.reorder.frames_out_of_order;
    assert!(
        stderr.contains(&format!(
            "{n} frames out of time order by more than the reorder window holds"
        )),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["captures"][0]["frames_out_of_order"], n);
    // In order by default: no note, no counter.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_connlint"))
        .args(["connections", "--format", "json"])
        .arg(path(file))
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["captures"][0]["frames_reordered"], 8);
    assert!(json["captures"][0].get("frames_out_of_order").is_none());
}

#[test]
fn one_record_three_years_off_is_a_clock_anomaly_not_a_second_connection() {
    // Frame 8 of the sample (request 1) with its timestamp moved three years
    // on (editcap -t): tshark still reads one stream. Read as it was, the
    // jump idled the connection out and its rest became a new one.
    let tshark = std::fs::read_to_string(path(
        "tests/data/realworld/clean-keepalive-clock-jump.tshark.tsv",
    ))
    .unwrap();
    assert!(tshark.lines().skip(1).all(|l| l.ends_with("\t0")));
    let o = run(&Pcap::read(
        "tests/data/realworld/clean-keepalive-clock-jump.pcap",
    ));
    assert_eq!(o.connections.len(), 1);
    assert_eq!(o.connections[0].connection.id, 0);
    assert_eq!(o.summary.reorder.clock_anomalies, 1);
    assert_eq!(exchanges(&o), exchanges(&run(&Pcap::read(KEEPALIVE))));
    // Request 1 is timed from the frame before it (frame 7), not from 2029.
    let start = o.transactions()[1].1.timing.request_start_ts.unwrap();
    let frame7: f64 = tshark
        .lines()
        .nth(7)
        .unwrap()
        .split('\t')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!((start.as_secs_f64() - frame7).abs() < 1e-6);
}

// ---------------------------------------------------------------------------
// Item 5: long-lived connections are not split.

const IDLE_2H: &str = "tests/data/realworld/clean-keepalive-idle-2h.pcap";
const IDLE_2H_WITH_HEAD: &str = "tests/data/realworld/clean-keepalive-idle-2h-with-head.pcap";

/// tshark's `tcp.stream` of each frame, from a reading kept beside a
/// capture (frame, time, stream, ...).
fn tshark_streams(rel: &str) -> Vec<u64> {
    std::fs::read_to_string(path(rel))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(2).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn a_keep_alive_connection_idle_for_two_hours_is_one_connection() {
    // The sample with frames 8-17 two hours later (editcap -t 7200): the
    // client reuses its connection after two idle hours, as browsers, pools
    // and database clients do. tshark reads one stream; connlint used to
    // finish it after 600 s and make frames 8-17 a second connection of
    // generation 0.
    assert_eq!(
        tshark_streams("tests/data/realworld/clean-keepalive-idle-2h.tshark.tsv"),
        vec![0; 17]
    );
    let o = run(&Pcap::read(IDLE_2H));
    assert_eq!(o.connections.len(), 1);
    let c = &o.connections[0].connection;
    assert_eq!((c.id, c.generation, c.packets), (0, 0, 17));
    assert!(c.resumes.is_none());
    assert_eq!(exchanges(&o), exchanges(&run(&Pcap::read(KEEPALIVE))));
    assert_eq!(o.summary.flow.idle_timeouts, 0);
    assert_eq!(
        o.summary.reorder.clock_anomalies, 0,
        "a pause that the frames after it agree with is no anomaly"
    );
    assert!(o.findings.is_empty(), "{:?}", o.findings);
}

#[test]
fn past_the_established_timeout_the_continuation_is_a_resumed_connection() {
    // Frame 7 to frame 8 is 7200.000258 s: a timeout of 7201 s keeps one
    // connection, one of 7200 s lets it go, and frame 8 (the client's next
    // request, continuing its sequence numbers) resumes it.
    let bytes = bytes_of(IDLE_2H);
    let mut limits = Limits::default();
    limits.set("established_timeout_s=7201").unwrap();
    assert_eq!(run_bytes(&bytes, &limits).connections.len(), 1);
    limits.set("established_timeout_s=7200").unwrap();
    let o = run_bytes(&bytes, &limits);
    assert_eq!(o.connections.len(), 2);
    let (first, second) = (&o.connections[0].connection, &o.connections[1].connection);
    assert_eq!(first.end_reason, connlint::flow::EndReason::IdleTimeout);
    assert_eq!((first.packets, first.last_frame), (7, 7));
    assert_eq!(
        (
            second.id,
            second.generation,
            second.first_frame,
            second.packets
        ),
        (1, 0, 8, 10)
    );
    let resumed = second.resumes.expect("resumed");
    assert_eq!((resumed.id, resumed.closed), (0, false));
    // Roles as they were (the resumed part has no SYN to tell).
    assert_eq!(
        (second.client, second.roles),
        (first.client, connlint::flow::RoleEvidence::Syn)
    );
    assert!(second.previous.is_none(), "not a reuse of the tuple");
    assert_eq!(
        (o.summary.flow.idle_timeouts, o.summary.flow.resumed),
        (1, 1)
    );
    // Every transaction is still there, three of them on the resumed part.
    assert_eq!(exchanges(&o), exchanges(&run(&Pcap::read(KEEPALIVE))));
    assert_eq!(o.connections[1].http.transactions.len(), 3);
}

#[test]
fn a_connection_evicted_from_a_full_table_is_resumed_by_its_next_packet() {
    // The two-hour capture merged (mergecap, by time) with the clean-head
    // sample moved an hour into the idle time: tshark's streams 0, 1, 0.
    let streams =
        tshark_streams("tests/data/realworld/clean-keepalive-idle-2h-with-head.tshark.tsv");
    let expected: Vec<u64> = [vec![0; 7], vec![1; 13], vec![0; 10]].concat();
    assert_eq!(streams, expected);
    // With room for both: tshark's two connections.
    let o = run(&Pcap::read(IDLE_2H_WITH_HEAD));
    let ids: Vec<(u64, u64)> = o
        .connections
        .iter()
        .map(|a| (a.connection.id, a.connection.packets))
        .collect();
    assert_eq!(ids, [(0, 17), (1, 13)]);
    // A table of one: the second connection's SYN evicts the idle first one,
    // whose next packet resumes it.
    let mut limits = Limits::default();
    limits.set("max_connections=1").unwrap();
    let o = run_bytes(&bytes_of(IDLE_2H_WITH_HEAD), &limits);
    let got: Vec<_> = o
        .connections
        .iter()
        .map(|a| {
            let c = &a.connection;
            (
                c.id,
                c.client.port(),
                c.packets,
                c.end_reason,
                c.resumes.map(|p| p.id),
            )
        })
        .collect();
    use connlint::flow::EndReason::*;
    assert_eq!(
        got,
        [
            (0, 46011, 7, Evicted, None),
            (1, 46041, 13, Closed, None),
            (2, 46011, 10, EndOfCapture, Some(0)),
        ]
    );
    assert_eq!((o.summary.flow.evicted, o.summary.flow.resumed), (1, 1));
    // The keep-alive connection's transactions, on its two parts.
    let keepalive: Vec<Exchange> = exchanges(&o)
        .into_iter()
        .zip(o.transactions())
        .filter(|(_, (id, _))| *id != 1)
        .map(|(e, _)| e)
        .collect();
    assert_eq!(keepalive, exchanges(&run(&Pcap::read(KEEPALIVE))));
    // The JSON says so, and the table's summary line.
    let cli = |format: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_connlint"))
            .args([
                "connections",
                "--format",
                format,
                "--limit",
                "max_connections=1",
            ])
            .arg(path(IDLE_2H_WITH_HEAD))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&cli("json")).unwrap();
    let c2 = &json["connections"][2];
    assert_eq!(
        (c2["resumed"].as_bool(), c2["resumes"].as_u64()),
        (Some(true), Some(0))
    );
    assert!(json["connections"][0].get("resumed").is_none());
    assert_eq!(json["captures"][0]["connections_resumed"], 1);
    assert!(
        cli("table")
            .contains("3 connections (1 resuming a connection let go while idle or evicted)"),
        "{}",
        cli("table")
    );
}

#[test]
fn on_a_corpus_capture_with_a_hole_the_flags_follow_the_acks() {
    // Suricata's pipeline-files-with-gap: response 1 (the .js) has its head
    // in frame 109 (server bytes 25670-25947) and its body in a hole (the
    // server's next segment, frame 111, is at 26681). The client ACKs 26681
    // (frame 112) and only then sends request 2 (frame 113, ack 26681): it
    // waited for the whole of response 1, so request 2 is not pipelined;
    // response 1's body ran into the hole, so it is not complete. Before
    // item 7 connlint said the opposite of both (tshark has no such flags).
    let o = run(&Pcap::read(
        "tests/corpus/files/sv__tests-http-pipeline-files-with-gap-input.pcap",
    ));
    let txs = o.transactions();
    assert_eq!(txs.len(), 3);
    let flags: Vec<(bool, bool)> = txs.iter().map(|(_, t)| (t.pipelined, t.complete)).collect();
    assert_eq!(flags, [(false, true), (false, false), (false, true)]);
}
