//! The refresh schedule: when a good response is fetched again, and the backoff after a failed
//! fetch (kept short of the last good response's expiry).

use std::time::{Duration, SystemTime};

use super::ValidResponse;

/// How long a response without `nextUpdate` is kept before it is fetched again.
pub(crate) const NO_NEXT_UPDATE_REFRESH: Duration = Duration::from_secs(3600);
/// The first retry after a failed fetch; it doubles on each failure up to ten minutes.
pub const MIN_BACKOFF: Duration = Duration::from_secs(10);
/// The longest wait between two failed fetches.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(600);

impl ValidResponse {
    /// When to fetch a fresh response: at half its validity (`thisUpdate` to `nextUpdate`),
    /// or an hour after `thisUpdate` when it has no `nextUpdate`; never
    /// before `now` (a response already past its half is refreshed at once).
    pub fn refresh_at(&self, now: SystemTime) -> SystemTime {
        let at = match self.next_update {
            Some(next) => {
                let half = next
                    .duration_since(self.this_update)
                    .unwrap_or(Duration::ZERO)
                    / 2;
                self.this_update + half
            }
            None => self.this_update + NO_NEXT_UPDATE_REFRESH,
        };
        at.max(now)
    }

    /// Whether the response may still be stapled at `now` (its `nextUpdate` not past): a
    /// failed refresh keeps the last good response until then, and drops it after.
    pub fn is_current(&self, now: SystemTime) -> bool {
        self.next_update.is_none_or(|next| next > now)
    }

    /// Seconds since `thisUpdate` (the `tls_policy_ocsp_response_age_seconds` gauge).
    pub fn age_seconds(&self, now: SystemTime) -> f64 {
        now.duration_since(self.this_update)
            .map_or(0.0, |d| d.as_secs_f64())
    }

    /// Seconds until `nextUpdate`, negative once past, `None` without one (the
    /// `tls_policy_ocsp_next_update_seconds` gauge).
    pub fn next_update_seconds(&self, now: SystemTime) -> Option<f64> {
        self.next_update.map(|next| match next.duration_since(now) {
            Ok(left) => left.as_secs_f64(),
            Err(past) => -past.duration().as_secs_f64(),
        })
    }
}

/// The wait before retrying after `failures` consecutive failed fetches (1 for the first):
/// [`MIN_BACKOFF`] doubled per further failure, capped at [`MAX_BACKOFF`], and never past
/// the last good response's expiry (`keep_until`) when there is one, so that a fetch is tried
/// again before the staple is dropped.
pub(crate) fn retry_after(
    failures: u32,
    now: SystemTime,
    keep_until: Option<SystemTime>,
) -> Duration {
    let doubled = MIN_BACKOFF.saturating_mul(1_u32 << failures.saturating_sub(1).min(16));
    let wait = doubled.min(MAX_BACKOFF);
    match keep_until.and_then(|until| until.duration_since(now).ok()) {
        Some(left) if left > Duration::ZERO => wait.min(left / 2).max(Duration::from_secs(1)),
        _ => wait,
    }
}
