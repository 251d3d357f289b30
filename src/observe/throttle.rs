//! [`RefusalLog`]: refused connections logged at most a few lines per second per reason, with a
//! periodic line counting what was left out (the metrics count every refusal).

use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tls_policy_backend::HandshakeFailure;

use super::log::log_refusal;

/// Refusal lines written per channel and reason in any one second; the rest are counted.
pub const REFUSAL_LINES_PER_SECOND: u32 = 5;
/// The window the per-reason line budget applies to.
const WINDOW: Duration = Duration::from_secs(1);
/// How often the accept loops call [`RefusalLog::flush`].
pub(crate) const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// The refusal lines of one channel: per reason, at most [`REFUSAL_LINES_PER_SECOND`] lines a
/// second; the rest are counted and reported in one line per reason, by [`RefusalLog::flush`]
/// (the listeners call it every [`SUMMARY_EVERY`]) or, where nothing calls it (the layer), just
/// before the next line of that reason is written.
#[derive(Debug)]
pub(crate) struct RefusalLog {
    channel: String,
    reasons: Mutex<Vec<Budget>>,
}

#[derive(Clone, Copy, Debug)]
struct Budget {
    window_start: Option<Instant>,
    written: u32,
    suppressed: u64,
}

impl RefusalLog {
    /// The refusal lines of `channel`.
    pub(crate) fn new(channel: &str) -> Self {
        let idle = Budget {
            window_start: None,
            written: 0,
            suppressed: 0,
        };
        RefusalLog {
            channel: channel.to_string(),
            reasons: Mutex::new(vec![idle; HandshakeFailure::ALL.len()]),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Budget>> {
        // Plain counters: a poisoned lock still holds usable numbers.
        self.reasons.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a line for `reason` may be written now; if not, it is counted as suppressed.
    /// A new window first reports what the earlier ones suppressed.
    pub(crate) fn allow(&self, reason: HandshakeFailure) -> bool {
        let now = Instant::now();
        let (allowed, reported) = {
            let mut reasons = self.lock();
            let Some(budget) = reasons.get_mut(reason.index()) else {
                return true;
            };
            let mut reported = 0;
            if budget
                .window_start
                .is_none_or(|start| now.duration_since(start) >= WINDOW)
            {
                budget.window_start = Some(now);
                budget.written = 0;
                reported = std::mem::take(&mut budget.suppressed);
            }
            if budget.written < REFUSAL_LINES_PER_SECOND {
                budget.written += 1;
                (true, reported)
            } else {
                budget.suppressed += 1;
                (false, reported)
            }
        };
        if reported > 0 {
            self.report(reason, reported);
        }
        allowed
    }

    /// The line saying `suppressed` lines for `reason` were left out.
    fn report(&self, reason: HandshakeFailure, suppressed: u64) {
        tracing::warn!(
            channel = %self.channel,
            reason = reason.as_str(),
            suppressed,
            "connection refused: {suppressed} more like this not logged (at most \
             {REFUSAL_LINES_PER_SECOND} lines a second per reason; the metrics count every one)"
        );
    }

    /// Logs the refusal of the connection in the current span, if the budget allows.
    pub(crate) fn refused(&self, reason: HandshakeFailure, detail: &dyn Display) {
        if self.allow(reason) {
            log_refusal(reason, detail);
        }
    }

    /// Logs a refusal at accept (no connection span yet), naming the channel and the peer, if
    /// the budget allows.
    pub(crate) fn refused_at_accept(
        &self,
        peer: SocketAddr,
        reason: HandshakeFailure,
        detail: &dyn Display,
    ) {
        if self.allow(reason) {
            tracing::warn!(
                channel = %self.channel,
                peer = %peer,
                reason = reason.as_str(),
                detail = %detail,
                "connection refused"
            );
        }
    }

    /// Writes one line per reason whose lines were suppressed since the last flush, with their
    /// number, and starts counting again.
    pub(crate) fn flush(&self) {
        let suppressed: Vec<(HandshakeFailure, u64)> = {
            let mut reasons = self.lock();
            HandshakeFailure::ALL
                .iter()
                .zip(reasons.iter_mut())
                .filter(|(_, budget)| budget.suppressed > 0)
                .map(|(reason, budget)| (*reason, std::mem::take(&mut budget.suppressed)))
                .collect()
        };
        for (reason, count) in suppressed {
            self.report(reason, count);
        }
    }

    /// Lines suppressed since the last flush, over every reason.
    #[cfg(test)]
    fn suppressed(&self) -> u64 {
        self.lock().iter().map(|b| b.suppressed).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_lines_per_reason_per_second_and_the_rest_counted() {
        let log = RefusalLog::new("bolt");
        let allowed = (0..100)
            .filter(|_| log.allow(HandshakeFailure::FirstRecordTimeout))
            .count();
        assert_eq!(allowed, REFUSAL_LINES_PER_SECOND as usize);
        // Another reason has its own budget.
        assert!(log.allow(HandshakeFailure::AddressLimit));
        assert_eq!(log.suppressed(), 100 - u64::from(REFUSAL_LINES_PER_SECOND));
        log.flush();
        assert_eq!(log.suppressed(), 0);
        // A later window reports what the earlier one left out, then writes again.
        let lazy = RefusalLog::new("layer");
        for _ in 0..7 {
            lazy.allow(HandshakeFailure::Timeout);
        }
        assert_eq!(lazy.suppressed(), 2);
        std::thread::sleep(WINDOW);
        assert!(lazy.allow(HandshakeFailure::Timeout));
        assert_eq!(lazy.suppressed(), 0);
    }
}
