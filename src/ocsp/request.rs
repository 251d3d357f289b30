//! The request side: the responder URLs a certificate names and the DER `OCSPRequest` for it.

use der::asn1::OctetString;
use der::Encode;
use spki::AlgorithmIdentifierOwned;
use x509_cert::serial_number::SerialNumber;
use x509_ocsp::{CertId, OcspRequest, Request, TbsRequest};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};

use super::{malformed, parse_cert, sha1, OcspError, ID_AD_OCSP, ID_SHA1};

/// The OCSP responder URLs named in the certificate's Authority Information Access extension,
/// in order; empty when it names none (the channel then serves without a staple).
pub(crate) fn responder_urls(cert_der: &[u8]) -> Result<Vec<String>, OcspError> {
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
