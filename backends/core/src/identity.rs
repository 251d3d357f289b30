//! [`PeerIdentity`]: the peer's certificate read once into plain fields, so an application learns
//! who connected (subject, SANs, a SPIFFE ID, fingerprint) without an X.509 crate of its own.

use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Who the peer's end-entity certificate says it is, parsed from its DER once.
///
/// Read it through [`crate::TlsInfo::peer_identity`], which parses on first use and keeps the
/// result for the connection's lifetime:
///
/// ```
/// # use tls_policy_backend as tls_policy; // users write `tls_policy::`
/// # use tls_policy::TlsInfo;
/// fn who(info: &TlsInfo) -> String {
///     match info.peer_identity() {
///         Some(peer) => match peer.spiffe_id() {
///             Some(id) => format!("workload {id}"),
///             None => format!("{} (issued by {})", peer.subject, peer.issuer),
///         },
///         None => "anonymous".to_owned(),
///     }
/// }
/// assert_eq!(who(&TlsInfo::new("example")), "anonymous");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerIdentity {
    /// The subject as an RFC 4514-style string, e.g. `CN=client-1, O=Example`.
    pub subject: String,
    /// The subject's first common name (CN), if any.
    pub common_name: Option<String>,
    /// The subject's organizational units (OU), in order.
    pub organizational_units: Vec<String>,
    /// The issuer, in the same form as [`PeerIdentity::subject`].
    pub issuer: String,
    /// The serial number as colon-separated hex bytes, e.g. `01:a4:ff`.
    pub serial: String,
    /// The start of the validity period.
    pub not_before: SystemTime,
    /// The end of the validity period.
    pub not_after: SystemTime,
    /// SHA-256 of the certificate's DER: the fingerprint `openssl x509 -fingerprint -sha256`
    /// prints (see [`PeerIdentity::fingerprint_hex`]).
    pub sha256_fingerprint: [u8; 32],
    /// SHA-256 of the certificate's DER-encoded SubjectPublicKeyInfo: a pin of the key that
    /// survives re-issuing the certificate with the same key (HPKP's `pin-sha256`, Envoy's
    /// `verify_certificate_spki`, `allowed_peers=spki-sha256:`).
    pub spki_sha256: [u8; 32],
    /// Subject alternative names of DNS type.
    pub dns_names: Vec<String>,
    /// Subject alternative names of IP-address type.
    pub ip_addresses: Vec<IpAddr>,
    /// Subject alternative names of URI type (a SPIFFE ID is one: [`PeerIdentity::spiffe_id`]).
    pub uris: Vec<String>,
    /// Subject alternative names of e-mail (RFC 822) type.
    pub emails: Vec<String>,
}

/// Why a certificate could not be read as a [`PeerIdentity`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityError(String);

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read the peer certificate: {}", self.0)
    }
}

impl std::error::Error for IdentityError {}

impl PeerIdentity {
    /// Reads `certificate` (DER). Backends verified it before a handshake completed, so this
    /// fails only for a certificate accepted unverified (`trust_all`) that does not parse.
    pub fn from_der(certificate: &CertificateDer<'_>) -> Result<PeerIdentity, IdentityError> {
        let der = certificate.as_ref();
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|e| IdentityError(e.to_string()))?;
        if !rest.is_empty() {
            return Err(IdentityError(format!(
                "{} trailing bytes after the certificate",
                rest.len()
            )));
        }
        let mut identity = PeerIdentity {
            subject: cert.subject().to_string(),
            common_name: cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .map(str::to_owned),
            organizational_units: cert
                .subject()
                .iter_organizational_unit()
                .filter_map(|ou| ou.as_str().ok())
                .map(str::to_owned)
                .collect(),
            issuer: cert.issuer().to_string(),
            serial: cert.raw_serial_as_string(),
            not_before: system_time(cert.validity().not_before.timestamp()),
            not_after: system_time(cert.validity().not_after.timestamp()),
            sha256_fingerprint: Sha256::digest(der).into(),
            spki_sha256: Sha256::digest(cert.public_key().raw).into(),
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            uris: Vec::new(),
            emails: Vec::new(),
        };
        let san = cert
            .subject_alternative_name()
            .map_err(|e| IdentityError(format!("subject alternative names: {e}")))?;
        for name in san.iter().flat_map(|san| san.value.general_names.iter()) {
            match name {
                GeneralName::DNSName(dns) => identity.dns_names.push((*dns).to_owned()),
                GeneralName::URI(uri) => identity.uris.push((*uri).to_owned()),
                GeneralName::RFC822Name(email) => identity.emails.push((*email).to_owned()),
                GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_address(bytes) {
                        identity.ip_addresses.push(ip);
                    }
                }
                _ => {}
            }
        }
        Ok(identity)
    }

    /// The first URI SAN with the `spiffe` scheme, e.g. `spiffe://example.org/ns/prod/sa/api`.
    pub fn spiffe_id(&self) -> Option<&str> {
        self.uris.iter().map(String::as_str).find(|uri| {
            uri.len() > 9
                && uri
                    .get(..9)
                    .is_some_and(|scheme| scheme.eq_ignore_ascii_case("spiffe://"))
        })
    }

    /// The SHA-256 fingerprint as colon-separated upper-case hex, as
    /// `openssl x509 -fingerprint -sha256` prints it.
    pub fn fingerprint_hex(&self) -> String {
        let mut hex = String::with_capacity(32 * 3);
        for (i, byte) in self.sha256_fingerprint.iter().enumerate() {
            if i > 0 {
                hex.push(':');
            }
            hex.push_str(&format!("{byte:02X}"));
        }
        hex
    }

    /// Whether `now` is within the validity period.
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        self.not_before <= now && now <= self.not_after
    }
}

/// The lazily parsed identity a [`crate::TlsInfo`] carries: empty until first asked.
#[derive(Clone, Default)]
pub(crate) struct IdentityCell(OnceLock<Option<PeerIdentity>>);

impl IdentityCell {
    /// The identity of `leaf`, parsed on the first call; `None` without a leaf or when it does
    /// not parse (logged nowhere: the backend already verified or deliberately skipped it).
    pub(crate) fn get(&self, leaf: Option<&CertificateDer<'_>>) -> Option<&PeerIdentity> {
        self.0
            .get_or_init(|| leaf.and_then(|leaf| PeerIdentity::from_der(leaf).ok()))
            .as_ref()
    }
}

impl fmt::Debug for IdentityCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.get() {
            Some(Some(identity)) => f.write_str(&identity.subject),
            Some(None) => f.write_str("none"),
            None => f.write_str("<not parsed yet>"),
        }
    }
}

fn system_time(unix_seconds: i64) -> SystemTime {
    match u64::try_from(unix_seconds) {
        Ok(after) => UNIX_EPOCH + Duration::from_secs(after),
        Err(_) => UNIX_EPOCH - Duration::from_secs(unix_seconds.unsigned_abs()),
    }
}

fn ip_address(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TlsInfo;
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};

    fn certificate() -> CertificateDer<'static> {
        let mut params = CertificateParams::new(vec!["api.example.org".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "client-1");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Example");
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, "payments");
        params.subject_alt_names.extend([
            SanType::IpAddress("10.1.2.3".parse().unwrap()),
            SanType::IpAddress("::1".parse().unwrap()),
            SanType::URI("spiffe://example.org/ns/prod/sa/api".try_into().unwrap()),
            SanType::Rfc822Name("ops@example.org".try_into().unwrap()),
        ]);
        params.serial_number = Some(vec![0x01, 0xa4, 0xff].into());
        params.not_before = rcgen::date_time_ymd(2026, 1, 1);
        params.not_after = rcgen::date_time_ymd(2027, 1, 1);
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn every_field_is_read() {
        let der = certificate();
        let peer = PeerIdentity::from_der(&der).unwrap();
        assert_eq!(peer.subject, "CN=client-1, O=Example, OU=payments");
        assert_eq!(peer.organizational_units, ["payments"]);
        assert_eq!(peer.issuer, peer.subject);
        assert_eq!(peer.common_name.as_deref(), Some("client-1"));
        assert_eq!(peer.serial, "01:a4:ff");
        assert_eq!(peer.dns_names, ["api.example.org"]);
        assert_eq!(
            peer.ip_addresses,
            [
                "10.1.2.3".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert_eq!(peer.uris, ["spiffe://example.org/ns/prod/sa/api"]);
        assert_eq!(
            peer.spiffe_id(),
            Some("spiffe://example.org/ns/prod/sa/api")
        );
        assert_eq!(peer.emails, ["ops@example.org"]);
        assert_eq!(
            peer.not_before,
            UNIX_EPOCH + Duration::from_secs(1_767_225_600)
        );
        assert_eq!(
            peer.not_after,
            UNIX_EPOCH + Duration::from_secs(1_798_761_600)
        );
        assert!(peer.is_valid_at(UNIX_EPOCH + Duration::from_secs(1_780_000_000)));
        assert!(!peer.is_valid_at(UNIX_EPOCH + Duration::from_secs(1_800_000_000)));
        let digest: [u8; 32] = Sha256::digest(der.as_ref()).into();
        assert_eq!(peer.sha256_fingerprint, digest);
        let hex = peer.fingerprint_hex();
        assert_eq!(hex.len(), 95);
        assert_eq!(&hex[..3], &format!("{:02X}:", digest[0]));
    }

    #[test]
    fn spki_digest_is_of_the_public_key_info() {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["a.example".to_owned()]).unwrap();
        let der = params.self_signed(&key).unwrap().der().clone();
        let peer = PeerIdentity::from_der(&der).unwrap();
        let expected: [u8; 32] =
            Sha256::digest(rcgen::PublicKeyData::subject_public_key_info(&key)).into();
        assert_eq!(peer.spki_sha256, expected);
        // A second certificate for the same key pins the same; the fingerprint differs.
        let mut again = CertificateParams::new(vec!["b.example".to_owned()]).unwrap();
        again.serial_number = Some(vec![7].into());
        let other = PeerIdentity::from_der(again.self_signed(&key).unwrap().der()).unwrap();
        assert_eq!(other.spki_sha256, expected);
        assert_ne!(other.sha256_fingerprint, peer.sha256_fingerprint);
        assert!(peer.organizational_units.is_empty());
    }

    #[test]
    fn no_spiffe_id_without_a_spiffe_uri() {
        let mut peer = PeerIdentity::from_der(&certificate()).unwrap();
        peer.uris = vec![
            "https://example.org/".into(),
            "spiffe:".into(),
            "é".repeat(9),
        ];
        assert_eq!(peer.spiffe_id(), None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let der = CertificateDer::from(b"not a certificate".to_vec());
        let error = PeerIdentity::from_der(&der).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("cannot read the peer certificate"));
        let mut trailing = certificate().to_vec();
        trailing.push(0);
        let error = PeerIdentity::from_der(&CertificateDer::from(trailing)).unwrap_err();
        assert!(error.to_string().contains("trailing"), "{error}");
    }

    #[test]
    fn tls_info_parses_once_and_only_when_asked() {
        let mut info = TlsInfo::new("test");
        assert!(info.peer_identity().is_none());
        let mut info2 = TlsInfo::new("test");
        info2.peer_certificates = vec![certificate()];
        assert!(format!("{info2:?}").contains("<not parsed yet>"));
        let first: *const PeerIdentity = info2.peer_identity().unwrap();
        let second: *const PeerIdentity = info2.peer_identity().unwrap();
        assert_eq!(first, second, "parsed once");
        assert!(format!("{info2:?}").contains("CN=client-1"));
        // Equality ignores whether the identity was parsed yet.
        info.peer_certificates = info2.peer_certificates.clone();
        assert_eq!(info, info2);
    }
}
