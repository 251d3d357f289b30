//! Handshakes against compiled policies, for every compiled-in provider.

mod support;

use rustls::{CertificateError, HandshakeKind};
use support::{acceptor_with, backends, handshake, pki, policy, Client};
use tls_policy_backend::{ClientAuth, ServerOptions, TlsBackend, TlsVersion};

#[tokio::test]
async fn reports_the_negotiated_session() {
    let pki = pki();
    for backend in backends() {
        let options = ServerOptions {
            alpn_protocols: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            ..Default::default()
        };
        let acceptor = acceptor_with(&backend, &policy(), &options);
        let client = Client {
            identity: Some(&pki.client),
            alpn: vec![b"http/1.1".to_vec()],
            ..Client::default()
        };
        let (info, _) = handshake(&acceptor, client.config(&backend))
            .await
            .ok(backend.name());
        assert_eq!(info.backend, backend.name());
        assert_eq!(acceptor.backend(), backend.name());
        assert_eq!(info.protocol_version, Some(TlsVersion::Tls13));
        let suite = info.cipher_suite.expect("cipher suite");
        assert_eq!(suite.version(), TlsVersion::Tls13);
        assert_eq!(info.alpn.as_deref(), Some(&b"http/1.1"[..]));
        assert_eq!(info.sni.as_deref(), Some("localhost"));
        assert_eq!(info.peer_certificates, pki.client.chain);
        assert_eq!(info.peer_certificate(), pki.client.chain.first());
        assert_eq!(
            acceptor.server_config().alpn_protocols,
            options.alpn_protocols
        );
    }
}

#[tokio::test]
async fn require_verifies_client_certificates() {
    let pki = pki();
    for backend in backends() {
        let name = backend.name();
        let mut policy = policy();
        policy.crls = vec![pki.crl.clone()];
        let acceptor = support::acceptor(&backend, &policy);

        let good = Client {
            identity: Some(&pki.client),
            ..Client::default()
        };
        handshake(&acceptor, good.config(&backend))
            .await
            .ok(&format!("{name}: good client"));

        let err = handshake(&acceptor, Client::default().config(&backend))
            .await
            .refused(&format!("{name}: no certificate"));
        assert!(
            matches!(err, rustls::Error::NoCertificatesPresented),
            "{name}: {err:?}"
        );

        let foreign = Client {
            identity: Some(&pki.foreign_client),
            ..Client::default()
        };
        let err = handshake(&acceptor, foreign.config(&backend))
            .await
            .refused(&format!("{name}: foreign certificate"));
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
            ),
            "{name}: {err:?}"
        );

        let revoked = Client {
            identity: Some(&pki.revoked_client),
            ..Client::default()
        };
        let err = handshake(&acceptor, revoked.config(&backend))
            .await
            .refused(&format!("{name}: revoked certificate"));
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(CertificateError::Revoked)
            ),
            "{name}: {err:?}"
        );
    }
}

#[tokio::test]
async fn revoked_client_is_accepted_without_the_crl() {
    let pki = pki();
    for backend in backends() {
        let acceptor = support::acceptor(&backend, &policy());
        let revoked = Client {
            identity: Some(&pki.revoked_client),
            ..Client::default()
        };
        handshake(&acceptor, revoked.config(&backend))
            .await
            .ok(backend.name());
    }
}

/// Revocation fails closed: once the policy has a CRL, a client whose issuer has none is refused
/// for unknown revocation status (`revocation_unknown`), never let through.
#[tokio::test]
async fn issuers_without_a_crl_are_refused_as_unknown() {
    let pki = pki();
    for backend in backends() {
        let name = backend.name();
        let mut policy = policy();
        policy.trusted.push(pki.other_ca.clone());
        let client = Client {
            identity: Some(&pki.other_ca_client),
            ..Client::default()
        };
        // The control: without any CRL the other CA's client passes.
        let acceptor = support::acceptor(&backend, &policy);
        handshake(&acceptor, client.config(&backend))
            .await
            .ok(&format!("{name}: no CRL at all"));

        policy.crls = vec![pki.crl.clone()];
        let acceptor = support::acceptor(&backend, &policy);
        let err = handshake(&acceptor, client.config(&backend))
            .await
            .refused(&format!("{name}: issuer without a CRL"));
        assert_eq!(
            err,
            rustls::Error::InvalidCertificate(CertificateError::UnknownRevocationStatus),
            "{name}"
        );
        assert_eq!(
            tls_policy_rustls::classify_rustls_error(&err),
            tls_policy_backend::HandshakeFailure::RevocationUnknown
        );
    }
}

#[tokio::test]
async fn optional_accepts_no_certificate_and_verifies_one() {
    let pki = pki();
    for backend in backends() {
        let name = backend.name();
        let mut policy = policy();
        policy.client_auth = ClientAuth::Optional;
        let acceptor = support::acceptor(&backend, &policy);

        let (info, _) = handshake(&acceptor, Client::default().config(&backend))
            .await
            .ok(&format!("{name}: no certificate"));
        assert!(info.peer_certificates.is_empty());

        let good = Client {
            identity: Some(&pki.client),
            ..Client::default()
        };
        let (info, _) = handshake(&acceptor, good.config(&backend))
            .await
            .ok(&format!("{name}: good certificate"));
        assert_eq!(info.peer_certificates, pki.client.chain);

        let foreign = Client {
            identity: Some(&pki.foreign_client),
            ..Client::default()
        };
        handshake(&acceptor, foreign.config(&backend))
            .await
            .refused(&format!("{name}: foreign certificate"));
    }
}

#[tokio::test]
async fn none_asks_for_no_certificate() {
    let pki = pki();
    for backend in backends() {
        let mut policy = policy();
        policy.client_auth = ClientAuth::None;
        policy.trusted.clear();
        let acceptor = support::acceptor(&backend, &policy);
        for identity in [None, Some(&pki.client)] {
            let client = Client {
                identity,
                ..Client::default()
            };
            let (info, _) = handshake(&acceptor, client.config(&backend))
                .await
                .ok(backend.name());
            assert!(info.peer_certificates.is_empty());
        }
    }
}

#[tokio::test]
async fn trust_all_accepts_any_chain_but_checks_the_key() {
    let pki = pki();
    for backend in backends() {
        let name = backend.name();
        let mut policy = policy();
        policy.trust_all = true;
        policy.trusted.clear();
        let acceptor = support::acceptor(&backend, &policy);

        let foreign = Client {
            identity: Some(&pki.foreign_client),
            ..Client::default()
        };
        let (info, _) = handshake(&acceptor, foreign.config(&backend))
            .await
            .ok(&format!("{name}: foreign certificate"));
        assert_eq!(info.peer_certificates, pki.foreign_client.chain);

        handshake(&acceptor, Client::default().config(&backend))
            .await
            .refused(&format!("{name}: no certificate under REQUIRE"));

        for versions in [&rustls::version::TLS12, &rustls::version::TLS13] {
            let impostor = Client {
                mismatched: Some((&pki.foreign_client, &pki.client)),
                versions: vec![versions],
                ..Client::default()
            };
            let err = handshake(&acceptor, impostor.config(&backend))
                .await
                .refused(&format!(
                    "{name}: {versions:?} key not matching the certificate"
                ));
            assert!(
                matches!(
                    err,
                    rustls::Error::InvalidCertificate(CertificateError::BadSignature)
                ),
                "{name}: {err:?}"
            );
        }

        policy.client_auth = ClientAuth::Optional;
        let acceptor = support::acceptor(&backend, &policy);
        handshake(&acceptor, Client::default().config(&backend))
            .await
            .ok(&format!("{name}: no certificate under OPTIONAL"));
    }
}

#[tokio::test]
async fn tls12_only_policy() {
    let pki = pki();
    for backend in backends() {
        let name = backend.name();
        let mut policy = policy();
        policy.tls_versions = vec![TlsVersion::Tls12];
        let acceptor = support::acceptor(&backend, &policy);

        let client = Client {
            identity: Some(&pki.client),
            ..Client::default()
        };
        let (info, _) = handshake(&acceptor, client.config(&backend)).await.ok(name);
        assert_eq!(info.protocol_version, Some(TlsVersion::Tls12));
        assert_eq!(
            info.cipher_suite.map(|suite| suite.version()),
            Some(TlsVersion::Tls12)
        );

        let tls13_only = Client {
            identity: Some(&pki.client),
            versions: vec![&rustls::version::TLS13],
            ..Client::default()
        };
        handshake(&acceptor, tls13_only.config(&backend))
            .await
            .refused(&format!("{name}: TLS 1.3-only client"));
    }
}

#[tokio::test]
async fn cipher_list_is_obeyed_in_its_order() {
    let pki = pki();
    for backend in backends() {
        let name = backend.name();
        let suites = |names: &[&str]| {
            names
                .iter()
                .map(|n| tls_policy_backend::CipherSuite::from_name(n).expect(n))
                .collect::<Vec<_>>()
        };
        let client_suites = |codes: &[u16]| {
            codes
                .iter()
                .map(|code| {
                    *backend
                        .provider()
                        .cipher_suites
                        .iter()
                        .find(|s| u16::from(s.suite()) == *code)
                        .expect("provider suite")
                })
                .collect::<Vec<_>>()
        };

        // TLS 1.3: the server's order wins over the client's.
        let mut policy = policy();
        policy.ciphers = Some(suites(&[
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_GCM_SHA256",
        ]));
        let acceptor = support::acceptor(&backend, &policy);
        let client = Client {
            identity: Some(&pki.client),
            suites: Some(client_suites(&[0x1301, 0x1303])),
            ..Client::default()
        };
        let (info, _) = handshake(&acceptor, client.config(&backend)).await.ok(name);
        assert_eq!(
            info.cipher_suite.map(|s| s.name()),
            Some("TLS_CHACHA20_POLY1305_SHA256"),
            "{name}"
        );

        // A client offering only a suite outside the list is refused.
        let outside = Client {
            identity: Some(&pki.client),
            suites: Some(client_suites(&[0x1302])),
            versions: vec![&rustls::version::TLS13],
            ..Client::default()
        };
        handshake(&acceptor, outside.config(&backend))
            .await
            .refused(&format!("{name}: suite outside the list"));

        // TLS 1.2 with one ECDSA suite.
        let mut policy = support::policy();
        policy.tls_versions = vec![TlsVersion::Tls12];
        policy.ciphers = Some(suites(&["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]));
        let acceptor = support::acceptor(&backend, &policy);
        let client = Client {
            identity: Some(&pki.client),
            ..Client::default()
        };
        let (info, _) = handshake(&acceptor, client.config(&backend)).await.ok(name);
        assert_eq!(info.protocol_version, Some(TlsVersion::Tls12));
        assert_eq!(
            info.cipher_suite.map(|s| s.name()),
            Some("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn sessions_resume() {
    let pki = pki();
    for backend in backends() {
        let name = backend.name();
        let acceptor = support::acceptor(&backend, &policy());
        for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
            let client = Client {
                identity: Some(&pki.client),
                versions: vec![version],
                ..Client::default()
            }
            .config(&backend);
            let (_, first) = handshake(&acceptor, client.clone())
                .await
                .ok(&format!("{name}: {version:?} first"));
            assert_eq!(first.kind, Some(HandshakeKind::Full), "{name}: {version:?}");
            let (info, second) = handshake(&acceptor, client)
                .await
                .ok(&format!("{name}: {version:?} second"));
            assert_eq!(
                second.kind,
                Some(HandshakeKind::Resumed),
                "{name}: {version:?}"
            );
            assert_eq!(info.peer_certificates, pki.client.chain, "{name}");
        }
    }
}
