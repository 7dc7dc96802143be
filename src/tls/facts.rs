//! What the TLS stage hands on: the hellos' facts, how the handshake went,
//! when, and the connection's records by direction.

use super::record::FramingLost;
use crate::reassembly::{BySide, Side};
use crate::Timestamp;
use std::fmt;

/// A protocol version as it appears on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TlsVersion(pub u16);

impl TlsVersion {
    pub const TLS12: TlsVersion = TlsVersion(0x0303);
    pub const TLS13: TlsVersion = TlsVersion(0x0304);

    /// TLS 1.3 or one of its drafts (0x7f00 + draft number).
    pub fn is_tls13(self) -> bool {
        self.0 == 0x0304 || (self.0 >> 8) == 0x7f
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0x0300 => f.write_str("SSL 3.0"),
            0x0301 => f.write_str("TLS 1.0"),
            0x0302 => f.write_str("TLS 1.1"),
            0x0303 => f.write_str("TLS 1.2"),
            0x0304 => f.write_str("TLS 1.3"),
            v if (v >> 8) == 0x7f => write!(f, "TLS 1.3 draft {}", v & 0xff),
            v => write!(f, "0x{v:04x}"),
        }
    }
}

impl serde::Serialize for TlsVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A session id as sent (at most 32 bytes, RFC 5246 §7.4.1.2).
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct SessionId {
    bytes: [u8; 32],
    len: u8,
}

impl SessionId {
    /// The first 32 bytes of `id` (a longer one is not a session id; the
    /// parser rejects it before this).
    pub fn of(id: &[u8]) -> SessionId {
        let mut s = SessionId::default();
        for (slot, b) in s.bytes.iter_mut().zip(id) {
            *slot = *b;
        }
        s.len = id.len().min(32) as u8;
        s
    }
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len()).unwrap_or_default()
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// What a ClientHello offered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHelloFacts {
    /// The version field of the hello itself (0x0303 in TLS 1.3 hellos).
    pub legacy_version: u16,
    /// The client random: what a key log's secrets are matched by.
    pub random: [u8; 32],
    /// The supported_versions extension (TLS 1.3), GREASE left out.
    pub supported_versions: Vec<u16>,
    pub session_id: SessionId,
    pub cipher_suites: u32,
    pub extensions: u32,
    /// The first host name of the server_name extension.
    pub sni: Option<String>,
    /// The application protocols offered (ALPN), in the client's order.
    pub alpn: Vec<String>,
    /// The session_ticket extension was present (RFC 5077), and how many
    /// bytes of ticket it carried (0: the client asks for a new ticket).
    pub ticket_ext: bool,
    pub ticket_bytes: u32,
    /// The pre_shared_key extension (TLS 1.3 resumption).
    pub psk: bool,
    /// The psk_key_exchange_modes extension: the client can resume.
    pub psk_modes: bool,
    /// The early_data extension (0-RTT).
    pub early_data: bool,
}

impl ClientHelloFacts {
    /// The highest version offered: from supported_versions when present.
    pub fn offered_version(&self) -> TlsVersion {
        TlsVersion(
            self.supported_versions
                .iter()
                .copied()
                .filter(|v| *v >> 8 == 3)
                .max()
                .unwrap_or(self.legacy_version),
        )
    }

    /// Whether the client offered TLS 1.3.
    pub fn offers_tls13(&self) -> bool {
        self.supported_versions
            .iter()
            .any(|v| TlsVersion(*v).is_tls13())
    }

    /// The ways this hello tried to resume an earlier session: a ticket,
    /// a PSK, a session id the server issued earlier (only the caller,
    /// who knows the earlier sessions, can tell that last one).
    pub fn offers_ticket(&self) -> bool {
        self.ticket_bytes > 0
    }
}

/// What a ServerHello chose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHelloFacts {
    pub legacy_version: u16,
    /// The server random (TLS 1.2's key expansion needs it).
    pub random: [u8; 32],
    /// The supported_versions extension (TLS 1.3): the version chosen.
    pub selected_version: Option<u16>,
    pub session_id: SessionId,
    pub cipher_suite: u16,
    /// The application protocol chosen. TLS 1.3 sends it in the encrypted
    /// EncryptedExtensions, so it is seen only up to TLS 1.2.
    pub alpn: Option<String>,
    /// An empty session_ticket extension: the server will issue a ticket
    /// (TLS 1.2).
    pub ticket_ext: bool,
    /// The pre_shared_key extension: the server accepted a PSK (TLS 1.3).
    pub psk: bool,
    /// This ServerHello is a HelloRetryRequest (TLS 1.3).
    pub hello_retry: bool,
}

impl ServerHelloFacts {
    pub fn version(&self) -> TlsVersion {
        TlsVersion(self.selected_version.unwrap_or(self.legacy_version))
    }
}

/// How the handshake went, as far as the clear text shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HandshakeKind {
    /// A full handshake: the server authenticated with its certificate
    /// (TLS 1.2: Certificate/ServerKeyExchange seen; TLS 1.3: no PSK
    /// accepted).
    Full,
    /// An abbreviated handshake resuming an earlier session (TLS 1.2: the
    /// session id echoed, or ChangeCipherSpec right after the ServerHello;
    /// TLS 1.3: the server accepted a PSK).
    Resumed,
    /// The handshake was not seen far enough to tell.
    #[default]
    Unknown,
}

/// What a record was, as far as its type and place in the connection show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A handshake record in clear text (the hellos, TLS 1.2's flights).
    Handshake,
    /// A handshake message in an encrypted record: TLS 1.2's Finished
    /// (type handshake after ChangeCipherSpec), TLS 1.3's flights after the
    /// ServerHello (type application data on the outside).
    EncryptedHandshake,
    ChangeCipherSpec,
    Alert,
    /// Application data sent before the ServerHello (TLS 1.3 0-RTT).
    EarlyData,
    ApplicationData,
    Heartbeat,
}

impl RecordKind {
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Handshake => "handshake",
            RecordKind::EncryptedHandshake => "encrypted handshake",
            RecordKind::ChangeCipherSpec => "change_cipher_spec",
            RecordKind::Alert => "alert",
            RecordKind::EarlyData => "early data",
            RecordKind::ApplicationData => "application data",
            RecordKind::Heartbeat => "heartbeat",
        }
    }
}

/// One direction's records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionRecords {
    pub records: u64,
    pub handshake: u64,
    pub change_cipher_spec: u64,
    pub alert: u64,
    pub heartbeat: u64,
    /// Records of application data (after the handshake; 0-RTT records
    /// are counted apart).
    pub application_data: u64,
    /// Their bytes on the wire, headers included.
    pub application_data_bytes: u64,
    pub first_application_data_ts: Option<Timestamp>,
    pub last_application_data_ts: Option<Timestamp>,
}

/// A run of application-data records from one side with none from the
/// other in between: a request (or a pipelined batch of them) or a
/// response, as far as the encrypted records let one tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Burst {
    pub side: Side,
    /// When its first record's first byte and its last record's last byte
    /// were captured, and in which frames.
    pub start_ts: Timestamp,
    pub start_frame: Option<u64>,
    pub end_ts: Timestamp,
    pub end_frame: Option<u64>,
    pub records: u32,
    /// Bytes on the wire, record headers included.
    pub bytes: u64,
    /// The last record's body length, and where the burst ended before it
    /// (to drop a final TLS 1.3 close_notify alert, which looks like data).
    pub last_len: u16,
    pub end_before_last: Option<(Timestamp, Option<u64>)>,
}

/// The application-data exchanges of a connection, counted from the
/// client's first application-data record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exchanges {
    pub client_bursts: u32,
    pub server_bursts: u32,
    pub first_request: Option<Burst>,
    pub first_response: Option<Burst>,
}

/// Everything the TLS stage found on one connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsReport {
    /// The first ClientHello (after a HelloRetryRequest the client sends
    /// a second one; its offers are the same but for the key share).
    pub client_hello: Option<ClientHelloFacts>,
    /// The ServerHello that was not a HelloRetryRequest.
    pub server_hello: Option<ServerHelloFacts>,
    pub client_hellos: u32,
    pub hello_retry: bool,
    pub handshake: HandshakeKind,
    /// The server sent its certificate (TLS 1.2; in TLS 1.3 it is
    /// encrypted).
    pub certificate: bool,
    /// The server issued a session ticket (a NewSessionTicket message in
    /// clear text, TLS 1.2; TLS 1.3 sends tickets encrypted, unseen).
    pub ticket_issued: bool,
    /// Application-data records the client sent before the ServerHello.
    pub early_data_records: u32,
    /// When (and in which frame) the hellos, the client's Finished and the
    /// first application data of each side were captured. The server's is
    /// its first after the client's first.
    pub client_hello_ts: Option<Timestamp>,
    pub client_hello_frame: Option<u64>,
    pub server_hello_ts: Option<Timestamp>,
    /// The client's Finished (TLS 1.2: its encrypted handshake record
    /// after its ChangeCipherSpec; TLS 1.3: its first record after the
    /// ServerHello) and the server's (TLS 1.2 only; TLS 1.3's is inside its
    /// encrypted first flight).
    pub client_finished_ts: Option<Timestamp>,
    pub server_finished_ts: Option<Timestamp>,
    pub client_first_data_ts: Option<Timestamp>,
    pub client_first_data_frame: Option<u64>,
    pub server_first_data_ts: Option<Timestamp>,
    pub server_first_data_frame: Option<u64>,
    /// Per direction `[client, server]`.
    pub records: [DirectionRecords; 2],
    pub exchanges: Exchanges,
    /// The record each side was in the middle of when the connection was
    /// reset (by either side) or when that side sent its FIN: its length
    /// and how many of its bytes had not arrived.
    pub cut_by_rst: [Option<(u16, u16)>; 2],
    pub cut_by_fin: [Option<(u16, u16)>; 2],
    /// Where a direction stopped being framed as records, and the bytes
    /// after that.
    pub framing_lost: [Option<FramingLost>; 2],
    pub unparsed_bytes: [u64; 2],
    /// Hellos over [`TlsLimits::max_hello_bytes`](super::TlsLimits) (not
    /// parsed), and hellos that did not parse.
    pub hellos_too_large: u32,
    pub hellos_malformed: u32,
    /// Capture gaps in each direction.
    pub gaps: [u32; 2],
}

impl TlsReport {
    /// The version the server chose, when its hello was seen.
    pub fn version(&self) -> Option<TlsVersion> {
        self.server_hello.as_ref().map(ServerHelloFacts::version)
    }

    /// The highest version the client offered.
    pub fn offered_version(&self) -> Option<TlsVersion> {
        self.client_hello
            .as_ref()
            .map(ClientHelloFacts::offered_version)
    }

    pub fn sni(&self) -> Option<&str> {
        self.client_hello.as_ref()?.sni.as_deref()
    }

    pub fn alpn_offered(&self) -> &[String] {
        self.client_hello
            .as_ref()
            .map_or(&[][..], |c| c.alpn.as_slice())
    }

    pub fn alpn(&self) -> Option<&str> {
        self.server_hello.as_ref()?.alpn.as_deref()
    }

    /// The cipher suite chosen, by its IANA name when known.
    pub fn cipher_suite(&self) -> Option<String> {
        let id = self.server_hello.as_ref()?.cipher_suite;
        Some(match tls_parser::TlsCipherSuite::from_id(id) {
            Some(c) => c.name.to_string(),
            None => format!("0x{id:04x}"),
        })
    }

    pub fn is_tls13(&self) -> bool {
        self.version().is_some_and(TlsVersion::is_tls13)
    }

    /// When the handshake was over for the client: when both Finished
    /// messages had been seen, so that either side could send data. TLS
    /// 1.3 and a resumed TLS 1.2 handshake end with the client's Finished
    /// (one round trip after the ClientHello), a full TLS 1.2 handshake
    /// with the server's (two).
    pub fn handshake_end_ts(&self) -> Option<Timestamp> {
        let client = self.client_finished_ts?;
        if self.is_tls13() {
            return Some(client);
        }
        Some(match self.server_finished_ts {
            Some(server) => client.max(server),
            None => client,
        })
    }

    /// ClientHello to the end of the handshake ([`Self::handshake_end_ts`]).
    pub fn handshake_ns(&self) -> Option<i64> {
        Some(self.handshake_end_ts()?.since(self.client_hello_ts?))
    }

    /// ClientHello to the client's first application-data record (equal
    /// to the handshake when the client sends its request with its
    /// Finished, longer when it waits).
    pub fn client_first_data_ns(&self) -> Option<i64> {
        Some(self.client_first_data_ts?.since(self.client_hello_ts?))
    }

    /// The one exchange of a connection that carried exactly one: one run
    /// of application-data records from the client and the server's
    /// answering run, its last record whole. What "one request and its
    /// response" is, as far as encrypted records tell.
    pub fn one_exchange(&self) -> Option<(Burst, Burst)> {
        let e = &self.exchanges;
        if e.client_bursts != 1 || e.server_bursts != 1 {
            return None;
        }
        let (request, response) = (e.first_request?, e.first_response?);
        let cut = self.cut_by_rst[1].is_some() || self.cut_by_fin[1].is_some();
        (response.start_ts >= request.start_ts && !cut).then_some((request, response))
    }

    /// The client's first application data to the server's first after it.
    pub fn first_server_data_ns(&self) -> Option<i64> {
        Some(self.server_first_data_ts?.since(self.client_first_data_ts?))
    }

    pub fn records(&self, side: Side) -> &DirectionRecords {
        self.records.of(side)
    }
}
