//! Where each finding is in the capture ([`Place`]): the engine adds it to
//! every finding, from the finished connection a rule judged or, for the
//! cross-connection rules, from the connection's summary in the index. No
//! rule has to remember to.

use super::context::ConnectionFacts;
use super::finding::{Finding, Place};
use super::index::{ConnSummary, RequestSummary};
use crate::http::Transaction;

/// Longest request target kept on a finding (the index keeps as much).
const MAX_URI: usize = super::index::MAX_URI_BYTES;

fn cut(uri: &str) -> String {
    match uri.char_indices().nth(MAX_URI) {
        Some((at, _)) => uri.get(..at).unwrap_or(uri).to_string(),
        None => uri.to_string(),
    }
}

/// A frame number, `None` for 0 (unknown).
fn known(frame: u64) -> Option<u64> {
    (frame > 0).then_some(frame)
}

/// The frames of a transaction's messages and what its request asked.
pub(super) fn of_transaction(tx: &Transaction, place: &mut Place) {
    let (req, resp) = (tx.request.as_ref(), tx.response.as_ref());
    place.request_frame = req.and_then(|m| known(m.first_frame));
    place.response_first_frame = resp.and_then(|m| known(m.first_frame));
    place.response_last_frame = resp.and_then(|m| known(m.last_frame));
    place.method = tx.method.as_deref().map(str::to_string);
    place.uri = tx.uri.as_deref().map(cut);
    place.host = req.and_then(|m| m.headers.host.clone());
}

/// Adds its place to a finding on the connection `cx` judged.
pub fn from_connection(f: &mut Finding, cx: &ConnectionFacts<'_>) {
    if f.connection != cx.conn.id || f.place.is_some() {
        return;
    }
    let mut place = Place {
        connection_first_frame: cx.conn.first_frame,
        connection_last_frame: cx.conn.last_frame,
        ..Place::default()
    };
    if let Some(index) = f.transaction {
        if let Some(tx) = cx.http.transactions.iter().find(|t| t.index == index) {
            of_transaction(tx, &mut place);
        }
    }
    f.place = Some(Box::new(place));
}

/// What a finding of a cross-connection rule needs of its connection's
/// summary to be placed: kept by the engine from the connection's finish
/// while some such rule may still report on it (the summary, which
/// borrows the finished connection, is gone by then), and dropped when
/// the connection's findings are handed on.
#[derive(Debug, Default)]
pub struct Book {
    first_frame: u64,
    last_frame: u64,
    /// Per request (by transaction index), its place.
    requests: Vec<(u64, Place)>,
}

impl Book {
    pub fn of(s: &ConnSummary<'_>) -> Book {
        let requests = s
            .all_requests()
            .map(|r| {
                let mut place = Place {
                    connection_first_frame: s.first_frame,
                    connection_last_frame: s.last_frame,
                    ..Place::default()
                };
                of_request(&r, &mut place);
                (r.index, place)
            })
            .collect();
        Book {
            first_frame: s.first_frame,
            last_frame: s.last_frame,
            requests,
        }
    }

    /// Bytes it holds (for the memory budget): its places and their strings.
    pub fn held_bytes(&self) -> usize {
        let strings: usize = self
            .requests
            .iter()
            .flat_map(|(_, p)| [&p.method, &p.uri, &p.host])
            .map(|s| s.as_ref().map_or(0, String::capacity))
            .fold(0, usize::saturating_add);
        self.requests
            .capacity()
            .saturating_mul(std::mem::size_of::<(u64, Place)>())
            .saturating_add(std::mem::size_of::<Book>())
            .saturating_add(strings)
    }

    /// Adds its place to a finding on this book's connection.
    pub fn place(&self, f: &mut Finding) {
        if f.place.is_some() {
            return;
        }
        let found = f.transaction.and_then(|index| {
            self.requests
                .iter()
                .find(|(i, _)| *i == index)
                .map(|(_, p)| p.clone())
        });
        let place = found.unwrap_or_else(|| Place {
            connection_first_frame: self.first_frame,
            connection_last_frame: self.last_frame,
            ..Place::default()
        });
        f.place = Some(Box::new(place));
    }
}

fn of_request(r: &RequestSummary, place: &mut Place) {
    let [request, first, last] = r.frames;
    place.request_frame = known(request);
    place.response_first_frame = known(first);
    place.response_last_frame = known(last);
    place.method = Some(r.method.to_string());
    place.uri = Some(r.uri.to_string());
    place.host = r.headers.host.clone();
}
