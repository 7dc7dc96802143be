//! Capture time.
//!
//! Every timestamp in connlint is the capture timestamp of a frame, kept as
//! nanoseconds since the Unix epoch in an `i64` (enough for ±292 years, and
//! signed so that a pcapng `if_tsoffset` before 1970 or a difference of two
//! timestamps never wraps). Durations are plain `i64` nanoseconds.

use std::fmt;

/// Nanoseconds since 1970-01-01T00:00:00Z, as recorded by the capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp(0);

    pub fn from_secs_nanos(secs: i64, nanos: i64) -> Timestamp {
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    pub fn nanos(self) -> i64 {
        self.0
    }

    /// Seconds since the epoch as a float, the form the JSON output uses.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// `self - earlier` in nanoseconds (negative if `earlier` is later).
    pub fn since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// `self - earlier` in milliseconds, as the reports print durations.
    pub fn ms_since(self, earlier: Timestamp) -> f64 {
        self.since(earlier) as f64 / 1e6
    }

    pub fn add_nanos(self, nanos: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(nanos))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000);
        write!(f, "{secs}.{nanos:09}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_keeps_nanoseconds_and_negative_times() {
        assert_eq!(Timestamp::from_secs_nanos(1, 5).to_string(), "1.000000005");
        assert_eq!(Timestamp(-1).to_string(), "-1.999999999");
    }
}
