//! Stage 6: the lint rules.
//!
//! A rule registry in the manner of ruff and clippy: every rule has a stable
//! code (S001, T001, ...), a kebab-case name, a family, a default severity,
//! documentation, and thresholds settable in `connlint.toml`. Rules see a
//! finished connection — its TCP facts, the Nagle/delayed-ACK evidence the
//! reassembly gathered, and its HTTP transactions — and the cross-connection
//! rules also see a bounded index of recent connections.
//!
//! Imports go one way, down this list:
//! - [`engine`] runs the enabled rules, [`config`] says which and how;
//! - [`catalogue`]: the rules, one file each and peers (no rule file imports
//!   another), with the helpers they share;
//! - [`api`]: what a rule stands on (the trait, its settings, [`Finding`],
//!   its [`RuleMeta`], the [`ConnectionFacts`] and [`index`] it is shown),
//!   with [`proxy_legs`], a service of the index.

pub mod api;
pub mod catalogue;
pub mod config;
pub mod context;
pub mod engine;
pub mod finding;
pub mod index;
pub mod meta;
pub mod place;
pub mod proxy_legs;
pub mod suppress;
#[cfg(test)]
pub(crate) mod testing;

pub use api::{Needs, Rule, RuleSettings};
pub use catalogue::all;
pub use config::{CliSelection, Config, ConfigError, ConfigFile, FailOn};
pub use context::ConnectionFacts;
pub use engine::Linter;
pub use finding::{Covers, Finding, Ms, Place};
pub use meta::{Family, OptionSpec, RuleMeta, Severity};
