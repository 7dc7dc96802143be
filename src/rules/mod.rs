//! Stage 6: the lint rules.
//!
//! A rule registry in the manner of ruff and clippy: every rule has a stable
//! code (S001, T001, ...), a kebab-case name, a family, a default severity,
//! documentation, and thresholds settable in `connlint.toml`. Rules see a
//! finished connection — its TCP facts, the Nagle/delayed-ACK evidence the
//! reassembly gathered, and its HTTP transactions — and the cross-connection
//! rules also see a bounded index of recent connections.

pub mod catalogue;
pub mod config;
pub mod context;
pub mod engine;
pub mod finding;
pub mod index;
pub mod meta;
pub mod registry;
#[cfg(test)]
pub(crate) mod testing;

pub use config::{CliSelection, Config, ConfigError, ConfigFile, FailOn, RuleSettings};
pub use context::{CheckHandler, ConnectionFacts};
pub use engine::Linter;
pub use finding::{Covers, Finding};
pub use meta::{Family, OptionSpec, RuleMeta, Severity};
pub use registry::{all, Rule};
