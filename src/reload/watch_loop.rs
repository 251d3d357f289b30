//! The watcher's thread: turns file events into debounced policy reloads, runs the self-check
//! probes and judges them, follows symlink swaps by re-resolving what to watch, and reloads
//! everything when events may have been lost (an overflowed event queue, a watcher error).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};

use super::health::{HealthBoard, WatchHealth};
use super::paths::{dir_for, watched_dirs, WatchedDir};
use super::probe::{is_probe, touch, Probe, SELF_CHECK_TIMEOUT};
use crate::TlsChannels;

/// A burst of changes that never goes quiet is reloaded after at most this many debounce periods.
const MAX_BURST: u32 = 10;

/// How often what to watch is resolved again (a swap whose event was missed) and dead
/// watches are set up and probed again.
const RESYNC_EVERY: Duration = Duration::from_secs(10);

/// What the OS watcher passes to the thread.
pub(crate) enum Message {
    /// A file event.
    Event(Event),
    /// The watcher failed (events may have been lost).
    Error(notify::Error),
}

/// The thread's state.
pub(crate) struct WatchLoop {
    pub(crate) channels: TlsChannels,
    pub(crate) dirs: BTreeMap<PathBuf, WatchedDir>,
    /// The OS watcher, while the [`crate::Watcher`] lives.
    pub(crate) watcher: Weak<Mutex<RecommendedWatcher>>,
    pub(crate) board: HealthBoard,
    pub(crate) debounce: Duration,
    /// Told once when the start-up self-check is over.
    pub(crate) started: Option<mpsc::Sender<()>>,
    pending: BTreeSet<String>,
    /// The first and the last change of the burst being debounced.
    burst: Option<(Instant, Instant)>,
    /// Probes awaiting their event, with their deadline.
    probes: BTreeMap<PathBuf, (Probe, Instant)>,
    next_resync: Instant,
}

impl WatchLoop {
    /// The state for `dirs` (already watched), before any probe.
    pub(crate) fn new(
        channels: TlsChannels,
        dirs: BTreeMap<PathBuf, WatchedDir>,
        watcher: Weak<Mutex<RecommendedWatcher>>,
        board: HealthBoard,
        debounce: Duration,
        started: mpsc::Sender<()>,
    ) -> WatchLoop {
        WatchLoop {
            channels,
            dirs,
            watcher,
            board,
            debounce,
            started: Some(started),
            pending: BTreeSet::new(),
            burst: None,
            probes: BTreeMap::new(),
            next_resync: Instant::now() + RESYNC_EVERY,
        }
    }

    /// Probes every directory, then handles events until the watcher is dropped.
    pub(crate) fn run(mut self, rx: &mpsc::Receiver<Message>) {
        let all: Vec<PathBuf> = self.dirs.keys().cloned().collect();
        for dir in &all {
            self.probe(dir);
        }
        loop {
            self.report_started();
            let wait = self.next_wake().saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Message::Event(event)) => self.on_event(&event),
                Ok(Message::Error(error)) => self.on_error(&error),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            let now = Instant::now();
            self.expire_probes(now);
            if self.burst_over(now) {
                self.resync();
                self.reload_pending();
            }
            if now >= self.next_resync {
                self.resync();
                self.next_resync = now + RESYNC_EVERY;
            }
        }
    }

    fn on_event(&mut self, event: &Event) {
        if event.need_rescan() {
            tracing::warn!(
                "file watcher: events were lost (event queue overflow); reloading every policy"
            );
            self.reload_all_soon();
        }
        let read = is_read(&event.kind);
        for path in &event.paths {
            if is_probe(path) {
                // A probe's events prove the watch works; they never reload.
                if let Some((dir, _)) = dir_for(&self.dirs, path) {
                    let dir = dir.clone();
                    if self
                        .probes
                        .get(&dir)
                        .is_some_and(|(p, _)| *p == Probe::File)
                    {
                        self.verified(&dir, WatchHealth::Verified);
                    }
                }
                continue;
            }
            if read {
                if self
                    .probes
                    .get(path)
                    .is_some_and(|(p, _)| *p == Probe::Read)
                {
                    self.verified(path, WatchHealth::VerifiedByRead);
                }
                continue;
            }
            match dir_for(&self.dirs, path) {
                Some((_, watched)) => {
                    let policies = watched.policies.clone();
                    self.pending.extend(policies);
                    self.touched();
                }
                None => {
                    // Not matched to a directory: reload everything rather than miss it.
                    tracing::debug!(
                        path = %path.display(),
                        "file watcher: event outside the watched directories; reloading every policy"
                    );
                    self.reload_all_soon();
                }
            }
        }
    }

    fn on_error(&mut self, error: &notify::Error) {
        let affected: Vec<PathBuf> = error
            .paths
            .iter()
            .filter_map(|path| dir_for(&self.dirs, path).map(|(dir, _)| dir.clone()))
            .collect();
        let affected = if affected.is_empty() {
            self.dirs.keys().cloned().collect()
        } else {
            affected
        };
        for dir in &affected {
            tracing::error!(
                directory = %dir.display(),
                "file watcher error: {error}; changes to this directory may be missed (the \
                 watch is set up again every {}s; SIGHUP reloads for sure); reloading every \
                 policy",
                RESYNC_EVERY.as_secs()
            );
            self.set(
                dir,
                WatchHealth::Dead {
                    reason: format!("the file watcher reported an error: {error}"),
                },
            );
        }
        self.reload_all_soon();
    }

    /// Starts the self-check of `dir`; a directory that cannot be probed at all is unverified.
    fn probe(&mut self, dir: &Path) {
        match touch(dir) {
            Ok(probe) => {
                self.probes.insert(
                    dir.to_path_buf(),
                    (probe, Instant::now() + SELF_CHECK_TIMEOUT),
                );
            }
            Err(error) => {
                tracing::warn!(
                    directory = %dir.display(),
                    "file watch unverified: the directory can be neither written nor read for a \
                     self-check ({error}); changes may still be picked up, SIGHUP reloads for sure"
                );
                self.set(
                    dir,
                    WatchHealth::Unverified {
                        reason: format!("cannot probe the directory: {error}"),
                    },
                );
            }
        }
    }

    fn verified(&mut self, dir: &Path, health: WatchHealth) {
        self.probes.remove(dir);
        let was_dead = matches!(self.board.get(dir), Some(WatchHealth::Dead { .. }));
        if was_dead {
            tracing::info!(directory = %dir.display(), "file watch works again ({health})");
        } else {
            tracing::debug!(directory = %dir.display(), "file watch {health}");
        }
        self.set(dir, health);
    }

    /// Judges the probes whose time is up: a probe file not seen is a dead watch; a read not
    /// seen leaves it unverified (some platforms' watchers report no reads).
    fn expire_probes(&mut self, now: Instant) {
        let expired: Vec<(PathBuf, Probe)> = self
            .probes
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now)
            .map(|(dir, (probe, _))| (dir.clone(), *probe))
            .collect();
        for (dir, probe) in expired {
            self.probes.remove(&dir);
            let policies = self.policies_of(&dir).join(", ");
            match probe {
                Probe::File => {
                    tracing::error!(
                        directory = %dir.display(),
                        policies,
                        "file watch dead: a probe file created in {} was not seen within {:?}; \
                         changed keys, certificates and CRLs there are NOT reloaded until it \
                         works (SIGHUP still reloads)",
                        dir.display(),
                        SELF_CHECK_TIMEOUT
                    );
                    self.set(
                        &dir,
                        WatchHealth::Dead {
                            reason: format!(
                                "a probe file created in it was not seen within {SELF_CHECK_TIMEOUT:?}"
                            ),
                        },
                    );
                }
                Probe::Read => {
                    tracing::warn!(
                        directory = %dir.display(),
                        policies,
                        "file watch unverified: {} cannot be written for a probe file and \
                         reading it produced no event within {:?}; changes may still be picked \
                         up, SIGHUP reloads for sure",
                        dir.display(),
                        SELF_CHECK_TIMEOUT
                    );
                    self.set(
                        &dir,
                        WatchHealth::Unverified {
                            reason: format!(
                                "read-only, and reading it produced no event within {SELF_CHECK_TIMEOUT:?}"
                            ),
                        },
                    );
                }
            }
        }
    }

    /// Resolves what to watch again: a link swapped to another directory moves the watch there
    /// (and reloads its policies); dead watches are set up and probed again.
    fn resync(&mut self) {
        let fresh = match watched_dirs(
            &self.channels.reload.settings,
            self.channels.reload.bound.keys(),
        ) {
            Ok(fresh) => fresh,
            Err(error) => {
                tracing::error!("file watcher: {error}; keeping the previous watches");
                return;
            }
        };
        let Some(watcher) = self.watcher.upgrade() else {
            return;
        };
        let mut watcher = watcher.lock().unwrap_or_else(PoisonError::into_inner);
        let gone: Vec<PathBuf> = self
            .dirs
            .keys()
            .filter(|dir| !fresh.contains_key(*dir))
            .cloned()
            .collect();
        for dir in gone {
            // Already gone when the directory was removed: nothing to undo.
            let _ = watcher.unwatch(&dir);
            self.board.remove(&dir);
            self.probes.remove(&dir);
            if let Some(watched) = self.dirs.remove(&dir) {
                tracing::info!(
                    directory = %dir.display(),
                    "no longer watching {} (the path of {} resolves elsewhere now)",
                    dir.display(),
                    watched.setting
                );
            }
        }
        for (dir, watched) in &fresh {
            let new = !self.dirs.contains_key(dir);
            let dead = matches!(self.board.get(dir), Some(WatchHealth::Dead { .. }));
            if !new && !dead {
                continue;
            }
            if dead {
                let _ = watcher.unwatch(dir);
            }
            match watcher.watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    // A new directory's files, or changes missed while dead: reload.
                    self.pending.extend(watched.policies.iter().cloned());
                    self.touched();
                    if new {
                        tracing::info!(
                            directory = %dir.display(),
                            "now watching {} ({} of policy {})",
                            dir.display(),
                            watched.setting,
                            watched.policy
                        );
                        self.board.set(
                            dir,
                            watched.policies.iter().cloned().collect(),
                            WatchHealth::Checking,
                        );
                    }
                    self.dirs.insert(dir.clone(), watched.clone());
                    self.probe(dir);
                }
                Err(error) => {
                    if !dead {
                        tracing::error!(
                            directory = %dir.display(),
                            policy = watched.policy,
                            setting = watched.setting,
                            "file watch dead: cannot watch {} for changes: {error}",
                            dir.display()
                        );
                    }
                    self.dirs.insert(dir.clone(), watched.clone());
                    self.board.set(
                        dir,
                        watched.policies.iter().cloned().collect(),
                        WatchHealth::Dead {
                            reason: format!("cannot watch it: {error}"),
                        },
                    );
                }
            }
        }
        // The policies a directory serves may have changed with the swap.
        for (dir, watched) in fresh {
            self.dirs.insert(dir, watched);
        }
    }

    fn reload_pending(&mut self) {
        self.burst = None;
        for policy in std::mem::take(&mut self.pending) {
            // reload_policy logs the outcome, success or refusal.
            let _ = self.channels.reload_policy(&policy);
        }
    }

    fn reload_all_soon(&mut self) {
        self.pending
            .extend(self.channels.reload.bound.keys().cloned());
        self.touched();
    }

    /// Notes a change now, for the debounce.
    fn touched(&mut self) {
        let now = Instant::now();
        self.burst = Some(match self.burst {
            Some((first, _)) => (first, now),
            None => (now, now),
        });
    }

    /// Whether the burst went quiet for the debounce (or ran too long): time to reload.
    fn burst_over(&self, now: Instant) -> bool {
        self.burst.is_some_and(|(first, last)| {
            now >= last + self.debounce || now >= first + self.debounce * MAX_BURST
        })
    }

    fn next_wake(&self) -> Instant {
        let mut wake = self.next_resync;
        if let Some((first, last)) = self.burst {
            wake = wake.min((last + self.debounce).min(first + self.debounce * MAX_BURST));
        }
        if let Some(deadline) = self.probes.values().map(|(_, deadline)| *deadline).min() {
            wake = wake.min(deadline);
        }
        wake
    }

    /// Once no start-up probe is outstanding, lets `watch_with` return.
    fn report_started(&mut self) {
        if self.probes.is_empty() {
            if let Some(started) = self.started.take() {
                let _ = started.send(());
            }
        }
    }

    fn policies_of(&self, dir: &Path) -> Vec<String> {
        self.dirs
            .get(dir)
            .map(|watched| watched.policies.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn set(&self, dir: &Path, health: WatchHealth) {
        self.board.set(dir, self.policies_of(dir), health);
    }
}

/// Whether an event only reads (opening, reading, closing unwritten: what every reload and
/// the read probe do); a file closed after writing is a change.
fn is_read(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => false,
        EventKind::Access(_) => true,
        _ => false,
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::config::Settings;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use notify::event::{CreateKind, Flag};
    use std::os::unix::fs::PermissionsExt;
    use tls_policy_dev_pki::{DevPki, DevPkiOptions, LeafSpec, WritePolicy};

    /// One policy `p` in a temporary home, loaded on the default backend.
    fn home() -> (tempfile::TempDir, DevPki, TlsChannels) {
        let dir = tempfile::tempdir().unwrap();
        let pki = DevPki::generate(&DevPkiOptions::default()).unwrap();
        pki.write_policy_dir(&dir.path().join("p"), &WritePolicy { with_crl: false })
            .unwrap();
        let settings = Settings::parse(
            "dbms.ssl.policy.p.base_directory=p\ndbms.ssl.policy.p.client_auth=NONE\nbolt.ssl_policy=p\n",
            &dir.path().join("neo4j.conf"),
            dir.path(),
        )
        .unwrap();
        let channels = TlsChannels::load(&settings, None).unwrap();
        (dir, pki, channels)
    }

    /// Runs the loop (no OS watcher: the test sends its events) on a thread recording metrics
    /// into `recorder`; returns the sender, the board, and the thread.
    fn start(
        channels: &TlsChannels,
        recorder: &'static DebuggingRecorder,
    ) -> (
        mpsc::Sender<Message>,
        HealthBoard,
        std::thread::JoinHandle<()>,
    ) {
        let dirs = watched_dirs(&channels.reload.settings, channels.reload.bound.keys()).unwrap();
        let board = HealthBoard::default();
        let (tx, rx) = mpsc::channel();
        let (started_tx, started) = mpsc::channel();
        let state = WatchLoop::new(
            channels.clone(),
            dirs,
            Weak::new(),
            board.clone(),
            Duration::from_millis(100),
            started_tx,
        );
        let thread = std::thread::spawn(move || {
            metrics::with_local_recorder(recorder, || state.run(&rx));
        });
        // The start-up report is not needed: the tests wait for the verdicts themselves.
        drop(started);
        (tx, board, thread)
    }

    fn gauges(recorder: &DebuggingRecorder) -> Vec<(String, f64)> {
        recorder
            .snapshotter()
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(key, ..)| key.key().name() == crate::observe::RELOAD_WATCH_HEALTHY)
            .filter_map(|(key, _, _, value)| match value {
                DebugValue::Gauge(v) => Some((
                    key.key().labels().next().unwrap().value().to_string(),
                    v.into_inner(),
                )),
                _ => None,
            })
            .collect()
    }

    fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn leaf_of(channels: &TlsChannels) -> Vec<u8> {
        channels.reload.serving()["p"].cert_chain[0]
            .as_ref()
            .to_vec()
    }

    #[test]
    fn a_probe_whose_event_never_comes_is_a_dead_watch_with_a_zero_gauge() {
        let (_home, _pki, channels) = home();
        let recorder: &'static DebuggingRecorder = Box::leak(Box::new(DebuggingRecorder::new()));
        let (tx, board, thread) = start(&channels, recorder);
        wait_until("the probes' verdicts", || {
            let all = board.all();
            !all.is_empty() && all.iter().all(|d| d.health != WatchHealth::Checking)
        });
        for dir in board.all() {
            assert!(
                matches!(&dir.health, WatchHealth::Dead { reason } if reason.contains("probe file")),
                "{dir}"
            );
            // No probe file is left behind.
            assert!(!super::super::probe::probe_path(&dir.directory).exists());
        }
        let gauges = gauges(recorder);
        assert!(!gauges.is_empty());
        assert!(gauges.iter().all(|(_, v)| *v == 0.0), "{gauges:?}");
        drop(tx);
        thread.join().unwrap();
    }

    #[test]
    fn probe_events_verify_without_reloading_and_lost_events_reload_everything() {
        let (home, pki, channels) = home();
        let recorder: &'static DebuggingRecorder = Box::leak(Box::new(DebuggingRecorder::new()));
        let (tx, board, thread) = start(&channels, recorder);
        // A new chain and key are in place, but only probe events arrive: no reload.
        let issued = pki
            .issue(&LeafSpec::server(
                "rotated",
                ["localhost"],
                time::Duration::days(3),
            ))
            .unwrap();
        let base = home.path().join("p");
        std::fs::write(base.join("public.crt"), issued.chain_pem()).unwrap();
        std::fs::write(base.join("private.key"), &issued.key_pem).unwrap();
        std::fs::set_permissions(
            base.join("private.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let before = leaf_of(&channels);
        for dir in board.all() {
            let probe = super::super::probe::probe_path(&dir.directory);
            for kind in [
                EventKind::Create(CreateKind::File),
                EventKind::Remove(notify::event::RemoveKind::File),
            ] {
                tx.send(Message::Event(Event::new(kind).add_path(probe.clone())))
                    .unwrap();
            }
        }
        wait_until("verified watches", || {
            board
                .all()
                .iter()
                .all(|d| d.health == WatchHealth::Verified)
        });
        assert!(gauges(recorder).iter().all(|(_, v)| *v == 1.0));
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(leaf_of(&channels), before, "a probe event reloaded");

        // The queue overflowed: every policy is reloaded.
        tx.send(Message::Event(
            Event::new(EventKind::Other).set_flag(Flag::Rescan),
        ))
        .unwrap();
        wait_until("the reload after lost events", || {
            leaf_of(&channels) == issued.cert_der.as_ref()
        });

        // A watcher error: the directories are dead, loudly.
        tx.send(Message::Error(notify::Error::generic("inotify gone")))
            .unwrap();
        wait_until("dead watches", || {
            board
                .all()
                .iter()
                .all(|d| matches!(&d.health, WatchHealth::Dead { reason } if reason.contains("inotify gone")))
        });
        assert!(gauges(recorder).iter().all(|(_, v)| *v == 0.0));
        drop(tx);
        thread.join().unwrap();
    }

    #[test]
    fn an_event_matched_by_no_directory_reloads_everything() {
        let (home, pki, channels) = home();
        let recorder: &'static DebuggingRecorder = Box::leak(Box::new(DebuggingRecorder::new()));
        let (tx, _board, thread) = start(&channels, recorder);
        let issued = pki
            .issue(&LeafSpec::server(
                "elsewhere",
                ["localhost"],
                time::Duration::days(3),
            ))
            .unwrap();
        let base = home.path().join("p");
        std::fs::write(base.join("public.crt"), issued.chain_pem()).unwrap();
        std::fs::write(base.join("private.key"), &issued.key_pem).unwrap();
        // A path in no watched directory's spelling (another watcher's form of it).
        tx.send(Message::Event(
            Event::new(EventKind::Create(CreateKind::File))
                .add_path(PathBuf::from("/nonexistent/spelling/public.crt")),
        ))
        .unwrap();
        wait_until("the reload", || {
            leaf_of(&channels) == issued.cert_der.as_ref()
        });
        drop(tx);
        thread.join().unwrap();
    }
}
