//! The command line: parses arguments, runs the pipeline, prints, and maps
//! the outcome to an exit code (0 ok, 1 findings at or above --fail-on,
//! 2 usage error, unreadable or corrupt capture, or internal error).

use crate::analyze::{run_http_capture, Analyzed, CaptureSummary, Limits};
use crate::report::connections::{self, CaptureRecord, ConnectionRecord};
use crate::report::transactions::{self, CaptureTransactions};
use crate::report::Format;
use clap::{Parser, Subcommand};
use std::io::{self, BufWriter, Write};

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
}

/// One capture read through the whole pipeline.
struct CaptureRun {
    summary: CaptureSummary,
    /// Finished connections in id order (the order they began).
    connections: Vec<Analyzed>,
}

/// Reads every capture; reports damage on stderr as it goes.
fn analyze_all(captures: &[String], limits: &Limits) -> (Vec<CaptureRun>, bool) {
    let mut failed = false;
    let runs = captures
        .iter()
        .map(|path| {
            let mut connections = Vec::new();
            let summary = run_http_capture(path, limits, |a| connections.push(a));
            // Connections finish in the order they end; reports list them in
            // the order they began.
            connections.sort_by_key(|a| a.connection.id);
            failed |= report_error(&summary);
            CaptureRun {
                summary,
                connections,
            }
        })
        .collect();
    (runs, failed)
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
    match run(cli) {
        Ok(code) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("connlint: error: {e}");
            2
        }
    }
}

fn run(cli: Cli) -> io::Result<i32> {
    let limits = Limits::default();
    match cli.command {
        Command::Connections { captures, format } => {
            let (runs, failed) = analyze_all(&captures, &limits);
            let records: Vec<CaptureRecord> = runs
                .iter()
                .map(|r| CaptureRecord::new(&r.summary))
                .collect();
            let rows: Vec<ConnectionRecord> = runs
                .iter()
                .flat_map(|r| {
                    r.connections.iter().map(|a| {
                        ConnectionRecord::new(
                            &r.summary.path,
                            &a.connection,
                            Some(a.http.transactions.len() as u64),
                        )
                    })
                })
                .collect();
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            connections::write(&mut out, format, &records, &rows)?;
            out.flush()?;
            Ok(if failed { 2 } else { 0 })
        }
        Command::Transactions { captures, format } => {
            let (runs, failed) = analyze_all(&captures, &limits);
            let views: Vec<CaptureTransactions> = runs
                .iter()
                .map(|r| CaptureTransactions {
                    path: &r.summary.path,
                    connections: &r.connections,
                })
                .collect();
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            transactions::write(&mut out, format, &views)?;
            out.flush()?;
            Ok(if failed { 2 } else { 0 })
        }
    }
}

/// Prints a capture's damage to stderr (file, byte offset, reason); true if any.
fn report_error(summary: &CaptureSummary) -> bool {
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
