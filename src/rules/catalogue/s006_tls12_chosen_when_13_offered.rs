//! S006 tls12-chosen-when-13-offered.

use crate::rules::api::*;
use crate::tls::{HandshakeKind, TlsVersion};

pub struct Tls12ChosenWhen13Offered;

static META: RuleMeta = RuleMeta {
    code: "S006",
    name: "tls12-chosen-when-13-offered",
    family: Family::Setup,
    severity: Severity::Info,
    summary: "The client offered TLS 1.3, the server chose TLS 1.2 and a full handshake: a round trip more per connection",
    doc: r#"## What it detects
A TLS connection whose ClientHello offered TLS 1.3 (its `supported_versions` extension) and whose
ServerHello chose TLS 1.2 or older, with a full handshake (the server sent its certificate; a
resumed TLS 1.2 handshake takes one round trip, as TLS 1.3 does, and is not reported). Only where
the round trip is worth a report: when the TCP handshake was seen and took at least `min_rtt_ms`.
The evidence gives the versions offered and chosen, the TLS handshake's time (ClientHello to both
Finished messages) and the TCP round trip, which is what TLS 1.3 would have saved.

Why a rule, and why only this: RFC 8446 (TLS 1.3, 2018) completes a full handshake in one round
trip where TLS 1.2 (RFC 5246) needs two; Mozilla's server-side TLS guidance recommends TLS 1.3
with 1.2 for older clients ("intermediate") or 1.3 alone ("modern"), and NIST SP 800-52 Rev. 2 asks
servers to support TLS 1.3. Every current client library and browser offers 1.3, so when one does
and the server answers with 1.2, the server's configuration (or its TLS library) is the cause, and
enabling 1.3 is the fix. The rule does not judge TLS 1.2 chosen by a client that offered nothing
newer (that is the client's setting), nor the version as such (TLS 1.2 is still a valid choice:
RFC 8996 deprecates only 1.0 and 1.1): only the round trip a full handshake costs on every new
connection. It is `info`: a client-side capture of third-party servers can show it without
anyone in reach who could fix it.

## Why it matters
A full TLS 1.2 handshake takes two round trips before the client may send its request (ClientHello;
ServerHello, Certificate, ServerKeyExchange, ServerHelloDone; ClientKeyExchange, ChangeCipherSpec,
Finished; the server's ChangeCipherSpec and Finished), TLS 1.3 one (the client sends its key share
in the ClientHello, the server answers with everything). On a path of 50 ms that is 50 ms more on
every new connection, on top of the TCP handshake: for a small request, a third more time.

## Example
```text
connection 0 198.18.0.1:47041 -> 198.18.0.2:443
  info S006 tls12-chosen-when-13-offered: the client offered TLS 1.3 and the server chose TLS 1.2
  with a full handshake: 110.1 ms from the ClientHello to the end of the handshake, two round trips
  where TLS 1.3 takes one (the TCP round trip here is 50.8 ms); enable TLS 1.3 on the server
```

## How to fix
Enable TLS 1.3 on the server or the load balancer in front of it (nginx: `ssl_protocols TLSv1.2
TLSv1.3;`, which needs OpenSSL 1.1.1 or newer; Apache: `SSLProtocol -all +TLSv1.2 +TLSv1.3`;
HAProxy: `ssl-min-ver TLSv1.2` without an `ssl-max-ver`), and keep TLS 1.2 for older clients.
Where that cannot be done yet, session resumption (tickets, a shared session cache) brings
returning clients' TLS 1.2 handshakes down to one round trip.

## Options
- `min_rtt_ms` (1): connections whose TCP round trip was shorter than this (a LAN, loopback) are
  not reported: the round trip saved would not matter.
"#,
    options: &[OptionSpec {
        key: "min_rtt_ms",
        default: 1.0,
        doc: "smallest TCP round trip for which the extra TLS 1.2 round trip is reported, in ms",
        integer: false,
    }],
};

impl Rule for Tls12ChosenWhen13Offered {
    fn check_connection(&self, cx: &ConnectionFacts<'_>, s: &RuleSettings, out: &mut Vec<Finding>) {
        let Some(t) = cx.tls else {
            return;
        };
        let (Some(ch), Some(chosen)) = (&t.client_hello, t.version()) else {
            return;
        };
        if !ch.offers_tls13() || chosen.is_tls13() || t.handshake != HandshakeKind::Full {
            return;
        }
        let Some(rtt) = cx.conn.handshake_rtt_ns() else {
            return;
        };
        if rtt < s.ms_as_ns("min_rtt_ms") {
            return;
        }
        let offered: Vec<String> = ch
            .supported_versions
            .iter()
            .map(|v| TlsVersion(*v).to_string())
            .collect();
        let took = t
            .handshake_ns()
            .map(|ns| {
                format!(
                    "{} from the ClientHello to the end of the handshake, ",
                    Ms(ns)
                )
            })
            .unwrap_or_default();
        let message = format!(
            "the client offered TLS 1.3 and the server chose {chosen} with a full handshake: \
             {took}two round trips where TLS 1.3 takes one (the TCP round trip here is {}); \
             enable TLS 1.3 on the server",
            Ms(rtt),
        );
        let ts = t.client_hello_ts.unwrap_or(cx.conn.start_ts);
        let mut f = Finding::new(&META, cx.conn, ts, message)
            .with("versions_offered", offered)
            .with("version_chosen", chosen.to_string())
            .with_ms("tcp_rtt_ms", rtt)
            .with("certificate_seen", t.certificate);
        if let Some(ns) = t.handshake_ns() {
            f = f.with_ms("tls_handshake_ms", ns);
        }
        if let Some(sni) = t.sni() {
            f = f.with("sni", sni);
        }
        if let Some(frame) = t.client_hello_frame {
            f = f.with("client_hello_frame", frame);
        }
        out.push(f);
    }

    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::{assert_evidence, assert_says, only, Timeline};
    use crate::tls::build::{app_data, ClientHello, ServerHello};
    use serde_json::json;

    /// A TLS connection over a `rtt` ms round trip: `hello` offered, a full
    /// TLS 1.2 handshake, two exchanges.
    fn tls12(rtt: f64, hello: ClientHello) -> Timeline {
        let mut t = Timeline::new();
        let ready = t.tls12_handshake(0.0, rtt, &hello, &ServerHello::new(), false);
        t.client(ready, &app_data(100))
            .server(ready + rtt, &app_data(100))
            .client(ready + 2.0 * rtt, &app_data(100))
            .server(ready + 3.0 * rtt, &app_data(100))
            .close(ready + 4.0 * rtt);
        t
    }

    #[test]
    fn fires_when_13_was_offered_and_12_chosen_in_full() {
        let f =
            only(tls12(50.0, ClientHello::new().tls13().sni("shop.example")).findings_of("S006"));
        assert_evidence(
            &f,
            json!({"versions_offered": ["TLS 1.3", "TLS 1.2"], "version_chosen": "TLS 1.2",
                   "tcp_rtt_ms": 50.0, "tls_handshake_ms": 100.0, "sni": "shop.example",
                   "certificate_seen": true, "client_hello_frame": 4}),
        );
        assert_says(&f, "two round trips where TLS 1.3 takes one");
    }

    #[test]
    fn not_when_12_was_all_the_client_offered_or_13_was_chosen_or_resumed() {
        assert!(tls12(50.0, ClientHello::new())
            .findings_of("S006")
            .is_empty());
        let mut t = Timeline::new();
        let ready = t.tls13_handshake(
            0.0,
            50.0,
            &ClientHello::new().tls13(),
            &ServerHello::new().version(0x0304),
        );
        t.client(ready, &app_data(100)).close(ready + 10.0);
        assert!(t.findings_of("S006").is_empty());
        // A resumed TLS 1.2 handshake is one round trip, as 1.3's.
        let mut t = Timeline::new();
        let ready = t.tls12_resumed(0.0, 50.0, &ClientHello::new().tls13(), &[3; 32]);
        t.client(ready, &app_data(100)).close(ready + 10.0);
        assert!(t.findings_of("S006").is_empty());
    }

    #[test]
    fn min_rtt_edge() {
        let hello = || ClientHello::new().tls13();
        assert_eq!(tls12(1.0, hello()).findings_of("S006").len(), 1);
        assert!(tls12(0.9, hello()).findings_of("S006").is_empty());
        assert!(tls12(5.0, hello())
            .findings_with("S006", &[("min_rtt_ms", 5.5)])
            .is_empty());
    }
}
