use super::*;
use crate::tls::build::*;
use crate::tls::{HandshakeKind, TlsVersion};

const MS: i64 = 1_000_000;

/// Feeds a connection: each item is (side, time in ms, bytes), in order.
fn run(events: &[(Side, i64, Vec<u8>)]) -> (TlsConnection, Vec<u64>) {
    let mut c = TlsConnection::new(TlsLimits::default());
    let mut next = [0u64; 2];
    let mut frames = Vec::new();
    for (n, (side, t, bytes)) in events.iter().enumerate() {
        let off = next.of_mut(*side);
        c.on_data(*side, *off, bytes, Timestamp(t * MS));
        *off += bytes.len() as u64;
        let meta = SegmentMeta {
            ts: Timestamp(t * MS),
            frame: n as u64 + 1,
            kind: crate::reassembly::SegmentKind::NewData,
            offset: 0,
            len: bytes.len() as u32,
            ack: None,
            window: 0,
        };
        c.on_segment(*side, &meta);
        frames.push(n as u64 + 1);
    }
    (c, frames)
}

fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn a_tls13_full_handshake_and_one_exchange() {
    let ch = ClientHello::new()
        .sni("shop.example")
        .alpn(&["h2", "http/1.1"])
        .tls13()
        .session_id(&[1; 32]);
    let sh = ServerHello::new().version(0x0304).session_id(&[1; 32]);
    let (c, _) = run(&[
        (Side::Client, 0, ch.record()),
        (Side::Server, 50, tls13_server_flight(&sh)),
        (
            Side::Client,
            51,
            concat(&[tls13_client_finished(), app_data(120)]),
        ),
        // Two session tickets, then the response in two records.
        (Side::Server, 101, concat(&[app_data(250), app_data(250)])),
        (Side::Server, 140, concat(&[app_data(1000), app_data(300)])),
        (Side::Server, 141, tls13_close_notify()),
    ]);
    let r = c.finish();
    assert_eq!(r.version(), Some(TlsVersion::TLS13));
    assert_eq!(r.offered_version(), Some(TlsVersion::TLS13));
    assert_eq!(r.sni(), Some("shop.example"));
    assert_eq!(r.alpn_offered(), ["h2", "http/1.1"]);
    assert_eq!(r.alpn(), None, "TLS 1.3 sends it encrypted");
    assert_eq!(
        r.handshake,
        HandshakeKind::Full,
        "a session id echoed is not resumption in 1.3"
    );
    assert_eq!(r.cipher_suite().as_deref(), Some("TLS_AES_128_GCM_SHA256"));
    assert_eq!(r.client_hello_frame, Some(1));
    assert_eq!(r.handshake_ns(), Some(51 * MS));
    assert_eq!(r.client_first_data_ns(), Some(51 * MS));
    assert_eq!(r.client_first_data_frame, Some(3));
    let (req, resp) = r.one_exchange().expect("one exchange");
    assert_eq!((req.bytes, resp.end_ts), (125, Timestamp(140 * MS)));
    assert_eq!(
        r.first_server_data_ns(),
        Some(50 * MS),
        "the tickets come first"
    );
    let e = r.exchanges;
    assert_eq!((e.client_bursts, e.server_bursts), (1, 1), "{e:?}");
    let resp = e.first_response.expect("a response");
    assert_eq!(
        resp.end_ts,
        Timestamp(140 * MS),
        "the close_notify is not the response"
    );
    assert_eq!(resp.records, 4);
    assert_eq!(r.records[0].application_data, 1, "the Finished is not data");
    assert_eq!(r.records[1].application_data, 5, "{:?}", r.records[1]);
}

#[test]
fn tls12_full_and_resumed_handshakes() {
    let ch = ClientHello::new().sni("a.example").ticket(&[]);
    let sh = ServerHello::new()
        .session_id(&[5; 32])
        .ticket()
        .alpn("http/1.1");
    let (c, _) = run(&[
        (Side::Client, 0, ch.record()),
        (
            Side::Server,
            50,
            concat(&[sh.record(), tls12_certificate_flight()]),
        ),
        (Side::Client, 51, tls12_client_finished()),
        (Side::Server, 101, tls12_server_finished(true)),
        (Side::Client, 102, app_data(100)),
        (Side::Server, 152, app_data(400)),
    ]);
    let r = c.finish();
    assert_eq!(r.version(), Some(TlsVersion::TLS12));
    assert_eq!(r.handshake, HandshakeKind::Full);
    assert!(r.certificate && r.ticket_issued);
    assert_eq!(r.alpn(), Some("http/1.1"));
    assert_eq!(r.handshake_ns(), Some(101 * MS), "two round trips");
    assert_eq!(r.client_first_data_ns(), Some(102 * MS));
    assert_eq!(r.client_finished_ts, Some(Timestamp(51 * MS)));
    assert_eq!(r.server_finished_ts, Some(Timestamp(101 * MS)));
    // Resumed with the session id: the server echoes it and changes
    // cipher at once.
    let ch = ClientHello::new().session_id(&[5; 32]);
    let sh = ServerHello::new().session_id(&[5; 32]);
    let (c, _) = run(&[
        (Side::Client, 0, ch.record()),
        (
            Side::Server,
            50,
            concat(&[sh.record(), tls12_server_finished(false)]),
        ),
        (
            Side::Client,
            51,
            concat(&[ccs(), record(22, &[1; 40]), app_data(100)]),
        ),
    ]);
    let r = c.finish();
    assert_eq!(r.handshake, HandshakeKind::Resumed);
    assert_eq!(r.handshake_ns(), Some(51 * MS), "one round trip");
    // Resumed with a ticket and no session id: only the abbreviated
    // flight (no certificate before the ChangeCipherSpec) shows it.
    let ch = ClientHello::new().ticket(&[7; 160]);
    let (c, _) = run(&[
        (Side::Client, 0, ch.record()),
        (
            Side::Server,
            50,
            concat(&[ServerHello::new().record(), tls12_server_finished(true)]),
        ),
    ]);
    assert_eq!(c.finish().handshake, HandshakeKind::Resumed);
}

#[test]
fn psk_hello_retry_and_early_data() {
    let ch = ClientHello::new().tls13().early_data().psk();
    let (c, _) = run(&[
        (
            Side::Client,
            0,
            concat(&[ch.record(), ccs(), app_data(200)]),
        ),
        (Side::Server, 50, ServerHello::new().hello_retry().record()),
        (Side::Server, 50, ccs()),
        (Side::Client, 51, ch.record()),
        (
            Side::Server,
            101,
            tls13_server_flight(&ServerHello::new().version(0x0304).psk()),
        ),
        (Side::Client, 102, concat(&[app_data(48), app_data(90)])),
    ]);
    let r = c.finish();
    assert!(r.hello_retry);
    assert_eq!(r.client_hellos, 2);
    assert_eq!(r.handshake, HandshakeKind::Resumed);
    assert_eq!(r.early_data_records, 1);
    assert!(r
        .client_hello
        .as_ref()
        .is_some_and(|c| c.psk && c.early_data));
    assert_eq!(r.handshake_ns(), Some(102 * MS));
}

#[test]
fn a_client_that_waits_after_its_finished_is_not_a_longer_handshake() {
    let (c, _) = run(&[
        (Side::Client, 0, ClientHello::new().tls13().record()),
        (
            Side::Server,
            50,
            tls13_server_flight(&ServerHello::new().version(0x0304)),
        ),
        (Side::Client, 51, tls13_client_finished()),
        (Side::Client, 151, app_data(100)),
    ]);
    let r = c.finish();
    assert_eq!(r.handshake_ns(), Some(51 * MS));
    assert_eq!(r.client_first_data_ns(), Some(151 * MS));
}

#[test]
fn a_reset_or_fin_inside_a_record_is_seen_as_a_cut() {
    let mut c = TlsConnection::new(TlsLimits::default());
    let rec = app_data(16000);
    c.on_data(Side::Server, 0, &rec[..3000], Timestamp(0));
    c.on_rst(Side::Client, Timestamp(MS));
    c.on_fin(Side::Server, Timestamp(2 * MS));
    let r = c.finish();
    assert_eq!(r.cut_by_rst[1], Some((16000, 13005)));
    assert_eq!(r.cut_by_rst[0], None);
    assert_eq!(r.cut_by_fin[1], Some((16000, 13005)));
}

#[test]
fn a_release_is_placed_among_the_senders_records() {
    let first = app_data(200);
    let second = app_data(50);
    let (c, _) = run(&[
        (Side::Client, 0, first.clone()),
        (Side::Client, 90, second.clone()),
    ]);
    let release = AckRelease {
        sender: Side::Client,
        held_ts: Timestamp(0),
        held_frame: 1,
        held_len: first.len() as u32,
        held_end: first.len() as u64,
        mss: Some(1448),
        ack_ts: Timestamp(90 * MS),
        ack_frame: 2,
        acked_all: true,
        prev_ts: Timestamp(0),
        prev_frame: 1,
        prev_end: first.len() as u64,
        in_flight: 0,
        release_ts: Timestamp(90 * MS),
        release_offset: first.len() as u64,
        release_len: second.len() as u32,
        release_frame: 3,
        rtt_to_sender_ns: Some(0),
        rtt_to_receiver_ns: Some(50 * MS),
    };
    let p = c.place(&release);
    assert!(p.held_ends_record && p.release_starts_record);
    assert_eq!(p.held, Some((RecordKind::EarlyData, 200)));
    assert_eq!(p.released, Some((RecordKind::EarlyData, 50)));
}
