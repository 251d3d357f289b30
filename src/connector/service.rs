//! [`TlsConnector`]: a tower `Service<Target>` that dials TCP and runs the client handshake.

use std::task::{Context, Poll};
use std::time::Duration;

use tls_policy_backend::PeerRefused;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tower_service::Service;

use super::{ConnectError, ConnectFuture, Target};
use crate::config::DEFAULT_HANDSHAKE_TIMEOUT;
use crate::{ClientConnector, ClientTlsStream};

/// How long a TCP connection may take to establish, unless
/// [`TlsConnector::connect_timeout`] says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Dials a [`Target`] over TCP and runs the client side of a TLS handshake with a policy's
/// [`ClientConnector`]; a tower `Service<Target>` whose response is a
/// [`ClientTlsStream<TcpStream>`].
///
/// Both steps are bounded: the TCP connect by [`DEFAULT_CONNECT_TIMEOUT`], the handshake by
/// [`DEFAULT_HANDSHAKE_TIMEOUT`] (or the channel's `handshake_timeout` with
/// [`TlsConnector::for_channel`]). `TCP_NODELAY` is set on the socket. Cheap to clone.
#[derive(Clone, Debug)]
pub struct TlsConnector {
    connector: ClientConnector,
    connect_timeout: Duration,
    handshake_timeout: Duration,
}

impl TlsConnector {
    /// Dials with `connector`, with the default timeouts.
    pub fn new(connector: ClientConnector) -> TlsConnector {
        TlsConnector {
            connector,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Gives up on a TCP connection not established within `timeout`.
    pub fn connect_timeout(mut self, timeout: Duration) -> TlsConnector {
        self.connect_timeout = timeout;
        self
    }

    /// Gives up on a TLS handshake not finished within `timeout`.
    pub fn handshake_timeout(mut self, timeout: Duration) -> TlsConnector {
        self.handshake_timeout = timeout;
        self
    }

    /// The compiled client side of the policy.
    pub fn client_connector(&self) -> &ClientConnector {
        &self.connector
    }

    /// Dials `target` and runs the handshake: the same as calling the service.
    pub async fn connect(
        &self,
        target: impl Into<Target>,
    ) -> Result<ClientTlsStream<TcpStream>, ConnectError> {
        dial(self.clone(), target.into()).await
    }
}

impl Service<Target> for TlsConnector {
    type Response = ClientTlsStream<TcpStream>;
    type Error = ConnectError;
    type Future = ConnectFuture;

    /// Always ready: every call dials its own connection.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, target: Target) -> ConnectFuture {
        ConnectFuture::new(dial(self.clone(), target))
    }
}

async fn dial(
    this: TlsConnector,
    target: Target,
) -> Result<ClientTlsStream<TcpStream>, ConnectError> {
    let target_name = target.to_string();
    let tcp = match timeout(
        this.connect_timeout,
        TcpStream::connect((target.host(), target.port())),
    )
    .await
    {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(source)) => {
            return Err(ConnectError::Connect {
                target: target_name,
                source,
            })
        }
        Err(_elapsed) => {
            return Err(ConnectError::ConnectTimeout {
                target: target_name,
                timeout: this.connect_timeout,
            })
        }
    };
    let peer = tcp.peer_addr().map_err(|source| ConnectError::Connect {
        target: target_name.clone(),
        source,
    })?;
    // Handshake and protocol messages are small; do not hold them back (Nagle).
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%peer, "cannot set TCP_NODELAY: {error}");
    }
    let server_name = target.server_name();
    match timeout(
        this.handshake_timeout,
        this.connector.connect(server_name, tcp),
    )
    .await
    {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(source)) => Err(
            match source
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<PeerRefused>())
            {
                Some(refused) => ConnectError::NotAllowed {
                    target: target_name,
                    peer,
                    server_name: server_name.to_owned(),
                    refused: refused.clone(),
                },
                None => ConnectError::Handshake {
                    target: target_name,
                    peer,
                    server_name: server_name.to_owned(),
                    source,
                },
            },
        ),
        Err(_elapsed) => Err(ConnectError::HandshakeTimeout {
            target: target_name,
            peer,
            timeout: this.handshake_timeout,
        }),
    }
}
