//! F003 duplicate-content-length.

use super::common::{request_label, response_to};
use crate::http::{ContentLengthFacts, MessageFacts};
use crate::rules::api::*;

pub struct DuplicateContentLength;

static META: RuleMeta = RuleMeta {
    code: "F003",
    name: "duplicate-content-length",
    family: Family::Framing,
    severity: Severity::Warning,
    summary:
        "More than one Content-Length value: a warning when they agree, an error when they do not",
    doc: r#"## What it detects
A request or response with more than one Content-Length value, either on repeated field lines or
as a comma-separated list in one field. The finding is a `warning` when every value is the same
number, and an `error` when two values differ or one is not a non-negative decimal integer. A
`severity` set for the rule in `connlint.toml` overrides both.

## Why it matters
RFC 9112 §6.3 lets a recipient accept a list of identical values as that one value, but a message
whose Content-Length values differ, or do not parse, has no valid length: a server must reject it
with 400 and a client must treat the response as an unrecoverable error and close the connection.
Parsers do not all follow that. Some take the first value, some the last, some reject even equal
duplicates. Two that disagree, such as a proxy and the server behind it, split the same bytes into
different messages, which is request smuggling or response splitting. Equal values are harmless to
a strict parser, but they mean something on the path added or merged headers carelessly.

## Example
```text
connection 0 198.18.0.1:44041 -> 198.18.0.2:80
  error F003 duplicate-content-length tx 0: the 200 response to GET /tools/files carries 2
  Content-Length values on 2 field lines that disagree (25, 40); no length is valid, so
  recipients may split the stream differently: send exactly one Content-Length
```

## How to fix
Send exactly one `Content-Length` with the body's length. Look for the component that adds the
second one: a proxy or framework setting the header when the application already did, or
headers merged from two sources. Servers and proxies should reject messages with differing values
(400) and close the connection.

## Options
None.
"#,
    options: &[],
};

/// A message with more than one Content-Length value, and those values.
fn duplicated(m: &Option<MessageFacts>) -> Option<(&MessageFacts, &ContentLengthFacts)> {
    let m = m.as_ref()?;
    let cl = m.headers.content_length.as_ref()?;
    cl.duplicate.then_some((m, cl))
}

impl Rule for DuplicateContentLength {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        for tx in &cx.http.transactions {
            let found: Vec<(&str, &MessageFacts, &ContentLengthFacts)> = [
                ("request", duplicated(&tx.request)),
                ("response", duplicated(&tx.response)),
            ]
            .into_iter()
            .filter_map(|(side, d)| d.map(|(m, cl)| (side, m, cl)))
            .collect();
            // The worst message decides the finding (one per transaction).
            let Some(&(side, msg, cl)) = found
                .iter()
                .max_by_key(|(_, _, cl)| (is_invalid(cl), cl.count))
            else {
                continue;
            };
            let invalid = is_invalid(cl);
            let severity = if found.iter().any(|(_, _, c)| is_invalid(c)) {
                Severity::Error
            } else {
                Severity::Warning
            };
            let whom = if side == "request" {
                format!("the request {}", request_label(tx))
            } else {
                format!("the {}", response_to(tx))
            };
            let values = cl
                .values
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let how = if cl.fields > 1 {
                format!("on {} field lines", cl.fields)
            } else {
                "in one comma-separated field".to_string()
            };
            let verdict = if cl.unparsable > 0 {
                format!(
                    "{} of them not a valid number (valid: {}); no length is valid, so recipients \
                     may split the stream differently",
                    cl.unparsable,
                    if values.is_empty() { "none" } else { &values }
                )
            } else if cl.conflicting {
                format!(
                    "that disagree ({values}); no length is valid, so recipients may split the \
                     stream differently"
                )
            } else {
                format!("that agree ({values}), which lenient and strict parsers treat differently")
            };
            let message = format!(
                "{whom} carries {} Content-Length values {how} {verdict}: send exactly one \
                 Content-Length",
                cl.count
            );
            let mut f = Finding::new(&META, cx.conn, msg.first_byte_ts, message)
                .transaction(tx.index)
                .severity(severity)
                .with("message", side)
                .with("values", cl.values.clone())
                .with("count", cl.count)
                .with("fields", cl.fields)
                .with("conflicting", cl.conflicting)
                .with("unparsable", cl.unparsable);
            if found.len() > 1 {
                f = f.with(
                    "also_in",
                    if side == "request" {
                        "response"
                    } else {
                        "request"
                    },
                );
            }
            if invalid {
                f = f.with(
                    "body_bytes_sent",
                    msg.wire_body_bytes.saturating_add(msg.gap_bytes),
                );
            }
            out.push(f);
        }
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// Values that differ or do not parse: the message has no valid length.
fn is_invalid(cl: &ContentLengthFacts) -> bool {
    cl.conflicting || cl.unparsable > 0
}

#[cfg(test)]
mod tests {
    use crate::rules::meta::Severity;
    use crate::rules::testing::{assert_evidence, assert_says, config_with, only, Timeline};
    use crate::rules::Finding;
    use serde_json::json;

    const GET: &[u8] = b"GET /t HTTP/1.1\r\nHost: a\r\n\r\n";

    fn with_lengths(fields: &str) -> Vec<u8> {
        format!("HTTP/1.1 200 OK\r\n{fields}\r\nhello").into_bytes()
    }

    fn f003(request: &[u8], response: &[u8]) -> Vec<Finding> {
        Timeline::exchange(request, response, 100.0).findings_of("F003")
    }

    #[test]
    fn agreeing_values_are_a_warning() {
        let f = only(f003(
            GET,
            &with_lengths("Content-Length: 5\r\nContent-Length: 5\r\n"),
        ));
        assert_eq!((f.severity, f.transaction), (Severity::Warning, Some(0)));
        assert_evidence(&f, json!({"values": [5], "count": 2, "fields": 2}));
        assert_says(&f, "agree (5)");
        // A comma list counts too.
        let f = only(f003(GET, &with_lengths("Content-Length: 5, 5\r\n")));
        assert_eq!(f.evidence["fields"], 1);
        assert_says(&f, "comma-separated");
    }

    #[test]
    fn differing_or_unparsable_values_are_an_error() {
        let f = only(f003(
            GET,
            &with_lengths("Content-Length: 5\r\nContent-Length: 40\r\n"),
        ));
        assert_eq!(f.severity, Severity::Error);
        assert_evidence(&f, json!({"values": [5, 40], "conflicting": true}));
        let f = only(f003(GET, &with_lengths("Content-Length: 5, five\r\n")));
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.evidence["unparsable"], 1);
    }

    #[test]
    fn the_configured_severity_still_wins() {
        let resp = with_lengths("Content-Length: 5\r\nContent-Length: 5\r\n");
        let t = Timeline::exchange(GET, &resp, 100.0);
        let config = config_with(&["F003"], "[rules.F003]\nseverity = \"error\"\n");
        assert_eq!(t.run(&config)[0].severity, Severity::Error);
    }

    #[test]
    fn a_single_value_is_fine() {
        assert!(f003(GET, &with_lengths("Content-Length: 5\r\n")).is_empty());
        let post = b"POST /t HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi";
        assert!(f003(post, &with_lengths("Content-Length: 5\r\n")).is_empty());
    }

    #[test]
    fn a_request_counts_too() {
        let post =
            b"POST /t HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi";
        let f = only(f003(post, &with_lengths("Content-Length: 5\r\n")));
        assert_eq!(f.evidence["message"], "request");
    }
}
