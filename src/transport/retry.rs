//! When to try again: the reconnect backoff and the time budget of each step, shared by every
//! transport so that TCP and RELP give up by the same rules.

use std::hash::BuildHasher;
use std::time::Duration;

use tokio::time::Instant;

use super::TransportError;
use crate::config::Destination;

/// A connection attempt is not started with less time than this before the deadline.
pub(super) const MIN_ATTEMPT: Duration = Duration::from_millis(100);

/// How often and how patiently to reconnect after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long after a delivery's first failure reconnects are still started
    /// (SYSLOG_RETRY_SECONDS): a receiver back within it costs no failure. Zero: one try.
    pub window: Duration,
    /// At most this many reconnects after the first attempt, whatever the window.
    pub retries: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            window: Duration::from_secs(10),
            retries: u32::MAX,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The policy the configuration asks for: reconnect for `retry_for` (SYSLOG_RETRY_SECONDS).
    pub fn for_destination(destination: &Destination) -> RetryPolicy {
        RetryPolicy {
            window: destination.retry_for,
            ..RetryPolicy::default()
        }
    }

    /// Exponential delay before reconnect `attempt` (1-based), with "equal jitter": between half and
    /// all of the exponential value, so many instances do not reconnect in step.
    pub(super) fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .first_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = std::collections::hash_map::RandomState::new().hash_one(attempt) % 1_000;
        half + half.mul_f64(jitter as f64 / 1_000.0)
    }

    /// The delay before reconnect `attempt` after `error`, the failures having begun at
    /// `failing_since`, or `None` when delivery must give up: the window is over (or the
    /// retries used up), the error is permanent, or the delay would leave no time to try before
    /// the deadline.
    pub(super) fn next_delay(
        &self,
        attempt: u32,
        error: &TransportError,
        failing_since: Instant,
        deadline: Instant,
    ) -> Option<Duration> {
        let delay = self.delay(attempt);
        let resume = Instant::now() + delay;
        let in_window = resume.saturating_duration_since(failing_since) <= self.window;
        let in_time = resume + MIN_ATTEMPT < deadline;
        (!self.window.is_zero()
            && attempt <= self.retries
            && in_window
            && in_time
            && !error.is_permanent())
        .then_some(delay)
    }
}

/// The time one step may take: `limit`, or what is left before `deadline` when that is less.
pub(super) fn budget(limit: Duration, deadline: Instant) -> Result<Duration, TransportError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(TransportError::DeadlineExceeded);
    }
    Ok(limit.min(left))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_bounded_and_jittered() {
        let policy = RetryPolicy::default();
        for attempt in 1..=10 {
            let d = policy.delay(attempt);
            let exp =
                (Duration::from_millis(100) * 2u32.pow(attempt - 1)).min(Duration::from_secs(2));
            assert!(
                d >= exp / 2 && d <= exp,
                "attempt {attempt}: {d:?} vs {exp:?}"
            );
        }
    }

    #[tokio::test]
    async fn reconnects_for_the_window_then_gives_up_and_never_on_a_permanent_error() {
        let policy = RetryPolicy::default();
        let now = Instant::now();
        let deadline = now + Duration::from_secs(60);
        let transient = TransportError::DeadlineExceeded;
        // Within the window, however many attempts: a restart of a few seconds is waited out.
        assert!(policy.next_delay(30, &transient, now, deadline).is_some());
        let long_ago = now - Duration::from_secs(10);
        assert!(
            policy
                .next_delay(2, &transient, long_ago, deadline)
                .is_none()
        );
        let capped = RetryPolicy {
            retries: 4,
            ..policy
        };
        assert!(capped.next_delay(4, &transient, now, deadline).is_some());
        assert!(capped.next_delay(5, &transient, now, deadline).is_none());
        let one_try = RetryPolicy {
            window: Duration::ZERO,
            ..policy
        };
        assert!(one_try.next_delay(1, &transient, now, deadline).is_none());
        let permanent = TransportError::Handshake {
            target: "t".into(),
            reason: "r".into(),
            certificate: true,
            client_certificate_refused: false,
        };
        assert!(policy.next_delay(1, &permanent, now, deadline).is_none());
        let soon = now + Duration::from_millis(10);
        assert!(policy.next_delay(1, &transient, now, soon).is_none());
    }

    #[test]
    fn the_window_holds_enough_tries_for_a_restart_and_the_pause_is_capped() {
        // Over a 10 s window, tries keep coming at most 2 s apart: a receiver back after 3 s
        // is found within 2 s of its return.
        let policy = RetryPolicy::default();
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        while waited < policy.window {
            attempt += 1;
            let delay = policy.delay(attempt);
            assert!(delay <= Duration::from_secs(2), "{delay:?}");
            waited += delay;
        }
        assert!(attempt >= 7, "{attempt} tries in the window");
    }
}
