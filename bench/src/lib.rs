//! `tls-policy-bench`: every compiled-in backend through our layer against the same library used directly.
//!
//! This is what `tls-policy bench` runs. It is a crate of its own so that the library a service
//! depends on (`tls-policy`) carries none of it.
//!
//! In one process, over loopback TCP, for each backend through [`tls_policy::TlsLayer`] /
//! [`tls_policy::Acceptor`] / [`tls_policy::TlsStream`] ("ours") and through tokio-rustls or
//! tokio-native-tls configured by hand ("raw"), interleaved and repeated (median of N rounds,
//! ours and raw alternating): full handshakes/s (TLS 1.3 and 1.2, ECDSA P-256 and RSA-2048),
//! resumed handshakes/s, bulk throughput per cipher suite both ways, handshake latency under
//! concurrency, memory per idle connection, and record encryption in memory. Plain TCP gives the
//! I/O ceiling. Servers run on a thread of their own so their CPU time can be read; figures are
//! reported per wall-clock second and per server CPU-second. The `serve` listener path is
//! measured beside [`tls_policy::TlsLayer`]; each rustls provider's AEAD alone and the library's own
//! in-memory handshake give the limits each figure is reported a share of; nginx, when found,
//! is the outside reference.
//!
//! ```no_run
//! use tls_policy_bench::{run, Options};
//!
//! let report = run(&Options::quick(), &())?;
//! println!("{}", report.table());
//! # Ok::<(), tls_policy_bench::BenchError>(())
//! ```

pub mod cli;
mod client;
mod cpu;
mod limits;
mod measure;
mod memory;
mod nginx;
mod pki;
mod protocol;
pub mod records;
mod report;
mod runner;
mod server;
mod svg;
mod sys;

pub use cpu::{crypto_paths, CryptoPath, Library, Machine};
pub use memory::{run_probe, ProbeResult, ProbeTarget};
pub use pki::{Certificates, Identity, KeyType};
pub use report::{
    BackendInfo, Ceiling, Comparison, PerCpu, Report, Row, Settings, Share, Stat, TargetCheck,
    TARGET_IDLE_KIB, TARGET_NETWORK_RATIO, TARGET_NGINX_HANDSHAKES, TARGET_RECORDS_RATIO,
};
pub use runner::{backend_info, run, Options, Progress};
pub use server::Role;
pub use svg::render as render_svg;

/// The benchmark's rustls load generator for a server of `backend`: rustls on that backend's
/// provider (aws-lc-rs for native-tls), offering only `version`, resuming sessions if `resume`,
/// and **verifying nothing** (it measures servers, not verification). Never for real peers.
#[cfg(any(feature = "rustls-aws-lc-rs", feature = "rustls-ring"))]
pub fn load_generator_config(
    backend: tls_policy::Backend,
    version: tls_policy::TlsVersion,
    resume: bool,
) -> Result<std::sync::Arc<tls_policy_rustls::rustls::ClientConfig>, BenchError> {
    let spec = client::ClientSpec {
        version,
        suite: None,
        resume,
    };
    client::rustls_client::client_config(backend, spec, false)
}

/// Why a benchmark (or one of its figures) could not be measured.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BenchError(String);

impl BenchError {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> BenchError {
        BenchError(message.into())
    }
}

impl From<std::io::Error> for BenchError {
    fn from(error: std::io::Error) -> Self {
        BenchError(error.to_string())
    }
}

impl From<tls_policy::Error> for BenchError {
    fn from(error: tls_policy::Error) -> Self {
        BenchError(error.to_string())
    }
}
