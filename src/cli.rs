//! The command line: parses arguments, hands each command to its own
//! function, which runs the pipeline, prints, and returns an [`Outcome`];
//! [`exit_code`] alone maps outcomes to exit codes (0 ok, 1 findings at or
//! above --fail-on, 2 usage error, unreadable or corrupt capture, or
//! internal error).

use crate::analyze::{self, Analyzed, CaptureSummary, Limits};
use crate::capture::CaptureReader;
use crate::filter::{Endpoint, Filter, TimeBound};
use crate::http::Keep;
use crate::report::baseline::{self, Baseline};
use crate::report::connections::{self, CaptureRecord, ConnectionRecord};
use crate::report::findings::{self, CheckFormat, CheckReport, RuleHelp};
use crate::report::har::HarWriter;
use crate::report::html::{ReportBuilder, ReportOptions};
use crate::report::latency::{self, LatencySummary};
use crate::report::stream::{ListWriter, Rendered, Reorder};
use crate::report::term::{ColorChoice, Term};
use crate::report::transactions::{self, TransactionRecord};
use crate::report::waterfall::{Waterfall, WaterfallOptions};
use crate::report::CheckConsumer;
use crate::report::{Clock, Format};
use crate::rules::{suppress, CliSelection, Config, ConfigFile, FailOn};
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::net::IpAddr;
use std::path::Path;

#[derive(Parser, Debug)]
#[command(
    name = "connlint",
    version,
    about = "Analyze and lint HTTP/1.x connection management in packet captures",
    long_about = None
)]
pub struct Cli {
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
    /// Decrypt TLS with the secrets of this NSS key log (what browsers,
    /// curl and most TLS stacks write when SSLKEYLOGFILE is set); default:
    /// the configuration's `[tls] keylog` (check, report, HAR, waterfall),
    /// then $SSLKEYLOGFILE.
    #[arg(long, global = true, value_name = "FILE")]
    keylog: Option<String>,
    /// Colour the output: auto (a terminal, unless NO_COLOR is set), always
    /// or never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Print only the summary lines, warnings and errors.
    #[arg(short, long, global = true)]
    quiet: bool,
}

/// Reads the key log at `path`. The error names the file and the system's
/// reason, never a line of it.
fn read_keylog(path: &str) -> Result<std::sync::Arc<crate::tls::KeyLog>, String> {
    let text = std::fs::read(path).map_err(|e| format!("{path}: cannot read the key log: {e}"))?;
    let log = crate::tls::KeyLog::parse(&String::from_utf8_lossy(&text));
    if log.malformed_lines > 0 {
        eprintln!(
            "connlint: {path}: {} line{} of the key log not understood (skipped)",
            log.malformed_lines,
            if log.malformed_lines == 1 { "" } else { "s" }
        );
    }
    Ok(std::sync::Arc::new(log))
}

/// The key log to decrypt with: `--keylog`, else `[tls] keylog` of the
/// configuration file, else `$SSLKEYLOGFILE`.
fn keylog_path(cli: Option<&str>, config: Option<String>) -> Option<String> {
    cli.map(str::to_string).or(config).or_else(|| {
        std::env::var("SSLKEYLOGFILE")
            .ok()
            .filter(|p| !p.is_empty())
    })
}

/// The captures a command reads, and what of them to analyse.
#[derive(Args, Debug, Clone)]
struct Input {
    /// pcap or pcapng files, plain or gzip / zstd compressed; `-` reads
    /// standard input.
    #[arg(required = true, value_name = "CAPTURE")]
    captures: Vec<String>,
    /// Only packets to or from this address (repeat for any of several).
    #[arg(long = "host", value_name = "ADDR", value_parser = parse_host, help_heading = "Filters")]
    hosts: Vec<IpAddr>,
    /// Only packets to or from this port (repeat for any of several).
    #[arg(long = "port", value_name = "PORT", help_heading = "Filters")]
    ports: Vec<u16>,
    /// Only connections to this server: an address, optionally with its
    /// port (10.0.0.2, 10.0.0.2:80, [2001:db8::2]:443).
    #[arg(long = "server", value_name = "ADDR[:PORT]", value_parser = Endpoint::parse, help_heading = "Filters")]
    servers: Vec<Endpoint>,
    /// Only connections from this client: an address, optionally with its port.
    #[arg(long = "client", value_name = "ADDR[:PORT]", value_parser = Endpoint::parse, help_heading = "Filters")]
    clients: Vec<Endpoint>,
    /// Only packets from this time on: seconds after the first packet
    /// (12.5), seconds since the epoch after @ (@1700000000.25), or UTC
    /// (2023-11-14T22:13:20Z).
    #[arg(long, value_name = "TIME", value_parser = TimeBound::parse, help_heading = "Filters")]
    from: Option<TimeBound>,
    /// Only packets up to this time (as --from).
    #[arg(long, value_name = "TIME", value_parser = TimeBound::parse, help_heading = "Filters")]
    to: Option<TimeBound>,
    /// Show times in UTC instead of seconds after the capture's first packet.
    #[arg(long)]
    absolute_time: bool,
}

impl Input {
    fn filter(&self) -> Filter {
        Filter {
            hosts: self.hosts.clone(),
            ports: self.ports.clone(),
            servers: self.servers.clone(),
            clients: self.clients.clone(),
            from: self.from,
            to: self.to,
        }
    }
}

fn parse_host(s: &str) -> Result<IpAddr, String> {
    match Endpoint::parse(s)? {
        Endpoint { ip, port: None } => Ok(ip),
        Endpoint { port: Some(_), .. } => Err(format!(
            "`{s}` has a port: give --host an address and --port the port (or use --server)"
        )),
    }
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
        #[command(flatten)]
        input: Input,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List every HTTP/1.x transaction: method, Host, URI, status, sizes,
    /// frames, and its connect / send / wait / receive time.
    Transactions {
        #[command(flatten)]
        input: Input,
        /// `har`: an HTTP Archive 1.2 (one page per capture) with headers,
        /// timings and connlint's findings per entry, for browser devtools.
        #[arg(long, value_enum, default_value_t = TransactionsFormat::Table)]
        format: TransactionsFormat,
        /// Print only the latency per server endpoint: count and the 50th,
        /// 90th and 99th percentiles of wait and total time.
        #[arg(long)]
        summary: bool,
        /// Draw the connections as a waterfall in the terminal instead (the
        /// HTML report's lanes in Unicode blocks, fitted to the width;
        /// coloured as --color says).
        #[arg(long, conflicts_with_all = ["format", "summary"])]
        waterfall: bool,
        /// With --waterfall: the connections drawn per capture, the first
        /// by start (the filters choose which are candidates).
        #[arg(long, default_value_t = 20, requires = "waterfall", value_parser = clap::value_parser!(u32).range(1..=100_000))]
        first: u32,
        /// With --waterfall: columns (default: the terminal's or $COLUMNS, else 120).
        #[arg(long, requires = "waterfall", value_parser = clap::value_parser!(u16).range(40..))]
        width: Option<u16>,
    },
    /// Lint connection management: what is wrong, where, and what it cost.
    /// Exit 0: no finding at or above --fail-on; 1: some (or, with
    /// --fail-on-empty, a capture with nothing to judge); 2: usage error,
    /// bad configuration, or an unreadable or damaged capture. A directory
    /// named as a capture stands for the captures under it (*.pcap,
    /// *.pcapng, *.cap, recursively).
    Check {
        #[command(flatten)]
        input: Input,
        /// Captures read at once, each on its own thread (default: the
        /// number of cores); the report keeps the order they were given in.
        #[arg(short = 'j', long = "jobs", value_name = "N")]
        jobs: Option<usize>,
        #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
        format: CheckFormat,
        /// Lowest severity that makes the exit code 1 [default: the
        /// config's fail-on, else warning].
        #[arg(long, value_enum)]
        fail_on: Option<FailOn>,
        /// Rules to run: codes (T001), names (nagle-delayed-ack-stall) or code
        /// prefixes (C, P0); comma-separated or repeated. Replaces the config's
        /// [default: the config's select, else all].
        #[arg(long, value_delimiter = ',', value_name = "RULES")]
        select: Option<Vec<String>>,
        /// Rules to skip, as for --select; added to the config's.
        #[arg(long, value_delimiter = ',', value_name = "RULES")]
        ignore: Vec<String>,
        /// Configuration file [default: ./connlint.toml if it exists].
        #[arg(long, value_name = "FILE")]
        config: Option<String>,
        /// Exit 0 even when findings are at or above --fail-on (damage still exits 2).
        #[arg(long)]
        exit_zero: bool,
        /// Exit 1 when a capture has nothing to judge: no TCP connection, or
        /// no HTTP/1.x (also the config's fail-on-empty).
        #[arg(long)]
        fail_on_empty: bool,
        /// List every finding in the table, SARIF, JUnit and GitHub output
        /// instead of one entry per rule, client host and server endpoint
        /// (JSON and JSON Lines always list every finding).
        #[arg(long)]
        no_group: bool,
        /// Print only the number of findings per rule, most first (as a
        /// table, or with --format json / jsonl as JSON).
        #[arg(long)]
        statistics: bool,
        /// Report only findings whose fingerprint is not in this baseline
        /// (written by --write-baseline), and say how many of its entries
        /// no longer occur.
        #[arg(long, value_name = "FILE")]
        baseline: Option<String>,
        /// Record this run's findings by fingerprint in FILE (the baseline
        /// for --baseline), then report as usual.
        #[arg(long, value_name = "FILE")]
        write_baseline: Option<String>,
        /// How much of each rule's documentation SARIF carries: short (its
        /// summary and a link) or full.
        #[arg(long, value_enum, value_name = "HOW", default_value_t = RuleHelp::Short)]
        sarif_rule_help: RuleHelp,
    },
    /// Write one self-contained HTML report (no network access needed):
    /// what was read, the findings by rule with the rules' documentation, and
    /// a connection waterfall with the findings on it.
    Report {
        #[command(flatten)]
        input: Input,
        /// The HTML file to write; `-` writes standard output.
        #[arg(short, long, value_name = "FILE")]
        output: String,
        /// Lanes per client host -> server endpoint pair (its earliest-starting
        /// connections); the pair's other connections share one grouped lane.
        /// 0: no bound.
        #[arg(long, default_value_t = ReportOptions::default().lanes_per_pair)]
        lanes_per_pair: usize,
        /// Rules to run, as for `check --select`.
        #[arg(long, value_delimiter = ',', value_name = "RULES")]
        select: Option<Vec<String>>,
        /// Rules to skip, as for `check --ignore`.
        #[arg(long, value_delimiter = ',', value_name = "RULES")]
        ignore: Vec<String>,
        /// Configuration file (default: ./connlint.toml if it exists).
        #[arg(long, value_name = "FILE")]
        config: Option<String>,
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
    /// Write a commented connlint.toml with every rule's options at their
    /// defaults.
    Init {
        /// Where to write it.
        #[arg(value_name = "FILE", default_value = "connlint.toml")]
        path: String,
        /// Overwrite the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Print a shell completion script (e.g. `connlint completions bash >
    /// /etc/bash_completion.d/connlint`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff; `connlint man | man -l -`).
    Man,
}

/// Reads the configuration file named on the command line, or
/// `./connlint.toml` when there is one.
fn load_config(
    path: Option<&str>,
    cli: &CliSelection,
) -> Result<(Config, Vec<String>, Option<String>), String> {
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
            let keylog = file.tls.and_then(|t| t.keylog).map(|k| {
                let dir = std::path::Path::new(&path).parent();
                match dir.filter(|d| !d.as_os_str().is_empty()) {
                    Some(d) => d.join(&k).to_string_lossy().into_owned(),
                    None => k,
                }
            });
            Ok((config, limits, keylog))
        }
        None => Ok((
            Config::resolve(None, cli).map_err(|e| e.to_string())?,
            Vec::new(),
            None,
        )),
    }
}

/// Output formats of `transactions`: the listing's, and HAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum TransactionsFormat {
    Table,
    Json,
    Jsonl,
    Har,
}

impl TransactionsFormat {
    /// The listing format, `None` for HAR.
    fn listing(self) -> Option<Format> {
        match self {
            TransactionsFormat::Table => Some(Format::Table),
            TransactionsFormat::Json => Some(Format::Json),
            TransactionsFormat::Jsonl => Some(Format::Jsonl),
            TransactionsFormat::Har => None,
        }
    }
}

/// The rules' configuration (`path`, or ./connlint.toml if there is one)
/// and the bounds: what the command line set (`base`: its limits, tunnels
/// merged or not), the file's `[limits]` under `--limit`, and the key log
/// as `check` finds it: `--keylog`, else the file's `[tls] keylog`, else
/// $SSLKEYLOGFILE.
fn config_and_limits(
    path: Option<&str>,
    selection: &CliSelection,
    cli_limits: &[String],
    (base, cli_keylog): (&Limits, Option<&str>),
) -> Result<(Config, Limits), String> {
    let (config, file_limits, file_keylog) = load_config(path, selection)?;
    let mut limits = base.clone();
    for l in file_limits.iter().chain(cli_limits) {
        limits.set(l).map_err(|e| format!("limit {e}"))?;
    }
    if let Some(path) = keylog_path(cli_keylog, file_keylog) {
        limits.tls_keys = Some(read_keylog(&path)?);
    }
    Ok((config, limits))
}

/// The commands that judge with the default rules (or ./connlint.toml)
/// but take no rule options: [`config_and_limits`], and the capture
/// filter.
fn default_config_and_limits(
    cli_limits: &[String],
    base: (&Limits, Option<&str>),
    filter: Filter,
) -> Result<(Config, Limits), String> {
    let (config, mut limits) = config_and_limits(None, &CliSelection::default(), cli_limits, base)?;
    limits.filter = filter;
    Ok((config, limits))
}

/// Runs `check`'s pipeline over every capture for a writer that consumes
/// connections and findings as they come ([`CheckConsumer`]). Whether any
/// capture was damaged.
fn check_each(
    captures: &[String],
    config: &Config,
    limits: &Limits,
    also: Keep,
    consumer: &mut impl CheckConsumer,
    view: View,
) -> bool {
    let mut damaged = false;
    for path in captures {
        consumer.capture(path);
        let opened = crate::capture::CaptureReader::open(std::path::Path::new(path), limits.reader);
        let o = analyze::run_check_each(path, opened, limits, config, also, |a| {
            consumer.connection(a)
        });
        damaged |= report_capture(&o.summary, CaptureRole::Check, view);
        o.findings.iter().for_each(|f| consumer.finding(f));
        consumer.capture_done(&o);
    }
    damaged
}

/// `connlint transactions --format har`: the HAR document, entries with
/// their findings (rules as `check` runs them by default, or as
/// ./connlint.toml says).
fn har_command(
    captures: &[String],
    cli_limits: &[String],
    base: (&Limits, Option<&str>),
    filter: Filter,
    view: View,
) -> io::Result<Outcome> {
    let (config, limits) = match default_config_and_limits(cli_limits, base, filter) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let mut har = HarWriter::new();
    let also = Keep {
        fields: true,
        ..Keep::TRANSACTIONS
    };
    let damaged = check_each(captures, &config, &limits, also, &mut har, view);
    let mut out = stdout();
    har.write(&mut out)?;
    out.flush()?;
    Ok(if damaged {
        Outcome::Damaged
    } else {
        Outcome::Clean
    })
}

/// Columns of the terminal: $COLUMNS (set by shells), else 120.
fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c >= 40)
        .unwrap_or(120)
}

/// `connlint transactions --waterfall`: each capture's first connections
/// drawn in the terminal, with the rules that fired on them.
fn waterfall_command(
    captures: &[String],
    options: WaterfallOptions,
    cli_limits: &[String],
    base: (&Limits, Option<&str>),
    filter: Filter,
    view: View,
) -> io::Result<Outcome> {
    let (config, limits) = match default_config_and_limits(cli_limits, base, filter) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let mut waterfall = Waterfall::new(stdout(), options);
    let also = Keep {
        marks: true,
        ..Keep::TRANSACTIONS
    };
    let damaged = check_each(captures, &config, &limits, also, &mut waterfall, view);
    waterfall.finish()?.flush()?;
    Ok(if damaged {
        Outcome::Damaged
    } else {
        Outcome::Clean
    })
}

/// `connlint report`: the HTML report, written to `output` (`-`: stdout)
/// once every capture is read.
fn report_command(
    input: &Input,
    output: &str,
    options: ReportOptions,
    (selection, config): (&CliSelection, Option<&str>),
    cli_limits: &[String],
    base: (&Limits, Option<&str>),
    view: View,
) -> io::Result<Outcome> {
    let captures = &input.captures;
    let filter = input.filter();
    let (config, limits) = match config_and_limits(config, selection, cli_limits, base) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let mut limits = limits;
    limits.filter = filter;
    let mut report = ReportBuilder::new(options);
    let also = Keep {
        marks: true,
        ..Keep::TRANSACTIONS
    };
    let damaged = check_each(captures, &config, &limits, also, &mut report, view);
    if output == "-" {
        let mut out = stdout();
        report.write(&mut out)?;
        out.flush()?;
    } else {
        let file = std::fs::File::create(output)
            .map_err(|e| io::Error::new(e.kind(), format!("{output}: {e}")))?;
        let mut out = BufWriter::new(file);
        report.write(&mut out)?;
        out.flush()?;
    }
    Ok(if damaged {
        Outcome::Damaged
    } else {
        Outcome::Clean
    })
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
    /// A capture had nothing to judge and `--fail-on-empty` was asked.
    NothingToJudge,
    /// A capture was unreadable or damaged; the report of what was
    /// readable was printed, and the damage named on stderr.
    Damaged,
    /// Bad usage or configuration; the reason is on stderr.
    Usage,
}

/// Exit codes: 0 clean, 1 findings (or nothing to judge, when asked), 2
/// usage, configuration, damage or an I/O error; a closed pipe (`connlint
/// ... | head`) is not an error. A run stopped by Ctrl-C exits as its
/// report says (a second Ctrl-C exits 130 at once, see [`crate::interrupt`]).
fn exit_code(result: io::Result<Outcome>) -> i32 {
    match result {
        Ok(Outcome::Clean) => 0,
        Ok(Outcome::Findings | Outcome::NothingToJudge) => 1,
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

/// How the command's output is shown: the terminal, and the global
/// `--quiet`.
#[derive(Clone, Copy, Debug, Default)]
struct View {
    term: Term,
    quiet: bool,
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
        Command::Connections { input, .. }
        | Command::Transactions { input, .. }
        | Command::Check { input, .. }
        | Command::Report { input, .. } => input.captures.clone(),
        _ => Vec::new(),
    };
    if !paths.is_empty() {
        // Ctrl-C keeps the report of what was read (see crate::interrupt).
        if let Err(e) = crate::interrupt::install() {
            eprintln!("connlint: note: Ctrl-C will not keep the report: {e}");
        }
        if paths.iter().any(|p| p == "-") && io::stdin().is_terminal() {
            eprintln!(
                "connlint: reading a capture from standard input, a terminal: pipe one in \
                 (tcpdump -w - ... | connlint check -) or end with Ctrl-D"
            );
        }
    }
    let result = run(cli);
    if stats {
        let secs = started.elapsed().as_secs_f64();
        let bytes = capture_bytes(&paths);
        let rss = peak_rss_kib().map_or("unknown".to_string(), |k| {
            format!("{:.1} MB", k as f64 / 1024.0)
        });
        // The accounted memory (see `max_memory`) of the capture that held
        // the most, beside what the process really took.
        let accounted = crate::flow::peak_memory() as f64 / (1024.0 * 1024.0);
        eprintln!(
            "connlint: stats: {bytes} bytes in {secs:.3} s ({:.0} MB/s), peak RSS {rss}, \
             peak accounted memory {accounted:.1} MiB",
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
    // `check`, `report`, HAR and the waterfall read the configuration file:
    // its [tls] keylog comes before $SSLKEYLOGFILE, so they resolve it there.
    let reads_config = match &cli.command {
        Command::Check { .. } | Command::Report { .. } => true,
        Command::Transactions {
            waterfall, format, ..
        } => *waterfall || format.listing().is_none(),
        _ => false,
    };
    if !reads_config {
        if let Some(path) = keylog_path(cli.keylog.as_deref(), None) {
            match read_keylog(&path) {
                Ok(k) => limits.tls_keys = Some(k),
                Err(e) => return usage(e),
            }
        }
    }
    let view = View {
        term: Term::detect(cli.color),
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Limits => limits_command(&limits),
        Command::Connections { input, format } => {
            limits.filter = input.filter();
            list::<ConnectionListing>(&input, format, &limits, view)
        }
        Command::Transactions {
            input,
            waterfall: true,
            first,
            width,
            ..
        } => {
            let filter = input.filter();
            waterfall_command(
                &input.captures,
                WaterfallOptions {
                    first: first as usize,
                    width: width
                        .or(view.term.width)
                        .map_or_else(terminal_width, usize::from),
                    colour: view.term.color,
                },
                &cli.limits,
                (&limits, cli.keylog.as_deref()),
                filter,
                view,
            )
        }
        Command::Transactions {
            input,
            format,
            summary,
            ..
        } => {
            limits.filter = input.filter();
            match (format.listing(), summary) {
                (None, true) => usage("--summary and --format har do not go together"),
                (None, false) => har_command(
                    &input.captures,
                    &cli.limits,
                    (&limits, cli.keylog.as_deref()),
                    limits.filter.clone(),
                    view,
                ),
                (Some(format), true) => latency_command(&input, format, &limits, view),
                (Some(format), false) => list::<TransactionListing>(&input, format, &limits, view),
            }
        }
        Command::Check {
            input,
            format,
            fail_on,
            select,
            ignore,
            config,
            exit_zero,
            fail_on_empty,
            no_group,
            statistics,
            jobs,
            baseline,
            write_baseline,
            sarif_rule_help,
        } => check_command(
            &input,
            &CheckArgs {
                format,
                selection: CliSelection {
                    select,
                    ignore,
                    fail_on,
                    fail_on_empty,
                },
                config,
                exit_zero,
                no_group,
                statistics,
                baseline,
                write_baseline,
                rule_help: sarif_rule_help,
                merge_tunnels: cli.merge_tunnels,
                jobs,
                keylog: cli.keylog.clone(),
            },
            &cli.limits,
            view,
        ),
        Command::Report {
            input,
            output,
            lanes_per_pair,
            select,
            ignore,
            config,
        } => report_command(
            &input,
            &output,
            ReportOptions {
                lanes_per_pair,
                ..ReportOptions::default()
            },
            (
                &CliSelection {
                    select,
                    ignore,
                    fail_on: None,
                    fail_on_empty: false,
                },
                config.as_deref(),
            ),
            &cli.limits,
            (&limits, cli.keylog.as_deref()),
            view,
        ),
        Command::Rules { format } => rules_command(format),
        Command::Rule { rule } => rule_command(&rule),
        Command::Init { path, force } => init_command(&path, force),
        Command::Completions { shell } => {
            let mut out = stdout();
            clap_complete::generate(shell, &mut Cli::command(), "connlint", &mut out);
            out.flush()?;
            Ok(Outcome::Clean)
        }
        Command::Man => {
            let mut out = stdout();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            out.flush()?;
            Ok(Outcome::Clean)
        }
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
/// capture carries what the capture's lines need (its time zero, counts).
trait Listing {
    /// What one connection contributes, held until its turn.
    type Item;
    const KEY: &'static str;
    const HEADER: &'static [&'static str];
    const RIGHT: &'static [usize];
    const KEEP: Keep;
    fn new(absolute_time: bool) -> Self;
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
/// capture), each capture closed by its summary line (alone with
/// `--quiet`). A table says first what its times count from.
fn list<L: Listing>(
    input: &Input,
    format: Format,
    limits: &Limits,
    view: View,
) -> io::Result<Outcome> {
    let mut w = ListWriter::new(stdout(), format, L::KEY, L::HEADER, L::RIGHT)
        .optional_columns(L::OPTIONAL)
        .with_term(view.term);
    w.begin();
    let mut records = Vec::new();
    let mut damaged = false;
    let quiet = view.quiet && format == Format::Table;
    for path in &input.captures {
        if crate::interrupt::requested() {
            break;
        }
        let mut listing = L::new(input.absolute_time);
        let mut reorder = Reorder::with_cap(limits.max_list_waiting);
        let mut said_clock = quiet;
        let mut summary = analyze::run(path, limits, L::KEEP, |a| {
            if !said_clock {
                said_clock = true;
                let clock = Clock {
                    t0: a.capture_start,
                    absolute: input.absolute_time,
                };
                w.note(&clock.header_line(path));
            }
            let item = listing.item(path, &a, &w);
            reorder.push(a.connection.id, item, |item| {
                if !quiet {
                    listing.emit(item, &mut w)
                }
            });
        });
        reorder.drain(|item| {
            if !quiet {
                listing.emit(item, &mut w)
            }
        });
        summary.limits_hit.max_list_waiting = reorder.cut;
        damaged |= report_capture(&summary, CaptureRole::Listing(L::KEY), view);
        let cap = CaptureRecord::new(&summary);
        let line = match (&summary.format, &summary.error) {
            (None, Some(e)) => format!("{path}: not read: {}", e.reason),
            _ => listing.summary_line(path, &cap),
        };
        w.capture_done(&line);
        if let Some(d) = findings::DamageRecord::of(&summary) {
            w.jsonl_record(&d);
        }
        records.push(cap);
    }
    w.end(&records)?;
    Ok(if damaged {
        Outcome::Damaged
    } else {
        Outcome::Clean
    })
}

/// `connlint connections`: a row per connection, its start after the
/// capture's first packet (or in UTC).
struct ConnectionListing {
    absolute: bool,
}

impl Listing for ConnectionListing {
    type Item = Rendered;
    const KEY: &'static str = "connections";
    const HEADER: &'static [&'static str] = connections::HEADER;
    const RIGHT: &'static [usize] = connections::RIGHT;
    const KEEP: Keep = Keep::COUNT;
    const OPTIONAL: &'static [&'static str] = connections::OPTIONAL;

    fn new(absolute: bool) -> Self {
        ConnectionListing { absolute }
    }

    fn item(&mut self, path: &str, a: &Analyzed, w: &Writer) -> Rendered {
        let rec = ConnectionRecord::new(path, &a.connection, Some(a.transaction_count()))
            .with_protocol(a.protocol, a.tls.as_deref())
            .with_decryption(a.decryption.as_ref());
        let clock = Clock {
            t0: a.capture_start,
            absolute: self.absolute,
        };
        w.render(&rec, || connections::row(&rec, &a.connection, &clock))
    }

    fn emit(&mut self, r: Rendered, w: &mut Writer) {
        w.item(r);
    }

    fn summary_line(&self, _: &str, cap: &CaptureRecord) -> String {
        connections::summary_line(cap)
    }
}

/// `connlint transactions`: a row per transaction, rendered as its
/// connection finishes.
struct TransactionListing {
    absolute: bool,
    transactions: u64,
    http_connections: u64,
    connections: u64,
    tls_connections: u64,
    decrypted: u64,
}

impl Listing for TransactionListing {
    type Item = Vec<Rendered>;
    const KEY: &'static str = "transactions";
    const HEADER: &'static [&'static str] = transactions::HEADER;
    const RIGHT: &'static [usize] = transactions::RIGHT;
    const KEEP: Keep = Keep::TRANSACTIONS;
    const OPTIONAL: &'static [&'static str] = &["tunnel"];

    fn new(absolute: bool) -> Self {
        TransactionListing {
            absolute,
            transactions: 0,
            http_connections: 0,
            connections: 0,
            tls_connections: 0,
            decrypted: 0,
        }
    }

    fn item(&mut self, path: &str, a: &Analyzed, w: &Writer) -> Vec<Rendered> {
        self.connections = self.connections.saturating_add(1);
        self.tls_connections = self
            .tls_connections
            .saturating_add(u64::from(a.protocol.is_tls() && !a.decrypted()));
        self.decrypted = self.decrypted.saturating_add(u64::from(a.decrypted()));
        self.http_connections = self
            .http_connections
            .saturating_add(u64::from(a.http.is_http));
        self.transactions = self
            .transactions
            .saturating_add(a.http.transactions.len() as u64);
        let tunnel = a.connection.tunnel.as_ref().map(|t| t.to_string());
        let clock = Clock {
            t0: a.capture_start,
            absolute: self.absolute,
        };
        a.http
            .transactions
            .iter()
            .map(|tx| {
                let r = TransactionRecord::new(path, &a.connection, tx);
                let row = || {
                    let start = tx
                        .timing
                        .request_start_ts
                        .or(tx.response.as_ref().map(|m| m.first_byte_ts))
                        .map_or("-".to_string(), |ts| clock.cell(ts));
                    let mut cells = transactions::row(tx, &r, start);
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
            self.decrypted,
        )
    }
}

/// `connlint transactions --summary`: the latency per server endpoint of
/// every capture named, as a table or JSON (JSON Lines: one endpoint a
/// line).
fn latency_command(
    input: &Input,
    format: Format,
    limits: &Limits,
    view: View,
) -> io::Result<Outcome> {
    let mut summary = LatencySummary::default();
    let mut damaged = false;
    for path in &input.captures {
        if crate::interrupt::requested() {
            break;
        }
        let s = analyze::run(path, limits, Keep::TRANSACTIONS, |a| {
            let server = a.connection.server.to_string();
            for tx in &a.http.transactions {
                let t = &tx.timing;
                let ms = |ns: Option<i64>| ns.map(|n| n as f64 / 1e6);
                let parts = [t.connect_ns, t.send_ns, t.wait_ns, t.receive_ns];
                let total = (t.wait_ns.is_some() || t.send_ns.is_some()).then(|| {
                    parts
                        .iter()
                        .flatten()
                        .fold(0i64, |a, b| a.saturating_add(*b))
                });
                summary.add(&server, ms(t.wait_ns), ms(total));
            }
        });
        damaged |= report_capture(&s, CaptureRole::Listing("transactions"), view);
    }
    let endpoints = summary.endpoints();
    let mut out = stdout();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &endpoints).map_err(io::Error::other)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for e in &endpoints {
                crate::report::write_json_line(&mut out, e)?;
            }
        }
        Format::Table => {
            if !endpoints.is_empty() {
                let mut t = view.term.table();
                t.set_header(view.term.header(latency::HEADER.iter().copied()));
                for e in &endpoints {
                    t.add_row(latency::row(e));
                }
                for &col in latency::RIGHT {
                    if let Some(c) = t.column_mut(col) {
                        c.set_cell_alignment(comfy_table::CellAlignment::Right);
                    }
                }
                writeln!(out, "{t}")?;
            }
            let n: u64 = endpoints.iter().map(|e| e.transactions).sum();
            writeln!(
                out,
                "{n} transaction{} at {} server endpoint{} (wait and total in ms, nearest-rank percentiles)",
                if n == 1 { "" } else { "s" },
                endpoints.len(),
                if endpoints.len() == 1 { "" } else { "s" }
            )?;
        }
    }
    out.flush()?;
    Ok(if damaged {
        Outcome::Damaged
    } else {
        Outcome::Clean
    })
}

/// `connlint check`'s options, as parsed.
struct CheckArgs {
    format: CheckFormat,
    selection: CliSelection,
    config: Option<String>,
    exit_zero: bool,
    no_group: bool,
    statistics: bool,
    baseline: Option<String>,
    write_baseline: Option<String>,
    rule_help: RuleHelp,
    merge_tunnels: bool,
    jobs: Option<usize>,
    keylog: Option<String>,
}

/// `connlint check`: the configuration (file, then command line), every
/// capture linted, suppressions and the baseline applied, the report, and
/// the gate.
fn check_command(
    input: &Input,
    args: &CheckArgs,
    cli_limits: &[String],
    view: View,
) -> io::Result<Outcome> {
    if args.statistics && !args.format.has_statistics() {
        return usage(format!(
            "--statistics is written as table, json or jsonl, not {}",
            clap::ValueEnum::to_possible_value(&args.format)
                .map_or(String::new(), |v| v.get_name().to_string())
        ));
    }
    let (config, file_limits, file_keylog) =
        match load_config(args.config.as_deref(), &args.selection) {
            Ok(c) => c,
            Err(e) => return usage(e),
        };
    let mut baseline = match &args.baseline {
        None => None,
        Some(p) => match std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| Baseline::parse(&t))
        {
            Ok(b) => Some(b),
            Err(e) => return usage(format!("{p}: cannot read the baseline: {e}")),
        },
    };
    // The file's [limits] first, then --limit on top.
    let mut limits = Limits::default();
    for l in file_limits.iter().chain(cli_limits) {
        if let Err(e) = limits.set(l) {
            return usage(format!("limit {e}"));
        }
    }
    limits.tunnels.merge = args.merge_tunnels;
    limits.filter = input.filter();
    if let Some(path) = keylog_path(args.keylog.as_deref(), file_keylog) {
        match read_keylog(&path) {
            Ok(k) => limits.tls_keys = Some(k),
            Err(e) => return usage(e),
        }
    }
    let mut options = findings::CheckOptions::new(&config, !args.no_group);
    options.statistics = args.statistics;
    options.max_groups = limits.max_groups;
    options.term = view.term;
    options.quiet = view.quiet;
    options.absolute_time = input.absolute_time;
    options.rule_help = args.rule_help;
    let captures = match expand_captures(&input.captures) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let gate = std::sync::Mutex::new(Gate {
        suppress: &config.suppress,
        suppressed: vec![0; config.suppress.len()],
        baseline: baseline.take(),
        known: 0,
        record: args
            .write_baseline
            .as_ref()
            .map(|_| baseline::Recorder::default()),
    });
    let mut report = CheckReport::new(args.format, options);
    let mut out = stdout();
    report.begin(&mut out)?;
    let (mut damaged, mut empty) = (false, false);
    if jobs > 1 && captures.len() > 1 {
        (damaged, empty) = check_parallel(
            &captures,
            jobs,
            &limits,
            &config,
            &gate,
            &mut report,
            &mut out,
            view,
        )?;
    }
    for path in captures.iter().filter(|_| jobs <= 1 || captures.len() <= 1) {
        if crate::interrupt::requested() {
            break;
        }
        let mut part = report.part(path, true);
        let mut failed = None;
        let opened = CaptureReader::open(Path::new(path), limits.reader);
        let mut check = analyze::run_check_streaming(path, opened, &limits, &config, |f, t0| {
            if failed.is_none() && Gate::admit(&gate, &f) {
                failed = part.finding(&mut out, &f, t0).err();
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let done = part.finish(&mut out, &mut check)?;
        damaged |= report_capture(&check.summary, CaptureRole::Check, view);
        empty |= nothing_to_judge(&check.summary).is_some();
        report.take(&mut out, done, None)?;
    }
    let gate = gate
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let (Some(p), Some(record)) = (&args.write_baseline, gate.record) {
        if let Err(e) = std::fs::write(p, record.into_json()) {
            out.flush()?;
            return usage(format!("{p}: cannot write the baseline: {e}"));
        }
    }
    for (s, n) in config.suppress.iter().zip(&gate.suppressed) {
        if *n > 0 && !view.quiet {
            eprintln!(
                "connlint: note: {n} finding{} suppressed: {}",
                if *n == 1 { "" } else { "s" },
                s.describe()
            );
        }
    }
    let known = gate.known;
    if let Some(b) = &gate.baseline {
        let gone = b.gone();
        eprintln!(
            "connlint: note: baseline: {known} known finding{} not shown; {} of its {} entr{} no longer occur{}",
            if known == 1 { "" } else { "s" },
            gone.len(),
            b.len(),
            if b.len() == 1 { "y" } else { "ies" },
            if gone.len() == 1 { "s" } else { "" },
        );
        if !view.quiet {
            for g in gone.iter().take(10) {
                eprintln!("connlint: note: baseline entry no longer occurs: {g}");
            }
        }
    }
    report.hide((gate.suppressed.iter().sum(), known));
    let fails = report.summary().fails(config.fail_on);
    report.end(&mut out)?;
    out.flush()?;
    Ok(if damaged {
        Outcome::Damaged
    } else if fails && !args.exit_zero {
        Outcome::Findings
    } else if empty && config.fail_on_empty {
        Outcome::NothingToJudge
    } else {
        Outcome::Clean
    })
}

/// What happens to each finding of `check` as it streams, before it is
/// written: `--write-baseline` records its fingerprint, a `[[suppress]]`
/// entry or the `--baseline` hides it (counted, for the notes and the
/// summary line at the end). Shared by the `-j` workers.
struct Gate<'c> {
    suppress: &'c [suppress::Suppression],
    /// Per suppression, the findings it hid.
    suppressed: Vec<u64>,
    baseline: Option<Baseline>,
    /// Findings the baseline hid.
    known: u64,
    record: Option<baseline::Recorder>,
}

impl Gate<'_> {
    /// Whether `f` is to be written.
    fn admit(gate: &std::sync::Mutex<Gate<'_>>, f: &crate::rules::Finding) -> bool {
        let mut g = gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(r) = &mut g.record {
            r.add(f);
        }
        if let Some(i) = suppress::covering(g.suppress, f) {
            if let Some(c) = g.suppressed.get_mut(i) {
                *c = c.saturating_add(1);
            }
            return false;
        }
        if g.baseline.as_mut().is_some_and(|b| b.knows(f)) {
            g.known = g.known.saturating_add(1);
            return false;
        }
        true
    }
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
/// order given as they are ready. Returns whether some capture was
/// damaged, and whether some had nothing to judge. A stop request
/// (Ctrl-C) ends each worker's capture as its end and starts no other.
#[allow(clippy::too_many_arguments)]
fn check_parallel(
    captures: &[String],
    jobs: usize,
    limits: &Limits,
    config: &Config,
    gate: &std::sync::Mutex<Gate<'_>>,
    report: &mut CheckReport,
    out: &mut impl Write,
    view: View,
) -> io::Result<(bool, bool)> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Mutex};
    let parts: Vec<Mutex<Option<findings::CapturePart>>> = captures
        .iter()
        .map(|p| Mutex::new(Some(report.part(p, false))))
        .collect();
    let next = AtomicUsize::new(0);
    let (send, receive) = mpsc::channel::<(usize, io::Result<Checked>)>();
    let (mut damaged, mut empty) = (false, false);
    std::thread::scope(|scope| -> io::Result<()> {
        for _ in 0..jobs.min(captures.len()) {
            let send = send.clone();
            let (parts, next) = (&parts, &next);
            scope.spawn(move || loop {
                if crate::interrupt::requested() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let (Some(path), Some(slot)) = (captures.get(i), parts.get(i)) else {
                    break;
                };
                let part = slot
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                let Some(part) = part else { continue };
                let checked = check_to_spool(path, i, part, limits, config, gate);
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
                damaged |= report_capture(&c.summary, CaptureRole::Check, view);
                empty |= nothing_to_judge(&c.summary).is_some();
                use std::io::Seek;
                c.spool.seek(io::SeekFrom::Start(0))?;
                report.take(out, c.done, Some(&mut c.spool))?;
                want = want.saturating_add(1);
            }
        }
        Ok(())
    })?;
    Ok((damaged, empty))
}

/// Checks one capture into a new spool file (unlinked at once: it goes
/// away with its handle).
fn check_to_spool(
    path: &str,
    i: usize,
    mut part: findings::CapturePart,
    limits: &Limits,
    config: &Config,
    gate: &std::sync::Mutex<Gate<'_>>,
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
        if failed.is_none() && Gate::admit(gate, &f) {
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

/// `connlint rule CODE|NAME`; for a word that names none, the rules whose
/// name or summary holds it.
fn rule_command(rule: &str) -> io::Result<Outcome> {
    match crate::rules::config::find_rule(rule) {
        Some(r) => {
            let mut out = stdout();
            findings::write_rule(&mut out, r.meta())?;
            out.flush()?;
            Ok(Outcome::Clean)
        }
        None => {
            let word = rule.to_ascii_lowercase();
            let near: Vec<String> = crate::rules::all()
                .iter()
                .map(|r| r.meta())
                .filter(|m| {
                    !word.is_empty()
                        && (m.name.contains(&word)
                            || m.summary.to_ascii_lowercase().contains(&word)
                            || m.code.to_ascii_lowercase().starts_with(&word))
                })
                .map(|m| format!("{} {}", m.code, m.name))
                .collect();
            if near.is_empty() {
                usage(format!(
                    "no rule has the code or name `{rule}`; `connlint rules` lists them"
                ))
            } else {
                usage(format!(
                    "no rule has the code or name `{rule}`; did you mean: {}",
                    near.join(", ")
                ))
            }
        }
    }
}

/// `connlint init`: the template, not over an existing file unless asked.
fn init_command(path: &str, force: bool) -> io::Result<Outcome> {
    if !force && std::path::Path::new(path).exists() {
        return usage(format!(
            "{path} exists; `connlint init --force` overwrites it"
        ));
    }
    if let Err(e) = std::fs::write(path, crate::report::init::template()) {
        return usage(format!("{path}: cannot write: {e}"));
    }
    eprintln!("connlint: wrote {path}");
    Ok(Outcome::Clean)
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

/// Frames out of time order that could not be put back, and clock
/// anomalies (see `capture::Reorder`).
fn time_order_notes(summary: &CaptureSummary) -> Vec<String> {
    let frames = |n: u64| {
        if n == 1 {
            "1 frame".to_string()
        } else {
            format!("{n} frames")
        }
    };
    let were = |n: u64| if n == 1 { "was" } else { "were" };
    let mut notes = Vec::new();
    let late = summary.reorder.frames_out_of_order;
    if late > 0 {
        notes.push(format!(
            "{} out of time order by more than the reorder window holds {} analysed \
             where the file has {} (raise it with --limit reorder_window_ms=N, \
             max_reorder_frames=N or max_reorder_bytes=N)",
            frames(late),
            were(late),
            if late == 1 { "it" } else { "them" }
        ));
    }
    let odd = summary.reorder.clock_anomalies;
    if odd > 0 {
        notes.push(format!(
            "{} with a timestamp an hour or more away from the frames around {} \
             (a clock anomaly) {} analysed at the time of the frame before",
            frames(odd),
            if odd == 1 { "it" } else { "them" },
            were(odd)
        ));
    }
    notes
}

/// Why a capture that was read has nothing to judge, if it has not: no
/// packets, no TCP connection, or no HTTP/1.x (and what there was).
fn nothing_to_judge(summary: &CaptureSummary) -> Option<String> {
    summary.format?;
    let seen = &summary.seen;
    let filtered = summary.filtered_frames > 0 || summary.filtered_connections > 0;
    let s = |n: u64| if n == 1 { "" } else { "s" };
    if summary.frames == 0 {
        return Some("the capture holds no packets".to_string());
    }
    if seen.connections == 0 {
        let kept = summary.frames.saturating_sub(summary.filtered_frames);
        return Some(if filtered {
            format!(
                "no TCP connection in the {kept} packet{} the filter kept (of {})",
                s(kept),
                summary.frames
            )
        } else {
            format!("no TCP connection in {kept} packet{}", s(kept))
        });
    }
    if seen.http == 0 {
        let n = seen.connections;
        let which = if filtered { " the filter kept" } else { "" };
        return Some(format!(
            "no HTTP/1.x or TLS in the {n} TCP connection{}{which} ({})",
            s(n),
            seen.describe()
        ));
    }
    None
}
/// Which command a capture's notes are for: `connections` warns only of a
/// capture without TCP, the HTTP commands of one without HTTP/1.x.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CaptureRole {
    Listing(&'static str),
    Check,
}

/// Prints to stderr what a person must know of a capture: its damage
/// (file, byte offset, reason), that it was interrupted, that it had
/// nothing to judge (a warning), and notes (undecoded frames, bounds
/// reached, the filter; not with `--quiet`). True if it was damaged.
fn report_capture(summary: &CaptureSummary, role: CaptureRole, view: View) -> bool {
    let path = &summary.path;
    if !view.quiet {
        if let Some(note) = undecoded_note(summary) {
            eprintln!("connlint: note: {path}: {note}");
        }
        for note in time_order_notes(summary) {
            eprintln!("connlint: note: {path}: {note}");
        }
        for (key, n, meaning) in summary.limits_hit.reached() {
            eprintln!(
                "connlint: note: {path}: limit {key} reached {n} time{}: {meaning} (raise it with --limit {key}=N)",
                if n == 1 { "" } else { "s" }
            );
        }
        if summary.filtered_frames > 0 || summary.filtered_connections > 0 {
            eprintln!(
                "connlint: note: {path}: the filter left out {} packet{} and {} connection{}",
                summary.filtered_frames,
                if summary.filtered_frames == 1 {
                    ""
                } else {
                    "s"
                },
                summary.filtered_connections,
                if summary.filtered_connections == 1 {
                    ""
                } else {
                    "s"
                },
            );
        }
    }
    if summary.interrupted {
        eprintln!(
            "connlint: note: {path}: interrupted; the report covers the {} packet{} read before it \
             (connections still open count as open at the end of the capture)",
            summary.frames,
            if summary.frames == 1 { "" } else { "s" }
        );
    }
    if let Some(why) = nothing_to_judge(summary) {
        let tcp_missing = summary.seen.connections == 0;
        if role == CaptureRole::Check || role == CaptureRole::Listing("transactions") || tcp_missing
        {
            let hint = if role == CaptureRole::Check {
                " (--fail-on-empty makes this fail the run)"
            } else {
                ""
            };
            eprintln!("connlint: warning: {path}: nothing to judge: {why}{hint}");
        }
    }
    match &summary.error {
        Some(e) => {
            let covered = match summary.frames {
                0 => String::new(),
                1 => " (the report covers the 1 packet before it)".to_string(),
                n => format!(" (the report covers the {n} packets before it)"),
            };
            let of = summary
                .compression
                .map_or(String::new(), |c| format!(" of the {c}-decompressed data"));
            eprintln!(
                "connlint: error: {path}: byte offset {}{of}: {}{covered}",
                e.offset, e.reason
            );
            true
        }
        None => false,
    }
}
