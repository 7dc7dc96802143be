//! The ack clock on scripted segments: releases, in-flight data, round trips.

#![allow(clippy::arithmetic_side_effects)]

use super::*;

fn t(ms: i64) -> Timestamp {
    Timestamp(ms * 1_000_000)
}

fn sent(ms: i64, offset: u64, len: u32, frame: u64) -> Sent {
    Sent {
        ts: t(ms),
        frame,
        offset,
        len,
        mss: Some(1448),
        tsecr: None,
    }
}

/// The same, echoing TCP timestamp `tsecr`.
fn sent_ts(ms: i64, offset: u64, len: u32, frame: u64, tsecr: u32) -> Sent {
    Sent {
        tsecr: Some(tsecr),
        ..sent(ms, offset, len, frame)
    }
}

#[test]
fn write_write_read_stall_is_reported() {
    let mut p = Pacing::default();
    p.note_rtt(100_000);
    assert!(p.data(Side::Client, sent(0, 0, 100, 1)).is_none());
    p.peer_pure_ack(100, t(40), 2, Some(50_000_000), None);
    let r = p.data(Side::Client, sent(41, 100, 50, 3)).unwrap();
    assert_eq!(
        (r.held_len, r.held_end, r.held_frame, r.mss),
        (100, 100, 1, Some(1448))
    );
    assert_eq!((r.ack_ts, r.ack_frame, r.acked_all), (t(40), 2, true));
    assert_eq!(
        (
            r.release_ts,
            r.release_offset,
            r.release_len,
            r.release_frame
        ),
        (t(41), 100, 50, 3)
    );
    assert_eq!(
        (r.rtt_to_sender_ns, r.rtt_to_receiver_ns),
        (Some(100_000), Some(50_000_000))
    );
    // Nothing came between: the sender was quiet since the held segment.
    assert_eq!((r.prev_ts, r.prev_frame, r.prev_end), (t(0), 1, 100));
    assert_eq!((r.in_flight, r.idle_ns()), (0, 41_000_000));
    // The release is the new held segment; nothing pending any more.
    assert!(p.data(Side::Client, sent(42, 150, 50, 4)).is_none());
}

#[test]
fn data_from_the_peer_in_between_is_not_an_ack_release() {
    let mut p = Pacing::default();
    p.data(Side::Client, sent(0, 0, 100, 1));
    p.peer_pure_ack(100, t(40), 2, None, None);
    p.peer_data(Some(100)); // e.g. "HTTP/1.1 100 Continue"
    assert!(p.data(Side::Client, sent(41, 100, 50, 4)).is_none());
}

#[test]
fn duplicate_acks_and_acks_of_older_data_do_not_count() {
    let mut p = Pacing::default();
    p.data(Side::Server, sent(0, 0, 100, 1));
    p.peer_pure_ack(100, t(1), 2, None, None);
    p.data(Side::Server, sent(2, 100, 100, 3));
    p.peer_pure_ack(100, t(3), 4, None, None); // duplicate of an old ack
    assert!(p.data(Side::Server, sent(4, 200, 100, 5)).is_none());
    p.data(Side::Server, sent(5, 300, 200, 6));
    p.peer_pure_ack(450, t(8), 9, None, None); // into the last segment: partial
    let r = p.data(Side::Server, sent(9, 500, 100, 10)).unwrap();
    assert!(!r.acked_all);
    assert_eq!((r.held_frame, r.held_end), (6, 500));
}

#[test]
fn at_the_sender_the_ack_times_the_segment_it_covers() {
    // A window-bound sender: three segments, the peer's ACK of the
    // first lets out two more; the delayed ACK of the third comes back
    // while those two are unacknowledged.
    let mut p = Pacing::default();
    p.note_rtt(50_000); // the capture is at the sender
    p.data(Side::Server, sent(0, 0, 1000, 1));
    p.data(Side::Server, sent(0, 1000, 1000, 2));
    p.data(Side::Server, sent(0, 2000, 1000, 3));
    p.peer_pure_ack(2000, t(50), 4, Some(50_000_000), None);
    let r = p.data(Side::Server, sent(50, 3000, 1000, 5)).unwrap();
    assert_eq!((r.held_frame, r.idle_ns()), (2, 50_000_000));
    p.data(Side::Server, sent(50, 4000, 1000, 6));
    p.peer_pure_ack(3000, t(93), 7, Some(50_000_000), None);
    let r = p.data(Side::Server, sent(93, 5000, 1000, 8)).unwrap();
    // The ACK covers frame 3 (sent at 0), not the last data (frame 6).
    assert_eq!((r.held_frame, r.held_ts, r.held_end), (3, t(0), 3000));
    assert!(!r.acked_all);
    assert_eq!(
        (r.prev_frame, r.prev_end, r.idle_ns()),
        (6, 5000, 43_000_000)
    );
    // An ACK of data older than the last eight segments starts no wait.
    let mut p = Pacing::default();
    for i in 0..9 {
        p.data(Side::Server, sent(0, i * 100, 100, i + 1));
    }
    p.peer_pure_ack(100, t(90), 10, None, None);
    assert!(p.data(Side::Server, sent(91, 900, 100, 11)).is_none());
    // (Frame 2 left the memory with frame 11; frame 3 is in it.)
    p.peer_pure_ack(300, t(92), 12, None, None);
    assert_eq!(
        p.data(Side::Server, sent(93, 1000, 100, 13))
            .unwrap()
            .held_frame,
        3
    );
}

/// A receiver-side capture: the server's segment at 0, the client's
/// delayed ACK at 40, one round trip to the server of 50 ms.
fn receiver_side() -> Pacing {
    let mut p = Pacing::default();
    p.note_rtt(50_000_000);
    p.data(Side::Server, sent(0, 0, 1000, 1));
    p.peer_pure_ack(1000, t(40), 2, Some(100_000), None);
    p
}

#[test]
fn in_flight_data_neither_releases_nor_consumes_the_ack() {
    // Without timestamps, data seen sooner than the round trip less 5 ms
    // after the ACK was on its way already.
    let mut p = receiver_side();
    assert!(p.data(Side::Server, sent(50, 1000, 1000, 3)).is_none());
    assert!(p.data(Side::Server, sent(84, 2000, 1000, 4)).is_none());
    let r = p.data(Side::Server, sent(90, 3000, 1000, 5)).unwrap();
    assert_eq!((r.ack_frame, r.held_frame, r.held_end), (2, 1, 1000));
    assert_eq!((r.prev_frame, r.prev_end, r.in_flight), (4, 3000, 2));
    assert_eq!(r.idle_ns(), 6_000_000);
    // The edge: 45 ms after the ACK is a release, a hair less is not.
    let mut p = receiver_side();
    assert!(p
        .data(
            Side::Server,
            Sent {
                ts: Timestamp(84_999_999),
                ..sent(0, 1000, 1000, 3)
            }
        )
        .is_none());
    assert!(p.data(Side::Server, sent(85, 2000, 1000, 4)).is_some());
    // Without a round trip to the sender, nothing is in flight.
    let mut p = Pacing::default();
    p.data(Side::Server, sent(0, 0, 1000, 1));
    p.peer_pure_ack(1000, t(40), 2, None, None);
    assert!(p.data(Side::Server, sent(41, 1000, 1000, 3)).is_some());
}

/// [`receiver_side`] with timestamps: the server's segment echoes 7, the
/// client's earlier segment carried 7 and its ACK carries `tsval`.
fn receiver_side_ts(tsval: u32) -> Pacing {
    let mut p = Pacing::default();
    p.note_rtt(50_000_000);
    p.peer_tsval(7, t(-10));
    p.data(Side::Server, sent_ts(0, 0, 1000, 1, 7));
    p.peer_pure_ack(1000, t(40), 2, Some(100_000), Some(tsval));
    p.peer_tsval(tsval, t(40));
    p
}

#[test]
fn timestamps_tell_in_flight_data_within_the_round_trip() {
    // An older echo 48 ms after the ACK: in flight (time alone would
    // have taken it as the release).
    let mut p = receiver_side_ts(47);
    assert!(p
        .data(Side::Server, sent_ts(88, 1000, 1000, 3, 7))
        .is_none());
    assert!(p
        .data(Side::Server, sent_ts(90, 2000, 1000, 4, 47))
        .is_some());
    // The ACK's own value echoed 20 ms after it: the sender had it (the
    // round trip was overstated), a release.
    let mut p = receiver_side_ts(47);
    let r = p
        .data(Side::Server, sent_ts(60, 1000, 1000, 3, 47))
        .unwrap();
    assert_eq!(r.ack_frame, 2);
    // Timestamps alone are not trusted: a stale echo one round trip less
    // 1 ms after the ACK or later is a release; sooner, in flight.
    let mut p = receiver_side_ts(47);
    assert!(p
        .data(
            Side::Server,
            Sent {
                ts: Timestamp(88_999_999),
                ..sent_ts(0, 1000, 1000, 3, 7)
            }
        )
        .is_none());
    assert!(p
        .data(Side::Server, sent_ts(89, 2000, 1000, 4, 7))
        .is_some());
    // Wraparound: 2^32 - 1 is older than 3.
    let mut p = receiver_side_ts(3);
    assert!(p
        .data(Side::Server, sent_ts(88, 1000, 1000, 3, u32::MAX))
        .is_none());
}

#[test]
fn a_clock_that_did_not_tick_tells_nothing() {
    // The ACK carries the same value as the client's previous segment
    // (a coarse clock): an echo of it proves nothing, time decides.
    let mut p = receiver_side_ts(7);
    assert!(p
        .data(Side::Server, sent_ts(84, 1000, 1000, 3, 7))
        .is_none());
    assert!(p
        .data(Side::Server, sent_ts(86, 2000, 1000, 4, 7))
        .is_some());
}

#[test]
fn several_acks_wait_together() {
    // The client delays its ACK of the first segment (40); two
    // in-flight segments arrive (50), each acknowledged at once.
    let mut p = receiver_side();
    p.data(Side::Server, sent(50, 1000, 1000, 3));
    p.peer_pure_ack(2000, t(50), 4, Some(100_000), None);
    p.data(Side::Server, sent(50, 2000, 1000, 5));
    p.peer_pure_ack(3000, t(50), 6, Some(100_000), None);
    // One round trip after the first ACK: its release; the others wait.
    let r = p.data(Side::Server, sent(90, 3000, 1000, 7)).unwrap();
    assert_eq!((r.ack_frame, r.held_frame, r.in_flight), (2, 1, 2));
    assert_eq!((r.prev_frame, r.idle_ns()), (5, 40_000_000));
    // One round trip after the others: the newest is the release, of a
    // sender that was streaming (10 ms since its last data).
    let r = p.data(Side::Server, sent(100, 4000, 1000, 8)).unwrap();
    assert_eq!((r.ack_frame, r.held_frame, r.in_flight), (6, 5, 1));
    assert_eq!(r.idle_ns(), 10_000_000);
    assert!(p.data(Side::Server, sent(150, 5000, 1000, 9)).is_none());
}

#[test]
fn the_release_goes_to_the_ack_it_follows_by_a_round_trip() {
    // The delayed ACK (40) and one 1.1 ms after it, of in-flight data;
    // no timestamps. Data 50 ms after the first follows it by a round
    // trip; data 50 ms after the second, the second.
    for (at, frame) in [(90.0, 2), (91.1, 4)] {
        let mut p = receiver_side();
        p.data(Side::Server, sent(41, 1000, 1000, 3));
        p.peer_pure_ack(2000, Timestamp(41_100_000), 4, None, None);
        let ts = Timestamp((at * 1e6) as i64);
        let r = p
            .data(
                Side::Server,
                Sent {
                    ts,
                    ..sent(0, 2000, 1000, 5)
                },
            )
            .unwrap();
        assert_eq!(r.ack_frame, frame, "data at {at}");
    }
}

#[test]
fn when_too_many_acks_wait_the_oldest_are_kept() {
    let mut p = receiver_side();
    for i in 0..6u64 {
        p.data(Side::Server, sent(50, 1000 * (i + 1), 1000, 10 + 2 * i));
        p.peer_pure_ack(1000 * (i + 2), t(50), 11 + 2 * i, None, None);
    }
    // Kept: the delayed ACK (2), two after it (11, 13), and the newest (21).
    let r = p.data(Side::Server, sent(90, 7000, 1000, 30)).unwrap();
    assert_eq!((r.ack_frame, r.in_flight), (2, 6));
    let r = p.data(Side::Server, sent(100, 8000, 1000, 31)).unwrap();
    assert_eq!(r.ack_frame, 21);
    assert!(p.data(Side::Server, sent(200, 9000, 1000, 32)).is_none());
}

#[test]
fn a_partial_segment_behind_an_unacknowledged_one_is_unheld() {
    let mut p = Pacing::default();
    assert!(!p.unheld_partial(&sent(0, 0, 100, 1)), "nothing before it");
    p.data(Side::Client, sent(0, 0, 100, 1));
    assert!(p.unheld_partial(&sent(1, 100, 100, 2)));
    assert!(!p.unheld_partial(&sent(1, 100, 1448, 2)), "a full segment");
    assert!(!p.unheld_partial(&sent(1, 50, 100, 2)), "not after it");
    assert!(!p.unheld_partial(&Sent {
        mss: None,
        ..sent(1, 100, 100, 2)
    }));
    // Acknowledged (up to its end) before the next: Nagle lets it go.
    p.peer_pure_ack(99, t(1), 2, None, None);
    assert!(p.unheld_partial(&sent(2, 100, 100, 3)));
    p.peer_pure_ack(100, t(2), 3, None, None);
    assert!(!p.unheld_partial(&sent(3, 100, 100, 4)));
    // Behind a full segment (a large write's tail): no evidence.
    p.data(Side::Client, sent(4, 100, 1448, 4));
    assert!(!p.unheld_partial(&sent(4, 1548, 100, 5)));
}

#[test]
fn nagle_shape_edges() {
    let mut p = Pacing::default();
    p.data(Side::Client, sent(0, 0, 1000, 1));
    p.peer_pure_ack(1000, t(40), 2, None, None);
    let r = p.data(Side::Client, sent(41, 1000, 500, 3)).unwrap();
    assert!(r.nagle_shaped(1001));
    assert!(!r.nagle_shaped(1000), "a full segment was acknowledged");
    let full = AckRelease {
        release_len: 1001,
        ..r
    };
    assert!(!full.nagle_shaped(1001), "a full segment was released");
    assert!(AckRelease {
        release_len: 1000,
        ..r
    }
    .nagle_shaped(1001));
    assert!(!AckRelease {
        acked_all: false,
        ..r
    }
    .nagle_shaped(1001));
}

#[test]
fn a_retransmission_makes_the_wait_loss_recovery() {
    // The held segment is lost and retransmitted 200 ms later; the ACK
    // that follows answers the retransmission.
    let mut p = Pacing::default();
    p.data(Side::Client, sent(0, 0, 100, 1));
    p.retransmission(t(200));
    p.peer_pure_ack(100, t(250), 3, None, None);
    assert!(p.data(Side::Client, sent(250, 100, 50, 4)).is_none());
    // A retransmission between the ACK and the next data voids the ACK.
    p.peer_pure_ack(150, t(290), 5, None, None);
    p.retransmission(t(300));
    assert!(p.data(Side::Client, sent(301, 150, 50, 6)).is_none());
    // The same packet captured twice, 0.3 and 2 ms apart, is no
    // retransmission.
    let mut p = Pacing::default();
    p.data(Side::Client, sent(0, 0, 100, 1));
    p.retransmission(Timestamp(300_000));
    p.retransmission(t(2));
    p.retransmission(Timestamp(9_999_999));
    p.peer_pure_ack(100, t(40), 3, None, None);
    assert!(p.data(Side::Client, sent(41, 100, 50, 4)).is_some());
}

#[test]
fn round_trips_keep_the_smallest_sample() {
    let mut p = Pacing::default();
    assert_eq!(p.rtt(), None);
    p.note_rtt(50);
    p.note_rtt(70);
    p.note_rtt(-1); // clock going backwards is no sample
    assert_eq!(p.rtt(), Some(50));

    // Data/ACK pairs: only the first acknowledgement of the last data.
    let mut s = Pacing::default();
    s.data(Side::Client, sent(0, 0, 100, 1));
    assert_eq!(s.ack_sample(50, t(10)), None);
    assert_eq!(s.ack_sample(100, t(20)), Some(20_000_000));
    assert_eq!(s.ack_sample(100, t(30)), None);

    // Timestamps: the first echo of the peer's newest value, timed from
    // when that value was first seen.
    let mut x = Pacing::default();
    x.peer_tsval(7, t(0));
    x.peer_tsval(7, t(5));
    x.own_tsecr(6, t(8)); // an older value: not timed
    x.own_tsecr(7, t(9));
    x.own_tsecr(7, t(12)); // echoed again: already taken
    assert_eq!(x.rtt(), Some(9_000_000));
}

#[test]
fn timestamp_option_fast_and_slow_paths() {
    let ts = [1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6];
    assert_eq!(timestamp_option(&ts), Some((5, 6)));
    assert_eq!(timestamp_option(&ts[2..]), Some((5, 6)));
    // MSS first, then the timestamp: the full parser finds it.
    let odd = [2, 4, 5, 180, 8, 10, 0, 0, 0, 9, 0, 0, 0, 10];
    assert_eq!(timestamp_option(&odd), Some((9, 10)));
    assert_eq!(timestamp_option(&[]), None);
    assert_eq!(timestamp_option(&[1, 1, 8, 10, 0, 0]), None); // cut by the snaplen
}
