//! S001 gives the same verdict on one exchange whether it was captured next
//! to the client or next to the server (samples recorded from real Linux TCP,
//! samples/README.md): the server-side capture sees the response leave 0.1 ms
//! after the request arrives, and the rule adds the capture point's round
//! trip to the client, which the handshake measured.

use connlint::analyze::{run_check, Limits};
use connlint::rules::{CliSelection, Config, Finding};
use std::path::Path;

fn s001(file: &str) -> Finding {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(file);
    let config = Config::resolve(
        None,
        &CliSelection {
            select: Some(vec!["S001".into()]),
            ..Default::default()
        },
    )
    .unwrap();
    let mut f = run_check(path.to_str().unwrap(), &Limits::default(), &config).findings;
    assert_eq!(f.len(), 1, "{file}: {f:?}");
    f.remove(0)
}

fn ms(f: &Finding, key: &str) -> f64 {
    f.evidence[key].as_f64().unwrap_or(f64::NAN)
}

#[test]
fn client_and_server_side_captures_agree() {
    let client = s001("S001-handshake-dominated.pcap");
    let server = s001("S001-handshake-dominated-server-side.pcap");
    // What each capture point saw.
    assert!(ms(&client, "client_rtt_ms") < 1.0, "{:?}", client.evidence);
    assert!(
        ms(&server, "capture_exchange_ms") < 1.0,
        "{:?}",
        server.evidence
    );
    assert!(ms(&server, "client_rtt_ms") > 45.0, "{:?}", server.evidence);
    // What the client paid, the same from both (jitter of a recording: ~1 ms).
    for key in ["handshake_ms", "exchange_ms", "span_ms"] {
        let (c, s) = (ms(&client, key), ms(&server, key));
        assert!(
            (c - s).abs() < 2.0,
            "{key}: client-side {c}, server-side {s}"
        );
    }
    assert!((ms(&client, "ratio") - ms(&server, "ratio")).abs() < 0.01);
    assert_eq!(
        client.evidence["request_bytes"],
        server.evidence["request_bytes"]
    );
    assert_eq!(
        client.evidence["response_bytes"],
        server.evidence["response_bytes"]
    );
}
