//! Every bound connlint enforces on its input, set by name, and the report
//! of which were reached in a capture.
//!
//! A capture may be hostile: a million connections, a header line of ten
//! megabytes, a chunk size of sixteen `f`s. Each such input meets a cap with
//! a sane default; reaching it is never fatal, it is counted and reported
//! (`connections`, `transactions` and `check` print a note on stderr, and
//! the JSON documents carry `limits_hit`), so a report is never silently
//! partial.

use crate::capture::ReaderLimits;
use crate::decode::{FragmentLimits, TunnelOptions};
use crate::flow::FlowLimits;
use crate::http::{ChunkError, HttpConnectionReport, HttpLimits};
use crate::reassembly::DirectionStats;
use crate::rules::engine::LintLimits;
use serde::Serialize;

/// Every bound the pipeline enforces, one field per stage.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub reader: ReaderLimits,
    pub fragments: FragmentLimits,
    /// How tunnels are told apart (`--merge-tunnels`, `max_tunnels`).
    pub tunnels: TunnelOptions,
    pub flow: FlowLimits,
    pub http: HttpLimits,
    pub lint: LintLimits,
    /// Finding groups (rule, client host, server endpoint) told apart in
    /// one capture's grouped output (table, SARIF, JUnit, GitHub).
    pub max_groups: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            reader: ReaderLimits::default(),
            fragments: FragmentLimits::default(),
            tunnels: TunnelOptions::default(),
            flow: FlowLimits::default(),
            http: HttpLimits::default(),
            lint: LintLimits::default(),
            max_groups: 65_536,
        }
    }
}

/// One settable bound: its key, what it bounds, and where it lives.
struct Key {
    key: &'static str,
    doc: &'static str,
    get: fn(&Limits) -> u64,
    set: fn(&mut Limits, u64),
}

const SECOND: i64 = 1_000_000_000;

macro_rules! key {
    ($key:literal, $doc:literal, |$l:ident| $field:expr) => {
        Key {
            key: $key,
            doc: $doc,
            get: |$l: &Limits| $field as u64,
            set: |$l: &mut Limits, v: u64| $field = v.try_into().unwrap_or(usize::MAX as _),
        }
    };
}

const KEYS: &[Key] = &[
    key!(
        "max_record_bytes",
        "largest pcap record or pcapng block read from a stream",
        |l| l.reader.max_record_bytes
    ),
    key!(
        "max_fragment_datagrams",
        "IP datagrams being reassembled from fragments at once",
        |l| l.fragments.max_datagrams
    ),
    key!(
        "max_fragment_bytes",
        "bytes held for IP fragment reassembly",
        |l| l.fragments.max_bytes
    ),
    key!(
        "max_tunnels",
        "distinct tunnels (outer endpoints and ids) told apart in flow keys",
        |l| l.tunnels.max_tunnels
    ),
    key!(
        "max_connections",
        "TCP connections tracked at once (oldest idle finished first)",
        |l| l.flow.max_connections
    ),
    key!(
        "max_out_of_order_bytes",
        "out-of-order bytes buffered per direction of a connection",
        |l| l.flow.reassembly.max_out_of_order_bytes
    ),
    key!(
        "max_reassembly_bytes",
        "out-of-order bytes buffered across all connections",
        |l| l.flow.max_reassembly_bytes
    ),
    key!("max_head_bytes", "bytes of one HTTP message head", |l| l
        .http
        .max_head_bytes),
    key!("max_headers", "header fields of one HTTP message", |l| l
        .http
        .max_headers),
    key!(
        "max_pending_requests",
        "requests waiting for a response on one connection",
        |l| l.http.max_pending_requests
    ),
    key!(
        "max_chunk_size_digits",
        "hex digits of one chunk size",
        |l| l.http.max_chunk_size_digits
    ),
    key!(
        "max_transactions",
        "transactions kept per connection",
        |l| l.http.max_transactions
    ),
    key!(
        "max_index_connections",
        "finished connections the cross-connection rules hold behind one still open",
        |l| l.lint.max_index_connections
    ),
    key!(
        "max_groups",
        "finding groups (rule, client host, server) in one capture's grouped output",
        |l| l.max_groups
    ),
];

impl Limits {
    /// Sets one bound by its key (`max_connections=100000`), or says which
    /// keys exist.
    pub fn set(&mut self, assignment: &str) -> Result<(), String> {
        let (key, value) = assignment.split_once('=').ok_or_else(|| {
            format!("`{assignment}`: expected KEY=VALUE, e.g. max_connections=100000")
        })?;
        let (key, value) = (key.trim(), value.trim());
        if key == "idle_timeout_s" {
            let v: u64 = value
                .parse()
                .map_err(|_| format!("{key}: `{value}` is not a whole number"))?;
            self.flow.idle_timeout_ns = i64::try_from(v)
                .unwrap_or(i64::MAX / SECOND)
                .saturating_mul(SECOND);
            return Ok(());
        }
        let k = KEYS.iter().find(|k| k.key == key).ok_or_else(|| {
            let known: Vec<&str> = KEYS
                .iter()
                .map(|k| k.key)
                .chain(["idle_timeout_s"])
                .collect();
            format!(
                "`{key}` is not a limit; the limits are: {}",
                known.join(", ")
            )
        })?;
        let v: u64 = value
            .parse()
            .map_err(|_| format!("{key}: `{value}` is not a whole number"))?;
        if v == 0 {
            return Err(format!("{key}: must be at least 1"));
        }
        (k.set)(self, v);
        Ok(())
    }

    /// Every settable bound: key, current value, what it bounds.
    pub fn describe(&self) -> Vec<(&'static str, u64, &'static str)> {
        let mut v: Vec<_> = KEYS.iter().map(|k| (k.key, (k.get)(self), k.doc)).collect();
        v.push((
            "idle_timeout_s",
            (self.flow.idle_timeout_ns / SECOND) as u64,
            "seconds without a packet after which a connection is finished",
        ));
        v
    }
}

/// How often each bound was reached in one capture (zero counts are left
/// out of the JSON).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LimitsHit {
    #[serde(skip_serializing_if = "is_zero")]
    pub max_fragment_datagrams: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_fragment_bytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_tunnels: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_connections: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_out_of_order_bytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_reassembly_bytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_head_bytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_headers: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_pending_requests: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_chunk_size_digits: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_transactions: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_index_connections: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max_groups: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl LimitsHit {
    /// Adds what one finished connection's reassembly ran into.
    pub fn add_tcp(&mut self, dirs: &[DirectionStats; 2]) {
        self.max_out_of_order_bytes += dirs.iter().map(|d| d.buffer_cap_hits).sum::<u64>();
    }

    /// Adds what one finished connection's HTTP parsing ran into.
    pub fn add_http(&mut self, http: &HttpConnectionReport) {
        for d in &http.directions {
            self.max_head_bytes += u64::from(d.heads_too_large);
            self.max_headers += u64::from(d.too_many_headers);
        }
        self.max_pending_requests += u64::from(http.anomalies.pending_overflow);
        self.max_transactions += http.anomalies.transactions_not_kept;
        self.max_chunk_size_digits += http
            .transactions
            .iter()
            .flat_map(|t| [&t.request, &t.response])
            .flatten()
            .filter(|m| {
                m.chunked
                    .is_some_and(|c| c.error == Some(ChunkError::SizeTooLong))
            })
            .count() as u64;
    }

    /// Takes the HTTP-level counts gathered by a caller that ran the HTTP
    /// layer (the TCP-level ones are already here).
    pub fn merge_http(&mut self, http: &LimitsHit) {
        self.max_head_bytes += http.max_head_bytes;
        self.max_headers += http.max_headers;
        self.max_pending_requests += http.max_pending_requests;
        self.max_chunk_size_digits += http.max_chunk_size_digits;
        self.max_transactions += http.max_transactions;
    }

    /// `(key, count, what it meant)` for every bound reached.
    pub fn reached(&self) -> Vec<(&'static str, u64, &'static str)> {
        let all = [
            (
                "max_fragment_datagrams",
                self.max_fragment_datagrams,
                "IP fragments were dropped to stay within the datagrams reassembled at once",
            ),
            (
                "max_fragment_bytes",
                self.max_fragment_bytes,
                "IP fragments were dropped to stay within the bytes buffered",
            ),
            (
                "max_tunnels",
                self.max_tunnels,
                "flows in tunnels seen after the bound share one key per 4-tuple",
            ),
            (
                "max_connections",
                self.max_connections,
                "the oldest idle connections were finished early",
            ),
            (
                "max_out_of_order_bytes",
                self.max_out_of_order_bytes,
                "holes were declared gaps early",
            ),
            (
                "max_reassembly_bytes",
                self.max_reassembly_bytes,
                "holes were declared gaps early",
            ),
            (
                "max_head_bytes",
                self.max_head_bytes,
                "the rest of those directions was not parsed",
            ),
            (
                "max_headers",
                self.max_headers,
                "those heads were not parsed",
            ),
            (
                "max_pending_requests",
                self.max_pending_requests,
                "pairing stopped on those connections",
            ),
            (
                "max_chunk_size_digits",
                self.max_chunk_size_digits,
                "those chunked bodies were not followed",
            ),
            (
                "max_transactions",
                self.max_transactions,
                "those transactions were counted but not kept",
            ),
            (
                "max_index_connections",
                self.max_index_connections,
                "the cross-connection rules stopped waiting for connections still open",
            ),
            (
                "max_groups",
                self.max_groups,
                "findings of further groups were counted but not listed in the grouped output",
            ),
        ];
        all.into_iter().filter(|(_, n, _)| *n > 0).collect()
    }
}
