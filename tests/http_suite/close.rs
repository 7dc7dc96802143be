//! How the end of the connection is recorded against each message.

use crate::common::*;
use connlint::http::{Framing, MessageEnd, NoResponse};

#[test]
fn rst_in_the_middle_of_a_body() {
    let mut w = Wire::new();
    w.c(&get("/big"), 0)
        .s(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 1_000)
        .s(&[b'x'; 300], 2_000)
        .rst(Server, 3_000);
    let report = w.finish();
    let tx = &report.transactions[0];
    let resp = tx.response.as_ref().unwrap();
    assert_eq!(
        resp.end,
        MessageEnd::RstBeforeEnd {
            side: Server,
            ts: at(3_000)
        }
    );
    assert!(!resp.framing_satisfied);
    assert_eq!(
        (resp.expected_body_bytes, resp.body_bytes),
        (Some(1000), 300)
    );
    assert!(!tx.complete);
    assert_eq!(tx.timing.response_end_ts, Some(at(2_000)));
}

#[test]
fn client_rst_ends_a_close_delimited_body_unsatisfied() {
    let mut w = Wire::new();
    w.c(&get("/stream"), 0)
        .s(b"HTTP/1.1 200 OK\r\n\r\nsome data", 1_000)
        .rst(Client, 2_000);
    let report = w.finish();
    let resp = report.transactions[0].response.as_ref().unwrap();
    assert_eq!(resp.framing, Framing::CloseDelimited);
    assert_eq!(
        resp.end,
        MessageEnd::RstBeforeEnd {
            side: Client,
            ts: at(2_000)
        }
    );
}

#[test]
fn server_fin_in_the_middle_of_a_chunked_body() {
    let mut w = Wire::new();
    w.c(&get("/chunks"), 0)
        .s(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789",
            1_000,
        )
        .fin(Server, 2_000);
    let report = w.finish();
    let resp = report.transactions[0].response.as_ref().unwrap();
    assert_eq!(
        resp.end,
        MessageEnd::FinBeforeEnd {
            side: Server,
            ts: at(2_000)
        }
    );
    assert_eq!(resp.body_bytes, 10);
    assert!(!resp.chunked.unwrap().last_chunk);
    assert!(!report.transactions[0].complete);
}

#[test]
fn server_fin_in_the_middle_of_a_content_length_body() {
    let mut w = Wire::new();
    w.c(&get("/"), 0)
        .s(
            b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nonly this",
            1_000,
        )
        .fin(Server, 1_500)
        .fin(Client, 1_600);
    let report = w.finish();
    let resp = report.transactions[0].response.as_ref().unwrap();
    assert_eq!(
        resp.end,
        MessageEnd::FinBeforeEnd {
            side: Server,
            ts: at(1_500)
        }
    );
    assert_eq!(resp.body_bytes, 9);
}

#[test]
fn client_half_close_does_not_truncate_the_response() {
    let mut w = Wire::new();
    w.c(&get("/"), 0)
        .fin(Client, 100)
        .s(&ok("still arrives"), 1_000)
        .fin(Server, 2_000);
    let report = w.finish();
    assert!(report.transactions[0].complete);
}

#[test]
fn requests_outstanding_at_server_close() {
    let mut w = Wire::new();
    let mut burst = get("/1");
    burst.extend(get("/2"));
    burst.extend(get("/3"));
    w.c(&burst, 0)
        .s(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
            1_000,
        )
        .fin(Server, 1_100);
    let report = w.finish();
    let txs = &report.transactions;
    assert_eq!(txs.len(), 3);
    assert_eq!(txs[0].status, Some(200));
    assert!(txs[0].response.as_ref().unwrap().headers.connection.close);
    for tx in &txs[1..] {
        assert!(tx.pipelined);
        assert_eq!(tx.status, None);
        assert_eq!(
            tx.no_response,
            Some(NoResponse::ServerFin { ts: at(1_100) })
        );
    }
}

#[test]
fn requests_outstanding_at_reset_and_at_capture_end() {
    let mut w = Wire::new();
    w.c(&get("/"), 0).rst(Server, 500);
    let report = w.finish();
    assert_eq!(
        report.transactions[0].no_response,
        Some(NoResponse::Rst {
            side: Server,
            ts: at(500)
        })
    );

    let mut w = Wire::new();
    w.c(&get("/"), 0);
    let report = w.finish();
    assert_eq!(
        report.transactions[0].no_response,
        Some(NoResponse::CaptureEnded)
    );
    let req = report.transactions[0].request.as_ref().unwrap();
    assert_eq!(
        req.end,
        MessageEnd::Complete,
        "the request itself was whole"
    );
}

#[test]
fn close_delimited_body_at_capture_end_is_not_known_complete() {
    let mut w = Wire::new();
    w.c(b"GET / HTTP/1.0\r\n\r\n", 0)
        .s(b"HTTP/1.0 200 OK\r\n\r\npartial?", 1_000);
    let report = w.finish();
    let resp = report.transactions[0].response.as_ref().unwrap();
    assert_eq!(resp.end, MessageEnd::CaptureEnded);
    assert_eq!(resp.body_bytes, 8);
    assert!(!report.transactions[0].complete);
}

#[test]
fn request_head_cut_by_fin_is_salvaged_and_marked() {
    let mut w = Wire::new();
    w.c(b"GET /cut HTTP/1.1\r\nHost: exa", 0).fin(Client, 1_000);
    let report = w.finish();
    assert!(report.is_http);
    let tx = &report.transactions[0];
    assert_eq!(
        (tx.method.as_deref(), tx.uri.as_deref()),
        (Some("GET"), Some("/cut"))
    );
    let req = tx.request.as_ref().unwrap();
    assert!(req.head_truncated && !req.framing_satisfied);
    assert_eq!(
        req.end,
        MessageEnd::FinBeforeEnd {
            side: Client,
            ts: at(1_000)
        }
    );
    assert_eq!(req.head_bytes, 28);
}

#[test]
fn a_head_cut_before_its_first_line_ends_is_not_a_message() {
    let mut w = Wire::new();
    w.c(b"GET /never-fini", 0).fin(Client, 1_000);
    let report = w.finish();
    assert!(!report.is_http);
    assert!(report.transactions.is_empty());
}

#[test]
fn response_head_cut_by_rst_is_salvaged() {
    let mut w = Wire::new();
    w.c(&get("/"), 0)
        .s(b"HTTP/1.1 502 Bad Gateway\r\nContent-Le", 1_000)
        .rst(Server, 2_000);
    let report = w.finish();
    let tx = &report.transactions[0];
    assert_eq!(tx.status, Some(502));
    let resp = tx.response.as_ref().unwrap();
    assert!(resp.head_truncated);
    assert!(matches!(
        resp.end,
        MessageEnd::RstBeforeEnd { side: Server, .. }
    ));
}

#[test]
fn data_after_a_reset_is_counted_not_parsed() {
    let mut w = Wire::new();
    w.c(&get("/"), 0).rst(Client, 100).s(&ok("late"), 200);
    let report = w.finish();
    assert_eq!(report.transactions.len(), 1);
    assert_eq!(report.transactions[0].status, None);
    assert_eq!(
        report.direction(Server).bytes_after_close,
        ok("late").len() as u64
    );
}
