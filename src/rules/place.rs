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

/// Adds its place to a finding of a cross-connection rule, from the
/// summary of its connection (when the index still holds it).
pub fn from_summary(f: &mut Finding, s: &ConnSummary) {
    if f.connection != s.id || f.place.is_some() {
        return;
    }
    let mut place = Place {
        connection_first_frame: s.first_frame,
        connection_last_frame: s.last_frame,
        ..Place::default()
    };
    if let Some(index) = f.transaction {
        if let Some(r) = s.all_requests().find(|r| r.index == index) {
            of_request(r, &mut place);
        }
    }
    f.place = Some(Box::new(place));
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
