//! Bad input over thousands of connections — garbage, truncated ClientHellos, oversized records,
//! plaintext HTTP on a REQUIRED port, closes mid-handshake — leaves the server serving, free of
//! panics, and with its open file descriptors back at the baseline; per compiled-in backend,
//! behind `TlsLayer` and behind `listener::Listener`.

use support::for_each_backend;
use tls_policy_test_support as support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Mutex};
use tokio::task::{JoinHandle, JoinSet};
use tower::{service_fn, Layer, ServiceExt};

use support::client::Client;
use support::{Home, STEP};
use tls_policy::listener::{Connection, Listener, ListenerConfig, TlsMode};
use tls_policy::{Acceptor, Backend, TlsLayer, TlsStream};

/// Abuse rounds per server; a good client must get through after each.
const BATCHES: usize = 10;
/// Connections per abuse kind per batch: 5 kinds × 20 × 10 batches = 1000 per server.
const PER_KIND: usize = 20;
/// Short, so that a connection the server misjudges is cut well within the test's bounds.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest TLS record a peer may send: 2^14 bytes of plaintext plus 2048 of expansion.
const MAX_RECORD: usize = 16384 + 2048;

/// The fd and panic counts are process-wide: one test at a time in this binary.
static SERIAL: Mutex<()> = Mutex::const_new(());
/// Panics anywhere in the process (server tasks included, which tokio would swallow).
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            default(info);
        }));
    });
}

/// The kinds of bad input, each sent on its own connection.
#[derive(Clone, Copy, Debug)]
enum Abuse {
    /// Random bytes of random length; sometimes the connection is dropped right after.
    Garbage,
    /// A real ClientHello cut short, then end of stream.
    TruncatedHello,
    /// A record header claiming more than a TLS record may hold, and that many bytes.
    OversizedRecord,
    /// An HTTP/1.1 request where a handshake is required.
    PlaintextHttp,
    /// A full ClientHello, part of the server's flight read, then the connection dropped.
    CloseMidHandshake,
}

const ABUSES: [Abuse; 5] = [
    Abuse::Garbage,
    Abuse::TruncatedHello,
    Abuse::OversizedRecord,
    Abuse::PlaintextHttp,
    Abuse::CloseMidHandshake,
];

/// A small deterministic generator (xorshift64*): reproducible garbage without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// The first flight of a real rustls client: a ClientHello record for `localhost`.
fn client_hello() -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("default versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("server name");
    let mut connection =
        rustls::ClientConnection::new(Arc::new(config), name).expect("client connection");
    let mut hello = Vec::new();
    while connection.wants_write() {
        connection.write_tls(&mut hello).expect("write to a Vec");
    }
    assert_eq!(hello[0], 0x16, "a handshake record");
    hello
}

/// Reads until the server closes (or resets) the connection; true if it sent plaintext HTTP.
async fn read_to_close(tcp: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    let mut first = Vec::new();
    loop {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if first.len() < 5 {
                    first.extend_from_slice(&buf[..n.min(5)]);
                }
            }
        }
    }
    first.starts_with(b"HTTP/")
}

/// Sends one kind of bad input; errors are what the test must not see (no connect, a plaintext
/// answer, a server that never closes).
async fn abuse(
    addr: SocketAddr,
    kind: Abuse,
    seed: u64,
    hello: Arc<Vec<u8>>,
) -> Result<(), String> {
    let run = async {
        let mut rng = Rng(seed | 1);
        let mut tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        // Write errors are fine: the server may reset the connection before reading it all.
        match kind {
            Abuse::Garbage => {
                let len = 1 + rng.below(4096);
                let _ = tcp.write_all(&rng.bytes(len)).await;
                if rng.below(2) == 0 {
                    return Ok(()); // an abrupt close, unread data and all
                }
            }
            Abuse::TruncatedHello => {
                let cuts = [1, 3, 5, 6, 9, hello.len() / 2, hello.len() - 1];
                let cut = cuts[rng.below(cuts.len())];
                let _ = tcp.write_all(&hello[..cut]).await;
            }
            Abuse::OversizedRecord => {
                let len = MAX_RECORD + 1 + rng.below(usize::from(u16::MAX) - MAX_RECORD);
                let kind = [0x16, 0x17][rng.below(2)];
                let mut record = vec![kind, 0x03, 0x03, (len >> 8) as u8, len as u8];
                record.extend(rng.bytes(len));
                let _ = tcp.write_all(&record).await;
            }
            Abuse::PlaintextHttp => {
                let _ = tcp
                    .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    .await;
            }
            Abuse::CloseMidHandshake => {
                let _ = tcp.write_all(&hello).await;
                let mut part = vec![0u8; 1 + rng.below(200)];
                let _ = tcp.read(&mut part).await;
                return Ok(()); // dropped with the server's flight half read
            }
        }
        let _ = tcp.shutdown().await;
        if read_to_close(&mut tcp).await {
            return Err("the server answered in plaintext HTTP".into());
        }
        Ok(())
    };
    tokio::time::timeout(STEP, run)
        .await
        .map_err(|_| format!("{kind:?}: the server did not close the connection in time"))?
}

/// Open file descriptors of this process (Linux only).
#[cfg(target_os = "linux")]
fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}

#[cfg(not(target_os = "linux"))]
fn open_fds() -> Option<usize> {
    None
}

/// Polls until the open fds are back at `baseline`, for up to five seconds.
async fn assert_fds_return_to(baseline: Option<usize>) {
    let Some(baseline) = baseline else { return };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = open_fds().expect("/proc/self/fd");
        if now <= baseline {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "open file descriptors: {now}, baseline {baseline}: the server leaks descriptors"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a server saw when it was stopped.
#[derive(Debug)]
struct Tally {
    accepted: u64,
    /// Connection tasks that panicked (TlsLayer server only; the listener logs its own).
    panicked: usize,
    /// Connections still open at the stop.
    left_open: usize,
}

/// A server under test: its address and how to stop it.
struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Tally>,
}

impl Running {
    async fn stop(self) -> Tally {
        let _ = self.stop.send(());
        tokio::time::timeout(STEP, self.task)
            .await
            .expect("the server stops in time")
            .expect("the server's accept loop does not panic")
    }
}

/// Echoes what the client sends until it closes.
async fn echo<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match tokio::time::timeout(STEP, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => n,
            Ok(Err(error)) => return Err(error),
        };
        stream.write_all(&buf[..n]).await?;
        stream.flush().await?;
    }
    let _ = stream.shutdown().await;
    Ok(())
}

/// Counts a connection task that panicked.
fn count(joined: Result<(), tokio::task::JoinError>, tally: &mut Tally) {
    if joined.is_err_and(|e| e.is_panic()) {
        tally.panicked += 1;
    }
}

/// `TlsLayer` over an echo service; each connection a task in a `JoinSet`, so a panic shows.
async fn start_layer(acceptor: Acceptor) -> Running {
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("local addr");
    let layer = TlsLayer::new(acceptor).handshake_timeout(HANDSHAKE_TIMEOUT);
    let (stop, mut stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut tasks = JoinSet::new();
        let mut tally = Tally {
            accepted: 0,
            panicked: 0,
            left_open: 0,
        };
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => count(joined, &mut tally),
                accepted = tcp.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    tally.accepted += 1;
                    let service = layer.layer(service_fn(echo::<TlsStream<TcpStream>>));
                    tasks.spawn(async move {
                        let _ = service.oneshot(stream).await;
                    });
                }
            }
        }
        drop(tcp);
        let deadline = tokio::time::sleep(STEP);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                joined = tasks.join_next() => match joined {
                    Some(joined) => count(joined, &mut tally),
                    None => break,
                },
                () = &mut deadline => break,
            }
        }
        tally.left_open = tasks.len();
        tally
    });
    Running { addr, stop, task }
}

/// `Listener` with `tls_level` REQUIRED over an echo service.
async fn start_listener(acceptor: Acceptor) -> Running {
    let config = ListenerConfig::new("bolt", TlsMode::Required(acceptor))
        .with_handshake_timeout(HANDSHAKE_TIMEOUT)
        .with_drain_timeout(Duration::from_secs(2));
    let listener = Listener::bind("127.0.0.1:0", config).await.expect("bind");
    let addr = listener.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let service = service_fn(echo::<Connection<TcpStream>>);
    let task = tokio::spawn(async move {
        let summary = listener
            .serve(service, async move {
                let _ = stopped.await;
            })
            .await;
        Tally {
            accepted: summary.accepted,
            panicked: 0,
            left_open: summary.cut_at_drain,
        }
    });
    Running { addr, stop, task }
}

/// Which server the abuse is aimed at.
#[derive(Clone, Copy, Debug)]
enum Target {
    Layer,
    Listener,
}

/// Runs every batch of abuse against one server of `backend`, with every check.
async fn hammer(backend: Backend, target: Target) {
    let _serial = SERIAL.lock().await;
    count_panics();
    let home = Home::new(backend, &["client_auth=NONE"]);
    let acceptor = home.acceptor(backend).expect("policy loads");
    let hello = Arc::new(client_hello());
    let server = match target {
        Target::Layer => start_layer(acceptor).await,
        Target::Listener => start_listener(acceptor).await,
    };
    let good = Client::anonymous();
    // Warm up (lazily opened descriptors of the TLS library, the runtime), then measure.
    good.exchange(server.addr)
        .await
        .expect("a good client before the abuse");
    let baseline = open_fds();
    let panics_before = PANICS.load(Ordering::SeqCst);

    let mut rng = Rng(0x5eed_0000 ^ backend.name().len() as u64 ^ ((target as u64) << 8));
    let mut sent = 0u64;
    for batch in 0..BATCHES {
        let mut clients = JoinSet::new();
        for kind in ABUSES {
            for _ in 0..PER_KIND {
                clients.spawn(abuse(server.addr, kind, rng.next(), Arc::clone(&hello)));
                sent += 1;
            }
        }
        while let Some(joined) = clients.join_next().await {
            let result = joined.expect("a client task");
            if let Err(error) = result {
                panic!("{backend} {target:?} batch {batch}: {error}");
            }
        }
        good.exchange(server.addr).await.unwrap_or_else(|e| {
            panic!("{backend} {target:?}: a good client failed after batch {batch}: {e}")
        });
    }

    assert_fds_return_to(baseline).await;
    let tally = server.stop().await;
    assert_eq!(
        PANICS.load(Ordering::SeqCst),
        panics_before,
        "{backend} {target:?}: something panicked (see stderr)"
    );
    assert_eq!(tally.panicked, 0, "{backend} {target:?}: {tally:?}");
    assert_eq!(tally.left_open, 0, "{backend} {target:?}: {tally:?}");
    // Every abusive connection and every good client (one per batch, and the warm-up).
    assert_eq!(
        tally.accepted,
        sent + BATCHES as u64 + 1,
        "{backend} {target:?}: {tally:?}"
    );
}

for_each_backend! {
    async fn tls_layer_survives_bad_input(backend: Backend) {
        hammer(backend, Target::Layer).await;
    }

    async fn listener_survives_bad_input(backend: Backend) {
        hammer(backend, Target::Listener).await;
    }
}
