//! The HTTP ecosystem on every compiled-in backend: `axum::serve` over `TlsListener` (peer identity through `ConnectInfo<TlsConnectInfo>`, HTTP/2 by ALPN, stalled and failed handshakes that hold up nobody) and hyper-util with `TlsInfoLayer`.
//!
//! The client is hyper's client connection over a rustls (ring) stream, independent of the
//! backend under test. Backends that cannot ask for client certificates (native-tls) serve
//! `client_auth=NONE`, and the handlers must then report no client certificate.
#![cfg(all(feature = "axum", feature = "http"))]

use support::for_each_backend;
use tls_policy_test_support as support;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ProtocolVersion, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use support::{pki, Home, STEP};
use tls_policy::{Acceptor, Backend, ServerOptions, TlsChannels, TlsInfo};
use tls_policy_dev_pki::Issued;

const H2: &[u8] = b"h2";
const HTTP11: &[u8] = b"http/1.1";

// === server side ===

/// Loads channel `bolt` of `home` for `backend` with ALPN `h2`, `http/1.1`.
fn http_acceptor(home: &Home, backend: Backend) -> Acceptor {
    let settings = home.settings().expect("config parses");
    let options = ServerOptions {
        alpn_protocols: vec![H2.to_vec(), HTTP11.to_vec()],
        ..Default::default()
    };
    let channels = TlsChannels::load_with(&settings, Some(backend), |_| options.clone())
        .expect("policy loads");
    channels
        .channel("bolt")
        .expect("bolt is bound")
        .acceptor
        .clone()
}

/// Mutual TLS where the backend can ask for client certificates, no client auth elsewhere.
fn home_for(backend: Backend) -> Home {
    if backend.capabilities().client_auth {
        Home::new(backend, &["client_auth=REQUIRE"])
    } else {
        Home::new(backend, &["client_auth=NONE"])
    }
}

/// What a handler reports about its request's connection, one `key: value` per line.
fn describe(tls: &TlsInfo, http_version: Version) -> String {
    let client_certificate = match tls.peer_identity() {
        Some(peer) => peer.subject.clone(),
        None => "none".to_string(),
    };
    format!(
        "http_version: {http_version:?}\nbackend: {}\nprotocol_version: {}\nalpn: {}\n\
         client_certificate: {client_certificate}\n",
        tls.backend,
        tls.protocol_version.map_or("unknown", |v| v.as_str()),
        tls.alpn
            .as_deref()
            .map_or("none".into(), String::from_utf8_lossy),
    )
}

/// A server task, aborted when dropped.
struct Running {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// === client side ===

/// What the client offers.
struct HttpClient<'a> {
    identity: Option<&'a Issued>,
    alpn: Vec<&'static [u8]>,
}

impl<'a> HttpClient<'a> {
    /// Presents `pki().client` (sent only if the server asks) and offers `alpn`.
    fn new(alpn: &[&'static [u8]]) -> Self {
        HttpClient {
            identity: Some(&pki().client),
            alpn: alpn.to_vec(),
        }
    }

    fn anonymous(mut self) -> Self {
        self.identity = None;
        self
    }

    fn presenting(mut self, identity: &'a Issued) -> Self {
        self.identity = Some(identity);
        self
    }

    fn config(&self) -> Result<ClientConfig, String> {
        let mut roots = RootCertStore::empty();
        roots
            .add(pki().root.cert_der.clone())
            .map_err(|e| e.to_string())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots);
        let mut config = match self.identity {
            None => builder.with_no_client_auth(),
            Some(issued) => builder
                .with_client_auth_cert(issued.chain_der(), issued.private_key_der())
                .map_err(|e| e.to_string())?,
        };
        config.alpn_protocols = self.alpn.iter().map(|p| p.to_vec()).collect();
        Ok(config)
    }

    /// Connects, handshakes as `localhost`, and sends `requests` GETs for `/` on one
    /// connection (HTTP/2 if ALPN chose it, else HTTP/1.1); bounded by [`STEP`].
    async fn get(&self, addr: SocketAddr, requests: usize) -> Result<Conversation, String> {
        tokio::time::timeout(STEP, self.get_unbounded(addr, requests))
            .await
            .map_err(|_| format!("no answer from {addr} within {STEP:?}"))?
    }

    async fn get_unbounded(
        &self,
        addr: SocketAddr,
        requests: usize,
    ) -> Result<Conversation, String> {
        let connector = tokio_rustls::TlsConnector::from(Arc::new(self.config()?));
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let local_addr = tcp.local_addr().map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let (_, connection) = tls.get_ref();
        let tls_version = connection.protocol_version().map(|v| match v {
            ProtocolVersion::TLSv1_3 => "TLSv1.3",
            ProtocolVersion::TLSv1_2 => "TLSv1.2",
            _ => "other",
        });
        let alpn = connection.alpn_protocol().map(<[u8]>::to_vec);
        let io = TokioIo::new(tls);
        let mut replies = Vec::new();
        if alpn.as_deref() == Some(H2) {
            let (mut sender, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
            tokio::spawn(connection);
            for _ in 0..requests {
                let request = Request::get(format!("https://localhost:{}/", addr.port()))
                    .body(Empty::<Bytes>::new())
                    .map_err(|e| e.to_string())?;
                let response = sender.send_request(request).await;
                replies.push(Reply::read(response.map_err(|e| format!("request: {e}"))?).await?);
            }
        } else {
            let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|e| format!("HTTP/1.1 handshake: {e}"))?;
            tokio::spawn(connection);
            for _ in 0..requests {
                let request = Request::get("/")
                    .header(hyper::header::HOST, format!("localhost:{}", addr.port()))
                    .body(Empty::<Bytes>::new())
                    .map_err(|e| e.to_string())?;
                let response = sender.send_request(request).await;
                replies.push(Reply::read(response.map_err(|e| format!("request: {e}"))?).await?);
            }
        }
        Ok(Conversation {
            local_addr,
            tls_version,
            alpn,
            replies,
        })
    }
}

/// One connection as the client saw it.
#[derive(Debug)]
struct Conversation {
    local_addr: SocketAddr,
    tls_version: Option<&'static str>,
    alpn: Option<Vec<u8>>,
    replies: Vec<Reply>,
}

/// One response: its status and its `key: value` lines.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    fields: BTreeMap<String, String>,
}

impl Reply {
    async fn read(response: Response<Incoming>) -> Result<Reply, String> {
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        let text = String::from_utf8_lossy(&body);
        let fields = text
            .lines()
            .filter_map(|line| line.split_once(": "))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Ok(Reply { status, fields })
    }

    fn field(&self, key: &str) -> &str {
        self.fields
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no {key} in {:?}", self.fields))
    }
}

/// Checks one reply against what the client negotiated and what the backend can report.
fn assert_describes(backend: Backend, conversation: &Conversation, reply: &Reply, http: &str) {
    let caps = backend.capabilities();
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.field("backend"), backend.name());
    assert_eq!(reply.field("http_version"), http);
    if caps.session_details {
        assert_eq!(
            Some(reply.field("protocol_version")),
            conversation.tls_version
        );
    } else {
        assert_eq!(reply.field("protocol_version"), "unknown");
    }
    let alpn = conversation
        .alpn
        .as_deref()
        .map_or("none".into(), String::from_utf8_lossy);
    assert_eq!(reply.field("alpn"), alpn);
    let subject = reply.field("client_certificate");
    if caps.client_auth {
        assert!(
            subject.contains("CN=tls-policy development client"),
            "mutual TLS: the handler sees the client's certificate, got {subject}"
        );
    } else {
        assert_eq!(subject, "none");
    }
}

/// Opens a TCP connection that never says anything.
async fn stalled(addr: SocketAddr) -> TcpStream {
    tokio::time::timeout(STEP, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// Whether the server has closed `stream` (EOF or reset) within [`STEP`].
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    loop {
        match tokio::time::timeout(STEP, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // an alert, say
        }
    }
}

/// Whether `stream` is still open with nothing to read, right now.
fn still_open(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

// === axum::serve over TlsListener ===

mod axum_serve {
    use super::*;

    use axum::extract::ConnectInfo;
    use axum::routing::get;
    use axum::Router;
    use tls_policy::integration::axum::{TlsConnectInfo, TlsListener};

    async fn handler(ConnectInfo(conn): ConnectInfo<TlsConnectInfo>, version: Version) -> String {
        format!(
            "remote_addr: {}\n{}",
            conn.remote_addr,
            describe(&conn.tls, version)
        )
    }

    /// `axum::serve(listener, router)` on 127.0.0.1:0, built by `configure`.
    async fn serve(
        acceptor: Acceptor,
        configure: impl FnOnce(TlsListener) -> TlsListener,
    ) -> Running {
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = tcp.local_addr().expect("local addr");
        let listener = configure(TlsListener::new(tcp, acceptor));
        let app = Router::new().route("/", get(handler));
        let task = tokio::spawn(async move {
            let served = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<TlsConnectInfo>(),
            )
            .await;
            panic!("axum::serve returned: {served:?}");
        });
        Running { addr, task }
    }

    crate::for_each_backend! {
        async fn the_handler_sees_the_peer_and_what_was_negotiated(backend: Backend) {
            let server = serve(http_acceptor(&home_for(backend), backend), |l| l).await;
            let conversation = HttpClient::new(&[HTTP11])
                .get(server.addr, 2)
                .await
                .expect("two requests on one connection");
            for reply in &conversation.replies {
                assert_describes(backend, &conversation, reply, "HTTP/1.1");
                assert_eq!(reply.field("remote_addr"), conversation.local_addr.to_string());
            }
            if backend.capabilities().alpn {
                assert_eq!(conversation.alpn.as_deref(), Some(HTTP11));
            }
        }

        async fn http2_is_chosen_by_alpn(backend: Backend) {
            if !backend.capabilities().alpn {
                return;
            }
            let server = serve(http_acceptor(&home_for(backend), backend), |l| l).await;
            let conversation = HttpClient::new(&[H2, HTTP11])
                .get(server.addr, 2)
                .await
                .expect("HTTP/2 requests");
            assert_eq!(conversation.alpn.as_deref(), Some(H2));
            for reply in &conversation.replies {
                assert_describes(backend, &conversation, reply, "HTTP/2.0");
            }
        }

        async fn failed_handshakes_do_not_end_the_listener(backend: Backend) {
            let server = serve(http_acceptor(&home_for(backend), backend), |l| l).await;

            // Plain HTTP on the TLS port: the server hangs up.
            let mut plain = stalled(server.addr).await;
            plain.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await.expect("write");
            assert!(closed_by_server(&mut plain).await, "plaintext must be refused");

            if backend.capabilities().client_auth {
                // Mutual TLS is required: no certificate, or one nobody trusts, gets no answer.
                let anonymous = HttpClient::new(&[HTTP11]).anonymous().get(server.addr, 1).await;
                assert!(anonymous.is_err(), "no client certificate: {anonymous:?}");
                let foreign = HttpClient::new(&[HTTP11])
                    .presenting(&pki().foreign_client)
                    .get(server.addr, 1)
                    .await;
                assert!(foreign.is_err(), "untrusted client certificate: {foreign:?}");
            }

            let conversation = HttpClient::new(&[H2, HTTP11])
                .get(server.addr, 1)
                .await
                .expect("a good client is still served");
            assert_eq!(conversation.replies[0].status, StatusCode::OK);
        }

        async fn fifty_stalled_connections_do_not_hold_up_a_good_request(backend: Backend) {
            let server = serve(http_acceptor(&home_for(backend), backend), |l| l).await;
            let mut silent = Vec::new();
            for i in 0..50 {
                let mut stream = stalled(server.addr).await;
                if i % 2 == 1 {
                    // Half a TLS record header: the handshake has begun and then stalls.
                    stream.write_all(&[0x16, 0x03, 0x01]).await.expect("write");
                }
                silent.push(stream);
            }
            // The stalled connections are ahead of it in the backlog; handshaking inside
            // axum's sequential accept() would keep this request waiting 50 × 10 s.
            let conversation = HttpClient::new(&[H2, HTTP11])
                .get(server.addr, 1)
                .await
                .expect("the good request is answered while 50 peers stall");
            assert_eq!(conversation.replies[0].status, StatusCode::OK);
            let open = silent.iter().filter(|s| still_open(s)).count();
            assert_eq!(open, 50, "the stalled handshakes were still pending");
        }

        async fn a_timed_out_handshake_is_closed_and_frees_its_slot(backend: Backend) {
            let server = serve(http_acceptor(&home_for(backend), backend), |l| {
                l.max_handshakes(1)
                    .handshake_timeout(Duration::from_millis(300))
                    .first_record_timeout(Duration::from_millis(300))
            })
            .await;
            let mut silent = stalled(server.addr).await;
            let conversation = HttpClient::new(&[HTTP11])
                .get(server.addr, 1)
                .await
                .expect("served once the stalled peer timed out");
            assert_eq!(conversation.replies[0].status, StatusCode::OK);
            assert!(closed_by_server(&mut silent).await, "the stalled peer was cut off");
        }

        async fn silent_peers_hold_no_slot_and_the_pending_bounds_close_at_once(backend: Backend) {
            let server = serve(http_acceptor(&home_for(backend), backend), |l| {
                l.max_handshakes(1)
                    .first_record_timeout(Duration::from_millis(500))
                    .max_pending_per_address(2)
            })
            .await;
            let from = |last: u8| {
                let addr = server.addr;
                async move {
                    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
                    socket.bind(SocketAddr::from(([127, 0, 0, last], 0))).expect("bind");
                    socket.connect(addr).await.expect("connect")
                }
            };
            // Two silent peers from 127.0.0.2 wait for their first record without a slot; a
            // third from there is past the per-address bound and closed at once.
            let mut silent = vec![from(2).await, from(2).await];
            let mut third = from(2).await;
            assert!(closed_by_server(&mut third).await, "past the per-address bound");
            // The only handshake slot is free: a good request (from 127.0.0.1) is answered.
            let conversation = HttpClient::new(&[HTTP11])
                .get(server.addr, 1)
                .await
                .expect("answered while two peers are silent");
            assert_eq!(conversation.replies[0].status, StatusCode::OK);
            // The silent peers are cut at the first-record timeout.
            for stream in &mut silent {
                assert!(closed_by_server(stream).await, "cut at the first-record timeout");
            }
        }

        async fn for_channel_reads_the_channels_own_settings(backend: Backend) {
            // The issue seen: with handshake_timeout=1s an idle client was cut after 10 s, and
            // the listen address, the cap and tls_level were ignored.
            let home = home_for(backend);
            let mut text = std::fs::read_to_string(&home.config).expect("config");
            text.push_str(
                "dbms.connector.bolt.listen_address=127.0.0.9:0\n\
                 dbms.connector.bolt.handshake_timeout=1s\n\
                 dbms.connector.bolt.first_record_timeout=1s\n\
                 dbms.connector.bolt.max_concurrent_handshakes=1\n\
                 dbms.connector.bolt.max_pending_per_address=3\n",
            );
            std::fs::write(&home.config, text).expect("config");
            let settings = home.settings().expect("config parses");
            let http = ServerOptions { alpn_protocols: vec![H2.to_vec(), HTTP11.to_vec()], ..Default::default() };
            let channels = TlsChannels::load_with(&settings, Some(backend), |_| http.clone())
                .expect("policy loads");
            let listener = TlsListener::for_channel(&channels, "bolt").await.expect("bound");
            let addr = axum::serve::Listener::local_addr(&listener).expect("local addr");
            assert_eq!(addr.ip(), std::net::Ipv4Addr::new(127, 0, 0, 9), "the listen_address");
            let app = Router::new().route("/", get(handler));
            let task = tokio::spawn(async move {
                let served = axum::serve(listener, app.into_make_service_with_connect_info::<TlsConnectInfo>()).await;
                panic!("axum::serve returned: {served:?}");
            });
            let server = Running { addr, task };

            // first_record_timeout=1s: a silent peer is cut after about a second, not 5 or 10.
            let started = std::time::Instant::now();
            let mut silent = stalled(server.addr).await;
            assert!(closed_by_server(&mut silent).await, "cut at the first-record timeout");
            let took = started.elapsed();
            assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "{took:?}");

            // handshake_timeout=1s: a first record whose handshake never completes holds the
            // only slot (max_concurrent_handshakes=1) until cut after about a second.
            let started = std::time::Instant::now();
            let mut stuck = stalled(server.addr).await;
            stuck.write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x10, 0x00]).await.expect("write");
            assert!(closed_by_server(&mut stuck).await, "cut at the handshake timeout");
            let took = started.elapsed();
            assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "{took:?}");

            // A good request is served, with the per-address bound of 3 applying to silent peers.
            let mut held = Vec::new();
            for _ in 0..3 {
                let socket = tokio::net::TcpSocket::new_v4().expect("socket");
                socket.bind(SocketAddr::from(([127, 0, 0, 33], 0))).expect("bind");
                held.push(socket.connect(server.addr).await.expect("connect"));
            }
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket.bind(SocketAddr::from(([127, 0, 0, 33], 0))).expect("bind");
            let mut fourth = socket.connect(server.addr).await.expect("connect");
            assert!(closed_by_server(&mut fourth).await, "past max_pending_per_address=3");
            let conversation = HttpClient::new(&[HTTP11]).get(server.addr, 1).await.expect("served");
            assert_eq!(conversation.replies[0].status, StatusCode::OK);
        }

        async fn for_channel_refuses_what_it_cannot_serve(backend: Backend) {
            let home = home_for(backend);
            let base = std::fs::read_to_string(&home.config).expect("config");
            let load = |extra: &str| {
                std::fs::write(&home.config, format!("{base}{extra}")).expect("config");
                TlsChannels::load(&home.settings().expect("config parses"), Some(backend)).expect("loads")
            };
            let text = |error: tls_policy::listener::ListenError| error.to_string();
            let channels = load("dbms.connector.bolt.listen_address=127.0.0.1:0\n");
            let missing = text(TlsListener::for_channel(&channels, "nowhere").await.expect_err("unknown"));
            assert!(missing.contains("'nowhere' is not configured"), "{missing}");
            let channels = load("");
            let no_address = text(TlsListener::for_channel(&channels, "bolt").await.expect_err("no address"));
            assert!(no_address.contains("dbms.connector.bolt.listen_address is not set"), "{no_address}");
            let channels = load("dbms.connector.bolt.listen_address=127.0.0.1:0\ndbms.connector.bolt.tls_level=DISABLED\n");
            let plaintext = text(TlsListener::for_channel(&channels, "bolt").await.expect_err("plaintext"));
            assert!(plaintext.contains("tls_level=DISABLED") && plaintext.contains("TLS only"), "{plaintext}");
        }

        async fn max_handshakes_bounds_connections_in_handshake(backend: Backend) {
            let server = serve(http_acceptor(&home_for(backend), backend), |l| {
                l.max_handshakes(1).handshake_timeout(STEP * 10)
            })
            .await;
            // A whole first record whose handshake message never completes: the handshake
            // starts, in the only slot, and stalls (a silent peer would hold no slot).
            let mut silent = stalled(server.addr).await;
            silent
                .write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x10, 0x00])
                .await
                .expect("write");
            tokio::time::sleep(Duration::from_millis(200)).await;
            let addr = server.addr;
            let good = tokio::spawn(async move { HttpClient::new(&[HTTP11]).get(addr, 1).await.map(|c| c.replies.len()) });
            // Unbounded, the good request would be answered in milliseconds; bounded to one
            // handshake, it waits for the silent peer's slot.
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert!(!good.is_finished(), "a second connection was taken while the only slot was busy");
            drop(silent); // its handshake fails at once and frees the slot
            let answered = tokio::time::timeout(STEP, good)
                .await
                .expect("answered in time")
                .expect("client task")
                .expect("the good request is served once the slot is free");
            assert_eq!(answered, 1);
        }
    }
}

// === hyper-util with TlsLayer and TlsInfoLayer ===

mod hyper_util_layer {
    use super::*;

    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    use tls_policy::integration::http::TlsInfoLayer;
    use tls_policy::{TlsLayer, TlsStream};
    use tower::{service_fn, Layer, ServiceExt};

    async fn handler(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        let body = match request.extensions().get::<Arc<TlsInfo>>() {
            Some(tls) => describe(tls, request.version()),
            None => "error: no Arc<TlsInfo> in the request extensions\n".to_string(),
        };
        Ok(Response::new(Full::from(body)))
    }

    /// hyper-util's auto connection builder behind `TlsLayer` and `TlsInfoLayer`.
    async fn serve(acceptor: Acceptor) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let tls = TlsLayer::new(acceptor);
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _peer)) = listener.accept().await else {
                    continue;
                };
                let http = service_fn(|stream: TlsStream<TcpStream>| async move {
                    let service = TlsInfoLayer::for_stream(&stream).layer(service_fn(handler));
                    Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                        .await
                });
                tokio::spawn(tls.layer(http).oneshot(tcp));
            }
        });
        Running { addr, task }
    }

    crate::for_each_backend! {
        async fn every_request_carries_the_connections_tls_info(backend: Backend) {
            let server = serve(http_acceptor(&home_for(backend), backend)).await;
            let conversation = HttpClient::new(&[HTTP11])
                .get(server.addr, 2)
                .await
                .expect("HTTP/1.1 requests");
            assert_eq!(conversation.replies.len(), 2);
            for reply in &conversation.replies {
                assert_describes(backend, &conversation, reply, "HTTP/1.1");
            }
            if backend.capabilities().alpn {
                let conversation = HttpClient::new(&[H2, HTTP11])
                    .get(server.addr, 2)
                    .await
                    .expect("HTTP/2 requests");
                assert_eq!(conversation.alpn.as_deref(), Some(H2));
                for reply in &conversation.replies {
                    assert_describes(backend, &conversation, reply, "HTTP/2.0");
                }
            }
        }
    }
}
