//! The validation of a responder's answer against the issuer: every RFC 6960 check, listed in
//! the [module documentation](crate::ocsp), before a response may be stapled.

use std::time::{Duration, SystemTime};

use der::asn1::AnyRef;
use der::{Decode, Encode, Reader, SliceReader};
use x509_ocsp::{
    BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus, ResponderId, SingleResponse,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::{
    digest, malformed, parse_cert, sha1, OcspError, ID_KP_OCSP_SIGNING, ID_PKIX_OCSP_BASIC,
    ID_SHA1, ID_SHA256,
};

/// How far in the future a response's `thisUpdate` may be (the responder's clock ahead of ours).
pub(crate) const CLOCK_SKEW: Duration = Duration::from_secs(300);

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
/// [module documentation](crate::ocsp) for the checks. Only a response that passes all of them, about a
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
