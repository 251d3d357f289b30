//! Whether each watched directory is known to deliver change events: the watcher's self-check
//! verdicts, shared with [`crate::Watcher`] and exported as the
//! `tls_policy_reload_watch_healthy` gauge.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::observe::RELOAD_WATCH_HEALTHY;

/// What is known about one watched directory's events.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WatchHealth {
    /// The self-check is under way (at most [`crate::reload::SELF_CHECK_TIMEOUT`]).
    Checking,
    /// A probe file created and removed in the directory was seen, through the same matching
    /// that turns a changed file into a reload.
    Verified,
    /// The directory cannot be written (a read-only mount, a Kubernetes Secret): no probe file
    /// could be made, but reading the directory was seen as an event from it, so its watch
    /// delivers events.
    VerifiedByRead,
    /// Nothing proves the watch works, nor that it does not: the directory cannot be written
    /// and the platform's watcher reports no reads. A change may still be picked up; SIGHUP or
    /// [`crate::TlsChannels::reload`] does it for sure.
    Unverified {
        /// Why it could not be verified.
        reason: String,
    },
    /// The watch does not work: a probe file was not seen in time, the directory could not be
    /// watched, or the watcher reported an error. Changes here are not picked up until it
    /// recovers; SIGHUP or [`crate::TlsChannels::reload`] still reloads.
    Dead {
        /// What failed.
        reason: String,
    },
}

impl WatchHealth {
    /// Whether events from the directory were seen (by probe file or by read).
    pub fn is_verified(&self) -> bool {
        matches!(self, WatchHealth::Verified | WatchHealth::VerifiedByRead)
    }
}

impl fmt::Display for WatchHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WatchHealth::Checking => f.write_str("checking"),
            WatchHealth::Verified => f.write_str("verified (probe file seen)"),
            WatchHealth::VerifiedByRead => {
                f.write_str("verified by reading it (read-only: no probe file possible)")
            }
            WatchHealth::Unverified { reason } => write!(f, "unverified: {reason}"),
            WatchHealth::Dead { reason } => write!(f, "dead: {reason}"),
        }
    }
}

/// One watched directory and what is known about its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryHealth {
    /// The directory, by its absolute, symlink-free path.
    pub directory: PathBuf,
    /// The policies whose files it holds (or links to).
    pub policies: Vec<String>,
    /// The verdict.
    pub health: WatchHealth,
}

impl fmt::Display for DirectoryHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (policies {}): {}",
            self.directory.display(),
            self.policies.join(", "),
            self.health
        )
    }
}

/// Every watched directory's health, shared by the reload thread (which writes it) and the
/// [`crate::Watcher`] and its [`WatchMonitor`]s (which read it).
#[derive(Clone, Debug, Default)]
pub(crate) struct HealthBoard {
    dirs: Arc<Mutex<BTreeMap<PathBuf, DirectoryHealth>>>,
}

impl HealthBoard {
    /// Records `health` for `dir` and sets its gauge (1 when verified, else 0).
    pub(crate) fn set(&self, dir: &Path, policies: Vec<String>, health: WatchHealth) {
        let value = if health.is_verified() { 1.0 } else { 0.0 };
        metrics::gauge!(RELOAD_WATCH_HEALTHY, "directory" => dir.display().to_string()).set(value);
        self.lock().insert(
            dir.to_path_buf(),
            DirectoryHealth {
                directory: dir.to_path_buf(),
                policies,
                health,
            },
        );
    }

    /// Forgets `dir` (no longer watched); its gauge goes to 0.
    pub(crate) fn remove(&self, dir: &Path) {
        metrics::gauge!(RELOAD_WATCH_HEALTHY, "directory" => dir.display().to_string()).set(0.0);
        self.lock().remove(dir);
    }

    /// The health of `dir`, if watched.
    pub(crate) fn get(&self, dir: &Path) -> Option<WatchHealth> {
        self.lock().get(dir).map(|d| d.health.clone())
    }

    /// Every directory's health, in path order.
    pub(crate) fn all(&self) -> Vec<DirectoryHealth> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, DirectoryHealth>> {
        self.dirs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A handle on a [`crate::Watcher`]'s health that can be kept elsewhere (a readiness probe);
/// it reads the live verdicts while the watcher lives, and the last ones after.
#[derive(Clone, Debug)]
pub struct WatchMonitor {
    pub(crate) board: HealthBoard,
}

impl WatchMonitor {
    /// Every watched directory's health, in path order.
    pub fn health(&self) -> Vec<DirectoryHealth> {
        self.board.all()
    }

    /// The directories whose events are not known to arrive (dead or unverified), each as one
    /// line naming the directory, its policies and why: empty when every watch is verified.
    pub fn problems(&self) -> Vec<String> {
        self.board
            .all()
            .into_iter()
            .filter(|dir| !dir.health.is_verified() && dir.health != WatchHealth::Checking)
            .map(|dir| format!("file watch {dir}"))
            .collect()
    }
}
