//! Slowloris: hundreds of stalled or trickling clients neither delay a good client's handshake
//! nor outlive their timeout (the first-record timeout behind the listener, the handshake
//! timeout behind the `TlsLayer`); the layer's cap on concurrent handshakes holds.

use support::for_each_backend;
use tls_policy_test_support as support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tower::service_fn;

use support::client::Client;
use support::server::Server;
use support::{Home, STEP};
use tls_policy::listener::{Connection, Listener, ListenerConfig, TlsMode};
use tls_policy::TlsLayer;

/// Stalled clients per run (the default soft RLIMIT_NOFILE of 1024 holds both ends of each).
const STALLED: usize = 300;
/// The handshake timeout under test.
const TIMEOUT: Duration = Duration::from_secs(1);
/// The cap under test: above the stalled count, so that a good client finds a slot.
const CAP: usize = 400;
/// How often a trickling client sends its next byte.
const TRICKLE: Duration = Duration::from_millis(100);
/// A TLS record header announcing a large handshake message, then its first bytes: sent one
/// byte at a time, it never completes.
const TRICKLED: &[u8] = &[
    0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x3f, 0xfc, 0x03, 0x03,
];

/// Opens `STALLED` connections (every other one trickles a byte per `TRICKLE`, the rest stay
/// silent) and returns, per connection, when the server closed it, measured from its connect.
///
/// The connects are made one after the other (a burst of hundreds at once can overflow the
/// kernel's accept queue, and a silent connection dropped there never reaches the server).
async fn stall(addr: SocketAddr) -> JoinSet<Result<Duration, String>> {
    let mut stalled = JoinSet::new();
    for i in 0..STALLED {
        let mut tcp = tokio::time::timeout(STEP, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| panic!("connect {i} timed out"))
            .unwrap_or_else(|e| panic!("connect {i}: {e}"));
        let connected = Instant::now();
        stalled.spawn(async move {
            let trickle = i % 2 == 1;
            let mut sent = 0;
            let mut buf = [0u8; 256];
            let deadline = tokio::time::sleep(TIMEOUT + STEP);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    read = tcp.read(&mut buf) => match read {
                        // An alert may precede the close.
                        Ok(n) if n > 0 => continue,
                        _ => return Ok(connected.elapsed()),
                    },
                    () = tokio::time::sleep(TRICKLE), if trickle => {
                        let byte = TRICKLED[sent % TRICKLED.len()];
                        if tcp.write_all(&[byte]).await.is_err() {
                            return Ok(connected.elapsed());
                        }
                        sent += 1;
                    }
                    () = &mut deadline => {
                        return Err(format!("stalled client {i} (trickling: {trickle}) never cut"));
                    }
                }
            }
        });
    }
    stalled
}

/// One slowloris run at a time: both ends of `STALLED` connections live in this process, and
/// two runs at once would pass the default soft limit of 1024 open files.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs the slowloris scenario against `addr`, served with `TIMEOUT` and `CAP`.
async fn slowloris(addr: SocketAddr, what: &str) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let mut stalled = stall(addr).await;
    // Let every stalled connection be accepted and take its handshake slot.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    Client::anonymous()
        .exchange(addr)
        .await
        .unwrap_or_else(|e| panic!("{what}: the good client failed: {e}"));
    let took = started.elapsed();
    assert!(
        took < TIMEOUT / 2,
        "{what}: the good client's handshake took {took:?} among {STALLED} stalled clients"
    );
    assert!(
        stalled.try_join_next().is_none(),
        "{what}: a stalled client was cut before the good client finished"
    );

    let mut closed = Vec::with_capacity(STALLED);
    while let Some(joined) = tokio::time::timeout(TIMEOUT + STEP, stalled.join_next())
        .await
        .unwrap_or_else(|_| panic!("{what}: stalled clients still open"))
    {
        closed.push(
            joined
                .expect("stalled task")
                .unwrap_or_else(|e| panic!("{what}: {e}")),
        );
    }
    let earliest = closed.iter().min().copied().unwrap_or_default();
    let latest = closed.iter().max().copied().unwrap_or_default();
    assert!(
        earliest >= TIMEOUT / 2,
        "{what}: a stalled client was cut after {earliest:?}, before the {TIMEOUT:?} timeout"
    );
    assert!(
        latest <= TIMEOUT + Duration::from_secs(5),
        "{what}: a stalled client was cut only after {latest:?}"
    );
    eprintln!("{what}: good client {took:?}; {STALLED} stalled cut after {earliest:?}..{latest:?}");
}

for_each_backend! {
    async fn listener_slowloris_neither_delays_a_good_client_nor_outlives_the_timeout(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE"]);
        let acceptor = home.acceptor(backend).expect("acceptor");
        // Stalled before their first record is complete, they are cut at the first-record
        // timeout (and hold no handshake slot meanwhile).
        let config = ListenerConfig::new("bolt", TlsMode::Required(acceptor))
            .with_first_record_timeout(TIMEOUT)
            // Every client here comes from 127.0.0.1: allow them all (tests/flood.rs spreads
            // its attackers over many addresses and checks the per-address bound).
            .with_max_pending_per_address(CAP)
            .with_handshake_timeout(TIMEOUT)
            .with_max_concurrent_handshakes(CAP);
        let listener = Listener::bind("127.0.0.1:0", config).await.expect("bind");
        let addr = listener.local_addr();
        let echo = service_fn(|mut conn: Connection<TcpStream>| async move {
            let (mut reader, mut writer) = tokio::io::split(&mut conn);
            tokio::io::copy(&mut reader, &mut writer).await
        });
        let server = tokio::spawn(listener.serve(echo, std::future::pending()));
        slowloris(addr, &format!("{backend} listener")).await;
        server.abort();
    }

    async fn layer_slowloris_neither_delays_a_good_client_nor_outlives_the_timeout(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE"]);
        let acceptor = home.acceptor(backend).expect("acceptor");
        let layer = TlsLayer::new(acceptor)
            .handshake_timeout(TIMEOUT)
            .max_concurrent_handshakes(CAP);
        let server = Server::start_with(layer).await;
        slowloris(server.addr, &format!("{backend} layer")).await;
    }

    async fn the_layer_cap_holds_a_client_until_a_slot_frees(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE"]);
        let acceptor = home.acceptor(backend).expect("acceptor");
        let layer = TlsLayer::new(acceptor)
            .handshake_timeout(STEP)
            .max_concurrent_handshakes(1);
        assert_eq!(layer.limits().max_concurrent(), 1);
        let server = Server::start_with(layer.clone()).await;
        let addr = server.addr;
        // The stalled client takes the only slot (wait until the server has accepted it).
        let stalled = TcpStream::connect(addr).await.expect("connect");
        let deadline = Instant::now() + STEP;
        while layer.limits().in_progress() == 0 {
            assert!(Instant::now() < deadline, "the stalled handshake never started");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let good = tokio::spawn(async move { Client::anonymous().exchange(addr).await });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!good.is_finished(), "{backend}: a second handshake ran despite a cap of 1");
        drop(stalled);
        tokio::time::timeout(STEP, good)
            .await
            .expect("the good client completes once the slot frees")
            .expect("task")
            .expect("exchange");
    }

    async fn a_client_waiting_for_a_slot_past_the_timeout_is_cut(backend: Backend) {
        let home = Home::new(backend, &["client_auth=NONE"]);
        let acceptor = home.acceptor(backend).expect("acceptor");
        let layer = TlsLayer::new(acceptor)
            .handshake_timeout(Duration::from_millis(500))
            .max_concurrent_handshakes(1);
        let mut server = Server::start_with(layer).await;
        let _first = TcpStream::connect(server.addr).await.expect("connect");
        let _second = TcpStream::connect(server.addr).await.expect("connect");
        for _ in 0..2 {
            let outcome = server.outcome().await;
            let error = outcome.expect_err("stalled clients are refused");
            assert!(error.contains("timed out after 500ms"), "{backend}: {error}");
        }
    }
}
