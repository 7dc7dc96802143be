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

    /// The time in UTC as RFC 3339 with `decimals` digits of the second
    /// (at most 9): `2024-05-01T12:00:00.250000Z`.
    pub fn utc(self, decimals: usize) -> String {
        let secs = self.0.div_euclid(NANOS);
        let nanos = self.0.rem_euclid(NANOS);
        let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss) = (day_secs / 3600, day_secs % 3600 / 60, day_secs % 60);
        let decimals = decimals.min(9);
        let frac = if decimals == 0 {
            String::new()
        } else {
            let digits = format!("{nanos:09}");
            format!(".{}", digits.get(..decimals).unwrap_or_default())
        };
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}{frac}Z")
    }

    /// Parses an RFC 3339 time in UTC (`Z` or `+00:00`), with or without
    /// fractional seconds, or `YYYY-MM-DD HH:MM:SS` read as UTC.
    pub fn parse_utc(text: &str) -> Option<Timestamp> {
        let t = text.trim();
        let t = t
            .strip_suffix('Z')
            .or_else(|| t.strip_suffix("+00:00"))
            .unwrap_or(t);
        let (date, time) = t.split_once(['T', ' '])?;
        let mut d = date.splitn(3, '-');
        let (y, m, day) = (d.next()?, d.next()?, d.next()?);
        let (y, m, day): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, day.parse().ok()?);
        let (hms, frac) = match time.split_once('.') {
            Some((hms, frac)) => (hms, frac),
            None => (time, ""),
        };
        let mut h = hms.splitn(3, ':');
        let (hh, mm, ss): (i64, i64, i64) = (
            h.next()?.parse().ok()?,
            h.next()?.parse().ok()?,
            h.next()?.parse().ok()?,
        );
        let valid = (1..=12).contains(&m)
            && (1..=31).contains(&day)
            && (0..24).contains(&hh)
            && (0..60).contains(&mm)
            && (0..=60).contains(&ss)
            && (0..=9999).contains(&y)
            && frac.len() <= 9
            && frac.bytes().all(|b| b.is_ascii_digit());
        if !valid {
            return None;
        }
        let nanos: i64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<9}").parse().ok()?
        };
        let days = days_from_civil(y, m, day);
        let secs = days
            .checked_mul(86_400)?
            .checked_add(hh.checked_mul(3600)?)?
            .checked_add(mm.checked_mul(60)?)?
            .checked_add(ss)?;
        Some(Timestamp::from_secs_nanos(secs, nanos))
    }
}

const NANOS: i64 = 1_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), for years 0..=9999.
#[allow(clippy::arithmetic_side_effects)] // bounded by the year range checked by the caller
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
#[allow(clippy::arithmetic_side_effects)] // |days| <= 2^63 / 86400 / 1e9 * 1e9: no overflow
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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

    #[test]
    fn utc_round_trips_and_matches_known_dates() {
        // `date -u -d @1700000000.25`: Tue Nov 14 22:13:20 UTC 2023.
        let t = Timestamp::from_secs_nanos(1_700_000_000, 250_000_000);
        assert_eq!(t.utc(6), "2023-11-14T22:13:20.250000Z");
        assert_eq!(t.utc(0), "2023-11-14T22:13:20Z");
        assert_eq!(Timestamp::parse_utc("2023-11-14T22:13:20.25Z"), Some(t));
        assert_eq!(
            Timestamp::parse_utc("2023-11-14 22:13:20.250+00:00"),
            Some(t)
        );
        assert_eq!(Timestamp::ZERO.utc(3), "1970-01-01T00:00:00.000Z");
        // A leap day, and before the epoch.
        let leap = Timestamp::parse_utc("2024-02-29T00:00:00Z").unwrap();
        assert_eq!(leap.utc(0), "2024-02-29T00:00:00Z");
        assert_eq!(leap.0 / 1_000_000_000, 1_709_164_800);
        assert_eq!(Timestamp(-1).utc(9), "1969-12-31T23:59:59.999999999Z");
        for bad in [
            "2023-13-01T00:00:00Z",
            "2023-11-14",
            "yesterday",
            "2023-11-14T25:00:00Z",
        ] {
            assert_eq!(Timestamp::parse_utc(bad), None, "{bad}");
        }
    }
}
