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
        &mut on_secrets,
    );
    summary.limits_hit.merge_http(&hit);
    summary.seen = seen;
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
        &mut |_| {},
    )
}

/// The loop itself: each finished connection goes to `done` with the
/// capture's first packet time. It stops at the end of the capture, at its
/// damage, or when a stop is requested ([`crate::interrupt`]); either way
/// the connections still open are finished as open at the end of the
/// capture. Frames and connections outside the filter (`limits.filter`)
/// are counted and go no further. The TLS key log text of the capture's
/// Decryption Secrets Blocks (pcapng) goes to `on_secrets` as it is read.
fn pipeline<H, F, D>(
    path: &str,
    opened: Result<CaptureReader, CaptureError>,
    limits: &Limits,
    new_handler: F,
    mut done: D,
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
        let first = *first_ts.get_or_insert(frame.ts);
        t0.set(first);
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
        }
    };
    loop {
        if crate::interrupt::requested() {
            summary.interrupted = true;
            break;
        }
        if let Some(text) = reader.take_secrets() {
            on_secrets(text);
        }
        match reader.next_frame() {
            Ok(Some(frame)) => {
                summary.frames = summary.frames.saturating_add(1);
                reorder.push(frame, &mut analyse);
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
    hit.max_reassembly_bytes = summary.flow.reassembly_budget_hits;
    summary.limits_hit = hit;
    summary
}

/// What `connlint check` found in one capture.
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
        if self.tls_connections == 0 {
            return None;
        }
        let n = self.tls_connections;
        Some(format!(
            "{n} of {} connection{} {} TLS: connlint judged {} by the connection-level rules \
             (S: setup, churn, parallelism, reuse, resumption; T: pacing; R001/R002: a close that \
             cut a record) from the TCP segments and the clear-text handshake; the rules about \
             HTTP messages (C, P, F, R003, R004) need the HTTP inside, which connlint cannot read \
             without the session keys: capture behind the TLS terminator, where it is clear \
             text, to have them judged",
            self.connections,
            if self.connections == 1 { "" } else { "s" },
            if n == 1 { "was" } else { "were" },
            if n == 1 { "it" } else { "them" },
        ))
    }
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
    mut each: E,
) -> CheckOutcome
where
    E: FnMut(&Analyzed),
{
    use crate::rules::{ConnectionFacts, Linter};
    let mut linter = Linter::new(config);
    // Every transaction, and the ack releases the enabled rules need.
    let keep = Keep {
        transactions: true,
        ack_releases_idle_ns: linter.needs().ack_releases_idle_ns,
        ..also
    };
    let (mut connections, mut transactions, mut tls_connections) = (0u64, 0u64, 0u64);
    // The tunnels of tunnelled connections, to name them on their findings.
    let mut tunnels = TunnelNames::default();
    let summary = run_opened(path, opened, limits, keep, |a| {
        connections = connections.saturating_add(1);
        transactions = transactions.saturating_add(a.http.transactions.len() as u64);
        tls_connections =
            tls_connections.saturating_add(u64::from(a.protocol.is_tls() && !a.decrypted()));
        if let Some(t) = &a.connection.tunnel {
            tunnels.add(a.connection.id, t);
        }
        each(&a);
        linter.connection(&ConnectionFacts {
            conn: &a.connection,
            http: &a.http,
            releases: &a.releases,
            protocol: a.protocol,
            tls: a.tls.as_deref(),
            decrypted: a.decrypted(),
            release_places: &a.release_places,
        });
    });
    let mut findings = linter.finish();
    tunnels.name(&mut findings);
    CheckOutcome {
        summary,
        connections,
        transactions,
        tls_connections,
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
