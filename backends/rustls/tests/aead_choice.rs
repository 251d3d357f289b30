//! The record AEAD choice (`RecordCipher`): which provider's suites a compiled config really
//! holds under each setting, and handshakes, resumption and bulk transfer across the mixes.

mod support;

use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::{HandshakeKind, SupportedCipherSuite};
use support::{acceptor, backends, handshake, pki, policy, Client};
use tls_policy_backend::{ClientOptions, RecordCipher, TlsBackend, TlsVersion};
use tls_policy_rustls::{RustlsBackend, RustlsConnector};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The default provider of the crate named `name`, if compiled in.
fn provider_named(name: &str) -> Option<CryptoProvider> {
    match name {
        #[cfg(feature = "aws-lc-rs")]
        "aws-lc-rs" => Some(rustls::crypto::aws_lc_rs::default_provider()),
        #[cfg(feature = "ring")]
        "ring" => Some(rustls::crypto::ring::default_provider()),
        _ => None,
    }
}

/// The crate a backend is named after.
fn own(backend: &RustlsBackend) -> &'static str {
    match backend.name() {
        "rustls-aws-lc-rs" => "aws-lc-rs",
        _ => "ring",
    }
}

/// Whether two suites seal with the very same record AEAD implementation: the same object and
/// the same vtable (some AEADs are zero-sized, so an address alone would not tell the crates
/// apart).
fn same_aead(a: &SupportedCipherSuite, b: &SupportedCipherSuite) -> bool {
    match (a, b) {
        (SupportedCipherSuite::Tls13(a), SupportedCipherSuite::Tls13(b)) => {
            std::ptr::eq(a.aead_alg, b.aead_alg)
        }
        (SupportedCipherSuite::Tls12(a), SupportedCipherSuite::Tls12(b)) => {
            std::ptr::eq(a.aead_alg, b.aead_alg)
        }
        _ => false,
    }
}

/// Whether two suites have the very same hash and HKDF (TLS 1.3) or PRF (TLS 1.2) objects.
fn same_key_schedule(a: &SupportedCipherSuite, b: &SupportedCipherSuite) -> bool {
    match (a, b) {
        (SupportedCipherSuite::Tls13(a), SupportedCipherSuite::Tls13(b)) => {
            std::ptr::eq(a.common.hash_provider, b.common.hash_provider)
                && std::ptr::eq(a.hkdf_provider, b.hkdf_provider)
        }
        (SupportedCipherSuite::Tls12(a), SupportedCipherSuite::Tls12(b)) => {
            std::ptr::eq(a.common.hash_provider, b.common.hash_provider)
                && std::ptr::eq(a.prf_provider, b.prf_provider)
        }
        _ => false,
    }
}

/// The crate whose record AEAD `suite` uses, by identity.
fn origin(suite: &SupportedCipherSuite) -> &'static str {
    for name in ["aws-lc-rs", "ring"] {
        if let Some(provider) = provider_named(name) {
            if provider
                .cipher_suites
                .iter()
                .any(|s| s.suite() == suite.suite() && same_aead(s, suite))
            {
                return name;
            }
        }
    }
    "unknown"
}

fn is_chacha(suite: &SupportedCipherSuite) -> bool {
    suite
        .suite()
        .as_str()
        .is_some_and(|name| name.contains("CHACHA20"))
}

/// Every suite of `provider` comes from where `backend.record_aead()` says; everything else is
/// the backend's own provider's.
fn assert_composed(backend: &RustlsBackend, provider: &CryptoProvider, what: &str) {
    let aead = backend.record_aead();
    assert!(!provider.cipher_suites.is_empty(), "{what}: no suites");
    for suite in &provider.cipher_suites {
        let expected = if is_chacha(suite) {
            aead.chacha20_poly1305.implementation
        } else {
            aead.aes_gcm.implementation
        };
        assert_eq!(
            origin(suite),
            expected,
            "{what}: {:?} comes from the wrong provider",
            suite.suite()
        );
    }
    let own_provider = provider_named(own(backend)).expect("own provider compiled in");
    // The key schedule (hash, HKDF or PRF) is always the backend's own provider's.
    for suite in &provider.cipher_suites {
        let own_suite = own_provider
            .cipher_suites
            .iter()
            .find(|s| s.suite() == suite.suite())
            .expect("same suite list");
        assert!(
            same_key_schedule(suite, own_suite),
            "{what}: {:?} has another provider's hash, HKDF or PRF",
            suite.suite()
        );
    }
    let group_names = |p: &CryptoProvider| p.kx_groups.iter().map(|g| g.name()).collect::<Vec<_>>();
    assert_eq!(
        group_names(provider),
        group_names(&own_provider),
        "{what}: key exchange"
    );
    // The suites' order and codes are the provider's own: only their origin may differ.
    let codes = |p: &CryptoProvider| {
        p.cipher_suites
            .iter()
            .map(|s| s.suite())
            .collect::<Vec<_>>()
    };
    assert_eq!(codes(provider), codes(&own_provider), "{what}: suite list");
}

#[test]
fn provider_setting_pins_every_suite_to_the_own_provider() {
    for backend in backends() {
        let pinned = backend.clone().with_record_cipher(RecordCipher::Provider);
        let aead = pinned.record_aead();
        assert_eq!(aead.setting, RecordCipher::Provider);
        assert_eq!(aead.aes_gcm.implementation, own(&backend));
        assert_eq!(aead.chacha20_poly1305.implementation, own(&backend));
        assert!(
            aead.aes_gcm.reason.contains("record_cipher=provider"),
            "{aead:?}"
        );
        // The configs actually built hold the own provider's suites, server and client side.
        let acceptor = acceptor(&pinned, &policy());
        let server = acceptor.server_config().crypto_provider();
        assert_composed(
            &pinned,
            server,
            &format!("{} pinned server", backend.name()),
        );
        for suite in &server.cipher_suites {
            assert_eq!(origin(suite), own(&backend), "{} pinned", backend.name());
        }
        let connector: RustlsConnector = pinned
            .client(&policy(), &ClientOptions::default())
            .expect("client side compiles");
        let client = connector.client_config().crypto_provider();
        for suite in &client.cipher_suites {
            assert_eq!(
                origin(suite),
                own(&backend),
                "{} pinned client",
                backend.name()
            );
        }
    }
}

#[test]
fn fastest_setting_builds_what_it_reports() {
    for backend in backends() {
        let aead = backend.record_aead().clone();
        assert_eq!(aead.setting, RecordCipher::Fastest);
        let acceptor = acceptor(&backend, &policy());
        let what = format!("{} fastest server", backend.name());
        assert_composed(&backend, acceptor.server_config().crypto_provider(), &what);
        let connector = backend
            .client(&policy(), &ClientOptions::default())
            .expect("client side compiles");
        let what = format!("{} fastest client", backend.name());
        assert_composed(&backend, connector.client_config().crypto_provider(), &what);
        if cfg!(all(feature = "aws-lc-rs", feature = "ring")) {
            assert!(aead.aes_gcm.reason.starts_with("measured"), "{aead:?}");
        } else {
            assert_eq!(aead.aes_gcm.implementation, own(&backend));
        }
    }
}

/// Both rustls backends agree on which provider is faster: they read one cached measurement.
#[cfg(all(feature = "aws-lc-rs", feature = "ring"))]
#[test]
fn the_measurement_is_taken_once_and_decides_with_a_margin() {
    use tls_policy_rustls::aead_choice::{measure, MARGIN};
    let first = measure::speeds();
    let again = measure::speeds();
    assert_eq!(first.aes_gcm, again.aes_gcm, "cached once per process");
    let (aws, ring) = first.aes_gcm;
    assert!(aws > 0.0 && ring > 0.0, "both providers sealed: {first:?}");
    let aws_backend = RustlsBackend::aws_lc_rs();
    let ring_backend = RustlsBackend::ring();
    let expect_aws = if ring >= aws * MARGIN {
        "ring"
    } else {
        "aws-lc-rs"
    };
    let expect_ring = if aws >= ring * MARGIN {
        "aws-lc-rs"
    } else {
        "ring"
    };
    assert_eq!(aws_backend.record_aead().aes_gcm.implementation, expect_aws);
    assert_eq!(
        ring_backend.record_aead().aes_gcm.implementation,
        expect_ring
    );
}

/// Every server mix against every client mix, TLS 1.2 and 1.3, each AEAD family: the
/// handshake completes, the suite's name is right on both sides, tickets resume, and 1 MiB
/// cross each way intact (1 MiB).
#[tokio::test]
async fn mixed_providers_interoperate_with_resumption_and_bulk() {
    let pki = pki();
    let mut clients = Vec::new();
    for backend in backends() {
        for setting in [RecordCipher::Fastest, RecordCipher::Provider] {
            clients.push(backend.clone().with_record_cipher(setting));
        }
    }
    for server_backend in backends() {
        for server_setting in [RecordCipher::Fastest, RecordCipher::Provider] {
            let server = server_backend.clone().with_record_cipher(server_setting);
            let acceptor = acceptor(&server, &policy());
            for client_backend in &clients {
                for (version, tls) in [
                    (TlsVersion::Tls12, &rustls::version::TLS12),
                    (TlsVersion::Tls13, &rustls::version::TLS13),
                ] {
                    for family in ["AES_128_GCM", "AES_256_GCM", "CHACHA20"] {
                        let suites: Vec<SupportedCipherSuite> = client_backend
                            .provider()
                            .cipher_suites
                            .iter()
                            .filter(|s| {
                                s.version() == tls
                                    && s.suite().as_str().is_some_and(|n| n.contains(family))
                            })
                            .copied()
                            .collect();
                        let what = format!(
                            "server {} {server_setting}, client {} {}, {version:?} {family}",
                            server.name(),
                            client_backend.name(),
                            client_backend.record_aead().setting
                        );
                        let client = Client {
                            identity: Some(&pki.client),
                            versions: vec![tls],
                            suites: Some(suites.clone()),
                            ..Client::default()
                        }
                        .config(client_backend);
                        let (info, first) = handshake(&acceptor, client.clone()).await.ok(&what);
                        assert_eq!(info.protocol_version, Some(version), "{what}");
                        let negotiated = info.cipher_suite.expect("suite");
                        assert!(
                            suites
                                .iter()
                                .any(|s| u16::from(s.suite()) == negotiated.code()),
                            "{what}: {negotiated:?} is one offered, by its IANA code"
                        );
                        assert!(negotiated.name().contains(family), "{what}: {negotiated:?}");
                        assert_eq!(first.kind, Some(HandshakeKind::Full), "{what}");
                        let (_, again) = handshake(&acceptor, client.clone()).await.ok(&what);
                        assert_eq!(again.kind, Some(HandshakeKind::Resumed), "{what}: resumed");
                        bulk(&acceptor, client, &what).await;
                    }
                }
            }
        }
    }
}

/// 1 MiB client → server and the server echoes it back.
async fn bulk(
    acceptor: &tls_policy_rustls::RustlsAcceptor,
    client: Arc<rustls::ClientConfig>,
    what: &str,
) {
    const BYTES: usize = 1 << 20;
    let (server_io, client_io) = tokio::io::duplex(256 * 1024);
    let server = async move {
        let (mut stream, _) = RustlsBackend::accept(acceptor, server_io).await?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        while total < BYTES {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            stream.write_all(&buf[..n]).await?;
            stream.flush().await?;
            total += n;
        }
        stream.shutdown().await?;
        Ok::<_, std::io::Error>(total)
    };
    let client = async move {
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let stream = tokio_rustls::TlsConnector::from(client)
            .connect(name, client_io)
            .await?;
        let (mut read, mut write) = tokio::io::split(stream);
        let payload: Vec<u8> = (0..BYTES).map(|i| (i % 251) as u8).collect();
        let expected = payload.clone();
        let writer = async move {
            write.write_all(&payload).await?;
            write.flush().await?;
            Ok::<_, std::io::Error>(write)
        };
        let reader = async move {
            let mut received = Vec::with_capacity(BYTES);
            read.read_to_end(&mut received).await?;
            Ok::<_, std::io::Error>(received)
        };
        let (write, received) = tokio::join!(writer, reader);
        drop(write?);
        Ok::<_, std::io::Error>(received? == expected)
    };
    let both = async { tokio::join!(server, client) };
    let (server, client) = tokio::time::timeout(Duration::from_secs(30), both)
        .await
        .unwrap_or_else(|_| panic!("{what}: bulk transfer timed out"));
    assert_eq!(
        server.expect("server side of the bulk transfer"),
        BYTES,
        "{what}"
    );
    assert!(
        client.expect("client side of the bulk transfer"),
        "{what}: echoed intact"
    );
}
