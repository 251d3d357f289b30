//! The benchmark's server certificates: ECDSA P-256 and, with aws-lc-rs, RSA-2048, under a throw-away CA.

use rcgen::KeyPair;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tls_policy_backend::{ClientAuth, PrivateKey, ServerPolicy, TlsVersion};
use tls_policy_dev_pki::ThrowawayCa;

use super::BenchError;

/// The server name every benchmark client dials (and sends as SNI).
pub const SERVER_NAME: &str = "localhost";

/// The key type of a server certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// ECDSA on P-256 with SHA-256.
    EcdsaP256,
    /// RSA with a 2048-bit modulus.
    Rsa2048,
}

impl KeyType {
    /// A short name for metric names: `ecdsa_p256`, `rsa2048`.
    pub fn id(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa_p256",
            KeyType::Rsa2048 => "rsa2048",
        }
    }

    /// The name people read: `ECDSA P-256`, `RSA-2048`.
    pub fn label(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ECDSA P-256",
            KeyType::Rsa2048 => "RSA-2048",
        }
    }
}

/// A server certificate with its key, in the forms the backends and the raw baselines take.
pub struct Identity {
    /// The key type.
    pub key_type: KeyType,
    /// The chain served: the leaf alone (the benchmark client does not verify it).
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key, PKCS#8.
    pub key: PrivatePkcs8KeyDer<'static>,
    /// The chain, PEM (for native-tls).
    pub chain_pem: String,
    /// The private key, PKCS#8 PEM (for native-tls).
    pub key_pem: String,
}

impl Identity {
    /// A policy serving this identity with `tls_versions`, no client certificates, session
    /// resumption on: what the benchmark compiles for each backend.
    pub fn policy(&self, tls_versions: &[TlsVersion]) -> ServerPolicy {
        ServerPolicy {
            name: format!("bench-{}", self.key_type.id()),
            cert_chain: self.chain.clone(),
            private_key: PrivateKey {
                der: PrivateKeyDer::Pkcs8(self.key.clone_key()),
                pkcs8: self.key.clone_key(),
            },
            trusted: Vec::new(),
            path_links: Vec::new(),
            crls: Vec::new(),
            client_auth: ClientAuth::None,
            trust_all: false,
            tls_versions: tls_versions.to_vec(),
            ciphers: None,
            verify_hostname: false,
            session_resumption: true,
            session_ticket_keys: None,
            allowed_peers: None,
        }
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

/// The certificates of one benchmark run.
#[derive(Debug)]
pub struct Certificates {
    /// The ECDSA P-256 server identity.
    pub ecdsa: Identity,
    /// The RSA-2048 server identity, or why there is none in this build.
    pub rsa: Result<Identity, String>,
}

impl Certificates {
    /// Generates fresh keys and certificates (for `localhost`, `127.0.0.1` and `::1`).
    pub fn generate() -> Result<Certificates, BenchError> {
        let issuer = throwaway_ca()?;
        let ecdsa_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|err| BenchError::new(format!("generating an ECDSA P-256 key: {err}")))?;
        let ecdsa = leaf(KeyType::EcdsaP256, ecdsa_key, &issuer)?;
        let rsa = match rsa_key() {
            Ok(key) => Ok(leaf(KeyType::Rsa2048, key, &issuer)?),
            Err(why) => Err(why),
        };
        Ok(Certificates { ecdsa, rsa })
    }

    /// Generates the ECDSA P-256 identity alone (no RSA key to wait for).
    pub fn generate_ecdsa() -> Result<Identity, BenchError> {
        let issuer = throwaway_ca()?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|err| BenchError::new(format!("generating an ECDSA P-256 key: {err}")))?;
        leaf(KeyType::EcdsaP256, key, &issuer)
    }

    /// The identity of `key_type`, or why there is none.
    pub fn get(&self, key_type: KeyType) -> Result<&Identity, &str> {
        match key_type {
            KeyType::EcdsaP256 => Ok(&self.ecdsa),
            KeyType::Rsa2048 => self.rsa.as_ref().map_err(String::as_str),
        }
    }
}

fn throwaway_ca() -> Result<ThrowawayCa, BenchError> {
    ThrowawayCa::generate("tls-policy bench CA (throw-away)")
        .map_err(|err| BenchError::new(format!("generating the CA: {err}")))
}

fn leaf(key_type: KeyType, key: KeyPair, issuer: &ThrowawayCa) -> Result<Identity, BenchError> {
    let failed = |err: rcgen::Error| {
        BenchError::new(format!(
            "issuing the {} server certificate: {err}",
            key_type.label()
        ))
    };
    let names = vec![
        SERVER_NAME.to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let cert = issuer.certify(SERVER_NAME, names, &key).map_err(failed)?;
    Ok(Identity {
        key_type,
        chain: vec![cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        chain_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// An RSA-2048 key: aws-lc-rs generates it (rcgen on ring cannot), rcgen signs with it.
#[cfg(feature = "rustls-aws-lc-rs")]
fn rsa_key() -> Result<KeyPair, String> {
    use aws_lc_rs::encoding::AsDer;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|_| "aws-lc-rs could not generate an RSA-2048 key".to_owned())?;
    let der = pair
        .as_der()
        .map_err(|_| "aws-lc-rs could not encode the RSA-2048 key as PKCS#8".to_owned())?;
    let pkcs8 = PrivatePkcs8KeyDer::from(der.as_ref().to_vec());
    KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256)
        .map_err(|err| format!("rcgen cannot use the RSA-2048 key: {err}"))
}

#[cfg(not(feature = "rustls-aws-lc-rs"))]
fn rsa_key() -> Result<KeyPair, String> {
    Err(
        "RSA-2048 rows need the rustls-aws-lc-rs feature to generate the key \
         (rcgen on ring cannot generate RSA keys)"
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_both_key_types_where_it_can() {
        let certs = Certificates::generate().expect("certificates");
        assert_eq!(certs.ecdsa.chain.len(), 1);
        assert!(certs.ecdsa.key_pem.contains("BEGIN PRIVATE KEY"));
        assert_eq!(
            certs.rsa.is_ok(),
            cfg!(feature = "rustls-aws-lc-rs"),
            "{:?}",
            certs.rsa.as_ref().err()
        );
        let policy = certs.ecdsa.policy(&[TlsVersion::Tls13]);
        assert_eq!(policy.tls_versions, [TlsVersion::Tls13]);
        assert!(policy.session_resumption);
    }
}
