//! The legacy SSL system (spec §4) and `allow_key_generation` (spec §2), end to end: generation,
//! reuse on the next start, owner-only keys, the reserved name, the SANs, and handshakes on every
//! compiled-in backend.

use support::for_each_backend;
use tls_policy_test_support as support;

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use support::server::Server;
use support::{pki, STEP};
use tls_policy::config::Settings;
use tls_policy::{Backend, BackendError, Error, TlsChannels};

/// A home with `neo4j.conf` holding `config`.
fn home(config: &str) -> (tempfile::TempDir, Settings) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("neo4j.conf");
    fs::write(&path, config).expect("write config");
    let settings = Settings::from_file(&path, None).expect("config parses");
    (dir, settings)
}

const LEGACY_BOLT: &str =
    "bolt.ssl_policy=legacy\ndbms.connector.bolt.listen_address=127.0.0.1:0\n";

fn legacy_files(home: &Path) -> (PathBuf, PathBuf) {
    (
        home.join("certificates/neo4j.key"),
        home.join("certificates/neo4j.cert"),
    )
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn leaf_of(pem_file: &Path) -> CertificateDer<'static> {
    CertificateDer::pem_file_iter(pem_file)
        .expect("read certificate")
        .next()
        .expect("one certificate")
        .expect("PEM")
}

/// The certificate's SANs as `DNS:name` / `IP:address`, and its subject CN.
fn names(cert: &CertificateDer<'_>) -> (Vec<String>, String) {
    let (_, x509) = X509Certificate::from_der(cert.as_ref()).expect("parses");
    let sans = x509
        .subject_alternative_name()
        .expect("SAN parses")
        .expect("has SANs")
        .value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => format!("DNS:{d}"),
            GeneralName::IPAddress(b) if b.len() == 4 => {
                format!("IP:{}", IpAddr::from(<[u8; 4]>::try_from(*b).unwrap()))
            }
            GeneralName::IPAddress(b) => {
                format!("IP:{}", IpAddr::from(<[u8; 16]>::try_from(*b).unwrap()))
            }
            other => panic!("unexpected SAN {other:?}"),
        })
        .collect();
    let cn = x509
        .subject()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .unwrap_or_default()
        .to_owned();
    (sans, cn)
}

/// Handshakes as `localhost`, trusting only `anchor`, optionally presenting `identity`; sends
/// a line and expects it echoed.
async fn exchange(
    addr: SocketAddr,
    anchor: &CertificateDer<'static>,
    identity: Option<(&Path, &Path)>,
) -> Result<(), String> {
    let run = async {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(anchor.clone()).map_err(|e| e.to_string())?;
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
        let config = match identity {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                    .map_err(|e| e.to_string())?
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| e.to_string())?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| e.to_string())?
            }
        };
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tls.write_all(b"ping\n").await.map_err(|e| e.to_string())?;
        tls.flush().await.map_err(|e| e.to_string())?;
        let mut echoed = [0u8; 5];
        tls.read_exact(&mut echoed)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if &echoed != b"ping\n" {
            return Err(format!("echo mismatch: {echoed:?}"));
        }
        Ok(())
    };
    tokio::time::timeout(STEP, run)
        .await
        .map_err(|_| "client timed out".to_owned())?
}

// === the legacy system ===

#[test]
fn legacy_pair_is_generated_owner_only_and_reused() {
    let (dir, settings) = home(LEGACY_BOLT);
    let (key, cert) = legacy_files(dir.path());
    assert!(!key.exists() && !cert.exists());

    let first = TlsChannels::load(&settings, None).expect("legacy loads");
    let warnings = &first.channel("bolt").expect("bolt bound").warnings;
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("generated a self-signed") && w.contains("development only")),
        "{warnings:?}"
    );
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600, "the generated key is owner-only");
    let key_bytes = fs::read(&key).expect("key written");
    let cert_bytes = fs::read(&cert).expect("certificate written");
    assert!(String::from_utf8_lossy(&key_bytes).starts_with("-----BEGIN PRIVATE KEY-----"));

    // The next start reuses the pair: same bytes, no generation warning.
    let second = TlsChannels::load(&settings, None).expect("legacy loads again");
    assert_eq!(fs::read(&key).unwrap(), key_bytes);
    assert_eq!(fs::read(&cert).unwrap(), cert_bytes);
    let warnings = &second.channel("bolt").unwrap().warnings;
    assert!(
        !warnings.iter().any(|w| w.contains("generated")),
        "{warnings:?}"
    );
}

#[test]
fn legacy_sans_cover_the_advertised_address_and_listen_hosts() {
    let (dir, settings) = home(
        "dbms.connectors.default_advertised_address=db.example.test\n\
         bolt.ssl_policy=legacy\n\
         dbms.connector.bolt.listen_address=127.0.0.2:0\n\
         https.ssl_policy=legacy\n\
         dbms.connector.https.listen_address=node1.example.test:0\n\
         dbms.connector.http.listen_address=0.0.0.0:0\n\
         dbms.connector.http.tls_level=DISABLED\n",
    );
    TlsChannels::load(&settings, None).expect("legacy loads");
    let (sans, cn) = names(&leaf_of(&legacy_files(dir.path()).1));
    assert_eq!(cn, "db.example.test");
    for wanted in [
        "DNS:db.example.test",
        "IP:127.0.0.2",
        "DNS:node1.example.test",
        "DNS:localhost",
        "IP:127.0.0.1",
        "IP:::1",
    ] {
        assert!(sans.iter().any(|s| s == wanted), "{wanted} in {sans:?}");
    }
    assert!(!sans.iter().any(|s| s == "IP:0.0.0.0"), "{sans:?}");
}

#[test]
fn legacy_directory_is_configurable() {
    let (dir, settings) = home(&format!(
        "dbms.directories.certificates=tls/legacy\n{LEGACY_BOLT}"
    ));
    TlsChannels::load(&settings, None).expect("legacy loads");
    assert!(dir.path().join("tls/legacy/neo4j.key").is_file());
    assert!(dir.path().join("tls/legacy/neo4j.cert").is_file());
    assert!(!dir.path().join("certificates").exists());
}

#[test]
fn the_legacy_name_is_reserved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("neo4j.conf");
    fs::write(
        &path,
        "bolt.ssl_policy=legacy\ndbms.ssl.policy.legacy.base_directory=certificates\n",
    )
    .unwrap();
    let error = Settings::from_file(&path, None).unwrap_err().to_string();
    assert!(
        error.contains("neo4j.conf:2")
            && error.contains("dbms.ssl.policy.legacy.base_directory")
            && error.contains("reserved")
            && error.contains("rename"),
        "{error}"
    );
}

#[test]
fn legacy_with_one_file_missing_generates_nothing() {
    let (dir, settings) = home(LEGACY_BOLT);
    TlsChannels::load(&settings, None).expect("legacy loads");
    let (key, cert) = legacy_files(dir.path());
    fs::remove_file(&cert).unwrap();
    let key_bytes = fs::read(&key).unwrap();
    let error = TlsChannels::load(&settings, None).unwrap_err().to_string();
    assert!(
        error.contains("policy 'legacy'") && error.contains("neo4j.cert") && error.contains("both"),
        "{error}"
    );
    assert!(!cert.exists(), "nothing generated");
    assert_eq!(fs::read(&key).unwrap(), key_bytes, "the key is untouched");
}

#[test]
fn legacy_refuses_an_encrypted_key() {
    let (dir, settings) = home(LEGACY_BOLT);
    let (key, cert) = legacy_files(dir.path());
    fs::create_dir_all(key.parent().unwrap()).unwrap();
    let server = &pki().server;
    fs::write(&key, server.key_pem_encrypted("secret").unwrap()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    }
    fs::write(&cert, server.chain_pem()).unwrap();
    let error = TlsChannels::load(&settings, None).unwrap_err().to_string();
    assert!(
        error.contains("neo4j.key") && error.contains("must be unencrypted"),
        "{error}"
    );
}

#[test]
fn legacy_uses_an_installed_pair_and_refuses_a_world_readable_key() {
    let (dir, settings) = home(LEGACY_BOLT);
    let (key, cert) = legacy_files(dir.path());
    fs::create_dir_all(key.parent().unwrap()).unwrap();
    pki().server.write_files(key.parent().unwrap()).unwrap();
    fs::rename(key.parent().unwrap().join("server.key"), &key).unwrap();
    fs::rename(key.parent().unwrap().join("server.crt"), &cert).unwrap();
    let channels = TlsChannels::load(&settings, None).expect("installed pair loads");
    assert!(channels.channel("bolt").unwrap().warnings.is_empty());
    assert_eq!(leaf_of(&cert), pki().server.cert_der);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        let error = TlsChannels::load(&settings, None).unwrap_err().to_string();
        assert!(
            error.contains("neo4j.key") && error.contains("readable by others"),
            "{error}"
        );
    }
}

#[test]
fn failed_generation_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    // The certificates directory's parent is a file: nothing can be created under it.
    fs::write(dir.path().join("blocker"), "not a directory").unwrap();
    let path = dir.path().join("neo4j.conf");
    fs::write(
        &path,
        format!("dbms.directories.certificates=blocker/certs\n{LEGACY_BOLT}"),
    )
    .unwrap();
    let settings = Settings::from_file(&path, None).unwrap();
    let error = TlsChannels::load(&settings, None).unwrap_err().to_string();
    assert!(
        error.contains("dbms.directories.certificates") && error.contains("blocker"),
        "{error}"
    );
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "only the config and the blocker: {left:?}");
}

// === allow_key_generation ===

const GENERATING_POLICY: &str = "dbms.ssl.policy.dev.base_directory=certificates/dev\n\
     dbms.ssl.policy.dev.allow_key_generation=true\n\
     dbms.ssl.policy.dev.client_auth=REQUIRE\n\
     bolt.ssl_policy=dev\n\
     dbms.connector.bolt.listen_address=127.0.0.1:0\n";

#[test]
fn allow_key_generation_creates_the_structure_once() {
    let (dir, settings) = home(GENERATING_POLICY);
    let base = dir.path().join("certificates/dev");
    let backend = Backend::compiled()
        .iter()
        .copied()
        .find(|b| b.capabilities().client_auth)
        .expect("a backend with client auth is compiled in");
    let channels = TlsChannels::load(&settings, Some(backend)).expect("generated and loaded");
    let warnings = &channels.channel("bolt").unwrap().warnings;
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("allow_key_generation") && w.contains("development only")),
        "{warnings:?}"
    );
    assert!(base.join("revoked").is_dir());
    #[cfg(unix)]
    assert_eq!(mode(&base.join("private.key")), 0o600);
    let cert = fs::read(base.join("public.crt")).unwrap();
    assert_eq!(fs::read(base.join("trusted/public.crt")).unwrap(), cert);
    let (sans, _) = names(&leaf_of(&base.join("public.crt")));
    for wanted in ["DNS:localhost", "IP:127.0.0.1", "IP:::1"] {
        assert!(sans.iter().any(|s| s == wanted), "{wanted} in {sans:?}");
    }

    // Reused on the next start.
    let key = fs::read(base.join("private.key")).unwrap();
    TlsChannels::load(&settings, Some(backend)).expect("loads again");
    assert_eq!(fs::read(base.join("private.key")).unwrap(), key);
    assert_eq!(fs::read(base.join("public.crt")).unwrap(), cert);
}

#[test]
fn allow_key_generation_needs_both_files_missing() {
    let (dir, settings) = home(GENERATING_POLICY);
    let base = dir.path().join("certificates/dev");
    fs::create_dir_all(&base).unwrap();
    fs::write(base.join("public.crt"), pki().server.chain_pem()).unwrap();
    let error = TlsChannels::load(&settings, None).unwrap_err();
    match &error {
        Error::Policy { setting, path, .. } => {
            assert_eq!(*setting, "private_key");
            assert_eq!(path.as_deref(), Some(base.join("private.key").as_path()));
        }
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("both are missing"), "{error}");
    assert!(!base.join("private.key").exists());
    assert!(!base.join("trusted").exists(), "no structure generated");
}

#[test]
fn without_allow_key_generation_nothing_is_created() {
    let (dir, settings) =
        home(&GENERATING_POLICY.replace("allow_key_generation=true", "allow_key_generation=false"));
    let error = TlsChannels::load(&settings, None).unwrap_err().to_string();
    assert!(error.contains("base_directory"), "{error}");
    assert!(!dir.path().join("certificates").exists());
}

for_each_backend! {
    async fn legacy_serves_a_handshake(backend: Backend) {
        let (dir, settings) = home(LEGACY_BOLT);
        let channels = TlsChannels::load(&settings, Some(backend)).expect("legacy loads");
        let bolt = channels.channel("bolt").expect("bolt bound");
        assert_eq!(bolt.acceptor.policy(), "legacy");
        let mut server = Server::start(bolt.acceptor.clone()).await;
        let anchor = leaf_of(&legacy_files(dir.path()).1);
        exchange(server.addr, &anchor, None).await.expect("exchange with the legacy pair");
        let info = server.outcome().await.expect("server side handshake");
        assert_eq!(info.backend, backend.name());
        assert!(info.peer_certificates.is_empty(), "legacy never asks for a client certificate");
    }

    async fn generated_pair_works_with_require(backend: Backend) {
        let (dir, settings) = home(GENERATING_POLICY);
        let loaded = TlsChannels::load(&settings, Some(backend));
        if !backend.capabilities().client_auth {
            match loaded {
                Err(Error::Backend { source: BackendError::Unsupported { setting, .. }, .. }) => {
                    assert_eq!(setting, "client_auth");
                }
                other => panic!("expected client_auth to be refused, got {other:?}"),
            }
            return;
        }
        let channels = loaded.expect("generated and loaded");
        let mut server = Server::start(channels.channel("bolt").unwrap().acceptor.clone()).await;
        let base = dir.path().join("certificates/dev");
        let anchor = leaf_of(&base.join("public.crt"));
        // A peer holding the generated pair is trusted through the copy in trusted_dir.
        exchange(server.addr, &anchor, Some((&base.join("public.crt"), &base.join("private.key"))))
            .await
            .expect("mutual TLS with the generated pair");
        let info = server.outcome().await.expect("server side handshake");
        assert_eq!(info.peer_certificate(), Some(&anchor));
        // Without a certificate, REQUIRE refuses.
        let anonymous = exchange(server.addr, &anchor, None).await;
        assert!(anonymous.is_err(), "an anonymous client got through");
        assert!(server.outcome().await.is_err());
    }
}
