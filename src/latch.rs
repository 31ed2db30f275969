//! A flag raised once and for good, cheap to look at: a session's "asked
//! to end".

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Raised once, never lowered. A look is one atomic load, where a
/// cancellation token's takes a lock: a session's task looks once per
/// message. The few that wait for it (a request, a write given a grace)
/// wait through a `Notify`.
#[derive(Default)]
pub(crate) struct Latch {
    raised: AtomicBool,
    waiters: Notify,
}

impl Latch {
    /// Raises it and wakes whoever waits.
    pub(crate) fn raise(&self) {
        self.raised.store(true, Ordering::Release);
        self.waiters.notify_waiters();
    }

    pub(crate) fn is_raised(&self) -> bool {
        self.raised.load(Ordering::Acquire)
    }

    /// Resolves once it is raised.
    pub(crate) async fn raised(&self) {
        loop {
            let notified = self.waiters.notified();
            tokio::pin!(notified);
            // Registered before the look: a raise between the two wakes it.
            notified.as_mut().enable();
            if self.is_raised() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::Latch;

    #[tokio::test]
    async fn a_raise_wakes_every_waiter_and_later_ones_pass() {
        let latch = Arc::new(Latch::default());
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let latch = Arc::clone(&latch);
                tokio::spawn(async move { latch.raised().await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert!(!latch.is_raised());
        latch.raise();
        for waiter in waiters {
            tokio::time::timeout(Duration::from_secs(5), waiter)
                .await
                .expect("woken")
                .unwrap();
        }
        latch.raised().await;
    }
}
