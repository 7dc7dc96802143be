//! The rule catalogue (SPEC §3): one rule a file, in catalogue order.

mod c001_keep_alive_header_without_connection_token;
mod c002_proxy_connection_header;
mod c003_keep_alive_not_echoed;
mod c004_request_after_connection_close;
mod c005_connection_token_names_end_to_end_header;
mod c006_conflicting_connection_tokens;
mod c007_hop_by_hop_header_forwarded;
mod c008_invalid_keep_alive_parameters;
mod f001_unframed_body_on_persistent_connection;
mod f002_content_length_with_transfer_encoding;
mod f003_duplicate_content_length;
mod f004_malformed_chunked_body;
mod p001_pipelined_before_persistence_known;
mod p002_non_idempotent_method_pipelined;
mod p003_unanswered_pipelined_requests_at_close;
mod r001_rst_truncated_response;
mod r002_fin_truncated_response;
mod r003_reset_on_close_with_unread_data;
mod r004_retry_of_non_idempotent_request;
mod s001_handshake_dominated;
mod s002_connection_churn;
mod s003_too_many_parallel_connections;
mod s004_tuple_reused_in_time_wait;
mod t001_nagle_delayed_ack_stall;
mod t002_delayed_ack;

use super::registry::Rule;

pub static RULES: &[&dyn Rule] = &[
    &s001_handshake_dominated::HandshakeDominated,
    &s002_connection_churn::ConnectionChurn,
    &s003_too_many_parallel_connections::TooManyParallelConnections,
    &s004_tuple_reused_in_time_wait::TupleReusedInTimeWait,
    &t001_nagle_delayed_ack_stall::NagleDelayedAckStall,
    &t002_delayed_ack::DelayedAck,
    &c001_keep_alive_header_without_connection_token::KeepAliveHeaderWithoutConnectionToken,
    &c002_proxy_connection_header::ProxyConnectionHeader,
    &c003_keep_alive_not_echoed::KeepAliveNotEchoed,
    &c004_request_after_connection_close::RequestAfterConnectionClose,
    &c005_connection_token_names_end_to_end_header::ConnectionTokenNamesEndToEndHeader,
    &c006_conflicting_connection_tokens::ConflictingConnectionTokens,
    &c007_hop_by_hop_header_forwarded::HopByHopHeaderForwarded,
    &c008_invalid_keep_alive_parameters::InvalidKeepAliveParameters,
    &p001_pipelined_before_persistence_known::PipelinedBeforePersistenceKnown,
    &p002_non_idempotent_method_pipelined::NonIdempotentMethodPipelined,
    &p003_unanswered_pipelined_requests_at_close::UnansweredPipelinedRequestsAtClose,
    &f001_unframed_body_on_persistent_connection::UnframedBodyOnPersistentConnection,
    &f002_content_length_with_transfer_encoding::ContentLengthWithTransferEncoding,
    &f003_duplicate_content_length::DuplicateContentLength,
    &f004_malformed_chunked_body::MalformedChunkedBody,
    &r001_rst_truncated_response::RstTruncatedResponse,
    &r002_fin_truncated_response::FinTruncatedResponse,
    &r003_reset_on_close_with_unread_data::ResetOnCloseWithUnreadData,
    &r004_retry_of_non_idempotent_request::RetryOfNonIdempotentRequest,
];
