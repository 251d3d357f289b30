//! The listener on its own: tls_level sniffing, the first-record wait, pending bounds,
//! handshake timeout and cap, refusals that touch nothing else, the drain, and the set-up errors.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tower::service_fn;

use super::*;
use crate::config::{Settings, TlsLevel};
use crate::{Acceptor, Backend, TlsChannels};
use tls_policy_dev_pki::{DevPki, DevPkiOptions, WritePolicy};

/// Every wait in these tests is bounded by this.
const STEP: Duration = Duration::from_secs(10);

fn pki() -> &'static DevPki {
    static PKI: OnceLock<DevPki> = OnceLock::new();
    PKI.get_or_init(|| DevPki::generate(&DevPkiOptions::default()).expect("test PKI"))
}

/// An acceptor for a `client_auth=NONE` policy on the default backend.
fn acceptor() -> Acceptor {
    let dir = tempfile::tempdir().expect("tempdir");
    pki()
        .write_policy_dir(&dir.path().join("p"), &WritePolicy { with_crl: false })
        .expect("policy directory");
    let settings = Settings::parse(
        "dbms.ssl.policy.p.base_directory=p\ndbms.ssl.policy.p.client_auth=NONE\nbolt.ssl_policy=p\n",
        &dir.path().join("neo4j.conf"),
        dir.path(),
    )
    .expect("config");
    let channels = TlsChannels::load(
        &settings,
        Some(Backend::default_backend().expect("backend")),
    )
    .expect("channels");
    channels.channel("bolt").expect("bolt").acceptor.clone()
}

/// What the service saw of one connection.
#[derive(Debug)]
struct Seen {
    tls: bool,
    peer: SocketAddr,
    channel: String,
}

/// A running listener whose echo service reports each connection.
struct Running {
    addr: SocketAddr,
    seen: mpsc::UnboundedReceiver<Seen>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<ServeSummary>,
}

impl Running {
    async fn start(config: ListenerConfig) -> Running {
        let listener = Listener::bind("127.0.0.1:0", config).await.expect("bind");
        let addr = listener.local_addr();
        let (tx, seen) = mpsc::unbounded_channel();
        let service = service_fn(move |mut conn: Connection<TcpStream>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(Seen {
                    tls: conn.is_tls(),
                    peer: conn.peer_addr(),
                    channel: conn.channel().to_string(),
                });
                let mut buf = [0u8; 1024];
                loop {
                    let n = match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return Ok::<_, std::io::Error>(()),
                        Ok(n) => n,
                    };
                    conn.write_all(&buf[..n]).await?;
                }
            }
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(listener.serve(service, async move {
            let _ = stopped.await;
        }));
        Running {
            addr,
            seen,
            stop: Some(stop),
            task,
        }
    }

    async fn next(&mut self) -> Seen {
        tokio::time::timeout(STEP, self.seen.recv())
            .await
            .expect("a connection reaches the service in time")
            .expect("listener alive")
    }

    async fn stop(mut self) -> ServeSummary {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(STEP, self.task)
            .await
            .expect("serve ends in time")
            .expect("serve task")
    }
}

/// A TLS client (rustls on ring, independent of the backend under test) trusting the PKI root.
async fn tls_connect(
    addr: SocketAddr,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(pki().root.cert_der.clone())
        .map_err(std::io::Error::other)?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(std::io::Error::other)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}

/// Sends a line over TLS and expects it back.
async fn tls_echo(addr: SocketAddr) -> std::io::Result<()> {
    tokio::time::timeout(STEP, async {
        let mut tls = tls_connect(addr).await?;
        tls.write_all(b"ping\n").await?;
        let mut buf = [0u8; 5];
        tls.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"ping\n");
        Ok(())
    })
    .await
    .map_err(|_| std::io::Error::other("TLS echo timed out"))?
}

/// Whether the server closes `tcp` (EOF or reset) within `limit`.
async fn closed_within(tcp: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 64];
    loop {
        match tokio::time::timeout(limit, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // An alert record may come first.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn required_serves_tls_and_a_refused_connection_touches_nothing_else() {
    let mut running =
        Running::start(ListenerConfig::new("bolt", TlsMode::Required(acceptor()))).await;
    let mut garbage = TcpStream::connect(running.addr).await.expect("connect");
    garbage
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .await
        .expect("write");
    assert!(
        closed_within(&mut garbage, STEP).await,
        "plaintext on REQUIRED is cut"
    );
    tls_echo(running.addr)
        .await
        .expect("a good client after a bad one");
    let seen = running.next().await;
    assert!(seen.tls);
    assert_eq!(seen.channel, "bolt");
    assert_eq!(running.stop().await.accepted, 2);
}

#[tokio::test]
async fn optional_tells_tls_from_plaintext_by_the_first_byte() {
    let mut running =
        Running::start(ListenerConfig::new("mixed", TlsMode::Optional(acceptor()))).await;
    tls_echo(running.addr).await.expect("TLS on OPTIONAL");
    assert!(running.next().await.tls);

    let mut plain = TcpStream::connect(running.addr).await.expect("connect");
    let local = plain.local_addr().expect("local addr");
    plain.write_all(b"hello\n").await.expect("write");
    let mut buf = [0u8; 6];
    tokio::time::timeout(STEP, plain.read_exact(&mut buf))
        .await
        .expect("in time")
        .expect("echo");
    assert_eq!(&buf, b"hello\n");
    let seen = running.next().await;
    assert!(!seen.tls);
    assert_eq!(seen.peer, local, "the service sees the peer's address");
}

#[tokio::test]
async fn disabled_is_plaintext_without_a_handshake_slot() {
    // Zero handshake time: plaintext never waits for one.
    let config =
        ListenerConfig::new("plain", TlsMode::Disabled).with_handshake_timeout(Duration::ZERO);
    let mut running = Running::start(config).await;
    let mut plain = TcpStream::connect(running.addr).await.expect("connect");
    plain.write_all(b"\x16\x03\x01").await.expect("write");
    let mut buf = [0u8; 3];
    tokio::time::timeout(STEP, plain.read_exact(&mut buf))
        .await
        .expect("in time")
        .expect("echo");
    assert_eq!(
        &buf, b"\x16\x03\x01",
        "even a TLS-looking first byte is plaintext"
    );
    assert!(!running.next().await.tls);
}

/// A complete first TLS record whose handshake message announces 4096 bytes and never sends
/// them: the record is whole (so the handshake starts, in a slot), the handshake stalls.
const STALLING_RECORD: &[u8] = &[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x10, 0x00];

#[tokio::test]
async fn a_silent_client_is_cut_at_the_first_record_timeout_without_a_slot() {
    for tls in [TlsMode::Required(acceptor()), TlsMode::Optional(acceptor())] {
        let level = tls.level();
        // One handshake slot: were the silent client holding it, the good one would wait.
        let config = ListenerConfig::new("bolt", tls)
            .with_first_record_timeout(Duration::from_millis(300))
            .with_max_concurrent_handshakes(1)
            .with_handshake_timeout(STEP);
        let mut running = Running::start(config).await;
        let started = Instant::now();
        let mut stalled = TcpStream::connect(running.addr).await.expect("connect");
        tls_echo(running.addr)
            .await
            .expect("the good client is served meanwhile");
        assert!(running.next().await.tls);
        assert!(
            closed_within(&mut stalled, STEP).await,
            "{level}: a silent client is cut"
        );
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(250),
            "{level}: cut early, after {took:?}"
        );
        assert!(
            took < Duration::from_secs(5),
            "{level}: cut late, after {took:?}"
        );
    }
}

#[tokio::test]
async fn a_client_stalling_after_its_first_record_is_cut_at_the_handshake_timeout() {
    let config = ListenerConfig::new("bolt", TlsMode::Required(acceptor()))
        .with_first_record_timeout(STEP)
        .with_handshake_timeout(Duration::from_millis(300));
    let running = Running::start(config).await;
    let started = Instant::now();
    let mut stalled = TcpStream::connect(running.addr).await.expect("connect");
    stalled.write_all(STALLING_RECORD).await.expect("write");
    assert!(closed_within(&mut stalled, STEP).await, "cut");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250),
        "cut early, after {took:?}"
    );
    assert!(took < Duration::from_secs(5), "cut late, after {took:?}");
}

#[tokio::test]
async fn a_trickled_first_record_is_waited_for_and_bad_headers_are_refused_at_once() {
    let config = ListenerConfig::new("bolt", TlsMode::Required(acceptor()))
        .with_first_record_timeout(STEP)
        .with_handshake_timeout(STEP);
    let running = Running::start(config).await;
    // Not TLS, a record too long for TLS, an empty record, a closed half-record: each is
    // closed at once, long before either timeout.
    let half: &[u8] = &[0x16, 0x03, 0x01, 0x02];
    for (what, bytes, close) in [
        ("plaintext", &b"GET / HTTP/1.1\r\n\r\n"[..], false),
        ("too long", &[0x16, 0x03, 0x01, 0x48, 0x01][..], false),
        ("empty", &[0x16, 0x03, 0x01, 0x00, 0x00][..], false),
        ("SSLv2-style", &[0x80, 0x2e, 0x01, 0x03, 0x01][..], false),
        ("half a header, then FIN", half, true),
    ] {
        let started = Instant::now();
        let mut tcp = TcpStream::connect(running.addr).await.expect("connect");
        tcp.write_all(bytes).await.expect("write");
        if close {
            tcp.shutdown().await.expect("shutdown");
        }
        assert!(closed_within(&mut tcp, STEP).await, "{what}: closed");
        assert!(
            started.elapsed() < STEP / 2,
            "{what}: closed only after {:?}",
            started.elapsed()
        );
    }
    // A good ClientHello sent a few bytes at a time still makes it.
    let addr = running.addr;
    let (client, server) = tokio::io::duplex(64 * 1024);
    let trickler = tokio::spawn(async move {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        let (mut from_client, mut to_client) = tokio::io::split(server);
        let (mut tcp_read, mut tcp_write) = tcp.split();
        let up = async {
            let mut buf = [0u8; 7];
            loop {
                let n = from_client.read(&mut buf).await?;
                if n == 0 {
                    return Ok::<_, std::io::Error>(());
                }
                tcp_write.write_all(&buf[..n]).await?;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        let down = tokio::io::copy(&mut tcp_read, &mut to_client);
        let _ = tokio::join!(up, down);
    });
    let tls = tokio::time::timeout(STEP, async {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki().root.cert_der.clone()).expect("root");
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = ServerName::try_from("localhost").expect("name");
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, client)
            .await
    })
    .await
    .expect("in time");
    tls.expect("the trickled handshake completes");
    trickler.abort();
}

#[tokio::test]
async fn a_first_record_longer_than_one_peek_is_waited_for_to_its_end() {
    let config = ListenerConfig::new("bolt", TlsMode::Required(acceptor()))
        .with_first_record_timeout(STEP)
        .with_handshake_timeout(STEP);
    let running = Running::start(config).await;
    // A handshake record of 6000 bytes (more than one peek shows): its first 4500 bytes leave
    // the connection waiting; had the handshake begun, the junk would have closed it at once.
    let mut record = vec![0x16, 0x03, 0x01, 0x17, 0x70];
    record.resize(5 + 6000, 0xAB);
    let mut tcp = TcpStream::connect(running.addr).await.expect("connect");
    tcp.write_all(&record[..4500]).await.expect("write");
    assert!(
        !closed_within(&mut tcp, Duration::from_millis(300)).await,
        "the handshake began before the first record was complete"
    );
    tcp.write_all(&record[4500..])
        .await
        .expect("write the rest");
    assert!(
        closed_within(&mut tcp, STEP / 2).await,
        "the complete record (junk) ends the connection"
    );
}

#[tokio::test]
async fn past_the_pending_bounds_connections_are_closed_at_once() {
    let config = ListenerConfig::new("bolt", TlsMode::Required(acceptor()))
        .with_first_record_timeout(STEP)
        .with_max_pending_handshakes(3)
        .with_max_pending_per_address(2);
    let mut running = Running::start(config).await;
    let connect_from = |ip: [u8; 4]| {
        let addr = running.addr;
        async move {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket
                .bind(SocketAddr::from((ip, 0)))
                .expect("bind a loopback source address");
            socket.connect(addr).await.expect("connect")
        }
    };
    // Two from one address are held; a third from it is closed at once.
    let mut held = vec![
        connect_from([127, 0, 0, 2]).await,
        connect_from([127, 0, 0, 2]).await,
    ];
    let mut third = connect_from([127, 0, 0, 2]).await;
    assert!(closed_within(&mut third, STEP).await, "address bound");
    // One more from another address fills the channel.
    held.push(connect_from([127, 0, 0, 3]).await);
    // A newcomer from an address with nothing pending takes the place of the oldest of the
    // largest group (127.0.0.2): filling the channel from one address shuts nobody out.
    let mut evicted = held.remove(0);
    let newcomer = connect_from([127, 0, 0, 4]).await;
    assert!(
        closed_within(&mut evicted, STEP).await,
        "the largest group's oldest is evicted"
    );
    held.push(newcomer);
    // Every address now holds one: the next newcomer finds the channel full, closed at once.
    let mut fourth = connect_from([127, 0, 0, 5]).await;
    assert!(closed_within(&mut fourth, STEP).await, "channel bound");
    for tcp in &mut held {
        assert!(!closed_within(tcp, Duration::from_millis(50)).await, "held");
    }
    // When they leave, their places free up (the counts are exact).
    drop(held);
    let deadline = Instant::now() + STEP;
    loop {
        let mut probe = connect_from([127, 0, 0, 2]).await;
        if !closed_within(&mut probe, Duration::from_millis(100)).await {
            break;
        }
        assert!(Instant::now() < deadline, "places never freed");
    }
    tls_echo(running.addr)
        .await
        .expect("a good client is served");
    assert!(running.next().await.tls);
}

#[tokio::test]
async fn the_handshake_cap_holds_a_client_until_a_slot_frees() {
    let config = ListenerConfig::new("bolt", TlsMode::Required(acceptor()))
        .with_max_concurrent_handshakes(1)
        .with_handshake_timeout(STEP);
    let mut running = Running::start(config).await;
    // The stalled client sends a whole first record and takes the only slot.
    let mut stalled = TcpStream::connect(running.addr).await.expect("connect");
    stalled.write_all(STALLING_RECORD).await.expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let good = tokio::spawn(tls_echo(running.addr));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !good.is_finished(),
        "the second handshake ran despite a cap of 1"
    );
    // The stalled client leaves: its handshake ends, the slot frees, the good client goes on.
    drop(stalled);
    tokio::time::timeout(STEP, good)
        .await
        .expect("the good client completes once the slot frees")
        .expect("task")
        .expect("TLS echo");
    assert!(running.next().await.tls);
}

#[tokio::test]
async fn shutdown_stops_accepting_and_fires_draining() {
    let listener = Listener::bind(
        "127.0.0.1:0",
        ListenerConfig::new("plain", TlsMode::Disabled),
    )
    .await
    .expect("bind");
    let addr = listener.local_addr();
    let (drained_tx, mut drained) = mpsc::unbounded_channel();
    // A service that holds its connection open until the drain begins.
    let service = service_fn(move |conn: Connection<TcpStream>| {
        let tx = drained_tx.clone();
        async move {
            conn.draining().wait().await;
            assert!(conn.draining().is_draining());
            let _ = tx.send(());
            Ok::<_, std::io::Error>(())
        }
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(listener.serve(service, async move {
        let _ = stopped.await;
    }));
    let _client = TcpStream::connect(addr).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = stop.send(());
    tokio::time::timeout(STEP, drained.recv())
        .await
        .expect("draining fires")
        .expect("sent");
    let summary = tokio::time::timeout(STEP, task)
        .await
        .expect("serve ends")
        .expect("task");
    assert_eq!(
        summary,
        ServeSummary {
            accepted: 1,
            cut_at_drain: 0
        }
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the socket is closed"
    );
}

#[tokio::test]
async fn connections_still_open_at_the_drain_timeout_are_dropped() {
    let config = ListenerConfig::new("plain", TlsMode::Disabled)
        .with_drain_timeout(Duration::from_millis(200));
    let running = Running::start(config).await;
    let mut client = TcpStream::connect(running.addr).await.expect("connect");
    client.write_all(b"x").await.expect("write");
    let mut buf = [0u8; 1];
    tokio::time::timeout(STEP, client.read_exact(&mut buf))
        .await
        .expect("in time")
        .expect("echo");
    let summary = running.stop().await;
    assert_eq!(summary.cut_at_drain, 1);
    assert!(
        closed_within(&mut client, STEP).await,
        "the cut connection is closed"
    );
}

#[tokio::test]
async fn set_up_errors_name_the_channel_and_setting() {
    let error = TlsMode::new("bolt", TlsLevel::Required, None).expect_err("no policy");
    assert!(error.to_string().contains("bolt.ssl_policy"), "{error}");
    assert!(matches!(
        TlsMode::new("x", TlsLevel::Disabled, None),
        Ok(TlsMode::Disabled)
    ));

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("addr").to_string();
    let error = Listener::bind(&address, ListenerConfig::new("bolt", TlsMode::Disabled))
        .await
        .expect_err("address in use");
    let text = error.to_string();
    assert!(
        text.contains("channel 'bolt'") && text.contains(&address),
        "{text}"
    );
    assert!(text.contains("(Listener::bind)"), "{text}");

    let dir = tempfile::tempdir().expect("tempdir");
    let settings = Settings::parse(
        "dbms.connector.plain.tls_level=DISABLED\n",
        &dir.path().join("neo4j.conf"),
        dir.path(),
    )
    .expect("config");
    let channels = TlsChannels::load(&settings, None).expect("channels");
    let plain = settings.channels.get("plain").expect("plain");
    let error = Listener::bind_channel(plain, &channels)
        .await
        .expect_err("no address");
    assert!(
        matches!(error, ListenError::NoListenAddress { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn set_up_errors_name_the_keys_as_a_5x_file_writes_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("neo4j.conf");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("addr").to_string();
    let settings = Settings::parse(
        &format!("server.bolt.enabled=true\nserver.bolt.listen_address={address}\nserver.bolt.tls_level=DISABLED\n"),
        &config,
        dir.path(),
    )
    .expect("config");
    let channels = TlsChannels::load(&settings, None).expect("channels");
    let bolt = settings.channels.get("bolt").expect("bolt");
    let text = Listener::bind_channel(bolt, &channels)
        .await
        .expect_err("address in use")
        .to_string();
    let at = format!("server.bolt.listen_address ({}:2)", config.display());
    assert!(text.contains(&at), "{text}");
    assert!(!text.contains("dbms.connector"), "{text}");

    // A TLS level without a policy: the 5.x key and the 5.x way to bind one.
    let mut tls = bolt.clone();
    tls.tls_level = TlsLevel::Required;
    let text = ListenerConfig::from_channel(&tls, &channels)
        .expect_err("no policy")
        .to_string();
    assert!(text.contains("server.bolt.tls_level=REQUIRED"), "{text}");
    assert!(!text.contains("dbms.connector"), "{text}");
}

#[tokio::test]
async fn from_channel_takes_the_configured_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = Settings::parse(
        "dbms.connector.plain.tls_level=DISABLED\ndbms.connector.plain.listen_address=127.0.0.1:0\n",
        &dir.path().join("neo4j.conf"),
        dir.path(),
    )
    .expect("config");
    let channels = TlsChannels::load(&settings, None).expect("channels");
    let plain = settings.channels.get("plain").expect("plain");
    let config = ListenerConfig::from_channel(plain, &channels).expect("config");
    assert_eq!(config.tls().level(), TlsLevel::Disabled);
    assert_eq!(config.handshake_timeout(), plain.handshake_timeout);
    assert_eq!(
        config.max_concurrent_handshakes(),
        plain.max_concurrent_handshakes
    );
    let pending = config.pending_limits();
    assert_eq!(pending.first_record_timeout(), plain.first_record_timeout);
    assert_eq!(pending.max_pending(), plain.max_pending_handshakes);
    assert_eq!(
        pending.max_pending_per_address(),
        plain.max_pending_per_address
    );
    let listener = Listener::bind_channel(plain, &channels)
        .await
        .expect("bind");
    assert_ne!(listener.local_addr().port(), 0);
}
