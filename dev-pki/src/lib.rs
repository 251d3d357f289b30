//! Development and test PKIs: a root CA, an intermediate, server and client leaves (good, revoked, expired, foreign) and CRLs, written out in the SSL-policy directory layout.
//!
//! Everything here is for development, tests, demos and benchmarks only: the keys are
//! generated on the spot, are never protected by anything, and must never be treated as real.
//!
//! ```
//! use tls_policy_dev_pki::{DevPki, DevPkiOptions, WritePolicy};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pki = DevPki::generate(&DevPkiOptions::default())?;
//! let dir = std::env::temp_dir().join(format!("tls-policy-doc-{}", std::process::id()));
//! // base/private.key (0600), base/public.crt, base/trusted/{root,intermediate}.crt,
//! // base/revoked/{intermediate,root}.crl
//! pki.write_policy_dir(&dir, &WritePolicy::default())?;
//! // A client certificate and key for `curl --cert ... --key ...`.
//! let (cert, key) = pki.write_client(&pki.client, &dir.join("clients"))?;
//! assert!(cert.exists() && key.exists());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

use std::collections::hash_map::RandomState;
use std::fmt;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SanType, SerialNumber, SignatureAlgorithm,
};
use rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer,
};
use time::{Duration, OffsetDateTime};

/// Common name of the development root CA.
pub const ROOT_CN: &str = "tls-policy development root CA";
/// Common name of the development intermediate CA.
pub const INTERMEDIATE_CN: &str = "tls-policy development intermediate CA";
/// Common name of the CA that nothing trusts.
pub const FOREIGN_ROOT_CN: &str = "tls-policy development foreign root CA";
/// Organization name written into every development certificate.
pub const ORGANIZATION: &str = "tls-policy development (NOT FOR PRODUCTION)";

/// How far back `not_before` (and a CRL's `this_update`) is set, to tolerate clock skew.
const BACKDATE: Duration = Duration::hours(1);

/// PBKDF2 iterations for [`Issued::key_pem_encrypted`] (OpenSSL's default).
const PBKDF2_ITERATIONS: u32 = 2048;

// === KeyKind ===

/// The key algorithm of every key in a [`DevPki`].
///
/// RSA is not offered: rcgen can only generate RSA keys with its `aws_lc_rs` feature, which
/// this crate does not enable (it builds rcgen on ring).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// ECDSA on P-256 with SHA-256 (the default; every backend handles it).
    #[default]
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
    /// Ed25519 (not every TLS peer accepts it).
    Ed25519,
}

impl KeyKind {
    /// Every key kind, for tests that run over all of them.
    pub const ALL: [KeyKind; 3] = [KeyKind::EcdsaP256, KeyKind::EcdsaP384, KeyKind::Ed25519];

    /// A short lower-case name: `ecdsa-p256`, `ecdsa-p384`, `ed25519`.
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::EcdsaP256 => "ecdsa-p256",
            KeyKind::EcdsaP384 => "ecdsa-p384",
            KeyKind::Ed25519 => "ed25519",
        }
    }

    fn algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            KeyKind::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyKind::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyKind::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }

    fn generate(self) -> Result<KeyPair, rcgen::Error> {
        KeyPair::generate_for(self.algorithm())
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// === DevPkiOptions ===

/// What [`DevPki::generate`] makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevPkiOptions {
    /// The key algorithm of every certificate.
    pub key_kind: KeyKind,
    /// The server certificate's subject alternative names. Entries that parse as IP addresses
    /// become IP SANs, the rest DNS names (wildcards such as `*.example.test` allowed).
    /// The first entry is also the server's common name.
    pub hostnames: Vec<String>,
    /// How long the CAs, the valid leaves and the CRLs stay valid from now.
    pub validity: Duration,
}

impl Default for DevPkiOptions {
    /// ECDSA P-256; `localhost`, `127.0.0.1`, `::1`; valid for 365 days.
    fn default() -> Self {
        DevPkiOptions {
            key_kind: KeyKind::default(),
            hostnames: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            validity: Duration::days(365),
        }
    }
}

impl DevPkiOptions {
    /// The defaults with another key kind.
    pub fn with_key_kind(mut self, key_kind: KeyKind) -> Self {
        self.key_kind = key_kind;
        self
    }

    /// The defaults with other server hostnames (replacing the default ones).
    pub fn with_hostnames<I, S>(mut self, hostnames: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hostnames = hostnames.into_iter().map(Into::into).collect();
        self
    }

    /// The defaults with another validity period.
    pub fn with_validity(mut self, validity: Duration) -> Self {
        self.validity = validity;
        self
    }
}

// === Issued ===

/// One issued certificate with its private key.
pub struct Issued {
    /// A short file-name-friendly name: `root`, `server`, `revoked-client`, …
    pub name: String,
    /// The certificate alone, PEM.
    pub cert_pem: String,
    /// The certificate alone, DER.
    pub cert_der: CertificateDer<'static>,
    /// The private key, unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). Always
    /// PKCS#8 version 1 (Ed25519 keys without the optional public key), which every TLS
    /// library, OpenSSL 3.0 included, reads.
    pub key_pem: String,
    /// The private key, PKCS#8 DER.
    pub key_der: PrivatePkcs8KeyDer<'static>,
    /// The certificate's serial number.
    pub serial: u64,
    /// The key algorithm.
    pub key_kind: KeyKind,
    /// The intermediates between this certificate and its root, nearest first, root excluded
    /// (empty for roots and for leaves signed by a root directly).
    pub intermediates: Vec<CertificateDer<'static>>,
    intermediates_pem: String,
}

impl Issued {
    /// The certificate followed by its intermediates, PEM, leaf first: what a `public.crt`
    /// or a client's `--cert` file holds.
    pub fn chain_pem(&self) -> String {
        let mut chain = self.cert_pem.clone();
        chain.push_str(&self.intermediates_pem);
        chain
    }

    /// The certificate followed by its intermediates, DER, leaf first.
    pub fn chain_der(&self) -> Vec<CertificateDer<'static>> {
        let mut chain = Vec::with_capacity(1 + self.intermediates.len());
        chain.push(self.cert_der.clone());
        chain.extend(self.intermediates.iter().cloned());
        chain
    }

    /// The private key as rustls takes it.
    pub fn private_key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key_der.clone_key())
    }

    /// The private key as an encrypted PKCS#8 PEM (`-----BEGIN ENCRYPTED PRIVATE KEY-----`),
    /// PBES2 with PBKDF2-SHA256 and AES-256-CBC, as `openssl pkcs8 -topk8 -v2 aes256` writes.
    ///
    /// The salt and IV come from a non-cryptographic random source: good for tests only.
    pub fn key_pem_encrypted(&self, password: &str) -> Result<String, pkcs8::Error> {
        let info = pkcs8::PrivateKeyInfo::try_from(self.key_der.secret_pkcs8_der())?;
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        fill_random(&mut salt);
        fill_random(&mut iv);
        let params = pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(
            PBKDF2_ITERATIONS,
            &salt,
            &iv,
        )?;
        let doc = info.encrypt_with_params(params, password.as_bytes())?;
        let pem = doc.to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)?;
        Ok(pem.to_string())
    }

    /// The private key as a SEC1 `-----BEGIN EC PRIVATE KEY-----` PEM (with the named-curve
    /// parameters, as OpenSSL writes it); `None` for keys that are not ECDSA.
    pub fn key_sec1_pem(&self) -> Result<Option<String>, pkcs8::Error> {
        use pkcs8::der::Encode;

        if self.key_kind == KeyKind::Ed25519 {
            return Ok(None);
        }
        let info = pkcs8::PrivateKeyInfo::try_from(self.key_der.secret_pkcs8_der())?;
        let curve = info.algorithm.parameters_oid()?;
        let mut ec = sec1::EcPrivateKey::try_from(info.private_key)
            .map_err(|_| pkcs8::Error::KeyMalformed)?;
        ec.parameters = Some(sec1::EcParameters::NamedCurve(curve));
        let der = pkcs8::der::zeroize::Zeroizing::new(ec.to_der()?);
        let pem = pkcs8::der::pem::encode_string("EC PRIVATE KEY", pkcs8::LineEnding::LF, &der)?;
        Ok(Some(pem))
    }

    /// Writes `<dir>/<name>.crt` (the chain, PEM) and `<dir>/<name>.key` (PKCS#8 PEM, mode
    /// 0600 on unix), creating `dir` if needed; returns the two paths (certificate, key).
    pub fn write_files(&self, dir: &Path) -> io::Result<(PathBuf, PathBuf)> {
        fs::create_dir_all(dir)?;
        let cert = dir.join(format!("{}.crt", self.name));
        let key = dir.join(format!("{}.key", self.name));
        fs::write(&cert, self.chain_pem())?;
        write_private(&key, self.key_pem.as_bytes())?;
        Ok((cert, key))
    }
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("name", &self.name)
            .field("serial", &format_args!("{:#x}", self.serial))
            .field("key_kind", &self.key_kind)
            .field("intermediates", &self.intermediates.len())
            .field("key", &"[elided]")
            .finish()
    }
}

// === Crl ===

/// A certificate revocation list.
#[derive(Clone, Debug)]
pub struct Crl {
    /// `-----BEGIN X509 CRL-----` PEM.
    pub pem: String,
    /// DER.
    pub der: CertificateRevocationListDer<'static>,
    /// The serial numbers it revokes.
    pub revoked_serials: Vec<u64>,
}

// === WritePolicy ===

/// What [`DevPki::write_policy_dir`] writes besides the key, the chain and the trust anchor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WritePolicy {
    /// Write `revoked/intermediate.crl` (revoking [`DevPki::revoked_client`]) and
    /// `revoked/root.crl` (empty, so the intermediate's status is known too). Default: true.
    pub with_crl: bool,
}

impl Default for WritePolicy {
    fn default() -> Self {
        WritePolicy { with_crl: true }
    }
}

// === LeafSpec ===

/// What [`DevPki::issue`] puts into a further leaf certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafSpec {
    /// The file-name-friendly name ([`Issued::name`]).
    pub name: String,
    /// The subject common name.
    pub common_name: String,
    /// Subject alternative names (IP addresses become IP SANs).
    pub hostnames: Vec<String>,
    /// URI subject alternative names, e.g. a SPIFFE ID (`spiffe://example.org/ns/prod/sa/api`).
    pub uris: Vec<String>,
    /// The subject's organizational unit (OU), if any.
    pub organizational_unit: Option<String>,
    /// Add the serverAuth extended key usage.
    pub server_auth: bool,
    /// Add the clientAuth extended key usage.
    pub client_auth: bool,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

impl LeafSpec {
    /// A server certificate (serverAuth and clientAuth) for `hostnames`, valid for `validity`
    /// from now.
    pub fn server<I, S>(name: &str, hostnames: I, validity: Duration) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let hostnames: Vec<String> = hostnames.into_iter().map(Into::into).collect();
        let now = OffsetDateTime::now_utc();
        LeafSpec {
            name: name.into(),
            common_name: hostnames
                .first()
                .cloned()
                .unwrap_or_else(|| "tls-policy development server".into()),
            hostnames,
            uris: Vec::new(),
            organizational_unit: None,
            server_auth: true,
            client_auth: true,
            not_before: now - BACKDATE,
            not_after: saturating_add(now, validity),
        }
    }

    /// A client certificate (clientAuth) with `common_name`, valid for `validity` from now.
    pub fn client(name: &str, common_name: &str, validity: Duration) -> Self {
        let now = OffsetDateTime::now_utc();
        LeafSpec {
            name: name.into(),
            common_name: common_name.into(),
            hostnames: Vec::new(),
            uris: Vec::new(),
            organizational_unit: None,
            server_auth: false,
            client_auth: true,
            not_before: now - BACKDATE,
            not_after: saturating_add(now, validity),
        }
    }

    /// The same leaf with `uri` as a further URI SAN (a SPIFFE ID, say).
    pub fn with_uri(mut self, uri: &str) -> Self {
        self.uris.push(uri.to_owned());
        self
    }

    /// The same leaf with `names` as DNS (or, for addresses, IP) SANs as well.
    pub fn with_hostnames<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hostnames.extend(names.into_iter().map(Into::into));
        self
    }

    /// The same leaf with the subject's organizational unit `ou`.
    pub fn with_organizational_unit(mut self, ou: &str) -> Self {
        self.organizational_unit = Some(ou.to_owned());
        self
    }
}

// === ThrowawayCa ===

/// A throw-away CA (ECDSA P-256, not sent in any chain) that certifies keys the caller brings:
/// the benchmark's server identities, whose RSA-2048 keys come from aws-lc-rs (rcgen on ring
/// cannot generate RSA keys). Each leaf carries only its common name and subject alternative
/// names, and is served alone.
pub struct ThrowawayCa {
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for ThrowawayCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThrowawayCa")
            .field("key", &"[elided]")
            .finish()
    }
}

impl ThrowawayCa {
    /// A new CA named `common_name`, with a fresh key.
    pub fn generate(common_name: &str) -> Result<ThrowawayCa, rcgen::Error> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Ok(ThrowawayCa {
            issuer: Issuer::new(params, key),
        })
    }

    /// Certifies `key` as `common_name` for `names` (DNS names or IP addresses).
    pub fn certify(
        &self,
        common_name: &str,
        names: Vec<String>,
        key: &KeyPair,
    ) -> Result<rcgen::Certificate, rcgen::Error> {
        let mut params = CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.signed_by(key, &self.issuer)
    }
}

// === DevPki ===

/// A complete development PKI.
///
/// Trust [`root`](Self::root) and every certificate below verifies except
/// [`revoked_client`](Self::revoked_client) (once [`crl`](Self::crl) is loaded),
/// [`expired_client`](Self::expired_client) and [`foreign_client`](Self::foreign_client).
pub struct DevPki {
    /// The key kind every key has.
    pub key_kind: KeyKind,
    /// The self-signed root CA (`CN=tls-policy development root CA`).
    pub root: Issued,
    /// The intermediate CA, signed by the root; it signs every leaf below but the foreign one.
    pub intermediate: Issued,
    /// The server leaf: SANs from [`DevPkiOptions::hostnames`], serverAuth and clientAuth (so
    /// the same certificate serves cluster channels in both directions). Chain: leaf +
    /// intermediate.
    pub server: Issued,
    /// A good client certificate (`CN=tls-policy development client`, clientAuth).
    pub client: Issued,
    /// A client certificate listed in [`crl`](Self::crl).
    pub revoked_client: Issued,
    /// A client certificate whose validity ended yesterday.
    pub expired_client: Issued,
    /// A self-signed CA nothing trusts.
    pub foreign_root: Issued,
    /// A client certificate signed by [`foreign_root`](Self::foreign_root).
    pub foreign_client: Issued,
    /// A CRL issued by the intermediate, revoking [`revoked_client`](Self::revoked_client).
    pub crl: Crl,
    /// An empty CRL issued by the root: with it, verifiers that check the whole chain know
    /// the intermediate is not revoked.
    pub root_crl: Crl,
    validity: Duration,
    intermediate_issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for DevPki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevPki")
            .field("key_kind", &self.key_kind)
            .field("root", &self.root)
            .field("intermediate", &self.intermediate)
            .field("server", &self.server)
            .field("client", &self.client)
            .field("revoked_client", &self.revoked_client)
            .field("expired_client", &self.expired_client)
            .field("foreign_root", &self.foreign_root)
            .field("foreign_client", &self.foreign_client)
            .field("crl", &self.crl.revoked_serials)
            .finish_non_exhaustive()
    }
}

impl DevPki {
    /// Generates a fresh PKI: new keys, new random serials.
    pub fn generate(options: &DevPkiOptions) -> Result<DevPki, rcgen::Error> {
        let kind = options.key_kind;
        let now = OffsetDateTime::now_utc();
        let not_before = now - BACKDATE;
        let not_after = saturating_add(now, options.validity);

        // Root.
        let (root_params, root_key, root) = self_signed_ca("root", ROOT_CN, kind, options)?;
        let root_issuer = Issuer::from_params(&root_params, &root_key);

        // Intermediate, signed by the root.
        let int_serial = random_serial();
        let mut int_params = ca_params(INTERMEDIATE_CN, int_serial, not_before, not_after);
        int_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        int_params.use_authority_key_identifier_extension = true;
        let int_key = kind.generate()?;
        let int_cert = int_params.signed_by(&int_key, &root_issuer)?;
        let intermediate = issued("intermediate", kind, &int_cert, &int_key, int_serial, &[])?;
        let intermediate_issuer = Issuer::new(int_params, int_key);
        let below_int = std::slice::from_ref(&intermediate);

        let leaf = |spec: &LeafSpec| issue_leaf(spec, kind, &intermediate_issuer, below_int);
        let server = leaf(&LeafSpec::server(
            "server",
            options.hostnames.iter().cloned(),
            options.validity,
        ))?;
        let client = leaf(&LeafSpec::client(
            "client",
            "tls-policy development client",
            options.validity,
        ))?;
        let revoked_client = leaf(&LeafSpec::client(
            "revoked-client",
            "tls-policy development revoked client",
            options.validity,
        ))?;
        let mut expired = LeafSpec::client(
            "expired-client",
            "tls-policy development expired client",
            options.validity,
        );
        expired.not_before = now - Duration::days(30);
        expired.not_after = now - Duration::days(1);
        let expired_client = leaf(&expired)?;

        // The CA nobody trusts, and a client below it.
        let (foreign_params, foreign_key, foreign_root) =
            self_signed_ca("foreign-root", FOREIGN_ROOT_CN, kind, options)?;
        let foreign_issuer = Issuer::from_params(&foreign_params, &foreign_key);
        let foreign_client = issue_leaf(
            &LeafSpec::client(
                "foreign-client",
                "tls-policy development foreign client",
                options.validity,
            ),
            kind,
            &foreign_issuer,
            &[],
        )?;

        let crl = make_crl(&intermediate_issuer, &[revoked_client.serial], options)?;
        let root_crl = make_crl(&root_issuer, &[], options)?;

        Ok(DevPki {
            key_kind: kind,
            root,
            intermediate,
            server,
            client,
            revoked_client,
            expired_client,
            foreign_root,
            foreign_client,
            crl,
            root_crl,
            validity: options.validity,
            intermediate_issuer,
        })
    }

    /// Issues a further leaf signed by the intermediate (a server certificate for other
    /// hostnames, a client with another name, a not-yet-valid certificate, …). Its
    /// [`intermediates`](Issued::intermediates) hold the intermediate.
    pub fn issue(&self, spec: &LeafSpec) -> Result<Issued, rcgen::Error> {
        issue_leaf(
            spec,
            self.key_kind,
            &self.intermediate_issuer,
            std::slice::from_ref(&self.intermediate),
        )
    }

    /// Issues a CRL from the intermediate revoking `serials` (e.g. to revoke the server
    /// certificate, or a leaf made by [`issue`](Self::issue)).
    pub fn crl_revoking(&self, serials: &[u64]) -> Result<Crl, rcgen::Error> {
        let now = OffsetDateTime::now_utc();
        build_crl(
            &self.intermediate_issuer,
            serials,
            now - BACKDATE,
            saturating_add(now, self.validity),
        )
    }

    /// Issues a CRL from the intermediate revoking `serials` whose nextUpdate is `next_update`
    /// (in the past for an expired CRL, seconds ahead for one that expires while serving); its
    /// thisUpdate is set back as usual, and before `next_update` when that is earlier still.
    pub fn crl_revoking_until(
        &self,
        serials: &[u64],
        next_update: OffsetDateTime,
    ) -> Result<Crl, rcgen::Error> {
        let this_update = (OffsetDateTime::now_utc() - BACKDATE).min(next_update - BACKDATE);
        build_crl(&self.intermediate_issuer, serials, this_update, next_update)
    }

    /// Writes a policy directory (spec §2) for the server side, and for cluster channels, whose
    /// certificate is valid in both directions:
    ///
    /// - `base/private.key`: the server key, PKCS#8 PEM, mode 0600 on unix (created with that
    ///   mode, never readable by others even briefly; an existing file is replaced);
    /// - `base/public.crt`: the server chain, leaf then intermediate;
    /// - `base/trusted/root.crt`: the root CA;
    /// - `base/trusted/intermediate.crt`: the intermediate CA, which issues the leaves and the
    ///   CRL that revokes [`DevPki::revoked_client`] (spec §2 rule 8: every CRL's issuer must
    ///   be a certificate of trusted_dir). Its issuer, the root, is there too, so it is a path
    ///   link, not a trust anchor: the root's CRL covers it;
    /// - `base/revoked/intermediate.crl` and `base/revoked/root.crl` (empty, covering the
    ///   intermediate) when [`WritePolicy::with_crl`].
    ///
    /// `base`, `trusted/` and `revoked/` are created if missing (both directories always,
    /// since the spec requires them to exist).
    pub fn write_policy_dir(&self, base: &Path, options: &WritePolicy) -> io::Result<()> {
        let trusted = base.join("trusted");
        let revoked = base.join("revoked");
        fs::create_dir_all(&trusted)?;
        fs::create_dir_all(&revoked)?;
        write_private(&base.join("private.key"), self.server.key_pem.as_bytes())?;
        fs::write(base.join("public.crt"), self.server.chain_pem())?;
        fs::write(trusted.join("root.crt"), &self.root.cert_pem)?;
        fs::write(
            trusted.join("intermediate.crt"),
            &self.intermediate.cert_pem,
        )?;
        if options.with_crl {
            fs::write(revoked.join("intermediate.crl"), &self.crl.pem)?;
            fs::write(revoked.join("root.crl"), &self.root_crl.pem)?;
        }
        Ok(())
    }

    /// Writes `which`'s chain and key to `<dir>/<name>.crt` and `<dir>/<name>.key` (mode 0600
    /// on unix), for `curl --cert/--key` or `openssl s_client -cert/-key`; returns the two
    /// paths (certificate, key).
    pub fn write_client(&self, which: &Issued, dir: &Path) -> io::Result<(PathBuf, PathBuf)> {
        which.write_files(dir)
    }
}

// === helpers ===

/// Parameters shared by every CA: CN, organization, CA key usages.
fn ca_params(
    cn: &str,
    serial: u64,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, cn);
    params
        .distinguished_name
        .push(DnType::OrganizationName, ORGANIZATION);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(SerialNumber::from(serial));
    params.not_before = not_before;
    params.not_after = not_after;
    params
}

fn self_signed_ca(
    name: &str,
    cn: &str,
    kind: KeyKind,
    options: &DevPkiOptions,
) -> Result<(CertificateParams, KeyPair, Issued), rcgen::Error> {
    let now = OffsetDateTime::now_utc();
    let serial = random_serial();
    let params = ca_params(
        cn,
        serial,
        now - BACKDATE,
        saturating_add(now, options.validity),
    );
    let key = kind.generate()?;
    let cert = params.self_signed(&key)?;
    let issued = issued(name, kind, &cert, &key, serial, &[])?;
    Ok((params, key, issued))
}

fn issue_leaf(
    spec: &LeafSpec,
    kind: KeyKind,
    issuer: &Issuer<'_, impl rcgen::SigningKey>,
    intermediates: &[Issued],
) -> Result<Issued, rcgen::Error> {
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, spec.common_name.as_str());
    params
        .distinguished_name
        .push(DnType::OrganizationName, ORGANIZATION);
    if let Some(ou) = &spec.organizational_unit {
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, ou.as_str());
    }
    params.subject_alt_names = spec
        .hostnames
        .iter()
        .map(|h| match h.parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => {
                check_dns_name(h)?;
                Ok(SanType::DnsName(h.clone().try_into()?))
            }
        })
        .chain(
            spec.uris
                .iter()
                .map(|uri| Ok(SanType::URI(uri.clone().try_into()?))),
        )
        .collect::<Result<_, rcgen::Error>>()?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if spec.server_auth {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    if spec.client_auth {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    params.use_authority_key_identifier_extension = true;
    let serial = random_serial();
    params.serial_number = Some(SerialNumber::from(serial));
    params.not_before = spec.not_before;
    params.not_after = spec.not_after;

    let key = kind.generate()?;
    let cert = params.signed_by(&key, issuer)?;
    issued(&spec.name, kind, &cert, &key, serial, intermediates)
}

fn make_crl(
    issuer: &Issuer<'_, impl rcgen::SigningKey>,
    serials: &[u64],
    options: &DevPkiOptions,
) -> Result<Crl, rcgen::Error> {
    let now = OffsetDateTime::now_utc();
    build_crl(
        issuer,
        serials,
        now - BACKDATE,
        saturating_add(now, options.validity),
    )
}

fn build_crl(
    issuer: &Issuer<'_, impl rcgen::SigningKey>,
    serials: &[u64],
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
) -> Result<Crl, rcgen::Error> {
    let params = CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: SerialNumber::from(random_serial()),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|&serial| RevokedCertParams {
                serial_number: SerialNumber::from(serial),
                revocation_time: this_update,
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(issuer)?;
    Ok(Crl {
        pem: crl.pem()?,
        der: crl.der().clone(),
        revoked_serials: serials.to_vec(),
    })
}

fn issued(
    name: &str,
    key_kind: KeyKind,
    cert: &rcgen::Certificate,
    key: &KeyPair,
    serial: u64,
    intermediates: &[Issued],
) -> Result<Issued, rcgen::Error> {
    let key_der = pkcs8_v1(key.serialize_der())?;
    let key_pem = pkcs8::der::pem::encode_string("PRIVATE KEY", pkcs8::LineEnding::LF, &key_der)
        .map_err(|_| rcgen::Error::CouldNotParseKeyPair)?;
    Ok(Issued {
        name: name.into(),
        cert_pem: cert.pem(),
        cert_der: cert.der().clone(),
        key_pem,
        key_der: PrivatePkcs8KeyDer::from(key_der),
        serial,
        key_kind,
        intermediates: intermediates.iter().map(|i| i.cert_der.clone()).collect(),
        intermediates_pem: intermediates.iter().map(|i| i.cert_pem.as_str()).collect(),
    })
}

/// Re-encodes a PKCS#8 key as version 1 (RFC 5208), dropping the optional public key that
/// ring puts into its Ed25519 keys (version 2, RFC 5958): OpenSSL 3.0, hence native-tls on
/// most Linux systems, cannot read version 2. Version 1 keys are returned unchanged.
fn pkcs8_v1(der: Vec<u8>) -> Result<Vec<u8>, rcgen::Error> {
    use pkcs8::der::Encode;

    let der = pkcs8::der::zeroize::Zeroizing::new(der);
    let mut info = pkcs8::PrivateKeyInfo::try_from(der.as_slice())
        .map_err(|_| rcgen::Error::CouldNotParseKeyPair)?;
    if info.public_key.is_none() {
        return Ok(der.to_vec());
    }
    info.public_key = None;
    info.to_der()
        .map_err(|_| rcgen::Error::CouldNotParseKeyPair)
}

/// Refuses what is not a DNS name (a leading `*.` wildcard label is allowed), so a typo in a
/// hostname fails at generation instead of producing a certificate nothing matches.
fn check_dns_name(name: &str) -> Result<(), rcgen::Error> {
    let rest = name.strip_prefix("*.").unwrap_or(name);
    match rustls_pki_types::DnsName::try_from(rest) {
        Ok(_) => Ok(()),
        Err(_) => Err(rcgen::Error::InvalidAsn1String(
            rcgen::InvalidAsn1String::Ia5String(name.to_string()),
        )),
    }
}

/// `at + by`, or the end of year 9999 (RFC 5280's "no well-defined expiration") on overflow.
fn saturating_add(at: OffsetDateTime, by: Duration) -> OffsetDateTime {
    at.checked_add(by)
        .unwrap_or_else(|| rcgen::date_time_ymd(9999, 12, 31))
}

/// A random positive serial of exactly eight significant bytes (bit 62 set, bit 63 clear).
fn random_serial() -> u64 {
    (random_u64() | (1 << 62)) & !(1 << 63)
}

/// 64 unpredictable-enough bits for serials, salts and IVs of development material: SipHash
/// keyed from the OS (std's `RandomState`) over a process-wide counter and the clock.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    hasher.write_i128(nanos);
    hasher.finish()
}

fn fill_random(buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        let bytes = random_u64().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// Writes a private key file readable by its owner only: any existing file is removed first,
/// then the new one is created with mode 0600 (on unix) so it is never readable by others.
fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut open = fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    let mut file = open.open(path)?;
    #[cfg(unix)]
    {
        // The umask can only take bits away; make the mode exactly 0600.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::PublicKeyData;
    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::{FromDer, X509Certificate};
    use x509_parser::revocation_list::CertificateRevocationList;

    fn parse(der: &[u8]) -> X509Certificate<'_> {
        X509Certificate::from_der(der).expect("parses").1
    }

    fn cn(cert: &X509Certificate<'_>) -> String {
        cert.subject()
            .iter_common_name()
            .next()
            .and_then(|c| c.as_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    fn ski(cert: &X509Certificate<'_>) -> Vec<u8> {
        use x509_parser::extensions::ParsedExtension;
        cert.extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                _ => None,
            })
            .expect("SKI")
    }

    fn aki(cert: &X509Certificate<'_>) -> Vec<u8> {
        use x509_parser::extensions::ParsedExtension;
        cert.extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(k) => {
                    k.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                _ => None,
            })
            .expect("AKI")
    }

    fn assert_signed_by(child: &X509Certificate<'_>, parent: &X509Certificate<'_>) {
        assert_eq!(child.issuer(), parent.subject());
        assert_eq!(aki(child), ski(parent));
    }

    fn serial(cert: &X509Certificate<'_>) -> u64 {
        cert.raw_serial()
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    }

    fn eku(cert: &X509Certificate<'_>) -> (bool, bool) {
        cert.extended_key_usage()
            .expect("eku parses")
            .map(|e| (e.value.server_auth, e.value.client_auth))
            .unwrap_or_default()
    }

    #[test]
    fn chains_usages_and_validity() {
        for kind in KeyKind::ALL {
            let pki = DevPki::generate(&DevPkiOptions::default().with_key_kind(kind)).unwrap();
            let root = parse(&pki.root.cert_der);
            let int = parse(&pki.intermediate.cert_der);
            let server = parse(&pki.server.cert_der);
            let client = parse(&pki.client.cert_der);
            let revoked = parse(&pki.revoked_client.cert_der);
            let expired = parse(&pki.expired_client.cert_der);
            let foreign = parse(&pki.foreign_root.cert_der);
            let foreign_client = parse(&pki.foreign_client.cert_der);

            assert_eq!(cn(&root), ROOT_CN);
            assert_eq!(cn(&int), INTERMEDIATE_CN);
            assert_eq!(cn(&foreign), FOREIGN_ROOT_CN);
            assert_eq!(root.issuer(), root.subject());
            assert!(root.is_ca() && int.is_ca() && foreign.is_ca());
            assert!(!server.is_ca() && !client.is_ca());
            let ku = int.key_usage().unwrap().unwrap().value;
            assert!(ku.key_cert_sign() && ku.crl_sign() && ku.digital_signature());

            assert_signed_by(&int, &root);
            for leaf in [&server, &client, &revoked, &expired] {
                assert_signed_by(leaf, &int);
            }
            assert_signed_by(&foreign_client, &foreign);
            assert_ne!(foreign_client.issuer(), int.subject());

            assert_eq!(eku(&server), (true, true));
            for c in [&client, &revoked, &expired, &foreign_client] {
                assert_eq!(eku(c), (false, true));
            }

            let sans: Vec<String> = server
                .subject_alternative_name()
                .unwrap()
                .unwrap()
                .value
                .general_names
                .iter()
                .map(|n| match n {
                    GeneralName::DNSName(d) => d.to_string(),
                    GeneralName::IPAddress(ip) => match ip.len() {
                        4 => IpAddr::from(<[u8; 4]>::try_from(*ip).unwrap()).to_string(),
                        _ => IpAddr::from(<[u8; 16]>::try_from(*ip).unwrap()).to_string(),
                    },
                    other => panic!("unexpected SAN {other:?}"),
                })
                .collect();
            assert_eq!(sans, ["localhost", "127.0.0.1", "::1"]);
            assert_eq!(cn(&server), "localhost");

            for c in [&root, &int, &server, &client, &revoked, &foreign_client] {
                assert!(c.validity().is_valid(), "{} valid", cn(c));
            }
            assert!(!expired.validity().is_valid());
            assert!(
                expired.validity().not_after.timestamp()
                    < OffsetDateTime::now_utc().unix_timestamp()
            );

            // Serials are what Issued says and all distinct.
            let all = [
                (&pki.root, &root),
                (&pki.intermediate, &int),
                (&pki.server, &server),
                (&pki.client, &client),
                (&pki.revoked_client, &revoked),
                (&pki.expired_client, &expired),
                (&pki.foreign_root, &foreign),
                (&pki.foreign_client, &foreign_client),
            ];
            let mut serials: Vec<u64> = all
                .iter()
                .map(|(i, c)| {
                    assert_eq!(i.serial, serial(c), "{}", i.name);
                    i.serial
                })
                .collect();
            serials.sort_unstable();
            serials.dedup();
            assert_eq!(serials.len(), all.len());

            // Chains.
            assert_eq!(
                pki.server.chain_der(),
                [
                    pki.server.cert_der.clone(),
                    pki.intermediate.cert_der.clone()
                ]
            );
            assert_eq!(
                pki.server.chain_pem(),
                format!("{}{}", pki.server.cert_pem, pki.intermediate.cert_pem)
            );
            assert!(pki.root.intermediates.is_empty());
            assert!(pki.foreign_client.intermediates.is_empty());
            assert!(pki
                .server
                .key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----"));
            assert!(pki
                .server
                .cert_pem
                .starts_with("-----BEGIN CERTIFICATE-----"));
            assert!(!format!("{pki:?}").contains("PRIVATE"));
        }
    }

    #[test]
    fn keys_match_their_certificates() {
        for kind in KeyKind::ALL {
            let pki = DevPki::generate(&DevPkiOptions::default().with_key_kind(kind)).unwrap();
            for issued in [&pki.root, &pki.server, &pki.client, &pki.foreign_client] {
                let key = KeyPair::try_from(&issued.key_der).unwrap();
                let cert = parse(&issued.cert_der);
                assert_eq!(
                    cert.public_key().raw,
                    key.subject_public_key_info().as_slice()
                );
                let reparsed = KeyPair::from_pem(&issued.key_pem).unwrap();
                assert_eq!(reparsed.serialize_der(), issued.key_der.secret_pkcs8_der());
                let info =
                    pkcs8::PrivateKeyInfo::try_from(issued.key_der.secret_pkcs8_der()).unwrap();
                assert_eq!(info.version(), pkcs8::Version::V1, "{kind}");
            }
        }
    }

    #[test]
    fn crls() {
        let pki = DevPki::generate(&DevPkiOptions::default()).unwrap();
        let int = parse(&pki.intermediate.cert_der);
        let root = parse(&pki.root.cert_der);

        let (_, crl) = CertificateRevocationList::from_der(&pki.crl.der).unwrap();
        assert_eq!(crl.issuer(), int.subject());
        let revoked: Vec<u64> = crl
            .iter_revoked_certificates()
            .map(|r| {
                r.raw_serial()
                    .iter()
                    .fold(0u64, |a, &b| (a << 8) | u64::from(b))
            })
            .collect();
        assert_eq!(revoked, [pki.revoked_client.serial]);
        assert_eq!(pki.crl.revoked_serials, revoked);
        let next = crl.next_update().unwrap().timestamp();
        assert!(next > OffsetDateTime::now_utc().unix_timestamp());
        assert!(pki.crl.pem.starts_with("-----BEGIN X509 CRL-----"));

        let (_, root_crl) = CertificateRevocationList::from_der(&pki.root_crl.der).unwrap();
        assert_eq!(root_crl.issuer(), root.subject());
        assert_eq!(root_crl.iter_revoked_certificates().count(), 0);

        let more = pki
            .crl_revoking(&[pki.server.serial, pki.client.serial])
            .unwrap();
        let (_, more_crl) = CertificateRevocationList::from_der(&more.der).unwrap();
        assert_eq!(more_crl.iter_revoked_certificates().count(), 2);
    }

    #[test]
    fn issue_more_leaves() {
        let pki = DevPki::generate(
            &DevPkiOptions::default()
                .with_hostnames(["node1.cluster.test", "*.cluster.test", "10.0.0.1"])
                .with_validity(Duration::days(2)),
        )
        .unwrap();
        let server = parse(&pki.server.cert_der);
        assert_eq!(cn(&server), "node1.cluster.test");

        let other = pki
            .issue(&LeafSpec::server(
                "other",
                ["other.test"],
                Duration::days(1),
            ))
            .unwrap();
        let cert = parse(&other.cert_der);
        assert_signed_by(&cert, &parse(&pki.intermediate.cert_der));
        assert_eq!(
            other.intermediates,
            std::slice::from_ref(&pki.intermediate.cert_der)
        );
        assert_eq!(eku(&cert), (true, true));

        assert!(pki
            .issue(&LeafSpec::server(
                "bad",
                ["not a hostname!"],
                Duration::days(1)
            ))
            .is_err());
    }

    #[test]
    fn other_key_encodings() {
        let pki = DevPki::generate(&DevPkiOptions::default()).unwrap();

        let enc = pki.client.key_pem_encrypted("s3cret").unwrap();
        assert!(enc.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let (label, doc) = pkcs8::der::SecretDocument::from_pem(&enc).unwrap();
        assert_eq!(label, "ENCRYPTED PRIVATE KEY");
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes()).unwrap();
        let plain = info.decrypt("s3cret").unwrap();
        assert_eq!(plain.as_bytes(), pki.client.key_der.secret_pkcs8_der());
        assert!(info.decrypt("wrong").is_err());

        let sec1 = pki.server.key_sec1_pem().unwrap().unwrap();
        assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        let (_, doc) = pkcs8::der::SecretDocument::from_pem(&sec1).unwrap();
        let ec = sec1::EcPrivateKey::try_from(doc.as_bytes()).unwrap();
        assert!(ec.parameters.is_some() && ec.public_key.is_some());

        let ed =
            DevPki::generate(&DevPkiOptions::default().with_key_kind(KeyKind::Ed25519)).unwrap();
        assert!(ed.server.key_sec1_pem().unwrap().is_none());
    }

    #[test]
    fn writes_the_policy_layout() {
        let pki = DevPki::generate(&DevPkiOptions::default()).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("policy");
        pki.write_policy_dir(&base, &WritePolicy::default())
            .unwrap();

        let read = |p: &str| fs::read_to_string(base.join(p)).unwrap();
        assert_eq!(read("private.key"), pki.server.key_pem);
        assert_eq!(read("public.crt"), pki.server.chain_pem());
        assert_eq!(read("trusted/root.crt"), pki.root.cert_pem);
        assert_eq!(read("revoked/intermediate.crl"), pki.crl.pem);
        assert_eq!(read("revoked/root.crl"), pki.root_crl.pem);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(base.join("private.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // Rewriting over a world-readable key and without CRLs.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(base.join("private.key"), fs::Permissions::from_mode(0o644))
                .unwrap();
        }
        let base2 = tmp.path().join("no-crl");
        pki.write_policy_dir(&base2, &WritePolicy { with_crl: false })
            .unwrap();
        assert!(base2.join("revoked").is_dir());
        assert_eq!(fs::read_dir(base2.join("revoked")).unwrap().count(), 0);
        pki.write_policy_dir(&base, &WritePolicy::default())
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(base.join("private.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let (cert, key) = pki
            .write_client(&pki.revoked_client, &tmp.path().join("clients"))
            .unwrap();
        assert_eq!(cert.file_name().unwrap(), "revoked-client.crt");
        assert_eq!(
            fs::read_to_string(&cert).unwrap(),
            pki.revoked_client.chain_pem()
        );
        assert_eq!(
            fs::read_to_string(&key).unwrap(),
            pki.revoked_client.key_pem
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
