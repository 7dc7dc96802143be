//! `connlint transactions --summary`: per server endpoint, how many
//! transactions and the 50th, 90th and 99th percentiles of their wait
//! (request sent to first response byte) and total time (connect, send,
//! wait and receive, as HAR's `time`).
//!
//! Percentiles are the nearest rank of the sorted times (the smallest value
//! with at least p% of the values at or below it). The times are kept, up
//! to [`MAX_SAMPLES`] per endpoint; past that every other one is dropped and
//! only every 2nd (then 4th, ...) further one kept, an even sample of the
//! whole, and the record says `sampled`. At most [`MAX_SERVERS`] endpoints
//! are told apart; the rest are summed under `other`.

use serde::Serialize;
use std::collections::BTreeMap;

/// Times kept per endpoint and measure before sampling.
pub const MAX_SAMPLES: usize = 1 << 16;
/// Endpoints told apart.
pub const MAX_SERVERS: usize = 4096;

/// Milliseconds of one measure at one endpoint, exact or an even sample.
#[derive(Clone, Debug, Default)]
struct Samples {
    values: Vec<f64>,
    /// Keep one value in `stride`.
    stride: u64,
    seen: u64,
}

impl Samples {
    fn push(&mut self, v: f64) {
        let stride = self.stride.max(1);
        if self.seen.is_multiple_of(stride) {
            self.values.push(v);
            if self.values.len() >= MAX_SAMPLES {
                let mut i = 0usize;
                self.values.retain(|_| {
                    i = i.wrapping_add(1);
                    i % 2 == 1
                });
                self.stride = stride.saturating_mul(2);
            }
        }
        self.seen = self.seen.saturating_add(1);
    }

    /// p50, p90, p99 by nearest rank.
    fn percentiles(&self) -> Option<[f64; 3]> {
        if self.values.is_empty() {
            return None;
        }
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        let rank = |p: u64| -> f64 {
            let n = v.len() as u64;
            let k = n.saturating_mul(p).div_ceil(100).max(1);
            let i = usize::try_from(k.saturating_sub(1)).unwrap_or(usize::MAX);
            v.get(i).or(v.last()).copied().unwrap_or(f64::NAN)
        };
        Some([rank(50), rank(90), rank(99)])
    }
}

#[derive(Clone, Debug, Default)]
struct Endpoint {
    count: u64,
    wait: Samples,
    total: Samples,
}

/// The summary being gathered, one transaction at a time.
#[derive(Clone, Debug, Default)]
pub struct LatencySummary {
    servers: BTreeMap<String, Endpoint>,
}

/// One endpoint's line: `--summary --format json` writes these.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EndpointLatency {
    pub server: String,
    pub transactions: u64,
    /// Transactions with a wait time (a response was seen), and its
    /// percentiles in ms.
    pub with_wait: u64,
    pub wait_p50_ms: Option<f64>,
    pub wait_p90_ms: Option<f64>,
    pub wait_p99_ms: Option<f64>,
    pub total_p50_ms: Option<f64>,
    pub total_p90_ms: Option<f64>,
    pub total_p99_ms: Option<f64>,
    /// The percentiles are of an even sample of the times (more than
    /// [`MAX_SAMPLES`]).
    pub sampled: bool,
}

impl LatencySummary {
    /// Adds a transaction at `server` with its wait and total time, ms.
    pub fn add(&mut self, server: &str, wait_ms: Option<f64>, total_ms: Option<f64>) {
        let key = if self.servers.len() < MAX_SERVERS || self.servers.contains_key(server) {
            server.to_string()
        } else {
            "other".to_string()
        };
        let e = self.servers.entry(key).or_default();
        e.count = e.count.saturating_add(1);
        if let Some(w) = wait_ms {
            e.wait.push(w);
        }
        if let Some(t) = total_ms {
            e.total.push(t);
        }
    }

    /// The endpoints, most transactions first.
    pub fn endpoints(&self) -> Vec<EndpointLatency> {
        let mut out: Vec<EndpointLatency> = self
            .servers
            .iter()
            .map(|(server, e)| {
                let (w, t) = (e.wait.percentiles(), e.total.percentiles());
                EndpointLatency {
                    server: server.clone(),
                    transactions: e.count,
                    with_wait: e.wait.seen,
                    wait_p50_ms: w.map(|p| p[0]),
                    wait_p90_ms: w.map(|p| p[1]),
                    wait_p99_ms: w.map(|p| p[2]),
                    total_p50_ms: t.map(|p| p[0]),
                    total_p90_ms: t.map(|p| p[1]),
                    total_p99_ms: t.map(|p| p[2]),
                    sampled: e.wait.stride > 1 || e.total.stride > 1,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.transactions
                .cmp(&a.transactions)
                .then(a.server.cmp(&b.server))
        });
        out
    }
}

/// Table columns of `transactions --summary`, and which are right-aligned.
pub const HEADER: &[&str] = &[
    "server",
    "txns",
    "wait p50",
    "p90",
    "p99",
    "total p50",
    "p90",
    "p99",
];
pub const RIGHT: &[usize] = &[1, 2, 3, 4, 5, 6, 7];

/// One table row (ms with three decimals).
pub fn row(e: &EndpointLatency) -> Vec<String> {
    let ms = super::ms_cell;
    let mut server = e.server.clone();
    if e.sampled {
        server.push_str(" (sampled)");
    }
    vec![
        server,
        e.transactions.to_string(),
        ms(e.wait_p50_ms),
        ms(e.wait_p90_ms),
        ms(e.wait_p99_ms),
        ms(e.total_p50_ms),
        ms(e.total_p90_ms),
        ms(e.total_p99_ms),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_per_endpoint() {
        let mut s = LatencySummary::default();
        for i in 1..=100u32 {
            s.add("10.0.0.2:80", Some(f64::from(i)), Some(f64::from(i) * 2.0));
        }
        s.add("10.0.0.3:80", None, Some(5.0));
        let e = s.endpoints();
        assert_eq!(e[0].server, "10.0.0.2:80");
        assert_eq!((e[0].transactions, e[0].with_wait), (100, 100));
        assert_eq!(
            (e[0].wait_p50_ms, e[0].wait_p90_ms, e[0].wait_p99_ms),
            (Some(50.0), Some(90.0), Some(99.0))
        );
        assert_eq!(e[0].total_p99_ms, Some(198.0));
        assert_eq!((e[1].with_wait, e[1].wait_p50_ms), (0, None));
        assert_eq!(e[1].total_p50_ms, Some(5.0));
        assert!(!e[0].sampled);
    }

    #[test]
    fn many_times_are_sampled_evenly() {
        let mut s = Samples::default();
        let n = 3 * MAX_SAMPLES as u64;
        for i in 0..n {
            s.push(i as f64);
        }
        assert!(s.values.len() < MAX_SAMPLES);
        let p = s.percentiles().unwrap();
        let rel = |got: f64, want: f64| (got - want).abs() / want;
        assert!(rel(p[0], n as f64 * 0.5) < 0.01, "{p:?}");
        assert!(rel(p[2], n as f64 * 0.99) < 0.01, "{p:?}");
    }
}
