//! T001 nagle-delayed-ack-stall.

use super::ack_clock::{self, Mss, Rtt};
use crate::flow::Connection;
use crate::http::{MessageFacts, Transaction};
use crate::reassembly::{AckRelease, Side};
use crate::rules::api::*;
use crate::tls::{ReleasePlace, TlsVersion};
use serde::Serialize;

pub struct NagleDelayedAckStall;

static META: RuleMeta = RuleMeta {
    code: "T001",
    name: "nagle-delayed-ack-stall",
    family: Family::Tcp,
    severity: Severity::Warning,
    summary: "Nagle's algorithm held a small write until the peer acknowledged the previous one",
    doc: r#"## What it detects
A sender that, after a segment smaller than a full segment (the MSS), sent nothing more until the
peer's pure ACK of it arrived, and then sent another partial segment at once: Nagle's algorithm
holding a write. It fires when
- the ACK covered everything the sender had sent, and both the segment it acknowledged and the
  first one released are smaller than the MSS (from the SYNs, less the segment's TCP options;
  without a SYN in the capture, the largest segment seen either way, and at least the 536 bytes
  (1220 over IPv6) every TCP must accept). Nagle's algorithm never holds a full segment, and every
  stack's holds a partial one while its previous partial segment is unacknowledged; other waits
  on an ACK (a full window) are T002's;
- the sender's Nagle's algorithm is not shown to be off: nowhere on the connection did it send a
  partial segment right behind another one the peer had not acknowledged yet (without FIN), which
  no stack's Nagle lets out. Such a sender's waits are its window's or its own, and T002 judges
  them;
- no data from the peer came between the ACK and the release (a `100 Continue` answers `Expect`;
  the body that follows it is not stalled);
- the sender sent nothing for at least `stall_ms` before the release;
- and the release was seen just when the ACK could have reached the sender: within `release_ms`
  either side of the round trip between the capture point and the sender. That round trip comes
  from the handshake, TCP timestamps or earlier data/ACK pairs, so the rule works wherever the
  capture was taken (at the client, the server, or between); without any of them it cannot tell
  a held write from a late one and stays silent. Segments already on their way when the ACK was
  sent (seen sooner than one round trip after it; with TCP timestamps, only if they echo an older
  value than the ACK's) are not taken for the release.

The held write may be an earlier piece of the same message (head, then body: the
write-write-read pattern), the end of the previous message (pipelined requests, or responses,
written one after the other), or data outside any HTTP message (a tunnel); `held_segment_in`
says which. It is reported once per message (per connection and sender outside messages), on
the first stall, with the number of stalls. When the round trip to the peer is known,
`ack_delay_ms` says how long the peer held its ACK: its delayed-ACK timer makes the stall that
long plus a round trip, and without it the stall is one round trip. Either way the stall is one
finding, this one: T002 does not report it again.

### On a TLS connection
The ack clock is TCP's, so the evidence of the hold is as strong on TLS as on clear text: a
partial segment unacknowledged, the sender quiet, the peer's pure ACK, the next data at once.
What TLS adds is where the bytes sit: a TLS stack turns each application write into one record
(or more), so a held segment that ends exactly where a record ends, followed by a release that
begins the next record, is the write-write-read pattern of an application that wrote a message in
two calls (`SSL_write` of the head, then of the body). Those stalls are reported with
`held_segment_in="tls_record"` and `message="tls"`, the records' kinds (`held_record`,
`released_record`) and `tls_version`. What TLS hides, and the finding cannot say: whether the two
records belong to one HTTP message or two (pipelined requests written one after the other), and,
in TLS 1.3, what the records are after the ServerHello (a client's Finished looks like data but
for its place). A hold that does not fall on record boundaries (a record split by the sender's
TCP) is reported as data outside any HTTP message, as before. Not reported: the TLS 1.3 client
whose first request waits behind its own Finished until the server's session tickets arrive
carrying the ACK — the release follows the peer's data, not a pure ACK, and this rule does not
take releases by data (it cannot tell them from an answer). Decrypted with a key log, a hold on
record boundaries is placed among the HTTP messages by the held record's plaintext, and reported
as on clear text (`held_segment_in="same_message"` or `"previous_message"`, the transaction); the
byte counts stay the segments' (a record adds 22 bytes to a TLS 1.3 write: header, type, tag).

## Why it matters
Nagle's algorithm (RFC 896) keeps a sender from sending a small segment while an earlier small
segment is unacknowledged. Delayed ACK (RFC 1122 §4.2.3.2) lets the receiver hold its ACK —
Linux about 40 ms, Windows up to 200 ms — hoping to piggyback it on data. When an application
writes one message in two calls (head, then body), the second write is held for the ACK of the
first, while the receiver holds that ACK hoping to send it with its reply — which cannot come
before the rest of the message. The exchange stalls for a delayed-ACK timer plus a round trip.
Two pipelined requests written one after the other stall the same way. On a fast network this
turns a millisecond request into a 40 or 200 ms one, on every message written that way.

## Example
```text
samples/T001-nagle-delayed-ack-stall-client-side.pcap: connection 0 198.18.0.1:41051 -> 198.18.0.2:80
  +0.151s warning T001 nagle-delayed-ack-stall tx 0: POST /orders: the request body waited
  93.2 ms for the server's ACK of a 173-byte first write (Nagle's algorithm; the server held
  that ACK 42.6 ms); set TCP_NODELAY on the client or write the request in one call
          evidence: sender="client" message="request" held_segment_in="same_message"
          small_segment_bytes=173 mss=1448 stall_ms=93.201 ack_after_ms=93.164
          ack_delay_ms=42.599 rtt_to_acker_ms=50.565 release_frame=6 ...
```

## How to fix
Write each message with one call: build the head and body in one buffer, or use a gathering
write (`writev`, `sendmsg`); write pipelined messages together. Or set `TCP_NODELAY` on the
socket of the side that writes in pieces (most HTTP client and server libraries have an option
for it; many set it by default). `TCP_CORK` / `MSG_MORE` (Linux) also coalesce the pieces.
Turning off delayed ACK at the receiver (`TCP_QUICKACK`) only hides the symptom on one side.

## Options
- `stall_ms` (20): the shortest time the sender sent nothing before the release.
- `release_ms` (5): how far from "one round trip to the sender after the ACK" the release may be
  seen and still count as released by that ACK.
"#,
    options: &[
        OptionSpec {
            key: "stall_ms",
            default: 20.0,
            doc: "shortest time the sender sent nothing before the release, in ms",
            integer: false,
        },
        ack_clock::RELEASE_MS,
    ],
};

impl Rule for NagleDelayedAckStall {
    /// The ack releases whose sender was quiet at least `stall_ms`: a stall shorter than `stall_ms`
    /// is not this rule's.
    fn needs(&self, s: &RuleSettings) -> Needs {
        ack_clock::needs(s, "stall_ms")
    }

    fn check_connection(&self, cx: &ConnectionFacts<'_>, s: &RuleSettings, out: &mut Vec<Finding>) {
        let stall_ns = s.ms_as_ns("stall_ms");
        let slack_ns = s.ms_as_ns("release_ms");
        let stalls = ack_clock::per_message(cx, |r, messages| {
            let wait = r.idle_ns();
            if wait < stall_ns || r.release_offset > r.prev_end {
                return None; // short, or data missing from the capture
            }
            // Nagle's algorithm holding a partial segment, from a sender
            // whose Nagle is on (T002 takes every other wait on an ACK).
            let mss = ack_clock::mss_of(cx.conn, r);
            if !ack_clock::is_nagle_hold(cx.conn, r, mss) {
                return None;
            }
            let rtt = ack_clock::rtt_to(cx.conn, r.sender, r.rtt_to_sender_ns)?;
            if !ack_clock::released_by_ack(r, rtt.ns, slack_ns) {
                return None;
            }
            let records = cx.tls.and_then(|_| {
                cx.release_places
                    .iter()
                    .find(|p| p.release_frame == r.release_frame)
            });
            // Decrypted, the messages are in plaintext offsets: a hold on
            // record boundaries is placed by the held record's plaintext
            // (the released record's begins where it ends); any other
            // hold cannot be placed among them.
            let plaintext = records
                .filter(|p| p.held_ends_record && p.release_starts_record)
                .and_then(|p| p.held_plaintext)
                .filter(|_| cx.decrypted);
            let place = match plaintext {
                Some((_, end)) => messages.find(r.sender, end),
                None if cx.decrypted => None,
                None => messages.find(r.sender, r.release_offset),
            };
            let stall = Stall {
                release: r,
                place,
                mss,
                rtt,
                to_acker: ack_clock::rtt_to(cx.conn, r.sender.peer(), r.rtt_to_receiver_ns),
                records: records.copied(),
                tls_version: cx.tls.and_then(|t| t.version()),
                plaintext,
            };
            Some((place.map(|(tx, _)| tx.index), wait, stall))
        });
        for t in stalls {
            out.push(finding(cx.conn, &t.first, t.count, t.total_ns));
        }
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

const MS: i64 = 1_000_000;

/// One stall that passed every test, with what the report needs.
struct Stall<'a> {
    release: &'a AckRelease,
    /// The message the released data belongs to, if any.
    place: Option<(&'a Transaction, &'a MessageFacts)>,
    mss: Mss,
    rtt: Rtt,
    /// The round trip between the capture point and the peer that sent
    /// the ACK, when known: how long the peer held its ACK follows from it.
    to_acker: Option<Rtt>,
    /// On a TLS connection: where the held and released data sat among the
    /// sender's records, and the version.
    records: Option<ReleasePlace>,
    tls_version: Option<TlsVersion>,
    /// Decrypted: the plaintext range of the held record's data, by which
    /// `place` was found.
    plaintext: Option<(u64, u64)>,
}

/// Where the held segment was, relative to the message it held back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held {
    /// An earlier write of the same message (head, then body).
    Same,
    /// The end of the previous message (two pipelined requests, or two
    /// responses, written one after the other).
    Previous,
    /// Data outside any HTTP message (a tunnel, an upgraded connection).
    Outside,
    /// A whole TLS record, then the next one held back (HTTP encrypted).
    TlsRecord,
}

fn finding(conn: &Connection, st: &Stall<'_>, stalls: u32, total_ns: i64) -> Finding {
    let r = st.release;
    let kind = match r.sender {
        Side::Client => "request",
        Side::Server => "response",
    };
    let on_record_boundaries = st
        .records
        .is_some_and(|p| p.held_ends_record && p.release_starts_record);
    // Where the held write began and ended, in the offsets of the messages
    // (the plaintext's on a decrypted connection).
    let (held_start, held_end) = st
        .plaintext
        .unwrap_or((r.held_end.saturating_sub(u64::from(r.held_len)), r.held_end));
    let held = match st.place {
        Some((_, m)) if held_end > m.start_offset => Held::Same,
        Some(_) => Held::Previous,
        None if on_record_boundaries => Held::TlsRecord,
        None => Held::Outside,
    };
    let record = |p: Option<(crate::tls::RecordKind, u16)>| p.map(|(k, _)| k.name());
    let evidence = Evidence {
        sender: r.sender.name(),
        message: match held {
            Held::Outside => "none",
            Held::TlsRecord => "tls",
            _ => kind,
        },
        held_segment_in: match held {
            Held::Same => "same_message",
            Held::Previous => "previous_message",
            Held::Outside => "no_message",
            Held::TlsRecord => "tls_record",
        },
        held_record: st.records.and_then(|p| record(p.held)),
        released_record: st.records.and_then(|p| record(p.released)),
        tls_version: st.tls_version,
        small_segment_bytes: r.held_len,
        mss: st.mss.bytes,
        mss_from: st.mss.from,
        stall_ms: Ms(r.idle_ns()),
        ack_after_ms: Ms(r.ack_ts.since(r.held_ts)),
        release_after_ack_ms: Ms(r.release_ts.since(r.ack_ts)),
        rtt_to_sender_ms: Ms(st.rtt.ns),
        rtt_from: st.rtt.from,
        released_bytes: r.release_len,
        held_frame: r.held_frame,
        ack_frame: r.ack_frame,
        release_frame: r.release_frame,
        stalls,
        total_stall_ms: Ms(total_ns),
        // How long the peer held its ACK: the ACK's time after the held
        // write, less the round trip to the peer.
        ack_delay_ms: st
            .to_acker
            .map(|to| Ms(r.ack_ts.since(r.held_ts).saturating_sub(to.ns))),
        rtt_to_acker_ms: st.to_acker.map(|to| Ms(to.ns)),
    };
    let bytes = evidence.small_segment_bytes;
    let writer = evidence.sender;
    let (what_waited, of_what, fix) = match (held, st.place) {
        (Held::Same, Some((_, m))) => {
            let first = if held_start <= m.start_offset {
                "first write"
            } else {
                "write"
            };
            let rest = if held_end == m.start_offset.saturating_add(m.head_bytes) {
                format!("the {kind} body")
            } else {
                format!("the rest of the {kind}")
            };
            (
                rest,
                format!("a {bytes}-byte {first}"),
                format!("write the {kind} in one call"),
            )
        }
        (Held::Previous, _) => (
            format!("the {kind}"),
            format!("the {writer}'s previous {bytes}-byte write, the end of the {kind} before it"),
            format!("write back-to-back {kind}s in one call"),
        ),
        (Held::TlsRecord, _) => (
            format!(
                "a TLS record of {}",
                evidence.released_record.unwrap_or("application data")
            ),
            format!(
                "the {writer}'s previous {bytes}-byte write, which ended a TLS record (the HTTP \
                 inside is encrypted: the two writes may be one message's head and body)"
            ),
            format!(
                "write each {kind} in one call (one TLS record: build it whole before the \
                 SSL_write)"
            ),
        ),
        _ => (
            "data outside any HTTP message".to_string(),
            format!("a {bytes}-byte write"),
            "write in fewer, larger calls".to_string(),
        ),
    };
    let place = match st.place {
        Some((tx, _)) => format!("{}: ", ack_clock::what(tx, r.sender)),
        None => String::new(),
    };
    let also = match (stalls, held) {
        (1, _) => String::new(),
        (_, Held::Outside | Held::TlsRecord) => {
            format!(", and {} more time(s) here", stalls.saturating_sub(1))
        }
        _ => format!(
            ", and {} more time(s) in the same {kind}",
            stalls.saturating_sub(1)
        ),
    };
    let message = format!(
        "{place}{what_waited} waited {} for the {}'s ACK of {of_what} (Nagle's algorithm; {}){also}; \
         set TCP_NODELAY on the {writer} or {fix}",
        evidence.stall_ms,
        r.sender.peer().name(),
        evidence.held_by_peer(r.sender.peer().name()),
    );
    let mut f = Finding::new(&META, conn, r.held_ts, message);
    if let Some((tx, _)) = st.place {
        f = f.transaction(tx.index);
    }
    f.with_evidence(&evidence)
}

/// What T001 found, as its evidence lists it and its message says it.
#[derive(Serialize)]
struct Evidence {
    sender: &'static str,
    message: &'static str,
    held_segment_in: &'static str,
    small_segment_bytes: u32,
    mss: u32,
    mss_from: &'static str,
    stall_ms: Ms,
    ack_after_ms: Ms,
    release_after_ack_ms: Ms,
    rtt_to_sender_ms: Ms,
    rtt_from: &'static str,
    released_bytes: u32,
    held_frame: u64,
    ack_frame: u64,
    release_frame: u64,
    stalls: u32,
    total_stall_ms: Ms,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "not_below_zero"
    )]
    ack_delay_ms: Option<Ms>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rtt_to_acker_ms: Option<Ms>,
    #[serde(skip_serializing_if = "Option::is_none")]
    held_record: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    released_record: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_version: Option<TlsVersion>,
}

impl Evidence {
    /// How the peer's ACK came, for the message.
    fn held_by_peer(&self, peer: &str) -> String {
        match self.ack_delay_ms {
            Some(d) if d.0 >= MS => format!("the {peer} held that ACK {d}"),
            Some(_) => format!("the {peer} acknowledged at once, so the wait was the round trip"),
            None => format!("the ACK came {} after that write", self.ack_after_ms),
        }
    }
}

/// An ACK delay in evidence: a negative one (the ACK came sooner than the
/// round trip estimate) is no delay.
fn not_below_zero<S: serde::Serializer>(d: &Option<Ms>, s: S) -> Result<S::Ok, S::Error> {
    d.map(|d| Ms(d.0.max(0))).serialize(s)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
    use serde_json::json;

    const HEAD: &[u8] =
        b"POST /orders HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 22\r\n\r\n";
    const BODY: &[u8] = b"{\"item\":42,\"count\":1}\n";
    const CREATED: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";

    /// A client-side capture: handshake of `rtt` ms, the head at 100, the
    /// server's pure ACK `ack` ms after it, the body `release` ms after the
    /// ACK, then the response.
    fn post(rtt: f64, ack: f64, release: f64) -> Timeline {
        let mut t = Timeline::new();
        let a = 100.0 + ack;
        let b = a + release;
        t.handshake(0.0, rtt)
            .client(100.0, HEAD)
            .server_ack(a)
            .client(b, BODY)
            .server(b + rtt, CREATED)
            .close(b + rtt + 10.0);
        t
    }

    #[test]
    fn fires_on_the_write_write_read_stall() {
        let f = only(post(50.0, 93.0, 0.0).findings_of("T001"));
        assert_eq!(f.transaction, Some(0));
        assert_evidence(
            &f,
            json!({"sender": "client", "message": "request", "small_segment_bytes": HEAD.len(), "mss": 1460, "mss_from": "syn"}),
        );
        assert_evidence(
            &f,
            json!({"stall_ms": 93.0, "ack_after_ms": 93.0, "release_frame": 6, "released_bytes": BODY.len(), "ack_delay_ms": 43.0}),
        );
        assert!(
            f.message
                .starts_with("POST /orders: the request body waited 93.0 ms"),
            "{}",
            f.message
        );
        assert_says(&f, "the server held that ACK 43.0 ms");
        assert_says(&f, "TCP_NODELAY on the client");
    }

    #[test]
    fn stall_and_release_threshold_edges() {
        let fired = |rtt, ack, release, options: &[(&str, f64)]| {
            post(rtt, ack, release).fired("T001", options)
        };
        // A LAN: the ACK comes 19.9 or 20 ms after the head.
        assert_eq!(
            (fired(0.5, 19.9, 0.0, &[]), fired(0.5, 20.0, 0.0, &[])),
            (0, 1)
        );
        assert_eq!(fired(0.5, 40.0, 0.0, &[("stall_ms", 40.1)]), 0);
        // Client-side capture: the sender is here, so the body must follow
        // the ACK within release_ms; later, the application decided.
        assert_eq!(
            (fired(50.0, 60.0, 5.0, &[]), fired(50.0, 60.0, 5.1, &[])),
            (1, 0)
        );
        assert_eq!(fired(50.0, 60.0, 8.0, &[("release_ms", 8.0)]), 1);
    }

    #[test]
    fn data_from_the_peer_in_between_is_an_answer_not_a_stall() {
        // Expect: 100-continue: the body follows the interim response.
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(100.0, HEAD)
            .server_ack(150.0)
            .server(150.2, b"HTTP/1.1 100 Continue\r\n\r\n")
            .client(150.3, BODY)
            .server(200.5, CREATED)
            .close(300.0);
        assert!(t.findings_of("T001").is_empty());
    }

    #[test]
    fn a_full_segment_is_not_held_by_nagle() {
        // MSS 200: a 200-byte first segment is full-sized, 199 is small.
        for (mss, fires) in [(HEAD.len() as u16, false), (HEAD.len() as u16 + 1, true)] {
            let mut t = Timeline::new();
            t.mss = Some(mss);
            t.handshake(0.0, 50.0)
                .client(100.0, HEAD)
                .server_ack(160.0)
                .client(160.0, BODY)
                .server(210.0, CREATED)
                .close(300.0);
            assert_eq!(t.findings_of("T001").len(), usize::from(fires), "mss {mss}");
        }
    }

    #[test]
    fn a_full_segment_released_was_not_held_by_nagle() {
        // MSS 100: the 66-byte head is small; the next segment is 100 bytes
        // (full) or 99 (small). A full one would not have waited for Nagle.
        for (next, fires) in [(100, false), (99, true)] {
            let head = b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 300\r\n\r\n";
            let mut t = Timeline::new();
            t.mss = Some(100);
            t.handshake(0.0, 50.0)
                .client(100.0, head)
                .server_ack(160.0)
                .client(160.0, &[b'x'; 300][..next])
                .client(160.1, &[b'y'; 300][next..])
                .server(210.0, CREATED)
                .close(300.0);
            assert_eq!(
                t.findings_of("T001").len(),
                usize::from(fires),
                "next {next}"
            );
        }
    }

    #[test]
    fn a_write_held_behind_the_previous_message() {
        // Two pipelined requests in two writes: GET /b waits for the
        // server's delayed ACK of GET /a. The same Nagle stall, across a
        // message boundary: reported on the held request.
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(100.0, b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
            .server_ack(193.0)
            .client(193.0, b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
            .server(250.0, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .server(251.0, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .close(300.0);
        let f = only(t.findings_of("T001"));
        assert_eq!(f.transaction, Some(1));
        assert_evidence(
            &f,
            json!({"held_segment_in": "previous_message", "ack_delay_ms": 43.0}),
        );
        assert!(
            f.message.starts_with(
                "GET /b: the request waited 93.0 ms for the server's ACK of the client's \
                 previous 28-byte write"
            ),
            "{}",
            f.message
        );
        assert!(f
            .message
            .ends_with("set TCP_NODELAY on the client or write back-to-back requests in one call"));
    }

    #[test]
    fn data_outside_any_message_is_reported_on_the_connection() {
        // A tunnel: CONNECT, 200, then opaque bytes written in two pieces.
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(100.0, b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n")
            .server(150.0, b"HTTP/1.1 200 Connection established\r\n\r\n")
            .client(150.1, &[0x16; 27])
            .server_ack(243.1)
            .client(243.1, &[0x17; 60])
            .server(293.1, &[0x17; 40])
            .close(400.0);
        let f = only(t.findings_of("T001"));
        assert_eq!(f.transaction, None);
        assert_evidence(
            &f,
            json!({"held_segment_in": "no_message", "message": "none"}),
        );
        assert!(f
            .message
            .starts_with("data outside any HTTP message waited 93.0 ms"));
    }

    #[test]
    fn one_stall_is_one_finding() {
        // The ACK that released the body was a delayed ACK: T001 says so in
        // its evidence, and T002 does not report the stall again.
        let all = post(50.0, 93.0, 0.0).all_findings();
        let tcp: Vec<_> = all.iter().filter(|f| f.code.starts_with('T')).collect();
        assert_eq!(tcp.len(), 1, "{all:?}");
        assert_eq!(tcp[0].code, "T001");
        assert_evidence(
            tcp[0],
            json!({"ack_delay_ms": 43.0, "rtt_to_acker_ms": 50.0}),
        );
    }

    #[test]
    fn a_response_stall_seen_from_the_client_side() {
        // The server writes head and body separately; the client's delayed
        // ACK reaches the server 25 ms after the capture saw it, and the
        // body is seen a round trip (50 ms) after the ACK.
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(100.0, b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
            .server(150.0, head)
            .client_ack(190.0)
            .server(240.0, b"hello")
            .close(300.0);
        let f = only(t.findings_of("T001"));
        assert_evidence(
            &f,
            json!({"sender": "server", "message": "response", "stall_ms": 90.0, "rtt_to_sender_ms": 50.0}),
        );
        assert!(f.message.starts_with("GET /slow: the response body"));
        // Seen too early for the ACK to have released it (20 ms after the
        // ACK, when the ACK needs 25 ms to get there and the data 25 back).
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(100.0, b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
            .server(150.0, head)
            .client_ack(190.0)
            .server(210.0, b"hello")
            .close(300.0);
        assert!(t.findings_of("T001").is_empty());
    }

    #[test]
    fn without_a_round_trip_to_the_sender_it_stays_silent() {
        // Picked up mid-stream, no earlier exchange: where was the capture?
        let mut t = Timeline::new();
        t.client(100.0, HEAD)
            .server_ack(193.0)
            .client(193.0, BODY)
            .server(243.0, CREATED);
        assert!(t.findings_of("T001").is_empty());
        // An earlier exchange gives the round trips (data/ACK pairs), and
        // without SYNs the MSS is the IPv4 default (536).
        let mut t = Timeline::new();
        t.client(0.0, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            .server(50.0, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .client_ack(50.1)
            .client(100.0, HEAD)
            .server_ack(193.0)
            .client(193.0, BODY)
            .server(243.0, CREATED);
        let f = only(t.findings_of("T001"));
        assert_eq!(f.transaction, Some(1));
        assert_evidence(
            &f,
            json!({"mss": 536, "mss_from": "default", "rtt_from": "samples"}),
        );
    }

    #[test]
    fn reported_once_per_message_with_the_count() {
        // Head, then the body in two more writes, each held for an ACK.
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(100.0, HEAD)
            .server_ack(190.0)
            .client(190.0, &BODY[..10])
            .server_ack(280.0)
            .client(280.0, &BODY[10..])
            .server(330.0, CREATED)
            .close(400.0);
        let f = only(t.findings_of("T001"));
        assert_evidence(
            &f,
            json!({"stalls": 2, "total_stall_ms": 180.0, "small_segment_bytes": HEAD.len() as u64}),
        );
    }
}
