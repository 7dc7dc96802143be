//! T002 delayed-ack.

use super::t001_nagle_delayed_ack_stall::{mss_of, released_by_ack, rtt_to, what, Messages, Rtt};
use crate::flow::Connection;
use crate::http::Transaction;
use crate::reassembly::AckRelease;
use crate::rules::config::RuleSettings;
use crate::rules::context::ConnectionFacts;
use crate::rules::finding::Finding;
use crate::rules::meta::{Family, OptionSpec, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct DelayedAck;

static META: RuleMeta = RuleMeta {
    code: "T002",
    name: "delayed-ack",
    family: Family::Tcp,
    severity: Severity::Info,
    summary: "A pure ACK held by the receiver's delayed-ACK timer, and the sender sent the moment it arrived",
    doc: r#"## What it detects
A pure ACK (no data) that the receiver sent at least `delayed_ack_ms` after the data it
acknowledges, and after which the data's sender sent new data as soon as the ACK reached it —
evidence the sender was blocked on that ACK (Nagle's algorithm holding a small write, or a full
window). Both times are judged as the endpoints saw them, wherever the capture was taken:
- the ACK's delay is the time from the data to the ACK at the capture point, less the round trip
  between the capture point and the receiver;
- the new data must be seen within `release_ms` of one round trip between the capture point and
  the sender after the ACK (earlier, the sender could not have had the ACK; later, something
  else made it send).

The round trips come from the handshake, TCP timestamps, or earlier data/ACK pairs (the smallest
estimate wins); without any of them the rule cannot place the capture and stays silent. A
delayed ACK that nothing was waiting for — the sender sends its next data much later, or only
after the receiver's own data — is normal and not reported. Findings go on the transaction whose
data was released (on the connection, for data outside any HTTP message such as a tunnel), once
per transaction and sender, with the number of such ACKs. When the released segment is
full-sized, Nagle's algorithm (which holds only partial segments) is ruled out and the finding
says the sender was window-bound (`blocked_by` in the evidence).

## Why it matters
Delayed ACK (RFC 1122 §4.2.3.2) lets a receiver wait — Linux about 40 ms, Windows up to 200 ms —
hoping to piggyback its ACK on data. That is harmless when the sender has nothing waiting for the
ACK. But a sender that writes in pieces with Nagle's algorithm on holds its next small segment
until the previous one is acknowledged, and a sender with a full window cannot send at all: every
delayed ACK then adds the timer to the exchange. T001 reports the case inside one HTTP message;
this rule reports every such ACK, for example between two pipelined requests written separately.

## Example
```text
samples/T002-delayed-ack.pcap: connection 0 198.18.0.1:41061 -> 198.18.0.2:80
  +0.346s info    T002 delayed-ack tx 2: GET /b.js: the server delayed its ACK of the client's
  83-byte segment by 43.0 ms, and the client sent 82 bytes 0.0 ms after the ACK reached it
  (blocked on the ACK: Nagle's algorithm or a full window); set TCP_NODELAY on the client or
  write in fewer, larger calls
          evidence: ack_after_ms=93.49 ack_delay_ms=43.03 acker="server" blocked_by="nagle_or_window"
          released_data_after_ms=0.038 rtt_to_acker_ms=50.46 rtt_to_sender_ms=0.056 ...
```

## How to fix
Make the sender independent of the ACK: one write per message (or `writev`), or `TCP_NODELAY`
on the sender's socket. A window-bound sender needs more in flight: a larger send buffer at the
sender, a larger receive buffer at the receiver, or a larger initial congestion window. Where you
control the receiver, `TCP_QUICKACK` (Linux) or a shorter delayed-ACK timer (Windows
`TcpAckFrequency`) removes the wait, but fixing the sender is the lasting cure.

## Options
- `delayed_ack_ms` (35): the shortest ACK delay reported, as the receiver saw it (Linux's timer
  is 40 ms, so 35 catches it and leaves room for jitter).
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
            key: "release_ms",
            default: 5.0,
            doc: "slack around the ACK's round trip to the sender for the release, in ms",
            integer: false,
        },
    ],
};

/// One delayed ACK that released data, with the round trips that judged it.
struct Held<'a> {
    release: &'a AckRelease,
    tx: Option<&'a Transaction>,
    ack_delay_ns: i64,
    to_acker: Rtt,
    to_sender: Rtt,
}

impl Rule for DelayedAck {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_connection(&self, cx: &ConnectionFacts<'_>, s: &RuleSettings, out: &mut Vec<Finding>) {
        if cx.releases.is_empty() {
            return;
        }
        let delay_ns = s.ms_as_ns("delayed_ack_ms");
        let slack_ns = s.ms_as_ns("release_ms");
        let messages = Messages::new(cx.http);
        // One finding per transaction (or per connection, for data outside
        // any HTTP message): the first delayed ACK, and how many there were.
        let mut found: Vec<(Held<'_>, u32)> = Vec::new();
        for r in cx.releases {
            if r.release_offset > r.held_end {
                continue; // data missing from the capture: the sender was not idle
            }
            let acker = r.sender.peer();
            let (Some(to_acker), Some(to_sender)) = (
                rtt_to(cx.conn, acker, r.rtt_to_receiver_ns),
                rtt_to(cx.conn, r.sender, r.rtt_to_sender_ns),
            ) else {
                continue;
            };
            let ack_delay_ns = r.ack_ts.since(r.held_ts).saturating_sub(to_acker.ns);
            if ack_delay_ns < delay_ns || !released_by_ack(r, to_sender.ns, slack_ns) {
                continue;
            }
            let tx = messages.find(r.sender, r.held_end).map(|(tx, _)| tx);
            let key = tx.map(|t| t.index);
            match found
                .iter_mut()
                .rev() // stalls of one message come together
                .find(|(h, _)| h.tx.map(|t| t.index) == key && h.release.sender == r.sender)
            {
                Some((_, n)) => *n += 1,
                None => found.push((
                    Held {
                        release: r,
                        tx,
                        ack_delay_ns,
                        to_acker,
                        to_sender,
                    },
                    1,
                )),
            }
        }
        for (h, n) in found {
            out.push(finding(cx.conn, &h, n));
        }
    }
}

fn finding(conn: &Connection, h: &Held<'_>, acks: u32) -> Finding {
    let r = h.release;
    let sender = r.sender.name();
    let acker = r.sender.peer().name();
    let after_arrival = r.release_ts.since(r.ack_ts).saturating_sub(h.to_sender.ns);
    let place = match h.tx {
        Some(tx) => format!("{}: ", what(tx, r.sender)),
        None => String::new(),
    };
    let also = if acks > 1 {
        format!(" ({} such ACKs here)", acks)
    } else {
        String::new()
    };
    // Nagle holds only partial segments: a full-sized release was held by
    // the window, and the cure is on the window's side.
    let window_only = r.release_len >= mss_of(conn, r).bytes;
    let (cause, likely, fix) = if window_only {
        (
            "a full window: it released a full-sized segment",
            "window",
            format!(
                "let the {sender} keep more in flight (larger send buffer, congestion or receive \
                 window) or have the {acker} acknowledge at once"
            ),
        )
    } else {
        (
            "Nagle's algorithm or a full window",
            "nagle_or_window",
            format!("set TCP_NODELAY on the {sender} or write in fewer, larger calls"),
        )
    };
    let message = format!(
        "{place}the {acker} delayed its ACK of the {sender}'s {}-byte segment by {:.1} ms, and the \
         {sender} sent {} bytes {:.1} ms after the ACK reached it (blocked on the ACK: \
         {cause}){also}; {fix}",
        r.held_len,
        h.ack_delay_ns as f64 / 1e6,
        r.release_len,
        after_arrival.max(0) as f64 / 1e6,
    );
    let mut f = Finding::new(&META, conn, r.ack_ts, message);
    if let Some(tx) = h.tx {
        f = f.transaction(tx.index);
    }
    f.with("acker", acker)
        .with("sender", sender)
        .with_ms("ack_delay_ms", h.ack_delay_ns)
        .with_ms("ack_after_ms", r.ack_ts.since(r.held_ts))
        .with_ms("rtt_to_acker_ms", h.to_acker.ns)
        .with("rtt_to_acker_from", h.to_acker.from)
        .with_ms("released_data_after_ms", r.release_ts.since(r.ack_ts))
        .with_ms("rtt_to_sender_ms", h.to_sender.ns)
        .with("rtt_to_sender_from", h.to_sender.from)
        .with("acked_bytes", r.held_len)
        .with("acked_all", r.acked_all)
        .with("released_bytes", r.release_len)
        .with("held_frame", r.held_frame)
        .with("ack_frame", r.ack_frame)
        .with("release_frame", r.release_frame)
        .with("delayed_acks", acks)
        .with("blocked_by", likely)
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::Timeline;

    const A: &[u8] = b"GET /a.css HTTP/1.1\r\nHost: h\r\n\r\n";
    const B: &[u8] = b"GET /b.js HTTP/1.1\r\nHost: h\r\n\r\n";
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    /// A client-side capture with a 50 ms round trip: GET /a.css at 100,
    /// the server's pure ACK `ack` ms after it, GET /b.js `release` ms
    /// after the ACK.
    fn pipelined(ack: f64, release: f64) -> Timeline {
        let mut t = Timeline::new();
        let a = 100.0 + ack;
        let b = a + release;
        t.handshake(0.0, 50.0)
            .client(100.0, A)
            .server_ack(a)
            .client(b, B)
            .server(b + 50.0, OK)
            .server(b + 50.1, OK)
            .client_ack(b + 50.2)
            .close(b + 100.0);
        t
    }

    #[test]
    fn fires_on_the_released_transaction() {
        let f = pipelined(93.0, 0.0).findings_of("T002");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].transaction, Some(1), "GET /b.js, whose data was held");
        let e = &f[0].evidence;
        assert_eq!(e["acker"], "server");
        assert_eq!(e["sender"], "client");
        assert_eq!(e["ack_delay_ms"], 43.0);
        assert_eq!(e["ack_after_ms"], 93.0);
        assert_eq!(e["rtt_to_acker_ms"], 50.0);
        assert_eq!(e["released_data_after_ms"], 0.0);
        assert_eq!(e["acked_bytes"], A.len() as u64);
        assert_eq!(e["released_bytes"], B.len() as u64);
        assert_eq!(e["release_frame"], 6);
        assert_eq!(e["blocked_by"], "nagle_or_window");
        assert!(
            f[0].message
                .starts_with("GET /b.js: the server delayed its ACK"),
            "{}",
            f[0].message
        );
        assert!(f[0].message.contains("TCP_NODELAY on the client"));
    }

    #[test]
    fn a_full_segment_released_points_at_the_window() {
        // MSS 100: the server's response goes out in full segments; the
        // client's delayed ACK of the last one paces the next.
        let mut t = Timeline::new();
        t.mss = Some(100);
        t.handshake(0.0, 50.0)
            .client(100.0, b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
            .server(150.0, &[b'h'; 100])
            .client_ack(190.0)
            .server(240.0, &[b'b'; 100]);
        let f = t.findings_of("T002");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].evidence["blocked_by"], "window");
        assert_eq!(f[0].evidence["ack_delay_ms"], 40.0);
        assert!(f[0].message.contains("full window"), "{}", f[0].message);
    }

    #[test]
    fn ack_delay_threshold_edges() {
        // 50 ms of the wait is the round trip to the server.
        assert!(pipelined(84.9, 0.0).findings_of("T002").is_empty());
        assert_eq!(pipelined(85.0, 0.0).findings_of("T002").len(), 1);
        assert_eq!(
            pipelined(80.0, 0.0)
                .findings_with("T002", &[("delayed_ack_ms", 30.0)])
                .len(),
            1
        );
    }

    #[test]
    fn release_threshold_edges() {
        assert_eq!(pipelined(93.0, 5.0).findings_of("T002").len(), 1);
        assert!(pipelined(93.0, 5.1).findings_of("T002").is_empty());
        assert_eq!(
            pipelined(93.0, 9.0)
                .findings_with("T002", &[("release_ms", 10.0)])
                .len(),
            1
        );
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
    fn a_server_side_capture_judges_both_round_trips() {
        // No handshake; a first exchange gives the round trips: the server
        // answers 0.1 ms after the request (the capture is at the server),
        // the client's ACK comes 50 ms later. Then the response of the next
        // request is written in two pieces; the client's ACK of the first
        // leaves it 40 ms late (seen 90 ms after it here), and the rest
        // comes 50 ms after the ACK was seen: one round trip to the server
        // from here is 0.1 ms, so that is too late to be a release ...
        let mut t = Timeline::new();
        t.client(0.0, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            .server(0.1, OK)
            .client_ack(50.1)
            .client(100.0, b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
            .server(100.1, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
            .client_ack(190.1)
            .server(240.1, b"ok");
        assert!(t.findings_of("T002").is_empty());
        // ... while at once after it is one.
        let mut t = Timeline::new();
        t.client(0.0, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            .server(0.1, OK)
            .client_ack(50.1)
            .client(100.0, b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
            .server(100.1, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
            .client_ack(190.1)
            .server(190.2, b"ok");
        let f = t.findings_of("T002");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].transaction, Some(1));
        assert_eq!(f[0].evidence["acker"], "client");
        assert_eq!(f[0].evidence["ack_delay_ms"], 40.0);
        assert_eq!(f[0].evidence["rtt_to_acker_from"], "samples");
    }

    #[test]
    fn without_round_trips_it_stays_silent() {
        let mut t = Timeline::new();
        t.client(100.0, A).server_ack(193.0).client(193.0, B);
        assert!(t.findings_of("T002").is_empty());
    }
}
