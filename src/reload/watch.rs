//! The file watcher: reloads a policy once the directories holding its files have been quiet
//! for a moment after a change, until the [`Watcher`] is dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};

use super::paths::{policies_for, watched_dirs, WatchedDir};
use crate::{Error, TlsChannels};

/// How long a policy's directories must stay quiet after a change before it is reloaded: a
/// tool that writes the chain, then the key, then a CRL causes one reload, not three.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(500);

/// A burst of changes that never goes quiet is reloaded after at most this many debounce periods.
const MAX_BURST: u32 = 10;

/// Watches the directories of every bound policy and reloads a policy when its files change;
/// stops watching when dropped. Made by [`TlsChannels::watch`].
///
/// Each reload's outcome is logged: `reloaded policy X: serial A → B` at `info`, a refused
/// one at `error` with the policy, setting and path (the previous material stays in service).
pub struct Watcher {
    // Dropping it stops the OS watch and closes the channel, which ends the reload thread.
    _watcher: RecommendedWatcher,
    directories: Vec<PathBuf>,
}

impl Watcher {
    /// The directories watched.
    pub fn directories(&self) -> &[PathBuf] {
        &self.directories
    }
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("directories", &self.directories)
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
    pub fn watch_with(&self, debounce: Duration) -> Result<Watcher, Error> {
        let dirs = watched_dirs(&self.reload.settings, self.reload.bound.keys());
        let (tx, rx) = mpsc::channel::<PathBuf>();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
            match event {
                Ok(event) if is_change(&event.kind) => {
                    for path in event.paths {
                        // A send error means the reload thread is gone: nothing left to do.
                        let _ = tx.send(path);
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::warn!("file watcher: {error}"),
            }
        })
        .map_err(|error| watch_error(dirs.iter().next(), &error))?;
        for (dir, watched) in &dirs {
            watcher
                .watch(dir, RecursiveMode::NonRecursive)
                .map_err(|error| watch_error(Some((dir, watched)), &error))?;
        }
        let directories: Vec<PathBuf> = dirs.keys().cloned().collect();
        let channels = self.clone();
        thread::Builder::new()
            .name("tls-policy-reload".into())
            .spawn(move || reload_loop(&channels, &dirs, &rx, debounce))
            .map_err(|error| Error::Policy {
                policy: String::new(),
                setting: "base_directory",
                path: None,
                message: format!("cannot start the file watcher's thread: {error}"),
            })?;
        tracing::info!(
            directories = directories.len(),
            "watching the policies' files for changes"
        );
        Ok(Watcher {
            _watcher: watcher,
            directories,
        })
    }
}

/// Whether an event may change what a policy loads: anything but opening or reading a file
/// (which every reload does itself); a file closed after writing counts.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Collects changed paths until `debounce` passes without one (or a long burst ends), then
/// reloads each policy concerned once; ends when the watcher is dropped.
fn reload_loop(
    channels: &TlsChannels,
    dirs: &BTreeMap<PathBuf, WatchedDir>,
    rx: &mpsc::Receiver<PathBuf>,
    debounce: Duration,
) {
    while let Ok(first) = rx.recv() {
        let mut pending: BTreeSet<String> = policies_for(dirs, &first).cloned().collect();
        let deadline = Instant::now() + debounce * MAX_BURST;
        loop {
            let wait = debounce.min(deadline.saturating_duration_since(Instant::now()));
            match rx.recv_timeout(wait) {
                Ok(path) if Instant::now() < deadline => {
                    pending.extend(policies_for(dirs, &path).cloned());
                }
                Ok(path) => {
                    pending.extend(policies_for(dirs, &path).cloned());
                    break;
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        for policy in pending {
            // reload_policy logs the outcome, success or refusal.
            let _ = channels.reload_policy(&policy);
        }
    }
}

/// The error for a directory that cannot be watched.
fn watch_error(dir: Option<(&PathBuf, &WatchedDir)>, error: &notify::Error) -> Error {
    match dir {
        Some((dir, watched)) => Error::Policy {
            policy: watched.policy.clone(),
            setting: watched.setting,
            path: Some(dir.clone()),
            message: format!("cannot watch the directory for changes: {error}"),
        },
        None => Error::Policy {
            policy: String::new(),
            setting: "base_directory",
            path: None,
            message: format!("cannot start the file watcher: {error}"),
        },
    }
}
