//! Framing anomalies and connection-management headers, recorded as facts.

use crate::common::*;
use connlint::http::{ChunkFacts, HttpLimits};
use connlint::http::{Framing, FramingError, HttpVersion, MessageEnd};

#[test]
fn content_length_with_transfer_encoding_chunked_wins() {
    let mut w = Wire::new();
    w.c(
        b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n\
          3\r\nabc\r\n0\r\n\r\n",
        0,
    )
    .s(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        1_000,
    )
    .c(&get("/next"), 2_000)
    .s(&ok("n"), 3_000);
    let report = w.finish();
    assert_eq!(report.transactions.len(), 2);
    let tx = &report.transactions[0];
    for msg in [tx.request.as_ref().unwrap(), tx.response.as_ref().unwrap()] {
        assert!(msg.headers.content_length_with_transfer_encoding);
        assert_eq!(msg.framing, Framing::Chunked);
        assert_eq!(msg.end, MessageEnd::Complete);
    }
    assert_eq!((tx.request_body_bytes(), tx.response_body_bytes()), (3, 2));
    assert_eq!(report.transactions[1].status, Some(200));
}

#[test]
fn duplicate_content_length_with_equal_values_is_used_and_flagged() {
    let mut w = Wire::new();
    w.c(&get("/"), 0).s(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        1_000,
    );
    let report = w.finish();
    let resp = report.transactions[0].response.as_ref().unwrap();
    let cl = resp.headers.content_length.as_ref().unwrap();
    assert!(cl.duplicate && !cl.conflicting);
    assert_eq!((cl.count, cl.values.clone()), (2, vec![5]));
    assert_eq!(resp.framing, Framing::Length { bytes: 5 });
    assert_eq!(resp.framing_error, None);
    assert!(report.transactions[0].complete);
}

#[test]
fn conflicting_content_length_in_a_response_reads_to_the_close() {
    let mut w = Wire::new();
    w.c(&get("/"), 0)
        .s(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 10\r\n\r\nhello world!",
            1_000,
        )
        .fin(Server, 2_000);
    let report = w.finish();
    let resp = report.transactions[0].response.as_ref().unwrap();
    let cl = resp.headers.content_length.as_ref().unwrap();
    assert!(cl.duplicate && cl.conflicting);
    assert_eq!(cl.values, vec![5, 10]);
    assert_eq!(resp.framing, Framing::CloseDelimited);
    assert_eq!(
        resp.framing_error,
        Some(FramingError::ConflictingContentLength)
    );
    assert_eq!(resp.body_bytes, 12);
}

#[test]
fn conflicting_content_length_in_a_request_leaves_the_rest_unparsed() {
    let mut w = Wire::new();
    let head = b"POST /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\n";
    w.c(head, 0)
        .c(b"abc", 100)
        .s(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            1_000,
        )
        .fin(Server, 1_100);
    let report = w.finish();
    let tx = &report.transactions[0];
    let req = tx.request.as_ref().unwrap();
    assert_eq!(req.framing, Framing::Invalid);
    assert_eq!(
        req.framing_error,
        Some(FramingError::ConflictingContentLength)
    );
    assert_eq!(req.end, MessageEnd::FramingError);
    assert_eq!(tx.status, Some(400), "the answer still pairs with it");
    let client = report.direction(Client);
    assert_eq!(client.unparsed_from, Some(head.len() as u64));
    assert_eq!(client.unparsed_bytes, 3);
}

#[test]
fn unparsable_content_length_is_flagged() {
    let mut w = Wire::new();
    w.c(&get("/"), 0).s(
        b"HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\nxyz",
        1_000,
    );
    let report = w.finish();
    let resp = report.transactions[0].response.as_ref().unwrap();
    assert_eq!(resp.headers.content_length.as_ref().unwrap().unparsable, 1);
    assert_eq!(
        resp.framing_error,
        Some(FramingError::UnparsableContentLength)
    );
    assert_eq!(resp.framing, Framing::CloseDelimited);
}

#[test]
fn request_transfer_encoding_not_chunked_is_a_framing_error() {
    let mut w = Wire::new();
    w.c(
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b",
        0,
    );
    let report = w.finish();
    let req = report.transactions[0].request.as_ref().unwrap();
    assert_eq!(req.framing, Framing::Invalid);
    assert_eq!(
        req.framing_error,
        Some(FramingError::RequestTransferEncodingNotChunked)
    );
    assert!(
        !req.headers
            .transfer_encoding
            .as_ref()
            .unwrap()
            .chunked_final
    );
}

#[test]
fn response_transfer_encoding_not_chunked_reads_to_the_close() {
    let mut w = Wire::new();
    w.c(&get("/"), 0)
        .s(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n\x1f\x8bzz",
            1_000,
        )
        .fin(Server, 2_000);
    let report = w.finish();
    let resp = report.transactions[0].response.as_ref().unwrap();
    assert_eq!(resp.framing, Framing::CloseDelimited);
    assert_eq!(resp.framing_error, None);
    assert!(report.transactions[0].complete);
}

#[test]
fn chunk_syntax_error_is_recorded_and_the_next_response_resyncs() {
    let mut w = Wire::new();
    w.c(&get("/1"), 0)
        .s(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n",
            1_000,
        )
        .c(&get("/2"), 2_000)
        .s(&ok("fine"), 3_000);
    let report = w.finish();
    let resp = report.transactions[0].response.as_ref().unwrap();
    assert_eq!(resp.end, MessageEnd::FramingError);
    let chunks: ChunkFacts = resp.chunked.unwrap();
    assert_eq!(
        chunks.error,
        Some(connlint::http::ChunkError::MissingCrlfAfterData)
    );
    assert_eq!(report.transactions[1].status, Some(200));
    assert_eq!(report.transactions[1].response_body_bytes(), 4);
}

#[test]
fn chunk_size_digit_cap() {
    let limits = HttpLimits {
        max_chunk_size_digits: 4,
        ..HttpLimits::default()
    };
    let mut w = Wire::with_limits(limits);
    w.c(&get("/"), 0).s(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0000010\r\n",
        1_000,
    );
    let report = w.finish();
    let resp = report.transactions[0].response.as_ref().unwrap();
    assert_eq!(
        resp.chunked.unwrap().error,
        Some(connlint::http::ChunkError::SizeTooLong)
    );
}

#[test]
fn connection_keep_alive_and_proxy_connection_facts() {
    let mut w = Wire::new();
    w.c(
        b"GET http://example.com/ HTTP/1.0\r\nHost: example.com\r\nConnection: keep-alive, Content-Length\r\n\
          Proxy-Connection: Keep-Alive\r\nKeep-Alive: timeout=5, max=abc\r\n\r\n",
        0,
    )
    .s(
        b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nKeep-Alive: timeout=15, max=100\r\nContent-Length: 0\r\n\r\n",
        1_000,
    );
    let report = w.finish();
    let tx = &report.transactions[0];
    assert_eq!(tx.version, Some(HttpVersion::Http10));
    assert_eq!(tx.uri.as_deref(), Some("http://example.com/"));
    let req = &tx.request.as_ref().unwrap().headers;
    assert!(req.connection.keep_alive && !req.connection.close);
    assert_eq!(req.connection.others, vec!["content-length"]);
    assert!(req.proxy_connection.as_ref().unwrap().keep_alive);
    let ka = req.keep_alive.as_ref().unwrap();
    assert!(ka.invalid);
    assert_eq!(ka.timeout, Some(5));
    let resp = &tx.response.as_ref().unwrap().headers;
    assert!(resp.connection.keep_alive);
    let ka = resp.keep_alive.as_ref().unwrap();
    assert_eq!(
        (ka.timeout, ka.max, ka.invalid),
        (Some(15), Some(100), false)
    );
    assert_eq!(
        tx.response.as_ref().unwrap().version,
        Some(HttpVersion::Http10)
    );
}

#[test]
fn malformed_request_line_still_pairs_with_its_400() {
    let mut w = Wire::new();
    w.c(&get("/ok"), 0)
        .s(&ok("fine"), 1_000)
        .c(b"GET / HTTP/1.\r\nHost: h\r\n\r\n", 2_000)
        .s(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
            3_000,
        )
        .c(&get("/again"), 4_000)
        .s(&ok("again"), 5_000);
    let report = w.finish();
    let txs = &report.transactions;
    assert_eq!(
        summary(txs),
        vec![
            (Some("GET"), Some("/ok"), Some(200)),
            (Some("GET"), Some("/"), Some(400)),
            (Some("GET"), Some("/again"), Some(200)),
        ]
    );
    assert!(txs[1].request.as_ref().unwrap().malformed);
    assert_eq!(txs[1].version, None);
    assert_eq!(report.direction(Client).malformed_heads, 1);
}

#[test]
fn non_numeric_status_is_a_malformed_response_paired_with_its_request() {
    let mut w = Wire::new();
    w.c(&get("/"), 0)
        .s(b"HTTP/1.1 2XX OK\r\nContent-Length: 2\r\n\r\nok", 1_000)
        .fin(Server, 2_000);
    let report = w.finish();
    let tx = &report.transactions[0];
    assert_eq!(tx.status, None);
    let resp = tx.response.as_ref().unwrap();
    assert!(resp.malformed);
    assert_eq!(
        tx.no_response, None,
        "there was a response, just not a valid one"
    );
}

#[test]
fn malformed_first_request_line_is_kept_once_the_server_answers_in_http() {
    let mut w = Wire::new();
    w.c(b"HEAD / HTTP/1.\r\nHost: h\r\n\r\n", 0)
        .s(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", 1_000)
        .fin(Server, 1_100);
    let report = w.finish();
    assert_eq!(
        summary(&report.transactions),
        vec![(Some("HEAD"), Some("/"), Some(200))]
    );
    let tx = &report.transactions[0];
    assert!(tx.request.as_ref().unwrap().malformed);
    let resp = tx.response.as_ref().unwrap();
    assert_eq!(resp.framing, Framing::None, "an answer to HEAD has no body");
    assert_eq!(resp.end, MessageEnd::Complete);
    assert_eq!(report.direction(Client).malformed_heads, 1);
}

#[test]
fn malformed_first_line_without_an_http_answer_is_not_a_request() {
    let mut w = Wire::new();
    w.c(b"HELLO there friend\r\n", 0).s(b"WELCOME\r\n", 1_000);
    let report = w.finish();
    assert!(!report.is_http);
    assert_eq!(report.direction(Client).malformed_heads, 0);
}
