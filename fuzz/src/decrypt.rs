//! Target `decrypt`: record decryption with a key log, through the same
//! glue the HTTP stage's handler uses (a [`TlsConnection`] framing the
//! records, a [`Decryptor`] as its record sink learning the hellos from it,
//! the plaintext handed to a [`Plaintext`] sink; a capture gap told to both).
//!
//! Two kinds of input (bit 0 of the first byte):
//!
//! - **sealed** (0): a script that *writes* a TLS connection. The harness
//!   builds the ClientHello and ServerHello for a suite and version the
//!   input picks (supported or not), derives real traffic keys from secrets
//!   the input picks (TLS 1.3 key schedule, TLS 1.2 PRF), seals records with
//!   them (application data, handshake messages, KeyUpdate with the sealer
//!   moving to the next generation, alerts, padding, inner type and version
//!   overrides, clear records, ChangeCipherSpec / the switch to application
//!   keys), writes a key log with the secrets (each present or not, wrong
//!   client random, truncated secrets, noise lines), then mutates the
//!   records (flip a byte, cut, swap, duplicate, drop, raw bytes between
//!   them) and cuts the two streams into TCP segments and gaps. Most records
//!   authenticate, so the fuzzer reaches the plaintext path: inner type and
//!   padding stripping, the handshake-to-application key trial, KeyUpdate,
//!   sequence numbers, records across segments.
//! - **raw** (1): a key log's text and the two streams as events (data of
//!   either side, gaps, FIN), as `fuzz/src/tls.rs` reads them: real
//!   captures' streams with their key log lines are the seeds.
//!
//! Invariants, on every input:
//! - no panic, no stall;
//! - per direction, plaintext is handed over in order: offsets contiguous
//!   from 0, no empty piece, times never going back; `lost` at most once,
//!   at the offset reached, and nothing handed over after it;
//! - the report agrees: plaintext bytes per direction equal what was handed
//!   over; every record opened cost at least 21 bytes of stream (header and
//!   tag and TLS 1.3's inner type or TLS 1.2's nonce), so plaintext + 21 x
//!   records <= bytes delivered; `decrypted()` only without a failure;
//! - bounded buffers: the decryptor never holds more than two record bodies
//!   per direction (`Decryptor::buffered() <= 4 * MAX_RECORD_BODY`);
//! - no key material in the report's text or `Debug`, nor in the key log's;
//! - segmentation does not matter: the same data events with each side's
//!   consecutive chunks joined give the same plaintext, `lost` and report.
//!
//! `DECRYPT_TRACE=1` (env) prints what each input decoded to and what came
//! out (`FUZZ_DESCRIBE=1 cargo test --test fuzz_regressions -- --nocapture`
//! prints the decoded script of the saved inputs).
//!
//! and on sealed inputs, against the sealer's own model:
//! - plaintext handed over <= content sealed, per direction;
//! - authenticated records come out whole and in order: the pieces handed
//!   over are exactly a prefix of the application-data records sealed under
//!   application keys, one piece per record (so nothing forged, reordered,
//!   replayed, or sealed under the wrong key or sequence number gets out);
//! - a clean script (right key log with every secret used, supported suite,
//!   no mutation, no gap, records a conforming stack could send) decrypts
//!   completely: every such record handed over, no failure, every sealed
//!   record opened, every KeyUpdate followed;
//! - otherwise intact structure with a wrong client random gives "no
//!   matching secret", with a suite connlint does not decrypt "unsupported
//!   cipher suite", and nothing handed over.

use aes_gcm::aead::{AeadInOut, KeyInit, Nonce};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use chacha20poly1305::ChaCha20Poly1305;
use connlint::reassembly::Side;
use connlint::tls::decrypt::{expand_label, prf, AeadKind, Hash};
use connlint::tls::{
    DecryptReport, Decryptor, KeyLog, Plaintext, RecordHeader, RecordSink, TlsConnection,
    TlsLimits, TlsReport, Undecrypted, MAX_RECORD_BODY,
};
use connlint::Timestamp;
use std::sync::Arc;

/// One delivery to the TLS stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Data(Side, Vec<u8>),
    Gap(Side, u64),
    Fin(Side),
}

const SIDES: [Side; 2] = [Side::Client, Side::Server];

fn idx(side: Side) -> usize {
    side.index()
}

// ---------------------------------------------------------------------
// The run: TLS stage + decryptor, as src/http/handler.rs glues them.

/// What the decryptor handed over, checked as it comes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Out {
    /// Per direction: each piece handed over.
    pieces: [Vec<Vec<u8>>; 2],
    next: [u64; 2],
    last_ts: [i64; 2],
    lost: [Option<u64>; 2],
}

impl Plaintext for Out {
    fn plaintext(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp) {
        let i = idx(from);
        assert!(self.lost[i].is_none(), "{from:?}: plaintext after lost");
        assert_eq!(offset, self.next[i], "{from:?}: plaintext not contiguous");
        assert!(!bytes.is_empty(), "{from:?}: empty plaintext piece");
        assert!(
            bytes.len() <= usize::from(MAX_RECORD_BODY),
            "piece larger than a record"
        );
        assert!(
            ts.nanos() >= self.last_ts[i],
            "{from:?}: plaintext time went back"
        );
        self.last_ts[i] = ts.nanos();
        self.next[i] += bytes.len() as u64;
        self.pieces[i].push(bytes.to_vec());
    }
    fn lost(&mut self, from: Side, offset: u64, _ts: Timestamp) {
        let i = idx(from);
        assert!(self.lost[i].is_none(), "{from:?}: lost twice");
        assert_eq!(
            offset, self.next[i],
            "{from:?}: lost elsewhere than the end"
        );
        self.lost[i] = Some(offset);
    }
}

struct Sink<'a> {
    d: &'a mut Decryptor,
    out: &'a mut Out,
}

impl RecordSink for Sink<'_> {
    fn hellos(&mut self, report: &TlsReport) {
        self.d.hellos(report);
    }
    fn record_start(&mut self, from: Side, h: &RecordHeader) {
        self.d.record_start(from, h);
    }
    fn record_body(&mut self, from: Side, _: &RecordHeader, _: u16, piece: &[u8], _: Timestamp) {
        self.d.record_body(from, piece);
    }
    fn record_end(&mut self, from: Side, h: &RecordHeader, ts: Timestamp, whole: bool) {
        self.d.record_end(from, h, ts, whole, self.out);
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    out: Out,
    report: DecryptReport,
    delivered: [u64; 2],
}

fn feed(keys: &Arc<KeyLog>, events: &[Event]) -> Outcome {
    let mut c = TlsConnection::new(TlsLimits::default());
    let mut d = Decryptor::new(Arc::clone(keys));
    let mut out = Out::default();
    let mut next = [0u64; 2];
    let mut delivered = [0u64; 2];
    for (n, ev) in events.iter().enumerate() {
        let ts = Timestamp(1_700_000_000_000_000_000 + 1_000 * n as i64);
        match ev {
            Event::Data(side, bytes) => {
                let i = idx(*side);
                let mut sink = Sink {
                    d: &mut d,
                    out: &mut out,
                };
                c.on_data_into(*side, next[i], bytes, ts, &mut sink);
                next[i] += bytes.len() as u64;
                delivered[i] += bytes.len() as u64;
            }
            Event::Gap(side, len) => {
                let i = idx(*side);
                c.on_gap(*side, next[i], *len, ts);
                d.gap(*side, ts, &mut out);
                next[i] += len;
            }
            Event::Fin(side) => c.on_fin(*side, ts),
        }
        assert!(
            d.buffered() <= 4 * usize::from(MAX_RECORD_BODY),
            "decryptor holds {} bytes",
            d.buffered()
        );
    }
    let _ = c.finish();
    let report = d.finish();
    Outcome {
        out,
        report,
        delivered,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The invariants every input must keep; `secrets` must not show.
fn check(o: &Outcome, keylog: &KeyLog, secrets: &[Vec<u8>]) {
    let r = &o.report;
    for side in SIDES {
        let i = idx(side);
        let handed: u64 = o.out.pieces[i].iter().map(|p| p.len() as u64).sum();
        assert_eq!(
            r.plaintext_bytes[i], handed,
            "{side:?}: report vs handed over"
        );
        assert!(
            handed + 21 * r.records[i] <= o.delivered[i],
            "{side:?}: {handed} plaintext bytes and {} records from {} bytes",
            r.records[i],
            o.delivered[i]
        );
        if r.stopped_by_failure[i] || r.stopped_by_gap[i].is_some() {
            assert!(o.out.lost[i].is_some(), "{side:?}: stopped without lost");
        }
    }
    if r.decrypted() {
        assert!(r.failure.is_none());
    }
    let shown = format!("{} {r:?} {keylog:?}", r.describe());
    for s in secrets.iter().filter(|s| s.len() >= 16) {
        assert!(!shown.contains(&hex(s)), "a secret shows in the report");
    }
}

/// Each side's consecutive data events joined.
fn joined(events: &[Event]) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    for e in events {
        match (out.last_mut(), e) {
            (Some(Event::Data(s0, b0)), Event::Data(s1, b1)) if s0 == s1 => {
                b0.extend_from_slice(b1)
            }
            _ => out.push(e.clone()),
        }
    }
    out
}

/// Runs `events`, checks the invariants and that joining segments changes
/// nothing; returns the outcome.
fn run_events(keylog: &KeyLog, events: &[Event], secrets: &[Vec<u8>]) -> Outcome {
    let keys = Arc::new(keylog.clone());
    let o = feed(&keys, events);
    check(&o, keylog, secrets);
    let j = feed(&keys, &joined(events));
    assert_eq!(
        o.out.pieces, j.out.pieces,
        "segmentation changed the plaintext"
    );
    assert_eq!(
        o.out.lost, j.out.lost,
        "segmentation changed where it stopped"
    );
    assert_eq!(o.report, j.report, "segmentation changed the report");
    o
}

pub fn run(data: &[u8]) {
    match data.first() {
        Some(b) if b & 1 == 1 => run_raw(data.get(1..).unwrap_or_default()),
        _ => run_sealed(
            data.get(1..).unwrap_or_default(),
            data.first().copied().unwrap_or(0),
        ),
    }
}

// ---------------------------------------------------------------------
// Input reading.

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn u8(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

// ---------------------------------------------------------------------
// Raw mode.

/// Raw layout: key log length (u16 LE), the key log's text, then events:
/// an op byte (bits 0-1 the kind, bit 3 the side: 0 client, 1 server) and
/// its arguments.
///
/// ```text
/// 0  Data  len: u16 LE, then len bytes (fewer if the input ends)
/// 1  Data  len: u8, then len bytes
/// 2  Gap   len: u16 LE
/// 3  Fin
/// ```
pub fn parse_raw(data: &[u8]) -> (String, Vec<Event>) {
    let mut r = Reader(data);
    let n = usize::from(r.u16());
    let text = String::from_utf8_lossy(r.take(n)).into_owned();
    let mut events = Vec::new();
    while !r.done() {
        let op = r.u8();
        let side = if op & 8 == 0 {
            Side::Client
        } else {
            Side::Server
        };
        match op & 3 {
            0 => {
                let n = usize::from(r.u16());
                events.push(Event::Data(side, r.take(n).to_vec()));
            }
            1 => {
                let n = usize::from(r.u8());
                events.push(Event::Data(side, r.take(n).to_vec()));
            }
            2 => events.push(Event::Gap(side, u64::from(r.u16()))),
            _ => events.push(Event::Fin(side)),
        }
    }
    (text, events)
}

fn run_raw(data: &[u8]) {
    let (text, events) = parse_raw(data);
    let keylog = KeyLog::parse(&text);
    // The secrets of the key log's lines, to check none shows.
    let secrets: Vec<Vec<u8>> = text
        .lines()
        .filter_map(|l| l.split_ascii_whitespace().nth(2))
        .filter_map(|h| {
            (0..h.len() / 2)
                .map(|i| {
                    h.get(2 * i..2 * i + 2)
                        .and_then(|p| u8::from_str_radix(p, 16).ok())
                })
                .collect::<Option<Vec<u8>>>()
        })
        .collect();
    let o = run_events(&keylog, &events, &secrets);
    if std::env::var_os("DECRYPT_TRACE").is_some() {
        eprintln!(
            "TRACE raw pieces={:?} bytes={:?} {}",
            [o.out.pieces[0].len(), o.out.pieces[1].len()],
            o.report.plaintext_bytes,
            o.report.describe()
        );
    }
}

// ---------------------------------------------------------------------
// Sealed mode: the suites, the sealer, the script.

/// A suite the script may pick: its id, whether the ServerHello says TLS
/// 1.3, and what connlint should decrypt it with (`None`: not decrypted).
struct SuiteChoice {
    id: u16,
    tls13: bool,
    aead: Option<(AeadKind, Hash)>,
}

const fn s(id: u16, tls13: bool, aead: Option<(AeadKind, Hash)>) -> SuiteChoice {
    SuiteChoice { id, tls13, aead }
}

const A128: Option<(AeadKind, Hash)> = Some((AeadKind::Aes128Gcm, Hash::Sha256));
const A256: Option<(AeadKind, Hash)> = Some((AeadKind::Aes256Gcm, Hash::Sha384));
const CHACHA: Option<(AeadKind, Hash)> = Some((AeadKind::ChaCha20Poly1305, Hash::Sha256));

/// Sealed with AES-128-GCM/SHA-256 when connlint does not decrypt them.
const SUITES: [SuiteChoice; 16] = [
    s(0x1301, true, A128),
    s(0x1302, true, A256),
    s(0x1303, true, CHACHA),
    s(0x1304, true, None), // TLS_AES_128_CCM_SHA256
    s(0xC02F, false, A128),
    s(0xC030, false, A256),
    s(0xCCA8, false, CHACHA),
    s(0x009C, false, A128),
    s(0xC02B, false, A128),
    s(0x009F, false, A256),
    s(0xCCAA, false, CHACHA),
    s(0xC013, false, None), // ECDHE_RSA_WITH_AES_128_CBC_SHA
    s(0x1301, false, None), // a TLS 1.3 suite in a TLS 1.2 ServerHello
    s(0xC02F, true, None),  // and the other way round
    s(0x002F, false, None), // RSA_WITH_AES_128_CBC_SHA
    s(0x1303, true, CHACHA),
];

const CLIENT_RANDOM: [u8; 32] = [0x11; 32];
const SERVER_RANDOM: [u8; 32] = [0x22; 32];
const TAG: usize = 16;

/// One direction's record protection, as a sending stack keeps it.
struct Sealer {
    aead: AeadKind,
    key: Vec<u8>,
    iv: [u8; 12],
    seq: u64,
    tls12: bool,
}

impl Sealer {
    fn tls13(aead: AeadKind, hash: Hash, secret: &[u8]) -> Sealer {
        let key_len = match aead {
            AeadKind::Aes128Gcm => 16,
            _ => 32,
        };
        let mut key = vec![0u8; key_len];
        let mut iv = [0u8; 12];
        expand_label(hash, secret, "key", &[], &mut key).expect("key");
        expand_label(hash, secret, "iv", &[], &mut iv).expect("iv");
        Sealer {
            aead,
            key,
            iv,
            seq: 0,
            tls12: false,
        }
    }

    /// Client and server keys from a TLS 1.2 master secret.
    fn tls12(aead: AeadKind, hash: Hash, master: &[u8]) -> (Sealer, Sealer) {
        let key_len = match aead {
            AeadKind::Aes128Gcm => 16,
            _ => 32,
        };
        let iv_len = if aead == AeadKind::ChaCha20Poly1305 {
            12
        } else {
            4
        };
        let mut block = vec![0u8; 2 * (key_len + iv_len)];
        let seed = [SERVER_RANDOM, CLIENT_RANDOM].concat();
        prf(hash, master, b"key expansion", &seed, &mut block).expect("prf");
        let make = |k: &[u8], v: &[u8]| {
            let mut iv = [0u8; 12];
            iv[..v.len()].copy_from_slice(v);
            Sealer {
                aead,
                key: k.to_vec(),
                iv,
                seq: 0,
                tls12: true,
            }
        };
        let (ck, rest) = block.split_at(key_len);
        let (sk, rest) = rest.split_at(key_len);
        let (civ, siv) = rest.split_at(iv_len);
        (make(ck, civ), make(sk, siv))
    }

    /// A whole record: `outer` type and `version` in the header, `plain`
    /// sealed (TLS 1.3: the inner plaintext), `explicit` the TLS 1.2
    /// AES-GCM explicit nonce.
    fn seal(&mut self, outer: u8, version: u16, plain: &[u8], explicit: [u8; 8]) -> Vec<u8> {
        let seq = self.seq.to_be_bytes();
        self.seq += 1;
        let mut nonce = self.iv;
        let explicit_nonce = self.tls12 && self.aead != AeadKind::ChaCha20Poly1305;
        if explicit_nonce {
            nonce[4..].copy_from_slice(&explicit);
        } else {
            for (n, s) in nonce[4..].iter_mut().zip(seq) {
                *n ^= s;
            }
        }
        let body_len = plain.len() + TAG + if explicit_nonce { 8 } else { 0 };
        let [v0, v1] = version.to_be_bytes();
        let mut header = vec![outer, v0, v1];
        header.extend_from_slice(&(body_len as u16).to_be_bytes());
        let aad = if self.tls12 {
            let mut a = seq.to_vec();
            a.extend_from_slice(&[outer, v0, v1]);
            a.extend_from_slice(&(plain.len() as u16).to_be_bytes());
            a
        } else {
            header.clone()
        };
        let mut buf = plain.to_vec();
        let n = &Nonce::<Aes128Gcm>::from(nonce);
        let ok = match self.aead {
            AeadKind::Aes128Gcm => Aes128Gcm::new_from_slice(&self.key)
                .expect("key")
                .encrypt_in_place(n, &aad, &mut buf),
            AeadKind::Aes256Gcm => Aes256Gcm::new_from_slice(&self.key)
                .expect("key")
                .encrypt_in_place(n, &aad, &mut buf),
            AeadKind::ChaCha20Poly1305 => ChaCha20Poly1305::new_from_slice(&self.key)
                .expect("key")
                .encrypt_in_place(n, &aad, &mut buf),
        };
        ok.expect("seal");
        let mut record = header;
        if explicit_nonce {
            record.extend_from_slice(&explicit);
        }
        record.extend(buf);
        record
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// TLS 1.2 before ChangeCipherSpec.
    Clear,
    /// TLS 1.3 handshake keys.
    Handshake,
    Application,
}

/// One side of the connection being written.
struct Writer {
    sealer: Sealer,
    /// TLS 1.2: the keys ChangeCipherSpec switches to.
    pending: Option<Sealer>,
    phase: Phase,
    /// TLS 1.3: the current application traffic secret.
    app_secret: Vec<u8>,
    used_handshake_keys: bool,
    used_application_keys: bool,
    padding: usize,
    inner_type: Option<u8>,
    version: Option<u16>,
    /// Records on this side: (delivery order key, bytes).
    records: Vec<((u32, u32), Vec<u8>)>,
    /// Application data a conforming decryptor hands over, in sealing order.
    expected: Vec<Vec<u8>>,
    sealed_records: u64,
    sealed_bytes: u64,
    key_updates: u64,
}

/// The script's state: both writers and what the model knows.
struct Script {
    tls13: bool,
    aead: Option<(AeadKind, Hash)>,
    w: [Writer; 2],
    /// No mutation, raw bytes or gap.
    intact: bool,
    /// Every record one a conforming stack could send and connlint should
    /// open (the decryptor's contract).
    conforming: bool,
    op: u32,
}

/// The handshake messages of a TLS 1.3 handshake-type plaintext: whether
/// they parse exactly, and how many KeyUpdates (each well formed) they hold.
fn key_updates_in(content: &[u8]) -> (bool, u64) {
    let mut rest = content;
    let mut n = 0;
    let mut exact = true;
    while !rest.is_empty() {
        let [t, a, b, c, tail @ ..] = rest else {
            return (false, n);
        };
        let len = (usize::from(*a) << 16) | (usize::from(*b) << 8) | usize::from(*c);
        if *t == 24 {
            n += 1;
            exact &= len == 1;
        }
        let Some(after) = tail.get(len..) else {
            return (false, n);
        };
        rest = after;
    }
    (exact, n)
}

impl Script {
    fn writer(&mut self, side: Side) -> &mut Writer {
        &mut self.w[idx(side)]
    }

    fn push(&mut self, side: Side, bytes: Vec<u8>) {
        let key = (self.op, 0);
        self.writer(side).records.push((key, bytes));
    }

    /// Switches `side` to its application (TLS 1.3) or pending (TLS 1.2)
    /// keys; TLS 1.2 sends ChangeCipherSpec for it.
    fn switch(&mut self, side: Side) {
        let tls13 = self.tls13;
        let w = self.writer(side);
        match w.phase {
            Phase::Application => {}
            Phase::Handshake => {
                let (aead, hash) = self.aead.unwrap_or((AeadKind::Aes128Gcm, Hash::Sha256));
                let w = self.writer(side);
                w.sealer = Sealer::tls13(aead, hash, &w.app_secret);
                w.phase = Phase::Application;
            }
            Phase::Clear => {
                debug_assert!(!tls13);
                if let Some(p) = w.pending.take() {
                    w.sealer = p;
                }
                w.phase = Phase::Application;
                self.push(side, vec![20, 3, 3, 0, 1, 1]);
            }
        }
    }

    /// Seals `content` of type `ty` on `side`.
    fn seal(&mut self, side: Side, ty: u8, content: &[u8]) {
        if self.writer(side).phase == Phase::Clear {
            self.switch(side);
        }
        let tls13 = self.tls13;
        let w = self.writer(side);
        let inner_type = w.inner_type.take();
        let version = w.version.take().unwrap_or(0x0303);
        let app = w.phase == Phase::Application;
        let mut conforming = version >> 8 == 3 && version & 0xff <= 4;
        let (record, real_type, real_content) = if tls13 {
            let mut plain = content.to_vec();
            plain.push(inner_type.unwrap_or(ty));
            plain.resize(plain.len() + w.padding, 0);
            // RFC 8446 §5.4: the type is the last non-zero byte.
            let (real_type, real_content) = match plain.iter().rposition(|b| *b != 0) {
                Some(at) => (plain[at], plain[..at].to_vec()),
                None => {
                    conforming = false;
                    (0, Vec::new())
                }
            };
            (
                w.sealer.seal(23, version, &plain, [0; 8]),
                real_type,
                real_content,
            )
        } else {
            let outer = inner_type.unwrap_or(ty);
            // Every type but ChangeCipherSpec is protected after it (a
            // sealed ChangeCipherSpec is not what a stack sends).
            conforming &= (21..=24).contains(&outer);
            let explicit = w
                .sealer
                .seq
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .to_be_bytes();
            (
                w.sealer.seal(outer, version, content, explicit),
                outer,
                content.to_vec(),
            )
        };
        if record.len() - 5 > usize::from(MAX_RECORD_BODY) {
            conforming = false;
        }
        if app {
            w.used_application_keys = true;
        } else {
            w.used_handshake_keys = true;
        }
        w.sealed_records += 1;
        w.sealed_bytes += real_content.len() as u64;
        if real_type == 23 && !real_content.is_empty() && (app || !tls13) {
            w.expected.push(real_content.clone());
        }
        if tls13 && app && real_type == 22 {
            let (exact, n) = key_updates_in(&real_content);
            if !exact || n > 16 {
                conforming = false;
            }
            if let Some((aead, hash)) = self.aead {
                let w = self.writer(side);
                for _ in 0..n.min(16) {
                    let mut next = vec![0u8; hash_len(hash)];
                    expand_label(hash, &w.app_secret, "traffic upd", &[], &mut next)
                        .expect("traffic upd");
                    w.app_secret = next;
                    w.sealer = Sealer::tls13(aead, hash, &w.app_secret);
                    w.key_updates += 1;
                }
            }
        }
        self.conforming &= conforming;
        self.push(side, record);
    }

    /// A clear record of type `ty` (any byte).
    fn clear(&mut self, side: Side, ty: u8, content: &[u8]) {
        let phase = self.writer(side).phase;
        let conforming = match (self.tls13, ty) {
            (_, t) if !(20..=24).contains(&t) => false,
            (true, t) => t != 23,
            (false, 20) => true,
            (false, _) => phase == Phase::Clear,
        };
        if !self.tls13 && ty == 20 {
            // A clear ChangeCipherSpec is the switch.
            if let Some(p) = self.writer(side).pending.take() {
                let w = self.writer(side);
                w.sealer = p;
                w.phase = Phase::Application;
            }
        }
        self.conforming &= conforming && content.len() <= usize::from(MAX_RECORD_BODY);
        let mut r = vec![ty, 3, 3];
        r.extend_from_slice(&(content.len().min(0xffff) as u16).to_be_bytes());
        r.extend_from_slice(content);
        self.push(side, r);
    }

    fn record_index(&self, side: Side, at: u8) -> Option<usize> {
        let n = self.w[idx(side)].records.len();
        (n > 0).then(|| usize::from(at) % n)
    }
}

fn hash_len(h: Hash) -> usize {
    match h {
        Hash::Sha256 => 32,
        Hash::Sha384 => 48,
    }
}

fn ext(t: u16, data: &[u8]) -> Vec<u8> {
    let mut v = t.to_be_bytes().to_vec();
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn handshake_record(version: u16, msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![msg_type];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    let mut r = vec![22];
    r.extend_from_slice(&version.to_be_bytes());
    r.extend_from_slice(&(m.len() as u16).to_be_bytes());
    r.extend(m);
    r
}

fn client_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&CLIENT_RANDOM);
    b.push(0);
    b.extend_from_slice(&[0, 6, 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f]);
    b.extend_from_slice(&[1, 0]);
    let exts = ext(43, &[4, 3, 4, 3, 3]);
    b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    b.extend(exts);
    handshake_record(0x0301, 1, &b)
}

fn server_hello(suite: u16, tls13: bool) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&SERVER_RANDOM);
    b.push(0);
    b.extend_from_slice(&suite.to_be_bytes());
    b.push(0);
    let exts = if tls13 { ext(43, &[3, 4]) } else { Vec::new() };
    b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    b.extend(exts);
    handshake_record(0x0303, 2, &b)
}

/// Everything a sealed input decodes to.
pub struct Sealed {
    pub keylog: String,
    pub events: Vec<Event>,
    secrets: Vec<Vec<u8>>,
    expected: [Vec<Vec<u8>>; 2],
    sealed_records: [u64; 2],
    sealed_bytes: [u64; 2],
    key_updates: u64,
    /// The run must decrypt every record.
    clean: bool,
    /// No mutation, gap or raw bytes, every record well framed, and some
    /// record after the hellos (whose start sets the decryptor up).
    intact: bool,
    supported: bool,
    right_random: bool,
    /// The key log has a line for the connection's client random (what
    /// is looked up before the suite).
    has_entry: bool,
}

/// Sealed layout, after the mode byte (whose bits 1-4 pick one of
/// [`SUITES`]):
///
/// ```text
/// key log flags  u8: bit 0-3 the client/server handshake and client/server
///                application secrets (TLS 1.3), bit 4 CLIENT_RANDOM (TLS
///                1.2), bit 5 a wrong client random, bit 6 secrets cut to 16
///                bytes, bit 7 noise lines (other randoms, other labels,
///                malformed lines)
/// material       48 bytes: the secrets (each a variant of it)
/// ops            until a 0xff byte: an op byte (bits 0-3 the op, bit 4 the
///                side, bits 5-7 a parameter p) and its arguments
///   0  application data  n: u8; n << p bytes, cycling the next n input bytes
///   1  handshake         n: u8, n bytes (TLS 1.3: inner type 22)
///   2  KeyUpdate         the message, update_requested = p & 1 (TLS 1.3
///                        application keys: the writer moves on)
///   3  alert             2 bytes
///   4  padding           n: u8; TLS 1.3 records of this side get n << p zeros
///   5  switch keys       TLS 1.3: to the application keys; TLS 1.2:
///                        ChangeCipherSpec (implied before a first sealed record)
///   6  clear record      type [20, 21, 22, 23, 24, any u8, 20, 20][p], n: u8, n bytes
///   7  raw bytes         n: u8, n bytes between records
///   8  flip              record: u8, at: u16, xor: u8
///   9  cut               record: u8, keep: u16
///   10 swap              record: u8 (with the next)
///   11 duplicate         record: u8
///   12 drop              record: u8
///   13 type override     u8: the next sealed record's inner (TLS 1.3) or outer
///                        (TLS 1.2) type
///   14 version override  u16: the next sealed record's header version
///   15 empty             application data with no content
/// schedule       the rest: how the records (in op order, sides interleaved)
///                are cut into segments, a byte each: < 0x80 the next
///                b + 1 bytes, 0x80-0xbf (b & 0x3f) + 1 times 256 bytes,
///                0xc0-0xfe a gap of (b & 0x3f) + 1 bytes, 0xff the rest of
///                the run; once it ends, each side's run goes whole.
/// ```
pub fn parse_sealed(mode: u8, data: &[u8]) -> Sealed {
    let choice = &SUITES[usize::from((mode >> 1) & 15)];
    let (aead, hash) = choice.aead.unwrap_or((AeadKind::Aes128Gcm, Hash::Sha256));
    let mut r = Reader(data);
    let flags = r.u8();
    let mut material = [0u8; 48];
    for (m, b) in material.iter_mut().zip(r.take(48)) {
        *m = *b;
    }
    let secret = |k: u8, len: usize| {
        let mut s = material[..len].to_vec();
        s[0] ^= k;
        s
    };
    let hl = hash_len(hash);
    // TLS 1.3: client/server handshake, client/server application secrets.
    let hs = [secret(1, hl), secret(2, hl)];
    let ap = [secret(3, hl), secret(4, hl)];
    let master = secret(5, 48);

    let writer = |sealer: Sealer, pending: Option<Sealer>, phase: Phase, app: Vec<u8>| Writer {
        sealer,
        pending,
        phase,
        app_secret: app,
        used_handshake_keys: false,
        used_application_keys: false,
        padding: 0,
        inner_type: None,
        version: None,
        records: Vec::new(),
        expected: Vec::new(),
        sealed_records: 0,
        sealed_bytes: 0,
        key_updates: 0,
    };
    let w = if choice.tls13 {
        [0, 1].map(|i| {
            writer(
                Sealer::tls13(aead, hash, &hs[i]),
                None,
                Phase::Handshake,
                ap[i].clone(),
            )
        })
    } else {
        let (c, s) = Sealer::tls12(aead, hash, &master);
        let (c2, s2) = Sealer::tls12(aead, hash, &master);
        [
            writer(c2, Some(c), Phase::Clear, Vec::new()),
            writer(s2, Some(s), Phase::Clear, Vec::new()),
        ]
    };
    let mut sc = Script {
        tls13: choice.tls13,
        aead: Some((aead, hash)),
        w,
        intact: true,
        conforming: true,
        op: 0,
    };
    sc.push(Side::Client, client_hello());
    sc.op = 1;
    sc.push(Side::Server, server_hello(choice.id, choice.tls13));

    loop {
        if r.done() {
            break;
        }
        let op = r.u8();
        if op == 0xff {
            break;
        }
        sc.op += 1;
        let side = if op & 16 == 0 {
            Side::Client
        } else {
            Side::Server
        };
        let p = op >> 5;
        match op & 15 {
            0 => {
                let n = r.u8();
                let src = r.take(usize::from(n));
                let len = usize::from(n) << p;
                let mut content = Vec::with_capacity(len);
                let src = if src.is_empty() { &b"x"[..] } else { src };
                while content.len() < len {
                    let n = (len - content.len()).min(src.len());
                    content.extend_from_slice(&src[..n]);
                }
                sc.seal(side, 23, &content);
            }
            1 => {
                let n = r.u8();
                let content = r.take(usize::from(n)).to_vec();
                sc.seal(side, 22, &content);
            }
            2 => sc.seal(side, 22, &[24, 0, 0, 1, p & 1]),
            3 => {
                let mut a = r.take(2).to_vec();
                a.resize(2, 0);
                sc.seal(side, 21, &a);
            }
            4 => {
                let n = r.u8();
                sc.writer(side).padding = usize::from(n) << p;
            }
            5 => sc.switch(side),
            6 => {
                let ty = match p {
                    0..=4 => 20 + p,
                    5 => r.u8(),
                    _ => 20,
                };
                let n = r.u8();
                let content = match ty {
                    20 if p >= 6 => vec![1],
                    _ => r.take(usize::from(n)).to_vec(),
                };
                sc.clear(side, ty, &content);
            }
            7 => {
                let n = r.u8();
                let bytes = r.take(usize::from(n)).to_vec();
                sc.intact = false;
                sc.push(side, bytes);
            }
            8 => {
                let (at, pos, xor) = (r.u8(), r.u16(), r.u8());
                if let Some(i) = sc.record_index(side, at) {
                    let rec = &mut sc.writer(side).records[i].1;
                    if !rec.is_empty() && xor != 0 {
                        let n = rec.len();
                        rec[usize::from(pos) % n] ^= xor;
                        sc.intact = false;
                    }
                }
            }
            9 => {
                let (at, keep) = (r.u8(), r.u16());
                if let Some(i) = sc.record_index(side, at) {
                    let rec = &mut sc.writer(side).records[i].1;
                    if usize::from(keep) < rec.len() {
                        rec.truncate(usize::from(keep));
                        sc.intact = false;
                    }
                }
            }
            10 => {
                let at = r.u8();
                if let Some(i) = sc.record_index(side, at) {
                    let recs = &mut sc.writer(side).records;
                    if i + 1 < recs.len() {
                        let b = std::mem::take(&mut recs[i + 1].1);
                        let a = std::mem::replace(&mut recs[i].1, b);
                        recs[i + 1].1 = a;
                        sc.intact = false;
                    }
                }
            }
            11 => {
                let at = r.u8();
                if let Some(i) = sc.record_index(side, at) {
                    let recs = &mut sc.writer(side).records;
                    let (key, bytes) = recs[i].clone();
                    recs.insert(i + 1, ((key.0, key.1 + 1), bytes));
                    sc.intact = false;
                }
            }
            12 => {
                let at = r.u8();
                if let Some(i) = sc.record_index(side, at) {
                    sc.writer(side).records.remove(i);
                    sc.intact = false;
                }
            }
            13 => {
                let t = r.u8();
                sc.writer(side).inner_type = Some(t);
            }
            14 => {
                let v = r.u16();
                sc.writer(side).version = Some(v);
            }
            _ => sc.seal(side, 23, &[]),
        }
    }

    // Delivery order: by op, sides interleaved; runs of one side's records.
    let mut all: Vec<((u32, u32), Side, Vec<u8>)> = Vec::new();
    for side in SIDES {
        for (key, bytes) in &sc.w[idx(side)].records {
            all.push((*key, side, bytes.clone()));
        }
    }
    all.sort_by_key(|(key, _, _)| *key);
    let mut runs: Vec<(Side, Vec<u8>)> = Vec::new();
    for (_, side, bytes) in all {
        match runs.last_mut() {
            Some((s, b)) if *s == side => b.extend(bytes),
            _ => runs.push((side, bytes)),
        }
    }
    let mut events = Vec::new();
    for (side, bytes) in runs {
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let b = if r.done() { 0xff } else { r.u8() };
            let n = match b {
                0..=0x7f => usize::from(b) + 1,
                0x80..=0xbf => (usize::from(b & 0x3f) + 1) * 256,
                0xc0..=0xfe => {
                    let n = (usize::from(b & 0x3f) + 1).min(rest.len());
                    events.push(Event::Gap(side, n as u64));
                    rest = &rest[n..];
                    sc.intact = false;
                    continue;
                }
                0xff => rest.len(),
            };
            let (piece, after) = rest.split_at(n.min(rest.len()));
            events.push(Event::Data(side, piece.to_vec()));
            rest = after;
        }
    }
    events.push(Event::Fin(Side::Client));
    events.push(Event::Fin(Side::Server));

    // The key log.
    let right_random = flags & 32 == 0;
    let random = if right_random {
        CLIENT_RANDOM
    } else {
        [0x12; 32]
    };
    let cut = |s: &[u8]| -> Vec<u8> {
        if flags & 64 != 0 {
            s[..16].to_vec()
        } else {
            s.to_vec()
        }
    };
    let mut lines: Vec<(&str, Vec<u8>)> = Vec::new();
    for (bit, label, secret) in [
        (1, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", &hs[0]),
        (2, "SERVER_HANDSHAKE_TRAFFIC_SECRET", &hs[1]),
        (4, "CLIENT_TRAFFIC_SECRET_0", &ap[0]),
        (8, "SERVER_TRAFFIC_SECRET_0", &ap[1]),
        (16, "CLIENT_RANDOM", &master),
    ] {
        if flags & bit != 0 {
            lines.push((label, cut(secret)));
        }
    }
    let mut keylog = String::new();
    if flags & 128 != 0 {
        keylog.push_str("# noise\nCLIENT_RANDOM zz 00\nEXPORTER_SECRET ");
        keylog.push_str(&hex(&random));
        keylog.push(' ');
        keylog.push_str(&hex(&material[..32]));
        keylog.push_str("\nCLIENT_TRAFFIC_SECRET_0 ");
        keylog.push_str(&hex(&[0x33; 32]));
        keylog.push(' ');
        keylog.push_str(&hex(&material[..32]));
        keylog.push('\n');
    }
    for (label, secret) in &lines {
        keylog.push_str(&format!("{label} {} {}\n", hex(&random), hex(secret)));
    }

    let supported = choice.aead.is_some();
    let keys_present = SIDES.iter().all(|side| {
        let w = &sc.w[idx(*side)];
        let i = idx(*side);
        if choice.tls13 {
            (!w.used_handshake_keys || flags & (1 << i) != 0)
                && (!w.used_application_keys || flags & (4 << i) != 0)
        } else {
            w.sealed_records == 0 || flags & 16 != 0
        }
    });
    let clean =
        supported && right_random && flags & 64 == 0 && keys_present && sc.intact && sc.conforming;
    let mut secrets = hs.to_vec();
    secrets.extend(ap.iter().cloned());
    secrets.push(master.clone());
    // What the key schedule derives must not show either.
    let [c, s] = &sc.w;
    secrets.push(c.app_secret.clone());
    secrets.push(s.app_secret.clone());
    Sealed {
        keylog,
        events,
        secrets,
        expected: [c.expected.clone(), s.expected.clone()],
        sealed_records: [c.sealed_records, s.sealed_records],
        sealed_bytes: [c.sealed_bytes, s.sealed_bytes],
        key_updates: c.key_updates + s.key_updates,
        clean,
        intact: sc.intact
            && sc.conforming
            && sc.w.iter().map(|w| w.records.len()).sum::<usize>() > 2,
        supported,
        right_random,
        has_entry: right_random && flags & 0x1f != 0,
    }
}

fn run_sealed(data: &[u8], mode: u8) {
    let s = parse_sealed(mode, data);
    let keylog = KeyLog::parse(&s.keylog);
    let o = run_events(&keylog, &s.events, &s.secrets);
    let r = &o.report;
    if std::env::var_os("DECRYPT_TRACE").is_some() {
        eprintln!(
            "TRACE clean={} intact={} expected={:?} pieces={:?} sealed={:?} {}",
            s.clean,
            s.intact,
            [s.expected[0].len(), s.expected[1].len()],
            [o.out.pieces[0].len(), o.out.pieces[1].len()],
            s.sealed_records,
            r.describe()
        );
    }
    for side in SIDES {
        let i = idx(side);
        let pieces = &o.out.pieces[i];
        let handed: u64 = pieces.iter().map(|p| p.len() as u64).sum();
        assert!(
            handed <= s.sealed_bytes[i],
            "{side:?}: {handed} bytes handed over of {} sealed",
            s.sealed_bytes[i]
        );
        assert!(
            pieces.len() <= s.expected[i].len() && pieces[..] == s.expected[i][..pieces.len()],
            "{side:?}: what was handed over is not the records sealed, whole and in order"
        );
        if s.clean {
            assert_eq!(
                pieces.len(),
                s.expected[i].len(),
                "{side:?}: a clean connection not decrypted to the end ({})",
                r.describe()
            );
            assert!(
                o.out.lost[i].is_none(),
                "{side:?}: lost on a clean connection"
            );
            if s.sealed_records.iter().any(|n| *n > 0) {
                assert_eq!(
                    r.records[i], s.sealed_records[i],
                    "{side:?}: records opened"
                );
            }
        }
    }
    if s.clean && s.sealed_records.iter().any(|n| *n > 0) {
        assert_eq!(r.failure, None, "clean connection: {}", r.describe());
        assert!(r.decrypted());
        assert_eq!(r.key_updates, s.key_updates, "key updates followed");
    }
    if s.intact && !s.right_random {
        assert_eq!(r.failure, Some(Undecrypted::NoMatchingSecret));
    }
    if s.intact && s.has_entry && !s.supported {
        assert_eq!(r.failure, Some(Undecrypted::UnsupportedCipher));
    }
    if !s.supported || !s.right_random {
        assert!(
            o.out.pieces.iter().all(|p| p.is_empty()),
            "decrypted without keys"
        );
    }
}

/// What an input decodes to, for `FUZZ_DESCRIBE`.
pub fn describe(data: &[u8]) -> String {
    match data.first() {
        Some(b) if b & 1 == 1 => {
            let (text, events) = parse_raw(data.get(1..).unwrap_or_default());
            let mut s = format!("raw, key log of {} lines\n", text.lines().count());
            for e in events {
                s.push_str(&describe_event(&e));
            }
            s
        }
        _ => {
            let mode = data.first().copied().unwrap_or(0);
            let choice = &SUITES[usize::from((mode >> 1) & 15)];
            let s = parse_sealed(mode, data.get(1..).unwrap_or_default());
            let mut out = format!(
                "sealed, suite {:04x} {} ({}), clean {}, intact {}, right random {}, \
                 expected records {}/{}, sealed {:?}\n",
                choice.id,
                if choice.tls13 { "TLS 1.3" } else { "TLS 1.2" },
                if s.supported {
                    "decrypted"
                } else {
                    "not decrypted"
                },
                s.clean,
                s.intact,
                s.right_random,
                s.expected[0].len(),
                s.expected[1].len(),
                s.sealed_records,
            );
            for e in s.events {
                out.push_str(&describe_event(&e));
            }
            out
        }
    }
}

fn describe_event(e: &Event) -> String {
    match e {
        Event::Data(side, b) => format!("  {} data {} bytes\n", side.name(), b.len()),
        other => format!("  {other:?}\n"),
    }
}
