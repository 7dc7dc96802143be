//! The stream handler every command runs on each connection: the HTTP/1.x
//! parser, keeping what the command asks for ([`Keep`]) — every transaction
//! until the connection ends, or only their count; and, for the rules that
//! judge TCP pacing, the ack-release events long enough to matter.
//!
//! One handler for `connections`, `transactions` and `check`, told what to
//! keep, rather than a wrapper per command: the flow table runs one type,
//! and what differs is data.
//!
//! It is also where a connection's protocol is decided, once, on the
//! client's first bytes (`protocol.rs`): a TLS handshake sends the
//! connection to the TLS stage ([`TlsConnection`]), the HTTP/2 preface
//! marks it `h2c`, and anything else stays with the HTTP/1.x parser, which
//! decides by content as it always did. Until the client's bytes tell, the
//! HTTP parser is fed as usual; after that every call goes to one reader,
//! so a clear-text connection pays one branch per call for the choice.
//!
//! With a key log ([`KeySource`]) the TLS connection's records also go to a
//! [`Decryptor`], its record sink, and the application data it opens feeds
//! the HTTP parser here, each byte at the time its record was complete: a
//! decrypted connection's transactions are those of a clear-text one. A
//! record that fails to authenticate, or a capture gap, ends its
//! direction's plaintext as a gap would a clear-text stream.

use super::protocol::{Opening, Protocol, Sniff};
use super::{HttpConnection, HttpConnectionReport, HttpLimits};
use crate::reassembly::{AckRelease, ConnectionEnd, SegmentKind, SegmentMeta, Side, StreamHandler};
use crate::tls::{
    DecryptReport, Decryptor, KeySource, Plaintext, RecordHeader, RecordSink, ReleasePlace,
    TlsConnection, TlsLimits, TlsReport,
};
use crate::Timestamp;

/// Most ack-release events kept per connection. Beyond it they are counted,
/// not stored: a connection stalling this often is reported many times over
/// already.
pub const MAX_RELEASES: usize = 4096;

/// Most retransmission and gap marks kept per connection ([`Keep::marks`]);
/// beyond it they are counted, not stored.
pub const MAX_MARKS: usize = 256;

/// A moment worth a tick on a connection's lane: a retransmitted segment or
/// a hole in a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub ts: Timestamp,
    pub side: Side,
    pub kind: MarkKind,
    /// The frame of a retransmission (a gap has none: it is what is missing).
    pub frame: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    Retransmission,
    Gap,
}

/// What the handler keeps of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keep {
    /// Every transaction until the connection ends (`transactions`,
    /// `check`); else each is counted and dropped as it settles
    /// (`connections`, which needs only the count: a long keep-alive
    /// connection then holds none of them).
    pub transactions: bool,
    /// Ack releases ([`AckRelease`]) whose sender was quiet at least this
    /// long before them, in nanoseconds; `None`: none. Shorter ones could
    /// not make any enabled rule fire.
    pub ack_releases_idle_ns: Option<i64>,
    /// Every message's header fields as on the wire (the HAR export).
    pub fields: bool,
    /// Retransmissions and gaps with their times ([`Mark`]), up to
    /// [`MAX_MARKS`] per connection (the report's waterfall ticks).
    pub marks: bool,
}

impl Keep {
    /// Every transaction, no ack releases (`transactions`).
    pub const TRANSACTIONS: Keep = Keep {
        transactions: true,
        ack_releases_idle_ns: None,
        fields: false,
        marks: false,
    };
    /// Only the count of transactions (`connections`).
    pub const COUNT: Keep = Keep {
        transactions: false,
        ack_releases_idle_ns: None,
        fields: false,
        marks: false,
    };
}

/// Which reader a connection's calls go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    /// The client has not said enough yet; the HTTP parser is fed meanwhile.
    Sniff,
    Http,
    Tls,
    /// HTTP/2 in clear text: counted, not parsed.
    H2c,
}

/// One connection's HTTP layer (or TLS, or neither), as [`Keep`] asks.
#[derive(Debug)]
pub struct ConnectionHandler {
    http: HttpConnection,
    keep: Keep,
    /// Transactions counted and dropped as they settled (`keep.transactions` off).
    settled: u64,
    releases: Vec<AckRelease>,
    releases_dropped: u64,
    marks: Vec<Mark>,
    marks_dropped: u64,
    route: Route,
    sniff: Sniff,
    tls_limits: TlsLimits,
    tls: Option<Box<TlsConnection>>,
    /// Where the kept ack releases sat among a TLS sender's records.
    places: Vec<ReleasePlace>,
    /// Where the secrets to decrypt TLS with come from (none by default).
    keys: KeySource,
    decryptor: Option<Box<Decryptor>>,
}

/// What the handler made of a finished connection.
#[derive(Debug)]
pub struct HandledConnection {
    /// The transactions kept (all of them, or, when only counting, those
    /// that had not settled before the end) and the rest of the report.
    pub http: HttpConnectionReport,
    /// Transactions counted and dropped before the end; with
    /// [`HandledConnection::http`]'s, the connection's count.
    pub settled: u64,
    /// The ack releases kept, in capture order.
    pub releases: Vec<AckRelease>,
    /// Ack releases past [`MAX_RELEASES`], counted only.
    pub releases_dropped: u64,
    /// Retransmissions and gaps kept ([`Keep::marks`]), in capture order.
    pub marks: Vec<Mark>,
    /// Marks past [`MAX_MARKS`], counted only.
    pub marks_dropped: u64,
    /// What the connection spoke.
    pub protocol: Protocol,
    /// What the TLS stage found, on a TLS connection.
    pub tls: Option<Box<TlsReport>>,
    /// For a TLS connection, where each kept ack release sat among the
    /// sender's records.
    pub release_places: Vec<ReleasePlace>,
    /// For a TLS connection read with a key log, what decryption made of it
    /// (its HTTP is then in [`HandledConnection::http`]).
    pub decryption: Option<DecryptReport>,
}

impl HandledConnection {
    /// Every transaction the connection carried, kept or counted.
    pub fn transaction_count(&self) -> u64 {
        self.settled
            .saturating_add(self.http.transactions.len() as u64)
    }
}

impl ConnectionHandler {
    pub fn new(limits: HttpLimits, tls_limits: TlsLimits, keep: Keep) -> ConnectionHandler {
        let http = HttpConnection::new(limits);
        ConnectionHandler {
            http: if keep.fields {
                http.keep_fields()
            } else {
                http
            },
            keep,
            settled: 0,
            releases: Vec::new(),
            releases_dropped: 0,
            marks: Vec::new(),
            marks_dropped: 0,
            route: Route::Sniff,
            sniff: Sniff::default(),
            tls_limits,
            tls: None,
            places: Vec::new(),
            keys: KeySource::default(),
            decryptor: None,
        }
    }

    /// Decrypts TLS connections with the secrets `keys` holds when their
    /// TLS begins.
    pub fn with_keys(mut self, keys: KeySource) -> ConnectionHandler {
        self.keys = keys;
        self
    }

    /// Closes the books of the reader the connection went to (see
    /// [`HttpConnection::finish`], [`TlsConnection::finish`]).
    pub fn finish(self) -> HandledConnection {
        let http = self.http.finish();
        let tls = self.tls.map(|t| Box::new(t.finish()));
        let protocol = match (self.route, &tls) {
            (Route::Tls, Some(t)) if t.alpn() == Some("h2") => Protocol::H2,
            (Route::Tls, _) => Protocol::Tls,
            (Route::H2c, _) => Protocol::H2c,
            _ if http.is_http => Protocol::Http1,
            _ => Protocol::Unknown,
        };
        HandledConnection {
            http,
            settled: self.settled,
            releases: self.releases,
            releases_dropped: self.releases_dropped,
            protocol,
            tls,
            release_places: self.places,
            decryption: self.decryptor.map(|d| d.finish()),
            marks: self.marks,
            marks_dropped: self.marks_dropped,
        }
    }

    fn mark(&mut self, mark: Mark) {
        if !self.keep.marks {
            return;
        }
        if self.marks.len() < MAX_MARKS {
            self.marks.push(mark);
        } else {
            self.marks_dropped = self.marks_dropped.saturating_add(1);
        }
    }

    /// Runs after every delivered range: inlined, so that when the
    /// transactions are kept it costs one test.
    #[inline]
    fn drain_settled(&mut self) {
        if !self.keep.transactions {
            let n = self.http.drain_settled(None).count() as u64;
            self.settled = self.settled.saturating_add(n);
        }
    }

    /// TLS bytes: framed by the TLS stage and, with keys, decrypted into
    /// the HTTP parser.
    fn tls_data(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp) {
        let Some(t) = self.tls.as_mut() else {
            return;
        };
        match self.decryptor.as_mut() {
            Some(d) => {
                d.data_in(from, self.http.frame);
                let mut feed = Feed {
                    decryptor: d,
                    http: &mut self.http,
                };
                t.on_data_into(from, offset, bytes, ts, &mut feed);
                self.drain_settled();
            }
            None => t.on_data(from, offset, bytes, ts),
        }
    }

    #[inline]
    fn http_data(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp) {
        self.http.on_data(from, offset, bytes, ts);
        self.drain_settled();
    }

    /// Data while the protocol is not decided: the client's first bytes
    /// decide it; the HTTP parser has everything until they do.
    fn sniff_data(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp) {
        if from == Side::Server {
            // The server spoke first: neither TLS nor HTTP/2's preface.
            self.route = Route::Http;
            self.http_data(from, offset, bytes, ts);
            return;
        }
        let before = self.sniff.seen().len();
        match self.sniff.push(bytes) {
            None => self.http_data(from, offset, bytes, ts),
            Some(Opening::Other) => {
                self.route = Route::Http;
                self.http_data(from, offset, bytes, ts);
            }
            Some(opening) => {
                // What the HTTP parser was fed while undecided (a few
                // bytes of a tiny first segment) is not HTTP.
                let frame = self.http.frame;
                self.http = HttpConnection::new(self.http.limits);
                // The frame being read stays (0-RTT data may share it).
                self.http.frame = frame;
                if opening == Opening::H2c {
                    self.route = Route::H2c;
                    return;
                }
                self.route = Route::Tls;
                self.tls = Some(Box::new(TlsConnection::new(self.tls_limits)));
                self.decryptor = self.keys.get().map(|k| Box::new(Decryptor::new(k)));
                let earlier = self.sniff.seen().get(..before).unwrap_or_default().to_vec();
                if !earlier.is_empty() {
                    let start = offset.saturating_sub(earlier.len() as u64);
                    self.tls_data(from, start, &earlier, ts);
                }
                self.tls_data(from, offset, bytes, ts);
            }
        }
    }
}

/// The decryptor as the TLS connection's record sink, its plaintext going
/// to the HTTP parser.
struct Feed<'a> {
    decryptor: &'a mut Decryptor,
    http: &'a mut HttpConnection,
}

impl RecordSink for Feed<'_> {
    fn hellos(&mut self, report: &TlsReport) {
        self.decryptor.hellos(report);
    }
    fn record_start(&mut self, from: Side, header: &RecordHeader) {
        self.decryptor.record_start(from, header);
    }
    fn record_body(&mut self, from: Side, _: &RecordHeader, _: u16, piece: &[u8], _: Timestamp) {
        self.decryptor.record_body(from, piece);
    }
    fn record_end(&mut self, from: Side, header: &RecordHeader, ts: Timestamp, whole: bool) {
        self.decryptor
            .record_end(from, header, ts, whole, &mut ToHttp(self.http));
    }
}

/// Plaintext into the HTTP parser; a direction whose decryption ended is a
/// gap to the end of its stream.
struct ToHttp<'a>(&'a mut HttpConnection);

impl Plaintext for ToHttp<'_> {
    fn plaintext(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp) {
        self.0.on_data(from, offset, bytes, ts);
    }
    fn lost(&mut self, from: Side, offset: u64, ts: Timestamp) {
        // How much plaintext followed is unknown: the rest of the stream,
        // for the parser (`u64::MAX`: a gap of unknown length, not counted
        // as bytes).
        self.0.on_gap(from, offset, u64::MAX, ts);
    }
    fn frame(&self) -> u64 {
        self.0.frame
    }
    fn set_frame(&mut self, frame: u64) {
        self.0.frame = frame;
    }
}

impl ConnectionHandler {
    /// [`StreamHandler::on_segment`] off its common path: TLS or h2c
    /// routes, and retransmissions (marked on the timeline).
    #[inline(never)]
    fn segment_other(&mut self, from: Side, segment: &SegmentMeta) {
        match (self.route, self.tls.as_mut()) {
            (Route::Tls, Some(t)) => t.on_segment(from, segment),
            (Route::H2c, _) => {}
            // The HTTP parser's ACK evidence (pipelining after a hole).
            _ => self.http.on_segment(from, segment),
        }
        if segment.kind == SegmentKind::Retransmission {
            self.mark(Mark {
                ts: segment.ts,
                side: from,
                kind: MarkKind::Retransmission,
                frame: Some(segment.frame),
            });
        }
    }
}

impl StreamHandler for ConnectionHandler {
    fn on_frame(&mut self, frame: u64) {
        self.http.on_frame(frame);
    }
    fn held_bytes(&self) -> usize {
        let kept = self
            .releases
            .capacity()
            .saturating_mul(std::mem::size_of::<AckRelease>())
            .saturating_add(
                self.marks
                    .capacity()
                    .saturating_mul(std::mem::size_of::<Mark>()),
            );
        self.http.held_bytes().saturating_add(kept)
    }
    fn on_data(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp) {
        match self.route {
            Route::Http => self.http_data(from, offset, bytes, ts),
            Route::Tls => self.tls_data(from, offset, bytes, ts),
            Route::H2c => {}
            Route::Sniff => self.sniff_data(from, offset, bytes, ts),
        }
    }
    fn on_gap(&mut self, from: Side, offset: u64, len: u64, ts: Timestamp) {
        match (self.route, self.tls.as_mut()) {
            (Route::Tls, Some(t)) => {
                t.on_gap(from, offset, len, ts);
                if let Some(d) = self.decryptor.as_mut() {
                    d.gap(from, ts, &mut ToHttp(&mut self.http));
                    self.drain_settled();
                }
            }
            (Route::H2c, _) => {}
            _ => {
                if from == Side::Client && self.route == Route::Sniff {
                    // The client's opening is lost: its bytes cannot tell.
                    self.route = Route::Http;
                }
                self.http.on_gap(from, offset, len, ts);
            }
        }
        self.mark(Mark {
            ts,
            side: from,
            kind: MarkKind::Gap,
            frame: None,
        });
    }
    fn on_fin(&mut self, from: Side, ts: Timestamp) {
        if let Some(t) = self.tls.as_mut() {
            t.on_fin(from, ts);
        }
        self.http.on_fin(from, ts);
    }
    fn on_rst(&mut self, from: Side, ts: Timestamp) {
        if let Some(t) = self.tls.as_mut() {
            t.on_rst(from, ts);
        }
        self.http.on_rst(from, ts);
    }
    /// Called for every segment: the common case (HTTP, or not yet known,
    /// and not a retransmission) is kept small enough to inline into the
    /// flow table's loop; the rest goes through [`Self::segment_other`].
    #[inline(always)]
    fn on_segment(&mut self, from: Side, segment: &SegmentMeta) {
        if matches!(self.route, Route::Http | Route::Sniff)
            && segment.kind != SegmentKind::Retransmission
        {
            self.http.on_segment(from, segment);
        } else {
            self.segment_other(from, segment);
        }
    }
    fn on_ack_release(&mut self, release: &AckRelease) {
        let Some(min_idle) = self.keep.ack_releases_idle_ns else {
            return;
        };
        if release.idle_ns() < min_idle {
            return;
        }
        if self.releases.len() < MAX_RELEASES {
            self.releases.push(*release);
            if let Some(t) = &self.tls {
                let mut place = t.place(release);
                // Decrypted: where the held write ended among the messages.
                place.held_plaintext = self
                    .decryptor
                    .as_ref()
                    .and_then(|d| d.plaintext_of_record_ending(release.sender, release.held_end));
                self.places.push(place);
            }
        } else {
            self.releases_dropped = self.releases_dropped.saturating_add(1);
        }
    }
    fn on_end(&mut self, end: &ConnectionEnd) {
        self.http.on_end(end);
    }
    fn sender_of(payload: &[u8]) -> Option<Side> {
        use crate::tls::{starts_like_client_hello, starts_like_server_hello, Probe};
        HttpConnection::sender_of(payload).or_else(|| {
            if starts_like_client_hello(payload) == Probe::Yes
                || payload.starts_with(super::protocol::H2_PREFACE)
            {
                Some(Side::Client)
            } else if starts_like_server_hello(payload) == Probe::Yes {
                Some(Side::Server)
            } else {
                None
            }
        })
    }
}
