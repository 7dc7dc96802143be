//! SEGMENT ARRIVES: one segment into its connection, in the steps of RFC
//! 9293 §3.10.7.4, as a passive observer takes them.
//!
//! The RFC's receiver checks, in order: the sequence number (first), RST
//! (second), SYN (fourth), ACK (fifth), then processes the segment text
//! (seventh) and checks FIN (eighth); a segment that fails a check is
//! dropped. An observer drops nothing: every segment is evidence, and what
//! the receiver would discard (an out-of-window retransmission, a reset it
//! ignores) is counted rather than lost. So the steps run in the RFC's order
//! with one exception: SYN and ACK are taken *before* RST, because a reset
//! carries facts the report keeps — its acknowledgement (how much of the
//! peer's stream it had, [`RstSegment`]) and a hole in the peer's stream
//! that acknowledgement reveals — and a SYN's handshake time stands even on
//! a segment that also resets.
//!
//! | step | RFC 9293 | here |
//! |---|---|---|
//! | [`note_arrival`] | first, check sequence number | counts the segment, notes the stream's base sequence number; whether its bytes are new, retransmitted or out of order is the reassembler's, in [`process_segment_text`] |
//! | [`check_syn`] | fourth, check the SYN bit | the handshake: ISN, MSS, window scale, SYN / SYN+ACK / ACK times, the first round trips |
//! | [`check_ack`] | fifth, check the ACK field | the acknowledgement of the peer's stream (a hole there is a gap) |
//! | [`check_rst`] | second, check the RST bit | a reset pending until the connection ends or data shows it ignored; with SYN-SENT's "neither SYN nor RST: drop" (§3.10.7.3), a server's control segment before any SYN+ACK |
//! | [`process_segment_text`] | seventh, process the segment text | the reassembler places the bytes and says what the segment was |
//! | [`check_fin`] | eighth, check the FIN bit | the FIN's time; both FINs: the connection is closing |
//! | [`clock_and_report`] | — | the ack clock and round-trip samples (pacing), and the segment for the handler |

use super::Entry;
use crate::decode::TcpSegment;
use crate::flow::connection::{RoleEvidence, RstSegment};
use crate::reassembly::{
    timestamp_option, BySide, SegmentKind, SegmentMeta, Sent, Side, StreamHandler,
};

/// One segment into its connection; see the [module docs](self).
pub(super) fn process_in<H: StreamHandler>(e: &mut Entry<H>, seg: &TcpSegment<'_>, side: Side) {
    e.handler.on_frame(seg.frame);
    let side = note_arrival(e, seg, side);
    check_syn(e, seg, side);
    let ack_offset = check_ack(e, seg, side);
    if check_rst(e, seg, side, ack_offset) {
        return;
    }
    let (kind, data_seq) = process_segment_text(e, seg, side);
    check_fin(e, seg, side);
    clock_and_report(e, seg, side, kind, data_seq, ack_offset);
}

/// First: the segment is counted on its connection, and its sequence number
/// noted as the stream's base if it is the first. Roles guessed from ports
/// may give way to its payload first.
#[inline(always)]
fn note_arrival<H: StreamHandler>(e: &mut Entry<H>, seg: &TcpSegment<'_>, mut side: Side) -> Side {
    if e.conn.roles == RoleEvidence::Port && e.conn.packets > 0 && !seg.payload.is_empty() {
        side = reconsider_roles(e, seg, side);
    }
    let ts = seg.ts;
    e.conn.packets = e.conn.packets.saturating_add(1);
    e.conn.last_frame = seg.frame;
    if ts > e.conn.end_ts {
        e.conn.end_ts = ts;
    }
    e.last_ts = ts;
    // tshark's base sequence number: the ISN for a SYN, else one before the
    // first byte seen (so that a late SYN with that ISN is a retransmission).
    let base = if seg.flags.syn() {
        seg.seq
    } else {
        seg.seq.wrapping_sub(1)
    };
    e.first_seq.of_mut(side).get_or_insert(base);
    side
}

/// The handshake: a SYN fixes its side's ISN and options; the SYN, the
/// SYN+ACK and the client's ACK of it time the handshake and seed each
/// side's round trip for the ack clock (see `Connection::capture_rtt_to_ns`).
#[inline(always)]
fn check_syn<H>(e: &mut Entry<H>, seg: &TcpSegment<'_>, side: Side) {
    let (flags, ts) = (seg.flags, seg.ts);
    if flags.syn() {
        let rx = e.rx.of_mut(side);
        rx.syn(seg.seq);
        let stats = &mut rx.stats;
        let options = seg.options();
        stats.mss = stats.mss.or(options.mss);
        stats.window_scale = stats.window_scale.or(options.window_scale);
        if !flags.ack() && side == Side::Client {
            e.conn.handshake.syn.get_or_insert(ts);
        }
        if flags.ack() && side == Side::Server && e.conn.handshake.syn_ack.is_none() {
            e.conn.handshake.syn_ack = Some(ts);
            e.server_isn = Some(seg.seq);
            if let Some(syn) = e.conn.handshake.syn {
                e.pacing.of_mut(Side::Server).note_rtt(ts.since(syn));
            }
        }
    } else if flags.ack()
        && side == Side::Client
        && e.conn.handshake.ack.is_none()
        && e.conn.handshake.syn.is_some()
        && matches!(e.server_isn, Some(isn) if seg.ack == isn.wrapping_add(1))
    {
        e.conn.handshake.ack = Some(ts);
        if let Some(syn_ack) = e.conn.handshake.syn_ack {
            e.pacing.of_mut(Side::Client).note_rtt(ts.since(syn_ack));
        }
    }
}

/// The acknowledgement speaks about the peer's stream: it may reveal a hole
/// there that will never be filled from this capture. Returns the peer's
/// stream offset it acknowledges. Also notes whether this side's window is
/// zero (a window update rides on the ACK).
#[inline(always)]
fn check_ack<H: StreamHandler>(e: &mut Entry<H>, seg: &TcpSegment<'_>, side: Side) -> Option<u64> {
    let peer = side.peer();
    let mut ack_offset = None;
    if seg.flags.ack() {
        let prx = e.rx.of_mut(peer);
        if prx.has_base() {
            // The ACK may release the peer's bytes waiting behind a hole:
            // each is announced in the frame that carried it, and then the
            // frame being read again, which is this one (not the frame of
            // the peer's last segment): what this segment then delivers is
            // in this frame.
            prx.set_frame(seg.frame);
            prx.peer_ack(peer, seg.ack, seg.ts, &mut e.handler);
        } else {
            prx.pick_up(seg.ack);
        }
        ack_offset = prx.offset_of(seg.ack);
    }
    *e.window_zero.of_mut(side) = seg.window == 0 && !seg.flags.syn();
    ack_offset
}

/// A reset, or a segment the client would drop before the handshake's
/// SYN+ACK: counted and handed to the handler as a control segment, and
/// nothing more (`true`: the segment is done with).
#[inline(always)]
fn check_rst<H: StreamHandler>(
    e: &mut Entry<H>,
    seg: &TcpSegment<'_>,
    side: Side,
    ack_offset: Option<u64>,
) -> bool {
    let (flags, ts) = (seg.flags, seg.ts);
    if flags.rst() {
        // The reset takes effect when the connection is finished, unless new
        // data follows it: a reset the peer ignored (out of window, injected)
        // closed nothing.
        if e.conn.rst.is_none() && e.pending_rst.is_none() {
            e.pending_rst = Some((side, ts));
            e.pending_rst_segment = Some(RstSegment {
                frame: seg.frame,
                ack: ack_offset,
                peer_seen: e.rx.of(side.peer()).highest_seen(),
            });
        }
        e.closing_since.get_or_insert(ts);
        control_only(e, seg, side, ack_offset);
        return true;
    }
    // Before any SYN+ACK, a server segment without SYN or payload is not part
    // of a synchronized connection: a client in SYN-SENT ignores it (a FIN
    // here is an injection, and must not fix where the server's stream
    // starts). Payload is kept: the SYN+ACK may just be missing from the capture.
    if side == Side::Server
        && e.conn.handshake.syn.is_some()
        && e.conn.handshake.syn_ack.is_none()
        && !flags.syn()
        && seg.payload_len == 0
    {
        let stats = &mut e.rx.of_mut(side).stats;
        stats.unsynchronized = stats.unsynchronized.saturating_add(1);
        control_only(e, seg, side, ack_offset);
        return true;
    }
    false
}

/// A segment that goes no further than [`check_rst`]: counted on its side
/// and handed to the handler as a control segment.
#[inline(always)]
fn control_only<H: StreamHandler>(
    e: &mut Entry<H>,
    seg: &TcpSegment<'_>,
    side: Side,
    ack_offset: Option<u64>,
) {
    let stats = &mut e.rx.of_mut(side).stats;
    stats.packets = stats.packets.saturating_add(1);
    let meta = meta(seg, SegmentKind::Control, 0, ack_offset, 0);
    e.handler.on_segment(side, &meta);
}

/// The reassembler places the segment's bytes (and its FIN) in the stream
/// and says what the segment was; returns that and the sequence number of
/// its first data byte.
#[inline(always)]
fn process_segment_text<H: StreamHandler>(
    e: &mut Entry<H>,
    seg: &TcpSegment<'_>,
    side: Side,
) -> (SegmentKind, u32) {
    let flags = seg.flags;
    let data_seq = if flags.syn() {
        seg.seq.wrapping_add(1)
    } else {
        seg.seq
    };
    let peer_window_zero = *e.window_zero.of(side.peer());
    e.rx.of_mut(side).set_frame(seg.frame);
    let mut kind = e.rx.of_mut(side).segment(
        side,
        data_seq,
        seg.payload,
        seg.payload_len,
        flags.fin(),
        peer_window_zero,
        seg.ts,
        &mut e.handler,
    );
    if seg.payload_len == 0 && (flags.syn() || flags.fin()) {
        kind = SegmentKind::Control;
    }
    (kind, data_seq)
}

/// The FIN's time; once both sides sent one, the connection is closing.
#[inline(always)]
fn check_fin<H>(e: &mut Entry<H>, seg: &TcpSegment<'_>, side: Side) {
    if seg.flags.fin() {
        e.conn.fin.of_mut(side).get_or_insert(seg.ts);
    }
    if e.conn.fin[0].is_some() && e.conn.fin[1].is_some() {
        e.closing_since.get_or_insert(seg.ts);
    }
}

/// What the observer adds to the RFC's steps: the data's bookkeeping, the
/// ack clock (pacing), round-trip samples, and the segment for the handler.
#[inline(always)]
fn clock_and_report<H: StreamHandler>(
    e: &mut Entry<H>,
    seg: &TcpSegment<'_>,
    side: Side,
    kind: SegmentKind,
    data_seq: u32,
    ack_offset: Option<u64>,
) {
    let (peer, flags, ts) = (side.peer(), seg.flags, seg.ts);
    let offset = e.rx.of(side).offset_of(data_seq).unwrap_or(0);
    let timestamps = timestamp_option(seg.options_raw);

    match kind {
        SegmentKind::NewData | SegmentKind::ZeroWindowProbe => {
            let st = &mut e.rx.of_mut(side).stats;
            st.last_data_ts = Some(ts);
            st.first_data_frame.get_or_insert(seg.frame);
            st.last_data_frame = Some(seg.frame);
            if e.conn.fin.of(peer).is_some() {
                st.bytes_after_peer_fin = st
                    .bytes_after_peer_fin
                    .saturating_add(u64::from(seg.payload_len));
            }
            if let Some((rst_side, _)) = e.pending_rst.take() {
                e.pending_rst_segment = None;
                let st = &mut e.rx.of_mut(rst_side).stats;
                st.ignored_resets = st.ignored_resets.saturating_add(1);
                if e.conn.fin[0].is_none() || e.conn.fin[1].is_none() {
                    e.closing_since = None;
                }
            }
            // What a full-sized segment could have carried: the smaller MSS
            // either SYN announced, less this segment's options.
            let announced = match (e.rx.of(side).stats.mss, e.rx.of(peer).stats.mss) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let options = u16::try_from(seg.options_raw.len()).unwrap_or(u16::MAX);
            let sent = Sent {
                ts,
                frame: seg.frame,
                offset,
                len: seg.payload_len,
                mss: announced.map(|m| m.saturating_sub(options)),
                tsecr: timestamps.map(|(_, tsecr)| tsecr),
            };
            if !flags.fin() && e.pacing.of(side).unheld_partial(&sent) {
                let st = &mut e.rx.of_mut(side).stats;
                st.unheld_partials = st.unheld_partials.saturating_add(1);
            }
            if let Some(release) = e.pacing.of_mut(side).data(side, sent) {
                e.handler.on_ack_release(&release);
            }
            e.pacing.of_mut(peer).peer_data(ack_offset);
        }
        SegmentKind::Retransmission => e.pacing.of_mut(side).retransmission(ts),
        SegmentKind::PureAck => {
            if let Some(acked) = ack_offset {
                let rtt = e.pacing.of_mut(side).rtt();
                let tsval = timestamps.map(|(tsval, _)| tsval);
                e.pacing
                    .of_mut(peer)
                    .peer_pure_ack(acked, ts, seg.frame, rtt, tsval);
            }
        }
        _ => {}
    }
    // Round-trip samples, after the ack-clock events above so that a
    // segment never measures its own wait: the peer's data coming back
    // acknowledged, and the peer's timestamp coming back echoed.
    if let Some(acked) = ack_offset {
        if let Some(sample) = e.pacing.of_mut(peer).ack_sample(acked, ts) {
            e.pacing.of_mut(side).note_rtt(sample);
        }
    }
    if let Some((tsval, tsecr)) = timestamps {
        e.pacing.of_mut(peer).peer_tsval(tsval, ts);
        if flags.ack() {
            e.pacing.of_mut(side).own_tsecr(tsecr, ts);
        }
    }

    let scale = match (e.rx[0].stats.window_scale, e.rx[1].stats.window_scale) {
        (Some(_), Some(_)) if !flags.syn() => e.rx.of(side).stats.window_scale.unwrap_or(0).min(14),
        _ => 0,
    };
    let window = u64::from(seg.window) << scale;
    let meta = meta(seg, kind, offset, ack_offset, window);
    e.handler.on_segment(side, &meta);
}

fn meta(
    seg: &TcpSegment<'_>,
    kind: SegmentKind,
    offset: u64,
    ack: Option<u64>,
    window: u64,
) -> SegmentMeta {
    SegmentMeta {
        ts: seg.ts,
        frame: seg.frame,
        kind,
        offset,
        len: seg.payload_len,
        ack,
        window,
    }
}

/// Roles guessed from port numbers give way to the first payload: an HTTP
/// request line is the client's, a status line the server's. Only while no
/// data (or a FIN) has been handed to the handler, so nothing it saw changes sides.
fn reconsider_roles<H: StreamHandler>(e: &mut Entry<H>, seg: &TcpSegment<'_>, side: Side) -> Side {
    let delivered = e.rx.iter().any(|r| r.stats.bytes > 0 || r.stats.gaps > 0)
        || e.conn.fin.iter().any(Option::is_some);
    if delivered {
        return side;
    }
    let Some(should_be) = H::sender_of(seg.payload) else {
        return side;
    };
    e.conn.roles = RoleEvidence::Payload;
    if should_be == side {
        return side;
    }
    std::mem::swap(&mut e.conn.client, &mut e.conn.server);
    e.rx.swap(0, 1);
    e.pacing.swap(0, 1);
    e.first_seq.swap(0, 1);
    e.window_zero.swap(0, 1);
    e.conn.fin.swap(0, 1);
    should_be
}
