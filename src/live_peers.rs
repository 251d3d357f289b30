//! The established TLS connections of one compiled policy, so that a reload which changes
//! `allowed_peers` can close those the new list refuses, when asked (`allowed_peers_reload=all`).
//! A connection whose peer sent no certificate (admitted while the list was unset, under
//! `client_auth=OPTIONAL` or `NONE`) is kept too: any list refuses it.
//!
//! Each connection's stream holds a [`LiveClose`]; the acceptor's [`LivePeers`] keeps a
//! weak handle to it. Closing sets a flag and wakes the stream's reader, whose next poll (and
//! every later read and write) fails with `ConnectionAborted`, so the service sees an error and
//! drops the connection; the handshake path and the record loop pay one relaxed atomic load per
//! poll and nothing else.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::Context;

use atomic_waker::AtomicWaker;
use tls_policy_backend::{AllowedPeers, TlsInfo};

/// The close signal of one live connection: set by a reload, read by its stream.
#[derive(Debug)]
pub(crate) struct LiveClose {
    info: Arc<TlsInfo>,
    closed: AtomicBool,
    reader: AtomicWaker,
}

impl LiveClose {
    /// `Err(ConnectionAborted)` once this connection is closed; else `Ok`, the waker of `cx`
    /// kept so that a close wakes a reader waiting for the peer.
    pub(crate) fn check(&self, cx: &Context<'_>) -> io::Result<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(closed_error());
        }
        self.reader.register(cx.waker());
        // A close between the load and the registration woke nobody: look again.
        if self.closed.load(Ordering::Acquire) {
            return Err(closed_error());
        }
        Ok(())
    }

    /// Whether a reload has closed this connection (a write never waits on it).
    pub(crate) fn is_closed(&self) -> io::Result<()> {
        if self.closed.load(Ordering::Relaxed) {
            Err(closed_error())
        } else {
            Ok(())
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.reader.wake();
    }
}

fn closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "closed by a reload: the peer's certificate no longer matches the policy's allowed_peers \
         (allowed_peers_reload=all)",
    )
}

/// The live, certificate-bearing connections of one compiled policy on one channel; shared by
/// every clone of its acceptor and kept across reloads.
#[derive(Debug, Default)]
pub(crate) struct LivePeers {
    entries: Mutex<Vec<Weak<LiveClose>>>,
}

impl LivePeers {
    /// Registers a new connection whose handshake gave `info` (with or without a peer
    /// certificate).
    pub(crate) fn register(&self, info: &Arc<TlsInfo>) -> Arc<LiveClose> {
        let entry = Arc::new(LiveClose {
            info: Arc::clone(info),
            closed: AtomicBool::new(false),
            reader: AtomicWaker::new(),
        });
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // Ended connections are dropped here, when the vector would grow: amortised O(1) per
        // handshake, and the vector never holds more than twice the live connections.
        if entries.len() == entries.capacity() {
            entries.retain(|e| e.strong_count() > 0);
        }
        entries.push(Arc::downgrade(&entry));
        entry
    }

    /// Closes every live connection whose peer `list` does not admit (`None` admits every peer;
    /// a list refuses a peer without a certificate); how many were closed.
    pub(crate) fn close_refused(&self, list: Option<&AllowedPeers>) -> usize {
        let Some(list) = list else { return 0 };
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|e| e.strong_count() > 0);
        let mut closed = 0;
        for entry in entries.iter().filter_map(Weak::upgrade) {
            let admitted = entry
                .info
                .peer_identity()
                .is_some_and(|peer| list.admits(peer));
            if !admitted && !entry.closed.load(Ordering::Relaxed) {
                entry.close();
                closed += 1;
            }
        }
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::{Wake, Waker};

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn info_for(name: &str) -> Arc<TlsInfo> {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let mut info = TlsInfo::new("test");
        info.peer_certificates = vec![cert.der().clone()];
        Arc::new(info)
    }

    #[test]
    fn a_narrowed_list_closes_only_the_refused_and_wakes_their_readers() {
        let live = LivePeers::default();
        let kept = live.register(&info_for("a.internal"));
        let cut = live.register(&info_for("b.internal"));
        let woken = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&woken));
        let cx = Context::from_waker(&waker);
        assert!(cut.check(&cx).is_ok());

        let list: AllowedPeers = "dns:a.internal".parse().unwrap();
        assert_eq!(live.close_refused(Some(&list)), 1);
        assert!(
            woken.0.load(Ordering::SeqCst),
            "the waiting reader is woken"
        );
        let err = cut.check(&cx).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionAborted);
        assert!(cut.is_closed().is_err());
        assert!(kept.check(&cx).is_ok() && kept.is_closed().is_ok());
        // Closing again counts nobody twice; no list closes nobody.
        assert_eq!(live.close_refused(Some(&list)), 0);
        assert_eq!(live.close_refused(None), 0);
    }

    #[test]
    fn a_peer_without_a_certificate_is_closed_by_any_list_and_ended_ones_are_forgotten() {
        let live = LivePeers::default();
        let anonymous = live.register(&Arc::new(TlsInfo::new("test")));
        for _ in 0..100 {
            drop(live.register(&info_for("gone.internal")));
        }
        let _alive = live.register(&info_for("here.internal"));
        let held = live.entries.lock().unwrap().len();
        assert!(held <= 64, "ended connections are pruned, {held} kept");
        assert_eq!(live.close_refused(None), 0, "no list closes nobody");
        let list: AllowedPeers = "dns:other.internal".parse().unwrap();
        assert_eq!(live.close_refused(Some(&list)), 2);
        assert!(
            anonymous.is_closed().is_err(),
            "a list admits no anonymous peer"
        );
        assert_eq!(live.entries.lock().unwrap().len(), 2);
    }
}
