//! The NSS key log format (what browsers, curl, Node, Go, Python and Java
//! write when `SSLKEYLOGFILE` is set): one secret per line,
//! `LABEL <client random, 64 hex> <secret, hex>`, `#` comments.
//!
//! Secrets are matched to connections by the client random of their
//! ClientHello. A [`Secret`] never prints its bytes: its `Debug` says only
//! how long it is, and no error message quotes a line of the file.

use rustc_hash::FxHashMap;
use std::fmt;

/// Longest secret accepted: SHA-384's 48 bytes (TLS 1.3 with
/// TLS_AES_256_GCM_SHA384; TLS 1.2's master secret is 48 bytes too).
pub const MAX_SECRET: usize = 48;

/// Most client randoms kept from one key log; lines past it are counted.
pub const MAX_ENTRIES: usize = 1 << 20;

/// One secret: at most [`MAX_SECRET`] bytes, never printed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Secret {
    bytes: [u8; MAX_SECRET],
    len: u8,
}

impl Secret {
    pub fn new(bytes: &[u8]) -> Option<Secret> {
        if bytes.is_empty() || bytes.len() > MAX_SECRET {
            return None;
        }
        let mut s = Secret {
            bytes: [0; MAX_SECRET],
            len: u8::try_from(bytes.len()).ok()?,
        };
        for (d, b) in s.bytes.iter_mut().zip(bytes) {
            *d = *b;
        }
        Some(s)
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes, redacted)", self.len)
    }
}

/// What a key log holds for one client random.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Secrets {
    /// TLS 1.2 and older: `CLIENT_RANDOM`, the master secret.
    pub master: Option<Secret>,
    /// TLS 1.3 (RFC 8446 §7.1).
    pub client_handshake: Option<Secret>,
    pub server_handshake: Option<Secret>,
    pub client_traffic_0: Option<Secret>,
    pub server_traffic_0: Option<Secret>,
    pub client_early: Option<Secret>,
}

/// The secrets of a key log by client random, and what was not used of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyLog {
    entries: FxHashMap<[u8; 32], Secrets>,
    /// Lines that were not `LABEL random secret` with hex of the right sizes.
    pub malformed_lines: u64,
    /// Well-formed lines with a label connlint does not use (e.g.
    /// `EXPORTER_SECRET`, `CLIENT_TRAFFIC_SECRET_1`).
    pub other_labels: u64,
    /// Lines past [`MAX_ENTRIES`] client randoms.
    pub dropped_lines: u64,
}

fn hex_nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => c.checked_sub(b'0'),
        b'a'..=b'f' => c.checked_sub(b'a').and_then(|v| v.checked_add(10)),
        b'A'..=b'F' => c.checked_sub(b'A').and_then(|v| v.checked_add(10)),
        _ => None,
    }
}

/// Decodes hex into `out`, which it must fill exactly; returns how many
/// bytes it wrote.
fn hex_into(text: &str, out: &mut [u8]) -> Option<usize> {
    let t = text.as_bytes();
    if !t.len().is_multiple_of(2) || t.len() / 2 > out.len() {
        return None;
    }
    for (pair, o) in t.chunks_exact(2).zip(out.iter_mut()) {
        let [hi, lo] = pair else { return None };
        *o = (hex_nibble(*hi)? << 4) | hex_nibble(*lo)?;
    }
    Some(t.len() / 2)
}

impl KeyLog {
    /// Reads a key log's text. Never fails: what it cannot use is counted.
    pub fn parse(text: &str) -> KeyLog {
        let mut log = KeyLog::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            log.line(line);
        }
        log
    }

    fn line(&mut self, line: &str) {
        let mut parts = line.split_ascii_whitespace();
        let (Some(label), Some(random), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            self.malformed_lines = self.malformed_lines.saturating_add(1);
            return;
        };
        let mut cr = [0u8; 32];
        let mut sb = [0u8; MAX_SECRET];
        let parsed = match (hex_into(random, &mut cr), hex_into(secret, &mut sb)) {
            (Some(32), Some(n)) => sb.get(..n).and_then(Secret::new),
            _ => None,
        };
        let Some(secret) = parsed else {
            self.malformed_lines = self.malformed_lines.saturating_add(1);
            return;
        };
        if !self.entries.contains_key(&cr) && self.entries.len() >= MAX_ENTRIES {
            self.dropped_lines = self.dropped_lines.saturating_add(1);
            return;
        }
        if !matches!(
            label,
            "CLIENT_RANDOM"
                | "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
                | "SERVER_HANDSHAKE_TRAFFIC_SECRET"
                | "CLIENT_TRAFFIC_SECRET_0"
                | "SERVER_TRAFFIC_SECRET_0"
                | "CLIENT_EARLY_TRAFFIC_SECRET"
        ) {
            self.other_labels = self.other_labels.saturating_add(1);
            return;
        }
        let e = self.entries.entry(cr).or_default();
        let slot = match label {
            "CLIENT_RANDOM" => &mut e.master,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut e.client_handshake,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut e.server_handshake,
            "CLIENT_TRAFFIC_SECRET_0" => &mut e.client_traffic_0,
            "SERVER_TRAFFIC_SECRET_0" => &mut e.server_traffic_0,
            _ => &mut e.client_early,
        };
        *slot = Some(secret);
    }

    /// Adds another key log's secrets (a later one wins for a label).
    pub fn merge(&mut self, other: &KeyLog) {
        for (cr, s) in &other.entries {
            let e = self.entries.entry(*cr).or_default();
            let pick = |a: &mut Option<Secret>, b: Option<Secret>| {
                if b.is_some() {
                    *a = b;
                }
            };
            pick(&mut e.master, s.master);
            pick(&mut e.client_handshake, s.client_handshake);
            pick(&mut e.server_handshake, s.server_handshake);
            pick(&mut e.client_traffic_0, s.client_traffic_0);
            pick(&mut e.server_traffic_0, s.server_traffic_0);
            pick(&mut e.client_early, s.client_early);
        }
        self.malformed_lines = self.malformed_lines.saturating_add(other.malformed_lines);
        self.other_labels = self.other_labels.saturating_add(other.other_labels);
        self.dropped_lines = self.dropped_lines.saturating_add(other.dropped_lines);
    }

    /// The secrets logged for the connection whose ClientHello carried
    /// `client_random`.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.entries.get(client_random)
    }

    /// Client randoms with at least one secret.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The key log a run decrypts with, shared by its connections and grown
/// by the capture's own Decryption Secrets Blocks as they are read: a
/// connection takes what is known when its TLS begins.
#[derive(Clone, Debug, Default)]
pub struct KeySource(std::sync::Arc<std::sync::Mutex<Option<std::sync::Arc<KeyLog>>>>);

impl KeySource {
    pub fn new(keys: Option<std::sync::Arc<KeyLog>>) -> KeySource {
        KeySource(std::sync::Arc::new(std::sync::Mutex::new(keys)))
    }

    /// The secrets known now.
    pub fn get(&self) -> Option<std::sync::Arc<KeyLog>> {
        match self.0.lock() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Adds the secrets of `found` (a Decryption Secrets Block's key log).
    pub fn add(&self, found: &KeyLog) {
        let mut g = match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut merged = g.as_deref().cloned().unwrap_or_default();
        merged.merge(found);
        *g = Some(std::sync::Arc::new(merged));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CR: &str = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1";

    #[test]
    fn lines_are_matched_by_client_random_and_bad_ones_counted() {
        let text = format!(
            "# comment\n\
             CLIENT_HANDSHAKE_TRAFFIC_SECRET {CR} {s32}\n\
             SERVER_TRAFFIC_SECRET_0 {CR} {s48}\n\
             CLIENT_RANDOM {CR} {s48}\n\
             EXPORTER_SECRET {CR} {s32}\n\
             CLIENT_RANDOM {CR}\n\
             CLIENT_RANDOM abcd {s32}\n\
             CLIENT_RANDOM {CR} {s49}\n\
             CLIENT_RANDOM {CR} 0g\n\
             \n",
            s32 = "11".repeat(32),
            s48 = "22".repeat(48),
            s49 = "33".repeat(49),
        );
        let log = KeyLog::parse(&text);
        assert_eq!(log.len(), 1);
        assert_eq!(log.malformed_lines, 4);
        assert_eq!(log.other_labels, 1);
        let mut cr = [0u8; 32];
        assert_eq!(hex_into(CR, &mut cr), Some(32));
        let s = log.get(&cr).unwrap();
        assert_eq!(s.client_handshake.unwrap().as_bytes(), &[0x11; 32]);
        assert_eq!(s.server_traffic_0.unwrap().as_bytes(), &[0x22; 48]);
        assert_eq!(s.master.unwrap().as_bytes(), &[0x22; 48]);
        assert!(s.server_handshake.is_none() && s.client_traffic_0.is_none());
        cr[0] ^= 1;
        assert!(log.get(&cr).is_none(), "another client random");
    }

    #[test]
    fn a_secret_never_prints_its_bytes() {
        let log = KeyLog::parse(&format!("CLIENT_RANDOM {CR} {}\n", "ab".repeat(48)));
        let shown = format!("{log:?} {:#?}", log.entries.values().next());
        assert!(!shown.to_ascii_lowercase().contains("abab"), "{shown}");
        assert!(!shown.contains("171, 171"), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
