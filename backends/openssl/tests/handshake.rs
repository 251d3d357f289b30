//! In-memory handshakes with both sides on the OpenSSL backend: what it negotiates and reports,
//! client_auth, path links, cipher lists, versions, ALPN and the client's checks.

mod common;

use common::{handshake, handshake_with, pki, policy};
use tls_policy_backend::{
    CipherSuite, ClientAuth, ClientOptions, HandshakeFailure, ServerOptions, TlsVersion,
};
use tls_policy_openssl::classify_handshake_error;

fn reason(result: &std::io::Result<tls_policy_backend::TlsInfo>) -> HandshakeFailure {
    match result {
        Ok(_) => panic!("the handshake succeeded"),
        Err(err) => classify_handshake_error(err),
    }
}

#[tokio::test]
async fn mutual_tls_reports_version_suite_alpn_sni_and_the_peer_chain() {
    let pki = pki();
    let server = policy(&pki.server);
    let client = policy(&pki.client);
    let server_options = ServerOptions {
        alpn_protocols: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        ..Default::default()
    };
    let client_options = ClientOptions {
        alpn_protocols: vec![b"http/1.1".to_vec(), b"h2".to_vec()],
        ..Default::default()
    };
    let outcome = handshake_with(
        &server,
        &server_options,
        &client,
        &client_options,
        "localhost",
    )
    .await;
    let info = outcome.server.expect("server handshake");
    let seen = outcome.client.expect("client handshake");
    assert_eq!(info.backend, "openssl");
    assert_eq!(info.protocol_version, Some(TlsVersion::Tls13));
    assert!(
        info.cipher_suite
            .is_some_and(|s| s.version() == TlsVersion::Tls13),
        "{info:?}"
    );
    assert_eq!(
        info.alpn.as_deref(),
        Some(&b"h2"[..]),
        "the server's preference wins"
    );
    assert_eq!(info.sni.as_deref(), Some("localhost"));
    assert_eq!(
        info.peer_certificates, pki.client.chain,
        "leaf first, then the intermediate"
    );
    assert_eq!(seen.sni.as_deref(), Some("localhost"));
    assert_eq!(seen.peer_certificates, pki.server.chain);
    assert_eq!(seen.cipher_suite, info.cipher_suite);
}

#[tokio::test]
async fn tls12_only_and_tls13_only_are_negotiated_as_asked() {
    let pki = pki();
    for (versions, expected) in [
        (vec![TlsVersion::Tls12], TlsVersion::Tls12),
        (vec![TlsVersion::Tls13], TlsVersion::Tls13),
    ] {
        let mut server = policy(&pki.server);
        server.tls_versions = versions;
        let info = handshake(&server, &policy(&pki.client))
            .await
            .server
            .expect("handshake");
        assert_eq!(info.protocol_version, Some(expected));
    }
    // A TLS 1.3-only client and a TLS 1.2-only server share no version.
    let mut server = policy(&pki.server);
    server.tls_versions = vec![TlsVersion::Tls12];
    let mut client = policy(&pki.client);
    client.tls_versions = vec![TlsVersion::Tls13];
    let outcome = handshake(&server, &client).await;
    assert_eq!(reason(&outcome.server), HandshakeFailure::ProtocolVersion);
}

#[tokio::test]
async fn cipher_lists_choose_the_suite_on_both_versions() {
    let pki = pki();
    let cases = [
        (
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            TlsVersion::Tls12,
        ),
        ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", TlsVersion::Tls12),
        ("TLS_AES_256_GCM_SHA384", TlsVersion::Tls13),
        ("TLS_CHACHA20_POLY1305_SHA256", TlsVersion::Tls13),
    ];
    for (name, version) in cases {
        let suite = CipherSuite::from_name(name).unwrap();
        let mut server = policy(&pki.server);
        server.ciphers = Some(vec![suite]);
        server.tls_versions = vec![TlsVersion::Tls12, TlsVersion::Tls13];
        let outcome = handshake(&server, &policy(&pki.client)).await;
        let info = outcome.server.unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(info.cipher_suite, Some(suite), "{name}");
        assert_eq!(info.protocol_version, Some(version), "{name}");
    }
    // No suite in common.
    let mut server = policy(&pki.server);
    server.ciphers = Some(vec![
        CipherSuite::from_name("TLS_AES_256_GCM_SHA384").unwrap()
    ]);
    let mut client = policy(&pki.client);
    client.ciphers = Some(vec![
        CipherSuite::from_name("TLS_AES_128_GCM_SHA256").unwrap()
    ]);
    let outcome = handshake(&server, &client).await;
    assert_eq!(reason(&outcome.server), HandshakeFailure::CipherMismatch);
}

#[tokio::test]
async fn client_auth_none_optional_require() {
    let pki = pki();
    // The client presents nothing: a policy whose chain the server does not trust stands
    // for "no certificate" only under NONE/OPTIONAL; REQUIRE needs one.
    let mut anonymous = policy(&pki.client);
    anonymous.cert_chain = pki.other_client.chain.clone();
    anonymous.private_key = pki.other_client.private_key();

    let mut server = policy(&pki.server);
    server.client_auth = ClientAuth::None;
    let info = handshake(&server, &anonymous)
        .await
        .server
        .expect("NONE serves anyone");
    assert!(
        info.peer_certificates.is_empty(),
        "NONE asks for no certificate"
    );

    server.client_auth = ClientAuth::Optional;
    let info = handshake(&server, &policy(&pki.client))
        .await
        .server
        .expect("OPTIONAL, good client");
    assert_eq!(info.peer_certificates, pki.client.chain);
    // A certificate sent under OPTIONAL is verified: one of another root is refused.
    let outcome = handshake(&server, &anonymous).await;
    assert_eq!(reason(&outcome.server), HandshakeFailure::UnknownCa);

    server.client_auth = ClientAuth::Require;
    let outcome = handshake(&server, &anonymous).await;
    assert_eq!(reason(&outcome.server), HandshakeFailure::UnknownCa);
}

#[tokio::test]
async fn path_links_complete_a_chain_sent_without_its_intermediate() {
    let pki = pki();
    let server = policy(&pki.server);
    let mut client = policy(&pki.client.leaf_only());
    client.cert_chain = pki.client.leaf_only().chain;
    let info = handshake(&server, &client)
        .await
        .server
        .expect("completed from the path link");
    assert_eq!(info.peer_certificates, pki.client.leaf_only().chain);

    // Without the path link, the leaf alone chains to nothing trusted.
    let mut strict = policy(&pki.server);
    strict.path_links.clear();
    let outcome = handshake(&strict, &client).await;
    assert_eq!(reason(&outcome.server), HandshakeFailure::UnknownCa);
}

#[tokio::test]
async fn the_client_checks_the_host_name_and_honours_trust_all() {
    let pki = pki();
    let server = policy(&pki.server);
    let mut client = policy(&pki.client);
    client.verify_hostname = true;
    handshake(&server, &client)
        .await
        .client
        .expect("localhost matches");
    let outcome = handshake_with(
        &server,
        &ServerOptions::default(),
        &client,
        &ClientOptions::default(),
        "other.example",
    )
    .await;
    assert_eq!(reason(&outcome.client), HandshakeFailure::BadCertificate);

    // A client that trusts only another root refuses the server, unless trust_all.
    let mut stranger = policy(&pki.client);
    stranger.trusted = vec![pki.other_root.clone()];
    stranger.path_links.clear();
    let outcome = handshake(&server, &stranger).await;
    assert_eq!(reason(&outcome.client), HandshakeFailure::UnknownCa);
    stranger.trust_all = true;
    handshake(&server, &stranger)
        .await
        .client
        .expect("trust_all accepts");
}

#[tokio::test]
async fn what_it_cannot_honour_is_refused_and_bad_material_rejected() {
    use tls_policy_backend::{BackendError, TicketKey, TicketKeys, TlsBackend};
    let pki = pki();
    let backend = tls_policy_openssl::OpensslBackend::new();
    let options = ServerOptions {
        ocsp_stapling: true,
        ..Default::default()
    };
    match backend.server(&policy(&pki.server), &options) {
        Err(BackendError::Unsupported {
            setting: "ocsp_stapling_enabled",
            backend: "openssl",
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let mut keyed = policy(&pki.server);
    keyed.session_ticket_keys = Some(
        TicketKeys::new(vec![TicketKey::from_bytes(
            &[7; tls_policy_backend::TICKET_KEY_LEN],
        )])
        .unwrap(),
    );
    match backend.server(&keyed, &ServerOptions::default()) {
        Err(BackendError::Unsupported {
            setting: "session_ticket_keys",
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let mut mismatched = policy(&pki.server);
    mismatched.private_key = pki.client.private_key();
    match backend.server(&mismatched, &ServerOptions::default()) {
        Err(BackendError::Rejected {
            setting: "private_key",
            message,
        }) => {
            assert!(message.contains("does not match"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}
