//! Pairing responses with requests: a FIFO, since HTTP/1.x answers in order.
//!
//! The hard part is gaps. A gap in the server's stream may hold whole
//! responses, and one in the client's stream whole requests (recorded as a
//! [`Pending::Hole`]); after either, FIFO order alone no longer says which
//! request the next response answers. Causality (a response follows its
//! request) only bounds the answer from one side, so there are two outcomes:
//!
//! - **Provable**: exactly one request could be answered — pair it.
//! - **Inferred**, and flagged as such on the transaction:
//!   - the client had shown no pipelining, so every request but the latest
//!     was answered inside the gap (a client that waits for each response
//!     sends the next request only after it): pair with the latest;
//!   - the client pipelines: assume the fewest responses lost that the gap
//!     allows — one if the server's stream was lost at a message boundary
//!     (something started there), none if it was lost inside a message.
//!
//!   Requests passed over are marked [`NoResponse::LostInGap`].
//!
//! Pairing is abandoned ([`NoResponse::Unpaired`]) only when the queue of
//! waiting requests overflows its cap.

use super::transaction::NoResponse;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pending {
    /// A request (transaction index) waiting for its final response.
    Request { idx: u64, pipelined: bool },
    /// An unknown number (maybe zero) of requests lost in a client-side gap.
    Hole,
}

/// Which request a final response answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Pair {
        idx: u64,
        after_gap: bool,
        inferred: bool,
        /// Inferred from a client that waits for each response: the request
        /// was sent after a response that the gap swallowed, so it was not
        /// really pipelined.
        sequential: bool,
    },
    /// No request known to answer (mid-stream capture, lost request, or pairing abandoned).
    Orphan,
}

#[derive(Clone, Debug)]
pub(crate) struct Pairing {
    fifo: VecDeque<Pending>,
    /// `Request` entries in `fifo` (the rest are holes).
    requests: usize,
    /// The server's stream lost its framing since the last paired response.
    server_desync: bool,
    /// ... and at a message boundary, so at least one message started in the gap.
    desync_at_boundary: bool,
    abandoned: bool,
    /// Requests paired in plain FIFO order so far.
    resolved: u64,
    /// One of those had been pipelined.
    resolved_pipelined: bool,
    max_pending: usize,
}

impl Pairing {
    pub fn new(max_pending: usize) -> Pairing {
        Pairing {
            fifo: VecDeque::new(),
            requests: 0,
            server_desync: false,
            desync_at_boundary: false,
            abandoned: false,
            resolved: 0,
            resolved_pipelined: false,
            max_pending: max_pending.max(1),
        }
    }

    pub fn abandoned(&self) -> bool {
        self.abandoned
    }

    /// Requests still waiting for a response.
    pub fn requests_pending(&self) -> usize {
        self.requests
    }

    /// Bytes the queue holds (for the memory budget).
    pub fn held_bytes(&self) -> usize {
        self.fifo
            .capacity()
            .saturating_mul(std::mem::size_of::<Pending>())
    }

    /// The request an interim (1xx) response belongs to, when that is certain.
    pub fn front_request(&self) -> Option<u64> {
        if self.server_desync || self.abandoned {
            return None;
        }
        match self.fifo.front() {
            Some(Pending::Request { idx, .. }) => Some(*idx),
            _ => None,
        }
    }

    /// Queues a request. `false` when it cannot be paired: pairing was
    /// abandoned, possibly just now because the queue is full, in which case
    /// every queued request is passed to `unanswered` as well.
    pub fn push_request(
        &mut self,
        idx: u64,
        pipelined: bool,
        unanswered: impl FnMut(u64, NoResponse),
    ) -> bool {
        if !self.abandoned && self.fifo.len() >= self.max_pending {
            self.abandon(unanswered);
        }
        if self.abandoned {
            return false;
        }
        self.fifo.push_back(Pending::Request { idx, pipelined });
        self.requests = self.requests.saturating_add(1);
        true
    }

    /// Request `idx`, still queued, was not pipelined after all.
    pub fn not_pipelined(&mut self, idx: u64) {
        for entry in self.fifo.iter_mut().rev() {
            if let Pending::Request { idx: i, pipelined } = entry {
                if *i == idx {
                    *pipelined = false;
                    return;
                }
            }
        }
    }

    /// The client's stream lost its framing: requests may have vanished here.
    pub fn push_hole(&mut self, unanswered: impl FnMut(u64, NoResponse)) {
        if self.abandoned || self.fifo.back() == Some(&Pending::Hole) {
            return;
        }
        if self.fifo.len() >= self.max_pending {
            self.abandon(unanswered);
            return;
        }
        self.fifo.push_back(Pending::Hole);
    }

    /// The server's stream lost its framing: responses may have vanished.
    /// `at_boundary`: the loss began between messages.
    pub fn server_desync(&mut self, at_boundary: bool) {
        self.server_desync = true;
        self.desync_at_boundary |= at_boundary;
    }

    /// Decides which request a final response answers; requests judged
    /// answered inside a gap go to `unanswered`.
    pub fn pair_response(&mut self, mut unanswered: impl FnMut(u64, NoResponse)) -> Decision {
        if self.abandoned {
            return Decision::Orphan;
        }
        let desync = std::mem::take(&mut self.server_desync);
        let at_boundary = std::mem::take(&mut self.desync_at_boundary);
        let uncertain = desync || self.fifo.front() == Some(&Pending::Hole);
        if !uncertain {
            return match self.pop_request() {
                Some((idx, pipelined)) => {
                    self.resolved = self.resolved.saturating_add(1);
                    self.resolved_pipelined |= pipelined;
                    Decision::Pair {
                        idx,
                        after_gap: false,
                        inferred: false,
                        sequential: false,
                    }
                }
                None => Decision::Orphan,
            };
        }
        // `requests` counts the queue's requests, so never exceeds its length.
        let holes = self.fifo.len().saturating_sub(self.requests);
        if self.requests == 0 {
            // Answers a request lost in a gap, or none: keep any holes, more
            // lost requests may be answered next.
            return Decision::Orphan;
        }
        if self.requests == 1 && holes == 0 {
            let (idx, _) = self.pop_request().unwrap_or_default();
            return Decision::Pair {
                idx,
                after_gap: true,
                inferred: false,
                sequential: false,
            };
        }
        let sequential = self.resolved > 0 && !self.resolved_pipelined;
        let lost = if sequential {
            // A client that waits for each response: all but the latest
            // request were answered inside the gap.
            self.requests.saturating_sub(1)
        } else {
            usize::from(desync && at_boundary).min(self.requests.saturating_sub(1))
        };
        let mut passed = 0;
        while let Some(entry) = self.fifo.pop_front() {
            if let Pending::Request { idx, .. } = entry {
                self.requests = self.requests.saturating_sub(1);
                if passed < lost {
                    unanswered(idx, NoResponse::LostInGap);
                    passed = passed.saturating_add(1);
                } else {
                    return Decision::Pair {
                        idx,
                        after_gap: true,
                        inferred: true,
                        sequential,
                    };
                }
            }
        }
        Decision::Orphan
    }

    fn pop_request(&mut self) -> Option<(u64, bool)> {
        // Holes in front are dropped only by the uncertain paths above.
        while let Some(entry) = self.fifo.pop_front() {
            if let Pending::Request { idx, pipelined } = entry {
                self.requests = self.requests.saturating_sub(1);
                return Some((idx, pipelined));
            }
        }
        None
    }

    fn abandon(&mut self, mut unanswered: impl FnMut(u64, NoResponse)) {
        self.abandoned = true;
        for entry in self.fifo.drain(..) {
            if let Pending::Request { idx, .. } = entry {
                unanswered(idx, NoResponse::Unpaired);
            }
        }
        self.requests = 0;
    }

    /// The requests still waiting, in order (at the end of the connection).
    pub fn drain_requests(&mut self) -> impl Iterator<Item = u64> + '_ {
        self.requests = 0;
        self.fifo.drain(..).filter_map(|entry| match entry {
            Pending::Request { idx, .. } => Some(idx),
            Pending::Hole => None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn none(_: u64, _: NoResponse) {
        panic!("nothing should be left unanswered");
    }

    fn pair(idx: u64, after_gap: bool, inferred: bool) -> Decision {
        Decision::Pair {
            idx,
            after_gap,
            inferred,
            sequential: false,
        }
    }

    fn sequential(idx: u64) -> Decision {
        Decision::Pair {
            idx,
            after_gap: true,
            inferred: true,
            sequential: true,
        }
    }

    #[test]
    fn fifo_order() {
        let mut p = Pairing::new(8);
        assert!(p.push_request(0, false, none));
        assert!(p.push_request(1, true, none));
        assert_eq!(p.front_request(), Some(0));
        assert_eq!(p.pair_response(none), pair(0, false, false));
        assert_eq!(p.pair_response(none), pair(1, false, false));
        assert_eq!(p.pair_response(none), Decision::Orphan);
    }

    #[test]
    fn server_gap_with_one_candidate_is_certain() {
        let mut p = Pairing::new(8);
        p.push_request(0, false, none);
        p.server_desync(true);
        assert_eq!(
            p.front_request(),
            None,
            "interim responses are not attributed"
        );
        assert_eq!(p.pair_response(none), pair(0, true, false));
    }

    #[test]
    fn server_gap_on_a_sequential_client_is_inferred() {
        let mut p = Pairing::new(8);
        p.push_request(0, false, none);
        assert_eq!(p.pair_response(none), pair(0, false, false));
        p.push_request(1, false, none);
        p.push_request(2, true, none);
        p.server_desync(false);
        let mut lost = vec![];
        assert_eq!(p.pair_response(|i, why| lost.push((i, why))), sequential(2));
        assert_eq!(lost, vec![(1, NoResponse::LostInGap)]);
        p.push_request(3, false, none);
        assert_eq!(p.pair_response(none), pair(3, false, false));
    }

    #[test]
    fn server_gap_on_a_pipelining_client_assumes_the_fewest_losses() {
        let pipelining = || {
            let mut p = Pairing::new(8);
            p.push_request(0, false, none);
            p.push_request(1, true, none);
            p.pair_response(none);
            p.pair_response(none);
            for idx in 2..5 {
                p.push_request(idx, true, none);
            }
            p
        };
        // Lost inside a message: nothing says a whole response went missing.
        let mut p = pipelining();
        p.server_desync(false);
        assert_eq!(p.pair_response(none), pair(2, true, true));
        assert_eq!(p.pair_response(none), pair(3, false, false));

        // Lost at a boundary: at least the response that started there.
        let mut p = pipelining();
        p.server_desync(true);
        let mut lost = vec![];
        assert_eq!(
            p.pair_response(|i, w| lost.push((i, w))),
            pair(3, true, true)
        );
        assert_eq!(lost, vec![(2, NoResponse::LostInGap)]);
        assert!(!p.abandoned());
    }

    #[test]
    fn client_hole_in_front_makes_responses_orphans_until_a_request_follows() {
        let mut p = Pairing::new(8);
        p.push_request(0, false, none);
        assert_eq!(p.pair_response(none), pair(0, false, false));
        p.push_hole(none);
        p.push_hole(none);
        assert_eq!(
            p.pair_response(none),
            Decision::Orphan,
            "answers a lost request"
        );
        p.push_request(1, false, none);
        assert_eq!(p.pair_response(none), sequential(1));
        assert_eq!(p.requests_pending(), 0);
    }

    #[test]
    fn a_hole_behind_a_request_does_not_disturb_it() {
        let mut p = Pairing::new(8);
        p.push_request(0, false, none);
        p.push_hole(none);
        assert_eq!(p.pair_response(none), pair(0, false, false));
    }

    #[test]
    fn queue_cap_abandons_instead_of_growing() {
        let mut p = Pairing::new(2);
        assert!(p.push_request(0, false, none));
        assert!(p.push_request(1, true, none));
        let mut unpaired = vec![];
        assert!(!p.push_request(2, true, |i, _| unpaired.push(i)));
        assert_eq!(unpaired, vec![0, 1]);
        assert_eq!(p.drain_requests().count(), 0);
    }
}
