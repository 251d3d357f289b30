//! Reading the private key PEM (PKCS#8, PKCS#1, SEC1 or encrypted PKCS#8) into a `PrivateKey`.

use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

use pkcs8::der::asn1::{AnyRef, UintRef};
use pkcs8::der::{Decode, Encode, Reader, SliceReader};
use pkcs8::{AlgorithmIdentifierRef, EncryptedPrivateKeyInfo, ObjectIdentifier, PrivateKeyInfo};
use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
use tls_policy_backend::PrivateKey;

use super::policy_error;
use crate::error::Result;

/// `rsaEncryption` (RFC 8017).
pub(crate) const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-RSASSA-PSS` (RFC 4055).
pub(crate) const OID_RSA_PSS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
/// `id-ecPublicKey` (RFC 5480).
pub(crate) const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` / P-256.
pub(crate) const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `secp384r1` / P-384.
pub(crate) const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// `secp521r1` / P-521.
pub(crate) const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
/// `id-Ed25519` (RFC 8410).
pub(crate) const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// `id-Ed448` (RFC 8410).
pub(crate) const OID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");

const BEGIN_ENCRYPTED: &[u8] = b"-----BEGIN ENCRYPTED PRIVATE KEY-----";
const END_ENCRYPTED: &[u8] = b"-----END ENCRYPTED PRIVATE KEY-----";

/// How the key was written in its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFormat {
    /// `-----BEGIN PRIVATE KEY-----`: unencrypted PKCS#8.
    Pkcs8,
    /// `-----BEGIN RSA PRIVATE KEY-----`: PKCS#1, RSA only.
    Pkcs1,
    /// `-----BEGIN EC PRIVATE KEY-----`: SEC1, EC only.
    Sec1,
    /// `-----BEGIN ENCRYPTED PRIVATE KEY-----`: PKCS#8 encrypted with a password (PBES2).
    EncryptedPkcs8,
}

impl fmt::Display for KeyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyFormat::Pkcs8 => "PKCS#8",
            KeyFormat::Pkcs1 => "PKCS#1 (RSA)",
            KeyFormat::Sec1 => "SEC1 (EC)",
            KeyFormat::EncryptedPkcs8 => "encrypted PKCS#8",
        })
    }
}

/// A private key as loaded, with what a `check` command reports about it.
#[derive(Clone, Debug)]
pub struct LoadedKey {
    /// The key: as read (decrypted PKCS#8 for an encrypted key) and as unencrypted PKCS#8.
    pub key: PrivateKey,
    /// How it was written (reported by `tls-policy check`).
    pub format: KeyFormat,
    /// Its algorithm: `RSA`, `EC P-256`, `EC P-384`, `EC P-521`, `Ed25519`, … or the OID
    /// (reported by `tls-policy check`).
    pub algorithm: String,
}

/// What is wrong with a private key's bytes, before a policy and path are attached: the
/// setting to blame (`private_key` or `private_key_password`) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyProblem {
    /// `private_key` (the key itself) or `private_key_password` (missing, superfluous, wrong).
    pub setting: &'static str,
    /// What is wrong, for an operator.
    pub message: String,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.message)
    }
}

impl std::error::Error for KeyProblem {}

impl KeyProblem {
    fn key(message: impl Into<String>) -> Self {
        KeyProblem {
            setting: "private_key",
            message: message.into(),
        }
    }

    fn password(message: impl Into<String>) -> Self {
        KeyProblem {
            setting: "private_key_password",
            message: message.into(),
        }
    }
}

/// Reads the `private_key` file of `policy`: exactly one PEM private key, decrypted with
/// `password` when it is encrypted PKCS#8.
///
/// Errors (setting `private_key`): missing or unreadable file, no key or several keys, a key that
/// does not parse, a legacy `Proc-Type: 4,ENCRYPTED` PEM. Errors (setting
/// `private_key_password`): a password for an unencrypted key, none for an encrypted one, a
/// wrong one. Every error's path is `path`.
pub fn load_private_key(policy: &str, path: &Path, password: Option<&str>) -> Result<LoadedKey> {
    let bytes = fs::read(path).map_err(|e| {
        let message = match e.kind() {
            io::ErrorKind::NotFound => "private key file does not exist".to_owned(),
            _ => format!("cannot read private key file: {e}"),
        };
        policy_error(policy, "private_key", path, message)
    })?;
    parse_private_key(&bytes, password)
        .map_err(|p| policy_error(policy, p.setting, path, p.message))
}

/// Parses the bytes of a private key file (no filesystem access): exactly one PEM private key,
/// decrypted with `password` when it is encrypted PKCS#8. `load_private_key` is this plus
/// reading the file and naming the policy and path.
///
/// The errors are those of `load_private_key`, as a `KeyProblem` naming the setting.
pub fn parse_private_key(
    pem: &[u8],
    password: Option<&str>,
) -> std::result::Result<LoadedKey, KeyProblem> {
    if contains(pem, b"Proc-Type: 4,ENCRYPTED") {
        return Err(KeyProblem::key(
            "legacy OpenSSL-encrypted PEM (Proc-Type: 4,ENCRYPTED) is not supported: convert it \
             to encrypted PKCS#8, e.g. `openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.key -out \
             private.key`",
        ));
    }
    let mut plain = Vec::new();
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
        let (kind, der) =
            section.map_err(|e| KeyProblem::key(format!("not a valid PEM file: {e}")))?;
        match kind {
            SectionKind::PrivateKey => plain.push(PrivateKeyDer::Pkcs8(der.into())),
            SectionKind::RsaPrivateKey => plain.push(PrivateKeyDer::Pkcs1(der.into())),
            SectionKind::EcPrivateKey => plain.push(PrivateKeyDer::Sec1(der.into())),
            _ => {}
        }
    }
    let encrypted = encrypted_sections(pem)?;

    match (
        plain.len() + encrypted.len(),
        plain.pop(),
        encrypted.into_iter().next(),
    ) {
        (0, _, _) => Err(KeyProblem::key(
            "no private key found: expected a PEM section 'PRIVATE KEY', 'RSA PRIVATE KEY', \
             'EC PRIVATE KEY' or 'ENCRYPTED PRIVATE KEY'",
        )),
        (1, Some(key), _) => {
            if password.is_some() {
                return Err(KeyProblem::password(
                    "private_key_password is set, but the private key is not encrypted: remove \
                     the setting (or encrypt the key as PKCS#8)",
                ));
            }
            from_plain(key)
        }
        (1, None, Some(encrypted)) => {
            let Some(password) = password else {
                return Err(KeyProblem::password(
                    "the private key is encrypted, but private_key_password is not set",
                ));
            };
            decrypt(&encrypted, password)
        }
        (n, _, _) => Err(KeyProblem::key(format!(
            "the file holds {n} private keys; expected exactly one"
        ))),
    }
}

/// Validates an unencrypted key and derives its PKCS#8 form.
fn from_plain(key: PrivateKeyDer<'static>) -> std::result::Result<LoadedKey, KeyProblem> {
    let (format, pkcs8) = match &key {
        PrivateKeyDer::Pkcs8(der) => (KeyFormat::Pkcs8, der.clone_key()),
        PrivateKeyDer::Pkcs1(der) => (
            KeyFormat::Pkcs1,
            pkcs1_to_pkcs8(der)
                .map_err(|e| KeyProblem::key(format!("not a valid PKCS#1 RSA key: {e}")))?,
        ),
        PrivateKeyDer::Sec1(der) => (
            KeyFormat::Sec1,
            sec1_to_pkcs8(der).map_err(|e| KeyProblem::key(format!("SEC1 EC key: {e}")))?,
        ),
        _ => return Err(KeyProblem::key("unsupported private key format")),
    };
    let algorithm = validate_pkcs8(&pkcs8)
        .map_err(|e| KeyProblem::key(format!("not a valid {format} key: {e}")))?;
    Ok(LoadedKey {
        key: PrivateKey { der: key, pkcs8 },
        format,
        algorithm,
    })
}

/// Decrypts an `EncryptedPrivateKeyInfo` (PBES2) and validates the PKCS#8 inside.
fn decrypt(encrypted: &[u8], password: &str) -> std::result::Result<LoadedKey, KeyProblem> {
    let info = EncryptedPrivateKeyInfo::try_from(encrypted)
        .map_err(|e| KeyProblem::key(format!("not a valid encrypted PKCS#8 key: {e}")))?;
    let wrong = || KeyProblem::password("wrong private_key_password or corrupt key");
    let document = info.decrypt(password).map_err(|e| match e {
        pkcs8::Error::EncryptedPrivateKey(
            pkcs8::pkcs5::Error::UnsupportedAlgorithm { .. }
            | pkcs8::pkcs5::Error::NoPbes1CryptSupport
            | pkcs8::pkcs5::Error::AlgorithmParametersInvalid { .. },
        ) => KeyProblem::key(format!(
            "the key's encryption scheme is not supported ({e}): re-encrypt it with PBES2, e.g. \
             `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
        )),
        _ => wrong(),
    })?;
    let pkcs8 = PrivatePkcs8KeyDer::from(document.as_bytes().to_vec());
    let algorithm = validate_pkcs8(&pkcs8).map_err(|_| wrong())?;
    Ok(LoadedKey {
        key: PrivateKey {
            der: PrivateKeyDer::Pkcs8(pkcs8.clone_key()),
            pkcs8,
        },
        format: KeyFormat::EncryptedPkcs8,
        algorithm,
    })
}

/// Wraps a PKCS#1 `RSAPrivateKey` in PKCS#8 (`rsaEncryption`, NULL parameters).
pub fn pkcs1_to_pkcs8(
    pkcs1: &PrivatePkcs1KeyDer<'_>,
) -> std::result::Result<PrivatePkcs8KeyDer<'static>, pkcs8::der::Error> {
    let der = pkcs1.secret_pkcs1_der();
    validate_pkcs1(der)?;
    let algorithm = AlgorithmIdentifierRef {
        oid: OID_RSA,
        parameters: Some(AnyRef::NULL),
    };
    Ok(PrivateKeyInfo::new(algorithm, der).to_der()?.into())
}

/// Wraps a SEC1 `ECPrivateKey` in PKCS#8 (`id-ecPublicKey` with the key's named curve).
///
/// Fails when the key does not parse, or names no curve (the PKCS#8 form needs one).
pub fn sec1_to_pkcs8(
    sec1: &PrivateSec1KeyDer<'_>,
) -> std::result::Result<PrivatePkcs8KeyDer<'static>, String> {
    let der = sec1.secret_sec1_der();
    let key = sec1::EcPrivateKey::try_from(der).map_err(|e| format!("does not parse: {e}"))?;
    let curve = key.parameters.and_then(|p| p.named_curve()).ok_or(
        "it names no curve (no named-curve parameters); convert it to PKCS#8 with \
             `openssl pkcs8 -topk8 -nocrypt`",
    )?;
    let algorithm = AlgorithmIdentifierRef {
        oid: OID_EC,
        parameters: Some(AnyRef::from(&curve)),
    };
    PrivateKeyInfo::new(algorithm, der)
        .to_der()
        .map(PrivatePkcs8KeyDer::from)
        .map_err(|e| format!("cannot convert it to PKCS#8: {e}"))
}

/// Parses a PKCS#8 key and its inner RSA or EC key; returns the algorithm's name.
pub(crate) fn validate_pkcs8(
    pkcs8: &PrivatePkcs8KeyDer<'_>,
) -> std::result::Result<String, String> {
    let info = PrivateKeyInfo::from_der(pkcs8.secret_pkcs8_der()).map_err(|e| e.to_string())?;
    let oid = info.algorithm.oid;
    if oid == OID_RSA || oid == OID_RSA_PSS {
        validate_pkcs1(info.private_key).map_err(|e| format!("RSA key: {e}"))?;
    } else if oid == OID_EC {
        sec1::EcPrivateKey::try_from(info.private_key).map_err(|e| format!("EC key: {e}"))?;
    }
    let curve = info.algorithm.parameters_oid().ok();
    Ok(algorithm_name(oid, curve))
}

/// A readable name for a key algorithm OID (and EC curve OID).
pub(crate) fn algorithm_name(oid: ObjectIdentifier, curve: Option<ObjectIdentifier>) -> String {
    match oid {
        o if o == OID_RSA => "RSA".into(),
        o if o == OID_RSA_PSS => "RSA-PSS".into(),
        o if o == OID_ED25519 => "Ed25519".into(),
        o if o == OID_ED448 => "Ed448".into(),
        o if o == OID_EC => match curve {
            Some(c) if c == OID_P256 => "EC P-256".into(),
            Some(c) if c == OID_P384 => "EC P-384".into(),
            Some(c) if c == OID_P521 => "EC P-521".into(),
            Some(c) => format!("EC (curve {c})"),
            None => "EC".into(),
        },
        other => other.to_string(),
    }
}

/// Checks the shape of a PKCS#1 `RSAPrivateKey`: version and eight integers.
fn validate_pkcs1(der: &[u8]) -> pkcs8::der::Result<()> {
    let mut reader = SliceReader::new(der)?;
    reader.sequence(|seq| {
        let version: u8 = seq.decode()?;
        for _ in 0..8 {
            UintRef::decode(seq)?;
        }
        // Version 1 (multi-prime) carries otherPrimeInfos.
        if version == 1 {
            while !seq.is_finished() {
                seq.decode::<AnyRef<'_>>()?;
            }
        }
        Ok(())
    })?;
    reader.finish(())
}

/// Finds every `ENCRYPTED PRIVATE KEY` section (which `rustls-pki-types` does not know) and
/// decodes it, tolerating any line width.
fn encrypted_sections(text: &[u8]) -> std::result::Result<Vec<Vec<u8>>, KeyProblem> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = find(rest, BEGIN_ENCRYPTED) {
        let after = &rest[start + BEGIN_ENCRYPTED.len()..];
        let end = find(after, END_ENCRYPTED).ok_or_else(|| {
            KeyProblem::key("not a valid PEM file: missing -----END ENCRYPTED PRIVATE KEY-----")
        })?;
        let body: Vec<u8> = after[..end]
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if !body.is_ascii() {
            return Err(KeyProblem::key(
                "not a valid PEM file: non-ASCII bytes in the ENCRYPTED PRIVATE KEY section",
            ));
        }
        // Re-wrap at 64 columns, the width the strict RFC 7468 decoder wants.
        let mut pem = Vec::with_capacity(body.len() + body.len() / 64 + 80);
        pem.extend_from_slice(BEGIN_ENCRYPTED);
        pem.push(b'\n');
        for line in body.chunks(64) {
            pem.extend_from_slice(line);
            pem.push(b'\n');
        }
        pem.extend_from_slice(END_ENCRYPTED);
        pem.push(b'\n');
        let (_, der) = pkcs8::der::pem::decode_vec(&pem).map_err(|e| {
            KeyProblem::key(format!(
                "not a valid PEM file: ENCRYPTED PRIVATE KEY section: {e}"
            ))
        })?;
        found.push(der);
        rest = &after[end + END_ENCRYPTED.len()..];
    }
    Ok(found)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::test_support::*;
    use crate::Error;

    fn load(pem: &[u8], password: Option<&str>) -> Result<LoadedKey> {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("private.key");
        write_private(&path, pem);
        load_private_key("p", &path, password)
    }

    fn problem(pem: &[u8], password: Option<&str>) -> (&'static str, String) {
        match load(pem, password).unwrap_err() {
            Error::Policy {
                policy,
                setting,
                path,
                message,
            } => {
                assert_eq!(policy, "p");
                assert!(path.unwrap().ends_with("private.key"));
                (setting, message)
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn pkcs8_loads_as_is() {
        let key = p256();
        let loaded = load(key.serialize_pem().as_bytes(), None).unwrap();
        assert_eq!(loaded.format, KeyFormat::Pkcs8);
        assert_eq!(loaded.algorithm, "EC P-256");
        assert_eq!(loaded.key.pkcs8.secret_pkcs8_der(), key.serialized_der());
        assert!(matches!(loaded.key.der, PrivateKeyDer::Pkcs8(_)));
    }

    #[test]
    fn ed25519_pkcs8_loads() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let loaded = load(key.serialize_pem().as_bytes(), None).unwrap();
        assert_eq!(loaded.algorithm, "Ed25519");
    }

    #[test]
    fn pkcs1_loads_and_converts_to_the_same_pkcs8() {
        let rsa = rsa_pkcs8();
        let pkcs1 = pkcs1_from_pkcs8(&rsa);
        let loaded = load(pem("RSA PRIVATE KEY", &pkcs1).as_bytes(), None).unwrap();
        assert_eq!(loaded.format, KeyFormat::Pkcs1);
        assert_eq!(loaded.algorithm, "RSA");
        assert_eq!(loaded.key.der.secret_der(), pkcs1.as_slice());
        // aws-lc writes the same rsaEncryption + NULL wrapping we do.
        assert_eq!(loaded.key.pkcs8.secret_pkcs8_der(), rsa.as_slice());
        rcgen::KeyPair::try_from(&PrivateKeyDer::Pkcs8(loaded.key.pkcs8.clone_key())).unwrap();
    }

    #[test]
    fn sec1_loads_and_converts_to_pkcs8_with_its_curve() {
        let key = p256();
        let sec1 = sec1_from_pkcs8(key.serialized_der(), Some(OID_P256));
        let loaded = load(pem("EC PRIVATE KEY", &sec1).as_bytes(), None).unwrap();
        assert_eq!(loaded.format, KeyFormat::Sec1);
        assert_eq!(loaded.algorithm, "EC P-256");
        assert!(matches!(loaded.key.der, PrivateKeyDer::Sec1(_)));
        let info = PrivateKeyInfo::from_der(loaded.key.pkcs8.secret_pkcs8_der()).unwrap();
        assert_eq!(info.algorithm.oid, OID_EC);
        assert_eq!(info.algorithm.parameters_oid().unwrap(), OID_P256);
        assert_eq!(info.private_key, sec1.as_slice());
        // ring (through rcgen) accepts the converted key and finds the same public key.
        let back =
            rcgen::KeyPair::try_from(&PrivateKeyDer::Pkcs8(loaded.key.pkcs8.clone_key())).unwrap();
        assert_eq!(back.public_key_raw(), key.public_key_raw());
    }

    #[test]
    fn sec1_without_curve_is_refused() {
        let sec1 = sec1_from_pkcs8(p256().serialized_der(), None);
        let (setting, message) = problem(pem("EC PRIVATE KEY", &sec1).as_bytes(), None);
        assert_eq!(setting, "private_key");
        assert!(message.contains("names no curve"), "{message}");
    }

    #[test]
    fn encrypted_pkcs8_loads_with_its_password() {
        let key = p256();
        let enc = encrypt_pkcs8(key.serialized_der(), "s3cret");
        let loaded = load(enc.as_bytes(), Some("s3cret")).unwrap();
        assert_eq!(loaded.format, KeyFormat::EncryptedPkcs8);
        assert_eq!(loaded.key.pkcs8.secret_pkcs8_der(), key.serialized_der());
        assert_eq!(loaded.key.der.secret_der(), key.serialized_der());
        assert!(matches!(loaded.key.der, PrivateKeyDer::Pkcs8(_)));
    }

    #[test]
    fn encrypted_pkcs8_with_long_lines_loads() {
        let key = p256();
        let enc = encrypt_pkcs8(key.serialized_der(), "pw");
        // One base64 line, as some tools write it.
        let lines: Vec<&str> = enc.lines().collect();
        let joined = format!(
            "{}\r\n{}\r\n{}\r\n",
            lines[0],
            lines[1..lines.len() - 1].concat(),
            lines[lines.len() - 1]
        );
        load(joined.as_bytes(), Some("pw")).unwrap();
    }

    #[test]
    fn encrypted_key_without_password_is_refused() {
        let enc = encrypt_pkcs8(p256().serialized_der(), "s3cret");
        let (setting, message) = problem(enc.as_bytes(), None);
        assert_eq!(setting, "private_key_password");
        assert!(message.contains("encrypted"), "{message}");
        assert!(message.contains("not set"), "{message}");
    }

    #[test]
    fn wrong_password_is_refused() {
        let enc = encrypt_pkcs8(p256().serialized_der(), "s3cret");
        let (setting, message) = problem(enc.as_bytes(), Some("guess"));
        assert_eq!(setting, "private_key_password");
        assert_eq!(message, "wrong private_key_password or corrupt key");
    }

    #[test]
    fn password_for_plain_key_is_refused() {
        let (setting, message) = problem(p256().serialize_pem().as_bytes(), Some("x"));
        assert_eq!(setting, "private_key_password");
        assert!(message.contains("not encrypted"), "{message}");
    }

    #[test]
    fn garbage_is_refused() {
        let (setting, message) = problem(b"hello, I am not a key\n", None);
        assert_eq!(setting, "private_key");
        assert!(message.contains("no private key found"), "{message}");

        let (setting, message) = problem(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            None,
        );
        assert_eq!(setting, "private_key");
        assert!(message.contains("not a valid PKCS#8 key"), "{message}");

        let (_, message) = problem(
            b"-----BEGIN RSA PRIVATE KEY-----\nMAMCAQA=\n-----END RSA PRIVATE KEY-----\n",
            None,
        );
        assert!(message.contains("not a valid PKCS#1 RSA key"), "{message}");

        let (_, message) = problem(b"-----BEGIN PRIVATE KEY-----\n!!!!\n", None);
        assert!(message.contains("not a valid PEM file"), "{message}");
    }

    #[test]
    fn a_certificate_is_not_a_key() {
        let (key, cert) = self_signed(&["localhost"]);
        let _ = key;
        let (setting, message) = problem(cert.pem().as_bytes(), None);
        assert_eq!(setting, "private_key");
        assert!(message.contains("no private key found"), "{message}");
    }

    #[test]
    fn two_keys_are_refused() {
        let two = format!("{}{}", p256().serialize_pem(), p256().serialize_pem());
        let (_, message) = problem(two.as_bytes(), None);
        assert!(message.contains("2 private keys"), "{message}");
    }

    #[test]
    fn legacy_encrypted_pem_is_explained() {
        let pem = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                    DEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let (setting, message) = problem(pem, None);
        assert_eq!(setting, "private_key");
        assert!(message.contains("openssl pkcs8 -topk8"), "{message}");
    }

    #[test]
    fn missing_file_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("private.key");
        let e = load_private_key("p", &path, None).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    }
}
