//! R004 retry-of-non-idempotent-request.

use super::common::{duration, is_idempotent, request_line};
use super::holds::Holds;
use crate::rules::api::*;
use crate::rules::index::MAX_FAILED_REQUESTS;
use rustc_hash::{FxHashMap, FxHasher};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};

pub struct RetryOfNonIdempotentRequest;

static META: RuleMeta = RuleMeta {
    code: "R004",
    name: "retry-of-non-idempotent-request",
    family: Family::Reset,
    severity: Severity::Error,
    summary: "A non-idempotent request (POST, PATCH, ...) whose connection failed was sent again on another connection",
    doc: r#"## What it detects
A request with a non-idempotent method (POST, PATCH, LOCK, or any method RFC 9110 §9.2.2 does
not call idempotent) whose connection ended before a complete response — reset by either side,
closed by the server, abandoned by the client with a FIN, or a response cut short by a RST or
FIN — followed by the same request (same method and target, same body length when both are
known) from the same client host to the same server endpoint on another connection, sent after
the failure and at most `retry_window_s` later. The finding is on the retry's connection and
transaction and names the failed attempt. The idempotent methods (GET, HEAD, OPTIONS, TRACE,
PUT, DELETE, and the WebDAV methods defined as idempotent) are never reported, nor is CONNECT,
whose failure establishes nothing to repeat.

## Why it matters
When a connection fails while a request is outstanding, the client cannot tell whether the
server received and processed it: the reset may have come before the request was read, or
after the order was placed and before the response left. Repeating an idempotent request is
harmless by definition; repeating a POST can apply it twice — a second order, a second payment,
a duplicate message. RFC 9110 §9.2.2 and RFC 9112 §9.3.1 therefore say a client must not retry
a non-idempotent request automatically unless it knows the request was not applied or the
request is idempotent by other means.

## Example
```text
connection 1 10.0.0.1:45042 -> 10.0.0.2:80
  error R004 retry-of-non-idempotent-request tx 0: POST /orders was sent again 51.1 ms after
  its first attempt (connection 0 10.0.0.1:45041, transaction 0) was reset by the server with
  no response ...
```

## How to fix
Turn off automatic retries for non-idempotent requests in the HTTP client (or its retry
middleware), and let the application decide. Where a retry is wanted, make the request
idempotent: send an idempotency key (for example an `Idempotency-Key` header) that the server
uses to recognize and de-duplicate the repeat, or use PUT to a client-chosen resource. Avoid
the failure itself too: clients often hit it by sending on a pooled connection the server has
just closed for being idle, so keep the client's idle timeout shorter than the server's.

## Options
- `retry_window_s` (60): the longest time, in seconds, from the failure to the repeated request
  for the two to count as a retry.
"#,
    options: &[OptionSpec {
        key: "retry_window_s",
        default: 60.0,
        doc: "longest time from the failure to the repeated request, in seconds",
        integer: false,
    }],
};

/// The requests R004 judges: non-idempotent, and not a CONNECT (a failed
/// tunnel request established nothing to repeat).
fn judged(method: &str) -> bool {
    !is_idempotent(method) && method != "CONNECT"
}

impl Rule for RetryOfNonIdempotentRequest {
    /// A failure relates to the requests of the next `retry_window_s`.
    fn horizon(&self, s: &RuleSettings) -> Option<i64> {
        Some(s.s_as_ns("retry_window_s"))
    }

    fn cross(&self, s: &RuleSettings) -> Option<Box<dyn CrossRule>> {
        Some(Box::new(Retries {
            window: s.s_as_ns("retry_window_s"),
            ..Retries::default()
        }))
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// A judged request waiting for every failure before it to be known.
#[derive(Debug)]
struct Judged {
    connection: u64,
    client: SocketAddr,
    server: SocketAddr,
    index: u64,
    method: Box<str>,
    uri: Box<str>,
    ts: Timestamp,
    body_length: Option<u64>,
}

/// What a failed request and its retry have in common: client host,
/// server, method, target (hashed; compared in full when matched).
fn key(client: IpAddr, server: SocketAddr, method: &str, uri: &str) -> u64 {
    let mut h = FxHasher::default();
    (client, server, method, uri).hash(&mut h);
    h.finish()
}

/// R004's state over a capture: the failed requests of non-idempotent
/// methods (the last [`MAX_FAILED_REQUESTS`], and none older than the
/// window before anything still to come), and each judged request until
/// every connection that began before it has finished, so that every
/// failure before it is known; it is then matched against the most recent.
#[derive(Default)]
struct Retries {
    window: i64,
    failed: FxHashMap<u64, VecDeque<FailedRequest>>,
    /// Keys of `failed`'s entries and their failure times, oldest first.
    order: VecDeque<(u64, Timestamp)>,
    pending: BinaryHeap<Reverse<(Timestamp, u64, u64)>>,
    judged: FxHashMap<(u64, u64), Judged>,
    holds: Holds,
}

impl Retries {
    fn forget_oldest(&mut self) {
        if let Some((k, _)) = self.order.pop_front() {
            if let Some(q) = self.failed.get_mut(&k) {
                q.pop_front();
                if q.is_empty() {
                    self.failed.remove(&k);
                }
            }
        }
    }

    /// Judges the earliest request waiting.
    fn judge_next(&mut self, out: &mut CrossOut) {
        let Some(Reverse((_, id, index))) = self.pending.pop() else {
            return;
        };
        if let Some(r) = self.judged.remove(&(id, index)) {
            out.findings.extend(self.judge(&r));
        }
        self.holds.release(id);
    }

    fn judge(&self, r: &Judged) -> Option<Finding> {
        let attempts = self
            .failed
            .get(&key(r.client.ip(), r.server, &r.method, &r.uri))?;
        // The most recent failure before this request: a retry repeats the
        // attempt that just failed.
        let first = attempts
            .iter()
            .filter(|f| {
                let since = r.ts.since(f.failure.ts());
                f.connection != r.connection
                    && f.client.ip() == r.client.ip()
                    && f.server == r.server
                    && *f.method == *r.method
                    && *f.uri == *r.uri
                    && since >= 0
                    && since <= self.window
                    && match (f.body_length, r.body_length) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }
            })
            .max_by_key(|f| (f.failure.ts(), f.connection, f.index))?;
        let after_failure = r.ts.since(first.failure.ts());
        let after_first = r.ts.since(first.ts);
        let caveat = if first.after_server_fin {
            " (the server had already closed that connection when the request went out, \
             so it was probably never processed: check for the close before sending \
             instead of retrying blindly)"
        } else {
            ""
        };
        let message = format!(
            "{} was sent again {} after its first attempt (connection {} {}, \
             transaction {}) was {}{caveat}: the server may have processed it before \
             the failure, so repeating it can apply it twice; do not retry \
             non-idempotent requests automatically, or make them idempotent with a key \
             the server de-duplicates on",
            request_line(&r.method, &r.uri),
            duration(after_failure),
            first.connection,
            first.client,
            first.index,
            first.failure.describe(),
        );
        Some(
            Finding::on(&META, (r.connection, r.client, r.server), r.ts, message)
                .transaction(r.index)
                .with("method", &*r.method)
                .with("uri", &*r.uri)
                .with("first_connection", first.connection)
                .with("first_transaction", first.index)
                .with("first_client", first.client.to_string())
                .with("failure", first.failure.kind())
                .with("failed_by", first.failure.by().name())
                .with_ms("retry_after_failure_ms", after_failure)
                .with_ms("retry_after_first_attempt_ms", after_first)
                .with("sent_after_server_fin", first.after_server_fin),
        )
    }
}

impl CrossRule for Retries {
    fn add(&mut self, c: &ConnSummary<'_>, _out: &mut CrossOut) {
        for f in FailedRequest::of(c).filter(|f| judged(&f.method)) {
            if self.order.len() >= MAX_FAILED_REQUESTS {
                self.forget_oldest();
            }
            let k = key(f.client.ip(), f.server, &f.method, &f.uri);
            self.order.push_back((k, f.failure.ts()));
            self.failed.entry(k).or_default().push_back(f);
        }
        for r in c.all_requests().filter(|r| judged(r.method)) {
            self.pending.push(Reverse((r.ts, c.id, r.index)));
            self.judged.insert(
                (c.id, r.index),
                Judged {
                    connection: c.id,
                    client: c.client,
                    server: c.server,
                    index: r.index,
                    method: r.method.into(),
                    uri: r.uri.into(),
                    ts: r.ts,
                    body_length: r.body_length,
                },
            );
            self.holds.hold(c.id);
        }
    }

    fn settle(&mut self, settled: Timestamp, exact: bool, out: &mut CrossOut) {
        while let Some(&Reverse((ts, _, _))) = self.pending.peek() {
            if ts >= settled {
                break;
            }
            self.judge_next(out);
        }
        // No request still to be judged is earlier than `settled`: older
        // failures can match none. (Not when the engine stopped waiting:
        // a connection open long may still bring a retry, R004's reason to
        // keep failures beyond their connections.)
        if exact {
            let horizon = settled.add_nanos(self.window.saturating_neg());
            while self.order.front().is_some_and(|&(_, t)| t < horizon) {
                self.forget_oldest();
            }
        }
    }

    fn holds(&self) -> Option<u64> {
        self.holds.earliest()
    }

    fn bound(&mut self, max: usize, out: &mut CrossOut) -> bool {
        if self.judged.len() <= max {
            return false;
        }
        while self.judged.len() > max / 2 && !self.pending.is_empty() {
            self.judge_next(out);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
    use serde_json::json;

    const POST: &[u8] =
        b"POST /orders HTTP/1.1\r\nHost: shop\r\nContent-Length: 11\r\n\r\n{\"qty\": 1}\n";
    const CREATED: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    const ERROR: &[u8] = b"HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nno";

    /// A new connection from `client` to 10.0.0.2:80 (its SYN 50 ms
    /// before) on which `request` is sent at `at`; how it ends is the
    /// test's.
    fn attempt<'t>(t: &'t mut Timeline, client: &str, at: f64, request: &[u8]) -> &'t mut Timeline {
        t.connection(client, "10.0.0.2:80");
        t.handshake(at - 50.0, 50.0).client(at, request)
    }

    /// [`attempt`], answered 201 50 ms later and closed.
    fn created(t: &mut Timeline, client: &str, at: f64, request: &[u8]) {
        attempt(t, client, at, request)
            .server(at + 50.0, CREATED)
            .close(at + 60.0);
    }

    /// `req` on 10.0.0.1:45041 at 50 ms, reset by the server at 250 ms
    /// without a response; then `retry` on 10.0.0.1:45042, sent `delay` ms
    /// after the reset and answered 201.
    fn reset_then(req: &[u8], retry: &[u8], delay: f64) -> Timeline {
        let mut t = Timeline::new();
        attempt(&mut t, "10.0.0.1:45041", 50.0, req).server_rst(250.0);
        created(&mut t, "10.0.0.1:45042", 250.0 + delay, retry);
        t
    }

    #[test]
    fn fires_on_the_retry_naming_the_failed_attempt() {
        let t = reset_then(POST, POST, 51.0);
        // On by default, as an error.
        let all = t.all_findings();
        let on = |f: &&crate::rules::Finding| f.code == "R004" && f.connection == 1;
        let f = only(all.iter().filter(on).cloned().collect());
        assert_eq!(f.severity, crate::rules::Severity::Error);
        let f = only(t.findings_of("R004"));
        assert_eq!(
            (f.connection, f.client.as_str(), f.transaction),
            (1, "10.0.0.1:45042", Some(0))
        );
        assert_evidence(
            &f,
            json!({"first_connection": 0, "first_transaction": 0, "first_client": "10.0.0.1:45041", "failure": "reset", "failed_by": "server"}),
        );
        assert_evidence(
            &f,
            json!({"retry_after_failure_ms": 51.0, "retry_after_first_attempt_ms": 251.0, "sent_after_server_fin": false}),
        );
        assert!(
            f.message.starts_with("POST /orders was sent again 51.0 ms"),
            "{}",
            f.message
        );
        assert_says(&f, "reset by the server with no response");
    }

    #[test]
    fn retry_window_edges() {
        let fired = |delay: f64, window: f64| {
            let t = reset_then(POST, POST, delay);
            t.findings_with("R004", &[("retry_window_s", window)]).len()
        };
        assert_eq!((fired(60_000.0, 60.0), fired(60_001.0, 60.0)), (1, 0));
        assert_eq!(fired(60_001.0, 61.0), 1);
        // Sent before the failure: a second request, not a retry of a
        // failed one.
        assert_eq!((fired(-0.001, 60.0), fired(0.0, 60.0)), (0, 1));
    }

    #[test]
    fn idempotent_methods_and_other_requests_are_not_reported() {
        for method in ["GET", "PUT", "DELETE", "OPTIONS"] {
            let req = format!("{method} /orders/7 HTTP/1.1\r\nHost: shop\r\n\r\n");
            let t = reset_then(req.as_bytes(), req.as_bytes(), 50.0);
            assert!(t.findings_of("R004").is_empty(), "{method}");
        }
        // PATCH is not idempotent.
        let patch = b"PATCH /orders/7 HTTP/1.1\r\nHost: shop\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(reset_then(patch, patch, 50.0).findings_of("R004").len(), 1);
        // Another target, or another body length: another request.
        let other =
            b"POST /orders/8 HTTP/1.1\r\nHost: shop\r\nContent-Length: 11\r\n\r\n{\"qty\": 1}\n";
        assert!(reset_then(POST, other, 50.0).findings_of("R004").is_empty());
        let longer =
            b"POST /orders HTTP/1.1\r\nHost: shop\r\nContent-Length: 12\r\n\r\n{\"qty\": 10}\n";
        assert!(reset_then(POST, longer, 50.0)
            .findings_of("R004")
            .is_empty());
    }

    #[test]
    fn a_complete_response_is_not_a_failure() {
        // The first attempt got a complete 500: the server answered, and
        // sending it again is the application's call, not a blind retry.
        let mut t = Timeline::new();
        attempt(&mut t, "10.0.0.1:45041", 50.0, POST)
            .server(100.0, ERROR)
            .close(110.0);
        created(&mut t, "10.0.0.1:45042", 250.0, POST);
        assert!(t.findings_of("R004").is_empty());
    }

    #[test]
    fn other_failures_count_and_are_named() {
        // The response is cut short by the server's FIN.
        let mut t = Timeline::new();
        let cut = b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nok";
        attempt(&mut t, "10.0.0.1:45041", 50.0, POST).server(100.0, cut);
        t.server_fin(110.0).client_fin(111.0);
        created(&mut t, "10.0.0.1:45042", 200.0, POST);
        let f = only(t.findings_of("R004"));
        assert_evidence(
            &f,
            json!({"failure": "response-truncated", "retry_after_failure_ms": 90.0}),
        );
        // The client aborts (RST) after 5 s without a response.
        let mut t = Timeline::new();
        attempt(&mut t, "10.0.0.1:45041", 50.0, POST).client_rst(5050.0);
        created(&mut t, "10.0.0.1:45042", 5110.0, POST);
        let f = only(t.findings_of("R004"));
        assert_evidence(&f, json!({"failure": "reset", "failed_by": "client"}));
        assert_says(&f, "reset by the client");
        // The client gives up (FIN) without a response and retries.
        let mut t = Timeline::new();
        attempt(&mut t, "10.0.0.1:45041", 50.0, POST).client_fin(5050.0);
        t.server_fin(5051.0).client_ack(5052.0);
        created(&mut t, "10.0.0.1:45042", 5110.0, POST);
        let f = only(t.findings_of("R004"));
        assert_evidence(
            &f,
            json!({"failure": "client-gave-up", "failed_by": "client"}),
        );
    }

    #[test]
    fn another_client_host_or_server_is_not_a_retry() {
        let mut t = Timeline::new();
        attempt(&mut t, "10.0.0.1:45041", 50.0, POST).server_rst(250.0);
        created(&mut t, "10.0.0.9:45042", 300.0, POST);
        t.connection("10.0.0.1:45043", "10.0.0.2:8080");
        t.handshake(250.0, 50.0)
            .client(300.0, POST)
            .server(350.0, CREATED);
        t.close(360.0);
        assert!(t.findings_of("R004").is_empty());
    }

    #[test]
    fn a_retry_on_a_long_lived_connection_is_found_after_the_failure_left_the_index() {
        // The retry travels on a pooled connection that stays open for 990 s;
        // meanwhile another connection ending at 700 s makes the index evict
        // the failed attempt's summary (it ended 700 s earlier). The retry is
        // judged only when its connection finishes, from the failed-request
        // store.
        let mut t = Timeline::new();
        attempt(&mut t, "10.0.0.1:45041", 50.0, POST).server_rst(250.0);
        attempt(&mut t, "10.0.0.1:45042", 300.0, POST).server(350.0, CREATED);
        t.client(500_000.0, POST)
            .server(500_050.0, CREATED)
            .close(990_000.0);
        created(
            &mut t,
            "10.0.0.1:45043",
            699_050.0,
            b"GET / HTTP/1.1\r\nHost: shop\r\n\r\n",
        );
        let f = only(t.findings_of("R004"));
        assert_eq!((f.connection, f.transaction), (1, Some(0)));
        assert_eq!(f.evidence["first_connection"], 0);
    }
}
