//! A finding: one rule firing on one connection (and transaction).

use super::meta::{RuleMeta, Severity};
use crate::flow::Connection;
use crate::Timestamp;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;
use std::net::SocketAddr;

/// What a rule found, where, and the numbers that made it fire.
#[derive(Clone, Debug)]
pub struct Finding {
    pub code: &'static str,
    pub rule: &'static str,
    pub severity: Severity,
    pub connection: u64,
    pub client: String,
    pub server: String,
    /// Index of the transaction within the connection, where one applies.
    pub transaction: Option<u64>,
    pub ts: Timestamp,
    /// One line a person can act on: what happened, where, what it cost, what to change.
    pub message: String,
    pub evidence: Map<String, Value>,
    /// For a finding about a group of connections: the connections it
    /// speaks for and the rules it subsumes there (see [`Covers`]).
    pub covers: Option<Box<Covers>>,
    /// The frames to open in Wireshark and the request the finding is
    /// about, added by the engine (see [`Place`]).
    pub place: Option<Box<Place>>,
}

/// Where a finding is in the capture, as a Wireshark user looks for it:
/// the connection's first and last frames (its id is tshark's
/// `tcp.stream`), and for a finding on a transaction its request's first
/// frame, its response's first and last frames, and what the request
/// asked (method, target, Host). Frame numbers count from 1, as
/// Wireshark's `frame.number`; a byte that arrived ahead of a hole counts
/// in the frame that filled it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Place {
    pub connection_first_frame: u64,
    pub connection_last_frame: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_frame: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_first_frame: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_last_frame: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl Place {
    /// The frames as a range a person reads: `4-9` (request to the
    /// response's last frame) on a transaction, else the connection's.
    pub fn frame_range(&self) -> String {
        let (a, b) = match self.request_frame.or(self.response_first_frame) {
            Some(first) => (first, self.response_last_frame.unwrap_or(first)),
            None => (self.connection_first_frame, self.connection_last_frame),
        };
        if a == b || b == 0 {
            a.to_string()
        } else {
            format!("{a}-{b}")
        }
    }
}

/// What a group finding (a churn chain, say) declares so that one cause
/// gives one finding: the group it stands for, as its rule numbered it in
/// the [`Cover`](super::api::Cover)s that took connections into it, and the
/// codes of the rules whose findings on those connections report the same
/// cause one connection at a time. The engine ([`Linter`](super::Linter))
/// has folded those findings into this one as the covers came (listing
/// them in its `folded` evidence).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Covers {
    pub group: u64,
    pub subsumes: &'static [&'static str],
}

impl Finding {
    /// A finding of `meta` on `conn` at `ts`, at the rule's default severity
    /// (the engine applies configured overrides afterwards).
    pub fn new(
        meta: &'static RuleMeta,
        conn: &Connection,
        ts: Timestamp,
        message: String,
    ) -> Finding {
        Finding::on(meta, (conn.id, conn.client, conn.server), ts, message)
    }

    /// A finding of `meta` on the connection (id, client, server) at `ts`,
    /// for rules that know it by its summary rather than the
    /// [`Connection`] (the cross-connection rules).
    pub fn on(
        meta: &'static RuleMeta,
        (connection, client, server): (u64, SocketAddr, SocketAddr),
        ts: Timestamp,
        message: String,
    ) -> Finding {
        Finding {
            code: meta.code,
            rule: meta.name,
            severity: meta.severity,
            connection,
            client: client.to_string(),
            server: server.to_string(),
            transaction: None,
            ts,
            message,
            evidence: Map::new(),
            covers: None,
            place: None,
        }
    }

    pub fn transaction(mut self, index: u64) -> Finding {
        self.transaction = Some(index);
        self
    }

    /// Declares the group this finding speaks for (numbered as in its
    /// rule's covers) and the rules whose findings there it subsumes (see
    /// [`Covers`]).
    pub fn covering(mut self, group: u64, subsumes: &'static [&'static str]) -> Finding {
        self.covers = Some(Box::new(Covers { group, subsumes }));
        self
    }

    pub fn severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }

    /// Adds one piece of evidence.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Finding {
        self.evidence.insert(key.to_string(), value.into());
        self
    }

    /// Adds a duration in milliseconds, rounded to microseconds.
    pub fn with_ms(self, key: &str, nanos: i64) -> Finding {
        self.with(key, Ms(nanos).evidence())
    }

    /// Adds every field of `evidence`, a struct that derives `Serialize`
    /// (typed evidence): the rule builds its message from the same struct,
    /// so the message cannot quote a number the evidence does not hold.
    pub fn with_evidence(mut self, evidence: &impl Serialize) -> Finding {
        match serde_json::to_value(evidence) {
            Ok(Value::Object(fields)) => self.evidence.extend(fields),
            other => debug_assert!(false, "evidence is not a struct: {other:?}"),
        }
        self
    }
}

/// A duration (ns) as a finding shows it: in evidence as milliseconds
/// rounded to microseconds ([`Finding::with_ms`]), in a message as
/// milliseconds with one decimal (`93.2 ms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ms(pub i64);

impl Ms {
    fn evidence(self) -> f64 {
        (self.0 as f64 / 1e3).round() / 1e3
    }
}

impl Serialize for Ms {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.evidence())
    }
}

impl fmt::Display for Ms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} ms", self.0 as f64 / 1e6)
    }
}
