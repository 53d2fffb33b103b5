//! When to try again: the reconnect backoff and the time budget of each step, shared by every
//! transport so that TCP and RELP give up by the same rules.

use std::hash::BuildHasher;
use std::time::Duration;

use tokio::time::Instant;

use super::TransportError;

/// A connection attempt is not started with less time than this before the deadline.
pub(super) const MIN_ATTEMPT: Duration = Duration::from_millis(100);

/// How often and how patiently to reconnect after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Reconnects after the first attempt.
    pub retries: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 4,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
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

    /// The delay before reconnect `attempt` after `error`, or `None` when delivery must give up:
    /// retries used up, the error is permanent, or the delay would leave no time to try.
    pub(super) fn next_delay(
        &self,
        attempt: u32,
        error: &TransportError,
        deadline: Instant,
    ) -> Option<Duration> {
        let delay = self.delay(attempt);
        let in_time = Instant::now() + delay + MIN_ATTEMPT < deadline;
        (attempt <= self.retries && in_time && !error.is_permanent()).then_some(delay)
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
    async fn gives_up_after_the_retries_or_on_a_permanent_error() {
        let policy = RetryPolicy::default();
        let deadline = Instant::now() + Duration::from_secs(60);
        let transient = TransportError::DeadlineExceeded;
        assert!(policy.next_delay(4, &transient, deadline).is_some());
        assert!(policy.next_delay(5, &transient, deadline).is_none());
        let permanent = TransportError::Handshake {
            target: "t".into(),
            reason: "r".into(),
            certificate: true,
            client_certificate_refused: false,
        };
        assert!(policy.next_delay(1, &permanent, deadline).is_none());
        let soon = Instant::now() + Duration::from_millis(10);
        assert!(policy.next_delay(1, &transient, soon).is_none());
    }
}
