//! PROXY protocol behind a real HAProxy (TCP mode, round robin, `send-proxy-v2` and
//! `send-proxy`) in front of two `tls-policy serve` replicas sharing a ticket key file: the JSON
//! page shows the client's own address (a client bound to 127.0.0.77, HAProxy connecting from
//! 127.0.0.1), a session started on one replica resumes on the other through the balancer, and
//! the resumption share is measured with and without shared keys. Refusals: a header from an
//! untrusted source, a missing header from a trusted one, a malformed one; each counted.
#![cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]

mod serve_harness;
use tls_policy_test_support as support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, HandshakeKind, RootCertStore};
use serve_harness::{run_to_end, tool, Served};
use support::{pki, STEP};
use tls_policy_dev_pki::WritePolicy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::process::{Child, Command};

/// The client's own address: a loopback address other than HAProxy's (127.0.0.1).
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 77);

/// Connections per resumption measurement.
const ROUNDS: usize = 20;

/// The rustls backend the replicas run.
fn backend() -> &'static str {
    if cfg!(feature = "rustls-aws-lc-rs") {
        "rustls-aws-lc-rs"
    } else {
        "rustls-ring"
    }
}

// === the fleet ===

/// A home with the PKI's server policy in `certificates/test`.
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

    /// Makes the ticket key file `certificates/test/<name>` with `tls-policy ticket-keys new`.
    async fn keys(&self, name: &str) {
        let path = self.dir.path().join("certificates/test").join(name);
        let args = [
            "ticket-keys".to_string(),
            "new".to_string(),
            path.display().to_string(),
        ];
        let (status, stdout, stderr) = run_to_end(&args).await;
        assert!(status.success(), "ticket-keys new: {stdout}\n{stderr}");
    }

    /// Starts a replica whose one HTTP channel is named `channel` (so the page says which
    /// replica answered), sealing tickets with `keys`, reading `proxy` headers from `trusted`.
    async fn replica(&self, channel: &str, keys: &str, proxy: &str, trusted: &str) -> Served {
        self.replica_with(channel, keys, proxy, trusted, &[]).await
    }

    /// [`Fleet::replica`] with `extra` arguments for `serve`.
    async fn replica_with(
        &self,
        channel: &str,
        keys: &str,
        proxy: &str,
        trusted: &str,
        extra: &[&str],
    ) -> Served {
        let config = self.dir.path().join(format!("{channel}.conf"));
        std::fs::write(
            &config,
            format!(
                "dbms.ssl.policy.fleet.base_directory=certificates/test\n\
                 dbms.ssl.policy.fleet.client_auth=NONE\n\
                 dbms.ssl.policy.fleet.session_ticket_keys={keys}\n\
                 {channel}.ssl_policy=fleet\n\
                 dbms.connector.{channel}.listen_address=127.0.0.1:0\n\
                 dbms.connector.{channel}.kind=http\n\
                 dbms.connector.{channel}.proxy_protocol={proxy}\n\
                 dbms.connector.{channel}.proxy_protocol_trusted={trusted}\n"
            ),
        )
        .expect("write config");
        let mut args: Vec<String> = [
            "serve",
            "--config",
            &config.display().to_string(),
            "--backend",
            backend(),
            "--metrics",
            "127.0.0.1:0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        Served::start(&args, 1).await
    }
}

// === HAProxy ===

/// A running `haproxy -db` (killed on drop) and the address it listens on.
struct Haproxy {
    _child: Child,
    addr: SocketAddr,
}

/// One replica as HAProxy sees it: its TLS address, and its metrics port when HAProxy checks
/// its `/ready`.
type Upstream = (SocketAddr, Option<u16>);

/// The configuration the test runs (docs/deploy.md shows the same): TCP mode, round robin
/// over `servers`, each sent the PROXY header (`send-proxy-v2` or `send-proxy`); with metrics
/// ports, an HTTP check of `/ready` every 200 ms, one failure taking a replica out.
fn haproxy_config(bind: SocketAddr, servers: &[Upstream], send: &str) -> String {
    let mut text = format!(
        "global\n    maxconn 256\n\n\
         defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 30s\n    \
         timeout server 30s\n    timeout check 2s\n\n\
         frontend tls_in\n    bind {bind}\n    default_backend replicas\n\n\
         backend replicas\n    balance roundrobin\n"
    );
    if servers.iter().any(|(_, check)| check.is_some()) {
        text.push_str(
            "    option httpchk GET /ready\n    default-server inter 200ms fall 1 rise 1\n",
        );
    }
    for (i, (server, check)) in servers.iter().enumerate() {
        let check = check.map_or(String::new(), |port| format!(" check port {port}"));
        text.push_str(&format!(
            "    server replica{} {server} {send}{check}\n",
            i + 1
        ));
    }
    text
}

impl Haproxy {
    /// Starts HAProxy in front of `servers`, sending `send`; waits (bounded) until it accepts.
    async fn start(dir: &Path, servers: &[Upstream], send: &str) -> Haproxy {
        // A free port for its frontend (released just before HAProxy binds it).
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port");
        let config = dir.join(format!("haproxy-{}.cfg", addr.port()));
        std::fs::write(&config, haproxy_config(addr, servers, send)).expect("write haproxy.cfg");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn haproxy");
        let deadline = Instant::now() + STEP;
        while TcpStream::connect(addr).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "haproxy does not listen on {addr}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Haproxy {
            _child: child,
            addr,
        }
    }
}

// === a client at 127.0.0.77 ===

/// A ring-based rustls client trusting the PKI's root, resuming from its own session store.
fn resuming_client() -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(pki().root.cert_der.clone()).expect("add root");
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.resumption = Resumption::store(Arc::new(ClientSessionMemoryCache::new(16)));
    Arc::new(config)
}

/// One page fetched from 127.0.0.77 through `addr`: the page, the client's own address and
/// how the handshake went.
struct Fetched {
    page: serde_json::Value,
    local: SocketAddr,
    kind: HandshakeKind,
}

/// Connects from [`CLIENT_IP`] to `addr`, handshakes as `localhost`, GETs the page.
async fn fetch(config: &Arc<ClientConfig>, addr: SocketAddr) -> Fetched {
    tokio::time::timeout(STEP, async {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::new(IpAddr::V4(CLIENT_IP), 0))
            .expect("bind 127.0.0.77");
        let tcp = socket.connect(addr).await.expect("connect");
        let local = tcp.local_addr().expect("local address");
        let name = ServerName::try_from("localhost").expect("name");
        let mut tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
            .connect(name, tcp)
            .await
            .expect("handshake");
        tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .expect("request");
        let mut response = Vec::new();
        // The server closes after the response (Connection: close); a missing close_notify
        // is no matter here.
        let _ = tls.read_to_end(&mut response).await;
        let kind = tls.get_ref().1.handshake_kind().expect("handshake done");
        let text = String::from_utf8_lossy(&response);
        let body = text
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_else(|| panic!("no body in {text}"));
        let page = serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
        Fetched { page, local, kind }
    })
    .await
    .expect("page in time")
}

/// Fetches [`ROUNDS`] pages with one session store; how many handshakes resumed, and the
/// channels (replicas) that answered.
async fn resumption_share(addr: SocketAddr) -> (usize, Vec<String>) {
    let config = resuming_client();
    let mut resumed = 0;
    let mut channels = Vec::new();
    for _ in 0..ROUNDS {
        let fetched = fetch(&config, addr).await;
        if fetched.kind == HandshakeKind::Resumed {
            resumed += 1;
        }
        channels.push(fetched.page["channel"].as_str().unwrap_or("?").to_string());
    }
    (resumed, channels)
}

// === openssl s_client ===

/// `openssl s_client` through `addr` with `session` (`-sess_out` or `-sess_in`): sends a GET
/// and reads to the end; its output (the page included).
async fn s_client(fleet: &Fleet, addr: SocketAddr, session_flag: &str, session: &Path) -> String {
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &addr.to_string(),
            "-servername",
            "localhost",
        ])
        .args(["-verify_return_error", "-ign_eof", "-CAfile"])
        .arg(&fleet.ca)
        .arg(session_flag)
        .arg(session)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn openssl");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    drop(stdin);
    let output = tokio::time::timeout(STEP, child.wait_with_output())
        .await
        .expect("s_client ends in time")
        .expect("s_client");
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The `"channel"` in an s_client transcript holding the page.
fn channel_in(transcript: &str) -> String {
    let start = transcript
        .find("\"channel\":\"")
        .unwrap_or_else(|| panic!("no page in:\n{transcript}"));
    let rest = &transcript[start + 11..];
    rest[..rest.find('"').expect("closing quote")].to_string()
}

// === metrics ===

/// The replica's metrics address, from its `metrics http://.../metrics` line (bounded wait:
/// it follows the listening lines).
async fn metrics_addr(served: &Served) -> String {
    let deadline = Instant::now() + STEP;
    loop {
        let found = served
            .stdout
            .lock()
            .expect("stdout")
            .iter()
            .find_map(|line| line.strip_prefix("metrics http://"))
            .and_then(|rest| rest.strip_suffix("/metrics"))
            .map(str::to_string);
        if let Some(addr) = found {
            return addr;
        }
        assert!(
            Instant::now() < deadline,
            "no metrics line:\n{}",
            served.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (bounded) until the replica counts a handshake failure for `reason`.
async fn wait_for_refusal(served: &Served, reason: &str) {
    let addr = metrics_addr(served).await;
    let wanted = format!("reason=\"{reason}\"}} ");
    let deadline = Instant::now() + STEP;
    loop {
        let mut tcp = TcpStream::connect(&addr).await.expect("metrics connect");
        tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n")
            .await
            .expect("scrape");
        let mut text = String::new();
        let _ = tcp.read_to_string(&mut text).await;
        let counted = text
            .lines()
            .any(|line| line.starts_with("tls_policy_handshakes_total") && line.contains(&wanted));
        if counted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {reason} counted:\n{text}\n{}",
            served.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the server at `addr` closes a connection that sent `bytes` (bounded).
async fn closed_after(addr: SocketAddr, bytes: &[u8]) -> bool {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let _ = tcp.write_all(bytes).await;
    let mut buf = [0u8; 64];
    // A refused first record may be answered with an alert before the close: read past it.
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// A v2 PROXY header for a TCP/IPv4 connection from `source` to `destination`.
fn v2_header(source: SocketAddr, destination: SocketAddr) -> Vec<u8> {
    ppp::v2::Builder::with_addresses(
        ppp::v2::Version::Two | ppp::v2::Command::Proxy,
        ppp::v2::Protocol::Stream,
        (source, destination),
    )
    .build()
    .expect("v2 header")
}

// === tests ===

#[tokio::test]
async fn through_haproxy_the_page_shows_the_client_and_sessions_resume_across_replicas() {
    if !tool("haproxy") || !tool("openssl") {
        return;
    }
    let fleet = Fleet::new();
    fleet.keys("shared.keys").await;
    let one = fleet
        .replica("replica1", "shared.keys", "v2", "127.0.0.1/32")
        .await;
    let two = fleet
        .replica("replica2", "shared.keys", "v2", "127.0.0.1/32")
        .await;
    let replicas = [(one.addr("replica1"), None), (two.addr("replica2"), None)];
    let haproxy = Haproxy::start(fleet.dir.path(), &replicas, "send-proxy-v2").await;

    // The page names the client's own address, not HAProxy's.
    let fetched = fetch(&resuming_client(), haproxy.addr).await;
    assert_eq!(fetched.local.ip(), IpAddr::V4(CLIENT_IP));
    assert_eq!(
        fetched.page["peer_address"],
        fetched.local.to_string(),
        "{}",
        fetched.page
    );

    // openssl: a session started on one replica resumes on the other (round robin).
    let session = fleet.dir.path().join("session.pem");
    let first = s_client(&fleet, haproxy.addr, "-sess_out", &session).await;
    assert!(first.contains("New, TLSv1."), "{first}");
    // Round robin usually sends the next connection to the other replica; it may not (a
    // balancer's rotation is its own), so try a few times until the other one answers.
    let mut second = String::new();
    for _ in 0..6 {
        second = s_client(&fleet, haproxy.addr, "-sess_in", &session).await;
        if channel_in(&second) != channel_in(&first) {
            break;
        }
    }
    assert_ne!(
        channel_in(&first),
        channel_in(&second),
        "HAProxy never sent a connection to the other replica"
    );
    assert!(second.contains("Reused, TLSv1."), "{second}");

    // The share of resumed handshakes through the balancer with shared keys.
    let (resumed, channels) = resumption_share(haproxy.addr).await;
    println!("resumption through HAProxy, shared ticket keys: {resumed}/{ROUNDS}");
    assert!(channels.iter().any(|c| c == "replica1") && channels.iter().any(|c| c == "replica2"));
    assert_eq!(
        resumed,
        ROUNDS - 1,
        "only the first handshake should be full: {channels:?}"
    );
}

#[tokio::test]
async fn through_haproxy_without_shared_keys_sessions_do_not_resume_across_replicas() {
    if !tool("haproxy") {
        return;
    }
    let fleet = Fleet::new();
    fleet.keys("one.keys").await;
    fleet.keys("two.keys").await;
    let one = fleet
        .replica("replica1", "one.keys", "v2", "127.0.0.1/32")
        .await;
    let two = fleet
        .replica("replica2", "two.keys", "v2", "127.0.0.1/32")
        .await;
    let replicas = [(one.addr("replica1"), None), (two.addr("replica2"), None)];
    let haproxy = Haproxy::start(fleet.dir.path(), &replicas, "send-proxy-v2").await;
    let (resumed, channels) = resumption_share(haproxy.addr).await;
    println!("resumption through HAProxy, per-replica ticket keys: {resumed}/{ROUNDS}");
    // A client presents the ticket of its previous connection: it can resume only where the
    // balancer sent two connections in a row to the same replica (round robin rarely does),
    // never across replicas.
    let same_replica_twice = channels.windows(2).filter(|w| w[0] == w[1]).count();
    assert!(channels.iter().any(|c| c == "replica1") && channels.iter().any(|c| c == "replica2"));
    assert!(
        resumed <= same_replica_twice,
        "{resumed} resumed: {channels:?}"
    );
}

#[tokio::test]
async fn haproxy_send_proxy_v1_gives_the_client_address_too() {
    if !tool("haproxy") {
        return;
    }
    let fleet = Fleet::new();
    fleet.keys("shared.keys").await;
    let one = fleet
        .replica("replica1", "shared.keys", "v1", "127.0.0.1")
        .await;
    let haproxy = Haproxy::start(
        fleet.dir.path(),
        &[(one.addr("replica1"), None)],
        "send-proxy",
    )
    .await;
    let fetched = fetch(&resuming_client(), haproxy.addr).await;
    assert_eq!(
        fetched.page["peer_address"],
        fetched.local.to_string(),
        "{}",
        fetched.page
    );
    // A replica reading v1 only refuses HAProxy's v2 header as missing.
    let v2 = Haproxy::start(
        fleet.dir.path(),
        &[(one.addr("replica1"), None)],
        "send-proxy-v2",
    )
    .await;
    let refused = tokio::time::timeout(STEP, TcpStream::connect(v2.addr)).await;
    let mut tcp = refused.expect("connect in time").expect("connect");
    let _ = tcp
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 0, 0, 1, 0])
        .await;
    let mut buf = [0u8; 16];
    let _ = tokio::time::timeout(STEP, tcp.read(&mut buf)).await;
    wait_for_refusal(&one, "proxy_missing").await;
}

#[tokio::test]
async fn a_replica_stopped_with_sigterm_leaves_haproxy_before_it_stops_accepting() {
    if !tool("haproxy") {
        return;
    }
    let fleet = Fleet::new();
    fleet.keys("shared.keys").await;
    let grace = ["--shutdown-grace", "3"];
    let mut one = fleet
        .replica_with("replica1", "shared.keys", "v2", "127.0.0.1/32", &grace)
        .await;
    let two = fleet
        .replica_with("replica2", "shared.keys", "v2", "127.0.0.1/32", &grace)
        .await;
    let port = |addr: String| addr.parse::<SocketAddr>().expect("metrics address").port();
    let upstreams = [
        (one.addr("replica1"), Some(port(metrics_addr(&one).await))),
        (two.addr("replica2"), Some(port(metrics_addr(&two).await))),
    ];
    let haproxy = Haproxy::start(fleet.dir.path(), &upstreams, "send-proxy-v2").await;
    let config = resuming_client();
    // Both replicas in service (HAProxy's first checks passed).
    let deadline = Instant::now() + STEP;
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "both replicas never answered: {seen:?}"
        );
        seen.insert(fetch(&config, haproxy.addr).await.page["channel"].to_string());
    }

    // SIGTERM: /ready turns 503, HAProxy takes replica1 out within a few checks, and every
    // connection meanwhile is served (fetch panics on any failure), by replica2 in the end.
    one.signal("TERM");
    let signalled = Instant::now();
    let mut last = Vec::new();
    while signalled.elapsed() < Duration::from_secs(5) {
        let fetched = fetch(&config, haproxy.addr).await;
        if signalled.elapsed() > Duration::from_secs(1) {
            last.push(fetched.page["channel"].as_str().unwrap_or("?").to_string());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !last.is_empty() && last.iter().all(|c| c == "replica2"),
        "{last:?}"
    );
    let status = one.exit(STEP).await;
    assert!(status.success(), "exit {status}\n{}", one.stderr());
    drop(two);
}

#[tokio::test]
async fn untrusted_missing_and_malformed_headers_are_refused_and_counted() {
    let fleet = Fleet::new();
    fleet.keys("shared.keys").await;
    // Trusts 127.0.0.1 only: this test connects from 127.0.0.1 (trusted) and 127.0.0.9.
    let served = fleet
        .replica("edge", "shared.keys", "any", "127.0.0.1/32")
        .await;
    let addr = served.addr("edge");
    let header = v2_header("127.0.0.77:4000".parse().expect("source"), addr);

    // `check` shows the setting.
    let config = fleet.dir.path().join("edge.conf").display().to_string();
    let (status, stdout, stderr) = run_to_end(&["check".into(), "--config".into(), config]).await;
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("any from 127.0.0.1/32"), "{stdout}");

    // A header from an untrusted source.
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.9:0".parse().expect("bind"))
        .expect("bind 127.0.0.9");
    let mut tcp = socket.connect(addr).await.expect("connect");
    tcp.write_all(&header).await.expect("write header");
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(STEP, tcp.read(&mut buf))
        .await
        .expect("closed in time");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    wait_for_refusal(&served, "proxy_untrusted").await;
    assert!(
        served.stderr().contains("proxy_protocol_trusted"),
        "{}",
        served.stderr()
    );

    // No header from the trusted source: a ClientHello's first bytes.
    assert!(closed_after(addr, &[0x16, 0x03, 0x01, 0x00, 0x05, 1, 0, 0, 1, 0]).await);
    wait_for_refusal(&served, "proxy_missing").await;

    // A malformed v1 header from the trusted source.
    assert!(closed_after(addr, b"PROXY TCP4 not-an-address 127.0.0.1 1 2\r\n").await);
    wait_for_refusal(&served, "proxy_malformed").await;

    // A trusted peer that connects and leaves (a TCP health check) is routine: peer_closed.
    drop(TcpStream::connect(addr).await.expect("connect"));
    wait_for_refusal(&served, "peer_closed").await;

    // After a good header, a refusal is logged with the client's address, not the proxy's.
    let mut bad = header.clone();
    bad.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
    assert!(closed_after(addr, &bad).await);
    wait_for_refusal(&served, "not_tls").await;
    let deadline = Instant::now() + STEP;
    while !served.stderr().contains("peer=127.0.0.77:4000") {
        assert!(
            Instant::now() < deadline,
            "no log line names the client:\n{}",
            served.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
