//! The round trip between the capture point and one side, as the smallest
//! sample seen, and the TCP timestamps (RFC 7323) that give some of the
//! samples.

use crate::Timestamp;

/// Round-trip samples of one side and the peer's timestamp values it echoes.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct RoundTrip {
    /// Smallest round-trip sample between the capture point and this side.
    min: Option<i64>,
    /// The peer's newest TCP timestamp value and when it was first seen,
    /// until this side echoes it.
    echo: Option<(u32, Timestamp)>,
    /// The peer's latest TCP timestamp value.
    peer_tsval: Option<u32>,
}

impl RoundTrip {
    pub fn get(&self) -> Option<i64> {
        self.min
    }

    pub fn note(&mut self, sample: i64) {
        if sample >= 0 {
            self.min = Some(self.min.map_or(sample, |r| r.min(sample)));
        }
    }

    /// The peer's latest TCP timestamp value.
    pub fn peer_tsval(&self) -> Option<u32> {
        self.peer_tsval
    }

    /// The peer sent TCP timestamp value `tsval` at `ts`.
    pub fn note_peer_tsval(&mut self, tsval: u32, ts: Timestamp) {
        self.peer_tsval = Some(tsval);
        match self.echo {
            Some((v, _)) if v == tsval => {} // keep when it was first seen
            _ => self.echo = Some((tsval, ts)),
        }
    }

    /// This side echoed `tsecr` at `ts`: the first echo of the peer's newest
    /// value is a sample, timed from when that value was first seen.
    pub fn own_tsecr(&mut self, tsecr: u32, ts: Timestamp) {
        if let Some((v, seen)) = self.echo {
            if v == tsecr {
                self.echo = None;
                self.note(ts.since(seen));
            }
        }
    }
}

/// Whether TCP timestamp `a` is older than `b` (RFC 7323 arithmetic).
pub(super) fn ts_older(a: u32, b: u32) -> bool {
    // Reinterpreting the difference as signed is the wraparound rule.
    (b.wrapping_sub(a) as i32) > 0
}

/// The TCP timestamp option (TSval, TSecr) of a raw options area. The usual
/// layouts (`NOP NOP TS ...` as Linux, BSD and Windows send it, or `TS`
/// first) are read directly; anything else goes through the full parser.
/// Reading only this, and cheaply, keeps per-segment option parsing off the
/// hot path (see `TcpSegment::options_raw`).
pub fn timestamp_option(raw: &[u8]) -> Option<(u32, u32)> {
    let be = |b: &[u8]| -> Option<u32> { Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?)) };
    match raw {
        [] => None,
        [1, 1, 8, 10, rest @ ..] | [8, 10, rest @ ..] if rest.len() >= 8 => {
            Some((be(rest)?, be(rest.get(4..)?)?))
        }
        _ => crate::decode::parse_options(raw).timestamp,
    }
}
