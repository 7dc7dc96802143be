//! Runs the pipeline over one capture: reader -> decoder -> flow table, with
//! a stream handler per connection, handing each finished connection to the
//! caller as soon as it is done.

use crate::capture::{CaptureError, CaptureFormat, CaptureReader};
use crate::decode::{DecodeStats, Decoded, Decoder};
use crate::flow::{Connection, Finished, FlowStats, FlowTable};
use crate::http::{HttpConnection, HttpConnectionReport};
pub use crate::limits::Limits;
use crate::reassembly::StreamHandler;
use crate::Timestamp;
use std::path::Path;

/// What was read from one capture, besides the connections themselves.
#[derive(Clone, Debug, Default)]
pub struct CaptureSummary {
    /// The path as the user gave it (`-` for standard input).
    pub path: String,
    pub format: Option<CaptureFormat>,
    pub frames: u64,
    /// Bytes of the file consumed (up to the damage, if any).
    pub bytes: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    pub decode: DecodeStats,
    pub flow: FlowStats,
    /// Where and why reading stopped early, if it did.
    pub error: Option<CaptureError>,
    /// The bounds this capture reached (see [`crate::limits`]).
    pub limits_hit: crate::limits::LimitsHit,
}

/// Reads the capture at `path` (`-` = standard input) through the whole TCP
/// pipeline. Each connection, once finished, goes to `done` with the handler
/// `new_handler` made for it. A damaged capture is read up to the damage and
/// the error recorded in the summary; the connections read so far are still
/// finished and handed over.
pub fn run_capture<H, F, D>(path: &str, limits: &Limits, new_handler: F, done: D) -> CaptureSummary
where
    H: StreamHandler,
    F: FnMut() -> H,
    D: FnMut(Finished<H>),
{
    let opened = CaptureReader::open(Path::new(path), limits.reader);
    run_opened(path, opened, limits, new_handler, done)
}

/// [`run_capture`] over a capture already opened (or that failed to open):
/// for captures held in memory (tests, fuzzing) via [`CaptureReader::from_bytes`].
pub fn run_opened<H, F, D>(
    path: &str,
    opened: Result<CaptureReader, CaptureError>,
    limits: &Limits,
    new_handler: F,
    mut done: D,
) -> CaptureSummary
where
    H: StreamHandler,
    F: FnMut() -> H,
    D: FnMut(Finished<H>),
{
    let mut summary = CaptureSummary {
        path: path.to_string(),
        ..CaptureSummary::default()
    };
    let mut reader = match opened {
        Ok(r) => r,
        Err(e) => {
            summary.error = Some(e);
            return summary;
        }
    };
    summary.format = Some(reader.format());
    let mut decoder = Decoder::with_tunnels(limits.fragments, limits.tunnels);
    let mut table = FlowTable::new(limits.flow, new_handler);
    let mut hit = crate::limits::LimitsHit::default();
    let mut done = |f: Finished<H>| {
        hit.add_tcp(&f.connection.dirs);
        done(f)
    };
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                summary.frames += 1;
                summary.first_ts.get_or_insert(frame.ts);
                summary.last_ts = Some(frame.ts);
                if let (Decoded::Tcp(seg), tunnel) = decoder.decode_tunnelled(&frame) {
                    table.process_tunnelled(&seg, tunnel, &mut done);
                }
            }
            Ok(None) => break,
            Err(e) => {
                summary.error = Some(e);
                break;
            }
        }
    }
    summary.bytes = reader.offset();
    decoder.finish();
    table.finish_all(&mut done);
    summary.decode = decoder.stats.clone();
    summary.flow = table.stats.clone();
    hit.max_fragment_datagrams = summary.decode.fragment_datagram_limit_hits;
    hit.max_fragment_bytes = summary.decode.fragment_byte_limit_hits;
    hit.max_tunnels = summary.decode.tunnels_over_limit;
    hit.max_connections = summary.flow.evicted;
    hit.max_reassembly_bytes = summary.flow.reassembly_budget_hits;
    summary.limits_hit = hit;
    summary
}

/// A finished connection with what the HTTP layer made of it.
#[derive(Debug)]
pub struct Analyzed {
    pub connection: Connection,
    pub http: HttpConnectionReport,
}

/// [`run_capture`] with the HTTP layer on every connection: each finished
/// connection comes with its transactions.
pub fn run_http_capture<D>(path: &str, limits: &Limits, mut done: D) -> CaptureSummary
where
    D: FnMut(Analyzed),
{
    let http_limits = limits.http;
    let mut hit = crate::limits::LimitsHit::default();
    let mut summary = run_capture(
        path,
        limits,
        || HttpConnection::new(http_limits),
        |f| {
            let http = f.handler.finish(&f.connection);
            hit.add_http(&http);
            done(Analyzed {
                connection: f.connection,
                http,
            })
        },
    );
    summary.limits_hit.merge_http(&hit);
    summary
}

/// What `connlint check` found in one capture.
pub struct CheckOutcome {
    pub summary: CaptureSummary,
    pub connections: u64,
    pub transactions: u64,
    pub findings: Vec<crate::rules::Finding>,
}

/// Reads a capture through the pipeline and the linter.
pub fn run_check(path: &str, limits: &Limits, config: &crate::rules::Config) -> CheckOutcome {
    let opened = CaptureReader::open(Path::new(path), limits.reader);
    run_check_opened(path, opened, limits, config)
}

/// [`run_check`] over a capture already opened (or that failed to open).
pub fn run_check_opened(
    path: &str,
    opened: Result<CaptureReader, CaptureError>,
    limits: &Limits,
    config: &crate::rules::Config,
) -> CheckOutcome {
    use crate::rules::{CheckHandler, ConnectionFacts, Linter};
    // Ack releases whose sender was quiet for less than the smallest
    // enabled Nagle / delayed-ACK threshold cannot make a rule fire: not
    // worth keeping.
    let min_wait_ns = crate::rules::all()
        .iter()
        .zip(&config.rules)
        .filter(|(r, s)| s.enabled && matches!(r.meta().code, "T001" | "T002"))
        .map(|(r, s)| match r.meta().code {
            "T001" => s.ms_as_ns("stall_ms"),
            _ => s.ms_as_ns("idle_ms"),
        })
        .min()
        .unwrap_or(i64::MAX);
    let http_limits = limits.http;
    let mut linter = Linter::new(config);
    let (mut connections, mut transactions) = (0u64, 0u64);
    // The tunnels of tunnelled connections, to name them on their findings.
    let mut tunnels = TunnelNames::default();
    let mut hit = crate::limits::LimitsHit::default();
    let summary = run_opened(
        path,
        opened,
        limits,
        || CheckHandler::new(http_limits, min_wait_ns),
        |f| {
            let http = f.handler.http.finish(&f.connection);
            hit.add_http(&http);
            connections += 1;
            transactions += http.transactions.len() as u64;
            if let Some(t) = &f.connection.tunnel {
                tunnels.add(f.connection.id, t);
            }
            linter.connection(&ConnectionFacts {
                conn: &f.connection,
                http: &http,
                releases: &f.handler.releases,
            });
        },
    );
    let mut summary = summary;
    summary.limits_hit.merge_http(&hit);
    let mut findings = linter.finish();
    tunnels.name(&mut findings);
    CheckOutcome {
        summary,
        connections,
        transactions,
        findings,
    }
}

/// The tunnel of each tunnelled connection of a check, so that its
/// findings can name it: interned descriptions, and (connection id,
/// description index) in order of finishing. Untunnelled captures keep
/// nothing; a tunnelled one keeps 16 bytes per connection, up to
/// [`TunnelNames::MAX_CONNECTIONS`] connections and
/// [`TunnelNames::MAX_NAMES`] distinct descriptions (findings on the
/// connections past either go without the name; the connections listing
/// still shows it).
#[derive(Default)]
struct TunnelNames {
    names: Vec<String>,
    index: std::collections::HashMap<String, u32>,
    by_connection: Vec<(u64, u32)>,
}

impl TunnelNames {
    const MAX_CONNECTIONS: usize = 1 << 20;
    const MAX_NAMES: usize = 1 << 16;

    fn add(&mut self, id: u64, tunnel: &crate::decode::TunnelPath) {
        if self.by_connection.len() >= Self::MAX_CONNECTIONS {
            return;
        }
        let name = tunnel.to_string();
        let i = match self.index.get(&name) {
            Some(&i) => i,
            None if self.names.len() < Self::MAX_NAMES => {
                let i = self.names.len() as u32;
                self.index.insert(name.clone(), i);
                self.names.push(name);
                i
            }
            None => return,
        };
        self.by_connection.push((id, i));
    }

    /// Adds `tunnel` to the evidence of every finding on a tunnelled connection.
    fn name(mut self, findings: &mut [crate::rules::Finding]) {
        if self.by_connection.is_empty() {
            return;
        }
        self.by_connection.sort_unstable();
        for f in findings {
            if let Ok(at) = self
                .by_connection
                .binary_search_by_key(&f.connection, |(id, _)| *id)
            {
                let name = self
                    .by_connection
                    .get(at)
                    .and_then(|(_, i)| self.names.get(*i as usize));
                if let Some(name) = name {
                    f.evidence
                        .insert("tunnel".to_string(), serde_json::Value::from(name.as_str()));
                }
            }
        }
    }
}

/// The HTTP layer for `connlint connections`, which needs only how many
/// transactions each connection carried: settled transactions are counted
/// and dropped as the connection goes, so a long keep-alive connection does
/// not hold them all (measured: 10% of the command's time on the benchmark).
struct CountingHttp {
    http: HttpConnection,
    settled: u64,
}

impl CountingHttp {
    fn drain(&mut self) {
        let n = self.http.drain_settled(None).count() as u64;
        self.settled = self.settled.saturating_add(n);
    }
}

impl StreamHandler for CountingHttp {
    fn on_data(&mut self, from: crate::reassembly::Side, offset: u64, bytes: &[u8], ts: Timestamp) {
        self.http.on_data(from, offset, bytes, ts);
        self.drain();
    }
    fn on_gap(&mut self, from: crate::reassembly::Side, offset: u64, len: u64, ts: Timestamp) {
        self.http.on_gap(from, offset, len, ts);
    }
    fn on_fin(&mut self, from: crate::reassembly::Side, ts: Timestamp) {
        self.http.on_fin(from, ts);
    }
    fn on_rst(&mut self, from: crate::reassembly::Side, ts: Timestamp) {
        self.http.on_rst(from, ts);
    }
}

/// [`run_capture`] with the HTTP layer counting transactions: each finished
/// connection comes with its transaction count.
pub fn run_counting_capture<D>(path: &str, limits: &Limits, mut done: D) -> CaptureSummary
where
    D: FnMut(Connection, u64),
{
    let http_limits = limits.http;
    let mut hit = crate::limits::LimitsHit::default();
    let mut summary = run_capture(
        path,
        limits,
        || CountingHttp {
            http: HttpConnection::new(http_limits),
            settled: 0,
        },
        |f| {
            let settled = f.handler.settled;
            let http = f.handler.http.finish(&f.connection);
            hit.add_http(&http);
            let n = settled.saturating_add(http.transactions.len() as u64);
            done(f.connection, n)
        },
    );
    summary.limits_hit.merge_http(&hit);
    summary
}
