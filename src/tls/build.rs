//! Test support: TLS records and hellos built byte by byte, as RFC 8446
//! §4.1 and RFC 5246 §7.4.1 lay them out, for the stage's tests and the
//! rules' timelines.

/// A record of content type `ct` (20-24) holding `body`.
pub fn record(ct: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ct, 3, 3];
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// An application-data record with a body of `len` bytes (what an
/// encrypted record looks like from outside).
pub fn app_data(len: usize) -> Vec<u8> {
    record(23, &vec![0x5a; len])
}

/// A ChangeCipherSpec record.
pub fn ccs() -> Vec<u8> {
    record(20, &[1])
}

/// A handshake message: type, 24-bit length, body.
pub fn message(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let len = body.len() as u32;
    let mut v = vec![msg_type];
    v.extend_from_slice(&len.to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

fn ext(t: u16, data: &[u8]) -> Vec<u8> {
    let mut v = t.to_be_bytes().to_vec();
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn vec8(items: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for i in items {
        v.push(i.len() as u8);
        v.extend_from_slice(i);
    }
    v
}

fn vec16(data: &[u8]) -> Vec<u8> {
    let mut v = (data.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(data);
    v
}

/// A ClientHello.
#[derive(Clone, Debug)]
pub struct ClientHello {
    version: u16,
    session_id: Vec<u8>,
    extensions: Vec<u8>,
    cut: usize,
}

impl Default for ClientHello {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientHello {
    pub fn new() -> ClientHello {
        ClientHello {
            version: 0x0303,
            session_id: Vec::new(),
            extensions: Vec::new(),
            cut: 0,
        }
    }
    pub fn sni(mut self, host: &str) -> Self {
        let mut entry = vec![0u8];
        entry.extend_from_slice(&vec16(host.as_bytes()));
        self.extensions.extend(ext(0, &vec16(&entry)));
        self
    }
    pub fn alpn(mut self, protos: &[&str]) -> Self {
        let list: Vec<&[u8]> = protos.iter().map(|p| p.as_bytes()).collect();
        self.extensions.extend(ext(16, &vec16(&vec8(&list))));
        self
    }
    pub fn versions(mut self, vs: &[u16]) -> Self {
        let mut data = vec![(vs.len() * 2) as u8];
        for v in vs {
            data.extend_from_slice(&v.to_be_bytes());
        }
        self.extensions.extend(ext(43, &data));
        self
    }
    /// TLS 1.3 and 1.2 offered (supported_versions).
    pub fn tls13(self) -> Self {
        self.versions(&[0x0304, 0x0303])
    }
    pub fn session_id(mut self, id: &[u8]) -> Self {
        self.session_id = id.to_vec();
        self
    }
    /// The session_ticket extension carrying `ticket` (empty: asks for one).
    pub fn ticket(mut self, ticket: &[u8]) -> Self {
        self.extensions.extend(ext(35, ticket));
        self
    }
    /// A pre_shared_key extension with one identity (it must be last).
    pub fn psk(mut self) -> Self {
        let identity = [vec16(&[9; 40]), 7u32.to_be_bytes().to_vec()].concat();
        let binders = vec8(&[&[3; 32]]);
        let data = [vec16(&identity), vec16(&binders)].concat();
        self.extensions.extend(ext(41, &data));
        self
    }
    pub fn early_data(mut self) -> Self {
        self.extensions.extend(ext(42, &[]));
        self
    }
    pub fn raw_extension(mut self, t: u16, data: &[u8]) -> Self {
        self.extensions.extend(ext(t, data));
        self
    }
    /// Cuts `n` bytes off the end of the extensions block (its length
    /// follows), so that the last extension claims more than is there.
    pub fn truncate_extensions(mut self, n: usize) -> Self {
        self.cut = n;
        self
    }

    /// The message's body.
    pub fn body(&self) -> Vec<u8> {
        let mut b = self.version.to_be_bytes().to_vec();
        b.extend_from_slice(&[0x11; 32]);
        b.push(self.session_id.len() as u8);
        b.extend_from_slice(&self.session_id);
        b.extend_from_slice(&vec16(&[0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f]));
        b.extend_from_slice(&[1, 0]);
        let mut exts = self.extensions.clone();
        exts.truncate(exts.len().saturating_sub(self.cut));
        b.extend_from_slice(&vec16(&exts));
        b
    }
    /// The handshake message.
    pub fn message(&self) -> Vec<u8> {
        message(1, &self.body())
    }
    /// The message in one handshake record (legacy version 3.1, as
    /// clients send it).
    pub fn record(&self) -> Vec<u8> {
        let m = self.message();
        let mut v = vec![22, 3, 1];
        v.extend_from_slice(&(m.len() as u16).to_be_bytes());
        v.extend(m);
        v
    }
}

/// A ServerHello.
#[derive(Clone, Debug)]
pub struct ServerHello {
    version: u16,
    random: [u8; 32],
    session_id: Vec<u8>,
    cipher: u16,
    extensions: Vec<u8>,
}

impl Default for ServerHello {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerHello {
    /// A TLS 1.2 ServerHello (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256).
    pub fn new() -> ServerHello {
        ServerHello {
            version: 0x0303,
            random: [0x22; 32],
            session_id: Vec::new(),
            cipher: 0xc02f,
            extensions: Vec::new(),
        }
    }
    /// The version chosen: TLS 1.3 goes in supported_versions.
    pub fn version(mut self, v: u16) -> Self {
        if v == 0x0304 {
            self.version = 0x0303;
            self.extensions.extend(ext(43, &v.to_be_bytes()));
            self.cipher = 0x1301;
        } else {
            self.version = v;
        }
        self
    }
    pub fn session_id(mut self, id: &[u8]) -> Self {
        self.session_id = id.to_vec();
        self
    }
    pub fn cipher(mut self, c: u16) -> Self {
        self.cipher = c;
        self
    }
    pub fn alpn(mut self, proto: &str) -> Self {
        self.extensions
            .extend(ext(16, &vec16(&vec8(&[proto.as_bytes()]))));
        self
    }
    /// The server accepted the client's first PSK (TLS 1.3).
    pub fn psk(mut self) -> Self {
        self.extensions.extend(ext(41, &[0, 0]));
        self
    }
    /// It will send a NewSessionTicket (TLS 1.2).
    pub fn ticket(mut self) -> Self {
        self.extensions.extend(ext(35, &[]));
        self
    }
    /// Makes it a HelloRetryRequest (TLS 1.3).
    pub fn hello_retry(mut self) -> Self {
        self.random = [
            0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65,
            0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2,
            0xc8, 0xa8, 0x33, 0x9c,
        ];
        self.version(0x0304)
    }
    pub fn body(&self) -> Vec<u8> {
        let mut b = self.version.to_be_bytes().to_vec();
        b.extend_from_slice(&self.random);
        b.push(self.session_id.len() as u8);
        b.extend_from_slice(&self.session_id);
        b.extend_from_slice(&self.cipher.to_be_bytes());
        b.push(0);
        b.extend_from_slice(&vec16(&self.extensions));
        b
    }
    pub fn message(&self) -> Vec<u8> {
        message(2, &self.body())
    }
    pub fn record(&self) -> Vec<u8> {
        record(22, &self.message())
    }
}

/// A TLS 1.2 server's first flight after its hello: Certificate,
/// ServerKeyExchange, ServerHelloDone, in one record.
pub fn tls12_certificate_flight() -> Vec<u8> {
    let mut m = message(11, &[0, 0, 7, 0, 0, 4, 1, 2, 3, 4]);
    m.extend(message(12, &[3, 0, 0x1d, 4, 1, 2, 3, 4]));
    m.extend(message(14, &[]));
    record(22, &m)
}

/// A TLS 1.2 client's second flight: ClientKeyExchange, ChangeCipherSpec,
/// its encrypted Finished.
pub fn tls12_client_finished() -> Vec<u8> {
    let mut v = record(22, &message(16, &[32; 33]));
    v.extend(ccs());
    v.extend(record(22, &[0x44; 40]));
    v
}

/// A TLS 1.2 server's last flight: a NewSessionTicket (if `ticket`),
/// ChangeCipherSpec, its encrypted Finished.
pub fn tls12_server_finished(ticket: bool) -> Vec<u8> {
    let mut v = Vec::new();
    if ticket {
        v.extend(record(
            22,
            &message(4, &[0, 0, 0x1c, 0x20, 0, 4, 1, 2, 3, 4]),
        ));
    }
    v.extend(ccs());
    v.extend(record(22, &[0x55; 40]));
    v
}

/// A TLS 1.3 server's flight: ServerHello, ChangeCipherSpec, and the
/// encrypted EncryptedExtensions ... Finished in one record.
pub fn tls13_server_flight(hello: &ServerHello) -> Vec<u8> {
    let mut v = hello.record();
    v.extend(ccs());
    v.extend(app_data(2000));
    v
}

/// A TLS 1.3 client's Finished flight: ChangeCipherSpec and the encrypted
/// Finished (53 bytes with SHA-256).
pub fn tls13_client_finished() -> Vec<u8> {
    let mut v = ccs();
    v.extend(app_data(48));
    v
}

/// A TLS 1.3 close_notify alert as it looks encrypted (19 bytes of body).
pub fn tls13_close_notify() -> Vec<u8> {
    app_data(19)
}
