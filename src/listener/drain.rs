//! The drain signal a listener gives each connection: it fires when graceful shutdown begins.

use tokio::sync::watch;

/// Fires when a listener stops accepting and starts draining its live connections.
///
/// Cheap to clone. A service that keeps connections open (HTTP keep-alive, a long stream) waits
/// on [`Draining::wait`] to finish its current exchange and close before the drain timeout.
#[derive(Clone, Debug)]
pub struct Draining {
    // `None`: a signal that never fires.
    rx: Option<watch::Receiver<bool>>,
}

/// The listener's side of [`Draining`]: starts the drain for every connection at once.
#[derive(Debug)]
pub(crate) struct DrainTrigger {
    tx: watch::Sender<bool>,
}

impl Draining {
    /// A signal that never fires, for connections made without a listener (tests, adapters).
    pub fn never() -> Draining {
        Draining { rx: None }
    }

    /// Whether the drain has begun.
    pub fn is_draining(&self) -> bool {
        self.rx.as_ref().is_some_and(|rx| *rx.borrow())
    }

    /// Resolves once the drain has begun (at once if it already has, or if its listener is gone).
    pub async fn wait(&self) {
        match &self.rx {
            Some(rx) => {
                let mut rx = rx.clone();
                // An error means the listener is gone, which is a drain too.
                let _ = rx.wait_for(|draining| *draining).await;
            }
            None => std::future::pending().await,
        }
    }
}

impl DrainTrigger {
    /// A trigger and the signal its connections get.
    pub(crate) fn new() -> (DrainTrigger, Draining) {
        let (tx, rx) = watch::channel(false);
        (DrainTrigger { tx }, Draining { rx: Some(rx) })
    }

    /// Starts the drain: every [`Draining`] fires.
    pub(crate) fn start(&self) {
        self.tx.send_replace(true);
    }
}
