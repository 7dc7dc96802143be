//! The TLS record layer of one direction (RFC 8446 §5.1, RFC 5246 §6.2):
//! every record is a 5-byte header (content type, legacy version, length)
//! and `length` bytes of body. The reader frames the delivered stream into
//! records by arithmetic and tells a [`RecordSink`] about each: where it
//! starts, each piece of its body as delivered, and where it ends.
//!
//! Only a header split across deliveries is copied (5 bytes at most); a
//! body is handed over in the slices the reassembly delivered and never
//! held. A header that cannot be a TLS record (an unknown content type, a
//! version that is not 3.x, a length past what any version allows) or a
//! capture gap that hides where the next header starts ends the framing
//! for the rest of the direction: its bytes are then only counted.

use super::MAX_RECORD_BODY;
use crate::reassembly::Side;
use crate::Timestamp;

/// The content types a record can carry (RFC 8446 §5.1; 24 is RFC 6520's
/// heartbeat). TLS 1.3 sends every record after the ServerHello as
/// `ApplicationData` on the outside, whatever it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    ChangeCipherSpec,
    Alert,
    Handshake,
    ApplicationData,
    Heartbeat,
}

impl ContentType {
    pub fn from_byte(b: u8) -> Option<ContentType> {
        match b {
            20 => Some(ContentType::ChangeCipherSpec),
            21 => Some(ContentType::Alert),
            22 => Some(ContentType::Handshake),
            23 => Some(ContentType::ApplicationData),
            24 => Some(ContentType::Heartbeat),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ContentType::ChangeCipherSpec => "change_cipher_spec",
            ContentType::Alert => "alert",
            ContentType::Handshake => "handshake",
            ContentType::ApplicationData => "application_data",
            ContentType::Heartbeat => "heartbeat",
        }
    }
}

/// A record's header, where it was in its direction's stream and when its
/// first byte was captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub content_type: ContentType,
    /// The record's legacy version field (0x0301 in many ClientHellos,
    /// 0x0303 in every TLS 1.2 and 1.3 record after it).
    pub version: u16,
    /// Bytes of body after the header.
    pub len: u16,
    /// Stream offset of the header's first byte.
    pub offset: u64,
    /// Capture time of the segment that carried the header's first byte.
    pub ts: Timestamp,
}

impl RecordHeader {
    /// Offset just past the record's last byte.
    pub fn end(&self) -> u64 {
        self.offset
            .saturating_add(5)
            .saturating_add(u64::from(self.len))
    }
}

/// What hears about the records of a connection as they are framed. Every
/// method has an empty default: a sink takes what it needs. The record
/// layer calls `record_start` once per record, then `record_body` for each
/// delivered piece of its body (none for a record of length 0 or one whose
/// body was all in a capture gap), then `record_end`.
pub trait RecordSink {
    /// Called before each `record_start` with what the connection has
    /// learnt so far (its hellos): where a decrypting sink finds the client
    /// random and the cipher suite.
    fn hellos(&mut self, _report: &super::TlsReport) {}
    /// A record's header was read whole.
    fn record_start(&mut self, _from: Side, _header: &RecordHeader) {}
    /// A piece of the record's body, delivered at `ts`, starting
    /// `at` bytes into the body.
    fn record_body(
        &mut self,
        _from: Side,
        _header: &RecordHeader,
        _at: u16,
        _piece: &[u8],
        _ts: Timestamp,
    ) {
    }
    /// The record's last byte was delivered at `ts`; `whole` is false when
    /// part of its body was in a capture gap.
    fn record_end(&mut self, _from: Side, _header: &RecordHeader, _ts: Timestamp, _whole: bool) {}
}

/// A sink that wants nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSink;

impl RecordSink for NoSink {}

/// Why a direction's framing ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FramingLost {
    /// A header that no TLS record has.
    NotTls,
    /// A capture gap hid where the next record starts.
    Gap,
}

/// The record layer of one direction; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub(super) struct RecordReader {
    /// A header split across deliveries: its bytes so far.
    header: [u8; 5],
    header_len: u8,
    header_offset: u64,
    header_ts: Timestamp,
    /// The record whose body is being read, and how much of it is to come.
    current: Option<RecordHeader>,
    remaining: u16,
    /// Part of the current record's body was in a gap.
    current_gap: bool,
    /// Offset expected next, to notice what the reassembly did not announce.
    next_offset: Option<u64>,
    pub lost: Option<FramingLost>,
    /// Bytes delivered after the framing was lost.
    pub unparsed_bytes: u64,
}

impl RecordReader {
    /// The record whose body is still arriving, with how much of it is
    /// missing, if the direction stopped inside one.
    pub fn open_record(&self) -> Option<(RecordHeader, u16)> {
        self.current.map(|h| (h, self.remaining))
    }

    /// Frames `bytes`, delivered at stream `offset` at `ts`.
    pub fn feed(
        &mut self,
        from: Side,
        offset: u64,
        bytes: &[u8],
        ts: Timestamp,
        sink: &mut impl RecordSink,
    ) {
        let (mut offset, mut bytes) = (offset, bytes);
        if let Some(next) = self.next_offset {
            if offset > next {
                // A hole nobody announced: a gap.
                self.gap(from, next, offset.saturating_sub(next), ts, sink);
            } else if offset < next {
                let seen = usize::try_from(next.saturating_sub(offset)).unwrap_or(usize::MAX);
                bytes = bytes.get(seen..).unwrap_or_default();
                offset = next;
            }
        }
        if bytes.is_empty() {
            return;
        }
        self.next_offset = Some(offset.saturating_add(bytes.len() as u64));
        let mut pos = 0usize;
        while let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) {
            if self.lost.is_some() {
                self.unparsed_bytes = self.unparsed_bytes.saturating_add(rest.len() as u64);
                return;
            }
            let at = offset.saturating_add(pos as u64);
            pos = pos.saturating_add(self.step(from, at, rest, ts, sink));
        }
    }

    /// Consumes a prefix of `rest` (at stream offset `at`): body bytes of
    /// the current record, or header bytes. Returns how many; never 0 for
    /// a non-empty `rest` unless the framing was just lost.
    fn step(
        &mut self,
        from: Side,
        at: u64,
        rest: &[u8],
        ts: Timestamp,
        sink: &mut impl RecordSink,
    ) -> usize {
        if let Some(h) = self.current {
            let take = rest.len().min(usize::from(self.remaining));
            let piece = rest.get(..take).unwrap_or_default();
            let into = h.len.saturating_sub(self.remaining);
            sink.record_body(from, &h, into, piece, ts);
            self.remaining = self.remaining.saturating_sub(take as u16);
            if self.remaining == 0 {
                self.end(from, ts, sink);
            }
            return take;
        }
        if self.header_len == 0 {
            self.header_offset = at;
            self.header_ts = ts;
        }
        let have = usize::from(self.header_len);
        let take = rest.len().min(5usize.saturating_sub(have));
        for (slot, b) in self
            .header
            .iter_mut()
            .skip(have)
            .zip(rest.iter().take(take))
        {
            *slot = *b;
        }
        self.header_len = self.header_len.saturating_add(take as u8);
        if self.header_len < 5 {
            return take;
        }
        self.header_len = 0;
        let [t, major, minor, hi, lo] = self.header;
        let len = u16::from_be_bytes([hi, lo]);
        let content_type = match ContentType::from_byte(t) {
            Some(c) if major == 3 && minor <= 4 && len <= MAX_RECORD_BODY => c,
            _ => {
                self.lose(FramingLost::NotTls, 5);
                return take;
            }
        };
        let h = RecordHeader {
            content_type,
            version: u16::from_be_bytes([major, minor]),
            len,
            offset: self.header_offset,
            ts: self.header_ts,
        };
        self.current = Some(h);
        self.remaining = len;
        self.current_gap = false;
        sink.record_start(from, &h);
        if len == 0 {
            self.end(from, ts, sink);
        }
        take
    }

    fn end(&mut self, from: Side, ts: Timestamp, sink: &mut impl RecordSink) {
        if let Some(h) = self.current.take() {
            sink.record_end(from, &h, ts, !self.current_gap);
        }
        self.remaining = 0;
        self.current_gap = false;
    }

    fn lose(&mut self, why: FramingLost, already: u64) {
        if self.lost.is_none() {
            self.lost = Some(why);
            self.unparsed_bytes = self.unparsed_bytes.saturating_add(already);
        }
    }

    /// `len` bytes at `offset` were not captured.
    pub fn gap(
        &mut self,
        from: Side,
        offset: u64,
        len: u64,
        ts: Timestamp,
        sink: &mut impl RecordSink,
    ) {
        let end = offset.saturating_add(len);
        self.next_offset = Some(self.next_offset.map_or(end, |n| n.max(end)));
        if self.lost.is_some() || len == 0 {
            return;
        }
        match self.current {
            Some(_) if len <= u64::from(self.remaining) => {
                self.remaining = self.remaining.saturating_sub(len as u16);
                self.current_gap = true;
                if self.remaining == 0 {
                    self.end(from, ts, sink);
                }
            }
            // The gap runs past the record (or hides a header): where the
            // next record starts is lost with it.
            _ => {
                self.current = None;
                self.header_len = 0;
                self.lose(FramingLost::Gap, 0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event as text.
    #[derive(Default)]
    struct Log(Vec<String>);

    impl RecordSink for Log {
        fn record_start(&mut self, _: Side, h: &RecordHeader) {
            self.0.push(format!(
                "start {} {} @{}",
                h.content_type.name(),
                h.len,
                h.offset
            ));
        }
        fn record_body(&mut self, _: Side, _: &RecordHeader, at: u16, piece: &[u8], _: Timestamp) {
            self.0.push(format!("body {at}+{}", piece.len()));
        }
        fn record_end(&mut self, _: Side, h: &RecordHeader, _: Timestamp, whole: bool) {
            self.0.push(format!("end @{} {whole}", h.end()));
        }
    }

    fn record(t: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![t, 3, 3];
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn records_split_anywhere_are_framed_the_same() {
        let mut stream = record(22, &[1; 7]);
        stream.extend(record(20, &[1]));
        stream.extend(record(23, &[9; 30]));
        stream.extend(record(23, &[]));
        let whole = {
            let mut r = RecordReader::default();
            let mut log = Log::default();
            r.feed(Side::Client, 0, &stream, Timestamp(0), &mut log);
            log.0
        };
        assert_eq!(whole.iter().filter(|e| e.starts_with("start")).count(), 4);
        assert_eq!(
            whole.first().map(String::as_str),
            Some("start handshake 7 @0")
        );
        assert!(whole.contains(&"end @53 true".to_string()), "{whole:?}");
        // Byte by byte: the same records, the bodies in pieces.
        let mut r = RecordReader::default();
        let mut log = Log::default();
        for (i, b) in stream.iter().enumerate() {
            r.feed(Side::Client, i as u64, &[*b], Timestamp(0), &mut log);
        }
        let starts = |l: &[String]| -> Vec<String> {
            l.iter()
                .filter(|e| !e.starts_with("body"))
                .cloned()
                .collect()
        };
        assert_eq!(starts(&log.0), starts(&whole));
        assert_eq!(r.lost, None);
    }

    #[test]
    fn what_is_not_a_record_ends_the_framing() {
        let mut r = RecordReader::default();
        let mut log = Log::default();
        let mut stream = record(23, &[0; 4]);
        stream.extend_from_slice(b"GET / HTTP/1.1\r\n");
        r.feed(Side::Client, 0, &stream, Timestamp(0), &mut log);
        assert_eq!(r.lost, Some(FramingLost::NotTls));
        assert_eq!(r.unparsed_bytes, 16);
        // Nor does a length past 2^14 + 2048.
        let mut r = RecordReader::default();
        r.feed(
            Side::Client,
            0,
            &[23, 3, 3, 0x48, 0x01],
            Timestamp(0),
            &mut log,
        );
        assert_eq!(r.lost, Some(FramingLost::NotTls));
    }

    #[test]
    fn a_gap_inside_a_body_is_survived_and_one_past_it_is_not() {
        let mut r = RecordReader::default();
        let mut log = Log::default();
        let stream = record(23, &[0; 100]);
        r.feed(Side::Server, 0, &stream[..20], Timestamp(0), &mut log);
        r.gap(Side::Server, 20, 50, Timestamp(0), &mut log);
        r.feed(Side::Server, 70, &stream[70..], Timestamp(0), &mut log);
        assert_eq!(log.0.last().map(String::as_str), Some("end @105 false"));
        assert_eq!(r.lost, None);
        r.feed(
            Side::Server,
            105,
            &record(23, &[0; 10]),
            Timestamp(0),
            &mut log,
        );
        assert_eq!(r.open_record(), None);
        // A gap past the end of the record in progress.
        r.feed(
            Side::Server,
            120,
            &record(23, &[0; 10])[..8],
            Timestamp(0),
            &mut log,
        );
        assert_eq!(
            r.open_record().map(|(h, missing)| (h.len, missing)),
            Some((10, 7))
        );
        r.gap(Side::Server, 128, 100, Timestamp(0), &mut log);
        assert_eq!(r.lost, Some(FramingLost::Gap));
    }
}
