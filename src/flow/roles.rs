//! Who is the client when the handshake was not captured and the stream
//! handler could not tell from the first bytes
//! ([`StreamHandler::sender_of`](crate::reassembly::StreamHandler::sender_of)).

use std::net::SocketAddr;

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
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

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
