//! Compiles a [`ServerPolicy`] into a rustls [`ServerConfig`] on one backend's crypto provider.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::ResolvesServerCert;
use rustls::sign::{CertifiedKey, SigningKey, SingleCertAndKey};
use rustls::version::{TLS12, TLS13};
use rustls::{InconsistentKeys, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};
use tls_policy_backend::{BackendError, CipherSuite, ServerOptions, ServerPolicy, TlsVersion};

use crate::client_verifier;
use crate::peer_admission;
use crate::provider::RustlsBackend;
use crate::stapling::StaplingResolver;

/// Builds the server config for `policy` with `backend`'s provider.
///
/// - `tls_versions` become rustls protocol versions; `ciphers`, when given, replace the
///   provider's suites in the policy's order, and the server then prefers that order over the
///   client's.
/// - The key must match the first certificate of the chain.
/// - Session resumption: rustls's in-memory session cache, plus stateless session tickets
///   (TLS 1.2 tickets and TLS 1.3 resumption). With `session_ticket_keys`, tickets are sealed
///   with the fleet's shared keys (`shared_ticketer`: the same bytes on aws-lc-rs and ring, so
///   any replica resumes any other's sessions); without, by the provider's own ticketer (key
///   rotated every 6 hours), and should that key not be made, a warning and the cache alone.
///   `session_resumption=false` turns both off, and refuses `session_ticket_keys`.
/// - `options.ocsp_stapling`: the certificate is served by a [`StaplingResolver`] (returned, so
///   that the background stapler can set its staple); otherwise by a `SingleCertAndKey`.
pub(crate) fn build(
    backend: &RustlsBackend,
    policy: &ServerPolicy,
    options: &ServerOptions,
) -> Result<(ServerConfig, Option<Arc<StaplingResolver>>), BackendError> {
    let name = tls_policy_backend::TlsBackend::name(backend);
    let versions = protocol_versions(&policy.tls_versions)?;
    let provider = select_ciphers(backend.provider(), policy.ciphers.as_deref(), name)?;
    check_versions_have_suites(&provider, &policy.tls_versions)?;

    let key = certified_key(&provider, policy, name)?;
    check_key_has_suites(&provider, &policy.tls_versions, &*key.key, policy)?;

    let verifier =
        peer_admission::gate_clients(policy, options, client_verifier::build(policy, &provider)?)?;
    let stapling = options
        .ocsp_stapling
        .then(|| Arc::new(StaplingResolver::new(key.clone())));
    let resolver: Arc<dyn ResolvesServerCert> = match &stapling {
        Some(stapling) => stapling.clone(),
        None => Arc::new(SingleCertAndKey::from(key)),
    };
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|err| BackendError::Rejected {
            setting: "tls_versions",
            message: err.to_string(),
        })?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver);
    Ok((resumption(backend, policy, options, config)?, stapling))
}

/// ALPN, cipher order and session resumption (see [`build`]).
fn resumption(
    backend: &RustlsBackend,
    policy: &ServerPolicy,
    options: &ServerOptions,
    mut config: ServerConfig,
) -> Result<ServerConfig, BackendError> {
    let name = tls_policy_backend::TlsBackend::name(backend);

    config.alpn_protocols = options.alpn_protocols.clone();
    config.ignore_client_order = policy.ciphers.is_some();
    if !policy.session_resumption {
        if policy.session_ticket_keys.is_some() {
            return Err(BackendError::Rejected {
                setting: "session_ticket_keys",
                message: "session-ticket keys are set, but session_resumption=false switches                           resumption (and so tickets) off"
                    .to_owned(),
            });
        }
        // No cache, no tickets: every handshake is a full one.
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        return Ok(config);
    }
    if let Some(keys) = &policy.session_ticket_keys {
        config.ticketer = backend.make_shared_ticketer(keys)?;
        return Ok(config);
    }
    match backend.make_ticketer() {
        Ok(ticketer) => config.ticketer = ticketer,
        Err(err) => tracing::warn!(
            policy = %policy.name,
            "{name}: no session tickets, the ticket key could not be made ({err}); \
             sessions still resume from the server's session cache"
        ),
    }
    Ok(config)
}

pub(crate) fn protocol_versions(
    versions: &[TlsVersion],
) -> Result<Vec<&'static SupportedProtocolVersion>, BackendError> {
    if versions.is_empty() {
        return Err(BackendError::Rejected {
            setting: "tls_versions",
            message: "no TLS version configured".to_owned(),
        });
    }
    let mut out = Vec::with_capacity(versions.len());
    for version in versions {
        let rustls_version = rustls_version(*version);
        if !out.contains(&rustls_version) {
            out.push(rustls_version);
        }
    }
    Ok(out)
}

fn rustls_version(version: TlsVersion) -> &'static SupportedProtocolVersion {
    match version {
        TlsVersion::Tls12 => &TLS12,
        TlsVersion::Tls13 => &TLS13,
    }
}

/// The provider to build with: `base` itself, or a copy limited to `ciphers` in that order.
pub(crate) fn select_ciphers(
    base: &Arc<CryptoProvider>,
    ciphers: Option<&[CipherSuite]>,
    backend: &'static str,
) -> Result<Arc<CryptoProvider>, BackendError> {
    let Some(ciphers) = ciphers else {
        return Ok(base.clone());
    };
    if ciphers.is_empty() {
        return Err(BackendError::Rejected {
            setting: "ciphers",
            message: "the list is empty".to_owned(),
        });
    }
    let mut selected: Vec<SupportedCipherSuite> = Vec::with_capacity(ciphers.len());
    let mut missing = Vec::new();
    for wanted in ciphers {
        match base
            .cipher_suites
            .iter()
            .find(|suite| u16::from(suite.suite()) == wanted.code())
        {
            Some(suite) if !selected.contains(suite) => selected.push(*suite),
            Some(_) => {}
            None => missing.push(wanted.name()),
        }
    }
    if !missing.is_empty() {
        return Err(BackendError::Rejected {
            setting: "ciphers",
            message: format!(
                "{} {} not supported by the {backend} backend; it supports {}",
                missing.join(", "),
                if missing.len() == 1 { "is" } else { "are" },
                suite_names(&base.cipher_suites),
            ),
        });
    }
    Ok(Arc::new(CryptoProvider {
        cipher_suites: selected,
        ..CryptoProvider::clone(base)
    }))
}

/// Refuses a suite list that leaves no configured version usable; warns about a version left
/// without suites (it will never be negotiated).
pub(crate) fn check_versions_have_suites(
    provider: &CryptoProvider,
    versions: &[TlsVersion],
) -> Result<(), BackendError> {
    let without: Vec<TlsVersion> = versions
        .iter()
        .copied()
        .filter(|version| {
            !provider
                .cipher_suites
                .iter()
                .any(|suite| suite.version() == rustls_version(*version))
        })
        .collect();
    if without.len() == versions.len() {
        return Err(BackendError::Rejected {
            setting: "ciphers",
            message: format!(
                "no listed suite can be used with tls_versions={} (listed: {})",
                version_list(versions),
                suite_names(&provider.cipher_suites),
            ),
        });
    }
    for version in without {
        tracing::warn!(
            %version,
            "no suite in `ciphers` belongs to {version}: it is configured but will never be negotiated"
        );
    }
    Ok(())
}

/// Loads the key with the provider and checks it belongs to the chain's first certificate.
pub(crate) fn certified_key(
    provider: &CryptoProvider,
    policy: &ServerPolicy,
    backend: &'static str,
) -> Result<CertifiedKey, BackendError> {
    if policy.cert_chain.is_empty() {
        return Err(BackendError::Rejected {
            setting: "public_certificate",
            message: "the certificate chain is empty".to_owned(),
        });
    }
    let key = provider
        .key_provider
        .load_private_key(policy.private_key.der.clone_key())
        .map_err(|err| BackendError::Rejected {
            setting: "private_key",
            message: format!("the {backend} backend cannot use this key: {err}"),
        })?;
    let certified = CertifiedKey::new(policy.cert_chain.clone(), key);
    match certified.keys_match() {
        Ok(()) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            Err(BackendError::Rejected {
                setting: "private_key",
                message: "the key does not match the public key of the certificate \
                          (the first one in public_certificate)"
                    .to_owned(),
            })
        }
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => {
            tracing::warn!(
                policy = %policy.name,
                "the {backend} backend cannot derive the public key of private_key; \
                 not checking it matches the certificate"
            );
            Ok(certified)
        }
        Err(err) => Err(BackendError::Rejected {
            setting: "public_certificate",
            message: format!("the certificate cannot be parsed: {err}"),
        }),
    }
}

/// Refuses a configuration where no usable suite can sign with the key (TLS 1.2 suites are
/// tied to RSA or ECDSA keys; TLS 1.3 suites take any).
fn check_key_has_suites(
    provider: &CryptoProvider,
    versions: &[TlsVersion],
    key: &dyn SigningKey,
    policy: &ServerPolicy,
) -> Result<(), BackendError> {
    let algorithm = key.algorithm();
    let usable = provider.cipher_suites.iter().any(|suite| {
        versions
            .iter()
            .any(|version| suite.version() == rustls_version(*version))
            && suite.usable_for_signature_algorithm(algorithm)
    });
    if usable {
        return Ok(());
    }
    Err(BackendError::Rejected {
        setting: if policy.ciphers.is_some() {
            "ciphers"
        } else {
            "private_key"
        },
        message: format!(
            "no suite usable with tls_versions={} can sign with the certificate's {algorithm:?} key \
             (suites: {})",
            version_list(versions),
            suite_names(&provider.cipher_suites),
        ),
    })
}

// === names for messages ===

fn suite_name(suite: &SupportedCipherSuite) -> String {
    CipherSuite::from_code(u16::from(suite.suite()))
        .map(|known| known.name().to_owned())
        .unwrap_or_else(|| format!("{:?}", suite.suite()))
}

fn suite_names(suites: &[SupportedCipherSuite]) -> String {
    suites.iter().map(suite_name).collect::<Vec<_>>().join(", ")
}

fn version_list(versions: &[TlsVersion]) -> String {
    versions
        .iter()
        .map(|version| version.as_str())
        .collect::<Vec<_>>()
        .join(",")
}
