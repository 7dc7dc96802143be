//! Target `http`: the HTTP stream parser of one connection fed an arbitrary
//! list of events for both directions (see [`Script`]): byte chunks (raw, or
//! built from HTTP snippets so that the fuzzer reaches deep states quickly), chunks that
//! overlap what was delivered or skip ahead without a gap (which the parser
//! must handle itself), gaps, FIN, RST, draining settled transactions, and
//! then `finish`.
//!
//! Invariants (those of the HTTP suite's property test, plus): no panic, no
//! stall; every delivered byte is accounted for exactly once (in a message's
//! head or body, or as opaque, unparsed, stray CRLF, interim or after-close
//! bytes); the parser counts exactly the new bytes it was given; transactions
//! are indexed in order, each has a request or a response, none is left in
//! progress; memory stays bounded (no more transactions held than the limit).

use arbitrary::{Arbitrary, Unstructured};
use connlint::flow::{Connection, Handshake, RoleEvidence};
use connlint::http::{HttpConnection, HttpConnectionReport, HttpLimits, MessageEnd, Transaction};
use connlint::reassembly::{ConnectionEnd, Side, StreamHandler};
use connlint::Timestamp;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Pieces of HTTP the snippet chunks are built from.
pub const SNIPPETS: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\n",
    b"POST /p HTTP/1.0\r\n",
    b"HEAD / HTTP/1.1\r\n\r\n",
    b"CONNECT h:1 HTTP/1.1\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\n",
    b"GET /0.9\r\n",
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.0 200 OK\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
    b"HTTP/1.0 204 No\r\n\r\n",
    b"HTTP/1.1 304 Not Modified\r\n\r\n",
    b"Content-Length: 5\r\n",
    b"Content-Length: 0\r\n",
    b"Content-Length: 99999999999999999999\r\n",
    b"Content-Length: 3, 4\r\n",
    b"Content-Length: 5, 5\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: gzip, chunked\r\n",
    b"Transfer-Encoding: gzip\r\n",
    b"Expect: 100-continue\r\n",
    b"Connection: close, keep-alive, x\r\n",
    b"Connection: keep-alive\r\n",
    b"Connection: close\r\n",
    b"Connection: Content-Length, TE\r\n",
    b"Keep-Alive: timeout=5, max=100\r\n",
    b"Keep-Alive: timeout=x\r\n",
    b"Proxy-Connection: keep-alive\r\n",
    b"Trailer: X\r\n",
    b"Upgrade: h2c\r\n",
    b"\r\n",
    b"\n",
    b"hello",
    b"5\r\nhello\r\n",
    b"0\r\n\r\n",
    b"0\r\nX: t\r\n\r\n",
    b"ffffffffffffffff\r\n",
    b"3;x=y\r\nabc\r\n",
    b"X: y\r\n",
    b" folded\r\n",
    b"\x16\x03\x01\x00",
    b"\x00\xff\r",
];

/// Input layout: byte 0 bit 0 chooses tiny limits (heads, headers, pending
/// requests, transactions: every cap is reached) or the defaults; then
/// events, each an op byte (bits 0-2 the kind, bit 3 the side: 0 client,
/// 1 server; bit 4 a variant) and its arguments. Payload bytes sit raw in the
/// input, so a seed is a capture's streams with a few op bytes between
/// segments, and dictionary words land inside HTTP text.
///
/// ```text
/// 0, 1  Data     len: u16 LE, then len bytes (fewer if the input ends)
/// 2     Snippets n: u8, then n indices into SNIPPETS, concatenated
/// 3     Overlap  back: u8, len: u16, bytes: starts `back` bytes before
///                where the direction stands
/// 4     Hole     skip: u8, len: u16, bytes: starts `skip` bytes after it,
///                with no gap announced
/// 5     Gap      u32 LE + 1 bytes; with bit 4, shifted left by 20
/// 6     Fin, or Rst with bit 4
/// 7     Drain settled transactions, or with bit 4: wait u16 LE milliseconds
/// ```
#[derive(Debug)]
pub struct Script {
    small_limits: bool,
    events: Vec<Event>,
}

#[derive(Debug)]
enum Event {
    Data(bool, Vec<u8>),
    Overlap(bool, u8, Vec<u8>),
    Hole(bool, u8, Vec<u8>),
    Gap(bool, u64),
    Fin(bool),
    Rst(bool),
    Drain,
    Wait(u16),
}

impl Script {
    fn parse(data: &[u8]) -> arbitrary::Result<Script> {
        let mut u = Unstructured::new(data);
        let small_limits = u8::arbitrary(&mut u)? & 1 != 0;
        let mut events = Vec::new();
        while !u.is_empty() {
            let op = u8::arbitrary(&mut u)?;
            let client = op & 0x08 == 0;
            let variant = op & 0x10 != 0;
            let event = match op & 0x07 {
                0 | 1 => Event::Data(client, raw(&mut u)?),
                2 => {
                    let n = u8::arbitrary(&mut u)?;
                    let mut out = Vec::new();
                    for &k in u.bytes(usize::from(n).min(u.len()))? {
                        out.extend_from_slice(SNIPPETS[usize::from(k) % SNIPPETS.len()]);
                    }
                    Event::Data(client, out)
                }
                3 => Event::Overlap(client, u8::arbitrary(&mut u)?, raw(&mut u)?),
                4 => Event::Hole(client, u8::arbitrary(&mut u)?, raw(&mut u)?),
                5 => {
                    let n = u64::from(u32::from_le_bytes(<[u8; 4]>::arbitrary(&mut u)?)) + 1;
                    // Up to 2^52 bytes: offsets far past 32 bits, never near overflow.
                    Event::Gap(client, if variant { n << 20 } else { n })
                }
                6 if variant => Event::Rst(client),
                6 => Event::Fin(client),
                _ if variant => Event::Wait(u16::from_le_bytes(<[u8; 2]>::arbitrary(&mut u)?)),
                _ => Event::Drain,
            };
            events.push(event);
        }
        Ok(Script {
            small_limits,
            events,
        })
    }
}

/// A u16 LE length and that many bytes (or what is left).
fn raw(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let len = usize::from(u16::from_le_bytes(<[u8; 2]>::arbitrary(u)?));
    Ok(u.bytes(len.min(u.len()))?.to_vec())
}

fn side(client: bool) -> Side {
    if client {
        Side::Client
    } else {
        Side::Server
    }
}

/// The script an input decodes to, for reading a crash input.
pub fn describe(data: &[u8]) -> String {
    let Ok(script) = Script::parse(data) else {
        return "(not a script)".to_string();
    };
    let mut out = format!("small_limits: {}\n", script.small_limits);
    for event in &script.events {
        let line = match event {
            Event::Data(c, b) => format!("Data {:?} \"{}\"", side(*c), b.escape_ascii()),
            Event::Overlap(c, n, b) => {
                format!("Overlap {:?} back {n} \"{}\"", side(*c), b.escape_ascii())
            }
            Event::Hole(c, n, b) => {
                format!("Hole {:?} skip {n} \"{}\"", side(*c), b.escape_ascii())
            }
            other => format!("{other:?}"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

pub fn run(data: &[u8]) {
    let Ok(script) = Script::parse(data) else {
        return;
    };
    run_script(&script);
}

fn run_script(script: &Script) {
    let limits = if script.small_limits {
        HttpLimits {
            max_head_bytes: 128,
            max_headers: 4,
            max_pending_requests: 3,
            max_transactions: 6,
            ..HttpLimits::default()
        }
    } else {
        HttpLimits {
            max_transactions: 64,
            ..HttpLimits::default()
        }
    };
    let mut http = HttpConnection::new(limits);
    let mut conn = Connection::new(
        0,
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80),
        RoleEvidence::Syn,
        1,
        Timestamp(1_700_000_000_000_000_000),
    );
    conn.handshake = Handshake {
        syn: Some(conn.start_ts),
        syn_ack: Some(conn.start_ts.add_nanos(1_000_000)),
        ack: Some(conn.start_ts.add_nanos(2_000_000)),
    };
    let mut ts = conn.start_ts.add_nanos(2_000_000);
    // Where each direction stands as the parser sees it (the end of the
    // furthest data or gap; unknown before either), and the new bytes
    // handed over: the parser must count exactly those. Data starting past
    // where the direction stands announces a hole up to it, even when it
    // carries no bytes.
    let mut next: [Option<u64>; 2] = [None, None];
    let mut new_bytes = [0u64; 2];
    let mut drained: Vec<Transaction> = Vec::new();
    for event in &script.events {
        ts = ts.add_nanos(10_000);
        match event {
            Event::Data(c, bytes) | Event::Overlap(c, _, bytes) | Event::Hole(c, _, bytes) => {
                let i = side(*c).index();
                let here = next[i].unwrap_or(0);
                let offset = match event {
                    Event::Overlap(_, back, _) => here.saturating_sub(u64::from(*back)),
                    Event::Hole(_, skip, _) => here + u64::from(*skip),
                    _ => here,
                };
                http.on_data(side(*c), offset, bytes, ts);
                let from = next[i].map_or(offset, |n| n.max(offset));
                if next[i].is_some() {
                    next[i] = Some(from);
                }
                if !bytes.is_empty() {
                    let end = offset + bytes.len() as u64;
                    new_bytes[i] += end.saturating_sub(from);
                    next[i] = Some(from.max(end));
                }
            }
            Event::Gap(c, len) => {
                let i = side(*c).index();
                let here = next[i].unwrap_or(0);
                http.on_gap(side(*c), here, *len, ts);
                next[i] = Some(here + len);
            }
            Event::Fin(c) => {
                conn.fin[side(*c).index()].get_or_insert(ts);
                http.on_fin(side(*c), ts);
            }
            Event::Rst(c) => {
                conn.rst.get_or_insert((side(*c), ts));
                http.on_rst(side(*c), ts);
            }
            Event::Drain => drained.extend(http.drain_settled(conn.handshake_rtt_ns())),
            Event::Wait(ms) => ts = ts.add_nanos(i64::from(*ms) * 1_000_000),
        }
        assert!(
            http.transactions().count() <= limits.max_transactions,
            "more transactions held than the limit"
        );
    }
    conn.end_ts = ts;
    http.on_end(&ConnectionEnd {
        rst: conn.rst,
        fin: conn.fin,
        handshake_rtt_ns: conn.handshake_rtt_ns(),
    });
    let report = http.finish();
    for s in [Side::Client, Side::Server] {
        assert_eq!(
            report.direction(s).bytes,
            new_bytes[s.index()],
            "{s:?}: the parser counted other bytes than it was given"
        );
    }
    check_report(&report, &drained, &limits);
}

/// Checks a finished connection's HTTP report, with the transactions
/// drained from it before `finish` (which come first).
pub fn check_report(report: &HttpConnectionReport, drained: &[Transaction], limits: &HttpLimits) {
    if !report.is_http {
        assert!(
            report.transactions.is_empty(),
            "transactions on a non-HTTP connection"
        );
        assert!(
            drained.is_empty(),
            "transactions drained from a non-HTTP connection"
        );
    }
    let all: Vec<&Transaction> = drained.iter().chain(&report.transactions).collect();
    for (n, tx) in all.iter().enumerate() {
        assert_eq!(tx.index, n as u64, "transactions out of order");
        assert!(
            tx.request.is_some() || tx.response.is_some(),
            "empty transaction"
        );
        for msg in tx.request.iter().chain(tx.response.iter()) {
            assert!(
                msg.end != MessageEnd::InProgress,
                "message left in progress"
            );
            assert!(
                msg.head_bytes <= limits.max_head_bytes as u64 + 4,
                "head of {} bytes kept",
                msg.head_bytes
            );
            assert_eq!(msg.framing_satisfied, msg.end == MessageEnd::Complete);
            assert!(
                msg.end_offset >= msg.start_offset,
                "message ends before it starts"
            );
        }
        if tx.request.is_some() && tx.response.is_none() {
            assert!(
                tx.no_response.is_some(),
                "request with neither response nor reason"
            );
        }
    }
    // Every delivered byte is accounted for exactly once (unless
    // transactions past the cap took theirs with them).
    if report.anomalies.transactions_not_kept != 0 {
        return;
    }
    for side in [Side::Client, Side::Server] {
        let d = report.direction(side);
        let in_messages: u64 = all
            .iter()
            .filter_map(|t| match side {
                Side::Client => t.request.as_ref(),
                Side::Server => t.response.as_ref(),
            })
            .map(|m| m.head_bytes + m.wire_body_bytes)
            .sum();
        let elsewhere = d.opaque_bytes
            + d.unparsed_bytes
            + d.stray_crlf_bytes
            + d.interim_bytes
            + d.bytes_after_close;
        assert_eq!(
            d.bytes,
            in_messages + elsewhere,
            "{side:?}: bytes unaccounted: {d:?}"
        );
    }
}
