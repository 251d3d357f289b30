//! What one full handshake costs the server, path by path: run under callgrind (or strace) by
//! `scripts/handshake_cost.sh`, which differences two run lengths to get per-connection figures.
//!
//! Modes (the server's side only: the client is a child process, and the script counts only
//! what runs inside the runtime's `block_on`, leaving out start-up such as aws-lc's entropy
//! source, whose cost varies from run to run):
//! - `inmem`: the rustls server handshake alone, in memory (client and server in one thread,
//!   the server's steps in [`server_new`] and [`server_step`], which the script counts alone
//!   with `--toggle-collect`);
//! - `raw`: tokio-rustls `TlsAcceptor::accept` on a TCP listener, a task per connection;
//! - `layer`: [`tls_policy::TlsLayer`] around a tower service, a task per connection;
//! - `serve`: [`tls_policy::listener::Listener::serve`] (admission, first-record wait, pending
//!   bounds, spans, metrics).
//!
//! Every mode serves the same ECDSA P-256 certificate through the same rustls provider, TLS 1.3
//! (or 1.2 with `--tls12`); the raw config has tickets on as ours has. The service sends
//! close_notify and drops the connection. Unless `--bare`, a Prometheus recorder and an
//! info-level fmt tracing subscriber (writing to a sink) are installed, as `serve` runs.
//!
//! ```text
//! handshake_cost MODE N [--tls12] [--bare] [--ring]
//! handshake_cost client ADDR N [--tls12]      (spawned by the server modes)
//! ```

use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::pin::Pin;
use std::process::{Child, Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use tls_policy::listener::{Connection, Listener, ListenerConfig, TlsMode};
use tls_policy::{Backend, ServerOptions, TlsLayer, TlsVersion};
use tls_policy_bench::Certificates;
use tls_policy_rustls::rustls as srv;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tower::{Layer, Service, ServiceExt};

type Fail = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let result = match positional.as_slice() {
        [mode, addr, n] if mode.as_str() == "client" => {
            client(addr, n.parse().unwrap_or(0), flag("--tls12"))
        }
        [mode, n] => server(
            mode,
            n.parse().unwrap_or(0),
            flag("--tls12"),
            flag("--bare"),
            flag("--ring"),
        ),
        _ => {
            Err("usage: handshake_cost inmem|raw|layer|serve N [--tls12] [--bare] [--ring]".into())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("handshake_cost: {error}");
            ExitCode::FAILURE
        }
    }
}

fn server(mode: &str, n: usize, tls12: bool, bare: bool, ring: bool) -> Result<(), Fail> {
    let identity = Certificates::generate_ecdsa()?;
    let versions = if tls12 {
        vec![TlsVersion::Tls12]
    } else {
        vec![TlsVersion::Tls13]
    };
    let backend = if ring {
        Backend::RustlsRing
    } else {
        Backend::RustlsAwsLcRs
    };
    let provider = if ring {
        srv::crypto::ring::default_provider()
    } else {
        srv::crypto::aws_lc_rs::default_provider()
    };
    let raw_versions: Vec<&'static srv::SupportedProtocolVersion> = if tls12 {
        vec![&srv::version::TLS12]
    } else {
        vec![&srv::version::TLS13]
    };
    let mut raw = srv::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&raw_versions)?
        .with_no_client_auth()
        .with_single_cert(
            identity.chain.clone(),
            srv::pki_types::PrivateKeyDer::Pkcs8(identity.key.clone_key()),
        )?;
    raw.ticketer = if ring {
        srv::crypto::ring::Ticketer::new()?
    } else {
        srv::crypto::aws_lc_rs::Ticketer::new()?
    };
    let raw = Arc::new(raw);
    if mode == "inmem" {
        return in_memory(raw, n, tls12);
    }
    let acceptor = backend.server(&identity.policy(&versions), &ServerOptions::default())?;
    if !bare {
        metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
        tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .with_max_level(tracing::Level::INFO)
            .with_target(false)
            .with_ansi(false)
            .try_init()
            .map_err(|e| e.to_string())?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let tcp = TcpListener::bind("127.0.0.1:0").await?;
        let addr = tcp.local_addr()?;
        let done = Arc::new(Finished::new(n));
        let mut child = spawn_client(addr, n, tls12)?;
        match mode {
            "raw" => {
                let acceptor = tls_policy_rustls::tokio_rustls::TlsAcceptor::from(raw);
                accept_loop(tcp, &done, move |io| {
                    let acceptor = acceptor.clone();
                    Box::pin(async move {
                        if let Ok(mut tls) = acceptor.accept(io).await {
                            let _ = tls.shutdown().await;
                        }
                    })
                })
                .await;
            }
            "layer" => {
                let mut svc =
                    TlsLayer::new(acceptor)
                        .with_channel("cost")
                        .layer(tower::service_fn(
                            |mut tls: tls_policy::TlsStream<TcpStream>| async move {
                                tls.shutdown().await
                            },
                        ));
                accept_loop(tcp, &done, move |io| {
                    let call = svc.call(io);
                    Box::pin(async move {
                        let _ = call.await;
                    })
                })
                .await;
            }
            "serve" => {
                let config = ListenerConfig::new("cost", TlsMode::Required(acceptor));
                let listener = Listener::from_tcp(tcp, config)?;
                let finished = Arc::clone(&done);
                let service = tower::service_fn(move |mut conn: Connection<TcpStream>| {
                    let finished = Arc::clone(&finished);
                    async move {
                        let result = conn.shutdown().await;
                        finished.one();
                        result
                    }
                });
                let stop = Arc::clone(&done);
                listener
                    .serve(service.boxed_clone(), async move { stop.wait().await })
                    .await;
            }
            other => return Err(format!("unknown mode {other}").into()),
        }
        wait_client(&mut child)
    })
}

/// Counts finished connections and wakes the waiter at `n`.
struct Finished {
    n: usize,
    count: AtomicUsize,
    all: Notify,
}

impl Finished {
    fn new(n: usize) -> Self {
        Finished {
            n,
            count: AtomicUsize::new(0),
            all: Notify::new(),
        }
    }

    fn one(&self) {
        if self.count.fetch_add(1, Ordering::SeqCst) + 1 >= self.n {
            self.all.notify_one();
        }
    }

    async fn wait(&self) {
        if self.count.load(Ordering::SeqCst) < self.n {
            self.all.notified().await;
        }
    }
}

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Accepts until `n` connections have finished, each in its own task.
async fn accept_loop(
    tcp: TcpListener,
    done: &Arc<Finished>,
    mut handle: impl FnMut(TcpStream) -> Task,
) {
    loop {
        tokio::select! {
            () = done.wait() => break,
            accepted = tcp.accept() => {
                let Ok((io, _peer)) = accepted else { continue };
                let _ = io.set_nodelay(true);
                let task = handle(io);
                let done = Arc::clone(done);
                tokio::spawn(async move {
                    task.await;
                    done.one();
                });
            }
        }
    }
}

fn spawn_client(addr: SocketAddr, n: usize, tls12: bool) -> std::io::Result<Child> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("client")
        .arg(addr.to_string())
        .arg(n.to_string());
    if tls12 {
        command.arg("--tls12");
    }
    command.spawn()
}

fn wait_client(child: &mut Child) -> Result<(), Fail> {
    let status = child.wait()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the client failed: {status}").into())
    }
}

/// A server connection, out of line for callgrind (`--toggle-collect=*server_new*`).
#[inline(never)]
fn server_new(config: &Arc<srv::ServerConfig>) -> Result<srv::ServerConnection, srv::Error> {
    srv::ServerConnection::new(Arc::clone(config))
}

/// The server's half of an in-memory handshake: kept out of line so that callgrind can count it
/// alone (`--toggle-collect=*server_step*`).
#[inline(never)]
fn server_step(
    server: &mut srv::ServerConnection,
    from_client: &mut Vec<u8>,
    to_client: &mut Vec<u8>,
) -> Result<(), srv::Error> {
    let mut input = &from_client[..];
    while !input.is_empty() {
        server
            .read_tls(&mut input)
            .map_err(|e| srv::Error::General(e.to_string()))?;
        server.process_new_packets()?;
    }
    from_client.clear();
    while server.wants_write() {
        server
            .write_tls(to_client)
            .map_err(|e| srv::Error::General(e.to_string()))?;
    }
    Ok(())
}

/// The client's half of an in-memory handshake.
fn client_step(
    client: &mut ClientConnection,
    from_server: &mut Vec<u8>,
    to_server: &mut Vec<u8>,
) -> Result<(), rustls::Error> {
    let mut input = &from_server[..];
    while !input.is_empty() {
        client
            .read_tls(&mut input)
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        client.process_new_packets()?;
    }
    from_server.clear();
    while client.wants_write() {
        client
            .write_tls(to_server)
            .map_err(|e| rustls::Error::General(e.to_string()))?;
    }
    Ok(())
}

fn in_memory(config: Arc<srv::ServerConfig>, n: usize, tls12: bool) -> Result<(), Fail> {
    let client_config = client_config(tls12);
    let name = ServerName::try_from("localhost")?;
    // Buffers reused across handshakes: their growth is the harness's, not the server's.
    let (mut c2s, mut s2c) = (Vec::with_capacity(1 << 16), Vec::with_capacity(1 << 16));
    for _ in 0..n {
        let mut server = server_new(&config)?;
        let mut client = ClientConnection::new(Arc::clone(&client_config), name.clone())?;
        let mut rounds = 0;
        while server.is_handshaking() || client.is_handshaking() || !s2c.is_empty() {
            client_step(&mut client, &mut s2c, &mut c2s)?;
            server_step(&mut server, &mut c2s, &mut s2c)?;
            rounds += 1;
            if rounds > 10 {
                return Err("the in-memory handshake did not finish".into());
            }
        }
    }
    Ok(())
}

fn client(addr: &str, n: usize, tls12: bool) -> Result<(), Fail> {
    let config = client_config(tls12);
    let name = ServerName::try_from("localhost")?;
    for i in 0..n {
        let mut tcp = StdTcpStream::connect(addr)?;
        tcp.set_nodelay(true)?;
        let mut conn = ClientConnection::new(Arc::clone(&config), name.clone())?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp)
                .map_err(|e| format!("handshake {i}: {e}"))?;
        }
        conn.complete_io(&mut tcp)?;
        // Read until the server's close_notify (tickets come first under TLS 1.3).
        let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
        let mut sink = [0u8; 64];
        loop {
            match tls.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let _ = tcp.flush();
    }
    Ok(())
}

/// The bench's load generator on ring, full handshakes only (no resumption).
fn client_config(tls12: bool) -> Arc<ClientConfig> {
    let version = if tls12 {
        TlsVersion::Tls12
    } else {
        TlsVersion::Tls13
    };
    tls_policy_bench::load_generator_config(Backend::RustlsRing, version, false)
        .expect("the bench's rustls client on ring")
}
