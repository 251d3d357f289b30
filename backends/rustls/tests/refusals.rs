//! Policies a rustls backend must refuse at compile time, with errors naming the setting.

mod support;

use support::{backends, pki, policy};
use tls_policy_backend::pki_types::{CertificateDer, CertificateRevocationListDer};
use tls_policy_backend::{BackendError, CipherSuite, ClientAuth, ServerOptions, TlsBackend};
use tls_policy_backend::{ServerPolicy, TlsVersion};
use tls_policy_rustls::RustlsBackend;

fn refusal(backend: &RustlsBackend, policy: &ServerPolicy) -> (&'static str, String) {
    match backend.server(policy, &ServerOptions::default()) {
        Ok(_) => panic!("{}: policy accepted", backend.name()),
        Err(BackendError::Rejected { setting, message }) => (setting, message),
        Err(other) => panic!("{}: unexpected error {other:?}", backend.name()),
    }
}

fn suites(names: &[&str]) -> Option<Vec<CipherSuite>> {
    Some(
        names
            .iter()
            .map(|n| CipherSuite::from_name(n).expect(n))
            .collect(),
    )
}

#[test]
fn capabilities() {
    for backend in backends() {
        let caps = backend.capabilities();
        assert!(caps.client_auth && caps.crls && caps.trust_all && caps.cipher_list);
        assert!(caps.tls13 && caps.alpn && caps.session_details);
        assert_eq!(caps.post_quantum, backend.name() == "rustls-aws-lc-rs");
        assert!(format!("{backend:?}").contains(backend.name()));
    }
}

#[test]
fn suite_unknown_to_the_provider() {
    for backend in backends() {
        let mut policy = policy();
        policy.ciphers = suites(&["TLS_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256"]);
        let (setting, message) = refusal(&backend, &policy);
        assert_eq!(setting, "ciphers");
        assert!(
            message.contains("TLS_RSA_WITH_AES_128_GCM_SHA256"),
            "{message}"
        );
        assert!(message.contains(backend.name()), "{message}");
        assert!(message.contains("TLS_AES_256_GCM_SHA384"), "{message}");
        assert!(!message.contains("is TLS_AES_128_GCM_SHA256"), "{message}");
    }
}

#[test]
fn suites_of_another_version_only() {
    for backend in backends() {
        let mut policy = policy();
        policy.tls_versions = vec![TlsVersion::Tls12];
        policy.ciphers = suites(&["TLS_AES_128_GCM_SHA256"]);
        let (setting, message) = refusal(&backend, &policy);
        assert_eq!(setting, "ciphers");
        assert!(message.contains("TLSv1.2"), "{message}");
    }
}

#[test]
fn suites_that_cannot_sign_with_the_key() {
    for backend in backends() {
        let mut policy = policy();
        policy.tls_versions = vec![TlsVersion::Tls12];
        policy.ciphers = suites(&["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]);
        let (setting, message) = refusal(&backend, &policy);
        assert_eq!(setting, "ciphers");
        assert!(message.contains("ECDSA"), "{message}");
    }
}

#[test]
fn key_not_matching_the_certificate() {
    for backend in backends() {
        let mut policy = policy();
        policy.private_key = pki().client.private_key();
        let (setting, _) = refusal(&backend, &policy);
        assert_eq!(setting, "private_key");
    }
}

#[test]
fn bad_trust_anchor_and_bad_crl() {
    for backend in backends() {
        let mut bad_anchor = policy();
        bad_anchor
            .trusted
            .push(CertificateDer::from(b"not a certificate".to_vec()));
        let (setting, message) = refusal(&backend, &bad_anchor);
        assert_eq!(setting, "trusted_dir");
        assert!(message.contains("#2"), "{message}");

        let mut bad_crl = policy();
        bad_crl
            .crls
            .push(CertificateRevocationListDer::from(b"not a CRL".to_vec()));
        let (setting, _) = refusal(&backend, &bad_crl);
        assert_eq!(setting, "revoked_dir");
    }
}

#[test]
fn client_auth_without_trust_anchors() {
    for backend in backends() {
        for client_auth in [ClientAuth::Require, ClientAuth::Optional] {
            let mut policy = policy();
            policy.client_auth = client_auth;
            policy.trusted.clear();
            let (setting, message) = refusal(&backend, &policy);
            assert_eq!(setting, "trusted_dir");
            assert!(message.contains(client_auth.as_str()), "{message}");
        }
    }
}

#[test]
fn empty_certificate_chain() {
    for backend in backends() {
        let mut policy = policy();
        policy.cert_chain.clear();
        let (setting, _) = refusal(&backend, &policy);
        assert_eq!(setting, "public_certificate");
    }
}

#[test]
fn explicit_ciphers_prefer_server_order() {
    for backend in backends() {
        let mut policy = policy();
        let acceptor = backend
            .server(&policy, &ServerOptions::default())
            .expect("default policy");
        assert!(!acceptor.server_config().ignore_client_order);
        policy.ciphers = suites(&["TLS_AES_128_GCM_SHA256"]);
        let acceptor = backend
            .server(&policy, &ServerOptions::default())
            .expect("one suite");
        assert!(acceptor.server_config().ignore_client_order);
        assert_eq!(
            acceptor
                .server_config()
                .crypto_provider()
                .cipher_suites
                .len(),
            1
        );
    }
}
