//! What every rule declares about itself: code, name, family, severity,
//! documentation and options. The registry, `connlint rules`, `connlint
//! rule`, the README table and the config validation all read from here.

use serde::Serialize;
use std::fmt;

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The rule families, by the letter their codes start with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// S: how connections are set up and spent (handshakes, churn, parallelism, reuse).
    Setup,
    /// T: TCP-level pacing (Nagle, delayed ACK).
    Tcp,
    /// C: the Connection header and its hop-by-hop companions.
    ConnectionHeader,
    /// P: pipelining.
    Pipelining,
    /// F: message framing.
    Framing,
    /// R: resets, truncation, retries.
    Reset,
}

impl Family {
    pub fn letter(self) -> char {
        match self {
            Family::Setup => 'S',
            Family::Tcp => 'T',
            Family::ConnectionHeader => 'C',
            Family::Pipelining => 'P',
            Family::Framing => 'F',
            Family::Reset => 'R',
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Family::Setup => "connection setup",
            Family::Tcp => "TCP pacing",
            Family::ConnectionHeader => "Connection header",
            Family::Pipelining => "pipelining",
            Family::Framing => "framing",
            Family::Reset => "resets and truncation",
        }
    }
}

/// One tunable threshold of a rule, as `connlint.toml` sets it.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct OptionSpec {
    pub key: &'static str,
    pub default: f64,
    /// What it means and its unit.
    pub doc: &'static str,
    /// Whether only whole numbers make sense (counts).
    pub integer: bool,
}

/// A rule's identity and documentation.
#[derive(Debug, Serialize)]
pub struct RuleMeta {
    pub code: &'static str,
    pub name: &'static str,
    pub family: Family,
    pub severity: Severity,
    /// One line: what fires it.
    pub summary: &'static str,
    /// The full documentation (Markdown): what it detects, why it matters
    /// (the TCP/HTTP mechanism), an example, the fix.
    pub doc: &'static str,
    pub options: &'static [OptionSpec],
}
