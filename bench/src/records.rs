//! Record encryption in memory: a server stream (ours or raw) and a client over `tokio::io::duplex`, no sockets.
//!
//! ```no_run
//! # async fn run() -> Result<(), tls_policy_bench::BenchError> {
//! use tls_policy_bench::records::{Direction, InMemory};
//! use tls_policy_bench::{Certificates, Role};
//! use tls_policy::Backend;
//!
//! let certs = Certificates::generate()?;
//! let backend = Backend::default_backend()?;
//! let mut pair = InMemory::connect(backend, Role::Ours, &certs.ecdsa).await?;
//! pair.transfer(Direction::ServerWrites, 16 << 20).await?;
//! # Ok(())
//! # }
//! ```

use std::io;

use tokio::io::DuplexStream;

use super::client::{ClientSpec, Connector};
use super::pki::{Identity, SERVER_NAME};
use super::protocol::{receive_bytes, send_in_chunks};
use super::server::{Engine, Role};
use super::BenchError;
use tls_policy::{Backend, TlsStream, TlsVersion};

/// The in-memory pipe's capacity each way.
pub const DUPLEX_CAPACITY: usize = 256 * 1024;

/// Which way the application data flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The server encrypts, the client decrypts.
    ServerWrites,
    /// The client encrypts, the server decrypts.
    ServerReads,
}

impl Direction {
    /// Both directions.
    pub const BOTH: [Direction; 2] = [Direction::ServerWrites, Direction::ServerReads];

    /// `server_writes` or `server_reads`.
    pub fn id(self) -> &'static str {
        match self {
            Direction::ServerWrites => "server_writes",
            Direction::ServerReads => "server_reads",
        }
    }
}

/// The cipher suite every in-memory pair uses: AES-128-GCM (TLS 1.3 on rustls, TLS 1.2 ECDHE-ECDSA
/// on native-tls), so that ours and raw encrypt the same way.
pub fn suite(backend: Backend) -> (TlsVersion, u16, &'static str) {
    if backend.capabilities().tls13 {
        (TlsVersion::Tls13, 0x1301, "TLS13_AES_128_GCM_SHA256")
    } else {
        (
            TlsVersion::Tls12,
            0xc02b,
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        )
    }
}

/// A server stream and a client stream joined by an in-memory pipe, handshake done.
pub struct InMemory {
    server: ServerSide,
    client: ClientSide,
}

// Both sides live as long as one benchmark; their sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum ServerSide {
    Ours(TlsStream<DuplexStream>),
    #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
    RawRustls(tls_policy_rustls::tokio_rustls::server::TlsStream<DuplexStream>),
    #[cfg(feature = "native-tls")]
    RawNative(tls_policy_native_tls::tokio_native_tls::TlsStream<DuplexStream>),
    #[cfg(feature = "openssl")]
    RawOpenssl(tls_policy_openssl::tokio_openssl::SslStream<DuplexStream>),
}

#[allow(clippy::large_enum_variant)]
enum ClientSide {
    #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
    Rustls(tls_policy_rustls::tokio_rustls::client::TlsStream<DuplexStream>),
    #[cfg(feature = "native-tls")]
    Native(tls_policy_native_tls::tokio_native_tls::TlsStream<DuplexStream>),
}

impl InMemory {
    /// Runs the handshake of `role`'s server for `backend` (serving `identity`) against the
    /// benchmark client, over a fresh in-memory pipe.
    pub async fn connect(
        backend: Backend,
        role: Role,
        identity: &Identity,
    ) -> Result<InMemory, BenchError> {
        let engine = Engine::build(backend, role, identity)?;
        let (version, code, _) = suite(backend);
        let connector = Connector::new(
            Some(backend),
            ClientSpec {
                version,
                suite: Some(code),
                resume: false,
            },
        )?;
        let (server_io, client_io) = tokio::io::duplex(DUPLEX_CAPACITY);
        let failed = |side: &str, err: io::Error| {
            BenchError::new(format!(
                "{backend} ({}) in-memory handshake, {side} side: {err}",
                role.name()
            ))
        };
        let (server, client) =
            tokio::join!(accept(engine, server_io), connect(connector, client_io));
        Ok(InMemory {
            server: server.map_err(|err| failed("server", err))?,
            client: client.map_err(|err| failed("client", err))?,
        })
    }

    /// Moves `bytes` of application data through the pair in `direction`, in writes of
    /// `CHUNK` bytes.
    pub async fn transfer(&mut self, direction: Direction, bytes: u64) -> io::Result<()> {
        self.transfer_in_chunks(direction, bytes, super::protocol::CHUNK)
            .await
    }

    /// Moves `bytes` of application data through the pair in `direction`, in writes of `chunk`
    /// bytes.
    pub async fn transfer_in_chunks(
        &mut self,
        direction: Direction,
        bytes: u64,
        chunk: usize,
    ) -> io::Result<()> {
        let how = Transfer {
            direction,
            bytes,
            chunk,
        };
        match &mut self.server {
            ServerSide::Ours(server) => with_client(server, &mut self.client, how).await,
            #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
            ServerSide::RawRustls(server) => with_client(server, &mut self.client, how).await,
            #[cfg(feature = "native-tls")]
            ServerSide::RawNative(server) => with_client(server, &mut self.client, how).await,
            #[cfg(feature = "openssl")]
            ServerSide::RawOpenssl(server) => with_client(server, &mut self.client, how).await,
        }
    }
}

impl std::fmt::Debug for InMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemory").finish_non_exhaustive()
    }
}

async fn accept(engine: Engine, io: DuplexStream) -> io::Result<ServerSide> {
    match engine {
        Engine::Ours(acceptor) | Engine::Listener(acceptor) => {
            Ok(ServerSide::Ours(acceptor.accept(io).await?))
        }
        #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
        Engine::RawRustls(acceptor) => Ok(ServerSide::RawRustls(acceptor.accept(io).await?)),
        #[cfg(feature = "native-tls")]
        Engine::RawNative(acceptor) => Ok(ServerSide::RawNative(
            acceptor.accept(io).await.map_err(io::Error::other)?,
        )),
        #[cfg(feature = "openssl")]
        Engine::RawOpenssl(acceptor) => Ok(ServerSide::RawOpenssl(
            super::server::accept_openssl(&acceptor, io).await?,
        )),
        Engine::Tcp => Err(io::Error::other("plain TCP has no in-memory record layer")),
    }
}

async fn connect(connector: Connector, io: DuplexStream) -> io::Result<ClientSide> {
    match connector {
        #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
        Connector::Rustls(tls, name) | Connector::RustlsHttp(tls, name) => {
            Ok(ClientSide::Rustls(tls.connect(name, io).await?))
        }
        #[cfg(feature = "native-tls")]
        Connector::Native(tls) => Ok(ClientSide::Native(
            tls.connect(SERVER_NAME, io)
                .await
                .map_err(io::Error::other)?,
        )),
        Connector::Tcp => {
            let _ = SERVER_NAME;
            Err(io::Error::other("plain TCP has no in-memory record layer"))
        }
    }
}

#[derive(Clone, Copy)]
struct Transfer {
    direction: Direction,
    bytes: u64,
    chunk: usize,
}

async fn with_client<S>(server: &mut S, client: &mut ClientSide, how: Transfer) -> io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match client {
        #[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
        ClientSide::Rustls(client) => pump(server, client, how).await,
        #[cfg(feature = "native-tls")]
        ClientSide::Native(client) => pump(server, client, how).await,
    }
}

async fn pump<S, C>(server: &mut S, client: &mut C, how: Transfer) -> io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Transfer {
        direction,
        bytes,
        chunk,
    } = how;
    let (sent, received) = match direction {
        Direction::ServerWrites => tokio::join!(
            send_in_chunks(server, bytes, chunk),
            receive_bytes(client, bytes)
        ),
        Direction::ServerReads => tokio::join!(
            send_in_chunks(client, bytes, chunk),
            receive_bytes(server, bytes)
        ),
    };
    sent.and(received)
}
