//! The native-tls backend's client side against its own server: host-name checking, chain
//! verification, trust_all, the TlsInfo it reports, and the refusals of what it cannot honour.

mod common;

use std::io;

use common::{acceptor, policy, self_signed, with_intermediate, Pki, LIMIT};
use tls_policy_backend::{
    BackendError, CipherSuite, ClientOptions, ServerPolicy, TlsBackend, TlsInfo, TlsVersion,
};
use tls_policy_native_tls::{NativeTlsAcceptor, NativeTlsBackend, NativeTlsConnector};
use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

/// The client's policy: presents `pki`'s certificate, trusts `pki`'s root.
fn client_policy(pki: &Pki) -> ServerPolicy {
    let mut policy = policy(pki);
    policy.trusted = vec![pki.root.clone()];
    policy
}

fn connector(policy: &ServerPolicy, alpn: &[&[u8]]) -> NativeTlsConnector {
    let options = ClientOptions {
        alpn_protocols: alpn.iter().map(|p| p.to_vec()).collect(),
        ..Default::default()
    };
    match NativeTlsBackend::new().client(policy, &options) {
        Ok(connector) => connector,
        Err(err) => panic!("client side refused: {err}"),
    }
}

/// One in-memory handshake; the server then sends `ok`, which the client must read.
async fn exchange(
    acceptor: &NativeTlsAcceptor,
    connector: &NativeTlsConnector,
    server_name: &str,
) -> (io::Result<TlsInfo>, io::Result<TlsInfo>) {
    let (server_io, client_io) = duplex(64 * 1024);
    let server = async move {
        let (mut stream, info) = NativeTlsBackend::accept(acceptor, server_io).await?;
        stream.write_all(b"ok").await?;
        stream.shutdown().await?;
        Ok::<_, io::Error>(info)
    };
    let client = async move {
        let (mut stream, info) =
            NativeTlsBackend::connect(connector, server_name, client_io).await?;
        let mut received = [0u8; 2];
        stream.read_exact(&mut received).await?;
        assert_eq!(&received, b"ok");
        Ok::<_, io::Error>(info)
    };
    timeout(LIMIT, async { tokio::join!(server, client) })
        .await
        .expect("the handshake finished in time")
}

fn client_info(outcome: (io::Result<TlsInfo>, io::Result<TlsInfo>), what: &str) -> TlsInfo {
    match outcome {
        (Ok(_), Ok(client)) => client,
        (server, client) => panic!("{what}: server {server:?}, client {client:?}"),
    }
}

fn client_refused(outcome: (io::Result<TlsInfo>, io::Result<TlsInfo>), what: &str) -> String {
    match outcome.1 {
        Ok(info) => panic!("{what}: the client accepted the server: {info:?}"),
        Err(err) => err.to_string(),
    }
}

#[tokio::test]
async fn verifies_the_chain_and_reports_what_it_can() {
    let pki = with_intermediate();
    let acceptor = acceptor(&policy(&pki), &[b"h2"]);
    let mut strict = client_policy(&pki);
    strict.verify_hostname = true;
    let info = client_info(
        exchange(&acceptor, &connector(&strict, &[b"h2"]), "localhost").await,
        "trusted server",
    );
    assert_eq!(info.backend, "native-tls");
    assert_eq!(info.alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(info.sni.as_deref(), Some("localhost"));
    // native-tls hands out the leaf only, and neither version nor suite.
    assert_eq!(info.peer_certificates, pki.chain[..1].to_vec());
    assert_eq!((info.protocol_version, info.cipher_suite), (None, None));
}

#[tokio::test]
async fn host_name_is_checked_only_with_verify_hostname() {
    let pki = with_intermediate();
    let acceptor = acceptor(&policy(&pki), &[]);
    let mut strict = client_policy(&pki);
    strict.verify_hostname = true;
    let strict = connector(&strict, &[]);
    let lenient = connector(&client_policy(&pki), &[]);
    for wrong in ["other.example", "127.0.0.1"] {
        let err = client_refused(exchange(&acceptor, &strict, wrong).await, wrong);
        assert!(err.contains("certificate verify failed"), "{wrong}: {err}");
        let info = client_info(exchange(&acceptor, &lenient, wrong).await, wrong);
        let sent = (wrong != "127.0.0.1").then(|| wrong.to_owned());
        assert_eq!(info.sni, sent);
    }
}

/// verify_hostname=false still verifies the chain: a server of another CA is refused.
#[tokio::test]
async fn foreign_server_fails_without_hostname_check() {
    let ours = with_intermediate();
    let foreign = self_signed();
    let acceptor = acceptor(&policy(&foreign), &[]);
    let err = client_refused(
        exchange(
            &acceptor,
            &connector(&client_policy(&ours), &[]),
            "localhost",
        )
        .await,
        "foreign server",
    );
    assert!(err.contains("certificate verify failed"), "{err}");
}

#[tokio::test]
async fn trust_all_accepts_any_server() {
    let ours = with_intermediate();
    let foreign = self_signed();
    let acceptor = acceptor(&policy(&foreign), &[]);
    let mut client = policy(&ours);
    client.trust_all = true;
    client.verify_hostname = true;
    let info = client_info(
        exchange(&acceptor, &connector(&client, &[]), "other.example").await,
        "trust_all",
    );
    assert_eq!(info.peer_certificates, foreign.chain);
}

#[test]
fn refuses_crls_and_cipher_lists_naming_the_alternative() {
    let pki = with_intermediate();
    let backend = NativeTlsBackend::new();

    let mut with_crl = client_policy(&pki);
    with_crl.crls = vec![b"not parsed by this backend".to_vec().into()];
    let mut with_ciphers = client_policy(&pki);
    with_ciphers.ciphers = Some(vec![
        CipherSuite::from_name("TLS_AES_128_GCM_SHA256").unwrap()
    ]);
    for (policy, setting) in [(with_crl, "revoked_dir"), (with_ciphers, "ciphers")] {
        match backend.client(&policy, &ClientOptions::default()) {
            Err(
                err @ BackendError::Unsupported {
                    setting: s,
                    backend: "native-tls",
                    ..
                },
            ) if s == setting => {
                assert!(
                    err.to_string().contains("rustls-aws-lc-rs or rustls-ring"),
                    "{err}"
                );
            }
            other => panic!("expected {setting} to be refused, got {other:?}"),
        }
    }

    let untrusting = policy(&pki);
    match backend.client(&untrusting, &ClientOptions::default()) {
        Err(BackendError::Rejected {
            setting: "trusted_dir",
            ..
        }) => {}
        other => panic!("expected an empty trusted_dir to be refused, got {other:?}"),
    }
}

/// A TLSv1.3-only client policy compiles (the OpenSSL connector can do TLS 1.3), and it finds
/// no common version with the native-tls server, which never negotiates TLS 1.3.
#[tokio::test]
async fn tls13_only_client_compiles_and_meets_no_native_tls_server() {
    let pki = with_intermediate();
    let acceptor = acceptor(&policy(&pki), &[]);
    let mut client = client_policy(&pki);
    client.tls_versions = vec![TlsVersion::Tls13];
    let err = client_refused(
        exchange(&acceptor, &connector(&client, &[]), "localhost").await,
        "TLS 1.3 only",
    );
    assert!(!err.is_empty());
}
