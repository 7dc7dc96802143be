//! What a close that cut a response short leaves behind, as R001 (a RST)
//! and R002 (the server's FIN) report it: how far the response got against
//! what its framing promised, and the pipelined requests behind it that the
//! same close left unanswered (which those findings carry instead of P003).

use super::common::{subset, MAX_LISTED};
use crate::http::{Framing, MessageFacts, NoResponse, Transaction};
use crate::reassembly::{BySide, Side};
use crate::rules::api::{ConnectionFacts, Finding};
use crate::tls::TlsReport;

/// What the response's framing promised and what arrived, for the message.
pub(super) struct Shortfall {
    /// Content-Length, for a length-framed body.
    pub expected: Option<u64>,
    /// Body bytes on the wire before the close (captured or in gaps).
    pub received: u64,
    /// How the message says its body ends, in words.
    pub framing: &'static str,
    /// Body bytes the capture did not hold (counted in `received`).
    pub uncaptured: u64,
    /// The close cut the head itself.
    pub head_cut: bool,
}

impl Shortfall {
    pub(super) fn of(msg: &MessageFacts) -> Shortfall {
        let framing = match msg.framing {
            Framing::Length { .. } => "content-length",
            Framing::Chunked => "chunked",
            Framing::CloseDelimited | Framing::Http09 => "close-delimited",
            Framing::None | Framing::Tunnel | Framing::Invalid => "none",
        };
        Shortfall {
            expected: msg.expected_body_bytes,
            received: msg.wire_body_bytes.saturating_add(msg.gap_bytes),
            framing,
            uncaptured: msg.gap_bytes,
            head_cut: msg.head_truncated,
        }
    }

    /// "after 3000 of 10000 body bytes (7000 missing)" and the like.
    pub(super) fn describe(&self) -> String {
        if self.head_cut {
            return "inside its header section".to_string();
        }
        match (self.expected, self.framing) {
            (Some(n), _) => format!(
                "after {} of {n} body bytes ({} missing)",
                self.received,
                n.saturating_sub(self.received)
            ),
            (None, "chunked") => format!(
                "after {} bytes of chunked body, before the zero-size last chunk",
                self.received
            ),
            (None, "close-delimited") => format!(
                "after {} bytes of a body delimited by the close, which a RST cannot end cleanly",
                self.received
            ),
            _ => format!("after {} body bytes", self.received),
        }
    }

    /// The same numbers as evidence, with the pipelined requests `behind`
    /// the cut response that the close left unanswered, if any.
    pub(super) fn evidence(&self, mut f: Finding, behind: Vec<u64>) -> Finding {
        if !behind.is_empty() {
            f = f.with("unanswered_transactions", behind);
        }
        if let Some(n) = self.expected {
            f = f
                .with("expected_bytes", n)
                .with("missing_bytes", n.saturating_sub(self.received));
        }
        if self.uncaptured > 0 {
            f = f.with("uncaptured_bytes", self.uncaptured);
        }
        f.with("received_bytes", self.received)
            .with("framing", self.framing)
            .with("head_truncated", self.head_cut)
    }
}

/// A record of the server's that a close cut short on a TLS connection,
/// whose HTTP is encrypted: the strongest evidence there that the server
/// was sending when the connection was reset (R001) or closed (R002). A
/// close that falls between two records shows nothing of the kind.
pub(super) struct RecordCut {
    /// The record's body length, and how much of it had not arrived.
    pub len: u16,
    pub missing: u16,
    /// The server's application data so far: records and bytes.
    pub records: u64,
    pub bytes: u64,
}

impl RecordCut {
    /// The server's record that the first RST (`by_rst`) or the server's
    /// FIN cut, if the close came inside one.
    pub(super) fn of(t: &TlsReport, by_rst: bool) -> Option<RecordCut> {
        let cut = if by_rst { &t.cut_by_rst } else { &t.cut_by_fin };
        let (len, missing) = (*cut.of(Side::Server))?;
        let d = t.records(Side::Server);
        Some(RecordCut {
            len,
            missing,
            records: d.application_data,
            bytes: d.application_data_bytes,
        })
    }

    /// "after 3000 of its 16406 bytes (13406 missing)".
    pub(super) fn describe(&self) -> String {
        let got = self.len.saturating_sub(self.missing);
        format!(
            "after {got} of its {} bytes ({} missing)",
            self.len, self.missing
        )
    }

    pub(super) fn evidence(&self, f: Finding) -> Finding {
        f.with("record_bytes", self.len)
            .with("received_bytes", self.len.saturating_sub(self.missing))
            .with("missing_bytes", self.missing)
            .with("server_records", self.records)
            .with("server_bytes", self.bytes)
    }
}

/// Pipelined requests after `tx` left without a response by the close that
/// `why` matches: the ones P003 would report, which the truncation finding
/// carries instead.
pub(super) fn unanswered_behind(
    cx: &ConnectionFacts<'_>,
    tx: &Transaction,
    why: impl Fn(NoResponse) -> bool,
) -> Vec<u64> {
    cx.http
        .transactions
        .iter()
        .filter(|t| {
            t.index > tx.index
                && t.pipelined
                && t.request.is_some()
                && t.response.is_none()
                && t.no_response.is_some_and(&why)
        })
        .take(MAX_LISTED)
        .map(|t| t.index)
        .collect()
}

/// "; 2 pipelined requests behind it got no response ..." for the message.
pub(super) fn behind_text(behind: &[u64]) -> String {
    match behind {
        [] => String::new(),
        [one] => format!(
            ", and the pipelined request behind it (tx {one}) got no response and must be resent \
             on a new connection (only idempotent ones automatically)"
        ),
        _ => format!(
            ", and the {} pipelined requests behind it (tx {}) got no response and must be \
             resent on a new connection (only idempotent ones automatically)",
            behind.len(),
            behind
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A P003 finding on the close (`how`: "rst" or "fin") that `mine`, a
/// truncation finding whose evidence names the closing side under
/// `side_key`, lists as unanswered.
pub(super) fn folds_unanswered(mine: &Finding, other: &Finding, how: &str, side_key: &str) -> bool {
    other.code == "P003"
        && other.evidence.get("close").and_then(|v| v.as_str()) == Some(how)
        && other.evidence.get("closed_by") == mine.evidence.get(side_key)
        && subset(
            other.evidence.get("unanswered_transactions"),
            mine.evidence.get("unanswered_transactions"),
        )
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{get, Timeline};

    #[test]
    fn one_byte_short_is_cut_and_complete_is_not_whether_by_rst_or_fin() {
        let short = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell";
        let whole = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nhell";
        for (code, rst) in [("R001", true), ("R002", false)] {
            let cut = |response: &[u8]| {
                let mut t = Timeline::unclosed(&get("/c"), response, 100.0);
                if rst {
                    t.server_rst(150.0);
                } else {
                    t.server_fin(150.0);
                }
                t.findings_of(code)
            };
            let f = cut(short);
            assert_eq!(f.len(), 1, "{code}");
            assert_eq!(f[0].evidence["missing_bytes"], 1, "{code}");
            assert!(cut(whole).is_empty(), "{code}");
        }
    }
}
