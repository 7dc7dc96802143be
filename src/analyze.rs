//! Runs the pipeline over one capture: reader -> decoder -> flow table, with
//! the HTTP layer's stream handler on each connection (told what to keep),
//! handing each finished connection to the caller as soon as it is done;
//! and `check`'s run, which hands them to the linter.

use crate::capture::{CaptureError, CaptureFormat, CaptureReader, Frame, Reorder, ReorderStats};
use crate::decode::{DecodeStats, Decoded, Decoder};
use crate::flow::{Connection, Finished, FlowStats, FlowTable};
use crate::http::{ConnectionHandler, HttpConnectionReport, Keep, Protocol};
pub use crate::limits::Limits;
use crate::reassembly::{AckRelease, StreamHandler};
use crate::tls::{DecryptReport, KeyLog, KeySource, ReleasePlace, TlsReport};
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
    /// The first and last frame's time, in time order.
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// Frames put back in time order, or not, and clock anomalies.
    pub reorder: ReorderStats,
    pub decode: DecodeStats,
    pub flow: FlowStats,
    /// Where and why reading stopped early, if it did.
    pub error: Option<CaptureError>,
    /// The bounds this capture reached (see [`crate::limits`]).
    pub limits_hit: crate::limits::LimitsHit,
    /// Reading stopped early because a stop was requested (Ctrl-C, see
    /// [`crate::interrupt`]); the report covers what was read.
    pub interrupted: bool,
    /// The compression the capture was read through (`gzip`, `zstd`): byte
    /// offsets are then in the decompressed data.
    pub compression: Option<&'static str>,
    /// Frames the filter left out (outside the time window, or a segment
    /// not of `--host` / `--port`), and finished connections it left out
    /// (`--server`, `--client`).
    pub filtered_frames: u64,
    pub filtered_connections: u64,
    /// What the connections were (HTTP/1.x or what else), when the HTTP
    /// layer ran.
    pub seen: crate::http::sniff::Seen,
    /// TLS connections read with a key log and not decrypted, by reason
    /// and cipher suite.
    pub undecrypted: crate::tls::UndecryptedCounts,
}

/// A finished connection with what the HTTP layer made of it.
#[derive(Debug)]
pub struct Analyzed {
    /// The capture's first packet: every command's time zero.
    pub capture_start: Timestamp,
    pub connection: Connection,
    /// The transactions kept ([`Keep::transactions`]) and the rest of the
    /// HTTP layer's report.
    pub http: HttpConnectionReport,
    /// Transactions counted and dropped as they settled (when not kept).
    pub settled: u64,
    /// The ack releases kept ([`Keep::ack_releases_idle_ns`]).
    pub releases: Vec<AckRelease>,
    /// The retransmissions and gaps kept ([`Keep::marks`]).
    pub marks: Vec<crate::http::Mark>,
    /// What the connection spoke.
    pub protocol: Protocol,
    /// What the TLS stage found, on a TLS connection.
    pub tls: Option<Box<TlsReport>>,
    /// On a TLS connection, where each kept ack release sat among its
    /// sender's records.
    pub release_places: Vec<ReleasePlace>,
    /// On a TLS connection read with a key log, what decryption made of it.
    pub decryption: Option<DecryptReport>,
}

impl Analyzed {
    /// A TLS connection whose HTTP was read by decrypting it.
    pub fn decrypted(&self) -> bool {
        self.decryption
            .as_ref()
            .is_some_and(DecryptReport::decrypted)
    }
}

impl Analyzed {
    /// Every transaction the connection carried, kept or counted.
    pub fn transaction_count(&self) -> u64 {
        self.settled
            .saturating_add(self.http.transactions.len() as u64)
    }
}

/// Reads the capture at `path` (`-` = standard input) through the whole
/// pipeline, the HTTP layer keeping what `keep` asks on every connection.
/// Each connection, once finished, goes to `done`. A damaged capture is read
/// up to the damage and the error recorded in the summary; the connections
/// read so far are still finished and handed over.
pub fn run<D>(path: &str, limits: &Limits, keep: Keep, done: D) -> CaptureSummary
where
    D: FnMut(Analyzed),
{
    let opened = CaptureReader::open(Path::new(path), limits.reader);
    run_opened(path, opened, limits, keep, done)
}

/// [`run`] over a capture already opened (or that failed to open): for
/// captures held in memory (tests, fuzzing) via [`CaptureReader::from_bytes`].
pub fn run_opened<D>(
    path: &str,
    opened: Result<CaptureReader, CaptureError>,
    limits: &Limits,
    keep: Keep,
    done: D,
) -> CaptureSummary
where
    D: FnMut(Analyzed),
{
    analyze_opened(path, opened, limits, keep, None, None, done)
}

/// [`run_opened`], with `on_open` (if given) told the client host of each
/// connection as it opens (see [`pipeline`]).
fn analyze_opened<D>(
    path: &str,
    opened: Result<CaptureReader, CaptureError>,
    limits: &Limits,
    keep: Keep,
    on_open: Option<&mut dyn FnMut(std::net::IpAddr)>,
    gauge: Option<crate::flow::MemoryGauge>,
    mut done: D,
) -> CaptureSummary
where
    D: FnMut(Analyzed),
{
    let (http_limits, tls_limits) = (limits.http, limits.tls);
    // The key log given, joined by the capture's own Decryption Secrets
    // Blocks (pcapng) as they are read: a connection opened after one is
    // decrypted with its secrets.
    let keys = KeySource::new(limits.tls_keys.clone());
    let keys_in = keys.clone();
    let mut on_secrets =
        move |text: Vec<u8>| keys_in.add(&KeyLog::parse(&String::from_utf8_lossy(&text)));
    let mut hit = crate::limits::LimitsHit::default();
    let mut seen = crate::http::sniff::Seen::default();
    let mut undecrypted = crate::tls::UndecryptedCounts::default();
    let mut summary = pipeline(
        path,
        opened,
        limits,
        || ConnectionHandler::new(http_limits, tls_limits, keep).with_keys(keys.clone()),
        |f, capture_start| {
            let handled = f.handler.finish();
            hit.add_http(&handled.http);
            if let Some(t) = &handled.tls {
                hit.add_tls(t);
            }
            if let Some(d) = &handled.decryption {
                undecrypted.add(d, handled.tls.as_deref());
            }
            let c = &f.connection;
            seen.add(
                handled.http.is_http || handled.protocol.is_tls(),
                c.handshake.syn.is_some() || c.handshake.syn_ack.is_some(),
                crate::http::sniff::Opening::of(
                    handled.protocol,
                    c.stats(crate::reassembly::Side::Client).bytes,
                ),
                c.server.port(),
            );
            done(Analyzed {
                capture_start,
                connection: f.connection,
                http: handled.http,
                settled: handled.settled,
                releases: handled.releases,
                marks: handled.marks,
                protocol: handled.protocol,
                tls: handled.tls,
                release_places: handled.release_places,
                decryption: handled.decryption,
            })
        },
        on_open,
        gauge,
        &mut on_secrets,
    );
    summary.limits_hit.merge_http(&hit);
    summary.seen = seen;
    summary.undecrypted = undecrypted;
    summary
}

/// The pipeline with any [`StreamHandler`] (`new_handler` makes one per
/// connection): what [`run_opened`] runs with the HTTP layer's, and what a
/// test runs with its own.
pub fn run_with_handler<H, F, D>(
    path: &str,
    opened: Result<CaptureReader, CaptureError>,
    limits: &Limits,
    new_handler: F,
    done: D,
) -> CaptureSummary
where
    H: StreamHandler,
    F: FnMut() -> H,
    D: FnMut(Finished<H>),
{
    let mut done = done;
    pipeline(
        path,
        opened,
        limits,
        new_handler,
        |f, _| done(f),
        None,
        None,
        &mut |_| {},
    )
}

/// The loop itself: each finished connection goes to `done` with the
/// capture's first packet time, and `on_open` (if given) the client host of
/// each connection as it opens. It stops at the end of the capture, at its
/// damage, or when a stop is requested ([`crate::interrupt`]); either way
/// the connections still open are finished as open at the end of the
/// capture. Frames and connections outside the filter (`limits.filter`)
/// are counted and go no further. The TLS key log text of the capture's
/// Decryption Secrets Blocks (pcapng) goes to `on_secrets` as it is read.
/// What `gauge` (if given) says the rules' index holds counts on the
/// memory budget.
#[allow(clippy::too_many_arguments)]
fn pipeline<H, F, D>(
    path: &str,
    opened: Result<CaptureReader, CaptureError>,
    limits: &Limits,
    new_handler: F,
    mut done: D,
    mut on_open: Option<&mut dyn FnMut(std::net::IpAddr)>,
    gauge: Option<crate::flow::MemoryGauge>,
    on_secrets: &mut dyn FnMut(Vec<u8>),
) -> CaptureSummary
where
    H: StreamHandler,
    F: FnMut() -> H,
    D: FnMut(Finished<H>, Timestamp),
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
    summary.compression = reader.compression();
    let mut reorder = Reorder::new(limits.reorder);
    let mut decoder = Decoder::with_tunnels(limits.fragments, limits.tunnels);
    let mut table = FlowTable::new(limits.flow, new_handler);
    if on_open.is_some() {
        table.track_opened();
    }
    if let Some(g) = gauge {
        table.with_gauge(g);
    }
    let mut hit = crate::limits::LimitsHit::default();
    let filter = &limits.filter;
    let by_packet = filter.filters_packets();
    // The first packet's time, read by `done` while the loop sets it.
    let t0 = std::cell::Cell::new(Timestamp::ZERO);
    let mut filtered_connections = 0u64;
    let mut done = |f: Finished<H>| {
        hit.add_tcp(&f.connection.dirs);
        if filter.keeps_connection(&f.connection) {
            done(f, t0.get())
        } else {
            filtered_connections = filtered_connections.saturating_add(1);
        }
    };
    // Frames leave the reorder stage in time order (see `capture::Reorder`).
    let (mut first_ts, mut last_ts) = (None, None);
    let mut filtered_frames = 0u64;
    let mut analyse = |frame: Frame<'_>| {
        let first = match first_ts {
            Some(first) => first,
            None => {
                first_ts = Some(frame.ts);
                t0.set(frame.ts);
                frame.ts
            }
        };
        last_ts = Some(frame.ts);
        if by_packet && !filter.keeps_time(frame.ts, first) {
            filtered_frames = filtered_frames.saturating_add(1);
            return;
        }
        if let (Decoded::Tcp(seg), tunnel) = decoder.decode_tunnelled(&frame) {
            if by_packet && !filter.keeps_segment(&seg) {
                filtered_frames = filtered_frames.saturating_add(1);
                return;
            }
            table.process_tunnelled(&seg, tunnel, &mut done);
            if let Some(on_open) = on_open.as_mut() {
                table.drain_opened(&mut **on_open);
            }
        }
    };
    let stop = crate::interrupt::flag_ref();
    loop {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            summary.interrupted = true;
            break;
        }
        if let Some(text) = reader.take_secrets() {
            on_secrets(text);
        }
        match reader.next_frame() {
            Ok(Some(frame)) => {
                summary.frames = summary.frames.saturating_add(1);
                // Nearly every frame of a capture in order passes the
                // reorder stage straight on; asking first keeps the stage
                // out of the per-packet path (one comparison).
                if reorder.passes_straight(frame.ts) {
                    analyse(frame);
                } else {
                    reorder.push(frame, &mut analyse);
                }
            }
            // A stop ends a stream as if it ended there (see
            // `crate::interrupt::Interruptible`): a record it cut short is
            // where reading stopped, not damage.
            Ok(None) | Err(_) if crate::interrupt::requested() => {
                summary.interrupted = true;
                break;
            }
            Ok(None) => break,
            Err(e) => {
                summary.error = Some(e);
                break;
            }
        }
    }
    reorder.finish(&mut analyse);
    summary.first_ts = first_ts;
    summary.last_ts = last_ts;
    summary.filtered_frames = filtered_frames;
    summary.reorder = reorder.stats;
    summary.bytes = reader.offset();
    decoder.finish();
    table.finish_all(&mut done);
    summary.filtered_connections = filtered_connections;
    summary.decode = decoder.stats.clone();
    summary.flow = table.stats.clone();
    hit.max_fragment_datagrams = summary.decode.fragment_datagram_limit_hits;
    hit.max_fragment_bytes = summary.decode.fragment_byte_limit_hits;
    hit.max_tunnels = summary.decode.tunnels_over_limit;
    hit.max_connections = summary.flow.evicted;
    hit.max_lingering = summary.flow.linger_cut_late;
    hit.max_tombstones = summary.flow.tombstones_cut;
    hit.max_reassembly_bytes = summary.flow.reassembly_budget_hits;
    hit.max_memory = summary.flow.memory_shed;
    crate::flow::note_peak_memory(summary.flow.peak_memory);
    summary.limits_hit = hit;
    summary
}

/// What `connlint check` found in one capture, besides its findings
/// (handed on as they settle, see [`run_check_streaming`]).
#[derive(Clone, Debug, Default)]
pub struct CheckSummary {
    pub summary: CaptureSummary,
    pub connections: u64,
    pub transactions: u64,
    pub tls_connections: u64,
}

/// What `connlint check` found in one capture, findings collected.
pub struct CheckOutcome {
    pub summary: CaptureSummary,
    pub connections: u64,
    pub transactions: u64,
    /// Connections that were TLS: judged by the connection-level rules
    /// only, their HTTP being encrypted.
    pub tls_connections: u64,
    pub findings: Vec<crate::rules::Finding>,
}

impl CheckOutcome {
    /// What a check of a capture with TLS connections could not judge, in
    /// words: the note `check` prints (nothing without TLS).
    pub fn tls_note(&self) -> Option<String> {
        with_undecrypted(
            tls_note(self.connections, self.tls_connections),
            &self.summary.undecrypted,
        )
    }
}

/// What a check of a capture with `tls` TLS connections out of
/// `connections` could not judge, in words (nothing without TLS).
pub fn tls_note(connections: u64, tls: u64) -> Option<String> {
    if tls == 0 {
        return None;
    }
    let n = tls;
    Some(format!(
        "{n} of {} connection{} {} TLS: connlint judged {} by the connection-level rules \
             (S: setup, churn, parallelism, reuse, resumption; T: pacing; R001/R002: a close that \
             cut a record) from the TCP segments and the clear-text handshake; the rules about \
             HTTP messages (C, P, F, R003, R004) need the HTTP inside, which connlint cannot read \
             without the session keys: capture behind the TLS terminator, where it is clear \
             text, to have them judged",
        connections,
        if connections == 1 { "" } else { "s" },
        if n == 1 { "was" } else { "were" },
        if n == 1 { "it" } else { "them" },
    ))
}

/// The TLS note with, when a key log was given, what it did not decrypt
/// (by reason and cipher suite).
pub fn with_undecrypted(
    note: Option<String>,
    undecrypted: &crate::tls::UndecryptedCounts,
) -> Option<String> {
    match (note, undecrypted.describe()) {
        (Some(n), Some(u)) => Some(format!("{n}; {u}")),
        (n, u) => n.or(u),
    }
}

/// Reads a capture through the pipeline and the linter, and collects the
/// findings (for tests and small captures; the CLI streams them).
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
    run_check_each(path, opened, limits, config, Keep::TRANSACTIONS, |_| {})
}

/// [`run_check_opened`] that also shows each finished connection to `each`
/// before the linter sees it (the HAR and HTML writers consume them as they
/// come), keeping what `also` asks beyond what the rules need
/// ([`Keep::fields`], [`Keep::marks`]).
pub fn run_check_each<E>(
    path: &str,
    opened: Result<CaptureReader, CaptureError>,
    limits: &Limits,
    config: &crate::rules::Config,
    also: Keep,
    each: E,
) -> CheckOutcome
where
    E: FnMut(&Analyzed),
{
    let mut findings = Vec::new();
    let c = run_check_streaming_each(path, opened, limits, config, also, each, |f, _| {
        findings.push(f)
    });
    CheckOutcome {
        summary: c.summary,
        connections: c.connections,
        transactions: c.transactions,
        tls_connections: c.tls_connections,
        findings,
    }
}

/// Reads a capture through the pipeline and the linter, handing each
/// finding to `emit` as soon as it has settled: in connection order, then
/// time, with the time of the capture's first frame (for times relative to
/// it). The findings are not kept.
pub fn run_check_streaming<E>(
    path: &str,
    opened: Result<CaptureReader, CaptureError>,
    limits: &Limits,
    config: &crate::rules::Config,
    emit: E,
) -> CheckSummary
where
    E: FnMut(crate::rules::Finding, Option<Timestamp>),
{
    run_check_streaming_each(
        path,
        opened,
        limits,
        config,
        Keep::TRANSACTIONS,
        |_| {},
        emit,
    )
}

/// [`run_check_streaming`] that also shows each finished connection to
/// `each` before the linter sees it, keeping what `also` asks beyond what
/// the rules need ([`Keep::fields`], [`Keep::marks`]).
pub fn run_check_streaming_each<A, E>(
    path: &str,
    opened: Result<CaptureReader, CaptureError>,
    limits: &Limits,
    config: &crate::rules::Config,
    also: Keep,
    mut each: A,
    mut emit: E,
) -> CheckSummary
where
    A: FnMut(&Analyzed),
    E: FnMut(crate::rules::Finding, Option<Timestamp>),
{
    use crate::rules::{ConnectionFacts, Linter};
    // The index of finished connections counts on the memory budget, of
    // which it may take a quarter.
    let gauge = crate::flow::MemoryGauge::default();
    let lint_limits = crate::rules::engine::LintLimits {
        max_index_bytes: limits.flow.max_memory / 4,
        ..limits.lint
    };
    let linter =
        std::cell::RefCell::new(Linter::with_limits(config, lint_limits).with_gauge(gauge.clone()));
    // Every transaction, and the ack releases the enabled rules need.
    let keep = Keep {
        transactions: true,
        ack_releases_idle_ns: linter.borrow().needs().ack_releases_idle_ns,
        ..also
    };
    let (mut connections, mut transactions, mut tls_connections) = (0u64, 0u64, 0u64);
    let mut summary = analyze_opened(
        path,
        opened,
        limits,
        keep,
        Some(&mut |client| linter.borrow_mut().opened(client)),
        Some(gauge),
        |a| {
            connections = connections.saturating_add(1);
            transactions = transactions.saturating_add(a.http.transactions.len() as u64);
            tls_connections =
                tls_connections.saturating_add(u64::from(a.protocol.is_tls() && !a.decrypted()));
            each(&a);
            let t0 = a.capture_start;
            linter.borrow_mut().connection(
                &ConnectionFacts {
                    conn: &a.connection,
                    http: &a.http,
                    releases: &a.releases,
                    protocol: a.protocol,
                    tls: a.tls.as_deref(),
                    decrypted: a.decrypted(),
                    release_places: &a.release_places,
                },
                &mut |finding| emit(finding, Some(t0)),
            );
        },
    );
    let t0 = summary.first_ts;
    let stats = linter.into_inner().finish(&mut |finding| emit(finding, t0));
    summary.limits_hit.max_index_connections = stats.index_limit_hits;
    summary.limits_hit.max_memory = summary
        .limits_hit
        .max_memory
        .saturating_add(stats.index_memory_hits);
    CheckSummary {
        summary,
        connections,
        transactions,
        tls_connections,
    }
}
