//! tls-policy: TLS for any tokio/tower service, chosen per channel by named SSL policies.

pub mod backend;
pub mod channels;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod connector;
pub mod dev_pki;
pub mod error;
pub mod layer;
pub mod listener;
pub mod load;
pub mod stream;

pub use backend::{Acceptor, Backend, BACKEND_NAMES};
pub use channels::{ChannelTls, TlsChannels};
pub use error::{Error, Result, Source};
pub use layer::{Tls, TlsLayer, TlsServiceError};
pub use stream::TlsStream;
pub use tls_policy_backend::{
    BackendError, Capabilities, CipherSuite, ClientAuth, ServerOptions, ServerPolicy, TlsInfo,
    TlsVersion,
};
