//! `connlint report CAPTURE... -o report.html`: one self-contained HTML
//! file (CSS, script and data inline; nothing fetched) with what was read,
//! the findings by rule, and a connection waterfall drawn on a canvas by
//! `waterfall.js`.
//!
//! The builder consumes what `check`'s pipeline hands out, as it comes
//! ([`CheckConsumer`]): each finished connection becomes a lane (kept until
//! the end: the page's data blob is the output, and it is what is held),
//! each finding a row pointing at its lane. What keeps the file and the
//! page bounded at scale:
//!
//! - at most [`ReportOptions::lanes_per_pair`] lanes per client host ->
//!   server endpoint pair (the earliest-starting connections); the pair's
//!   other connections are *grouped* into one lane that shows how many
//!   there were, when they started (a histogram of [`MAX_BINS`] bins), their
//!   transactions, summed phases, statuses and findings;
//! - at most [`ReportOptions::max_lanes`] lanes in all; past it every new
//!   connection is grouped with its pair's, and past [`MAX_GROUPS`] groups
//!   with all the capture's other ones;
//! - at most [`ReportOptions::max_bars`] transaction bars and
//!   [`ReportOptions::max_findings`] findings with their evidence (the
//!   counts by rule and severity always count every finding);
//!
//! and the page says what was grouped or left out. Times in the blob are
//! microseconds since each capture's first packet: captures share one time
//! axis, each starting at 0.

// Written to the crate's coming lint policy (no panicking shortcuts).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

use super::group::host;
use super::CheckConsumer;
use crate::analyze::{Analyzed, CheckOutcome};
use crate::flow::CloseKind;
use crate::http::MarkKind;
use crate::reassembly::Side;
use crate::rules::{Finding, Severity};
use crate::Timestamp;
use askama::Template;
use rustc_hash::FxHashMap;
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{self, Write};

/// Bins of a grouped lane's histogram of connection starts.
pub const MAX_BINS: usize = 256;
/// Grouped lanes per report; past it, a capture's further grouped
/// connections share one "all other connections" lane.
pub const MAX_GROUPS: usize = 2000;

/// The bounds of a report (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportOptions {
    /// Lanes per client host -> server endpoint pair; 0: no bound.
    pub lanes_per_pair: usize,
    pub max_lanes: usize,
    pub max_bars: usize,
    pub max_findings: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            lanes_per_pair: 1000,
            max_lanes: 200_000,
            max_bars: 400_000,
            max_findings: 20_000,
        }
    }
}

/// Strings the blob refers to by index (endpoints, methods, URIs, tunnels).
#[derive(Default)]
struct Interner {
    list: Vec<String>,
    index: FxHashMap<String, u32>,
}

impl Interner {
    fn get(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        self.list.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
}

/// One transaction's bar: its four instants (ns since the epoch) and what
/// it was.
struct Bar {
    index: u64,
    times: [Option<i64>; 4],
    status: u16,
    method: u32,
    uri: u32,
    /// 1 pipelined, 2 complete, 4 no response, 8 tunnel, 16 orphan response.
    flags: u8,
}

/// A connection's lane.
struct Lane {
    cap: u32,
    id: u64,
    client: u32,
    server: u32,
    generation: u32,
    /// What it spoke (`http1`, `tls`, `h2`, `h2c`, `unknown`).
    protocol: &'static str,
    start: i64,
    end: i64,
    syn_ack: Option<i64>,
    /// The handshake's last ACK.
    ack: Option<i64>,
    close: CloseKind,
    /// The first FIN (either side) or the RST.
    close_ts: Option<i64>,
    /// 0 client, 1 server (RST); -1 none.
    rst_side: i8,
    tunnel: Option<u32>,
    /// (time, 0 client retransmission / 1 server / 2 client gap / 3 server gap, frame or -1).
    marks: Vec<(i64, u8, i64)>,
    bars: Vec<Bar>,
    /// Transactions on the connection, drawn or not.
    transactions: u64,
    first_frame: u64,
    last_frame: u64,
    /// Phases summed for a group it may join (ns).
    phases: [i64; 4],
    statuses: [u64; 6],
}

/// A start-time histogram whose bins widen (doubling) to stay within
/// [`MAX_BINS`], whatever the span.
#[derive(Default)]
struct Hist {
    width: i64,
    bins: BTreeMap<i64, u64>,
}

impl Hist {
    fn add(&mut self, t: i64, n: u64) {
        if self.width == 0 {
            self.width = 1_000_000; // 1 ms to start with
        }
        let k = t.div_euclid(self.width);
        let b = self.bins.entry(k).or_default();
        *b = b.saturating_add(n);
        while self.bins.len() > MAX_BINS {
            self.width = self.width.saturating_mul(2);
            let old = std::mem::take(&mut self.bins);
            for (k, n) in old {
                let b = self.bins.entry(k.div_euclid(2)).or_default();
                *b = b.saturating_add(n);
            }
        }
    }
}

/// The connections of one pair beyond its lanes, as one lane.
struct Group {
    cap: u32,
    /// The client host, or `*`.
    client: u32,
    /// The server endpoint, or `*`.
    server: u32,
    connections: u64,
    transactions: u64,
    first: i64,
    last: i64,
    hist: Hist,
    /// connect, send, wait, receive summed (ns).
    phases: [i64; 4],
    /// Statuses: none, 1xx, 2xx, 3xx, 4xx, 5xx.
    statuses: [u64; 6],
    /// Closes: FIN, RST, open.
    closes: [u64; 3],
    retransmissions: u64,
    gaps: u64,
}

impl Group {
    fn add(&mut self, lane: &Lane) {
        self.connections = self.connections.saturating_add(1);
        self.transactions = self.transactions.saturating_add(lane.transactions);
        self.first = self.first.min(lane.start);
        self.last = self.last.max(lane.end);
        self.hist.add(lane.start, 1);
        for (sum, p) in self.phases.iter_mut().zip(lane.phases) {
            *sum = sum.saturating_add(p);
        }
        for (sum, n) in self.statuses.iter_mut().zip(lane.statuses) {
            *sum = sum.saturating_add(n);
        }
        let close = match lane.close {
            CloseKind::Fin => 0,
            CloseKind::Rst => 1,
            CloseKind::Open => 2,
        };
        if let Some(c) = self.closes.get_mut(close) {
            *c = c.saturating_add(1);
        }
        for m in &lane.marks {
            if m.1 < 2 {
                self.retransmissions = self.retransmissions.saturating_add(1);
            } else {
                self.gaps = self.gaps.saturating_add(1);
            }
        }
    }
}

/// Per pair: its lanes (a max-heap on start, to give the latest-starting
/// one up to an earlier connection) and its group.
#[derive(Default)]
struct Pair {
    lanes: BinaryHeap<(i64, u64, usize)>,
    group: Option<usize>,
}

/// A finding held for the page.
struct Held {
    rule: u32,
    severity: Severity,
    cap: u32,
    connection: u64,
    transaction: Option<u64>,
    ts: i64,
    client: String,
    server: String,
    message: String,
    evidence: serde_json::Value,
}

/// What a capture contributed.
#[derive(Default)]
struct CaptureInfo {
    path: String,
    packets: u64,
    bytes: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    connections: u64,
    transactions: u64,
    damage: Option<String>,
    notes: Vec<String>,
}

/// Builds the report as the pipeline hands out connections and findings;
/// [`ReportBuilder::write`] renders it.
pub struct ReportBuilder {
    options: ReportOptions,
    captures: Vec<CaptureInfo>,
    strings: Interner,
    lanes: Vec<Option<Lane>>,
    lane_count: usize,
    lane_of: FxHashMap<(u32, u64), usize>,
    pairs: FxHashMap<(u32, u32, u32), Pair>,
    groups: Vec<Group>,
    /// The "all other connections" group of each capture, once needed.
    overflow: FxHashMap<u32, usize>,
    bars: usize,
    findings: Vec<Held>,
    findings_left_out: u64,
    /// Every finding: (code, severity) -> count.
    counts: BTreeMap<(&'static str, Severity), u64>,
    rules: Interner,
}

fn sev(s: Severity) -> u8 {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Error => 2,
    }
}

impl ReportBuilder {
    pub fn new(options: ReportOptions) -> ReportBuilder {
        ReportBuilder {
            options,
            captures: Vec::new(),
            strings: Interner::default(),
            lanes: Vec::new(),
            lane_count: 0,
            lane_of: FxHashMap::default(),
            pairs: FxHashMap::default(),
            groups: Vec::new(),
            overflow: FxHashMap::default(),
            bars: 0,
            findings: Vec::new(),
            findings_left_out: 0,
            counts: BTreeMap::new(),
            rules: Interner::default(),
        }
    }

    fn cap(&self) -> u32 {
        u32::try_from(self.captures.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }

    fn lane(&mut self, a: &Analyzed) -> Lane {
        let c = &a.connection;
        let ns = |t: Timestamp| t.nanos();
        let mut phases = [0i64; 4];
        let mut statuses = [0u64; 6];
        let mut bars = Vec::new();
        for tx in &a.http.transactions {
            let t = &tx.timing;
            for (sum, p) in
                phases
                    .iter_mut()
                    .zip([t.connect_ns, t.send_ns, t.wait_ns, t.receive_ns])
            {
                *sum = sum.saturating_add(p.unwrap_or(0).max(0));
            }
            let class = tx.status.map_or(0, |s| usize::from((s / 100).clamp(1, 5)));
            if let Some(n) = statuses.get_mut(class) {
                *n = n.saturating_add(1);
            }
            if self.bars >= self.options.max_bars {
                continue;
            }
            self.bars = self.bars.saturating_add(1);
            let flags = u8::from(tx.pipelined)
                | u8::from(tx.complete) << 1
                | u8::from(tx.request.is_some() && tx.response.is_none()) << 2
                | u8::from(tx.tunnel) << 3
                | u8::from(tx.orphan_response) << 4;
            bars.push(Bar {
                index: tx.index,
                times: [
                    t.request_start_ts.map(ns),
                    t.request_end_ts.map(ns),
                    t.response_start_ts.map(ns),
                    t.response_end_ts.map(ns),
                ],
                status: tx.status.unwrap_or(0),
                method: self.strings.get(tx.method.as_deref().unwrap_or("")),
                uri: self.strings.get(tx.uri.as_deref().unwrap_or("")),
                flags,
            });
        }
        let marks = a
            .marks
            .iter()
            .map(|m| {
                let kind = match (m.kind, m.side) {
                    (MarkKind::Retransmission, Side::Client) => 0,
                    (MarkKind::Retransmission, Side::Server) => 1,
                    (MarkKind::Gap, Side::Client) => 2,
                    (MarkKind::Gap, Side::Server) => 3,
                };
                let frame = m.frame.map_or(-1, |f| i64::try_from(f).unwrap_or(-1));
                (m.ts.nanos(), kind, frame)
            })
            .collect();
        let first_fin = c.fin.iter().flatten().min().copied();
        let (close_ts, rst_side) = match c.rst {
            Some((side, ts)) => (Some(ts), if side == Side::Client { 0 } else { 1 }),
            None => (first_fin, -1),
        };
        let handshake_done = c.handshake.rtt_ns().and(c.handshake.ack);
        Lane {
            cap: self.cap(),
            id: c.id,
            client: self.strings.get(&c.client.to_string()),
            server: self.strings.get(&c.server.to_string()),
            generation: c.generation,
            protocol: a.protocol.name(),
            start: c.start_ts.nanos(),
            end: c.end_ts.nanos(),
            syn_ack: c.handshake.syn_ack.map(ns),
            ack: handshake_done.map(ns),
            close: c.close_kind(),
            close_ts: close_ts.map(ns),
            rst_side,
            tunnel: c.tunnel.as_ref().map(|t| self.strings.get(&t.to_string())),
            marks,
            bars,
            transactions: a.transaction_count(),
            first_frame: c.first_frame,
            last_frame: c.last_frame,
            phases,
            statuses,
        }
    }

    /// The group of `pair` (or the capture's overflow group), made if new.
    fn group_of(&mut self, pair: (u32, u32, u32), start: i64) -> usize {
        if let Some(g) = self.pairs.get(&pair).and_then(|p| p.group) {
            return g;
        }
        let (cap, client, server) = if self.groups.len() >= MAX_GROUPS {
            if let Some(&g) = self.overflow.get(&pair.0) {
                return g;
            }
            let any = self.strings.get("*");
            (pair.0, any, any)
        } else {
            pair
        };
        let g = self.groups.len();
        self.groups.push(Group {
            cap,
            client,
            server,
            connections: 0,
            transactions: 0,
            first: start,
            last: start,
            hist: Hist::default(),
            phases: [0; 4],
            statuses: [0; 6],
            closes: [0; 3],
            retransmissions: 0,
            gaps: 0,
        });
        if self.groups.len() > MAX_GROUPS {
            self.overflow.insert(pair.0, g);
        } else {
            self.pairs.entry(pair).or_default().group = Some(g);
        }
        g
    }

    fn join_group(&mut self, pair: (u32, u32, u32), lane: &Lane) {
        let g = self.group_of(pair, lane.start);
        if let Some(group) = self.groups.get_mut(g) {
            group.add(lane);
        }
        // Its bars are not drawn: their room goes to later lanes.
        self.bars = self.bars.saturating_sub(lane.bars.len());
    }

    /// Writes the page.
    pub fn write<W: Write>(self, out: &mut W) -> io::Result<()> {
        let page = self.page();
        page.write_into(out).map_err(io::Error::other)
    }
}

impl CheckConsumer for ReportBuilder {
    fn capture(&mut self, path: &str) {
        self.captures.push(CaptureInfo {
            path: path.to_string(),
            ..CaptureInfo::default()
        });
    }

    fn connection(&mut self, a: &Analyzed) {
        if self.captures.is_empty() {
            self.capture("-");
        }
        let lane = self.lane(a);
        let client_host = self.strings.get(host(&a.connection.client.to_string()));
        let pair = (lane.cap, client_host, lane.server);
        let bound = self.options.lanes_per_pair;
        let full = self.lane_count >= self.options.max_lanes;
        let entry = self.pairs.entry(pair).or_default();
        let pair_full = bound > 0 && entry.lanes.len() >= bound;
        if full && !pair_full {
            self.join_group(pair, &lane);
            return;
        }
        if pair_full {
            // Keep the earliest-starting: give up the latest if this one
            // started before it.
            let latest = entry.lanes.peek().copied();
            match latest {
                Some((start, _, at)) if lane.start < start => {
                    entry.lanes.pop();
                    let old = self.lanes.get_mut(at).and_then(Option::take);
                    if let Some(old) = old {
                        self.lane_of.remove(&(old.cap, old.id));
                        self.join_group(pair, &old);
                        self.lane_count = self.lane_count.saturating_sub(1);
                    }
                }
                _ => {
                    self.join_group(pair, &lane);
                    return;
                }
            }
        }
        let at = self.lanes.len();
        self.lane_of.insert((lane.cap, lane.id), at);
        if let Some(p) = self.pairs.get_mut(&pair) {
            p.lanes.push((lane.start, lane.id, at));
        }
        self.lanes.push(Some(lane));
        self.lane_count = self.lane_count.saturating_add(1);
    }

    fn finding(&mut self, f: &Finding) {
        let n = self.counts.entry((f.code, f.severity)).or_default();
        *n = n.saturating_add(1);
        if self.findings.len() >= self.options.max_findings {
            self.findings_left_out = self.findings_left_out.saturating_add(1);
            return;
        }
        let rule = self.rules.get(f.code);
        self.findings.push(Held {
            rule,
            severity: f.severity,
            cap: self.cap(),
            connection: f.connection,
            transaction: f.transaction,
            ts: f.ts.nanos(),
            client: f.client.clone(),
            server: f.server.clone(),
            message: f.message.clone(),
            evidence: serde_json::to_value(&f.evidence).unwrap_or_default(),
        });
    }

    fn capture_done(&mut self, o: &CheckOutcome) {
        let Some(c) = self.captures.last_mut() else {
            return;
        };
        let s = &o.summary;
        c.packets = s.frames;
        c.bytes = s.bytes;
        c.first = s.first_ts;
        c.last = s.last_ts;
        c.connections = o.connections;
        c.transactions = o.transactions;
        c.damage = s
            .error
            .as_ref()
            .map(|e| format!("byte offset {}: {}", e.offset, e.reason));
        c.notes = s
            .limits_hit
            .reached()
            .into_iter()
            .map(|(key, n, meaning)| format!("limit {key} reached {n} times: {meaning}"))
            .collect();
    }
}

/// The page's template: the header rendered here, the waterfall by the
/// script from the data blob.
#[derive(Template)]
#[template(path = "report.html")]
struct Page {
    title: String,
    captures: Vec<CaptureRow>,
    rules: Vec<RuleRow>,
    totals: Totals,
    notes: Vec<String>,
    data: String,
    css: &'static str,
    script: &'static str,
}

struct CaptureRow {
    path: String,
    packets: u64,
    duration: String,
    connections: u64,
    transactions: u64,
    damage: Option<String>,
    notes: Vec<String>,
}

struct RuleRow {
    code: &'static str,
    name: &'static str,
    summary: &'static str,
    doc: &'static str,
    error: u64,
    warning: u64,
    info: u64,
}

struct Totals {
    connections: u64,
    transactions: u64,
    findings: u64,
    error: u64,
    warning: u64,
    info: u64,
}

/// A bar in the blob: index, request start/end, response start/end (µs),
/// status, method, URI, flags.
type BarRow = (u64, i64, i64, i64, i64, u16, u32, u32, u8);

/// Serialises an iterator as a JSON array without collecting it.
struct Seq<I>(std::cell::RefCell<Option<I>>);

impl<I> Serialize for Seq<I>
where
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        if let Some(it) = self.0.borrow_mut().take() {
            for item in it {
                seq.serialize_element(&item)?;
            }
        }
        seq.end()
    }
}

fn seq<I: Iterator>(it: I) -> Seq<I> {
    Seq(std::cell::RefCell::new(Some(it)))
}

/// JSON made safe to sit in a `<script>` element: no `<`, `>` or `&`.
fn script_safe(json: &str) -> String {
    let mut s = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => s.push_str("\\u003c"),
            '>' => s.push_str("\\u003e"),
            '&' => s.push_str("\\u0026"),
            '\u{2028}' => s.push_str("\\u2028"),
            '\u{2029}' => s.push_str("\\u2029"),
            c => s.push(c),
        }
    }
    s
}

impl ReportBuilder {
    fn page(self) -> Page {
        let t0: Vec<i64> = self
            .captures
            .iter()
            .map(|c| c.first.map_or(0, Timestamp::nanos))
            .collect();
        let origin = |cap: u32| t0.get(cap as usize).copied().unwrap_or(0);
        // µs since the capture's first packet; -1 for none.
        let rel = |cap: u32, t: Option<i64>| {
            t.map_or(-1, |t| t.saturating_sub(origin(cap)).max(0) / 1000)
        };
        let mut lanes: Vec<Lane> = self.lanes.into_iter().flatten().collect();
        // Transactions of the lanes counted but not drawn (the bars' bound).
        let bars_left_out: u64 = lanes
            .iter()
            .map(|l| l.transactions.saturating_sub(l.bars.len() as u64))
            .sum();
        lanes.sort_by_key(|l| (l.cap, l.start, l.id));
        let position: FxHashMap<(u32, u64), usize> = lanes
            .iter()
            .enumerate()
            .map(|(i, l)| ((l.cap, l.id), i))
            .collect();
        let mut strings = self.strings;
        strings.get("*");
        let pair_group: FxHashMap<(u32, u32, u32), usize> = self
            .pairs
            .iter()
            .filter_map(|(k, p)| p.group.map(|g| (*k, g)))
            .collect();
        let findings_json = seq(self.findings.iter().map(|f| {
            let lane = position.get(&(f.cap, f.connection)).copied();
            let group = match lane {
                Some(_) => None,
                None => {
                    let key = (
                        f.cap,
                        strings
                            .index
                            .get(host(&f.client))
                            .copied()
                            .unwrap_or(u32::MAX),
                        strings
                            .index
                            .get(f.server.as_str())
                            .copied()
                            .unwrap_or(u32::MAX),
                    );
                    pair_group
                        .get(&key)
                        .or_else(|| self.overflow.get(&f.cap))
                        .copied()
                }
            };
            (
                f.rule,
                sev(f.severity),
                f.cap,
                f.connection,
                f.transaction.map_or(-1, |t| i64::try_from(t).unwrap_or(-1)),
                rel(f.cap, Some(f.ts)),
                lane.map_or(-1, |l| i64::try_from(l).unwrap_or(-1)),
                group.map_or(-1, |g| i64::try_from(g).unwrap_or(-1)),
                &f.message,
                &f.evidence,
            )
        }));
        let lanes_json = seq(lanes.iter().map(|l| {
            let c = l.cap;
            let marks: Vec<i64> = l
                .marks
                .iter()
                .flat_map(|&(t, k, f)| [rel(c, Some(t)), i64::from(k), f])
                .collect();
            let bars: Vec<BarRow> = l
                .bars
                .iter()
                .map(|b| {
                    let [a, bb, cc, d] = b.times.map(|t| rel(c, t));
                    (b.index, a, bb, cc, d, b.status, b.method, b.uri, b.flags)
                })
                .collect();
            (
                (c, l.id, l.client, l.server, l.generation, l.protocol),
                (rel(c, Some(l.start)), rel(c, Some(l.end))),
                (rel(c, l.syn_ack), rel(c, l.ack)),
                (
                    match l.close {
                        CloseKind::Open => 0,
                        CloseKind::Fin => 1,
                        CloseKind::Rst => 2,
                    },
                    rel(c, l.close_ts),
                    l.rst_side,
                ),
                l.tunnel.map_or(-1, i64::from),
                marks,
                bars,
                (l.transactions, l.first_frame, l.last_frame),
            )
        }));
        let groups_json = seq(self.groups.iter().map(|g| {
            let c = g.cap;
            let width_us = g.hist.width / 1000;
            let origin_us = g.hist.bins.keys().next().map_or(0, |k| {
                k.saturating_mul(g.hist.width).saturating_sub(origin(c)) / 1000
            });
            let first_key = g.hist.bins.keys().next().copied().unwrap_or(0);
            let bins: Vec<(i64, u64)> = g
                .hist
                .bins
                .iter()
                .map(|(k, n)| (k.saturating_sub(first_key), *n))
                .collect();
            (
                (c, g.client, g.server),
                (g.connections, g.transactions),
                (rel(c, Some(g.first)), rel(c, Some(g.last))),
                (origin_us, width_us, bins),
                g.phases.map(|p| p / 1000),
                g.statuses,
                g.closes,
                (g.retransmissions, g.gaps),
            )
        }));
        let rule_codes: Vec<&String> = self.rules.list.iter().collect();
        let captures_json: Vec<_> = self
            .captures
            .iter()
            .map(|c| {
                let span = match (c.first, c.last) {
                    (Some(a), Some(b)) => b.since(a) / 1000,
                    _ => 0,
                };
                (&c.path, c.first.map_or(0.0, Timestamp::as_secs_f64), span)
            })
            .collect();
        let data = serde_json::json!({
            "captures": captures_json,
            "strings": strings.list,
            "rules": rule_codes,
            "lanes": lanes_json,
            "groups": groups_json,
            "findings": findings_json,
            "leftOut": {
                "bars": bars_left_out,
                "findings": self.findings_left_out,
            },
            "docs": crate::rules::all().iter().map(|r| {
                let m = r.meta();
                (m.code, m.name, m.severity)
            }).collect::<Vec<_>>(),
        });
        let data = script_safe(&data.to_string());
        let mut notes = Vec::new();
        for g in &self.groups {
            let name = |i: u32| strings.list.get(i as usize).map_or("?", String::as_str);
            notes.push(format!(
                "{}: {} connection{} of {} -> {} grouped in one lane ({} transactions){}",
                self.captures
                    .get(g.cap as usize)
                    .map_or("?", |c| c.path.as_str()),
                g.connections,
                if g.connections == 1 { "" } else { "s" },
                name(g.client),
                name(g.server),
                g.transactions,
                if name(g.client) == "*" {
                    format!(" past {MAX_GROUPS} grouped lanes")
                } else if self.options.lanes_per_pair > 0 {
                    format!(
                        ": the pair's lanes are its {} earliest-starting connections",
                        self.options.lanes_per_pair
                    )
                } else {
                    String::new()
                }
            ));
        }
        if self.lane_count >= self.options.max_lanes {
            notes.push(format!(
                "the report's bound of {} lanes was reached: later connections are grouped",
                self.options.max_lanes
            ));
        }
        if bars_left_out > 0 {
            notes.push(format!(
                "{} transactions are counted but not drawn (bound: {} bars)",
                bars_left_out, self.options.max_bars
            ));
        }
        if self.findings_left_out > 0 {
            notes.push(format!(
                "{} findings are counted but not listed (bound: {} findings)",
                self.findings_left_out, self.options.max_findings
            ));
        }
        let mut rules = Vec::new();
        let mut totals = Totals {
            connections: self.captures.iter().map(|c| c.connections).sum(),
            transactions: self.captures.iter().map(|c| c.transactions).sum(),
            findings: 0,
            error: 0,
            warning: 0,
            info: 0,
        };
        for r in crate::rules::all() {
            let m = r.meta();
            let n = |s: Severity| self.counts.get(&(m.code, s)).copied().unwrap_or(0);
            let row = RuleRow {
                code: m.code,
                name: m.name,
                summary: m.summary,
                doc: m.doc,
                error: n(Severity::Error),
                warning: n(Severity::Warning),
                info: n(Severity::Info),
            };
            totals.error = totals.error.saturating_add(row.error);
            totals.warning = totals.warning.saturating_add(row.warning);
            totals.info = totals.info.saturating_add(row.info);
            rules.push(row);
        }
        totals.findings = totals
            .error
            .saturating_add(totals.warning)
            .saturating_add(totals.info);
        Page {
            title: match self.captures.as_slice() {
                [one] => format!("connlint: {}", one.path),
                all => format!("connlint: {} captures", all.len()),
            },
            captures: self
                .captures
                .iter()
                .map(|c| CaptureRow {
                    path: c.path.clone(),
                    packets: c.packets,
                    duration: match (c.first, c.last) {
                        (Some(a), Some(b)) => format!("{:.3} s", b.since(a) as f64 / 1e9),
                        _ => "-".to_string(),
                    },
                    connections: c.connections,
                    transactions: c.transactions,
                    damage: c.damage.clone(),
                    notes: c.notes.clone(),
                })
                .collect(),
            rules,
            totals,
            notes,
            data,
            css: include_str!("report.css"),
            script: include_str!("waterfall.js"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn the_blob_cannot_end_its_script_element() {
        let json =
            serde_json::json!({"uri": "/a</script><script>alert(1)</script>&\u{2028}"}).to_string();
        let safe = script_safe(&json);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        assert!(!safe.contains('\u{2028}'));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["uri"], "/a</script><script>alert(1)</script>&\u{2028}");
    }

    #[test]
    fn a_histogram_widens_its_bins_to_stay_within_the_bound() {
        let mut h = Hist::default();
        // One start per ms for 10 s: 10 000 ms-wide bins would be needed.
        for i in 0..10_000i64 {
            h.add(i * 1_000_000, 1);
        }
        assert!(h.bins.len() <= MAX_BINS, "{} bins", h.bins.len());
        assert_eq!(h.bins.values().sum::<u64>(), 10_000);
        // 1 ms doubled until 10 s fit in 256 bins: 64 ms.
        assert_eq!(h.width, 64_000_000);
        // Within the bound, the first width stays.
        let mut h = Hist::default();
        for i in 0..MAX_BINS as i64 {
            h.add(i * 1_000_000, 1);
        }
        assert_eq!(h.width, 1_000_000);
        assert_eq!(h.bins.len(), MAX_BINS);
    }
}
