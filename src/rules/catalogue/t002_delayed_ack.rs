//! T002 delayed-ack.

use super::ack_clock::{self, Rtt};
use crate::flow::Connection;
use crate::http::Transaction;
use crate::reassembly::AckRelease;
use crate::rules::api::*;
use serde::Serialize;

pub struct DelayedAck;

static META: RuleMeta = RuleMeta {
    code: "T002",
    name: "delayed-ack",
    family: Family::Tcp,
    severity: Severity::Info,
    summary:
        "The receiver's delayed ACK kept a sender with a full window idle (a Nagle hold is T001)",
    doc: r#"## What it detects
A pure ACK (no data) that the receiver held back with its delayed-ACK timer while the data's
sender sat idle waiting for it because its window — congestion, send or receive window — was
full. It fires when
- the ACK's delay is at least `delayed_ack_ms`, as the receiver saw it: the time from the segment
  it acknowledged to the ACK at the capture point, less the round trip between the capture point
  and the receiver;
- the sender sent nothing for at least `idle_ms` before its next data (a sender still streaming
  on other ACKs was not waiting for this one), and that data was seen within `release_ms` of one
  round trip between the capture point and the sender after the ACK (earlier, the sender could
  not have had the ACK; later, something else made it send). Captured at the receiver, the
  sender's segments that were already on their way when the ACK left arrive after it: a segment
  seen sooner than one round trip after the ACK — with TCP timestamps, only if it echoes a value
  older than the ACK's — was in flight, and is neither the release nor the end of the wait;
- and Nagle's algorithm does not explain the wait. A partial segment held until the sender's
  previous partial segment was acknowledged is a Nagle hold, reported by T001 (whatever the ACK's
  delay), and not here — unless the sender shows on the connection that its Nagle is off (it
  sent a partial segment right behind an unacknowledged one, which no stack's Nagle lets out).
  What is left: the sender released a full-sized segment, which Nagle never holds, or the ACK
  covered only part of what the sender had in flight, or the sender's Nagle is off
  (`blocked_by="window"`: a congestion window of one segment after a timeout, a small initial
  window, send buffer or receive window); or a full segment was acknowledged and a partial one
  released, which is a full window or a
  Nagle's algorithm that holds a partial segment while *any* data is unacknowledged (BSD, macOS
  and Windows stacks; Linux holds it only behind a partial segment): `blocked_by="nagle_or_window"`.

The round trips come from the handshake, TCP timestamps, or earlier data/ACK pairs (the smallest
estimate wins); without any of them the rule cannot place the capture and stays silent. A
delayed ACK that nothing was waiting for — the sender sends its next data much later, or only
after the receiver's own data — is normal and not reported. Findings go on the transaction whose
data was released (on the connection, for data outside any HTTP message such as a tunnel), once
per transaction and sender, with the number of such ACKs. The evidence names the segment the
ACK acknowledged (`acked_bytes`, `held_frame`), how long the sender was idle (`idle_ms`) and how
many in-flight segments came between the ACK and the release (`in_flight_segments`).

## Why it matters
Delayed ACK (RFC 1122 §4.2.3.2) lets a receiver wait — Linux about 40 ms, Windows up to 200 ms —
hoping to piggyback its ACK on data; Linux acknowledges every second full segment at once and
delays the odd one. A sender whose window is full cannot send until an ACK opens it, so when a
flight ends on an odd segment — a three-segment initial window (RFC 3390), a congestion window
cut by loss, a small send buffer or receive window — the sender idles for the receiver's timer.
On a fast network that turns a response of a few round trips into one of several delayed-ACK
timeouts.

## Example
```text
samples/T002-delayed-ack-window-limited-client-side.pcap: connection 0 198.18.0.1:41071 -> 198.18.0.2:80
  +0.396s info    T002 delayed-ack tx 0: GET /catalogue.txt: the client delayed its ACK of the
  server's 1448-byte segment by 41.1 ms, and the server, quiet for 41.1 ms, sent 1448 bytes 0.0 ms
  after the ACK reached it (held back by a full window: it released a full-sized segment, which
  Nagle's algorithm never holds back); let the server keep more in flight (a larger initial or
  congestion window, send buffer, or client receive window) or have the client acknowledge at once
          evidence: ack_after_ms=41.1 ack_delay_ms=41.087 acked_bytes=1448 acker="client"
          blocked_by="window" idle_ms=41.112 in_flight_segments=4 released_data_after_ms=50.472
          rtt_to_sender_ms=50.542 sender="server" ...
```

## How to fix
Let the sender keep more in flight: a larger initial congestion window (Linux `ip route ...
initcwnd 10`, the RFC 6928 default), a larger send buffer at the sender, a larger receive buffer
at the receiver. Where you control the receiver, `TCP_QUICKACK` (Linux) or a shorter delayed-ACK
timer (Windows `TcpAckFrequency`) removes the wait. For `blocked_by="nagle_or_window"` on a BSD,
macOS or Windows sender, `TCP_NODELAY` on its socket also lets the partial segment go.

## Options
- `delayed_ack_ms` (35): the shortest ACK delay reported, as the receiver saw it (Linux's timer
  is 40 ms, so 35 catches it and leaves room for jitter).
- `idle_ms` (20): the shortest time the sender sent nothing before the release.
- `release_ms` (5): how far from "one round trip to the sender after the ACK" the new data may be
  seen and still count as released by that ACK.
"#,
    options: &[
        OptionSpec {
            key: "delayed_ack_ms",
            default: 35.0,
            doc: "shortest ACK delay at the receiver reported, in ms",
            integer: false,
        },
        OptionSpec {
            key: "idle_ms",
            default: 20.0,
            doc: "shortest time the sender sent nothing before the release, in ms",
            integer: false,
        },
        ack_clock::RELEASE_MS,
    ],
};

/// One delayed ACK that released data, with the round trips that judged it.
struct Held<'a> {
    release: &'a AckRelease,
    tx: Option<&'a Transaction>,
    ack_delay_ns: i64,
    to_acker: Rtt,
    to_sender: Rtt,
    blocked_by: Blocker,
}

/// What kept the sender from sending before the ACK came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Blocker {
    /// Its window: it released a full-sized segment (Nagle never holds one).
    FullSegment,
    /// Its window: the ACK covered only part of what it had in flight.
    PartialAck,
    /// Its window: it let a partial segment out behind an unacknowledged one
    /// elsewhere on the connection, so its Nagle's algorithm is off.
    NagleOff,
    /// A full segment was acknowledged and a partial one released: its
    /// window, or a Nagle's algorithm that holds a partial segment while any
    /// data is unacknowledged (BSD, macOS, Windows; not Linux).
    WindowOrClassicNagle,
}

impl Rule for DelayedAck {
    /// The ack releases whose sender was quiet at least `idle_ms`: a sender quiet for less than `idle_ms`
    /// is not this rule's.
    fn needs(&self, s: &RuleSettings) -> Needs {
        ack_clock::needs(s, "idle_ms")
    }

    fn check_connection(&self, cx: &ConnectionFacts<'_>, s: &RuleSettings, out: &mut Vec<Finding>) {
        let delay_ns = s.ms_as_ns("delayed_ack_ms");
        let idle_ns = s.ms_as_ns("idle_ms");
        let slack_ns = s.ms_as_ns("release_ms");
        let held = ack_clock::per_message(cx, |r, messages| {
            if r.release_offset > r.prev_end {
                return None; // data missing from the capture: the sender was not idle
            }
            // A partial segment held until a partial segment was ACKed is
            // Nagle's algorithm: T001's, whose fix is the sender's (unless
            // the sender showed its Nagle is off).
            let mss = ack_clock::mss_of(cx.conn, r);
            if ack_clock::is_nagle_hold(cx.conn, r, mss) {
                return None;
            }
            // A sender still streaming on other ACKs was not waiting.
            if r.idle_ns() < idle_ns {
                return None;
            }
            let to_acker = ack_clock::rtt_to(cx.conn, r.sender.peer(), r.rtt_to_receiver_ns)?;
            let to_sender = ack_clock::rtt_to(cx.conn, r.sender, r.rtt_to_sender_ns)?;
            let ack_delay_ns = r.ack_ts.since(r.held_ts).saturating_sub(to_acker.ns);
            if ack_delay_ns < delay_ns || !ack_clock::released_by_ack(r, to_sender.ns, slack_ns) {
                return None;
            }
            let blocked_by = if r.release_len >= mss.bytes {
                Blocker::FullSegment
            } else if !r.acked_all {
                Blocker::PartialAck
            } else if ack_clock::nagle_off(cx.conn, r.sender) {
                Blocker::NagleOff
            } else {
                Blocker::WindowOrClassicNagle
            };
            let tx = messages.find(r.sender, r.release_offset).map(|(tx, _)| tx);
            let held = Held {
                release: r,
                tx,
                ack_delay_ns,
                to_acker,
                to_sender,
                blocked_by,
            };
            Some((tx.map(|t| t.index), r.idle_ns(), held))
        });
        for t in held {
            out.push(finding(cx.conn, &t.first, t.count));
        }
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

fn finding(conn: &Connection, h: &Held<'_>, acks: u32) -> Finding {
    let r = h.release;
    let (sender, acker) = (r.sender.name(), r.sender.peer().name());
    let evidence = Evidence {
        acker,
        sender,
        ack_delay_ms: Ms(h.ack_delay_ns),
        ack_after_ms: Ms(r.ack_ts.since(r.held_ts)),
        rtt_to_acker_ms: Ms(h.to_acker.ns),
        rtt_to_acker_from: h.to_acker.from,
        released_data_after_ms: Ms(r.release_ts.since(r.ack_ts)),
        rtt_to_sender_ms: Ms(h.to_sender.ns),
        rtt_to_sender_from: h.to_sender.from,
        idle_ms: Ms(r.idle_ns()),
        in_flight_segments: r.in_flight,
        acked_bytes: r.held_len,
        acked_all: r.acked_all,
        released_bytes: r.release_len,
        held_frame: r.held_frame,
        ack_frame: r.ack_frame,
        release_frame: r.release_frame,
        delayed_acks: acks,
        blocked_by: match h.blocked_by {
            Blocker::WindowOrClassicNagle => "nagle_or_window",
            _ => "window",
        },
    };
    let place = match h.tx {
        Some(tx) => format!("{}: ", ack_clock::what(tx, r.sender)),
        None => String::new(),
    };
    let mut f = Finding::new(
        &META,
        conn,
        r.ack_ts,
        evidence.message(&place, h.blocked_by),
    );
    if let Some(tx) = h.tx {
        f = f.transaction(tx.index);
    }
    f.with_evidence(&evidence)
}

/// What T002 found, as its evidence lists it and its message says it.
#[derive(Serialize)]
struct Evidence {
    acker: &'static str,
    sender: &'static str,
    /// How long the receiver held its ACK, as it saw it.
    ack_delay_ms: Ms,
    ack_after_ms: Ms,
    rtt_to_acker_ms: Ms,
    rtt_to_acker_from: &'static str,
    released_data_after_ms: Ms,
    rtt_to_sender_ms: Ms,
    rtt_to_sender_from: &'static str,
    idle_ms: Ms,
    in_flight_segments: u32,
    acked_bytes: u32,
    acked_all: bool,
    released_bytes: u32,
    held_frame: u64,
    ack_frame: u64,
    release_frame: u64,
    delayed_acks: u32,
    blocked_by: &'static str,
}

impl Evidence {
    /// The finding's message, after `place` (the message it is about).
    fn message(&self, place: &str, blocked_by: Blocker) -> String {
        let Evidence { sender, acker, .. } = *self;
        // When the released data left the sender, after the ACK reached it.
        let after_arrival = Ms(self
            .released_data_after_ms
            .0
            .saturating_sub(self.rtt_to_sender_ms.0)
            .max(0));
        let also = if self.delayed_acks > 1 {
            format!(" ({} such ACKs here)", self.delayed_acks)
        } else {
            String::new()
        };
        let more = format!(
            "let the {sender} keep more in flight (a larger initial or congestion window, send \
             buffer, or {acker} receive window) or have the {acker} acknowledge at once"
        );
        let (cause, fix) = match blocked_by {
            Blocker::FullSegment => (
                "by a full window: it released a full-sized segment, which Nagle's algorithm \
                 never holds back"
                    .to_string(),
                more,
            ),
            Blocker::PartialAck => (
                format!(
                    "by a full window: the ACK covered only part of what the {sender} had in \
                     flight"
                ),
                more,
            ),
            Blocker::NagleOff => (
                format!(
                    "by a full window: the {sender} has Nagle's algorithm off (elsewhere on this \
                     connection it sent a partial segment right behind an unacknowledged one)"
                ),
                more,
            ),
            Blocker::WindowOrClassicNagle => (
                "by a full window, or by a Nagle's algorithm that holds a partial segment while \
                 any data is unacknowledged (BSD, macOS and Windows stacks; not Linux)"
                    .to_string(),
                format!(
                    "set TCP_NODELAY on the {sender} if its stack is one of those, else {more}"
                ),
            ),
        };
        format!(
            "{place}the {acker} delayed its ACK of the {sender}'s {}-byte segment by {}, and the \
             {sender}, quiet for {}, sent {} bytes {after_arrival} after the ACK reached it (held \
             back {cause}){also}; {fix}",
            self.acked_bytes, self.ack_delay_ms, self.idle_ms, self.released_bytes,
        )
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline, OK};
    use serde_json::json;

    const A: &[u8] = b"GET /a.css HTTP/1.1\r\nHost: h\r\n\r\n";
    const B: &[u8] = b"GET /b.js HTTP/1.1\r\nHost: h\r\n\r\n";
    const BIG: &[u8] = b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n";

    /// A client-side capture, MSS 100 and a 50 ms round trip, of a server
    /// bound by a three-segment window: its first two segments are ACKed at
    /// once (150.1), which lets out two more; the third is ACKed `delay` ms
    /// late (at 150.2 + delay). The two it sent on the first ACK are seen
    /// `in_flight` ms after the delayed ACK, and the segment that ACK
    /// released `release` ms after it.
    fn window_bound(delay: f64, in_flight: f64, release: f64) -> Timeline {
        let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 562\r\n\r\n".to_vec();
        response.resize(600, b'x');
        let seg = |n: usize| &response[n * 100..(n + 1) * 100];
        let mut t = Timeline::new();
        t.mss = Some(100);
        let ack = 150.2 + delay;
        t.handshake(0.0, 50.0)
            .client(100.0, BIG)
            .server(150.0, seg(0))
            .server(150.0, seg(1))
            .client_ack(150.1)
            .server(150.2, seg(2))
            .client_ack(ack)
            .server(ack + in_flight, seg(3))
            .server(ack + in_flight, seg(4))
            .client_ack(ack + in_flight + 0.1)
            .server(ack + release, seg(5));
        t
    }

    #[test]
    fn fires_on_a_window_bound_sender_held_by_a_delayed_ack() {
        let f = only(window_bound(40.0, 10.0, 50.0).findings_of("T002"));
        assert_eq!(f.transaction, Some(0));
        assert_evidence(
            &f,
            json!({"acker": "client", "sender": "server", "ack_delay_ms": 40.0, "ack_after_ms": 40.0, "acked_bytes": 100}),
        );
        // The two segments seen 10 ms after the ACK were in flight: the
        // release is the one a round trip after it, 40 ms after them.
        assert_evidence(
            &f,
            json!({"in_flight_segments": 2, "released_data_after_ms": 50.0, "idle_ms": 40.0, "release_frame": 13, "blocked_by": "window"}),
        );
        assert!(
            f.message.starts_with(
                "GET /big: the client delayed its ACK of the server's 100-byte segment by 40.0 ms"
            ),
            "{}",
            f.message
        );
        assert!(f.message.contains("full-sized segment"));
        assert!(f.message.contains("let the server keep more in flight"));
    }

    #[test]
    fn ack_delay_and_idle_threshold_edges() {
        let fired = |delay, in_flight, options: &[(&str, f64)]| {
            window_bound(delay, in_flight, 50.0).fired("T002", options)
        };
        assert_eq!((fired(34.9, 10.0, &[]), fired(35.0, 10.0, &[])), (0, 1));
        assert_eq!(fired(30.0, 10.0, &[("delayed_ack_ms", 30.0)]), 1);
        // A sender still streaming on other ACKs until 19.9 ms before the
        // release was not waiting; 20 ms quiet, it was.
        assert_eq!((fired(40.0, 30.1, &[]), fired(40.0, 30.0, &[])), (0, 1));
        assert_eq!(
            (
                fired(40.0, 40.0, &[("idle_ms", 10.0)]),
                fired(40.0, 40.0, &[])
            ),
            (1, 0)
        );
    }

    /// [`window_bound`] without in-flight data: the server's full segment
    /// at 150, the client's ACK of it `delay` ms later, the next full
    /// segment `release` ms after the ACK.
    fn one_segment_window(delay: f64, release: f64) -> Timeline {
        let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 162\r\n\r\n".to_vec();
        response.resize(200, b'x');
        let mut t = Timeline::new();
        t.mss = Some(100);
        t.handshake(0.0, 50.0)
            .client(100.0, BIG)
            .server(150.0, &response[..100])
            .client_ack(150.0 + delay)
            .server(150.0 + delay + release, &response[100..]);
        t
    }

    #[test]
    fn release_threshold_edges() {
        // One round trip (50 ms) after the ACK, give or take release_ms.
        let bound = |release, options: &[(&str, f64)]| {
            window_bound(40.0, 10.0, release).fired("T002", options)
        };
        let one = |release, options: &[(&str, f64)]| {
            one_segment_window(40.0, release).fired("T002", options)
        };
        assert_eq!((bound(55.0, &[]), bound(55.1, &[])), (1, 0));
        assert_eq!((one(45.1, &[]), one(44.9, &[])), (1, 0));
        assert_eq!(one(59.0, &[("release_ms", 10.0)]), 1);
        // Later than the round trip after the first ACK, and closer to one
        // after an ACK of in-flight data: released by that one, which was
        // not delayed.
        assert_eq!(bound(59.0, &[("release_ms", 10.0)]), 0);
    }

    /// Captured at the server; no SYN, so a full segment is the largest
    /// seen (600 bytes). A first exchange gives the round trips: 0.1 ms to
    /// the server, 50 ms to the client. The server's three-segment window
    /// leaves at 100.1; the client ACKs two at once (seen at 150.1), which
    /// lets out two more, and holds its ACK of the third 40 ms (seen at
    /// 190.1, while those two are still on their way to it); the next
    /// segment leaves at `release`.
    fn server_side(release: f64) -> Timeline {
        let seg = [b'x'; 600];
        let mut t = Timeline::new();
        t.client(0.0, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            .server(0.1, OK)
            .client_ack(50.1);
        t.client(100.0, BIG)
            .server(100.1, b"HTTP/1.1 200 OK\r\nContent-Length: 4200\r\n\r\n");
        t.server(100.1, &seg)
            .server(100.1, &seg)
            .client_ack_short(150.1, 600);
        t.server(150.1, &seg)
            .server(150.1, &seg)
            .client_ack_short(190.1, 1200);
        t.server(release, &seg);
        t
    }

    #[test]
    fn a_server_side_capture_times_the_segment_the_ack_covers() {
        let f = only(server_side(190.2).findings_of("T002"));
        assert_eq!(f.transaction, Some(1));
        assert_evidence(
            &f,
            json!({"acker": "client", "ack_after_ms": 90.0, "ack_delay_ms": 40.0, "rtt_to_acker_from": "samples", "acked_all": false, "idle_ms": 40.1, "blocked_by": "window"}),
        );
        // ... and 50 ms after the ACK is too late to be its release here.
        assert!(server_side(240.1).findings_of("T002").is_empty());
    }

    /// A client-side capture with a 50 ms round trip: GET /a.css at 100,
    /// the server's pure ACK `ack` ms after it, GET /b.js at once after it.
    fn pipelined(ack: f64) -> Timeline {
        let mut t = Timeline::new();
        let a = 100.0 + ack;
        t.handshake(0.0, 50.0)
            .client(100.0, A)
            .server_ack(a)
            .client(a, B)
            .server(a + 50.0, OK)
            .server(a + 50.1, OK)
            .client_ack(a + 50.2)
            .close(a + 100.0);
        t
    }

    #[test]
    fn a_nagle_stall_is_t001s() {
        // A partial segment held until a partial segment was ACKed: Nagle's
        // algorithm, whatever the ACK's delay. T001 reports it, with the
        // delay; T002 stays silent, so the stall is one finding.
        let t = pipelined(93.0);
        assert!(t.findings_of("T002").is_empty());
        let all = t.all_findings();
        let tcp: Vec<_> = all.iter().filter(|f| f.code.starts_with('T')).collect();
        assert_eq!(tcp.len(), 1, "{all:?}");
        assert_eq!(tcp[0].code, "T001");
        assert_eq!(tcp[0].evidence["ack_delay_ms"], 43.0);
    }

    #[test]
    fn a_full_segment_acked_and_a_partial_one_released_is_ambiguous() {
        // MSS 100: the client's 100-byte segment, ACKed 43 ms late, then
        // its partial rest. Linux's Nagle would not hold it (its previous
        // segment was full), BSD's, macOS's and Windows' would, and so would
        // a full window.
        let mut t = Timeline::new();
        t.mss = Some(100);
        let mut post = b"POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n".to_vec();
        let head = post.len();
        post.resize(head + 100, b'b');
        t.handshake(0.0, 50.0)
            .client(100.0, &post[..100])
            .server_ack(193.0)
            .client(193.0, &post[100..])
            .server(243.0, OK)
            .close(400.0);
        let f = only(t.findings_of("T002"));
        assert_evidence(
            &f,
            json!({"blocked_by": "nagle_or_window", "acked_bytes": 100}),
        );
        assert_says(&f, "TCP_NODELAY on the client if");
        assert!(t.findings_of("T001").is_empty());
    }

    #[test]
    fn a_delayed_ack_nothing_waited_for_is_normal() {
        // The client's own 42.5 ms delayed ACK of a response, and the
        // server's next data 108 ms later.
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(100.0, A)
            .client(100.1, B)
            .server(250.0, OK)
            .client_ack(292.5)
            .server(400.5, OK)
            .client_ack(400.6)
            .close(500.0);
        assert!(t.findings_of("T002").is_empty());
    }

    #[test]
    fn without_round_trips_it_stays_silent() {
        let mut t = Timeline::new();
        t.mss = Some(100);
        t.client(100.0, BIG)
            .server(150.0, &[b'x'; 600])
            .client_ack(190.0)
            .server(240.0, &[b'y'; 600]);
        assert!(t.findings_of("T002").is_empty());
    }
}
