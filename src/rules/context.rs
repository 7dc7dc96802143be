//! What a rule sees of one connection.

use crate::flow::Connection;
use crate::http::HttpConnectionReport;
use crate::reassembly::AckRelease;

/// A finished connection with everything the rules may judge.
pub struct ConnectionFacts<'a> {
    pub conn: &'a Connection,
    pub http: &'a HttpConnectionReport,
    /// Data that left only after the peer's pure ACK, its sender quiet
    /// before it for at least what the enabled rules need
    /// ([`Rule::needs`](super::api::Rule::needs)): the Nagle / delayed-ACK
    /// evidence.
    pub releases: &'a [AckRelease],
}
