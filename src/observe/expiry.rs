//! `tls_policy_certificate_expiry_seconds` and `tls_policy_crl_next_update_seconds`: how long
//! until each policy's certificate expires, and until each of its CRLs is past its nextUpdate.

use std::collections::{BTreeSet, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use tls_policy_backend::ServerPolicy;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::catalog::{CERTIFICATE_EXPIRY, CRL_NEXT_UPDATE};
use crate::config::{Settings, LEGACY_POLICY};
use crate::load::legacy::legacy_cert_path;
use crate::load::{load_revoked_dir, read_cert_file, summarize_crl};

/// Now, in seconds since the Unix epoch.
fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Seconds from now until `certificate`'s notAfter (negative once it has passed); `None` if it
/// does not parse.
pub(crate) fn seconds_until_expiry(certificate: &CertificateDer<'_>) -> Option<f64> {
    let (_, x509) = X509Certificate::from_der(certificate.as_ref()).ok()?;
    let not_after = x509.validity().not_after.timestamp() as f64;
    Some(not_after - now_seconds())
}

/// Sets `tls_policy_crl_next_update_seconds{policy, crl}` for each CRL of `crls`, the revocation
/// lists `policy` enforces: seconds until its nextUpdate (negative once past), labelled `crl`
/// with its issuer's distinguished name, a label that stays the same when the CA publishes the
/// next CRL. When several CRLs share an issuer the first one counts, as in the verifier.
/// Returns each `(issuer, seconds)` set; a CRL that does not parse or has no nextUpdate (the
/// loader refuses both) is skipped.
pub(crate) fn record_crl_next_update(
    policy: &str,
    crls: &[CertificateRevocationListDer<'_>],
) -> Vec<(String, f64)> {
    let now = now_seconds();
    let mut seen = HashSet::new();
    let mut recorded = Vec::new();
    for crl in crls {
        let Ok(summary) = summarize_crl(crl.as_ref()) else {
            continue;
        };
        let Some(next_update) = summary.next_update else {
            continue;
        };
        if !seen.insert(summary.issuer.clone()) {
            continue;
        }
        let seconds = next_update as f64 - now;
        metrics::gauge!(
            CRL_NEXT_UPDATE,
            "policy" => policy.to_string(),
            "crl" => summary.issuer.clone()
        )
        .set(seconds);
        recorded.push((summary.issuer, seconds));
    }
    recorded
}

/// Sets `tls_policy_certificate_expiry_seconds{policy}` from `leaf`, the certificate the policy
/// serves; returns the value set, or `None` (and sets nothing) when it does not parse.
pub(crate) fn record_certificate_expiry(policy: &str, leaf: &CertificateDer<'_>) -> Option<f64> {
    let seconds = seconds_until_expiry(leaf)?;
    metrics::gauge!(CERTIFICATE_EXPIRY, "policy" => policy.to_string()).set(seconds);
    Some(seconds)
}

/// Sets the expiry gauge of a loaded policy from the first certificate of its chain, and the
/// nextUpdate gauge of each of its CRLs; call it after loading or
/// reloading a policy. Returns the certificate's seconds until expiry.
pub fn record_policy_expiry(policy: &ServerPolicy) -> Option<f64> {
    record_crl_next_update(&policy.name, &policy.crls);
    record_certificate_expiry(&policy.name, policy.cert_chain.first()?)
}

/// Sets the expiry gauge of every policy a channel of `settings` is bound to, reading each
/// one's `public_certificate` (the legacy system's `neo4j.cert`), and the nextUpdate gauge of
/// each CRL of its `revoked_dir` (unless `trust_all`, under which CRLs play no part); call it
/// after [`crate::TlsChannels::load`] succeeded.
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
            if !policy_settings.trust_all {
                record_revoked_dir(policy, &policy_settings.revoked_dir);
            }
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

/// Sets the nextUpdate gauges from the CRLs of `dir`, the `revoked_dir` of `policy`; a directory
/// that cannot be read now (it was loaded moments ago) is logged and skipped.
fn record_revoked_dir(policy: &str, dir: &std::path::Path) {
    match load_revoked_dir(policy, dir) {
        Ok(files) => {
            let crls: Vec<_> = files.into_iter().flat_map(|file| file.items).collect();
            record_crl_next_update(policy, &crls);
        }
        Err(error) => {
            tracing::warn!(policy, path = %dir.display(), %error, "CRL nextUpdate not recorded")
        }
    }
}
