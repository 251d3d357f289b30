//! The echo service of `tls-policy serve`: every byte a connection sends comes back.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use tls_policy::listener::Connection;

/// Echoes `connection` until the peer closes its side; then closes ours.
///
/// A peer that hangs up without a TLS close_notify (most do) ends the echo normally.
pub(crate) async fn echo(mut connection: Connection<TcpStream>) -> io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match connection.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(error) => return Err(error),
        };
        connection.write_all(&buf[..n]).await?;
    }
    // The peer may already be gone; a failed close tells nobody anything.
    let _ = connection.shutdown().await;
    Ok(())
}
