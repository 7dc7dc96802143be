//! Target `reassembly`: an arbitrary sequence of TCP segments through the
//! flow table, and so through both directions' reassemblers.
//!
//! Segments are decoded from the input with `arbitrary`: which of a few
//! 4-tuples, which direction, sequence and acknowledgement numbers (mostly
//! near where the harness's model of each sender stands, so that the fuzzer
//! spends its time on overlaps, holes and retransmissions rather than on
//! numbers 2^31 away), flags, window, SYN options, payload (bytes that
//! depend on the sequence number, so a retransmission carries the same
//! bytes, or arbitrary bytes), bytes cut by the snaplen, and the time step
//! (including steps backwards and past the idle and linger timeouts, which
//! brings in generations, tombstones, idle finishes and eviction).
//!
//! The stream handler checks, per connection and direction: every `on_data`
//! and `on_gap` starts where the previous one ended (from offset 0); no data,
//! gap or FIN after that direction's FIN; nothing at all after `on_rst`;
//! lengths are sane. When the table lets a connection go, the handler's
//! counts must equal the connection's direction statistics, and the HTTP
//! parser it fed must account for every byte (see [`crate::http`]).

use arbitrary::{Arbitrary, Unstructured};
use connlint::decode::{TcpFlags, TcpSegment};
use connlint::flow::{Finished, FlowLimits, FlowTable};
use connlint::http::{HttpConnection, HttpLimits};
use connlint::reassembly::{ConnectionEnd, ReassemblyLimits, SegmentMeta, Side, StreamHandler};
use connlint::Timestamp;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

#[derive(Arbitrary, Debug)]
pub struct Script {
    /// A table of two connections and two tombstones, so eviction and the
    /// tombstone cap are reached.
    small_table: bool,
    /// Out-of-order bytes buffered per direction before a gap is forced.
    out_of_order_cap: u16,
    segments: Vec<Seg>,
}

#[derive(Arbitrary, Debug)]
struct Seg {
    /// Which of the 4-tuples (see [`tuple`]).
    tuple: u8,
    from_client: bool,
    seq: Seq,
    ack: Seq,
    flags: u8,
    window: u16,
    /// Raw TCP options (cut to 40 bytes); read from SYNs.
    options: Vec<u8>,
    payload: Payload,
    /// Payload bytes the snaplen cut (claimed but not captured).
    cut: u8,
    step: Step,
}

/// A sequence (or acknowledgement) number.
#[derive(Arbitrary, Debug)]
enum Seq {
    /// Relative to the harness's idea of the sender's next sequence number
    /// (for `ack`: of the peer's).
    Near(i16),
    /// Anywhere.
    Abs(u32),
}

#[derive(Arbitrary, Debug)]
enum Payload {
    /// `n` bytes of the direction's text at this sequence number: HTTP
    /// messages, so that the HTTP layer behind the checker has work.
    Text(u8),
    Bytes(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Step {
    Same,
    Micros(u16),
    Millis(u16),
    /// Up to 18 hours: past linger (5 s), tombstones (120 s), idle (600 s).
    Seconds(u16),
    /// Capture time running backwards (merged captures, clock steps).
    BackMillis(u16),
}

const CLIENT_TEXT: &[u8] = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcdGET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
const SERVER_TEXT: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nHTTP/1.0 204 No Content\r\nConnection: close\r\n\r\n";

/// Largest payload a segment of this harness carries.
const MAX_PAYLOAD: u64 = (u16::MAX as u64) + 255;

/// The 4-tuples: two IPv4 clients of one server, and an IPv6 pair.
fn tuple(k: u8) -> (SocketAddr, SocketAddr) {
    let server4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);
    match k % 3 {
        0 => (
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000),
            server4,
        ),
        1 => (
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40001),
            server4,
        ),
        _ => (
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 8080),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 80),
        ),
    }
}

/// The script an input decodes to, for reading a crash input.
pub fn describe(data: &[u8]) -> String {
    format!(
        "{:#?}",
        Script::arbitrary_take_rest(Unstructured::new(data))
    )
}

pub fn run(data: &[u8]) {
    let u = Unstructured::new(data);
    let Ok(script) = Script::arbitrary_take_rest(u) else {
        return;
    };
    run_script(&script);
}

fn run_script(script: &Script) {
    let mut limits = FlowLimits {
        reassembly: ReassemblyLimits {
            max_out_of_order_bytes: usize::from(script.out_of_order_cap),
        },
        ..FlowLimits::default()
    };
    if script.small_table {
        limits.max_connections = 2;
        limits.max_tombstones = 2;
    }
    let http_limits = HttpLimits {
        max_head_bytes: 256,
        max_headers: 8,
        max_pending_requests: 4,
        max_transactions: 8,
        ..HttpLimits::default()
    };
    let mut table = FlowTable::new(limits, || Checker::new(http_limits));
    // The harness's model of each sender's next sequence number, per tuple
    // and side; it starts anywhere the first segment says.
    let mut next_seq = [[0x1000_0000u32, 0xF000_0000u32]; 3];
    let mut ts = Timestamp(1_700_000_000_000_000_000);
    let mut finished = 0u64;
    let mut packets = 0u64;
    let mut done = |f: Finished<Checker>| {
        finished += 1;
        packets += f.connection.packets;
        check_finished(f, http_limits);
    };
    let mut text = Vec::new();
    for (n, seg) in script.segments.iter().enumerate() {
        let k = usize::from(seg.tuple % 3);
        let (client, server) = tuple(seg.tuple);
        let (src, dst, i) = if seg.from_client {
            (client, server, 0)
        } else {
            (server, client, 1)
        };
        let seq = match seg.seq {
            Seq::Near(d) => next_seq[k][i].wrapping_add(d as i32 as u32),
            Seq::Abs(n) => n,
        };
        let ack = match seg.ack {
            Seq::Near(d) => next_seq[k][1 - i].wrapping_add(d as i32 as u32),
            Seq::Abs(n) => n,
        };
        text.clear();
        match &seg.payload {
            Payload::Text(n) => {
                let source = if i == 0 { CLIENT_TEXT } else { SERVER_TEXT };
                text.extend((0..u32::from(*n)).map(|j| {
                    let at = seq.wrapping_add(j) as usize % source.len();
                    source[at]
                }));
            }
            Payload::Bytes(b) => text.extend_from_slice(b),
        }
        let payload_len = text.len() as u32 + u32::from(seg.cut);
        let flags = TcpFlags(seg.flags);
        ts = match seg.step {
            Step::Same => ts,
            Step::Micros(n) => ts.add_nanos(i64::from(n) * 1_000),
            Step::Millis(n) => ts.add_nanos(i64::from(n) * 1_000_000),
            Step::Seconds(n) => ts.add_nanos(i64::from(n) * 1_000_000_000),
            Step::BackMillis(n) => ts.add_nanos(-i64::from(n) * 1_000_000),
        };
        let segment = TcpSegment {
            ts,
            frame: n as u64 + 1,
            src,
            dst,
            seq,
            ack,
            flags,
            window: seg.window,
            options_raw: seg.options.get(..40).unwrap_or(&seg.options),
            payload: &text,
            payload_len,
        };
        table.process(&segment, &mut done);
        let advance = payload_len
            .wrapping_add(u32::from(flags.syn()))
            .wrapping_add(u32::from(flags.fin()));
        next_seq[k][i] = next_seq[k][i].max(seq.wrapping_add(advance));
        if matches!(seg.seq, Seq::Abs(_)) || flags.syn() {
            next_seq[k][i] = seq.wrapping_add(advance);
        }
    }
    let connections = table.stats.connections;
    let late = table.stats.late_packets;
    table.finish_all(&mut done);
    assert!(table.is_empty());
    assert_eq!(finished, connections, "a connection was never finished");
    assert_eq!(
        packets + late,
        script.segments.len() as u64,
        "a segment was counted in no connection"
    );
}

/// A stream handler that checks the order of what the reassembly hands
/// over, and passes everything on to the HTTP parser.
pub struct Checker {
    next: [u64; 2],
    fin: [bool; 2],
    rst: bool,
    data_bytes: [u64; 2],
    gaps: [u64; 2],
    gap_bytes: [u64; 2],
    http: HttpConnection,
}

impl Checker {
    fn new(limits: HttpLimits) -> Checker {
        Checker {
            next: [0, 0],
            fin: [false, false],
            rst: false,
            data_bytes: [0, 0],
            gaps: [0, 0],
            gap_bytes: [0, 0],
            http: HttpConnection::new(limits),
        }
    }

    fn stream_event(&mut self, from: Side, what: &str) {
        assert!(!self.rst, "{what} from {from:?} after the reset");
        assert!(
            !self.fin[from.index()],
            "{what} from {from:?} after its FIN"
        );
    }
}

impl StreamHandler for Checker {
    fn on_end(&mut self, end: &ConnectionEnd) {
        self.http.on_end(end);
    }
    fn sender_of(payload: &[u8]) -> Option<Side> {
        HttpConnection::sender_of(payload)
    }
    fn on_data(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp) {
        self.stream_event(from, "data");
        let i = from.index();
        assert!(!bytes.is_empty(), "empty data at {offset}");
        assert!(
            bytes.len() as u64 <= MAX_PAYLOAD,
            "{} bytes in one delivery",
            bytes.len()
        );
        assert_eq!(
            offset, self.next[i],
            "data from {from:?} not where the stream stands"
        );
        self.next[i] = offset
            .checked_add(bytes.len() as u64)
            .expect("offset overflow");
        self.data_bytes[i] += bytes.len() as u64;
        self.http.on_data(from, offset, bytes, ts);
    }

    fn on_gap(&mut self, from: Side, offset: u64, len: u64, ts: Timestamp) {
        self.stream_event(from, "gap");
        let i = from.index();
        assert!(len > 0, "empty gap at {offset}");
        // One step of the stream is at most half the 32-bit sequence space
        // plus a segment.
        assert!(len <= (1 << 31) + MAX_PAYLOAD, "gap of {len} bytes");
        assert_eq!(
            offset, self.next[i],
            "gap from {from:?} not where the stream stands"
        );
        self.next[i] = offset.checked_add(len).expect("offset overflow");
        self.gaps[i] += 1;
        self.gap_bytes[i] += len;
        self.http.on_gap(from, offset, len, ts);
    }

    fn on_fin(&mut self, from: Side, ts: Timestamp) {
        self.stream_event(from, "FIN");
        self.fin[from.index()] = true;
        self.http.on_fin(from, ts);
    }

    fn on_rst(&mut self, from: Side, ts: Timestamp) {
        assert!(!self.rst, "second reset from {from:?}");
        self.rst = true;
        self.http.on_rst(from, ts);
    }

    fn on_segment(&mut self, from: Side, segment: &SegmentMeta) {
        assert!(
            !self.rst,
            "segment from {from:?} after the reset was handed over"
        );
        assert!(u64::from(segment.len) <= MAX_PAYLOAD);
    }
}

/// What the table hands over must agree with what the handler saw.
fn check_finished(f: Finished<Checker>, http_limits: HttpLimits) {
    let Finished {
        connection,
        handler,
    } = f;
    for side in [Side::Client, Side::Server] {
        let i = side.index();
        let stats = connection.stats(side);
        assert_eq!(stats.bytes, handler.data_bytes[i], "{side:?} bytes");
        assert_eq!(stats.gaps, handler.gaps[i], "{side:?} gaps");
        assert_eq!(stats.gap_bytes, handler.gap_bytes[i], "{side:?} gap bytes");
    }
    assert!(connection.end_ts >= connection.start_ts);
    let report = handler.http.finish();
    for side in [Side::Client, Side::Server] {
        let d = report.direction(side);
        assert_eq!(
            d.bytes,
            handler.data_bytes[side.index()],
            "HTTP saw other bytes"
        );
    }
    crate::http::check_report(&report, &[], &http_limits);
}
