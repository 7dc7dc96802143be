//! SPEC §1 timing: where a transaction's time went.

use super::transaction::{Timing, Transaction};

/// Timing of `tx` from its messages' first/last byte times. `connect_ns` is
/// the handshake RTT and belongs only to the first transaction of the
/// connection: later ones did not pay for it. A duration is never
/// negative: one that the packets' timestamps made so (the capture's clock
/// went backwards within a message or the handshake) is clamped to zero,
/// and the second value says whether any was. `wait_ns` may be negative
/// (a response that began before its request ended) and is left as is.
pub(crate) fn compute(tx: &Transaction, connect_ns: Option<i64>) -> (Timing, bool) {
    let mut clamped = false;
    let mut clamp = |d: Option<i64>| {
        d.map(|d| {
            clamped |= d < 0;
            d.max(0)
        })
    };
    let t = raw(tx, connect_ns);
    let t = Timing {
        connect_ns: clamp(t.connect_ns),
        send_ns: clamp(t.send_ns),
        receive_ns: clamp(t.receive_ns),
        ..t
    };
    (t, clamped)
}

fn raw(tx: &Transaction, connect_ns: Option<i64>) -> Timing {
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

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::http::transaction::MessageFacts;
    use crate::Timestamp;

    fn message(first: i64, last: i64) -> MessageFacts {
        let mut m = MessageFacts::new(Timestamp(first), 0);
        m.last_byte_ts = Timestamp(last);
        m
    }

    #[test]
    fn a_duration_the_clock_made_negative_is_clamped_and_told() {
        let mut tx = Transaction::new(0);
        tx.request = Some(message(100, 200));
        tx.response = Some(message(300, 300));
        let (t, clamped) = compute(&tx, Some(0));
        assert!(!clamped);
        assert_eq!(
            (t.connect_ns, t.send_ns, t.wait_ns, t.receive_ns),
            (Some(0), Some(100), Some(100), Some(0))
        );
        // The clock went back one nanosecond within the response, and a
        // year within the request; the handshake's took -1 ns.
        tx.request = Some(message(100, 100 - 365 * 86_400 * 1_000_000_000));
        tx.response = Some(message(300, 299));
        let (t, clamped) = compute(&tx, Some(-1));
        assert!(clamped);
        assert_eq!(
            (t.connect_ns, t.send_ns, t.receive_ns),
            (Some(0), Some(0), Some(0))
        );
        // The wait is what the timestamps say: it may be negative.
        assert!(t.wait_ns.unwrap() > 0);
        tx.request = Some(message(100, 400));
        tx.response = Some(message(300, 300));
        let (t, clamped) = compute(&tx, None);
        assert!(!clamped);
        assert_eq!(t.wait_ns, Some(-100));
    }
}
