//! Which rules run, at what severity, with what thresholds: from
//! `connlint.toml` and the command line.
//!
//! ```toml
//! select = ["S", "T001", "pipelined-before-persistence-known"]  # default: all
//! ignore = ["S004"]
//! fail-on = "warning"            # error | warning | info | never
//!
//! [rules.S001]                   # a rule by code or by name
//! severity = "error"
//! handshake_ratio = 0.5
//!
//! [limits]                       # bounds on the input (`connlint limits`)
//! max_connections = 100000
//! ```
//!
//! Unknown keys, rules, options and values are errors that name the key: a
//! misspelt threshold silently ignored would make a CI gate lie.

use super::api::{Rule, RuleMeta, RuleSettings, Severity};
use super::catalogue;
use std::collections::BTreeMap;
use std::fmt;

/// The severity at or above which findings fail the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

impl FailOn {
    pub fn parse(s: &str) -> Option<FailOn> {
        match s {
            "error" => Some(FailOn::Error),
            "warning" => Some(FailOn::Warning),
            "info" => Some(FailOn::Info),
            "never" => Some(FailOn::Never),
            _ => None,
        }
    }

    /// Whether a finding of `severity` fails the run.
    pub fn fails(self, severity: Severity) -> bool {
        match self {
            FailOn::Never => false,
            FailOn::Info => true,
            FailOn::Warning => severity >= Severity::Warning,
            FailOn::Error => severity >= Severity::Error,
        }
    }
}

/// A configuration problem, naming what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The resolved configuration of a `check` run.
#[derive(Clone, Debug)]
pub struct Config {
    pub fail_on: FailOn,
    /// Settings per rule, in registry order.
    pub rules: Vec<RuleSettings>,
    /// Findings accepted, by rule and place (`[[suppress]]`).
    pub suppress: Vec<super::suppress::Suppression>,
    /// A capture with nothing to judge (no TCP connection, no HTTP/1.x)
    /// fails the run (`fail-on-empty`, `--fail-on-empty`).
    pub fail_on_empty: bool,
}

/// What `connlint.toml` may say.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    pub select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    pub fail_on: Option<String>,
    #[serde(default)]
    pub rules: BTreeMap<String, toml::Table>,
    /// Bounds on the input (`connlint limits` lists the keys).
    #[serde(default)]
    pub limits: BTreeMap<String, toml::Value>,
    /// A capture with nothing to judge fails the run.
    pub fail_on_empty: Option<bool>,
    /// Accepted findings (`[[suppress]]`, see [`super::suppress`]).
    #[serde(default)]
    pub suppress: Vec<super::suppress::SuppressEntry>,
    /// `[tls]`: `keylog = "FILE"`, an NSS key log to decrypt TLS with.
    pub tls: Option<TlsSection>,
}

/// The `[tls]` table of `connlint.toml`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// An NSS key log (relative to the configuration file's directory).
    pub keylog: Option<String>,
}

impl ConfigFile {
    pub fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError(e.to_string().trim_end().to_string()))
    }
}

/// Whether `pattern` (a code, a name, or a code prefix such as `C` or `P0`)
/// picks out `meta`. `ALL` picks every rule.
pub fn matches(meta: &RuleMeta, pattern: &str) -> bool {
    let p = pattern.trim();
    p.eq_ignore_ascii_case("ALL")
        || p.eq_ignore_ascii_case(meta.code)
        || p == meta.name
        || (!p.is_empty()
            && p.len() < meta.code.len()
            && p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && meta.code.starts_with(&p.to_ascii_uppercase()))
}

/// Checks a `[[suppress]]` entry (written at `origin`): a `rule` that
/// selects at least one rule, and a reason.
fn suppression(
    entry: &super::suppress::SuppressEntry,
    origin: &str,
) -> Result<super::suppress::Suppression, ConfigError> {
    check_selector(&entry.rule, &format!("{origin}.rule"))?;
    let reason = entry.reason.as_deref().map(str::trim).unwrap_or_default();
    if reason.is_empty() {
        return Err(ConfigError(format!(
            "{origin}: a suppression needs a `reason` (why the finding is accepted)"
        )));
    }
    let codes = catalogue::all()
        .iter()
        .map(|r| r.meta())
        .filter(|m| matches(m, &entry.rule))
        .map(|m| m.code)
        .collect();
    Ok(super::suppress::Suppression {
        entry: entry.clone(),
        reason: reason.to_string(),
        codes,
    })
}

/// Checks that a selector names at least one rule (a typo would otherwise
/// select nothing and pass every capture).
fn check_selector(pattern: &str, origin: &str) -> Result<(), ConfigError> {
    if catalogue::all().iter().any(|r| matches(r.meta(), pattern)) {
        Ok(())
    } else {
        Err(ConfigError(format!(
            "{origin}: `{pattern}` is not a rule code, rule name or code prefix (see `connlint rules`)"
        )))
    }
}

/// Finds a rule by code or name.
pub fn find_rule(code_or_name: &str) -> Option<&'static dyn Rule> {
    catalogue::all()
        .iter()
        .copied()
        .find(|r| r.meta().code.eq_ignore_ascii_case(code_or_name) || r.meta().name == code_or_name)
}

/// Command-line settings, which take precedence over the file's.
#[derive(Debug, Default, Clone)]
pub struct CliSelection {
    /// Replaces the file's `select` when given.
    pub select: Option<Vec<String>>,
    /// Added to the file's `ignore`.
    pub ignore: Vec<String>,
    pub fail_on: Option<FailOn>,
    /// `--fail-on-empty` (true overrides the file's).
    pub fail_on_empty: bool,
}

impl Config {
    /// Resolves the file (if any, with its path for messages) and the
    /// command line into per-rule settings.
    pub fn resolve(
        file: Option<(&str, &ConfigFile)>,
        cli: &CliSelection,
    ) -> Result<Config, ConfigError> {
        let path = file.map_or("", |(p, _)| p);
        let file_cfg = file.map(|(_, f)| f);
        let at = |key: &str| {
            if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}: {key}")
            }
        };

        let mut select: Vec<String> = vec!["ALL".to_string()];
        if let Some(s) = file_cfg.and_then(|f| f.select.clone()) {
            for p in &s {
                check_selector(p, &at("select"))?;
            }
            select = s;
        }
        if let Some(s) = &cli.select {
            for p in s {
                check_selector(p, "--select")?;
            }
            select = s.clone();
        }
        let mut ignore: Vec<String> = Vec::new();
        if let Some(i) = file_cfg.and_then(|f| f.ignore.clone()) {
            for p in &i {
                check_selector(p, &at("ignore"))?;
            }
            ignore = i;
        }
        for p in &cli.ignore {
            check_selector(p, "--ignore")?;
        }
        ignore.extend(cli.ignore.iter().cloned());

        let mut fail_on = FailOn::Warning;
        if let Some(f) = file_cfg.and_then(|f| f.fail_on.as_deref()) {
            fail_on = FailOn::parse(f).ok_or_else(|| {
                ConfigError(format!(
                    "{}: `{f}` is not one of error, warning, info, never",
                    at("fail-on")
                ))
            })?;
        }
        if let Some(f) = cli.fail_on {
            fail_on = f;
        }

        let mut rules: Vec<RuleSettings> = catalogue::all()
            .iter()
            .map(|r| {
                let m = r.meta();
                RuleSettings {
                    enabled: select.iter().any(|p| matches(m, p))
                        && !ignore.iter().any(|p| matches(m, p)),
                    severity: None,
                    options: m.options.iter().map(|o| (o.key, o.default)).collect(),
                }
            })
            .collect();

        if let Some(f) = file_cfg {
            for (key, table) in &f.rules {
                let (meta, settings) = catalogue::all()
                    .iter()
                    .map(|r| r.meta())
                    .zip(rules.iter_mut())
                    .find(|(m, _)| m.code.eq_ignore_ascii_case(key) || m.name == key)
                    .ok_or_else(|| {
                        ConfigError(format!(
                            "{}: no rule has the code or name `{key}`",
                            at("rules")
                        ))
                    })?;
                for (opt, value) in table {
                    let here = at(&format!("rules.{key}.{opt}"));
                    if opt == "severity" {
                        let s = value.as_str().and_then(Severity::parse).ok_or_else(|| {
                            ConfigError(format!(
                                "{here}: severity must be \"error\", \"warning\" or \"info\""
                            ))
                        })?;
                        settings.severity = Some(s);
                        continue;
                    }
                    let spec = meta.options.iter().find(|o| o.key == opt).ok_or_else(|| {
                        let known: Vec<&str> = meta.options.iter().map(|o| o.key).collect();
                        ConfigError(format!(
                            "{here}: {} has no option `{opt}` (its options: severity{}{})",
                            meta.code,
                            if known.is_empty() { "" } else { ", " },
                            known.join(", ")
                        ))
                    })?;
                    let v = match value {
                        toml::Value::Integer(i) => *i as f64,
                        toml::Value::Float(f) if !spec.integer => *f,
                        _ => {
                            return Err(ConfigError(format!(
                                "{here}: expected {}",
                                if spec.integer {
                                    "a whole number"
                                } else {
                                    "a number"
                                }
                            )))
                        }
                    };
                    if !v.is_finite() || v < 0.0 {
                        return Err(ConfigError(format!(
                            "{here}: must be a non-negative number"
                        )));
                    }
                    settings.options.insert(spec.key, v);
                }
            }
        }
        let suppress = file_cfg
            .map(|f| f.suppress.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, e)| suppression(e, &at(&format!("suppress[{i}]"))))
            .collect::<Result<Vec<_>, _>>()?;
        let fail_on_empty =
            cli.fail_on_empty || file_cfg.and_then(|f| f.fail_on_empty).unwrap_or(false);
        Ok(Config {
            fail_on,
            rules,
            suppress,
            fail_on_empty,
        })
    }

    /// The default configuration: every rule, default thresholds.
    pub fn default_all() -> Config {
        // Resolving the defaults cannot fail: no file, no selectors.
        Config::resolve(None, &CliSelection::default()).unwrap_or(Config {
            fail_on: FailOn::Warning,
            rules: Vec::new(),
            suppress: Vec::new(),
            fail_on_empty: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::suppress::SuppressEntry;
    use super::*;

    #[test]
    fn a_suppression_needs_a_reason_and_a_rule_that_selects_one() {
        let e = SuppressEntry {
            rule: "S004".into(),
            ..SuppressEntry::default()
        };
        let err = suppression(&e, "suppress[0]").unwrap_err();
        assert!(err.0.contains("needs a `reason`"), "{}", err.0);
        let e = SuppressEntry {
            reason: Some("because".into()),
            ..e
        };
        assert_eq!(suppression(&e, "suppress[0]").unwrap().codes, ["S004"]);
        let prefix = SuppressEntry {
            rule: "T00".into(),
            ..e.clone()
        };
        let codes = suppression(&prefix, "suppress[0]").unwrap().codes;
        assert!(
            codes.len() > 1 && codes.iter().all(|c| c.starts_with("T00")),
            "{codes:?}"
        );
        let bad = SuppressEntry {
            rule: "nagle".into(),
            ..e
        };
        assert!(suppression(&bad, "suppress[0]").is_err());
    }
}
