//! Decryption of a TLS connection's records with the secrets of a key log
//! ([`KeyLog`]): the TLS 1.3 key schedule (RFC 8446 §7), TLS 1.2's key
//! expansion (RFC 5246 §5 and §6.3), and the AEAD record protection of
//! AES-128-GCM, AES-256-GCM (RFC 5288, RFC 8446 §5.2) and
//! ChaCha20-Poly1305 (RFC 7905, RFC 8446 §5.2) through RustCrypto's crates.
//!
//! A [`Decryptor`] sits on a TLS connection as its record sink: it learns
//! the client random and cipher suite from the clear-text hellos, gathers
//! each protected record's body (at most [`MAX_RECORD_BODY`] bytes, one
//! buffer per direction, reused), opens it at the record's end with that
//! direction's keys and sequence number, and hands the application data to
//! its caller with the time the record was complete. A record that does
//! not authenticate is never handed over: the direction stops, and the
//! report says why. So does a capture gap: records cannot be found nor
//! sequence numbers known past one.
//!
//! TLS 1.3 switches keys by handshake messages this module does not
//! follow one by one: a direction's records are opened with its handshake
//! keys until one fails to authenticate with them and does with the
//! application keys (an AEAD tag makes the trial exact); a KeyUpdate
//! message under the application keys moves to the next generation
//! (§7.2). Client 0-RTT data is not decrypted (counted).

use super::keylog::{KeyLog, Secret, Secrets, MAX_SECRET};
use super::record::{ContentType, RecordHeader};
use super::{TlsReport, MAX_RECORD_BODY};
use crate::reassembly::{BySide, Side};
use crate::Timestamp;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384};
use std::sync::Arc;

/// The hash of a cipher suite's key schedule or PRF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
        }
    }
}

/// The record protection of a cipher suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AeadKind {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl AeadKind {
    fn key_len(self) -> usize {
        match self {
            AeadKind::Aes128Gcm => 16,
            AeadKind::Aes256Gcm | AeadKind::ChaCha20Poly1305 => 32,
        }
    }
}

/// Every AEAD here has a 16-byte tag.
const TAG: usize = 16;

/// A cipher suite connlint can decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Suite {
    pub aead: AeadKind,
    pub hash: Hash,
}

impl Suite {
    /// TLS 1.3's suites (RFC 8446 §B.4), the CCM ones left out.
    pub fn tls13(id: u16) -> Option<Suite> {
        let (aead, hash) = match id {
            0x1301 => (AeadKind::Aes128Gcm, Hash::Sha256),
            0x1302 => (AeadKind::Aes256Gcm, Hash::Sha384),
            0x1303 => (AeadKind::ChaCha20Poly1305, Hash::Sha256),
            _ => return None,
        };
        Some(Suite { aead, hash })
    }

    /// TLS 1.2's AEAD suites with AES-GCM (RFC 5288, RFC 5289) and
    /// ChaCha20-Poly1305 (RFC 7905); CBC and the rest are not decrypted.
    pub fn tls12(id: u16) -> Option<Suite> {
        let (aead, hash) = match id {
            0x009C | 0x009E | 0xC02B | 0xC02F => (AeadKind::Aes128Gcm, Hash::Sha256),
            0x009D | 0x009F | 0xC02C | 0xC030 => (AeadKind::Aes256Gcm, Hash::Sha384),
            0xCCA8..=0xCCAA => (AeadKind::ChaCha20Poly1305, Hash::Sha256),
            _ => return None,
        };
        Some(Suite { aead, hash })
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1): HKDF-Expand(secret, HkdfLabel,
/// out.len()) with the label prefixed "tls13 ". `None` when the secret is
/// shorter than the hash or `out` longer than HKDF allows.
pub fn expand_label(
    hash: Hash,
    secret: &[u8],
    label: &str,
    context: &[u8],
    out: &mut [u8],
) -> Option<()> {
    let full_label = 6usize.checked_add(label.len())?;
    let mut info = Vec::with_capacity(full_label.checked_add(context.len())?.checked_add(4)?);
    info.extend_from_slice(&u16::try_from(out.len()).ok()?.to_be_bytes());
    info.push(u8::try_from(full_label).ok()?);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label.as_bytes());
    info.push(u8::try_from(context.len()).ok()?);
    info.extend_from_slice(context);
    match hash {
        Hash::Sha256 => hkdf::Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, out)
            .ok(),
        Hash::Sha384 => hkdf::Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, out)
            .ok(),
    }
}

/// P_hash of TLS 1.2's PRF (RFC 5246 §5): fills `out` with
/// HMAC_hash(secret, A(1) + seed) + HMAC_hash(secret, A(2) + seed) + ...,
/// where seed = label + seed and A(i) = HMAC_hash(secret, A(i-1)).
pub fn prf(hash: Hash, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) -> Option<()> {
    fn p_hash<M: Mac + KeyInit + Clone>(
        secret: &[u8],
        seed: &[&[u8]],
        out: &mut [u8],
    ) -> Option<()> {
        let mac = <M as Mac>::new_from_slice(secret).ok()?;
        let mut a = {
            let mut m = mac.clone();
            for s in seed {
                m.update(s);
            }
            m.finalize().into_bytes()
        };
        for chunk in out.chunks_mut(a.len()) {
            let mut m = mac.clone();
            m.update(&a);
            for s in seed {
                m.update(s);
            }
            let block = m.finalize().into_bytes();
            for (o, b) in chunk.iter_mut().zip(block.iter()) {
                *o = *b;
            }
            let mut m = mac.clone();
            m.update(&a);
            a = m.finalize().into_bytes();
        }
        Some(())
    }
    match hash {
        Hash::Sha256 => p_hash::<Hmac<Sha256>>(secret, &[label, seed], out),
        Hash::Sha384 => p_hash::<Hmac<Sha384>>(secret, &[label, seed], out),
    }
}

enum Cipher {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

impl Cipher {
    fn new(kind: AeadKind, key: &[u8]) -> Option<Cipher> {
        Some(match kind {
            AeadKind::Aes128Gcm => Cipher::Aes128(Box::new(Aes128Gcm::new_from_slice(key).ok()?)),
            AeadKind::Aes256Gcm => Cipher::Aes256(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
            AeadKind::ChaCha20Poly1305 => {
                Cipher::ChaCha(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?))
            }
        })
    }

    /// Opens `buf` (ciphertext and tag) in place; false if it does not
    /// authenticate.
    fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut Vec<u8>) -> bool {
        let n = Nonce::from_slice(nonce);
        match self {
            Cipher::Aes128(c) => c.decrypt_in_place(n, aad, buf).is_ok(),
            Cipher::Aes256(c) => c.decrypt_in_place(n, aad, buf).is_ok(),
            Cipher::ChaCha(c) => c.decrypt_in_place(n, aad, buf).is_ok(),
        }
    }
}

/// The keys of one direction at one generation, and its sequence number.
pub struct RecordKeys {
    cipher: Cipher,
    iv: [u8; 12],
    seq: u64,
    /// TLS 1.2 with AES-GCM: a 4-byte implicit salt and an 8-byte explicit
    /// nonce at the start of each record (RFC 5288 §3).
    explicit_nonce: bool,
    /// TLS 1.2's additional data (sequence number, type, version, length);
    /// TLS 1.3's is the record header.
    tls12: bool,
}

impl std::fmt::Debug for RecordKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecordKeys(seq {}, redacted)", self.seq)
    }
}

impl RecordKeys {
    /// A TLS 1.3 traffic secret's keys (RFC 8446 §7.3).
    pub fn tls13(suite: Suite, secret: &[u8]) -> Option<RecordKeys> {
        let mut key = [0u8; 32];
        let key = key.get_mut(..suite.aead.key_len())?;
        let mut iv = [0u8; 12];
        expand_label(suite.hash, secret, "key", &[], key)?;
        expand_label(suite.hash, secret, "iv", &[], &mut iv)?;
        Some(RecordKeys {
            cipher: Cipher::new(suite.aead, key)?,
            iv,
            seq: 0,
            explicit_nonce: false,
            tls12: false,
        })
    }

    /// TLS 1.2's keys of both directions from the master secret (RFC 5246
    /// §6.3): client then server.
    pub fn tls12(
        suite: Suite,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
    ) -> Option<(RecordKeys, RecordKeys)> {
        let key_len = suite.aead.key_len();
        let iv_len = match suite.aead {
            AeadKind::ChaCha20Poly1305 => 12,
            _ => 4,
        };
        let mut block = [0u8; 2 * (32 + 12)];
        let need = key_len.checked_add(iv_len)?.checked_mul(2)?;
        let block = block.get_mut(..need)?;
        let mut seed = [0u8; 64];
        let (s, c) = seed.split_at_mut(32);
        s.copy_from_slice(server_random);
        c.copy_from_slice(client_random);
        prf(suite.hash, master, b"key expansion", &seed, block)?;
        let (client_key, rest) = block.split_at(key_len);
        let (server_key, rest) = rest.split_at(key_len);
        let (client_iv, server_iv) = rest.split_at(iv_len);
        let make = |key: &[u8], iv_part: &[u8]| {
            let mut iv = [0u8; 12];
            for (d, b) in iv.iter_mut().zip(iv_part) {
                *d = *b;
            }
            Some(RecordKeys {
                cipher: Cipher::new(suite.aead, key)?,
                iv,
                seq: 0,
                explicit_nonce: iv_len == 4,
                tls12: true,
            })
        };
        Some((make(client_key, client_iv)?, make(server_key, server_iv)?))
    }

    /// Opens one record's body in place: on success `body` holds the
    /// plaintext (TLS 1.3: the inner plaintext, padding and type included)
    /// and the sequence number moves on; on failure nothing moves and
    /// `body` is left in an unspecified state.
    pub fn open(&mut self, header: &RecordHeader, type_byte: u8, body: &mut Vec<u8>) -> bool {
        let mut nonce = self.iv;
        let seq = self.seq.to_be_bytes();
        if self.explicit_nonce {
            // salt (4) || explicit nonce (8), which leaves the body.
            let Some(explicit) = body.get(..8) else {
                return false;
            };
            for (d, b) in nonce.iter_mut().skip(4).zip(explicit) {
                *d = *b;
            }
            body.drain(..8);
        } else {
            for (d, b) in nonce.iter_mut().skip(4).zip(seq) {
                *d ^= b;
            }
        }
        let [v_hi, v_lo] = header.version.to_be_bytes();
        let ok = if self.tls12 {
            let Some(plain_len) = body.len().checked_sub(TAG) else {
                return false;
            };
            let Ok(plain_len) = u16::try_from(plain_len) else {
                return false;
            };
            let [l_hi, l_lo] = plain_len.to_be_bytes();
            let mut aad = [0u8; 13];
            for (d, b) in aad
                .iter_mut()
                .zip(seq.iter().chain(&[type_byte, v_hi, v_lo, l_hi, l_lo]))
            {
                *d = *b;
            }
            self.cipher.open(&nonce, &aad, body)
        } else {
            let [l_hi, l_lo] = header.len.to_be_bytes();
            self.cipher
                .open(&nonce, &[type_byte, v_hi, v_lo, l_hi, l_lo], body)
        };
        if ok {
            self.seq = self.seq.saturating_add(1);
        }
        ok
    }
}

/// Why a connection's records were not (all) decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Undecrypted {
    /// The key log has nothing for this connection's client random.
    NoMatchingSecret,
    /// A record did not authenticate with the logged secrets (a wrong or
    /// mismatched key log, or damaged bytes).
    AuthenticationFailed,
    /// The suite chosen is not one connlint decrypts (CBC, CCM, ...).
    UnsupportedCipher,
    /// The hellos were not seen (the capture began mid-connection, or a
    /// gap hid them): no client random to look up.
    HandshakeNotSeen,
}

impl Undecrypted {
    pub fn describe(self) -> &'static str {
        match self {
            Undecrypted::NoMatchingSecret => "no matching secret",
            Undecrypted::AuthenticationFailed => "authentication failed",
            Undecrypted::UnsupportedCipher => "unsupported cipher suite",
            Undecrypted::HandshakeNotSeen => "handshake not seen",
        }
    }
}

/// What decryption made of one connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DecryptReport {
    /// Records opened, per direction.
    pub records: [u64; 2],
    /// Bytes of application data handed to the HTTP stage, per direction.
    pub plaintext_bytes: [u64; 2],
    /// Why (some of) the connection was not decrypted.
    pub failure: Option<Undecrypted>,
    /// A direction whose decryption a capture gap ended.
    pub stopped_by_gap: [bool; 2],
    /// A direction whose decryption a record failing authentication ended.
    pub stopped_by_failure: [bool; 2],
    /// Client 0-RTT records, not decrypted.
    pub early_data_records: u64,
    /// TLS 1.3 key updates followed.
    pub key_updates: u64,
}

impl DecryptReport {
    /// Whether every record seen was decrypted (the connection reads
    /// `tls: decrypted`).
    pub fn decrypted(&self) -> bool {
        self.failure.is_none()
            && self.records.iter().any(|n| *n > 0)
            && !self.stopped_by_failure.iter().any(|s| *s)
    }

    /// The connection's decryption in words: `decrypted`, or `could not
    /// decrypt: <why>`, with a direction a gap ended.
    pub fn describe(&self) -> String {
        let mut s = match self.failure {
            None if self.decrypted() => "decrypted".to_string(),
            None => "not decrypted".to_string(),
            Some(f) => format!("could not decrypt: {}", f.describe()),
        };
        for (side, name) in [(Side::Client, "client"), (Side::Server, "server")] {
            if *self.stopped_by_gap.of(side) {
                s.push_str(&format!(
                    "; {name} records after a capture gap not decrypted"
                ));
            }
        }
        s
    }
}

#[derive(Debug, Default)]
struct Direction {
    keys: Option<RecordKeys>,
    /// TLS 1.3: the application keys, until a record proves the switch.
    next: Option<RecordKeys>,
    /// TLS 1.3: the application traffic secret of the current generation.
    secret: Option<Secret>,
    on_application_keys: bool,
    /// TLS 1.2: ChangeCipherSpec seen; the next record is protected.
    ccs: bool,
    body: Vec<u8>,
    collecting: bool,
    type_byte: u8,
    plain_offset: u64,
    stopped: bool,
}

#[derive(Debug)]
enum Setup {
    /// The hellos are not both known yet.
    Waiting,
    Tls13(Suite),
    Tls12,
    /// Nothing will be decrypted on this connection.
    Off,
}

/// Decrypts one TLS connection's records; see the [module docs](self).
#[derive(Debug)]
pub struct Decryptor {
    keys: Arc<KeyLog>,
    setup: Setup,
    dirs: [Direction; 2],
    report: DecryptReport,
}

/// What a decryptor hands over: a direction's application data, its offset
/// in that direction's plaintext stream, and when its record was complete.
pub trait Plaintext {
    fn plaintext(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp);
    /// Decryption of `from` ended at plaintext `offset` (a gap, a failed
    /// record): whatever followed is lost.
    fn lost(&mut self, from: Side, offset: u64, ts: Timestamp);
}

impl Decryptor {
    pub fn new(keys: Arc<KeyLog>) -> Decryptor {
        Decryptor {
            keys,
            setup: Setup::Waiting,
            dirs: Default::default(),
            report: DecryptReport::default(),
        }
    }

    pub fn report(&self) -> &DecryptReport {
        &self.report
    }

    /// Closes the books: a connection whose hellos never came says so.
    pub fn finish(mut self) -> DecryptReport {
        if matches!(self.setup, Setup::Waiting) && self.report.failure.is_none() {
            self.report.failure = Some(Undecrypted::HandshakeNotSeen);
        }
        self.report
    }

    /// Bytes held in the record buffers (their capacity): a record body
    /// per direction at most, and a copy of one for the TLS 1.3 key trial.
    pub fn buffered(&self) -> usize {
        self.dirs
            .iter()
            .map(|d| d.body.capacity())
            .fold(0, usize::saturating_add)
    }

    fn fail(&mut self, why: Undecrypted) {
        self.setup = Setup::Off;
        self.report.failure.get_or_insert(why);
    }

    /// Sets the keys up once both hellos are known (called before each
    /// record starts, with what the connection learnt so far).
    pub fn hellos(&mut self, tls: &TlsReport) {
        if !matches!(self.setup, Setup::Waiting) {
            return;
        }
        let (Some(ch), Some(sh)) = (tls.client_hello.as_ref(), tls.server_hello.as_ref()) else {
            return;
        };
        let Some(secrets) = self.keys.get(&ch.random).copied() else {
            return self.fail(Undecrypted::NoMatchingSecret);
        };
        if sh.version().is_tls13() {
            let Some(suite) = Suite::tls13(sh.cipher_suite) else {
                return self.fail(Undecrypted::UnsupportedCipher);
            };
            self.setup_tls13(suite, &secrets);
        } else {
            let Some(suite) = Suite::tls12(sh.cipher_suite) else {
                return self.fail(Undecrypted::UnsupportedCipher);
            };
            let Some(master) = secrets.master else {
                return self.fail(Undecrypted::NoMatchingSecret);
            };
            match RecordKeys::tls12(suite, master.as_bytes(), &ch.random, &sh.random) {
                Some((c, s)) => {
                    self.dirs.of_mut(Side::Client).next = Some(c);
                    self.dirs.of_mut(Side::Server).next = Some(s);
                    self.setup = Setup::Tls12;
                }
                None => self.fail(Undecrypted::NoMatchingSecret),
            }
        }
    }

    fn setup_tls13(&mut self, suite: Suite, s: &Secrets) {
        let mut any = false;
        for (side, hs, app) in [
            (Side::Client, s.client_handshake, s.client_traffic_0),
            (Side::Server, s.server_handshake, s.server_traffic_0),
        ] {
            let d = self.dirs.of_mut(side);
            d.keys = hs.and_then(|h| RecordKeys::tls13(suite, h.as_bytes()));
            d.next = app.and_then(|a| RecordKeys::tls13(suite, a.as_bytes()));
            d.secret = app;
            any |= d.keys.is_some() || d.next.is_some();
        }
        if any {
            self.setup = Setup::Tls13(suite);
        } else {
            self.fail(Undecrypted::NoMatchingSecret);
        }
    }

    pub fn record_start(&mut self, from: Side, h: &RecordHeader) {
        let d = self.dirs.of_mut(from);
        d.collecting = false;
        if d.stopped {
            return;
        }
        let protected = match self.setup {
            Setup::Tls13(_) => h.content_type == ContentType::ApplicationData,
            Setup::Tls12 => {
                if h.content_type == ContentType::ChangeCipherSpec {
                    d.ccs = true;
                    if let Some(k) = d.next.take() {
                        d.keys = Some(k);
                    }
                    false
                } else {
                    // Every record after it is protected, a heartbeat too
                    // (it takes a sequence number).
                    d.ccs
                }
            }
            Setup::Waiting => {
                if from == Side::Client && h.content_type == ContentType::ApplicationData {
                    self.report.early_data_records =
                        self.report.early_data_records.saturating_add(1);
                }
                false
            }
            Setup::Off => false,
        };
        if protected {
            d.collecting = true;
            d.body.clear();
            d.type_byte = match h.content_type {
                ContentType::ChangeCipherSpec => 20,
                ContentType::Alert => 21,
                ContentType::Handshake => 22,
                ContentType::ApplicationData => 23,
                ContentType::Heartbeat => 24,
            };
        }
    }

    pub fn record_body(&mut self, from: Side, piece: &[u8]) {
        let d = self.dirs.of_mut(from);
        if !d.collecting {
            return;
        }
        if d.body.len().saturating_add(piece.len()) > usize::from(MAX_RECORD_BODY) {
            // The record layer frames no longer record; never hold more.
            d.collecting = false;
            return;
        }
        d.body.extend_from_slice(piece);
    }

    pub fn record_end(
        &mut self,
        from: Side,
        h: &RecordHeader,
        ts: Timestamp,
        whole: bool,
        out: &mut impl Plaintext,
    ) {
        let d = self.dirs.of_mut(from);
        if !std::mem::take(&mut d.collecting) {
            return;
        }
        if !whole || d.body.len() != usize::from(h.len) {
            self.stop_gap(from, ts, out);
            return;
        }
        match self.setup {
            Setup::Tls13(suite) => self.open13(from, h, suite, ts, out),
            Setup::Tls12 => self.open12(from, h, ts, out),
            _ => {}
        }
    }

    fn open12(&mut self, from: Side, h: &RecordHeader, ts: Timestamp, out: &mut impl Plaintext) {
        let d = self.dirs.of_mut(from);
        let type_byte = d.type_byte;
        let ok = match d.keys.as_mut() {
            Some(k) => k.open(h, type_byte, &mut d.body),
            None => false,
        };
        if !ok {
            return self.stop_failed(from, ts, out);
        }
        let r = self.report.records.of_mut(from);
        *r = r.saturating_add(1);
        if h.content_type == ContentType::ApplicationData {
            self.emit(from, ts, None, out);
        }
    }

    fn open13(
        &mut self,
        from: Side,
        h: &RecordHeader,
        suite: Suite,
        ts: Timestamp,
        out: &mut impl Plaintext,
    ) {
        let d = self.dirs.of_mut(from);
        // Kept for a trial with the application keys.
        let sealed = if d.on_application_keys || d.next.is_none() {
            None
        } else {
            Some(d.body.clone())
        };
        let mut ok = match d.keys.as_mut() {
            Some(k) => k.open(h, 23, &mut d.body),
            None => false,
        };
        if !ok && !d.on_application_keys {
            if let Some(next) = d.next.as_mut() {
                if let Some(sealed) = sealed {
                    d.body = sealed;
                }
                if next.open(h, 23, &mut d.body) {
                    d.keys = d.next.take();
                    d.on_application_keys = true;
                    ok = true;
                }
            }
        }
        if !ok {
            return self.stop_failed(from, ts, out);
        }
        let r = self.report.records.of_mut(from);
        *r = r.saturating_add(1);
        // The inner plaintext: content, the real type, zero padding.
        let d = self.dirs.of_mut(from);
        let Some(type_at) = d.body.iter().rposition(|b| *b != 0) else {
            return self.stop_failed(from, ts, out);
        };
        let inner = d.body.get(type_at).copied();
        d.body.truncate(type_at);
        match inner {
            Some(23) if d.on_application_keys => self.emit(from, ts, Some(suite), out),
            Some(22) if d.on_application_keys => self.key_update(from, suite),
            _ => {}
        }
    }

    /// TLS 1.3 handshake messages under the application keys: a KeyUpdate
    /// moves this direction to the next generation after this record.
    fn key_update(&mut self, from: Side, suite: Suite) {
        let d = self.dirs.of_mut(from);
        let mut rest = d.body.as_slice();
        let mut updates = 0u64;
        while let [t, a, b, c, tail @ ..] = rest {
            let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
            if *t == 24 {
                updates = updates.saturating_add(1);
            }
            rest = tail.get(len..).unwrap_or_default();
        }
        for _ in 0..updates.min(16) {
            let Some(secret) = d.secret else { break };
            let mut next = [0u8; MAX_SECRET];
            let Some(next) = next.get_mut(..suite.hash.output_len()) else {
                break;
            };
            if expand_label(suite.hash, secret.as_bytes(), "traffic upd", &[], next).is_none() {
                break;
            }
            d.secret = Secret::new(next);
            d.keys = RecordKeys::tls13(suite, &*next);
        }
        self.report.key_updates = self.report.key_updates.saturating_add(updates);
    }

    fn emit(&mut self, from: Side, ts: Timestamp, _suite: Option<Suite>, out: &mut impl Plaintext) {
        let d = self.dirs.of_mut(from);
        if d.body.is_empty() {
            return;
        }
        out.plaintext(from, d.plain_offset, &d.body, ts);
        let n = d.body.len() as u64;
        d.plain_offset = d.plain_offset.saturating_add(n);
        let p = self.report.plaintext_bytes.of_mut(from);
        *p = p.saturating_add(n);
    }

    fn stop_failed(&mut self, from: Side, ts: Timestamp, out: &mut impl Plaintext) {
        let d = self.dirs.of_mut(from);
        d.stopped = true;
        d.body.clear();
        out.lost(from, d.plain_offset, ts);
        *self.report.stopped_by_failure.of_mut(from) = true;
        self.report
            .failure
            .get_or_insert(Undecrypted::AuthenticationFailed);
    }

    fn stop_gap(&mut self, from: Side, ts: Timestamp, out: &mut impl Plaintext) {
        let d = self.dirs.of_mut(from);
        if d.stopped {
            return;
        }
        d.stopped = true;
        d.collecting = false;
        d.body.clear();
        out.lost(from, d.plain_offset, ts);
        *self.report.stopped_by_gap.of_mut(from) = true;
    }

    /// A capture gap in `from`: its sequence numbers and records are lost,
    /// so its decryption ends (once the keys are known: a gap before them
    /// leaves nothing to stop).
    pub fn gap(&mut self, from: Side, ts: Timestamp, out: &mut impl Plaintext) {
        if matches!(self.setup, Setup::Tls13(_) | Setup::Tls12) {
            self.stop_gap(from, ts, out);
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests;
