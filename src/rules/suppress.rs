//! Suppressions: findings a team has looked at and accepts, named in
//! `connlint.toml` by rule and where, each with its reason.
//!
//! ```toml
//! [[suppress]]
//! rule = "S004"                 # a code, name or code prefix
//! client = "10.0.0.*"           # the client's host (glob: * and ?)
//! server = "10.0.0.2:80"        # the server endpoint
//! host = "*.internal"           # the request's Host header
//! uri = "/health*"              # the request target
//! reason = "the load balancer's health checks reuse ports on purpose"
//! ```
//!
//! Every pattern given must match (those left out match anything); a
//! pattern on the request (`host`, `uri`) matches only findings about a
//! request. `reason` is required: a suppression nobody can explain is a
//! finding hidden. The run says how many findings each suppression hid.

use super::finding::Finding;
use serde::Deserialize;

/// One `[[suppress]]` table as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SuppressEntry {
    pub rule: String,
    pub client: Option<String>,
    pub server: Option<String>,
    pub host: Option<String>,
    pub uri: Option<String>,
    pub reason: Option<String>,
}

/// A suppression, checked by the configuration (a `rule` that selects at
/// least one rule, a `reason`): the entry, its reason, and the codes of
/// the rules its `rule` selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    pub entry: SuppressEntry,
    pub reason: String,
    pub codes: Vec<&'static str>,
}

impl Suppression {
    /// Whether this suppression covers `f`.
    pub fn covers(&self, f: &Finding) -> bool {
        let e = &self.entry;
        let rule = self.codes.contains(&f.code);
        let place = f.place.as_deref().filter(|_| f.transaction.is_some());
        let on = |pattern: &Option<String>, value: Option<&str>| match pattern {
            None => true,
            Some(p) => value.is_some_and(|v| glob(p, v)),
        };
        rule && on(&e.client, Some(crate_host(&f.client)))
            && on(&e.server, Some(&f.server))
            && on(&e.host, place.and_then(|p| p.host.as_deref()))
            && on(&e.uri, place.and_then(|p| p.uri.as_deref()))
    }

    /// `S004 client 10.0.0.* ("the load balancer's ...")`.
    pub fn describe(&self) -> String {
        let e = &self.entry;
        let mut s = e.rule.clone();
        for (k, v) in [
            ("client", &e.client),
            ("server", &e.server),
            ("host", &e.host),
            ("uri", &e.uri),
        ] {
            if let Some(v) = v {
                s.push_str(&format!(" {k} {v}"));
            }
        }
        format!("{s} (\"{}\")", self.reason)
    }
}

/// The address of `addr:port` or `[addr]:port`.
fn crate_host(endpoint: &str) -> &str {
    if let Some(rest) = endpoint.strip_prefix('[') {
        return rest.split_once(']').map_or(endpoint, |(a, _)| a);
    }
    match endpoint.rsplit_once(':') {
        Some((a, _)) if !a.contains(':') => a,
        _ => endpoint,
    }
}

/// Whether `text` matches `pattern`, where `*` is any run of characters
/// and `?` any one (iterative, with one backtrack point: linear in
/// practice, never exponential).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi = pi.saturating_add(1);
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi = pi.saturating_add(1);
                ti = ti.saturating_add(1);
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp.saturating_add(1);
                    ti = st.saturating_add(1);
                    star = Some((sp, ti));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).unwrap_or_default().iter().all(|c| *c == '*')
}

/// The first suppression that covers `f`, if any.
pub fn covering(suppressions: &[Suppression], f: &Finding) -> Option<usize> {
    suppressions.iter().position(|s| s.covers(f))
}

/// Removes the findings a suppression covers; returns, per suppression,
/// how many it removed.
pub fn apply(suppressions: &[Suppression], findings: &mut Vec<Finding>) -> Vec<u64> {
    let mut counts = vec![0u64; suppressions.len()];
    if suppressions.is_empty() {
        return counts;
    }
    findings.retain(|f| match suppressions.iter().position(|s| s.covers(f)) {
        Some(i) => {
            if let Some(c) = counts.get_mut(i) {
                *c = c.saturating_add(1);
            }
            false
        }
        None => true,
    });
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("10.0.0.*", "10.0.0.17"));
        assert!(!glob("10.0.0.*", "10.0.1.17"));
        assert!(glob("/health*", "/health"));
        assert!(glob("/api/*/items?", "/api/v1/items/"));
        assert!(glob("*", ""));
        assert!(!glob("a?c", "ac"));
        assert!(glob("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!glob("*a*b*c*", "xxaxxcxxbxx"));
        assert!(glob("exact", "exact") && !glob("exact", "exactly"));
    }
}
