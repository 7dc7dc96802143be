//! Detection by content, and the limits that keep hostile input bounded.

use crate::common::*;
use connlint::http::{HttpConnectionReport, HttpLimits, NoResponse};

#[test]
fn tls_is_not_http_and_is_left_alone() {
    let mut w = Wire::new();
    let hello = [
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    w.c(&hello, 0).s(&[0x16, 0x03, 0x03, 0x00, 0x7a], 1_000);
    for n in 0..10 {
        w.c(&[0x17; 5], 2_000 + n).s(&[0x17; 100], 3_000 + n);
    }
    let report = w.finish();
    assert!(!report.is_http);
    assert!(report.transactions.is_empty());
    assert_eq!(report.direction(Client).unparsed_from, Some(0));
    assert_eq!(report.direction(Client).unparsed_bytes, 11 + 50);
    assert_eq!(report.direction(Server).unparsed_bytes, 1_005);
    assert!(!report.direction(Client).detected);
    // Every segment start was probed (each one byte's worth, well within the budget).
    assert_eq!(report.direction(Client).probes_over_budget, 0);
}

/// `n` segments of `len` bytes from the server that are no message start,
/// then a whole response: a capture that began inside a long body.
fn deep_body_then_response(n: i64, segment: &[u8]) -> HttpConnectionReport {
    let mut w = Wire::new();
    for i in 0..n {
        w.s(segment, i * 100);
    }
    w.s(&ok("next"), n * 100 + 1_000);
    w.finish()
}

#[test]
fn a_long_body_is_probed_to_its_end_and_the_next_response_found() {
    // 1000 full-sized segments of a download picked up in its middle, the
    // client's side not captured: nothing says this is HTTP until the
    // status line after them, and probing each segment start costs less
    // than the segment earns.
    let report = deep_body_then_response(1_000, &[0xab; 1448]);
    assert_eq!(summary(&report.transactions), vec![(None, None, Some(200))]);
    assert!(report.transactions[0].orphan_response);
    assert_eq!(report.direction(Server).probes_over_budget, 0);
    assert_eq!(report.direction(Server).unparsed_bytes, 1_000 * 1448);
}

#[test]
fn tiny_segments_are_probed_only_as_often_as_their_bytes_pay_for() {
    // 200000 eight-byte segments: each probe would be charged its 8 bytes
    // and earns a quarter of a byte, so after the 4096-byte allowance only
    // about one segment start in 32 is probed; the rest are counted.
    let n = 200_000;
    let report = deep_body_then_response(n, b"\x00binary!");
    let skipped = report.direction(Server).probes_over_budget;
    let probed = n as u64 - skipped;
    // Allowance 4096 plus 1/32 of the 1.6 MB delivered, at 8 bytes a probe
    // (the first four segments are probed free).
    let affordable = (4_096 + (n as u64 * 8) / 32) / 8 + 4;
    assert!(
        probed <= affordable,
        "{probed} probes, {affordable} affordable"
    );
    assert!(
        probed + 10 >= affordable,
        "{probed} probes, {affordable} affordable"
    );
}

#[test]
fn segments_that_all_look_like_status_lines_cannot_make_probing_quadratic() {
    // Every segment of a long stream starts like a status line and is none:
    // each guess parses its segment (charged in full), so after the
    // allowance only the segments their bytes pay for are guessed at.
    let mut segment = b"HTTP/1.x garbage ".to_vec();
    segment.resize(1_000, b'x');
    let n = 10_000;
    let report = deep_body_then_response(n, &segment);
    let skipped = report.direction(Server).probes_over_budget;
    let guessed = n as u64 - skipped;
    let affordable = (4_096 + (n as u64 * 1_000) / 32) / 1_000 + 4;
    assert!(
        guessed <= affordable,
        "{guessed} guesses, {affordable} affordable"
    );
    assert_eq!(
        report.direction(Server).malformed_heads,
        0,
        "guesses, not messages"
    );
}

#[test]
fn line_protocols_are_not_mistaken_for_http() {
    let mut w = Wire::new();
    w.s(b"220 mail.example.com ESMTP\r\n", 0)
        .c(b"EHLO client.example.com\r\n", 1_000)
        .s(b"250-mail.example.com\r\n250 OK\r\n", 2_000)
        .c(b"MAIL FROM:<a@b>\r\n", 3_000)
        .fin(Client, 4_000)
        .fin(Server, 4_000);
    let report = w.finish();
    assert!(!report.is_http);
    assert!(report.transactions.is_empty());
    assert_eq!(report.direction(Client).malformed_heads, 0);
}

#[test]
fn ssh_banner_is_not_http() {
    let mut w = Wire::new();
    w.s(b"SSH-2.0-OpenSSH_9.6\r\n", 0)
        .c(b"SSH-2.0-libssh\r\n", 100);
    assert!(!w.finish().is_http);
}

#[test]
fn capture_starting_inside_a_body_finds_the_next_request() {
    let mut w = Wire::new();
    w.c(b"tail of an upload body", 0)
        .s(b"ody of a download\r\n", 100)
        .s(b"more body", 200)
        .c(&get("/next"), 1_000)
        .s(&ok("fresh"), 2_000);
    let report = w.finish();
    assert!(report.is_http);
    assert_eq!(
        summary(&report.transactions),
        vec![(Some("GET"), Some("/next"), Some(200))]
    );
    assert_eq!(report.direction(Client).unparsed_bytes, 22);
    assert_eq!(report.direction(Server).unparsed_bytes, 28);
}

#[test]
fn server_direction_found_late_once_the_client_is_known_to_speak_http() {
    let mut w = Wire::new();
    // Six server segments of an earlier body, then the answer to a request.
    for n in 0..6 {
        w.s(b"<html>...</html>", n * 100);
    }
    w.c(&get("/x"), 1_000).s(&ok("answer"), 2_000);
    let report = w.finish();
    assert_eq!(
        summary(&report.transactions),
        vec![(Some("GET"), Some("/x"), Some(200))]
    );
}

#[test]
fn head_over_the_cap_leaves_the_direction_unparsed() {
    let limits = HttpLimits {
        max_head_bytes: 256,
        ..HttpLimits::default()
    };
    let mut w = Wire::with_limits(limits);
    let mut head = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    head.extend([b'a'; 300]);
    w.c(&head[..100], 0)
        .c(&head[100..], 100)
        .c(b"\r\n\r\n", 200)
        .c(&get("/later"), 300);
    let report = w.finish();
    let client = report.direction(Client);
    assert_eq!(client.heads_too_large, 1);
    assert_eq!(client.unparsed_from, Some(0));
    assert_eq!(
        client.unparsed_bytes,
        head.len() as u64 + 4 + get("/later").len() as u64
    );
    assert!(report.transactions.is_empty());
}

#[test]
fn head_over_the_cap_in_one_segment() {
    let limits = HttpLimits {
        max_head_bytes: 64,
        ..HttpLimits::default()
    };
    let mut w = Wire::with_limits(limits);
    w.c(&get("/ok"), 0).s(&ok("1"), 100);
    let mut head = b"GET /too-big HTTP/1.1\r\nX: ".to_vec();
    head.extend([b'b'; 100]);
    w.c(&head, 200);
    let report = w.finish();
    assert_eq!(report.transactions.len(), 1);
    assert_eq!(report.direction(Client).heads_too_large, 1);
    assert_eq!(
        report.direction(Client).unparsed_from,
        Some(get("/ok").len() as u64)
    );
}

#[test]
fn too_many_header_fields() {
    let limits = HttpLimits {
        max_headers: 3,
        ..HttpLimits::default()
    };
    let mut w = Wire::with_limits(limits);
    w.c(&get("/fine"), 0).s(&ok("1"), 100).c(
        b"GET /many HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
        200,
    );
    let report = w.finish();
    assert_eq!(report.direction(Client).too_many_headers, 1);
    assert_eq!(report.transactions.len(), 1);
}

#[test]
fn pending_request_cap_abandons_pairing_and_counts_it() {
    let limits = HttpLimits {
        max_pending_requests: 4,
        ..HttpLimits::default()
    };
    let mut w = Wire::with_limits(limits);
    let mut burst = Vec::new();
    for n in 0..6 {
        burst.extend(get(&format!("/{n}")));
    }
    w.c(&burst, 0).s(&ok("a"), 100);
    let report = w.finish();
    assert!(report.anomalies.pending_overflow);
    assert!(report.anomalies.pairing_abandoned);
    assert_eq!(report.transactions.len(), 7);
    assert!(report.transactions[..6]
        .iter()
        .all(|t| t.no_response == Some(NoResponse::Unpaired)));
    assert!(report.transactions[6].orphan_response);
}

#[test]
fn unannounced_hole_in_offsets_is_treated_as_a_gap() {
    use connlint::reassembly::StreamHandler;
    let mut w = Wire::new();
    w.c(&get("/1"), 0);
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    w.s(resp, 100);
    // 10 body bytes never delivered nor announced; the next response at its real offset.
    let next = ok("2");
    w.c(&get("/2"), 150);
    w.http
        .on_data(Server, resp.len() as u64 + 10, &next, at(200));
    let report = w.finish();
    let txs = &report.transactions;
    assert_eq!(txs[0].response.as_ref().unwrap().gap_bytes, 10);
    assert_eq!(txs[1].response_body_bytes(), 1);
    assert_eq!(report.direction(Server).gaps, 1);
}

#[test]
fn retransmitted_overlap_is_not_parsed_twice() {
    use connlint::reassembly::StreamHandler;
    let mut w = Wire::new();
    let request = get("/once");
    w.c(&request, 0);
    w.http.on_data(Client, 0, &request, at(50));
    w.s(&ok("x"), 100);
    let report = w.finish();
    assert_eq!(report.transactions.len(), 1);
}

#[test]
fn role_probes_for_the_flow_table() {
    use connlint::http::{starts_like_request, starts_like_response};
    assert!(starts_like_request(b"GET /x HTTP/1.1\r\n"));
    assert!(starts_like_request(b"\r\nPROPFIND / HTTP/1.1"));
    assert!(!starts_like_request(b"HTTP/1.1 200 OK\r\n"));
    assert!(!starts_like_request(b"GE"), "not enough to tell");
    assert!(starts_like_response(b"HTTP/1.0 404 Not Found\r\n"));
    assert!(!starts_like_response(b"GET / HTTP/1.1\r\n"));
    assert!(!starts_like_response(&[0x16, 0x03, 0x01]));
}

#[test]
fn transactions_past_the_cap_are_counted_not_kept() {
    let limits = HttpLimits {
        max_transactions: 3,
        ..HttpLimits::default()
    };
    let mut w = Wire::with_limits(limits);
    let mut burst = Vec::new();
    for n in 0..5 {
        burst.extend(get(&format!("/{n}")));
    }
    w.c(&burst, 0);
    for n in 0..5 {
        w.s(&ok(&"x".repeat(n + 1)), 100 + n as i64);
    }
    w.c(&get("/late"), 200).s(&ok("late"), 300);
    let report = w.finish();
    let bodies: Vec<_> = report
        .transactions
        .iter()
        .map(|t| t.response_body_bytes())
        .collect();
    assert_eq!(
        bodies,
        vec![1, 2, 3],
        "the kept ones are still paired right"
    );
    assert_eq!(report.anomalies.transactions_not_kept, 3);
    assert!(!report.anomalies.pairing_abandoned);
}

/// A request-only stream whose heads each run into a capture hole: nothing
/// ever parses whole, so the direction is never "detected". Each segment is
/// the first `cut` bytes of a long head, then a hole.
fn heads_cut_by_holes(cut: usize) -> HttpConnectionReport {
    let mut w = Wire::new();
    let long = |i: usize| {
        format!(
            "GET /page/{i} HTTP/1.1\r\nHost: a\r\nCookie: {}\r\n\r\n",
            "c".repeat(200)
        )
        .into_bytes()
    };
    for i in 0..6 {
        let head = long(i);
        w.c(&head[..cut], i as i64 * 1_000).gap(
            Client,
            (head.len() - cut) as u64,
            i as i64 * 1_000 + 500,
        );
    }
    // The seventh segment holds a whole head.
    w.c(&get("/favicon.ico"), 7_000);
    w.finish()
}

#[test]
fn a_stream_whose_request_lines_parse_is_probed_past_the_first_ranges() {
    // Each cut head holds its whole request line: HTTP, probed on.
    let report = heads_cut_by_holes(40);
    assert_eq!(report.direction(Client).heads_lost_in_gap, 6);
    let uris: Vec<_> = report
        .transactions
        .iter()
        .filter_map(|t| t.uri.as_deref())
        .collect();
    assert_eq!(uris, ["/favicon.ico"]);
    assert!(
        !report.transactions[0]
            .request
            .as_ref()
            .unwrap()
            .head_truncated
    );
}

#[test]
fn a_stream_whose_request_lines_never_complete_is_probed_on_the_budget() {
    // Cut inside the request line (before its CRLF): no line ever parsed,
    // so past the first ranges the segment starts are probed on the
    // connection's budget, which the whole head in the seventh segment fits.
    let report = heads_cut_by_holes(14);
    let uris: Vec<_> = report
        .transactions
        .iter()
        .filter_map(|t| t.uri.as_deref())
        .collect();
    assert_eq!(uris, ["/favicon.ico"]);
    assert_eq!(report.direction(Client).probes_over_budget, 0);
}
