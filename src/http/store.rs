//! The transactions of one connection, in order of appearance, and which
//! request each final response answers (the FIFO of `pairing.rs`, whose
//! verdicts are written onto the transactions here).
//!
//! Bounded: at most [`HttpLimits::max_transactions`] are held at once (the
//! rest are counted, not kept), and [`TransactionStore::drain_settled`]
//! hands over the finished ones of a long keep-alive connection early.

use super::pairing::{Decision, Pairing};
use super::timing;
use super::transaction::{HttpAnomalies, MessageEnd, MessageFacts, NoResponse, Transaction};
use super::HttpLimits;
use crate::Timestamp;
use std::collections::VecDeque;

/// The index given to transactions past [`HttpLimits::max_transactions`]:
/// it finds no transaction, so whatever would be recorded on it is dropped.
const NOT_KEPT: u64 = u64::MAX;

#[derive(Debug)]
pub(super) struct TransactionStore {
    /// Transactions by index, `txs[k]` having index `base + k`.
    txs: VecDeque<Transaction>,
    base: u64,
    max_transactions: usize,
    pairing: Pairing,
    pub anomalies: HttpAnomalies,
    /// Bytes of the strings the transactions held own (their targets), for
    /// [`TransactionStore::held_bytes`].
    string_bytes: usize,
}

impl TransactionStore {
    pub fn new(limits: &HttpLimits) -> TransactionStore {
        TransactionStore {
            txs: VecDeque::new(),
            base: 0,
            max_transactions: limits.max_transactions,
            pairing: Pairing::new(limits.max_pending_requests),
            anomalies: HttpAnomalies::default(),
            string_bytes: 0,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Transaction> {
        self.txs.iter()
    }

    /// A new transaction's index, or [`NOT_KEPT`] once the cap is reached
    /// (from then on, for good: indices stay those of the transactions' order).
    pub fn new_tx(&mut self) -> u64 {
        if self.anomalies.transactions_not_kept > 0 || self.txs.len() >= self.max_transactions {
            self.anomalies.transactions_not_kept =
                self.anomalies.transactions_not_kept.saturating_add(1);
            return NOT_KEPT;
        }
        let idx = self.base.saturating_add(self.txs.len() as u64);
        if self.txs.capacity() == 0 {
            // Most connections carry one transaction: room for exactly
            // that one (a first push would make room for four).
            self.txs.reserve_exact(1);
        }
        self.txs.push_back(Transaction::new(idx));
        idx
    }

    pub fn get(&mut self, idx: u64) -> Option<&mut Transaction> {
        tx_at(&mut self.txs, self.base, idx)
    }

    /// Counts `bytes` of strings now owned by transaction `idx` (if kept).
    pub fn charge_strings(&mut self, idx: u64, bytes: usize) {
        if idx != NOT_KEPT {
            self.string_bytes = self.string_bytes.saturating_add(bytes);
        }
    }

    /// Bytes held in proportion to the connection's input: the transactions
    /// (and the room made for them), their strings, the pairing queue. A few
    /// field reads: asked after every segment.
    pub fn held_bytes(&self) -> usize {
        self.txs
            .capacity()
            .saturating_mul(std::mem::size_of::<Transaction>())
            .saturating_add(self.string_bytes)
            .saturating_add(self.pairing.held_bytes())
    }

    /// Requests waiting for a final response.
    pub fn requests_pending(&self) -> usize {
        self.pairing.requests_pending()
    }

    /// The request an interim response would belong to, when that is certain.
    pub fn front_request(&self) -> Option<u64> {
        self.pairing.front_request()
    }

    /// Queues request `idx` for pairing; one that cannot be paired (the
    /// queue overflowed, now or before) gets no response.
    pub fn enqueue_request(&mut self, idx: u64, pipelined: bool) {
        let was_abandoned = self.pairing.abandoned();
        let (txs, base) = (&mut self.txs, self.base);
        let queued = self
            .pairing
            .push_request(idx, pipelined, |i, why| mark_unanswered(txs, base, i, why));
        if !queued {
            // Refused without having been abandoned before: the queue was full.
            self.anomalies.pending_overflow |= !was_abandoned;
            if let Some(tx) = self.get(idx) {
                tx.no_response = Some(NoResponse::Unpaired);
            }
        }
    }

    /// Request `idx` turned out to have been sent after the previous
    /// response had arrived (see `ack_evidence.rs`): not pipelined.
    pub fn not_pipelined(&mut self, idx: u64) {
        if let Some(tx) = self.get(idx) {
            tx.pipelined = false;
        }
        self.pairing.not_pipelined(idx);
    }

    /// Which request a final response answers, or a new orphan transaction.
    pub fn pair_or_orphan(&mut self) -> u64 {
        let (txs, base) = (&mut self.txs, self.base);
        let decision = self
            .pairing
            .pair_response(|i, why| mark_unanswered(txs, base, i, why));
        match decision {
            Decision::Pair {
                idx,
                after_gap,
                inferred,
                sequential,
            } => {
                if inferred {
                    self.anomalies.inferred_pairings =
                        self.anomalies.inferred_pairings.saturating_add(1);
                }
                if let Some(tx) = self.get(idx) {
                    tx.paired_after_gap = after_gap;
                    tx.pairing_inferred = inferred;
                    if sequential {
                        // It followed a response that the gap swallowed.
                        tx.pipelined = false;
                    }
                }
                idx
            }
            Decision::Orphan => {
                let idx = self.new_tx();
                if let Some(tx) = self.get(idx) {
                    tx.orphan_response = true;
                }
                idx
            }
        }
    }

    /// The client's stream lost its framing: requests may have vanished.
    pub fn client_hole(&mut self) {
        let (txs, base) = (&mut self.txs, self.base);
        self.pairing
            .push_hole(|idx, why| mark_unanswered(txs, base, idx, why));
    }

    /// The server's stream lost its framing: responses may have vanished.
    pub fn server_desync(&mut self, at_boundary: bool) {
        self.pairing.server_desync(at_boundary);
    }

    /// An interim (1xx) response whose head began at `first_ts`: counted on
    /// the request waiting for its final response, or as an orphan.
    pub fn interim(&mut self, code: u16, first_ts: Timestamp) {
        match self.pairing.front_request().and_then(|idx| self.get(idx)) {
            Some(tx) => {
                tx.interim_responses = tx.interim_responses.saturating_add(1);
                if code == 100 {
                    tx.continue_responses = tx.continue_responses.saturating_add(1);
                }
                tx.first_interim_ts.get_or_insert(first_ts);
            }
            None => {
                self.anomalies.orphan_interim_responses =
                    self.anomalies.orphan_interim_responses.saturating_add(1);
            }
        }
    }

    /// Hands over the transactions at the front that are settled (both
    /// messages over, or the request known to get no response, and neither
    /// direction in the middle of one of their messages: `busy`); see
    /// [`HttpConnection::drain_settled`](super::HttpConnection::drain_settled).
    pub fn drain_settled(
        &mut self,
        busy: [Option<u64>; 2],
        connect_ns: Option<i64>,
    ) -> impl Iterator<Item = Transaction> + '_ {
        let settled = self
            .txs
            .iter()
            .take_while(|tx| {
                let request_over = tx
                    .request
                    .as_ref()
                    .is_none_or(|m| m.end != MessageEnd::InProgress);
                let response_over = match &tx.response {
                    Some(m) => m.end != MessageEnd::InProgress,
                    None => tx.no_response.is_some(),
                };
                request_over && response_over && !busy.contains(&Some(tx.index))
            })
            .count();
        for tx in self.txs.iter_mut().take(settled) {
            settle(tx, connect_ns, &mut self.anomalies);
            let strings = tx.uri.as_ref().map_or(0, String::capacity);
            self.string_bytes = self.string_bytes.saturating_sub(strings);
        }
        self.base = self.base.saturating_add(settled as u64);
        self.txs.drain(..settled)
    }

    /// The connection is over: requests still waiting get `no_response`,
    /// every transaction is settled (`handshake_rtt` times transaction 0).
    pub fn finish(
        mut self,
        no_response: NoResponse,
        handshake_rtt: Option<i64>,
    ) -> (VecDeque<Transaction>, HttpAnomalies) {
        for idx in self.pairing.drain_requests().collect::<Vec<_>>() {
            if let Some(tx) = tx_at(&mut self.txs, self.base, idx) {
                tx.no_response.get_or_insert(no_response);
            }
        }
        for tx in self.txs.iter_mut() {
            if tx.request.is_some() && tx.response.is_none() {
                tx.no_response.get_or_insert(no_response);
            }
            settle(tx, handshake_rtt, &mut self.anomalies);
        }
        self.anomalies.pairing_abandoned = self.pairing.abandoned();
        (self.txs, self.anomalies)
    }
}

/// Fills in what depends on the transaction being over: completeness and timing.
fn settle(tx: &mut Transaction, handshake_rtt: Option<i64>, anomalies: &mut HttpAnomalies) {
    // A message whose framing a capture gap satisfied was not seen whole.
    let whole = |m: &MessageFacts| m.framing_satisfied && m.gap_bytes == 0 && !m.end_in_gap;
    tx.complete = matches!(
        (&tx.request, &tx.response),
        (Some(req), Some(resp)) if whole(req) && whole(resp)
    );
    let connect = if tx.index == 0 { handshake_rtt } else { None };
    let (timing, clamped) = timing::compute(tx, connect);
    tx.timing = timing;
    if clamped {
        anomalies.negative_durations = anomalies.negative_durations.saturating_add(1);
    }
}

fn tx_at(txs: &mut VecDeque<Transaction>, base: u64, idx: u64) -> Option<&mut Transaction> {
    let k = usize::try_from(idx.checked_sub(base)?).ok()?;
    txs.get_mut(k)
}

fn mark_unanswered(txs: &mut VecDeque<Transaction>, base: u64, idx: u64, why: NoResponse) {
    if let Some(tx) = tx_at(txs, base, idx) {
        tx.no_response = Some(why);
    }
}
