//! tls-policy: TLS for any tokio/tower service, chosen per channel by named SSL policies.

pub mod config;
pub mod error;
pub mod load;

pub use error::{Error, Result, Source};
pub use tls_policy_backend::{
    BackendError, Capabilities, CipherSuite, ClientAuth, ServerOptions, ServerPolicy, TlsInfo,
    TlsVersion,
};
