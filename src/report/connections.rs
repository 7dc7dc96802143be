//! `connlint connections`: one record per TCP connection.

use super::ms_cell;
use crate::analyze::CaptureSummary;
use crate::flow::{CloseKind, Connection};
use crate::reassembly::Side;
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
    /// The tunnel the connection's first segment came through, outermost
    /// layer first (`vxlan vni 42 10.0.0.1->10.0.0.2`); absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<String>,
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
            tunnel: c.tunnel.as_ref().map(|t| t.to_string()),
        }
    }
}

/// What a capture contributed, with the error that stopped it if any.
#[derive(Clone, Debug, Serialize)]
pub struct CaptureRecord {
    pub path: String,
    pub packets: u64,
    pub bytes: u64,
    pub connections: u64,
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
            connections: s.flow.connections,
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
    "start s",
    "duration s",
    "close",
    "bytes c>s",
    "bytes s>c",
    "retrans",
    "gaps",
    "txns",
];
pub const RIGHT: &[usize] = &[0, 3, 4, 5, 6, 8, 9, 10, 11, 12];

/// One table row; `t0` is the start of the capture's first connection.
pub fn row(r: &ConnectionRecord, t0: f64) -> Vec<String> {
    vec![
        r.id.to_string(),
        r.client.clone(),
        r.server.clone(),
        r.generation.to_string(),
        ms_cell(r.handshake_rtt_ms),
        format!("{:.6}", r.start_ts - t0),
        format!("{:.6}", r.end_ts - r.start_ts),
        format!("{:?}", r.close).to_lowercase(),
        r.bytes_client.to_string(),
        r.bytes_server.to_string(),
        r.retransmissions.to_string(),
        r.gaps.to_string(),
        r.transactions.map_or("-".to_string(), |n| n.to_string()),
    ]
    .into_iter()
    .chain(r.tunnel.clone())
    .collect()
}

/// "3 connections in 120 packets (118 TCP; 2 other)" and what was skipped.
pub fn summary_line(cap: &CaptureRecord) -> String {
    let mut s = format!(
        "{}: {} connection{} in {} packet{} ({} TCP",
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
    s
}
