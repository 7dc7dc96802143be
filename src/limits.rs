//! Every bound connlint enforces on its input, set by name, and the report
//! of which were reached in a capture.
//!
//! A capture may be hostile: a million connections, a header line of ten
//! megabytes, a chunk size of sixteen `f`s. Each such input meets a cap with
//! a sane default; reaching it is never fatal, it is counted and reported
//! (`connections`, `transactions` and `check` print a note on stderr, and
//! the JSON documents carry `limits_hit`), so a report is never silently
//! partial.

use crate::capture::{ReaderLimits, ReorderLimits};
use crate::decode::{FragmentLimits, TunnelOptions};
use crate::flow::FlowLimits;
use crate::http::{ChunkError, HttpConnectionReport, HttpLimits};
use crate::reassembly::DirectionStats;
use crate::rules::engine::LintLimits;
use crate::tls::{TlsLimits, TlsReport};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Every bound the pipeline enforces, one field per stage; and what of
/// the capture to analyse (the filter) and the key log the TLS stage
/// decrypts with, which are no bounds but travel with them to every stage.
#[derive(Clone, Debug)]
pub struct Limits {
    pub reader: ReaderLimits,
    /// How far records out of time order are put back in order.
    pub reorder: ReorderLimits,
    pub fragments: FragmentLimits,
    /// How tunnels are told apart (`--merge-tunnels`, `max_tunnels`).
    pub tunnels: TunnelOptions,
    pub flow: FlowLimits,
    pub http: HttpLimits,
    pub tls: TlsLimits,
    pub lint: LintLimits,
    /// Finding groups (rule, client host, server endpoint) told apart in
    /// one capture's grouped output (table, SARIF, JUnit, GitHub).
    pub max_groups: usize,
    /// Connection records the listings (`connections`, `transactions`)
    /// hold at once to write connections in the order they began.
    pub max_list_waiting: usize,
    /// `--host`, `--port`, `--server`, `--client`, `--from`, `--to`.
    pub filter: crate::filter::Filter,
    /// The secrets to decrypt TLS with (`--keylog`, `SSLKEYLOGFILE`,
    /// `[tls] keylog`); not a bound, and never printed.
    pub tls_keys: Option<std::sync::Arc<crate::tls::KeyLog>>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            reader: ReaderLimits::default(),
            reorder: ReorderLimits::default(),
            fragments: FragmentLimits::default(),
            tunnels: TunnelOptions::default(),
            flow: FlowLimits::default(),
            http: HttpLimits::default(),
            tls: TlsLimits::default(),
            lint: LintLimits::default(),
            max_groups: 65_536,
            max_list_waiting: 16_384,
            filter: crate::filter::Filter::default(),
            tls_keys: None,
        }
    }
}

/// One settable bound: its key, what it bounds, and where it lives; and,
/// when reaching it is counted, that count in [`LimitsHit`] (the field of the
/// same name) and what reaching it meant.
struct Key {
    key: &'static str,
    doc: &'static str,
    get: fn(&Limits) -> u64,
    set: fn(&mut Limits, u64),
    reached: Option<Reached>,
}

/// A bound's count in [`LimitsHit`] and what reaching it meant.
#[derive(Clone, Copy)]
struct Reached {
    count: fn(&LimitsHit) -> u64,
    meaning: &'static str,
}

const SECOND: i64 = 1_000_000_000;
const MILLISECOND: i64 = 1_000_000;

macro_rules! key {
    ($key:ident: $($field:ident).+, $doc:literal $(, reached: $meaning:literal)?) => {
        Key {
            key: stringify!($key),
            doc: $doc,
            get: |l: &Limits| l.$($field).+ as u64,
            set: |l: &mut Limits, v: u64| l.$($field).+ = v.try_into().unwrap_or(usize::MAX as _),
            reached: key!(@reached $key $(, $meaning)?),
        }
    };
    (@reached $key:ident) => { None };
    (@reached $key:ident, $meaning:literal) => {
        Some(Reached { count: |h: &LimitsHit| h.$key, meaning: $meaning })
    };
}

/// A key whose value is a duration in `unit` nanoseconds (seconds,
/// milliseconds), held in nanoseconds; never counted as reached.
macro_rules! key_time {
    ($key:ident: $($field:ident).+, $unit:expr, $doc:literal) => {
        Key {
            key: stringify!($key),
            doc: $doc,
            get: |l: &Limits| (l.$($field).+ / $unit) as u64,
            set: |l: &mut Limits, v: u64| {
                l.$($field).+ = i64::try_from(v)
                    .unwrap_or(i64::MAX / $unit)
                    .saturating_mul($unit)
            },
            reached: None,
        }
    };
}

const KEYS: &[Key] = &[
    key!(max_record_bytes: reader.max_record_bytes,
        "largest pcap record or pcapng block read from a stream"),
    key_time!(reorder_window_ms: reorder.window_ns, MILLISECOND,
        "milliseconds a frame is held for frames out of time order to be put back before it"),
    key!(max_reorder_frames: reorder.max_frames,
        "frames held at once to put frames out of time order back in order"),
    key!(max_reorder_bytes: reorder.max_bytes,
        "bytes of frames held at once to put frames out of time order back in order"),
    key!(max_fragment_datagrams: fragments.max_datagrams,
        "IP datagrams being reassembled from fragments at once",
        reached: "IP fragments were dropped to stay within the datagrams reassembled at once"),
    key!(max_fragment_bytes: fragments.max_bytes,
        "bytes held for IP fragment reassembly",
        reached: "IP fragments were dropped to stay within the bytes buffered"),
    key!(max_tunnels: tunnels.max_tunnels,
        "distinct tunnels (outer endpoints and ids) told apart in flow keys",
        reached: "flows in tunnels seen after the bound share one key per 4-tuple"),
    key!(max_connections: flow.max_connections,
        "TCP connections tracked at once (oldest idle finished first)",
        reached: "the oldest idle connections were finished early"),
    key!(max_lingering: flow.max_lingering,
        "closed connections kept for their linger (late packets) at once",
        reached: "packets came on closed connections finished before their linger ended, and were counted as late instead of on them"),
    key!(max_tombstones: flow.max_tombstones,
        "closed tuples remembered at once (for two minutes each), so that a packet on one is not taken for a new connection and a reuse is told (S004)",
        reached: "closed tuples were forgotten early: a later connection on one of them was not known as a reuse"),
    key!(max_out_of_order_bytes: flow.reassembly.max_out_of_order_bytes,
        "out-of-order bytes buffered per direction of a connection",
        reached: "holes were declared gaps early"),
    key!(max_reassembly_bytes: flow.max_reassembly_bytes,
        "out-of-order bytes buffered across all connections",
        reached: "holes were declared gaps early"),
    key!(max_memory: flow.max_memory,
        "bytes the connections tracked at once may hold in all (their state, out-of-order bytes, HTTP heads, pending requests, kept transactions); a size may end in KiB, MiB or GiB",
        reached: "the least recently active connections were finished early under memory pressure (judged on what was seen), or the cross-connection rules judged their oldest connections early"),
    key!(max_head_bytes: http.max_head_bytes,
        "bytes of one HTTP message head",
        reached: "the rest of those directions was not parsed"),
    key!(max_headers: http.max_headers,
        "header fields of one HTTP message (at most 512, the parser's fixed bound)",
        reached: "those heads were not parsed"),
    key!(max_pending_requests: http.max_pending_requests,
        "requests waiting for a response on one connection",
        reached: "pairing stopped on those connections"),
    key!(max_chunk_size_digits: http.max_chunk_size_digits,
        "hex digits of one chunk size",
        reached: "those chunked bodies were not followed"),
    key!(max_transactions: http.max_transactions,
        "transactions kept per connection",
        reached: "those transactions were counted but not kept"),
    key!(max_tls_hello_bytes: tls.max_hello_bytes,
        "bytes of one TLS ClientHello or ServerHello, gathered across records, that are parsed",
        reached: "those TLS hellos were skipped unparsed (their connections' versions, names and resumption are unknown)"),
    key!(max_index_connections: lint.max_index_connections,
        "finished connections the cross-connection rules hold behind one still open",
        reached: "the cross-connection rules stopped waiting for connections still open"),
    key!(max_groups: max_groups,
        "finding groups (rule, client host, server) in one capture's grouped output",
        reached: "findings of further groups were counted but not listed in the grouped output"),
    key!(max_list_waiting: max_list_waiting,
        "connection records the listings hold at once to write connections in the order they began",
        reached: "a connection still open held back too many later ones: those were written first, and it (with any others before them) after them, out of the order connections began"),
    key_time!(idle_timeout_s: flow.idle_timeout_ns, SECOND,
        "seconds without a packet after which a connection not established (handshake never completed, or closing) is finished"),
    key_time!(established_timeout_s: flow.established_timeout_ns, SECOND,
        "seconds without a packet after which an established connection is finished (a packet continuing it later resumes it)"),
];

impl Limits {
    /// Sets one bound by its key (`max_connections=100000`), or says which
    /// keys exist.
    pub fn set(&mut self, assignment: &str) -> Result<(), String> {
        let (key, value) = assignment.split_once('=').ok_or_else(|| {
            format!("`{assignment}`: expected KEY=VALUE, e.g. max_connections=100000")
        })?;
        let (key, value) = (key.trim(), value.trim());
        let k = KEYS.iter().find(|k| k.key == key).ok_or_else(|| {
            let known: Vec<&str> = KEYS.iter().map(|k| k.key).collect();
            format!(
                "`{key}` is not a limit; the limits are: {}",
                known.join(", ")
            )
        })?;
        let v = parse_size(value).ok_or_else(|| {
            format!("{key}: `{value}` is not a whole number (a size may end in KiB, MiB or GiB)")
        })?;
        if v == 0 {
            return Err(format!("{key}: must be at least 1"));
        }
        // The parser reads a head's fields into a fixed array: a larger
        // setting would be shown and never take effect.
        let hard = crate::http::HttpLimits::HARD_MAX_HEADERS as u64;
        if key == "max_headers" && v > hard {
            return Err(format!(
                "{key}: at most {hard} (the HTTP parser's fixed bound on the fields of one head)"
            ));
        }
        (k.set)(self, v);
        Ok(())
    }

    /// Every settable bound: key, current value, what it bounds.
    pub fn describe(&self) -> Vec<(&'static str, u64, &'static str)> {
        KEYS.iter().map(|k| (k.key, (k.get)(self), k.doc)).collect()
    }
}

/// A whole number, or a size in KiB, MiB or GiB (`32MiB`, `1 GiB`;
/// `K`, `M`, `G` alone too): `None` if it is neither or overflows.
fn parse_size(value: &str) -> Option<u64> {
    let digits = value.trim_end_matches(|c: char| !c.is_ascii_digit());
    let unit = value.get(digits.len()..)?.trim();
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        _ => return None,
    };
    let n: u64 = digits.trim().parse().ok()?;
    n.checked_mul(1u64 << shift)
}

/// How often each bound was reached in one capture: one count per key of
/// [`KEYS`] with a `reached` meaning, under the key's name. Serialized as
/// the bounds reached only (`{"max_connections": 3}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitsHit {
    pub max_fragment_datagrams: u64,
    pub max_fragment_bytes: u64,
    pub max_tunnels: u64,
    pub max_connections: u64,
    pub max_lingering: u64,
    pub max_tombstones: u64,
    pub max_out_of_order_bytes: u64,
    pub max_reassembly_bytes: u64,
    pub max_memory: u64,
    pub max_head_bytes: u64,
    pub max_headers: u64,
    pub max_pending_requests: u64,
    pub max_chunk_size_digits: u64,
    pub max_transactions: u64,
    pub max_tls_hello_bytes: u64,
    pub max_index_connections: u64,
    pub max_groups: u64,
    pub max_list_waiting: u64,
}

impl Serialize for LimitsHit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let reached = self.reached();
        let mut map = s.serialize_map(Some(reached.len()))?;
        for (key, n, _) in reached {
            map.serialize_entry(key, &n)?;
        }
        map.end()
    }
}

/// Counts saturate; a bound is reached at most a few times per packet, so
/// u64::MAX is out of reach and never a wrong count.
fn add(count: &mut u64, n: u64) {
    *count = count.saturating_add(n);
}

impl LimitsHit {
    /// Adds what one finished connection's reassembly ran into.
    pub fn add_tcp(&mut self, dirs: &[DirectionStats; 2]) {
        for d in dirs {
            add(&mut self.max_out_of_order_bytes, d.buffer_cap_hits);
        }
    }

    /// Adds what one finished connection's HTTP parsing ran into.
    pub fn add_http(&mut self, http: &HttpConnectionReport) {
        for d in &http.directions {
            add(&mut self.max_head_bytes, u64::from(d.heads_too_large));
            add(&mut self.max_headers, u64::from(d.too_many_headers));
        }
        add(
            &mut self.max_pending_requests,
            u64::from(http.anomalies.pending_overflow),
        );
        add(
            &mut self.max_transactions,
            http.anomalies.transactions_not_kept,
        );
        let chunk_sizes_too_long = http
            .transactions
            .iter()
            .flat_map(|t| [&t.request, &t.response])
            .flatten()
            .filter(|m| {
                m.chunked
                    .is_some_and(|c| c.error == Some(ChunkError::SizeTooLong))
            })
            .count();
        add(&mut self.max_chunk_size_digits, chunk_sizes_too_long as u64);
    }

    /// Adds what one finished TLS connection ran into.
    pub fn add_tls(&mut self, tls: &TlsReport) {
        add(
            &mut self.max_tls_hello_bytes,
            u64::from(tls.hellos_too_large),
        );
    }

    /// Takes the HTTP- and TLS-level counts gathered by a caller that ran
    /// the connection handler (the TCP-level ones are already here).
    pub fn merge_http(&mut self, http: &LimitsHit) {
        add(&mut self.max_tls_hello_bytes, http.max_tls_hello_bytes);
        add(&mut self.max_head_bytes, http.max_head_bytes);
        add(&mut self.max_headers, http.max_headers);
        add(&mut self.max_pending_requests, http.max_pending_requests);
        add(&mut self.max_chunk_size_digits, http.max_chunk_size_digits);
        add(&mut self.max_transactions, http.max_transactions);
    }

    /// `(key, count, what it meant)` for every bound reached.
    pub fn reached(&self) -> Vec<(&'static str, u64, &'static str)> {
        KEYS.iter()
            .filter_map(|k| {
                let r = k.reached?;
                Some((k.key, (r.count)(self), r.meaning))
            })
            .filter(|(_, n, _)| *n > 0)
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn every_count_has_its_key_and_only_reached_bounds_are_serialized() {
        // One u64 per count: a count without a key would never be reported.
        let counted = KEYS.iter().filter(|k| k.reached.is_some()).count();
        assert_eq!(std::mem::size_of::<LimitsHit>() / 8, counted);
        let hit = LimitsHit {
            max_transactions: 2,
            max_tunnels: 1,
            ..LimitsHit::default()
        };
        let reached: Vec<(&str, u64)> = hit.reached().iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(reached, [("max_tunnels", 1), ("max_transactions", 2)]);
        let json = serde_json::to_string(&hit).unwrap();
        assert_eq!(json, r#"{"max_tunnels":1,"max_transactions":2}"#);
        assert_eq!(serde_json::to_string(&LimitsHit::default()).unwrap(), "{}");
    }

    #[test]
    fn a_size_may_carry_a_binary_unit() {
        assert_eq!(parse_size("1234"), Some(1234));
        assert_eq!(parse_size("32MiB"), Some(32 << 20));
        assert_eq!(parse_size("32 mib"), Some(32 << 20));
        assert_eq!(parse_size("4K"), Some(4096));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("2MB"), None);
        assert_eq!(parse_size("MiB"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("99999999999999GiB"), None);
        let mut l = Limits::default();
        l.set("max_memory=32MiB").unwrap();
        assert_eq!(l.flow.max_memory, 32 << 20);
        assert!(l.set("max_memory=32MB").is_err());
    }

    #[test]
    fn a_limit_is_set_by_its_key() {
        let mut l = Limits::default();
        l.set("max_head_bytes=1234").unwrap();
        assert_eq!(l.http.max_head_bytes, 1234);
        let described = l.describe();
        assert!(described.contains(&("max_head_bytes", 1234, "bytes of one HTTP message head")));
        assert!(l.set("max_head_bytes=0").is_err() && l.set("max_nothing=1").is_err());
        // max_headers cannot be set past what the parser can hold.
        l.set("max_headers=512").unwrap();
        assert_eq!(l.http.max_headers, 512);
        let e = l.set("max_headers=513").unwrap_err();
        assert!(e.contains("at most 512"), "{e}");
        assert_eq!(l.http.max_headers, 512);
    }
}
