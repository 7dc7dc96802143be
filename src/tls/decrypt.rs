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
//! (§7.2).
//!
//! TLS 1.3 0-RTT (§2.3, §4.2.10): a client resuming a session may send
//! early data right after its ClientHello, protected with keys from
//! `CLIENT_EARLY_TRAFFIC_SECRET` (its suite is the resumed session's, found
//! by trial among the suites of the secret's hash), until an
//! EndOfEarlyData message. Whether the server took it is said only in its
//! EncryptedExtensions (the early_data extension), under the server's
//! handshake keys, after the early records have gone by; so their
//! plaintext is held (at most [`MAX_EARLY_HELD`] bytes, each record's time
//! kept) until then. Accepted, it goes to the HTTP stage with its records'
//! times, ahead of anything the server sends after its EncryptedExtensions;
//! rejected (no PSK chosen, a HelloRetryRequest, or no early_data in the
//! EncryptedExtensions), the server skipped it, and so does the HTTP stage:
//! counted, not a failure. Without the server's handshake secret the
//! client says it too: it sends EndOfEarlyData only to a server that
//! accepted.

use super::keylog::{KeyLog, Secret, Secrets, MAX_SECRET};
use super::record::{ContentType, RecordHeader};
use super::{TlsReport, MAX_RECORD_BODY};
use crate::reassembly::{BySide, Side};
use crate::Timestamp;
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
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

/// Most 0-RTT plaintext held while the server's answer is not known
/// (OpenSSL and nginx accept 16 KiB of early data; RFC 8446 leaves it to
/// the server's ticket). Past it the early data is counted, not held.
pub const MAX_EARLY_HELD: usize = 64 * 1024;

/// Most 0-RTT records whose times are held (each carries its own).
const MAX_EARLY_RECORDS: usize = 64;

/// Handshake message types read under the handshake keys for 0-RTT.
const ENCRYPTED_EXTENSIONS: u8 = 8;
const END_OF_EARLY_DATA: u8 = 5;
/// The early_data extension (RFC 8446 §4.2.10).
const EARLY_DATA_EXTENSION: u16 = 42;

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
        let mac = <M as KeyInit>::new_from_slice(secret).ok()?;
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

    /// Opens `buf` (ciphertext then tag) in place: true, with the
    /// plaintext in `buf`'s first `buf.len() - TAG` bytes, if it
    /// authenticates.
    fn open(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> bool {
        let Some(split) = buf.len().checked_sub(TAG) else {
            return false;
        };
        let (msg, tag) = buf.split_at_mut(split);
        let Ok(tag) = aes_gcm::Tag::try_from(&*tag) else {
            return false;
        };
        let n = aes_gcm::aead::Nonce::<Aes128Gcm>::from(*nonce);
        match self {
            Cipher::Aes128(c) => c.decrypt_inout_detached(&n, aad, msg.into(), &tag),
            Cipher::Aes256(c) => c.decrypt_inout_detached(&n, aad, msg.into(), &tag),
            Cipher::ChaCha(c) => c.decrypt_inout_detached(&n, aad, msg.into(), &tag),
        }
        .is_ok()
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

    /// Opens one record's body in place: on success the plaintext is
    /// `body[range]` (TLS 1.3: the inner plaintext, padding and type
    /// included; TLS 1.2 with AES-GCM: after the 8-byte explicit nonce,
    /// left where it is rather than moved) and the sequence number moves
    /// on; on failure nothing moves and `body` is as it was (the AEADs
    /// check the tag before they decrypt).
    pub fn open(
        &mut self,
        header: &RecordHeader,
        type_byte: u8,
        body: &mut [u8],
    ) -> Option<std::ops::Range<usize>> {
        let mut nonce = self.iv;
        let seq = self.seq.to_be_bytes();
        let start = if self.explicit_nonce {
            // salt (4) || explicit nonce (8), which is not ciphertext.
            let explicit = body.get(..8)?;
            for (d, b) in nonce.iter_mut().skip(4).zip(explicit) {
                *d = *b;
            }
            8
        } else {
            for (d, b) in nonce.iter_mut().skip(4).zip(seq) {
                *d ^= b;
            }
            0
        };
        let sealed = body.get_mut(start..)?;
        let end = start.checked_add(sealed.len().checked_sub(TAG)?)?;
        let [v_hi, v_lo] = header.version.to_be_bytes();
        let ok = if self.tls12 {
            let plain_len = u16::try_from(end.saturating_sub(start)).ok()?;
            let [l_hi, l_lo] = plain_len.to_be_bytes();
            let mut aad = [0u8; 13];
            for (d, b) in aad
                .iter_mut()
                .zip(seq.iter().chain(&[type_byte, v_hi, v_lo, l_hi, l_lo]))
            {
                *d = *b;
            }
            self.cipher.open(&nonce, &aad, sealed)
        } else {
            let [l_hi, l_lo] = header.len.to_be_bytes();
            self.cipher
                .open(&nonce, &[type_byte, v_hi, v_lo, l_hi, l_lo], sealed)
        };
        if !ok {
            return None;
        }
        self.seq = self.seq.saturating_add(1);
        Some(start..end)
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
    /// Decrypted until a capture gap ended a direction's decryption (its
    /// records past the gap could not be framed nor numbered). Counted,
    /// never a connection's `failure`.
    StoppedByGap,
}

impl Undecrypted {
    pub fn describe(self) -> &'static str {
        match self {
            Undecrypted::NoMatchingSecret => "no matching secret",
            Undecrypted::AuthenticationFailed => "authentication failed",
            Undecrypted::UnsupportedCipher => "unsupported cipher suite",
            Undecrypted::HandshakeNotSeen => "handshake not seen",
            Undecrypted::StoppedByGap => "stopped at a capture gap",
        }
    }
}

/// What became of a client's 0-RTT early data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EarlyData {
    /// The server took it (EncryptedExtensions with early_data, or the
    /// client's EndOfEarlyData): its HTTP was read.
    Accepted,
    /// The server skipped it (no PSK chosen, a HelloRetryRequest, or
    /// EncryptedExtensions without early_data): not read, not a failure.
    Rejected,
    /// Not opened (no `CLIENT_EARLY_TRAFFIC_SECRET` for it), or the
    /// server's answer was never seen: not read.
    Unknown,
    /// Accepted, but more than [`MAX_EARLY_HELD`] bytes (or more than 64
    /// records) came before the answer: the client's plaintext ends there,
    /// as at a gap.
    TooLarge,
}

impl EarlyData {
    pub fn describe(self) -> &'static str {
        match self {
            EarlyData::Accepted => "0-RTT early data accepted",
            EarlyData::Rejected => "0-RTT early data rejected by the server (skipped)",
            EarlyData::Unknown => "0-RTT early data not read",
            EarlyData::TooLarge => "0-RTT early data too large to hold (not read)",
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
    /// A direction whose decryption a capture gap ended, with the frame
    /// it ended at (the one whose arrival showed the gap; 0 if unknown).
    pub stopped_by_gap: [Option<u64>; 2],
    /// A direction whose decryption a record failing authentication ended.
    pub stopped_by_failure: [bool; 2],
    /// Client 0-RTT records (opened or not).
    pub early_data_records: u64,
    /// What became of the 0-RTT data, on a connection that sent some.
    pub early_data: Option<EarlyData>,
    /// 0-RTT plaintext bytes handed to the HTTP stage (accepted), and
    /// skipped (rejected or never answered).
    pub early_data_bytes: u64,
    pub early_data_skipped_bytes: u64,
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

    /// Whether a capture gap ended the decryption of either direction.
    pub fn stopped_by_a_gap(&self) -> bool {
        self.stopped_by_gap.iter().any(Option::is_some)
    }

    /// The connection's decryption in words: `decrypted`, or `could not
    /// decrypt: <why>`, with each direction a gap ended and where
    /// (`decrypted, client->server stopped at frame 15: gap`).
    pub fn describe(&self) -> String {
        let mut s = match self.failure {
            None if self.decrypted() => "decrypted".to_string(),
            None => "not decrypted".to_string(),
            Some(f) => format!("could not decrypt: {}", f.describe()),
        };
        for (side, name) in [
            (Side::Client, "client->server"),
            (Side::Server, "server->client"),
        ] {
            match *self.stopped_by_gap.of(side) {
                Some(0) => s.push_str(&format!(", {name} stopped: gap")),
                Some(frame) => s.push_str(&format!(", {name} stopped at frame {frame}: gap")),
                None => {}
            }
        }
        if let Some(e) = self.early_data {
            s.push_str("; ");
            s.push_str(e.describe());
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
    /// Where the opened record's plaintext starts in `body` (TLS 1.2's
    /// explicit nonce is left in front of it, not moved out).
    start: usize,
    collecting: bool,
    type_byte: u8,
    plain_offset: u64,
    stopped: bool,
    /// The last few records that carried application data: where they
    /// ended in the stream and in the plaintext (for the ack releases).
    recent: [Option<Opened>; RECENT_OPENED],
    recent_next: usize,
}

/// Records remembered per direction, for placing an ack release.
const RECENT_OPENED: usize = 16;

/// One record's application data: its stream end and plaintext range.
#[derive(Clone, Copy, Debug, Default)]
struct Opened {
    stream_end: u64,
    plain_start: u64,
    plain_end: u64,
}

/// Where a connection's 0-RTT stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum EarlyPhase {
    /// The ClientHello is not read yet.
    #[default]
    Unknown,
    /// The client's application-data records are tried with the early
    /// keys first.
    Open,
    /// No (more) early data: not offered, or its end seen.
    Over,
}

/// The server's answer to the 0-RTT offer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Answer {
    #[default]
    Pending,
    Accepted,
    Rejected,
}

/// A client's 0-RTT: its keys and the plaintext held until the answer.
#[derive(Debug, Default)]
struct Early {
    phase: EarlyPhase,
    answer: Answer,
    /// The early traffic secret; the keys once a record proved the suite.
    secret: Option<Secret>,
    keys: Option<RecordKeys>,
    /// Plaintext held while the answer is pending, and each record's share
    /// of it with its time.
    held: Vec<u8>,
    held_records: Vec<(usize, Timestamp, u64)>,
    too_large: bool,
    /// The ClientHello offered early data (with or without its secret).
    offered: bool,
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
    early: Early,
    report: DecryptReport,
    /// A direction a gap stopped whose next data is still to come: that
    /// data's frame is where the report says it stopped.
    gap_frame_open: [bool; 2],
}

/// What a decryptor hands over: a direction's application data, its offset
/// in that direction's plaintext stream, and when its record was complete.
pub trait Plaintext {
    fn plaintext(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp);
    /// Decryption of `from` ended at plaintext `offset` (a gap, a failed
    /// record): whatever followed is lost.
    fn lost(&mut self, from: Side, offset: u64, ts: Timestamp);
    /// The frame being read, and setting it: 0-RTT plaintext is handed
    /// over after its records, at the frames that carried them.
    fn frame(&self) -> u64 {
        0
    }
    fn set_frame(&mut self, _frame: u64) {}
}

impl Decryptor {
    pub fn new(keys: Arc<KeyLog>) -> Decryptor {
        Decryptor {
            keys,
            setup: Setup::Waiting,
            dirs: Default::default(),
            early: Early::default(),
            report: DecryptReport::default(),
            gap_frame_open: [false; 2],
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
        if self.report.early_data_records > 0 {
            let held = self.early.held.len() as u64;
            let r = &mut self.report;
            r.early_data_skipped_bytes = r.early_data_skipped_bytes.saturating_add(held);
            r.early_data.get_or_insert(match self.early.answer {
                _ if self.early.secret.is_none() => EarlyData::Unknown,
                Answer::Accepted => EarlyData::Accepted,
                Answer::Rejected => EarlyData::Rejected,
                Answer::Pending => EarlyData::Unknown,
            });
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
        if self.early.phase == EarlyPhase::Unknown {
            if let Some(ch) = tls.client_hello.as_ref() {
                // 0-RTT needs the ClientHello only: the early data follows it.
                let secret = self.keys.get(&ch.random).and_then(|s| s.client_early);
                self.early.offered = ch.early_data && ch.offers_tls13();
                self.early.secret = secret.filter(|_| self.early.offered);
                self.early.phase = if self.early.secret.is_some() {
                    EarlyPhase::Open
                } else {
                    EarlyPhase::Over
                };
            }
        }
        if !matches!(self.setup, Setup::Waiting) {
            return;
        }
        let (Some(ch), Some(sh)) = (tls.client_hello.as_ref(), tls.server_hello.as_ref()) else {
            return;
        };
        // Early data needs the offered PSK chosen, and no second hello.
        if !sh.version().is_tls13() || !sh.psk || tls.hello_retry {
            self.reject();
        }
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
        let early = from == Side::Client
            && h.content_type == ContentType::ApplicationData
            && self.early.phase == EarlyPhase::Open;
        let protected = early
            || match self.setup {
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
                    if !early
                        && from == Side::Client
                        && h.content_type == ContentType::ApplicationData
                    {
                        // 0-RTT without its secret: counted, not read.
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
            d.start = 0;
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
        if from == Side::Client
            && self.early.phase == EarlyPhase::Open
            && h.content_type == ContentType::ApplicationData
        {
            if self.open_early(h, ts, out) {
                return;
            }
            // Not under the early keys: the early data is over (the
            // client's Finished under its handshake keys).
            self.early_over(ts, out);
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
            Some(k) => open_body(k, h, type_byte, &mut d.body, &mut d.start),
            None => false,
        };
        if !ok {
            return self.stop_failed(from, ts, out);
        }
        let r = self.report.records.of_mut(from);
        *r = r.saturating_add(1);
        if h.content_type == ContentType::ApplicationData {
            self.emit_record(from, ts, Some(h.end()), out);
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
            Some(k) => open_body(k, h, 23, &mut d.body, &mut d.start),
            None => false,
        };
        if !ok && !d.on_application_keys {
            if let Some(next) = d.next.as_mut() {
                if let Some(sealed) = sealed {
                    d.body = sealed;
                }
                if open_body(next, h, 23, &mut d.body, &mut d.start) {
                    d.keys = d.next.take();
                    d.on_application_keys = true;
                    ok = true;
                }
            }
        }
        if !ok {
            if from == Side::Client
                && self.early.offered
                && self.early.secret.is_none()
                && *self.report.records.of(Side::Client) == 0
            {
                // Before the client's first record under its handshake
                // keys, after a ClientHello offering early data: 0-RTT
                // whose secret the key log lacks. Counted, not read.
                let r = &mut self.report;
                r.early_data_records = r.early_data_records.saturating_add(1);
                self.dirs.of_mut(from).body.clear();
                return;
            }
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
            Some(23) if d.on_application_keys => self.emit_record(from, ts, Some(h.end()), out),
            Some(22) if d.on_application_keys => self.key_update(from, suite),
            Some(22) if from == Side::Server && self.early.answer == Answer::Pending => {
                if let Some(accepted) = early_data_in_encrypted_extensions(&d.body) {
                    self.answer(accepted, ts, out);
                }
            }
            _ => {}
        }
    }

    /// Tries a client record with the early keys (the first one finds the
    /// suite: those of the secret's hash, by trial). Opened, it is 0-RTT:
    /// its data held, handed on or skipped by the server's answer, an
    /// EndOfEarlyData ending the early phase. Not opened: `body` is as it
    /// was, for the handshake keys.
    fn open_early(&mut self, h: &RecordHeader, ts: Timestamp, out: &mut impl Plaintext) -> bool {
        let d = self.dirs.of_mut(Side::Client);
        let sealed = d.body.clone();
        let opened = match self.early.keys.as_mut() {
            Some(k) => open_body(k, h, 23, &mut d.body, &mut d.start),
            None => {
                let mut found = false;
                if let Some(secret) = self.early.secret {
                    let suites: &[u16] = if secret.as_bytes().len() == Hash::Sha384.output_len() {
                        &[0x1302]
                    } else {
                        &[0x1301, 0x1303]
                    };
                    for suite in suites.iter().filter_map(|id| Suite::tls13(*id)) {
                        let Some(mut keys) = RecordKeys::tls13(suite, secret.as_bytes()) else {
                            continue;
                        };
                        d.body.clone_from(&sealed);
                        if open_body(&mut keys, h, 23, &mut d.body, &mut d.start) {
                            self.early.keys = Some(keys);
                            found = true;
                            break;
                        }
                    }
                }
                found
            }
        };
        if !opened {
            d.body = sealed;
            return false;
        }
        let r = &mut self.report;
        r.early_data_records = r.early_data_records.saturating_add(1);
        let Some(type_at) = d.body.iter().rposition(|b| *b != 0) else {
            return true;
        };
        let inner = d.body.get(type_at).copied();
        d.body.truncate(type_at);
        match inner {
            Some(23) => self.early_data(ts, out),
            Some(22) if handshake_types(&d.body).any(|t| t == END_OF_EARLY_DATA) => {
                // Sent only to a server that accepted (§4.5).
                if self.early.answer == Answer::Pending {
                    self.answer(true, ts, out);
                }
                self.early.phase = EarlyPhase::Over;
            }
            _ => {}
        }
        true
    }

    /// One 0-RTT record's plaintext (in the client's body buffer): handed
    /// on once accepted, held while pending, skipped once rejected.
    fn early_data(&mut self, ts: Timestamp, out: &mut impl Plaintext) {
        let d = self.dirs.of_mut(Side::Client);
        let n = d.body.len();
        match self.early.answer {
            Answer::Accepted if !self.early.too_large => {
                let r = &mut self.report;
                r.early_data_bytes = r.early_data_bytes.saturating_add(n as u64);
                self.emit(Side::Client, ts, None, out);
            }
            Answer::Pending
                if !self.early.too_large
                    && self.early.held.len().saturating_add(n) <= MAX_EARLY_HELD
                    && self.early.held_records.len() < MAX_EARLY_RECORDS =>
            {
                self.early.held.extend_from_slice(&d.body);
                self.early.held_records.push((n, ts, out.frame()));
            }
            Answer::Pending => {
                // Past what is held: nothing of it will be read.
                self.early.too_large = true;
                let skipped = self.early.held.len().saturating_add(n) as u64;
                self.early.held.clear();
                self.early.held_records.clear();
                let r = &mut self.report;
                r.early_data_skipped_bytes = r.early_data_skipped_bytes.saturating_add(skipped);
            }
            Answer::Accepted | Answer::Rejected => {
                let r = &mut self.report;
                r.early_data_skipped_bytes = r.early_data_skipped_bytes.saturating_add(n as u64);
            }
        }
        self.dirs.of_mut(Side::Client).body.clear();
    }

    /// The client's records left the early keys while the answer was
    /// pending: it sent no EndOfEarlyData, so the server did not accept.
    fn early_over(&mut self, ts: Timestamp, out: &mut impl Plaintext) {
        self.early.phase = EarlyPhase::Over;
        if self.early.answer == Answer::Pending && self.report.early_data_records > 0 {
            self.answer(false, ts, out);
        }
    }

    /// The server did not take the 0-RTT data: what is held is skipped.
    fn reject(&mut self) {
        self.early.answer = Answer::Rejected;
        if self.early.secret.is_none() {
            return; // nothing was read: said at the end
        }
        let held = std::mem::take(&mut self.early.held);
        self.early.held_records.clear();
        if self.report.early_data_records == 0 {
            return;
        }
        let r = &mut self.report;
        r.early_data = Some(EarlyData::Rejected);
        r.early_data_skipped_bytes = r.early_data_skipped_bytes.saturating_add(held.len() as u64);
    }

    /// The server's answer to 0-RTT: the held plaintext goes to the HTTP
    /// stage, each record's at its time, or is skipped.
    fn answer(&mut self, accepted: bool, ts: Timestamp, out: &mut impl Plaintext) {
        if !accepted {
            return self.reject();
        }
        self.early.answer = Answer::Accepted;
        if self.early.secret.is_none() {
            if self.report.early_data_records > 0 {
                // The server read early data the key log cannot open: the
                // client's plaintext lacks its beginning, so none of it
                // can be placed (its answers would pair with later
                // requests).
                let d = self.dirs.of_mut(Side::Client);
                d.stopped = true;
                out.lost(Side::Client, d.plain_offset, ts);
                self.report
                    .failure
                    .get_or_insert(Undecrypted::NoMatchingSecret);
            }
            return;
        }
        let held = std::mem::take(&mut self.early.held);
        let records = std::mem::take(&mut self.early.held_records);
        let r = &mut self.report;
        if self.early.too_large {
            r.early_data = Some(EarlyData::TooLarge);
            // The client's stream lost its beginning: nothing after it can
            // be placed.
            let d = self.dirs.of_mut(Side::Client);
            d.stopped = true;
            out.lost(Side::Client, d.plain_offset, ts);
            return;
        }
        if r.early_data_records == 0 {
            return;
        }
        r.early_data = Some(EarlyData::Accepted);
        r.early_data_bytes = r.early_data_bytes.saturating_add(held.len() as u64);
        let mut rest = held.as_slice();
        let now = out.frame();
        for (n, ts, frame) in records {
            let (piece, tail) = rest.split_at(n.min(rest.len()));
            rest = tail;
            if piece.is_empty() {
                continue;
            }
            let d = self.dirs.of_mut(Side::Client);
            out.set_frame(frame);
            out.plaintext(Side::Client, d.plain_offset, piece, ts);
            d.plain_offset = d.plain_offset.saturating_add(piece.len() as u64);
            let p = self.report.plaintext_bytes.of_mut(Side::Client);
            *p = p.saturating_add(piece.len() as u64);
        }
        out.set_frame(now);
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

    /// The plaintext range of the application data of the record that
    /// ended at stream offset `stream_end` in `from`, if it was opened
    /// lately: where a write that ended a record ended among the messages.
    pub fn plaintext_of_record_ending(&self, from: Side, stream_end: u64) -> Option<(u64, u64)> {
        self.dirs
            .of(from)
            .recent
            .iter()
            .flatten()
            .find(|o| o.stream_end == stream_end)
            .map(|o| (o.plain_start, o.plain_end))
    }

    fn emit(&mut self, from: Side, ts: Timestamp, _suite: Option<Suite>, out: &mut impl Plaintext) {
        self.emit_record(from, ts, None, out);
    }

    fn emit_record(
        &mut self,
        from: Side,
        ts: Timestamp,
        stream_end: Option<u64>,
        out: &mut impl Plaintext,
    ) {
        let d = self.dirs.of_mut(from);
        let plain = d.body.get(d.start..).unwrap_or_default();
        if plain.is_empty() {
            return;
        }
        out.plaintext(from, d.plain_offset, plain, ts);
        let n = plain.len() as u64;
        if let Some(stream_end) = stream_end {
            let at = d.recent_next % RECENT_OPENED;
            if let Some(slot) = d.recent.get_mut(at) {
                *slot = Some(Opened {
                    stream_end,
                    plain_start: d.plain_offset,
                    plain_end: d.plain_offset.saturating_add(n),
                });
            }
            d.recent_next = at.saturating_add(1);
        }
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
        *self.report.stopped_by_gap.of_mut(from) = Some(out.frame());
        *self.gap_frame_open.of_mut(from) = true;
    }

    /// Data of `from` arrives in `frame`. The first after a gap that
    /// stopped the direction names the frame it stopped at: the one after
    /// the hole (tshark's "previous segment not captured"), where the gap
    /// itself may be known only later (an ACK past the hole).
    #[inline]
    pub fn data_in(&mut self, from: Side, frame: u64) {
        let open = self.gap_frame_open.of_mut(from);
        if *open {
            *open = false;
            *self.report.stopped_by_gap.of_mut(from) = Some(frame);
        }
    }

    /// A capture gap in `from`: its sequence numbers and records are lost,
    /// so its decryption ends, and the report says where. Before the keys
    /// are known too: the records after it could not be read once they
    /// are (a connection that will not be decrypted has nothing to stop).
    pub fn gap(&mut self, from: Side, ts: Timestamp, out: &mut impl Plaintext) {
        if !matches!(self.setup, Setup::Off) {
            self.stop_gap(from, ts, out);
        }
    }
}

/// Opens `body` with `keys`: on success `body` ends where the plaintext
/// does and `start` says where it begins.
fn open_body(
    keys: &mut RecordKeys,
    h: &RecordHeader,
    type_byte: u8,
    body: &mut Vec<u8>,
    start: &mut usize,
) -> bool {
    match keys.open(h, type_byte, body) {
        Some(r) => {
            body.truncate(r.end);
            *start = r.start;
            true
        }
        None => false,
    }
}

/// The types of the handshake messages that start in `body` (a record's
/// plaintext), each skipped by its length.
fn handshake_types(body: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let mut rest = body;
    std::iter::from_fn(move || {
        let [t, a, b, c, tail @ ..] = rest else {
            return None;
        };
        let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
        rest = tail.get(len..).unwrap_or_default();
        Some(*t)
    })
}

/// Whether the EncryptedExtensions in `body` (a server handshake record's
/// plaintext) carries the early_data extension: the server accepted 0-RTT.
/// `None` when the record holds no whole EncryptedExtensions.
fn early_data_in_encrypted_extensions(body: &[u8]) -> Option<bool> {
    let mut rest = body;
    while let [t, a, b, c, tail @ ..] = rest {
        let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
        let msg = tail.get(..len)?;
        rest = tail.get(len..).unwrap_or_default();
        if *t != ENCRYPTED_EXTENSIONS {
            continue;
        }
        let [x, y, exts @ ..] = msg else {
            return None;
        };
        let mut exts = exts.get(..usize::from(u16::from_be_bytes([*x, *y])))?;
        while let [t0, t1, l0, l1, tail @ ..] = exts {
            if u16::from_be_bytes([*t0, *t1]) == EARLY_DATA_EXTENSION {
                return Some(true);
            }
            exts = tail
                .get(usize::from(u16::from_be_bytes([*l0, *l1]))..)
                .unwrap_or_default();
        }
        return Some(false);
    }
    None
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests;
