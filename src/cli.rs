//! The command line: parses arguments, hands each command to its own
//! function, which runs the pipeline, prints, and returns an [`Outcome`];
//! [`exit_code`] alone maps outcomes to exit codes (0 ok, 1 findings at or
//! above --fail-on, 2 usage error, unreadable or corrupt capture, or
//! internal error).

use crate::analyze::{self, Analyzed, CaptureSummary, Limits};
use crate::capture::CaptureReader;
use crate::http::Keep;
use crate::report::connections::{self, CaptureRecord, ConnectionRecord};
use crate::report::findings::{self, CheckFormat, CheckReport};
use crate::report::stream::{ListWriter, Rendered, Reorder};
use crate::report::transactions::{self, TransactionRecord};
use crate::report::Format;
use crate::rules::{CliSelection, Config, ConfigFile, FailOn};
use clap::{Parser, Subcommand};
use std::io::{self, BufWriter, Write};
use std::path::Path;

#[derive(Parser, Debug)]
#[command(
    name = "connlint",
    version,
    about = "Analyze and lint HTTP/1.x connection management in packet captures",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Set a bound on the input, e.g. --limit max_connections=100000
    /// (`connlint limits` lists them); repeatable.
    #[arg(long = "limit", global = true, value_name = "KEY=VALUE")]
    limits: Vec<String>,
    /// Print time, throughput and peak memory to stderr at the end.
    #[arg(long, global = true)]
    stats: bool,
    /// Treat a flow seen inside a tunnel and outside it (or in two tunnels)
    /// as one connection; by default the tunnel is part of the connection's
    /// identity.
    #[arg(long, global = true)]
    merge_tunnels: bool,
}

/// Peak resident memory of this process in KiB (Linux: VmHWM), if known.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Bytes of the captures named (regular files only), for throughput.
fn capture_bytes(paths: &[String]) -> u64 {
    paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List every TCP connection: endpoints, handshake, close, bytes, loss.
    Connections {
        /// pcap or pcapng files; `-` reads standard input.
        #[arg(required = true, value_name = "CAPTURE")]
        captures: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List every HTTP/1.x transaction: method, URI, status, sizes, and its
    /// connect / send / wait / receive time.
    Transactions {
        /// pcap or pcapng files; `-` reads standard input.
        #[arg(required = true, value_name = "CAPTURE")]
        captures: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Lint connection management: what is wrong, where, and what it cost.
    /// Exit 0: no finding at or above --fail-on; 1: some; 2: usage error,
    /// bad configuration, or an unreadable or damaged capture.
    Check {
        /// pcap or pcapng files, or directories (searched recursively for
        /// *.pcap, *.pcapng, *.cap); `-` reads standard input.
        #[arg(required = true, value_name = "CAPTURE")]
        captures: Vec<String>,
        /// Captures read at once, each on its own thread (default: the
        /// number of cores); the report keeps the order they were given in.
        #[arg(short = 'j', long = "jobs", value_name = "N")]
        jobs: Option<usize>,
        #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
        format: CheckFormat,
        /// Lowest severity that makes the exit code 1.
        #[arg(long, value_enum)]
        fail_on: Option<FailOn>,
        /// Rules to run: codes (T001), names (nagle-delayed-ack-stall) or code
        /// prefixes (C, P0); comma-separated or repeated. Replaces the config's.
        #[arg(long, value_delimiter = ',', value_name = "RULES")]
        select: Option<Vec<String>>,
        /// Rules to skip, as for --select; added to the config's.
        #[arg(long, value_delimiter = ',', value_name = "RULES")]
        ignore: Vec<String>,
        /// Configuration file (default: ./connlint.toml if it exists).
        #[arg(long, value_name = "FILE")]
        config: Option<String>,
        /// Exit 0 even when findings are at or above --fail-on (damage still exits 2).
        #[arg(long)]
        exit_zero: bool,
        /// List every finding in the table, SARIF, JUnit and GitHub output
        /// instead of one entry per rule, client host and server endpoint
        /// (JSON and JSON Lines always list every finding).
        #[arg(long)]
        no_group: bool,
        /// Print only the number of findings per rule, most first (as a
        /// table, or with --format json / jsonl as JSON).
        #[arg(long)]
        statistics: bool,
    },
    /// List the bounds connlint puts on its input, with their values.
    Limits,
    /// List the rule catalogue.
    Rules {
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show one rule's documentation.
    Rule {
        /// A rule code (S001) or name (handshake-dominated).
        #[arg(value_name = "CODE|NAME")]
        rule: String,
    },
}

/// Reads the configuration file named on the command line, or
/// `./connlint.toml` when there is one.
fn load_config(path: Option<&str>, cli: &CliSelection) -> Result<(Config, Vec<String>), String> {
    let (path, required) = match path {
        Some(p) => (p.to_string(), true),
        None => ("connlint.toml".to_string(), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if !required && e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{path}: cannot read the configuration: {e}")),
    };
    match text {
        Some(text) => {
            let file = ConfigFile::parse(&text).map_err(|e| format!("{path}: {e}"))?;
            let limits = file
                .limits
                .iter()
                .map(|(k, v)| match v {
                    toml::Value::Integer(i) => Ok(format!("{k}={i}")),
                    _ => Err(format!("{path}: limits.{k}: expected a whole number")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let config = Config::resolve(Some((&path, &file)), cli).map_err(|e| e.to_string())?;
            Ok((config, limits))
        }
        None => Ok((
            Config::resolve(None, cli).map_err(|e| e.to_string())?,
            Vec::new(),
        )),
    }
}

/// Output formats of `rules`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

/// What a command came to. [`exit_code`] is the one place that turns it
/// into the process's exit status, as ripgrep's `main` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Done, and nothing at or above `--fail-on` (or nothing to judge).
    Clean,
    /// Findings at or above `--fail-on` (and no `--exit-zero`).
    Findings,
    /// A capture was unreadable or damaged; the report of what was
    /// readable was printed, and the damage named on stderr.
    Damaged,
    /// Bad usage or configuration; the reason is on stderr.
    Usage,
}

/// Exit codes: 0 clean, 1 findings, 2 usage, configuration, damage or an
/// I/O error; a closed pipe (`connlint ... | head`) is not an error.
fn exit_code(result: io::Result<Outcome>) -> i32 {
    match result {
        Ok(Outcome::Clean) => 0,
        Ok(Outcome::Findings) => 1,
        Ok(Outcome::Damaged | Outcome::Usage) => 2,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("connlint: error: {e}");
            2
        }
    }
}

/// A usage or configuration error: said on stderr.
fn usage(message: impl std::fmt::Display) -> io::Result<Outcome> {
    eprintln!("connlint: error: {message}");
    Ok(Outcome::Usage)
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 2,
            };
        }
    };
    let started = std::time::Instant::now();
    let stats = cli.stats;
    let paths = match &cli.command {
        Command::Connections { captures, .. }
        | Command::Transactions { captures, .. }
        | Command::Check { captures, .. } => captures.clone(),
        _ => Vec::new(),
    };
    let result = run(cli);
    if stats {
        let secs = started.elapsed().as_secs_f64();
        let bytes = capture_bytes(&paths);
        let rss = peak_rss_kib().map_or("unknown".to_string(), |k| {
            format!("{:.1} MB", k as f64 / 1024.0)
        });
        eprintln!(
            "connlint: stats: {bytes} bytes in {secs:.3} s ({:.0} MB/s), peak RSS {rss}",
            bytes as f64 / 1e6 / secs.max(1e-9)
        );
    }
    exit_code(result)
}

/// Parses the global `--limit`s and hands the command to its function.
fn run(cli: Cli) -> io::Result<Outcome> {
    let mut limits = Limits::default();
    for l in &cli.limits {
        if let Err(e) = limits.set(l) {
            return usage(format!("--limit {e}"));
        }
    }
    limits.tunnels.merge = cli.merge_tunnels;
    match cli.command {
        Command::Limits => limits_command(&limits),
        Command::Connections { captures, format } => {
            list::<ConnectionListing>(&captures, format, &limits)
        }
        Command::Transactions { captures, format } => {
            list::<TransactionListing>(&captures, format, &limits)
        }
        Command::Check {
            captures,
            format,
            fail_on,
            select,
            ignore,
            config,
            exit_zero,
            no_group,
            statistics,
            jobs,
        } => check_command(
            &captures,
            &CheckArgs {
                format,
                selection: CliSelection {
                    select,
                    ignore,
                    fail_on,
                },
                config,
                exit_zero,
                no_group,
                statistics,
                merge_tunnels: cli.merge_tunnels,
                jobs,
            },
            &cli.limits,
        ),
        Command::Rules { format } => rules_command(format),
        Command::Rule { rule } => rule_command(&rule),
    }
}

/// A stdout writer for one command's report.
fn stdout() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::new(io::stdout().lock())
}

/// `connlint limits`.
fn limits_command(limits: &Limits) -> io::Result<Outcome> {
    let mut out = stdout();
    for (key, value, doc) in limits.describe() {
        writeln!(out, "{key:<24} {value:>12}  {doc}")?;
    }
    out.flush()?;
    Ok(Outcome::Clean)
}

/// A listing command (`connections`, `transactions`): what it makes of each
/// connection, how it writes that, and its summary line. A fresh value per
/// capture carries what the capture's lines need (its first time, counts).
trait Listing: Default {
    /// What one connection contributes, held until its turn.
    type Item;
    const KEY: &'static str;
    const HEADER: &'static [&'static str];
    const RIGHT: &'static [usize];
    const KEEP: Keep;
    /// Columns shown after the header's where some row has a cell for them.
    const OPTIONAL: &'static [&'static str];
    fn item(&mut self, path: &str, a: &Analyzed, w: &Writer) -> Self::Item;
    /// Writes an item, in connection order.
    fn emit(&mut self, item: Self::Item, w: &mut Writer);
    fn summary_line(&self, path: &str, cap: &CaptureRecord) -> String;
}

type Writer = ListWriter<BufWriter<io::StdoutLock<'static>>>;

/// Runs a listing over every capture: connections finish in the order they
/// end and are written in the order they began (one [`Reorder`] per
/// capture), each capture closed by its summary line.
fn list<L: Listing>(captures: &[String], format: Format, limits: &Limits) -> io::Result<Outcome> {
    let mut w = ListWriter::new(stdout(), format, L::KEY, L::HEADER, L::RIGHT)
        .optional_columns(L::OPTIONAL);
    w.begin();
    let mut records = Vec::new();
    let mut damaged = false;
    for path in captures {
        let mut listing = L::default();
        let mut reorder = Reorder::default();
        let summary = analyze::run(path, limits, L::KEEP, |a| {
            let item = listing.item(path, &a, &w);
            reorder.push(a.connection.id, item, |item| listing.emit(item, &mut w));
        });
        reorder.drain(|item| listing.emit(item, &mut w));
        damaged |= report_error(&summary);
        let cap = CaptureRecord::new(&summary);
        w.capture_done(&listing.summary_line(path, &cap));
        records.push(cap);
    }
    w.end(&records)?;
    Ok(if damaged {
        Outcome::Damaged
    } else {
        Outcome::Clean
    })
}

/// `connlint connections`: a row per connection, times from the capture's
/// first listed connection.
#[derive(Default)]
struct ConnectionListing {
    t0: Option<f64>,
}

impl Listing for ConnectionListing {
    type Item = ConnectionRecord;
    const KEY: &'static str = "connections";
    const HEADER: &'static [&'static str] = connections::HEADER;
    const RIGHT: &'static [usize] = connections::RIGHT;
    const KEEP: Keep = Keep::COUNT;
    const OPTIONAL: &'static [&'static str] = connections::OPTIONAL;

    fn item(&mut self, path: &str, a: &Analyzed, _: &Writer) -> ConnectionRecord {
        ConnectionRecord::new(path, &a.connection, Some(a.transaction_count()))
            .with_protocol(a.protocol, a.tls.as_deref())
    }

    fn emit(&mut self, rec: ConnectionRecord, w: &mut Writer) {
        let t0 = *self.t0.get_or_insert(rec.start_ts);
        let r = w.render(&rec, || connections::row(&rec, t0));
        w.item(r);
    }

    fn summary_line(&self, _: &str, cap: &CaptureRecord) -> String {
        connections::summary_line(cap)
    }
}

/// `connlint transactions`: a row per transaction, rendered as its
/// connection finishes.
#[derive(Default)]
struct TransactionListing {
    transactions: u64,
    http_connections: u64,
    connections: u64,
    tls_connections: u64,
}

impl Listing for TransactionListing {
    type Item = Vec<Rendered>;
    const KEY: &'static str = "transactions";
    const HEADER: &'static [&'static str] = transactions::HEADER;
    const RIGHT: &'static [usize] = transactions::RIGHT;
    const KEEP: Keep = Keep::TRANSACTIONS;
    const OPTIONAL: &'static [&'static str] = &["tunnel"];

    fn item(&mut self, path: &str, a: &Analyzed, w: &Writer) -> Vec<Rendered> {
        self.connections = self.connections.saturating_add(1);
        self.tls_connections = self
            .tls_connections
            .saturating_add(u64::from(a.protocol.is_tls()));
        self.http_connections = self
            .http_connections
            .saturating_add(u64::from(a.http.is_http));
        self.transactions = self
            .transactions
            .saturating_add(a.http.transactions.len() as u64);
        let tunnel = a.connection.tunnel.as_ref().map(|t| t.to_string());
        a.http
            .transactions
            .iter()
            .map(|tx| {
                let r = TransactionRecord::new(path, &a.connection, tx);
                let row = || {
                    let mut cells = transactions::row(tx, &r);
                    cells.extend(tunnel.clone());
                    cells
                };
                match &tunnel {
                    None => w.render(&r, row),
                    Some(t) => w.render(
                        &transactions::TunnelledRecord {
                            record: &r,
                            tunnel: t,
                        },
                        row,
                    ),
                }
            })
            .collect()
    }

    fn emit(&mut self, rendered: Vec<Rendered>, w: &mut Writer) {
        rendered.into_iter().for_each(|r| w.item(r));
    }

    fn summary_line(&self, path: &str, _: &CaptureRecord) -> String {
        transactions::summary_line(
            path,
            self.transactions,
            self.http_connections,
            self.connections,
            self.tls_connections,
        )
    }
}

/// `connlint check`'s options, as parsed.
struct CheckArgs {
    format: CheckFormat,
    selection: CliSelection,
    config: Option<String>,
    exit_zero: bool,
    no_group: bool,
    statistics: bool,
    merge_tunnels: bool,
    jobs: Option<usize>,
}

/// `connlint check`: the configuration (file, then command line), every
/// capture linted, the report, and the gate.
fn check_command(
    captures: &[String],
    args: &CheckArgs,
    cli_limits: &[String],
) -> io::Result<Outcome> {
    if args.statistics && !args.format.has_statistics() {
        return usage(format!(
            "--statistics is written as table, json or jsonl, not {}",
            clap::ValueEnum::to_possible_value(&args.format)
                .map_or(String::new(), |v| v.get_name().to_string())
        ));
    }
    let (config, file_limits) = match load_config(args.config.as_deref(), &args.selection) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    // The file's [limits] first, then --limit on top.
    let mut limits = Limits::default();
    for l in file_limits.iter().chain(cli_limits) {
        if let Err(e) = limits.set(l) {
            return usage(format!("limit {e}"));
        }
    }
    limits.tunnels.merge = args.merge_tunnels;
    let mut options = findings::CheckOptions::new(&config, !args.no_group);
    options.statistics = args.statistics;
    options.max_groups = limits.max_groups;
    let captures = match expand_captures(captures) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let mut report = CheckReport::new(args.format, options);
    let mut out = stdout();
    report.begin(&mut out)?;
    let mut damaged = false;
    if jobs > 1 && captures.len() > 1 {
        damaged = check_parallel(&captures, jobs, &limits, &config, &mut report, &mut out)?;
    }
    for path in captures.iter().filter(|_| jobs <= 1 || captures.len() <= 1) {
        let mut part = report.part(path, true);
        let mut failed = None;
        let opened = CaptureReader::open(Path::new(path), limits.reader);
        let mut check = analyze::run_check_streaming(path, opened, &limits, &config, |f, t0| {
            if failed.is_none() {
                failed = part.finding(&mut out, &f, t0).err();
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let done = part.finish(&mut out, &mut check)?;
        damaged |= report_error(&check.summary);
        report.take(&mut out, done, None)?;
    }
    let gate = report.summary().fails(config.fail_on);
    report.end(&mut out)?;
    out.flush()?;
    Ok(if damaged {
        Outcome::Damaged
    } else if gate && !args.exit_zero {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// The captures named: files as given, directories replaced by the
/// captures under them (`*.pcap`, `*.pcapng`, `*.cap`, recursively, in
/// path order).
fn expand_captures(named: &[String]) -> Result<Vec<String>, String> {
    let mut all = Vec::new();
    for name in named {
        let path = Path::new(name);
        if name != "-" && path.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found).map_err(|e| format!("{name}: {e}"))?;
            found.sort();
            if found.is_empty() {
                return Err(format!("{name}: no *.pcap, *.pcapng or *.cap file in it"));
            }
            all.extend(found.into_iter().map(|p| p.to_string_lossy().into_owned()));
        } else {
            all.push(name.clone());
        }
    }
    Ok(all)
}

/// Collects the capture files under `dir`.
fn walk(dir: &Path, found: &mut Vec<std::path::PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&path, found)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["pcap", "pcapng", "cap"].contains(&e.to_ascii_lowercase().as_str()))
        {
            found.push(path);
        }
    }
    Ok(())
}

/// What a worker made of one capture: its part of the report, written to
/// a spool file, and its summary.
struct Checked {
    done: findings::CaptureDone,
    summary: CaptureSummary,
    spool: std::fs::File,
}

/// Reads `captures` on `jobs` threads, each capture's part of the report
/// written to its own spool file, and copies the parts to `out` in the
/// order given as they are ready. Returns whether some capture was damaged.
fn check_parallel(
    captures: &[String],
    jobs: usize,
    limits: &Limits,
    config: &Config,
    report: &mut CheckReport,
    out: &mut impl Write,
) -> io::Result<bool> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Mutex};
    let parts: Vec<Mutex<Option<findings::CapturePart>>> = captures
        .iter()
        .map(|p| Mutex::new(Some(report.part(p, false))))
        .collect();
    let next = AtomicUsize::new(0);
    let (send, receive) = mpsc::channel::<(usize, io::Result<Checked>)>();
    let mut damaged = false;
    std::thread::scope(|scope| -> io::Result<()> {
        for _ in 0..jobs.min(captures.len()) {
            let send = send.clone();
            let (parts, next) = (&parts, &next);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let (Some(path), Some(slot)) = (captures.get(i), parts.get(i)) else {
                    break;
                };
                let part = slot
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                let Some(part) = part else { continue };
                let checked = check_to_spool(path, i, part, limits, config);
                if send.send((i, checked)).is_err() {
                    break;
                }
            });
        }
        drop(send);
        // Parts in order: those finished early wait (their summaries and
        // an open spool file each, not their findings).
        let mut ready: std::collections::BTreeMap<usize, Checked> = Default::default();
        let mut want = 0usize;
        for (i, checked) in receive {
            ready.insert(i, checked?);
            while let Some(mut c) = ready.remove(&want) {
                damaged |= report_error(&c.summary);
                use std::io::Seek;
                c.spool.seek(io::SeekFrom::Start(0))?;
                report.take(out, c.done, Some(&mut c.spool))?;
                want = want.saturating_add(1);
            }
        }
        Ok(())
    })?;
    Ok(damaged)
}

/// Checks one capture into a new spool file (unlinked at once: it goes
/// away with its handle).
fn check_to_spool(
    path: &str,
    i: usize,
    mut part: findings::CapturePart,
    limits: &Limits,
    config: &Config,
) -> io::Result<Checked> {
    let name = std::env::temp_dir().join(format!("connlint-spool-{}-{i}", std::process::id()));
    let spool = std::fs::File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&name)?;
    let _ = std::fs::remove_file(&name);
    let mut w = BufWriter::new(&spool);
    let mut failed = None;
    let opened = CaptureReader::open(Path::new(path), limits.reader);
    let mut check = analyze::run_check_streaming(path, opened, limits, config, |f, t0| {
        if failed.is_none() {
            failed = part.finding(&mut w, &f, t0).err();
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let done = part.finish(&mut w, &mut check)?;
    w.flush()?;
    drop(w);
    Ok(Checked {
        done,
        summary: check.summary,
        spool,
    })
}

/// `connlint rules`.
fn rules_command(format: ListFormat) -> io::Result<Outcome> {
    let mut out = stdout();
    findings::write_rules(&mut out, format == ListFormat::Json)?;
    out.flush()?;
    Ok(Outcome::Clean)
}

/// `connlint rule CODE|NAME`.
fn rule_command(rule: &str) -> io::Result<Outcome> {
    match crate::rules::config::find_rule(rule) {
        Some(r) => {
            let mut out = stdout();
            findings::write_rule(&mut out, r.meta())?;
            out.flush()?;
            Ok(Outcome::Clean)
        }
        None => usage(format!(
            "no rule has the code or name `{rule}`; `connlint rules` lists them"
        )),
    }
}

/// When more frames that may hold TCP went undecoded than TCP segments were
/// decoded, what they were: `1290 frames with ethertype 0x8909 not
/// decoded (3 TCP segments were)`, the largest kinds first.
fn undecoded_note(summary: &CaptureSummary) -> Option<String> {
    let undecoded = summary.decode.undecoded();
    let total: u64 = undecoded.iter().map(|(n, _)| n).sum();
    if total == 0 || total <= summary.decode.tcp_segments {
        return None;
    }
    let mut parts: Vec<String> = undecoded
        .iter()
        .take(3)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if undecoded.len() > 3 {
        let rest: u64 = undecoded.iter().skip(3).map(|(n, _)| n).sum();
        parts.push(format!("{rest} more of other kinds"));
    }
    let tcp = summary.decode.tcp_segments;
    Some(format!(
        "{} not decoded ({tcp} TCP segment{} {})",
        parts.join(", "),
        if tcp == 1 { "" } else { "s" },
        if tcp == 1 { "was" } else { "were" }
    ))
}

/// Prints a capture's damage to stderr (file, byte offset, reason), and a
/// note for each bound it reached; true if it was damaged.
fn report_error(summary: &CaptureSummary) -> bool {
    if let Some(note) = undecoded_note(summary) {
        eprintln!("connlint: note: {}: {note}", summary.path);
    }
    for (key, n, meaning) in summary.limits_hit.reached() {
        eprintln!(
            "connlint: note: {}: limit {key} reached {n} time{}: {meaning} (raise it with --limit {key}=N)",
            summary.path,
            if n == 1 { "" } else { "s" }
        );
    }
    match &summary.error {
        Some(e) => {
            let covered = match summary.frames {
                0 => String::new(),
                1 => " (the report covers the 1 packet before it)".to_string(),
                n => format!(" (the report covers the {n} packets before it)"),
            };
            eprintln!(
                "connlint: error: {}: byte offset {}: {}{covered}",
                summary.path, e.offset, e.reason
            );
            true
        }
        None => false,
    }
}
