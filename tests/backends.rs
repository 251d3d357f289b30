//! The shared integration suite: every scenario runs once per compiled-in backend.
//!
//! A backend that cannot honour a scenario's policy must refuse it at load time, naming the
//! setting — never serve it insecurely.

use support::for_each_backend;
use tls_policy_test_support as support;

use support::client::{Client, TLS12_ONLY, TLS13_ONLY};
use support::server::Server;
use support::{pki, Home};
use tls_policy::{Backend, BackendError, Error, TlsVersion};

/// Asserts the policy was refused at load time for `setting`, because `backend` cannot honour it.
fn assert_unsupported(
    result: Result<tls_policy::Acceptor, Error>,
    setting: &str,
    backend: Backend,
) {
    match result {
        Err(Error::Backend {
            source:
                BackendError::Unsupported {
                    setting: s,
                    backend: b,
                    ..
                },
            ..
        }) => {
            assert_eq!(s, setting);
            assert_eq!(b, backend.name());
        }
        other => panic!("expected {setting} to be refused by {backend}, got {other:?}"),
    }
}

/// Connects with `client`, expecting the exchange to fail and the server to report a failure.
async fn assert_refused(server: &mut Server, client: Client<'_>, why: &str) {
    let result = client.exchange(server.addr).await;
    assert!(result.is_err(), "{why}: the client got through: {result:?}");
    let outcome = server.outcome().await;
    // Under TLS 1.3 the server rejects a client certificate after the client thinks it is done;
    // either way the server must not have handed a stream to the service.
    assert!(outcome.is_err(), "{why}: the server accepted: {outcome:?}");
}

for_each_backend! {
    async fn handshake_succeeds_and_reports_what_was_negotiated(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE"]);
        let mut server = Server::start(home.acceptor(backend).expect("policy loads")).await;
        let seen = Client::anonymous().exchange(server.addr).await.expect("exchange");
        let info = server.outcome().await.expect("server side handshake");
        assert_eq!(info.backend, backend.name());
        assert!(info.peer_certificates.is_empty());
        if backend.capabilities().session_details {
            let version = info.protocol_version.expect("version reported");
            assert_eq!(Some(version), seen.version.map(|v| match v {
                rustls::ProtocolVersion::TLSv1_3 => TlsVersion::Tls13,
                _ => TlsVersion::Tls12,
            }));
            assert_eq!(info.cipher_suite.map(|s| s.code()), seen.suite);
            assert_eq!(info.sni.as_deref(), Some("localhost"));
        }
    }

    async fn require_accepts_a_good_client_certificate_and_shows_it(backend: Backend) {
        let home = Home::new(backend, &["client_auth=REQUIRE"]);
        let acceptor = home.acceptor(backend);
        if !backend.capabilities().client_auth {
            return assert_unsupported(acceptor, "client_auth", backend);
        }
        let mut server = Server::start(acceptor.expect("policy loads")).await;
        Client::with_cert(&pki().client).exchange(server.addr).await.expect("good client");
        let info = server.outcome().await.expect("server side handshake");
        assert_eq!(info.peer_certificate(), Some(&pki().client.cert_der));
        // Who connected, in one call, whatever the backend.
        let peer = info.peer_identity().expect("the client's identity");
        assert!(peer.subject.contains("CN=tls-policy development client"), "{}", peer.subject);
        assert!(peer.issuer.contains("intermediate"), "{}", peer.issuer);
        assert!(!peer.serial.is_empty());
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &pki().client.cert_der);
        assert_eq!(&peer.sha256_fingerprint[..], digest.as_ref());
    }

    async fn require_refuses_no_foreign_revoked_and_expired_client_certificates(backend: Backend) {
        let home = Home::new(backend, &["client_auth=REQUIRE"]);
        let acceptor = home.acceptor(backend);
        if !backend.capabilities().client_auth {
            return assert_unsupported(acceptor, "client_auth", backend);
        }
        let mut server = Server::start(acceptor.expect("policy loads")).await;
        let p = pki();
        assert_refused(&mut server, Client::anonymous(), "no certificate").await;
        assert_refused(&mut server, Client::with_cert(&p.foreign_client), "foreign").await;
        assert_refused(&mut server, Client::with_cert(&p.revoked_client), "revoked").await;
        assert_refused(&mut server, Client::with_cert(&p.expired_client), "expired").await;
        // The listener is undisturbed by the failures.
        Client::with_cert(&p.client).exchange(server.addr).await.expect("good client after failures");
        assert!(server.outcome().await.is_ok());
    }

    async fn optional_accepts_no_certificate_and_verifies_one_that_is_sent(backend: Backend) {
        let home = Home::new(backend, &["client_auth=OPTIONAL"]);
        let acceptor = home.acceptor(backend);
        if !backend.capabilities().client_auth {
            return assert_unsupported(acceptor, "client_auth", backend);
        }
        let mut server = Server::start(acceptor.expect("policy loads")).await;
        let p = pki();
        Client::anonymous().exchange(server.addr).await.expect("anonymous client");
        assert!(server.outcome().await.expect("anonymous").peer_certificates.is_empty());
        Client::with_cert(&p.client).exchange(server.addr).await.expect("good client");
        assert_eq!(server.outcome().await.expect("good").peer_certificate(), Some(&p.client.cert_der));
        assert_refused(&mut server, Client::with_cert(&p.foreign_client), "foreign").await;
        assert_refused(&mut server, Client::with_cert(&p.revoked_client), "revoked").await;
        assert_refused(&mut server, Client::with_cert(&p.expired_client), "expired").await;
    }

    async fn none_never_asks_for_a_client_certificate(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE"]);
        let mut server = Server::start(home.acceptor(backend).expect("policy loads")).await;
        Client::with_cert(&pki().foreign_client).exchange(server.addr).await.expect("any client");
        assert!(server.outcome().await.expect("handshake").peer_certificates.is_empty());
    }

    async fn trust_all_accepts_a_foreign_client_certificate(backend: Backend) {
        let home = Home::new(backend, &["client_auth=REQUIRE", "trust_all=true"]);
        let acceptor = home.acceptor(backend);
        if !backend.capabilities().trust_all || !backend.capabilities().client_auth {
            let setting = if backend.capabilities().client_auth { "trust_all" } else { "client_auth" };
            return assert_unsupported(acceptor, setting, backend);
        }
        let mut server = Server::start(acceptor.expect("policy loads")).await;
        let p = pki();
        Client::with_cert(&p.foreign_client)
            .exchange(server.addr).await.expect("foreign client under trust_all");
        assert_eq!(server.outcome().await.expect("handshake").peer_certificate(), Some(&p.foreign_client.cert_der));
        assert_refused(&mut server, Client::anonymous(), "no certificate under REQUIRE").await;
    }

    async fn tls12_only_policy_negotiates_12_and_refuses_a_13_only_client(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE", "tls_versions=TLSv1.2"]);
        let mut server = Server::start(home.acceptor(backend).expect("policy loads")).await;
        let seen = Client::anonymous().exchange(server.addr).await.expect("default client");
        assert_eq!(seen.version, Some(rustls::ProtocolVersion::TLSv1_2));
        server.outcome().await.expect("handshake");
        assert_refused(&mut server, Client::anonymous().versions(TLS13_ONLY), "TLS 1.3-only client").await;
    }

    async fn tls13_only_policy_refuses_a_12_only_client(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE", "tls_versions=TLSv1.3"]);
        let acceptor = home.acceptor(backend);
        if !backend.capabilities().tls13 {
            return assert_unsupported(acceptor, "tls_versions", backend);
        }
        let mut server = Server::start(acceptor.expect("policy loads")).await;
        let seen = Client::anonymous().exchange(server.addr).await.expect("default client");
        assert_eq!(seen.version, Some(rustls::ProtocolVersion::TLSv1_3));
        server.outcome().await.expect("handshake");
        assert_refused(&mut server, Client::anonymous().versions(TLS12_ONLY), "TLS 1.2-only client").await;
    }

    async fn a_cipher_list_is_obeyed(backend: Backend) {
        let home = Home::new(backend, &[
            "client_auth=NONE",
            "ciphers=TLS_CHACHA20_POLY1305_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        ]);
        let acceptor = home.acceptor(backend);
        if !backend.capabilities().cipher_list {
            return assert_unsupported(acceptor, "ciphers", backend);
        }
        let mut server = Server::start(acceptor.expect("policy loads")).await;
        let seen = Client::anonymous().exchange(server.addr).await.expect("TLS 1.3");
        assert_eq!(seen.suite, Some(0x1303));
        assert_eq!(server.outcome().await.expect("handshake").cipher_suite.map(|s| s.name()), Some("TLS_CHACHA20_POLY1305_SHA256"));
        let seen = Client::anonymous().versions(TLS12_ONLY).exchange(server.addr).await.expect("TLS 1.2");
        assert_eq!(seen.suite, Some(0xC02C));
        server.outcome().await.expect("handshake");
    }

    async fn revocation_lists_with_client_auth_none_are_served(backend: Backend) {
        // client_auth=NONE isolates the CRL itself from the client-auth capability: no client
        // certificate is asked for, so every backend serves it (native-tls, which cannot check
        // CRLs, says they play no part).
        let home = Home::with_crl(&["client_auth=NONE"], true);
        let mut server = Server::start(home.acceptor(backend).expect("a CRL with client_auth=NONE loads")).await;
        Client::anonymous().exchange(server.addr).await.expect("served");
        server.outcome().await.expect("handshake");
    }

    async fn garbage_and_early_close_disturb_nothing(backend: Backend) {
        use tokio::io::AsyncWriteExt;
        let home = Home::new(backend, &["client_auth=NONE"]);
        let mut server = Server::start(home.acceptor(backend).expect("policy loads")).await;
        for junk in [&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], &[0x16, 0x03, 0x01, 0x00], &[0u8; 600][..]] {
            let mut tcp = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
            tcp.write_all(junk).await.expect("write junk");
            drop(tcp);
            assert!(server.outcome().await.is_err(), "junk was refused");
        }
        Client::anonymous().exchange(server.addr).await.expect("a good client after the junk");
        server.outcome().await.expect("handshake");
    }
}
