//! The two hellos, parsed with `tls-parser` and reduced to what connection
//! management needs. Every list and string taken from the wire is capped
//! (names at [`MAX_NAME_BYTES`], lists at [`MAX_LISTED`] entries), so what a
//! hello leaves behind is small whatever it claims.

use super::facts::{ClientHelloFacts, ServerHelloFacts, SessionId};
use tls_parser::{
    parse_tls_client_hello_extension, parse_tls_handshake_client_hello,
    parse_tls_handshake_server_hello, parse_tls_server_hello_extension, TlsExtension,
};

/// Longest server name or ALPN protocol name kept.
pub const MAX_NAME_BYTES: usize = 255;
/// Most entries kept of a list (versions, ALPN protocols).
pub const MAX_LISTED: usize = 16;

/// The random of a ServerHello that is a HelloRetryRequest (RFC 8446
/// §4.1.3): SHA-256 of "HelloRetryRequest".
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// GREASE values (RFC 8701): 0x?a?a with both bytes equal.
fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

fn name(bytes: &[u8]) -> String {
    let cut = bytes.get(..MAX_NAME_BYTES).unwrap_or(bytes);
    String::from_utf8_lossy(cut).into_owned()
}

/// Walks an extensions block one extension at a time: an extension whose
/// content does not parse is skipped by its length rather than ending the
/// walk (tls-parser's list parser stops at the first bad one).
fn for_each_extension<'a>(
    mut block: &'a [u8],
    parse: fn(&'a [u8]) -> tls_parser::IResult<&'a [u8], TlsExtension<'a>>,
    mut f: impl FnMut(u16, Option<TlsExtension<'a>>),
) {
    while let [t0, t1, l0, l1, rest @ ..] = block {
        let ext_type = u16::from_be_bytes([*t0, *t1]);
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        let Some(next) = rest.get(len..) else {
            // Announced longer than the block: what is there is not whole.
            f(ext_type, None);
            return;
        };
        let parsed = parse(block).ok().map(|(_, e)| e);
        f(ext_type, parsed);
        block = next;
    }
}

/// A ClientHello's body (after the 4-byte message header).
pub(super) fn parse_client_hello(body: &[u8]) -> Option<ClientHelloFacts> {
    let (_, ch) = parse_tls_handshake_client_hello(body).ok()?;
    let mut f = ClientHelloFacts {
        legacy_version: ch.version.0,
        random: <[u8; 32]>::try_from(ch.random).unwrap_or_default(),
        session_id: SessionId::of(ch.session_id.unwrap_or_default()),
        cipher_suites: u32::try_from(ch.ciphers.len()).unwrap_or(u32::MAX),
        ..ClientHelloFacts::default()
    };
    if let Some(block) = ch.ext {
        for_each_extension(block, parse_tls_client_hello_extension, |t, e| {
            f.extensions = f.extensions.saturating_add(1);
            match e {
                Some(TlsExtension::SNI(names)) => {
                    if let Some((_, host)) = names.first() {
                        f.sni = Some(name(host));
                    }
                }
                Some(TlsExtension::ALPN(protos)) => {
                    f.alpn = protos.iter().take(MAX_LISTED).map(|p| name(p)).collect();
                }
                Some(TlsExtension::SupportedVersions(vs)) => {
                    f.supported_versions = vs
                        .iter()
                        .map(|v| v.0)
                        .filter(|v| !is_grease(*v))
                        .take(MAX_LISTED)
                        .collect();
                }
                Some(TlsExtension::SessionTicket(ticket)) => {
                    f.ticket_ext = true;
                    f.ticket_bytes = u32::try_from(ticket.len()).unwrap_or(u32::MAX);
                }
                Some(TlsExtension::PreSharedKey(_)) => f.psk = true,
                Some(TlsExtension::EarlyData(_)) => f.early_data = true,
                Some(TlsExtension::PskExchangeModes(_)) => f.psk_modes = true,
                Some(TlsExtension::Grease(..)) => {}
                // Present but not parsed by tls-parser's rules (a bad
                // length inside): note the presence of what matters.
                _ => match t {
                    35 => f.ticket_ext = true,
                    41 => f.psk = true,
                    42 => f.early_data = true,
                    _ => {}
                },
            }
        });
    }
    Some(f)
}

/// A ServerHello's body; a HelloRetryRequest is a ServerHello with a fixed
/// random (TLS 1.3).
pub(super) fn parse_server_hello(body: &[u8]) -> Option<ServerHelloFacts> {
    let (_, sh) = parse_tls_handshake_server_hello(body).ok()?;
    let mut f = ServerHelloFacts {
        legacy_version: sh.version.0,
        random: <[u8; 32]>::try_from(sh.random).unwrap_or_default(),
        session_id: SessionId::of(sh.session_id.unwrap_or_default()),
        cipher_suite: sh.cipher.0,
        hello_retry: sh.random == HELLO_RETRY_RANDOM,
        ..ServerHelloFacts::default()
    };
    if let Some(block) = sh.ext {
        for_each_extension(block, parse_tls_server_hello_extension, |t, e| match e {
            Some(TlsExtension::ALPN(protos)) => f.alpn = protos.first().map(|p| name(p)),
            Some(TlsExtension::SupportedVersions(vs)) => {
                f.selected_version = vs.first().map(|v| v.0);
            }
            Some(TlsExtension::SessionTicket(_)) => f.ticket_ext = true,
            Some(TlsExtension::PreSharedKey(_)) => f.psk = true,
            _ => match t {
                35 => f.ticket_ext = true,
                41 => f.psk = true,
                _ => {}
            },
        });
    }
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::build::{ClientHello, ServerHello};

    #[test]
    fn a_client_hello_says_what_it_offers() {
        let ch = ClientHello::new()
            .sni("shop.example")
            .alpn(&["h2", "http/1.1"])
            .versions(&[0x7a7a, 0x0304, 0x0303])
            .session_id(&[7; 32])
            .ticket(&[1; 100])
            .psk()
            .early_data()
            .message();
        let f = parse_client_hello(&ch[4..]).expect("parses");
        assert_eq!(f.sni.as_deref(), Some("shop.example"));
        assert_eq!(f.alpn, ["h2", "http/1.1"]);
        assert_eq!(f.supported_versions, [0x0304, 0x0303], "GREASE left out");
        assert_eq!(f.session_id.len(), 32);
        assert!(f.ticket_ext && f.psk && f.early_data);
        assert_eq!(f.ticket_bytes, 100);
        assert_eq!(f.legacy_version, 0x0303);
    }

    #[test]
    fn a_server_hello_says_what_it_chose() {
        let sh = ServerHello::new()
            .version(0x0304)
            .alpn("h2")
            .psk()
            .cipher(0x1302)
            .message();
        let f = parse_server_hello(&sh[4..]).expect("parses");
        assert_eq!(f.selected_version, Some(0x0304));
        assert_eq!(f.alpn.as_deref(), Some("h2"));
        assert!(f.psk && !f.hello_retry);
        assert_eq!(f.cipher_suite, 0x1302);
        let hrr = ServerHello::new().hello_retry().message();
        assert!(parse_server_hello(&hrr[4..]).is_some_and(|f| f.hello_retry));
    }

    #[test]
    fn a_bad_extension_is_skipped_and_the_rest_still_read() {
        // An SNI extension whose list length lies, then a good ALPN.
        let ch = ClientHello::new()
            .raw_extension(0, &[0xff, 0xff, 0, 0, 1, b'a'])
            .alpn(&["http/1.1"])
            .message();
        let f = parse_client_hello(&ch[4..]).expect("parses");
        assert_eq!(f.sni, None);
        assert_eq!(f.alpn, ["http/1.1"]);
        // An extension longer than the block: what is there is not whole.
        let ch = ClientHello::new()
            .alpn(&["http/1.1"])
            .raw_extension(16, &[])
            .truncate_extensions(3)
            .message();
        assert!(parse_client_hello(&ch[4..]).is_some_and(|f| f.alpn == ["http/1.1"]));
        // Huge names are cut.
        let long = "a".repeat(1000);
        let ch = ClientHello::new().sni(&long).message();
        let f = parse_client_hello(&ch[4..]).expect("parses");
        assert_eq!(f.sni.map(|s| s.len()), Some(MAX_NAME_BYTES));
    }
}
