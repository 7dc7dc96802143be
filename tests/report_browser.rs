//! The HTML report in a real browser: Debian's headless `chromium`, driven
//! through `chromedriver` (WebDriver, with fantoccini), opens reports of
//! real captures from disk and we check what it drew:
//!
//! - no console message at all (no error, no CSP violation) and no network
//!   request but the file itself (chromedriver's browser and performance
//!   logs);
//! - one lane per connection and one bar per transaction that `connections`
//!   and `transactions` list, drawn (the page's own count of what it drew,
//!   and the canvas's pixels in the send / wait / receive colours);
//! - one marker per finding `check` reports; clicking one opens the details
//!   pane with its message, evidence, frames and the `tshark` line;
//! - a screenshot of each page, kept in target/report-browser/ (a CI
//!   artifact).
//!
//! chromium and chromedriver come from apt (`.ci/run` installs them). When
//! they are absent and `CI` is not set, the test says so and passes
//! without running; under CI their absence fails it.
//!
//! `CONNLINT_REPORT_MEASURE=FILE cargo test --test report_browser --
//! --ignored` measures the report FILE (an .html) or the report of the
//! capture FILE: its size and its time to first paint. The README's numbers
//! for the churn capture come from it.

use assert_cmd::Command;
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// chromium and chromedriver, or `None` (and why) when they are absent
/// outside CI.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = on_path("chromium");
    let driver = on_path("chromedriver");
    match (chromium, driver) {
        (Some(c), Some(d)) => Some((c, d)),
        (c, d) => {
            let missing: Vec<&str> = [(c.is_none(), "chromium"), (d.is_none(), "chromedriver")]
                .iter()
                .filter(|m| m.0)
                .map(|m| m.1)
                .collect();
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must have {missing:?} (.ci/run installs them with apt-get)"
            );
            eprintln!(
                "SKIPPED: the HTML report's browser test needs {} on PATH \
                 (apt-get install chromium chromium-driver); not run",
                missing.join(" and ")
            );
            None
        }
    }
}

/// chromedriver on a free port, ended when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver(path: &Path) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    driver
}

async fn session(driver: &Driver, chromium: &Path, width: u32, height: u32) -> Client {
    let mut caps = Capabilities::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                format!("--window-size={width},{height}"), "--force-device-scale-factor=1",
                "--hide-scrollbars",
            ],
        }),
    );
    caps.insert(
        "goog:loggingPrefs".into(),
        json!({"browser": "ALL", "performance": "ALL"}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .unwrap()
}

/// chromedriver's log endpoint (`browser`: the console; `performance`:
/// DevTools events). Reading a log empties it.
#[derive(Debug)]
struct GetLog(&'static str);

impl WebDriverCompatibleCommand for GetLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": self.0}).to_string()),
        )
    }
}

async fn log(client: &Client, kind: &'static str) -> Vec<Value> {
    match client.issue_cmd(GetLog(kind)).await.unwrap() {
        Value::Array(entries) => entries,
        other => panic!("{kind} log: {other}"),
    }
}

fn json_of(args: &[&str], captures: &[PathBuf]) -> Value {
    let out = Command::cargo_bin("connlint")
        .unwrap()
        .args(args)
        .args(captures)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn write_report(captures: &[PathBuf], out: &Path) {
    let status = Command::cargo_bin("connlint")
        .unwrap()
        .arg("report")
        .arg("-o")
        .arg(out)
        .args(captures)
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(0), "{captures:?}");
}

fn artifacts() -> PathBuf {
    let dir = root().join("target/report-browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn open(client: &Client, page: &Path) -> String {
    let url = format!("file://{}", page.display());
    client.goto(&url).await.unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css("body[data-ready='1']"))
        .await
        .unwrap();
    url
}

/// Every console message, and every request but the page itself: none
/// may be.
async fn assert_quiet(client: &Client, url: &str, what: &str) {
    let console = log(client, "browser").await;
    assert!(console.is_empty(), "{what}: console: {console:#?}");
    let requests: Vec<String> = log(client, "performance")
        .await
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e["message"].as_str()?).ok())
        .filter(|m| m["message"]["method"] == "Network.requestWillBeSent")
        .map(|m| {
            m["message"]["params"]["request"]["url"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert!(
        requests.iter().any(|u| u == url),
        "{what}: the performance log saw no request for the page: {requests:?}"
    );
    assert!(
        requests.iter().all(|u| u == url),
        "{what}: requests other than the page: {requests:?}"
    );
}

/// Pixels of each of the waterfall's colours on the canvas.
async fn colours(client: &Client) -> Value {
    client
        .execute(
            r#"
            var c = document.getElementById('waterfall');
            var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            var want = {connect: [255,152,0], send: [124,184,221], wait: [92,184,92],
                        receive: [91,143,217]};
            var n = {connect: 0, send: 0, wait: 0, receive: 0};
            for (var i = 0; i < d.length; i += 4) {
              for (var k in want) {
                var w = want[k];
                if (d[i] === w[0] && d[i+1] === w[1] && d[i+2] === w[2]) n[k]++;
              }
            }
            return n;"#,
            vec![],
        )
        .await
        .unwrap()
}

async fn click(client: &Client, x: f64, y: f64) {
    let mouse = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo {
            duration: None,
            x: x.round(),
            y: y.round(),
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    client.perform_actions(mouse).await.unwrap();
}

/// Captures with findings of several kinds, pipelining, parallel
/// connections, retransmissions, gaps and resets.
fn captures() -> Vec<PathBuf> {
    [
        "samples/R001-rst-truncated-response.pcap",
        "samples/P001-pipelined-before-persistence-known.pcap",
        "samples/S003-too-many-parallel-connections.pcap",
        "samples/T001-nagle-delayed-ack-stall-client-side.pcap",
        "samples/clean-keepalive-page-load.pcap",
        "tests/corpus/files/arkime__tests-pcap-wireshark-retrans.pcap",
        "tests/corpus/files/sv__tests-http-gap-simple-input.pcap",
        "tests/corpus/files/sv__tests-tcp-rst-unacked-stream-07-http-input.pcap",
    ]
    .iter()
    .map(|p| root().join(p))
    .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn the_report_draws_every_lane_bar_and_finding_and_a_marker_opens_its_evidence() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let driver = start_driver(&chromedriver);
    // Tall enough that every lane of each report is in view.
    let client = session(&driver, &chromium, 1400, 3000).await;
    let dir = artifacts();
    let mut pages: Vec<(String, Vec<PathBuf>)> = captures()
        .into_iter()
        .map(|c| {
            let name = c.file_stem().unwrap().to_string_lossy().to_string();
            (name, vec![c])
        })
        .collect();
    pages.push(("several".to_string(), captures()));
    let mut markers_clicked = 0;
    let mut pixels: std::collections::BTreeMap<String, u64> = Default::default();
    for (name, caps) in &pages {
        let page = dir.join(format!("{name}.html"));
        write_report(caps, &page);
        let url = open(&client, &page).await;
        let what = name.as_str();

        let conns = json_of(&["connections", "--format", "json"], caps);
        let conns = conns["connections"].as_array().unwrap();
        let connections = conns.len() as u64;
        let handshakes = conns.iter().any(|c| c["handshake_rtt_ms"].is_number());
        let transactions = json_of(&["transactions", "--format", "json"], caps)["transactions"]
            .as_array()
            .unwrap()
            .len() as u64;
        let findings = json_of(&["check", "--format", "json"], caps)["findings"]
            .as_array()
            .unwrap()
            .clone();

        std::fs::write(
            dir.join(format!("{name}.png")),
            client.screenshot().await.unwrap(),
        )
        .unwrap();

        let report = client
            .execute(
                "var r = window.connlintReport; \
                 return {lanes: r.lanes, groups: r.groups, bars: r.bars, findings: r.findings, \
                 drawn: r.drawn(), markers: r.markers()};",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(report["lanes"], connections, "{what}: lanes");
        assert_eq!(report["groups"], 0, "{what}: groups");
        assert_eq!(report["bars"], transactions, "{what}: bars");
        assert_eq!(report["findings"], findings.len(), "{what}: findings");
        assert_eq!(report["drawn"]["rows"], connections, "{what}: lanes drawn");
        assert_eq!(report["drawn"]["bars"], transactions, "{what}: bars drawn");
        let markers = report["markers"].as_array().unwrap();
        assert_eq!(markers.len(), findings.len(), "{what}: markers drawn");

        // The phases' colours on the canvas: something on every page with a
        // handshake or a transaction (a phase shorter than a pixel is one
        // pixel, which the next phase may cover), each colour on some page.
        let px = colours(&client).await;
        let mut any = 0;
        for (k, n) in px.as_object().unwrap() {
            *pixels.entry(k.clone()).or_insert(0) += n.as_u64().unwrap();
            any += n.as_u64().unwrap();
        }
        if handshakes || transactions > 0 {
            assert!(any > 0, "{what}: no phase drawn: {px}");
        }

        // Click each marker: the details pane shows its finding.
        for m in markers {
            click(&client, m["x"].as_f64().unwrap(), m["y"].as_f64().unwrap()).await;
            let shown = client
                .execute(
                    "var d = document.getElementById('details'); \
                     return {i: d.dataset.finding, text: d.innerText};",
                    vec![],
                )
                .await
                .unwrap();
            let i: usize = shown["i"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: the click opened no finding: {shown}"))
                .parse()
                .unwrap();
            assert_eq!(
                i,
                m["finding"].as_u64().unwrap() as usize,
                "{what}: another finding"
            );
            let f = client
                .execute(
                    "var f = JSON.parse(document.getElementById('connlint-data').textContent).findings[arguments[0]]; \
                     var D = JSON.parse(document.getElementById('connlint-data').textContent); \
                     var l = f[6] >= 0 ? D.lanes[f[6]][7] : null; \
                     return {conn: f[3], message: f[8], evidence: f[9], frames: l ? [l[1], l[2]] : null};",
                    vec![json!(i)],
                )
                .await
                .unwrap();
            let text = shown["text"].as_str().unwrap();
            assert!(
                text.contains(f["message"].as_str().unwrap()),
                "{what}: {text}"
            );
            assert!(
                text.contains(&format!("-Y 'tcp.stream == {}'", f["conn"])),
                "{what}: no tshark line: {text}"
            );
            // The evidence, as JSON, and its frame numbers.
            assert!(text.contains("evidence"), "{what}: {text}");
            for (k, v) in f["evidence"].as_object().unwrap() {
                if k.contains("frame") && v.is_u64() {
                    assert!(
                        text.contains(&v.to_string()),
                        "{what}: frame {k}={v}: {text}"
                    );
                }
            }
            if let Some(fr) = f["frames"].as_array() {
                let want = format!("the connection's frames: {}–{}", fr[0], fr[1]);
                assert!(text.contains(&want), "{what}: no {want:?}: {text}");
            }
            markers_clicked += 1;
        }
        assert_quiet(&client, &url, what).await;
    }
    assert!(
        markers_clicked >= 5,
        "only {markers_clicked} markers clicked"
    );
    for phase in ["connect", "send", "wait", "receive"] {
        assert!(pixels[phase] > 0, "{phase} never drawn: {pixels:?}");
    }
    client.close().await.unwrap();
}

/// Measures one capture's report: its size and its time to first paint
/// (navigation start to the first frame after the waterfall's first draw).
#[tokio::test(flavor = "current_thread")]
#[ignore = "a measurement: CONNLINT_REPORT_MEASURE=FILE"]
async fn measure_a_report() {
    let Some(capture) = std::env::var_os("CONNLINT_REPORT_MEASURE") else {
        eprintln!("set CONNLINT_REPORT_MEASURE to a capture");
        return;
    };
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    // A report already written (e.g. by a release build), or one to write.
    let capture = PathBuf::from(capture);
    let page = if capture.extension().is_some_and(|e| e == "html") {
        capture
    } else {
        let page = artifacts().join("measured.html");
        write_report(&[capture], &page);
        page
    };
    let size = std::fs::metadata(&page).unwrap().len();
    let driver = start_driver(&chromedriver);
    let client = session(&driver, &chromium, 1280, 800).await;
    let url = open(&client, &page).await;
    let r = client
        .execute(
            "var r = window.connlintReport; \
             var fcp = performance.getEntriesByName('first-contentful-paint')[0]; \
             return {paintedMs: r.paintedMs, scriptMs: r.firstDrawMs, \
             fcpMs: fcp ? fcp.startTime : null, lanes: r.lanes, groups: r.groups, \
             bars: r.bars, findings: r.findings, drawn: r.drawn(), markers: r.markers()};",
            vec![],
        )
        .await
        .unwrap();
    // The first finding marker in view clicked, for the screenshot.
    if let Some(m) = r["markers"].as_array().and_then(|m| m.first()) {
        click(&client, m["x"].as_f64().unwrap(), m["y"].as_f64().unwrap()).await;
        // Off the canvas: no tooltip over the picture.
        let away = MouseActions::new("mouse".into()).then(PointerAction::MoveTo {
            duration: None,
            x: 1.0,
            y: 1.0,
        });
        client.perform_actions(away).await.unwrap();
    }
    std::fs::write(
        artifacts().join("measured.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();
    assert_quiet(&client, &url, "measured").await;
    eprintln!(
        "report: {size} bytes ({:.1} MB); browser: {r}",
        size as f64 / 1e6
    );
    client.close().await.unwrap();
}
