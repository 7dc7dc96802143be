//! A finding: one rule firing on one connection (and transaction).

use super::meta::{RuleMeta, Severity};
use crate::flow::Connection;
use crate::Timestamp;
use serde_json::{Map, Value};

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
        Finding {
            code: meta.code,
            rule: meta.name,
            severity: meta.severity,
            connection: conn.id,
            client: conn.client.to_string(),
            server: conn.server.to_string(),
            transaction: None,
            ts,
            message,
            evidence: Map::new(),
        }
    }

    pub fn transaction(mut self, index: u64) -> Finding {
        self.transaction = Some(index);
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
        let ms = (nanos as f64 / 1e3).round() / 1e3;
        self.with(key, ms)
    }
}
