//! A scripted connection: bytes per side at chosen times, offsets tracked.

use connlint::flow::{Connection, Handshake, RoleEvidence};
use connlint::http::{HttpConnection, HttpConnectionReport, HttpLimits, Transaction};
use connlint::reassembly::{ConnectionEnd, Side, StreamHandler};
use connlint::Timestamp;

pub use connlint::reassembly::Side::{Client, Server};

/// 2023-11-14T22:13:20Z, so that timestamps look like real ones.
const T0_NS: i64 = 1_700_000_000_000_000_000;

/// A capture time `us` microseconds after T0.
pub fn at(us: i64) -> Timestamp {
    Timestamp(T0_NS + us * 1_000)
}

pub struct Wire {
    pub http: HttpConnection,
    offsets: [u64; 2],
    pub handshake: Handshake,
    fin: [Option<Timestamp>; 2],
    rst: Option<(Side, Timestamp)>,
}

impl Wire {
    pub fn new() -> Wire {
        Wire::with_limits(HttpLimits::default())
    }

    pub fn with_limits(limits: HttpLimits) -> Wire {
        Wire {
            http: HttpConnection::new(limits),
            offsets: [0, 0],
            handshake: Handshake::default(),
            fin: [None, None],
            rst: None,
        }
    }

    /// `bytes` from `side`, captured at `us`.
    pub fn send(&mut self, side: Side, bytes: &[u8], us: i64) -> &mut Wire {
        let i = side.index();
        self.http.on_data(side, self.offsets[i], bytes, at(us));
        self.offsets[i] += bytes.len() as u64;
        self
    }

    pub fn c(&mut self, bytes: &[u8], us: i64) -> &mut Wire {
        self.send(Client, bytes, us)
    }

    pub fn s(&mut self, bytes: &[u8], us: i64) -> &mut Wire {
        self.send(Server, bytes, us)
    }

    /// `len` bytes from `side` not captured.
    pub fn gap(&mut self, side: Side, len: u64, us: i64) -> &mut Wire {
        let i = side.index();
        self.http.on_gap(side, self.offsets[i], len, at(us));
        self.offsets[i] += len;
        self
    }

    pub fn fin(&mut self, side: Side, us: i64) -> &mut Wire {
        self.fin[side.index()] = Some(at(us));
        self.http.on_fin(side, at(us));
        self
    }

    pub fn rst(&mut self, side: Side, us: i64) -> &mut Wire {
        self.rst.get_or_insert((side, at(us)));
        self.http.on_rst(side, at(us));
        self
    }

    pub fn finish(mut self) -> HttpConnectionReport {
        let conn = connection(self.handshake);
        self.http.on_end(&ConnectionEnd {
            rst: self.rst,
            fin: self.fin,
            handshake_rtt_ns: conn.handshake.rtt_ns(),
        });
        self.http.finish()
    }
}

/// A connection as the flow table would hand it over.
pub fn connection(handshake: Handshake) -> Connection {
    Connection {
        handshake,
        ..Connection::new(
            7,
            "10.0.0.1:51000".parse().expect("literal address"),
            "[2001:db8::2]:8080".parse().expect("literal address"),
            RoleEvidence::Syn,
            0,
            at(0),
        )
    }
}

/// `GET <path> HTTP/1.1` with a Host header.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: example.com\r\n\r\n").into_bytes()
}

/// `HTTP/1.1 200 OK` with a Content-Length body.
pub fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// (method, uri, status) of each transaction, for compact assertions.
pub fn summary(txs: &[Transaction]) -> Vec<(Option<&str>, Option<&str>, Option<u16>)> {
    txs.iter()
        .map(|t| (t.method.as_deref(), t.uri.as_deref(), t.status))
        .collect()
}
