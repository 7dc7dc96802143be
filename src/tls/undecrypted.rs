//! The TLS connections a key log did not decrypt, counted by why and by the
//! version and cipher suite their hellos chose. Decryption covers the AEAD
//! suites of TLS 1.2 and 1.3 ([`Suite`](super::decrypt::Suite)); CBC, CCM,
//! RC4 and the like, and SSL 3.0, are out of its scope: a capture of them
//! says how many connections each suite kept unread, besides marking each.

use super::{DecryptReport, TlsReport, Undecrypted};
use std::collections::BTreeMap;

/// Most distinct (reason, version, suite) kept per capture; connections
/// past it are counted under their reason with the suite `other`.
pub const MAX_UNDECRYPTED_KINDS: usize = 64;

/// Connections not decrypted, by reason, version and cipher suite.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UndecryptedCounts {
    /// (reason, version, cipher suite) -> connections; "" where the hellos
    /// did not tell.
    counts: BTreeMap<(Undecrypted, String, String), u64>,
}

/// One line of [`UndecryptedCounts`], as the JSON outputs show it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UndecryptedCount {
    pub reason: Undecrypted,
    /// The version the ServerHello chose (`TLS 1.2`, `SSL 3.0`), if seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The cipher suite chosen, by IANA name (`0x....` if it has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    pub connections: u64,
}

impl UndecryptedCounts {
    /// Counts one connection read with a key log, if it was not decrypted
    /// for a reason (a connection without application data has none), or
    /// its decryption stopped at a capture gap.
    pub fn add(&mut self, d: &DecryptReport, tls: Option<&TlsReport>) {
        let Some(reason) = d
            .failure
            .or_else(|| d.stopped_by_a_gap().then_some(Undecrypted::StoppedByGap))
        else {
            return;
        };
        let version = tls
            .and_then(TlsReport::version)
            .map_or_else(String::new, |v| v.to_string());
        let suite = tls.and_then(TlsReport::cipher_suite).unwrap_or_default();
        let mut key = (reason, version, suite);
        if !self.counts.contains_key(&key) && self.counts.len() >= MAX_UNDECRYPTED_KINDS {
            key = (reason, String::new(), "other".to_string());
        }
        let n = self.counts.entry(key).or_default();
        *n = n.saturating_add(1);
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Connections counted, those a gap stopped included.
    pub fn total(&self) -> u64 {
        self.counts.values().fold(0, |a, n| a.saturating_add(*n))
    }

    /// The counts, by reason, then version and suite.
    pub fn list(&self) -> Vec<UndecryptedCount> {
        let opt = |s: &String| (!s.is_empty()).then(|| s.clone());
        self.counts
            .iter()
            .map(|((reason, version, suite), n)| UndecryptedCount {
                reason: *reason,
                version: opt(version),
                cipher_suite: opt(suite),
                connections: *n,
            })
            .collect()
    }

    /// In words, for a summary line or note: `3 TLS connections not
    /// decrypted with the key log: 2 unsupported cipher suite (TLS 1.2
    /// TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 2), 1 no matching secret
    /// (TLS 1.3 TLS_AES_128_GCM_SHA256: 1)`, then, for those decrypted
    /// until a capture gap, `1 TLS connection decrypted until a capture gap
    /// stopped it (TLS 1.3 TLS_AES_128_GCM_SHA256: 1)`; `None` when there
    /// are none.
    pub fn describe(&self) -> Option<String> {
        let mut by_reason: BTreeMap<Undecrypted, (u64, Vec<String>)> = BTreeMap::new();
        for ((reason, version, suite), n) in &self.counts {
            let e = by_reason.entry(*reason).or_default();
            e.0 = e.0.saturating_add(*n);
            let what = match (version.is_empty(), suite.is_empty()) {
                (true, true) => continue,
                (false, false) => format!("{version} {suite}"),
                _ => format!("{version}{suite}"),
            };
            e.1.push(format!("{what}: {n}"));
        }
        let gap = by_reason.remove(&Undecrypted::StoppedByGap);
        let connections = |n: u64| format!("{n} TLS connection{}", if n == 1 { "" } else { "s" });
        let mut clauses = Vec::new();
        if !by_reason.is_empty() {
            let total = by_reason
                .values()
                .fold(0u64, |a, (n, _)| a.saturating_add(*n));
            let parts: Vec<String> = by_reason
                .iter()
                .map(|(reason, (n, suites))| {
                    if suites.is_empty() {
                        format!("{n} {}", reason.describe())
                    } else {
                        format!("{n} {} ({})", reason.describe(), suites.join(", "))
                    }
                })
                .collect();
            clauses.push(format!(
                "{} not decrypted with the key log: {}",
                connections(total),
                parts.join(", ")
            ));
        }
        if let Some((n, suites)) = gap {
            let mut c = format!(
                "{} decrypted until a capture gap stopped it",
                connections(n)
            );
            if !suites.is_empty() {
                c.push_str(&format!(" ({})", suites.join(", ")));
            }
            clauses.push(c);
        }
        (!clauses.is_empty()).then(|| clauses.join("; "))
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::tls::{ServerHelloFacts, TlsReport};

    fn tls(version: u16, suite: u16) -> TlsReport {
        TlsReport {
            server_hello: Some(ServerHelloFacts {
                legacy_version: version,
                cipher_suite: suite,
                ..ServerHelloFacts::default()
            }),
            ..TlsReport::default()
        }
    }

    fn failed(why: Undecrypted) -> DecryptReport {
        DecryptReport {
            failure: Some(why),
            ..DecryptReport::default()
        }
    }

    #[test]
    fn connections_are_counted_by_reason_version_and_suite() {
        let mut c = UndecryptedCounts::default();
        let cbc = tls(0x0303, 0xC027);
        let ssl3 = tls(0x0300, 0x0005);
        c.add(&failed(Undecrypted::UnsupportedCipher), Some(&cbc));
        c.add(&failed(Undecrypted::UnsupportedCipher), Some(&cbc));
        c.add(&failed(Undecrypted::UnsupportedCipher), Some(&ssl3));
        c.add(&failed(Undecrypted::HandshakeNotSeen), None);
        // Decrypted, or nothing to decrypt: not counted.
        c.add(&DecryptReport::default(), Some(&cbc));
        assert_eq!(c.total(), 4);
        let list = c.list();
        assert_eq!(list.len(), 3, "{list:?}");
        let cbc_line = list
            .iter()
            .find(|l| l.cipher_suite.as_deref() == Some("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"))
            .unwrap();
        assert_eq!(cbc_line.connections, 2);
        assert_eq!(cbc_line.version.as_deref(), Some("TLS 1.2"));
        assert_eq!(cbc_line.reason, Undecrypted::UnsupportedCipher);
        let text = c.describe().unwrap();
        assert!(
            text.starts_with(
                "4 TLS connections not decrypted with the key log: 3 unsupported cipher suite ("
            ),
            "{text}"
        );
        assert!(
            text.contains("TLS 1.2 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 2"),
            "{text}"
        );
        assert!(
            text.contains("SSL 3.0 TLS_RSA_WITH_RC4_128_SHA: 1"),
            "{text}"
        );
        assert!(text.ends_with("1 handshake not seen"), "{text}");
        let json = serde_json::to_string(&list).unwrap();
        assert!(
            json.contains(r#""reason":"unsupported_cipher","version":"SSL 3.0""#),
            "{json}"
        );
        assert!(UndecryptedCounts::default().describe().is_none());
    }

    #[test]
    fn a_gap_is_counted_apart_from_what_was_not_decrypted() {
        let mut c = UndecryptedCounts::default();
        let gcm = tls(0x0303, 0xC02F);
        let mut gapped = DecryptReport {
            records: [3, 2],
            ..DecryptReport::default()
        };
        gapped.stopped_by_gap = [None, Some(17)];
        c.add(&gapped, Some(&gcm));
        assert_eq!(
            c.describe().unwrap(),
            "1 TLS connection decrypted until a capture gap stopped it \
             (TLS 1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 1)"
        );
        // A failure is the connection's reason, a gap or not.
        let mut failed_too = failed(Undecrypted::AuthenticationFailed);
        failed_too.stopped_by_gap = [Some(9), None];
        c.add(&failed_too, Some(&gcm));
        c.add(&gapped, Some(&gcm));
        assert_eq!(c.total(), 3);
        assert_eq!(
            c.describe().unwrap(),
            "1 TLS connection not decrypted with the key log: 1 authentication failed \
             (TLS 1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 1); 2 TLS connections decrypted \
             until a capture gap stopped it (TLS 1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 2)"
        );
        let json = serde_json::to_string(&c.list()).unwrap();
        assert!(json.contains(r#""reason":"stopped_by_gap""#), "{json}");
    }

    #[test]
    fn distinct_suites_past_the_bound_are_counted_as_other() {
        let mut c = UndecryptedCounts::default();
        for id in 0..(MAX_UNDECRYPTED_KINDS as u16 + 10) {
            c.add(
                &failed(Undecrypted::UnsupportedCipher),
                Some(&tls(0x0303, 0xFF00 + id)),
            );
        }
        let list = c.list();
        assert_eq!(list.len(), MAX_UNDECRYPTED_KINDS + 1);
        assert_eq!(c.total(), MAX_UNDECRYPTED_KINDS as u64 + 10);
        let other = list
            .iter()
            .find(|l| l.cipher_suite.as_deref() == Some("other"))
            .unwrap();
        assert_eq!(other.connections, 10);
    }
}
