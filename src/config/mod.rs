//! Reading a `neo4j.conf`-style properties file (or the builder API) into typed [`Settings`].
//!
//! ```
//! use std::path::Path;
//! use tls_policy::config::Settings;
//!
//! let settings = Settings::parse(
//!     "dbms.ssl.policy.client.base_directory=certificates/client\nbolt.ssl_policy=client\n",
//!     Path::new("neo4j.conf"),
//!     Path::new("/srv/neo4j"),
//! )?;
//! assert_eq!(settings.channel_policy("bolt").map(|p| p.name.as_str()), Some("client"));
//! # Ok::<(), tls_policy::Error>(())
//! ```

mod builder;
mod file;
mod keys;
mod model;
mod named;
mod policies;
mod properties;
mod proxy;
mod resolve;
mod scope;
mod suggest;
#[cfg(test)]
mod test_support;
mod values;

pub use builder::{PolicyBuilder, SettingsBuilder};
pub use keys::binding_key;
pub use keys::{LEGACY_POLICY, SCOPES};
pub use model::{
    AllowedPeersReload, ChannelSettings, ConfigForm, ConnectorKind, DefaultDifference, KeyForm,
    PolicySettings, Settings, StaplingSetting, TlsLevel, WrittenKey, DEFAULT_FIRST_RECORD_TIMEOUT,
    DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_HTTP_HEADER_READ_TIMEOUT, DEFAULT_HTTP_IDLE_TIMEOUT,
    DEFAULT_MAX_CONCURRENT_HANDSHAKES, DEFAULT_MAX_PENDING_HANDSHAKES,
    DEFAULT_MAX_PENDING_PER_ADDRESS,
};
pub use proxy::{Network, ProxyProtocol};
