//! Whether a request was pipelined when a capture hole hides where the
//! previous response ended: the client's ACK numbers say what it had
//! received.
//!
//! A request is pipelined when its first byte was sent before the previous
//! response had arrived (RFC 9112 §9.3.2). While the server's stream is
//! whole, the parser knows: a response head still awaited, or a body still
//! arriving, when the request starts. A hole in the server's stream hides
//! that, two ways:
//!
//! - the framing is lost (the hole fell between messages, in a head or in
//!   chunk framing; or the capture began mid-stream): the parser seeks the
//!   next status line and the request still waiting for its response makes
//!   every later request look pipelined;
//! - the hole is the end of a body by length, not yet declared (a pure ACK
//!   past the last bytes seen declares nothing, since on a capture merged
//!   from several interfaces the data may still come): the body looks
//!   unfinished.
//!
//! The acknowledgement the client sent with the request's first segment
//! says how much of the server's stream it had received. In the first case,
//! when it covers everything the server had sent (as far as the capture
//! saw, holes included) and the server had sent something since the
//! previous request, the previous response had arrived whole; in the
//! second, when it covers the body's end. Either way the request waited for
//! it: not pipelined. Otherwise the response was still outstanding:
//! pipelined, as the framing said.
//!
//! The request's bytes are delivered before its segment is reported
//! ([`StreamHandler::on_segment`](crate::reassembly::StreamHandler::on_segment)
//! follows [`on_data`](crate::reassembly::StreamHandler::on_data)), and a
//! head may be parsed only segments later, so the check is opened when the
//! head starts, judged at the next client segment, and applied once both
//! the verdict and the transaction exist.

use super::direction::State;
use super::HttpConnection;
use crate::reassembly::{BySide, SegmentMeta, Side};

/// A request whose pipelining waits on the client's ACK.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct AckCheck {
    /// How far the server's stream went when the request's head started.
    extent: u64,
    /// ... and when the previous request's head started, when the server
    /// must have sent something since (its framing lost: some response
    /// must have arrived); `None` when `extent` is a known response end.
    previous: Option<u64>,
    /// Whether the client had acknowledged all of it, once known.
    arrived: Option<bool>,
    /// The request's transaction, once its head parsed.
    idx: Option<u64>,
}

/// What the connection tracks of both streams for [`AckCheck`]s.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct AckEvidence {
    /// The furthest server stream offset the client acknowledged.
    client_acked: Option<u64>,
    /// The end of the furthest server segment seen.
    server_seen: u64,
    /// The server's extent when the previous request's head started.
    extent_at_request: Option<u64>,
    check: Option<AckCheck>,
}

impl HttpConnection {
    /// How far the server's stream is known to have gone: delivered,
    /// declared lost, seen out of order, or acknowledged by the client
    /// (which received what the capture may have missed).
    fn server_extent(&self) -> u64 {
        let delivered = self.dirs.of(Side::Server).next_offset.unwrap_or(0);
        let acked = self.acks.client_acked.unwrap_or(0);
        delivered.max(self.acks.server_seen).max(acked)
    }

    /// A client head starts; `outstanding` is what the framing says (a
    /// response awaited or arriving). Returns it, and when it rests on a
    /// request waiting while the server's framing is lost, opens a check.
    pub(super) fn request_starts(&mut self, outstanding: bool) -> bool {
        let extent = self.server_extent();
        let previous = self.acks.extent_at_request.replace(extent);
        let server = self.dirs.of(Side::Server);
        self.acks.check = match server.state() {
            // Framing lost: where the awaited response ended is unknown.
            State::Seek if outstanding && !self.server_busy() => Some(AckCheck {
                extent,
                previous,
                arrived: None,
                idx: None,
            }),
            // The answer to the latest request still has `remaining` bytes
            // to come by its length, which the capture may never show: the
            // client acknowledging its end says it had them.
            State::BodyByLength { remaining, .. }
                if outstanding && self.store.requests_pending() == 0 =>
            {
                let end = server.next_offset.unwrap_or(0).saturating_add(*remaining);
                Some(AckCheck {
                    extent: end,
                    previous: None,
                    arrived: None,
                    idx: None,
                })
            }
            _ => None,
        };
        outstanding
    }

    /// The request whose head started last became transaction `idx`.
    pub(super) fn request_parsed(&mut self, idx: u64) {
        if let Some(check) = &mut self.acks.check {
            check.idx.get_or_insert(idx);
        }
        self.apply_ack_check();
    }

    /// A segment of the connection: the client's acknowledgements, and how
    /// far the server's stream was seen.
    #[inline]
    pub(super) fn ack_segment(&mut self, from: Side, seg: &SegmentMeta) {
        match from {
            Side::Server => {
                let end = seg.offset.saturating_add(u64::from(seg.len));
                self.acks.server_seen = self.acks.server_seen.max(end);
            }
            Side::Client => {
                if let Some(ack) = seg.ack {
                    let acked = self.acks.client_acked.map_or(ack, |a| a.max(ack));
                    self.acks.client_acked = Some(acked);
                }
                let acked = self.acks.client_acked;
                if let Some(check) = &mut self.acks.check {
                    if check.arrived.is_none() {
                        // Everything the server had sent was acknowledged,
                        // and it had sent something since the previous request.
                        let all = acked.is_some_and(|a| a >= check.extent);
                        let end = acked.map_or(check.extent, |a| a.max(check.extent));
                        let grew = check.previous.is_none_or(|p| end > p);
                        check.arrived = Some(all && grew);
                    }
                }
                self.apply_ack_check();
            }
        }
    }

    fn apply_ack_check(&mut self) {
        let Some(AckCheck {
            arrived: Some(arrived),
            idx: Some(idx),
            ..
        }) = self.acks.check
        else {
            return;
        };
        self.acks.check = None;
        if arrived {
            self.store.not_pipelined(idx);
        }
    }
}
