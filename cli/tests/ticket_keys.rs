//! Session-ticket keys shared by a fleet (`session_ticket_keys`): two real `tls-policy serve`
//! replicas with one key file resume each other's sessions (openssl s_client and a rustls
//! client, TLS 1.2 and 1.3, one replica on aws-lc-rs and the other on ring when both are
//! compiled in); with another key file they do not; after `ticket-keys rotate` old tickets still
//! resume and new ones carry the new key's name; a broken key file is refused on reload, the old
//! keys kept; native-tls refuses the setting.

mod serve_harness;
use tls_policy_test_support as support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, HandshakeKind, RootCertStore, SupportedProtocolVersion};
use serve_harness::{exchange, run_to_end, tool, Served};
use support::{pki, STEP};
use tls_policy_dev_pki::WritePolicy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// === the fleet's home ===

/// A home with the PKI's server policy in `certificates/test` and key files made by the command.
struct Fleet {
    dir: tempfile::TempDir,
    ca: PathBuf,
}

impl Fleet {
    fn new() -> Fleet {
        let dir = tempfile::tempdir().expect("tempdir");
        pki()
            .write_policy_dir(
                &dir.path().join("certificates/test"),
                &WritePolicy { with_crl: false },
            )
            .expect("write policy directory");
        let ca = dir.path().join("ca.crt");
        std::fs::write(&ca, &pki().root.cert_pem).expect("write CA");
        Fleet { dir, ca }
    }

    /// `certificates/test/<name>`.
    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join("certificates/test").join(name)
    }

    /// Runs `tls-policy ticket-keys <args>` to success; its stdout.
    async fn ticket_keys(&self, args: &[&str]) -> String {
        let mut all = vec!["ticket-keys".to_owned()];
        all.extend(args.iter().map(|s| s.to_string()));
        let (status, stdout, stderr) = run_to_end(&all).await;
        assert!(status.success(), "ticket-keys {args:?}: {stdout}\n{stderr}");
        stdout
    }

    /// A config whose one channel `fleet` is served with `keys` (a file in certificates/test).
    fn config(&self, keys: &str) -> PathBuf {
        let config = self.dir.path().join(format!("{keys}.conf"));
        std::fs::write(
            &config,
            format!(
                "dbms.ssl.policy.fleet.base_directory=certificates/test\n\
                 dbms.ssl.policy.fleet.client_auth=NONE\n\
                 dbms.ssl.policy.fleet.session_ticket_keys={keys}\n\
                 fleet.ssl_policy=fleet\n\
                 dbms.connector.fleet.listen_address=127.0.0.1:0\n"
            ),
        )
        .expect("write config");
        config
    }

    /// One replica serving `config` on `backend`.
    async fn serve(&self, config: &Path, backend: &str) -> Served {
        let args: Vec<String> = [
            "serve",
            "--config",
            &config.display().to_string(),
            "--backend",
            backend,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        Served::start(&args, 1).await
    }
}

/// The backends of the two replicas: aws-lc-rs and ring when both are compiled in (a mixed
/// fleet), else the one rustls backend twice.
fn replica_backends() -> [&'static str; 2] {
    let aws = cfg!(feature = "rustls-aws-lc-rs");
    let ring = cfg!(feature = "rustls-ring");
    match (aws, ring) {
        (true, true) => ["rustls-aws-lc-rs", "rustls-ring"],
        (true, false) => ["rustls-aws-lc-rs"; 2],
        _ => ["rustls-ring"; 2],
    }
}

fn rustls_compiled() -> bool {
    cfg!(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))
}

// === openssl s_client ===

/// `openssl s_client` to `addr` with `version` (`-tls1_2`, `-tls1_3`) and `extra`; the line
/// must come back; its output.
async fn s_client(fleet: &Fleet, addr: SocketAddr, version: &str, extra: &[&str]) -> String {
    let mut args: Vec<String> = [
        "s_client",
        "-connect",
        &addr.to_string(),
        "-servername",
        "localhost",
        "-verify_return_error",
        "-CAfile",
        &fleet.ca.display().to_string(),
        version,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let done = exchange("openssl", &args).await;
    assert!(done.echoed(), "s_client {args:?}:\n{}", done.output());
    done.output().to_owned()
}

/// Starts a session on `addr`, saved to `session`.
async fn new_session(fleet: &Fleet, addr: SocketAddr, version: &str, session: &Path) {
    let out = s_client(
        fleet,
        addr,
        version,
        &["-sess_out", &session.display().to_string()],
    )
    .await;
    assert!(out.contains("New, TLSv1."), "{out}");
    assert!(session.exists(), "no session written:\n{out}");
}

/// Whether `session` resumes on `addr`.
async fn resumes(fleet: &Fleet, addr: SocketAddr, version: &str, session: &Path) -> bool {
    let out = s_client(
        fleet,
        addr,
        version,
        &["-sess_in", &session.display().to_string()],
    )
    .await;
    let reused = out.contains("Reused, TLSv1.");
    assert!(reused || out.contains("New, TLSv1."), "{out}");
    reused
}

/// The first 16 bytes of the ticket in a saved session (the name of the key that sealed it),
/// as `openssl sess_id -text` prints it.
fn ticket_key_name(session: &Path) -> String {
    let out = std::process::Command::new("openssl")
        .args(["sess_id", "-noout", "-text", "-in"])
        .arg(session)
        .output()
        .expect("run openssl sess_id");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let dump = text
        .split("TLS session ticket:")
        .nth(1)
        .unwrap_or_else(|| panic!("no ticket in the session:\n{text}"));
    let first = dump
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("0000 - "))
        .unwrap_or_else(|| panic!("no ticket bytes:\n{text}"));
    let hex: String = first
        .split("   ")
        .next()
        .unwrap_or("")
        .replace('-', " ")
        .split_whitespace()
        .take(16)
        .collect();
    assert_eq!(hex.len(), 32, "{first}");
    hex
}

/// The name of the first key in a raw key file, in hex.
fn first_key_name(file: &Path) -> String {
    let bytes = std::fs::read(file).expect("read key file");
    bytes[..16].iter().map(|b| format!("{b:02x}")).collect()
}

// === a rustls client ===

/// A ring-based rustls client offering `versions`, resuming from one session store.
fn resuming_client(versions: &'static [&'static SupportedProtocolVersion]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(pki().root.cert_der.clone()).expect("add root");
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.resumption = Resumption::store(Arc::new(ClientSessionMemoryCache::new(16)));
    Arc::new(config)
}

/// Connects to `addr` as `localhost`, echoes a line (which also takes in the TLS 1.3 tickets)
/// and returns how the handshake went.
async fn rustls_handshake(config: &Arc<ClientConfig>, addr: SocketAddr) -> HandshakeKind {
    tokio::time::timeout(STEP, async {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        let mut tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
            .connect(name, tcp)
            .await
            .expect("handshake");
        tls.write_all(b"ping\n").await.expect("write");
        let mut echoed = [0u8; 5];
        tls.read_exact(&mut echoed).await.expect("read echo");
        assert_eq!(&echoed, b"ping\n");
        let kind = tls.get_ref().1.handshake_kind().expect("handshake done");
        let _ = tls.shutdown().await;
        kind
    })
    .await
    .expect("rustls exchange in time")
}

/// Waits (bounded) until `served` logged `needle` at least `count` times.
async fn wait_for_log(served: &Served, needle: &str, count: usize) {
    let deadline = Instant::now() + STEP;
    while served.stderr().matches(needle).count() < count {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} (x{count}) in the log:\n{}",
            served.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// === the tests ===

#[tokio::test]
async fn replicas_with_one_key_file_resume_each_others_sessions_over_openssl() {
    if !rustls_compiled() || !tool("openssl") {
        return;
    }
    let fleet = Fleet::new();
    let keys = fleet.file("ticket.keys");
    fleet
        .ticket_keys(&["new", &keys.display().to_string()])
        .await;
    let config = fleet.config("ticket.keys");
    let [first, second] = replica_backends();
    let a = fleet.serve(&config, first).await;
    let b = fleet.serve(&config, second).await;

    for version in ["-tls1_3", "-tls1_2"] {
        let session = fleet.dir.path().join(format!("session{version}.pem"));
        new_session(&fleet, a.addr("fleet"), version, &session).await;
        assert_eq!(
            ticket_key_name(&session),
            first_key_name(&keys),
            "{version}"
        );
        assert!(
            resumes(&fleet, b.addr("fleet"), version, &session).await,
            "{version}: a session from {first} did not resume on {second}"
        );

        let back = fleet.dir.path().join(format!("back{version}.pem"));
        new_session(&fleet, b.addr("fleet"), version, &back).await;
        assert!(
            resumes(&fleet, a.addr("fleet"), version, &back).await,
            "{version}: a session from {second} did not resume on {first}"
        );
    }
    // Key material never reaches the log.
    let secret: String = std::fs::read(&keys).unwrap()[48..64]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for replica in [&a, &b] {
        assert!(!replica.stderr().contains(&secret), "{}", replica.stderr());
    }
}

#[tokio::test]
async fn replicas_with_one_key_file_resume_a_rustls_clients_sessions() {
    if !rustls_compiled() {
        return;
    }
    let fleet = Fleet::new();
    let keys = fleet.file("ticket.keys");
    fleet
        .ticket_keys(&["new", "--base64", &keys.display().to_string()])
        .await;
    let config = fleet.config("ticket.keys");
    let [first, second] = replica_backends();
    let a = fleet.serve(&config, first).await;
    let b = fleet.serve(&config, second).await;

    for versions in [support::client::TLS13_ONLY, support::client::TLS12_ONLY] {
        let client = resuming_client(versions);
        assert_eq!(
            rustls_handshake(&client, a.addr("fleet")).await,
            HandshakeKind::Full
        );
        assert_eq!(
            rustls_handshake(&client, b.addr("fleet")).await,
            HandshakeKind::Resumed,
            "{versions:?}"
        );
        assert_eq!(
            rustls_handshake(&client, a.addr("fleet")).await,
            HandshakeKind::Resumed,
            "{versions:?}"
        );
    }
}

#[tokio::test]
async fn replicas_with_different_key_files_do_not_resume() {
    if !rustls_compiled() || !tool("openssl") {
        return;
    }
    let fleet = Fleet::new();
    for name in ["one.keys", "other.keys"] {
        fleet
            .ticket_keys(&["new", &fleet.file(name).display().to_string()])
            .await;
    }
    let [first, second] = replica_backends();
    let a = fleet.serve(&fleet.config("one.keys"), first).await;
    let b = fleet.serve(&fleet.config("other.keys"), second).await;
    for version in ["-tls1_3", "-tls1_2"] {
        let session = fleet.dir.path().join(format!("session{version}.pem"));
        new_session(&fleet, a.addr("fleet"), version, &session).await;
        assert!(
            !resumes(&fleet, b.addr("fleet"), version, &session).await,
            "{version}: resumed with another key file"
        );
        // The rustls client too.
    }
    let client = resuming_client(support::client::TLS13_ONLY);
    rustls_handshake(&client, a.addr("fleet")).await;
    assert_eq!(
        rustls_handshake(&client, b.addr("fleet")).await,
        HandshakeKind::Full
    );
}

#[tokio::test]
async fn after_a_rotation_old_tickets_resume_and_new_ones_use_the_new_key() {
    if !rustls_compiled() || !tool("openssl") {
        return;
    }
    let fleet = Fleet::new();
    let keys = fleet.file("ticket.keys");
    let keys_arg = keys.display().to_string();
    fleet.ticket_keys(&["new", &keys_arg]).await;
    let old_name = first_key_name(&keys);
    let config = fleet.config("ticket.keys");
    let [first, second] = replica_backends();
    let a = fleet.serve(&config, first).await;
    let b = fleet.serve(&config, second).await;

    let old13 = fleet.dir.path().join("old13.pem");
    let old12 = fleet.dir.path().join("old12.pem");
    new_session(&fleet, a.addr("fleet"), "-tls1_3", &old13).await;
    new_session(&fleet, a.addr("fleet"), "-tls1_2", &old12).await;
    assert_eq!(ticket_key_name(&old13), old_name);

    let rotated = fleet.ticket_keys(&["rotate", &keys_arg]).await;
    let new_name = first_key_name(&keys);
    assert_ne!(new_name, old_name);
    assert!(rotated.contains(&new_name), "{rotated}");
    assert_eq!(std::fs::read(&keys).unwrap().len(), 160);
    // Both replicas watch the file and reload.
    for replica in [&a, &b] {
        wait_for_log(replica, "reloaded policy fleet", 1).await;
        wait_for_log(
            replica,
            &format!("session tickets now sealed with key {new_name}"),
            1,
        )
        .await;
    }

    // Tickets sealed under the previous key still resume, on either replica.
    for (version, session) in [("-tls1_3", &old13), ("-tls1_2", &old12)] {
        assert!(
            resumes(&fleet, b.addr("fleet"), version, session).await,
            "{version}"
        );
        assert!(
            resumes(&fleet, a.addr("fleet"), version, session).await,
            "{version}"
        );
    }
    // New tickets carry the new key's name.
    let new13 = fleet.dir.path().join("new13.pem");
    new_session(&fleet, b.addr("fleet"), "-tls1_3", &new13).await;
    assert_eq!(ticket_key_name(&new13), new_name);
    assert!(resumes(&fleet, a.addr("fleet"), "-tls1_3", &new13).await);

    // A broken key file is refused on reload; the keys in service stay.
    std::fs::write(&keys, [0x90u8; 81]).unwrap();
    for replica in [&a, &b] {
        wait_for_log(replica, "reload refused", 1).await;
        assert!(
            replica.stderr().contains("81 bytes"),
            "{}",
            replica.stderr()
        );
    }
    assert!(resumes(&fleet, a.addr("fleet"), "-tls1_3", &new13).await);
    assert!(resumes(&fleet, b.addr("fleet"), "-tls1_2", &old12).await);
}

#[tokio::test]
async fn a_key_file_readable_by_others_or_malformed_stops_the_start() {
    let fleet = Fleet::new();
    let keys = fleet.file("ticket.keys");
    fleet
        .ticket_keys(&["new", &keys.display().to_string()])
        .await;
    let config = fleet.config("ticket.keys").display().to_string();
    if rustls_compiled() {
        let (status, stdout, stderr) =
            run_to_end(&["check".into(), "--config".into(), config.clone()]).await;
        assert!(status.success(), "{stdout}\n{stderr}");
        let wanted = format!(
            "session tickets shared: {} (raw, mode 0600), 1 key(s), new tickets sealed with {}",
            keys.display(),
            first_key_name(&keys)
        );
        assert!(stdout.contains(&wanted), "{wanted:?} in {stdout}");
    }
    let check = || async { run_to_end(&["check".into(), "--config".into(), config.clone()]).await };

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (status, _, stderr) = check().await;
        assert!(!status.success());
        assert!(
            stderr.contains("session_ticket_keys") && stderr.contains("readable by others"),
            "{stderr}"
        );
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(&keys, "not base64 at all!\n").unwrap();
    let (status, _, stderr) = check().await;
    assert!(!status.success());
    assert!(
        stderr.contains("ticket.keys") && stderr.contains("line 1: not valid base64"),
        "{stderr}"
    );

    // The command refuses to replace the file, and keeps it as it was.
    let (status, _, stderr) = run_to_end(&[
        "ticket-keys".into(),
        "new".into(),
        keys.display().to_string(),
    ])
    .await;
    assert!(!status.success() && stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read(&keys).unwrap(), b"not base64 at all!\n");
}

#[test]
fn reload_replaces_only_when_the_keys_change_and_refuses_a_broken_file() {
    let Some(backend) = tls_policy::Backend::compiled()
        .iter()
        .copied()
        .find(|b| b.name().starts_with("rustls"))
    else {
        return;
    };
    let home = support::Home::with_crl(
        &["client_auth=NONE", "session_ticket_keys=ticket.keys"],
        false,
    );
    let keys = home.base().join("ticket.keys");
    let write = |bytes: &[u8]| {
        std::fs::write(&keys, bytes).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    };
    write(&[0x90; 80]);
    let settings = home.settings().expect("config parses");
    let channels = tls_policy::TlsChannels::load(&settings, Some(backend)).expect("loads");
    let change =
        |channels: &tls_policy::TlsChannels| channels.reload_policy("test").map(|done| done.change);
    assert!(matches!(
        change(&channels),
        Ok(tls_policy::ReloadChange::Unchanged { .. })
    ));
    let mut rotated = vec![0x91; 80];
    rotated.extend_from_slice(&[0x90; 80]);
    write(&rotated);
    assert!(matches!(
        change(&channels),
        Ok(tls_policy::ReloadChange::Replaced { .. })
    ));
    write(b"garbage that is no key\n");
    let e = change(&channels).unwrap_err().to_string();
    assert!(
        e.contains("session_ticket_keys") && e.contains("ticket.keys") && e.contains("line 1"),
        "{e}"
    );
    // Put back what is served: nothing to swap, so the refused file changed nothing.
    write(&rotated);
    assert!(matches!(
        change(&channels),
        Ok(tls_policy::ReloadChange::Unchanged { .. })
    ));
}

#[cfg(feature = "native-tls")]
#[tokio::test]
async fn native_tls_refuses_shared_ticket_keys() {
    let fleet = Fleet::new();
    fleet
        .ticket_keys(&["new", &fleet.file("ticket.keys").display().to_string()])
        .await;
    let config = fleet.config("ticket.keys").display().to_string();
    let (status, _, stderr) = run_to_end(&[
        "serve".into(),
        "--config".into(),
        config,
        "--backend".into(),
        "native-tls".into(),
    ])
    .await;
    assert!(!status.success());
    assert!(
        stderr.contains("session_ticket_keys")
            && stderr.contains("native-tls")
            && stderr.contains("rustls-aws-lc-rs or rustls-ring"),
        "{stderr}"
    );
}
