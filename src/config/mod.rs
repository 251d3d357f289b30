//! Reading a `neo4j.conf`-style properties file (or the builder API) into typed [`Settings`].
pub mod model;
pub use model::{ChannelSettings, PolicySettings, Settings, TlsLevel};
