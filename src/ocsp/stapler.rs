//! The background task that keeps one certificate's staple fresh: fetch, validate, hand the
//! response to a sink (the rustls backend's `StaplingResolver::set_staple`), sleep until half its
//! validity, and on failure retry with backoff, keeping the last good response until it expires
//! (and not a moment longer: the expiry is watched while a fetch or a wait is under way). Never
//! on the handshake path; `TlsChannels` starts one per stapling policy.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::fetch::{fetch, FetchError};
use super::{
    request_der, responder_urls, retry_after, validate_response, OcspError, ValidResponse,
};

/// Receives `(end-entity certificate DER, staple or None)`; returns whether it applied it.
pub type Sink = Arc<dyn Fn(&[u8], Option<Vec<u8>>) -> bool + Send + Sync>;

/// The stapler's metrics, as [`crate::observe::METRICS`] names them.
use crate::observe::{
    OCSP_FETCH_FAILURES as FETCH_FAILURES, OCSP_NEXT_UPDATE as NEXT_UPDATE,
    OCSP_RESPONSE_AGE as RESPONSE_AGE,
};

/// How often a persisting failure is logged again after the first warning.
const WARN_EVERY: Duration = Duration::from_secs(600);

/// The certificate to staple for.
#[derive(Debug, Clone)]
pub struct Target {
    /// The policy's name (the metrics' `policy` label, the logs' `policy` field).
    pub policy: String,
    /// The served end-entity certificate, DER.
    pub cert: Vec<u8>,
    /// Its issuer (the next certificate in the chain, or a trusted certificate), DER.
    pub issuer: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Invalid(#[from] OcspError),
}

impl Failure {
    /// The `reason` label of [`crate::observe::OCSP_FETCH_FAILURES`].
    fn reason(&self) -> &'static str {
        match self {
            Failure::Fetch(FetchError::BadUrl(_)) => "url",
            Failure::Fetch(FetchError::Io { .. }) => "connect",
            Failure::Fetch(FetchError::Timeout(_)) => "timeout",
            Failure::Fetch(FetchError::BadAnswer { .. }) => "http",
            Failure::Invalid(OcspError::Malformed { .. } | OcspError::NotBasic) => "malformed",
            Failure::Invalid(OcspError::NotSuccessful(_)) => "responder_error",
            Failure::Invalid(OcspError::UnauthorisedResponder) => "unauthorised",
            Failure::Invalid(OcspError::BadSignature) => "signature",
            Failure::Invalid(OcspError::NoMatchingCertId) => "cert_id",
            Failure::Invalid(OcspError::NotYetValid) => "not_yet_valid",
            Failure::Invalid(OcspError::Expired) => "expired",
            Failure::Invalid(OcspError::Revoked) => "revoked",
            Failure::Invalid(OcspError::Unknown) => "unknown",
        }
    }
}

/// Waits until `at` (forever when `None`): the moment the stapled response expires.
async fn until(at: Option<SystemTime>) {
    match at {
        Some(at) => {
            let left = at
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            tokio::time::sleep(left).await;
        }
        None => std::future::pending().await,
    }
}

async fn fetch_valid(
    urls: &[String],
    request: &[u8],
    target: &Target,
    timeout: Duration,
) -> Result<ValidResponse, Failure> {
    let mut last = None;
    for url in urls {
        match fetch(url, request, timeout).await {
            Ok(body) => {
                return Ok(validate_response(
                    &body,
                    &target.cert,
                    &target.issuer,
                    SystemTime::now(),
                )?)
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .map(Failure::from)
        .unwrap_or(Failure::Fetch(FetchError::BadUrl(String::new()))))
}

/// Sets the two staple gauges of `policy` from `current` (NaN without a staple).
pub(crate) fn record(policy: &str, current: Option<&ValidResponse>) {
    let now = SystemTime::now();
    let age = metrics::gauge!(RESPONSE_AGE, "policy" => policy.to_owned());
    let next = metrics::gauge!(NEXT_UPDATE, "policy" => policy.to_owned());
    match current {
        Some(valid) => {
            age.set(valid.age_seconds(now));
            next.set(valid.next_update_seconds(now).unwrap_or(f64::NAN));
        }
        None => {
            age.set(f64::NAN);
            next.set(f64::NAN);
        }
    }
}

/// Runs until aborted (a reload aborts it and spawns one for the new certificate). Returns at
/// once, after one warning, when the certificate names no OCSP responder.
pub async fn run(target: Target, sink: Sink, timeout: Duration) {
    let policy = target.policy.as_str();
    let urls = match responder_urls(&target.cert) {
        Ok(urls) if !urls.is_empty() => urls,
        Ok(_) => {
            tracing::warn!(
                policy,
                "OCSP stapling: the certificate names no OCSP responder (Authority Information \
                 Access); serving without a staple"
            );
            return;
        }
        Err(error) => {
            tracing::warn!(policy, %error, "OCSP stapling: serving without a staple");
            return;
        }
    };
    let request = match request_der(&target.cert, &target.issuer) {
        Ok(request) => request,
        Err(error) => {
            tracing::warn!(policy, %error, "OCSP stapling: serving without a staple");
            return;
        }
    };
    let mut current: Option<ValidResponse> = None;
    let mut failures = 0_u32;
    let mut warned: Option<Instant> = None;
    record(policy, None);
    loop {
        // The staple in service is dropped the moment it expires, whatever is under way.
        let expiry = current.as_ref().and_then(|valid| valid.next_update);
        let outcome = tokio::select! {
            outcome = fetch_valid(&urls, &request, &target, timeout) => Some(outcome),
            () = until(expiry) => None,
        };
        let Some(outcome) = outcome else {
            expired(policy, &target, &sink, &mut current);
            continue;
        };
        let now = SystemTime::now();
        let wait = match outcome {
            Ok(valid) => {
                if failures > 0 {
                    tracing::info!(policy, "OCSP stapling: a fresh response is stapled again");
                }
                failures = 0;
                warned = None;
                sink(&target.cert, Some(valid.der.clone()));
                let at = valid.refresh_at(now);
                current = Some(valid);
                at.duration_since(now).unwrap_or(Duration::ZERO)
            }
            Err(failure) => {
                failures = failures.saturating_add(1);
                metrics::counter!(
                    FETCH_FAILURES,
                    "policy" => policy.to_owned(),
                    "reason" => failure.reason()
                )
                .increment(1);
                if matches!(failure, Failure::Invalid(OcspError::Revoked)) {
                    // Never staple "revoked"; serving the certificate is the operator's call.
                    tracing::error!(
                        policy,
                        "OCSP stapling: the responder says the certificate is REVOKED; no staple"
                    );
                    current = None;
                    sink(&target.cert, None);
                } else {
                    if warned.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
                        tracing::warn!(
                            policy,
                            error = %failure,
                            failures,
                            stapled = current.is_some(),
                            "OCSP stapling: no fresh response; keeping the last good one until \
                             it expires (none: serving without a staple)"
                        );
                        warned = Some(Instant::now());
                    }
                    if current.as_ref().is_some_and(|valid| !valid.is_current(now)) {
                        expired(policy, &target, &sink, &mut current);
                    }
                }
                let keep_until = current.as_ref().and_then(|valid| valid.next_update);
                retry_after(failures, now, keep_until)
            }
        };
        record(policy, current.as_ref());
        let expiry = current.as_ref().and_then(|valid| valid.next_update);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = until(expiry) => expired(policy, &target, &sink, &mut current),
        }
    }
}

/// Stops stapling a response past its `nextUpdate`.
fn expired(policy: &str, target: &Target, sink: &Sink, current: &mut Option<ValidResponse>) {
    if current.take().is_some() {
        tracing::warn!(
            policy,
            "OCSP stapling: the stapled response reached its nextUpdate with no fresh one; \
             serving without a staple"
        );
        sink(&target.cert, None);
        record(policy, None);
    }
}
