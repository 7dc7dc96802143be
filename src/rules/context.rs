//! What a rule sees of one connection.

use crate::flow::Connection;
use crate::http::{HttpConnectionReport, Protocol};
use crate::reassembly::AckRelease;
use crate::tls::{ReleasePlace, TlsReport};

/// A finished connection with everything the rules may judge.
pub struct ConnectionFacts<'a> {
    pub conn: &'a Connection,
    pub http: &'a HttpConnectionReport,
    /// Data that left only after the peer's pure ACK, its sender quiet
    /// before it for at least what the enabled rules need
    /// ([`Rule::needs`](super::api::Rule::needs)): the Nagle / delayed-ACK
    /// evidence.
    pub releases: &'a [AckRelease],
    /// What the connection spoke.
    pub protocol: Protocol,
    /// What the TLS stage found, on a TLS connection: the handshake, its
    /// timing, the records by direction and the exchanges of application
    /// data. Without keys the HTTP inside is not read: `http` is empty.
    pub tls: Option<&'a TlsReport>,
    /// A TLS connection decrypted with a key log: `http` holds the HTTP
    /// inside, read as on a clear-text connection.
    pub decrypted: bool,
    /// On a TLS connection, where each of `releases` sat among its
    /// sender's records (by release frame).
    pub release_places: &'a [ReleasePlace],
}
