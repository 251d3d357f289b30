//! `tls_policy_certificate_expiry_seconds`: how long until each policy's certificate expires.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls_pki_types::CertificateDer;
use tls_policy_backend::ServerPolicy;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::metrics::CERTIFICATE_EXPIRY;
use crate::config::{Settings, LEGACY_POLICY};
use crate::load::legacy::legacy_cert_path;
use crate::load::read_cert_file;

/// Seconds from now until `certificate`'s notAfter (negative once it has passed); `None` if it
/// does not parse.
pub fn seconds_until_expiry(certificate: &CertificateDer<'_>) -> Option<f64> {
    let (_, x509) = X509Certificate::from_der(certificate.as_ref()).ok()?;
    let not_after = x509.validity().not_after.timestamp() as f64;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    Some(not_after - now)
}

/// Sets `tls_policy_certificate_expiry_seconds{policy}` from `leaf`, the certificate the policy
/// serves; returns the value set, or `None` (and sets nothing) when it does not parse.
pub fn record_certificate_expiry(policy: &str, leaf: &CertificateDer<'_>) -> Option<f64> {
    let seconds = seconds_until_expiry(leaf)?;
    metrics::gauge!(CERTIFICATE_EXPIRY, "policy" => policy.to_string()).set(seconds);
    Some(seconds)
}

/// Sets the expiry gauge of a loaded policy from the first certificate of its chain (call it
/// after loading or reloading a policy).
pub fn record_policy_expiry(policy: &ServerPolicy) -> Option<f64> {
    record_certificate_expiry(&policy.name, policy.cert_chain.first()?)
}

/// Sets the expiry gauge of every policy a channel of `settings` is bound to, reading each
/// one's `public_certificate` (the legacy system's `neo4j.cert`); call it after
/// [`crate::TlsChannels::load`] succeeded.
///
/// A certificate that cannot be read now (it was loaded moments ago) is logged and skipped.
/// Returns each policy recorded with its seconds until expiry.
pub fn record_settings_expiry(settings: &Settings) -> Vec<(String, f64)> {
    let policies: BTreeSet<&str> = settings
        .channels
        .values()
        .filter_map(|channel| channel.policy.as_deref())
        .collect();
    let mut recorded = Vec::new();
    for policy in policies {
        let path = if policy == LEGACY_POLICY {
            legacy_cert_path(settings)
        } else if let Some(policy_settings) = settings.policies.get(policy) {
            policy_settings.public_certificate.clone()
        } else {
            continue;
        };
        let leaf = match read_cert_file(&path) {
            Ok(chain) => chain.into_iter().next(),
            Err(error) => {
                tracing::warn!(policy, path = %path.display(), %error, "certificate expiry not recorded");
                None
            }
        };
        if let Some(seconds) = leaf.and_then(|leaf| record_certificate_expiry(policy, &leaf)) {
            recorded.push((policy.to_string(), seconds));
        }
    }
    recorded
}
