//! The flow table: live connections by canonical 4-tuple.

mod arrives;

use super::connection::{Connection, EndReason, Previous, RoleEvidence, RstSegment};
use super::roles;
use crate::decode::{TcpSegment, Tunnel};
use crate::reassembly::{
    BySide, ConnectionEnd, Pacing, Reassembler, ReassemblyLimits, Side, StreamHandler,
};
use crate::Timestamp;
use arrives::process_in;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

const SECOND: i64 = 1_000_000_000;

/// Bounds and timeouts of the flow table, in capture time.
#[derive(Clone, Copy, Debug)]
pub struct FlowLimits {
    /// A connection not established (a handshake that never completed, or
    /// one closing) with no packet for this long is finished.
    pub idle_timeout_ns: i64,
    /// An established connection (handshake completed, or picked up
    /// mid-stream, or data delivered) with no packet for this long is
    /// finished. Long, as a stateful firewall's: keep-alive and database
    /// connections idle for hours. A packet that continues its sequence
    /// numbers afterwards resumes it (`Connection::resumes`).
    pub established_timeout_ns: i64,
    /// After both FINs or a RST, late packets (the last ACK, a retransmitted
    /// FIN) still belong to the connection for this long.
    pub linger_ns: i64,
    /// After that, a closed tuple is remembered this long, so stray packets on
    /// it are not taken for a new connection and a reuse counts as a new
    /// generation.
    pub tombstone_ns: i64,
    /// Connections tracked at once; past it the oldest idle ones are finished early.
    pub max_connections: usize,
    /// Closed connections (both FINs, or a RST) kept for their linger at
    /// once; past it the one that closed first is finished early (a later
    /// packet on its tuple is then a late packet). With many short
    /// connections, what bounds memory by the connections open rather
    /// than by those closed in the last `linger_ns`.
    pub max_lingering: usize,
    /// Closed tuples remembered at once.
    pub max_tombstones: usize,
    /// Out-of-order bytes buffered across all connections at once; past it,
    /// the connection that is growing gives up on its holes (gaps).
    pub max_reassembly_bytes: usize,
    /// The memory budget of the connections tracked at once: what each
    /// holds in proportion to its input (its entry, out-of-order bytes, and
    /// what its handler keeps: [`StreamHandler::held_bytes`]), summed over
    /// them all. Past it, the least recently active connections are
    /// finished early ([`EndReason::MemoryPressure`]) until the sum is back
    /// under seven eighths of it.
    pub max_memory: usize,
    pub reassembly: ReassemblyLimits,
}

impl Default for FlowLimits {
    fn default() -> Self {
        FlowLimits {
            idle_timeout_ns: 600 * SECOND,
            established_timeout_ns: 86_400 * SECOND,
            linger_ns: 5 * SECOND,
            tombstone_ns: 120 * SECOND,
            max_connections: 65_536,
            max_lingering: 2048,
            max_tombstones: 262_144,
            max_reassembly_bytes: 64 << 20,
            max_memory: 256 << 20,
            reassembly: ReassemblyLimits::default(),
        }
    }
}

/// What the flow table did over a capture.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlowStats {
    pub connections: u64,
    /// Connections opened on a tuple used before (generation > 0).
    pub reused_tuples: u64,
    /// Packets on a tuple whose connection had closed and been finished.
    pub late_packets: u64,
    pub idle_timeouts: u64,
    /// Connections finished early because the table was full.
    pub evicted: u64,
    /// Closed connections finished before their linger ended because
    /// [`FlowLimits::max_lingering`] others were lingering.
    pub linger_cut: u64,
    /// Packets that came on such a connection's tuple before its linger
    /// would have ended: they are late packets instead of its own.
    pub linger_cut_late: u64,
    /// Connections whose first packet continued one let go while
    /// established (idle or evicted).
    pub resumed: u64,
    pub max_concurrent: u64,
    /// Times the capture-wide reassembly budget ran out.
    pub reassembly_budget_hits: u64,
    /// Most out-of-order bytes buffered at once, across connections.
    pub max_buffered_bytes: u64,
    /// Connections finished early because the memory budget
    /// ([`FlowLimits::max_memory`]) was reached.
    pub memory_shed: u64,
    /// Most bytes accounted to the connections at once (see
    /// [`FlowLimits::max_memory`]).
    pub peak_memory: u64,
    /// Closed tuples forgotten before their `tombstone_ns` was over because
    /// [`FlowLimits::max_tombstones`] others were remembered.
    pub tombstones_cut: u64,
}

/// A connection the table is done with, and its handler with everything the
/// handler collected.
pub struct Finished<H> {
    pub connection: Connection,
    pub handler: H,
}

/// The canonical 4-tuple, and the key of the tunnel it came through (0 for
/// none; see [`Tunnel`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct FlowKey(SocketAddr, SocketAddr, u32);

impl FlowKey {
    fn new(a: SocketAddr, b: SocketAddr, tunnel: u32) -> FlowKey {
        if a <= b {
            FlowKey(a, b, tunnel)
        } else {
            FlowKey(b, a, tunnel)
        }
    }
}

#[derive(Clone, Debug)]
struct Tombstone {
    generation: u32,
    /// The connection, as the next one on the tuple will know it.
    previous: super::Previous,
    /// How the connection was let go: closed (and perhaps cut short), or
    /// while established, so that a later packet may resume it.
    after: After,
}

/// What a tombstone knows beyond [`Previous`]. The rare resumable case is
/// boxed so that the common closed one keeps the tombstone at 96 bytes.
#[derive(Clone, Debug)]
enum After {
    /// Closed (both FINs or a RST): `cut_until` is when its linger would
    /// have ended, if it was finished before (see
    /// [`FlowLimits::max_lingering`]).
    Closed { cut_until: Option<Timestamp> },
    /// Let go while established (idle or evicted): a later packet that
    /// continues it resumes it.
    Resumable(Box<Resumable>),
}

/// Tuples remembered (closed, or let go while established), by key: the
/// IPv4 ones (nearly all) under a 16-byte key, the others under the whole
/// [`FlowKey`]. A churning client keeps one per port it used in the last
/// two minutes: 112 bytes each instead of 168; a resumable one adds its
/// boxed [`Resumable`].
#[derive(Default)]
struct Tombstones {
    v4: FxHashMap<u128, Tombstone>,
    other: FxHashMap<FlowKey, Tombstone>,
}

/// Both addresses, both ports and the tunnel key of an IPv4 flow key.
fn v4_key(key: &FlowKey) -> Option<u128> {
    let (SocketAddr::V4(a), SocketAddr::V4(b)) = (key.0, key.1) else {
        return None;
    };
    let [a0, a1, a2, a3] = a.ip().octets();
    let [b0, b1, b2, b3] = b.ip().octets();
    let [p0, p1] = a.port().to_be_bytes();
    let [q0, q1] = b.port().to_be_bytes();
    let [t0, t1, t2, t3] = key.2.to_be_bytes();
    Some(u128::from_be_bytes([
        a0, a1, a2, a3, b0, b1, b2, b3, p0, p1, q0, q1, t0, t1, t2, t3,
    ]))
}

impl Tombstones {
    fn get(&self, key: &FlowKey) -> Option<&Tombstone> {
        match v4_key(key) {
            Some(k) => self.v4.get(&k),
            None => self.other.get(key),
        }
    }

    fn get_mut(&mut self, key: &FlowKey) -> Option<&mut Tombstone> {
        match v4_key(key) {
            Some(k) => self.v4.get_mut(&k),
            None => self.other.get_mut(key),
        }
    }

    fn insert(&mut self, key: FlowKey, t: Tombstone) {
        match v4_key(&key) {
            Some(k) => self.v4.insert(k, t),
            None => self.other.insert(key, t),
        };
    }

    fn remove(&mut self, key: &FlowKey) {
        match v4_key(key) {
            Some(k) => self.v4.remove(&k),
            None => self.other.remove(key),
        };
    }

    fn clear(&mut self) {
        self.v4.clear();
        self.other.clear();
    }

    fn len(&self) -> usize {
        self.v4.len().saturating_add(self.other.len())
    }

    fn retain(&mut self, mut keep: impl FnMut(&Tombstone) -> bool) {
        self.v4.retain(|_, t| keep(t));
        self.other.retain(|_, t| keep(t));
    }

    fn values(&self) -> impl Iterator<Item = &Tombstone> {
        self.v4.values().chain(self.other.values())
    }
}

/// What a connection let go while established leaves for a packet that
/// continues it: its roles and where each side's stream had got to.
#[derive(Clone, Copy, Debug)]
struct Resumable {
    client: SocketAddr,
    server: SocketAddr,
    roles: RoleEvidence,
    /// Each side's next sequence number expected (index [`Side::index`]).
    next_seq: [Option<u32>; 2],
    /// When the table let go of it (capture time).
    let_go: Timestamp,
}

/// How far from where its stream had got to a segment may start and still
/// continue it: TCP's largest window (RFC 7323 §2.3).
const RESUME_WINDOW: i64 = 1 << 30;

impl Resumable {
    /// Whether the segment continues this connection's sequence numbers:
    /// its own side's, or, for a side that had sent nothing, its
    /// acknowledgement of the other's.
    fn continues(&self, seg: &TcpSegment<'_>) -> bool {
        let side = if seg.src == self.client {
            Side::Client
        } else {
            Side::Server
        };
        let near = |a: u32, b: u32| i64::from(a.wrapping_sub(b) as i32).abs() <= RESUME_WINDOW;
        match (self.next_seq.of(side), self.next_seq.of(side.peer())) {
            (Some(own), _) => near(seg.seq, *own),
            (None, Some(peer)) => seg.flags.ack() && near(seg.ack, *peer),
            (None, None) => false,
        }
    }
}

struct Entry<H> {
    conn: Connection,
    rx: [Reassembler; 2],
    pacing: [Pacing; 2],
    handler: H,
    /// Sequence number of each side's first packet (tshark's base seq): a SYN
    /// that differs from it opens a new generation.
    first_seq: [Option<u32>; 2],
    server_isn: Option<u32>,
    /// Whether each side's last advertised window was zero.
    window_zero: [bool; 2],
    closing_since: Option<Timestamp>,
    /// A reset seen, not yet handed to the handler (see `arrives.rs`).
    pending_rst: Option<(Side, Timestamp)>,
    /// The pending reset's segment: frame, acknowledgement, peer's bytes.
    pending_rst_segment: Option<RstSegment>,
    last_ts: Timestamp,
    /// What this connection is charged on the memory budget, as last
    /// measured ([`Entry::recharge`]).
    charged: usize,
}

/// Live connections by 4-tuple, each with its two reassemblers and a stream
/// handler made by `new_handler`.
pub struct FlowTable<H, F> {
    /// Entries are boxed: a few KB each, and the map keeps spare capacity;
    /// inline, its empty buckets would cost as much as full ones.
    map: FxHashMap<FlowKey, Box<Entry<H>>>,
    tombstones: Tombstones,
    /// Connections that began closing, in that order, with their id: at
    /// most [`FlowLimits::max_lingering`] (some may have been finished or
    /// have stopped closing since: those are skipped).
    lingering: VecDeque<(FlowKey, u64)>,
    /// Client hosts of the connections opened since the last
    /// [`FlowTable::drain_opened`], when asked to track them.
    opened: Option<Vec<IpAddr>>,
    next_id: u64,
    limits: FlowLimits,
    new_handler: F,
    now: Timestamp,
    next_sweep: Option<Timestamp>,
    /// Out-of-order bytes buffered across all live connections.
    buffered: usize,
    /// Bytes charged to all live connections (the sum of their
    /// `Entry::charged`), against [`FlowLimits::max_memory`].
    memory: usize,
    /// What the rules' index holds (see [`FlowTable::with_gauge`]).
    gauge: Option<super::MemoryGauge>,
    pub stats: FlowStats,
}

impl<H: StreamHandler, F: FnMut() -> H> FlowTable<H, F> {
    pub fn new(limits: FlowLimits, new_handler: F) -> Self {
        FlowTable {
            map: FxHashMap::default(),
            tombstones: Tombstones::default(),
            lingering: VecDeque::new(),
            opened: None,
            next_id: 0,
            limits,
            new_handler,
            now: Timestamp::ZERO,
            next_sweep: None,
            buffered: 0,
            memory: 0,
            gauge: None,
            stats: FlowStats::default(),
        }
    }

    /// Counts what `gauge` says is held elsewhere (the rules' index) on the
    /// memory budget too.
    pub fn with_gauge(&mut self, gauge: super::MemoryGauge) {
        self.gauge = Some(gauge);
    }

    /// Keeps the client host of each connection opened, for
    /// [`FlowTable::drain_opened`].
    pub fn track_opened(&mut self) {
        self.opened.get_or_insert_with(Vec::new);
    }

    /// Hands `f` the client host of each connection opened since the last
    /// call (when tracking, see [`FlowTable::track_opened`]).
    pub fn drain_opened(&mut self, mut f: impl FnMut(IpAddr)) {
        if let Some(v) = &mut self.opened {
            v.drain(..).for_each(&mut f);
        }
    }

    /// Connections open right now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Takes one segment; connections that end because of it (or because
    /// capture time moved past their timeouts) are handed to `done`.
    pub fn process(&mut self, seg: &TcpSegment<'_>, done: &mut impl FnMut(Finished<H>)) {
        self.process_tunnelled(seg, Tunnel::NONE, done)
    }

    /// [`FlowTable::process`] for a segment that came through `tunnel`: its
    /// key tells the connection apart from the same 4-tuple elsewhere, and
    /// a new connection records the tunnel's path.
    pub fn process_tunnelled(
        &mut self,
        seg: &TcpSegment<'_>,
        tunnel: Tunnel<'_>,
        done: &mut impl FnMut(Finished<H>),
    ) {
        if seg.ts > self.now {
            self.now = seg.ts;
        }
        match self.next_sweep {
            Some(t) if self.now < t => {}
            _ => {
                self.sweep(done);
                self.next_sweep = Some(self.now.add_nanos(SECOND));
            }
        }

        let key = FlowKey::new(seg.src, seg.dst, tunnel.key);
        let syn_only = seg.flags.syn() && !seg.flags.ack();
        let mut generation = 0;
        let mut previous = None;
        let mut resumes = None;
        if let Some(entry) = self.map.get_mut(&key) {
            let side = side_of(&entry.conn, seg.src);
            let reused = syn_only && matches!(entry.first_seq.of(side), Some(s) if *s != seg.seq);
            if !reused {
                let before = entry.buffered();
                let was_closing = entry.closing_since.is_some();
                process_in(entry, seg, side);
                let after = entry.buffered();
                let id = entry.conn.id;
                let closing = !was_closing && entry.closing_since.is_some();
                let charge = entry.recharge();
                // Nothing buffered before or after (data in order, the
                // common case): the count stands and no budget can run out.
                if before != 0 || after != 0 {
                    self.account(before, after, seg.ts, &key);
                }
                // Nor can the memory budget if what it holds is unchanged
                // (a pure ACK, a body skipped by arithmetic).
                if charge.0 != charge.1 {
                    self.charge(charge, done);
                }
                if closing {
                    self.linger(key, id, done);
                }
                return;
            }
            generation = entry.conn.generation.saturating_add(1);
            let closed = entry.closing_since.is_some();
            if let Some(entry) = self.map.remove(&key) {
                // Finished first: a reset still pending becomes its close.
                let finished = self.finish(key, *entry, EndReason::Reused);
                previous = Some(super::Previous::of(&finished.connection, closed));
                done(finished);
            }
        } else if let Some(tomb) = self.tombstones.get(&key).cloned() {
            match &tomb.after {
                // Let go while established, and this packet goes on where
                // it stopped: the same connection, resumed.
                After::Resumable(r) if !seg.flags.syn() && r.continues(seg) => {
                    generation = tomb.generation;
                    resumes = Some((tomb.previous, **r));
                }
                // Neither a SYN nor a continuation: a connection of its own,
                // as on a tuple never seen.
                After::Resumable(_) if !seg.flags.syn() => {}
                After::Closed { cut_until } if !seg.flags.syn() => {
                    self.stats.late_packets = self.stats.late_packets.saturating_add(1);
                    if cut_until.is_some_and(|t| seg.ts < t) {
                        // Its connection would still have taken it.
                        self.stats.linger_cut_late = self.stats.linger_cut_late.saturating_add(1);
                    }
                    return;
                }
                _ => {
                    generation = tomb.generation.saturating_add(1);
                    previous = Some(tomb.previous);
                }
            }
            self.tombstones.remove(&key);
        }
        if self.map.len() >= self.limits.max_connections {
            self.evict(done);
        }
        let mut entry = self.open(seg, generation);
        entry.conn.previous = previous;
        if let Some((earlier, r)) = resumes {
            entry.conn.client = r.client;
            entry.conn.server = r.server;
            entry.conn.roles = r.roles;
            entry.conn.resumes = Some(earlier);
            self.stats.resumed = self.stats.resumed.saturating_add(1);
        }
        entry.conn.tunnel = tunnel.owned();
        let side = side_of(&entry.conn, seg.src);
        process_in(&mut entry, seg, side);
        let after = entry.buffered();
        let (id, closing) = (entry.conn.id, entry.closing_since.is_some());
        let charge = entry.recharge();
        self.map.insert(key, entry);
        self.account(0, after, seg.ts, &key);
        self.charge(charge, done);
        if closing {
            self.linger(key, id, done);
        }
        self.stats.max_concurrent = self.stats.max_concurrent.max(self.map.len() as u64);
    }

    /// Ends every connection still open (end of capture), in id order.
    pub fn finish_all(&mut self, done: &mut impl FnMut(Finished<H>)) {
        let mut all: Vec<(FlowKey, Box<Entry<H>>)> = self.map.drain().collect();
        all.sort_by_key(|(_, e)| e.conn.id);
        for (key, entry) in all {
            done(self.finish(key, *entry, EndReason::EndOfCapture));
        }
        self.tombstones.clear();
        self.lingering.clear();
    }

    fn open(&mut self, seg: &TcpSegment<'_>, generation: u32) -> Box<Entry<H>> {
        let (client, server, roles) = if seg.flags.syn() && !seg.flags.ack() {
            (seg.src, seg.dst, RoleEvidence::Syn)
        } else if seg.flags.syn() {
            (seg.dst, seg.src, RoleEvidence::SynAck)
        } else if let Some(sender) = H::sender_of(seg.payload) {
            match sender {
                Side::Client => (seg.src, seg.dst, RoleEvidence::Payload),
                Side::Server => (seg.dst, seg.src, RoleEvidence::Payload),
            }
        } else if roles::port_says_server(seg.src, seg.dst) {
            (seg.dst, seg.src, RoleEvidence::Port)
        } else {
            (seg.src, seg.dst, RoleEvidence::Port)
        };
        if let Some(v) = &mut self.opened {
            v.push(client.ip());
        }
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        self.stats.connections = self.stats.connections.saturating_add(1);
        if generation > 0 {
            self.stats.reused_tuples = self.stats.reused_tuples.saturating_add(1);
        }
        let rl = self.limits.reassembly;
        Box::new(Entry {
            conn: Connection {
                generation,
                ..Connection::new(id, client, server, roles, seg.frame, seg.ts)
            },
            rx: [Reassembler::new(rl), Reassembler::new(rl)],
            pacing: [Pacing::default(), Pacing::default()],
            handler: (self.new_handler)(),
            first_seq: [None, None],
            server_isn: None,
            window_zero: [false, false],
            closing_since: None,
            pending_rst: None,
            pending_rst_segment: None,
            last_ts: seg.ts,
            charged: 0,
        })
    }

    /// Connection `id` on `key` began closing: it lingers, and if that makes
    /// too many, the one that began closing first is finished now.
    fn linger(&mut self, key: FlowKey, id: u64, done: &mut impl FnMut(Finished<H>)) {
        self.lingering.push_back((key, id));
        while self.lingering.len() > self.limits.max_lingering {
            let Some((key, id)) = self.lingering.pop_front() else {
                break;
            };
            let still = self
                .map
                .get(&key)
                .is_some_and(|e| e.conn.id == id && e.closing_since.is_some());
            if !still {
                continue;
            }
            if let Some(entry) = self.map.remove(&key) {
                self.stats.linger_cut = self.stats.linger_cut.saturating_add(1);
                let until = entry
                    .closing_since
                    .map(|t| t.add_nanos(self.limits.linger_ns));
                done(self.finish(key, *entry, EndReason::Closed));
                if let Some(Tombstone {
                    after: After::Closed { cut_until },
                    ..
                }) = self.tombstones.get_mut(&key)
                {
                    *cut_until = until;
                }
            }
        }
    }

    /// Keeps the capture-wide count of buffered bytes as a connection's
    /// buffers change from `before` to `after`; over the budget, that
    /// connection gives up on its holes.
    fn account(&mut self, before: usize, after: usize, ts: Timestamp, key: &FlowKey) {
        self.buffered = self.buffered.saturating_sub(before).saturating_add(after);
        self.stats.max_buffered_bytes = self.stats.max_buffered_bytes.max(self.buffered as u64);
        if self.buffered <= self.limits.max_reassembly_bytes || after == 0 {
            return;
        }
        self.stats.reassembly_budget_hits = self.stats.reassembly_budget_hits.saturating_add(1);
        if let Some(e) = self.map.get_mut(key) {
            for side in [Side::Client, Side::Server] {
                e.rx.of_mut(side).give_up_holes(side, ts, &mut e.handler);
            }
            let left = e.buffered();
            self.buffered = self.buffered.saturating_sub(after).saturating_add(left);
            let (old, new) = e.recharge();
            self.memory = self.memory.saturating_sub(old).saturating_add(new);
        }
    }

    /// Moves a connection's charge on the memory budget from `old` to `new`
    /// bytes; over the budget, sheds connections ([`FlowTable::shed`]).
    fn charge(&mut self, (old, new): (usize, usize), done: &mut impl FnMut(Finished<H>)) {
        self.memory = self.memory.saturating_sub(old).saturating_add(new);
        let total = self.memory();
        self.stats.peak_memory = self.stats.peak_memory.max(total as u64);
        if total > self.limits.max_memory {
            self.shed(done);
        }
    }

    /// Bytes charged to the connections tracked now, and held by the rules'
    /// index (see [`FlowLimits::max_memory`]).
    pub fn memory(&self) -> usize {
        let elsewhere = self.gauge.as_ref().map_or(0, |g| g.get());
        self.memory.saturating_add(elsewhere)
    }

    /// The memory budget is reached: finishes the least recently active
    /// connections (the one being processed last of all) until what the
    /// rest hold is under seven eighths of the budget, so that shedding
    /// costs one scan per many packets. Each is finished as if evicted
    /// ([`EndReason::MemoryPressure`]): judged on what was seen, and
    /// resumed if a packet continues it later.
    fn shed(&mut self, done: &mut impl FnMut(Finished<H>)) {
        let elsewhere = self.gauge.as_ref().map_or(0, |g| g.get());
        let target = (self.limits.max_memory / 8)
            .saturating_mul(7)
            .saturating_sub(elsewhere);
        let mut idle: Vec<(Timestamp, u64, FlowKey)> = self
            .map
            .iter()
            .map(|(k, e)| (e.last_ts, e.conn.id, *k))
            .collect();
        idle.sort_unstable();
        let mut victims = Vec::new();
        let mut left = self.memory;
        for (_, id, key) in idle {
            if left <= target {
                break;
            }
            if let Some(e) = self.map.get(&key) {
                left = left.saturating_sub(e.charged);
                victims.push((id, key));
            }
        }
        // Handed on in id order, as every other batch of finished ones.
        victims.sort_unstable();
        for (_, key) in victims {
            if let Some(entry) = self.map.remove(&key) {
                self.stats.memory_shed = self.stats.memory_shed.saturating_add(1);
                done(self.finish(key, *entry, EndReason::MemoryPressure));
            }
        }
    }

    fn finish(&mut self, key: FlowKey, mut entry: Entry<H>, reason: EndReason) -> Finished<H> {
        self.buffered = self.buffered.saturating_sub(entry.buffered());
        self.memory = self.memory.saturating_sub(entry.charged);
        let end = entry.conn.end_ts;
        for side in [Side::Client, Side::Server] {
            entry.rx.of_mut(side).flush(side, end, &mut entry.handler);
        }
        if let Some((side, ts)) = entry.pending_rst.take() {
            entry.conn.rst = Some((side, ts));
            entry.conn.rst_segment = entry.pending_rst_segment.take();
            entry.handler.on_rst(side, ts);
        }
        entry.handler.on_end(&ConnectionEnd {
            rst: entry.conn.rst,
            fin: entry.conn.fin,
            handshake_rtt_ns: entry.conn.handshake.rtt_ns(),
        });
        let established = entry.established();
        let now = self.now;
        let next_seq = [Side::Client, Side::Server].map(|side| entry.rx.of(side).next_seq());
        let [c, s] = entry.rx;
        entry.conn.dirs = [c.stats, s.stats];
        entry.conn.end_reason = reason;
        match reason {
            EndReason::Closed
            | EndReason::IdleTimeout
            | EndReason::Evicted
            | EndReason::MemoryPressure
                if entry.closing_since.is_some() =>
            {
                self.tombstones.insert(
                    key,
                    Tombstone {
                        generation: entry.conn.generation,
                        previous: Previous::of(&entry.conn, true),
                        after: After::Closed { cut_until: None },
                    },
                );
            }
            EndReason::IdleTimeout | EndReason::Evicted | EndReason::MemoryPressure
                if established =>
            {
                self.tombstones.insert(
                    key,
                    Tombstone {
                        generation: entry.conn.generation,
                        previous: Previous::of(&entry.conn, false),
                        after: After::Resumable(Box::new(Resumable {
                            client: entry.conn.client,
                            server: entry.conn.server,
                            roles: entry.conn.roles,
                            next_seq,
                            let_go: now,
                        })),
                    },
                );
            }
            _ => {}
        }
        if reason == EndReason::IdleTimeout {
            self.stats.idle_timeouts = self.stats.idle_timeouts.saturating_add(1);
        }
        Finished {
            connection: entry.conn,
            handler: entry.handler,
        }
    }

    /// Finishes connections whose linger or idle time has passed, and forgets
    /// old tombstones.
    fn sweep(&mut self, done: &mut impl FnMut(Finished<H>)) {
        let now = self.now;
        let limits = self.limits;
        let mut expired: Vec<(u64, FlowKey, EndReason)> = self
            .map
            .iter()
            .filter_map(|(k, e)| {
                if matches!(e.closing_since, Some(t) if now.since(t) >= limits.linger_ns) {
                    Some((e.conn.id, *k, EndReason::Closed))
                } else if now.since(e.last_ts) >= e.idle_timeout(&limits) {
                    Some((e.conn.id, *k, EndReason::IdleTimeout))
                } else {
                    None
                }
            })
            .collect();
        expired.sort_unstable_by_key(|(id, _, _)| *id);
        for (_, key, reason) in expired {
            if let Some(entry) = self.map.remove(&key) {
                done(self.finish(key, *entry, reason));
            }
        }
        // A closed tuple is remembered for `tombstone_ns` after its last
        // packet; a connection let go while established for as long again
        // as its idle timeout, from when it was let go.
        self.tombstones.retain(|t| match &t.after {
            After::Resumable(r) => now.since(r.let_go) < limits.established_timeout_ns,
            After::Closed { .. } => now.since(t.previous.end_ts) < limits.tombstone_ns,
        });
        if self.tombstones.len() > limits.max_tombstones {
            // Keep the newer half.
            let mut ends: Vec<Timestamp> = self
                .tombstones
                .values()
                .map(|t| t.previous.end_ts)
                .collect();
            let mid = ends.len() / 2;
            let (_, cut, _) = ends.select_nth_unstable(mid);
            let cut = *cut;
            let before = self.tombstones.len();
            self.tombstones.retain(|t| t.previous.end_ts >= cut);
            let forgotten = before.saturating_sub(self.tombstones.len()) as u64;
            self.stats.tombstones_cut = self.stats.tombstones_cut.saturating_add(forgotten);
        }
    }

    /// The table is full: finish the least recently active eighth of it, so
    /// that eviction costs one scan per many new connections.
    fn evict(&mut self, done: &mut impl FnMut(Finished<H>)) {
        let mut idle: Vec<(Timestamp, u64, FlowKey)> = self
            .map
            .iter()
            .map(|(k, e)| (e.last_ts, e.conn.id, *k))
            .collect();
        let n = (idle.len() / 8).max(1).min(idle.len());
        let Some(last) = n.checked_sub(1) else {
            return;
        };
        idle.select_nth_unstable(last);
        let chosen = idle.get(..n).unwrap_or_default();
        let mut victims: Vec<(u64, FlowKey)> = chosen.iter().map(|(_, id, k)| (*id, *k)).collect();
        victims.sort_unstable();
        for (_, key) in victims {
            if let Some(entry) = self.map.remove(&key) {
                self.stats.evicted = self.stats.evicted.saturating_add(1);
                done(self.finish(key, *entry, EndReason::Evicted));
            }
        }
    }
}

impl<H> Entry<H> {
    /// Established: not closing, and the handshake completed, or the
    /// connection was picked up mid-stream (no SYN seen), or data was
    /// delivered. A SYN that was never answered, or a handshake that never
    /// completed, is not.
    fn established(&self) -> bool {
        let h = &self.conn.handshake;
        self.closing_since.is_none()
            && (h.ack.is_some()
                || (h.syn.is_none() && h.syn_ack.is_none())
                || self.rx.iter().any(|r| r.next_offset() > 0))
    }

    /// How long it may sit without a packet before it is finished.
    fn idle_timeout(&self, limits: &FlowLimits) -> i64 {
        if self.established() {
            limits.established_timeout_ns
        } else {
            limits.idle_timeout_ns
        }
    }

    /// Out-of-order bytes both directions hold.
    fn buffered(&self) -> usize {
        let [client, server] = &self.rx;
        client
            .pending_bytes()
            .saturating_add(server.pending_bytes())
    }
}

/// What a connection costs on the memory budget besides what it holds:
/// its boxed entry and its slot in the table's map (key, pointer, control
/// byte, and the spare capacity a hash map keeps).
const ENTRY_BYTES: usize = 2 * (std::mem::size_of::<FlowKey>() + 16);

impl<H: StreamHandler> Entry<H> {
    /// Measures what the connection holds now and charges it: `(what was
    /// charged, what is now)`. A few field reads (see
    /// [`StreamHandler::held_bytes`]), so cheap enough for every packet.
    fn recharge(&mut self) -> (usize, usize) {
        let held = std::mem::size_of::<Self>()
            .saturating_add(ENTRY_BYTES)
            .saturating_add(self.buffered())
            .saturating_add(self.handler.held_bytes());
        (std::mem::replace(&mut self.charged, held), held)
    }
}

fn side_of(conn: &Connection, src: SocketAddr) -> Side {
    if src == conn.client {
        Side::Client
    } else {
        Side::Server
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The resume information rides in the tombstone without growing the
    /// closed tuples' compact form: an IPv4 one is 112 bytes with its key.
    #[test]
    fn a_tombstone_stays_compact_with_the_resume_information() {
        assert_eq!(std::mem::size_of::<Tombstone>(), 96);
        assert_eq!(std::mem::size_of::<(u128, Tombstone)>(), 112);
    }
}
