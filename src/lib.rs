//! connlint: a packet-capture analyzer and linter for HTTP/1.x connection management.
//!
//! The crate is laid out as the pipeline it runs, one module a stage, each
//! handing the next a narrow typed view:
//!
//! ```text
//! capture    pcap / pcapng bytes (file or stdin)  -> Frame (number, timestamp, link type, bytes)
//! decode     Frame                                -> TcpSegment (link layers, tunnels, IP, TCP)
//! reassembly one direction's segments             -> in-order bytes, gaps, FIN/RST, ack releases,
//!                                                    as calls on a StreamHandler
//! flow       TcpSegment                           -> Connection (4-tuple + tunnel + generation,
//!                                                    roles, handshake, close), driving the
//!                                                    reassemblers and the connection's handler
//! tls        StreamHandler calls (TLS connections) -> the handshake's facts, records, timing
//! http       StreamHandler calls                  -> transactions with timing and facts;
//!                                                    its handler sends TLS connections to `tls`
//! rules      finished connections (and an index)  -> findings
//! report     connections, transactions, findings  -> table / json / jsonl / sarif / junit / github
//! ```
//!
//! Imports run one way, down this list (`reassembly` sits below `flow`, which
//! owns each connection's two reassemblers; `flow` meets `http` only through
//! the `StreamHandler` trait): `tests/architecture.rs` checks it. `limits`
//! gathers every stage's bounds, `analyze` runs the stages over a capture,
//! and the binary in `main.rs` is a thin CLI (`cli`) on top.
// No exception: capture files are streamed, not memory-mapped (see
// capture/input.rs for the measurement that decided it).
#![forbid(unsafe_code)]
// Captures are hostile input, and every path from their bytes, through the
// rules and the reports too, must be free of panics and silent overflow: the
// panicking shortcuts are denied in the whole library. Sums that could
// overflow saturate or are checked, each choosing the value that stays true.
// Tests may use the shortcuts (clippy.toml), except unchecked arithmetic,
// which clippy has no test switch for: a test module that does sums says
// `#[allow(clippy::arithmetic_side_effects)]`. (Here rather than in
// Cargo.toml's [lints]: that table would also hold the integration tests in
// tests/, which are test code through and through.)
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

pub mod analyze;
pub mod capture;
pub mod cli;
pub mod decode;
pub mod filter;
pub mod flow;
pub mod http;
pub mod interrupt;
pub mod limits;
pub mod reassembly;
pub mod report;
pub mod rules;
pub mod time;
pub mod tls;

pub use time::Timestamp;
