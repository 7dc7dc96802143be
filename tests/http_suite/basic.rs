//! Everyday HTTP/1.x exchanges and their timing.

use crate::common::*;
use connlint::flow::Handshake;
use connlint::http::{Framing, HttpVersion, MessageEnd};
use connlint::report::transactions::TransactionRecord;

#[test]
fn keep_alive_connection_with_three_transactions() {
    let mut w = Wire::new();
    for (n, path) in ["/a", "/b", "/c"].iter().enumerate() {
        let t = n as i64 * 10_000;
        w.c(&get(path), t).s(&ok("hello"), t + 5_000);
    }
    w.fin(Client, 40_000).fin(Server, 40_100);
    let report = w.finish();
    assert!(report.is_http);
    assert_eq!(
        summary(&report.transactions),
        vec![
            (Some("GET"), Some("/a"), Some(200)),
            (Some("GET"), Some("/b"), Some(200)),
            (Some("GET"), Some("/c"), Some(200)),
        ]
    );
    for (n, tx) in report.transactions.iter().enumerate() {
        assert_eq!(tx.index, n as u64);
        assert!(tx.complete && !tx.pipelined && !tx.orphan_response);
        assert_eq!(tx.version, Some(HttpVersion::Http11));
        assert_eq!(tx.response_body_bytes(), 5);
        let resp = tx.response.as_ref().unwrap();
        assert_eq!(resp.framing, Framing::Length { bytes: 5 });
        assert_eq!(resp.end, MessageEnd::Complete);
        assert_eq!(tx.no_response, None);
    }
    let second = report.transactions[1].request.as_ref().unwrap();
    assert_eq!(second.start_offset, get("/a").len() as u64);
    assert_eq!(report.direction(Server).unparsed_bytes, 0);
}

#[test]
fn three_pipelined_gets_in_one_segment_pair_in_order() {
    let mut w = Wire::new();
    let mut burst = get("/1");
    burst.extend(get("/2"));
    burst.extend(get("/3"));
    w.c(&burst, 0);
    let mut rest = ok("bb");
    rest.extend(ok("ccc"));
    w.s(&ok("a"), 1_000).s(&rest, 2_000);
    let report = w.finish();
    let txs = &report.transactions;
    assert_eq!(txs.len(), 3);
    let bodies: Vec<u64> = txs.iter().map(|t| t.response_body_bytes()).collect();
    assert_eq!(
        bodies,
        vec![1, 2, 3],
        "each response went to its own request"
    );
    let pipelined: Vec<bool> = txs.iter().map(|t| t.pipelined).collect();
    assert_eq!(pipelined, vec![false, true, true]);
    assert!(txs.iter().all(|t| t.complete));
}

#[test]
fn a_request_sent_while_the_response_is_still_arriving_is_pipelined() {
    let mut w = Wire::new();
    w.c(&get("/big"), 0)
        .s(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345", 1_000)
        .c(&get("/next"), 1_500)
        .s(b"67890", 2_000)
        .s(&ok("x"), 3_000);
    let report = w.finish();
    assert!(!report.transactions[0].pipelined);
    assert!(report.transactions[1].pipelined);
}

#[test]
fn expect_100_continue_the_100_is_interim() {
    let mut w = Wire::new();
    w.c(
        b"POST /upload HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
        0,
    )
    .s(b"HTTP/1.1 100 Continue\r\n\r\n", 1_000)
    .c(b"0123456789", 2_000)
    .s(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 3_000);
    let report = w.finish();
    assert_eq!(report.transactions.len(), 1);
    let tx = &report.transactions[0];
    assert_eq!(tx.status, Some(201));
    assert_eq!((tx.interim_responses, tx.continue_responses), (1, 1));
    assert_eq!(tx.first_interim_ts, Some(at(1_000)));
    let req = tx.request.as_ref().unwrap();
    assert!(req.headers.expect_continue);
    assert_eq!(req.body_bytes, 10);
    assert_eq!(req.last_byte_ts, at(2_000));
    assert_eq!(
        tx.timing.response_start_ts,
        Some(at(3_000)),
        "not the 100's"
    );
    assert_eq!(tx.timing.wait_ns, Some(1_000_000));
    assert!(tx.complete);
}

#[test]
fn several_interim_responses_before_the_final_one() {
    let mut w = Wire::new();
    w.c(&get("/"), 0)
        .s(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n",
            1_000,
        )
        .s(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", 2_000)
        .s(&ok("done"), 3_000);
    let report = w.finish();
    let tx = &report.transactions[0];
    assert_eq!((tx.interim_responses, tx.continue_responses), (3, 2));
    assert_eq!(tx.status, Some(200));
    assert_eq!(tx.response_body_bytes(), 4);
}

#[test]
fn head_response_has_no_body_whatever_its_content_length() {
    let mut w = Wire::new();
    w.c(b"HEAD /file HTTP/1.1\r\nHost: h\r\n\r\n", 0)
        .s(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 1_000)
        .c(&get("/after"), 2_000)
        .s(&ok("12"), 3_000);
    let report = w.finish();
    assert_eq!(
        summary(&report.transactions),
        vec![
            (Some("HEAD"), Some("/file"), Some(200)),
            (Some("GET"), Some("/after"), Some(200))
        ]
    );
    let head = report.transactions[0].response.as_ref().unwrap();
    assert_eq!(head.framing, Framing::None);
    assert_eq!(
        head.headers.content_length.as_ref().unwrap().values,
        vec![1000]
    );
    assert_eq!(report.transactions[1].response_body_bytes(), 2);
    assert!(report.transactions.iter().all(|t| t.complete));
}

#[test]
fn no_content_and_not_modified_have_no_body() {
    let mut w = Wire::new();
    w.c(&get("/204"), 0)
        .s(
            b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
            1_000,
        )
        .c(&get("/304"), 2_000)
        .s(
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: \"x\"\r\n\r\n",
            3_000,
        )
        .c(&get("/200"), 4_000)
        .s(&ok("ok"), 5_000);
    let report = w.finish();
    let statuses: Vec<_> = report.transactions.iter().map(|t| t.status).collect();
    assert_eq!(statuses, vec![Some(204), Some(304), Some(200)]);
    let bodies: Vec<_> = report
        .transactions
        .iter()
        .map(|t| t.response_body_bytes())
        .collect();
    assert_eq!(bodies, vec![0, 0, 2]);
    assert!(report.transactions.iter().all(|t| t.complete));
}

#[test]
fn chunked_body_with_extensions_and_trailers() {
    let mut w = Wire::new();
    w.c(&get("/chunked"), 0)
        .s(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Expires\r\n\r\n\
              4;lang=en;q=\"x\"\r\nWiki\r\n5\r\npedia\r\n0;final\r\nExpires: never\r\nX-A: b\r\n\r\n",
            1_000,
        )
        .c(&get("/next"), 2_000)
        .s(&ok("n"), 3_000);
    let report = w.finish();
    assert_eq!(report.transactions.len(), 2);
    let resp = report.transactions[0].response.as_ref().unwrap();
    assert_eq!(resp.framing, Framing::Chunked);
    assert_eq!(resp.body_bytes, 9);
    let chunks = resp.chunked.unwrap();
    assert_eq!(
        (chunks.chunks, chunks.extensions, chunks.trailer_fields),
        (2, 2, 2)
    );
    assert!(chunks.last_chunk && chunks.error.is_none());
    assert!(resp.headers.hop_by_hop.trailer);
    assert!(report.transactions.iter().all(|t| t.complete));
    assert_eq!(report.transactions[1].response_body_bytes(), 1);
}

#[test]
fn http10_close_delimited_body_ends_at_the_server_fin() {
    let mut w = Wire::new();
    w.c(b"GET / HTTP/1.0\r\n\r\n", 0)
        .s(
            b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst part ",
            1_000,
        )
        .s(b"second part", 2_000)
        .fin(Server, 3_000);
    let report = w.finish();
    let tx = &report.transactions[0];
    assert_eq!(tx.version, Some(HttpVersion::Http10));
    let resp = tx.response.as_ref().unwrap();
    assert_eq!(resp.framing, Framing::CloseDelimited);
    assert_eq!(resp.body_bytes, 22);
    assert_eq!(resp.end, MessageEnd::Complete);
    assert!(tx.complete);
    assert_eq!(
        tx.timing.response_end_ts,
        Some(at(2_000)),
        "last data, not the FIN"
    );
}

#[test]
fn connect_tunnel_is_opaque_and_counted() {
    let mut w = Wire::new();
    w.c(
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        0,
    )
    .s(b"HTTP/1.1 200 Connection established\r\n\r\n", 1_000)
    .c(&[0x16, 0x03, 0x01, 0x00, 0x60][..], 2_000)
    .c(&[0xAB; 95], 2_100)
    .s(&[0x16; 200], 3_000);
    let report = w.finish();
    assert_eq!(report.transactions.len(), 1);
    let tx = &report.transactions[0];
    assert_eq!(
        (tx.method.as_deref(), tx.status, tx.tunnel),
        (Some("CONNECT"), Some(200), true)
    );
    assert_eq!(tx.response.as_ref().unwrap().framing, Framing::Tunnel);
    assert!(tx.complete);
    assert_eq!(report.direction(Client).opaque_bytes, 100);
    assert_eq!(report.direction(Server).opaque_bytes, 200);
    assert_eq!(report.direction(Client).unparsed_bytes, 0);
}

#[test]
fn connect_client_data_sent_before_the_answer_is_tunnel_data() {
    let mut w = Wire::new();
    w.c(b"CONNECT h:443 HTTP/1.1\r\n\r\n", 0)
        .c(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5], 100)
        .s(b"HTTP/1.1 200 OK\r\n\r\n", 1_000)
        .s(&[0x17; 30], 2_000);
    let report = w.finish();
    assert_eq!(report.transactions.len(), 1);
    assert_eq!(report.direction(Client).opaque_bytes, 10);
    assert_eq!(report.direction(Server).opaque_bytes, 30);
}

#[test]
fn connect_refused_lets_plain_http_continue() {
    let mut w = Wire::new();
    w.c(b"CONNECT h:443 HTTP/1.1\r\n\r\n", 0)
        .s(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\nno!",
            1_000,
        )
        .c(&get("/plain"), 2_000)
        .s(&ok("fine"), 3_000);
    let report = w.finish();
    assert_eq!(
        summary(&report.transactions),
        vec![
            (Some("CONNECT"), Some("h:443"), Some(407)),
            (Some("GET"), Some("/plain"), Some(200))
        ]
    );
    assert!(!report.transactions[0].tunnel);
}

#[test]
fn websocket_upgrade_switches_both_directions_to_opaque() {
    let mut w = Wire::new();
    w.c(
        b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        0,
    )
    .s(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello",
        1_000,
    )
    .c(b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 2_000)
    .s(b"GET / HTTP/1.1\r\n\r\n", 3_000);
    let report = w.finish();
    assert_eq!(report.transactions.len(), 1, "frames are not messages");
    let tx = &report.transactions[0];
    assert_eq!((tx.status, tx.tunnel), (Some(101), true));
    let req = tx.request.as_ref().unwrap();
    assert_eq!(req.headers.upgrade.as_deref(), Some("websocket"));
    assert!(req.headers.connection.upgrade);
    assert_eq!(report.direction(Client).opaque_bytes, 11);
    assert_eq!(report.direction(Server).opaque_bytes, 7 + 18);
}

#[test]
fn http09_request_and_raw_response() {
    let mut w = Wire::new();
    w.c(b"GET /old.html\r\n", 0)
        .s(b"<html>hello</html>", 1_000)
        .s(b"\n", 1_500)
        .fin(Server, 2_000);
    let report = w.finish();
    assert_eq!(report.transactions.len(), 1);
    let tx = &report.transactions[0];
    assert_eq!(tx.version, Some(HttpVersion::Http09));
    assert_eq!(
        (tx.method.as_deref(), tx.uri.as_deref()),
        (Some("GET"), Some("/old.html"))
    );
    assert_eq!(tx.status, None, "an HTTP/0.9 response has no status line");
    let resp = tx.response.as_ref().unwrap();
    assert_eq!(resp.framing, Framing::Http09);
    assert_eq!(resp.body_bytes, 19);
    assert!(tx.complete);
}

#[test]
fn http09_looking_request_answered_with_a_status_line() {
    // `GET /HTTP/1.1` (a missing space) reads as 0.9; servers answer in 1.x.
    let mut w = Wire::new();
    w.c(b"GET /HTTP/1.1\r\nHost: h\r\n\r\n", 0)
        .s(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            1_000,
        )
        .fin(Server, 1_100);
    let report = w.finish();
    assert_eq!(
        summary(&report.transactions),
        vec![(Some("GET"), Some("/HTTP/1.1"), Some(400))]
    );
    assert_eq!(report.transactions[0].version, Some(HttpVersion::Http09));
    assert!(
        report.transactions[0]
            .response
            .as_ref()
            .unwrap()
            .headers
            .connection
            .close
    );
}

#[test]
fn response_without_request_is_kept_as_orphan() {
    let mut w = Wire::new();
    w.s(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", 0)
        .c(&get("/next"), 1_000)
        .s(&ok("fine"), 2_000);
    let report = w.finish();
    assert!(report.is_http);
    let txs = &report.transactions;
    assert_eq!(txs.len(), 2);
    assert!(txs[0].orphan_response && txs[0].method.is_none() && txs[0].request.is_none());
    assert_eq!(
        (txs[0].status, txs[0].version),
        (Some(200), Some(HttpVersion::Http11))
    );
    assert!(!txs[0].complete, "no request: not a complete transaction");
    assert_eq!(txs[0].timing.connect_ns, None);
    assert_eq!(
        summary(&txs[1..]),
        vec![(Some("GET"), Some("/next"), Some(200))]
    );
    assert!(!txs[1].orphan_response && txs[1].complete);
}

#[test]
fn timing_values_are_exact() {
    let mut w = Wire::new();
    w.handshake = Handshake {
        syn: Some(at(0)),
        syn_ack: Some(at(10_000)),
        ack: Some(at(20_000)),
    };
    // Request head in two segments (1 ms apart), response in two (4 ms apart).
    w.c(b"GET /timed HTTP/1.1\r\nHo", 25_000)
        .c(b"st: h\r\n\r\n", 26_000)
        .s(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab", 76_000)
        .s(b"cd", 80_000)
        .c(&get("/second"), 90_000)
        .s(&ok("z"), 91_500);
    let report = w.finish();
    let first = &report.transactions[0];
    assert_eq!(first.timing.connect_ns, Some(20_000_000));
    assert_eq!(first.timing.send_ns, Some(1_000_000));
    assert_eq!(first.timing.wait_ns, Some(50_000_000));
    assert_eq!(first.timing.receive_ns, Some(4_000_000));
    assert_eq!(first.timing.request_start_ts, Some(at(25_000)));
    assert_eq!(first.timing.request_end_ts, Some(at(26_000)));
    assert_eq!(first.timing.response_start_ts, Some(at(76_000)));
    assert_eq!(first.timing.response_end_ts, Some(at(80_000)));
    let second = &report.transactions[1];
    assert_eq!(
        second.timing.connect_ns, None,
        "only the first pays the handshake"
    );
    assert_eq!(second.timing.send_ns, Some(0));
    assert_eq!(second.timing.wait_ns, Some(1_500_000));

    let conn = connection(Handshake::default());
    let json = serde_json::to_value(TransactionRecord::new("x.pcap", &conn, first)).unwrap();
    let expected = serde_json::json!({
        "capture": "x.pcap", "connection": 7, "index": 0,
        "client": "10.0.0.1:51000", "server": "[2001:db8::2]:8080",
        "method": "GET", "uri": "/timed", "version": "HTTP/1.1", "status": 200,
        "request_body_bytes": 0, "response_body_bytes": 4, "complete": true, "pipelined": false,
        "request_start_ts": at(25_000).as_secs_f64(), "response_end_ts": at(80_000).as_secs_f64(),
        "connect_ms": 20.0, "send_ms": 1.0, "wait_ms": 50.0, "receive_ms": 4.0,
        "request_end_in_gap": false, "response_end_in_gap": false,
        "host": "h", "request_frame": null, "response_first_frame": null,
        "response_last_frame": null
    });
    assert_eq!(json, expected);
    let keys: Vec<String> = match serde_json::to_value(TransactionRecord::new("x", &conn, first)) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        other => panic!("not an object: {other:?}"),
    };
    assert_eq!(keys.len(), 25);
}

#[test]
fn no_connect_time_without_the_whole_handshake() {
    let mut w = Wire::new();
    w.handshake = Handshake {
        syn: None,
        syn_ack: Some(at(0)),
        ack: Some(at(1_000)),
    };
    w.c(&get("/"), 2_000).s(&ok(""), 3_000);
    let report = w.finish();
    assert_eq!(report.transactions[0].timing.connect_ns, None);
}

#[test]
fn the_full_report_serialises() {
    let mut w = Wire::new();
    w.c(&get("/"), 0).s(&ok("x"), 1_000).rst(Client, 2_000);
    let report = w.finish();
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["is_http"], true);
    assert_eq!(
        json["transactions"][0]["response"]["framing"]["kind"],
        "length"
    );
    assert_eq!(
        json["transactions"][0]["response"]["end"]["kind"],
        "complete"
    );
    assert_eq!(
        json["transactions"][0]["request"]["connection"]["fields"],
        0
    );
}

#[test]
fn settled_transactions_can_be_drained_while_the_connection_lives() {
    let mut w = Wire::new();
    w.c(&get("/a"), 0).s(&ok("1"), 1_000).c(&get("/b"), 2_000);
    w.s(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab", 3_000);
    let drained: Vec<_> = w.http.drain_settled(Some(5_000_000)).collect();
    assert_eq!(
        summary(&drained),
        vec![(Some("GET"), Some("/a"), Some(200))]
    );
    assert!(drained[0].complete);
    assert_eq!(drained[0].timing.connect_ns, Some(5_000_000));
    assert_eq!(
        w.http.drain_settled(None).count(),
        0,
        "/b is still being answered"
    );
    w.s(b"cd", 4_000).c(&get("/c"), 5_000);
    let drained: Vec<_> = w.http.drain_settled(None).collect();
    assert_eq!(
        summary(&drained),
        vec![(Some("GET"), Some("/b"), Some(200))]
    );
    assert_eq!(drained[0].index, 1);
    w.s(&ok("3"), 6_000);
    let report = w.finish();
    assert_eq!(
        summary(&report.transactions),
        vec![(Some("GET"), Some("/c"), Some(200))]
    );
    assert_eq!(report.transactions[0].index, 2);
    assert_eq!(report.transactions[0].timing.connect_ns, None);
}

#[test]
fn pipelining_is_judged_at_the_request_first_byte() {
    // The next request's head starts before the response ends and
    // completes after it: it was pipelined.
    let mut w = Wire::new();
    w.c(&get("/1"), 0)
        .s(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\na", 1_000)
        .c(b"GET /2 HTT", 1_500)
        .s(b"b", 2_000)
        .c(b"P/1.1\r\n\r\n", 2_500)
        .s(&ok("c"), 3_000);
    let report = w.finish();
    assert!(report.transactions[1].pipelined);
    assert_eq!(
        report.transactions[1].timing.request_start_ts,
        Some(at(1_500))
    );
}
