//! Why a channel's listener could not be set up: no address, no policy for TLS, or a failed bind.

use std::io;

use crate::config::TlsLevel;

/// The error of setting up a [`super::Listener`]; it names the channel and the setting, as the
/// config file spells it (`server.bolt.listen_address` in a 5.x file, with its `file:line`
/// where it was written).
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
    /// The channel has no listen address (or its connector is disabled).
    #[error("channel '{channel}': {listen_address_key} is not set (or {enabled_key}=false), so there is nothing to listen on")]
    NoListenAddress {
        /// The channel.
        channel: String,
        /// Its `listen_address` key, as the config spells it.
        listen_address_key: String,
        /// Its `enabled` key, as the config spells it (with `file:line` when written).
        enabled_key: String,
    },
    /// `tls_level` REQUIRED or OPTIONAL, but no compiled policy was given for the channel.
    #[error("channel '{channel}': {tls_level_key}={level} needs an SSL policy; bind one with {bind_with}, or set tls_level=DISABLED for plaintext only")]
    NoPolicy {
        /// The channel.
        channel: String,
        /// Its TLS level.
        level: TlsLevel,
        /// Its `tls_level` key, as the config spells it.
        tls_level_key: String,
        /// The line that would bind a policy, in the config's own form.
        bind_with: String,
    },
    /// The axum `TlsListener` delivers TLS streams only, and the channel also takes plaintext.
    #[error("channel '{channel}': {tls_level_key}={level}, but the axum TlsListener serves TLS only; set tls_level=REQUIRED, or serve the channel with tls_policy::listener::Listener, which speaks OPTIONAL and DISABLED too")]
    TlsOnly {
        /// The channel.
        channel: String,
        /// Its TLS level.
        level: TlsLevel,
        /// Its `tls_level` key, as the config spells it.
        tls_level_key: String,
    },
    /// Binding the listen address failed (address in use, not local, permission denied...).
    #[error("channel '{channel}': cannot listen on {address} ({listen_address_key}): {source}")]
    Bind {
        /// The channel.
        channel: String,
        /// The address as configured.
        address: String,
        /// Where the address was set: the config key as written (with `file:line`), or
        /// `Listener::bind` for an address given in code.
        listen_address_key: String,
        /// The operating system's reason.
        source: io::Error,
    },
}

impl ListenError {
    /// This error with the keys of `settings` as its config file spells them (a 5.x file's
    /// `server.<channel>.*`, with `file:line`), and the binding line in the file's own form.
    pub(crate) fn naming_keys_of(
        mut self,
        settings: &crate::config::Settings,
        channel: &crate::config::ChannelSettings,
    ) -> ListenError {
        match &mut self {
            ListenError::UnknownChannel { .. } => {}
            ListenError::NoListenAddress {
                listen_address_key,
                enabled_key,
                ..
            } => {
                *listen_address_key = channel.key("listen_address");
                *enabled_key = channel.key_at("enabled");
            }
            ListenError::NoPolicy {
                tls_level_key,
                bind_with,
                ..
            } => {
                *tls_level_key = channel.key("tls_level");
                *bind_with = settings.binding_hint(&channel.name);
            }
            ListenError::TlsOnly { tls_level_key, .. } => {
                *tls_level_key = channel.key("tls_level");
            }
            ListenError::Bind {
                listen_address_key, ..
            } => *listen_address_key = channel.key_at("listen_address"),
        }
        self
    }

    /// [`ListenError::NoListenAddress`] for `channel`, keys spelled as the 3.5 form does
    /// (see [`ListenError::naming_keys_of`]).
    pub(crate) fn no_listen_address(channel: &str) -> ListenError {
        ListenError::NoListenAddress {
            channel: channel.to_owned(),
            listen_address_key: format!("dbms.connector.{channel}.listen_address"),
            enabled_key: format!("dbms.connector.{channel}.enabled"),
        }
    }
}

impl std::fmt::Debug for ListenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::error::debug_as_display(self, f)
    }
}
