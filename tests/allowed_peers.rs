//! `allowed_peers` and the application's `PeerCheck` through real handshakes, on every compiled-in
//! backend: the identity matrix (SPIFFE URI, `*` segment, DNS wildcard, CIDR, CN/OU, fingerprint,
//! key pin), the `access_denied` alert and the `not_allowed` metric, the library hook, the client
//! side, a reload that narrows the list, `openssl s_client` as a refused peer, and what native-tls
//! refuses.

use support::for_each_backend;
use tls_policy_test_support as support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tokio::io::AsyncWriteExt;

use support::client::{Client, TLS12_ONLY, TLS13_ONLY};
use support::server::Server;
use support::{pki, Home, STEP};
use tls_policy::config::AllowedPeersReload;
use tls_policy::connector::Target;
use tls_policy::observe::HANDSHAKES;
use tls_policy::{
    Backend, ConnectError, PeerCheck, PeerIdentity, ServerOptions, TlsChannels, TlsLayer,
};
use tls_policy_dev_pki::{Issued, LeafSpec};

/// The admitted workload: SPIFFE ID in prod, a DNS name, an address, OU `payments`.
const PROD: &str = "spiffe://example.org/ns/prod/sa/api";
/// The other workload: another namespace, name, address and OU.
const DEV: &str = "spiffe://example.org/ns/dev/sa/api";

struct Leaves {
    prod: Issued,
    dev: Issued,
}

fn leaves() -> &'static Leaves {
    static LEAVES: OnceLock<Leaves> = OnceLock::new();
    LEAVES.get_or_init(|| {
        let year = time::Duration::days(365);
        let prod = LeafSpec::client("prod", "api-prod", year)
            .with_uri(PROD)
            .with_hostnames(["api.prod.internal", "10.1.2.3"])
            .with_organizational_unit("payments");
        let dev = LeafSpec::client("dev", "api-dev", year)
            .with_uri(DEV)
            .with_hostnames(["api.dev.example", "192.168.7.9"])
            .with_organizational_unit("sandbox");
        Leaves {
            prod: pki().issue(&prod).expect("issue prod leaf"),
            dev: pki().issue(&dev).expect("issue dev leaf"),
        }
    })
}

fn identity(issued: &Issued) -> PeerIdentity {
    PeerIdentity::from_der(&issued.cert_der).expect("leaf parses")
}

/// The server's view of a refusal names the rule, the policy and the peer's subject and SANs.
fn assert_refusal_names_the_peer(server_said: &str, peer: &Issued) {
    let who = identity(peer);
    assert!(server_said.contains("peer not allowed"), "{server_said}");
    assert!(
        server_said.contains(&who.subject),
        "no subject in: {server_said}"
    );
    assert!(
        server_said.contains(&format!("uri:{}", who.uris[0])),
        "no SAN in: {server_said}"
    );
}

/// The client saw the server's `access_denied` alert (or, on a backend whose library cannot
/// send it, `Capabilities::access_denied_alert` false, its `handshake_failure`).
fn assert_access_denied_by(backend: Backend, client_said: &str) {
    let alert = if backend.capabilities().access_denied_alert {
        "AccessDenied"
    } else {
        "HandshakeFailure"
    };
    assert!(client_said.contains(alert), "client saw: {client_said}");
}

fn recorded() -> &'static (Snapshotter, Mutex<BTreeMap<String, f64>>) {
    static RECORDED: OnceLock<(Snapshotter, Mutex<BTreeMap<String, f64>>)> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::set_global_recorder(recorder).expect("the only recorder of this test binary");
        (snapshotter, Mutex::new(BTreeMap::new()))
    })
}

/// The sum of counter `name` over the series carrying every one of `labels`.
fn counter(name: &str, labels: &[(&str, &str)]) -> f64 {
    let (snapshotter, totals) = recorded();
    let mut totals = totals.lock().expect("totals");
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let mut id = key.name().to_string();
        for label in key.labels() {
            id.push_str(&format!("|{}={}", label.key(), label.value()));
        }
        if let DebugValue::Counter(n) = value {
            *totals.entry(id).or_default() += n as f64;
        }
    }
    totals
        .iter()
        .filter(|(id, _)| {
            id.split('|').next() == Some(name)
                && labels
                    .iter()
                    .all(|(k, v)| id.split('|').any(|part| part == format!("{k}={v}")))
        })
        .map(|(_, v)| *v)
        .sum()
}

/// rustls backends honour allowed_peers on the server; native-tls refuses it (checked in
/// `native_tls_refuses_a_server_allow_list`).
fn serves_allow_lists(backend: Backend) -> bool {
    backend.capabilities().client_auth
}

for_each_backend! {
    async fn the_identity_matrix_admits_the_match_and_refuses_the_rest(backend: Backend) {
        if !serves_allow_lists(backend) {
            return;
        }
        let Leaves { prod, dev } = leaves();
        let fingerprint = identity(prod).fingerprint_hex();
        let pin = base64::engine::general_purpose::STANDARD.encode(identity(prod).spki_sha256);
        let cases = [
            format!("uri:{PROD}"),
            "uri:spiffe://example.org/ns/prod/sa/*".to_owned(),
            "dns:*.prod.internal".to_owned(),
            "ip:10.0.0.0/8".to_owned(),
            "cn:api-prod".to_owned(),
            "ou:payments".to_owned(),
            format!("sha256:{fingerprint}"),
            format!("spki-sha256:{pin}"),
        ];
        for list in cases {
            let home = Home::new(backend, &[&format!("allowed_peers={list}")]);
            let acceptor = home.acceptor(backend).unwrap_or_else(|e| panic!("{list}: {e}"));
            let mut server = Server::start(acceptor).await;
            Client::with_cert(prod)
                .exchange(server.addr)
                .await
                .unwrap_or_else(|e| panic!("{list}: the matching peer was refused: {e}"));
            server.outcome().await.expect("matching peer served");
            let refused = Client::with_cert(dev).exchange(server.addr).await;
            assert_access_denied_by(backend, &refused.expect_err(&format!("{list}: admitted the other peer")));
            let said = server.outcome().await.expect_err("refused on the server");
            assert_refusal_names_the_peer(&said, dev);
            assert!(said.contains("allowed_peers"), "{said}");
        }
    }

    async fn a_refusal_is_access_denied_on_both_versions_and_counted_not_allowed(backend: Backend) {
        if !serves_allow_lists(backend) {
            return;
        }
        let home = Home::new(backend, &[&format!("allowed_peers=uri:{PROD}")]);
        let channel = format!("allow-{}", backend.name());
        let layer = TlsLayer::new(home.acceptor(backend).expect("loads")).with_channel(&channel);
        let mut server = Server::start_with(layer).await;
        let labels = [("channel", channel.as_str()), ("reason", "not_allowed")];
        let before = counter(HANDSHAKES, &labels);
        for versions in [TLS12_ONLY, TLS13_ONLY] {
            let refused = Client::with_cert(&leaves().dev).versions(versions).exchange(server.addr).await;
            assert_access_denied_by(backend, &refused.expect_err("dev admitted"));
            server.outcome().await.expect_err("refused");
        }
        // The metric is recorded after the outcome is reported: wait for it, bounded.
        let deadline = Instant::now() + STEP;
        while counter(HANDSHAKES, &labels) < before + 2.0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(counter(HANDSHAKES, &labels), before + 2.0);
    }

    async fn a_client_without_a_certificate_is_refused_under_optional(backend: Backend) {
        if !serves_allow_lists(backend) {
            return;
        }
        let home = Home::new(backend, &["client_auth=OPTIONAL", &format!("allowed_peers=uri:{PROD}")]);
        let settings = home.settings().expect("config parses");
        let channels = TlsChannels::load(&settings, Some(backend)).expect("loads");
        let warnings = &channels.channel("bolt").expect("bolt").warnings;
        assert!(warnings.iter().any(|w| w.contains("client_auth=OPTIONAL")), "{warnings:?}");
        let mut server = Server::start(channels.channel("bolt").expect("bolt").acceptor.clone()).await;
        let refused = Client::anonymous().exchange(server.addr).await.expect_err("anonymous admitted");
        assert!(refused.contains("CertificateRequired"), "{refused}");
        server.outcome().await.expect_err("refused");
        Client::with_cert(&leaves().prod).exchange(server.addr).await.expect("prod admitted");
    }

    async fn the_library_hook_refuses_what_the_list_admits(backend: Backend) {
        if !serves_allow_lists(backend) {
            return;
        }
        let home = Home::new(backend, &["allowed_peers=uri:spiffe://example.org/ns/*/sa/api"]);
        let settings = home.settings().expect("config parses");
        let no_dev = PeerCheck::new(|peer| peer.organizational_units.iter().all(|ou| ou != "sandbox"));
        let channels = TlsChannels::load_with(&settings, Some(backend), |_| ServerOptions {
            peer_check: Some(no_dev.clone()),
            ..ServerOptions::default()
        })
        .expect("loads");
        let mut server = Server::start(channels.channel("bolt").expect("bolt").acceptor.clone()).await;
        Client::with_cert(&leaves().prod).exchange(server.addr).await.expect("prod admitted");
        server.outcome().await.expect("served");
        let refused = Client::with_cert(&leaves().dev).exchange(server.addr).await;
        assert_access_denied_by(backend, &refused.expect_err("the hook admitted dev"));
        let said = server.outcome().await.expect_err("refused");
        assert!(said.contains("peer check"), "{said}");
        assert_refusal_names_the_peer(&said, &leaves().dev);
        // The CA's own client, outside the list, is refused by the list before the hook runs.
        let refused = Client::with_cert(&pki().client).exchange(server.addr).await;
        assert_access_denied_by(backend, &refused.expect_err("pki client admitted"));
        assert!(server.outcome().await.expect_err("refused").contains("allowed_peers"));
    }

    async fn the_client_side_refuses_a_server_outside_its_list(backend: Backend) {
        // The server: the PKI's server certificate (localhost, 127.0.0.1, ::1), any client.
        let served = Home::new(backend, &["client_auth=NONE"]);
        let server = Server::start(served.acceptor(backend).expect("server loads")).await;
        let target = Target::new("localhost", server.addr.port());
        for (list, admitted) in [("dns:other.example", false), ("dns:localhost", true), ("ip:127.0.0.0/8", true)] {
            let dialling = Home::new(backend, &[&format!("allowed_peers={list}")]);
            let settings = dialling.settings().expect("config parses");
            let connector = tls_policy::TlsConnector::for_channel(&settings, "bolt", Some(backend))
                .unwrap_or_else(|e| panic!("{list}: {e}"));
            match (connector.connect(target.clone()).await, admitted) {
                (Ok(_), true) => {}
                (Err(ConnectError::NotAllowed { refused, .. }), false) => {
                    let text = refused.to_string();
                    assert!(text.contains("dbms.ssl.policy.test.allowed_peers"), "{text}");
                    assert!(text.contains("dns:localhost"), "no server SAN in: {text}");
                    assert!(text.contains(&identity(&pki().server).subject), "{text}");
                }
                (other, _) => panic!("{list}: expected admitted={admitted}, got {other:?}"),
            }
        }
        // The application's hook on the client side.
        let dialling = Home::new(backend, &[]);
        let settings = dialling.settings().expect("config parses");
        let options = tls_policy::ClientOptions {
            peer_check: Some(PeerCheck::new(|peer| peer.dns_names.iter().any(|d| d == "db.example"))),
            ..Default::default()
        };
        let connector = tls_policy::TlsConnector::for_channel_with(&settings, "bolt", Some(backend), &options)
            .expect("connector");
        match connector.connect(target).await {
            Err(ConnectError::NotAllowed { refused, .. }) => {
                assert!(refused.to_string().contains("peer check"), "{refused}");
            }
            other => panic!("the hook admitted the server: {other:?}"),
        }
    }

    async fn a_reload_that_narrows_the_list_cuts_new_handshakes_not_live_ones(backend: Backend) {
        if !serves_allow_lists(backend) {
            return;
        }
        let home = Home::new(backend, &["allowed_peers=uri:spiffe://example.org/ns/prod/sa/*"]);
        let channels = TlsChannels::load(&home.settings().expect("parses"), Some(backend)).expect("loads");
        let mut server = Server::start(channels.channel("bolt").expect("bolt").acceptor.clone()).await;
        let prod = &leaves().prod;
        let (mut live, _) = support::reload::connect(server.addr, Some(prod)).await.expect("prod admitted");
        support::reload::echo(&mut live).await.expect("live echo");
        server.outcome().await.expect("served");

        // Narrow the list to another workload and reload from the config file.
        let config = std::fs::read_to_string(&home.config).expect("read config");
        let narrowed = config.replace("ns/prod/sa/*", "ns/prod/sa/billing");
        std::fs::write(&home.config, narrowed).expect("write config");
        let report = channels.reload_with(&home.settings().expect("parses")).expect("reloads");
        let change = report.policy("test").and_then(|p| p.allowed_peers.clone()).expect("list change reported");
        assert_eq!(change.after.map(|l| l.to_string()).as_deref(), Some("uri:spiffe://example.org/ns/prod/sa/billing"));
        assert!(report.to_string().contains("allowed_peers uri:spiffe://example.org/ns/prod/sa/* → uri:spiffe://example.org/ns/prod/sa/billing"), "{report}");

        let refused = Client::with_cert(prod).exchange(server.addr).await;
        assert_access_denied_by(backend, &refused.expect_err("a new handshake got through the narrowed list"));
        server.outcome().await.expect_err("refused");
        // The connection made before the reload keeps working.
        support::reload::echo(&mut live).await.expect("the live connection was cut");
        // A files-only reload keeps the narrowed list (never reverts to the start-up one).
        channels.reload().expect("files reload");
        let refused = Client::with_cert(prod).exchange(server.addr).await;
        assert_access_denied_by(backend, &refused.expect_err("a files-only reload widened the list again"));
        server.outcome().await.expect_err("refused");
    }

    async fn allowed_peers_reload_all_closes_the_live_connections_the_new_list_refuses(backend: Backend) {
        if !serves_allow_lists(backend) {
            return;
        }
        let home = Home::new(
            backend,
            &["allowed_peers=uri:spiffe://example.org/ns/*/sa/api", "allowed_peers_reload=all"],
        );
        let settings = home.settings().expect("parses");
        assert_eq!(settings.policies["test"].allowed_peers_reload, AllowedPeersReload::All);
        let channels = TlsChannels::load(&settings, Some(backend)).expect("loads");
        let mut server = Server::start(channels.channel("bolt").expect("bolt").acceptor.clone()).await;
        let (mut prod, _) = support::reload::connect(server.addr, Some(&leaves().prod)).await.expect("prod admitted");
        support::reload::echo(&mut prod).await.expect("prod echo");
        server.outcome().await.expect("served");
        let (mut dev, _) = support::reload::connect(server.addr, Some(&leaves().dev)).await.expect("dev admitted");
        support::reload::echo(&mut dev).await.expect("dev echo");
        server.outcome().await.expect("served");

        // Narrow the list to prod: the dev workload's live connection is closed, prod's stays.
        let config = std::fs::read_to_string(&home.config).expect("read config");
        std::fs::write(&home.config, config.replace("ns/*/sa/api", "ns/prod/sa/api")).expect("write config");
        let report = channels.reload_with(&home.settings().expect("parses")).expect("reloads");
        let change = report.policy("test").and_then(|p| p.allowed_peers.clone()).expect("list change reported");
        assert_eq!(change.closed_live, 1, "{report}");
        assert!(report.to_string().contains("(1 live connections closed)"), "{report}");
        let cut = tokio::time::timeout(STEP, support::reload::echo(&mut dev)).await.expect("the cut is seen in time");
        assert!(cut.is_err(), "the refused peer's live connection still echoes");
        support::reload::echo(&mut prod).await.expect("the admitted peer's live connection was cut");
        // A new handshake from dev is refused as with the default.
        let refused = Client::with_cert(&leaves().dev).exchange(server.addr).await;
        assert_access_denied_by(backend, &refused.expect_err("a new handshake got through the narrowed list"));
        server.outcome().await.expect_err("refused");
        // Reloading the same list again closes nobody (prod is admitted, dev already gone).
        let again = channels.reload_with(&home.settings().expect("parses")).expect("reloads");
        assert!(again.policy("test").and_then(|p| p.allowed_peers.clone()).is_none(), "{again}");
        support::reload::echo(&mut prod).await.expect("prod still served");
    }

    async fn a_list_set_by_reload_closes_the_anonymous_live_connections_when_asked(backend: Backend) {
        if !serves_allow_lists(backend) {
            return;
        }
        // No list yet, client certificates optional: an anonymous client and prod get in.
        let home = Home::new(backend, &["client_auth=OPTIONAL", "allowed_peers_reload=all"]);
        let channels = TlsChannels::load(&home.settings().expect("parses"), Some(backend)).expect("loads");
        let mut server = Server::start(channels.channel("bolt").expect("bolt").acceptor.clone()).await;
        let (mut anonymous, _) = support::reload::connect(server.addr, None).await.expect("anonymous admitted");
        support::reload::echo(&mut anonymous).await.expect("anonymous echo");
        server.outcome().await.expect("served");
        let (mut prod, _) = support::reload::connect(server.addr, Some(&leaves().prod)).await.expect("prod admitted");
        support::reload::echo(&mut prod).await.expect("prod echo");
        server.outcome().await.expect("served");

        // A reload sets a list: it admits no peer without a certificate, live ones included.
        let config = std::fs::read_to_string(&home.config).expect("read config");
        std::fs::write(&home.config, format!("{config}dbms.ssl.policy.test.allowed_peers=uri:{PROD}\n")).expect("write config");
        let report = channels.reload_with(&home.settings().expect("parses")).expect("reloads");
        let change = report.policy("test").and_then(|p| p.allowed_peers.clone()).expect("list change reported");
        assert_eq!(change.closed_live, 1, "{report}");
        let cut = tokio::time::timeout(STEP, support::reload::echo(&mut anonymous)).await.expect("the cut is seen in time");
        assert!(cut.is_err(), "the anonymous live connection still echoes under a list");
        support::reload::echo(&mut prod).await.expect("the admitted peer's live connection was cut");
    }

    async fn the_default_keeps_live_connections_when_the_list_narrows(backend: Backend) {
        if !serves_allow_lists(backend) {
            return;
        }
        let home = Home::new(backend, &["allowed_peers=uri:spiffe://example.org/ns/*/sa/api"]);
        let settings = home.settings().expect("parses");
        assert_eq!(settings.policies["test"].allowed_peers_reload, AllowedPeersReload::NewHandshakes);
        let channels = TlsChannels::load(&settings, Some(backend)).expect("loads");
        let mut server = Server::start(channels.channel("bolt").expect("bolt").acceptor.clone()).await;
        let (mut dev, _) = support::reload::connect(server.addr, Some(&leaves().dev)).await.expect("dev admitted");
        support::reload::echo(&mut dev).await.expect("dev echo");
        server.outcome().await.expect("served");
        let config = std::fs::read_to_string(&home.config).expect("read config");
        std::fs::write(&home.config, config.replace("ns/*/sa/api", "ns/prod/sa/api")).expect("write config");
        let report = channels.reload_with(&home.settings().expect("parses")).expect("reloads");
        let change = report.policy("test").and_then(|p| p.allowed_peers.clone()).expect("list change reported");
        assert_eq!(change.closed_live, 0, "{report}");
        support::reload::echo(&mut dev).await.expect("the live connection was cut under the default");
    }

    async fn a_resumed_session_is_matched_against_the_narrowed_list(backend: Backend) {
        if !serves_allow_lists(backend) {
            return;
        }
        // Shared ticket keys survive the reload, so the old session can really resume.
        let home = Home::new(backend, &["allowed_peers=uri:spiffe://example.org/ns/prod/sa/*", "session_ticket_keys=tickets.keys"]);
        write_ticket_keys(&home.base().join("tickets.keys"));
        let channels = match TlsChannels::load(&home.settings().expect("parses"), Some(backend)) {
            Ok(channels) => channels,
            // A backend that cannot share ticket keys refuses them (never ignores them), and
            // each reload starts with fresh keys: no old session to resume.
            Err(err) if err.to_string().contains("session_ticket_keys") && backend.name() == "openssl" => return,
            Err(err) => panic!("loads: {err}"),
        };
        let mut server = Server::start(channels.channel("bolt").expect("bolt").acceptor.clone()).await;
        let config = support::reload::client_config(Some(&leaves().prod));
        let resumed = dial_with(&config, server.addr).await.expect("first handshake");
        assert!(!resumed, "the first handshake cannot resume");
        server.outcome().await.expect("served");
        assert!(dial_with(&config, server.addr).await.expect("second handshake"), "no resumption before the reload");
        server.outcome().await.expect("served");

        let text = std::fs::read_to_string(&home.config).expect("read").replace("ns/prod/sa/*", "ns/prod/sa/billing");
        std::fs::write(&home.config, text).expect("write");
        channels.reload_with(&home.settings().expect("parses")).expect("reloads");
        let refused = dial_with(&config, server.addr).await;
        assert!(refused.is_err(), "a resumed session got through the narrowed list");
        let said = server.outcome().await.expect_err("refused on the server");
        assert!(said.contains("peer not allowed"), "{said}");
    }

    async fn native_tls_refuses_a_server_allow_list(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE", "allowed_peers=dns:*.example.org"]);
        let error = home.acceptor(backend).expect_err("allowed_peers without client certificates").to_string();
        assert!(error.contains("allowed_peers"), "{error}");
        if serves_allow_lists(backend) {
            assert!(error.contains("client_auth=NONE asks clients for no certificate"), "{error}");
        } else {
            assert!(error.contains("rustls-aws-lc-rs or rustls-ring"), "{error}");
        }
    }

    async fn openssl_s_client_with_a_disallowed_certificate_sees_access_denied(backend: Backend) {
        if !serves_allow_lists(backend) || !support::tools::tool("openssl") {
            return;
        }
        let home = Home::new(backend, &[&format!("allowed_peers=uri:{PROD}")]);
        let mut server = Server::start(home.acceptor(backend).expect("loads")).await;
        for version in ["-tls1_2", "-tls1_3"] {
            let text = s_client(home.path(), server.addr.port(), &leaves().dev, version).await;
            let alert = if backend.capabilities().access_denied_alert { "access denied" } else { "handshake failure" };
            assert!(text.to_lowercase().contains(alert), "{version}: s_client saw:\n{text}");
            server.outcome().await.expect_err("refused");
        }
        let text = s_client(home.path(), server.addr.port(), &leaves().prod, "-tls1_3").await;
        assert!(!text.to_lowercase().contains("access denied"), "prod refused:\n{text}");
        server.outcome().await.expect("prod served");
    }
}

/// One key of the `session_ticket_keys` file format (base64, one key a line).
fn write_ticket_keys(path: &Path) {
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 80]);
    std::fs::write(path, format!("{key}\n")).expect("write ticket keys");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

/// Handshakes with `config` (its session cache kept across calls) and echoes; whether the
/// session was resumed.
async fn dial_with(
    config: &std::sync::Arc<rustls::ClientConfig>,
    addr: std::net::SocketAddr,
) -> Result<bool, String> {
    let attempt = async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let name =
            rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let mut tls = tokio_rustls::TlsConnector::from(config.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        support::reload::echo(&mut tls).await?;
        let resumed = tls.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
        let _ = tls.shutdown().await;
        Ok(resumed)
    };
    tokio::time::timeout(STEP, attempt)
        .await
        .map_err(|_| "timed out".to_owned())?
}

/// `openssl s_client` presenting `leaf`, sending a line; its output.
async fn s_client(dir: &Path, port: u16, leaf: &Issued, version: &str) -> String {
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write PEM");
        path
    };
    let ca = write("root.pem", &pki().root.cert_pem);
    let cert = write("leaf.pem", &leaf.chain_pem());
    let key = write("leaf.key", &leaf.key_pem);
    let mut child = tokio::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
            version,
        ])
        .arg("-CAfile")
        .arg(&ca)
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn openssl s_client");
    let mut stdin = child.stdin.take().expect("stdin");
    let _ = stdin.write_all(b"ping\n").await;
    // Keep stdin open a moment so that a TLS 1.3 client reads the alert that follows its
    // Finished before it closes on end of input.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stdin);
    let output = tokio::time::timeout(STEP, child.wait_with_output())
        .await
        .expect("s_client finishes in time")
        .expect("s_client output");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The SPIFFE example of docs/deploy.md parses, and its list admits and refuses as it says.
#[test]
fn the_deploy_guide_example_parses() {
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deploy.md"))
        .expect("read docs/deploy.md");
    let section = guide
        .split("## Mutual TLS between services by SPIFFE ID")
        .nth(1)
        .expect("the SPIFFE section");
    let block = section
        .split("```properties\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("its config block");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("mesh.conf");
    std::fs::write(&config, block).expect("write config");
    let settings = tls_policy::config::Settings::from_file(&config, None)
        .unwrap_or_else(|e| panic!("the guide's config does not parse: {e}"));
    let list = settings.policies["mesh"]
        .allowed_peers
        .clone()
        .expect("allowed_peers set");
    assert_eq!(list.patterns().len(), 3, "{list}");
    let mut peer = identity(&leaves().prod);
    assert!(
        !list.admits(&peer),
        "the prod test workload is outside the guide's list"
    );
    peer.uris = vec!["spiffe://example.org/ns/payments/sa/ledger".into()];
    assert!(list.admits(&peer));
    peer.uris = vec!["spiffe://example.org/ns/payments/sa/a/b".into()];
    assert!(!list.admits(&peer), "`*` matched two segments");
}
