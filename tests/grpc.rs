//! gRPC through `integration::tonic`: a tonic server with mutual TLS from a 5.x conf (plain
//! `TlsChannels::load`: the https channel's default ALPN), called by a Rust tonic client over
//! `GrpcConnector` and by a real Python `grpcio` client; `openssl s_client -alpn h2` sees h2.
#![cfg(feature = "tonic")]

use support::for_each_backend;
use tls_policy_test_support as support;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Buf, BufMut};
use tls_policy::config::Settings;
use tls_policy::integration::tonic::{ConnectInfoLayer, GrpcConnector, TlsIncoming, TlsRequestExt};
use tls_policy::{Backend, TlsChannels};
use tls_policy_dev_pki::WritePolicy;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::Status;
use tower_service::Service;

use support::tools::tool;
use support::{pki, STEP};

const METHOD: &str = "/tls_policy.test.WhoAmI/Ask";

// === a unary service over raw bytes, no protobuf ===

/// Messages are their bytes as they are.
#[derive(Clone, Copy, Debug, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let len = src.remaining();
        Ok(Some(src.copy_to_bytes(len).to_vec()))
    }
}

/// What the server saw of one call, through tonic's accessors and `TlsRequestExt`.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    remote_addr: Option<SocketAddr>,
    peer_leaf: Option<Vec<u8>>,
    /// tonic's own `Request::peer_certs()` (it exists with tonic's rustls features, which the
    /// rustls backends switch on).
    tonic_peer_leaf: Option<Vec<u8>>,
    alpn: Option<Vec<u8>>,
    message: Vec<u8>,
}

/// Answers `METHOD` with `hello <message>`, recording what it saw.
#[derive(Clone, Default)]
struct WhoAmI {
    seen: Arc<Mutex<Vec<Seen>>>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl Service<http::Request<tonic::body::Body>> for WhoAmI {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let seen = Arc::clone(&self.seen);
        let path = request.uri().path().to_owned();
        Box::pin(async move {
            let answer = tower::service_fn(move |request: tonic::Request<Vec<u8>>| {
                let message = request.get_ref().clone();
                seen.lock().unwrap().push(Seen {
                    path: path.clone(),
                    remote_addr: request.remote_addr(),
                    peer_leaf: request
                        .peer_certificates()
                        .map(|chain| chain[0].as_ref().to_vec()),
                    tonic_peer_leaf: tonic_peer_leaf(&request),
                    alpn: request.tls_info().and_then(|tls| tls.alpn.clone()),
                    message: message.clone(),
                });
                let mut reply = b"hello ".to_vec();
                reply.extend_from_slice(&message);
                async move { Ok::<_, Status>(tonic::Response::new(reply)) }
            });
            Ok(tonic::server::Grpc::new(RawCodec)
                .unary(answer, request)
                .await)
        })
    }
}

#[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
fn tonic_peer_leaf<T>(request: &tonic::Request<T>) -> Option<Vec<u8>> {
    request
        .peer_certs()
        .and_then(|chain| chain.first().map(|leaf| leaf.as_ref().to_vec()))
}

#[cfg(not(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring")))]
fn tonic_peer_leaf<T>(_request: &tonic::Request<T>) -> Option<Vec<u8>> {
    None
}

/// What tonic's own `peer_certs()` gives on `backend` when the client sent `leaf`: the leaf on
/// the rustls backends, nothing on native-tls (tonic reads only its rustls stream's info).
fn tonic_sees(backend: Backend, leaf: Option<Vec<u8>>) -> Option<Vec<u8>> {
    if backend.name().starts_with("rustls") {
        leaf
    } else {
        None
    }
}

// === the PKI and configs ===

/// A home with a 5.x-form server config (scope `https`, client certificates required where
/// the backend can ask) and a 3.5-form client config presenting the development client
/// certificate.
struct GrpcHome {
    dir: tempfile::TempDir,
    client_cert: PathBuf,
    client_key: PathBuf,
    root: PathBuf,
    mutual: bool,
}

impl GrpcHome {
    fn new(backend: Backend) -> GrpcHome {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        let caps = backend.capabilities();
        pki()
            .write_policy_dir(
                &home.join("certificates/https"),
                &WritePolicy {
                    with_crl: caps.crls,
                },
            )
            .unwrap();
        let (client_cert, client_key) = pki().write_client(&pki().client, home).unwrap();
        let root = home.join("root.pem");
        std::fs::write(&root, &pki().root.cert_pem).unwrap();
        let client = home.join("certificates/client");
        std::fs::create_dir_all(client.join("trusted")).unwrap();
        std::fs::create_dir_all(client.join("revoked")).unwrap();
        std::fs::copy(&client_cert, client.join("public.crt")).unwrap();
        std::fs::copy(&client_key, client.join("private.key")).unwrap();
        std::fs::copy(&root, client.join("trusted/root.pem")).unwrap();
        let mutual = caps.client_auth;
        let client_auth = if mutual { "REQUIRE" } else { "NONE" };
        std::fs::write(
            home.join("server.conf"),
            format!(
                "dbms.ssl.policy.https.enabled=true\n\
                 dbms.ssl.policy.https.client_auth={client_auth}\n\
                 server.https.enabled=true\n\
                 server.https.listen_address=127.0.0.1:0\n"
            ),
        )
        .unwrap();
        std::fs::write(
            home.join("client.conf"),
            "dbms.ssl.policy.client.base_directory=certificates/client\n\
             dbms.ssl.policy.client.client_auth=NONE\n\
             client.ssl_policy=client\n",
        )
        .unwrap();
        GrpcHome {
            dir,
            client_cert,
            client_key,
            root,
            mutual,
        }
    }

    fn load(&self, file: &str, backend: Backend) -> TlsChannels {
        let settings = Settings::from_file(self.dir.path().join(file), None).unwrap();
        TlsChannels::load(&settings, Some(backend)).unwrap()
    }
}

/// A tonic server on the `https` channel of `home`'s server config, until the handle drops.
struct Served {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(home: &GrpcHome, backend: Backend) -> Served {
    let channels = home.load("server.conf", backend);
    let incoming = TlsIncoming::for_channel(&channels, "https").await.unwrap();
    let addr = incoming.local_addr().unwrap();
    let service = WhoAmI::default();
    let seen = Arc::clone(&service.seen);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(ConnectInfoLayer)
            .serve_with_incoming_shutdown(service, incoming, async move {
                let _ = stopped.await;
            }),
    );
    Served {
        addr,
        seen,
        _stop: stop,
    }
}

fn last_seen(served: &Served) -> Seen {
    served
        .seen
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("the server saw a call")
}

/// Runs the grpcio client: prints the reply, or exits 1 with the gRPC error.
const PYTHON_GRPC_CLIENT: &str = r#"
import sys, grpc
port, root, cert, key = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
read = lambda p: open(p, 'rb').read() if p else None
creds = grpc.ssl_channel_credentials(read(root), read(key), read(cert))
opts = [('grpc.ssl_target_name_override', 'localhost')]
with grpc.secure_channel('127.0.0.1:' + port, creds, options=opts) as channel:
    ask = channel.unary_unary('/tls_policy.test.WhoAmI/Ask',
                              request_serializer=lambda b: b, response_deserializer=lambda b: b)
    try:
        print(ask(b'from grpcio', timeout=10).decode())
    except grpc.RpcError as e:
        print('grpc error:', e.code(), e.details())
        sys.exit(1)
"#;

async fn python_grpc(args: &[String]) -> (bool, String) {
    let mut command = tokio::process::Command::new("python3");
    command.arg("-c").arg(PYTHON_GRPC_CLIENT).args(args);
    command.kill_on_drop(true);
    let output = tokio::time::timeout(STEP * 2, command.output())
        .await
        .expect("the grpcio client finished in time")
        .expect("python3 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Whether python3 can import grpc (scripts/test.sh installs grpcio); a missing module fails
/// the test unless TLS_POLICY_SKIP_MISSING_TOOLS=1.
fn grpcio() -> bool {
    if !tool("python3") {
        return false;
    }
    let found = std::process::Command::new("python3")
        .args(["-c", "import grpc"])
        .status()
        .is_ok_and(|status| status.success());
    if found {
        return true;
    }
    let skip = std::env::var(support::tools::SKIP_MISSING_TOOLS).is_ok_and(|v| v == "1");
    assert!(
        skip,
        "the python3 module grpc is not installed: this test drives grpcio as a real peer. \
         Install it (scripts/test.sh does: pip install grpcio), or set {}=1 to skip",
        support::tools::SKIP_MISSING_TOOLS
    );
    eprintln!("SKIPPED: python3 module grpc is not installed");
    false
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

for_each_backend! {
    async fn a_tonic_client_over_grpc_connector_gets_the_reply_and_the_server_sees_it(backend: Backend) {
        let home = GrpcHome::new(backend);
        let served = serve(&home, backend).await;
        let clients = home.load("client.conf", backend);
        let connector = GrpcConnector::for_channel(&clients, "client")
            .unwrap()
            .with_server_name("localhost");
        let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{}", served.addr))
            .unwrap();
        let channel = tokio::time::timeout(STEP, endpoint.connect_with_connector(connector))
            .await
            .expect("connected in time")
            .expect("connected");
        let mut grpc = tonic::client::Grpc::new(channel);
        tokio::time::timeout(STEP, grpc.ready()).await.unwrap().unwrap();
        let reply = tokio::time::timeout(
            STEP,
            grpc.unary(
                tonic::Request::new(b"from tonic".to_vec()),
                PathAndQuery::from_static(METHOD),
                RawCodec,
            ),
        )
        .await
        .expect("answered in time")
        .expect("the call succeeds");
        assert_eq!(reply.into_inner(), b"hello from tonic");

        let seen = last_seen(&served);
        assert_eq!(seen.path, METHOD);
        assert_eq!(seen.message, b"from tonic");
        let remote = seen.remote_addr.expect("Request::remote_addr() works");
        assert!(remote.ip().is_loopback() && remote.port() != 0, "{remote}");
        assert_eq!(seen.alpn.as_deref(), Some(&b"h2"[..]), "h2 from the https default");
        if home.mutual {
            assert_eq!(
                seen.peer_leaf.as_deref(),
                Some(pki().client.cert_der.as_ref()),
                "the server sees the client certificate"
            );
        } else {
            assert_eq!(seen.peer_leaf, None, "{backend} asks for no client certificate");
        }
        assert_eq!(
            seen.tonic_peer_leaf,
            tonic_sees(backend, seen.peer_leaf.clone()),
            "tonic's own Request::peer_certs()"
        );
    }

    async fn a_python_grpcio_client_calls_the_service_with_mutual_tls(backend: Backend) {
        if !grpcio() {
            return;
        }
        let home = GrpcHome::new(backend);
        let served = serve(&home, backend).await;
        let args = |cert: bool| {
            vec![
                served.addr.port().to_string(),
                path(&home.root),
                if cert { path(&home.client_cert) } else { String::new() },
                if cert { path(&home.client_key) } else { String::new() },
            ]
        };
        let (ok, output) = python_grpc(&args(true)).await;
        assert!(ok, "grpcio call failed: {output}");
        assert_eq!(output.trim(), "hello from grpcio");
        let seen = last_seen(&served);
        assert_eq!(seen.path, METHOD);
        assert!(seen.remote_addr.is_some_and(|a| a.ip().is_loopback()), "{seen:?}");
        assert_eq!(seen.alpn.as_deref(), Some(&b"h2"[..]));
        if home.mutual {
            assert_eq!(seen.peer_leaf.as_deref(), Some(pki().client.cert_der.as_ref()));
            assert_eq!(seen.tonic_peer_leaf, tonic_sees(backend, seen.peer_leaf.clone()));
            // Without a client certificate the handshake is refused: no call gets through.
            let calls = served.seen.lock().unwrap().len();
            let (ok, output) = python_grpc(&args(false)).await;
            assert!(!ok, "grpcio without a certificate got through: {output}");
            assert!(output.contains("UNAVAILABLE"), "{output}");
            assert_eq!(served.seen.lock().unwrap().len(), calls);
        }
    }

    async fn openssl_s_client_negotiates_h2_on_the_https_channel(backend: Backend) {
        if !tool("openssl") {
            return;
        }
        let home = GrpcHome::new(backend);
        let served = serve(&home, backend).await;
        let mut command = tokio::process::Command::new("openssl");
        command
            .args(["s_client", "-connect", &served.addr.to_string(), "-alpn", "h2"])
            .args(["-servername", "localhost", "-CAfile", &path(&home.root)])
            .args(["-cert", &path(&home.client_cert), "-key", &path(&home.client_key)])
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let output = tokio::time::timeout(STEP, command.output()).await.unwrap().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("ALPN protocol: h2"), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    }
}
