//! C008 invalid-keep-alive-parameters.

use super::common::{each_message, label, on_message, tokens_value};
use crate::rules::api::*;
use serde_json::Value;

pub struct InvalidKeepAliveParameters;

static META: RuleMeta = RuleMeta {
    code: "C008",
    name: "invalid-keep-alive-parameters",
    family: Family::ConnectionHeader,
    severity: Severity::Info,
    summary: "Keep-Alive parameters that do not parse (timeout/max not non-negative integers)",
    doc: r#"## What it detects
A request or response with a `Keep-Alive` header whose `timeout` or `max` parameter is not a
non-negative decimal integer (optionally quoted): `timeout=five`, `max=-1`, `timeout=1.5`,
`timeout=` or a bare `timeout`. Other parameters, and the HTTP/1.0-era bare number
(`Keep-Alive: 300`), are not judged. One finding per message, listing the bad parameters.

## Why it matters
`Keep-Alive: timeout=N, max=M` (RFC 2068 §19.7.1, and the keep-alive draft that HTTP/1.1
clients follow) tells the peer how many seconds an idle connection will be kept and how many
more requests it will take. Clients use `timeout` to retire pooled connections before the
server closes them, which avoids sending a request into a connection that is being closed
(a lost or reset request, or an unsafe retry). A value that does not parse is ignored, or
worse, read as 0 or as a huge number by lenient parsers, so the client's pool guesses, and
different clients guess differently.

## Example
```text
connection 0 198.18.0.1:42091 -> 198.18.0.2:80
  info C008 invalid-keep-alive-parameters tx 0: GET /tools/levels: the response's
  `Keep-Alive: timeout=five, max=-1` has `timeout=five` and `max=-1`, which are not
  non-negative integers ...
```

## How to fix
Send whole seconds and a whole request count: `Keep-Alive: timeout=5, max=100`. Check the
server or proxy setting that produces the header (a unit such as `5s` or a computed negative
remainder of `max` are typical causes), or drop the header: on HTTP/1.1 it is advisory.

## Options
None.
"#,
    options: &[],
};

/// The `timeout` / `max` parameters of a Keep-Alive value whose value is
/// not a non-negative integer, as written (the facts keep the raw value,
/// capped at 256 bytes, and only say "invalid").
fn bad_parameters(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let (name, value) = match p.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (*p, None),
            };
            if !name.eq_ignore_ascii_case("timeout") && !name.eq_ignore_ascii_case("max") {
                return false;
            }
            let value = value.map(|v| {
                v.strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v)
            });
            !value.is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_string)
        .collect()
}

impl Rule for InvalidKeepAliveParameters {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, _: &RuleSettings, out: &mut Vec<Finding>) {
        for (tx, kind, msg) in each_message(cx) {
            let Some(ka) = &msg.headers.keep_alive else {
                continue;
            };
            if !ka.invalid {
                continue;
            }
            let bad = bad_parameters(&ka.raw);
            let named = bad
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(" and ");
            let what = match bad.len() {
                0 => "a timeout or max parameter that is not a non-negative integer".to_string(),
                1 => format!("{named}, which is not a non-negative integer"),
                _ => format!("{named}, which are not non-negative integers"),
            };
            let message = format!(
                "{}: the {kind}'s `Keep-Alive: {}` has {what}, so peers ignore or misread how \
                 long the idle connection is kept: send whole numbers such as \
                 `timeout=5, max=100`",
                label(tx),
                ka.raw,
            );
            out.push(
                on_message(&META, cx, tx, kind, msg, message)
                    .with("keep_alive", ka.raw.as_str())
                    .with("invalid_parameters", Value::from(bad))
                    .with("timeout", ka.timeout.map_or(Value::Null, Value::from))
                    .with("max", ka.max.map_or(Value::Null, Value::from))
                    .with("connection", tokens_value(&msg.headers.connection)),
            );
        }
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

#[cfg(test)]
mod tests {
    use super::bad_parameters;
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
    use crate::rules::Finding;
    use serde_json::json;

    /// GET /tools/levels answered with a keep-alive response carrying
    /// `keep_alive` (a Keep-Alive field line).
    fn c008(keep_alive: &str) -> Vec<Finding> {
        let resp = format!(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n{keep_alive}\r\nContent-Length: 0\r\n\r\n"
        );
        let req = b"GET /tools/levels HTTP/1.1\r\nHost: a\r\n\r\n";
        Timeline::exchange(req, resp.as_bytes(), 250.0).findings_of("C008")
    }

    #[test]
    fn fires_on_words_and_negative_numbers() {
        let f = only(c008("Keep-Alive: timeout=five, max=-1"));
        assert_eq!(f.transaction, Some(0));
        assert_evidence(
            &f,
            json!({"message": "response", "invalid_parameters": ["timeout=five", "max=-1"], "timeout": null}),
        );
        assert_says(&f, "GET /tools/levels");
    }

    #[test]
    fn one_bad_parameter_keeps_the_good_one() {
        let f = only(c008("Keep-Alive: timeout=5, max=1e3"));
        assert_evidence(&f, json!({"timeout": 5, "invalid_parameters": ["max=1e3"]}));
    }

    #[test]
    fn valid_and_unjudged_parameters_are_silent() {
        for ok in [
            "Keep-Alive: timeout=5, max=100",
            "Keep-Alive: timeout=\"0\", max=0",
            "Keep-Alive: 300",
            "Keep-Alive: timeout=5, foo=bar",
            "Keep-Alive: TIMEOUT = 5",
        ] {
            assert!(c008(ok).is_empty(), "{ok}");
        }
    }

    #[test]
    fn bad_parameters_are_named_as_written() {
        assert_eq!(bad_parameters("timeout=1.5, max"), ["timeout=1.5", "max"]);
        assert_eq!(
            bad_parameters("timeout=, Max=\"x\""),
            ["timeout=", "Max=\"x\""]
        );
        assert!(bad_parameters("timeout=5, max=\"7\", x=y, 300").is_empty());
    }
}
