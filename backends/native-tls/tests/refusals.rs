//! What the native-tls backend refuses (never downgrading) and what material it rejects.

mod common;

use common::{policy, self_signed};
use rustls_pki_types::{CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tls_policy_backend::{
    BackendError, CipherSuite, ClientAuth, ServerOptions, ServerPolicy, TlsBackend, TlsVersion,
};
use tls_policy_native_tls::NativeTlsBackend;

fn server(policy: &ServerPolicy) -> Result<(), BackendError> {
    server_with(policy, &ServerOptions::default())
}

fn server_with(policy: &ServerPolicy, options: &ServerOptions) -> Result<(), BackendError> {
    NativeTlsBackend::new().server(policy, options).map(|_| ())
}

#[track_caller]
fn assert_unsupported(result: Result<(), BackendError>, want_setting: &str, want_value: &str) {
    match result {
        Err(BackendError::Unsupported {
            setting,
            value,
            backend,
            alternative,
        }) => {
            assert_eq!(setting, want_setting);
            assert_eq!(value, want_value);
            assert_eq!(backend, "native-tls");
            assert_eq!(alternative, "rustls-aws-lc-rs or rustls-ring");
        }
        other => panic!("expected Unsupported {{ setting: {want_setting} }}, got {other:?}"),
    }
}

#[track_caller]
fn assert_rejected(result: Result<(), BackendError>, want_setting: &str) -> String {
    match result {
        Err(BackendError::Rejected { setting, message }) => {
            assert_eq!(setting, want_setting, "{message}");
            message
        }
        other => panic!("expected Rejected {{ setting: {want_setting} }}, got {other:?}"),
    }
}

#[test]
fn name_and_capabilities() {
    let backend = NativeTlsBackend::new();
    assert_eq!(backend.name(), "native-tls");
    let caps = backend.capabilities();
    assert!(!caps.client_auth);
    assert!(!caps.crls);
    assert!(!caps.trust_all);
    assert!(!caps.cipher_list);
    assert!(!caps.tls13);
    assert!(caps.alpn);
    assert!(!caps.session_details);
    assert!(!caps.post_quantum);
}

#[test]
fn a_plain_policy_compiles() {
    let pki = self_signed();
    server(&policy(&pki)).unwrap();
}

#[test]
fn client_auth_is_refused() {
    let pki = self_signed();
    let mut p = policy(&pki);
    p.trusted = vec![pki.root.clone()];
    p.client_auth = ClientAuth::Optional;
    assert_unsupported(server(&p), "client_auth", "OPTIONAL");
    p.client_auth = ClientAuth::Require;
    assert_unsupported(server(&p), "client_auth", "REQUIRE");
}

#[test]
fn the_message_names_setting_backend_and_alternative() {
    let pki = self_signed();
    let mut p = policy(&pki);
    p.client_auth = ClientAuth::Require;
    let message = server(&p).unwrap_err().to_string();
    assert_eq!(
        message,
        "client_auth=REQUIRE cannot be honoured by the native-tls backend; \
         use rustls-aws-lc-rs or rustls-ring"
    );
}

#[test]
fn trusted_certificates_without_client_auth_are_unused() {
    let pki = self_signed();
    let mut p = policy(&pki);
    p.trusted = vec![pki.root.clone()];
    server(&p).unwrap();
}

/// With client_auth=NONE no client certificate is asked for: CRLs and trust_all play no part on
/// the wire, so the server is built (with a warning), never refused for them.
#[test]
fn crls_and_trust_all_without_client_auth_are_served() {
    let pki = self_signed();
    let mut p = policy(&pki);
    assert_eq!(p.client_auth, ClientAuth::None);
    p.crls = vec![CertificateRevocationListDer::from(vec![0x30, 0x00])];
    server(&p).expect("CRLs play no part without client_auth");
    p.crls
        .push(CertificateRevocationListDer::from(vec![0x30, 0x00]));
    p.trust_all = true;
    server(&p).expect("trust_all plays no part without client_auth");
    // With client authentication asked for, client_auth itself is what native-tls refuses.
    p.client_auth = ClientAuth::Require;
    assert_unsupported(server(&p), "client_auth", "REQUIRE");
}

#[test]
fn shared_session_ticket_keys_are_refused() {
    let pki = self_signed();
    let mut p = policy(&pki);
    let key = tls_policy_backend::TicketKey::from_bytes(&[7; tls_policy_backend::TICKET_KEY_LEN]);
    p.session_ticket_keys = tls_policy_backend::TicketKeys::new(vec![key]);
    assert_unsupported(server(&p), "session_ticket_keys", "1 shared key");
    let message = server(&p).unwrap_err().to_string();
    assert!(
        message.contains("rustls-aws-lc-rs or rustls-ring"),
        "{message}"
    );
}

#[test]
fn a_cipher_list_is_refused() {
    let pki = self_signed();
    let mut p = policy(&pki);
    p.ciphers = Some(vec![
        CipherSuite::from_name("TLS_AES_128_GCM_SHA256").unwrap(),
        CipherSuite::from_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").unwrap(),
    ]);
    assert_unsupported(
        server(&p),
        "ciphers",
        "TLS_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    );
}

#[test]
fn tls13_only_is_refused_and_tls12_is_served() {
    let pki = self_signed();
    let mut p = policy(&pki);
    p.tls_versions = vec![TlsVersion::Tls13];
    assert_unsupported(server(&p), "tls_versions", "TLSv1.3");
    p.tls_versions = vec![TlsVersion::Tls12];
    server(&p).unwrap();
    p.tls_versions = vec![TlsVersion::Tls12, TlsVersion::Tls13];
    server(&p).unwrap();
}

#[test]
fn no_version_is_rejected() {
    let pki = self_signed();
    let mut p = policy(&pki);
    p.tls_versions = Vec::new();
    assert_rejected(server(&p), "tls_versions");
}

#[test]
fn ocsp_stapling_is_refused() {
    let pki = self_signed();
    let p = policy(&pki);
    let options = ServerOptions {
        ocsp_stapling: true,
        ..Default::default()
    };
    assert_unsupported(server_with(&p, &options), "ocsp_stapling_enabled", "true");
}

#[test]
fn a_bad_alpn_protocol_is_rejected() {
    let pki = self_signed();
    let p = policy(&pki);
    for bad in [vec![0xff, 0xfe], Vec::new(), vec![b'a'; 256]] {
        let options = ServerOptions {
            alpn_protocols: vec![b"h2".to_vec(), bad],
            ..Default::default()
        };
        assert_rejected(server_with(&p, &options), "alpn_protocols");
    }
}

#[test]
fn a_garbage_key_is_rejected() {
    let pki = self_signed();
    let mut p = policy(&pki);
    let garbage = PrivatePkcs8KeyDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
    p.private_key.der = PrivateKeyDer::Pkcs8(garbage.clone_key());
    p.private_key.pkcs8 = garbage;
    assert_rejected(server(&p), "private_key");
}

#[test]
fn a_garbage_certificate_is_rejected() {
    let pki = self_signed();
    let mut p = policy(&pki);
    p.cert_chain = vec![vec![0x30, 0x00].into()];
    assert_rejected(server(&p), "private_key");
}

#[test]
fn an_empty_chain_is_rejected() {
    let pki = self_signed();
    let mut p = policy(&pki);
    p.cert_chain.clear();
    assert_rejected(server(&p), "public_certificate");
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_rejected() {
    let pki = self_signed();
    let other = self_signed();
    let mut p = policy(&pki);
    p.private_key.der = PrivateKeyDer::Pkcs8(other.key.clone_key());
    p.private_key.pkcs8 = other.key.clone_key();
    // native-tls alone would build this acceptor and then fail every handshake.
    let message = assert_rejected(server(&p), "private_key");
    assert!(message.contains("does not match"), "{message}");
}
