//! What of a capture to analyse: `--host`, `--port`, `--server`,
//! `--client` and the time window `--from` / `--to`, so that a user need
//! not cut the capture with tcpdump first.
//!
//! Two levels, as the questions need:
//! - per packet, before the flow table: the time window, and `--host` /
//!   `--port`, which match either end of a segment (as tcpdump's `host`
//!   and `port` do; inside a tunnel, the inner addresses). A packet outside
//!   them is counted (`filtered`) and goes no further.
//! - per connection, once the flow table has told client from server:
//!   `--server` / `--client` keep the connections whose server (client)
//!   endpoint matches; the others are analysed (they share the flow table)
//!   but left out of the report, and counted.
//!
//! Several values of one option are alternatives (any of them); different
//! options must all hold. The report keeps the capture's own name and
//! says what the filter was.

use crate::decode::TcpSegment;
use crate::flow::Connection;
use crate::Timestamp;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// An address, and optionally a port: `10.0.0.2`, `10.0.0.2:80`,
/// `2001:db8::2`, `[2001:db8::2]:80`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

impl Endpoint {
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        let t = text.trim();
        if let Ok(sa) = t.parse::<SocketAddr>() {
            return Ok(Endpoint {
                ip: sa.ip(),
                port: Some(sa.port()),
            });
        }
        let bare = t
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(t);
        bare.parse::<IpAddr>()
            .map(|ip| Endpoint { ip, port: None })
            .map_err(|_| {
                format!(
                    "`{text}` is not an address or address:port (10.0.0.2, 10.0.0.2:80, \
                     [2001:db8::2]:80); connlint does not resolve names"
                )
            })
    }

    fn matches(&self, a: &SocketAddr) -> bool {
        self.ip == a.ip() && self.port.is_none_or(|p| p == a.port())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}", SocketAddr::new(self.ip, p)),
            None => write!(f, "{}", self.ip),
        }
    }
}

/// One end of the time window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeBound {
    /// Nanoseconds after the capture's first packet (`12.5`).
    Relative(i64),
    /// A moment (`@1700000000.25`, `2023-11-14T22:13:20Z`).
    Absolute(Timestamp),
}

impl TimeBound {
    /// Seconds after the first packet (`12.5`), seconds since the epoch
    /// after `@` (`@1700000000.25`), or an RFC 3339 time in UTC.
    pub fn parse(text: &str) -> Result<TimeBound, String> {
        let t = text.trim();
        let secs = decimal_seconds;
        if let Some(epoch) = t.strip_prefix('@') {
            if let Some(ns) = secs(epoch) {
                return Ok(TimeBound::Absolute(Timestamp(ns)));
            }
        } else if let Some(ns) = secs(t).filter(|ns| *ns >= 0) {
            return Ok(TimeBound::Relative(ns));
        } else if let Some(ts) = Timestamp::parse_utc(t) {
            return Ok(TimeBound::Absolute(ts));
        }
        Err(format!(
            "`{text}` is not a time: seconds after the first packet (12.5), seconds since \
             the epoch after @ (@1700000000.25), or UTC (2023-11-14T22:13:20Z)"
        ))
    }

    fn at(self, t0: Timestamp) -> Timestamp {
        match self {
            TimeBound::Relative(ns) => t0.add_nanos(ns),
            TimeBound::Absolute(ts) => ts,
        }
    }
}

impl fmt::Display for TimeBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeBound::Relative(ns) => write!(f, "+{}s", *ns as f64 / 1e9),
            TimeBound::Absolute(ts) => write!(f, "{}", ts.utc(6)),
        }
    }
}

/// Nanoseconds in a decimal number of seconds (`12.5`, `-3`,
/// `1700000000.000000001`), read exactly (no float rounding); `None` for
/// anything else, more than 9 decimals, or beyond the range of a
/// [`Timestamp`].
fn decimal_seconds(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !all_digits(whole) || !all_digits(frac) {
        return None;
    }
    if frac.len() > 9 {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    let ns = whole.checked_mul(1_000_000_000)?.checked_add(frac)?;
    Some(if negative { ns.checked_neg()? } else { ns })
}

/// The filter of a run; the default keeps everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub hosts: Vec<IpAddr>,
    pub ports: Vec<u16>,
    pub servers: Vec<Endpoint>,
    pub clients: Vec<Endpoint>,
    pub from: Option<TimeBound>,
    pub to: Option<TimeBound>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Whether the filter looks at packets (time, host, port), so that
    /// the analysis loop must ask it of each.
    pub fn filters_packets(&self) -> bool {
        self.from.is_some() || self.to.is_some() || !self.hosts.is_empty() || !self.ports.is_empty()
    }

    /// Whether a frame at `ts` falls in the time window of a capture whose
    /// first packet was at `t0`.
    pub fn keeps_time(&self, ts: Timestamp, t0: Timestamp) -> bool {
        self.from.is_none_or(|b| ts >= b.at(t0)) && self.to.is_none_or(|b| ts <= b.at(t0))
    }

    /// Whether a segment matches `--host` and `--port` (either end).
    pub fn keeps_segment(&self, seg: &TcpSegment<'_>) -> bool {
        let host = |h: &IpAddr| *h == seg.src.ip() || *h == seg.dst.ip();
        let port = |p: &u16| *p == seg.src.port() || *p == seg.dst.port();
        (self.hosts.is_empty() || self.hosts.iter().any(host))
            && (self.ports.is_empty() || self.ports.iter().any(port))
    }

    /// Whether a connection matches `--server` and `--client`.
    pub fn keeps_connection(&self, c: &Connection) -> bool {
        (self.servers.is_empty() || self.servers.iter().any(|e| e.matches(&c.server)))
            && (self.clients.is_empty() || self.clients.iter().any(|e| e.matches(&c.client)))
    }
}

/// `host 10.0.0.1, port 80, server 10.0.0.2:80, from +2s, to +5s`.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        let list = |name: &str, v: Vec<String>| {
            (!v.is_empty()).then(|| format!("{name} {}", v.join(" or ")))
        };
        parts.extend(list(
            "host",
            self.hosts.iter().map(ToString::to_string).collect(),
        ));
        parts.extend(list(
            "port",
            self.ports.iter().map(ToString::to_string).collect(),
        ));
        parts.extend(list(
            "server",
            self.servers.iter().map(ToString::to_string).collect(),
        ));
        parts.extend(list(
            "client",
            self.clients.iter().map(ToString::to_string).collect(),
        ));
        parts.extend(self.from.map(|b| format!("from {b}")));
        parts.extend(self.to.map(|b| format!("to {b}")));
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_and_without_port() {
        let e = Endpoint::parse("10.0.0.2:80").unwrap();
        assert_eq!(
            (e.ip.to_string(), e.port),
            ("10.0.0.2".to_string(), Some(80))
        );
        assert_eq!(Endpoint::parse("10.0.0.2").unwrap().port, None);
        assert_eq!(
            Endpoint::parse("[2001:db8::2]:443").unwrap().port,
            Some(443)
        );
        assert_eq!(Endpoint::parse("2001:db8::2").unwrap().port, None);
        assert_eq!(Endpoint::parse("[2001:db8::2]").unwrap().port, None);
        assert!(Endpoint::parse("example.com").is_err());
        let a: SocketAddr = "10.0.0.2:80".parse().unwrap();
        assert!(Endpoint::parse("10.0.0.2").unwrap().matches(&a));
        assert!(!Endpoint::parse("10.0.0.2:81").unwrap().matches(&a));
    }

    #[test]
    fn times_are_relative_epoch_or_utc() {
        assert_eq!(
            TimeBound::parse("12.5"),
            Ok(TimeBound::Relative(12_500_000_000))
        );
        assert_eq!(
            TimeBound::parse("@1700000000.25"),
            Ok(TimeBound::Absolute(Timestamp(1_700_000_000_250_000_000)))
        );
        assert_eq!(
            TimeBound::parse("2023-11-14T22:13:20.25Z"),
            Ok(TimeBound::Absolute(Timestamp(1_700_000_000_250_000_000)))
        );
        assert_eq!(
            TimeBound::parse("@1700000000.000000001"),
            Ok(TimeBound::Absolute(Timestamp(1_700_000_000_000_000_001)))
        );
        assert_eq!(TimeBound::parse(".5"), Ok(TimeBound::Relative(500_000_000)));
        assert!(TimeBound::parse("-3").is_err());
        assert!(TimeBound::parse("1.0000000001").is_err());
        assert!(TimeBound::parse(".").is_err());
        assert!(TimeBound::parse("1e3").is_err());
        assert!(TimeBound::parse("@99999999999999999999").is_err());
        assert!(TimeBound::parse("soon").is_err());
        // The window is inclusive at both ends.
        let f = Filter {
            from: Some(TimeBound::Relative(1_000)),
            to: Some(TimeBound::Relative(2_000)),
            ..Filter::default()
        };
        let t0 = Timestamp(5_000);
        assert!(!f.keeps_time(Timestamp(5_999), t0));
        assert!(f.keeps_time(Timestamp(6_000), t0));
        assert!(f.keeps_time(Timestamp(7_000), t0));
        assert!(!f.keeps_time(Timestamp(7_001), t0));
    }
}
