//! In-memory handshakes against the native-tls backend: what it serves and what it negotiates.

mod common;

use std::time::Duration;

use common::{acceptor, client, handshake, policy, self_signed, with_intermediate, LIMIT};
use native_tls::Protocol;
use tls_policy_backend::{TlsBackend, TlsVersion};
use tls_policy_native_tls::NativeTlsBackend;
use tokio::io::{duplex, AsyncWriteExt};
use tokio::time::timeout;

const TLS12: u16 = 0x0303;

#[tokio::test]
async fn handshake_works_and_reports_alpn() {
    let pki = self_signed();
    let acceptor = acceptor(&policy(&pki), &[b"h2", b"http/1.1"]);
    let mut client = client(&pki);
    client.request_alpns(&["http/1.1", "h2"]);

    let outcome = handshake(&acceptor, &client).await;
    let info = outcome.server.expect("server handshake");
    assert_eq!(
        outcome.client.expect("client handshake"),
        Some(b"h2".to_vec())
    );
    assert_eq!(info.backend, "native-tls");
    assert_eq!(info.alpn, Some(b"h2".to_vec()), "server preference wins");
    // What native-tls cannot report.
    assert_eq!(info.protocol_version, None);
    assert_eq!(info.cipher_suite, None);
    assert_eq!(info.sni, None);
    assert!(info.peer_certificates.is_empty(), "no client certificates");
}

#[tokio::test]
async fn alpn_without_overlap_or_unoffered_is_none() {
    let pki = self_signed();

    // Server offers none: nothing negotiated, even if the client asks.
    let mut asking = client(&pki);
    asking.request_alpns(&["h2"]);
    let outcome = handshake(&acceptor(&policy(&pki), &[]), &asking).await;
    assert_eq!(outcome.server.expect("server handshake").alpn, None);
    assert_eq!(outcome.client.expect("client handshake"), None);

    // Client asks for nothing the server offers: OpenSSL answers without ALPN.
    let mut other = client(&pki);
    other.request_alpns(&["imap"]);
    let outcome = handshake(&acceptor(&policy(&pki), &[b"h2"]), &other).await;
    assert_eq!(outcome.server.expect("server handshake").alpn, None);
    assert_eq!(outcome.client.expect("client handshake"), None);
}

#[tokio::test]
async fn serves_the_whole_chain() {
    // The client trusts the root only, so it needs the intermediate from the server.
    let pki = with_intermediate();
    let outcome = handshake(&acceptor(&policy(&pki), &[]), &client(&pki)).await;
    outcome.server.expect("server handshake");
    outcome.client.expect("client handshake");
}

/// The TLS 1.3 truth: a policy allowing TLS 1.2 and 1.3 negotiates TLS 1.2 with a client that
/// offers both, and a client that insists on TLS 1.3 fails. native-tls builds its OpenSSL
/// acceptor from `mozilla_intermediate`, which sets `SSL_OP_NO_TLSv1_3`.
///
/// If this test starts failing, native-tls serves TLS 1.3 now: update `Capabilities::tls13`,
/// the `tls_versions` refusal and the docs.
#[tokio::test]
async fn tls13_is_never_negotiated() {
    let pki = self_signed();
    let both = policy(&pki);
    assert_eq!(both.tls_versions, [TlsVersion::Tls12, TlsVersion::Tls13]);
    let acceptor = acceptor(&both, &[]);

    let outcome = handshake(&acceptor, &client(&pki)).await;
    outcome.server.expect("server handshake");
    outcome.client.expect("client handshake");
    let hello = outcome.server_hello.expect("a ServerHello");
    assert_eq!(hello.version, TLS12, "{hello:x?}");

    let mut tls13_only = client(&pki);
    tls13_only.min_protocol_version(Some(Protocol::Tlsv13));
    let outcome = handshake(&acceptor, &tls13_only).await;
    assert!(outcome.server.is_err());
    assert!(outcome.client.is_err());
    assert!(!NativeTlsBackend::new().capabilities().tls13);
}

#[tokio::test]
async fn tls12_only_policy_serves_tls12() {
    let pki = self_signed();
    let mut tls12 = policy(&pki);
    tls12.tls_versions = vec![TlsVersion::Tls12];
    let acceptor = acceptor(&tls12, &[]);

    let mut exact = client(&pki);
    exact
        .min_protocol_version(Some(Protocol::Tlsv12))
        .max_protocol_version(Some(Protocol::Tlsv12));
    let outcome = handshake(&acceptor, &exact).await;
    outcome.server.expect("server handshake");
    outcome.client.expect("client handshake");
    let hello = outcome.server_hello.expect("a ServerHello");
    assert_eq!(hello.version, TLS12, "{hello:x?}");

    let mut tls13_only = client(&pki);
    tls13_only.min_protocol_version(Some(Protocol::Tlsv13));
    let outcome = handshake(&acceptor, &tls13_only).await;
    assert!(outcome.server.is_err());
    assert!(outcome.client.is_err());
}

#[tokio::test]
async fn older_versions_are_never_negotiated() {
    let pki = self_signed();
    let acceptor = acceptor(&policy(&pki), &[]);
    let mut tls11 = client(&pki);
    tls11
        .min_protocol_version(Some(Protocol::Tlsv10))
        .max_protocol_version(Some(Protocol::Tlsv11));
    let outcome = handshake(&acceptor, &tls11).await;
    assert!(outcome.server.is_err());
    assert!(outcome.client.is_err());
}

#[tokio::test]
async fn an_untrusting_client_fails_and_the_server_reports_it() {
    let pki = self_signed();
    let acceptor = acceptor(&policy(&pki), &[]);
    let stranger = client(&self_signed());
    let outcome = handshake(&acceptor, &stranger).await;
    assert!(outcome.client.is_err());
    assert!(outcome.server.is_err());
}

#[tokio::test]
async fn garbage_fails_the_handshake_with_invalid_data() {
    let pki = self_signed();
    let acceptor = acceptor(&policy(&pki), &[]);
    let (mut client_io, server_io) = duplex(4096);
    let server = tokio::spawn(async move { NativeTlsBackend::accept(&acceptor, server_io).await });
    timeout(
        LIMIT,
        client_io.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    )
    .await
    .unwrap()
    .unwrap();
    let result = timeout(LIMIT, server).await.unwrap().unwrap();
    let err = result
        .map(|(_, info)| info)
        .expect_err("a plaintext client fails the handshake");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
}

#[tokio::test]
async fn a_client_hanging_up_fails_the_handshake() {
    let pki = self_signed();
    let acceptor = acceptor(&policy(&pki), &[]);
    let (client_io, server_io) = duplex(4096);
    drop(client_io);
    let result = timeout(LIMIT, NativeTlsBackend::accept(&acceptor, server_io))
        .await
        .unwrap();
    assert!(result.is_err());
}

#[tokio::test]
async fn acceptor_is_shared_across_concurrent_handshakes() {
    let pki = self_signed();
    let acceptor = acceptor(&policy(&pki), &[b"h2"]);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let acceptor = acceptor.clone();
        let mut client = client(&pki);
        client.request_alpns(&["h2"]);
        tasks.push(tokio::spawn(async move {
            handshake(&acceptor, &client).await.server.map(|i| i.alpn)
        }));
    }
    for task in tasks {
        let alpn = timeout(LIMIT + Duration::from_secs(1), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(alpn, Some(b"h2".to_vec()));
    }
}
