//! Test PKI, policies and an in-memory client/server handshake harness for the native-tls backend.

#![allow(dead_code)]

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tls_policy_backend::{ClientAuth, PrivateKey, ServerPolicy, TlsBackend, TlsInfo, TlsVersion};
use tls_policy_native_tls::{NativeTlsAcceptor, NativeTlsBackend};
use tokio::io::{duplex, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::timeout;

/// The bound on every await in these tests.
pub const LIMIT: Duration = Duration::from_secs(10);

/// A certificate chain (leaf first) with its key, and the root a client should trust.
pub struct Pki {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivatePkcs8KeyDer<'static>,
    pub root: CertificateDer<'static>,
}

/// A self-signed `localhost` certificate: the chain is the leaf, which is also the root.
pub fn self_signed() -> Pki {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let leaf = generated.cert.der().clone();
    Pki {
        chain: vec![leaf.clone()],
        key: PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der()),
        root: leaf,
    }
}

/// root CA → intermediate CA → `localhost` leaf; the chain is leaf + intermediate.
pub fn with_intermediate() -> Pki {
    let ca_params = |name: &str| {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
    };
    let root =
        CertifiedIssuer::self_signed(ca_params("test root"), KeyPair::generate().unwrap()).unwrap();
    let intermediate = CertifiedIssuer::signed_by(
        ca_params("test intermediate"),
        KeyPair::generate().unwrap(),
        &root,
    )
    .unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &intermediate)
        .unwrap();
    Pki {
        chain: vec![leaf.der().clone(), intermediate.der().clone()],
        key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
        root: root.der().clone(),
    }
}

/// A policy the native-tls backend can serve: `client_auth=NONE`, TLS 1.2 and 1.3, default ciphers.
pub fn policy(pki: &Pki) -> ServerPolicy {
    ServerPolicy {
        name: "test".into(),
        cert_chain: pki.chain.clone(),
        private_key: PrivateKey {
            der: PrivateKeyDer::Pkcs8(pki.key.clone_key()),
            pkcs8: pki.key.clone_key(),
        },
        trusted: Vec::new(),
        path_links: Vec::new(),
        crls: Vec::new(),
        client_auth: ClientAuth::None,
        trust_all: false,
        tls_versions: vec![TlsVersion::Tls12, TlsVersion::Tls13],
        ciphers: None,
        verify_hostname: false,
        session_resumption: true,
        session_ticket_keys: None,
        allowed_peers: None,
    }
}

/// A client trusting `pki.root` only.
pub fn client(pki: &Pki) -> native_tls::TlsConnectorBuilder {
    let mut builder = native_tls::TlsConnector::builder();
    builder
        .disable_built_in_roots(true)
        .add_root_certificate(native_tls::Certificate::from_der(pki.root.as_ref()).unwrap());
    builder
}

/// Wraps a stream, keeping a copy of every byte written to it.
pub struct Recorder<IO> {
    inner: IO,
    written: Arc<Mutex<Vec<u8>>>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Recorder<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Recorder<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = poll {
            self.written.lock().unwrap().extend_from_slice(&buf[..n]);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What the server's ServerHello said, read off the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerHello {
    /// The negotiated version: `0x0303` (TLS 1.2) or `0x0304` (TLS 1.3, from supported_versions).
    pub version: u16,
    /// The negotiated cipher suite's code point.
    pub cipher_suite: u16,
}

/// Parses the first record the server wrote, which must be a ServerHello.
pub fn parse_server_hello(bytes: &[u8]) -> Option<ServerHello> {
    // record header: type 22 (handshake), version, length
    if bytes.first() != Some(&0x16) {
        return None;
    }
    let body = bytes.get(5..)?;
    // handshake header: type 2 (server_hello), 3-byte length
    if body.first() != Some(&0x02) {
        return None;
    }
    let hello = body.get(4..)?;
    let mut version = u16::from_be_bytes([*hello.first()?, *hello.get(1)?]);
    let mut at = 2 + 32; // legacy_version, random
    let session_id_len = usize::from(*hello.get(at)?);
    at += 1 + session_id_len;
    let cipher_suite = u16::from_be_bytes([*hello.get(at)?, *hello.get(at + 1)?]);
    at += 2 + 1; // cipher suite, compression method
    if let Some(len) = hello.get(at..at + 2) {
        let end = at + 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
        at += 2;
        while at + 4 <= end {
            let ext = u16::from_be_bytes([hello[at], hello[at + 1]]);
            let ext_len = usize::from(u16::from_be_bytes([hello[at + 2], hello[at + 3]]));
            if ext == 0x002b && ext_len == 2 {
                version = u16::from_be_bytes([hello[at + 4], hello[at + 5]]);
            }
            at += 4 + ext_len;
        }
    }
    Some(ServerHello {
        version,
        cipher_suite,
    })
}

/// The outcome of one in-memory handshake.
pub struct Outcome {
    /// The server's result: its info, if the handshake succeeded.
    pub server: io::Result<TlsInfo>,
    /// The client's result: the ALPN protocol it saw, if the handshake succeeded.
    pub client: Result<Option<Vec<u8>>, native_tls::Error>,
    /// The ServerHello the server sent, if any.
    pub server_hello: Option<ServerHello>,
}

/// Runs a handshake between `acceptor` and a client built from `client`, then, if both sides
/// succeeded, exchanges one message each way over the established streams.
pub async fn handshake(
    acceptor: &NativeTlsAcceptor,
    client: &native_tls::TlsConnectorBuilder,
) -> Outcome {
    let connector = tokio_native_tls::TlsConnector::from(client.build().unwrap());
    let (client_io, server_io) = duplex(64 * 1024);
    let written = Arc::new(Mutex::new(Vec::new()));
    let server_io = Recorder {
        inner: server_io,
        written: written.clone(),
    };

    let server = async {
        let (mut stream, info) = NativeTlsBackend::accept(acceptor, server_io).await?;
        let mut ping = [0u8; 4];
        timeout(LIMIT, stream.read_exact(&mut ping)).await??;
        assert_eq!(&ping, b"ping");
        timeout(LIMIT, stream.write_all(b"pong")).await??;
        timeout(LIMIT, stream.flush()).await??;
        Ok::<_, io::Error>(info)
    };
    let client = async {
        let mut stream = connector.connect("localhost", client_io).await?;
        let alpn = stream.get_ref().negotiated_alpn()?;
        stream.write_all(b"ping").await.unwrap();
        stream.flush().await.unwrap();
        let mut pong = [0u8; 4];
        stream.read_exact(&mut pong).await.unwrap();
        assert_eq!(&pong, b"pong");
        Ok::<_, native_tls::Error>(alpn)
    };
    let (server, client) = timeout(LIMIT, async { tokio::join!(server, client) })
        .await
        .expect("the handshake finished in time");
    let server_hello = parse_server_hello(&written.lock().unwrap());
    Outcome {
        server,
        client,
        server_hello,
    }
}

/// Shorthand: the default backend's acceptor for `policy`, with ALPN `alpn`.
pub fn acceptor(policy: &ServerPolicy, alpn: &[&[u8]]) -> NativeTlsAcceptor {
    let options = tls_policy_backend::ServerOptions {
        alpn_protocols: alpn.iter().map(|p| p.to_vec()).collect(),
        ..Default::default()
    };
    NativeTlsBackend::new().server(policy, &options).unwrap()
}
