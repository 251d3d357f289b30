//! OCSP building blocks for stapling (issue 10, part 2): the certificate's responder URL, the
//! request for its status, and the validation of a responder's answer against the issuer.
//!
//! These functions do no I/O: [`fetch`] gets the answer, [`stapler`] keeps it fresh in the
//! background, and `TlsChannels` starts a stapler for each policy bound to a channel with
//! `ocsp_stapling_enabled=true` (rustls backends).
//!
//! [`validate_response`] accepts a response only when every RFC 6960 check passes:
//! - the response status is `successful` and its type is `id-pkix-ocsp-basic`;
//! - the signer is authorised: the issuer itself, or a delegated responder certificate carried in
//!   the response, signed by the issuer and with the `id-kp-OCSPSigning` extended key usage
//!   (currently valid), whose `ResponderID` (by name or by key hash) matches;
//! - the signature over the raw `tbsResponseData` verifies with the signer's key;
//! - one `SingleResponse` has a `CertID` matching the certificate (issuer name and key hash with
//!   SHA-1 or SHA-256, and serial number);
//! - `thisUpdate` is not in the future (with [`CLOCK_SKEW`] allowed) and `nextUpdate`, when
//!   present, is not past;
//! - the status is `good`. A `revoked` or `unknown` status is an error: it is never stapled.

use std::time::{Duration, SystemTime};

use der::asn1::{AnyRef, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Reader, SliceReader};
use spki::AlgorithmIdentifierOwned;
use x509_cert::serial_number::SerialNumber;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, SingleResponse, TbsRequest,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

/// `id-ad-ocsp`: the access method of an OCSP responder in Authority Information Access.
const ID_AD_OCSP: &str = "1.3.6.1.5.5.7.48.1";
/// `id-pkix-ocsp-basic`: the only response type there is.
const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// `id-kp-OCSPSigning`.
const ID_KP_OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// How far in the future a response's `thisUpdate` may be (the responder's clock ahead of ours).
pub const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// Why a certificate's OCSP request could not be built or a response was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OcspError {
    /// A certificate or the response does not parse.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What failed to parse.
        what: &'static str,
        /// The parser's message.
        detail: String,
    },
    /// The responder answered with an error status (`malformedRequest`, `tryLater`, ...).
    #[error("the responder answered {0}")]
    NotSuccessful(String),
    /// The response is not an `id-pkix-ocsp-basic` response.
    #[error("the response type is not id-pkix-ocsp-basic")]
    NotBasic,
    /// Neither the issuer nor a delegated responder it signed (with id-kp-OCSPSigning) matches
    /// the response's ResponderID.
    #[error("the response is not signed by the issuer or a responder it authorised")]
    UnauthorisedResponder,
    /// The signature over the response data does not verify with the responder's key.
    #[error("the response's signature does not verify")]
    BadSignature,
    /// No SingleResponse is about this certificate.
    #[error("the response is not about this certificate (no matching CertID)")]
    NoMatchingCertId,
    /// `thisUpdate` is in the future.
    #[error("the response is not yet valid (thisUpdate in the future)")]
    NotYetValid,
    /// `nextUpdate` is past.
    #[error("the response has expired (nextUpdate past)")]
    Expired,
    /// The certificate is revoked: never staple this.
    #[error("the certificate is revoked")]
    Revoked,
    /// The responder does not know the certificate.
    #[error("the responder does not know the certificate (status unknown)")]
    Unknown,
}

fn malformed(what: &'static str, detail: impl ToString) -> OcspError {
    OcspError::Malformed {
        what,
        detail: detail.to_string(),
    }
}

fn parse_cert<'a>(what: &'static str, der: &'a [u8]) -> Result<X509Certificate<'a>, OcspError> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|e| malformed(what, e))
}

/// The OCSP responder URLs named in the certificate's Authority Information Access extension,
/// in order; empty when it names none (the channel then serves without a staple).
pub fn responder_urls(cert_der: &[u8]) -> Result<Vec<String>, OcspError> {
    let cert = parse_cert("certificate", cert_der)?;
    let mut urls = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
            for desc in &aia.accessdescs {
                if desc.access_method.to_id_string() == ID_AD_OCSP {
                    if let GeneralName::URI(uri) = &desc.access_location {
                        urls.push((*uri).to_owned());
                    }
                }
            }
        }
    }
    Ok(urls)
}

fn digest(alg: &'static ring::digest::Algorithm, data: &[u8]) -> Vec<u8> {
    ring::digest::digest(alg, data).as_ref().to_vec()
}

fn sha1(data: &[u8]) -> Vec<u8> {
    digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
}

/// The certificate's CertID with SHA-1 hashes, the form every responder answers (RFC 5019).
fn cert_id(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> Result<CertId, OcspError> {
    let octets = |bytes: Vec<u8>| OctetString::new(bytes).map_err(|e| malformed("CertID", e));
    Ok(CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: ID_SHA1,
            parameters: Some(der::asn1::Null.into()),
        },
        issuer_name_hash: octets(sha1(issuer.subject().as_raw()))?,
        issuer_key_hash: octets(sha1(&issuer.public_key().subject_public_key.data))?,
        serial_number: SerialNumber::new(cert.raw_serial())
            .map_err(|e| malformed("certificate serial number", e))?,
    })
}

/// The DER `OCSPRequest` for the certificate (unsigned, one request, SHA-1 CertID, no nonce so
/// that responders and caches may answer with a pre-signed response), to POST to the responder
/// as `application/ocsp-request` or base64 in a GET's path.
pub fn request_der(cert_der: &[u8], issuer_der: &[u8]) -> Result<Vec<u8>, OcspError> {
    let cert = parse_cert("certificate", cert_der)?;
    let issuer = parse_cert("issuer certificate", issuer_der)?;
    let request = OcspRequest {
        tbs_request: TbsRequest {
            version: x509_ocsp::Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: cert_id(&cert, &issuer)?,
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    };
    request.to_der().map_err(|e| malformed("OCSP request", e))
}

/// A response that passed every check of [`validate_response`]: staple `der` as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidResponse {
    /// The whole `OCSPResponse`, as the responder sent it.
    pub der: Vec<u8>,
    /// `producedAt`.
    pub produced_at: SystemTime,
    /// The certificate's `thisUpdate`.
    pub this_update: SystemTime,
    /// The certificate's `nextUpdate`; `None` when the responder promises none (newer
    /// information may be available at any time).
    pub next_update: Option<SystemTime>,
}

/// The raw DER of the first element of the `BasicOCSPResponse` SEQUENCE: the bytes signed.
fn raw_tbs(basic_der: &[u8]) -> Result<&[u8], OcspError> {
    let outer = AnyRef::from_der(basic_der).map_err(|e| malformed("BasicOCSPResponse", e))?;
    let mut reader =
        SliceReader::new(outer.value()).map_err(|e| malformed("BasicOCSPResponse", e))?;
    reader
        .tlv_bytes()
        .map_err(|e| malformed("BasicOCSPResponse", e))
}

/// Does `id` name this certificate (by subject, or by the SHA-1 of its public key)?
fn responder_id_matches(id: &ResponderId, cert: &X509Certificate<'_>) -> bool {
    match id {
        ResponderId::ByName(name) => name
            .to_der()
            .is_ok_and(|name| name.as_slice() == cert.subject().as_raw()),
        ResponderId::ByKey(hash) => {
            hash.as_bytes() == sha1(&cert.public_key().subject_public_key.data).as_slice()
        }
    }
}

/// A delegated responder: signed by the issuer, id-kp-OCSPSigning, valid now.
fn authorised_delegate(
    delegate: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
    now: SystemTime,
) -> bool {
    if delegate.issuer().as_raw() != issuer.subject().as_raw()
        || delegate
            .verify_signature(Some(issuer.public_key()))
            .is_err()
    {
        return false;
    }
    let signing = delegate
        .extended_key_usage()
        .ok()
        .flatten()
        .is_some_and(|eku| {
            eku.value.ocsp_signing
                || eku
                    .value
                    .other
                    .iter()
                    .any(|oid| oid.to_id_string() == ID_KP_OCSP_SIGNING)
        });
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let valid = i64::try_from(secs)
        .ok()
        .and_then(|secs| x509_parser::time::ASN1Time::from_timestamp(secs).ok())
        .is_some_and(|now| delegate.validity().is_valid_at(now));
    signing && valid
}

/// Checks the signature over `tbs` with `signer`'s key, the algorithm being the response's.
fn signature_verifies(
    basic: &BasicOcspResponse,
    tbs: &[u8],
    signer: &X509Certificate<'_>,
) -> Result<bool, OcspError> {
    let alg_der = basic
        .signature_algorithm
        .to_der()
        .map_err(|e| malformed("signature algorithm", e))?;
    let (_, alg) = x509_parser::x509::AlgorithmIdentifier::from_der(&alg_der)
        .map_err(|e| malformed("signature algorithm", e))?;
    let signature = basic
        .signature
        .as_bytes()
        .ok_or_else(|| malformed("signature", "not a whole number of bytes"))?;
    let signature = x509_parser::der_parser::asn1_rs::BitString::new(0, signature);
    Ok(x509_parser::verify::verify_signature(signer.public_key(), &alg, &signature, tbs).is_ok())
}

fn single_matches(
    single: &SingleResponse,
    cert: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
) -> bool {
    let id = &single.cert_id;
    let hash: fn(&[u8]) -> Vec<u8> = if id.hash_algorithm.oid == ID_SHA1 {
        sha1
    } else if id.hash_algorithm.oid == ID_SHA256 {
        |data| digest(&ring::digest::SHA256, data)
    } else {
        return false;
    };
    id.issuer_name_hash.as_bytes() == hash(issuer.subject().as_raw()).as_slice()
        && id.issuer_key_hash.as_bytes()
            == hash(&issuer.public_key().subject_public_key.data).as_slice()
        && id.serial_number.as_bytes() == cert.raw_serial()
}

/// Validates a responder's answer for `cert_der` issued by `issuer_der`, at `now`: see the
/// module documentation for the checks. Only a response that passes all of them, about a
/// certificate whose status is `good`, is returned.
pub fn validate_response(
    response_der: &[u8],
    cert_der: &[u8],
    issuer_der: &[u8],
    now: SystemTime,
) -> Result<ValidResponse, OcspError> {
    let cert = parse_cert("certificate", cert_der)?;
    let issuer = parse_cert("issuer certificate", issuer_der)?;
    let response =
        OcspResponse::from_der(response_der).map_err(|e| malformed("OCSPResponse", e))?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(OcspError::NotSuccessful(format!(
            "{:?}",
            response.response_status
        )));
    }
    let bytes = response.response_bytes.ok_or(OcspError::NotBasic)?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(OcspError::NotBasic);
    }
    let basic_der = bytes.response.as_bytes();
    let basic =
        BasicOcspResponse::from_der(basic_der).map_err(|e| malformed("BasicOCSPResponse", e))?;
    let tbs = raw_tbs(basic_der)?;
    let data = &basic.tbs_response_data;

    // The signer: the issuer itself, else a delegated responder carried in the response.
    let delegates: Vec<Vec<u8>> = basic
        .certs
        .iter()
        .flatten()
        .filter_map(|c| c.to_der().ok())
        .collect();
    let mut authorised = false;
    let mut verified = false;
    if responder_id_matches(&data.responder_id, &issuer) {
        authorised = true;
        verified = signature_verifies(&basic, tbs, &issuer)?;
    }
    if !verified {
        for der in &delegates {
            let Ok(delegate) = parse_cert("responder certificate", der) else {
                continue;
            };
            if responder_id_matches(&data.responder_id, &delegate)
                && authorised_delegate(&delegate, &issuer, now)
            {
                authorised = true;
                if signature_verifies(&basic, tbs, &delegate)? {
                    verified = true;
                    break;
                }
            }
        }
    }
    if !authorised {
        return Err(OcspError::UnauthorisedResponder);
    }
    if !verified {
        return Err(OcspError::BadSignature);
    }

    let single = data
        .responses
        .iter()
        .find(|single| single_matches(single, &cert, &issuer))
        .ok_or(OcspError::NoMatchingCertId)?;
    let this_update = single.this_update.0.to_system_time();
    let next_update = single.next_update.map(|t| t.0.to_system_time());
    if this_update > now + CLOCK_SKEW {
        return Err(OcspError::NotYetValid);
    }
    if next_update.is_some_and(|next| next <= now) {
        return Err(OcspError::Expired);
    }
    match single.cert_status {
        CertStatus::Good(_) => {}
        CertStatus::Revoked(_) => return Err(OcspError::Revoked),
        CertStatus::Unknown(_) => return Err(OcspError::Unknown),
    }
    Ok(ValidResponse {
        der: response_der.to_vec(),
        produced_at: data.produced_at.0.to_system_time(),
        this_update,
        next_update,
    })
}

/// How long a response without `nextUpdate` is kept before it is fetched again.
pub const NO_NEXT_UPDATE_REFRESH: Duration = Duration::from_secs(3600);
/// The first retry after a failed fetch; it doubles on each failure up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_secs(10);
/// The longest wait between two failed fetches.
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);

impl ValidResponse {
    /// When to fetch a fresh response: at half its validity (`thisUpdate` to `nextUpdate`),
    /// or [`NO_NEXT_UPDATE_REFRESH`] after `thisUpdate` when it has no `nextUpdate`; never
    /// before `now` (a response already past its half is refreshed at once).
    pub fn refresh_at(&self, now: SystemTime) -> SystemTime {
        let at = match self.next_update {
            Some(next) => {
                let half = next
                    .duration_since(self.this_update)
                    .unwrap_or(Duration::ZERO)
                    / 2;
                self.this_update + half
            }
            None => self.this_update + NO_NEXT_UPDATE_REFRESH,
        };
        at.max(now)
    }

    /// Whether the response may still be stapled at `now` (its `nextUpdate` not past): a
    /// failed refresh keeps the last good response until then, and drops it after.
    pub fn is_current(&self, now: SystemTime) -> bool {
        self.next_update.is_none_or(|next| next > now)
    }

    /// Seconds since `thisUpdate` (the `tls_policy_ocsp_response_age_seconds` gauge).
    pub fn age_seconds(&self, now: SystemTime) -> f64 {
        now.duration_since(self.this_update)
            .map_or(0.0, |d| d.as_secs_f64())
    }

    /// Seconds until `nextUpdate`, negative once past, `None` without one (the
    /// `tls_policy_ocsp_next_update_seconds` gauge).
    pub fn next_update_seconds(&self, now: SystemTime) -> Option<f64> {
        self.next_update.map(|next| match next.duration_since(now) {
            Ok(left) => left.as_secs_f64(),
            Err(past) => -past.duration().as_secs_f64(),
        })
    }
}

/// The wait before retrying after `failures` consecutive failed fetches (1 for the first):
/// [`MIN_BACKOFF`] doubled per further failure, capped at [`MAX_BACKOFF`], and never past
/// the last good response's expiry (`keep_until`) when there is one, so that a fetch is tried
/// again before the staple is dropped.
pub fn retry_after(failures: u32, now: SystemTime, keep_until: Option<SystemTime>) -> Duration {
    let doubled = MIN_BACKOFF.saturating_mul(1_u32 << failures.saturating_sub(1).min(16));
    let wait = doubled.min(MAX_BACKOFF);
    match keep_until.and_then(|until| until.duration_since(now).ok()) {
        Some(left) if left > Duration::ZERO => wait.min(left / 2).max(Duration::from_secs(1)),
        _ => wait,
    }
}

pub mod fetch;
pub(crate) mod serve;
pub mod stapler;

#[cfg(test)]
mod tests;
