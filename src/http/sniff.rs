//! The tally of what a capture's connections were, so that a capture with
//! nothing to judge says what it saw (the server ports, connections that
//! sent nothing, HTTP/2 prefaces, connections picked up late) instead of
//! passing as clean. What a connection speaks is decided once by the
//! handler ([`super::protocol`]); this only counts it.

use super::protocol::Protocol;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a connection opened with, for the count of those connlint does
/// not judge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Opening {
    /// The client sent no payload.
    #[default]
    Silent,
    /// An HTTP/1.x request line that made no transaction (cut by a gap).
    Http1,
    /// A TLS handshake.
    Tls,
    /// The HTTP/2 connection preface (`PRI * HTTP/2.0`), cleartext h2.
    Http2,
    Other,
}

impl Opening {
    /// What a connection opened with, from its protocol label and whether
    /// its client sent any payload.
    pub fn of(protocol: Protocol, client_bytes: u64) -> Opening {
        match protocol {
            Protocol::Http1 => Opening::Http1,
            Protocol::Tls | Protocol::H2 => Opening::Tls,
            Protocol::H2c => Opening::Http2,
            Protocol::Unknown if client_bytes == 0 => Opening::Silent,
            Protocol::Unknown => Opening::Other,
        }
    }

    /// `TLS handshake`, for a sentence that counts them.
    pub fn name(self) -> &'static str {
        match self {
            Opening::Silent => "without client payload",
            Opening::Http1 => "HTTP/1.x request line that made no transaction",
            Opening::Tls => "TLS handshake",
            Opening::Http2 => "HTTP/2 preface",
            Opening::Other => "other payload",
        }
    }
}

/// Distinct server ports counted in a [`Seen`]; the rest are summed.
pub const MAX_PORTS: usize = 64;

/// What a capture's connections were, for the warning about a capture
/// with nothing to judge.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Seen {
    pub connections: u64,
    /// Connections connlint judges: HTTP/1.x (a request or status line
    /// parsed) or TLS (its setup rules).
    pub http: u64,
    /// Connections picked up without their handshake (the capture began
    /// while they were open).
    pub without_handshake: u64,
    /// The not-HTTP connections by what their client opened with.
    pub openings: BTreeMap<Opening, u64>,
    /// The not-HTTP connections by server port (the first [`MAX_PORTS`]
    /// ports seen), and how many were on other ports.
    pub ports: BTreeMap<u16, u64>,
    pub other_ports: u64,
}

impl Seen {
    /// Counts one finished connection.
    pub fn add(&mut self, judged: bool, handshake: bool, opening: Opening, server_port: u16) {
        self.connections = self.connections.saturating_add(1);
        self.without_handshake = self.without_handshake.saturating_add(u64::from(!handshake));
        if judged {
            self.http = self.http.saturating_add(1);
            return;
        }
        let n = self.openings.entry(opening).or_default();
        *n = n.saturating_add(1);
        if self.ports.len() < MAX_PORTS || self.ports.contains_key(&server_port) {
            let n = self.ports.entry(server_port).or_default();
            *n = n.saturating_add(1);
        } else {
            self.other_ports = self.other_ports.saturating_add(1);
        }
    }

    /// `server ports 443 (2), 8443; 2 TLS handshakes, 1 HTTP/2 preface`:
    /// what the not-HTTP connections were.
    pub fn describe(&self) -> String {
        let mut ports: Vec<(u16, u64)> = self.ports.iter().map(|(p, n)| (*p, *n)).collect();
        ports.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut listed: Vec<String> = ports
            .iter()
            .take(5)
            .map(|(p, n)| {
                if *n == 1 {
                    p.to_string()
                } else {
                    format!("{p} ({n})")
                }
            })
            .collect();
        let rest: u64 = ports
            .iter()
            .skip(5)
            .map(|(_, n)| n)
            .sum::<u64>()
            .saturating_add(self.other_ports);
        if rest > 0 {
            listed.push(format!("{rest} on other ports"));
        }
        let mut parts = Vec::new();
        if !listed.is_empty() {
            let s = if ports.len() == 1 && rest == 0 {
                ""
            } else {
                "s"
            };
            parts.push(format!("server port{s} {}", listed.join(", ")));
        }
        let openings: Vec<String> = self
            .openings
            .iter()
            .filter(|(o, _)| **o != Opening::Other)
            .map(|(o, n)| {
                let s = if *n == 1 { "" } else { "s" };
                match o {
                    Opening::Silent => format!("{n} {}", o.name()),
                    _ => format!("{n} {}{s}", o.name()),
                }
            })
            .collect();
        if !openings.is_empty() {
            parts.push(openings.join(", "));
        }
        if self.without_handshake > 0 {
            parts.push(format!(
                "{} picked up without their handshake (the capture began late?)",
                self.without_handshake
            ));
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openings_by_protocol_and_payload() {
        assert_eq!(Opening::of(Protocol::Tls, 300), Opening::Tls);
        assert_eq!(Opening::of(Protocol::H2, 300), Opening::Tls);
        assert_eq!(Opening::of(Protocol::H2c, 24), Opening::Http2);
        assert_eq!(Opening::of(Protocol::Unknown, 0), Opening::Silent);
        assert_eq!(Opening::of(Protocol::Unknown, 1), Opening::Other);
    }

    #[test]
    fn a_tally_names_ports_and_openings() {
        let mut s = Seen::default();
        s.add(false, true, Opening::Other, 7000);
        s.add(false, true, Opening::Other, 7000);
        s.add(false, false, Opening::Http2, 8080);
        s.add(true, true, Opening::Http1, 80);
        assert_eq!((s.connections, s.http, s.without_handshake), (4, 1, 1));
        assert_eq!(
            s.describe(),
            "server ports 7000 (2), 8080; 1 HTTP/2 preface; \
             1 picked up without their handshake (the capture began late?)"
        );
        for port in 0..100u16 {
            s.add(false, true, Opening::Other, 10_000 + port);
        }
        assert_eq!(s.ports.len(), MAX_PORTS);
        assert_eq!(s.other_ports, 100 - (MAX_PORTS as u64 - 2));
    }
}
