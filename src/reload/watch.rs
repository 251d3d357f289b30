//! The file watcher: reloads a policy once the directories holding its files have been quiet
//! for a moment after a change, until the [`Watcher`] is dropped; checks at start-up that each
//! directory's events really arrive, and says so when one does not.

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use notify::{Event, RecommendedWatcher, RecursiveMode, Watcher as _};

use super::health::{DirectoryHealth, HealthBoard, WatchHealth, WatchMonitor};
use super::paths::{watched_dirs, WatchedDir};
use super::probe::SELF_CHECK_TIMEOUT;
use super::watch_loop::{Message, WatchLoop};
use crate::{Error, TlsChannels};

/// How long a policy's directories must stay quiet after a change before it is reloaded: a
/// tool that writes the chain, then the key, then a CRL causes one reload, not three.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(500);

/// Watches the directories of every bound policy and reloads a policy when its files change;
/// stops watching when dropped. Made by [`TlsChannels::watch`].
///
/// Each reload's outcome is logged: `reloaded policy X: serial A → B` at `info`, a refused
/// one at `error` with the policy, setting and path (the previous material stays in service).
/// Whether each directory's events are known to arrive is in [`Watcher::health`], in the
/// `tls_policy_reload_watch_healthy` gauge, and in an `error` line naming a dead directory.
pub struct Watcher {
    // Dropping it stops the OS watch and closes the channel, which ends the reload thread
    // (which holds it weakly, to follow symlink swaps).
    _watcher: Arc<Mutex<RecommendedWatcher>>,
    board: HealthBoard,
}

impl Watcher {
    /// The directories watched now, by absolute, symlink-free path.
    pub fn directories(&self) -> Vec<PathBuf> {
        self.board.all().into_iter().map(|d| d.directory).collect()
    }

    /// Each watched directory and whether its events are known to arrive.
    pub fn health(&self) -> Vec<DirectoryHealth> {
        self.board.all()
    }

    /// A handle on [`Watcher::health`] to keep elsewhere (a readiness probe).
    pub fn monitor(&self) -> WatchMonitor {
        WatchMonitor {
            board: self.board.clone(),
        }
    }
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("health", &self.board.all())
            .finish_non_exhaustive()
    }
}

impl TlsChannels {
    /// Watches every bound policy's files and reloads the policy ([`TlsChannels::reload_policy`])
    /// once they have been quiet for [`DEFAULT_DEBOUNCE`]; see [`TlsChannels::watch_with`].
    pub fn watch(&self) -> Result<Watcher, Error> {
        self.watch_with(DEFAULT_DEBOUNCE)
    }

    /// Watches the directories holding each bound policy's key and chain, its `trusted_dir`
    /// and its `revoked_dir` (not recursively), and reloads a policy once no change to them
    /// has been seen for `debounce`. Reloads run on a thread of the watcher's own, so this
    /// needs no async runtime. An error names the policy, setting and directory that could not
    /// be watched.
    ///
    /// Every path is resolved once to its absolute, symlink-free form (so a config named by a
    /// relative path, or through `..`, is watched where it really is); the directories holding
    /// a symlink on the way are watched too, and a swapped link (`ln -sfn`, a Kubernetes
    /// Secret's `..data`) moves the watch to the new target and reloads.
    ///
    /// Before returning, a self-check (at most [`crate::reload::SELF_CHECK_TIMEOUT`]) creates
    /// and removes a hidden probe file, `.tls-policy-watch-probe-<pid>`, in each directory and
    /// waits for its event; a directory that cannot be written (a read-only mount) is read
    /// instead. The verdicts are in [`Watcher::health`]: a dead watch is logged at `error`,
    /// naming the directory, and its `tls_policy_reload_watch_healthy` gauge is 0. A watcher
    /// error or lost events (an overflowed queue) later reload every policy. This blocks for
    /// the self-check: from async code, call it through `tokio::task::spawn_blocking`.
    pub fn watch_with(&self, debounce: Duration) -> Result<Watcher, Error> {
        let dirs = watched_dirs(&self.reload.settings, self.reload.bound.keys())?;
        let (tx, rx) = mpsc::channel::<Message>();
        let watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
            // A send error means the reload thread is gone: nothing left to do.
            let _ = tx.send(match event {
                Ok(event) => Message::Event(event),
                Err(error) => Message::Error(error),
            });
        })
        .map_err(|error| watch_error(dirs.iter().next(), &error))?;
        let watcher = Arc::new(Mutex::new(watcher));
        let board = HealthBoard::default();
        {
            let mut os = watcher.lock().unwrap_or_else(PoisonError::into_inner);
            for (dir, watched) in &dirs {
                os.watch(dir, RecursiveMode::NonRecursive)
                    .map_err(|error| watch_error(Some((dir, watched)), &error))?;
                board.set(
                    dir,
                    watched.policies.iter().cloned().collect(),
                    WatchHealth::Checking,
                );
            }
        }
        let count = dirs.len();
        let (started_tx, started) = mpsc::channel();
        let state = WatchLoop::new(
            self.clone(),
            dirs,
            Arc::downgrade(&watcher),
            board.clone(),
            debounce,
            started_tx,
        );
        thread::Builder::new()
            .name("tls-policy-reload".into())
            .spawn(move || state.run(&rx))
            .map_err(|error| Error::Policy {
                policy: String::new(),
                setting: "base_directory",
                path: None,
                message: format!("cannot start the file watcher's thread: {error}"),
            })?;
        // The thread reports when every probe is judged (each within SELF_CHECK_TIMEOUT).
        let _ = started.recv_timeout(SELF_CHECK_TIMEOUT + Duration::from_secs(1));
        let verified = board
            .all()
            .iter()
            .filter(|dir| dir.health.is_verified())
            .count();
        tracing::info!(
            directories = count,
            verified,
            "watching the policies' files for changes ({verified} of {count} directories \
             verified by the self-check)"
        );
        Ok(Watcher {
            _watcher: watcher,
            board,
        })
    }
}

/// The error for a directory that cannot be watched.
fn watch_error(dir: Option<(&PathBuf, &WatchedDir)>, error: &notify::Error) -> Error {
    match dir {
        Some((dir, watched)) => Error::Policy {
            policy: watched.policy.clone(),
            setting: watched.setting,
            path: Some(dir.clone()),
            message: format!(
                "cannot watch the directory for changes (configured as {}): {error}",
                watched.configured.display()
            ),
        },
        None => Error::Policy {
            policy: String::new(),
            setting: "base_directory",
            path: None,
            message: format!("cannot start the file watcher: {error}"),
        },
    }
}
