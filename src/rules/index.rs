//! What the cross-connection rules are shown of each finished connection:
//! its [`ConnSummary`], built once when the connection finishes and
//! borrowed from it, of which each rule keeps, in its own state
//! ([`CrossRule`](super::api::CrossRule)), only the few numbers it needs and
//! only as long as its horizon ([`Rule::horizon`](super::api::Rule::horizon)).
//!
//! Churn (S002), parallel connections (S003), retries of non-idempotent
//! requests (R004) and the two legs of a proxy (C007) are about several
//! connections at once. Keeping whole connections for that would make memory
//! grow with the capture; what a rule keeps is bounded by the connections of
//! its window, and it is dropped once no connection still to finish can be
//! related to it. Failed requests ([`FailedRequest`]) are what outlives a
//! window longest: a retry can travel on a connection that stays open (a
//! pool) long after the failed one ended, so R004 keeps the last
//! [`MAX_FAILED_REQUESTS`] of them.

use super::context::ConnectionFacts;
use super::finding::Finding;
use super::meta::RuleMeta;
use crate::http::{HeaderFacts, MessageEnd, NoResponse, Protocol, Transaction};
use crate::reassembly::{BySide, Side};
use crate::tls::{HandshakeKind, SessionId, TlsReport, TlsVersion};
use crate::Timestamp;
use std::net::{IpAddr, SocketAddr};

/// Request summaries kept per connection.
pub const MAX_REQUESTS_PER_CONNECTION: usize = 32;
/// Longest request target kept in a summary.
pub const MAX_URI_BYTES: usize = 512;
/// Failed requests remembered after their connection's summary is gone.
/// A failure ends its connection, so there are at most a few per
/// connection; past the cap the oldest are forgotten.
pub const MAX_FAILED_REQUESTS: usize = 16_384;

/// How a request failed: its connection ended (reset or closed) before a
/// complete response. Other endings (the capture stopped, a gap in the
/// capture) say nothing about the request and are not failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestFailure {
    /// No response: `by` reset the connection.
    Reset { by: Side, ts: Timestamp },
    /// No response: the server closed with FIN.
    ServerClosed { ts: Timestamp },
    /// No response: the client gave up and closed with FIN.
    ClientClosed { ts: Timestamp },
    /// The response began but `by` reset the connection before its end.
    ResponseReset { by: Side, ts: Timestamp },
    /// The response began but `by` closed with FIN before its end.
    ResponseCut { by: Side, ts: Timestamp },
}

impl RequestFailure {
    /// When the failure happened (the RST or FIN).
    pub fn ts(&self) -> Timestamp {
        match *self {
            RequestFailure::Reset { ts, .. }
            | RequestFailure::ServerClosed { ts }
            | RequestFailure::ClientClosed { ts }
            | RequestFailure::ResponseReset { ts, .. }
            | RequestFailure::ResponseCut { ts, .. } => ts,
        }
    }

    /// A short kebab-case name for evidence.
    pub fn kind(&self) -> &'static str {
        match self {
            RequestFailure::Reset { .. } => "reset",
            RequestFailure::ServerClosed { .. } => "server-closed",
            RequestFailure::ClientClosed { .. } => "client-gave-up",
            RequestFailure::ResponseReset { .. } => "response-reset",
            RequestFailure::ResponseCut { .. } => "response-truncated",
        }
    }

    /// The side that reset or closed.
    pub fn by(&self) -> Side {
        match *self {
            RequestFailure::Reset { by, .. }
            | RequestFailure::ResponseReset { by, .. }
            | RequestFailure::ResponseCut { by, .. } => by,
            RequestFailure::ServerClosed { .. } => Side::Server,
            RequestFailure::ClientClosed { .. } => Side::Client,
        }
    }

    /// How it failed, for a message: "reset by the server with no response".
    pub fn describe(&self) -> String {
        match self {
            RequestFailure::Reset { by, .. } => {
                format!("reset by the {} with no response", by.name())
            }
            RequestFailure::ServerClosed { .. } => "closed by the server with no response".into(),
            RequestFailure::ClientClosed { .. } => {
                "abandoned by the client (FIN) with no response".into()
            }
            RequestFailure::ResponseReset { by, .. } => {
                format!("reset by the {} in the middle of the response", by.name())
            }
            RequestFailure::ResponseCut { by, .. } => {
                format!("closed by the {} in the middle of the response", by.name())
            }
        }
    }

    /// The failure of `tx` on a connection whose FINs came at `fin`
    /// ([`Side::index`]), if the connection's end cut it short. The HTTP
    /// layer calls a response-less close the server's whenever the server
    /// sent a FIN; a client that closed first had given up, and is named.
    pub fn of(tx: &Transaction, fin: [Option<Timestamp>; 2]) -> Option<RequestFailure> {
        let failure = Self::of_tx(tx)?;
        if let (RequestFailure::ServerClosed { .. }, [Some(client), Some(server)]) = (failure, fin)
        {
            if client < server {
                return Some(RequestFailure::ClientClosed { ts: client });
            }
        }
        Some(failure)
    }

    fn of_tx(tx: &Transaction) -> Option<RequestFailure> {
        tx.request.as_ref()?;
        if let Some(resp) = &tx.response {
            if resp.framing_satisfied {
                return None;
            }
            return match resp.end {
                MessageEnd::RstBeforeEnd { side, ts } => {
                    Some(RequestFailure::ResponseReset { by: side, ts })
                }
                MessageEnd::FinBeforeEnd { side, ts } => {
                    Some(RequestFailure::ResponseCut { by: side, ts })
                }
                _ => None,
            };
        }
        match tx.no_response? {
            NoResponse::Rst { side, ts } => Some(RequestFailure::Reset { by: side, ts }),
            NoResponse::ServerFin { ts } => Some(RequestFailure::ServerClosed { ts }),
            NoResponse::ClientFin { ts } => Some(RequestFailure::ClientClosed { ts }),
            NoResponse::LostInGap | NoResponse::Unpaired | NoResponse::CaptureEnded => None,
        }
    }
}

/// One request, as the cross-connection rules need it, borrowed from its
/// transaction.
#[derive(Clone, Copy, Debug)]
pub struct RequestSummary<'a> {
    /// Transaction index within its connection.
    pub index: u64,
    pub method: &'a str,
    /// The request target, its first [`MAX_URI_BYTES`] bytes.
    pub uri: &'a str,
    /// First byte of the request.
    pub ts: Timestamp,
    pub request_body_bytes: u64,
    /// The request body's length as framed: its Content-Length, or the
    /// bytes of a complete chunked body (0 without a body); `None` when
    /// neither is known.
    pub body_length: Option<u64>,
    /// A response arrived and its framing was satisfied.
    pub answered: bool,
    /// The final response's status, if one parsed.
    pub status: Option<u16>,
    /// The connection ended (RST or FIN) before a complete response.
    pub failure: Option<RequestFailure>,
    /// The request's header facts (hop-by-hop fields, Connection tokens).
    pub headers: &'a HeaderFacts,
    /// The final response's header facts, if there was one.
    pub response_headers: Option<&'a HeaderFacts>,
    /// Frames of the request's first byte and the response's first and
    /// last bytes (0: none or unknown).
    pub frames: [u64; 3],
}

/// One finished connection, as the cross-connection rules need it: numbers,
/// and its requests read from its transactions on demand.
#[derive(Clone, Debug)]
pub struct ConnSummary<'a> {
    pub id: u64,
    /// The connection's first and last frames.
    pub first_frame: u64,
    pub last_frame: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// The connection's first packet: every connection with a higher id
    /// began no earlier (ids follow first packets).
    pub first_ts: Timestamp,
    /// The client's SYN if seen, else the first packet.
    pub start_ts: Timestamp,
    /// The last packet.
    pub end_ts: Timestamp,
    /// The first FIN or RST (the moment the connection began to close).
    pub close_ts: Option<Timestamp>,
    /// Reset (by either side) rather than closed or left open.
    pub reset: bool,
    pub handshake_seen: bool,
    /// SYN to the ACK completing the handshake, when all three were seen.
    pub handshake_rtt_ns: Option<i64>,
    /// The server answered the SYN or either side sent payload: the
    /// connection was really open (not a refused or unanswered connect).
    pub established: bool,
    /// Payload bytes sent by the client and by the server ([`Side::index`]).
    pub bytes: [u64; 2],
    /// The last new payload from either side.
    pub last_data_ts: Option<Timestamp>,
    /// FIN time of each side ([`Side::index`]).
    pub fin: [Option<Timestamp>; 2],
    /// The first RST: who sent it and when.
    pub rst: Option<(Side, Timestamp)>,
    pub is_http: bool,
    /// What the connection spoke.
    pub protocol: Protocol,
    /// On a TLS connection, what the cross-connection rules need of it
    /// (boxed: the index holds many summaries, most of them not TLS).
    pub tls: Option<Box<TlsSummary>>,
    /// What setting the connection up cost before data could flow: the
    /// TCP handshake, and on a TLS connection the TLS handshake too (the
    /// ClientHello to the end of the TLS handshake).
    pub setup_ns: Option<i64>,
    pub transactions: u64,
    txs: &'a [Transaction],
}

impl<'a> ConnSummary<'a> {
    pub fn new(cx: &ConnectionFacts<'a>) -> ConnSummary<'a> {
        let c = cx.conn;
        let close_ts = [c.fin[0], c.fin[1], c.rst.map(|(_, t)| t)]
            .into_iter()
            .flatten()
            .min();
        let bytes = [c.dirs[0].bytes, c.dirs[1].bytes];
        let txs = cx.http.transactions.as_slice();
        ConnSummary {
            id: c.id,
            first_frame: c.first_frame,
            last_frame: c.last_frame,
            client: c.client,
            server: c.server,
            first_ts: c.start_ts,
            start_ts: c.handshake.syn.unwrap_or(c.start_ts),
            end_ts: c.end_ts,
            close_ts,
            reset: c.rst.is_some(),
            handshake_seen: c.handshake.syn.is_some(),
            handshake_rtt_ns: c.handshake_rtt_ns(),
            established: c.handshake.syn_ack.is_some() || bytes.iter().any(|&b| b > 0),
            bytes,
            last_data_ts: c.dirs[0].last_data_ts.max(c.dirs[1].last_data_ts),
            fin: c.fin,
            rst: c.rst,
            is_http: cx.http.is_http,
            protocol: cx.protocol,
            tls: cx.tls.map(|t| Box::new(TlsSummary::new(t))),
            setup_ns: match cx.tls.and_then(TlsReport::handshake_ns) {
                Some(tls) => c.handshake_rtt_ns().map(|tcp| tcp.saturating_add(tls)),
                None => c.handshake_rtt_ns(),
            },
            transactions: txs.len() as u64,
            txs,
        }
    }

    /// The client's address without its port: host-level rules group by it.
    pub fn client_host(&self) -> IpAddr {
        self.client.ip()
    }

    /// The first [`MAX_REQUESTS_PER_CONNECTION`] requests.
    pub fn requests(&self) -> impl Iterator<Item = RequestSummary<'a>> + 'a {
        let fin = self.fin;
        self.txs
            .iter()
            .filter_map(move |tx| request_summary(tx, fin))
            .take(MAX_REQUESTS_PER_CONNECTION)
    }

    /// Failed requests beyond the first [`MAX_REQUESTS_PER_CONNECTION`]
    /// transactions (a failure ends a connection, so it is usually its last
    /// request), at most [`MAX_REQUESTS_PER_CONNECTION`].
    pub fn late_failures(&self) -> impl Iterator<Item = RequestSummary<'a>> + 'a {
        let fin = self.fin;
        self.txs
            .iter()
            .skip(MAX_REQUESTS_PER_CONNECTION)
            .filter(move |tx| RequestFailure::of(tx, fin).is_some())
            .filter_map(move |tx| request_summary(tx, fin))
            .take(MAX_REQUESTS_PER_CONNECTION)
    }

    /// Every request summarized: the first ones, then late failures.
    pub fn all_requests(&self) -> impl Iterator<Item = RequestSummary<'a>> + 'a {
        self.requests().chain(self.late_failures())
    }

    /// Until when the connection could carry requests: its first FIN or
    /// RST, or the last data after that (a response still arriving after
    /// the client's half-close); its last packet if it never closed. A
    /// connection that is closing is not open for the rules that count open
    /// connections: the client is already replacing it.
    pub fn in_use_until(&self) -> Timestamp {
        match self.close_ts {
            Some(close) => close.max(self.last_data_ts.unwrap_or(close)),
            None => self.end_ts,
        }
    }

    /// The side whose FIN came first (the active closer, which holds
    /// TIME_WAIT), `None` when neither or both at the same instant.
    pub fn first_closer(&self) -> Option<Side> {
        crate::flow::first_closer(self.fin)
    }

    /// A finding of `meta` on this connection, for the cross-connection
    /// rules, which see summaries rather than [`Connection`](crate::flow::Connection)s.
    pub fn finding(&self, meta: &'static RuleMeta, ts: Timestamp, message: String) -> Finding {
        Finding::on(meta, (self.id, self.client, self.server), ts, message)
    }
}

/// A TLS connection, as the cross-connection rules need it.
#[derive(Clone, Debug)]
pub struct TlsSummary {
    /// The server name the client asked for (SNI).
    pub sni: Option<Box<str>>,
    /// The version the server chose.
    pub version: Option<TlsVersion>,
    pub handshake: HandshakeKind,
    pub client_hello_ts: Option<Timestamp>,
    /// ClientHello to the end of the handshake.
    pub handshake_ns: Option<i64>,
    /// How the ClientHello offered to resume: a session ticket, a TLS 1.3
    /// PSK, and the session id it sent (a resumption attempt only if the
    /// server had issued that id; TLS 1.3 clients send a random one).
    pub offered_ticket: bool,
    pub offered_psk: bool,
    pub session_id: SessionId,
    /// What the server offered for next time (seen up to TLS 1.2): a
    /// session ticket (issued, or promised in its hello), the session id
    /// it assigned (non-empty: it says it may cache the session).
    pub ticket_issued: bool,
    pub server_session_id: SessionId,
    /// The connection carried one exchange of application data: one run
    /// of client records and the server's whole answering run.
    pub one_exchange: bool,
}

impl TlsSummary {
    pub fn new(t: &TlsReport) -> TlsSummary {
        let ch = t.client_hello.as_ref();
        let sh = t.server_hello.as_ref();
        let up_to_12 = t.version().is_some_and(|v| !v.is_tls13());
        TlsSummary {
            sni: t.sni().map(Box::from),
            version: t.version(),
            handshake: t.handshake,
            client_hello_ts: t.client_hello_ts,
            handshake_ns: t.handshake_ns(),
            offered_ticket: ch.is_some_and(|c| c.offers_ticket()),
            offered_psk: ch.is_some_and(|c| c.psk),
            session_id: ch.map(|c| c.session_id).unwrap_or_default(),
            ticket_issued: up_to_12 && (t.ticket_issued || sh.is_some_and(|s| s.ticket_ext)),
            server_session_id: sh
                .filter(|_| up_to_12)
                .map(|s| s.session_id)
                .unwrap_or_default(),
            one_exchange: t.one_exchange().is_some(),
        }
    }
}

fn request_summary(tx: &Transaction, fin: [Option<Timestamp>; 2]) -> Option<RequestSummary<'_>> {
    let req = tx.request.as_ref()?;
    let method = tx.method.as_deref()?;
    let uri = tx.uri.as_deref().unwrap_or("");
    let uri = match uri.char_indices().nth(MAX_URI_BYTES) {
        Some((cut, _)) => uri.get(..cut).unwrap_or(uri),
        None => uri,
    };
    let body_length = req.expected_body_bytes.or(if req.framing_satisfied {
        Some(req.body_bytes)
    } else {
        None
    });
    Some(RequestSummary {
        index: tx.index,
        method,
        uri,
        ts: req.first_byte_ts,
        request_body_bytes: req.body_bytes,
        body_length,
        answered: tx.response.as_ref().is_some_and(|r| r.framing_satisfied),
        status: tx.status,
        failure: RequestFailure::of(tx, fin),
        headers: &req.headers,
        response_headers: tx.response.as_ref().map(|r| &r.headers),
        frames: [
            req.first_frame,
            tx.response.as_ref().map_or(0, |r| r.first_frame),
            tx.response.as_ref().map_or(0, |r| r.last_frame),
        ],
    })
}

/// A request whose connection ended before its complete response, with the
/// connection it was on: kept beyond its connection (see the module doc)
/// for R004.
#[derive(Clone, Debug)]
pub struct FailedRequest {
    pub connection: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Transaction index within its connection.
    pub index: u64,
    pub method: Box<str>,
    pub uri: Box<str>,
    /// First byte of the request.
    pub ts: Timestamp,
    pub body_length: Option<u64>,
    pub failure: RequestFailure,
    /// The server had sent its FIN before the request's first byte: a
    /// server that closes reads nothing more, so the request was most
    /// likely never processed.
    pub after_server_fin: bool,
}

impl FailedRequest {
    /// The failed requests of `s`, in order.
    pub fn of<'s>(s: &'s ConnSummary<'_>) -> impl Iterator<Item = FailedRequest> + 's {
        let server_fin = *s.fin.of(Side::Server);
        s.all_requests().filter_map(move |r| {
            Some(FailedRequest {
                connection: s.id,
                client: s.client,
                server: s.server,
                index: r.index,
                method: r.method.into(),
                uri: r.uri.into(),
                ts: r.ts,
                body_length: r.body_length,
                failure: r.failure?,
                after_server_fin: server_fin.is_some_and(|f| f < r.ts),
            })
        })
    }
}
