//! One TLS connection, both directions: which record belongs to the
//! handshake and which carries application data, when the handshake began
//! and ended, and the exchanges of application data.
//!
//! What a record is follows from its type and its place:
//!
//! | side | type | when | it is |
//! |---|---|---|---|
//! | client | handshake | before its ChangeCipherSpec, or in TLS 1.3 | ClientHello (read) |
//! | client | handshake | after its ChangeCipherSpec, TLS 1.2 | its Finished, encrypted |
//! | client | application data | before the ServerHello | 0-RTT early data |
//! | client | application data | TLS 1.3, first after the ServerHello | its Finished (see below) |
//! | server | handshake | before its ChangeCipherSpec | ServerHello, Certificate, ... (read) |
//! | server | handshake | after its ChangeCipherSpec | its Finished, encrypted |
//! | server | application data | TLS 1.3, before the client's Finished | its encrypted flight |
//! | either | application data | otherwise | application data |
//!
//! TLS 1.3 encrypts everything after the ServerHello under the
//! application-data type, so the client's Finished is taken to be its first
//! such record (with a client certificate it is the third; the count of
//! records is then off by two, the times are not: the flight leaves at
//! once). The server's session tickets (NewSessionTicket, sent after the
//! client's Finished) look like application data too, and so does a
//! close_notify alert: a side's last record of an alert's size (19 bytes
//! with the usual AEADs) is taken to be one and left out of the exchanges.

use super::facts::{Burst, HandshakeKind, RecordKind, TlsReport};
use super::handshake::{kind, Message, MessageReader};
use super::record::{ContentType, RecordHeader, RecordReader, RecordSink};
use super::TlsLimits;
use crate::reassembly::{AckRelease, BySide, SegmentMeta, Side};
use crate::Timestamp;

/// Record starts remembered per direction, for placing an ack release.
const RECENT: usize = 16;

/// Frames waiting for the segment that carried them (set in `on_data`,
/// resolved by the `on_segment` that follows it).
mod mark {
    pub const CLIENT_HELLO: u8 = 1;
    pub const FIRST_DATA: u8 = 2;
    pub const RECORD_END: u8 = 4;
    pub const BURST_START: u8 = 8;
}

/// Where the data of an ack release sat among the sender's records: what
/// T001 needs to describe a held TLS write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReleasePlace {
    /// The release it is about (its frame).
    pub release_frame: u64,
    /// The record that held the acknowledged (held) segment's last byte.
    pub held: Option<(RecordKind, u16)>,
    /// The held segment ended exactly where a record ended.
    pub held_ends_record: bool,
    /// The record the released data began in, and whether it began it.
    pub released: Option<(RecordKind, u16)>,
    pub release_starts_record: bool,
    /// On a decrypted connection: the plaintext range of the held record's
    /// application data (set by the caller that holds the decryptor).
    pub held_plaintext: Option<(u64, u64)>,
}

/// One record start, for [`ReleasePlace`].
#[derive(Clone, Copy, Debug)]
struct Placed {
    offset: u64,
    end: u64,
    kind: RecordKind,
    len: u16,
}

/// A TLS connection read without keys; see the [module docs](self).
#[derive(Debug)]
pub struct TlsConnection {
    readers: [RecordReader; 2],
    state: State,
}

#[derive(Debug)]
struct State {
    limits: TlsLimits,
    report: TlsReport,
    messages: [MessageReader; 2],
    /// The current record's body goes to the message reader.
    feeding: [bool; 2],
    /// A gap hid part of the handshake stream: no more messages are read.
    messages_lost: [bool; 2],
    ccs: [bool; 2],
    /// The kind of the record being read, per side.
    current: [Option<RecordKind>; 2],
    recent: [[Option<Placed>; RECENT]; 2],
    recent_next: [usize; 2],
    current_burst: Option<Burst>,
    /// The last burst each side finished (or is in).
    last_burst: [Option<Burst>; 2],
    marks: [u8; 2],
    fin: [Option<Timestamp>; 2],
    rst: Option<(Side, Timestamp)>,
}

impl TlsConnection {
    pub fn new(limits: TlsLimits) -> TlsConnection {
        TlsConnection {
            readers: Default::default(),
            state: State {
                limits,
                report: TlsReport::default(),
                messages: Default::default(),
                feeding: [false; 2],
                messages_lost: [false; 2],
                ccs: [false; 2],
                current: [None; 2],
                recent: [[None; RECENT]; 2],
                recent_next: [0; 2],
                current_burst: None,
                last_burst: [None; 2],
                marks: [0; 2],
                fin: [None; 2],
                rst: None,
            },
        }
    }

    /// What was found so far.
    pub fn report(&self) -> &TlsReport {
        &self.state.report
    }

    /// In-order bytes from `from`; `sink` hears about every record too
    /// (see [`RecordSink`]: where decryption will hook in).
    pub fn on_data_into(
        &mut self,
        from: Side,
        offset: u64,
        bytes: &[u8],
        ts: Timestamp,
        sink: &mut impl RecordSink,
    ) {
        let mut both = Both {
            state: &mut self.state,
            outer: sink,
        };
        self.readers
            .of_mut(from)
            .feed(from, offset, bytes, ts, &mut both);
    }

    pub fn on_data(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp) {
        self.on_data_into(from, offset, bytes, ts, &mut super::NoSink);
    }

    pub fn on_gap(&mut self, from: Side, offset: u64, len: u64, ts: Timestamp) {
        let s = &mut self.state;
        let g = s.report.gaps.of_mut(from);
        *g = g.saturating_add(1);
        // Where the next handshake message starts is lost with the gap.
        *s.messages_lost.of_mut(from) = true;
        let mut both = Both {
            state: &mut self.state,
            outer: &mut super::NoSink,
        };
        self.readers
            .of_mut(from)
            .gap(from, offset, len, ts, &mut both);
    }

    pub fn on_fin(&mut self, from: Side, ts: Timestamp) {
        let cut = self
            .readers
            .of(from)
            .open_record()
            .map(|(h, missing)| (h.len, missing));
        let s = &mut self.state;
        if s.fin.of(from).is_none() {
            *s.fin.of_mut(from) = Some(ts);
            *s.report.cut_by_fin.of_mut(from) = cut;
        }
    }

    pub fn on_rst(&mut self, from: Side, ts: Timestamp) {
        if self.state.rst.is_some() {
            return;
        }
        self.state.rst = Some((from, ts));
        for side in [Side::Client, Side::Server] {
            *self.state.report.cut_by_rst.of_mut(side) = self
                .readers
                .of(side)
                .open_record()
                .map(|(h, missing)| (h.len, missing));
        }
    }

    /// Resolves the frames of what the last delivery of `from` began or
    /// ended (the segment handed over after its data).
    pub fn on_segment(&mut self, from: Side, segment: &SegmentMeta) {
        let s = &mut self.state;
        let m = std::mem::take(s.marks.of_mut(from));
        if m == 0 {
            return;
        }
        let frame = Some(segment.frame);
        let r = &mut s.report;
        if m & mark::CLIENT_HELLO != 0 {
            r.client_hello_frame = r.client_hello_frame.or(frame);
        }
        if m & mark::FIRST_DATA != 0 {
            match from {
                Side::Client => r.client_first_data_frame = r.client_first_data_frame.or(frame),
                Side::Server => r.server_first_data_frame = r.server_first_data_frame.or(frame),
            }
        }
        if let Some(b) = s.current_burst.as_mut().filter(|b| b.side == from) {
            if m & mark::BURST_START != 0 {
                b.start_frame = b.start_frame.or(frame);
            }
            if m & mark::RECORD_END != 0 {
                b.end_frame = frame;
            }
            let b = *b;
            *s.last_burst.of_mut(from) = Some(b);
            s.sync_exchange(b);
        }
    }

    /// Where `release`'s held and released data sat among the sender's
    /// records (from the last few records' places).
    pub fn place(&self, release: &AckRelease) -> ReleasePlace {
        let recent = self.state.recent.of(release.sender);
        let held_at = release.held_end.saturating_sub(1);
        let find = |at: u64| {
            recent
                .iter()
                .flatten()
                .find(|p| p.offset <= at && at < p.end)
        };
        let held = find(held_at);
        let released = find(release.release_offset);
        ReleasePlace {
            release_frame: release.release_frame,
            held: held.map(|p| (p.kind, p.len)),
            held_ends_record: held.is_some_and(|p| p.end == release.held_end),
            released: released.map(|p| (p.kind, p.len)),
            release_starts_record: released.is_some_and(|p| p.offset == release.release_offset),
            held_plaintext: None,
        }
    }

    /// Closes the books: the exchanges without a final close_notify alert,
    /// where each direction's framing stood.
    pub fn finish(mut self) -> TlsReport {
        self.state.close_burst();
        self.state.drop_trailing_alerts();
        let mut r = self.state.report;
        for side in [Side::Client, Side::Server] {
            let reader = self.readers.of(side);
            *r.framing_lost.of_mut(side) = reader.lost;
            *r.unparsed_bytes.of_mut(side) = reader.unparsed_bytes;
        }
        r
    }
}

/// The connection's own books and the caller's sink, both told of every
/// record.
struct Both<'a, S: RecordSink> {
    state: &'a mut State,
    outer: &'a mut S,
}

impl<S: RecordSink> RecordSink for Both<'_, S> {
    fn record_start(&mut self, from: Side, h: &RecordHeader) {
        self.state.record_start(from, h);
        self.outer.hellos(&self.state.report);
        self.outer.record_start(from, h);
    }
    fn record_body(&mut self, from: Side, h: &RecordHeader, at: u16, piece: &[u8], ts: Timestamp) {
        if *self.state.feeding.of(from) {
            self.state.handshake_bytes(from, piece, ts);
        }
        self.outer.record_body(from, h, at, piece, ts);
    }
    fn record_end(&mut self, from: Side, h: &RecordHeader, ts: Timestamp, whole: bool) {
        self.state.record_end(from, ts);
        self.outer.record_end(from, h, ts, whole);
    }
}

impl State {
    /// The version the server chose is TLS 1.2 or older.
    fn up_to_tls12(&self) -> bool {
        self.report.version().is_some_and(|v| !v.is_tls13())
    }

    /// Whether `side`'s handshake records are still in clear text.
    fn handshake_in_clear(&self, side: Side) -> bool {
        // TLS 1.3 has no encrypted record of type handshake; TLS 1.2's
        // Finished is the first after the sender's ChangeCipherSpec.
        // After a HelloRetryRequest both sides may send a (TLS 1.3
        // middlebox-compatibility) ChangeCipherSpec before the second
        // hellos, which are in clear text.
        !*self.ccs.of(side)
            || self.report.is_tls13()
            || (self.report.hello_retry && self.report.server_hello.is_none())
    }

    fn kind_of(&mut self, from: Side, h: &RecordHeader) -> RecordKind {
        let r = &self.report;
        match (from, h.content_type) {
            (_, ContentType::ChangeCipherSpec) => RecordKind::ChangeCipherSpec,
            (_, ContentType::Alert) => RecordKind::Alert,
            (_, ContentType::Heartbeat) => RecordKind::Heartbeat,
            (side, ContentType::Handshake) => {
                if self.handshake_in_clear(side) {
                    RecordKind::Handshake
                } else {
                    RecordKind::EncryptedHandshake
                }
            }
            (Side::Client, ContentType::ApplicationData) => {
                if r.server_hello.is_none() && r.server_hello_ts.is_none() {
                    RecordKind::EarlyData
                } else if r.is_tls13() && r.client_finished_ts.is_none() {
                    RecordKind::EncryptedHandshake
                } else {
                    RecordKind::ApplicationData
                }
            }
            (Side::Server, ContentType::ApplicationData) => {
                if r.is_tls13() && r.client_finished_ts.is_none() {
                    RecordKind::EncryptedHandshake
                } else {
                    RecordKind::ApplicationData
                }
            }
        }
    }

    fn record_start(&mut self, from: Side, h: &RecordHeader) {
        let kind = self.kind_of(from, h);
        *self.current.of_mut(from) = Some(kind);
        // Its place, for the ack releases.
        let at = self.recent_next.of(from) % RECENT;
        if let Some(slot) = self.recent.of_mut(from).get_mut(at) {
            *slot = Some(Placed {
                offset: h.offset,
                end: h.end(),
                kind,
                len: h.len,
            });
        }
        *self.recent_next.of_mut(from) = at.saturating_add(1);

        let records = self.report.records.of_mut(from);
        records.records = records.records.saturating_add(1);
        let count = match h.content_type {
            ContentType::ChangeCipherSpec => Some(&mut records.change_cipher_spec),
            ContentType::Alert => Some(&mut records.alert),
            ContentType::Handshake => Some(&mut records.handshake),
            ContentType::Heartbeat => Some(&mut records.heartbeat),
            // Counted by what it turns out to be, below.
            ContentType::ApplicationData => None,
        };
        if let Some(count) = count {
            *count = count.saturating_add(1);
        }

        *self.feeding.of_mut(from) = kind == RecordKind::Handshake && !*self.messages_lost.of(from);
        let r = &mut self.report;
        match (from, kind) {
            // The client's first handshake record, if it came before any of
            // its application data: a handshake record after data (a lost
            // opening, a renegotiation) is no ClientHello to time from.
            (Side::Client, RecordKind::Handshake)
                if r.client_hello_ts.is_none() && r.client_first_data_ts.is_none() =>
            {
                r.client_hello_ts = Some(h.ts);
                *self.marks.of_mut(from) |= mark::CLIENT_HELLO;
            }
            (Side::Server, RecordKind::Handshake) if r.server_hello_ts.is_none() => {
                r.server_hello_ts = Some(h.ts);
            }
            (_, RecordKind::ChangeCipherSpec) => {
                *self.ccs.of_mut(from) = true;
                // TLS 1.2: a server that changes cipher right after its
                // hello, without a certificate, resumed a session.
                if from == Side::Server
                    && self.report.handshake == HandshakeKind::Unknown
                    && self.up_to_tls12()
                    && !self.report.certificate
                {
                    self.report.handshake = HandshakeKind::Resumed;
                }
            }
            (Side::Client, RecordKind::EncryptedHandshake) => {
                r.client_finished_ts.get_or_insert(h.ts);
            }
            (Side::Server, RecordKind::EncryptedHandshake)
                if h.content_type == ContentType::Handshake =>
            {
                r.server_finished_ts.get_or_insert(h.ts);
            }
            (Side::Client, RecordKind::EarlyData) => {
                r.early_data_records = r.early_data_records.saturating_add(1);
            }
            (_, RecordKind::ApplicationData) => self.application_data(from, h),
            _ => {}
        }
    }

    fn application_data(&mut self, from: Side, h: &RecordHeader) {
        let wire = u64::from(h.len).saturating_add(5);
        let r = &mut self.report;
        let d = r.records.of_mut(from);
        d.application_data = d.application_data.saturating_add(1);
        d.application_data_bytes = d.application_data_bytes.saturating_add(wire);
        d.first_application_data_ts.get_or_insert(h.ts);
        d.last_application_data_ts = Some(h.ts);
        match from {
            Side::Client if r.client_first_data_ts.is_none() => {
                r.client_first_data_ts = Some(h.ts);
                // TLS 1.2's Finished is its own record; without one seen
                // (a gap), the data marks the handshake's end.
                r.client_finished_ts.get_or_insert(h.ts);
                *self.marks.of_mut(from) |= mark::FIRST_DATA;
            }
            Side::Server
                if r.client_first_data_ts.is_some() && r.server_first_data_ts.is_none() =>
            {
                r.server_first_data_ts = Some(h.ts);
                *self.marks.of_mut(from) |= mark::FIRST_DATA;
            }
            _ => {}
        }
        // Exchanges count from the client's first application data.
        if r.client_first_data_ts.is_none() {
            return;
        }
        match self.current_burst.as_mut() {
            Some(b) if b.side == from => {
                b.records = b.records.saturating_add(1);
                b.bytes = b.bytes.saturating_add(wire);
                b.end_before_last = Some((b.end_ts, b.end_frame));
                b.last_len = h.len;
            }
            _ => {
                self.close_burst();
                let e = &mut self.report.exchanges;
                match from {
                    Side::Client => e.client_bursts = e.client_bursts.saturating_add(1),
                    Side::Server => e.server_bursts = e.server_bursts.saturating_add(1),
                }
                let b = Burst {
                    side: from,
                    start_ts: h.ts,
                    start_frame: None,
                    end_ts: h.ts,
                    end_frame: None,
                    records: 1,
                    bytes: wire,
                    last_len: h.len,
                    end_before_last: None,
                };
                self.current_burst = Some(b);
                *self.last_burst.of_mut(from) = Some(b);
                self.sync_exchange(b);
                *self.marks.of_mut(from) |= mark::BURST_START;
            }
        }
    }

    fn record_end(&mut self, from: Side, ts: Timestamp) {
        *self.feeding.of_mut(from) = false;
        if *self.current.of(from) != Some(RecordKind::ApplicationData) {
            return;
        }
        if let Some(b) = self.current_burst.as_mut().filter(|b| b.side == from) {
            b.end_ts = ts;
            let b = *b;
            *self.last_burst.of_mut(from) = Some(b);
            self.sync_exchange(b);
            *self.marks.of_mut(from) |= mark::RECORD_END;
        }
    }

    /// Keeps the first request and response bursts up to date with the
    /// burst in progress.
    fn sync_exchange(&mut self, b: Burst) {
        let e = &mut self.report.exchanges;
        let (count, slot) = match b.side {
            Side::Client => (e.client_bursts, &mut e.first_request),
            Side::Server => (e.server_bursts, &mut e.first_response),
        };
        if count == 1 {
            *slot = Some(b);
        }
    }

    fn close_burst(&mut self) {
        if let Some(b) = self.current_burst.take() {
            *self.last_burst.of_mut(b.side) = Some(b);
            self.sync_exchange(b);
        }
    }

    /// TLS 1.3: a side's last record, of the size of an encrypted alert,
    /// is taken to be its close_notify and left out of the exchanges.
    fn drop_trailing_alerts(&mut self) {
        if !self.report.is_tls13() {
            return;
        }
        let alert_len: u16 = match self.report.server_hello.as_ref().map(|s| s.cipher_suite) {
            Some(0x1305) => 2 + 1 + 8, // TLS_AES_128_CCM_8_SHA256: an 8-byte tag
            _ => 2 + 1 + 16,
        };
        for side in [Side::Client, Side::Server] {
            let Some(b) = *self.last_burst.of(side) else {
                continue;
            };
            if b.last_len != alert_len {
                continue;
            }
            let e = &mut self.report.exchanges;
            let (count, first) = match side {
                Side::Client => (&mut e.client_bursts, &mut e.first_request),
                Side::Server => (&mut e.server_bursts, &mut e.first_response),
            };
            // The side's last burst is its first when it had only one
            // (not by time: timestamps may repeat at low resolution).
            let is_first = *count == 1;
            match b.end_before_last {
                // A burst of the alert alone: not an exchange.
                None => {
                    *count = count.saturating_sub(1);
                    if is_first {
                        *first = None;
                    }
                }
                Some((end_ts, end_frame)) => {
                    if let Some(f) = first.as_mut().filter(|_| is_first) {
                        f.end_ts = end_ts;
                        f.end_frame = end_frame;
                        f.records = f.records.saturating_sub(1);
                        f.bytes = f
                            .bytes
                            .saturating_sub(u64::from(alert_len).saturating_add(5));
                    }
                }
            }
        }
    }

    fn handshake_bytes(&mut self, from: Side, piece: &[u8], _ts: Timestamp) {
        let max = self.limits.max_hello_bytes;
        let mut got: Vec<Message> = Vec::new();
        self.messages
            .of_mut(from)
            .feed(piece, max, &mut |m| got.push(m));
        for m in got {
            self.message(from, m);
        }
    }

    fn message(&mut self, from: Side, m: Message) {
        let r = &mut self.report;
        match (from, m) {
            (Side::Client, Message::ClientHello(ch)) => {
                r.client_hellos = r.client_hellos.saturating_add(1);
                if r.client_hello.is_none() {
                    r.client_hello = Some(*ch);
                }
            }
            (Side::Server, Message::ServerHello(sh)) => {
                if sh.hello_retry {
                    r.hello_retry = true;
                    return;
                }
                if r.server_hello.is_some() {
                    return;
                }
                let offered = r.client_hello.as_ref().map(|c| c.session_id);
                let v = sh.version();
                if v.is_tls13() {
                    r.handshake = if sh.psk {
                        HandshakeKind::Resumed
                    } else {
                        HandshakeKind::Full
                    };
                } else if !sh.session_id.is_empty() && offered == Some(sh.session_id) {
                    r.handshake = HandshakeKind::Resumed;
                }
                r.server_hello = Some(*sh);
            }
            (_, Message::TooLarge) => {
                r.hellos_too_large = r.hellos_too_large.saturating_add(1);
            }
            (_, Message::Malformed) => {
                r.hellos_malformed = r.hellos_malformed.saturating_add(1);
            }
            (Side::Server, Message::Other { msg_type }) => match msg_type {
                kind::CERTIFICATE
                | kind::SERVER_KEY_EXCHANGE
                | kind::CERTIFICATE_REQUEST
                | kind::SERVER_HELLO_DONE => {
                    r.certificate |= msg_type == kind::CERTIFICATE;
                    if r.handshake == HandshakeKind::Unknown && !r.is_tls13() {
                        r.handshake = HandshakeKind::Full;
                    }
                }
                kind::NEW_SESSION_TICKET => r.ticket_issued = true,
                _ => {}
            },
            // A ClientKeyExchange: a full TLS 1.2 handshake.
            (Side::Client, Message::Other { msg_type })
                if msg_type == kind::CLIENT_KEY_EXCHANGE
                    && r.handshake == HandshakeKind::Unknown
                    && !r.is_tls13() =>
            {
                r.handshake = HandshakeKind::Full;
            }
            // A hello from the wrong side: not what this connection is.
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests;
