//! The client side of the rustls backend against its server side, for every pair of compiled-in
//! providers: mutual TLS, host-name checking, chain and revocation checks, trust_all, versions,
//! ciphers, ALPN and the TlsInfo the client reports.

mod support;

use std::io;
use std::time::Duration;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams,
    CertifiedIssuer, DnType, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer};
use rustls::CertificateError;
use support::{backends, pki, policy, rustls_error, Identity};
use tls_policy_backend::{
    BackendError, CipherSuite, ClientOptions, ServerOptions, ServerPolicy, TlsBackend, TlsInfo,
    TlsVersion,
};
use tls_policy_rustls::{RustlsAcceptor, RustlsBackend, RustlsConnector};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The client's policy: presents the good client certificate, trusts the test CA.
fn client_policy() -> ServerPolicy {
    let pki = pki();
    let mut policy = policy();
    policy.cert_chain = pki.client.chain.clone();
    policy.private_key = pki.client.private_key();
    policy
}

fn connector(backend: &RustlsBackend, policy: &ServerPolicy) -> RustlsConnector {
    match backend.client(policy, &ClientOptions::default()) {
        Ok(connector) => connector,
        Err(err) => panic!("{}: client side refused: {err}", backend.name()),
    }
}

/// Runs one in-memory handshake; the server then sends `ok`, which the client must read.
async fn exchange(
    acceptor: &RustlsAcceptor,
    connector: &RustlsConnector,
    server_name: &str,
) -> (io::Result<TlsInfo>, io::Result<TlsInfo>) {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let server = async move {
        let (mut stream, info) = RustlsBackend::accept(acceptor, server_io).await?;
        stream.write_all(b"ok").await?;
        stream.shutdown().await?;
        Ok::<_, io::Error>(info)
    };
    let client = async move {
        let (mut stream, info) = RustlsBackend::connect(connector, server_name, client_io).await?;
        let mut received = Vec::new();
        stream.read_to_end(&mut received).await?;
        assert_eq!(received, b"ok");
        Ok::<_, io::Error>(info)
    };
    let both = async { tokio::join!(server, client) };
    tokio::time::timeout(Duration::from_secs(10), both)
        .await
        .expect("handshake finished in time")
}

/// Panics unless the client refused the server; returns the client's rustls error.
fn client_refused(
    outcome: (io::Result<TlsInfo>, io::Result<TlsInfo>),
    what: &str,
) -> rustls::Error {
    match outcome.1 {
        Ok(info) => panic!("{what}: the client accepted the server: {info:?}"),
        Err(err) => match rustls_error(&err) {
            Some(inner) => inner.clone(),
            None => panic!("{what}: not a rustls error: {err:?}"),
        },
    }
}

fn client_ok(
    outcome: (io::Result<TlsInfo>, io::Result<TlsInfo>),
    what: &str,
) -> (TlsInfo, TlsInfo) {
    match outcome {
        (Ok(server), Ok(client)) => (server, client),
        (server, client) => panic!("{what}: server {server:?}, client {client:?}"),
    }
}

fn is_name_error(err: &rustls::Error) -> bool {
    matches!(
        err,
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    )
}

/// A CA of its own, a `localhost` server below it, and a CRL revoking that server.
struct RevokedServer {
    ca: CertificateDer<'static>,
    server: Identity,
    crl: CertificateRevocationListDer<'static>,
}

fn revoked_server() -> RevokedServer {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "revoking CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.serial_number = Some(SerialNumber::from(7u64));
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let crl = CertificateRevocationListParams {
        this_update: date_time_ymd(2024, 1, 1),
        next_update: date_time_ymd(2100, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(7u64),
            revocation_time: date_time_ymd(2024, 1, 2),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca)
    .unwrap();
    RevokedServer {
        ca: ca.der().clone(),
        server: Identity {
            chain: vec![cert.der().clone()],
            pkcs8: key.serialize_der(),
        },
        crl: crl.der().clone(),
    }
}

/// A server policy presenting `identity`, asking no client certificate.
fn server_presenting(identity: &Identity) -> ServerPolicy {
    let mut policy = policy();
    policy.cert_chain = identity.chain.clone();
    policy.private_key = identity.private_key();
    policy.client_auth = tls_policy_backend::ClientAuth::None;
    policy
}

#[tokio::test]
async fn mutual_tls_between_every_pair_of_providers() {
    let pki = pki();
    for server_backend in backends() {
        for client_backend in backends() {
            let what = format!(
                "{} client, {} server",
                client_backend.name(),
                server_backend.name()
            );
            let acceptor = server_backend
                .server(
                    &policy(),
                    &ServerOptions {
                        alpn_protocols: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
                        ..Default::default()
                    },
                )
                .expect("server policy");
            let mut client = client_policy();
            client.verify_hostname = true;
            let connector = client_backend
                .client(
                    &client,
                    &ClientOptions {
                        alpn_protocols: vec![b"http/1.1".to_vec()],
                        ..Default::default()
                    },
                )
                .expect("client policy");
            assert_eq!(connector.backend(), client_backend.name());

            let (server, client) =
                client_ok(exchange(&acceptor, &connector, "localhost").await, &what);
            assert_eq!(server.peer_certificates, pki.client.chain, "{what}");
            assert_eq!(client.backend, client_backend.name(), "{what}");
            assert_eq!(client.protocol_version, Some(TlsVersion::Tls13), "{what}");
            assert_eq!(client.cipher_suite, server.cipher_suite, "{what}");
            assert!(client.cipher_suite.is_some(), "{what}");
            assert_eq!(client.alpn.as_deref(), Some(&b"http/1.1"[..]), "{what}");
            assert_eq!(client.sni.as_deref(), Some("localhost"), "{what}");
            assert_eq!(client.peer_certificates, pki.server.chain, "{what}");
        }
    }
}

#[tokio::test]
async fn host_name_is_checked_only_with_verify_hostname() {
    for backend in backends() {
        let name = backend.name();
        let acceptor = support::acceptor(&backend, &policy());
        let mut strict = client_policy();
        strict.verify_hostname = true;
        let strict = connector(&backend, &strict);
        let lenient = connector(&backend, &client_policy());

        client_ok(exchange(&acceptor, &strict, "localhost").await, name);
        for wrong in ["other.example", "127.0.0.1"] {
            let err = client_refused(
                exchange(&acceptor, &strict, wrong).await,
                &format!("{name}: verify_hostname=true, {wrong}"),
            );
            assert!(is_name_error(&err), "{name}: {wrong}: {err:?}");
            let (_, info) = client_ok(
                exchange(&acceptor, &lenient, wrong).await,
                &format!("{name}: verify_hostname=false, {wrong}"),
            );
            // An IP address is never sent as SNI.
            let sent = (wrong != "127.0.0.1").then(|| wrong.to_owned());
            assert_eq!(info.sni, sent, "{name}");
        }
    }
}

/// verify_hostname=false skips the name check only: the chain must still lead to a trusted CA.
#[tokio::test]
async fn foreign_server_fails_without_hostname_check() {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let foreign = Identity {
        chain: vec![generated.cert.der().clone()],
        pkcs8: generated.signing_key.serialize_der(),
    };
    for backend in backends() {
        let name = backend.name();
        let acceptor = support::acceptor(&backend, &server_presenting(&foreign));
        let lenient = connector(&backend, &client_policy());
        let err = client_refused(exchange(&acceptor, &lenient, "localhost").await, name);
        assert_eq!(
            err,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            "{name}"
        );
    }
}

/// verify_hostname=false still checks revocation: a revoked server is refused whatever the name.
#[tokio::test]
async fn revoked_server_is_refused_without_hostname_check() {
    let revoked = revoked_server();
    for backend in backends() {
        let name = backend.name();
        let acceptor = support::acceptor(&backend, &server_presenting(&revoked.server));
        let mut client = client_policy();
        client.trusted = vec![revoked.ca.clone()];
        // Without the CRL the same server passes (the control).
        client_ok(
            exchange(&acceptor, &connector(&backend, &client), "other.example").await,
            name,
        );
        client.crls = vec![revoked.crl.clone()];
        for verify_hostname in [false, true] {
            client.verify_hostname = verify_hostname;
            let err = client_refused(
                exchange(&acceptor, &connector(&backend, &client), "localhost").await,
                &format!("{name}: verify_hostname={verify_hostname}"),
            );
            assert_eq!(
                err,
                rustls::Error::InvalidCertificate(CertificateError::Revoked),
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn trust_all_accepts_any_server() {
    let generated =
        rcgen::generate_simple_self_signed(vec!["elsewhere.example".to_owned()]).unwrap();
    let foreign = Identity {
        chain: vec![generated.cert.der().clone()],
        pkcs8: generated.signing_key.serialize_der(),
    };
    for backend in backends() {
        let acceptor = support::acceptor(&backend, &server_presenting(&foreign));
        let mut client = client_policy();
        client.trust_all = true;
        client.trusted.clear();
        client.verify_hostname = true;
        let (_, info) = client_ok(
            exchange(&acceptor, &connector(&backend, &client), "localhost").await,
            backend.name(),
        );
        assert_eq!(info.peer_certificates, foreign.chain);
    }
}

#[tokio::test]
async fn versions_and_ciphers_limit_what_the_client_offers() {
    let suite = CipherSuite::from_name("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384").unwrap();
    for backend in backends() {
        let name = backend.name();
        let acceptor = support::acceptor(&backend, &policy());
        let mut client = client_policy();
        client.tls_versions = vec![TlsVersion::Tls12];
        client.ciphers = Some(vec![suite]);
        let (server, info) = client_ok(
            exchange(&acceptor, &connector(&backend, &client), "localhost").await,
            name,
        );
        assert_eq!(info.protocol_version, Some(TlsVersion::Tls12), "{name}");
        assert_eq!(info.cipher_suite, Some(suite), "{name}");
        assert_eq!(server.cipher_suite, Some(suite), "{name}");

        client.tls_versions = vec![TlsVersion::Tls13];
        client.ciphers = None;
        let (_, info) = client_ok(
            exchange(&acceptor, &connector(&backend, &client), "localhost").await,
            name,
        );
        assert_eq!(info.protocol_version, Some(TlsVersion::Tls13), "{name}");
    }
}

#[tokio::test]
async fn refuses_what_cannot_verify_or_be_sent() {
    for backend in backends() {
        let name = backend.name();
        let mut client = client_policy();
        client.trusted.clear();
        match backend.client(&client, &ClientOptions::default()) {
            Err(BackendError::Rejected {
                setting: "trusted_dir",
                ..
            }) => {}
            other => panic!("{name}: expected trusted_dir to be refused, got {other:?}"),
        }
        let options = ClientOptions {
            alpn_protocols: vec![Vec::new()],
            ..Default::default()
        };
        match backend.client(&client_policy(), &options) {
            Err(BackendError::Rejected {
                setting: "alpn_protocols",
                ..
            }) => {}
            other => panic!("{name}: expected an empty ALPN protocol to be refused, got {other:?}"),
        }
        let mut mismatched = client_policy();
        mismatched.private_key = pki().server.private_key();
        match backend.client(&mismatched, &ClientOptions::default()) {
            Err(BackendError::Rejected {
                setting: "private_key",
                ..
            }) => {}
            other => panic!("{name}: expected a mismatched key to be refused, got {other:?}"),
        }

        let acceptor = support::acceptor(&backend, &policy());
        let (_, client) = exchange(
            &acceptor,
            &connector(&backend, &client_policy()),
            "not a name!",
        )
        .await;
        let err = client.expect_err("an invalid server name");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{name}: {err}");
    }
}
