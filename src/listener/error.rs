//! Why a channel's listener could not be set up: no address, no policy for TLS, or a failed bind.

use std::io;

use crate::config::TlsLevel;

/// The error of setting up a [`super::Listener`]; it names the channel and the setting.
///
/// Once a listener runs, nothing ends it but its shutdown signal: accept errors are logged and
/// retried, a failed handshake ends that connection only.
///
/// `Debug` prints the `Display` text (and causes it does not include), like [`crate::Error`].
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ListenError {
    /// The channel is not in the configuration at all.
    #[error("channel '{channel}' is not configured (no {channel}.ssl_policy and no dbms.connector.{channel}.* setting)")]
    UnknownChannel {
        /// The channel asked for.
        channel: String,
    },
    /// The channel has no `dbms.connector.<channel>.listen_address` (or its connector is disabled).
    #[error("channel '{channel}': dbms.connector.{channel}.listen_address is not set (or dbms.connector.{channel}.enabled=false), so there is nothing to listen on")]
    NoListenAddress {
        /// The channel.
        channel: String,
    },
    /// `tls_level` REQUIRED or OPTIONAL, but no compiled policy was given for the channel.
    #[error("channel '{channel}': dbms.connector.{channel}.tls_level={level} needs an SSL policy; bind one with {channel}.ssl_policy=<policy>, or set tls_level=DISABLED for plaintext only")]
    NoPolicy {
        /// The channel.
        channel: String,
        /// Its TLS level.
        level: TlsLevel,
    },
    /// The axum `TlsListener` delivers TLS streams only, and the channel also takes plaintext.
    #[error("channel '{channel}': dbms.connector.{channel}.tls_level={level}, but the axum TlsListener serves TLS only; set tls_level=REQUIRED, or serve the channel with tls_policy::listener::Listener, which speaks OPTIONAL and DISABLED too")]
    TlsOnly {
        /// The channel.
        channel: String,
        /// Its TLS level.
        level: TlsLevel,
    },
    /// Binding the listen address failed (address in use, not local, permission denied...).
    #[error("channel '{channel}': cannot listen on {address} (dbms.connector.{channel}.listen_address): {source}")]
    Bind {
        /// The channel.
        channel: String,
        /// The address as configured.
        address: String,
        /// The operating system's reason.
        source: io::Error,
    },
}

impl std::fmt::Debug for ListenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::error::debug_as_display(self, f)
    }
}
