//! `connlint connections`: one record per TCP connection.

use super::ms_cell;
use crate::analyze::CaptureSummary;
use crate::flow::{CloseKind, Connection};
use crate::http::Protocol;
use crate::reassembly::{BySide, Side};
use crate::tls::{DirectionRecords, HandshakeKind, TlsReport, TlsVersion};
use crate::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A connection as the JSON contract names its fields (SPEC §5).
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionRecord {
    pub capture: String,
    pub id: u64,
    pub client: String,
    pub server: String,
    pub generation: u32,
    pub handshake_rtt_ms: Option<f64>,
    pub start_ts: f64,
    pub end_ts: f64,
    pub close: CloseKind,
    pub bytes_client: u64,
    pub bytes_server: u64,
    pub retransmissions: u64,
    pub gaps: u64,
    /// HTTP transactions on the connection, when the HTTP layer ran.
    pub transactions: Option<u64>,
    pub packets: u64,
    pub gap_bytes: u64,
    /// Retransmitted or overlapping segments whose bytes differed from the
    /// first copy (the first is kept): evasion, or a broken middlebox.
    pub conflicting_overlaps: u64,
    /// What the connection spoke: `http1`, `tls`, `h2` (TLS with ALPN
    /// `h2` chosen), `h2c` (the HTTP/2 preface in clear text) or `unknown`.
    pub protocol: Protocol,
    /// On a TLS connection: its handshake, timing and records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsRecord>,
    /// The tunnel the connection's first segment came through, outermost
    /// layer first (`vxlan vni 42 10.0.0.1->10.0.0.2`); absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<String>,
    /// The connection continues one the flow table let go while it was
    /// established (idle past `established_timeout_s`, or evicted from a
    /// full table): `resumed` is true and `resumes` names that connection's
    /// id (both absent otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumes: Option<u64>,
}

/// What `connections` shows of a TLS connection.
#[derive(Clone, Debug, Serialize)]
pub struct TlsRecord {
    /// The version the server chose, and the highest the client offered.
    pub version: Option<TlsVersion>,
    pub version_offered: Option<TlsVersion>,
    /// The server name the client asked for (SNI).
    pub sni: Option<String>,
    /// The application protocols offered (ALPN) and the one chosen
    /// (`null` when none was, or with TLS 1.3, which sends it encrypted).
    pub alpn_offered: Vec<String>,
    pub alpn: Option<String>,
    pub cipher_suite: Option<String>,
    /// `full`, `resumed`, or `unknown` when not seen far enough.
    pub handshake: HandshakeKind,
    /// How the ClientHello offered to resume: `ticket` (a session ticket),
    /// `psk` (TLS 1.3 pre-shared key); a non-empty session id is in
    /// `session_id_bytes` (TLS 1.3 clients send a random one every time).
    pub resumption_offered: Vec<&'static str>,
    pub session_id_bytes: usize,
    /// The server issued a session ticket in clear text (TLS 1.2).
    pub session_ticket_issued: bool,
    pub hello_retry_request: bool,
    /// The ClientHello offered 0-RTT, and the records it sent before the
    /// ServerHello.
    pub early_data_offered: bool,
    pub early_data_records: u32,
    /// ClientHello to the end of the handshake (both Finished messages
    /// seen: 1 round trip for TLS 1.3 and a resumed TLS 1.2 handshake, 2
    /// for a full TLS 1.2 one).
    pub tls_handshake_ms: Option<f64>,
    /// ClientHello to the client's first application-data record (the
    /// same unless the client waited after the handshake).
    pub client_first_data_ms: Option<f64>,
    /// The client's first application data to the server's first.
    pub first_server_data_ms: Option<f64>,
    pub client_hello_ts: Option<f64>,
    pub server_hello_ts: Option<f64>,
    pub client_first_data_ts: Option<f64>,
    pub server_first_data_ts: Option<f64>,
    /// Runs of application data from the client answered by the server:
    /// requests and responses, as far as encrypted records tell.
    pub client_bursts: u32,
    pub server_bursts: u32,
    pub records_client: RecordCounts,
    pub records_server: RecordCounts,
    /// With a key log: `decrypted`, or `could not decrypt: <why>` (and a
    /// direction a capture gap ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decryption: Option<String>,
}

/// One direction's records by type.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RecordCounts {
    pub records: u64,
    pub handshake: u64,
    pub change_cipher_spec: u64,
    pub alert: u64,
    pub application_data: u64,
    pub application_data_bytes: u64,
    pub first_application_data_ts: Option<f64>,
    pub last_application_data_ts: Option<f64>,
}

impl RecordCounts {
    fn of(d: &DirectionRecords) -> RecordCounts {
        RecordCounts {
            records: d.records,
            handshake: d.handshake,
            change_cipher_spec: d.change_cipher_spec,
            alert: d.alert,
            application_data: d.application_data,
            application_data_bytes: d.application_data_bytes,
            first_application_data_ts: d.first_application_data_ts.map(Timestamp::as_secs_f64),
            last_application_data_ts: d.last_application_data_ts.map(Timestamp::as_secs_f64),
        }
    }
}

impl TlsRecord {
    pub fn new(t: &TlsReport) -> TlsRecord {
        let ms = |ns: Option<i64>| ns.map(|ns| ns as f64 / 1e6);
        let secs = |ts: Option<Timestamp>| ts.map(Timestamp::as_secs_f64);
        let ch = t.client_hello.as_ref();
        let mut offered = Vec::new();
        if ch.is_some_and(|c| c.offers_ticket()) {
            offered.push("ticket");
        }
        if ch.is_some_and(|c| c.psk) {
            offered.push("psk");
        }
        TlsRecord {
            version: t.version(),
            version_offered: t.offered_version(),
            sni: t.sni().map(str::to_string),
            alpn_offered: t.alpn_offered().to_vec(),
            alpn: t.alpn().map(str::to_string),
            cipher_suite: t.cipher_suite(),
            handshake: t.handshake,
            resumption_offered: offered,
            session_id_bytes: ch.map_or(0, |c| c.session_id.len()),
            session_ticket_issued: t.ticket_issued,
            hello_retry_request: t.hello_retry,
            early_data_offered: ch.is_some_and(|c| c.early_data),
            early_data_records: t.early_data_records,
            tls_handshake_ms: ms(t.handshake_ns()),
            client_first_data_ms: ms(t.client_first_data_ns()),
            first_server_data_ms: ms(t.first_server_data_ns()),
            client_hello_ts: secs(t.client_hello_ts),
            server_hello_ts: secs(t.server_hello_ts),
            client_first_data_ts: secs(t.client_first_data_ts),
            server_first_data_ts: secs(t.server_first_data_ts),
            client_bursts: t.exchanges.client_bursts,
            server_bursts: t.exchanges.server_bursts,
            records_client: RecordCounts::of(t.records.of(Side::Client)),
            records_server: RecordCounts::of(t.records.of(Side::Server)),
            decryption: None,
        }
    }

    /// The table's TLS cells: `1.3 full` / `1.2 resumed h2`, the SNI, the
    /// TLS handshake and the wait for the server's first data.
    fn cells(&self) -> [String; 4] {
        let version = self
            .version
            .map_or("?".to_string(), |v| v.to_string().replace("TLS ", ""));
        let handshake = match self.handshake {
            HandshakeKind::Full => "full",
            HandshakeKind::Resumed => "resumed",
            HandshakeKind::Unknown => "?",
        };
        let mut what = format!("{version} {handshake}");
        if let Some(a) = &self.alpn {
            what.push(' ');
            what.push_str(a);
        }
        if let Some(d) = &self.decryption {
            what.push_str(", ");
            what.push_str(d);
        }
        [
            what,
            self.sni.clone().unwrap_or_else(|| "-".to_string()),
            ms_cell(self.tls_handshake_ms),
            ms_cell(self.first_server_data_ms),
        ]
    }
}

impl ConnectionRecord {
    pub fn new(capture: &str, c: &Connection, transactions: Option<u64>) -> Self {
        let (cs, ss) = (c.stats(Side::Client), c.stats(Side::Server));
        ConnectionRecord {
            capture: capture.to_string(),
            id: c.id,
            client: c.client.to_string(),
            server: c.server.to_string(),
            generation: c.generation,
            handshake_rtt_ms: c.handshake_rtt_ns().map(|ns| ns as f64 / 1e6),
            start_ts: c.start_ts.as_secs_f64(),
            end_ts: c.end_ts.as_secs_f64(),
            close: c.close_kind(),
            bytes_client: cs.bytes,
            bytes_server: ss.bytes,
            retransmissions: cs.retransmissions.saturating_add(ss.retransmissions),
            gaps: cs.gaps.saturating_add(ss.gaps),
            transactions,
            packets: c.packets,
            gap_bytes: cs.gap_bytes.saturating_add(ss.gap_bytes),
            conflicting_overlaps: cs
                .conflicting_overlaps
                .saturating_add(ss.conflicting_overlaps),
            protocol: Protocol::Unknown,
            tls: None,
            tunnel: c.tunnel.as_ref().map(|t| t.to_string()),
            resumed: c.resumes.is_some(),
            resumes: c.resumes.map(|p| p.id),
        }
    }

    /// What the connection spoke, and its TLS facts on a TLS connection.
    pub fn with_protocol(mut self, protocol: Protocol, tls: Option<&TlsReport>) -> Self {
        self.protocol = protocol;
        self.tls = tls.map(TlsRecord::new);
        self
    }

    /// What decryption with a key log made of a TLS connection.
    pub fn with_decryption(mut self, d: Option<&crate::tls::DecryptReport>) -> Self {
        if let (Some(t), Some(d)) = (self.tls.as_mut(), d) {
            let mut text = d.describe();
            // Out of decryption's scope (CBC, CCM, SSL 3.0...): say which.
            if d.failure == Some(crate::tls::Undecrypted::UnsupportedCipher) {
                if let Some(suite) = &t.cipher_suite {
                    text.push_str(&format!(" ({suite})"));
                }
            }
            t.decryption = Some(text);
        }
        self
    }
}

/// What a capture contributed, with the error that stopped it if any.
#[derive(Clone, Debug, Serialize)]
pub struct CaptureRecord {
    pub path: String,
    pub packets: u64,
    pub bytes: u64,
    /// Frames out of time order in the file put back in order, those that
    /// could not be (analysed where the file has them), and frames whose
    /// timestamp was taken for corrupt (absent when zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub frames_reordered: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub frames_out_of_order: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub clock_anomalies: u64,
    pub connections: u64,
    /// Connections that continue one let go while established (each has
    /// `resumed` and `resumes`; absent when zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub connections_resumed: u64,
    pub tcp_segments: u64,
    pub non_tcp: u64,
    pub non_ip: u64,
    pub malformed: u64,
    /// Frames skipped because of their link type, by link type number.
    pub unsupported_link: std::collections::BTreeMap<u32, u64>,
    /// `non_tcp` by IP protocol number (absent when empty, as are the
    /// counters below when zero).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub non_tcp_protocols: BTreeMap<u8, u64>,
    /// `non_ip` by ethertype, for frames that name their payload with one.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub non_ip_ethertypes: BTreeMap<String, u64>,
    /// IPsec ESP packets (encrypted, not decoded).
    #[serde(skip_serializing_if = "is_zero")]
    pub esp: u64,
    /// Frames with more tunnel layers than connlint peels.
    #[serde(skip_serializing_if = "is_zero")]
    pub tunnel_too_deep: u64,
    /// Frames by the kind of each tunnel layer they came through.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tunnels: BTreeMap<crate::decode::TunnelKind, u64>,
    /// IP fragments (of datagrams that may lead to TCP), the datagrams
    /// completed from them, and the fragments dropped: never completed,
    /// over a bound, invalid.
    #[serde(skip_serializing_if = "is_zero")]
    pub fragments: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub fragments_reassembled: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub fragments_incomplete: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub fragments_over_limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub fragments_invalid: u64,
    /// Bounds reached, by key, with how often.
    pub limits_hit: crate::limits::LimitsHit,
    /// TLS connections a key log did not decrypt, by reason, version and
    /// cipher suite (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undecrypted: Vec<crate::tls::UndecryptedCount>,
    /// The same in words, for the summary line.
    #[serde(skip)]
    pub undecrypted_note: Option<String>,
    pub errors: Vec<ErrorRecord>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ErrorRecord {
    pub offset: u64,
    pub message: String,
}

impl CaptureRecord {
    pub fn new(s: &CaptureSummary) -> Self {
        CaptureRecord {
            path: s.path.clone(),
            packets: s.frames,
            bytes: s.bytes,
            frames_reordered: s.reorder.frames_reordered,
            frames_out_of_order: s.reorder.frames_out_of_order,
            clock_anomalies: s.reorder.clock_anomalies,
            connections: s.flow.connections,
            connections_resumed: s.flow.resumed,
            tcp_segments: s.decode.tcp_segments,
            non_tcp: s.decode.non_tcp,
            non_ip: s.decode.non_ip,
            malformed: s.decode.malformed,
            unsupported_link: s.decode.unsupported_link.clone(),
            non_tcp_protocols: s.decode.non_tcp_protocols.clone(),
            non_ip_ethertypes: s
                .decode
                .non_ip_ethertypes
                .iter()
                .map(|(t, n)| (format!("0x{t:04x}"), *n))
                .collect(),
            esp: s.decode.esp,
            tunnel_too_deep: s.decode.tunnel_too_deep,
            tunnels: s.decode.tunnels.clone(),
            fragments: s.decode.fragments,
            fragments_reassembled: s.decode.fragments_reassembled,
            fragments_incomplete: s.decode.fragments_incomplete,
            fragments_over_limit: s.decode.fragments_over_limit,
            fragments_invalid: s.decode.fragments_invalid,
            limits_hit: s.limits_hit,
            undecrypted: s.undecrypted.list(),
            undecrypted_note: s.undecrypted.describe(),
            errors: s
                .error
                .iter()
                .map(|e| ErrorRecord {
                    offset: e.offset,
                    message: e.reason.clone(),
                })
                .collect(),
        }
    }
}

/// Table columns of `connlint connections`, and which are right-aligned.
pub const HEADER: &[&str] = &[
    "id",
    "client",
    "server",
    "gen",
    "handshake ms",
    "start",
    "duration s",
    "close",
    "bytes c>s",
    "bytes s>c",
    "retrans",
    "gaps",
    "txns",
    "proto",
];
pub const RIGHT: &[usize] = &[0, 3, 4, 5, 6, 8, 9, 10, 11, 12];
/// Columns shown only in blocks with a TLS (or tunnelled) connection.
pub const OPTIONAL: &[&str] = &["tls", "sni", "tls ms", "1st data ms", "tunnel"];

/// One table row; `clock` shows its start (seconds after the capture's
/// first packet, or UTC).
pub fn row(r: &ConnectionRecord, c: &Connection, clock: &super::Clock) -> Vec<String> {
    vec![
        r.id.to_string(),
        r.client.clone(),
        r.server.clone(),
        r.generation.to_string(),
        ms_cell(r.handshake_rtt_ms),
        clock.cell(c.start_ts),
        format!("{:.6}", r.end_ts - r.start_ts),
        format!("{:?}", r.close).to_lowercase(),
        r.bytes_client.to_string(),
        r.bytes_server.to_string(),
        r.retransmissions.to_string(),
        r.gaps.to_string(),
        r.transactions.map_or("-".to_string(), |n| n.to_string()),
        r.protocol.name().to_string(),
    ]
    .into_iter()
    .chain(
        r.tls
            .as_ref()
            .map_or_else(|| [(); 4].map(|_| String::new()), TlsRecord::cells),
    )
    .chain([r.tunnel.clone().unwrap_or_default()])
    .collect()
}

/// "3 connections in 120 packets (118 TCP; 2 other)" and what was skipped.
pub fn summary_line(cap: &CaptureRecord) -> String {
    let resumed = if cap.connections_resumed > 0 {
        format!(
            " ({} resuming a connection let go while idle or evicted)",
            cap.connections_resumed
        )
    } else {
        String::new()
    };
    let mut s = format!(
        "{}: {} connection{}{resumed} in {} packet{} ({} TCP",
        cap.path,
        cap.connections,
        if cap.connections == 1 { "" } else { "s" },
        cap.packets,
        if cap.packets == 1 { "" } else { "s" },
        cap.tcp_segments
    );
    let other = cap.non_tcp.saturating_add(cap.non_ip);
    if other > 0 {
        s.push_str(&format!(", {other} not TCP"));
    }
    let tunnelled: u64 = cap.tunnels.values().sum();
    if tunnelled > 0 {
        let kinds: Vec<String> = cap
            .tunnels
            .iter()
            .map(|(k, n)| format!("{n} {}", k.name()))
            .collect();
        s.push_str(&format!(", tunnel layers peeled: {}", kinds.join(", ")));
    }
    if cap.esp > 0 {
        s.push_str(&format!(", {} ESP", cap.esp));
    }
    if cap.tunnel_too_deep > 0 {
        s.push_str(&format!(", {} nested too deep", cap.tunnel_too_deep));
    }
    if cap.malformed > 0 {
        s.push_str(&format!(", {} malformed", cap.malformed));
    }
    for (lt, n) in &cap.unsupported_link {
        s.push_str(&format!(
            ", {n} on unsupported link type {}",
            crate::capture::LinkType(*lt)
        ));
    }
    s.push(')');
    if let Some(u) = &cap.undecrypted_note {
        s.push_str("; ");
        s.push_str(u);
    }
    s
}
