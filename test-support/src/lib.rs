//! The shared harness of the integration suite: a test PKI on disk, a config, a server behind
//! `TlsLayer` on an ephemeral loopback port, and a rustls client independent of the backend under test.
//!
//! Used as a dev-dependency by the root suite (`tests/`) and the command's (`cli/tests/`):
//! `use tls_policy_test_support as support;`, and `use support::for_each_backend;` where the
//! per-backend macro is wanted.

pub mod client;
pub mod openssl_pki;
pub mod process;
pub mod reload;
pub mod server;
pub mod tools;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tls_policy::config::Settings;
use tls_policy::{Acceptor, Backend, Error, TlsChannels};
use tls_policy_dev_pki::{DevPki, DevPkiOptions, WritePolicy};

/// Every await in the suite is bounded by this.
pub const STEP: std::time::Duration = std::time::Duration::from_secs(10);

/// One development PKI shared by the whole test binary (generation is the slow part).
pub fn pki() -> &'static DevPki {
    static PKI: OnceLock<DevPki> = OnceLock::new();
    PKI.get_or_init(|| DevPki::generate(&DevPkiOptions::default()).expect("generate test PKI"))
}

/// A home directory holding `certificates/test` (the PKI's server policy, CRL included) and a
/// `neo4j.conf` that defines policy `test` with `policy_lines` and binds channel `bolt` to it.
pub struct Home {
    /// The temporary home directory (removed when dropped).
    pub dir: tempfile::TempDir,
    /// Its `neo4j.conf`.
    pub config: PathBuf,
}

impl Home {
    /// The policy directory holds the CRL wherever `backend` can honour one.
    pub fn new(backend: Backend, policy_lines: &[&str]) -> Home {
        Self::with_crl(policy_lines, backend.capabilities().crls)
    }

    /// Like [`Home::new`], with the CRL in the policy directory when `crl` is true.
    pub fn with_crl(policy_lines: &[&str], crl: bool) -> Home {
        Self::with_crl_in(policy_lines, crl, tempfile::tempdir().expect("tempdir"))
    }

    /// Like [`Home::new`], in a temporary directory under `root` (a directory the test
    /// controls, so that a path relative to the process's working directory can reach it).
    pub fn new_in(backend: Backend, policy_lines: &[&str], root: &Path) -> Home {
        let dir = tempfile::tempdir_in(root).expect("tempdir");
        Self::with_crl_in(policy_lines, backend.capabilities().crls, dir)
    }

    fn with_crl_in(policy_lines: &[&str], crl: bool, dir: tempfile::TempDir) -> Home {
        let base = dir.path().join("certificates/test");
        pki()
            .write_policy_dir(&base, &WritePolicy { with_crl: crl })
            .expect("write policy directory");
        let mut text = String::from(
            "# written by the test harness\ndbms.ssl.policy.test.base_directory=certificates/test\n",
        );
        for line in policy_lines {
            text.push_str(&format!("dbms.ssl.policy.test.{line}\n"));
        }
        text.push_str("bolt.ssl_policy=test\n");
        let config = dir.path().join("neo4j.conf");
        std::fs::write(&config, text).expect("write config");
        Home { dir, config }
    }

    /// The home directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The policy `test`'s base directory, `certificates/test`.
    pub fn base(&self) -> PathBuf {
        self.dir.path().join("certificates/test")
    }

    /// The settings parsed from its `neo4j.conf`.
    pub fn settings(&self) -> Result<Settings, Error> {
        Settings::from_file(&self.config, None)
    }

    /// Loads the config and compiles channel `bolt` for `backend`.
    pub fn acceptor(&self, backend: Backend) -> Result<Acceptor, Error> {
        let settings = self.settings()?;
        let channels = TlsChannels::load(&settings, Some(backend))?;
        Ok(channels
            .channel("bolt")
            .expect("bolt is bound")
            .acceptor
            .clone())
    }
}

/// Runs the body once per compiled-in backend, each as its own `#[tokio::test]` named
/// `<backend>::<test>` (`rustls_aws_lc_rs::…`, `openssl::…`): the modules come from the
/// library's one backend list (`tls_policy::backend_list!`), so a new backend needs no line here.
#[macro_export]
macro_rules! for_each_backend {
    ($($tests:tt)*) => {
        tls_policy::backend_list!($crate::for_each_backend_rows, [$($tests)*]);
    };
}

/// The rows of the backend list with the tests (one bracketed group): a module per backend.
#[macro_export]
macro_rules! for_each_backend_rows {
    ([$tests:tt] $($(#[$doc:meta])* $variant:ident, $module:ident, $feature:literal, $ty:ty, $make:expr, $server:ty, $client:ty;)*) => {
        $($crate::for_each_backend_module!($variant, $module, $feature, $tests);)*
    };
}

/// One backend's module of tests.
#[macro_export]
macro_rules! for_each_backend_module {
    ($variant:ident, $module:ident, $feature:literal, [$(async fn $name:ident($backend:ident: Backend) $body:block)*]) => {
        #[cfg(feature = $feature)]
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let $backend = tls_policy::Backend::$variant;
                    $body
                }
            )*
        }
    };
}
