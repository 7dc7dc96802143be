//! Test support for rules: synthetic segment timelines run through the real
//! pipeline (flow table, reassembly, HTTP parser, linter).
//!
//! ```ignore
//! let mut t = Timeline::new();
//! t.handshake(0.0, 50.0);                       // SYN at 0, SYN+ACK at 50, ACK at 50 (client-side capture)
//! t.client(50.0, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
//! t.server(100.0, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
//! let found = t.findings_of("S001");
//! ```
//!
//! Every data segment carries an ACK of everything the sender has received,
//! as real stacks do; pure ACKs, FIN and RST are explicit. What a timeline
//! cannot make (bytes the capture lost) is fed by hand with [`hand_fed`].
//! The builders and messages several rules' tests share are here too.

#![allow(clippy::arithmetic_side_effects)]

use super::{Config, ConnectionFacts, Finding, Linter};
use crate::decode::{TcpFlags, TcpSegment};
use crate::flow::{Connection, FlowLimits, FlowTable, RoleEvidence};
use crate::http::{ConnectionHandler, HttpConnection, HttpLimits, Keep};
use crate::reassembly::{ConnectionEnd, Side, StreamHandler};
use crate::rules::CliSelection;
use crate::tls::build as tls;
use crate::tls::TlsLimits;
use crate::Timestamp;
use std::net::SocketAddr;

#[derive(Clone, Debug)]
struct Seg {
    ts: Timestamp,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: Vec<u8>,
    options: Vec<u8>,
}

/// One TCP connection's sequence state in the timeline.
#[derive(Clone, Copy, Debug)]
struct Conn {
    client: SocketAddr,
    server: SocketAddr,
    /// Next sequence number each side sends (client, server).
    next: [u32; 2],
}

/// A capture built segment by segment. Times are milliseconds from 0.
pub struct Timeline {
    segs: Vec<Seg>,
    conns: Vec<Conn>,
    current: usize,
    /// MSS announced in SYNs (None: no option).
    pub mss: Option<u16>,
}

const T0: i64 = 1_700_000_000_000_000_000;

pub fn ms(t: f64) -> Timestamp {
    Timestamp(T0 + (t * 1e6) as i64)
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// A timeline with one connection 10.0.0.1:40000 -> 10.0.0.2:80.
    pub fn new() -> Timeline {
        let mut t = Timeline {
            segs: Vec::new(),
            conns: Vec::new(),
            current: 0,
            mss: Some(1460),
        };
        t.connection("10.0.0.1:40000", "10.0.0.2:80");
        t
    }

    /// Starts another connection (it becomes the current one). Reusing the
    /// same tuple with [`Timeline::handshake`] makes a new generation.
    pub fn connection(&mut self, client: &str, server: &str) -> &mut Self {
        let n = self.conns.len() as u32;
        self.conns.push(Conn {
            client: client.parse().expect("client address"),
            server: server.parse().expect("server address"),
            next: [1000 + n * 100_000, 5000 + n * 100_000],
        });
        self.current = self.conns.len() - 1;
        self
    }

    /// Switches to the `n`th connection started (0-based).
    pub fn on(&mut self, n: usize) -> &mut Self {
        self.current = n;
        self
    }

    fn push(&mut self, t: f64, from_client: bool, flags: u8, payload: &[u8]) {
        let c = self.conns[self.current];
        let (i, src, dst) = if from_client {
            (0, c.client, c.server)
        } else {
            (1, c.server, c.client)
        };
        let seq = c.next[i];
        let ack = if flags & TcpFlags::ACK != 0 {
            c.next[1 - i]
        } else {
            0
        };
        let mut options = Vec::new();
        if flags & TcpFlags::SYN != 0 {
            if let Some(m) = self.mss {
                options.extend_from_slice(&[2, 4]);
                options.extend_from_slice(&m.to_be_bytes());
            }
        }
        self.segs.push(Seg {
            ts: ms(t),
            src,
            dst,
            seq,
            ack,
            flags,
            payload: payload.to_vec(),
            options,
        });
        let mut advance = payload.len() as u32;
        if flags & (TcpFlags::SYN | TcpFlags::FIN) != 0 {
            advance += 1;
        }
        self.conns[self.current].next[i] = seq.wrapping_add(advance);
    }

    /// SYN at `t`, SYN+ACK at `t + rtt`, ACK at `t + rtt` (a capture taken at
    /// the client).
    pub fn handshake(&mut self, t: f64, rtt: f64) -> &mut Self {
        self.push(t, true, TcpFlags::SYN, b"");
        self.push(t + rtt, false, TcpFlags::SYN | TcpFlags::ACK, b"");
        self.push(t + rtt, true, TcpFlags::ACK, b"");
        self
    }

    /// The client's SYN alone, for handshakes seen away from the client
    /// (with [`Timeline::syn_ack`] and [`Timeline::handshake_ack`]).
    pub fn syn(&mut self, t: f64) -> &mut Self {
        self.push(t, true, TcpFlags::SYN, b"");
        self
    }

    /// A SYN carrying data (TCP Fast Open).
    pub fn syn_with(&mut self, t: f64, bytes: &[u8]) -> &mut Self {
        self.push(t, true, TcpFlags::SYN, bytes);
        self
    }

    /// The server's SYN+ACK.
    pub fn syn_ack(&mut self, t: f64) -> &mut Self {
        self.push(t, false, TcpFlags::SYN | TcpFlags::ACK, b"");
        self
    }

    /// The client's ACK completing the handshake.
    pub fn handshake_ack(&mut self, t: f64) -> &mut Self {
        self.push(t, true, TcpFlags::ACK, b"");
        self
    }

    /// Data from the client (with PSH and an ACK).
    pub fn client(&mut self, t: f64, bytes: &[u8]) -> &mut Self {
        self.push(t, true, TcpFlags::ACK | TcpFlags::PSH, bytes);
        self
    }

    /// Data from the server.
    pub fn server(&mut self, t: f64, bytes: &[u8]) -> &mut Self {
        self.push(t, false, TcpFlags::ACK | TcpFlags::PSH, bytes);
        self
    }

    /// A pure ACK from the client of everything the server sent.
    pub fn client_ack(&mut self, t: f64) -> &mut Self {
        self.push(t, true, TcpFlags::ACK, b"");
        self
    }

    /// A pure ACK from the server of everything the client sent.
    pub fn server_ack(&mut self, t: f64) -> &mut Self {
        self.push(t, false, TcpFlags::ACK, b"");
        self
    }

    /// A pure ACK from the client of all the server sent but its last
    /// `unacked` bytes (a server-side capture, where later data is still on
    /// its way to the client).
    pub fn client_ack_short(&mut self, t: f64, unacked: u32) -> &mut Self {
        self.push(t, true, TcpFlags::ACK, b"");
        let c = self.conns[self.current];
        if let Some(seg) = self.segs.last_mut() {
            seg.ack = c.next[1].wrapping_sub(unacked);
        }
        self
    }

    pub fn client_fin(&mut self, t: f64) -> &mut Self {
        self.push(t, true, TcpFlags::ACK | TcpFlags::FIN, b"");
        self
    }

    pub fn server_fin(&mut self, t: f64) -> &mut Self {
        self.push(t, false, TcpFlags::ACK | TcpFlags::FIN, b"");
        self
    }

    pub fn client_rst(&mut self, t: f64) -> &mut Self {
        self.push(t, true, TcpFlags::ACK | TcpFlags::RST, b"");
        self
    }

    pub fn server_rst(&mut self, t: f64) -> &mut Self {
        self.push(t, false, TcpFlags::ACK | TcpFlags::RST, b"");
        self
    }

    /// Both sides close: client FIN at `t`, server FIN+ACK at `t + 1`, last ACK at `t + 2`.
    pub fn close(&mut self, t: f64) -> &mut Self {
        self.client_fin(t).server_fin(t + 1.0).client_ack(t + 2.0)
    }

    /// One exchange on a new timeline: the handshake at 0 over a 50 ms
    /// round trip, `request` at 50 ms, `response` at `answer`, and both
    /// sides close 50 ms later ([`Timeline::close`]).
    pub fn exchange(request: &[u8], response: &[u8], answer: f64) -> Timeline {
        let mut t = Timeline::unclosed(request, response, answer);
        t.close(answer + 50.0);
        t
    }

    /// [`Timeline::exchange`] without the close: what comes after the
    /// response is the test's.
    pub fn unclosed(request: &[u8], response: &[u8], answer: f64) -> Timeline {
        let mut t = Timeline::new();
        t.handshake(0.0, 50.0)
            .client(50.0, request)
            .server(answer, response);
        t
    }

    /// GET /c answered by `response` at 100 ms ([`Timeline::unclosed`]),
    /// then what `then` does (a FIN, a reset, nothing).
    pub fn answered_then(
        response: &[u8],
        then: impl FnOnce(&mut Timeline) -> &mut Timeline,
    ) -> Timeline {
        let mut t = Timeline::unclosed(&get("/c"), response, 100.0);
        then(&mut t);
        t
    }

    /// GET / answered at 100 ms (persistence confirmed), then GET /2 and
    /// GET /3 pipelined at 200 and `third` ms, and `response` to /2 at 300
    /// ms; how the connection ends is the test's.
    pub fn two_pipelined(third: f64, response: &[u8]) -> Timeline {
        let mut t = Timeline::unclosed(&get("/"), OK, 100.0);
        t.client(200.0, &get("/2")).client(third, &get("/3"));
        t.server(300.0, response);
        t
    }

    /// One request on the current connection, answered, then closed by the
    /// server: SYN at `at` (50 ms round trip), `request` at +50, `response`
    /// at +100, the server's FIN at +110, the client's at +111, the last ACK
    /// at +112.
    pub fn one_shot(&mut self, at: f64, request: &[u8], response: &[u8]) -> &mut Self {
        self.handshake(at, 50.0)
            .client(at + 50.0, request)
            .server(at + 100.0, response)
            .server_fin(at + 110.0)
            .client_fin(at + 111.0)
            .server_ack(at + 112.0)
    }

    /// A TLS 1.3 handshake on the current connection over a round trip of
    /// `rtt` ms from `at`, captured at the client: the TCP handshake, the
    /// ClientHello at `at + rtt`, the server's flight (ServerHello through
    /// Finished) a round trip later, and the client's Finished at once.
    /// Returns when the client can send data (`at + 2 rtt`).
    pub fn tls13_handshake(
        &mut self,
        at: f64,
        rtt: f64,
        hello: &tls::ClientHello,
        server: &tls::ServerHello,
    ) -> f64 {
        self.handshake(at, rtt)
            .client(at + rtt, &hello.record())
            .server(at + 2.0 * rtt, &tls::tls13_server_flight(server))
            .client(at + 2.0 * rtt, &tls::tls13_client_finished());
        at + 2.0 * rtt
    }

    /// A full TLS 1.2 handshake (the server's flight with its certificate,
    /// the client's key exchange and Finished, the server's ticket if
    /// `ticket` and Finished): the client can send data at `at + 3 rtt`.
    pub fn tls12_handshake(
        &mut self,
        at: f64,
        rtt: f64,
        hello: &tls::ClientHello,
        server: &tls::ServerHello,
        ticket: bool,
    ) -> f64 {
        let mut flight = server.record();
        flight.extend(tls::tls12_certificate_flight());
        self.handshake(at, rtt)
            .client(at + rtt, &hello.record())
            .server(at + 2.0 * rtt, &flight)
            .client(at + 2.0 * rtt, &tls::tls12_client_finished())
            .server(at + 3.0 * rtt, &tls::tls12_server_finished(ticket));
        at + 3.0 * rtt
    }

    /// A resumed TLS 1.2 handshake (`hello` offering `session_id`, the
    /// server echoing it): the client can send data at `at + 2 rtt`.
    pub fn tls12_resumed(
        &mut self,
        at: f64,
        rtt: f64,
        hello: &tls::ClientHello,
        session_id: &[u8],
    ) -> f64 {
        let mut flight = tls::ServerHello::new().session_id(session_id).record();
        flight.extend(tls::tls12_server_finished(false));
        let mut finished = tls::ccs();
        finished.extend(tls::record(22, &[0x44; 40]));
        self.handshake(at, rtt)
            .client(at + rtt, &hello.clone().session_id(session_id).record())
            .server(at + 2.0 * rtt, &flight)
            .client(at + 2.0 * rtt, &finished);
        at + 2.0 * rtt
    }

    /// Runs the timeline (segments in time order, ties in insertion order)
    /// through the pipeline with `config`.
    pub fn run(&self, config: &Config) -> Vec<Finding> {
        let mut order: Vec<&Seg> = self.segs.iter().collect();
        order.sort_by_key(|s| s.ts);
        let mut linter = Linter::new(config);
        let mut found = Vec::new();
        let keep = Keep {
            ack_releases_idle_ns: Some(0),
            ..Keep::TRANSACTIONS
        };
        let mut table = FlowTable::new(FlowLimits::default(), || {
            ConnectionHandler::new(HttpLimits::default(), TlsLimits::default(), keep)
        });
        let mut done = |f: crate::flow::Finished<ConnectionHandler>| {
            let handled = f.handler.finish();
            linter.connection(
                &ConnectionFacts {
                    conn: &f.connection,
                    http: &handled.http,
                    releases: &handled.releases,
                    protocol: handled.protocol,
                    tls: handled.tls.as_deref(),
                    decrypted: handled.decryption.is_some_and(|d| d.decrypted()),
                    release_places: &handled.release_places,
                },
                &mut |f| found.push(f),
            );
        };
        for (n, s) in order.iter().enumerate() {
            let seg = TcpSegment {
                ts: s.ts,
                frame: n as u64 + 1,
                src: s.src,
                dst: s.dst,
                seq: s.seq,
                ack: s.ack,
                flags: TcpFlags(s.flags),
                window: 65535,
                options_raw: &s.options,
                payload: &s.payload,
                payload_len: s.payload.len() as u32,
            };
            table.process(&seg, &mut done);
        }
        table.finish_all(&mut done);
        linter.finish(&mut |f| found.push(f));
        found
    }

    /// Findings of one rule (selected alone, default thresholds).
    pub fn findings_of(&self, code: &str) -> Vec<Finding> {
        self.run(&config_for(code, &[]))
    }

    /// Findings of one rule with some thresholds set, as `connlint.toml` would.
    pub fn findings_with(&self, code: &str, options: &[(&str, f64)]) -> Vec<Finding> {
        self.run(&config_for(code, options))
    }

    /// How many findings of one rule, with some thresholds set.
    pub fn fired(&self, code: &str, options: &[(&str, f64)]) -> usize {
        self.findings_with(code, options).len()
    }

    /// Findings of every rule, default configuration.
    pub fn all_findings(&self) -> Vec<Finding> {
        self.run(&Config::default_all())
    }

    /// The codes of [`Timeline::all_findings`] but the setup rules' (S001
    /// judges most test timelines' handshakes): one cause, one finding.
    pub fn codes_but_setup(&self) -> Vec<&'static str> {
        self.all_findings()
            .iter()
            .map(|f| f.code)
            .filter(|c| !c.starts_with('S'))
            .collect()
    }
}

/// A response with a two-byte body, the one most tests need.
pub const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// `GET path` on HTTP/1.1, to host `a`.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n").into_bytes()
}

/// The one finding in `found`; fails the test unless there is exactly one.
#[track_caller]
pub fn only(found: Vec<Finding>) -> Finding {
    assert_eq!(found.len(), 1, "{found:?}");
    found.into_iter().next().expect("one finding")
}

/// Asserts that `f`'s evidence has every key of `expected` (a JSON object)
/// with that value.
#[track_caller]
pub fn assert_evidence(f: &Finding, expected: serde_json::Value) {
    let Some(expected) = expected.as_object() else {
        panic!("expected evidence is not an object: {expected}");
    };
    for (key, want) in expected {
        assert_eq!(f.evidence.get(key), Some(want), "evidence `{key}` of {f:?}");
    }
}

/// Asserts that `f`'s message contains `text`.
#[track_caller]
pub fn assert_says(f: &Finding, text: &str) {
    assert!(f.message.contains(text), "{text:?} not in {:?}", f.message);
}

/// A configuration selecting the rules `select` names, from `toml` (a
/// `connlint.toml`).
pub fn config_with(select: &[&str], toml: &str) -> Config {
    let file = super::ConfigFile::parse(toml).expect("test config parses");
    let cli = CliSelection {
        select: Some(select.iter().map(|s| s.to_string()).collect()),
        ..CliSelection::default()
    };
    Config::resolve(Some(("test", &file)), &cli).expect("test config resolves")
}

/// A configuration selecting only `code`, with `options` set.
pub fn config_for(code: &str, options: &[(&str, f64)]) -> Config {
    let mut text = String::new();
    if !options.is_empty() {
        text.push_str(&format!("[rules.{code}]\n"));
        for (k, v) in options {
            if v.fract() == 0.0 {
                text.push_str(&format!("{k} = {}\n", *v as i64));
            } else {
                text.push_str(&format!("{k} = {v:?}\n"));
            }
        }
    }
    config_with(&[code], &text)
}

/// One HTTP event fed by hand: what a [`Timeline`] cannot make, such as
/// bytes the capture lost.
#[derive(Clone, Copy, Debug)]
pub enum Ev<'a> {
    Data(Side, &'a [u8], f64),
    /// `len` bytes of `side`'s stream not captured.
    Gap(Side, u64, f64),
    Fin(Side, f64),
    Rst(Side, f64),
}

/// Runs rule `code` over a connection (SYN at 0 ms) whose HTTP parser is
/// fed `events`; the flow facts (FIN, RST, gap bytes) follow them.
pub fn hand_fed(code: &str, events: &[Ev<'_>]) -> Vec<Finding> {
    let mut conn = Connection::new(
        0,
        "10.0.0.1:40000".parse().expect("addr"),
        "10.0.0.2:80".parse().expect("addr"),
        RoleEvidence::Syn,
        1,
        ms(0.0),
    );
    conn.handshake.syn = Some(ms(0.0));
    let mut http = HttpConnection::default();
    let mut next = [0u64; 2];
    for ev in events {
        match *ev {
            Ev::Data(side, bytes, t) => {
                let i = side.index();
                http.on_data(side, next[i], bytes, ms(t));
                next[i] += bytes.len() as u64;
                conn.dirs[i].bytes += bytes.len() as u64;
                conn.dirs[i].last_data_ts = Some(ms(t));
            }
            Ev::Gap(side, len, t) => {
                let i = side.index();
                http.on_gap(side, next[i], len, ms(t));
                next[i] += len;
                conn.dirs[i].gaps += 1;
                conn.dirs[i].gap_bytes += len;
            }
            Ev::Fin(side, t) => {
                http.on_fin(side, ms(t));
                conn.fin[side.index()] = Some(ms(t));
            }
            Ev::Rst(side, t) => {
                http.on_rst(side, ms(t));
                conn.rst = Some((side, ms(t)));
            }
        }
    }
    http.on_end(&ConnectionEnd {
        rst: conn.rst,
        fin: conn.fin,
        handshake_rtt_ns: conn.handshake.rtt_ns(),
    });
    let report = http.finish();
    let config = config_for(code, &[]);
    Linter::collect(
        &config,
        [ConnectionFacts {
            conn: &conn,
            http: &report,
            releases: &[],
            protocol: if report.is_http {
                crate::http::Protocol::Http1
            } else {
                crate::http::Protocol::Unknown
            },
            tls: None,
            decrypted: false,
            release_places: &[],
        }],
    )
}

/// Asserts that rule `code` fires once on `events` (hand-fed), and not at
/// all when the capture lost `gap` (an [`Ev::Gap`]) before the last of
/// them: what may be in the lost bytes proves nothing.
#[track_caller]
pub fn assert_a_gap_silences(code: &str, events: &[Ev<'_>], gap: Ev<'_>) {
    assert_eq!(hand_fed(code, events).len(), 1, "{code} without the gap");
    let mut lost = events.to_vec();
    lost.insert(events.len().saturating_sub(1), gap);
    assert!(hand_fed(code, &lost).is_empty(), "{code} with the gap");
}
