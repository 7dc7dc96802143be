//! The decode stage on real captures (tests/data/decode, provenance in its
//! PROVENANCE.tsv) and on frames built by hand for each link layer and each
//! odd case the real captures do not cover.
//!
//! Expected TCP segment counts come from tshark 4.0.17: `tshark -r F -Y tcp |
//! wc -l`, run on the very files stored here; field spot checks from
//! `tshark -T fields -e tcp.seq_raw -e tcp.ack_raw ...` on the named frame.

use connlint::capture::{Frame, LinkType};
use connlint::decode::{DecodeStats, Decoded, Decoder, FragmentLimits, TcpFlags, TcpSegment};
use connlint::Timestamp;
use etherparse::{PacketBuilder, TcpOptionElement};
use proptest::prelude::*;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// A minimal pcap reader, test-only (the real one lives in the capture stage).

struct Record {
    ts: Timestamp,
    data: Vec<u8>,
    orig_len: u32,
}

/// Reads a classic pcap file: 24-byte header (magic gives byte order and
/// micro/nanosecond resolution), then 16-byte record headers. `None` for
/// anything else (pcapng). Stops at a record cut short.
fn read_pcap(bytes: &[u8]) -> Option<(LinkType, Vec<Record>)> {
    let magic: [u8; 4] = bytes.get(..4)?.try_into().unwrap();
    let (big_endian, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
        [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
        _ => return None,
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let link_type = LinkType(u32_at(20) & 0xffff);
    let mut records = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let secs = i64::from(u32_at(at));
        let frac = i64::from(u32_at(at + 4));
        let incl = u32_at(at + 8) as usize;
        let orig_len = u32_at(at + 12);
        let Some(data) = bytes.get(at + 16..at + 16 + incl) else {
            break;
        };
        let data = data.to_vec();
        let ts = Timestamp::from_secs_nanos(secs, if nanos { frac } else { frac * 1000 });
        records.push(Record { ts, data, orig_len });
        at += 16 + incl;
    }
    Some((link_type, records))
}

/// Reads a pcapng file just far enough for these tests: section header
/// (byte order), interface descriptions (link type, `if_tsresol`), enhanced
/// and simple packet blocks. `None` if it is not pcapng. Test-only: the
/// corpus comparison below runs over the corpus's pcapng files too.
fn read_pcapng(bytes: &[u8]) -> Option<Vec<(LinkType, Record)>> {
    if bytes.get(..4)? != [0x0a, 0x0d, 0x0d, 0x0a] {
        return None;
    }
    let mut big_endian = false;
    let mut interfaces: Vec<(LinkType, i64)> = Vec::new(); // (link type, units per second)
    let mut out = Vec::new();
    let mut at = 0;
    while at + 12 <= bytes.len() {
        if bytes[at..at + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            big_endian = bytes[at + 8..at + 12] == [0x1a, 0x2b, 0x3c, 0x4d];
            interfaces.clear();
        }
        let u32_at = |i: usize| {
            let b: [u8; 4] = bytes[i..i + 4].try_into().unwrap();
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let u16_at = |i: usize| {
            let b: [u8; 2] = bytes[i..i + 2].try_into().unwrap();
            if big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            }
        };
        let kind = u32_at(at);
        let len = u32_at(at + 4) as usize;
        if len < 12 || at + len > bytes.len() {
            break;
        }
        let body = at + 8;
        match kind {
            1 => {
                let mut resolution = 1_000_000;
                let mut opt = body + 8;
                while opt + 4 <= at + len - 4 {
                    let (code, olen) = (u16_at(opt), usize::from(u16_at(opt + 2)));
                    if code == 0 {
                        break;
                    }
                    if code == 9 && olen >= 1 {
                        let v = bytes[opt + 4];
                        resolution = if v & 0x80 == 0 {
                            10i64.pow(u32::from(v))
                        } else {
                            1i64 << (v & 0x7f)
                        };
                    }
                    opt += 4 + olen.div_ceil(4) * 4;
                }
                interfaces.push((LinkType(u32::from(u16_at(body))), resolution));
            }
            6 => {
                let (link_type, resolution) = interfaces[u32_at(body) as usize];
                let units =
                    (u64::from(u32_at(body + 4)) << 32 | u64::from(u32_at(body + 8))) as i64;
                let caplen = u32_at(body + 12) as usize;
                let orig_len = u32_at(body + 16);
                let data = bytes[body + 20..body + 20 + caplen].to_vec();
                let ts = Timestamp::from_secs_nanos(
                    units / resolution,
                    (units % resolution) * 1_000_000_000 / resolution,
                );
                out.push((link_type, Record { ts, data, orig_len }));
            }
            3 => {
                let orig_len = u32_at(body);
                let caplen = (orig_len as usize).min(len - 16);
                let data = bytes[body + 4..body + 4 + caplen].to_vec();
                let ts = Timestamp::ZERO;
                out.push((interfaces[0].0, Record { ts, data, orig_len }));
            }
            _ => {}
        }
        at += len;
    }
    Some(out)
}

/// A decoded segment, owned, so a whole file's worth can be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seg {
    frame: u64,
    ts: Timestamp,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    mss: Option<u16>,
    window_scale: Option<u8>,
    sack_permitted: bool,
    timestamp: Option<(u32, u32)>,
    payload: Vec<u8>,
    payload_len: u32,
}

impl From<&TcpSegment<'_>> for Seg {
    fn from(s: &TcpSegment<'_>) -> Self {
        Seg {
            frame: s.frame,
            ts: s.ts,
            src: s.src,
            dst: s.dst,
            seq: s.seq,
            ack: s.ack,
            flags: s.flags.0,
            window: s.window,
            mss: s.options().mss,
            window_scale: s.options().window_scale,
            sack_permitted: s.options().sack_permitted,
            timestamp: s.options().timestamp,
            payload: s.payload.to_vec(),
            payload_len: s.payload_len,
        }
    }
}

fn decode_records(link_type: LinkType, records: &[Record]) -> (Vec<Seg>, DecodeStats) {
    let with_links: Vec<(LinkType, &Record)> = records.iter().map(|r| (link_type, r)).collect();
    decode_linked(&with_links)
}

fn decode_linked(records: &[(LinkType, &Record)]) -> (Vec<Seg>, DecodeStats) {
    let mut decoder = Decoder::new(FragmentLimits::default());
    let mut segments = Vec::new();
    for (i, &(link_type, r)) in records.iter().enumerate() {
        let frame = Frame {
            number: i as u64 + 1,
            offset: 0,
            ts: r.ts,
            link_type,
            data: &r.data,
            orig_len: r.orig_len,
        };
        if let Decoded::Tcp(s) = decoder.decode(&frame) {
            segments.push(Seg::from(&s));
        }
    }
    decoder.finish();
    assert_stats_add_up(&decoder.stats);
    (segments, decoder.stats)
}

fn decode_file(name: &str) -> (LinkType, Vec<Seg>, DecodeStats) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/decode")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (link_type, records) = read_pcap(&bytes).expect("a classic pcap file");
    let (segments, stats) = decode_records(link_type, &records);
    assert_eq!(stats.frames as usize, records.len());
    (link_type, segments, stats)
}

/// Every frame is in exactly one bucket (see `DecodeStats`).
fn assert_stats_add_up(s: &DecodeStats) {
    let unsupported: u64 = s.unsupported_link.values().sum();
    assert_eq!(
        s.frames,
        s.tcp_segments
            + s.non_tcp
            + s.non_ip
            + unsupported
            + s.malformed
            + s.esp
            + s.tunnel_too_deep
            + s.fragments
            - s.fragments_reassembled,
        "{s:?}"
    );
    assert!(
        s.fragments_reassembled + s.fragments_dropped <= s.fragments,
        "{s:?}"
    );
    assert_eq!(
        s.fragments_dropped,
        s.fragments_incomplete + s.fragments_over_limit + s.fragments_invalid,
        "every dropped fragment has its reason: {s:?}"
    );
    assert_eq!(
        s.non_tcp,
        s.non_tcp_protocols.values().sum::<u64>(),
        "{s:?}"
    );
    assert!(
        s.non_ip >= s.non_ip_ethertypes.values().sum::<u64>(),
        "{s:?}"
    );
}

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn segment_at(segments: &[Seg], frame: u64) -> &Seg {
    segments
        .iter()
        .find(|s| s.frame == frame)
        .unwrap_or_else(|| panic!("no TCP segment decoded from frame {frame}"))
}

/// One real capture: its link type, tshark's count of frames with TCP, and
/// one segment's fields as tshark reads them.
struct Expect {
    file: &'static str,
    link_type: u32,
    tshark_tcp: usize,
    frame: u64,
    src: &'static str,
    dst: &'static str,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    payload_len: u32,
    timestamp: Option<(u32, u32)>,
    payload_prefix: &'static str,
}

fn check(e: &Expect) {
    let (link_type, segments, stats) = decode_file(e.file);
    assert_eq!(link_type, LinkType(e.link_type), "{}", e.file);
    assert_eq!(segments.len(), e.tshark_tcp, "{}: {stats:?}", e.file);
    let s = segment_at(&segments, e.frame);
    assert_eq!(s.src, sock(e.src), "{}", e.file);
    assert_eq!(s.dst, sock(e.dst), "{}", e.file);
    assert_eq!((s.seq, s.ack), (e.seq, e.ack), "{}", e.file);
    assert_eq!(s.flags, e.flags, "{}", e.file);
    assert_eq!(s.window, e.window, "{}", e.file);
    assert_eq!(s.payload_len, e.payload_len, "{}", e.file);
    assert_eq!(s.payload.len(), e.payload_len as usize, "{}", e.file);
    assert_eq!(s.timestamp, e.timestamp, "{}", e.file);
    assert!(
        s.payload.starts_with(&hex(e.payload_prefix)),
        "{}: payload {:02x?}",
        e.file,
        &s.payload[..s.payload.len().min(16)]
    );
}

const PSH_ACK: u8 = TcpFlags::PSH | TcpFlags::ACK;

#[test]
fn null_link_ipv6_loopback() {
    check(&Expect {
        file: "sv__tests-http-ipv6-input.pcap",
        link_type: 0,
        tshark_tcp: 14,
        frame: 5,
        src: "[::1]:55717",
        dst: "[::1]:8000",
        seq: 296797505,
        ack: 2637652760,
        flags: PSH_ACK,
        window: 12743,
        payload_len: 74,
        timestamp: Some((770775250, 770775250)),
        payload_prefix: "474554202f20485454502f312e31",
    });
}

#[test]
fn null_link_ipv4_loopback() {
    check(&Expect {
        file: "sv__tests-http-connect-http-connect-simple-input.pcap",
        link_type: 0,
        tshark_tcp: 16,
        frame: 5,
        src: "127.0.0.1:60464",
        dst: "127.0.0.1:8002",
        seq: 805930762,
        ack: 4028737068,
        flags: PSH_ACK,
        window: 12759,
        payload_len: 53,
        timestamp: Some((2321597527, 2321597525)),
        payload_prefix: "434f4e4e45435420",
    });
}

#[test]
fn linux_sll_nanosecond_handshake_with_options() {
    let (link_type, segments, stats) = decode_file("tcpdump__tests-tcp-handshake-nano.pcap");
    assert_eq!(link_type, LinkType::LINUX_SLL);
    assert_eq!(segments.len(), 3, "{stats:?}");
    let syn = &segments[0];
    assert_eq!(syn.src, sock("131.155.215.69:46656"));
    assert_eq!(syn.dst, sock("137.116.81.94:80"));
    assert_eq!(syn.seq, 797190859);
    assert_eq!(syn.flags, TcpFlags::SYN);
    assert_eq!(syn.window, 27200);
    assert_eq!(syn.mss, Some(1360));
    assert_eq!(syn.window_scale, Some(7));
    assert!(syn.sack_permitted);
    assert_eq!(syn.timestamp, Some((1131021154, 0)));
    // tshark: frame.time_epoch 1418145369.924505488
    assert_eq!(syn.ts, Timestamp(1_418_145_369_924_505_488));
    let syn_ack = &segments[1];
    assert_eq!(syn_ack.flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!((syn_ack.mss, syn_ack.window_scale), (Some(1440), Some(8)));
    assert_eq!(syn_ack.ack, 797190860);
}

#[test]
fn linux_sll2() {
    check(&Expect {
        file: "sv__tests-decode-sll2-02-input.pcap",
        link_type: 276,
        tshark_tcp: 11,
        frame: 4,
        src: "192.168.1.253:56478",
        dst: "192.168.1.21:80",
        seq: 2332771220,
        ack: 845479109,
        flags: PSH_ACK,
        window: 502,
        payload_len: 82,
        timestamp: Some((3317596245, 311646155)),
        payload_prefix: "474554202f74657374696e67",
    });
}

#[test]
fn raw_ip_101_with_data_on_syn() {
    check(&Expect {
        file: "zeek__testing-btest-Traces-tcp-payload-syn.pcap",
        link_type: 101,
        tshark_tcp: 6,
        frame: 1,
        src: "192.168.0.1:80",
        dst: "192.168.0.2:80",
        seq: 10,
        ack: 0,
        flags: TcpFlags::SYN,
        window: 8192,
        payload_len: 100,
        timestamp: None,
        payload_prefix: "474554202f2f696e6465782e",
    });
}

#[test]
fn raw_ipv4_228() {
    check(&Expect {
        file: "zeek__testing-btest-Traces-http-261-variant-04-te_cl_desync.pcap",
        link_type: 228,
        tshark_tcp: 8,
        frame: 4,
        src: "192.168.1.100:40004",
        dst: "192.168.1.200:80",
        seq: 1001,
        ack: 2001,
        flags: PSH_ACK,
        window: 8192,
        payload_len: 132,
        timestamp: None,
        payload_prefix: "504f5354202f20485454502f312e31",
    });
}

#[test]
fn raw_ip_12_ipv6() {
    check(&Expect {
        file: "pcapplusplus__Tests-Pcap++Test-PcapExamples-four_ipv6_http_streams.pcap",
        link_type: 12,
        tshark_tcp: 81,
        frame: 4,
        src: "[2001:618:400::5199:cc70]:35995",
        dst: "[2001:618:1:8000::5]:80",
        seq: 1793525559,
        ack: 3102676803,
        flags: PSH_ACK,
        window: 1420,
        payload_len: 348,
        timestamp: Some((14490201, 2618044649)),
        payload_prefix: "474554202f20485454502f312e31",
    });
}

#[test]
fn cisco_hdlc() {
    check(&Expect {
        file: "sv__tests-decode-chdlc-01-hdlc-http_1tx.pcap",
        link_type: 104,
        tshark_tcp: 17,
        frame: 4,
        src: "192.168.2.7:4938",
        dst: "65.55.116.183:80",
        seq: 2620655981,
        ack: 358477129,
        flags: PSH_ACK,
        window: 17520,
        payload_len: 961,
        timestamp: None,
        payload_prefix: "474554202f434e54",
    });
}

#[test]
fn nflog() {
    check(&Expect {
        file: "zeek__testing-btest-Traces-nflog-http.pcap",
        link_type: 239,
        tshark_tcp: 13,
        frame: 6,
        src: "10.0.2.15:49762",
        dst: "93.184.216.34:80",
        seq: 1060289234,
        ack: 1131904002,
        flags: PSH_ACK,
        window: 29200,
        payload_len: 79,
        timestamp: None,
        payload_prefix: "474554202f20485454502f312e31",
    });
}

#[test]
fn ethernet_single_vlan_mixed_with_untagged() {
    check(&Expect {
        file: "sv__tests-bug-4376-syn_retransmit_with_ts.pcap",
        link_type: 1,
        tshark_tcp: 8,
        frame: 5,
        src: "10.38.251.146:33372",
        dst: "10.38.251.147:80",
        seq: 2627594569,
        ack: 1513466458,
        flags: PSH_ACK,
        window: 229,
        payload_len: 135,
        timestamp: Some((87113580, 87063393)),
        payload_prefix: "474554202f6d616c77617265",
    });
}

#[test]
fn ethernet_two_vlan_tags() {
    check(&Expect {
        file: "arkime__tests-pcap-twovlan.pcap",
        link_type: 1,
        tshark_tcp: 6,
        frame: 4,
        src: "10.0.0.1:54422",
        dst: "10.0.0.2:80",
        seq: 3240623592,
        ack: 1322744073,
        flags: PSH_ACK,
        window: 229,
        payload_len: 113,
        timestamp: Some((1057156626, 2267904538)),
        payload_prefix: "474554202f20485454502f312e31",
    });
}

#[test]
fn ethernet_three_vlan_tags() {
    check(&Expect {
        file: "zeek__testing-btest-Traces-vlan-qinqinq.pcap",
        link_type: 1,
        tshark_tcp: 14,
        frame: 4,
        src: "141.142.228.5:59856",
        dst: "192.150.187.43:80",
        seq: 4263588411,
        ack: 2779762239,
        flags: PSH_ACK,
        window: 8235,
        payload_len: 136,
        timestamp: Some((374005094, 797524569)),
        payload_prefix: "474554202f646f776e6c6f6164",
    });
}

#[test]
fn ethernet_pppoe_session() {
    check(&Expect {
        file: "sv__tests-bug-4810-pppoe-session-http.pcap",
        link_type: 1,
        tshark_tcp: 30,
        frame: 4,
        src: "10.100.0.0:57013",
        dst: "142.250.179.131:80",
        seq: 3569186389,
        ack: 1345046749,
        flags: PSH_ACK,
        window: 514,
        payload_len: 77,
        timestamp: Some((3417215605, 3787897935)),
        payload_prefix: "474554202f20485454502f312e31",
    });
}

#[test]
fn ethernet_ipv6_extension_headers_and_atomic_fragments() {
    // 38 frames: 2 ICMPv6 neighbour discovery, 36 TCP, some behind hop-by-hop,
    // routing, destination options or atomic fragment headers.
    let (_, segments, stats) = decode_file("zeek__testing-btest-Traces-ipv6-http-atomic-frag.pcap");
    assert_eq!(segments.len(), 36, "{stats:?}");
    assert_eq!(stats.non_tcp, 2);
    assert_eq!(stats.fragments, 0, "atomic fragments are not fragments");
    let s = segment_at(&segments, 7);
    assert_eq!(s.src, sock("[2001:db8:1::1]:80"));
    assert_eq!(s.dst, sock("[2001:db8:1::2]:36951"));
    assert_eq!((s.seq, s.ack), (3185309717, 3810442590));
    assert_eq!(s.payload_len, 88);
    assert!(s.payload.starts_with(b"<html>"));
    // Frame 16 carries an atomic fragment header: "GET /bad.html", 15 bytes.
    let atomic = segment_at(&segments, 16);
    assert_eq!(atomic.payload_len, 15);
    assert!(atomic.payload.starts_with(b"GET /bad.html"));
}

#[test]
fn ethernet_ipv4_fragments_reassembled() {
    // 72 frames: 10 unfragmented TCP segments and 62 IPv4 fragments of 4
    // datagrams. tshark (reassembling IPv4 by default) shows TCP on the
    // unfragmented frames and on the 4 frames completing a datagram:
    // `tshark -Y tcp -T fields -e frame.number`.
    let tshark_tcp_frames = [1, 2, 3, 4, 5, 7, 9, 27, 67, 68, 69, 70, 71, 72];
    let (_, segments, stats) = decode_file("arkime__tests-pcap-socks5-http-302-frag.pcap");
    assert_eq!(
        segments.iter().map(|s| s.frame).collect::<Vec<_>>(),
        tshark_tcp_frames
    );
    assert_eq!(stats.frames, 72);
    assert_eq!(stats.fragments, 62);
    assert_eq!(stats.fragments_reassembled, 4);
    assert_eq!(stats.fragments_dropped, 0);
    // Frame 27 completes a 22-fragment datagram of 24-byte fragments.
    let get = segment_at(&segments, 27);
    assert_eq!(get.src, sock("10.0.0.1:1637"));
    assert_eq!(get.dst, sock("10.0.0.2:21477"));
    assert_eq!((get.seq, get.ack), (851119755, 2048564461));
    assert_eq!(get.flags, PSH_ACK);
    assert_eq!(get.window, 17628);
    assert_eq!(get.payload_len, 395);
    assert_eq!(get.payload.len(), 395);
    assert!(get
        .payload
        .starts_with(b"GET / HTTP/1.1\r\nHost: www.google.com\r\n"));
    assert!(get.payload.ends_with(b"Connection: keep-alive\r\n\r\n"));
}

#[test]
fn radiotap_802_11() {
    check(&Expect {
        file: "arkime__tests-pcap-80211http.pcap",
        link_type: 127,
        tshark_tcp: 26,
        frame: 4,
        src: "172.5.5.113:49417",
        dst: "14.17.32.211:80",
        seq: 2524188119,
        ack: 1539642335,
        flags: PSH_ACK,
        window: 1369,
        payload_len: 580,
        timestamp: Some((4294964478, 2956444545)),
        payload_prefix: "474554202f20485454502f312e31",
    });
}

#[test]
fn arcnet_linux() {
    check(&Expect {
        file: "tcpdump__tests-arcnet-rfc1201-arp-icmp-http.pcap",
        link_type: 129,
        tshark_tcp: 14,
        frame: 16,
        src: "10.80.131.1:1027",
        dst: "146.190.240.163:80",
        seq: 2567257386,
        ack: 305328890,
        flags: PSH_ACK,
        window: 1872,
        payload_len: 194,
        timestamp: Some((305417, 1281130006)),
        payload_prefix: "474554202f20485454502f312e31",
    });
}

/// Frames tshark shows with a TCP layer that connlint deliberately skips as
/// malformed, by capture and frame number.
const SKIPPED_ON_PURPOSE: &[(&str, u64)] = &[
    // Fuzzed: data offset 40 bytes in a 20-byte segment ("Short segment").
    (
        "ndpi__tests-cfgs-default-pcap-fuzz-2006-09-29-28586.pcap",
        27,
    ),
    (
        "ndpi__tests-cfgs-default-pcap-fuzz-2006-09-29-28586.pcap",
        80,
    ),
    // Fuzzed: IP total length 35 leaves 15 bytes for a 20-byte TCP header.
    (
        "ndpi__tests-cfgs-default-pcap-fuzz-2006-09-29-28586.pcap",
        111,
    ),
];

#[test]
fn fuzzed_big_endian_capture_matches_tshark_but_for_malformed_headers() {
    // tshark -Y tcp: 117 frames; three of them are TCP headers that do not
    // fit their segment (SKIPPED_ON_PURPOSE), counted here as malformed.
    let (_, segments, stats) =
        decode_file("ndpi__tests-cfgs-default-pcap-fuzz-2006-09-29-28586.pcap");
    assert_eq!(segments.len(), 117 - 3, "{stats:?}");
    for (_, frame) in SKIPPED_ON_PURPOSE {
        assert!(segments.iter().all(|s| s.frame != *frame));
    }
    // Frame 72 claims an IP total length of 9587 in a 1514-byte frame that
    // the snaplen did not cut: like tshark, believe the frame (1460 bytes of
    // TCP payload), not the length field.
    let s = segment_at(&segments, 72);
    assert_eq!(s.src, sock("172.20.3.5:2605"));
    assert_eq!((s.seq, s.ack), (3841022944, 3396170188));
    assert_eq!(s.payload_len, 1460);
    assert_eq!(s.payload.len(), 1460);
    // Frame 52 is a fragment (offset 43008) of a TCP datagram whose other
    // fragments are missing, frame 130 likewise: dropped at the end.
    assert_eq!(stats.fragments, 2);
    assert_eq!(stats.fragments_dropped, 2);
}

/// Compares every capture of the corpus (tests/corpus/files, or
/// CONNLINT_CORPUS) with tshark's reading of it, frame by frame: which frames
/// carry TCP, and their ports, seq, ack and length. tshark's reading is stored
/// in tests/corpus/tshark/<file>.tcp.tsv (scripts/tshark-reference.py), so the
/// test needs no tshark; with CONNLINT_CORPUS set to another directory it runs
/// tshark on that directory's files instead.
#[test]
fn corpus_agrees_with_tshark() {
    let repo_corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let other = std::env::var_os("CONNLINT_CORPUS").map(PathBuf::from);
    let dir = other.clone().unwrap_or_else(|| repo_corpus.join("files"));
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let mut report = String::new();
    let mut compared = 0;
    let mut frames = 0;
    for path in names {
        let bytes = std::fs::read(&path).unwrap();
        let records: Vec<(LinkType, Record)> = match read_pcap(&bytes) {
            Some((link_type, records)) => records.into_iter().map(|r| (link_type, r)).collect(),
            None => match read_pcapng(&bytes) {
                Some(records) => records,
                None => continue,
            },
        };
        compared += 1;
        let linked: Vec<(LinkType, &Record)> = records.iter().map(|(l, r)| (*l, r)).collect();
        let (segments, stats) = decode_linked(&linked);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let tshark_text = if other.is_some() {
            let out = std::process::Command::new("tshark")
                .arg("-r")
                .arg(&path)
                .args(["-Y", "tcp", "-T", "fields", "-E", "occurrence=f"])
                .args([
                    "-e",
                    "frame.number",
                    "-e",
                    "tcp.srcport",
                    "-e",
                    "tcp.dstport",
                ])
                .args(["-e", "tcp.seq_raw", "-e", "tcp.ack_raw", "-e", "tcp.len"])
                .output()
                .expect("tshark");
            String::from_utf8_lossy(&out.stdout).into_owned()
        } else {
            let stored = repo_corpus.join("tshark").join(format!("{name}.tcp.tsv"));
            let text = std::fs::read_to_string(&stored)
                .unwrap_or_else(|e| panic!("{}: {e}", stored.display()));
            text.lines().skip(1).map(|l| format!("{l}\n")).collect()
        };
        let theirs: Vec<String> = tshark_text
            .lines()
            .filter(|l| {
                let frame: u64 = l.split('\t').next().unwrap().parse().unwrap();
                !SKIPPED_ON_PURPOSE.contains(&(name.as_str(), frame))
            })
            .map(str::to_string)
            .collect();
        let ours: Vec<String> = segments
            .iter()
            .map(|s| {
                format!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    s.frame,
                    s.src.port(),
                    s.dst.port(),
                    s.seq,
                    s.ack,
                    s.payload_len
                )
            })
            .collect();
        frames += theirs.len();
        if ours != theirs {
            let only_ours: Vec<_> = ours.iter().filter(|l| !theirs.contains(l)).collect();
            let only_theirs: Vec<_> = theirs.iter().filter(|l| !ours.contains(l)).collect();
            report.push_str(&format!(
                "{name}: ours {} tshark {}\n  only ours: {:?}\n  only tshark: {:?}\n  {stats:?}\n",
                ours.len(),
                theirs.len(),
                &only_ours[..only_ours.len().min(5)],
                &only_theirs[..only_theirs.len().min(5)],
            ));
        }
    }
    assert!(report.is_empty(), "{report}");
    eprintln!("{compared} captures, {frames} TCP frames agree with tshark");
    if other.is_none() {
        // Every capture of the corpus read, and its TCP frames compared.
        assert!(
            compared >= 119,
            "only {compared} captures in {}",
            dir.display()
        );
        assert!(frames > 100_000, "only {frames} TCP frames compared");
    } else {
        assert!(compared > 0, "no capture in {}", dir.display());
    }
}

// ---------------------------------------------------------------------------
// Frames built by hand, one per link layer and per odd case.

const CLIENT4: [u8; 4] = [192, 0, 2, 1];
const SERVER4: [u8; 4] = [198, 51, 100, 2];
const CLIENT6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const SERVER6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn options() -> [TcpOptionElement; 4] {
    [
        TcpOptionElement::MaximumSegmentSize(1460),
        TcpOptionElement::WindowScale(7),
        TcpOptionElement::SelectiveAcknowledgement((100, 200), [Some((300, 400)), None, None]),
        TcpOptionElement::Timestamp(5, 6),
    ]
}

/// An IPv4 packet carrying a TCP segment 51000 -> 80 with `options()`.
fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv4(CLIENT4, SERVER4, 64)
        .tcp(51000, 80, 1000, 512)
        .ack(2000)
        .psh()
        .options(&options())
        .unwrap()
        .write(&mut out, payload)
        .unwrap();
    out
}

/// The same segment in IPv6.
fn ipv6_tcp(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv6(CLIENT6, SERVER6, 64)
        .tcp(51000, 80, 1000, 512)
        .ack(2000)
        .psh()
        .options(&options())
        .unwrap()
        .write(&mut out, payload)
        .unwrap();
    out
}

fn decode_frames(frames: &[(LinkType, Vec<u8>, u32)]) -> (Vec<Seg>, DecodeStats) {
    let mut decoder = Decoder::new(FragmentLimits::default());
    let mut segments = Vec::new();
    for (i, (link_type, data, orig_len)) in frames.iter().enumerate() {
        let frame = Frame {
            number: i as u64 + 1,
            offset: 0,
            ts: Timestamp::from_secs_nanos(1_700_000_000 + i as i64, 0),
            link_type: *link_type,
            data,
            orig_len: *orig_len,
        };
        if let Decoded::Tcp(s) = decoder.decode(&frame) {
            segments.push(Seg::from(&s));
        }
    }
    decoder.finish();
    assert_stats_add_up(&decoder.stats);
    (segments, decoder.stats)
}

/// Decodes one whole (uncut) frame.
fn decode_one(link_type: LinkType, data: &[u8]) -> (Option<Seg>, DecodeStats) {
    let (segments, stats) = decode_frames(&[(link_type, data.to_vec(), data.len() as u32)]);
    (segments.into_iter().next(), stats)
}

fn assert_is_the_segment(s: &Seg, ipv6: bool, payload: &[u8]) {
    if ipv6 {
        assert_eq!(s.src, sock("[2001:db8::1]:51000"));
        assert_eq!(s.dst, sock("[2001:db8::2]:80"));
    } else {
        assert_eq!(s.src, sock("192.0.2.1:51000"));
        assert_eq!(s.dst, sock("198.51.100.2:80"));
    }
    assert_eq!((s.seq, s.ack), (1000, 2000));
    assert_eq!(s.flags, PSH_ACK);
    assert_eq!(s.window, 512);
    assert_eq!(s.mss, Some(1460));
    assert_eq!(s.window_scale, Some(7));
    assert_eq!(s.timestamp, Some((5, 6)));
    assert_eq!(s.payload, payload);
    assert_eq!(s.payload_len as usize, payload.len());
}

fn ethernet(ethertype: [u8; 2], rest: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    f.extend_from_slice(&ethertype);
    f.extend_from_slice(rest);
    f
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn every_link_layer_yields_the_same_segment() {
    let body = b"GET / HTTP/1.1\r\n\r\n";
    let v4 = ipv4_tcp(body);
    let v6 = ipv6_tcp(body);
    let sll_header = |protocol: [u8; 2]| -> Vec<u8> {
        cat(&[&[0, 0, 0, 1, 0, 6], &[2, 0, 0, 0, 0, 1, 0, 0], &protocol])
    };
    let sll2_header = |protocol: [u8; 2]| -> Vec<u8> {
        cat(&[
            &protocol,
            &[0, 0],
            &[0, 0, 0, 3],
            &[0, 1, 0, 6],
            &[2, 0, 0, 0, 0, 1, 0, 0],
        ])
    };
    let nflog = |family: u8, ip: &[u8]| -> Vec<u8> {
        let len = (4 + ip.len()) as u16;
        let pad = vec![0u8; (4 - ip.len() % 4) % 4];
        cat(&[
            &[family, 0, 0, 1],
            &[8, 0, 1, 0, 0x08, 0x00, 3, 0],
            &len.to_le_bytes(),
            &[9, 0],
            ip,
            &pad,
        ])
    };
    let cases: Vec<(&str, LinkType, Vec<u8>, bool)> = vec![
        (
            "ethernet v4",
            LinkType::ETHERNET,
            ethernet([0x08, 0x00], &v4),
            false,
        ),
        (
            "ethernet v6",
            LinkType::ETHERNET,
            ethernet([0x86, 0xdd], &v6),
            true,
        ),
        (
            "1 vlan tag",
            LinkType::ETHERNET,
            ethernet([0x81, 0x00], &cat(&[&[0, 10, 0x08, 0x00], &v4])),
            false,
        ),
        (
            "2 vlan tags (802.1ad)",
            LinkType::ETHERNET,
            ethernet(
                [0x88, 0xa8],
                &cat(&[&[0, 10, 0x81, 0x00], &[0, 20, 0x86, 0xdd], &v6]),
            ),
            true,
        ),
        (
            "3 vlan tags",
            LinkType::ETHERNET,
            ethernet(
                [0x88, 0xa8],
                &cat(&[
                    &[0, 10, 0x81, 0x00],
                    &[0, 20, 0x81, 0x00],
                    &[0, 30, 0x08, 0x00],
                    &v4,
                ]),
            ),
            false,
        ),
        (
            "pppoe v4",
            LinkType::ETHERNET,
            ethernet(
                [0x88, 0x64],
                &cat(&[
                    &[0x11, 0, 0x12, 0x34],
                    &((v4.len() + 2) as u16).to_be_bytes(),
                    &[0x00, 0x21],
                    &v4,
                ]),
            ),
            false,
        ),
        (
            "vlan + pppoe v6",
            LinkType::ETHERNET,
            ethernet(
                [0x81, 0x00],
                &cat(&[
                    &[0, 7, 0x88, 0x64],
                    &[0x11, 0, 0x12, 0x34],
                    &((v6.len() + 2) as u16).to_be_bytes(),
                    &[0x00, 0x57],
                    &v6,
                ]),
            ),
            true,
        ),
        (
            "null LE v4",
            LinkType::NULL,
            cat(&[&2u32.to_le_bytes(), &v4]),
            false,
        ),
        (
            "null BE v4",
            LinkType::NULL,
            cat(&[&2u32.to_be_bytes(), &v4]),
            false,
        ),
        (
            "null LE v6 (BSD 24)",
            LinkType::NULL,
            cat(&[&24u32.to_le_bytes(), &v6]),
            true,
        ),
        (
            "null BE v6 (FreeBSD 28)",
            LinkType::NULL,
            cat(&[&28u32.to_be_bytes(), &v6]),
            true,
        ),
        (
            "null LE v6 (macOS 30)",
            LinkType::NULL,
            cat(&[&30u32.to_le_bytes(), &v6]),
            true,
        ),
        (
            "loop v4",
            LinkType::LOOP,
            cat(&[&2u32.to_be_bytes(), &v4]),
            false,
        ),
        (
            "loop v6",
            LinkType::LOOP,
            cat(&[&24u32.to_be_bytes(), &v6]),
            true,
        ),
        ("raw 101 v4", LinkType::RAW, v4.clone(), false),
        ("raw 101 v6", LinkType::RAW, v6.clone(), true),
        ("raw 12 v4", LinkType::RAW_BSD12, v4.clone(), false),
        ("raw 14 v6", LinkType::RAW_BSD14, v6.clone(), true),
        ("ipv4 228", LinkType::IPV4, v4.clone(), false),
        ("ipv6 229", LinkType::IPV6, v6.clone(), true),
        (
            "sll v4",
            LinkType::LINUX_SLL,
            cat(&[&sll_header([0x08, 0x00]), &v4]),
            false,
        ),
        (
            "sll v6",
            LinkType::LINUX_SLL,
            cat(&[&sll_header([0x86, 0xdd]), &v6]),
            true,
        ),
        (
            "sll2 v4",
            LinkType::LINUX_SLL2,
            cat(&[&sll2_header([0x08, 0x00]), &v4]),
            false,
        ),
        (
            "sll2 v6",
            LinkType::LINUX_SLL2,
            cat(&[&sll2_header([0x86, 0xdd]), &v6]),
            true,
        ),
        (
            "cisco hdlc",
            LinkType(104),
            cat(&[&[0x0f, 0x00, 0x08, 0x00], &v4]),
            false,
        ),
        ("nflog v4", LinkType(239), nflog(2, &v4), false),
        ("nflog v6", LinkType(239), nflog(10, &v6), true),
        (
            "ppp",
            LinkType(9),
            cat(&[&[0xff, 0x03, 0x00, 0x21], &v4]),
            false,
        ),
        (
            "arcnet linux",
            LinkType(129),
            cat(&[&[1, 2, 0, 0, 0xd4, 0, 0, 1], &v4]),
            false,
        ),
    ];
    for (name, link_type, data, ipv6) in cases {
        let (segment, stats) = decode_one(link_type, &data);
        let segment = segment.unwrap_or_else(|| panic!("{name}: no segment, {stats:?}"));
        assert_is_the_segment(&segment, ipv6, body);
        assert_eq!(stats.tcp_segments, 1, "{name}");
    }
}

#[test]
fn sack_blocks_are_decoded() {
    let mut decoder = Decoder::default();
    let data = ethernet([0x08, 0x00], &ipv4_tcp(b""));
    let frame = Frame {
        number: 1,
        offset: 0,
        ts: Timestamp::ZERO,
        link_type: LinkType::ETHERNET,
        data: &data,
        orig_len: data.len() as u32,
    };
    let Decoded::Tcp(s) = decoder.decode(&frame) else {
        panic!("{:?}", decoder.stats)
    };
    assert_eq!(s.options().sack.as_slice(), &[(100, 200), (300, 400)]);
    assert!(!s.options().sack_permitted);
}

#[test]
fn ethernet_padding_is_not_payload() {
    // A bare ACK is 54 bytes; Ethernet pads it to 60 (here with non-zero bytes).
    let mut ip = Vec::new();
    PacketBuilder::ipv4(CLIENT4, SERVER4, 64)
        .tcp(51000, 80, 1000, 512)
        .ack(2000)
        .write(&mut ip, &[])
        .unwrap();
    let frame = ethernet(
        [0x08, 0x00],
        &cat(&[&ip, &[0xde, 0xad, 0xbe, 0xef, 0xde, 0xad]]),
    );
    assert_eq!(frame.len(), 60);
    let (s, _) = decode_one(LinkType::ETHERNET, &frame);
    let s = s.unwrap();
    assert!(s.payload.is_empty());
    assert_eq!(s.payload_len, 0);
    // The same with one byte of data: the padding does not join it.
    let mut ip = Vec::new();
    PacketBuilder::ipv4(CLIENT4, SERVER4, 64)
        .tcp(51000, 80, 1000, 512)
        .write(&mut ip, b"x")
        .unwrap();
    let frame = ethernet([0x08, 0x00], &cat(&[&ip, &[0xee; 5]]));
    let (s, _) = decode_one(LinkType::ETHERNET, &frame);
    assert_eq!(s.unwrap().payload, b"x");
}

#[test]
fn snaplen_cut_frame_keeps_claimed_length() {
    let body = vec![b'a'; 1000];
    let full = ethernet([0x08, 0x00], &ipv4_tcp(&body));
    let orig_len = full.len() as u32;
    let header = 14 + 20 + 20 + 36; // Ethernet, IPv4, TCP, options (35, padded)
    let frames = vec![
        // Cut inside the payload: what is there, and the length the IP header claims.
        (LinkType::ETHERNET, full[..header + 100].to_vec(), orig_len),
        // Cut inside the options: MSS and window scale are there, timestamps not.
        (
            LinkType::ETHERNET,
            full[..14 + 20 + 20 + 8].to_vec(),
            orig_len,
        ),
        // Cut inside the fixed TCP header: nothing to decode.
        (LinkType::ETHERNET, full[..14 + 20 + 12].to_vec(), orig_len),
    ];
    let (segments, stats) = decode_frames(&frames);
    assert_eq!(segments.len(), 2, "{stats:?}");
    assert_eq!(segments[0].payload, &body[..100]);
    assert_eq!(segments[0].payload_len, 1000);
    assert_eq!(segments[0].timestamp, Some((5, 6)));
    assert_eq!(segments[1].payload, b"");
    assert_eq!(segments[1].payload_len, 1000);
    assert_eq!(
        (segments[1].mss, segments[1].window_scale),
        (Some(1460), Some(7))
    );
    assert_eq!(segments[1].timestamp, None);
    assert_eq!(stats.malformed, 1);
}

#[test]
fn segmentation_offload_zero_lengths_use_the_frame() {
    let body = vec![b'z'; 3000];
    let mut v4 = ipv4_tcp(&body);
    v4[2..4].copy_from_slice(&[0, 0]);
    let mut v6 = ipv6_tcp(&body);
    v6[4..6].copy_from_slice(&[0, 0]);
    for (link_type, data) in [(LinkType::IPV4, v4), (LinkType::IPV6, v6)] {
        let (s, stats) = decode_one(link_type, &data);
        let s = s.unwrap_or_else(|| panic!("{stats:?}"));
        assert_eq!(s.payload_len, 3000);
        assert_eq!(s.payload, body);
    }
}

/// Splices IPv6 extension headers (type, bytes) between the fixed header and
/// the TCP segment of `packet`, fixing next-header fields and the length.
fn with_extension_headers(packet: &[u8], headers: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut fixed = packet[..40].to_vec();
    let mut chain = Vec::new();
    let mut types: Vec<u8> = headers.iter().map(|(t, _)| *t).collect();
    types.push(packet[6]);
    fixed[6] = types[0];
    for (i, (_, bytes)) in headers.iter().enumerate() {
        let mut h = bytes.clone();
        h[0] = types[i + 1];
        chain.extend_from_slice(&h);
    }
    let payload_len = (chain.len() + packet.len() - 40) as u16;
    fixed[4..6].copy_from_slice(&payload_len.to_be_bytes());
    cat(&[&fixed, &chain, &packet[40..]])
}

#[test]
fn ipv6_extension_headers_are_walked() {
    let body = b"hello";
    let v6 = ipv6_tcp(body);
    let hop_by_hop = vec![0, 0, 1, 4, 0, 0, 0, 0]; // PadN
    let routing = cat(&[&[0, 2, 0, 0, 0, 0, 0, 0], &SERVER6]); // type 0, 0 segments left
    let destination = vec![0, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let atomic_fragment = vec![0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78];
    let auth = vec![
        0, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let packet = with_extension_headers(
        &v6,
        &[
            (0, hop_by_hop),
            (43, routing),
            (44, atomic_fragment),
            (60, destination),
            (51, auth),
        ],
    );
    let (s, stats) = decode_one(LinkType::IPV6, &packet);
    let s = s.unwrap_or_else(|| panic!("{stats:?}"));
    assert_is_the_segment(&s, true, body);
    assert_eq!(stats.fragments, 0);

    // No next header (59) and ESP (50) are not TCP.
    let mut none = v6.clone();
    none[6] = 59;
    let (s, stats) = decode_one(LinkType::IPV6, &none);
    assert!(s.is_none());
    assert_eq!(stats.non_tcp, 1);
}

/// Splits the IPv4 packet's payload into fragments at the given byte ranges
/// (multiples of 8 except the last end), each with its own header.
fn ipv4_fragments(packet: &[u8], id: u16, ranges: &[(usize, usize)]) -> Vec<Vec<u8>> {
    let payload = &packet[20..];
    ranges
        .iter()
        .map(|&(start, end)| {
            let mut h = packet[..20].to_vec();
            h[2..4].copy_from_slice(&((20 + end - start) as u16).to_be_bytes());
            h[4..6].copy_from_slice(&id.to_be_bytes());
            let more = if end < payload.len() { 0x2000 } else { 0 };
            h[6..8].copy_from_slice(&(more | (start / 8) as u16).to_be_bytes());
            cat(&[&h, &payload[start..end]])
        })
        .collect()
}

#[test]
fn ipv4_fragments_out_of_order_and_overlapping() {
    let body: Vec<u8> = (0..100u8).collect();
    let packet = ipv4_tcp(&body); // 20 IP + 56 TCP + 100 = payload of 156 bytes
    assert_eq!(packet.len(), 176);
    let frags = ipv4_fragments(&packet, 7, &[(0, 64), (64, 128), (128, 156)]);
    // An overlapping fragment with other bytes at 56..80, arriving after the
    // first fragment and before the second: its bytes 64..80 are kept (first
    // wins), 56..64 are not.
    let mut overlap = ipv4_fragments(&packet, 7, &[(56, 80)]).remove(0);
    overlap[20..].fill(b'X');
    let eth = |ip: &[u8]| {
        (
            LinkType::ETHERNET,
            ethernet([0x08, 0x00], ip),
            (14 + ip.len()) as u32,
        )
    };
    let frames = vec![
        eth(&frags[2]),
        eth(&frags[0]),
        eth(&overlap),
        eth(&ipv4_tcp(b"unrelated")),
        eth(&frags[1]),
    ];
    let (segments, stats) = decode_frames(&frames);
    assert_eq!(segments.len(), 2, "{stats:?}");
    assert_eq!(segments[0].frame, 4);
    let s = &segments[1];
    assert_eq!(s.frame, 5, "the frame completing the datagram");
    let mut expected = body.clone();
    // TCP payload starts at 56 in the IP payload: bytes 64..80 are 8..24.
    expected[8..24].fill(b'X');
    assert_is_the_segment(s, false, &expected);
    assert_eq!(stats.fragments, 4);
    assert_eq!(stats.fragments_reassembled, 1);
    assert_eq!(stats.fragments_dropped, 0);
}

#[test]
fn ipv6_fragments_are_reassembled() {
    let body: Vec<u8> = (0..200u8).collect();
    let v6 = ipv6_tcp(&body);
    let fragmentable = &v6[40..]; // 56 TCP + 200
    assert_eq!(fragmentable.len(), 256);
    let fragment = |start: usize, end: usize| -> Vec<u8> {
        let more = u16::from(end < fragmentable.len());
        let offset_flags = (start as u16) | more;
        let header = cat(&[&[6, 0], &offset_flags.to_be_bytes(), &[0, 0, 0, 42]]);
        let mut fixed = v6[..40].to_vec();
        fixed[6] = 44;
        fixed[4..6].copy_from_slice(&((8 + end - start) as u16).to_be_bytes());
        cat(&[&fixed, &header, &fragmentable[start..end]])
    };
    let frames = vec![
        (LinkType::IPV6, fragment(128, 256), 0),
        (LinkType::IPV6, fragment(0, 128), 0),
    ];
    let frames: Vec<_> = frames
        .into_iter()
        .map(|(l, d, _)| {
            let n = d.len() as u32;
            (l, d, n)
        })
        .collect();
    let (segments, stats) = decode_frames(&frames);
    assert_eq!(segments.len(), 1, "{stats:?}");
    assert_is_the_segment(&segments[0], true, &body);
    assert_eq!(stats.fragments, 2);
    assert_eq!(stats.fragments_reassembled, 1);
}

#[test]
fn fragment_cut_by_snaplen_drops_its_datagram() {
    let packet = ipv4_tcp(&[7; 40]);
    let frags = ipv4_fragments(&packet, 9, &[(0, 48), (48, 96)]);
    let frames = vec![
        (LinkType::IPV4, frags[0].clone(), frags[0].len() as u32),
        // The second fragment lost its last 10 bytes to the snaplen.
        (
            LinkType::IPV4,
            frags[1][..frags[1].len() - 10].to_vec(),
            frags[1].len() as u32,
        ),
    ];
    let (segments, stats) = decode_frames(&frames);
    assert!(segments.is_empty());
    assert_eq!(stats.fragments, 2);
    assert_eq!(stats.fragments_dropped, 2);
}

#[test]
fn ipv4_header_options_are_skipped() {
    let body = b"with options";
    let plain = ipv4_tcp(body);
    let mut header = plain[..20].to_vec();
    header[0] = 0x46; // IHL 6: 4 bytes of options
    let total = (plain.len() + 4) as u16;
    header[2..4].copy_from_slice(&total.to_be_bytes());
    let packet = cat(&[&header, &[1, 1, 1, 0], &plain[20..]]);
    let (s, stats) = decode_one(LinkType::IPV4, &packet);
    assert_is_the_segment(&s.unwrap_or_else(|| panic!("{stats:?}")), false, body);
}

#[test]
fn fragments_time_out_and_are_counted_dropped() {
    let packet = ipv4_tcp(&[7; 40]);
    assert_eq!(packet.len(), 20 + 56 + 40);
    let frags = ipv4_fragments(&packet, 9, &[(0, 48), (48, 96)]);
    let mut decoder = Decoder::new(FragmentLimits {
        timeout_ns: 1_000_000_000,
        ..FragmentLimits::default()
    });
    let mut decode_at = |secs: i64, ip: &[u8]| {
        let frame = Frame {
            number: 1,
            offset: 0,
            ts: Timestamp::from_secs_nanos(secs, 0),
            link_type: LinkType::IPV4,
            data: ip,
            orig_len: ip.len() as u32,
        };
        matches!(decoder.decode(&frame), Decoded::Tcp(_))
    };
    assert!(!decode_at(100, &frags[0]));
    // Two seconds later the first fragment has timed out: no datagram.
    assert!(!decode_at(102, &frags[1]));
    assert_eq!(decoder.stats.fragments_dropped, 1);
    decoder.finish();
    assert_eq!(decoder.stats.fragments_dropped, 2);
    assert_eq!(decoder.stats.fragments_reassembled, 0);
    assert_stats_add_up(&decoder.stats);
}

#[test]
fn non_tcp_non_ip_malformed_and_unsupported_are_counted() {
    let mut udp = Vec::new();
    PacketBuilder::ipv4(CLIENT4, SERVER4, 64)
        .udp(53, 53)
        .write(&mut udp, b"dns")
        .unwrap();
    let mut udp_fragment = ipv4_fragments(&udp, 3, &[(0, 8)]).remove(0);
    udp_fragment[6] |= 0x20;
    let mut short_offset = ipv4_tcp(b"");
    short_offset[20 + 12] = 4 << 4;
    let mut long_offset = ipv4_tcp(b"");
    long_offset[20 + 12] = 15 << 4; // 60 bytes in a 56-byte segment
    let arp = ethernet([0x08, 0x06], &[0; 28]);
    let frames = vec![
        (LinkType::IPV4, udp.clone()),
        (LinkType::IPV4, udp_fragment),
        (LinkType::ETHERNET, arp),
        (LinkType::IPV4, short_offset),
        (LinkType::IPV4, long_offset),
        (LinkType::IPV4, vec![0x45, 0, 0]),
        (LinkType::ETHERNET, vec![1, 2, 3]),
        (LinkType(147), vec![0; 60]),
        (LinkType(147), vec![0; 60]),
        (LinkType(192), vec![]),
        (LinkType(148), vec![0; 60]),
    ];
    let frames: Vec<_> = frames
        .into_iter()
        .map(|(l, d)| {
            let n = d.len() as u32;
            (l, d, n)
        })
        .collect();
    let (segments, stats) = decode_frames(&frames);
    assert!(segments.is_empty());
    assert_eq!(stats.non_tcp, 1);
    assert_eq!(stats.non_tcp_protocols.get(&17), Some(&1));
    // A UDP datagram may be a tunnel (VXLAN, GENEVE, L2TP), so its
    // fragments are buffered like TCP's; this one never completes.
    assert_eq!(stats.fragments, 1);
    assert_eq!(stats.fragments_incomplete, 1);
    assert_eq!(stats.non_ip, 1);
    assert_eq!(stats.non_ip_ethertypes.get(&0x0806), Some(&1));
    // The empty PPI frame (link type 192, read since the tunnels issue)
    // has no header.
    assert_eq!(stats.malformed, 5);
    assert_eq!(stats.unsupported_link.get(&147), Some(&2));
    assert_eq!(stats.unsupported_link.get(&148), Some(&1));
    assert_eq!(stats.frames, 11);
    // ARP is known not to carry TCP: nothing here hides TCP but the
    // unsupported link types and the incomplete fragment.
    let undecoded: u64 = stats.undecoded().iter().map(|(n, _)| n).sum();
    assert_eq!(undecoded, 4);
}

// ---------------------------------------------------------------------------
// Properties.

const LINK_TYPES: [u32; 20] = [
    0, 1, 7, 9, 12, 14, 50, 101, 104, 105, 108, 113, 127, 129, 228, 229, 239, 276, 147, 192,
];

proptest! {
    /// No input makes the decoder panic, and the counts always add up.
    #[test]
    fn arbitrary_bytes_never_panic(
        frames in proptest::collection::vec(
            (proptest::sample::select(LINK_TYPES.to_vec()), proptest::collection::vec(any::<u8>(), 0..200), 0u32..400),
            1..20,
        )
    ) {
        let frames: Vec<_> = frames.into_iter().map(|(l, d, o)| (LinkType(l), d, o)).collect();
        let (_, stats) = decode_frames(&frames);
        prop_assert_eq!(stats.frames, frames.len() as u64);
    }

    /// Any prefix of a valid frame, with any mutated byte, decodes or is
    /// skipped without panicking; when it decodes, what it returns lies
    /// within the captured bytes.
    #[test]
    fn cut_and_mutated_frames_never_panic(
        cut in 0usize..200,
        at in 0usize..200,
        value in any::<u8>(),
        ipv6 in any::<bool>(),
    ) {
        let ip = if ipv6 { ipv6_tcp(b"some payload bytes") } else { ipv4_tcp(b"some payload bytes") };
        let mut frame = ethernet(if ipv6 { [0x86, 0xdd] } else { [0x08, 0x00] }, &ip);
        let orig_len = frame.len() as u32;
        if let Some(b) = frame.get_mut(at) {
            *b = value;
        }
        frame.truncate(cut);
        let (segments, _) = decode_frames(&[(LinkType::ETHERNET, frame.clone(), orig_len)]);
        for s in segments {
            prop_assert!(s.payload.len() <= frame.len());
            prop_assert!(s.payload.len() <= s.payload_len as usize);
        }
    }

    /// On well-formed Ethernet frames the decoder agrees with etherparse's
    /// strict slicing.
    #[test]
    fn agrees_with_etherparse(
        src_port in any::<u16>(),
        dst_port in any::<u16>(),
        seq in any::<u32>(),
        ack in any::<u32>(),
        window in any::<u16>(),
        syn in any::<bool>(),
        fin in any::<bool>(),
        vlan in proptest::option::of(0u16..4095),
        ipv6 in any::<bool>(),
        mss in proptest::option::of(any::<u16>()),
        ts in proptest::option::of((any::<u32>(), any::<u32>())),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut options = Vec::new();
        if let Some(m) = mss {
            options.push(TcpOptionElement::MaximumSegmentSize(m));
        }
        options.push(TcpOptionElement::Noop);
        if let Some((a, b)) = ts {
            options.push(TcpOptionElement::Timestamp(a, b));
        }
        let builder = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let mut bytes = Vec::new();
        macro_rules! finish {
            ($step:expr) => {{
                let mut step = $step.tcp(src_port, dst_port, seq, window).ack(ack);
                if syn { step = step.syn(); }
                if fin { step = step.fin(); }
                step.options(&options).unwrap().write(&mut bytes, &payload).unwrap();
            }};
        }
        match (vlan, ipv6) {
            (None, false) => finish!(builder.ipv4(CLIENT4, SERVER4, 64)),
            (None, true) => finish!(builder.ipv6(CLIENT6, SERVER6, 64)),
            (Some(v), false) => finish!(builder.single_vlan(v.try_into().unwrap()).ipv4(CLIENT4, SERVER4, 64)),
            (Some(v), true) => finish!(builder.single_vlan(v.try_into().unwrap()).ipv6(CLIENT6, SERVER6, 64)),
        }
        let sliced = etherparse::SlicedPacket::from_ethernet(&bytes).unwrap();
        let Some(etherparse::TransportSlice::Tcp(tcp)) = sliced.transport else {
            panic!("etherparse found no TCP");
        };
        let (ours, _) = decode_one(LinkType::ETHERNET, &bytes);
        let ours = ours.unwrap();
        prop_assert_eq!(ours.src.port(), tcp.source_port());
        prop_assert_eq!(ours.dst.port(), tcp.destination_port());
        prop_assert_eq!(ours.seq, tcp.sequence_number());
        prop_assert_eq!(ours.ack, tcp.acknowledgment_number());
        prop_assert_eq!(ours.window, tcp.window_size());
        prop_assert_eq!(ours.flags & TcpFlags::SYN != 0, tcp.syn());
        prop_assert_eq!(ours.flags & TcpFlags::FIN != 0, tcp.fin());
        prop_assert_eq!(&ours.payload[..], tcp.payload());
        prop_assert_eq!(ours.payload_len as usize, tcp.payload().len());
        let mut their_mss = None;
        let mut their_ts = None;
        for option in tcp.options_iterator() {
            match option.unwrap() {
                TcpOptionElement::MaximumSegmentSize(m) => their_mss = Some(m),
                TcpOptionElement::Timestamp(a, b) => their_ts = Some((a, b)),
                _ => {}
            }
        }
        prop_assert_eq!(ours.mss, their_mss);
        prop_assert_eq!(ours.timestamp, their_ts);
        let their_src = match &sliced.net {
            Some(etherparse::NetSlice::Ipv4(ip)) => std::net::IpAddr::V4(ip.header().source_addr()),
            Some(etherparse::NetSlice::Ipv6(ip)) => std::net::IpAddr::V6(ip.header().source_addr()),
            _ => panic!("no IP"),
        };
        prop_assert_eq!(ours.src.ip(), their_src);
    }
}
