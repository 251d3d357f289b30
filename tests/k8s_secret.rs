//! Certificates mounted from a Kubernetes Secret: the kubelet never rewrites a file in place; it
//! writes a new timestamped directory, points a `..data_tmp` symlink at it, renames that over
//! `..data` and removes the old directory, while the files the pod reads are fixed symlinks
//! through `..data`. The watcher must pick up each such swap (here two in a row), on every
//! compiled-in backend: the certificate, and (rustls) the session-ticket key file from the same
//! Secret.
#![cfg(unix)]

use support::for_each_backend;
use tls_policy_test_support as support;

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, HandshakeKind, RootCertStore};
use support::server::Server;
use support::{pki, Home, STEP};
use tls_policy::TlsChannels;
use tls_policy_dev_pki::{Issued, LeafSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The entries a pod sees at the top of the mount, each a symlink through `..data`.
const ENTRIES: [&str; 5] = [
    "private.key",
    "public.crt",
    "ticket.keys",
    "trusted",
    "revoked",
];

/// A further server certificate for `localhost` from the PKI's intermediate.
fn server_cert(name: &str) -> Issued {
    pki()
        .issue(&LeafSpec::server(
            name,
            ["localhost", "127.0.0.1"],
            time::Duration::days(30),
        ))
        .expect("issue server certificate")
}

/// Writes one version of the Secret as the kubelet does (`defaultMode: 0400`): the timestamped
/// directory `stamp` with the key, the chain and `trusted/` (items with a path) and an empty
/// `revoked/`; then `..data_tmp -> stamp` renamed over `..data`; then the previous directory
/// removed. The first version also creates the top-level symlinks. `ticket.keys` holds one
/// session-ticket key made of `ticket_byte`s (a new byte, a new key).
fn publish(mount: &Path, stamp: &str, issued: &Issued, ticket_byte: u8) {
    let dir = mount.join(stamp);
    std::fs::create_dir_all(dir.join("trusted")).expect("timestamped dir");
    std::fs::create_dir_all(dir.join("revoked")).expect("revoked dir");
    let files: [(&str, Vec<u8>); 5] = [
        ("private.key", issued.key_pem.clone().into_bytes()),
        ("public.crt", issued.chain_pem().into_bytes()),
        ("ticket.keys", vec![ticket_byte; 80]),
        ("trusted/root.crt", pki().root.cert_pem.clone().into_bytes()),
        (
            "trusted/intermediate.crt",
            pki().intermediate.cert_pem.clone().into_bytes(),
        ),
    ];
    for (name, contents) in files {
        let path = dir.join(name);
        std::fs::write(&path, contents).expect("write secret file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).expect("0400");
    }
    let previous = std::fs::read_link(mount.join("..data")).ok();
    let tmp = mount.join("..data_tmp");
    symlink(stamp, &tmp).expect("..data_tmp");
    std::fs::rename(&tmp, mount.join("..data")).expect("rename ..data_tmp over ..data");
    for entry in ENTRIES {
        let link = mount.join(entry);
        if std::fs::symlink_metadata(&link).is_err() {
            symlink(Path::new("..data").join(entry), &link).expect("top-level symlink");
        }
    }
    if let Some(previous) = previous {
        std::fs::remove_dir_all(mount.join(previous)).expect("remove the old version");
    }
}

/// A client trusting the PKI's root; resuming from its own store when `resuming`.
fn client(resuming: bool) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(pki().root.cert_der.clone()).expect("root");
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.resumption = if resuming {
        Resumption::store(Arc::new(ClientSessionMemoryCache::new(8)))
    } else {
        Resumption::disabled()
    };
    Arc::new(config)
}

/// Whether a handshake with `config` resumed (an echo takes in the TLS 1.3 tickets).
async fn resumed(config: &Arc<ClientConfig>, addr: std::net::SocketAddr) -> bool {
    tokio::time::timeout(STEP, async {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        let mut tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
            .connect(name, tcp)
            .await
            .expect("handshake");
        tls.write_all(b"ping\n").await.expect("write");
        let mut echoed = [0u8; 5];
        tls.read_exact(&mut echoed).await.expect("echo");
        tls.get_ref().1.handshake_kind() == Some(HandshakeKind::Resumed)
    })
    .await
    .expect("handshake in time")
}

/// The leaf the server at `addr` presents to a client trusting the PKI's root.
async fn leaf(addr: std::net::SocketAddr) -> Result<CertificateDer<'static>, String> {
    let connector = tokio_rustls::TlsConnector::from(client(false));
    let attempt = async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tls.get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .cloned()
            .ok_or_else(|| "no certificate".to_string())
    };
    tokio::time::timeout(STEP, attempt)
        .await
        .map_err(|_| "handshake timed out".to_string())?
}

/// Polls until the server presents `expected` (bounded); whether it did.
async fn serves(addr: std::net::SocketAddr, expected: &CertificateDer<'_>) -> bool {
    let deadline = Instant::now() + STEP;
    while Instant::now() < deadline {
        if leaf(addr).await.is_ok_and(|leaf| leaf == *expected) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

for_each_backend! {
    async fn a_secret_volume_swap_is_picked_up_by_the_watcher(backend: Backend) {
        // native-tls has no ticket keys: it gets the certificates only.
        let tickets = backend.name().starts_with("rustls");
        let lines: &[&str] = if tickets {
            &["client_auth=NONE", "session_ticket_keys=ticket.keys"]
        } else {
            &["client_auth=NONE"]
        };
        let home = Home::new(backend, lines);
        // certificates/test becomes the Secret's mount point (sticky and world-writable, as
        // the loader accepts for such mounts).
        let mount = home.base();
        std::fs::remove_dir_all(&mount).expect("clear the policy directory");
        std::fs::create_dir_all(&mount).expect("mount point");
        let first = server_cert("secret-v1");
        publish(&mount, "..2026_11_30_17_00_00.123456789", &first, 1);
        std::fs::set_permissions(&mount, std::fs::Permissions::from_mode(0o1777)).expect("1777");

        let settings = home.settings().expect("config parses");
        let channels = TlsChannels::load(&settings, Some(backend)).expect("loads the mount");
        let server = Server::start(channels.channel("bolt").expect("bolt").acceptor.clone()).await;
        let watcher = channels.watch_with(Duration::from_millis(200)).expect("watch");
        assert_eq!(leaf(server.addr).await.expect("handshake"), first.cert_der);
        let resuming = client(true);
        if tickets {
            assert!(!resumed(&resuming, server.addr).await);
            assert!(resumed(&resuming, server.addr).await, "a ticket of key 1 resumes");
        }

        let second = server_cert("secret-v2");
        publish(&mount, "..2026_11_30_17_05_00.987654321", &second, 2);
        assert!(serves(server.addr, &second.cert_der).await, "the first swap was not picked up");
        if tickets {
            // The new file holds key 2 only: the ticket sealed under key 1 no longer opens.
            assert!(!resumed(&resuming, server.addr).await, "ticket keys not swapped");
            assert!(resumed(&resuming, server.addr).await, "a ticket of key 2 resumes");
        }

        let third = server_cert("secret-v3");
        publish(&mount, "..2026_11_30_17_10_00.555555555", &third, 3);
        assert!(serves(server.addr, &third.cert_der).await, "the second swap was not picked up");
        // The watch followed the swaps: the current version's directories are watched, the
        // removed ones not, and each watched directory passed its self-check.
        let current = mount.join("..2026_11_30_17_10_00.555555555").canonicalize().expect("v3");
        let deadline = Instant::now() + STEP;
        let health = loop {
            let health = watcher.health();
            if health.iter().all(|dir| dir.health.is_verified()) || Instant::now() > deadline {
                break health;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(health.iter().all(|dir| dir.health.is_verified()), "{health:?}");
        for sub in ["", "trusted", "revoked"] {
            let dir = current.join(sub);
            assert!(health.iter().any(|d| d.directory == dir), "{} not watched: {health:?}", dir.display());
        }
        assert!(
            !health.iter().any(|d| d.directory.to_string_lossy().contains("17_00_00")),
            "a removed version is still watched: {health:?}"
        );
        // Exactly the kubelet's layout remains: the links, ..data and one version.
        let mut names: Vec<String> = std::fs::read_dir(&mount)
            .expect("list mount")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["..2026_11_30_17_10_00.555555555", "..data", "private.key", "public.crt", "revoked", "ticket.keys", "trusted"]
        );
    }
}
