//! OCSP stapling (issue 10, part 2): the certificate's responder URL and the request for its
//! status, the validation of a responder's answer against the issuer, the fetch, the refresh
//! schedule and the background stapler.
//!
//! One job per file: `request` (responder URLs and the DER request), `validate` (RFC 6960
//! checks of an answer, [`validate_response`]), `refresh` (when to fetch again, the backoff),
//! [`fetch`] (the bounded HTTP exchange), [`stapler`] (the task that keeps a staple fresh) and
//! `serve` (the staplers `TlsChannels` runs: one for each policy bound to a channel with
//! `ocsp_stapling_enabled=true`, rustls backends). The first three do no I/O; their items are
//! re-exported here.
//!
//! [`validate_response`] accepts a response only when every RFC 6960 check passes:
//! - the response status is `successful` and its type is `id-pkix-ocsp-basic`;
//! - the signer is authorised: the issuer itself, or a delegated responder certificate carried in
//!   the response, signed by the issuer and with the `id-kp-OCSPSigning` extended key usage
//!   (currently valid), whose `ResponderID` (by name or by key hash) matches;
//! - the signature over the raw `tbsResponseData` verifies with the signer's key;
//! - one `SingleResponse` has a `CertID` matching the certificate (issuer name and key hash with
//!   SHA-1 or SHA-256, and serial number);
//! - `thisUpdate` is not in the future (with five minutes of clock skew allowed) and `nextUpdate`, when
//!   present, is not past;
//! - the status is `good`. A `revoked` or `unknown` status is an error: it is never stapled.

mod refresh;
mod request;
mod validate;

pub mod fetch;
pub(crate) mod serve;
pub mod stapler;

#[cfg(test)]
mod tests;

pub(crate) use refresh::retry_after;
pub use refresh::MIN_BACKOFF;
#[cfg(test)]
use refresh::{MAX_BACKOFF, NO_NEXT_UPDATE_REFRESH};
pub use request::request_der;
pub(crate) use request::responder_urls;
pub use validate::{validate_response, ValidResponse};

use der::asn1::ObjectIdentifier;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

/// `id-ad-ocsp`: the access method of an OCSP responder in Authority Information Access.
const ID_AD_OCSP: &str = "1.3.6.1.5.5.7.48.1";
/// `id-pkix-ocsp-basic`: the only response type there is.
const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// `id-kp-OCSPSigning`.
const ID_KP_OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// Why a certificate's OCSP request could not be built or a response was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
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

// === the DER and hash helpers the request and the validation share ===

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

fn digest(alg: &'static ring::digest::Algorithm, data: &[u8]) -> Vec<u8> {
    ring::digest::digest(alg, data).as_ref().to_vec()
}

fn sha1(data: &[u8]) -> Vec<u8> {
    digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
}
