//! Shared test harness: a small rcgen PKI, default policies, rustls clients, in-memory handshakes.
#![allow(dead_code)]

use std::io;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams,
    CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevocationReason, RevokedCertParams, SerialNumber,
};
use rustls::client::ResolvesClientCert;
use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, HandshakeKind, RootCertStore, SignatureScheme, SupportedCipherSuite};
use tls_policy_backend::{
    ClientAuth, PrivateKey, ServerOptions, ServerPolicy, TlsBackend, TlsInfo, TlsVersion,
};
use tls_policy_rustls::{RustlsAcceptor, RustlsBackend};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every provider compiled into this test build.
pub fn backends() -> Vec<RustlsBackend> {
    let all = vec![
        #[cfg(feature = "aws-lc-rs")]
        RustlsBackend::aws_lc_rs(),
        #[cfg(feature = "ring")]
        RustlsBackend::ring(),
    ];
    assert!(!all.is_empty(), "no rustls provider compiled in");
    all
}

// === PKI ===

/// A certificate chain and its key.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub pkcs8: Vec<u8>,
}

impl Identity {
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.pkcs8.clone()))
    }

    pub fn private_key(&self) -> PrivateKey {
        PrivateKey {
            der: self.key_der(),
            pkcs8: PrivatePkcs8KeyDer::from(self.pkcs8.clone()),
        }
    }
}

/// A CA, a second CA, a server, clients good / revoked / of the second CA / self-signed, a CRL.
pub struct Pki {
    pub ca: CertificateDer<'static>,
    pub other_ca: CertificateDer<'static>,
    pub server: Identity,
    pub client: Identity,
    pub revoked_client: Identity,
    pub other_ca_client: Identity,
    pub foreign_client: Identity,
    /// Issued by `ca`, revoking `revoked_client`.
    pub crl: CertificateRevocationListDer<'static>,
}

const REVOKED_SERIAL: u64 = 0x1002;

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| make_pki().expect("test PKI"))
}

fn ca(name: &str) -> Result<CertifiedIssuer<'static, KeyPair>, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate()?)
}

fn leaf(
    name: &str,
    serial: u64,
    server: bool,
    issuer: Option<&CertifiedIssuer<'static, KeyPair>>,
) -> Result<Identity, rcgen::Error> {
    let sans = if server {
        vec!["localhost".to_owned()]
    } else {
        Vec::new()
    };
    let mut params = CertificateParams::new(sans)?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.serial_number = Some(SerialNumber::from(serial));
    params.use_authority_key_identifier_extension = issuer.is_some();
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![if server {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    let key = KeyPair::generate()?;
    let cert = match issuer {
        Some(issuer) => params.signed_by(&key, issuer)?,
        None => params.self_signed(&key)?,
    };
    Ok(Identity {
        chain: vec![cert.der().clone()],
        pkcs8: key.serialize_der(),
    })
}

fn make_pki() -> Result<Pki, rcgen::Error> {
    let ca = ca("tls-policy test CA")?;
    let other_ca = ca_other()?;
    let crl = CertificateRevocationListParams {
        this_update: date_time_ymd(2024, 1, 1),
        next_update: date_time_ymd(2100, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(REVOKED_SERIAL),
            revocation_time: date_time_ymd(2024, 1, 2),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca)?;
    Ok(Pki {
        server: leaf("localhost", 0x1000, true, Some(&ca))?,
        client: leaf("good client", 0x1001, false, Some(&ca))?,
        revoked_client: leaf("revoked client", REVOKED_SERIAL, false, Some(&ca))?,
        other_ca_client: leaf("client of the other CA", 0x2001, false, Some(&other_ca))?,
        foreign_client: leaf("self-signed client", 0x3001, false, None)?,
        crl: crl.der().clone(),
        ca: ca.der().clone(),
        other_ca: other_ca.der().clone(),
    })
}

fn ca_other() -> Result<CertifiedIssuer<'static, KeyPair>, rcgen::Error> {
    ca("tls-policy other CA")
}

// === policies ===

/// REQUIRE, trusting the CA, no CRL, TLS 1.2 + 1.3, default ciphers.
pub fn policy() -> ServerPolicy {
    let pki = pki();
    ServerPolicy {
        name: "test".to_owned(),
        cert_chain: pki.server.chain.clone(),
        private_key: pki.server.private_key(),
        trusted: vec![pki.ca.clone()],
        path_links: Vec::new(),
        crls: Vec::new(),
        client_auth: ClientAuth::Require,
        trust_all: false,
        tls_versions: vec![TlsVersion::Tls12, TlsVersion::Tls13],
        ciphers: None,
        verify_hostname: false,
        session_resumption: true,
        session_ticket_keys: None,
        allowed_peers: None,
    }
}

pub fn acceptor(backend: &RustlsBackend, policy: &ServerPolicy) -> RustlsAcceptor {
    acceptor_with(backend, policy, &ServerOptions::default())
}

pub fn acceptor_with(
    backend: &RustlsBackend,
    policy: &ServerPolicy,
    options: &ServerOptions,
) -> RustlsAcceptor {
    match backend.server(policy, options) {
        Ok(acceptor) => acceptor,
        Err(err) => panic!("{}: policy refused: {err}", backend.name()),
    }
}

// === clients ===

/// How the test client behaves.
#[derive(Default)]
pub struct Client<'a> {
    /// Protocol versions; empty = both.
    pub versions: Vec<&'static rustls::SupportedProtocolVersion>,
    /// The client certificate, if any.
    pub identity: Option<&'a Identity>,
    /// A client certificate whose key does not match (overrides `identity`).
    pub mismatched: Option<(&'a Identity, &'a Identity)>,
    /// ALPN protocols offered.
    pub alpn: Vec<Vec<u8>>,
    /// Cipher suites offered, in order; `None` = the provider's.
    pub suites: Option<Vec<SupportedCipherSuite>>,
}

impl Client<'_> {
    pub fn config(&self, backend: &RustlsBackend) -> Arc<ClientConfig> {
        let mut provider = rustls::crypto::CryptoProvider::clone(backend.provider());
        if let Some(suites) = &self.suites {
            provider.cipher_suites = suites.clone();
        }
        let versions = if self.versions.is_empty() {
            vec![&rustls::version::TLS12, &rustls::version::TLS13]
        } else {
            self.versions.clone()
        };
        let mut roots = RootCertStore::empty();
        roots.add(pki().ca.clone()).expect("CA as root");
        let builder = ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&versions)
            .expect("client versions")
            .with_root_certificates(roots);
        let mut config = if let Some((cert_of, key_of)) = self.mismatched {
            let key = backend
                .provider()
                .key_provider
                .load_private_key(key_of.key_der())
                .expect("client key");
            let certified = Arc::new(CertifiedKey::new(cert_of.chain.clone(), key));
            builder.with_client_cert_resolver(Arc::new(FixedClientCert(certified)))
        } else if let Some(identity) = self.identity {
            builder
                .with_client_auth_cert(identity.chain.clone(), identity.key_der())
                .expect("client cert")
        } else {
            builder.with_no_client_auth()
        };
        config.alpn_protocols = self.alpn.clone();
        Arc::new(config)
    }
}

#[derive(Debug)]
struct FixedClientCert(Arc<CertifiedKey>);

impl ResolvesClientCert for FixedClientCert {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

// === handshakes ===

/// What the client saw.
#[derive(Debug)]
pub struct ClientSide {
    pub kind: Option<HandshakeKind>,
    pub received: Vec<u8>,
}

/// Both sides of one handshake.
pub struct Outcome {
    pub server: io::Result<TlsInfo>,
    pub client: io::Result<ClientSide>,
}

impl Outcome {
    /// Panics unless both sides succeeded; returns the server's view.
    pub fn ok(self, what: &str) -> (TlsInfo, ClientSide) {
        let server = match self.server {
            Ok(info) => info,
            Err(err) => panic!("{what}: server failed: {err}"),
        };
        let client = match self.client {
            Ok(client) => client,
            Err(err) => panic!("{what}: client failed: {err}"),
        };
        assert_eq!(client.received, b"ok", "{what}");
        (server, client)
    }

    /// Panics unless the server refused; returns its rustls error.
    pub fn refused(self, what: &str) -> rustls::Error {
        match self.server {
            Ok(info) => panic!("{what}: server accepted: {info:?}"),
            Err(err) => {
                assert!(self.client.is_err(), "{what}: client did not notice");
                match rustls_error(&err) {
                    Some(inner) => inner.clone(),
                    None => panic!("{what}: not a rustls error: {err:?}"),
                }
            }
        }
    }
}

pub fn rustls_error(err: &io::Error) -> Option<&rustls::Error> {
    err.get_ref()?.downcast_ref::<rustls::Error>()
}

/// Runs one in-memory handshake; the server then sends `ok` and closes.
pub async fn handshake(acceptor: &RustlsAcceptor, client: Arc<ClientConfig>) -> Outcome {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let server = async move {
        let (mut stream, info) = RustlsBackend::accept(acceptor, server_io).await?;
        stream.write_all(b"ok").await?;
        stream.shutdown().await?;
        Ok::<_, io::Error>(info)
    };
    let client = async move {
        let name = ServerName::try_from("localhost").expect("server name");
        let mut stream = tokio_rustls::TlsConnector::from(client)
            .connect(name, client_io)
            .await?;
        let mut received = Vec::new();
        stream.read_to_end(&mut received).await?;
        let kind = stream.get_ref().1.handshake_kind();
        Ok::<_, io::Error>(ClientSide { kind, received })
    };
    let both = async { tokio::join!(server, client) };
    match tokio::time::timeout(Duration::from_secs(10), both).await {
        Ok((server, client)) => Outcome { server, client },
        Err(_) => panic!("handshake timed out"),
    }
}
