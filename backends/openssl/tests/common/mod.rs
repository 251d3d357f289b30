//! Test PKI (root → intermediate → leaves, CRLs), policies and an in-memory handshake harness
//! for the OpenSSL backend: both sides run on it.

#![allow(dead_code)]

use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams,
    CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevocationReason, RevokedCertParams, SerialNumber,
};
use rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer,
};
use tls_policy_backend::{
    ClientAuth, ClientOptions, PrivateKey, ServerOptions, ServerPolicy, TlsBackend, TlsInfo,
    TlsVersion,
};
use tls_policy_openssl::OpensslBackend;
use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

/// The bound on every await in these tests.
pub const LIMIT: Duration = Duration::from_secs(10);

/// A certificate chain (leaf first) and its key.
#[derive(Clone)]
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub pkcs8: Vec<u8>,
}

impl Identity {
    pub fn private_key(&self) -> PrivateKey {
        PrivateKey {
            der: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.pkcs8.clone())),
            pkcs8: PrivatePkcs8KeyDer::from(self.pkcs8.clone()),
        }
    }

    /// The leaf alone (its intermediate left for the verifier's path links).
    pub fn leaf_only(&self) -> Identity {
        Identity {
            chain: self.chain[..1].to_vec(),
            pkcs8: self.pkcs8.clone(),
        }
    }
}

/// root → intermediate → server, clients (good, revoked by the intermediate), a client of
/// another root, and CRLs.
pub struct Pki {
    pub root: CertificateDer<'static>,
    pub intermediate: CertificateDer<'static>,
    pub other_root: CertificateDer<'static>,
    /// Chain: leaf + intermediate.
    pub server: Identity,
    pub client: Identity,
    pub revoked_client: Identity,
    pub other_client: Identity,
    /// By the root, revoking nothing (covers the intermediate).
    pub root_crl: CertificateRevocationListDer<'static>,
    /// By the root, revoking the intermediate.
    pub root_crl_revoking_intermediate: CertificateRevocationListDer<'static>,
    /// By the intermediate, revoking `revoked_client`.
    pub intermediate_crl: CertificateRevocationListDer<'static>,
    /// By the intermediate, past its nextUpdate.
    pub expired_intermediate_crl: CertificateRevocationListDer<'static>,
}

const REVOKED_SERIAL: u64 = 0x1002;
const INTERMEDIATE_SERIAL: u64 = 0x0100;

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| make_pki().expect("test PKI"))
}

fn ca_params(name: &str, serial: u64) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.serial_number = Some(SerialNumber::from(serial));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

fn leaf(
    name: &str,
    serial: u64,
    server: bool,
    issuer: &CertifiedIssuer<'static, KeyPair>,
) -> Result<Identity, rcgen::Error> {
    let sans = if server {
        vec!["localhost".to_owned()]
    } else {
        Vec::new()
    };
    let mut params = CertificateParams::new(sans)?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.serial_number = Some(SerialNumber::from(serial));
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![if server {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, issuer)?;
    Ok(Identity {
        chain: vec![cert.der().clone(), issuer.der().clone()],
        pkcs8: key.serialize_der(),
    })
}

fn crl(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    revoked: &[u64],
    next_update: (i32, u8, u8),
) -> Result<CertificateRevocationListDer<'static>, rcgen::Error> {
    let params = CertificateRevocationListParams {
        this_update: date_time_ymd(2024, 1, 1),
        next_update: date_time_ymd(next_update.0, next_update.1, next_update.2),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|serial| RevokedCertParams {
                serial_number: SerialNumber::from(*serial),
                revocation_time: date_time_ymd(2024, 1, 2),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    Ok(params.signed_by(issuer)?.der().clone())
}

fn make_pki() -> Result<Pki, rcgen::Error> {
    let root =
        CertifiedIssuer::self_signed(ca_params("openssl test root", 1)?, KeyPair::generate()?)?;
    let mut inter_params = ca_params("openssl test intermediate", INTERMEDIATE_SERIAL)?;
    inter_params.use_authority_key_identifier_extension = true;
    let intermediate = CertifiedIssuer::signed_by(inter_params, KeyPair::generate()?, &root)?;
    let other =
        CertifiedIssuer::self_signed(ca_params("openssl other root", 2)?, KeyPair::generate()?)?;
    Ok(Pki {
        server: leaf("localhost", 0x1000, true, &intermediate)?,
        client: leaf("good client", 0x1001, false, &intermediate)?,
        revoked_client: leaf("revoked client", REVOKED_SERIAL, false, &intermediate)?,
        other_client: leaf("client of the other root", 0x2001, false, &other)?,
        root_crl: crl(&root, &[], (2100, 1, 1))?,
        root_crl_revoking_intermediate: crl(&root, &[INTERMEDIATE_SERIAL], (2100, 1, 1))?,
        intermediate_crl: crl(&intermediate, &[REVOKED_SERIAL], (2100, 1, 1))?,
        expired_intermediate_crl: crl(&intermediate, &[REVOKED_SERIAL], (2024, 6, 1))?,
        root: root.der().clone(),
        intermediate: intermediate.der().clone(),
        other_root: other.der().clone(),
    })
}

/// A policy presenting `identity`, trusting the root with the intermediate as a path link,
/// REQUIRE, no CRLs, TLS 1.2 + 1.3.
pub fn policy(identity: &Identity) -> ServerPolicy {
    let pki = pki();
    ServerPolicy {
        name: "test".to_owned(),
        cert_chain: identity.chain.clone(),
        private_key: identity.private_key(),
        trusted: vec![pki.root.clone()],
        path_links: vec![pki.intermediate.clone()],
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

/// What each side of one handshake returned; the client's error as text.
pub struct Outcome {
    pub server: io::Result<TlsInfo>,
    pub client: io::Result<TlsInfo>,
}

/// Runs one handshake in memory between a server compiled from `server` and a client
/// compiled from `client`, dialling `name`, then echoes one message to prove the records flow.
pub async fn handshake_with(
    server: &ServerPolicy,
    server_options: &ServerOptions,
    client: &ServerPolicy,
    client_options: &ClientOptions,
    name: &str,
) -> Outcome {
    let backend = OpensslBackend::new();
    let acceptor = backend
        .server(server, server_options)
        .expect("server policy compiles");
    let connector = backend
        .client(client, client_options)
        .expect("client policy compiles");
    let (client_io, server_io) = duplex(64 * 1024);
    let server_side = async move {
        let (mut stream, info) = OpensslBackend::accept(&acceptor, server_io).await?;
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await?;
        stream.write_all(&buf).await?;
        stream.flush().await?;
        Ok::<_, io::Error>(info)
    };
    let name = name.to_owned();
    let client_side = async move {
        let (mut stream, info) = OpensslBackend::connect(&connector, &name, client_io).await?;
        stream.write_all(b"ping").await?;
        stream.flush().await?;
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"ping");
        Ok::<_, io::Error>(info)
    };
    let server_task = tokio::spawn(async move {
        timeout(LIMIT, server_side)
            .await
            .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "server stalled")))
    });
    let client = timeout(LIMIT, client_side)
        .await
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "client stalled")));
    let server = server_task.await.expect("server task");
    Outcome { server, client }
}

/// [`handshake_with`] with default options, dialling `localhost`.
pub async fn handshake(server: &ServerPolicy, client: &ServerPolicy) -> Outcome {
    handshake_with(
        server,
        &ServerOptions::default(),
        client,
        &ClientOptions::default(),
        "localhost",
    )
    .await
}
