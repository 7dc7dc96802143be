//! Tunnels and link types: the TCP inside is the same exchange as without
//! them.
//!
//! Each test takes a real capture (a sample recorded from Linux stacks, or
//! the VXLAN captures recorded through a Linux VXLAN device by
//! `TUNNEL=vxlan samples/recorder/record.sh`, in tests/data/tunnels/), wraps
//! every frame in a tunnel or link header built byte by byte from the
//! layout its document gives (RFC 7348 VXLAN, RFC 8926 GENEVE, RFC 2784/2890
//! GRE, RFC 7637 NVGRE, draft-foschiano-erspan ERSPAN II/III, RFC 2637 PPTP,
//! RFC 2003/4213/2473 IP in IP, RFC 3032/4385 MPLS and pseudowires, RFC 2661
//! L2TPv2, Cisco MetaData as Wireshark reads it, RFC 4302 AH; the tcpdump.org
//! link-type pages and Wireshark's dissectors for PPI, Juniper Ethernet,
//! IPoIB, PKTAP, pflog, ipnet, netANALYZER), and checks that the wrapped
//! capture gives the same connections, transactions and findings as the
//! original, with the tunnel named on each connection. The recorded VXLAN
//! captures are checked the other way: against their own inner frames cut
//! out at VXLAN's fixed 50-byte offset.

use connlint::analyze::{run_check_opened, run_opened, CaptureSummary, Limits};
use connlint::capture::{CaptureReader, ReaderLimits};
use connlint::http::Keep;
use connlint::report::connections::ConnectionRecord;
use connlint::report::transactions::TransactionRecord;
use connlint::rules::Config;
use serde_json::Value;
use std::net::Ipv6Addr;
use std::path::Path;

// ---------------------------------------------------------------------------
// Classic pcap, read and written (little-endian, micro- or nanoseconds).

struct Pcap {
    /// The 24-byte file header.
    header: Vec<u8>,
    /// (timestamp bytes, captured bytes, original length)
    records: Vec<([u8; 8], Vec<u8>, u32)>,
}

fn read_pcap(bytes: &[u8]) -> Pcap {
    assert!(
        matches!(
            &bytes[..4],
            [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1]
        ),
        "a little-endian classic pcap"
    );
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let mut records = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let incl = u32_at(at + 8) as usize;
        let orig = u32_at(at + 12);
        let ts: [u8; 8] = bytes[at..at + 8].try_into().unwrap();
        records.push((ts, bytes[at + 16..at + 16 + incl].to_vec(), orig));
        at += 16 + incl;
    }
    Pcap {
        header: bytes[..24].to_vec(),
        records,
    }
}

impl Pcap {
    fn link_type(&self) -> u32 {
        u32::from_le_bytes(self.header[20..24].try_into().unwrap())
    }

    /// The same records, each frame replaced by `wrap(index, frame)`, under
    /// link type `link_type`.
    fn map(&self, link_type: u32, mut wrap: impl FnMut(usize, &[u8]) -> Vec<u8>) -> Vec<u8> {
        let mut out = self.header.clone();
        out[20..24].copy_from_slice(&link_type.to_le_bytes());
        // A snaplen that lets every wrapped frame through.
        out[16..20].copy_from_slice(&262_144u32.to_le_bytes());
        for (i, (ts, data, orig)) in self.records.iter().enumerate() {
            let frame = wrap(i, data);
            // Keep what the snaplen cut (none in these captures) cut.
            let orig = *orig as usize - data.len() + frame.len();
            out.extend_from_slice(ts);
            out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            out.extend_from_slice(&(orig as u32).to_le_bytes());
            out.extend_from_slice(&frame);
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Running a capture held in memory through the pipeline.

/// What a capture gives: connections, transactions, findings (as JSON,
/// without the capture's name and the tunnel), the tunnels named on the
/// connections, and the summary.
struct Outcome {
    connections: Vec<Value>,
    transactions: Vec<Value>,
    findings: Vec<Value>,
    tunnels: Vec<Option<String>>,
    finding_tunnels: Vec<Option<String>>,
    summary: CaptureSummary,
}

fn strip(mut v: Value, keys: &[&str]) -> Value {
    if let Value::Object(m) = &mut v {
        for k in keys {
            m.remove(*k);
        }
    }
    v
}

fn run(bytes: &[u8], limits: &Limits) -> Outcome {
    let open = || CaptureReader::from_bytes(bytes.to_vec(), ReaderLimits::default());
    let mut conns: Vec<(u64, Value, Option<String>, Vec<Value>)> = Vec::new();
    let summary = run_opened("mem", open(), limits, Keep::TRANSACTIONS, |f| {
        let report = f.http;
        let rec =
            ConnectionRecord::new("mem", &f.connection, Some(report.transactions.len() as u64));
        let tunnel = rec.tunnel.clone();
        let txs = report
            .transactions
            .iter()
            .map(|tx| {
                let r = TransactionRecord::new("mem", &f.connection, tx);
                strip(serde_json::to_value(&r).unwrap(), &["capture"])
            })
            .collect();
        conns.push((
            f.connection.id,
            strip(serde_json::to_value(&rec).unwrap(), &["capture", "tunnel"]),
            tunnel,
            txs,
        ));
    });
    conns.sort_by_key(|c| c.0);
    let check = run_check_opened("mem", open(), limits, &Config::default_all());
    let mut findings = Vec::new();
    let mut finding_tunnels = Vec::new();
    for f in &check.findings {
        finding_tunnels.push(
            f.evidence
                .get("tunnel")
                .and_then(|t| t.as_str())
                .map(str::to_string),
        );
        let mut evidence = f.evidence.clone();
        evidence.remove("tunnel");
        findings.push(serde_json::json!({
            "code": f.code,
            "connection": f.connection,
            "client": f.client,
            "server": f.server,
            "transaction": f.transaction,
            "ts": f.ts.as_secs_f64(),
            "message": f.message,
            "evidence": evidence,
        }));
    }
    Outcome {
        connections: conns.iter().map(|c| c.1.clone()).collect(),
        tunnels: conns.iter().map(|c| c.2.clone()).collect(),
        transactions: conns.iter().flat_map(|c| c.3.clone()).collect(),
        findings,
        finding_tunnels,
        summary,
    }
}

fn sample(name: &str) -> Pcap {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    read_pcap(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The wrapped capture gives what the original gives, and names `tunnel`
/// on every connection and finding.
fn assert_same_exchange(original: &[u8], wrapped: &[u8], tunnel: Option<&str>) -> Outcome {
    let limits = Limits::default();
    let a = run(original, &limits);
    let b = run(wrapped, &limits);
    same_outcome(&a, &b, tunnel);
    b
}

/// The evidence's frame numbers left out, for a capture whose frames were
/// split (fragments) and so renumbered.
fn without_frame_numbers(findings: &[Value]) -> Vec<Value> {
    findings
        .iter()
        .map(|f| {
            let mut f = f.clone();
            if let Some(Value::Object(e)) = f.get_mut("evidence") {
                e.retain(|k, _| !k.ends_with("_frame"));
            }
            f
        })
        .collect()
}

fn same_outcome(a: &Outcome, b: &Outcome, tunnel: Option<&str>) {
    assert!(!a.connections.is_empty());
    assert_eq!(a.summary.decode.tcp_segments, b.summary.decode.tcp_segments);
    assert_eq!(b.summary.decode.malformed, a.summary.decode.malformed);
    assert_eq!(a.connections, b.connections, "connections");
    assert!(!a.transactions.is_empty());
    assert_eq!(a.transactions, b.transactions, "transactions");
    assert_eq!(a.findings, b.findings, "findings");
    assert!(a.tunnels.iter().all(Option::is_none));
    assert!(a.finding_tunnels.iter().all(Option::is_none));
    for t in b.tunnels.iter().chain(&b.finding_tunnels) {
        assert_eq!(t.as_deref(), tunnel);
    }
}

// ---------------------------------------------------------------------------
// Headers, byte by byte.

const A4: [u8; 4] = [192, 0, 2, 1];
const B4: [u8; 4] = [192, 0, 2, 2];
const C4: [u8; 4] = [198, 51, 100, 1];
const D4: [u8; 4] = [198, 51, 100, 2];
const A6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 1);
const B6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 2);

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0xee, 0x01, 0x02, 0, 0, 0, 0xee, 0x02];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn ipv4(protocol: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, protocol, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(payload);
    p
}

fn ipv6(next: u8, src: Ipv6Addr, dst: Ipv6Addr, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next, 64]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = sport.to_be_bytes().to_vec();
    d.extend_from_slice(&dport.to_be_bytes());
    d.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    d
}

/// GRE version 0 with the optional fields asked for (RFC 2784/2890).
fn gre(
    protocol: u16,
    checksum: bool,
    key: Option<u32>,
    seq: Option<u32>,
    payload: &[u8],
) -> Vec<u8> {
    let mut flags = 0u16;
    if checksum {
        flags |= 0x8000;
    }
    if key.is_some() {
        flags |= 0x2000;
    }
    if seq.is_some() {
        flags |= 0x1000;
    }
    let mut g = flags.to_be_bytes().to_vec();
    g.extend_from_slice(&protocol.to_be_bytes());
    if checksum {
        g.extend_from_slice(&[0x12, 0x34, 0, 0]);
    }
    if let Some(k) = key {
        g.extend_from_slice(&k.to_be_bytes());
    }
    if let Some(s) = seq {
        g.extend_from_slice(&s.to_be_bytes());
    }
    g.extend_from_slice(payload);
    g
}

fn vxlan(vni: u32, inner: &[u8]) -> Vec<u8> {
    let mut v = vec![0x08, 0, 0, 0];
    v.extend_from_slice(&(vni << 8).to_be_bytes());
    v.extend_from_slice(inner);
    v
}

/// The IP packet inside an Ethernet frame of the samples (no VLAN tags).
fn ip_of(frame: &[u8]) -> &[u8] {
    assert!(matches!(&frame[12..14], [0x08, 0x00] | [0x86, 0xdd]));
    &frame[14..]
}

fn is_v6(frame: &[u8]) -> bool {
    frame[12..14] == [0x86, 0xdd]
}

/// Whether the frame goes the way the capture's first frame went (client
/// to server, for these captures, which begin with the SYN).
struct Direction {
    first_src: Vec<u8>,
}

impl Direction {
    fn of(pcap: &Pcap) -> Direction {
        Direction {
            first_src: src_of(&pcap.records[0].1),
        }
    }
    fn forward(&self, frame: &[u8]) -> bool {
        src_of(frame) == self.first_src
    }
}

fn src_of(frame: &[u8]) -> Vec<u8> {
    if is_v6(frame) {
        frame[22..38].to_vec()
    } else {
        frame[26..30].to_vec()
    }
}

/// Outer IPv4 endpoints that follow the inner direction, as a point-to-point
/// tunnel's do.
fn ends4(d: &Direction, frame: &[u8]) -> ([u8; 4], [u8; 4]) {
    if d.forward(frame) {
        (A4, B4)
    } else {
        (B4, A4)
    }
}

fn ends6(d: &Direction, frame: &[u8]) -> (Ipv6Addr, Ipv6Addr) {
    if d.forward(frame) {
        (A6, B6)
    } else {
        (B6, A6)
    }
}

fn inner_ethertype(frame: &[u8]) -> u16 {
    u16::from_be_bytes([frame[12], frame[13]])
}

const T001: &str = "samples/T001-nagle-delayed-ack-stall-client-side.pcap";
const R001: &str = "samples/R001-rst-truncated-response.pcap";
const IPV6: &str = "samples/clean-ipv6-keepalive.pcap";
const CHURN: &str = "samples/S002-connection-churn.pcap";

/// Wraps `name`'s frames with `wrap` (given the direction) under Ethernet
/// and checks the exchange is unchanged and named `tunnel`.
fn check_tunnel(name: &str, tunnel: &str, wrap: impl Fn(&Direction, &[u8]) -> Vec<u8>) -> Outcome {
    let pcap = sample(name);
    assert_eq!(pcap.link_type(), 1);
    let d = Direction::of(&pcap);
    let original = pcap.map(1, |_, f| f.to_vec());
    let wrapped = pcap.map(1, |_, f| wrap(&d, f));
    assert_same_exchange(&original, &wrapped, Some(tunnel))
}

// ---------------------------------------------------------------------------
// The tunnels.

#[test]
fn vxlan_on_4789_and_8472() {
    for (port, sample_name) in [(4789, T001), (8472, CHURN)] {
        let b = check_tunnel(sample_name, "vxlan vni 42 192.0.2.1->192.0.2.2", |d, f| {
            let (s, t) = ends4(d, f);
            eth(0x0800, &ipv4(17, s, t, &udp(50_000, port, &vxlan(42, f))))
        });
        assert!(b.summary.decode.tunnels.values().all(|&n| n > 0));
    }
    // Cloud mirroring (AWS): every copy goes from the mirror source to the
    // target, whichever way the mirrored packet went.
    check_tunnel(R001, "vxlan vni 7 192.0.2.1->192.0.2.2", |_, f| {
        eth(0x0800, &ipv4(17, A4, B4, &udp(50_000, 4789, &vxlan(7, f))))
    });
}

fn geneve(options: &[u8], protocol: u16, vni: u32, payload: &[u8]) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0);
    let mut g = vec![(options.len() / 4) as u8, 0];
    g.extend_from_slice(&protocol.to_be_bytes());
    g.extend_from_slice(&(vni << 8).to_be_bytes());
    g.extend_from_slice(options);
    g.extend_from_slice(payload);
    g
}

#[test]
fn geneve_with_options_carrying_ethernet_or_ip() {
    // An option TLV: class, type, length in words (RFC 8926 §3.5).
    let option = [0x01, 0x08, 0x01, 0x02, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4];
    check_tunnel(T001, "geneve vni 7 192.0.2.1->192.0.2.2", |d, f| {
        let (s, t) = ends4(d, f);
        eth(
            0x0800,
            &ipv4(17, s, t, &udp(50_000, 6081, &geneve(&option, 0x6558, 7, f))),
        )
    });
    // As a gateway load balancer delivers it: the IP packet itself, the
    // ethertype naming it, over IPv6 here.
    check_tunnel(
        IPV6,
        "geneve vni 1234 2001:db8:ffff::1->2001:db8:ffff::2",
        |_, f| {
            let inner = geneve(&option, inner_ethertype(f), 1234, ip_of(f));
            eth(0x86dd, &ipv6(17, A6, B6, &udp(50_000, 6081, &inner)))
        },
    );
}

#[test]
fn gre_with_checksum_key_and_sequence_over_ipv4_and_ipv6() {
    check_tunnel(T001, "gre key 5 192.0.2.1->192.0.2.2", |d, f| {
        let (s, t) = ends4(d, f);
        let g = gre(inner_ethertype(f), true, Some(5), Some(1), ip_of(f));
        eth(0x0800, &ipv4(47, s, t, &g))
    });
    check_tunnel(IPV6, "gre 192.0.2.1->192.0.2.2", |d, f| {
        let (s, t) = ends4(d, f);
        eth(
            0x0800,
            &ipv4(47, s, t, &gre(0x86dd, false, None, None, ip_of(f))),
        )
    });
    // ip6gre.
    check_tunnel(
        R001,
        "gre key 77 2001:db8:ffff::1->2001:db8:ffff::2",
        |d, f| {
            let (s, t) = ends6(d, f);
            eth(
                0x86dd,
                &ipv6(47, s, t, &gre(0x0800, false, Some(77), None, ip_of(f))),
            )
        },
    );
}

#[test]
fn gre_transparent_ethernet_bridging_and_nvgre() {
    // gretap with a sequence number: plain GRE bridging.
    check_tunnel(CHURN, "gre key 9 192.0.2.1->192.0.2.2", |d, f| {
        let (s, t) = ends4(d, f);
        eth(
            0x0800,
            &ipv4(47, s, t, &gre(0x6558, false, Some(9), Some(3), f)),
        )
    });
    // NVGRE: key = VSID << 8 | flow id; the flow id may differ by direction.
    check_tunnel(T001, "nvgre vsid 4660 192.0.2.1->192.0.2.2", |d, f| {
        let (s, t) = ends4(d, f);
        let flow = if d.forward(f) { 0x56 } else { 0x57 };
        eth(
            0x0800,
            &ipv4(
                47,
                s,
                t,
                &gre(0x6558, false, Some(0x1234 << 8 | flow), None, f),
            ),
        )
    });
}

#[test]
fn erspan_types_two_and_three() {
    // Type II: GRE with a sequence number, an 8-byte header (version 1,
    // VLAN 100, session 0x123), the mirrored frame.
    check_tunnel(T001, "erspan2 session 291 192.0.2.1->192.0.2.2", |_, f| {
        let mut e = vec![0x10, 0x64, 0x01, 0x23, 0x00, 0x00, 0x00, 0x07];
        e.extend_from_slice(f);
        eth(
            0x0800,
            &ipv4(47, A4, B4, &gre(0x88be, false, None, Some(1), &e)),
        )
    });
    // Type III: a 12-byte header (version 2, session 200, a timestamp, SGT,
    // frame type 0 = Ethernet, hardware id, O set) and the 8-byte platform
    // sub-header.
    check_tunnel(R001, "erspan3 session 200 192.0.2.1->192.0.2.2", |_, f| {
        let mut e = vec![0x20, 0x00, 0x00, 200, 0x12, 0x34, 0x56, 0x78, 0x00, 0x2a];
        e.extend_from_slice(&((3u16 << 4) | 1).to_be_bytes());
        e.extend_from_slice(&[0x0c, 0, 0, 0, 0, 0, 0, 0]);
        e.extend_from_slice(f);
        eth(
            0x0800,
            &ipv4(47, A4, B4, &gre(0x22eb, false, None, Some(1), &e)),
        )
    });
    // Type I: no sequence number, no ERSPAN header.
    check_tunnel(CHURN, "erspan1 192.0.2.1->192.0.2.2", |_, f| {
        eth(
            0x0800,
            &ipv4(47, A4, B4, &gre(0x88be, false, None, None, f)),
        )
    });
}

#[test]
fn ip_in_ip_all_four_ways() {
    check_tunnel(T001, "ipip 192.0.2.1->192.0.2.2", |d, f| {
        let (s, t) = ends4(d, f);
        eth(0x0800, &ipv4(4, s, t, ip_of(f)))
    });
    check_tunnel(IPV6, "sit 192.0.2.1->192.0.2.2", |d, f| {
        let (s, t) = ends4(d, f);
        eth(0x0800, &ipv4(41, s, t, ip_of(f)))
    });
    check_tunnel(R001, "ip4in6 2001:db8:ffff::1->2001:db8:ffff::2", |d, f| {
        let (s, t) = ends6(d, f);
        eth(0x86dd, &ipv6(4, s, t, ip_of(f)))
    });
    check_tunnel(IPV6, "ip6in6 2001:db8:ffff::1->2001:db8:ffff::2", |d, f| {
        let (s, t) = ends6(d, f);
        eth(0x86dd, &ipv6(41, s, t, ip_of(f)))
    });
}

fn label(value: u32, bottom: bool) -> [u8; 4] {
    ((value << 12) | if bottom { 0x100 } else { 0 } | 64).to_be_bytes()
}

#[test]
fn mpls_label_stacks_with_ip_and_pseudowires() {
    // Labels differ by direction (each LSP has its own): one connection all
    // the same, named by its first packet's labels.
    check_tunnel(T001, "mpls label 100/200", |d, f| {
        let (outer, inner) = if d.forward(f) { (100, 200) } else { (300, 400) };
        let mut m = label(outer, false).to_vec();
        m.extend_from_slice(&label(inner, true));
        m.extend_from_slice(ip_of(f));
        eth(0x8847, &m)
    });
    check_tunnel(IPV6, "mpls label 2", |_, f| {
        let mut m = label(2, true).to_vec();
        m.extend_from_slice(ip_of(f));
        eth(0x8847, &m)
    });
    // An Ethernet pseudowire with the control word (RFC 4385).
    check_tunnel(R001, "mpls label 16/17", |_, f| {
        let mut m = label(16, false).to_vec();
        m.extend_from_slice(&label(17, true));
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend_from_slice(f);
        eth(0x8847, &m)
    });
}

#[test]
fn l2tp_v2_with_ppp() {
    // L (length) and S (Ns, Nr) set; the ids name the receiver, so they
    // differ by direction.
    check_tunnel(
        T001,
        "l2tp tunnel 3 session 9 192.0.2.1->192.0.2.2",
        |d, f| {
            let (s, t) = ends4(d, f);
            let (tunnel, session): (u16, u16) = if d.forward(f) { (3, 9) } else { (5, 11) };
            let mut ppp = vec![0xff, 0x03, 0x00, 0x21];
            ppp.extend_from_slice(ip_of(f));
            let mut l = vec![0x48, 0x02];
            l.extend_from_slice(&((12 + ppp.len()) as u16).to_be_bytes());
            l.extend_from_slice(&tunnel.to_be_bytes());
            l.extend_from_slice(&session.to_be_bytes());
            l.extend_from_slice(&[0, 1, 0, 2]);
            l.extend_from_slice(&ppp);
            eth(0x0800, &ipv4(17, s, t, &udp(1701, 1701, &l)))
        },
    );
}

#[test]
fn pptp_enhanced_gre() {
    check_tunnel(R001, "pptp call 7 192.0.2.1->192.0.2.2", |d, f| {
        let (s, t) = ends4(d, f);
        let call: u16 = if d.forward(f) { 7 } else { 8 };
        // Address and control compressed away, protocol compressed to 0x21.
        let mut ppp = vec![0x21];
        ppp.extend_from_slice(ip_of(f));
        let mut g = vec![0x30, 0x01, 0x88, 0x0b];
        g.extend_from_slice(&(ppp.len() as u16).to_be_bytes());
        g.extend_from_slice(&call.to_be_bytes());
        g.extend_from_slice(&[0, 0, 0, 1]);
        g.extend_from_slice(&ppp);
        eth(0x0800, &ipv4(47, s, t, &g))
    });
}

#[test]
fn cisco_metadata_sgt() {
    check_tunnel(T001, "cmd sgt 100", |d, f| {
        let sgt: u16 = if d.forward(f) { 100 } else { 200 };
        let mut out = f[..12].to_vec();
        out.extend_from_slice(&[0x89, 0x09, 0x01, 0x01, 0x00, 0x01]);
        out.extend_from_slice(&sgt.to_be_bytes());
        out.extend_from_slice(&f[12..]);
        out
    });
}

#[test]
fn ah_in_tunnel_mode() {
    check_tunnel(T001, "ipip 192.0.2.1->192.0.2.2", |d, f| {
        let (s, t) = ends4(d, f);
        // Next header 4 (IPv4), payload length 4 (6 words: 24 bytes), SPI,
        // sequence, 12 bytes of ICV.
        let mut ah = vec![4, 4, 0, 0, 0, 0, 0x10, 0x01, 0, 0, 0, 9];
        ah.extend_from_slice(&[0xa5; 12]);
        ah.extend_from_slice(ip_of(f));
        eth(0x0800, &ipv4(51, s, t, &ah))
    });
}

#[test]
fn nested_vxlan_in_gre() {
    check_tunnel(
        R001,
        "gre key 1 198.51.100.1->198.51.100.2 / vxlan vni 42 192.0.2.1->192.0.2.2",
        |d, f| {
            let (s, t) = ends4(d, f);
            let (u, v) = if d.forward(f) { (C4, D4) } else { (D4, C4) };
            let inner = ipv4(17, s, t, &udp(50_000, 4789, &vxlan(42, f)));
            eth(
                0x0800,
                &ipv4(47, u, v, &gre(0x0800, false, Some(1), None, &inner)),
            )
        },
    );
}

// ---------------------------------------------------------------------------
// Link types.

/// Wraps each Ethernet frame of `name` in a link header and checks the
/// exchange is unchanged.
fn check_link(name: &str, link_type: u32, wrap: impl Fn(&[u8]) -> Vec<u8>) {
    let pcap = sample(name);
    let original = pcap.map(1, |_, f| f.to_vec());
    let wrapped = pcap.map(link_type, |_, f| wrap(f));
    let b = assert_same_exchange(&original, &wrapped, None);
    assert!(b.summary.decode.unsupported_link.is_empty());
}

#[test]
fn ppi_around_ethernet() {
    // Version 0, flags, length 8 + one 20-byte field (LE), DLT 1 (LE).
    check_link(T001, 192, |f| {
        let mut p = vec![0, 0, 28, 0, 1, 0, 0, 0];
        p.extend_from_slice(&[2, 0, 16, 0]);
        p.extend_from_slice(&[0x77; 16]);
        p.extend_from_slice(f);
        p
    });
}

#[test]
fn juniper_ethernet_with_and_without_extensions() {
    check_link(T001, 178, |f| {
        let mut p = b"MGC".to_vec();
        p.push(0x01); // incoming, layer 2 present
        p.extend_from_slice(f);
        p
    });
    check_link(R001, 178, |f| {
        let mut p = b"MGC".to_vec();
        p.push(0x80); // extensions: an interface index TLV
        p.extend_from_slice(&[0, 6, 4, 4, 0, 0, 0, 7]);
        p.extend_from_slice(f);
        p
    });
    // The layer 2 header stripped: a protocol number (2 = IPv4, LE) instead.
    check_link(T001, 178, |f| {
        let mut p = b"MGC".to_vec();
        p.push(0x02);
        p.extend_from_slice(&[2, 0, 0, 0]);
        p.extend_from_slice(ip_of(f));
        p
    });
}

#[test]
fn ip_over_infiniband() {
    // The pcap form: 20-byte destination and source addresses, ethertype,
    // reserved.
    check_link(IPV6, 242, |f| {
        let mut p = vec![0x11; 40];
        p.extend_from_slice(&f[12..14]);
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(ip_of(f));
        p
    });
    // RFC 4391's 4-byte header.
    check_link(T001, 242, |f| {
        let mut p = f[12..14].to_vec();
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(ip_of(f));
        p
    });
}

#[test]
fn pktap_pflog_ipnet_netanalyzer() {
    // PKTAP: LE header length (108 with the rest) and DLT 1.
    check_link(T001, 258, |f| {
        let mut p = 108u32.to_le_bytes().to_vec();
        p.extend_from_slice(&1u32.to_le_bytes());
        p.extend_from_slice(&[0; 100]);
        p.extend_from_slice(f);
        p
    });
    // pflog: header length 61 (padded to 64), AF_INET.
    check_link(R001, 117, |f| {
        let mut p = vec![61, 2];
        p.extend_from_slice(&[0; 62]);
        p.extend_from_slice(ip_of(f));
        p
    });
    // ipnet: version 1, family 26 (IPv6), 22 bytes more.
    check_link(IPV6, 226, |f| {
        let mut p = vec![1, 26];
        p.extend_from_slice(&[0; 22]);
        p.extend_from_slice(ip_of(f));
        p
    });
    // netANALYZER: a 4-byte header, the frame with its FCS.
    check_link(T001, 240, |f| {
        let mut p = vec![0x01, 0, 0, 0];
        p.extend_from_slice(f);
        p.extend_from_slice(&[0xfc; 4]);
        p
    });
}

// ---------------------------------------------------------------------------
// Recorded through a real Linux VXLAN device.

#[test]
fn recorded_vxlan_equals_its_inner_frames() {
    for name in [
        "tests/data/tunnels/T001-nagle-delayed-ack-stall-client-side.vxlan.pcap",
        "tests/data/tunnels/clean-keepalive-reuse-nodelay.vxlan.pcap",
    ] {
        let pcap = sample(name);
        // Outer Ethernet, IPv4 without options, UDP, VXLAN: 50 bytes.
        for (_, f, _) in &pcap.records {
            assert_eq!(&f[12..14], &[0x08, 0x00]);
            assert_eq!(f[14], 0x45);
            assert_eq!(&f[36..38], &4789u16.to_be_bytes());
        }
        let recorded = pcap.map(1, |_, f| f.to_vec());
        let inner = pcap.map(1, |_, f| f[50..].to_vec());
        let b = assert_same_exchange(&inner, &recorded, Some("vxlan vni 42 192.0.2.1->192.0.2.2"));
        if name.contains("T001") {
            assert_eq!(b.findings.len(), 1);
            assert_eq!(b.findings[0]["code"], "T001");
        }
    }
}

// ---------------------------------------------------------------------------
// Keys, bounds, counters.

/// The capture's frames, each followed by its copy inside a VXLAN tunnel.
fn both_ways(name: &str) -> (Vec<u8>, Vec<u8>) {
    let pcap = sample(name);
    let original = pcap.map(1, |_, f| f.to_vec());
    let mut doubled = Pcap {
        header: pcap.header.clone(),
        records: Vec::new(),
    };
    for (ts, f, orig) in &pcap.records {
        doubled.records.push((*ts, f.clone(), *orig));
        let w = eth(0x0800, &ipv4(17, A4, B4, &udp(50_000, 4789, &vxlan(42, f))));
        let extra = w.len() - f.len();
        doubled.records.push((*ts, w, *orig + extra as u32));
    }
    (original, doubled.map(1, |_, f| f.to_vec()))
}

#[test]
fn a_flow_seen_in_and_out_of_a_tunnel_is_two_connections_unless_merged() {
    let (original, doubled) = both_ways(T001);
    let one = run(&original, &Limits::default());
    let two = run(&doubled, &Limits::default());
    assert_eq!(two.connections.len(), 2 * one.connections.len());
    assert_eq!(
        two.tunnels.iter().filter(|t| t.is_some()).count(),
        one.connections.len()
    );
    // Each copy alone is the same exchange: the same findings, twice.
    assert_eq!(two.findings.len(), 2 * one.findings.len());
    let mut merged_limits = Limits::default();
    merged_limits.tunnels.merge = true;
    let merged = run(&doubled, &merged_limits);
    assert_eq!(merged.connections.len(), one.connections.len());
    // Every segment came twice: the copy is a retransmission.
    assert_eq!(
        merged.connections[0]["packets"].as_u64().unwrap(),
        2 * one.connections[0]["packets"].as_u64().unwrap()
    );
    // The connection shows the tunnel of its first packet: none here.
    assert_eq!(merged.tunnels[0], None);
}

#[test]
fn tunnels_past_max_tunnels_share_a_key_and_are_reported() {
    // Two VXLAN networks carrying the same flow: two connections, or one
    // when only one tunnel may be told apart.
    let pcap = sample(T001);
    let mut records = Vec::new();
    for (ts, f, orig) in &pcap.records {
        for vni in [1, 2] {
            let w = eth(
                0x0800,
                &ipv4(17, A4, B4, &udp(50_000, 4789, &vxlan(vni, f))),
            );
            let extra = (w.len() - f.len()) as u32;
            records.push((*ts, w, orig + extra));
        }
    }
    let doubled = Pcap {
        header: pcap.header.clone(),
        records,
    }
    .map(1, |_, f| f.to_vec());
    let two = run(&doubled, &Limits::default());
    assert_eq!(two.connections.len(), 2);
    assert_eq!(two.summary.limits_hit.max_tunnels, 0);
    let mut limits = Limits::default();
    limits.set("max_tunnels=1").unwrap();
    let capped = run(&doubled, &limits);
    assert_eq!(
        capped.connections.len(),
        2,
        "the known tunnel, and the rest"
    );
    assert!(capped.summary.limits_hit.max_tunnels > 0);
    assert!(capped
        .summary
        .limits_hit
        .reached()
        .iter()
        .any(|(k, _, _)| *k == "max_tunnels"));
}

#[test]
fn nesting_past_the_bound_and_esp_are_counted() {
    let pcap = sample(T001);
    let n = pcap.records.len() as u64;
    // Nine layers of IP in IP: one more than connlint peels.
    let deep = pcap.map(1, |_, f| {
        let mut p = ip_of(f).to_vec();
        for _ in 0..9 {
            p = ipv4(4, A4, B4, &p);
        }
        eth(0x0800, &p)
    });
    let o = run(&deep, &Limits::default());
    assert!(o.connections.is_empty());
    assert_eq!(o.summary.decode.tunnel_too_deep, n);
    assert_eq!(o.summary.decode.tunnels.values().sum::<u64>(), 8 * n);
    assert!(o.summary.decode.undecoded()[0]
        .1
        .contains("more than 8 tunnel layers"));
    // Eight are fine.
    let eight = pcap.map(1, |_, f| {
        let mut p = ip_of(f).to_vec();
        for _ in 0..8 {
            p = ipv4(4, A4, B4, &p);
        }
        eth(0x0800, &p)
    });
    assert_eq!(run(&eight, &Limits::default()).connections.len(), 1);
    // ESP: counted, nothing else.
    let esp = pcap.map(1, |_, f| eth(0x0800, &ipv4(50, A4, B4, &f[14..])));
    let o = run(&esp, &Limits::default());
    assert!(o.connections.is_empty());
    assert_eq!(o.summary.decode.esp, n);
    assert_eq!(o.summary.decode.non_tcp, 0);
}

/// Splits an IPv4 packet's payload in two fragments at `at` (a multiple of 8).
fn fragments(packet: &[u8], at: usize) -> [Vec<u8>; 2] {
    let (header, payload) = packet.split_at(20);
    let mut first = header.to_vec();
    first[2..4].copy_from_slice(&((20 + at) as u16).to_be_bytes());
    first[6..8].copy_from_slice(&0x2000u16.to_be_bytes());
    first.extend_from_slice(&payload[..at]);
    let mut second = header.to_vec();
    second[2..4].copy_from_slice(&((20 + payload.len() - at) as u16).to_be_bytes());
    second[6..8].copy_from_slice(&((at / 8) as u16).to_be_bytes());
    second.extend_from_slice(&payload[at..]);
    [first, second]
}

#[test]
fn fragmented_tunnel_packets_are_reassembled_and_missing_ones_counted_not_limited() {
    // Every VXLAN packet longer than 100 bytes is fragmented in the outer
    // IPv4 header, as an underlay with a small MTU does.
    let pcap = sample(T001);
    let d = Direction::of(&pcap);
    let original = pcap.map(1, |_, f| f.to_vec());
    let mut records = Vec::new();
    for (ts, f, _) in &pcap.records {
        let (s, t) = ends4(&d, f);
        let outer = ipv4(17, s, t, &udp(50_000, 4789, &vxlan(42, f)));
        if outer.len() > 100 {
            for part in fragments(&outer, 64) {
                let frame = eth(0x0800, &part);
                records.push((*ts, frame.clone(), frame.len() as u32));
            }
        } else {
            let frame = eth(0x0800, &outer);
            records.push((*ts, frame.clone(), frame.len() as u32));
        }
    }
    let whole = Pcap {
        header: pcap.header.clone(),
        records: records.clone(),
    }
    .map(1, |_, f| f.to_vec());
    let a = run(&original, &Limits::default());
    let mut b = run(&whole, &Limits::default());
    assert!(b.summary.decode.fragments_reassembled > 0);
    assert_eq!(b.summary.decode.fragments_dropped, 0);
    // The findings name frames, which fragmentation renumbered.
    let renumbered = without_frame_numbers(&b.findings);
    assert_eq!(without_frame_numbers(&a.findings), renumbered);
    b.findings = a.findings.clone();
    // So do the transactions' frames: the same but for those.
    let unframed = |txs: &[Value]| -> Vec<Value> {
        txs.iter()
            .map(|t| {
                let mut t = t.clone();
                if let Value::Object(m) = &mut t {
                    m.retain(|k, _| !k.ends_with("_frame"));
                }
                t
            })
            .collect()
    };
    assert_eq!(unframed(&a.transactions), unframed(&b.transactions));
    assert_ne!(a.transactions, b.transactions, "the frames were renumbered");
    b.transactions = a.transactions.clone();
    same_outcome(&a, &b, Some("vxlan vni 42 192.0.2.1->192.0.2.2"));
    // The last frame's second fragment lost: that datagram is incomplete,
    // which no bound caused.
    let mut cut = records.clone();
    let last = cut.len() - 1;
    if cut[last].1[20] & 0x1f != 0 || cut[last].1[21] != 0 {
        cut.remove(last);
    } else {
        // The last frame was whole: lose the first fragment of the
        // last fragmented one instead.
        let i = (0..cut.len())
            .rev()
            .find(|&i| cut[i].1[20] == 0x20)
            .unwrap();
        cut.remove(i);
    }
    let cut = Pcap {
        header: pcap.header.clone(),
        records: cut,
    }
    .map(1, |_, f| f.to_vec());
    let o = run(&cut, &Limits::default());
    assert_eq!(o.summary.decode.fragments_incomplete, 1);
    assert_eq!(o.summary.decode.fragments_over_limit, 0);
    assert!(
        o.summary.limits_hit.reached().is_empty(),
        "no bound was reached"
    );
    // With room for no datagram at all, the bound is what drops them.
    let mut tight = Limits::default();
    tight.set("max_fragment_bytes=1").unwrap();
    let o = run(&whole, &tight);
    assert!(o.summary.decode.fragments_over_limit > 0);
    assert!(o
        .summary
        .limits_hit
        .reached()
        .iter()
        .any(|(k, _, _)| *k == "max_fragment_bytes"));
}

#[test]
fn untunnelled_counters_name_every_frame() {
    // Cisco MetaData used to be `non_ip` with nothing said; an ethertype
    // connlint does not read is now counted by name.
    let pcap = sample(T001);
    let unknown = pcap.map(1, |_, f| {
        let mut out = f[..12].to_vec();
        out.extend_from_slice(&[0x88, 0xb5]);
        out.extend_from_slice(&f[14..]);
        out
    });
    let o = run(&unknown, &Limits::default());
    let n = pcap.records.len() as u64;
    assert_eq!(o.summary.decode.non_ip_ethertypes.get(&0x88b5), Some(&n));
    assert_eq!(
        o.summary.decode.undecoded(),
        vec![(n, "frames with ethertype 0x88b5".to_string())]
    );
}

// ---------------------------------------------------------------------------
// What the command line shows.

fn connlint(args: &[&str]) -> (String, String) {
    let out = assert_cmd::Command::cargo_bin("connlint")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const RECORDED: &str = "tests/data/tunnels/T001-nagle-delayed-ack-stall-client-side.vxlan.pcap";

#[test]
fn cli_names_the_tunnel_and_counts_its_frames() {
    let (json, _) = connlint(&["connections", "--format", "json", RECORDED]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["connections"][0]["tunnel"],
        "vxlan vni 42 192.0.2.1->192.0.2.2"
    );
    assert_eq!(v["captures"][0]["tunnels"]["vxlan"], 12);
    assert_eq!(v["captures"][0]["tcp_segments"], 12);
    let (table, _) = connlint(&["connections", RECORDED]);
    let header = table.lines().nth(1).unwrap();
    assert!(header.trim_end().ends_with("tunnel"), "{table}");
    assert!(table.contains("tunnel layers peeled: 12 vxlan"), "{table}");
    let (tx, _) = connlint(&["transactions", "--format", "jsonl", RECORDED]);
    let first: Value = serde_json::from_str(tx.lines().next().unwrap()).unwrap();
    assert_eq!(first["tunnel"], "vxlan vni 42 192.0.2.1->192.0.2.2");
    assert_eq!(first["method"], "POST");
    let (check, _) = connlint(&["check", "--format", "jsonl", RECORDED]);
    let finding: Value = serde_json::from_str(check.lines().next().unwrap()).unwrap();
    assert_eq!(finding["code"], "T001");
    assert_eq!(
        finding["evidence"]["tunnel"],
        "vxlan vni 42 192.0.2.1->192.0.2.2"
    );
    // Untunnelled traffic: no tunnel column, no tunnel key.
    let (table, _) = connlint(&["connections", T001]);
    assert!(!table.contains("tunnel"), "{table}");
    let (json, _) = connlint(&["transactions", "--format", "json", T001]);
    assert!(!json.contains("tunnel"), "{json}");
}

#[test]
fn cli_merge_tunnels_and_the_undecoded_note() {
    let dir = std::env::temp_dir().join(format!("connlint-tunnels-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (_, doubled) = both_ways(T001);
    let both = dir.join("both.pcap");
    std::fs::write(&both, doubled).unwrap();
    let both = both.to_str().unwrap();
    let count = |args: &[&str]| {
        let (json, _) = connlint(args);
        let v: Value = serde_json::from_str(&json).unwrap();
        v["connections"].as_array().unwrap().len()
    };
    assert_eq!(count(&["connections", "--format", "json", both]), 2);
    assert_eq!(
        count(&["connections", "--format", "json", "--merge-tunnels", both]),
        1
    );
    assert_eq!(
        count(&["--merge-tunnels", "connections", "--format", "json", both]),
        1
    );
    // Frames of an ethertype connlint does not read, and no TCP decoded.
    let pcap = sample(T001);
    let hidden = pcap.map(1, |_, f| {
        let mut out = f[..12].to_vec();
        out.extend_from_slice(&[0x88, 0xb5]);
        out.extend_from_slice(&f[14..]);
        out
    });
    let path = dir.join("hidden.pcap");
    std::fs::write(&path, hidden).unwrap();
    let (_, stderr) = connlint(&["check", path.to_str().unwrap()]);
    let n = pcap.records.len();
    assert!(
        stderr.contains(&format!(
            "{n} frames with ethertype 0x88b5 not decoded (0 TCP segments were)"
        )),
        "{stderr}"
    );
    // A capture whose TCP is decoded says nothing.
    let (_, stderr) = connlint(&["check", RECORDED]);
    assert!(!stderr.contains("not decoded"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
