//! SPEC §1 timing: where a transaction's time went.

use super::transaction::{Timing, Transaction};

/// Timing of `tx` from its messages' first/last byte times. `connect_ns` is
/// the handshake RTT and belongs only to the first transaction of the
/// connection: later ones did not pay for it.
pub(crate) fn compute(tx: &Transaction, connect_ns: Option<i64>) -> Timing {
    let request = tx
        .request
        .as_ref()
        .map(|m| (m.first_byte_ts, m.last_byte_ts));
    let response = tx
        .response
        .as_ref()
        .map(|m| (m.first_byte_ts, m.last_byte_ts));
    Timing {
        connect_ns: if request.is_some() { connect_ns } else { None },
        send_ns: request.map(|(first, last)| last.since(first)),
        wait_ns: match (request, response) {
            (Some((_, req_last)), Some((resp_first, _))) => Some(resp_first.since(req_last)),
            _ => None,
        },
        receive_ns: response.map(|(first, last)| last.since(first)),
        request_start_ts: request.map(|(first, _)| first),
        request_end_ts: request.map(|(_, last)| last),
        response_start_ts: response.map(|(first, _)| first),
        response_end_ts: response.map(|(_, last)| last),
    }
}
