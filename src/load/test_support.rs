//! Test-time PKI for the loader's tests: keys, certificates, CRLs and policy directories.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use pkcs8::der::pem::LineEnding;
use pkcs8::der::{Decode, Encode};
use pkcs8::{ObjectIdentifier, PrivateKeyInfo};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationList,
    CertificateRevocationListParams, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber,
};
use tls_policy_backend::{ClientAuth, TlsVersion};

use crate::config::PolicySettings;

/// A fresh P-256 key pair.
pub fn p256() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap()
}

/// A fresh RSA-2048 key as PKCS#8 DER (aws-lc-rs: rcgen with ring cannot generate RSA).
pub fn rsa_pkcs8() -> Vec<u8> {
    use aws_lc_rs::encoding::AsDer;
    let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> = key.as_der().unwrap();
    der.as_ref().to_vec()
}

/// The PKCS#1 `RSAPrivateKey` inside an RSA PKCS#8 key.
pub fn pkcs1_from_pkcs8(pkcs8: &[u8]) -> Vec<u8> {
    PrivateKeyInfo::from_der(pkcs8)
        .unwrap()
        .private_key
        .to_vec()
}

/// The SEC1 `ECPrivateKey` inside an EC PKCS#8 key, with `curve` as its parameters.
pub fn sec1_from_pkcs8(pkcs8: &[u8], curve: Option<ObjectIdentifier>) -> Vec<u8> {
    let info = PrivateKeyInfo::from_der(pkcs8).unwrap();
    let mut key = sec1::EcPrivateKey::try_from(info.private_key).unwrap();
    key.parameters = curve.map(sec1::EcParameters::NamedCurve);
    key.to_der().unwrap()
}

/// `der` as a PEM section labelled `label`.
pub fn pem(label: &str, der: &[u8]) -> String {
    pkcs8::der::pem::encode_string(label, LineEnding::LF, der).unwrap()
}

/// An unencrypted PKCS#8 key encrypted with `password` (PBES2, PBKDF2-SHA256, AES-256-CBC, as
/// `openssl pkcs8 -topk8` writes it), as PEM. Few iterations: debug builds are slow.
pub fn encrypt_pkcs8(pkcs8: &[u8], password: &str) -> String {
    let params = pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(
        1000,
        b"saltsaltsaltsalt",
        &[7; 16],
    )
    .unwrap();
    let doc = PrivateKeyInfo::from_der(pkcs8)
        .unwrap()
        .encrypt_with_params(params, password)
        .unwrap();
    pem("ENCRYPTED PRIVATE KEY", doc.as_bytes())
}

/// Writes a key file readable by its owner only.
pub fn write_private(path: &Path, contents: &[u8]) {
    fs::write(path, contents).unwrap();
    set_mode(path, 0o600);
}

/// Sets a file's permission bits (no-op off unix).
#[allow(unused_variables)]
pub fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// A self-signed P-256 certificate for `names`.
pub fn self_signed(names: &[&str]) -> (KeyPair, rcgen::Certificate) {
    let key = p256();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let cert = CertificateParams::new(names)
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (key, cert)
}

/// A test CA that issues leaf certificates and CRLs.
pub struct Ca {
    /// The CA certificate.
    pub cert: rcgen::Certificate,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    /// A fresh self-signed P-256 CA.
    pub fn new(name: &str) -> Ca {
        let key = p256();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        Ca {
            cert,
            issuer: Issuer::new(params, key),
        }
    }

    /// A leaf certificate for `key`, for `localhost`, with `params` adjusted by `tweak`.
    pub fn issue(
        &self,
        key: &KeyPair,
        tweak: impl FnOnce(&mut CertificateParams),
    ) -> rcgen::Certificate {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "leaf.test");
        tweak(&mut params);
        params.signed_by(key, &self.issuer).unwrap()
    }

    /// The parameters of a CA certificate named `name` (keyCertSign and cRLSign).
    fn ca_params(name: &str) -> CertificateParams {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params
    }

    /// A fresh intermediate CA named `name`, issued by this CA.
    pub fn sub_ca(&self, name: &str) -> Ca {
        let key = p256();
        let params = Ca::ca_params(name);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Ca {
            cert,
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate with the name `other_name` and the key of `other`, signed by this CA (a
    /// cross-signature).
    pub fn cross_sign(&self, other: &Ca, other_name: &str) -> rcgen::Certificate {
        Ca::ca_params(other_name)
            .signed_by(other.issuer.key(), &self.issuer)
            .unwrap()
    }

    /// This CA's certificate issued again under `name` (its name): self-signed, the same key,
    /// another serial.
    pub fn reissued(&self, name: &str) -> rcgen::Certificate {
        let mut params = Ca::ca_params(name);
        params.serial_number = Some(SerialNumber::from(7u64));
        params.self_signed(self.issuer.key()).unwrap()
    }

    /// A fresh CA whose certificate's key usage lacks cRLSign, though it still signs CRLs
    /// (rcgen refuses to, so the issuer's parameters keep cRLSign; only the certificate lacks it).
    pub fn without_crl_sign(name: &str) -> Ca {
        let ca = Ca::new(name);
        let key = KeyPair::try_from(ca.issuer.key().serialize_der()).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        Ca {
            cert: params.self_signed(&key).unwrap(),
            issuer: ca.issuer,
        }
    }

    /// A CRL listing `cert` (by its serial), current until 2100.
    pub fn crl_revoking(
        &self,
        cert: &rustls_pki_types::CertificateDer<'_>,
    ) -> CertificateRevocationList {
        use x509_parser::prelude::{FromDer, X509Certificate};
        let (_, x509) = X509Certificate::from_der(cert.as_ref()).unwrap();
        CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2001, 1, 1),
            next_update: rcgen::date_time_ymd(2100, 1, 1),
            crl_number: SerialNumber::from(2u64),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from_slice(x509.raw_serial()),
                revocation_time: rcgen::date_time_ymd(2024, 1, 1),
                reason_code: None,
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&self.issuer)
        .unwrap()
    }

    /// A CRL revoking serial 42, current until 2100.
    pub fn crl(&self) -> CertificateRevocationList {
        self.crl_until(rcgen::date_time_ymd(2100, 1, 1))
    }

    /// A CRL revoking serial 42 whose nextUpdate is `next_update`.
    pub fn crl_until(&self, next_update: time::OffsetDateTime) -> CertificateRevocationList {
        CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2001, 1, 1),
            next_update,
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from(42u64),
                revocation_time: rcgen::date_time_ymd(2024, 1, 1),
                reason_code: None,
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&self.issuer)
        .unwrap()
    }
}

impl Ca {
    /// A CRL signed by this CA (ECDSA P-256 with SHA-256) that has no nextUpdate, which rcgen
    /// cannot make: DER written by hand, revoking nothing.
    pub fn crl_without_next_update(&self) -> Vec<u8> {
        use rcgen::SigningKey;
        use x509_parser::prelude::{FromDer, X509Certificate};

        fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
            let mut out = vec![tag];
            let len = content.len();
            if len < 0x80 {
                out.push(len as u8);
            } else if len < 0x100 {
                out.extend([0x81, len as u8]);
            } else {
                out.extend([0x82, (len >> 8) as u8, len as u8]);
            }
            out.extend_from_slice(content);
            out
        }
        // AlgorithmIdentifier { ecdsa-with-SHA256 }.
        let algorithm = tlv(
            0x30,
            &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02],
        );
        let (_, cert) = X509Certificate::from_der(self.cert.der()).unwrap();
        let mut tbs = vec![0x02, 0x01, 0x01]; // version v2
        tbs.extend_from_slice(&algorithm);
        tbs.extend_from_slice(cert.subject().as_raw());
        tbs.extend(tlv(0x17, b"240101000000Z")); // thisUpdate, and no nextUpdate
        let tbs = tlv(0x30, &tbs);
        let signature = self.issuer.key().sign(&tbs).unwrap();
        let mut bits = vec![0x00];
        bits.extend(signature);
        let mut list = tbs;
        list.extend(algorithm);
        list.extend(tlv(0x03, &bits));
        tlv(0x30, &list)
    }
}

/// A complete, valid policy on disk: key, chain, a trusted CA, an empty revoked dir.
pub struct Fixture {
    /// Keeps the directory alive.
    pub _tmp: tempfile::TempDir,
    /// The settings pointing into it.
    pub settings: PolicySettings,
    /// The CA that issued the leaf (its certificate is in trusted_dir as `ca.pem`).
    pub ca: Ca,
    /// The leaf key.
    pub key: KeyPair,
}

impl Fixture {
    /// Writes the policy `p` under a fresh temporary directory.
    pub fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("certificates").join("p");
        let settings = settings_for("p", &base);
        fs::create_dir_all(&settings.trusted_dir).unwrap();
        fs::create_dir_all(&settings.revoked_dir).unwrap();
        let ca = Ca::new("Test CA");
        let key = p256();
        let leaf = ca.issue(&key, |_| {});
        write_private(&settings.private_key, key.serialize_pem().as_bytes());
        fs::write(&settings.public_certificate, leaf.pem()).unwrap();
        fs::write(settings.trusted_dir.join("ca.pem"), ca.cert.pem()).unwrap();
        Fixture {
            _tmp: tmp,
            settings,
            ca,
            key,
        }
    }

    /// A path under the base directory.
    pub fn base(&self, name: &str) -> PathBuf {
        self.settings.base_directory.join(name)
    }
}

/// The defaults of policy `name` with `base` as base_directory.
pub fn settings_for(name: &str, base: &Path) -> PolicySettings {
    PolicySettings {
        name: name.to_owned(),
        base_directory: base.to_path_buf(),
        private_key: base.join("private.key"),
        private_key_password: None,
        public_certificate: base.join("public.crt"),
        trusted_dir: base.join("trusted"),
        revoked_dir: base.join("revoked"),
        client_auth: ClientAuth::Require,
        ciphers: None,
        tls_versions: vec![TlsVersion::Tls12, TlsVersion::Tls13],
        allow_key_generation: false,
        trust_all: false,
        verify_hostname: false,
        session_resumption: true,
        session_ticket_keys: None,
        allowed_peers: None,
        allowed_peers_reload: Default::default(),
        sources: BTreeMap::new(),
    }
}
