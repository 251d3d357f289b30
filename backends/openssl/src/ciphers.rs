//! The policy's `ciphers` (IANA names) and `tls_versions` as OpenSSL's cipher strings and
//! protocol bounds.
//!
//! TLS 1.3 suites keep their IANA names in OpenSSL (`SSL_CTX_set_ciphersuites`); TLS 1.2
//! suites have OpenSSL's own names (`SSL_CTX_set_cipher_list`), mapped here one by one.

use openssl::ssl::{SslContextBuilder, SslVersion};
use tls_policy_backend::{BackendError, CipherSuite, ServerPolicy, TlsVersion};

use crate::capabilities::{rejected, unsupported};

/// IANA name → OpenSSL name of every TLS 1.2 suite the core table knows.
const TLS12_NAMES: &[(&str, &str)] = &[
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        "ECDHE-ECDSA-AES128-SHA",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        "ECDHE-ECDSA-AES256-SHA",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        "ECDHE-ECDSA-AES128-SHA256",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        "ECDHE-ECDSA-AES256-SHA384",
    ),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"),
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        "ECDHE-RSA-AES128-SHA256",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        "ECDHE-RSA-AES256-SHA384",
    ),
    (
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        "DHE-RSA-AES128-GCM-SHA256",
    ),
    (
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        "DHE-RSA-AES256-GCM-SHA384",
    ),
    (
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "DHE-RSA-CHACHA20-POLY1305",
    ),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"),
    ("TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"),
    ("TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"),
    ("TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"),
    ("TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"),
    ("TLS_RSA_WITH_AES_256_CBC_SHA256", "AES256-SHA256"),
    ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"),
];

/// OpenSSL's name of a TLS 1.2 suite, `None` for one it has no name for here.
pub(crate) fn openssl_name(suite: CipherSuite) -> Option<&'static str> {
    TLS12_NAMES
        .iter()
        .find(|(iana, _)| *iana == suite.name())
        .map(|(_, openssl)| *openssl)
}

/// Whether the system OpenSSL can do the TLS 1.2 suite OpenSSL calls `name` (at the default
/// security level).
fn available(name: &str) -> bool {
    SslContextBuilder::new(openssl::ssl::SslMethod::tls())
        .is_ok_and(|mut probe| probe.set_cipher_list(name).is_ok())
}

/// Sets the protocol bounds and, when the policy lists ciphers, the suites of each version.
///
/// A version none of whose suites is listed cannot be negotiated, so the bounds leave it out;
/// a policy whose versions keep no suite at all is rejected.
pub(crate) fn configure(
    builder: &mut SslContextBuilder,
    policy: &ServerPolicy,
) -> Result<(), BackendError> {
    let mut tls12 = policy.tls_versions.contains(&TlsVersion::Tls12);
    let mut tls13 = policy.tls_versions.contains(&TlsVersion::Tls13);
    if let Some(list) = &policy.ciphers {
        let mut names12 = Vec::new();
        let mut names13 = Vec::new();
        for suite in list {
            match suite.version() {
                TlsVersion::Tls13 => names13.push(suite.name()),
                TlsVersion::Tls12 => match openssl_name(*suite).filter(|name| available(name)) {
                    Some(name) => names12.push(name),
                    // Unknown here, or compiled out of the system OpenSSL (3DES on OpenSSL 3):
                    // refused, never dropped from the list silently.
                    None => return Err(unsupported("ciphers", suite.name())),
                },
            }
        }
        tls12 &= !names12.is_empty();
        tls13 &= !names13.is_empty();
        if tls12 {
            builder
                .set_cipher_list(&names12.join(":"))
                .map_err(|err| rejected("ciphers", format!("{}: {err}", names12.join(":"))))?;
        }
        if tls13 {
            builder
                .set_ciphersuites(&names13.join(":"))
                .map_err(|err| rejected("ciphers", format!("{}: {err}", names13.join(":"))))?;
        }
        if !tls12 && !tls13 {
            let versions: Vec<&str> = policy.tls_versions.iter().map(|v| v.as_str()).collect();
            let names: Vec<&str> = list.iter().map(|s| s.name()).collect();
            return Err(rejected(
                "ciphers",
                format!(
                    "no suite of {} belongs to tls_versions={}",
                    names.join(","),
                    versions.join(",")
                ),
            ));
        }
    }
    let (min, max) = match (tls12, tls13) {
        (true, true) => (SslVersion::TLS1_2, SslVersion::TLS1_3),
        (true, false) => (SslVersion::TLS1_2, SslVersion::TLS1_2),
        (false, true) => (SslVersion::TLS1_3, SslVersion::TLS1_3),
        (false, false) => return Err(rejected("tls_versions", "no TLS version to negotiate")),
    };
    builder
        .set_min_proto_version(Some(min))
        .and_then(|()| builder.set_max_proto_version(Some(max)))
        .map_err(|err| rejected("tls_versions", err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tls12_suite_of_the_core_table_has_an_openssl_name() {
        for suite in CipherSuite::all() {
            if suite.version() == TlsVersion::Tls12 {
                assert!(openssl_name(*suite).is_some(), "{suite}");
            }
        }
    }

    /// Every mapped name but 3DES (compiled out of OpenSSL 3) is one the system OpenSSL knows;
    /// a suite it cannot do is refused by name, never dropped from the list.
    #[test]
    fn openssl_knows_the_names_and_refuses_what_it_cannot_do() {
        for (iana, name) in TLS12_NAMES {
            if *iana != "TLS_RSA_WITH_3DES_EDE_CBC_SHA" {
                assert!(available(name), "{iana} = {name}");
            }
        }
        let triple_des = CipherSuite::from_name("TLS_RSA_WITH_3DES_EDE_CBC_SHA").unwrap();
        let gcm = CipherSuite::from_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").unwrap();
        if !available("DES-CBC3-SHA") {
            let mut builder = SslContextBuilder::new(openssl::ssl::SslMethod::tls()).unwrap();
            let policy = policy_with(vec![gcm, triple_des]);
            match configure(&mut builder, &policy) {
                Err(BackendError::Unsupported {
                    setting: "ciphers",
                    value,
                    ..
                }) => {
                    assert_eq!(value, "TLS_RSA_WITH_3DES_EDE_CBC_SHA")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    fn policy_with(ciphers: Vec<CipherSuite>) -> ServerPolicy {
        use tls_policy_backend::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        ServerPolicy {
            name: "t".into(),
            cert_chain: Vec::new(),
            private_key: tls_policy_backend::PrivateKey {
                der: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(Vec::new())),
                pkcs8: PrivatePkcs8KeyDer::from(Vec::new()),
            },
            trusted: Vec::new(),
            path_links: Vec::new(),
            crls: Vec::new(),
            client_auth: tls_policy_backend::ClientAuth::None,
            trust_all: false,
            tls_versions: vec![TlsVersion::Tls12, TlsVersion::Tls13],
            ciphers: Some(ciphers),
            verify_hostname: false,
            session_resumption: true,
            session_ticket_keys: None,
            allowed_peers: None,
        }
    }
}
