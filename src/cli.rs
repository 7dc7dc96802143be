//! The command line: parses arguments, runs the pipeline, prints, and maps
//! the outcome to an exit code (0 ok, 1 findings at or above --fail-on,
//! 2 usage error, unreadable or corrupt capture, or internal error).

use crate::analyze::{run_capture, CaptureSummary, Limits};
use crate::reassembly::NoopHandler;
use crate::report::connections::{self, CaptureRecord, ConnectionRecord};
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
            let mut records = Vec::new();
            let mut rows = Vec::new();
            let mut failed = false;
            for path in &captures {
                let summary = run_capture(
                    path,
                    &limits,
                    || NoopHandler,
                    |f| {
                        rows.push(ConnectionRecord::new(path, &f.connection, None));
                    },
                );
                failed |= report_error(&summary);
                records.push(CaptureRecord::new(&summary));
            }
            // Finished connections arrive in the order they ended; reports
            // list them in the order they began.
            rows.sort_by(|a, b| {
                let ca = captures.iter().position(|p| *p == a.capture);
                let cb = captures.iter().position(|p| *p == b.capture);
                ca.cmp(&cb).then(a.id.cmp(&b.id))
            });
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            connections::write(&mut out, format, &records, &rows)?;
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
