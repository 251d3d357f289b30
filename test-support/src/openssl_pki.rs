//! A test PKI made by the `openssl` command at test time (not rcgen): CAs, leaves, revocations
//! and CRLs (`openssl ca -revoke` / `-gencrl`), in a temporary directory; keys never leave it.
//!
//! `OpensslPki::new()` returns `None` only when openssl is missing and
//! `TLS_POLICY_SKIP_MISSING_TOOLS=1` (see [`super::tools::tool`]); a missing openssl otherwise
//! fails the test, and so does any openssl command that fails (its stderr in the message).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The temporary directory every file of the PKI is written to.
pub struct OpensslPki {
    dir: tempfile::TempDir,
}

/// A certificate made by openssl, with its key.
#[derive(Clone, Debug)]
pub struct Made {
    /// Its file name stem inside the PKI directory (`root`, `intermediate`, ...).
    pub name: String,
    /// The certificate, PEM.
    pub cert: PathBuf,
    /// Its private key, PKCS#8 PEM (mode 0600).
    pub key: PathBuf,
}

impl Made {
    /// The certificate as PEM text.
    pub fn pem(&self) -> String {
        fs::read_to_string(&self.cert).expect("certificate written by openssl")
    }

    /// The private key as PEM text.
    pub fn key_pem(&self) -> String {
        fs::read_to_string(&self.key).expect("key written by openssl")
    }
}

/// What a leaf certificate is for (its extendedKeyUsage).
#[derive(Clone, Copy, Debug)]
pub enum Usage {
    /// `serverAuth`, for `localhost` and `127.0.0.1`.
    Server,
    /// `clientAuth`.
    Client,
}

impl OpensslPki {
    /// An empty PKI directory, or `None` when openssl is missing and the skip variable is set.
    pub fn new() -> Option<OpensslPki> {
        if !super::tools::tool("openssl") {
            return None;
        }
        Some(OpensslPki {
            dir: tempfile::tempdir().expect("tempdir"),
        })
    }

    /// The directory the PKI lives in.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `openssl args` in the PKI directory; panics with its stderr when it fails.
    pub fn openssl(&self, args: &[&str]) -> String {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(self.path())
            .stdin(Stdio::null())
            .output()
            .expect("run openssl");
        assert!(
            output.status.success(),
            "openssl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A self-signed root CA `CN=<cn>`, with a CA database for revocations and CRLs.
    pub fn root(&self, name: &str, cn: &str) -> Made {
        let made = self.paths(name);
        let subject = format!("/CN={cn}");
        let key = made.key.to_string_lossy().into_owned();
        let cert = made.cert.to_string_lossy().into_owned();
        self.openssl(&[
            "req",
            "-x509",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &cert,
            "-subj",
            &subject,
            "-days",
            "30",
            "-sha256",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            "subjectKeyIdentifier=hash",
        ]);
        self.finish(&made);
        self.ca_database(&made);
        made
    }

    /// An intermediate CA `CN=<cn>` issued by `issuer`, with its own CA database.
    pub fn intermediate(&self, name: &str, cn: &str, issuer: &Made) -> Made {
        let made = self.signed(
            name,
            cn,
            issuer,
            "basicConstraints=critical,CA:TRUE\n\
             keyUsage=critical,keyCertSign,cRLSign\n\
             subjectKeyIdentifier=hash\n\
             authorityKeyIdentifier=keyid:always\n",
        );
        self.ca_database(&made);
        made
    }

    /// A leaf `CN=<cn>` issued by `issuer` for `usage`.
    pub fn leaf(&self, name: &str, cn: &str, issuer: &Made, usage: Usage) -> Made {
        let extensions = match usage {
            Usage::Server => {
                "basicConstraints=critical,CA:FALSE\n\
                 keyUsage=critical,digitalSignature\n\
                 extendedKeyUsage=serverAuth\n\
                 subjectAltName=DNS:localhost,IP:127.0.0.1\n\
                 authorityKeyIdentifier=keyid:always\n"
            }
            Usage::Client => {
                "basicConstraints=critical,CA:FALSE\n\
                 keyUsage=critical,digitalSignature\n\
                 extendedKeyUsage=clientAuth\n\
                 authorityKeyIdentifier=keyid:always\n"
            }
        };
        self.signed(name, cn, issuer, extensions)
    }

    /// Records `cert` as revoked in the database of `ca` (`openssl ca -revoke`).
    pub fn revoke(&self, ca: &Made, cert: &Made) {
        let config = self.ca_config(ca);
        let (key, ca_cert, revoked) = (
            ca.key.to_string_lossy().into_owned(),
            ca.cert.to_string_lossy().into_owned(),
            cert.cert.to_string_lossy().into_owned(),
        );
        self.openssl(&[
            "ca",
            "-config",
            &config,
            "-keyfile",
            &key,
            "-cert",
            &ca_cert,
            "-revoke",
            &revoked,
            "-crl_reason",
            "keyCompromise",
        ]);
    }

    /// A current CRL (next update in 7 days) of `ca`, listing what was revoked so far, PEM
    /// (`openssl ca -gencrl`).
    pub fn crl(&self, ca: &Made) -> String {
        let config = self.ca_config(ca);
        let out = self
            .path()
            .join(format!("{}-{}.crl", ca.name, self.next_number()));
        let (key, ca_cert, out_path) = (
            ca.key.to_string_lossy().into_owned(),
            ca.cert.to_string_lossy().into_owned(),
            out.to_string_lossy().into_owned(),
        );
        self.openssl(&[
            "ca", "-config", &config, "-keyfile", &key, "-cert", &ca_cert, "-gencrl", "-out",
            &out_path,
        ]);
        fs::read_to_string(&out).expect("CRL written by openssl")
    }

    /// The file names of `name`.
    fn paths(&self, name: &str) -> Made {
        Made {
            name: name.to_owned(),
            cert: self.path().join(format!("{name}.crt")),
            key: self.path().join(format!("{name}.key")),
        }
    }

    /// A new key and a certificate `CN=<cn>` for it, signed by `issuer` with `extensions`.
    fn signed(&self, name: &str, cn: &str, issuer: &Made, extensions: &str) -> Made {
        let made = self.paths(name);
        let csr = self.path().join(format!("{name}.csr"));
        let ext = self.path().join(format!("{name}.ext"));
        fs::write(&ext, extensions).expect("extensions file");
        let subject = format!("/CN={cn}");
        let serial = format!("{}", 1000 + self.next_number());
        let s = |p: &Path| p.to_string_lossy().into_owned();
        self.openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &s(&made.key),
            "-out",
            &s(&csr),
            "-subj",
            &subject,
        ]);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &s(&csr),
            "-CA",
            &s(&issuer.cert),
            "-CAkey",
            &s(&issuer.key),
            "-set_serial",
            &serial,
            "-days",
            "30",
            "-sha256",
            "-extfile",
            &s(&ext),
            "-out",
            &s(&made.cert),
        ]);
        self.finish(&made);
        made
    }

    /// The key readable by its owner only (the loader refuses others-readable keys).
    fn finish(&self, made: &Made) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&made.key, fs::Permissions::from_mode(0o600)).expect("chmod key");
        }
    }

    /// The empty database `openssl ca` keeps for `ca`: index and CRL number.
    fn ca_database(&self, ca: &Made) {
        let dir = self.path().join(format!("{}-db", ca.name));
        fs::create_dir_all(&dir).expect("CA database dir");
        fs::write(dir.join("index.txt"), "").expect("index");
        fs::write(dir.join("crlnumber"), "01\n").expect("crlnumber");
        let config = format!(
            "[ ca ]\n\
             default_ca = this_ca\n\
             [ this_ca ]\n\
             database = {db}/index.txt\n\
             crlnumber = {db}/crlnumber\n\
             default_md = sha256\n\
             default_crl_days = 7\n\
             crl_extensions = crl_ext\n\
             [ crl_ext ]\n\
             authorityKeyIdentifier = keyid:always\n",
            db = dir.display()
        );
        fs::write(dir.join("ca.cnf"), config).expect("CA config");
    }

    /// The `openssl ca` config of `ca`.
    fn ca_config(&self, ca: &Made) -> String {
        self.path()
            .join(format!("{}-db/ca.cnf", ca.name))
            .to_string_lossy()
            .into_owned()
    }

    /// A number unique within this PKI (serials, CRL file names).
    fn next_number(&self) -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }
}
