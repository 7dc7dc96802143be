//! connlint: a packet-capture analyzer and linter for HTTP/1.x connection management.
//!
//! The crate is laid out as the pipeline it runs, one module a stage, each
//! handing the next a narrow typed view:
//!
//! ```text
//! capture    pcap / pcapng bytes            -> Frame (timestamp, link type, bytes)
//! decode     Frame                          -> TcpSegment (endpoints, seq/ack, flags, options, payload)
//! flow       TcpSegment                     -> Connection (4-tuple + generation, roles, handshake, close)
//! reassembly per direction of a Connection  -> in-order byte ranges, gaps, FIN/RST (StreamHandler calls)
//! http       StreamHandler over a connection-> transactions with timing        (issue: transactions)
//! report     finished connections           -> table / json / jsonl
//! ```
//!
//! `analyze` ties the stages together; the binary in `main.rs` is a thin CLI on
//! top of it.
// No exception: capture files are streamed, not memory-mapped (see
// capture/input.rs for the measurement that decided it).
#![forbid(unsafe_code)]

pub mod analyze;
pub mod capture;
pub mod cli;
pub mod decode;
pub mod flow;
pub mod http;
pub mod limits;
pub mod reassembly;
pub mod report;
pub mod rules;
pub mod time;

pub use time::Timestamp;
