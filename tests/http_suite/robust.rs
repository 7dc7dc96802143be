//! Hostile and random input: never a panic, never a stall, and the report
//! stays consistent.

use crate::common::*;
use connlint::http::{HttpLimits, MessageEnd};
use connlint::reassembly::Side;
use proptest::prelude::*;

const SNIPPETS: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\n",
    b"POST /p HTTP/1.0\r\n",
    b"HEAD / HTTP/1.1\r\n\r\n",
    b"CONNECT h:1 HTTP/1.1\r\n\r\n",
    b"GET /0.9\r\n",
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 101 Switching\r\n\r\n",
    b"HTTP/1.0 204 No\r\n\r\n",
    b"Content-Length: 5\r\n",
    b"Content-Length: 99999999999999999999\r\n",
    b"Content-Length: 3, 4\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: gzip\r\n",
    b"Expect: 100-continue\r\n",
    b"Connection: close, keep-alive, x\r\n",
    b"Keep-Alive: timeout=x\r\n",
    b"\r\n",
    b"\n",
    b"5\r\nhello\r\n",
    b"0\r\n\r\n",
    b"ffffffffffffffff\r\n",
    b"3;x=y\r\nabc\r\n",
    b"X: y\r\n",
    b"\x16\x03\x01\x00",
    b"\x00\xff\r",
];

#[derive(Clone, Debug)]
enum Op {
    Data(Side, Vec<u8>),
    Gap(Side, u64),
    Fin(Side),
    Rst(Side),
    /// Take the settled transactions, as a caller may at any time.
    Drain,
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Client), Just(Server)]
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(proptest::sample::select(SNIPPETS), 1..6)
            .prop_map(|parts| parts.concat()),
        proptest::collection::vec(any::<u8>(), 1..64),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (side(), data()).prop_map(|(s, d)| Op::Data(s, d)),
        1 => (side(), 1..200u64).prop_map(|(s, n)| Op::Gap(s, n)),
        1 => side().prop_map(Op::Fin),
        1 => side().prop_map(Op::Rst),
        1 => Just(Op::Drain),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_streams_never_panic_and_stay_consistent(ops in proptest::collection::vec(op(), 1..40)) {
        let limits = HttpLimits {
            max_head_bytes: 128,
            max_headers: 4,
            max_pending_requests: 3,
            max_transactions: 6,
            ..HttpLimits::default()
        };
        let mut w = Wire::with_limits(limits);
        let mut drained = Vec::new();
        for (n, op) in ops.iter().enumerate() {
            let t = n as i64 * 10;
            match op {
                Op::Data(s, d) => { w.send(*s, d, t); }
                Op::Gap(s, len) => { w.gap(*s, *len, t); }
                Op::Fin(s) => { w.fin(*s, t); }
                Op::Rst(s) => { w.rst(*s, t); }
                Op::Drain => drained.extend(w.http.drain_settled(None)),
            }
        }
        let mut report = w.finish();
        if report.is_http {
            drained.append(&mut report.transactions);
            report.transactions = drained;
        } else {
            prop_assert!(drained.is_empty());
        }
        for (n, tx) in report.transactions.iter().enumerate() {
            prop_assert_eq!(tx.index, n as u64);
            prop_assert!(tx.request.is_some() || tx.response.is_some());
            for msg in tx.request.iter().chain(tx.response.iter()) {
                prop_assert!(msg.end != MessageEnd::InProgress);
                prop_assert!(msg.head_bytes <= 128 + 4);
                prop_assert!(msg.last_byte_ts >= msg.first_byte_ts);
                prop_assert_eq!(msg.framing_satisfied, msg.end == MessageEnd::Complete);
            }
            if tx.request.is_some() && tx.response.is_none() {
                prop_assert!(tx.no_response.is_some());
            }
        }
        if !report.is_http {
            prop_assert!(report.transactions.is_empty());
        }
        // Every delivered byte is accounted for exactly once (unless
        // transactions past the cap took theirs with them).
        let all_kept = report.anomalies.transactions_not_kept == 0;
        for side in [Client, Server].into_iter().filter(|_| all_kept) {
            let d = report.direction(side);
            let in_messages: u64 = report
                .transactions
                .iter()
                .filter_map(|t| match side {
                    Client => t.request.as_ref(),
                    Server => t.response.as_ref(),
                })
                .map(|m| m.head_bytes + m.wire_body_bytes)
                .sum();
            let elsewhere = d.opaque_bytes
                + d.unparsed_bytes
                + d.stray_crlf_bytes
                + d.interim_bytes
                + d.bytes_after_close;
            prop_assert_eq!(d.bytes, in_messages + elsewhere, "{:?}: {:?}", side, d);
        }
    }
}
