//! The PROXY protocol in the library's own listeners, on every compiled-in backend: the client
//! address of a v2 header is `Connection::peer_addr` for the `Listener`'s service and
//! `TlsConnectInfo::remote_addr` for an axum handler, the per-address pending bound counts the
//! client rather than the proxy; and (ignored, run by hand) what the header costs a handshake.

use support::for_each_backend;
use tls_policy_test_support as support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use support::{pki, Home, STEP};
use tls_policy::config::{Network, ProxyProtocol};
use tls_policy::listener::{Connection, Listener, ListenerConfig, TlsMode};
use tls_policy::Acceptor;

/// The client address the test's "proxy" writes into its headers.
const CLIENT: &str = "127.0.0.77:4000";

fn trusted() -> Vec<Network> {
    vec!["127.0.0.1/32".parse().expect("network")]
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

/// A ring rustls client trusting the PKI's root, without resumption (every handshake full).
fn client() -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(pki().root.cert_der.clone()).expect("root");
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// Connects to `addr`, writes `header` (if any), handshakes as `localhost`.
async fn connect(
    config: &Arc<ClientConfig>,
    addr: SocketAddr,
    header: Option<&[u8]>,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    tokio::time::timeout(STEP, async {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        if let Some(header) = header {
            tcp.write_all(header).await.expect("header");
        }
        let name = ServerName::try_from("localhost").expect("name");
        tokio_rustls::TlsConnector::from(Arc::clone(config))
            .connect(name, tcp)
            .await
            .expect("handshake")
    })
    .await
    .expect("handshake in time")
}

/// Serves `config` on 127.0.0.1:0, sending each connection's `peer_addr` to the receiver.
async fn serve(config: ListenerConfig) -> (SocketAddr, mpsc::UnboundedReceiver<SocketAddr>) {
    let listener = Listener::bind("127.0.0.1:0", config).await.expect("bind");
    let addr = listener.local_addr();
    let (tx, rx) = mpsc::unbounded_channel();
    let service = tower::service_fn(move |connection: Connection<TcpStream>| {
        let _ = tx.send(connection.peer_addr());
        async move {
            // Hold the connection until the client closes it.
            let mut connection = connection;
            let mut buf = [0u8; 64];
            while matches!(connection.read(&mut buf).await, Ok(n) if n > 0) {}
            Ok::<_, std::convert::Infallible>(())
        }
    });
    tokio::spawn(listener.serve(service, std::future::pending()));
    (addr, rx)
}

fn acceptor(backend: tls_policy::Backend) -> Acceptor {
    Home::new(backend, &["client_auth=NONE"])
        .acceptor(backend)
        .expect("acceptor")
}

for_each_backend! {
    async fn the_listeners_service_sees_the_client_address(backend: Backend) {
        let config = ListenerConfig::new("edge", TlsMode::Required(acceptor(backend)))
            .with_proxy_protocol(ProxyProtocol::V2, trusted());
        let (addr, mut peers) = serve(config).await;
        let header = v2_header(CLIENT.parse().expect("client"), addr);
        let _tls = connect(&client(), addr, Some(&header)).await;
        let peer = tokio::time::timeout(STEP, peers.recv()).await.expect("in time").expect("peer");
        assert_eq!(peer.to_string(), CLIENT);
    }

    async fn the_per_address_bound_counts_the_client_not_the_proxy(backend: Backend) {
        // One pending connection per address: two silent clients behind the same proxy
        // address are one too many only if they are the same client.
        let config = ListenerConfig::new("edge", TlsMode::Required(acceptor(backend)))
            .with_max_pending_per_address(1)
            .with_proxy_protocol(ProxyProtocol::V2, trusted());
        let (addr, mut peers) = serve(config).await;
        // Client A waits after its header (pending, counted for 127.0.0.77).
        let mut silent = TcpStream::connect(addr).await.expect("connect");
        silent
            .write_all(&v2_header(CLIENT.parse().expect("client"), addr))
            .await
            .expect("header");
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Client B (another address, the same proxy) gets through.
        let other = v2_header("127.0.0.88:4000".parse().expect("other"), addr);
        let _tls = connect(&client(), addr, Some(&other)).await;
        let peer = tokio::time::timeout(STEP, peers.recv()).await.expect("in time").expect("peer");
        assert_eq!(peer.to_string(), "127.0.0.88:4000");
        // A second connection of client A is over its bound: closed.
        let mut again = TcpStream::connect(addr).await.expect("connect");
        again
            .write_all(&v2_header("127.0.0.77:4001".parse().expect("client"), addr))
            .await
            .expect("header");
        let mut buf = [0u8; 8];
        let read = tokio::time::timeout(STEP, again.read(&mut buf)).await.expect("closed in time");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        drop(silent);
    }
}

#[cfg(feature = "axum")]
mod axum_listener {
    use super::*;

    use axum::extract::ConnectInfo;
    use axum::routing::get;
    use axum::Router;
    use tls_policy::integration::axum::{TlsConnectInfo, TlsListener};

    async fn handler(ConnectInfo(conn): ConnectInfo<TlsConnectInfo>) -> String {
        conn.remote_addr.to_string()
    }

    crate::for_each_backend! {
        async fn the_axum_handler_sees_the_client_address(backend: Backend) {
            let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = tcp.local_addr().expect("local addr");
            let listener = TlsListener::new(tcp, acceptor(backend))
                .proxy_protocol(ProxyProtocol::Any, trusted());
            let app = Router::new().route("/", get(handler));
            let server = tokio::spawn(async move {
                let _ = axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<TlsConnectInfo>(),
                )
                .await;
            });
            let header = v2_header(CLIENT.parse().expect("client"), addr);
            let mut tls = connect(&client(), addr, Some(&header)).await;
            tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .await
                .expect("request");
            let mut response = Vec::new();
            let _ = tokio::time::timeout(STEP, tls.read_to_end(&mut response)).await;
            let text = String::from_utf8_lossy(&response);
            assert!(text.ends_with(CLIENT), "{text}");
            server.abort();
        }
    }
}

/// What the PROXY header costs a handshake: `HANDSHAKES` full handshakes (no resumption) on a
/// listener without the protocol and on one with it (the client writing a v2 header first),
/// interleaved in blocks; prints the mean per handshake. Run by hand:
/// `cargo test --release --all-features --test proxy_in_process -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn measure_the_proxy_header_cost() {
    const HANDSHAKES: usize = 200;
    const BLOCK: usize = 20;
    let backend = tls_policy::Backend::default_backend().expect("a backend");
    let acceptor = acceptor(backend);
    let (plain, _) = serve(ListenerConfig::new(
        "plain",
        TlsMode::Required(acceptor.clone()),
    ))
    .await;
    let (proxied, _) = serve(
        ListenerConfig::new("proxied", TlsMode::Required(acceptor))
            .with_proxy_protocol(ProxyProtocol::V2, trusted()),
    )
    .await;
    let header = v2_header(CLIENT.parse().expect("client"), proxied);
    let config = client();
    // Warm-up.
    for _ in 0..BLOCK {
        drop(connect(&config, plain, None).await);
        drop(connect(&config, proxied, Some(&header)).await);
    }
    let (mut without, mut with) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..HANDSHAKES / BLOCK {
        let started = Instant::now();
        for _ in 0..BLOCK {
            drop(connect(&config, plain, None).await);
        }
        without += started.elapsed();
        let started = Instant::now();
        for _ in 0..BLOCK {
            drop(connect(&config, proxied, Some(&header)).await);
        }
        with += started.elapsed();
    }
    let per = |total: Duration| total / HANDSHAKES as u32;
    println!(
        "{backend}: {HANDSHAKES} full handshakes each: without PROXY header {:?}/handshake, \
         with a v2 header {:?}/handshake (difference {:+.1} µs)",
        per(without),
        per(with),
        (per(with).as_secs_f64() - per(without).as_secs_f64()) * 1e6
    );
}
