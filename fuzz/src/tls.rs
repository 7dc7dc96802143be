//! Target `tls`: the TLS stage of one connection (records, handshake
//! messages across records and segments, the hellos through tls-parser) fed
//! an arbitrary list of events for both directions: byte chunks, gaps, FIN,
//! RST, ack releases to place; then `finish`.
//!
//! Invariants: no panic, no stall, and bounded memory under hostile
//! handshakes (huge extension and message lengths, a ClientHello in many
//! tiny records and segments: `max_hello_bytes` is the only buffer); the
//! report is consistent (records of each type within the records counted,
//! application-data bytes at least their headers, exchanges counted only
//! with their first burst known, a hello over the bound only when one was
//! announced that long); and what the stage reads does not depend on how
//! the bytes were cut into segments: the same data events, each side's
//! consecutive chunks delivered joined, give the same report.

use connlint::reassembly::{AckRelease, SegmentKind, SegmentMeta, Side};
use connlint::tls::{TlsConnection, TlsLimits, TlsReport};
use connlint::Timestamp;

/// One step of the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Data(Side, Vec<u8>),
    Gap(Side, u64),
    Fin(Side),
    Rst(Side),
    /// An ack release of `side`'s data at this many bytes back from where
    /// its stream stands (placed among its records).
    Release(Side, u16),
}

/// Input layout: byte 0 picks the hello bound (bits 0-1: 64, 517, 4096 or
/// the default 65536); then events, each an op byte (bits 0-2 the kind,
/// bit 3 the side: 0 client, 1 server) and its arguments. Payload bytes sit
/// raw in the input, so a seed is a capture's TLS streams with a few op
/// bytes between segments.
///
/// ```text
/// 0, 1, 2  Data     len: u16 LE, then len bytes (fewer if the input ends)
/// 3        Gap      len: u16 LE
/// 4        Fin
/// 5        Rst
/// 6        Release  back: u16 LE
/// 7        Data     len: u8, then len bytes (one small segment)
/// ```
pub fn parse(data: &[u8]) -> (TlsLimits, Vec<Event>) {
    let (first, mut rest) = match data.split_first() {
        Some((f, r)) => (*f, r),
        None => (0, &[][..]),
    };
    let limits = TlsLimits {
        max_hello_bytes: [64, 517, 4096, 65536][usize::from(first & 3)],
    };
    let mut events = Vec::new();
    let take = |rest: &mut &[u8], n: usize| -> Vec<u8> {
        let n = n.min(rest.len());
        let (a, b) = rest.split_at(n);
        *rest = b;
        a.to_vec()
    };
    let u16_of = |rest: &mut &[u8]| -> u16 {
        let b = take(rest, 2);
        u16::from_le_bytes([
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ])
    };
    while let Some((&op, r)) = rest.split_first() {
        rest = r;
        let side = if op & 8 == 0 {
            Side::Client
        } else {
            Side::Server
        };
        match op & 7 {
            0..=2 => {
                let n = usize::from(u16_of(&mut rest));
                events.push(Event::Data(side, take(&mut rest, n)));
            }
            3 => events.push(Event::Gap(side, u64::from(u16_of(&mut rest)))),
            4 => events.push(Event::Fin(side)),
            5 => events.push(Event::Rst(side)),
            6 => events.push(Event::Release(side, u16_of(&mut rest))),
            _ => {
                let n = usize::from(take(&mut rest, 1).first().copied().unwrap_or(0));
                events.push(Event::Data(side, take(&mut rest, n)));
            }
        }
    }
    (limits, events)
}

/// Feeds `events`; `frames` also hands each data event's segment over
/// (frames resolved), `ts_step_ns` spaces the events in time.
fn feed(limits: TlsLimits, events: &[Event], frames: bool, ts_step_ns: i64) -> TlsReport {
    let mut c = TlsConnection::new(limits);
    let mut next = [0u64; 2];
    let at = |side: Side| side.index();
    for (n, ev) in events.iter().enumerate() {
        let ts = Timestamp(1_700_000_000_000_000_000 + ts_step_ns * n as i64);
        match ev {
            Event::Data(side, bytes) => {
                let i = at(*side);
                c.on_data(*side, next[i], bytes, ts);
                next[i] += bytes.len() as u64;
                if frames {
                    c.on_segment(
                        *side,
                        &SegmentMeta {
                            ts,
                            frame: n as u64 + 1,
                            kind: SegmentKind::NewData,
                            offset: 0,
                            len: bytes.len() as u32,
                            ack: None,
                            window: 0,
                        },
                    );
                }
            }
            Event::Gap(side, len) => {
                let i = at(*side);
                c.on_gap(*side, next[i], *len, ts);
                next[i] += len;
            }
            Event::Fin(side) => c.on_fin(*side, ts),
            Event::Rst(side) => c.on_rst(*side, ts),
            Event::Release(side, back) => {
                let end = next[at(*side)];
                let held_end = end.saturating_sub(u64::from(*back));
                let r = AckRelease {
                    sender: *side,
                    held_ts: ts,
                    held_frame: 1,
                    held_len: 1,
                    held_end,
                    mss: None,
                    ack_ts: ts,
                    ack_frame: 2,
                    acked_all: true,
                    prev_ts: ts,
                    prev_frame: 1,
                    prev_end: held_end,
                    in_flight: 0,
                    release_ts: ts,
                    release_offset: held_end,
                    release_len: 1,
                    release_frame: n as u64 + 1,
                    rtt_to_sender_ns: None,
                    rtt_to_receiver_ns: None,
                };
                let p = c.place(&r);
                assert_eq!(p.release_frame, n as u64 + 1);
                if let Some((_, len)) = p.held {
                    assert!(
                        len <= connlint::tls::MAX_RECORD_BODY,
                        "a record longer than any"
                    );
                }
            }
        }
    }
    c.finish()
}

fn check(r: &TlsReport, limits: TlsLimits) {
    for d in &r.records {
        let typed = d.handshake + d.change_cipher_spec + d.alert + d.heartbeat + d.application_data;
        assert!(typed <= d.records, "{d:?}");
        assert!(d.application_data_bytes >= 5 * d.application_data, "{d:?}");
    }
    let e = &r.exchanges;
    assert!(e.first_request.is_some() || e.client_bursts == 0, "{e:?}");
    if let Some(b) = e.first_request {
        assert!(b.end_ts >= b.start_ts && b.records >= 1, "{b:?}");
    }
    if let Some(b) = e.first_response {
        assert!(b.end_ts >= b.start_ts && b.records >= 1, "{b:?}");
    }
    if r.hellos_too_large > 0 {
        assert!(
            limits.max_hello_bytes < (1 << 24),
            "a hello over the bound was announced"
        );
    }
    if let Some(h) = &r.client_hello {
        assert!(h.alpn.len() <= 16 && h.supported_versions.len() <= 16);
        assert!(h.sni.as_ref().map_or(0, |s| s.len()) <= 255 * 3);
        assert!(h.session_id.len() <= 32);
    }
    if let (Some(a), Some(b)) = (r.client_hello_ts, r.client_first_data_ts) {
        assert!(b >= a);
    }
}

pub fn run(data: &[u8]) {
    let (limits, events) = parse(data);
    let report = feed(limits, &events, true, 1_000_000);
    check(&report, limits);
    // Segmentation does not change what is read: only data, one instant.
    let data_only: Vec<Event> = events
        .iter()
        .filter(|e| matches!(e, Event::Data(..)))
        .cloned()
        .collect();
    let mut joined: Vec<Event> = Vec::new();
    for e in &data_only {
        match (joined.last_mut(), e) {
            (Some(Event::Data(s0, b0)), Event::Data(s1, b1)) if s0 == s1 => {
                b0.extend_from_slice(b1)
            }
            _ => joined.push(e.clone()),
        }
    }
    let cut = feed(limits, &data_only, false, 0);
    let whole = feed(limits, &joined, false, 0);
    check(&cut, limits);
    assert_eq!(cut, whole, "segmentation changed what was read");
}

/// What an input decodes to, for `FUZZ_DESCRIBE`.
pub fn describe(data: &[u8]) -> String {
    let (limits, events) = parse(data);
    let mut s = format!("max_hello_bytes={}\n", limits.max_hello_bytes);
    for e in events {
        match e {
            Event::Data(side, b) => {
                s.push_str(&format!("  {} data {} bytes\n", side.name(), b.len()))
            }
            other => s.push_str(&format!("  {other:?}\n")),
        }
    }
    s
}
