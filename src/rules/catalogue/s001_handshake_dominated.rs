//! S001 handshake-dominated.

use crate::rules::config::RuleSettings;
use crate::rules::context::ConnectionFacts;
use crate::rules::finding::Finding;
use crate::rules::meta::{Family, OptionSpec, RuleMeta, Severity};
use crate::rules::registry::Rule;

pub struct HandshakeDominated;

static META: RuleMeta = RuleMeta {
    code: "S001",
    name: "handshake-dominated",
    family: Family::Setup,
    severity: Severity::Warning,
    summary: "A small request on a new connection spent most of its time on the TCP handshake",
    doc: r#"## What it detects
The first transaction on a connection whose handshake is in the capture, when the handshake
(SYN to the ACK that completes it) took at least `handshake_ratio` of the transaction's whole time
(connect + send + wait + receive), the handshake round trip was at least `min_handshake_ms`, and
request and response together were no larger than `small_bytes`.

## Why it matters
Every new TCP connection costs one round trip before the first request byte can leave (SYN,
SYN+ACK, ACK), and then starts in slow start. For a small request the request/response itself is
also about one round trip, so a fresh connection roughly doubles the latency: the textbook case is
a ratio near 0.5. A client that opens a connection per request pays this every time; one that
keeps connections alive (HTTP/1.1 persistence, a connection pool) pays it once.

## Example
```text
connection 3 10.0.0.1:51234 -> 10.0.0.2:80
  warning S001 handshake-dominated tx 0: GET /api/items: 50.5 ms of 101.1 ms (50%) went to the
  TCP handshake for 230 bytes of request and response; reuse connections (keep-alive, a pool)
```

## How to fix
Reuse connections: send `Connection: keep-alive` on HTTP/1.0 or simply do not close HTTP/1.1
connections after one request, and give the client a connection pool. If connections must be new,
bring the server closer (a CDN or edge proxy) so the round trip is shorter, or use TLS/TCP Fast
Open where both ends support it.

## Options
- `handshake_ratio` (0.4): the share of the transaction's time the handshake must reach.
- `min_handshake_ms` (1): handshakes faster than this (a LAN, loopback) are not worth reporting.
- `small_bytes` (65536): request + response bytes (heads and bodies) at most this large count as small.
"#,
    options: &[
        OptionSpec {
            key: "handshake_ratio",
            default: 0.4,
            doc: "share of connect+send+wait+receive spent in the handshake (0-1)",
            integer: false,
        },
        OptionSpec {
            key: "min_handshake_ms",
            default: 1.0,
            doc: "smallest handshake round trip reported, in ms",
            integer: false,
        },
        OptionSpec {
            key: "small_bytes",
            default: 65536.0,
            doc: "request + response bytes at most this count as a small transaction",
            integer: true,
        },
    ],
};

impl Rule for HandshakeDominated {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_connection(&self, cx: &ConnectionFacts<'_>, s: &RuleSettings, out: &mut Vec<Finding>) {
        let Some(tx) = cx.http.transactions.first() else {
            return;
        };
        let t = &tx.timing;
        // connect is set only for the first transaction of a connection whose
        // whole handshake was seen.
        let (Some(connect), Some(send), Some(wait), Some(receive)) =
            (t.connect_ns, t.send_ns, t.wait_ns, t.receive_ns)
        else {
            return;
        };
        let Some(rtt) = cx.conn.handshake_rtt_ns() else {
            return;
        };
        let (Some(req), Some(resp)) = (&tx.request, &tx.response) else {
            return;
        };
        let total = connect + send + wait + receive;
        if total <= 0 || rtt < s.ms_as_ns("min_handshake_ms") {
            return;
        }
        let request_bytes = req.head_bytes + req.wire_body_bytes;
        let response_bytes = resp.head_bytes + resp.wire_body_bytes;
        let bytes = request_bytes + response_bytes;
        if bytes as f64 > s.get("small_bytes") {
            return;
        }
        let ratio = connect as f64 / total as f64;
        if ratio < s.get("handshake_ratio") {
            return;
        }
        let what = match (&tx.method, &tx.uri) {
            (Some(m), Some(u)) => format!("{m} {}", shorten(u)),
            _ => "the first request".to_string(),
        };
        let message = format!(
            "{what}: {:.1} ms of {:.1} ms ({:.0}%) went to the TCP handshake for {bytes} bytes of request and \
             response; reuse connections (keep-alive, a connection pool) so requests skip the handshake",
            connect as f64 / 1e6,
            total as f64 / 1e6,
            ratio * 100.0
        );
        let ts = cx.conn.handshake.syn.unwrap_or(cx.conn.start_ts);
        out.push(
            Finding::new(&META, cx.conn, ts, message)
                .transaction(tx.index)
                .with_ms("connect_ms", connect)
                .with_ms("send_ms", send)
                .with_ms("wait_ms", wait)
                .with_ms("receive_ms", receive)
                .with("ratio", (ratio * 1000.0).round() / 1000.0)
                .with_ms("handshake_rtt_ms", rtt)
                .with("request_bytes", request_bytes)
                .with("response_bytes", response_bytes),
        );
    }
}

/// A request target short enough for a one-line message.
fn shorten(uri: &str) -> String {
    match uri.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &uri[..cut]),
        None => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::Timeline;

    const GET: &[u8] = b"GET /api/items HTTP/1.1\r\nHost: example.com\r\n\r\n";
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

    /// Handshake of `rtt` ms, then the request and, `wait` ms later, the response.
    fn exchange(rtt: f64, wait: f64) -> Timeline {
        let mut t = Timeline::new();
        t.handshake(0.0, rtt)
            .client(rtt, GET)
            .server(rtt + wait, OK)
            .close(rtt + wait + 10.0);
        t
    }

    #[test]
    fn fires_when_the_handshake_is_half_the_time() {
        let f = exchange(50.0, 50.0).findings_of("S001");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].transaction, Some(0));
        assert_eq!(f[0].evidence["ratio"], 0.5);
        assert_eq!(f[0].evidence["connect_ms"], 50.0);
        assert!(f[0].message.contains("GET /api/items"), "{}", f[0].message);
    }

    #[test]
    fn ratio_threshold_edges() {
        // connect 40, wait 60: ratio exactly 0.4 fires; wait 60.1: 0.3998 does not.
        assert_eq!(exchange(40.0, 60.0).findings_of("S001").len(), 1);
        assert_eq!(exchange(40.0, 60.1).findings_of("S001").len(), 0);
        assert_eq!(
            exchange(40.0, 60.1)
                .findings_with("S001", &[("handshake_ratio", 0.39)])
                .len(),
            1
        );
    }

    #[test]
    fn fast_handshakes_are_not_reported() {
        assert_eq!(exchange(0.9, 0.9).findings_of("S001").len(), 0);
        assert_eq!(exchange(1.0, 1.0).findings_of("S001").len(), 1);
        assert_eq!(
            exchange(1.0, 1.0)
                .findings_with("S001", &[("min_handshake_ms", 1.5)])
                .len(),
            0
        );
    }

    #[test]
    fn large_transactions_are_not_small() {
        let bytes = (GET.len() + OK.len()) as f64;
        assert_eq!(
            exchange(50.0, 50.0)
                .findings_with("S001", &[("small_bytes", bytes)])
                .len(),
            1
        );
        assert_eq!(
            exchange(50.0, 50.0)
                .findings_with("S001", &[("small_bytes", bytes - 1.0)])
                .len(),
            0
        );
    }

    #[test]
    fn later_transactions_and_missing_handshakes_do_not_count() {
        // No SYN seen: no connect time, nothing to judge.
        let mut t = Timeline::new();
        t.client(0.0, GET).server(50.0, OK);
        assert!(t.findings_of("S001").is_empty());
        // A reused connection: the second, fast transaction has no connect
        // time of its own and is not judged.
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0).client(50.0, GET).server(500.0, OK);
        t.client(600.0, GET).server(610.0, OK);
        assert!(t.findings_of("S001").is_empty());
    }
}
