use std::time::{Duration, SystemTime};

use der::asn1::{BitString, GeneralizedTime, Null, ObjectIdentifier, OctetString};
use der::{DateTime, Decode, Encode};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, SigningKey,
};
use spki::AlgorithmIdentifierOwned;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    OcspResponseStatus, ResponderId, ResponseBytes, ResponseData, RevokedInfo, SingleResponse,
    Version,
};

use super::*;

const URL: &str = "http://127.0.0.1:9/ocsp";
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// The DER content of an Authority Information Access extension naming one OCSP responder.
fn aia(url: &str) -> Vec<u8> {
    let mut location = vec![0x86, url.len() as u8];
    location.extend_from_slice(url.as_bytes());
    let mut desc = vec![0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
    desc.extend(location);
    let mut desc_seq = vec![0x30, desc.len() as u8];
    desc_seq.extend(desc);
    let mut outer = vec![0x30, desc_seq.len() as u8];
    outer.extend(desc_seq);
    outer
}

struct Pki {
    ca_key: KeyPair,
    ca: Vec<u8>,
    leaf: Vec<u8>,
    delegate_key: KeyPair,
    delegate: Vec<u8>,
    /// A responder certificate without id-kp-OCSPSigning.
    plain_key: KeyPair,
    plain: Vec<u8>,
}

fn pki(with_aia: bool) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "OCSP test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap().der().to_vec();
    let issuer = Issuer::from_params(&ca_params, &ca_key);

    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf_params.serial_number = Some(rcgen::SerialNumber::from(0x1234_5678_u64));
    if with_aia {
        leaf_params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 5, 5, 7, 1, 1],
                aia(URL),
            ));
    }
    let leaf = leaf_params
        .signed_by(&leaf_key, &issuer)
        .unwrap()
        .der()
        .to_vec();

    let responder = |name: &str, ocsp_signing: bool| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        if ocsp_signing {
            params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::OcspSigning);
        }
        let cert = params.signed_by(&key, &issuer).unwrap().der().to_vec();
        (key, cert)
    };
    let (delegate_key, delegate) = responder("OCSP responder", true);
    let (plain_key, plain) = responder("Not a responder", false);
    Pki {
        ca_key,
        ca,
        leaf,
        delegate_key,
        delegate,
        plain_key,
        plain,
    }
}

fn time(t: SystemTime) -> OcspGeneralizedTime {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    OcspGeneralizedTime(GeneralizedTime::from_date_time(
        DateTime::from_unix_duration(Duration::from_secs(secs)).unwrap(),
    ))
}

struct Spec<'a> {
    status: CertStatus,
    this_update: SystemTime,
    next_update: Option<SystemTime>,
    /// The certificate whose subject names the responder, and its key.
    signer: (&'a [u8], &'a KeyPair),
    /// Certificates carried in the response.
    certs: Vec<&'a [u8]>,
    /// Flip a bit of the signature.
    forge: bool,
}

fn response(pki: &Pki, spec: Spec<'_>) -> Vec<u8> {
    // The CertID the request would carry: the one the responder echoes.
    let request = OcspRequest::from_der(&request_der(&pki.leaf, &pki.ca).unwrap()).unwrap();
    let cert_id: CertId = request.tbs_request.request_list[0].req_cert.clone();
    let (signer_cert, signer_key) = spec.signer;
    let signer = x509_cert::Certificate::from_der(signer_cert).unwrap();
    let data = ResponseData {
        version: Version::V1,
        responder_id: ResponderId::ByName(signer.tbs_certificate.subject.clone()),
        produced_at: time(spec.this_update),
        responses: vec![SingleResponse {
            cert_id,
            cert_status: spec.status,
            this_update: time(spec.this_update),
            next_update: spec.next_update.map(time),
            single_extensions: None,
        }],
        response_extensions: None,
    };
    let mut signature = signer_key.sign(&data.to_der().unwrap()).unwrap();
    if spec.forge {
        let last = signature.len() - 1;
        signature[last] ^= 1;
    }
    let basic = BasicOcspResponse {
        tbs_response_data: data,
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: ECDSA_SHA256,
            parameters: None,
        },
        signature: BitString::from_bytes(&signature).unwrap(),
        certs: (!spec.certs.is_empty()).then(|| {
            spec.certs
                .iter()
                .map(|der| x509_cert::Certificate::from_der(der).unwrap())
                .collect()
        }),
    };
    OcspResponse {
        response_status: OcspResponseStatus::Successful,
        response_bytes: Some(ResponseBytes {
            response_type: ID_PKIX_OCSP_BASIC,
            response: OctetString::new(basic.to_der().unwrap()).unwrap(),
        }),
    }
    .to_der()
    .unwrap()
}

fn good(pki: &Pki, now: SystemTime) -> Spec<'_> {
    Spec {
        status: CertStatus::Good(Null),
        this_update: now - Duration::from_secs(60),
        next_update: Some(now + Duration::from_secs(3600)),
        signer: (&pki.ca, &pki.ca_key),
        certs: Vec::new(),
        forge: false,
    }
}

#[test]
fn responder_url_is_read_from_the_authority_information_access() {
    let pki = pki(true);
    assert_eq!(responder_urls(&pki.leaf).unwrap(), vec![URL.to_owned()]);
    let pki = pki_without_aia();
    assert!(responder_urls(&pki.leaf).unwrap().is_empty());
}

fn pki_without_aia() -> Pki {
    pki(false)
}

#[test]
fn the_request_carries_the_sha1_cert_id_of_the_certificate() {
    let pki = pki(true);
    let request = OcspRequest::from_der(&request_der(&pki.leaf, &pki.ca).unwrap()).unwrap();
    let id = &request.tbs_request.request_list[0].req_cert;
    assert_eq!(id.hash_algorithm.oid, ID_SHA1);
    assert_eq!(id.serial_number.as_bytes(), &[0x12, 0x34, 0x56, 0x78]);
    assert_eq!(id.issuer_name_hash.as_bytes().len(), 20);
}

#[test]
fn a_good_response_signed_by_the_issuer_is_accepted() {
    let pki = pki(true);
    let now = SystemTime::now();
    let der = response(&pki, good(&pki, now));
    let valid = validate_response(&der, &pki.leaf, &pki.ca, now).unwrap();
    assert_eq!(valid.der, der);
    assert!(valid.next_update.unwrap() > now);
    assert!(valid.this_update < now);
}

#[test]
fn a_forged_signature_is_refused() {
    let pki = pki(true);
    let now = SystemTime::now();
    let spec = Spec {
        forge: true,
        ..good(&pki, now)
    };
    let der = response(&pki, spec);
    assert_eq!(
        validate_response(&der, &pki.leaf, &pki.ca, now),
        Err(OcspError::BadSignature)
    );
}

#[test]
fn a_response_signed_by_another_key_claiming_the_issuer_is_refused() {
    let pki = pki(true);
    let now = SystemTime::now();
    let spec = Spec {
        signer: (&pki.ca, &pki.plain_key),
        ..good(&pki, now)
    };
    let der = response(&pki, spec);
    assert_eq!(
        validate_response(&der, &pki.leaf, &pki.ca, now),
        Err(OcspError::BadSignature)
    );
}

#[test]
fn a_delegated_responder_with_ocsp_signing_is_accepted() {
    let pki = pki(true);
    let now = SystemTime::now();
    let spec = Spec {
        signer: (&pki.delegate, &pki.delegate_key),
        certs: vec![&pki.delegate],
        ..good(&pki, now)
    };
    let der = response(&pki, spec);
    validate_response(&der, &pki.leaf, &pki.ca, now).unwrap();
}

#[test]
fn a_responder_without_ocsp_signing_or_not_carried_is_not_authorised() {
    let pki = pki(true);
    let now = SystemTime::now();
    let plain = Spec {
        signer: (&pki.plain, &pki.plain_key),
        certs: vec![&pki.plain],
        ..good(&pki, now)
    };
    let der = response(&pki, plain);
    assert_eq!(
        validate_response(&der, &pki.leaf, &pki.ca, now),
        Err(OcspError::UnauthorisedResponder)
    );
    let absent = Spec {
        signer: (&pki.delegate, &pki.delegate_key),
        ..good(&pki, now)
    };
    let der = response(&pki, absent);
    assert_eq!(
        validate_response(&der, &pki.leaf, &pki.ca, now),
        Err(OcspError::UnauthorisedResponder)
    );
}

#[test]
fn a_response_about_another_certificate_is_refused() {
    let pki = pki(true);
    let other = pki_without_aia();
    let now = SystemTime::now();
    let der = response(&pki, good(&pki, now));
    // Same issuer name, other issuer key: the CertID does not match.
    assert!(validate_response(&der, &pki.leaf, &other.ca, now).is_err());
    // The other PKI's leaf has the same serial but another issuer: no matching CertID even when
    // checked against our CA (the signature is ours).
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.serial_number = Some(rcgen::SerialNumber::from(0x99_u64));
    let leaf_key = KeyPair::generate().unwrap();
    let ca_params = {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, "OCSP test CA");
        p
    };
    let issuer = Issuer::from_params(&ca_params, &pki.ca_key);
    let other_serial = params.signed_by(&leaf_key, &issuer).unwrap().der().to_vec();
    assert_eq!(
        validate_response(&der, &other_serial, &pki.ca, now),
        Err(OcspError::NoMatchingCertId)
    );
}

#[test]
fn revoked_and_unknown_are_never_accepted() {
    let pki = pki(true);
    let now = SystemTime::now();
    let revoked = Spec {
        status: CertStatus::Revoked(RevokedInfo {
            revocation_time: time(now - Duration::from_secs(3600)),
            revocation_reason: None,
        }),
        ..good(&pki, now)
    };
    let der = response(&pki, revoked);
    assert_eq!(
        validate_response(&der, &pki.leaf, &pki.ca, now),
        Err(OcspError::Revoked)
    );
    let unknown = Spec {
        status: CertStatus::Unknown(Null),
        ..good(&pki, now)
    };
    let der = response(&pki, unknown);
    assert_eq!(
        validate_response(&der, &pki.leaf, &pki.ca, now),
        Err(OcspError::Unknown)
    );
}

#[test]
fn expired_and_future_responses_are_refused() {
    let pki = pki(true);
    let now = SystemTime::now();
    let der = response(&pki, good(&pki, now));
    assert_eq!(
        validate_response(&der, &pki.leaf, &pki.ca, now + Duration::from_secs(7200)),
        Err(OcspError::Expired)
    );
    assert_eq!(
        validate_response(&der, &pki.leaf, &pki.ca, now - Duration::from_secs(3600)),
        Err(OcspError::NotYetValid)
    );
}

#[test]
fn an_unsuccessful_or_malformed_response_is_refused() {
    let pki = pki(true);
    let try_later = OcspResponse {
        response_status: OcspResponseStatus::TryLater,
        response_bytes: None,
    }
    .to_der()
    .unwrap();
    assert!(matches!(
        validate_response(&try_later, &pki.leaf, &pki.ca, SystemTime::now()),
        Err(OcspError::NotSuccessful(_))
    ));
    assert!(matches!(
        validate_response(b"\x30\x03junk", &pki.leaf, &pki.ca, SystemTime::now()),
        Err(OcspError::Malformed { .. })
    ));
}

fn valid(this_update: SystemTime, next_update: Option<SystemTime>) -> ValidResponse {
    ValidResponse {
        der: Vec::new(),
        produced_at: this_update,
        this_update,
        next_update,
    }
}

#[test]
fn refresh_is_due_at_half_the_validity_and_never_in_the_past() {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let day = Duration::from_secs(86_400);
    let response = valid(t, Some(t + day));
    assert_eq!(response.refresh_at(t), t + day / 2);
    assert_eq!(response.refresh_at(t + day), t + day);
    assert_eq!(valid(t, None).refresh_at(t), t + NO_NEXT_UPDATE_REFRESH);
    assert!(response.is_current(t + day / 2));
    assert!(!response.is_current(t + day));
    assert!(valid(t, None).is_current(t + day * 365));
}

#[test]
fn metrics_values_are_age_and_seconds_to_next_update() {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let response = valid(t, Some(t + Duration::from_secs(100)));
    assert_eq!(response.age_seconds(t + Duration::from_secs(30)), 30.0);
    assert_eq!(response.age_seconds(t - Duration::from_secs(30)), 0.0);
    assert_eq!(
        response.next_update_seconds(t + Duration::from_secs(30)),
        Some(70.0)
    );
    assert_eq!(
        response.next_update_seconds(t + Duration::from_secs(130)),
        Some(-30.0)
    );
    assert_eq!(valid(t, None).next_update_seconds(t), None);
}

#[test]
fn retries_back_off_and_come_before_the_last_good_response_expires() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    assert_eq!(retry_after(1, now, None), MIN_BACKOFF);
    assert_eq!(retry_after(2, now, None), MIN_BACKOFF * 2);
    assert_eq!(retry_after(3, now, None), MIN_BACKOFF * 4);
    assert_eq!(retry_after(40, now, None), MAX_BACKOFF);
    // Four minutes left on the staple: retry within two, however many failures.
    let until = now + Duration::from_secs(240);
    assert_eq!(retry_after(40, now, Some(until)), Duration::from_secs(120));
    assert_eq!(retry_after(1, now, Some(until)), MIN_BACKOFF);
    // Already expired: the plain backoff.
    assert_eq!(retry_after(3, now, Some(now)), MIN_BACKOFF * 4);
}
