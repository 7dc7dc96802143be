//! `connlint transactions --format har`: the transactions as an HTTP
//! Archive (HAR 1.2, <http://www.softwareishard.com/blog/har-12-spec/>),
//! one page per capture, for Chrome DevTools' and Firefox's network panels.
//!
//! The writer consumes what the pipeline hands out as it comes: each
//! finished connection ([`HarWriter::connection`]) and each finding
//! ([`HarWriter::finding`], whenever the linter produces it), and holds
//! only the entries themselves, already serialised, until the end: the HAR
//! is one JSON document whose entries are sorted by start, so the output is
//! the bound on what is held.
//!
//! How the packet timings become HAR timings (all in milliseconds; `dns`
//! and `ssl` are -1, connlint reads neither):
//!
//! - `connect` is `connect_ms` of `transactions --format json` (SYN to the
//!   ACK that completed the handshake), on the first transaction of a
//!   connection whose handshake was seen; -1 on the others.
//! - `send`, `receive` are `send_ms`, `receive_ms`.
//! - `blocked` is time the request spent waiting, which the JSON counts
//!   elsewhere:
//!   - on a connection's first transaction with `connect`: the time
//!     between the handshake's end and the request's first byte (the
//!     connection waiting for its request); the entry then starts at the
//!     SYN;
//!   - on a pipelined request: the time the whole request waited behind
//!     the responses to earlier requests on the connection, from its last
//!     byte to the end of the previous response (at most its wait). An
//!     HTTP/1.1 server answers in order, so that part of `wait_ms` is the
//!     queue, not this request's server time: HAR `wait` is then `wait_ms`
//!     minus `blocked`, the server's time after the earlier responses;
//!   - 0 otherwise.
//! - `wait` is `wait_ms` (less `blocked` when pipelined).
//! - HAR has no negative phase. A negative `wait_ms` (an early response:
//!   it began before the request ended) or `send_ms` / `receive_ms` (a
//!   message's first bytes seen after its last, through reordering at the
//!   capture point) is 0 in the timings, and the JSON's value is kept in
//!   `_connlint.negative_ms`.
//! - Phases the capture did not show (no response, no request) are 0 and
//!   named in `_connlint.missing`.
//! - `startedDateTime` is the request's first byte (`request_start_ts`),
//!   or the SYN for a first transaction with `connect`; `time` is the sum
//!   of the timings, which is the request's first byte (or SYN) to the
//!   response's last byte.
//!
//! URLs are rebuilt as RFC 9112 §3.3 says: `http://` + Host + target for
//! origin-form, the target as it is for absolute-form, `http://` +
//! target for authority-form (CONNECT), `http://` + Host for `*`; without
//! a Host field, the server's address stands for it. Bytes a URI may not
//! hold are percent-encoded. No bodies: connlint does not keep them.

// Written to the crate's coming lint policy (no panicking shortcuts).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

use super::findings::FindingRecord;
use super::CheckConsumer;
use crate::analyze::{Analyzed, CheckOutcome};
use crate::flow::Connection;
use crate::http::{HeaderField, MessageFacts, NoResponse, Transaction};
use crate::rules::Finding;
use crate::Timestamp;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The HAR timings of one transaction, in nanoseconds, and where it starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HarTimes {
    pub started: Timestamp,
    pub blocked_ns: i64,
    pub connect_ns: Option<i64>,
    pub send_ns: i64,
    pub wait_ns: i64,
    pub receive_ns: i64,
    /// The JSON's negative send, wait and receive, which the HAR shows as 0.
    pub negative_ns: [Option<i64>; 3],
}

impl HarTimes {
    /// The HAR timings of `tx` on `conn`; `queue_end` is when the last
    /// response before it on the connection ended (for a pipelined request).
    pub fn of(conn: &Connection, tx: &Transaction, queue_end: Option<Timestamp>) -> HarTimes {
        let t = &tx.timing;
        let start = t
            .request_start_ts
            .or(t.response_start_ts)
            .unwrap_or(conn.start_ts);
        let phases = [t.send_ns, t.wait_ns, t.receive_ns].map(|p| p.unwrap_or(0));
        let [send, wait, receive] = phases.map(|p| p.max(0));
        let mut times = HarTimes {
            started: start,
            blocked_ns: 0,
            connect_ns: t.connect_ns,
            send_ns: send,
            wait_ns: wait,
            receive_ns: receive,
            negative_ns: phases.map(|p| (p < 0).then_some(p)),
        };
        match (t.connect_ns, conn.handshake.syn, t.request_start_ts) {
            (Some(connect), Some(syn), Some(req)) => {
                // Waiting for its request once connected.
                let connected = syn.add_nanos(connect);
                times.blocked_ns = req.since(connected).max(0);
                times.started =
                    req.add_nanos(times.blocked_ns.saturating_add(connect).saturating_neg());
            }
            _ if tx.pipelined => {
                if let (Some(req_end), Some(queue_end)) = (t.request_end_ts, queue_end) {
                    let queued = queue_end.since(req_end).clamp(0, times.wait_ns);
                    times.blocked_ns = queued;
                    times.wait_ns = times.wait_ns.saturating_sub(queued);
                }
            }
            _ => {}
        }
        times
    }

    /// `time`: the sum of the timings that apply, in nanoseconds.
    pub fn total_ns(&self) -> i64 {
        self.blocked_ns
            .saturating_add(self.connect_ns.unwrap_or(0).max(0))
            .saturating_add(self.send_ns)
            .saturating_add(self.wait_ns)
            .saturating_add(self.receive_ns)
    }
}

fn ms(ns: i64) -> f64 {
    ns as f64 / 1e6
}

/// `2026-12-03T13:29:00.123456Z` (microseconds; UTC).
pub fn iso8601(ts: Timestamp) -> String {
    let secs = ts.0.div_euclid(1_000_000_000);
    let micros = ts.0.rem_euclid(1_000_000_000) / 1000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`); 1970-01-01 if the count is absurd.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    civil(z).unwrap_or((1970, 1, 1))
}

fn civil(z: i64) -> Option<(i64, i64, i64)> {
    let z = z.checked_add(719_468)?;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    // doe < 146_097: the sums below are small.
    let yoe = doe
        .checked_sub(doe / 1460)?
        .checked_add(doe / 36_524)?
        .checked_sub(doe / 146_096)?
        / 365;
    let y = era.checked_mul(400)?.checked_add(yoe)?;
    let doy = doe.checked_sub(
        yoe.checked_mul(365)?
            .checked_add(yoe / 4)?
            .checked_sub(yoe / 100)?,
    )?;
    let mp = doy.checked_mul(5)?.checked_add(2)? / 153;
    let d = doy
        .checked_sub(mp.checked_mul(153)?.checked_add(2)? / 5)?
        .checked_add(1)?;
    let m = if mp < 10 {
        mp.checked_add(3)?
    } else {
        mp.checked_sub(9)?
    };
    let y = if m <= 2 { y.checked_add(1)? } else { y };
    Some((y, m, d))
}

/// Where in a URI bytes go, which decides what passes unencoded (RFC 3986).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// host and port (`[` `]` around an IPv6 literal, `@` after userinfo).
    Authority,
    /// path and query (a request target has no fragment: `#` is encoded).
    Target,
}

/// Appends `bytes` to `out`, percent-encoding every byte the URI `part`
/// may not hold as it is, and a `%` that starts no escape.
fn push_uri_bytes(out: &mut String, bytes: &[u8], part: Part) {
    let hex = |k: usize| bytes.get(k).is_some_and(u8::is_ascii_hexdigit);
    for (i, &b) in bytes.iter().enumerate() {
        let ok = b.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=:@".contains(&b)
            || (b == b'%' && hex(i.saturating_add(1)) && hex(i.saturating_add(2)))
            || match part {
                Part::Authority => b"[]".contains(&b),
                Part::Target => b"/?".contains(&b),
            };
        if ok {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// The request's URL, rebuilt as RFC 9112 §3.3 says (see the module docs).
pub fn url(target: &str, host: Option<&str>, server: &std::net::SocketAddr) -> String {
    let authority = host
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map_or_else(|| server.to_string(), str::to_string);
    let mut url = String::with_capacity(
        target
            .len()
            .saturating_add(authority.len())
            .saturating_add(8),
    );
    let absolute = target.split_once("://").filter(|(scheme, _)| {
        scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    });
    if let Some((scheme, rest)) = absolute {
        let (auth, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
        url.push_str(scheme);
        url.push_str("://");
        push_uri_bytes(&mut url, auth.as_bytes(), Part::Authority);
        push_uri_bytes(&mut url, path.as_bytes(), Part::Target);
    } else if target.starts_with('/') {
        url.push_str("http://");
        push_uri_bytes(&mut url, authority.as_bytes(), Part::Authority);
        push_uri_bytes(&mut url, target.as_bytes(), Part::Target);
    } else if target == "*" || target.is_empty() {
        url.push_str("http://");
        push_uri_bytes(&mut url, authority.as_bytes(), Part::Authority);
    } else {
        url.push_str("http://");
        push_uri_bytes(&mut url, target.as_bytes(), Part::Authority);
    }
    url
}

/// `name=value` pairs of the URL's query, percent-decoded (lossy UTF-8).
fn query_string(url: &str) -> Vec<NameValue> {
    let Some((_, query)) = url.split_once('?') else {
        return Vec::new();
    };
    let query = query.split('#').next().unwrap_or_default();
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            NameValue {
                name: percent_decode(n),
                value: percent_decode(v),
            }
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |k: usize| bytes.get(k).and_then(|c| char::from(*c).to_digit(16));
        match (b, hex(i.saturating_add(1)), hex(i.saturating_add(2))) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h.saturating_mul(16).saturating_add(l)).unwrap_or(b'?'));
                i = i.saturating_add(3);
            }
            (b'+', _, _) => {
                out.push(b' ');
                i = i.saturating_add(1);
            }
            _ => {
                out.push(b);
                i = i.saturating_add(1);
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Serialize)]
struct NameValue {
    name: String,
    value: String,
}

fn fields(msg: Option<&MessageFacts>) -> &[HeaderField] {
    msg.and_then(|m| m.headers.fields.as_deref()).unwrap_or(&[])
}

fn header<'a>(fields: &'a [HeaderField], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .map(|f| f.value.as_str())
}

fn headers(fields: &[HeaderField]) -> Vec<NameValue> {
    fields
        .iter()
        .map(|f| NameValue {
            name: f.name.clone(),
            value: f.value.clone(),
        })
        .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    method: String,
    url: String,
    http_version: &'static str,
    cookies: [(); 0],
    headers: Vec<NameValue>,
    query_string: Vec<NameValue>,
    headers_size: i64,
    body_size: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Content {
    size: u64,
    mime_type: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    status: u16,
    status_text: &'static str,
    http_version: &'static str,
    cookies: [(); 0],
    headers: Vec<NameValue>,
    content: Content,
    #[serde(rename = "redirectURL")]
    redirect_url: String,
    headers_size: i64,
    body_size: i64,
}

#[derive(Serialize)]
struct Timings {
    blocked: f64,
    dns: i8,
    connect: f64,
    ssl: i8,
    send: f64,
    wait: f64,
    receive: f64,
}

#[derive(Serialize)]
struct Cache {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    pageref: &'a str,
    started_date_time: String,
    time: f64,
    request: Request,
    response: Response,
    cache: Cache,
    timings: Timings,
    #[serde(rename = "serverIPAddress")]
    server_ip_address: String,
    connection: String,
}

/// connlint's own fields of an entry (`_connlint`), findings aside.
#[derive(Serialize)]
struct Extra<'a> {
    capture: &'a str,
    connection: u64,
    transaction: u64,
    client: String,
    server: String,
    pipelined: bool,
    complete: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    negative_ms: BTreeMap<&'static str, f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    missing: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    no_response: Option<NoResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tunnel: Option<String>,
}

/// One entry held until the end: its JSON without the closing brace and
/// without `_connlint`'s findings, which may come later.
struct Held {
    page: usize,
    started: Timestamp,
    connection: u64,
    index: u64,
    body: String,
    extra: String,
    findings: Vec<String>,
}

/// A capture's page.
struct Page {
    id: String,
    title: String,
    started: Option<Timestamp>,
}

/// Builds a HAR from connections and findings as the pipeline hands them
/// out; [`HarWriter::write`] writes it.
#[derive(Default)]
pub struct HarWriter {
    pages: Vec<Page>,
    entries: Vec<Held>,
    /// (page, connection, transaction) -> position in `entries`.
    by_transaction: FxHashMap<(usize, u64, u64), usize>,
    /// Findings on no transaction (or one not in the HAR), serialised.
    other_findings: Vec<String>,
}

impl HarWriter {
    pub fn new() -> HarWriter {
        HarWriter::default()
    }

    fn page(&self) -> usize {
        self.pages.len().saturating_sub(1)
    }

    /// Writes the HAR document: entries by start time (then connection and
    /// transaction).
    pub fn write<W: Write>(mut self, out: &mut W) -> io::Result<()> {
        self.entries
            .sort_by_key(|e| (e.page, e.started, e.connection, e.index));
        let creator = serde_json::json!({
            "name": "connlint",
            "version": env!("CARGO_PKG_VERSION"),
        });
        write!(
            out,
            "{{\"log\":{{\"version\":\"1.2\",\"creator\":{creator},\"pages\":["
        )?;
        for (i, p) in self.pages.iter().enumerate() {
            let page = serde_json::json!({
                "startedDateTime": iso8601(p.started.unwrap_or_default()),
                "id": p.id,
                "title": p.title,
                "pageTimings": {"onContentLoad": -1, "onLoad": -1},
            });
            write!(out, "{}{page}", if i == 0 { "" } else { "," })?;
        }
        out.write_all(b"],\"entries\":[")?;
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                out.write_all(b",\n")?;
            }
            write!(
                out,
                "{},\"_connlint\":{},\"findings\":[{}]}}}}",
                e.body,
                e.extra,
                e.findings.join(",")
            )?;
        }
        write!(
            out,
            "],\"_connlint\":{{\"findings\":[{}]}}}}}}",
            self.other_findings.join(",\n")
        )?;
        out.write_all(b"\n")
    }
}

impl CheckConsumer for HarWriter {
    /// Starts the page of the capture at `path`; the connections and
    /// findings until the next call are its.
    fn capture(&mut self, path: &str) {
        let n = self.pages.len().saturating_add(1);
        self.pages.push(Page {
            id: format!("page_{n}"),
            title: path.to_string(),
            started: None,
        });
    }

    /// Ends the current page: its start is the capture's first packet.
    fn capture_done(&mut self, outcome: &CheckOutcome) {
        if let Some(page) = self.pages.last_mut() {
            page.started = outcome.summary.first_ts.or(page.started);
        }
    }

    /// Adds the transactions of a finished connection (kept with
    /// [`Keep::fields`](crate::http::Keep::fields), for the headers).
    fn connection(&mut self, a: &Analyzed) {
        if self.pages.is_empty() {
            CheckConsumer::capture(self, "-");
        }
        let page = self.page();
        let (capture, pageref) = match self.pages.get(page) {
            Some(p) => (p.title.clone(), p.id.clone()),
            None => return,
        };
        let conn = &a.connection;
        let tunnel = conn.tunnel.as_ref().map(|t| t.to_string());
        let mut queue_end: Option<Timestamp> = None;
        for tx in &a.http.transactions {
            let times = HarTimes::of(conn, tx, queue_end);
            if let Some(end) = tx.timing.response_end_ts {
                queue_end = Some(queue_end.map_or(end, |q| q.max(end)));
            }
            if let Some(first) = self.pages.get_mut(page) {
                let started = first
                    .started
                    .map_or(times.started, |s| s.min(times.started));
                first.started = Some(started);
            }
            let (body, extra) = entry_json(&capture, &pageref, conn, tx, &times, tunnel.as_deref());
            self.by_transaction
                .insert((page, conn.id, tx.index), self.entries.len());
            self.entries.push(Held {
                page,
                started: times.started,
                connection: conn.id,
                index: tx.index,
                body,
                extra,
                findings: Vec::new(),
            });
        }
    }

    /// Adds a finding of the current capture: under its transaction's
    /// `_connlint.findings`, or the log's when it names none.
    fn finding(&mut self, f: &Finding) {
        let page = self.page();
        let capture = self.pages.get(page).map_or("-", |p| p.title.as_str());
        let json = serde_json::to_string(&FindingRecord::new(capture, f)).unwrap_or_default();
        let at = f
            .transaction
            .and_then(|t| self.by_transaction.get(&(page, f.connection, t)).copied());
        match at.and_then(|i| self.entries.get_mut(i)) {
            Some(e) => e.findings.push(json),
            None => self.other_findings.push(json),
        }
    }
}

/// A JSON object's text without its closing brace, to append to.
fn open_object<T: Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string(value).unwrap_or_else(|_| "{".to_string());
    if s.ends_with('}') {
        s.pop();
    }
    s
}

fn entry_json(
    capture: &str,
    pageref: &str,
    conn: &Connection,
    tx: &Transaction,
    times: &HarTimes,
    tunnel: Option<&str>,
) -> (String, String) {
    let req_fields = fields(tx.request.as_ref());
    let resp_fields = fields(tx.response.as_ref());
    let target = tx.uri.as_deref().unwrap_or("");
    let url = url(target, header(req_fields, "host"), &conn.server);
    let version = |m: Option<&MessageFacts>| {
        m.and_then(|m| m.version)
            .or(tx.version)
            .map_or("HTTP/1.1", crate::http::HttpVersion::as_str)
    };
    let size = |m: Option<&MessageFacts>, f: fn(&MessageFacts) -> u64| {
        m.map_or(-1, |m| i64::try_from(f(m)).unwrap_or(i64::MAX))
    };
    let (req, resp) = (tx.request.as_ref(), tx.response.as_ref());
    let t = &tx.timing;
    let mut missing = Vec::new();
    for (name, v) in [
        ("send", t.send_ns),
        ("wait", t.wait_ns),
        ("receive", t.receive_ns),
    ] {
        if v.is_none() {
            missing.push(name);
        }
    }
    let entry = Entry {
        pageref,
        started_date_time: iso8601(times.started),
        time: ms(times.total_ns()),
        request: Request {
            method: tx.method.as_deref().unwrap_or("").to_string(),
            query_string: query_string(&url),
            url,
            http_version: version(req),
            cookies: [],
            headers: headers(req_fields),
            headers_size: size(req, |m| m.head_bytes),
            body_size: size(req, |m| m.body_bytes),
        },
        response: Response {
            status: tx.status.unwrap_or(0),
            status_text: "",
            http_version: version(resp),
            cookies: [],
            headers: headers(resp_fields),
            content: Content {
                size: resp.map_or(0, |m| m.body_bytes),
                mime_type: header(resp_fields, "content-type")
                    .unwrap_or("x-unknown")
                    .to_string(),
            },
            redirect_url: header(resp_fields, "location").unwrap_or("").to_string(),
            headers_size: size(resp, |m| m.head_bytes),
            body_size: size(resp, |m| m.wire_body_bytes.saturating_add(m.gap_bytes)),
        },
        cache: Cache {},
        timings: Timings {
            blocked: ms(times.blocked_ns),
            dns: -1,
            connect: times.connect_ns.map_or(-1.0, ms),
            ssl: -1,
            send: ms(times.send_ns),
            wait: ms(times.wait_ns),
            receive: ms(times.receive_ns),
        },
        server_ip_address: conn.server.ip().to_string(),
        connection: conn.id.to_string(),
    };
    let extra = Extra {
        capture,
        connection: conn.id,
        transaction: tx.index,
        client: conn.client.to_string(),
        server: conn.server.to_string(),
        pipelined: tx.pipelined,
        complete: tx.complete,
        negative_ms: ["send", "wait", "receive"]
            .into_iter()
            .zip(times.negative_ns)
            .filter_map(|(k, v)| Some((k, ms(v?))))
            .collect(),
        missing,
        no_response: tx.no_response,
        tunnel: tunnel.map(str::to_string),
    };
    (open_object(&entry), open_object(&extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_with_microseconds() {
        assert_eq!(iso8601(Timestamp(0)), "1970-01-01T00:00:00.000000Z");
        // 2000-02-29 (a leap day) 12:34:56.789012345
        let ts = Timestamp::from_secs_nanos(951_827_696, 789_012_345);
        assert_eq!(iso8601(ts), "2000-02-29T12:34:56.789012Z");
        assert_eq!(iso8601(Timestamp(-1)), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn urls_follow_the_request_target_forms() {
        let server: std::net::SocketAddr = "10.0.0.2:8080".parse().unwrap();
        assert_eq!(
            url("/a?b=c", Some("example.com"), &server),
            "http://example.com/a?b=c"
        );
        assert_eq!(url("/a", None, &server), "http://10.0.0.2:8080/a");
        assert_eq!(url("http://x.org/y", Some("z"), &server), "http://x.org/y");
        assert_eq!(
            url("x.org:443", Some("x.org:443"), &server),
            "http://x.org:443"
        );
        assert_eq!(url("*", Some("h"), &server), "http://h");
        assert_eq!(
            url("/a b|{é}", Some("h"), &server),
            "http://h/a%20b%7C%7B%C3%A9%7D"
        );
        assert_eq!(
            query_string("http://h/p?a=1&b=x%20y+z&c"),
            vec![("a", "1"), ("b", "x y z"), ("c", "")]
                .into_iter()
                .map(|(n, v)| NameValue {
                    name: n.into(),
                    value: v.into()
                })
                .collect::<Vec<_>>()
        );
    }

    impl PartialEq for NameValue {
        fn eq(&self, o: &Self) -> bool {
            self.name == o.name && self.value == o.value
        }
    }
    impl std::fmt::Debug for NameValue {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{}={}", self.name, self.value)
        }
    }
}
