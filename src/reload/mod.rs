//! Hot reload: re-read each policy's files, validate them in full, and swap the new material in
//! atomically, so that the next handshake uses it and live connections are untouched.
//!
//! Three triggers reach the same code: the API (`TlsChannels::reload`,
//! `TlsChannels::reload_policy`), `SIGHUP` in `tls-policy serve`, and a file watcher
//! (`TlsChannels::watch`) that reloads a policy once its directories have been quiet for a
//! moment (every path resolved to where it really is, symlink swaps followed, and each
//! directory's events checked at start-up by a probe file). Each policy is reloaded all-or-nothing: when the new key, chain, trusted or revoked
//! files are broken, the policy keeps serving what it served and the error is returned and
//! logged with the policy, the setting and the path.
//!
//! ```no_run
//! use tls_policy::{config::Settings, TlsChannels};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = Settings::from_file("conf/neo4j.conf", None)?;
//! let channels = TlsChannels::load(&settings, None)?;
//! let layer = channels.layer("bolt")?; // picks up every reload on its next handshake
//! let _watcher = channels.watch()?; // reloads while it lives
//! // ... or on demand (file I/O: off the async threads):
//! let reloader = channels.clone();
//! let report = tokio::task::spawn_blocking(move || reloader.reload()).await??;
//! println!("{report}");
//! # let _ = layer;
//! # Ok(()) }
//! ```
//!
//! Only the policies' files are re-read, and of a changed config file only each policy's
//! `allowed_peers`, through `TlsChannels::reload_with` (`tls-policy serve` re-reads its config
//! file on SIGHUP for this); any other changed setting (another `tls_versions`, a new channel)
//! takes a restart. A narrowed `allowed_peers` refuses new handshakes (and resumptions of
//! sessions made before); connections already established stay open until they close.

mod apply;
mod health;
mod paths;
mod probe;
mod report;
mod resolve;
mod state;
mod watch;
mod watch_loop;

pub(crate) use state::ReloadState;

pub use health::{DirectoryHealth, WatchHealth, WatchMonitor};
pub use probe::SELF_CHECK_TIMEOUT;
pub use report::{
    AllowedPeersChange, PolicyReload, ReloadChange, ReloadError, ReloadFailure, ReloadReport,
};
pub use watch::{Watcher, DEFAULT_DEBOUNCE};
