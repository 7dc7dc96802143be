//! The same bytes cut differently must parse identically: heads and chunked
//! bodies split at every byte boundary, and fed byte by byte.

use crate::common::*;
use connlint::http::HttpConnectionReport;
use proptest::prelude::*;

const REQUEST: &[u8] =
    b"\r\nPOST /submit?x=1 HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive\r\n\
    Keep-Alive: timeout=5\r\nContent-Length: 7\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\npayload";

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n\
    5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer-Field: yes\r\n\r\n";

/// The exchange with each direction delivered as the given pieces, every
/// byte stamped with the same time so only the cutting differs.
fn run(client: &[&[u8]], server: &[&[u8]]) -> HttpConnectionReport {
    let mut w = Wire::new();
    for piece in client {
        w.c(piece, 1_000);
    }
    for piece in server {
        w.s(piece, 1_000);
    }
    w.c(&get("/after"), 1_000).s(&ok("end"), 1_000);
    w.finish()
}

#[test]
fn request_head_split_at_every_byte() {
    let whole = run(&[REQUEST], &[RESPONSE]);
    assert_eq!(whole.transactions.len(), 2);
    assert!(whole.transactions.iter().all(|t| t.complete));
    assert_eq!(whole.transactions[0].request_body_bytes(), 7);
    for cut in 1..REQUEST.len() {
        let (a, b) = REQUEST.split_at(cut);
        assert_eq!(run(&[a, b], &[RESPONSE]), whole, "request cut at {cut}");
    }
}

#[test]
fn response_split_at_every_byte() {
    let whole = run(&[REQUEST], &[RESPONSE]);
    let chunks = whole.transactions[0]
        .response
        .as_ref()
        .unwrap()
        .chunked
        .unwrap();
    assert_eq!(
        (chunks.chunks, chunks.extensions, chunks.trailer_fields),
        (2, 1, 1)
    );
    assert_eq!(whole.transactions[0].response_body_bytes(), 31);
    for cut in 1..RESPONSE.len() {
        let (a, b) = RESPONSE.split_at(cut);
        assert_eq!(run(&[REQUEST], &[a, b]), whole, "response cut at {cut}");
    }
}

#[test]
fn both_directions_byte_by_byte() {
    let whole = run(&[REQUEST], &[RESPONSE]);
    let client: Vec<&[u8]> = REQUEST.chunks(1).collect();
    let server: Vec<&[u8]> = RESPONSE.chunks(1).collect();
    assert_eq!(run(&client, &server), whole);
}

#[test]
fn leading_empty_lines_before_a_request_are_tolerated() {
    let report = run(&[REQUEST], &[RESPONSE]);
    let req = report.transactions[0].request.as_ref().unwrap();
    assert_eq!(req.start_offset, 2, "the head starts after the CRLF");
    assert_eq!(report.direction(Client).stray_crlf_bytes, 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_cutting_parses_identically(
        client_cuts in proptest::collection::vec(0..REQUEST.len(), 0..6),
        server_cuts in proptest::collection::vec(0..RESPONSE.len(), 0..6),
    ) {
        fn pieces<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
            let mut cuts = cuts.to_vec();
            cuts.sort_unstable();
            cuts.dedup();
            let mut out = Vec::new();
            let mut from = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                out.push(&bytes[from..cut]);
                from = cut;
            }
            out
        }
        let whole = run(&[REQUEST], &[RESPONSE]);
        let cut = run(&pieces(REQUEST, &client_cuts), &pieces(RESPONSE, &server_cuts));
        prop_assert_eq!(cut, whole);
    }
}
