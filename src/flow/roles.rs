//! Who is the client when the handshake was not captured.

use std::net::SocketAddr;

/// Request methods that open an HTTP/1.x request line (RFC 9110 and WebDAV).
const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"CONNECT",
    b"TRACE",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
    b"MKACTIVITY",
    b"CHECKOUT",
    b"MERGE",
    b"NOTIFY",
    b"SUBSCRIBE",
    b"PURGE",
];

/// Whether `payload` begins like an HTTP/1.x request line (`METHOD SP`).
pub fn starts_like_request(payload: &[u8]) -> bool {
    METHODS
        .iter()
        .any(|m| payload.len() > m.len() && payload.starts_with(m) && payload[m.len()] == b' ')
}

/// Whether `payload` begins like an HTTP/1.x status line.
pub fn starts_like_response(payload: &[u8]) -> bool {
    payload.starts_with(b"HTTP/1.") || payload.starts_with(b"HTTP/0.9")
}

/// Ports on which the listening side of a connection usually sits, beyond the
/// privileged range.
const SERVER_PORTS: &[u16] = &[
    1080, 3128, 5000, 8000, 8008, 8080, 8081, 8088, 8443, 8888, 9000, 9090,
];

/// For a connection picked up without its handshake: is `a` (rather than
/// `b`) the server, judged by port numbers alone? A privileged port beats an
/// unprivileged one, a well-known proxy/alt-HTTP port beats another, and
/// otherwise the lower port is taken as the server's (ephemeral ports are
/// allocated high).
pub fn port_says_server(a: SocketAddr, b: SocketAddr) -> bool {
    let (pa, pb) = (a.port(), b.port());
    match (pa < 1024, pb < 1024) {
        (true, false) => return true,
        (false, true) => return false,
        _ => {}
    }
    match (SERVER_PORTS.contains(&pa), SERVER_PORTS.contains(&pb)) {
        (true, false) => true,
        (false, true) => false,
        _ => pa < pb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_response_starts() {
        assert!(starts_like_request(b"GET / HTTP/1.1\r\n"));
        assert!(starts_like_request(b"PROPFIND /x HTTP/1.1\r\n"));
        assert!(!starts_like_request(b"GETX / HTTP/1.1"));
        assert!(!starts_like_request(b"GET"));
        assert!(starts_like_response(b"HTTP/1.0 200 OK\r\n"));
        assert!(!starts_like_response(b"SSH-2.0-OpenSSH"));
    }

    #[test]
    fn ports_pick_the_listener() {
        let a: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:51000".parse().unwrap();
        assert!(port_says_server(a, b));
        assert!(!port_says_server(b, a));
        let proxy: SocketAddr = "10.0.0.1:3128".parse().unwrap();
        assert!(port_says_server(proxy, b));
        let hi: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        assert!(!port_says_server(b, hi));
    }
}
