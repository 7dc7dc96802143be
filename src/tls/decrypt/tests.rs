use super::*;
use crate::tls::{ClientHelloFacts, ServerHelloFacts};

fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    s.chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect()
}

fn label(hash: Hash, secret: &[u8], l: &str, ctx: &[u8], n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    expand_label(hash, secret, l, ctx, &mut out).unwrap();
    out
}

// RFC 8448 §3, "Simple 1-RTT Handshake".
const HANDSHAKE_SECRET: &str = "1d c8 26 e9 36 06 aa 6f dc 0a ad c1 2f 74 1b 01
    04 6a a6 b9 9f 69 1e d2 21 a9 f0 ca 04 3f be ac";
const HELLO_HASH: &str = "86 0c 06 ed c0 78 58 ee 8e 78 f0 e7 42 8c 58 ed
    d6 b4 3f 2c a3 e6 e9 5f 02 ed 06 3c f0 e1 ca d8";
const C_HS: &str = "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f
    3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21";
const S_HS: &str = "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4
    e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38";
const S_AP: &str = "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32
    82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43";

#[test]
fn rfc8448_handshake_traffic_secrets_from_the_handshake_secret() {
    let hs = hex(HANDSHAKE_SECRET);
    let hello = hex(HELLO_HASH);
    assert_eq!(
        label(Hash::Sha256, &hs, "c hs traffic", &hello, 32),
        hex(C_HS)
    );
    assert_eq!(
        label(Hash::Sha256, &hs, "s hs traffic", &hello, 32),
        hex(S_HS)
    );
    // The server's finished key (an empty context).
    assert_eq!(
        label(Hash::Sha256, &hex(S_HS), "finished", &[], 32),
        hex("00 8d 3b 66 f8 16 ea 55 9f 96 b5 37 e8 85 c3 1f
             c0 68 bf 49 2c 65 2f 01 f2 88 a1 d8 cd c1 9f c8")
    );
}

#[test]
fn rfc8448_traffic_keys_and_ivs() {
    for (secret, key, iv) in [
        (
            S_HS,
            "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc",
            "5d 31 3e b2 67 12 76 ee 13 00 0b 30",
        ),
        (
            C_HS,
            "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01",
            "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f",
        ),
        (
            S_AP,
            "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56",
            "cf 78 2b 88 dd 83 54 9a ad f1 e9 84",
        ),
    ] {
        let s = hex(secret);
        assert_eq!(label(Hash::Sha256, &s, "key", &[], 16), hex(key));
        assert_eq!(label(Hash::Sha256, &s, "iv", &[], 12), hex(iv));
    }
    // A secret shorter than the hash is refused, not expanded.
    let mut out = [0u8; 16];
    assert!(expand_label(Hash::Sha256, &[1; 16], "key", &[], &mut out).is_none());
}

#[test]
fn tls12_prf_sha256_test_vector() {
    // The P_SHA256 vector from the TLS working group's list (msg03416).
    let mut out = [0u8; 100];
    prf(
        Hash::Sha256,
        &hex("9bbe436ba940f017b17652849a71db35"),
        b"test label",
        &hex("a0ba9f936cda311827a6f796ffd5198c"),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        out.to_vec(),
        hex(
            "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a
             6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab
             4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701
             87347b66"
        )
    );
}

/// Seals like a TLS 1.3 stack: inner plaintext = content || type || zeros.
pub(crate) fn seal13(
    suite: Suite,
    secret: &[u8],
    seq: u64,
    content: &[u8],
    inner_type: u8,
    padding: usize,
) -> Vec<u8> {
    let key = label(suite.hash, secret, "key", &[], suite.aead.key_len());
    let iv = label(suite.hash, secret, "iv", &[], 12);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&iv);
    for (d, b) in nonce.iter_mut().skip(4).zip(seq.to_be_bytes()) {
        *d ^= b;
    }
    let mut buf = content.to_vec();
    buf.push(inner_type);
    buf.extend(std::iter::repeat_n(0, padding));
    let len = (buf.len() + TAG) as u16;
    let aad = [23, 3, 3, (len >> 8) as u8, len as u8];
    let n = &aes_gcm::aead::Nonce::<Aes128Gcm>::from(nonce);
    match suite.aead {
        AeadKind::Aes128Gcm => Aes128Gcm::new_from_slice(&key)
            .unwrap()
            .encrypt_in_place(n, &aad, &mut buf)
            .unwrap(),
        AeadKind::Aes256Gcm => Aes256Gcm::new_from_slice(&key)
            .unwrap()
            .encrypt_in_place(n, &aad, &mut buf)
            .unwrap(),
        AeadKind::ChaCha20Poly1305 => ChaCha20Poly1305::new_from_slice(&key)
            .unwrap()
            .encrypt_in_place(n, &aad, &mut buf)
            .unwrap(),
    }
    let mut record = aad.to_vec();
    record.extend(buf);
    record
}

#[derive(Default)]
struct Out {
    plain: Vec<(Side, u64, Vec<u8>, i64)>,
    lost: Vec<(Side, u64)>,
    /// The frame being read, as the HTTP stage tells it.
    frame: u64,
}

impl Plaintext for Out {
    fn plaintext(&mut self, from: Side, offset: u64, bytes: &[u8], ts: Timestamp) {
        self.plain.push((from, offset, bytes.to_vec(), ts.nanos()));
    }
    fn lost(&mut self, from: Side, offset: u64, _ts: Timestamp) {
        self.lost.push((from, offset));
    }
    fn frame(&self) -> u64 {
        self.frame
    }
}

const RANDOM: [u8; 32] = [7; 32];

fn hellos(cipher: u16, tls13: bool) -> TlsReport {
    TlsReport {
        client_hello: Some(ClientHelloFacts {
            random: RANDOM,
            ..ClientHelloFacts::default()
        }),
        server_hello: Some(ServerHelloFacts {
            legacy_version: 0x0303,
            selected_version: tls13.then_some(0x0304),
            cipher_suite: cipher,
            random: [9; 32],
            ..ServerHelloFacts::default()
        }),
        ..TlsReport::default()
    }
}

fn keylog(lines: &[(&str, &[u8])]) -> Arc<KeyLog> {
    let text: String = lines
        .iter()
        .map(|(l, s)| {
            let s: String = s.iter().map(|b| format!("{b:02x}")).collect();
            format!("{l} {} {s}\n", "07".repeat(32))
        })
        .collect();
    Arc::new(KeyLog::parse(&text))
}

/// Feeds one whole record (header + body) in pieces of `piece` bytes.
fn feed(d: &mut Decryptor, from: Side, record: &[u8], ts: i64, piece: usize, out: &mut Out) {
    let h = RecordHeader {
        content_type: ContentType::from_byte(record[0]).unwrap(),
        version: u16::from_be_bytes([record[1], record[2]]),
        len: u16::from_be_bytes([record[3], record[4]]),
        offset: 0,
        ts: Timestamp::from_secs_nanos(0, ts),
    };
    d.record_start(from, &h);
    for p in record[5..].chunks(piece) {
        d.record_body(from, p);
    }
    d.record_end(from, &h, Timestamp::from_secs_nanos(0, ts), true, out);
}

#[test]
fn tls13_handshake_then_application_keys_with_padding_and_key_update() {
    for (cipher, hash_len) in [(0x1301u16, 32usize), (0x1302, 48), (0x1303, 32)] {
        let suite = Suite::tls13(cipher).unwrap();
        let (chs, shs, cap, sap) = (
            vec![1u8; hash_len],
            vec![2u8; hash_len],
            vec![3u8; hash_len],
            vec![4u8; hash_len],
        );
        let log = keylog(&[
            ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", &chs),
            ("SERVER_HANDSHAKE_TRAFFIC_SECRET", &shs),
            ("CLIENT_TRAFFIC_SECRET_0", &cap),
            ("SERVER_TRAFFIC_SECRET_0", &sap),
        ]);
        let mut d = Decryptor::new(log);
        d.hellos(&hellos(cipher, true));
        let mut out = Out::default();
        // The server's flight under its handshake keys, then a ticket and
        // data under the application keys.
        feed(
            &mut d,
            Side::Server,
            &seal13(suite, &shs, 0, b"\x08\0\0\0", 22, 0),
            1,
            7,
            &mut out,
        );
        feed(
            &mut d,
            Side::Server,
            &seal13(suite, &shs, 1, b"\x14\0\0\x01x", 22, 3),
            2,
            100,
            &mut out,
        );
        feed(
            &mut d,
            Side::Client,
            &seal13(suite, &chs, 0, b"\x14\0\0\x01y", 22, 0),
            3,
            1,
            &mut out,
        );
        feed(
            &mut d,
            Side::Client,
            &seal13(suite, &cap, 0, b"GET / HTTP/1.1\r\n", 23, 5),
            4,
            3,
            &mut out,
        );
        feed(
            &mut d,
            Side::Client,
            &seal13(suite, &cap, 1, b"\r\n", 23, 0),
            5,
            64,
            &mut out,
        );
        feed(
            &mut d,
            Side::Server,
            &seal13(suite, &sap, 0, b"\x04\0\0\0", 22, 0),
            6,
            9,
            &mut out,
        );
        feed(
            &mut d,
            Side::Server,
            &seal13(suite, &sap, 1, b"HTTP/1.1 200 OK\r\n", 23, 0),
            7,
            9,
            &mut out,
        );
        // A KeyUpdate from the server: its next record is under the next
        // generation's keys.
        feed(
            &mut d,
            Side::Server,
            &seal13(suite, &sap, 2, b"\x18\0\0\x01\0", 22, 0),
            8,
            9,
            &mut out,
        );
        let mut next = vec![0u8; hash_len];
        expand_label(suite.hash, &sap, "traffic upd", &[], &mut next).unwrap();
        feed(
            &mut d,
            Side::Server,
            &seal13(suite, &next, 0, b"\r\n", 23, 0),
            9,
            9,
            &mut out,
        );
        assert_eq!(
            out.plain,
            vec![
                (Side::Client, 0, b"GET / HTTP/1.1\r\n".to_vec(), 4),
                (Side::Client, 16, b"\r\n".to_vec(), 5),
                (Side::Server, 0, b"HTTP/1.1 200 OK\r\n".to_vec(), 7),
                (Side::Server, 17, b"\r\n".to_vec(), 9),
            ],
            "suite {cipher:04x}"
        );
        assert!(out.lost.is_empty());
        let r = d.finish();
        assert!(r.decrypted(), "{r:?}");
        assert_eq!(r.records, [3, 6]);
        assert_eq!(r.key_updates, 1);
        assert_eq!(r.describe(), "decrypted");
    }
}

#[test]
fn a_record_that_does_not_authenticate_is_never_handed_over() {
    let suite = Suite::tls13(0x1301).unwrap();
    let right = [3u8; 32];
    let log = keylog(&[("CLIENT_TRAFFIC_SECRET_0", &[5u8; 32])]);
    let mut d = Decryptor::new(log);
    d.hellos(&hellos(0x1301, true));
    let mut out = Out::default();
    feed(
        &mut d,
        Side::Client,
        &seal13(suite, &right, 0, b"GET / HTTP/1.1\r\n\r\n", 23, 0),
        1,
        5,
        &mut out,
    );
    // Nor is anything after it in that direction.
    feed(
        &mut d,
        Side::Client,
        &seal13(suite, &[5u8; 32], 1, b"GET /", 23, 0),
        2,
        5,
        &mut out,
    );
    assert!(out.plain.is_empty());
    assert_eq!(out.lost, vec![(Side::Client, 0)]);
    let r = d.finish();
    assert!(!r.decrypted());
    assert_eq!(r.describe(), "could not decrypt: authentication failed");

    // One flipped bit in a record sealed with the right secret.
    let log = keylog(&[("CLIENT_TRAFFIC_SECRET_0", &right)]);
    let mut d = Decryptor::new(log);
    d.hellos(&hellos(0x1301, true));
    let mut rec = seal13(suite, &right, 0, b"GET / HTTP/1.1\r\n\r\n", 23, 0);
    let last = rec.len() - 1;
    rec[last] ^= 1;
    let mut out = Out::default();
    feed(&mut d, Side::Client, &rec, 1, 5, &mut out);
    assert!(out.plain.is_empty());
    assert_eq!(d.finish().failure, Some(Undecrypted::AuthenticationFailed));
}

#[test]
fn no_matching_secret_unsupported_suite_and_gaps_are_reported() {
    let log = keylog(&[("CLIENT_TRAFFIC_SECRET_0", &[5u8; 32])]);
    let mut other = hellos(0x1301, true);
    other.client_hello.as_mut().unwrap().random = [8; 32];
    let mut d = Decryptor::new(log.clone());
    d.hellos(&other);
    assert_eq!(
        d.finish().describe(),
        "could not decrypt: no matching secret"
    );

    let mut d = Decryptor::new(log.clone());
    d.hellos(&hellos(0x1304, true)); // TLS_AES_128_CCM_SHA256
    assert_eq!(d.finish().failure, Some(Undecrypted::UnsupportedCipher));
    let mut d = Decryptor::new(log.clone());
    d.hellos(&hellos(0xC013, false)); // ECDHE-RSA-AES128-SHA: CBC
    assert_eq!(d.finish().failure, Some(Undecrypted::UnsupportedCipher));

    let d = Decryptor::new(log.clone());
    assert_eq!(d.finish().failure, Some(Undecrypted::HandshakeNotSeen));

    // A gap ends the direction's decryption; the other goes on.
    let suite = Suite::tls13(0x1301).unwrap();
    let log = keylog(&[
        ("CLIENT_TRAFFIC_SECRET_0", &[5u8; 32]),
        ("SERVER_TRAFFIC_SECRET_0", &[6u8; 32]),
    ]);
    let mut d = Decryptor::new(log);
    d.hellos(&hellos(0x1301, true));
    let mut out = Out::default();
    feed(
        &mut d,
        Side::Client,
        &seal13(suite, &[5; 32], 0, b"GET", 23, 0),
        1,
        5,
        &mut out,
    );
    out.frame = 15;
    d.gap(Side::Client, Timestamp::from_secs_nanos(0, 2), &mut out);
    feed(
        &mut d,
        Side::Client,
        &seal13(suite, &[5; 32], 2, b"GET", 23, 0),
        3,
        5,
        &mut out,
    );
    feed(
        &mut d,
        Side::Server,
        &seal13(suite, &[6; 32], 0, b"HTTP", 23, 0),
        4,
        5,
        &mut out,
    );
    assert_eq!(out.plain.len(), 2);
    assert_eq!(out.lost, vec![(Side::Client, 3)]);
    let r = d.finish();
    assert_eq!(r.stopped_by_gap, [Some(15), None]);
    assert_eq!(
        r.describe(),
        "decrypted, client->server stopped at frame 15: gap"
    );

    // A gap inside a record: the record is not opened, the direction ends
    // at the frame that ended the record.
    let log = keylog(&[
        ("CLIENT_TRAFFIC_SECRET_0", &[5u8; 32]),
        ("SERVER_TRAFFIC_SECRET_0", &[6u8; 32]),
    ]);
    let mut d = Decryptor::new(log);
    d.hellos(&hellos(0x1301, true));
    let mut out = Out::default();
    let record = seal13(suite, &[6; 32], 0, b"HTTP/1.1 200 OK", 23, 0);
    let h = RecordHeader {
        content_type: ContentType::ApplicationData,
        version: 0x0303,
        len: (record.len() - 5) as u16,
        offset: 0,
        ts: Timestamp::from_secs_nanos(0, 1),
    };
    d.record_start(Side::Server, &h);
    d.record_body(Side::Server, &record[5..10]);
    out.frame = 9;
    d.record_end(
        Side::Server,
        &h,
        Timestamp::from_secs_nanos(0, 2),
        false,
        &mut out,
    );
    assert!(out.plain.is_empty());
    assert_eq!(out.lost, vec![(Side::Server, 0)]);
    // Stopped once: a second word of the same gap changes nothing.
    out.frame = 10;
    d.gap(Side::Server, Timestamp::from_secs_nanos(0, 3), &mut out);
    assert_eq!(out.lost.len(), 1);
    feed(
        &mut d,
        Side::Client,
        &seal13(suite, &[5; 32], 0, b"GET", 23, 0),
        4,
        5,
        &mut out,
    );
    let r = d.finish();
    assert_eq!(r.stopped_by_gap, [None, Some(9)]);
    assert_eq!(
        r.describe(),
        "decrypted, server->client stopped at frame 9: gap"
    );

    // Known only when an ACK past the hole came (frame 12): the stop is
    // placed at the data after the hole (frame 11), when it is handed over.
    let log = keylog(&[
        ("CLIENT_TRAFFIC_SECRET_0", &[5u8; 32]),
        ("SERVER_TRAFFIC_SECRET_0", &[6u8; 32]),
    ]);
    let mut d = Decryptor::new(log);
    d.hellos(&hellos(0x1301, true));
    let mut out = Out {
        frame: 12,
        ..Out::default()
    };
    d.data_in(Side::Server, 10);
    d.gap(Side::Server, Timestamp::from_secs_nanos(0, 1), &mut out);
    assert_eq!(d.report().stopped_by_gap, [None, Some(12)]);
    d.data_in(Side::Client, 12);
    d.data_in(Side::Server, 11);
    d.data_in(Side::Server, 13);
    assert_eq!(d.finish().stopped_by_gap, [None, Some(11)]);

    // A gap before the keys are known (the ServerHello not read yet):
    // the direction's records after it cannot be read once they are, and
    // the report says so instead of reading `decrypted`.
    let log = keylog(&[
        ("CLIENT_TRAFFIC_SECRET_0", &[5u8; 32]),
        ("SERVER_TRAFFIC_SECRET_0", &[6u8; 32]),
    ]);
    let mut d = Decryptor::new(log);
    let mut out = Out {
        frame: 5,
        ..Out::default()
    };
    d.gap(Side::Client, Timestamp::from_secs_nanos(0, 1), &mut out);
    d.hellos(&hellos(0x1301, true));
    feed(
        &mut d,
        Side::Client,
        &seal13(suite, &[5; 32], 0, b"GET", 23, 0),
        2,
        5,
        &mut out,
    );
    feed(
        &mut d,
        Side::Server,
        &seal13(suite, &[6; 32], 0, b"HTTP", 23, 0),
        3,
        5,
        &mut out,
    );
    assert_eq!(out.plain.len(), 1);
    assert_eq!(out.plain[0].0, Side::Server);
    let r = d.finish();
    assert!(r.decrypted());
    assert_eq!(
        r.describe(),
        "decrypted, client->server stopped at frame 5: gap"
    );

    // A connection that will not be decrypted has nothing to stop.
    let mut d = Decryptor::new(keylog(&[]));
    d.hellos(&hellos(0x1301, true));
    d.gap(Side::Client, Timestamp::from_secs_nanos(0, 1), &mut out);
    let r = d.finish();
    assert_eq!(r.stopped_by_gap, [None, None]);
    assert_eq!(r.describe(), "could not decrypt: no matching secret");
}

/// Seals like a TLS 1.2 stack (RFC 5288 / RFC 7905).
fn seal12(
    keys_block: (&[u8], &[u8]),
    aead: AeadKind,
    seq: u64,
    typ: u8,
    content: &[u8],
) -> Vec<u8> {
    let (key, iv) = keys_block;
    let mut nonce = [0u8; 12];
    let explicit = (seq ^ 0x5555).to_be_bytes();
    if aead == AeadKind::ChaCha20Poly1305 {
        nonce.copy_from_slice(iv);
        for (d, b) in nonce.iter_mut().skip(4).zip(seq.to_be_bytes()) {
            *d ^= b;
        }
    } else {
        nonce[..4].copy_from_slice(iv);
        nonce[4..].copy_from_slice(&explicit);
    }
    let mut aad = seq.to_be_bytes().to_vec();
    aad.extend([typ, 3, 3, (content.len() >> 8) as u8, content.len() as u8]);
    let mut buf = content.to_vec();
    let n = &aes_gcm::aead::Nonce::<Aes128Gcm>::from(nonce);
    match aead {
        AeadKind::Aes128Gcm => Aes128Gcm::new_from_slice(key)
            .unwrap()
            .encrypt_in_place(n, &aad, &mut buf)
            .unwrap(),
        AeadKind::Aes256Gcm => Aes256Gcm::new_from_slice(key)
            .unwrap()
            .encrypt_in_place(n, &aad, &mut buf)
            .unwrap(),
        AeadKind::ChaCha20Poly1305 => ChaCha20Poly1305::new_from_slice(key)
            .unwrap()
            .encrypt_in_place(n, &aad, &mut buf)
            .unwrap(),
    }
    let mut body = Vec::new();
    if aead != AeadKind::ChaCha20Poly1305 {
        body.extend(explicit);
    }
    body.extend(buf);
    let mut record = vec![typ, 3, 3, (body.len() >> 8) as u8, body.len() as u8];
    record.extend(body);
    record
}

#[test]
fn tls12_records_after_change_cipher_spec() {
    for (cipher, aead, hash) in [
        (0xC02Fu16, AeadKind::Aes128Gcm, Hash::Sha256),
        (0xC030, AeadKind::Aes256Gcm, Hash::Sha384),
        (0xCCA8, AeadKind::ChaCha20Poly1305, Hash::Sha256),
    ] {
        let master = [0x42u8; 48];
        let log = keylog(&[("CLIENT_RANDOM", &master)]);
        // The key block, computed independently of RecordKeys::tls12.
        let (kl, il) = match aead {
            AeadKind::Aes128Gcm => (16, 4),
            AeadKind::Aes256Gcm => (32, 4),
            AeadKind::ChaCha20Poly1305 => (32, 12),
        };
        let mut seed = vec![9u8; 32];
        seed.extend(RANDOM);
        let mut block = vec![0u8; 2 * (kl + il)];
        prf(hash, &master, b"key expansion", &seed, &mut block).unwrap();
        let (ck, rest) = block.split_at(kl);
        let (sk, rest) = rest.split_at(kl);
        let (ci, si) = rest.split_at(il);

        let mut d = Decryptor::new(log);
        d.hellos(&hellos(cipher, false));
        let mut out = Out::default();
        let ccs = [20u8, 3, 3, 0, 1, 1];
        feed(&mut d, Side::Client, &ccs, 1, 9, &mut out);
        feed(
            &mut d,
            Side::Client,
            &seal12((ck, ci), aead, 0, 22, b"\x14\0\0\x0cfinished...."),
            2,
            9,
            &mut out,
        );
        feed(&mut d, Side::Server, &ccs, 3, 9, &mut out);
        feed(
            &mut d,
            Side::Server,
            &seal12((sk, si), aead, 0, 22, b"\x14\0\0\x0cfinished...."),
            4,
            9,
            &mut out,
        );
        feed(
            &mut d,
            Side::Client,
            &seal12((ck, ci), aead, 1, 23, b"GET / HTTP/1.1\r\n\r\n"),
            5,
            4,
            &mut out,
        );
        feed(
            &mut d,
            Side::Server,
            &seal12((sk, si), aead, 1, 23, b"HTTP/1.1 204 No Content\r\n\r\n"),
            6,
            4,
            &mut out,
        );
        assert_eq!(
            out.plain,
            vec![
                (Side::Client, 0, b"GET / HTTP/1.1\r\n\r\n".to_vec(), 5),
                (
                    Side::Server,
                    0,
                    b"HTTP/1.1 204 No Content\r\n\r\n".to_vec(),
                    6
                ),
            ],
            "suite {cipher:04x}"
        );
        let r = d.finish();
        assert!(r.decrypted(), "{r:?}");
        assert_eq!(r.records, [2, 2]);
    }
}

#[test]
fn a_tls12_heartbeat_after_change_cipher_spec_is_protected_and_takes_a_sequence_number() {
    // Every record after ChangeCipherSpec is protected (RFC 5246 §6.2,
    // RFC 6520 §3): a heartbeat too. Skipping it put the next record's
    // sequence number off by one, and that record failed to authenticate
    // (found by the decrypt fuzz target's clean-script oracle).
    let master = [0x42u8; 48];
    let log = keylog(&[("CLIENT_RANDOM", &master)]);
    let mut seed = vec![9u8; 32];
    seed.extend(RANDOM);
    let mut block = vec![0u8; 2 * (16 + 4)];
    prf(Hash::Sha256, &master, b"key expansion", &seed, &mut block).unwrap();
    let (ck, rest) = block.split_at(16);
    let (_, rest) = rest.split_at(16);
    let (ci, _) = rest.split_at(4);
    let mut d = Decryptor::new(log);
    d.hellos(&hellos(0xC02F, false));
    let mut out = Out::default();
    feed(&mut d, Side::Client, &[20, 3, 3, 0, 1, 1], 1, 9, &mut out);
    let heartbeat = b"\x01\x00\x10sixteen bytes...";
    for (seq, typ, content) in [
        (0, 22, &b"\x14\0\0\x0cfinished...."[..]),
        (1, 24, &heartbeat[..]),
        (2, 23, &b"GET / HTTP/1.1\r\n\r\n"[..]),
    ] {
        let record = seal12((ck, ci), AeadKind::Aes128Gcm, seq, typ, content);
        feed(&mut d, Side::Client, &record, 2 + seq as i64, 7, &mut out);
    }
    assert_eq!(
        out.plain,
        vec![(Side::Client, 0, b"GET / HTTP/1.1\r\n\r\n".to_vec(), 4)]
    );
    assert!(out.lost.is_empty());
    let r = d.finish();
    assert_eq!(r.records, [3, 0], "the heartbeat opened, not handed over");
    assert_eq!(r.failure, None);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn suite_of(pick: u8) -> (u16, bool, usize) {
        match pick % 6 {
            0 => (0x1301, true, 32),
            1 => (0x1302, true, 48),
            2 => (0x1303, true, 32),
            3 => (0xC02F, false, 48),
            4 => (0xC030, false, 48),
            _ => (0xCCA8, false, 48),
        }
    }

    proptest! {
        /// Arbitrary records under arbitrary secrets, cut anywhere: no
        /// panic, nothing handed over that did not authenticate (a random
        /// record practically never does), never more plaintext than
        /// ciphertext, and no buffer past a record's bound.
        #[test]
        fn arbitrary_records_never_panic_nor_leak(
            pick in any::<u8>(),
            secret in proptest::collection::vec(any::<u8>(), 48),
            records in proptest::collection::vec(
                (any::<bool>(), 20u8..25, proptest::collection::vec(any::<u8>(), 0..600), 1usize..64),
                0..12,
            ),
        ) {
            let (cipher, tls13, len) = suite_of(pick);
            let s = &secret[..len];
            let log = keylog(&[
                ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", &s[..len.min(48)]),
                ("SERVER_TRAFFIC_SECRET_0", s),
                ("CLIENT_RANDOM", &secret),
            ]);
            let mut d = Decryptor::new(log);
            d.hellos(&hellos(cipher, tls13));
            let mut out = Out::default();
            let mut sealed = 0usize;
            for (server, typ, body, piece) in &records {
                let side = if *server { Side::Server } else { Side::Client };
                let mut rec = vec![*typ, 3, 3, (body.len() >> 8) as u8, body.len() as u8];
                rec.extend(body);
                sealed += body.len();
                feed(&mut d, side, &rec, 1, *piece, &mut out);
            }
            let handed: usize = out.plain.iter().map(|p| p.2.len()).sum();
            prop_assert!(handed <= sealed);
            let r = d.finish();
            prop_assert_eq!(r.plaintext_bytes[0] + r.plaintext_bytes[1], handed as u64);
        }

        /// Records sealed with the right keys, whatever their content,
        /// padding and cutting, come out whole and in order.
        #[test]
        fn sealed_records_round_trip(
            pick in 0u8..3,
            secret in proptest::collection::vec(any::<u8>(), 48),
            messages in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 1..300), 0usize..20, 1usize..50),
                1..8,
            ),
        ) {
            let (cipher, _, len) = suite_of(pick);
            let suite = Suite::tls13(cipher).unwrap();
            let s = &secret[..len];
            let mut d = Decryptor::new(keylog(&[("CLIENT_TRAFFIC_SECRET_0", s)]));
            d.hellos(&hellos(cipher, true));
            let mut out = Out::default();
            let mut want: Vec<u8> = Vec::new();
            for (seq, (content, padding, piece)) in messages.iter().enumerate() {
                let rec = seal13(suite, s, seq as u64, content, 23, *padding);
                feed(&mut d, Side::Client, &rec, seq as i64, *piece, &mut out);
                want.extend(content);
            }
            let got: Vec<u8> = out.plain.iter().flat_map(|p| p.2.clone()).collect();
            prop_assert_eq!(got, want);
            prop_assert!(d.finish().decrypted());
        }
    }
}

// ---------------------------------------------------------------- 0-RTT

const EARLY: [u8; 32] = [5; 32];
const CHS: [u8; 32] = [1; 32];
const SHS: [u8; 32] = [2; 32];
const CAP: [u8; 32] = [3; 32];

fn early_log() -> Arc<KeyLog> {
    keylog(&[
        ("CLIENT_EARLY_TRAFFIC_SECRET", &EARLY),
        ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", &CHS),
        ("SERVER_HANDSHAKE_TRAFFIC_SECRET", &SHS),
        ("CLIENT_TRAFFIC_SECRET_0", &CAP),
        ("SERVER_TRAFFIC_SECRET_0", &[4; 32]),
    ])
}

/// The ClientHello of a resumption with early data; with `psk`, the
/// ServerHello too (choosing the PSK or not).
fn early_hellos(server: Option<bool>) -> TlsReport {
    let mut r = hellos(0x1303, true);
    r.client_hello = Some(ClientHelloFacts {
        random: RANDOM,
        supported_versions: vec![0x0304],
        psk: true,
        early_data: true,
        ..ClientHelloFacts::default()
    });
    match server {
        None => r.server_hello = None,
        Some(psk) => r.server_hello.as_mut().unwrap().psk = psk,
    }
    r
}

/// EncryptedExtensions with the given extensions (type, body).
fn encrypted_extensions(exts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut e = Vec::new();
    for (t, b) in exts {
        e.extend(t.to_be_bytes());
        e.extend((b.len() as u16).to_be_bytes());
        e.extend(*b);
    }
    let mut body = (e.len() as u16).to_be_bytes().to_vec();
    body.extend(e);
    let mut m = vec![8, 0, (body.len() >> 8) as u8, body.len() as u8];
    m.extend(body);
    m
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

#[test]
fn early_data_is_held_until_the_server_accepts_it_then_read_at_its_records_times() {
    let suite = Suite::tls13(0x1303).unwrap();
    let mut d = Decryptor::new(early_log());
    let mut out = Out::default();
    d.hellos(&early_hellos(None));
    // Two 0-RTT records right after the ClientHello (ChaCha20: found by
    // trial among the SHA-256 suites).
    feed(
        &mut d,
        Side::Client,
        &seal13(suite, &EARLY, 0, &GET[..10], 23, 0),
        10,
        7,
        &mut out,
    );
    feed(
        &mut d,
        Side::Client,
        &seal13(suite, &EARLY, 1, &GET[10..], 23, 2),
        11,
        100,
        &mut out,
    );
    assert!(out.plain.is_empty(), "held until the server answers");
    d.hellos(&early_hellos(Some(true)));
    // The server's EncryptedExtensions with early_data: accepted.
    let ee = encrypted_extensions(&[(16, b"\0\x09\x08http/1.1"), (42, b"")]);
    feed(
        &mut d,
        Side::Server,
        &seal13(suite, &SHS, 0, &ee, 22, 0),
        20,
        100,
        &mut out,
    );
    assert_eq!(
        out.plain,
        vec![
            (Side::Client, 0, GET[..10].to_vec(), 10),
            (Side::Client, 10, GET[10..].to_vec(), 11),
        ]
    );
    // EndOfEarlyData, the Finished under the handshake keys, then data
    // under the application keys, after the early bytes.
    feed(
        &mut d,
        Side::Client,
        &seal13(suite, &EARLY, 2, &[5, 0, 0, 0], 22, 0),
        30,
        100,
        &mut out,
    );
    feed(
        &mut d,
        Side::Client,
        &seal13(suite, &CHS, 0, &[20, 0, 0, 1, 0], 22, 0),
        30,
        100,
        &mut out,
    );
    feed(
        &mut d,
        Side::Client,
        &seal13(suite, &CAP, 0, b"GET /2", 23, 0),
        40,
        100,
        &mut out,
    );
    assert_eq!(
        out.plain.last().unwrap(),
        &(Side::Client, GET.len() as u64, b"GET /2".to_vec(), 40)
    );
    let r = d.finish();
    assert_eq!(r.early_data, Some(EarlyData::Accepted));
    assert_eq!(
        (r.early_data_records, r.early_data_bytes),
        (3, GET.len() as u64)
    );
    assert_eq!(r.failure, None);
    assert_eq!(r.describe(), "decrypted; 0-RTT early data accepted");
}

#[test]
fn rejected_early_data_is_skipped_and_no_failure() {
    let suite = Suite::tls13(0x1303).unwrap();
    // Rejected in the EncryptedExtensions (PSK chosen), or by a ServerHello
    // without the PSK (a full handshake): the 0-RTT records before the
    // answer and after it are skipped alike.
    for psk in [true, false] {
        let mut d = Decryptor::new(early_log());
        let mut out = Out::default();
        d.hellos(&early_hellos(None));
        feed(
            &mut d,
            Side::Client,
            &seal13(suite, &EARLY, 0, GET, 23, 0),
            10,
            100,
            &mut out,
        );
        d.hellos(&early_hellos(Some(psk)));
        let ee = encrypted_extensions(&[(16, b"\0\x09\x08http/1.1")]);
        feed(
            &mut d,
            Side::Server,
            &seal13(suite, &SHS, 0, &ee, 22, 0),
            20,
            100,
            &mut out,
        );
        feed(
            &mut d,
            Side::Client,
            &seal13(suite, &EARLY, 1, GET, 23, 0),
            21,
            100,
            &mut out,
        );
        // No EndOfEarlyData: the client's Finished, then its data at offset 0.
        feed(
            &mut d,
            Side::Client,
            &seal13(suite, &CHS, 0, &[20, 0, 0, 1, 0], 22, 0),
            30,
            100,
            &mut out,
        );
        feed(
            &mut d,
            Side::Client,
            &seal13(suite, &CAP, 0, b"GET /2", 23, 0),
            40,
            100,
            &mut out,
        );
        assert_eq!(
            out.plain,
            vec![(Side::Client, 0, b"GET /2".to_vec(), 40)],
            "psk {psk}"
        );
        assert!(out.lost.is_empty());
        let r = d.finish();
        assert_eq!(r.early_data, Some(EarlyData::Rejected));
        assert_eq!(r.early_data_skipped_bytes, 2 * GET.len() as u64);
        assert_eq!((r.failure, r.decrypted()), (None, true));
    }
}

#[test]
fn without_the_servers_handshake_secret_end_of_early_data_says_accepted() {
    let suite = Suite::tls13(0x1303).unwrap();
    let log = keylog(&[
        ("CLIENT_EARLY_TRAFFIC_SECRET", &EARLY),
        ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", &CHS),
    ]);
    let mut d = Decryptor::new(log);
    let mut out = Out::default();
    d.hellos(&early_hellos(None));
    feed(
        &mut d,
        Side::Client,
        &seal13(suite, &EARLY, 0, GET, 23, 0),
        10,
        100,
        &mut out,
    );
    d.hellos(&early_hellos(Some(true)));
    assert!(out.plain.is_empty());
    feed(
        &mut d,
        Side::Client,
        &seal13(suite, &EARLY, 1, &[5, 0, 0, 0], 22, 0),
        30,
        100,
        &mut out,
    );
    assert_eq!(out.plain, vec![(Side::Client, 0, GET.to_vec(), 10)]);
    assert_eq!(d.finish().early_data, Some(EarlyData::Accepted));
}

#[test]
fn early_data_past_what_is_held_is_not_read() {
    let suite = Suite::tls13(0x1303).unwrap();
    let log = keylog(&[
        ("CLIENT_EARLY_TRAFFIC_SECRET", &EARLY),
        ("SERVER_HANDSHAKE_TRAFFIC_SECRET", &SHS),
    ]);
    let ee = encrypted_extensions(&[(42, b"")]);
    let chunk = vec![b'x'; 16384];
    // Four full records are MAX_EARLY_HELD exactly: held, then read; one
    // byte more and nothing is, the client's stream lost from its start.
    for extra in [0usize, 1] {
        let mut d = Decryptor::new(log.clone());
        let mut out = Out::default();
        d.hellos(&early_hellos(None));
        let mut seq = 0;
        for _ in 0..4 {
            feed(
                &mut d,
                Side::Client,
                &seal13(suite, &EARLY, seq, &chunk, 23, 0),
                10,
                5000,
                &mut out,
            );
            seq += 1;
        }
        if extra > 0 {
            feed(
                &mut d,
                Side::Client,
                &seal13(suite, &EARLY, seq, &chunk[..extra], 23, 0),
                11,
                100,
                &mut out,
            );
        }
        d.hellos(&early_hellos(Some(true)));
        feed(
            &mut d,
            Side::Server,
            &seal13(suite, &SHS, 0, &ee, 22, 0),
            20,
            100,
            &mut out,
        );
        let r = d.finish();
        if extra == 0 {
            assert_eq!(
                out.plain.iter().map(|p| p.2.len()).sum::<usize>(),
                MAX_EARLY_HELD
            );
            assert_eq!(r.early_data, Some(EarlyData::Accepted));
        } else {
            assert!(out.plain.is_empty());
            assert_eq!(out.lost, vec![(Side::Client, 0)]);
            assert_eq!(r.early_data, Some(EarlyData::TooLarge));
            assert_eq!(r.early_data_skipped_bytes, (MAX_EARLY_HELD + extra) as u64);
        }
    }
}

#[test]
fn encrypted_extensions_are_read_without_trusting_their_lengths() {
    assert_eq!(
        early_data_in_encrypted_extensions(&encrypted_extensions(&[(42, b"")])),
        Some(true)
    );
    assert_eq!(
        early_data_in_encrypted_extensions(&encrypted_extensions(&[(0, b""), (16, b"ab")])),
        Some(false)
    );
    // Another message first (none in practice), then EncryptedExtensions.
    let mut two = vec![20, 0, 0, 1, 9];
    two.extend(encrypted_extensions(&[(42, b"")]));
    assert_eq!(early_data_in_encrypted_extensions(&two), Some(true));
    // Cut anywhere, or lengths that overrun: never a panic, and no
    // acceptance read from past the message.
    let whole = encrypted_extensions(&[(16, b"\0\x09\x08http/1.1"), (42, b"")]);
    for n in 0..whole.len() {
        assert_ne!(
            early_data_in_encrypted_extensions(&whole[..n]),
            Some(true),
            "{n}"
        );
    }
    assert_eq!(
        early_data_in_encrypted_extensions(&[8, 0, 0, 4, 0, 9, 0, 42]),
        None
    );
    assert_eq!(
        early_data_in_encrypted_extensions(&[8, 0xff, 0xff, 0xff]),
        None
    );
}
