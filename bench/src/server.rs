//! The benchmark's servers: our layer, the raw libraries and plain TCP, on a server thread of their own.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tower_layer::Layer;
use tower_service::Service;

use super::pki::Identity;
use super::protocol::{self, Request, ACK, GREETING, REQUEST_LEN};
use super::sys::thread_cpu;
use super::BenchError;
use tls_policy::{Acceptor, Backend, ServerOptions, TlsLayer, TlsVersion};

/// Which side of the comparison a server or stream is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Through this crate: [`Acceptor`], [`TlsLayer`], [`tls_policy::TlsStream`].
    Ours,
    /// The same TLS library used directly (tokio-rustls, tokio-native-tls).
    Raw,
    /// Through the [`tls_policy::listener::Listener`] that `tls-policy serve` runs (admission,
    /// first-record wait, handshake slots, per-channel metrics), with default limits.
    Listener,
}

impl Role {
    /// `ours` or `raw`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Ours => "ours",
            Role::Raw => "raw",
            Role::Listener => "serve listener",
        }
    }
}

/// What accepts connections: our acceptor, a raw library acceptor, or nothing (plain TCP).
#[derive(Clone)]
pub(crate) enum Engine {
    Ours(Acceptor),
    /// Our acceptor behind the `serve` listener.
    Listener(Acceptor),
    #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
    RawRustls(tls_policy_rustls::tokio_rustls::TlsAcceptor),
    #[cfg(feature = "native-tls")]
    RawNative(tls_policy_native_tls::tokio_native_tls::TlsAcceptor),
    #[cfg(feature = "openssl")]
    RawOpenssl(tls_policy_openssl::openssl::ssl::SslAcceptor),
    Tcp,
}

impl Engine {
    /// The TLS versions a backend's benchmark server offers: both where it can, TLS 1.2 on
    /// native-tls (which never negotiates TLS 1.3).
    pub(crate) fn versions(backend: Backend) -> &'static [TlsVersion] {
        if backend.capabilities().tls13 {
            &[TlsVersion::Tls12, TlsVersion::Tls13]
        } else {
            &[TlsVersion::Tls12]
        }
    }

    /// Builds `role`'s server for `backend` serving `identity`: ours compiles a policy with
    /// [`Backend::server`]; raw configures the library by hand the way its own docs show, with
    /// the same provider, certificate and session-resumption choices.
    pub(crate) fn build(
        backend: Backend,
        role: Role,
        identity: &Identity,
    ) -> Result<Engine, BenchError> {
        let versions = Engine::versions(backend);
        match role {
            Role::Ours => {
                let policy = identity.policy(versions);
                let acceptor = backend
                    .server(&policy, &ServerOptions::default())
                    .map_err(|err| BenchError::new(format!("{backend}: {err}")))?;
                Ok(Engine::Ours(acceptor))
            }
            Role::Raw => raw(backend, identity, versions),
            Role::Listener => {
                let policy = identity.policy(versions);
                let acceptor = backend
                    .server(&policy, &ServerOptions::default())
                    .map_err(|err| BenchError::new(format!("{backend}: {err}")))?;
                Ok(Engine::Listener(acceptor))
            }
        }
    }
}

fn raw(
    backend: Backend,
    identity: &Identity,
    versions: &[TlsVersion],
) -> Result<Engine, BenchError> {
    // native-tls takes its version range from the acceptor builder instead.
    let _ = versions;
    match backend {
        #[cfg(feature = "rustls-aws-lc-rs")]
        Backend::RustlsAwsLcRs => raw_rustls(
            tls_policy_rustls::rustls::crypto::aws_lc_rs::default_provider(),
            tls_policy_rustls::rustls::crypto::aws_lc_rs::Ticketer::new,
            identity,
            versions,
        )
        .map_err(|err| BenchError::new(format!("raw tokio-rustls on aws-lc-rs: {err}"))),
        #[cfg(feature = "rustls-ring")]
        Backend::RustlsRing => raw_rustls(
            tls_policy_rustls::rustls::crypto::ring::default_provider(),
            tls_policy_rustls::rustls::crypto::ring::Ticketer::new,
            identity,
            versions,
        )
        .map_err(|err| BenchError::new(format!("raw tokio-rustls on ring: {err}"))),
        #[cfg(feature = "native-tls")]
        Backend::NativeTls => raw_native(identity)
            .map_err(|err| BenchError::new(format!("raw tokio-native-tls: {err}"))),
        #[cfg(feature = "openssl")]
        Backend::Openssl => raw_openssl(identity, versions)
            .map_err(|err| BenchError::new(format!("raw tokio-openssl: {err}"))),
        // The library may have a backend compiled in (feature unification) that this crate's
        // features leave out: there is no raw library to compare it with.
        #[allow(unreachable_patterns)]
        other => Err(BenchError::new(format!(
            "{other}: not compiled into tls-policy-bench (enable its feature of the same name)"
        ))),
    }
}

#[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
type MakeTicketer = fn() -> Result<
    Arc<dyn tls_policy_rustls::rustls::server::ProducesTickets>,
    tls_policy_rustls::rustls::Error,
>;

/// tokio-rustls as its README sets it up, plus session tickets (which rustls leaves off and
/// this crate turns on).
#[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
fn raw_rustls(
    provider: tls_policy_rustls::rustls::crypto::CryptoProvider,
    ticketer: MakeTicketer,
    identity: &Identity,
    versions: &[TlsVersion],
) -> Result<Engine, tls_policy_rustls::rustls::Error> {
    let config = raw_rustls_config(provider, ticketer, identity, versions)?;
    Ok(Engine::RawRustls(
        tls_policy_rustls::tokio_rustls::TlsAcceptor::from(config),
    ))
}

/// The raw baseline's rustls server configuration for `backend` (a rustls backend).
#[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
pub(crate) fn raw_rustls_server_config(
    backend: Backend,
    identity: &Identity,
) -> Result<Arc<tls_policy_rustls::rustls::ServerConfig>, BenchError> {
    let versions = Engine::versions(backend);
    let result = match backend {
        #[cfg(feature = "rustls-aws-lc-rs")]
        Backend::RustlsAwsLcRs => raw_rustls_config(
            tls_policy_rustls::rustls::crypto::aws_lc_rs::default_provider(),
            tls_policy_rustls::rustls::crypto::aws_lc_rs::Ticketer::new,
            identity,
            versions,
        ),
        #[cfg(feature = "rustls-ring")]
        Backend::RustlsRing => raw_rustls_config(
            tls_policy_rustls::rustls::crypto::ring::default_provider(),
            tls_policy_rustls::rustls::crypto::ring::Ticketer::new,
            identity,
            versions,
        ),
        #[allow(unreachable_patterns)]
        _ => {
            return Err(BenchError::new(format!(
                "{backend} is not a rustls backend"
            )))
        }
    };
    result.map_err(|err| BenchError::new(format!("raw rustls on {backend}: {err}")))
}

#[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
fn raw_rustls_config(
    provider: tls_policy_rustls::rustls::crypto::CryptoProvider,
    ticketer: MakeTicketer,
    identity: &Identity,
    versions: &[TlsVersion],
) -> Result<Arc<tls_policy_rustls::rustls::ServerConfig>, tls_policy_rustls::rustls::Error> {
    use rustls_pki_types::PrivateKeyDer;
    use tls_policy_rustls::rustls::{self, ServerConfig};
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = versions
        .iter()
        .map(|version| match version {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        })
        .collect();
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&versions)?
        .with_no_client_auth()
        .with_single_cert(
            identity.chain.clone(),
            PrivateKeyDer::Pkcs8(identity.key.clone_key()),
        )?;
    config.ticketer = ticketer()?;
    Ok(Arc::new(config))
}

/// tokio-native-tls as its README sets it up, TLS 1.2 as the native-tls backend serves.
#[cfg(feature = "native-tls")]
fn raw_native(
    identity: &Identity,
) -> Result<Engine, tls_policy_native_tls::tokio_native_tls::native_tls::Error> {
    use tls_policy_native_tls::tokio_native_tls::native_tls::{self, Protocol};
    let id = native_tls::Identity::from_pkcs8(
        identity.chain_pem.as_bytes(),
        identity.key_pem.as_bytes(),
    )?;
    let acceptor = native_tls::TlsAcceptor::builder(id)
        .min_protocol_version(Some(Protocol::Tlsv12))
        .max_protocol_version(Some(Protocol::Tlsv12))
        .build()?;
    Ok(Engine::RawNative(acceptor.into()))
}

/// tokio-openssl as its documentation sets it up (`SslAcceptor::mozilla_intermediate_v5`),
/// with the versions the openssl backend serves.
#[cfg(feature = "openssl")]
fn raw_openssl(
    identity: &Identity,
    versions: &[TlsVersion],
) -> Result<Engine, tls_policy_openssl::openssl::error::ErrorStack> {
    use tls_policy_openssl::openssl::pkey::PKey;
    use tls_policy_openssl::openssl::ssl::{SslAcceptor, SslMethod, SslVersion};
    use tls_policy_openssl::openssl::x509::X509;
    let version = |v: &TlsVersion| match v {
        TlsVersion::Tls12 => SslVersion::TLS1_2,
        TlsVersion::Tls13 => SslVersion::TLS1_3,
    };
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
    let key = PKey::private_key_from_pkcs8(identity.key.secret_pkcs8_der())?;
    builder.set_private_key(&key)?;
    let mut chain = identity.chain.iter();
    if let Some(leaf) = chain.next() {
        let leaf = X509::from_der(leaf.as_ref())?;
        builder.set_certificate(&leaf)?;
    }
    for cert in chain {
        builder.add_extra_chain_cert(X509::from_der(cert.as_ref())?)?;
    }
    builder.set_min_proto_version(versions.iter().min().map(version))?;
    builder.set_max_proto_version(versions.iter().max().map(version))?;
    Ok(Engine::RawOpenssl(builder.build()))
}

/// One raw tokio-openssl server handshake over `io`.
#[cfg(feature = "openssl")]
pub(crate) async fn accept_openssl<IO>(
    acceptor: &tls_policy_openssl::openssl::ssl::SslAcceptor,
    io: IO,
) -> std::io::Result<tls_policy_openssl::tokio_openssl::SslStream<IO>>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let ssl = tls_policy_openssl::openssl::ssl::Ssl::new(acceptor.context())
        .map_err(std::io::Error::other)?;
    let mut stream = tls_policy_openssl::tokio_openssl::SslStream::new(ssl, io)
        .map_err(std::io::Error::other)?;
    std::pin::Pin::new(&mut stream)
        .accept()
        .await
        .map_err(std::io::Error::other)?;
    Ok(stream)
}

// === the server thread ===

/// A thread running a single-threaded tokio runtime that every benchmark server lives on, so
/// that its CPU clock is the servers' CPU time.
pub(crate) struct ServerThread {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    /// Starts the thread and its runtime, pinned to CPU `pin` when given.
    pub(crate) fn start(pin: Option<usize>) -> Result<ServerThread, BenchError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || {
                if let Some(cpu) = pin {
                    super::sys::pin_to_cpu(cpu);
                }
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                let (stop_tx, stop_rx) = oneshot::channel::<()>();
                if ready_tx
                    .send(Ok((runtime.handle().clone(), stop_tx)))
                    .is_ok()
                {
                    runtime.block_on(async {
                        let _ = stop_rx.await;
                    });
                }
            })
            .map_err(|err| BenchError::new(format!("cannot start the server thread: {err}")))?;
        let (handle, stop) = ready_rx
            .recv()
            .map_err(|_| BenchError::new("the server thread ended before its runtime started"))?
            .map_err(|err| {
                BenchError::new(format!("cannot start the server thread's runtime: {err}"))
            })?;
        Ok(ServerThread {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The server runtime's handle.
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The server thread's CPU time so far (read on that thread).
    pub(crate) async fn cpu(&self) -> Option<Duration> {
        self.handle
            .spawn(async { thread_cpu() })
            .await
            .ok()
            .flatten()
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// === listening ===

/// A server accepting on a loopback port; its accept loop stops when this is dropped.
pub(crate) struct Listening {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// The server's CPU time for each completed transfer request.
    reports: mpsc::UnboundedReceiver<Duration>,
    /// How many connections have been greeted (their handshake done).
    greeted: Arc<AtomicUsize>,
    task: tokio::task::AbortHandle,
}

impl Listening {
    /// Starts a server for `engine` on `handle`'s runtime, on an ephemeral loopback port.
    pub(crate) fn start(handle: &Handle, engine: Engine) -> Result<Listening, BenchError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
            .map_err(|err| BenchError::new(format!("cannot listen on 127.0.0.1:0: {err}")))?;
        let addr = listener
            .local_addr()
            .map_err(|err| BenchError::new(format!("listener address: {err}")))?;
        let (reports_tx, reports) = mpsc::unbounded_channel();
        let greeted = Arc::new(AtomicUsize::new(0));
        let session = Session {
            reports: reports_tx,
            greeted: Arc::clone(&greeted),
        };
        let task = handle.spawn(async move {
            match TcpListener::from_std(listener) {
                Ok(listener) => {
                    if let Engine::Listener(acceptor) = engine {
                        serve_listener(listener, acceptor, session).await;
                    } else {
                        accept_loop(listener, engine, session).await;
                    }
                }
                Err(err) => eprintln!("bench server {addr}: cannot register the listener: {err}"),
            }
        });
        Ok(Listening {
            addr,
            reports,
            greeted,
            task: task.abort_handle(),
        })
    }

    /// Forgets CPU reports of earlier transfers.
    pub(crate) fn drain_reports(&mut self) {
        while self.reports.try_recv().is_ok() {}
    }

    /// Waits (at most `timeout`) for the CPU report of the transfer just finished.
    pub(crate) async fn next_report(&mut self, timeout: Duration) -> Option<Duration> {
        tokio::time::timeout(timeout, self.reports.recv())
            .await
            .ok()
            .flatten()
    }

    /// How many connections the server has greeted so far.
    pub(crate) fn greeted(&self) -> usize {
        self.greeted.load(Ordering::Relaxed)
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `serve` listener path: [`tls_policy::listener::Listener::serve`] with a TLS-required
/// channel and default limits, calling the same session service.
async fn serve_listener(listener: TcpListener, acceptor: Acceptor, session: Session) {
    use tls_policy::listener::{Listener, ListenerConfig, TlsMode};
    let config = ListenerConfig::new("bench", TlsMode::Required(acceptor));
    match Listener::from_tcp(listener, config) {
        Ok(listener) => {
            listener.serve(session, std::future::pending::<()>()).await;
        }
        Err(err) => eprintln!("bench serve listener: {err}"),
    }
}

async fn accept_loop(listener: TcpListener, engine: Engine, session: Session) {
    // Ours: a tower service behind TlsLayer, the way an application serves.
    let mut ours = match &engine {
        Engine::Ours(acceptor) => Some(TlsLayer::new(acceptor.clone()).layer(session.clone())),
        _ => None,
    };
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _peer)) => tcp,
            Err(_) => {
                // Out of file descriptors or similar: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        match &engine {
            Engine::Ours(_) => {
                if let Some(service) = ours.as_mut() {
                    if std::future::poll_fn(|cx| Service::<TcpStream>::poll_ready(service, cx))
                        .await
                        .is_ok()
                    {
                        let connection = service.call(tcp);
                        tokio::spawn(async move {
                            let _ = connection.await;
                        });
                    }
                }
            }
            #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
            Engine::RawRustls(acceptor) => {
                // As a user writes it: the accept future is built inside the connection's task
                // (built outside and moved in, its state would travel in the task too).
                let acceptor = acceptor.clone();
                let session = session.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = session.serve(tls).await;
                    }
                });
            }
            #[cfg(feature = "native-tls")]
            Engine::RawNative(acceptor) => {
                let acceptor = acceptor.clone();
                let session = session.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = session.serve(tls).await;
                    }
                });
            }
            #[cfg(feature = "openssl")]
            Engine::RawOpenssl(acceptor) => {
                let acceptor = acceptor.clone();
                let session = session.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = accept_openssl(&acceptor, tcp).await {
                        let _ = session.serve(tls).await;
                    }
                });
            }
            Engine::Listener(_) => {}
            Engine::Tcp => {
                let session = session.clone();
                tokio::spawn(async move {
                    let _ = session.serve::<TcpStream>(tcp).await;
                });
            }
        }
    }
}

/// The per-connection application: the bench protocol, as a tower service for our layer and as
/// a plain async function for the raw baselines.
#[derive(Clone)]
struct Session {
    reports: mpsc::UnboundedSender<Duration>,
    greeted: Arc<AtomicUsize>,
}

impl Session {
    /// Greets, then serves transfer requests until the client hangs up, reporting the server
    /// thread's CPU time of each transfer.
    async fn serve<S>(self, mut stream: S) -> io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        stream.write_all(&[GREETING]).await?;
        stream.flush().await?;
        self.greeted.fetch_add(1, Ordering::Relaxed);
        let mut request = [0u8; REQUEST_LEN];
        loop {
            match stream.read_exact(&mut request).await {
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(err) => return Err(err),
            }
            let request = Request::decode(&request)?;
            let before = thread_cpu();
            match request {
                Request::ServerSends(n) => protocol::send_bytes(&mut stream, n).await?,
                Request::ServerReceives(n) => {
                    protocol::receive_bytes(&mut stream, n).await?;
                    stream.write_all(&[ACK]).await?;
                    stream.flush().await?;
                }
            }
            if let (Some(before), Some(after)) = (before, thread_cpu()) {
                let _ = self.reports.send(after.saturating_sub(before));
            }
        }
    }
}

impl<S> Service<S> for Session
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Response = ();
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: S) -> Self::Future {
        Box::pin(self.clone().serve(stream))
    }
}
