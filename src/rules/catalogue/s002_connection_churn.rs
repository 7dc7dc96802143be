//! S002 connection-churn.

use super::common::{duration, request_line};
use super::holds::Holds;
use crate::reassembly::Side;
use crate::rules::api::*;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::{IpAddr, SocketAddr};

pub struct ConnectionChurn;

static META: RuleMeta = RuleMeta {
    code: "S002",
    name: "connection-churn",
    family: Family::Setup,
    severity: Severity::Warning,
    summary:
        "One client opened a new connection to the same server for each request, one after another",
    doc: r#"## What it detects
At least `churn_min` HTTP connections from one client host to one server endpoint (address
and port) that each carried exactly one transaction, got a complete response and were then
closed (FIN or RST) — on TLS connections, whose HTTP is encrypted, one exchange of records
(one run of the client's application-data records and the server's whole answering run, as
S001 reads it) stands for the transaction — where each connection's SYN came no later than `churn_window_s` after an
earlier connection of the group closed (its first FIN or RST). Connections that overlap in time
do not link (they could not have shared one connection), but sequential chains that interleave
(a client with a few lanes, each opening a connection per request) form one group. The group
is reported once, on its last connection, with the ids and client ports of all the others.

One cause, one finding: S001 handshake-dominated on a connection of the chain says the same
thing one connection at a time, so those findings are folded into this one (its `folded`
evidence lists them, `folded_findings` counts them) unless configured more severe than it. The
handshakes' cost is in `handshakes_ms` (all of the chain's) and `saved_handshakes_ms` (all but
the first, which keeping one connection would have saved); on TLS connections these are the
whole setup, the TCP handshake plus the TLS one (ClientHello to both Finished messages), and `tls_connections` and `tls_resumed` say
how many of the chain were TLS and how many of those resumed a session.

## Why it matters
Every new connection costs a round trip of handshake before the request can leave, then
starts in slow start with a small congestion window, and leaves a TIME_WAIT entry behind on
the side that closed first. A client that makes requests one after another to the same server
and closes the connection after each pays all of that on every request; HTTP/1.1 connections
are persistent by default precisely so that the second and later requests skip it. Churn is
usually `Connection: close` on one side, a server with keep-alive disabled or a keep-alive
timeout shorter than the client's pause between requests, or a client without a connection
pool.

## Example
```text
connection 2 10.0.0.1:41013 -> 10.0.0.2:80
  warning S002 connection-churn: 3 connections from 10.0.0.1 to 10.0.0.2:80 (ports 41011,
  41012, 41013) each carried one request (first: GET /catalog?page=1) and were closed by the
  server, the next one opening at most 200.5 ms later: 2 of the 3 handshakes (101.5 ms) ...
```

## How to fix
Keep connections alive and reuse them: do not send `Connection: close` (HTTP/1.1 is
persistent by default; HTTP/1.0 needs `Connection: keep-alive` on both sides), enable
keep-alive on the server with a timeout longer than the client's pause between requests, and
give the client a connection pool (one session object, not one per request).

## Options
- `churn_min` (3): the fewest connections in a chain that is reported (at least 2).
- `churn_window_s` (10): the longest pause, in seconds, between one connection's close and
  the next one's SYN for the two to count as a chain.
"#,
    options: &[
        OptionSpec {
            key: "churn_min",
            default: 3.0,
            doc: "fewest one-request connections in a reported chain",
            integer: true,
        },
        OptionSpec {
            key: "churn_window_s",
            default: 10.0,
            doc: "longest pause between a close and the next SYN in a chain, in seconds",
            integer: false,
        },
    ],
};

/// Ids and ports listed in evidence at most.
const MAX_LISTED: usize = 50;
/// Rules whose findings on a chain's connections report the chain's cause
/// one connection at a time: S001 handshake-dominated.
const SUBSUMES: &[&str] = &["S001"];

impl Rule for ConnectionChurn {
    /// A connection's close links it to the SYNs of the next `churn_window_s`.
    fn horizon(&self, s: &RuleSettings) -> Option<i64> {
        Some(s.s_as_ns("churn_window_s"))
    }

    fn cross(&self, s: &RuleSettings) -> Option<Box<dyn CrossRule>> {
        Some(Box::new(Churn::new(
            (s.get("churn_min") as usize).max(2),
            s.s_as_ns("churn_window_s"),
        )))
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// One HTTP transaction with a complete response, then the close; on a
/// TLS connection, one exchange of records (one run of the client's
/// application data and the server's whole answer), then the close.
fn is_one_shot(c: &ConnSummary<'_>) -> bool {
    let mut requests = c.requests();
    let http = c.is_http
        && c.transactions == 1
        && requests.next().is_some_and(|r| r.answered)
        && requests.next().is_none();
    let tls = c.tls.as_ref().is_some_and(|t| t.one_exchange);
    (http || tls) && c.close_ts.is_some()
}

/// "No chain".
const NONE: u32 = u32::MAX;

/// What one connection brings to a chain.
#[derive(Debug)]
struct Member {
    /// Start, then id: the chain's order.
    order: (Timestamp, u64),
    port: u16,
    end_ts: Timestamp,
    rtt: Option<i64>,
    /// The side that closed first (by FIN, else by RST).
    closer: Option<Side>,
    close_in_request: bool,
    close_in_response: bool,
    /// A TLS connection, and one that resumed a session.
    tls: bool,
    resumed: bool,
    /// Its SYN after the latest close before it in the window.
    gap: i64,
    /// Its request line, kept while it may become the chain's first.
    what: Option<Box<str>>,
}

/// A one-shot connection in the window: its SYN waits to be linked to
/// the closes before it (until everything that began before it has
/// finished), its close to the SYNs after it (for `churn_window_s`). What
/// it brings to a chain ([`Member`]) is kept beside it until it joins one.
#[derive(Debug)]
struct Node {
    group: u32,
    start: Timestamp,
    close: Timestamp,
    handshake_seen: bool,
    chain: u32,
}

/// The closes of one client host's connections to one server, in order,
/// as far as they are final.
#[derive(Debug, Default)]
struct Group {
    key: Option<(IpAddr, SocketAddr)>,
    /// (close, id), sorted.
    points: VecDeque<(Timestamp, u64)>,
    /// For each point (absolute position), the first position at or after
    /// it whose close is not yet joined with the next one's (runs of
    /// closes already joined cost nothing the second time).
    next_open: VecDeque<u64>,
    /// Absolute position of `points[0]`.
    base: u64,
    /// Nodes of this group alive.
    nodes: u32,
}

/// A group of linked connections, summed up as it grows.
#[derive(Debug)]
struct Chain {
    /// Its number in covers and in its finding's [`Covers`].
    uid: u64,
    group: u32,
    n: u64,
    first: (Timestamp, u64),
    first_what: Option<Box<str>>,
    /// The last connection (by start): id, port, end.
    last: ((Timestamp, u64), u16, Timestamp),
    rtt_count: u64,
    rtt_sum: i64,
    /// The round trip of the first connection with one.
    first_rtt: Option<((Timestamp, u64), i64)>,
    by_client: u64,
    by_server: u64,
    close_in_request: u64,
    close_in_response: u64,
    /// Members that were TLS, and those that resumed a session.
    tls: u64,
    tls_resumed: u64,
    /// The first [`MAX_LISTED`] connections: order, port.
    listed: Vec<((Timestamp, u64), u16)>,
    max_gap: i64,
    /// Nodes alive in it (the chain is over when none is).
    live: u32,
    /// Its nodes' ids (some perhaps gone), to move them when chains merge.
    members: Vec<u64>,
    /// Connections not yet covered: the chain is shorter than `churn_min`.
    waiting: Vec<(Timestamp, u64)>,
    covered: bool,
}

impl Chain {
    fn new(uid: u64, group: u32) -> Chain {
        let never = (Timestamp(i64::MAX), u64::MAX);
        Chain {
            uid,
            group,
            n: 0,
            first: never,
            first_what: None,
            last: ((Timestamp(i64::MIN), 0), 0, Timestamp(i64::MIN)),
            rtt_count: 0,
            rtt_sum: 0,
            first_rtt: None,
            by_client: 0,
            by_server: 0,
            close_in_request: 0,
            close_in_response: 0,
            tls: 0,
            tls_resumed: 0,
            listed: Vec::new(),
            max_gap: 0,
            live: 0,
            members: Vec::new(),
            waiting: Vec::new(),
            covered: false,
        }
    }

    /// Sums `m` in.
    fn add(&mut self, m: &mut Member) {
        self.n = self.n.saturating_add(1);
        if m.order <= self.first {
            self.first = m.order;
            self.first_what = m.what.take();
        }
        m.what = None;
        if m.order >= self.last.0 {
            self.last = (m.order, m.port, m.end_ts);
        }
        if let Some(rtt) = m.rtt {
            self.rtt_count = self.rtt_count.saturating_add(1);
            self.rtt_sum = self.rtt_sum.saturating_add(rtt);
            if self.first_rtt.is_none_or(|(o, _)| m.order < o) {
                self.first_rtt = Some((m.order, rtt));
            }
        }
        match m.closer {
            Some(Side::Client) => self.by_client = self.by_client.saturating_add(1),
            Some(Side::Server) => self.by_server = self.by_server.saturating_add(1),
            None => {}
        }
        self.close_in_request = self
            .close_in_request
            .saturating_add(u64::from(m.close_in_request));
        self.close_in_response = self
            .close_in_response
            .saturating_add(u64::from(m.close_in_response));
        self.tls = self.tls.saturating_add(u64::from(m.tls));
        self.tls_resumed = self.tls_resumed.saturating_add(u64::from(m.resumed));
        insert_listed(&mut self.listed, (m.order, m.port));
        self.max_gap = self.max_gap.max(m.gap);
    }

    /// Sums `other` (another chain of the same group) in.
    fn absorb(&mut self, other: Chain) {
        self.n = self.n.saturating_add(other.n);
        if other.first < self.first {
            self.first = other.first;
            self.first_what = other.first_what;
        }
        if other.last.0 > self.last.0 {
            self.last = other.last;
        }
        self.rtt_count = self.rtt_count.saturating_add(other.rtt_count);
        self.rtt_sum = self.rtt_sum.saturating_add(other.rtt_sum);
        if let Some((o, rtt)) = other.first_rtt {
            if self.first_rtt.is_none_or(|(mine, _)| o < mine) {
                self.first_rtt = Some((o, rtt));
            }
        }
        self.by_client = self.by_client.saturating_add(other.by_client);
        self.by_server = self.by_server.saturating_add(other.by_server);
        self.close_in_request = self.close_in_request.saturating_add(other.close_in_request);
        self.close_in_response = self
            .close_in_response
            .saturating_add(other.close_in_response);
        self.tls = self.tls.saturating_add(other.tls);
        self.tls_resumed = self.tls_resumed.saturating_add(other.tls_resumed);
        for e in other.listed {
            insert_listed(&mut self.listed, e);
        }
        self.max_gap = self.max_gap.max(other.max_gap);
        self.live = self.live.saturating_add(other.live);
        self.members.extend(other.members);
        self.waiting.extend(other.waiting);
    }
}

/// Keeps `listed` sorted, at most [`MAX_LISTED`].
fn insert_listed(listed: &mut Vec<((Timestamp, u64), u16)>, e: ((Timestamp, u64), u16)) {
    let at = listed.partition_point(|x| x.0 < e.0);
    if at < MAX_LISTED {
        listed.insert(at, e);
        listed.truncate(MAX_LISTED);
    }
}

/// What happens to a node, in time order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// Its close is final (every connection that began before it has
    /// finished): it joins its group's closes.
    Close,
    /// Its SYN is final: it links to the closes in the window before it.
    Syn,
    /// No SYN still to come can link to its close.
    Expire,
}

/// S002's state over a capture: chains of one-shot connections linked by
/// "opened within the window after another closed", grown as connections
/// settle, reported when no connection still to come can join them.
/// Linking a SYN to every close in the window before it, with runs of
/// closes joined once, is the same union-find as over the whole capture at
/// once; it runs as the settled time passes each close and SYN.
struct Churn {
    min: usize,
    window: i64,
    group_of: FxHashMap<(IpAddr, SocketAddr), u32>,
    groups: Vec<Group>,
    free_groups: Vec<u32>,
    nodes: FxHashMap<u64, Node>,
    /// What the nodes in no chain yet bring to one.
    members: FxHashMap<u64, Member>,
    chains: Vec<Option<Chain>>,
    free_chains: Vec<u32>,
    next_uid: u64,
    steps: BinaryHeap<Reverse<(Timestamp, Step, u64)>>,
    /// Connections a finding may still go on, or be folded from, with
    /// how many reasons each.
    holds: Holds,
    /// What the steps reported, for the next [`CrossRule::settle`].
    out: CrossOut,
}

impl Churn {
    fn new(min: usize, window: i64) -> Churn {
        Churn {
            min,
            window,
            group_of: FxHashMap::default(),
            groups: Vec::new(),
            free_groups: Vec::new(),
            nodes: FxHashMap::default(),
            members: FxHashMap::default(),
            chains: Vec::new(),
            free_chains: Vec::new(),
            next_uid: 0,
            steps: BinaryHeap::new(),
            holds: Holds::default(),
            out: CrossOut::default(),
        }
    }

    fn group(&mut self, key: (IpAddr, SocketAddr)) -> u32 {
        if let Some(&g) = self.group_of.get(&key) {
            return g;
        }
        let g = Group {
            key: Some(key),
            ..Group::default()
        };
        let i = match self.free_groups.pop() {
            Some(i) => {
                if let Some(slot) = self.groups.get_mut(i as usize) {
                    *slot = g;
                }
                i
            }
            None => {
                self.groups.push(g);
                u32::try_from(self.groups.len().saturating_sub(1)).unwrap_or(NONE)
            }
        };
        self.group_of.insert(key, i);
        i
    }

    fn new_chain(&mut self, group: u32) -> u32 {
        let c = Chain::new(self.next_uid, group);
        self.next_uid = self.next_uid.saturating_add(1);
        match self.free_chains.pop() {
            Some(i) => {
                if let Some(slot) = self.chains.get_mut(i as usize) {
                    *slot = Some(c);
                }
                i
            }
            None => {
                self.chains.push(Some(c));
                u32::try_from(self.chains.len().saturating_sub(1)).unwrap_or(NONE)
            }
        }
    }

    fn chain(&mut self, c: u32) -> Option<&mut Chain> {
        self.chains.get_mut(c as usize).and_then(Option::as_mut)
    }

    /// The interval step of node `j`: link it to every close in the window
    /// before its SYN.
    fn syn(&mut self, j: u64) {
        let Some(node) = self.nodes.get(&j) else {
            return;
        };
        if !node.handshake_seen {
            // Only a seen SYN says when a connection was opened.
            return;
        }
        let (g, start) = (node.group, node.start);
        let window = self.window;
        let Some(group) = self.groups.get(g as usize) else {
            return;
        };
        let lo = group
            .points
            .partition_point(|(c, _)| start.since(*c) > window);
        let hi = group.points.partition_point(|(c, _)| *c <= start);
        if lo >= hi {
            return;
        }
        let Some(&(latest, i)) = group.points.get(hi.saturating_sub(1)) else {
            return;
        };
        let base = group.base;
        let gap = start.since(latest);
        match self.members.get_mut(&j) {
            Some(m) => m.gap = gap,
            None => {
                let c = self.nodes.get(&j).map_or(NONE, |n| n.chain);
                if let Some(c) = self.chain(c) {
                    c.max_gap = c.max_gap.max(gap);
                }
            }
        }
        self.union(i, j);
        let (lo, hi) = (
            base.saturating_add(lo as u64),
            base.saturating_add(hi as u64),
        );
        let mut k = self.find_open(g, lo);
        while k.saturating_add(1) < hi {
            let pair = self.groups.get(g as usize).and_then(|grp| {
                let at = usize::try_from(k.checked_sub(grp.base)?).ok()?;
                Some((grp.points.get(at)?.1, grp.points.get(at.checked_add(1)?)?.1))
            });
            if let Some((a, b)) = pair {
                self.union(a, b);
            }
            self.set_open(g, k, k.saturating_add(1));
            k = self.find_open(g, k.saturating_add(1));
        }
    }

    fn open_at(&self, g: u32, k: u64) -> Option<u64> {
        let grp = self.groups.get(g as usize)?;
        let at = usize::try_from(k.checked_sub(grp.base)?).ok()?;
        grp.next_open.get(at).copied()
    }

    fn set_open(&mut self, g: u32, k: u64, v: u64) {
        if let Some(grp) = self.groups.get_mut(g as usize) {
            let at = k
                .checked_sub(grp.base)
                .and_then(|a| usize::try_from(a).ok());
            if let Some(slot) = at.and_then(|a| grp.next_open.get_mut(a)) {
                *slot = v;
            }
        }
    }

    /// The first position at or after `k` not joined with its next (path
    /// halving).
    fn find_open(&mut self, g: u32, mut k: u64) -> u64 {
        while let Some(p) = self.open_at(g, k) {
            if p == k {
                break;
            }
            let grand = self.open_at(g, p).unwrap_or(p);
            self.set_open(g, k, grand);
            k = grand;
        }
        k
    }

    /// Links the connections `a` and `b`.
    fn union(&mut self, a: u64, b: u64) {
        if a == b {
            // A capture can show a close before its connection's SYN.
            return;
        }
        let (Some(ca), Some(cb)) = (
            self.nodes.get(&a).map(|n| n.chain),
            self.nodes.get(&b).map(|n| n.chain),
        ) else {
            return;
        };
        match (ca == NONE, cb == NONE) {
            (true, true) => {
                let Some(g) = self.nodes.get(&a).map(|n| n.group) else {
                    return;
                };
                let c = self.new_chain(g);
                self.join(a, c);
                self.join(b, c);
            }
            (true, false) => self.join(a, cb),
            (false, true) => self.join(b, ca),
            (false, false) if ca != cb => self.merge(ca, cb),
            _ => {}
        }
    }

    /// Takes node `id`, in no chain, into chain `c`.
    fn join(&mut self, id: u64, c: u32) {
        let min = self.min as u64;
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        node.chain = c;
        let order = (node.start, id);
        let Some(mut member) = self.members.remove(&id) else {
            return;
        };
        let Some(chain) = self.chains.get_mut(c as usize).and_then(Option::as_mut) else {
            return;
        };
        let first_member = chain.n == 0;
        let old_host = chain.last.0 .1;
        chain.add(&mut member);
        chain.live = chain.live.saturating_add(1);
        chain.members.push(id);
        chain.waiting.push(order);
        let new_host = chain.last.0 .1;
        let reached = !chain.covered && chain.n >= min;
        // The node's own hold goes on as the chain's wait (or ends with a
        // cover below); the chain holds its last connection.
        if first_member {
            self.holds.hold(new_host);
        } else if new_host != old_host {
            self.holds.release(old_host);
            self.holds.hold(new_host);
        }
        if reached || self.chain(c).is_some_and(|ch| ch.covered) {
            self.cover_waiting(c);
        }
    }

    /// Chain `c` is (now) long enough: every connection waiting in it is
    /// covered, and no longer held for that.
    fn cover_waiting(&mut self, c: u32) {
        let Some(chain) = self.chain(c) else {
            return;
        };
        chain.covered = true;
        let uid = chain.uid;
        let waiting = std::mem::take(&mut chain.waiting);
        for (start, id) in waiting {
            self.holds.release(id);
            self.out.covers.push(Cover::Connection {
                code: META.code,
                group: uid,
                connection: id,
                order: (start, id),
                subsumes: SUBSUMES,
            });
        }
    }

    /// Merges chains `a` and `b`.
    fn merge(&mut self, a: u32, b: u32) {
        let size = |c: &Option<Chain>| c.as_ref().map_or(0, |c| c.members.len());
        let (big, small) = match (self.chains.get(a as usize), self.chains.get(b as usize)) {
            (Some(x), Some(y)) if size(x) >= size(y) => (a, b),
            (Some(_), Some(_)) => (b, a),
            _ => return,
        };
        let Some(other) = self.chains.get_mut(small as usize).and_then(Option::take) else {
            return;
        };
        self.free_chains.push(small);
        for id in &other.members {
            if let Some(n) = self.nodes.get_mut(id) {
                if n.chain == small {
                    n.chain = big;
                }
            }
        }
        let (other_uid, other_covered, other_host) = (other.uid, other.covered, other.last.0 .1);
        let min = self.min as u64;
        let Some(chain) = self.chain(big) else {
            return;
        };
        let host = chain.last.0 .1;
        let uid = chain.uid;
        chain.absorb(other);
        let new_host = chain.last.0 .1;
        let covered = chain.covered || other_covered || chain.n >= min;
        // Each chain held its last connection; the merged one holds one.
        if new_host == host {
            self.holds.release(other_host);
        } else {
            self.holds.release(host);
        }
        if other_covered {
            self.out.covers.push(Cover::Merge {
                code: META.code,
                from: other_uid,
                into: uid,
            });
        }
        if covered {
            self.cover_waiting(big);
        }
    }

    /// Takes the next step, whatever its time.
    fn step(&mut self) {
        let Some(Reverse((_, step, id))) = self.steps.pop() else {
            return;
        };
        match step {
            Step::Close => {
                let Some(node) = self.nodes.get(&id) else {
                    return;
                };
                let point = (node.close, id);
                if let Some(group) = self.groups.get_mut(node.group as usize) {
                    // A close that comes after later ones (a connection
                    // judged late) links by its SYN only.
                    if group.points.back().is_none_or(|&b| b < point) {
                        let pos = group.base.saturating_add(group.points.len() as u64);
                        group.points.push_back(point);
                        group.next_open.push_back(pos);
                    }
                }
            }
            Step::Syn => self.syn(id),
            Step::Expire => self.expire(id),
        }
    }

    /// Node `j`'s close can link no more: it is done; its chain with it,
    /// if it was the last alive.
    fn expire(&mut self, j: u64) {
        let Some(node) = self.nodes.remove(&j) else {
            return;
        };
        self.members.remove(&j);
        if node.chain == NONE {
            self.holds.release(j);
        } else if let Some(chain) = self
            .chains
            .get_mut(node.chain as usize)
            .and_then(Option::as_mut)
        {
            chain.live = chain.live.saturating_sub(1);
            if chain.members.len()
                > 2usize
                    .saturating_mul(chain.live as usize)
                    .saturating_add(16)
            {
                let c = node.chain;
                let nodes = &self.nodes;
                chain
                    .members
                    .retain(|id| nodes.get(id).is_some_and(|n| n.chain == c));
            }
            if chain.live == 0 {
                self.finish_chain(node.chain);
            }
        }
        if let Some(group) = self.groups.get_mut(node.group as usize) {
            while group.points.front().is_some_and(|&p| p <= (node.close, j)) {
                group.points.pop_front();
                group.next_open.pop_front();
                group.base = group.base.saturating_add(1);
            }
            group.nodes = group.nodes.saturating_sub(1);
            if group.nodes == 0 {
                if let Some(key) = group.key.take() {
                    self.group_of.remove(&key);
                }
                *group = Group::default();
                self.free_groups.push(node.group);
            }
        }
    }

    /// Chain `c` can grow no more: reported if long enough.
    fn finish_chain(&mut self, c: u32) {
        let Some(chain) = self.chains.get_mut(c as usize).and_then(Option::take) else {
            return;
        };
        self.free_chains.push(c);
        self.holds.release(chain.last.0 .1);
        for (_, id) in &chain.waiting {
            self.holds.release(*id);
        }
        if chain.n >= self.min as u64 {
            if let Some(key) = self.groups.get(chain.group as usize).and_then(|g| g.key) {
                self.out.findings.push(report(key, &chain));
            }
        }
    }
}

impl CrossRule for Churn {
    fn add(&mut self, c: &ConnSummary<'_>, _out: &mut CrossOut) {
        if !is_one_shot(c) {
            return;
        }
        let Some(close) = c.close_ts else {
            return;
        };
        let g = self.group((c.client_host(), c.server));
        if let Some(group) = self.groups.get_mut(g as usize) {
            group.nodes = group.nodes.saturating_add(1);
        }
        let request = c.requests().next();
        let closer = c.first_closer().or(c.rst.map(|(side, _)| side));
        let member = Member {
            order: (c.start_ts, c.id),
            port: c.client.port(),
            end_ts: c.end_ts,
            // The setup each paid: the TCP handshake, and the TLS one on TLS.
            rtt: c.setup_ns,
            closer,
            close_in_request: request.is_some_and(|r| r.headers.connection.close),
            close_in_response: request
                .and_then(|r| r.response_headers)
                .is_some_and(|h| h.connection.close),
            tls: c.tls.is_some(),
            resumed: c
                .tls
                .as_ref()
                .is_some_and(|t| t.handshake == crate::tls::HandshakeKind::Resumed),
            gap: 0,
            what: request.map(|r| request_line(r.method, r.uri).into()),
        };
        self.nodes.insert(
            c.id,
            Node {
                group: g,
                start: c.start_ts,
                close,
                handshake_seen: c.handshake_seen,
                chain: NONE,
            },
        );
        self.members.insert(c.id, member);
        self.holds.hold(c.id);
        self.steps.push(Reverse((close, Step::Close, c.id)));
        self.steps.push(Reverse((c.start_ts, Step::Syn, c.id)));
        self.steps
            .push(Reverse((close.add_nanos(self.window), Step::Expire, c.id)));
    }

    fn settle(&mut self, settled: Timestamp, _exact: bool, out: &mut CrossOut) {
        while let Some(&Reverse((at, _, _))) = self.steps.peek() {
            if at >= settled {
                break;
            }
            self.step();
        }
        out.findings.append(&mut self.out.findings);
        out.covers.append(&mut self.out.covers);
    }

    fn bound(&mut self, max: usize, out: &mut CrossOut) -> bool {
        if self.nodes.len() <= max {
            return false;
        }
        while self.nodes.len() > max / 2 && !self.steps.is_empty() {
            self.step();
        }
        out.findings.append(&mut self.out.findings);
        out.covers.append(&mut self.out.covers);
        true
    }

    fn holds(&self) -> Option<u64> {
        self.holds.earliest()
    }
}

fn report((host, server): (IpAddr, SocketAddr), chain: &Chain) -> Finding {
    let n = chain.n;
    let ((last_start, last_id), last_port, last_end) = chain.last;
    // The handshakes persistence would have saved: all but the first.
    let handshake_total = chain.rtt_sum;
    let saved = if chain.rtt_count == n {
        handshake_total.saturating_sub(chain.first_rtt.map_or(0, |(_, r)| r))
    } else {
        // In i128, which the product cannot overflow.
        let scaled = i128::from(handshake_total)
            .saturating_mul(i128::from(n.saturating_sub(1)))
            .checked_div(i128::from(chain.rtt_count.max(1)))
            .unwrap_or(0);
        i64::try_from(scaled).unwrap_or(i64::MAX)
    };
    let closed_by = if chain.by_server == n {
        "server"
    } else if chain.by_client == n {
        "client"
    } else {
        "mixed"
    };
    let ports: Vec<u16> = chain.listed.iter().map(|(_, p)| *p).collect();
    let port_list = if n <= 5 {
        join(&ports)
    } else {
        format!(
            "{} … {}",
            join(ports.get(..3).unwrap_or_default()),
            last_port
        )
    };
    let what = chain
        .first_what
        .as_ref()
        .map(|w| format!(" (first: {w})"))
        .unwrap_or_default();
    let who = match closed_by {
        "server" => " by the server",
        "client" => " by the client",
        _ => "",
    };
    let fix = if chain.close_in_request == n {
        "the client sends `Connection: close`: drop it and reuse connections from a pool"
    } else if chain.close_in_response == n {
        "the server answers `Connection: close`: enable keep-alive on it"
    } else if closed_by == "server" {
        "the server closes after each response: enable keep-alive, with a timeout longer than \
         the client's pause between requests"
    } else if closed_by == "client" {
        "the client closes after each response: keep the connection open and reuse it (a pool)"
    } else {
        "keep connections alive (HTTP/1.1 persistence) and reuse them from a pool"
    };
    let tls = chain.tls;
    let (carried, handshakes_are) = if tls == n {
        (
            "one exchange of TLS records (one request and its response, as far as encrypted \
             records show)"
                .to_string(),
            "TCP and TLS handshakes",
        )
    } else {
        (format!("one request{what}"), "handshakes")
    };
    let message = format!(
        "{n} connections from {host} to {server} (ports {port_list}) each carried {carried} and \
         were closed{who}, the next one opening at most {} later: {} of the {n} {handshakes_are} \
         ({}) could have been saved by keeping one connection; {fix}",
        duration(chain.max_gap),
        n.saturating_sub(1),
        duration(saved),
    );
    let ids: Vec<u64> = chain.listed.iter().map(|((_, id), _)| *id).collect();
    let client = SocketAddr::new(host, last_port);
    let mut f = Finding::on(&META, (last_id, client, server), last_start, message);
    if tls > 0 {
        f = f
            .with("tls_connections", tls)
            .with("tls_resumed", chain.tls_resumed);
    }
    f.with("connections", n)
        .with("connection_ids", ids)
        .with("client_ports", ports)
        .with_ms("max_gap_ms", chain.max_gap)
        .with_ms("handshakes_ms", handshake_total)
        .with_ms("saved_handshakes_ms", saved)
        .with_ms("span_ms", last_end.since(chain.first.0))
        .with("closed_by", closed_by)
        .with("requests_with_connection_close", chain.close_in_request)
        .with("responses_with_connection_close", chain.close_in_response)
        // S001 on these connections is this cause reported one connection
        // at a time: folded into this finding as the chain took them in.
        .covering(chain.uid, SUBSUMES)
}

fn join<'a>(ports: impl IntoIterator<Item = &'a u16>) -> String {
    ports
        .into_iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
    use serde_json::json;

    const GET: &[u8] = b"GET /catalog HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n";
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
    const OK_KEEP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    /// One request on a new connection from port `port` at `at` ms, closed
    /// by the server ([`Timeline::one_shot`]; its close at +110).
    fn one_shot(t: &mut Timeline, port: u16, at: f64) {
        t.connection(&format!("10.0.0.1:{port}"), "10.0.0.2:80");
        t.one_shot(at, GET, OK);
    }

    /// `n` one-shot connections, each SYN `gap` ms after the previous close.
    fn chain(n: usize, gap: f64) -> Timeline {
        let mut t = Timeline::new();
        for i in 0..n {
            one_shot(&mut t, 41011 + i as u16, i as f64 * (110.0 + gap));
        }
        t
    }

    #[test]
    fn one_exchange_tls_connections_make_a_chain_too() {
        use crate::tls::build::{app_data, ClientHello, ServerHello};
        let mut t = Timeline::new();
        for i in 0..3u16 {
            let at = f64::from(i) * 300.0;
            t.connection(&format!("10.0.0.1:{}", 41011 + i), "10.0.0.2:443");
            let ready = t.tls13_handshake(
                at,
                50.0,
                &ClientHello::new().tls13(),
                &ServerHello::new().version(0x0304),
            );
            t.client(ready, &app_data(200))
                .server(ready + 50.0, &app_data(300));
            t.server_fin(ready + 60.0)
                .client_fin(ready + 61.0)
                .server_ack(ready + 62.0);
        }
        let f = only(t.findings_of("S002"));
        assert_eq!(f.connection, 2);
        assert_evidence(
            &f,
            json!({"connections": 3, "tls_connections": 3, "tls_resumed": 0, "handshakes_ms": 300.0, "saved_handshakes_ms": 200.0}),
        );
        assert_says(&f, "each carried one exchange of TLS records");
        assert_says(&f, "2 of the 3 TCP and TLS handshakes (200.0 ms)");
    }

    #[test]
    fn fires_once_on_the_last_connection_of_the_chain() {
        let f = only(chain(3, 50.0).findings_of("S002"));
        assert_eq!((f.connection, f.client.as_str()), (2, "10.0.0.1:41013"));
        assert_evidence(
            &f,
            json!({"connections": 3, "connection_ids": [0, 1, 2], "client_ports": [41011, 41012, 41013]}),
        );
        assert_evidence(
            &f,
            json!({"max_gap_ms": 50.0, "handshakes_ms": 150.0, "saved_handshakes_ms": 100.0, "closed_by": "server"}),
        );
        assert_says(&f, "client sends `Connection: close`");
    }

    #[test]
    fn chain_length_and_window_edges() {
        let found = |n: usize, gap: f64, options: &[(&str, f64)]| {
            chain(n, gap).findings_with("S002", options).len()
        };
        assert_eq!((found(2, 50.0, &[]), found(3, 50.0, &[])), (0, 1));
        assert_eq!(found(3, 50.0, &[("churn_min", 4.0)]), 0);
        let f = only(chain(7, 50.0).findings_of("S002"));
        assert_eq!((f.connection, &f.evidence["connections"]), (6, &json!(7)));
        // 10 s between a close and the next SYN still chains; 10.001 s does not.
        assert_eq!((found(3, 10_000.0, &[]), found(3, 10_001.0, &[])), (1, 0));
        assert_eq!(found(3, 10_001.0, &[("churn_window_s", 11.0)]), 1);
    }

    #[test]
    fn up_to_five_ports_are_listed_then_the_first_three_and_the_last() {
        let ports = |n: usize| {
            let f = only(chain(n, 50.0).findings_of("S002"));
            let (_, rest) = f.message.split_once("(ports ").unwrap();
            rest.split_once(')').unwrap().0.to_string()
        };
        assert_eq!(ports(5), "41011, 41012, 41013, 41014, 41015");
        assert_eq!(ports(6), "41011, 41012, 41013 … 41016");
    }

    #[test]
    fn a_broken_chain_is_two_chains() {
        // 3 + (a 20 s pause) + 3: two findings, on the third and the sixth.
        let mut t = Timeline::new();
        for i in 0..3 {
            one_shot(&mut t, 41011 + i, f64::from(i) * 160.0);
            one_shot(&mut t, 41021 + i, 20_000.0 + f64::from(i) * 160.0);
        }
        let f = t.findings_of("S002");
        let on: Vec<u64> = f.iter().map(|f| f.connection).collect();
        assert_eq!(on, [2, 5], "{f:?}");
    }

    #[test]
    fn reused_or_overlapping_connections_are_not_churn() {
        // Two requests on the second connection: no longer one per connection.
        let mut t = Timeline::new();
        one_shot(&mut t, 41011, 0.0);
        t.connection("10.0.0.1:41012", "10.0.0.2:80");
        t.handshake(160.0, 50.0)
            .client(210.0, GET)
            .server(260.0, OK_KEEP);
        t.client(270.0, GET).server(280.0, OK).close(290.0);
        one_shot(&mut t, 41013, 340.0);
        assert!(t.findings_of("S002").is_empty());
        // Three one-request connections open at the same time: parallel,
        // not a chain (one connection could not have carried them in turn).
        let mut t = Timeline::new();
        for i in 0..3 {
            one_shot(&mut t, 41011 + i, f64::from(i));
        }
        assert!(t.findings_of("S002").is_empty());
        // Different servers: no chain.
        let mut t = Timeline::new();
        for i in 0..3u16 {
            let server = format!("10.0.0.{}:80", 2 + i);
            t.connection(&format!("10.0.0.1:{}", 41011 + i), &server);
            t.one_shot(f64::from(i) * 160.0, GET, OK);
        }
        assert!(t.findings_of("S002").is_empty());
    }

    #[test]
    fn failed_requests_do_not_make_churn() {
        // The middle connection is reset before its response: a failure
        // (R001/R004 territory), not a request served and closed.
        let mut t = Timeline::new();
        one_shot(&mut t, 41011, 0.0);
        t.connection("10.0.0.1:41012", "10.0.0.2:80");
        t.handshake(160.0, 50.0)
            .client(210.0, GET)
            .server_rst(260.0);
        one_shot(&mut t, 41013, 300.0);
        assert!(t.findings_of("S002").is_empty());
    }

    #[test]
    fn interleaved_chains_from_one_client_are_one_group() {
        // Two lanes, each a chain of 2, overlapping each other: 4 one-shot
        // connections, each opened soon after some other one closed.
        let mut t = Timeline::new();
        for (port, at) in [(41011, 0.0), (41012, 60.0), (41013, 115.0), (41014, 175.0)] {
            one_shot(&mut t, port, at);
        }
        let f = only(t.findings_of("S002"));
        assert_eq!((f.connection, &f.evidence["connections"]), (3, &json!(4)));
    }

    #[test]
    fn a_chain_longer_than_the_index_horizon_is_reported_once() {
        // One request every 5 s for 800 s: the index runs the rules and
        // evicts the chain's head while the chain goes on; the rest of the
        // chain is the same group, not a new one.
        let mut t = Timeline::new();
        for i in 0..160u16 {
            one_shot(&mut t, 20000 + i, f64::from(i) * 5000.0);
        }
        let f = only(t.findings_of("S002"));
        let n = f.evidence["connections"].as_u64().unwrap_or(0);
        assert!((3..=160).contains(&n), "{n}");
    }
}
