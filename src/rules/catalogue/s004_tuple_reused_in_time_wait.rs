//! S004 tuple-reused-in-time-wait.

use crate::rules::api::*;

pub struct TupleReusedInTimeWait;

static META: RuleMeta = RuleMeta {
    code: "S004",
    name: "tuple-reused-in-time-wait",
    family: Family::Setup,
    severity: Severity::Info,
    summary: "The same 4-tuple was opened again less than time_wait_s after its previous connection closed",
    doc: r#"## What it detects
A connection whose SYN reuses the exact 4-tuple (client address and port, server address and
port) of an earlier connection that closed in an orderly way (a FIN from each side, no RST)
less than `time_wait_s` before: the new SYN arrived while the side that closed first was still
in TIME_WAIT. The gap is measured from the earlier connection's last packet (the ACK of the
second FIN, when TIME_WAIT begins) to the new SYN. A connection ended by a reset leaves no
TIME_WAIT behind and is not reported.

## Why it matters
The side that sends the first FIN keeps the 4-tuple in TIME_WAIT for twice the maximum segment
lifetime (60 s on Linux, up to 240 s elsewhere) so that a delayed segment of the old
connection cannot be taken for data of a new one, and so that its last ACK can be repeated if
the peer's FIN comes again. Reusing the tuple inside that time relies on the peer accepting a
SYN in TIME_WAIT (Linux does when the new initial sequence number or timestamp is higher,
RFC 6191); when it does not, the SYN is answered with an ACK for the old connection, the
client resets and retries, and the connection is late by a SYN timeout (1 s or more). A client
that reuses its own TIME_WAIT tuple (a fixed `bind()` with `SO_REUSEADDR`, `tcp_tw_reuse`)
gives up the protection outright. Either way the tuple is being recycled faster than TCP
assumes, usually because a client binds a fixed source port or opens connections so fast that
it cycles through its ephemeral ports.

## Example
```text
connection 1 10.0.0.1:41031 -> 10.0.0.2:80
  info S004 tuple-reused-in-time-wait: the 4-tuple was opened again 150.0 ms after connection
  0 on it closed; the server closed that one first and was still in TIME_WAIT (60 s) ...
```

## How to fix
Do not bind clients to fixed source ports: let the operating system pick an ephemeral port
(or widen `net.ipv4.ip_local_port_range`), so a tuple is not reused while it is in TIME_WAIT.
Open fewer connections: keep connections alive and reuse them (HTTP/1.1 persistence, a
pool), which also saves the handshakes. Where the server closes first, it holds TIME_WAIT; a
client that closes first keeps it on its own side, where its kernel will not reuse the port.

## Options
- `time_wait_s` (60): how long the closing side keeps the tuple in TIME_WAIT, in seconds
  (Linux: 60; 2×MSL is 120 s on Windows and 240 s in RFC 9293).
"#,
    options: &[OptionSpec {
        key: "time_wait_s",
        default: 60.0,
        doc: "TIME_WAIT duration: a reuse sooner than this after the close is reported, in seconds",
        integer: false,
    }],
};

impl Rule for TupleReusedInTimeWait {
    /// Judged when the new connection finishes: the flow table's record of
    /// the previous connection on the tuple ([`Connection::previous`]) says
    /// how and when it closed, so no other connection is kept for it.
    ///
    /// [`Connection::previous`]: crate::flow::Connection::previous
    fn check_connection(&self, cx: &ConnectionFacts<'_>, s: &RuleSettings, out: &mut Vec<Finding>) {
        let c = cx.conn;
        let Some(prev) = c.previous else {
            return;
        };
        let limit_ns = s.s_as_ns("time_wait_s");
        let start_ts = c.handshake.syn.unwrap_or(c.start_ts);
        let gap = start_ts.since(prev.end_ts);
        // A new generation always starts with the client's SYN.
        if !(c.handshake.syn.is_some() && (0..limit_ns).contains(&gap)) {
            return;
        }
        // TIME_WAIT follows an orderly close only: a FIN each way, no RST.
        if prev.rst_ts.is_some() || prev.fin.iter().any(Option::is_none) {
            return;
        }
        let first_closer = match prev.first_closer() {
            Some(side) => side.name(),
            None => "both",
        };
        let holder = match first_closer {
            "client" => "the client closed that one first and kept it in TIME_WAIT",
            "server" => "the server closed that one first and was still in TIME_WAIT",
            _ => "both sides closed at once and were still in TIME_WAIT",
        };
        let fix = match first_closer {
            "server" => {
                "let the client's OS pick its source port instead of binding a fixed one, \
                 and reuse connections (keep-alive) rather than reopening them"
            }
            _ => {
                "do not force the reuse of the client port (a fixed bind with SO_REUSEADDR, \
                 tcp_tw_reuse): let the OS pick ephemeral ports, and reuse connections \
                 (keep-alive) rather than reopening them"
            }
        };
        let message = format!(
            "the 4-tuple was opened again {:.1} ms after connection {} on it closed; {holder} \
             ({} s), so a late segment of the old connection could land in the new one and \
             the SYN may be refused; {fix}",
            gap as f64 / 1e6,
            prev.id,
            s.get("time_wait_s"),
        );
        let mut f = Finding::new(&META, c, start_ts, message)
            .with("previous_connection", prev.id)
            .with("generation", c.generation)
            .with_ms("gap_ms", gap)
            .with("time_wait_s", s.get("time_wait_s"))
            .with("first_closer", first_closer);
        if let Some(close) = prev.close_ts() {
            f = f.with_ms("since_first_fin_ms", start_ts.since(close));
        }
        out.push(f);
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
    use serde_json::json;

    const GET: &[u8] = b"GET /cart HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n";
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
    const TUPLE: (&str, &str) = ("10.0.0.1:41031", "10.0.0.2:80");

    /// Generation 0 of the tuple at 0 ms, ended by `end` (given the time of
    /// the response, 100 ms), then generation 1's exchange at `at` ms, the
    /// server closing first ([`Timeline::one_shot`]).
    fn reopened(end: impl FnOnce(&mut Timeline, f64) -> &mut Timeline, at: f64) -> Timeline {
        let mut t = Timeline::new();
        t.connection(TUPLE.0, TUPLE.1);
        end(
            t.handshake(0.0, 50.0).client(50.0, GET).server(100.0, OK),
            100.0,
        );
        t.connection(TUPLE.0, TUPLE.1);
        t.one_shot(at, GET, OK);
        t
    }

    /// Both generations closed by the server first (its FIN at +110, the
    /// last ACK at +112); generation 1's SYN `gap` ms after generation 0's
    /// last packet.
    fn reuse_after(gap: f64) -> Timeline {
        reopened(
            |t, at| {
                t.server_fin(at + 10.0)
                    .client_fin(at + 11.0)
                    .server_ack(at + 12.0)
            },
            112.0 + gap,
        )
    }

    #[test]
    fn fires_on_the_new_generation_with_the_gap_and_the_closer() {
        let f = only(reuse_after(150.0).findings_of("S004"));
        assert_eq!(
            (f.connection, f.client.as_str(), f.transaction),
            (1, TUPLE.0, None)
        );
        assert_evidence(
            &f,
            json!({"previous_connection": 0, "generation": 1, "gap_ms": 150.0, "since_first_fin_ms": 152.0, "first_closer": "server"}),
        );
        assert_says(&f, "server closed that one first");
    }

    #[test]
    fn time_wait_threshold_edges() {
        let found = |gap: f64, time_wait_s: f64| {
            let options = [("time_wait_s", time_wait_s)];
            reuse_after(gap).findings_with("S004", &options).len()
        };
        // 59.999 s after the close: still in TIME_WAIT; 60 s: out of it.
        assert_eq!((found(59_999.0, 60.0), found(60_000.0, 60.0)), (1, 0));
        assert_eq!((found(60_000.0, 120.0), found(150.0, 0.15)), (1, 0));
    }

    #[test]
    fn the_client_closing_first_is_named() {
        let f = only(reopened(|t, at| t.close(at + 10.0), 1000.0).findings_of("S004"));
        assert_evidence(&f, json!({"first_closer": "client", "gap_ms": 888.0}));
    }

    #[test]
    fn a_reset_leaves_no_time_wait_and_an_open_connection_is_not_closed() {
        // Generation 0 reset by the server: no TIME_WAIT anywhere.
        let t = reopened(|t, at| t.server_rst(at + 10.0), 300.0);
        assert!(t.findings_of("S004").is_empty());
        // Generation 0 half-closed only (the server's FIN): its closer is in
        // FIN_WAIT_2, not TIME_WAIT.
        let t = reopened(|t, at| t.server_fin(at + 10.0), 300.0);
        assert!(t.findings_of("S004").is_empty());
    }

    #[test]
    fn distinct_tuples_are_not_reuse() {
        let mut t = Timeline::new();
        t.connection("10.0.0.1:41031", "10.0.0.2:80")
            .one_shot(0.0, GET, OK);
        t.connection("10.0.0.1:41032", "10.0.0.2:80")
            .one_shot(200.0, GET, OK);
        assert!(t.findings_of("S004").is_empty());
    }
}
