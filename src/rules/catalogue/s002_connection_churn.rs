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

/// A one-shot connection whose steps are not all taken: its SYN waits to
/// be linked to the closes before it (until everything that began before
/// it has finished), its close to join its group's closes. What it brings
/// to a chain ([`Member`]) is kept beside it until it joins one. Once both
/// steps are taken and it is in a chain, it is let go: its close lives on
/// only as part of its chain's run of closes ([`Run`]). A close in no chain
/// keeps its node until a SYN links it or its window passes.
#[derive(Debug)]
struct Node {
    group: u32,
    start: Timestamp,
    close: Timestamp,
    handshake_seen: bool,
    chain: u32,
    syn_done: bool,
    close_done: bool,
}

/// Whose closes a [`Run`] holds: a chain's, or one connection's not yet in
/// any chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Chain(u32),
    Node(u64),
}

/// Consecutive closes of one group (in close order) that are all in one
/// chain, as one entry: a SYN that links to any of them links to their
/// chain, so which ones lie in its window matters only through the first
/// and the last (`(close, id)` each). This keeps S002's window at one entry
/// per run of closes instead of one per connection.
#[derive(Clone, Copy, Debug)]
struct Run {
    owner: Owner,
    first: (Timestamp, u64),
    last: (Timestamp, u64),
}

/// The closes of one client host's connections to one server, in order,
/// as far as they are final, as runs.
#[derive(Debug, Default)]
struct Group {
    key: Option<(IpAddr, SocketAddr)>,
    runs: VecDeque<Run>,
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
    /// When the last of its closes leaves the window, `(close + window,
    /// id)`: then no SYN still to come can join it, and it is over.
    end: (Timestamp, u64),
    /// Its nodes alive (see [`Node`]).
    live: u32,
    /// Its alive nodes' ids (some perhaps gone), to move them when chains
    /// merge.
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
            end: (Timestamp(i64::MIN), 0),
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
        self.end = self.end.max(other.end);
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

/// What happens, in time order (at one time, in this order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// A node's close is final (every connection that began before it has
    /// finished): it joins its group's closes.
    Close,
    /// A node's SYN is final: it links to the closes in the window before it.
    Syn,
    /// No SYN still to come can link to the close of a node in no chain.
    Expire,
    /// No SYN still to come can link to a chain's last close (the payload
    /// is its slot and its uid's low half, see [`timer`]).
    ChainEnd,
}

/// A chain's timer payload: its slot, and its uid's low 32 bits (a slot is
/// reused: a stale timer finds another chain there, or none).
fn timer(slot: u32, uid: u64) -> u64 {
    (u64::from(slot) << 32) | (uid & 0xffff_ffff)
}

/// S002's state over a capture: chains of one-shot connections linked by
/// "opened within the window after another closed", grown as connections
/// settle, reported when no connection still to come can join them.
/// Linking a SYN to every close in the window before it joins those closes
/// into one chain: the same union-find as over the whole capture at once,
/// run as the settled time passes each close and SYN. The closes in the
/// window are kept as runs ([`Run`]), one entry per run of closes of one
/// chain, so churn at any rate costs a few entries, not one per connection.
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
    /// The latest step taken: a close whose window ended before it is gone
    /// (a SYN judged late, whose step comes after later ones, sees only
    /// what is left).
    frontier: (Timestamp, Step, u64),
    /// Runs in all groups.
    runs: usize,
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
            frontier: (Timestamp(i64::MIN), Step::Close, 0),
            runs: 0,
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

    /// Whether the close `(ts, id)` has left the window: its step
    /// `(ts + window, Expire, id)` would have been taken already.
    fn expired(&self, (ts, id): (Timestamp, u64)) -> bool {
        (ts.add_nanos(self.window), Step::Expire, id) < self.frontier
    }

    /// Drops group `g`'s runs whose closes have all left the window, and
    /// the group itself once it holds nothing.
    fn trim(&mut self, g: u32) {
        let window = self.window;
        let frontier = self.frontier;
        let Some(group) = self.groups.get_mut(g as usize) else {
            return;
        };
        while group
            .runs
            .front()
            .is_some_and(|r| (r.last.0.add_nanos(window), Step::Expire, r.last.1) < frontier)
        {
            group.runs.pop_front();
            self.runs = self.runs.saturating_sub(1);
        }
        if group.nodes == 0 && group.runs.is_empty() {
            if let Some(key) = group.key.take() {
                self.group_of.remove(&key);
                *group = Group::default();
                self.free_groups.push(g);
            }
        }
    }

    /// What `o` stands for now: a node taken into a chain is that chain.
    fn resolve(&self, o: Owner) -> Option<Owner> {
        match o {
            Owner::Chain(c) => self
                .chains
                .get(c as usize)
                .and_then(Option::as_ref)
                .map(|_| o),
            Owner::Node(j) => {
                let n = self.nodes.get(&j)?;
                Some(if n.chain == NONE {
                    o
                } else {
                    Owner::Chain(n.chain)
                })
            }
        }
    }

    /// Group `g`'s runs with each owner resolved, adjacent runs of one chain
    /// made one, and the nodes whose closes they took in let go.
    fn normalize(&mut self, g: u32) {
        let Some(runs) = self
            .groups
            .get_mut(g as usize)
            .map(|grp| std::mem::take(&mut grp.runs))
        else {
            return;
        };
        let before = runs.len();
        let mut kept: VecDeque<Run> = VecDeque::with_capacity(before);
        let mut taken = Vec::new();
        for mut r in runs {
            if let Some(owner) = self.resolve(r.owner) {
                if let (Owner::Node(j), Owner::Chain(_)) = (r.owner, owner) {
                    taken.push(j);
                }
                r.owner = owner;
            }
            match kept.back_mut() {
                Some(prev) if prev.owner == r.owner && matches!(r.owner, Owner::Chain(_)) => {
                    prev.last = r.last;
                }
                _ => kept.push_back(r),
            }
        }
        self.runs = self.runs.saturating_sub(before).saturating_add(kept.len());
        if let Some(grp) = self.groups.get_mut(g as usize) {
            grp.runs = kept;
        }
        for j in taken {
            self.let_go(j);
        }
    }

    /// Lets node `j` go if both its steps are taken and it is in a chain:
    /// its close lives on in its chain's run.
    fn let_go(&mut self, j: u64) {
        let Some(node) = self.nodes.get(&j) else {
            return;
        };
        if !(node.syn_done && node.close_done && node.chain != NONE) {
            return;
        }
        let (g, c) = (node.group, node.chain);
        self.nodes.remove(&j);
        if let Some(group) = self.groups.get_mut(g as usize) {
            group.nodes = group.nodes.saturating_sub(1);
        }
        let nodes = &self.nodes;
        if let Some(chain) = self.chains.get_mut(c as usize).and_then(Option::as_mut) {
            chain.live = chain.live.saturating_sub(1);
            if chain.members.len()
                > 2usize
                    .saturating_mul(chain.live as usize)
                    .saturating_add(16)
            {
                chain
                    .members
                    .retain(|id| nodes.get(id).is_some_and(|n| n.chain == c));
            }
        }
    }

    /// The SYN step of node `j`: link it to every close in the window
    /// before its SYN.
    fn syn(&mut self, j: u64) {
        let Some(node) = self.nodes.get_mut(&j) else {
            return;
        };
        node.syn_done = true;
        if !node.handshake_seen {
            // Only a seen SYN says when a connection was opened.
            self.let_go(j);
            return;
        }
        let (g, start) = (node.group, node.start);
        self.trim(g);
        let window = self.window;
        // The closes in [start - window, start]. In time order every close
        // taken is at or before the SYN, so a run is in the window when its
        // last close is, and the latest close is the last run's. A SYN
        // judged late (taken after later closes) knows of a run only its
        // first and last close: it links to those in its window.
        let in_window =
            |c: (Timestamp, u64)| c.0 <= start && start.since(c.0) <= window && !self.expired(c);
        let mut linked: Vec<((Timestamp, u64), Owner)> = Vec::new();
        if let Some(group) = self.groups.get(g as usize) {
            for r in &group.runs {
                if in_window(r.last) {
                    linked.push((r.last, r.owner));
                } else if in_window(r.first) {
                    linked.push((r.first, r.owner));
                }
            }
        }
        let Some(&(latest, _)) = linked.iter().max_by_key(|(c, _)| *c) else {
            self.let_go(j);
            return;
        };
        let gap = start.since(latest.0);
        match self.members.get_mut(&j) {
            Some(m) => m.gap = gap,
            None => {
                let c = self.nodes.get(&j).map_or(NONE, |n| n.chain);
                if let Some(c) = self.chain(c) {
                    c.max_gap = c.max_gap.max(gap);
                }
            }
        }
        let owners: Vec<Owner> = linked.iter().rev().map(|(_, o)| *o).collect();
        let mut at = Owner::Node(j);
        for o in owners {
            if let Some(c) = self.union(at, o) {
                at = Owner::Chain(c);
            }
        }
        self.normalize(g);
        self.let_go(j);
    }

    /// Links `a` and `b` (a connection or a chain each); the chain they are
    /// in after, if any.
    fn union(&mut self, a: Owner, b: Owner) -> Option<u32> {
        let (a, b) = (self.resolve(a)?, self.resolve(b)?);
        match (a, b) {
            // A capture can show a close before its connection's SYN.
            (Owner::Node(x), Owner::Node(y)) if x == y => None,
            (Owner::Node(x), Owner::Node(y)) => {
                let g = self.nodes.get(&x).map(|n| n.group)?;
                let c = self.new_chain(g);
                self.join(x, c);
                self.join(y, c);
                Some(c)
            }
            (Owner::Node(x), Owner::Chain(c)) | (Owner::Chain(c), Owner::Node(x)) => {
                self.join(x, c);
                Some(c)
            }
            (Owner::Chain(x), Owner::Chain(y)) if x == y => Some(x),
            (Owner::Chain(x), Owner::Chain(y)) => self.merge(x, y),
        }
    }

    /// Takes node `id`, in no chain, into chain `c`.
    fn join(&mut self, id: u64, c: u32) {
        let min = self.min as u64;
        let window = self.window;
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        node.chain = c;
        let order = (node.start, id);
        let end = (node.close.add_nanos(window), id);
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
        let uid = chain.uid;
        let arm = first_member;
        chain.end = chain.end.max(end);
        let chain_end = chain.end.0;
        let new_host = chain.last.0 .1;
        let reached = !chain.covered && chain.n >= min;
        if arm {
            // One timer a chain, moved on when it rings early.
            self.steps
                .push(Reverse((chain_end, Step::ChainEnd, timer(c, uid))));
        }
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

    /// Merges chains `a` and `b`; the one left.
    fn merge(&mut self, a: u32, b: u32) -> Option<u32> {
        let size = |c: &Option<Chain>| c.as_ref().map_or(0, |c| c.n);
        let (big, small) = match (self.chains.get(a as usize), self.chains.get(b as usize)) {
            (Some(x), Some(y)) if size(x) >= size(y) => (a, b),
            (Some(_), Some(_)) => (b, a),
            _ => return None,
        };
        let other = self.chains.get_mut(small as usize).and_then(Option::take)?;
        self.free_chains.push(small);
        for id in &other.members {
            if let Some(n) = self.nodes.get_mut(id) {
                if n.chain == small {
                    n.chain = big;
                }
            }
        }
        if let Some(group) = self.groups.get_mut(other.group as usize) {
            for r in &mut group.runs {
                if r.owner == Owner::Chain(small) {
                    r.owner = Owner::Chain(big);
                }
            }
        }
        let (other_uid, other_covered, other_host) = (other.uid, other.covered, other.last.0 .1);
        let min = self.min as u64;
        let chain = self.chain(big)?;
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
        Some(big)
    }

    /// Takes the next step, whatever its time.
    fn step(&mut self) {
        let Some(Reverse(key)) = self.steps.pop() else {
            return;
        };
        if key > self.frontier {
            self.frontier = key;
        }
        let (at, step, id) = key;
        match step {
            Step::Close => self.close(id),
            Step::Syn => self.syn(id),
            Step::Expire => self.expire(id),
            Step::ChainEnd => self.chain_end(at, id),
        }
    }

    /// The close step of node `j`: its close joins its group's.
    fn close(&mut self, j: u64) {
        let window = self.window;
        let Some(node) = self.nodes.get_mut(&j) else {
            return;
        };
        node.close_done = true;
        let point = (node.close, j);
        let (g, chain) = (node.group, node.chain);
        let owner = if chain == NONE {
            // Alone, it waits for a SYN in its window.
            self.steps
                .push(Reverse((point.0.add_nanos(window), Step::Expire, j)));
            Owner::Node(j)
        } else {
            Owner::Chain(chain)
        };
        if let Some(group) = self.groups.get_mut(g as usize) {
            // A close that comes after later ones (a connection judged
            // late) links by its SYN only.
            match group.runs.back_mut() {
                Some(b) if b.last >= point => {}
                Some(b) if b.owner == owner && chain != NONE => b.last = point,
                _ => {
                    group.runs.push_back(Run {
                        owner,
                        first: point,
                        last: point,
                    });
                    self.runs = self.runs.saturating_add(1);
                }
            }
        }
        self.let_go(j);
    }

    /// Node `j`'s close can link no more and it is in no chain: it is done.
    fn expire(&mut self, j: u64) {
        let Some(node) = self.nodes.get(&j) else {
            return;
        };
        if node.chain != NONE {
            // Taken into a chain before its SYN step: the chain's timer
            // sees to it.
            return;
        }
        let g = node.group;
        self.nodes.remove(&j);
        self.members.remove(&j);
        self.holds.release(j);
        if let Some(group) = self.groups.get_mut(g as usize) {
            group.nodes = group.nodes.saturating_sub(1);
        }
        self.trim(g);
    }

    /// The timer of the chain in `payload`'s slot rang at `at`.
    fn chain_end(&mut self, at: Timestamp, payload: u64) {
        let slot = u32::try_from(payload >> 32).unwrap_or(NONE);
        let Some(chain) = self.chain(slot) else {
            return;
        };
        if chain.uid & 0xffff_ffff != payload & 0xffff_ffff {
            return;
        }
        if chain.end.0 > at {
            let end = chain.end.0;
            self.steps.push(Reverse((end, Step::ChainEnd, payload)));
            return;
        }
        self.finish_chain(slot);
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
        // Nodes of it still alive (their SYN step not taken: a capture can
        // show a close before its connection's SYN) go with it.
        for id in &chain.members {
            if self.nodes.get(id).is_some_and(|n| n.chain == c) {
                if let Some(n) = self.nodes.remove(id) {
                    if let Some(group) = self.groups.get_mut(n.group as usize) {
                        group.nodes = group.nodes.saturating_sub(1);
                    }
                }
            }
        }
        if chain.n >= self.min as u64 {
            if let Some(key) = self.groups.get(chain.group as usize).and_then(|g| g.key) {
                self.out.findings.push(report(key, &chain));
            }
        }
        self.trim(chain.group);
    }

    /// State kept, in entries.
    fn size(&self) -> usize {
        self.nodes.len().saturating_add(self.runs)
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
                syn_done: false,
                close_done: false,
            },
        );
        self.members.insert(c.id, member);
        self.holds.hold(c.id);
        self.steps.push(Reverse((close, Step::Close, c.id)));
        self.steps.push(Reverse((c.start_ts, Step::Syn, c.id)));
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
        if self.size() <= max {
            return false;
        }
        while self.size() > max / 2 && !self.steps.is_empty() {
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
