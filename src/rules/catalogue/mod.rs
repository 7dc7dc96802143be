//! The rule catalogue (SPEC §3): one rule a file, peers of each other.
//!
//! A rule file holds the rule's metadata and documentation, its check and
//! its unit tests; it imports the API it stands on ([`crate::rules::api`]),
//! the helpers the rules share ([`common`], [`ack_clock`] for T001/T002,
//! [`truncation`] for R001/R002), and the pipeline's stages, but never
//! another rule file (the `architecture` test fails when one does).
//!
//! Adding a rule: its file here, one line in the list below, a sample
//! capture with its expected findings (`samples/expected.tsv`); the README
//! table is generated (`CONNLINT_BLESS=1 cargo test --test rules_meta`).

use super::api::Rule;

mod ack_clock;
mod common;
mod truncation;

/// Declares each rule's module and lists its rule in [`RULES`], in the
/// order given.
macro_rules! catalogue {
    ($($module:ident :: $rule:ident),* $(,)?) => {
        $(mod $module;)*

        /// Every rule, in catalogue order (SPEC §3).
        static RULES: &[&dyn Rule] = &[$(&$module::$rule),*];
    };
}

catalogue! {
    s001_handshake_dominated::HandshakeDominated,
    s002_connection_churn::ConnectionChurn,
    s003_too_many_parallel_connections::TooManyParallelConnections,
    s004_tuple_reused_in_time_wait::TupleReusedInTimeWait,
    t001_nagle_delayed_ack_stall::NagleDelayedAckStall,
    t002_delayed_ack::DelayedAck,
    c001_keep_alive_header_without_connection_token::KeepAliveHeaderWithoutConnectionToken,
    c002_proxy_connection_header::ProxyConnectionHeader,
    c003_keep_alive_not_echoed::KeepAliveNotEchoed,
    c004_request_after_connection_close::RequestAfterConnectionClose,
    c005_connection_token_names_end_to_end_header::ConnectionTokenNamesEndToEndHeader,
    c006_conflicting_connection_tokens::ConflictingConnectionTokens,
    c007_hop_by_hop_header_forwarded::HopByHopHeaderForwarded,
    c008_invalid_keep_alive_parameters::InvalidKeepAliveParameters,
    p001_pipelined_before_persistence_known::PipelinedBeforePersistenceKnown,
    p002_non_idempotent_method_pipelined::NonIdempotentMethodPipelined,
    p003_unanswered_pipelined_requests_at_close::UnansweredPipelinedRequestsAtClose,
    f001_unframed_body_on_persistent_connection::UnframedBodyOnPersistentConnection,
    f002_content_length_with_transfer_encoding::ContentLengthWithTransferEncoding,
    f003_duplicate_content_length::DuplicateContentLength,
    f004_malformed_chunked_body::MalformedChunkedBody,
    r001_rst_truncated_response::RstTruncatedResponse,
    r002_fin_truncated_response::FinTruncatedResponse,
    r003_reset_on_close_with_unread_data::ResetOnCloseWithUnreadData,
    r004_retry_of_non_idempotent_request::RetryOfNonIdempotentRequest,
}

/// Every rule, in catalogue order (SPEC §3).
pub fn all() -> &'static [&'static dyn Rule] {
    RULES
}
