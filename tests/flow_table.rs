//! The flow table on hand-built segment sequences: roles, handshake timing,
//! generations, gaps from acknowledgements, late packets, close.

use connlint::decode::{TcpFlags, TcpSegment};
use connlint::flow::{CloseKind, Connection, EndReason, FlowLimits, FlowTable, RoleEvidence};
use connlint::reassembly::{Side, StreamHandler};
use connlint::Timestamp;
use std::net::SocketAddr;

const C: &str = "10.0.0.1:51000";
const S: &str = "10.0.0.2:80";

#[derive(Default, Debug)]
struct Log(Vec<String>);

impl StreamHandler for Log {
    /// Who speaks first, as the HTTP layer reads it: the flow table's role
    /// hint for a connection picked up mid-stream.
    fn sender_of(payload: &[u8]) -> Option<Side> {
        connlint::http::HttpConnection::sender_of(payload)
    }
    fn on_data(&mut self, from: Side, offset: u64, bytes: &[u8], _: Timestamp) {
        self.0.push(format!(
            "{}@{offset}:{}",
            from.name(),
            String::from_utf8_lossy(bytes)
        ));
    }
    fn on_gap(&mut self, from: Side, offset: u64, len: u64, _: Timestamp) {
        self.0.push(format!("{}@{offset}:gap{len}", from.name()));
    }
    fn on_fin(&mut self, from: Side, _: Timestamp) {
        self.0.push(format!("{}:fin", from.name()));
    }
    fn on_rst(&mut self, from: Side, _: Timestamp) {
        self.0.push(format!("{}:rst", from.name()));
    }
}

struct Seg {
    ms: i64,
    src: &'static str,
    dst: &'static str,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &'static [u8],
}

fn seg(
    ms: i64,
    src: &'static str,
    dst: &'static str,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &'static [u8],
) -> Seg {
    Seg {
        ms,
        src,
        dst,
        flags,
        seq,
        ack,
        payload,
    }
}

const SYN: u8 = TcpFlags::SYN;
const ACK: u8 = TcpFlags::ACK;
const FIN: u8 = TcpFlags::FIN;
const RST: u8 = TcpFlags::RST;
const PA: u8 = TcpFlags::PSH | TcpFlags::ACK;

fn run(segs: &[Seg]) -> Vec<(Connection, Log)> {
    run_with(segs, Log::default)
}

fn run_with<H: StreamHandler>(segs: &[Seg], new: impl FnMut() -> H) -> Vec<(Connection, H)> {
    run_limits(segs, FlowLimits::default(), new)
}

fn run_limits<H: StreamHandler>(
    segs: &[Seg],
    limits: FlowLimits,
    new: impl FnMut() -> H,
) -> Vec<(Connection, H)> {
    let mut table = FlowTable::new(limits, new);
    let mut out = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        let src: SocketAddr = s.src.parse().unwrap();
        let dst: SocketAddr = s.dst.parse().unwrap();
        let t = TcpSegment {
            ts: Timestamp(s.ms * 1_000_000),
            frame: i as u64 + 1,
            src,
            dst,
            seq: s.seq,
            ack: s.ack,
            flags: TcpFlags(s.flags),
            window: 1000,
            options_raw: &[],
            payload: s.payload,
            payload_len: s.payload.len() as u32,
        };
        table.process(&t, &mut |f| out.push((f.connection, f.handler)));
    }
    table.finish_all(&mut |f| out.push((f.connection, f.handler)));
    out.sort_by_key(|(c, _)| c.id);
    out
}

fn handshake(isn_c: u32, isn_s: u32) -> Vec<Seg> {
    vec![
        seg(0, C, S, SYN, isn_c, 0, b""),
        seg(10, S, C, SYN | ACK, isn_s, isn_c.wrapping_add(1), b""),
        seg(
            20,
            C,
            S,
            ACK,
            isn_c.wrapping_add(1),
            isn_s.wrapping_add(1),
            b"",
        ),
    ]
}

#[test]
fn full_connection_roles_handshake_data_and_fin() {
    let mut s = handshake(1000, 5000);
    s.push(seg(21, C, S, PA, 1001, 5001, b"GET / HTTP/1.1\r\n\r\n"));
    s.push(seg(40, S, C, PA, 5001, 1019, b"HTTP/1.1 200 OK\r\n\r\n"));
    s.push(seg(41, C, S, FIN | ACK, 1019, 5020, b""));
    s.push(seg(50, S, C, FIN | ACK, 5020, 1020, b""));
    s.push(seg(51, C, S, ACK, 1020, 5021, b""));
    let out = run(&s);
    assert_eq!(out.len(), 1);
    let (c, log) = &out[0];
    assert_eq!(c.client.to_string(), C);
    assert_eq!(c.roles, RoleEvidence::Syn);
    assert_eq!(c.handshake_rtt_ns(), Some(20_000_000));
    assert_eq!(c.close_kind(), CloseKind::Fin);
    assert_eq!(c.packets, 8);
    assert_eq!(c.stats(Side::Client).bytes, 18);
    assert_eq!(c.stats(Side::Server).bytes, 19);
    assert_eq!(
        log.0,
        vec![
            "client@0:GET / HTTP/1.1\r\n\r\n",
            "server@0:HTTP/1.1 200 OK\r\n\r\n",
            "client:fin",
            "server:fin"
        ]
    );
}

#[test]
fn sequence_wraparound_is_invisible() {
    let isn = u32::MAX - 5;
    let mut s = handshake(isn, 7);
    s.push(seg(21, C, S, PA, isn.wrapping_add(1), 8, b"abcdefgh"));
    s.push(seg(22, C, S, PA, isn.wrapping_add(9), 8, b"ijkl"));
    let out = run(&s);
    assert_eq!(out[0].1 .0, vec!["client@0:abcdefgh", "client@8:ijkl"]);
}

#[test]
fn ack_past_a_hole_declares_the_gap_at_once() {
    let mut s = handshake(0, 100);
    s.push(seg(21, C, S, PA, 1, 101, b"aaaa"));
    // bytes 4..8 never captured
    s.push(seg(23, C, S, PA, 9, 101, b"cccc"));
    s.push(seg(24, S, C, ACK, 101, 13, b""));
    let out = run(&s);
    assert_eq!(
        out[0].1 .0,
        vec!["client@0:aaaa", "client@4:gap4", "client@8:cccc"]
    );
    assert_eq!(out[0].0.stats(Side::Client).gaps, 1);
    assert_eq!(out[0].0.stats(Side::Client).gap_bytes, 4);
}

#[test]
fn a_new_syn_on_the_tuple_is_a_new_generation() {
    let mut s = handshake(1000, 5000);
    s.push(seg(30, C, S, RST, 1001, 0, b""));
    // The same port again, new ISN.
    s.push(seg(40, C, S, SYN, 90000, 0, b""));
    s.push(seg(41, C, S, SYN, 90000, 0, b"")); // retransmitted SYN: same connection
    let out = run(&s);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].0.close_kind(), CloseKind::Rst);
    assert_eq!(out[0].0.end_reason, EndReason::Reused);
    assert_eq!(out[1].0.generation, 1);
    assert_eq!(out[1].0.packets, 2);
}

#[test]
fn late_packets_after_close_stay_with_the_connection() {
    let mut s = handshake(1, 1);
    s.push(seg(30, C, S, FIN | ACK, 2, 2, b""));
    s.push(seg(31, S, C, FIN | ACK, 2, 3, b""));
    s.push(seg(32, C, S, ACK, 3, 3, b""));
    // a retransmitted last ACK well after the linger: absorbed, no new connection
    s.push(seg(9_000, C, S, ACK, 3, 3, b""));
    let out = run(&s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.end_reason, EndReason::Closed);
}

#[test]
fn mid_stream_pickup_takes_roles_from_the_payload() {
    // First packet is a pure ACK from the server side on a high port pair:
    // ports would guess wrong; the request line settles it.
    let s = vec![
        seg(0, "10.0.0.2:8001", "10.0.0.1:9000", ACK, 500, 700, b""),
        seg(
            1,
            "10.0.0.1:9000",
            "10.0.0.2:8001",
            PA,
            700,
            500,
            b"GET /x HTTP/1.1\r\n\r\n",
        ),
        seg(
            2,
            "10.0.0.2:8001",
            "10.0.0.1:9000",
            PA,
            500,
            719,
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ),
    ];
    let out = run(&s);
    let c = &out[0].0;
    assert_eq!(c.client.to_string(), "10.0.0.1:9000");
    assert_eq!(c.roles, RoleEvidence::Payload);
    assert_eq!(c.handshake_rtt_ns(), None);
    assert_eq!(out[0].1 .0[0], "client@0:GET /x HTTP/1.1\r\n\r\n");

    // A handler that cannot tell who speaks first leaves the roles to the
    // ports: 9000 is a well-known alternative server port, 8001 is not.
    struct Mute;
    impl StreamHandler for Mute {
        fn on_data(&mut self, _: Side, _: u64, _: &[u8], _: Timestamp) {}
        fn on_gap(&mut self, _: Side, _: u64, _: u64, _: Timestamp) {}
        fn on_fin(&mut self, _: Side, _: Timestamp) {}
        fn on_rst(&mut self, _: Side, _: Timestamp) {}
    }
    let out = run_with(&s, || Mute);
    let c = &out[0].0;
    assert_eq!(c.client.to_string(), "10.0.0.2:8001");
    assert_eq!(c.roles, RoleEvidence::Port);
}

#[test]
fn retransmission_with_other_bytes_is_counted() {
    let mut s = handshake(0, 0);
    s.push(seg(21, C, S, PA, 1, 1, b"hello"));
    s.push(seg(22, C, S, PA, 1, 1, b"hello"));
    s.push(seg(23, C, S, PA, 1, 1, b"HELLO"));
    let out = run(&s);
    let st = out[0].0.stats(Side::Client);
    assert_eq!(st.retransmissions, 2);
    assert_eq!(st.conflicting_overlaps, 1);
    assert_eq!(out[0].1 .0, vec!["client@0:hello"]);
}

#[test]
fn keepalive_probe_is_not_data() {
    let mut s = handshake(0, 0);
    s.push(seg(21, C, S, PA, 1, 1, b"abc"));
    s.push(seg(60_000, C, S, ACK, 3, 1, b"c")); // seq = snd.una - 1, one old byte
    let out = run(&s);
    let st = out[0].0.stats(Side::Client);
    assert_eq!(st.keepalives, 1);
    assert_eq!(st.retransmissions, 0);
    assert_eq!(st.bytes, 3);
}

#[test]
fn data_in_the_syn_is_kept() {
    let s = vec![
        seg(0, C, S, SYN, 10, 0, b"GET / HTTP/1.1\r\n\r\n"),
        seg(5, S, C, SYN | ACK, 20, 29, b""),
        seg(6, C, S, ACK, 29, 21, b""),
    ];
    let out = run(&s);
    assert_eq!(out[0].1 .0, vec!["client@0:GET / HTTP/1.1\r\n\r\n"]);
    assert_eq!(out[0].0.handshake_rtt_ns(), Some(6_000_000));
}

/// Two connections from different client ports, each closed (FIN both
/// ways, last ACK) at `close_ms`, then a late duplicate of the first one's
/// last ACK at 40 ms, within the 5 s linger: with `max_lingering` 1 the
/// first is finished when the second begins closing, and the late ACK is
/// counted as such; with 2, both linger and the ACK is the first's.
fn two_closes(max_lingering: usize) -> (Vec<Connection>, connlint::flow::FlowStats) {
    const C2: &str = "10.0.0.1:51001";
    let segs = [
        seg(0, C, S, SYN, 1, 0, b""),
        seg(1, S, C, SYN | ACK, 1, 2, b""),
        seg(2, C, S, ACK, 2, 2, b""),
        seg(3, C2, S, SYN, 1, 0, b""),
        seg(4, S, C2, SYN | ACK, 1, 2, b""),
        seg(5, C2, S, ACK, 2, 2, b""),
        seg(10, C, S, FIN | ACK, 2, 2, b""),
        seg(11, S, C, FIN | ACK, 2, 3, b""),
        seg(12, C, S, ACK, 3, 3, b""),
        seg(20, C2, S, FIN | ACK, 2, 2, b""),
        seg(21, S, C2, FIN | ACK, 2, 3, b""),
        seg(22, C2, S, ACK, 3, 3, b""),
        seg(40, C, S, ACK, 3, 3, b""),
    ];
    let limits = FlowLimits {
        max_lingering,
        ..FlowLimits::default()
    };
    let mut table = FlowTable::new(limits, Log::default);
    let mut out = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        let t = TcpSegment {
            ts: Timestamp(s.ms * 1_000_000),
            frame: i as u64 + 1,
            src: s.src.parse().unwrap(),
            dst: s.dst.parse().unwrap(),
            seq: s.seq,
            ack: s.ack,
            flags: TcpFlags(s.flags),
            window: 1000,
            options_raw: &[],
            payload: s.payload,
            payload_len: s.payload.len() as u32,
        };
        table.process(&t, &mut |f| out.push(f.connection));
    }
    table.finish_all(&mut |f| out.push(f.connection));
    out.sort_by_key(|c| c.id);
    (out, table.stats.clone())
}

#[test]
fn closed_connections_linger_up_to_the_bound_and_the_first_closed_goes_first() {
    let (conns, stats) = two_closes(2);
    assert_eq!(conns.len(), 2);
    assert_eq!(
        conns[0].packets, 7,
        "the late ACK is the first connection's"
    );
    assert_eq!((stats.linger_cut, stats.late_packets), (0, 0));

    let (conns, stats) = two_closes(1);
    assert_eq!(conns.len(), 2);
    assert_eq!(conns[0].packets, 6, "finished before the late ACK came");
    assert_eq!(conns[0].end_reason, EndReason::Closed);
    assert_eq!(conns[1].packets, 6);
    assert_eq!(stats.linger_cut, 1);
    assert_eq!((stats.late_packets, stats.linger_cut_late), (1, 1));
}

// Idle connections: a long timeout once established, eviction under table
// pressure, and a packet that continues a connection let go resumes it.

const HOUR_MS: i64 = 3_600_000;

/// A handshake and one exchange between C and S (client ISN 1000, server
/// ISN 5000), the last packet at 40 ms.
fn one_exchange() -> Vec<Seg> {
    let mut s = handshake(1000, 5000);
    s.push(seg(21, C, S, PA, 1001, 5001, b"GET / HTTP/1.1\r\n\r\n"));
    s.push(seg(40, S, C, PA, 5001, 1019, b"HTTP/1.1 200 OK\r\n\r\n"));
    s
}

/// The client's next request on that connection, at `ms`.
fn next_request(ms: i64) -> Seg {
    seg(ms, C, S, PA, 1019, 5020, b"GET /2 HTTP/1.1\r\n\r\n")
}

#[test]
fn an_established_connection_idles_up_to_its_timeout() {
    let limits = FlowLimits::default();
    assert_eq!(limits.established_timeout_ns, 24 * HOUR_MS * 1_000_000);
    // Just under the timeout: one connection.
    let mut s = one_exchange();
    s.push(next_request(40 + 24 * HOUR_MS - 1));
    let out = run_limits(&s, limits, Log::default);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.packets, 6);
    // At it: let go, and the request resumes it.
    let mut s = one_exchange();
    s.push(next_request(40 + 24 * HOUR_MS));
    let out = run_limits(&s, limits, Log::default);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].0.end_reason, EndReason::IdleTimeout);
    let resumed = out[1].0.resumes.expect("resumed");
    assert_eq!((resumed.id, resumed.closed), (0, false));
    assert_eq!(out[1].0.generation, 0);
    assert_eq!(out[1].1 .0, vec!["client@0:GET /2 HTTP/1.1\r\n\r\n"]);
}

#[test]
fn an_unanswered_syn_idles_out_after_the_short_timeout() {
    let limits = FlowLimits::default();
    assert_eq!(limits.idle_timeout_ns, 600_000_000_000);
    let syn = |ms| seg(ms, C, S, SYN, 1000, 0, b"");
    // Retransmitted just under 600 s: the same connection.
    let out = run_limits(&[syn(0), syn(599_999)], limits, Log::default);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.packets, 2);
    // At 600 s: the first is finished, and nothing resumes a handshake.
    let out = run_limits(&[syn(0), syn(600_000)], limits, Log::default);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].0.end_reason, EndReason::IdleTimeout);
    assert!(out[1].0.resumes.is_none());
}

/// The exchange, then another connection's SYN at `at` ms with a table of
/// one (it evicts the first), then `then`.
fn evicted_then(then: Seg) -> Vec<(Connection, Log)> {
    let limits = FlowLimits {
        max_connections: 1,
        ..FlowLimits::default()
    };
    let mut s = one_exchange();
    s.push(seg(1_000, "10.0.0.1:51001", S, SYN, 7, 0, b""));
    s.push(then);
    run_limits(&s, limits, Log::default)
}

#[test]
fn a_segment_continuing_an_evicted_connection_resumes_it() {
    // The server's next bytes (offset 19 of its stream) from the server:
    // roles stay as the handshake set them.
    let out = evicted_then(seg(2_000, S, C, PA, 5020, 1019, b"more"));
    assert_eq!(out.len(), 3);
    assert_eq!(out[0].0.end_reason, EndReason::Evicted);
    let c = &out[2].0;
    assert_eq!(c.resumes.map(|p| p.id), Some(0));
    assert_eq!(c.client.to_string(), C);
    assert_eq!(c.roles, RoleEvidence::Syn);
    // A side that had sent nothing is judged by its acknowledgement: here
    // the client's ACK of the server's stream.
    let out = evicted_then(seg(2_000, C, S, ACK, 1019, 5020, b""));
    assert_eq!(out[2].0.resumes.map(|p| p.id), Some(0));
}

#[test]
fn a_segment_far_from_an_evicted_connections_numbers_is_a_new_connection() {
    // 2^31 past the client's next byte: not a continuation (the resume
    // window is 2^30, TCP's largest window).
    let far = 1019u32.wrapping_add(1 << 31);
    let out = evicted_then(seg(2_000, C, S, PA, far, 5020, b"x"));
    assert_eq!(out.len(), 3);
    assert!(out[2].0.resumes.is_none());
    assert!(out[2].0.previous.is_none());
    // 2^30 past it is one.
    let near = 1019u32.wrapping_add(1 << 30);
    let out = evicted_then(seg(2_000, C, S, PA, near, 5020, b"x"));
    assert_eq!(out[2].0.resumes.map(|p| p.id), Some(0));
}

#[test]
fn a_syn_after_an_evicted_connection_is_the_tuples_next_generation() {
    let out = evicted_then(seg(2_000, C, S, SYN, 90_000, 0, b""));
    let c = &out[2].0;
    assert!(c.resumes.is_none());
    assert_eq!(c.generation, 1);
    let previous = c.previous.expect("previous");
    assert_eq!((previous.id, previous.closed), (0, false));
}

/// A handler that holds every byte delivered (as a head that never ends is
/// held), and says so to the memory budget.
#[derive(Default)]
struct Hoard(usize);

impl StreamHandler for Hoard {
    fn on_data(&mut self, _: Side, _: u64, bytes: &[u8], _: Timestamp) {
        self.0 += bytes.len();
    }
    fn on_gap(&mut self, _: Side, _: u64, _: u64, _: Timestamp) {}
    fn on_fin(&mut self, _: Side, _: Timestamp) {}
    fn on_rst(&mut self, _: Side, _: Timestamp) {}
    fn held_bytes(&self) -> usize {
        self.0
    }
}

/// Three connections (client ports 51000-51002) each complete their
/// handshake, then each sends 1,000 bytes, the first first: returns the
/// connections finished before the end of the capture, the stats, and the
/// bytes still charged.
fn hoarders(max_memory: usize) -> (Vec<Connection>, connlint::flow::FlowStats, usize) {
    const CS: [&str; 3] = ["10.0.0.1:51000", "10.0.0.1:51001", "10.0.0.1:51002"];
    static DATA: [u8; 1000] = [b'x'; 1000];
    let mut segs = Vec::new();
    for (i, c) in CS.into_iter().enumerate() {
        let ms = i as i64 * 3;
        segs.push(seg(ms, c, S, SYN, 1, 0, b""));
        segs.push(seg(ms + 1, S, c, SYN | ACK, 1, 2, b""));
        segs.push(seg(ms + 2, c, S, ACK, 2, 2, b""));
    }
    for (i, c) in CS.into_iter().enumerate() {
        segs.push(seg(20 + i as i64, c, S, ACK, 2, 2, &DATA));
    }
    let limits = FlowLimits {
        max_memory,
        ..FlowLimits::default()
    };
    let mut table = FlowTable::new(limits, Hoard::default);
    let mut out = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        let t = TcpSegment {
            ts: Timestamp(s.ms * 1_000_000),
            frame: i as u64 + 1,
            src: s.src.parse().unwrap(),
            dst: s.dst.parse().unwrap(),
            seq: s.seq,
            ack: s.ack,
            flags: TcpFlags(s.flags),
            window: 1000,
            options_raw: &[],
            payload: s.payload,
            payload_len: s.payload.len() as u32,
        };
        table.process(&t, &mut |f| out.push(f.connection));
    }
    let memory = table.memory();
    (out, table.stats, memory)
}

#[test]
fn the_memory_budget_sheds_the_least_recently_active_connections_past_it() {
    // What the three connections with their 3,000 bytes cost: exactly that
    // budget sheds nothing.
    let (none, _, full) = hoarders(usize::MAX);
    assert!(none.is_empty());
    let each = (full - 3000) / 3;
    let (out, stats, memory) = hoarders(full);
    assert!(out.is_empty() && stats.memory_shed == 0, "{stats:?}");
    assert_eq!((memory, stats.peak_memory), (full, full as u64));
    // One byte less: the least recently active (the first to send) is
    // finished early, which brings the rest under 7/8 of the budget.
    let (out, stats, memory) = hoarders(full - 1);
    assert_eq!(stats.memory_shed, 1, "{stats:?}");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].id, 0);
    assert_eq!(out[0].end_reason, EndReason::MemoryPressure);
    assert_eq!(memory, full - (each + 1000));
    assert!(memory <= (full - 1) / 8 * 7);
}
