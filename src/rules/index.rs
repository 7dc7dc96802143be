//! The per-capture index the cross-connection rules read: a small summary
//! of every finished connection, kept for a horizon of capture time.
//!
//! Churn (S002), parallel connections (S003), retries of non-idempotent
//! requests (R004) and the two legs of a proxy (C007) are about several
//! connections at once. Keeping whole connections for that would make
//! memory grow with the capture; a summary of a few hundred bytes, dropped
//! once it is older than any rule's window, keeps it bounded by the
//! connections of the last couple of minutes.

use super::context::ConnectionFacts;
use crate::http::{HeaderFacts, Transaction};
use crate::Timestamp;
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Request summaries kept per connection.
pub const MAX_REQUESTS_PER_CONNECTION: usize = 32;
/// Longest request target kept in a summary.
pub const MAX_URI_BYTES: usize = 512;

/// One request, as the cross-connection rules need it.
#[derive(Clone, Debug)]
pub struct RequestSummary {
    /// Transaction index within its connection.
    pub index: u64,
    pub method: Box<str>,
    pub uri: Box<str>,
    /// First byte of the request.
    pub ts: Timestamp,
    pub request_body_bytes: u64,
    /// A response arrived and its framing was satisfied.
    pub answered: bool,
    /// The request's header facts (hop-by-hop fields, Connection tokens).
    pub headers: HeaderFacts,
    /// The final response's header facts, if there was one.
    pub response_headers: Option<HeaderFacts>,
}

/// One finished connection, as the cross-connection rules need it.
#[derive(Clone, Debug)]
pub struct ConnSummary {
    pub id: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub start_ts: Timestamp,
    pub end_ts: Timestamp,
    /// The first FIN or RST (the moment the connection began to close).
    pub close_ts: Option<Timestamp>,
    /// Reset (by either side) rather than closed or left open.
    pub reset: bool,
    pub handshake_seen: bool,
    pub is_http: bool,
    pub transactions: u64,
    /// The first [`MAX_REQUESTS_PER_CONNECTION`] requests.
    pub requests: Vec<RequestSummary>,
}

impl ConnSummary {
    pub fn new(cx: &ConnectionFacts<'_>) -> ConnSummary {
        let c = cx.conn;
        let close_ts = [c.fin[0], c.fin[1], c.rst.map(|(_, t)| t)]
            .into_iter()
            .flatten()
            .min();
        ConnSummary {
            id: c.id,
            client: c.client,
            server: c.server,
            start_ts: c.handshake.syn.unwrap_or(c.start_ts),
            end_ts: c.end_ts,
            close_ts,
            reset: c.rst.is_some(),
            handshake_seen: c.handshake.syn.is_some(),
            is_http: cx.http.is_http,
            transactions: cx.http.transactions.len() as u64,
            requests: cx
                .http
                .transactions
                .iter()
                .filter_map(request_summary)
                .take(MAX_REQUESTS_PER_CONNECTION)
                .collect(),
        }
    }
}

fn request_summary(tx: &Transaction) -> Option<RequestSummary> {
    let req = tx.request.as_ref()?;
    let method = tx.method.as_deref()?;
    let uri = tx.uri.as_deref().unwrap_or("");
    let uri = match uri.char_indices().nth(MAX_URI_BYTES) {
        Some((cut, _)) => &uri[..cut],
        None => uri,
    };
    Some(RequestSummary {
        index: tx.index,
        method: method.into(),
        uri: uri.into(),
        ts: req.first_byte_ts,
        request_body_bytes: req.body_bytes,
        answered: tx.response.as_ref().is_some_and(|r| r.framing_satisfied),
        headers: req.headers.clone(),
        response_headers: tx.response.as_ref().map(|r| r.headers.clone()),
    })
}

/// Summaries of the capture's finished connections, oldest first by the
/// time they ended.
#[derive(Debug, Default)]
pub struct CaptureIndex {
    entries: VecDeque<ConnSummary>,
    /// Latest end time added: the index's notion of "now".
    now: Timestamp,
}

impl CaptureIndex {
    pub fn push(&mut self, s: ConnSummary) {
        if s.end_ts > self.now {
            self.now = s.end_ts;
        }
        self.entries.push_back(s);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every summary, in the order connections finished.
    pub fn iter(&self) -> impl Iterator<Item = &ConnSummary> {
        self.entries.iter()
    }

    /// Summaries in the order the connections began.
    pub fn by_start(&self) -> Vec<&ConnSummary> {
        let mut v: Vec<&ConnSummary> = self.entries.iter().collect();
        v.sort_by_key(|s| (s.start_ts, s.id));
        v
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Whether some summaries have ended more than `horizon_ns` before now
    /// (or the index holds more than `max` of them), so that the
    /// cross-connection rules should run before [`CaptureIndex::evict`].
    pub fn wants_eviction(&self, horizon_ns: i64, max: usize) -> bool {
        self.entries.len() > max
            || self
                .entries
                .front()
                .is_some_and(|s| self.now.since(s.end_ts) > horizon_ns.saturating_mul(2))
    }

    /// Drops summaries that ended more than `horizon_ns` before now, and the
    /// oldest beyond `max`.
    pub fn evict(&mut self, horizon_ns: i64, max: usize) {
        let now = self.now;
        self.entries.retain(|s| now.since(s.end_ts) <= horizon_ns);
        while self.entries.len() > max / 2 {
            self.entries.pop_front();
        }
    }
}
