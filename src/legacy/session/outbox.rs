//! A session's outgoing queue: encoded frames in order, bounded in bytes.

use std::future::poll_fn;
use std::sync::Mutex;
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

/// Why a push was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The session is closed.
    Closed,
    /// The queue would pass its byte limit.
    Full,
}

/// Encoded frames waiting for a transport. Everything queued goes out
/// together as one payload (a batch), in the order it was pushed.
///
/// It has one taker at a time (the session's task for a WebSocket, else
/// the one request carrying the session), so a push wakes it through one
/// registered waker: no lock and no list of waiters, as a `Notify` has.
pub(crate) struct Outbox {
    state: Mutex<State>,
    taker: AtomicWaker,
    limit: usize,
}

struct State {
    queued: String,
    closed: bool,
}

impl Outbox {
    pub(crate) fn new(initial: String, limit: usize) -> Outbox {
        Outbox {
            state: Mutex::new(State {
                queued: initial,
                closed: false,
            }),
            taker: AtomicWaker::new(),
            limit,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-made:
        // every critical section is a single push or take.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends already-encoded frames.
    pub(crate) fn push(&self, frames: &str) -> Result<(), PushError> {
        {
            let mut state = self.lock();
            if state.closed {
                return Err(PushError::Closed);
            }
            if state.queued.len() + frames.len() > self.limit {
                return Err(PushError::Full);
            }
            state.queued.push_str(frames);
        }
        self.taker.wake();
        Ok(())
    }

    /// Appends a control frame (a heartbeat) even past the limit; `false`
    /// once closed.
    pub(crate) fn push_control(&self, frames: &str) -> bool {
        {
            let mut state = self.lock();
            if state.closed {
                return false;
            }
            state.queued.push_str(frames);
        }
        self.taker.wake();
        true
    }

    /// Everything queued, if anything is; the queue is then empty.
    pub(crate) fn take(&self) -> Option<String> {
        let mut state = self.lock();
        (!state.queued.is_empty()).then(|| std::mem::take(&mut state.queued))
    }

    /// Bytes waiting to be carried.
    pub(crate) fn queued_len(&self) -> usize {
        self.lock().queued.len()
    }

    /// Waits until something is queued and takes it all. `None` once the
    /// outbox is closed and drained. Dropping the future while it waits
    /// takes nothing: what is queued stays for the next taker.
    pub(crate) async fn next(&self) -> Option<String> {
        // A request's wait leaves no waker behind once it ends: the next
        // push would wake its connection's task for nothing.
        let _unregister = Unregister(&self.taker);
        poll_fn(|cx| self.poll_next(cx)).await
    }

    /// [`next`](Outbox::next), polled: for the session's own task, which
    /// stays registered between polls (it is the taker for the session's
    /// life).
    pub(crate) fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<String>> {
        // Registered before the look: a push after it wakes this taker.
        self.taker.register(cx.waker());
        let mut state = self.lock();
        if !state.queued.is_empty() {
            return Poll::Ready(Some(std::mem::take(&mut state.queued)));
        }
        if state.closed {
            return Poll::Ready(None);
        }
        Poll::Pending
    }

    /// The taker is about to push output itself and looks for it right
    /// after: its own pushes need not wake it (for an empty turn).
    pub(crate) fn mute(&self) {
        drop(self.taker.take());
    }

    /// Refuses further pushes and wakes the taker; what is queued can still
    /// be taken.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.taker.wake();
    }
}

/// Takes a waiting taker's waker back when its wait ends.
struct Unregister<'a>(&'a AtomicWaker);

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        drop(self.0.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn batches_in_order_and_drains_after_close() {
        let outbox = Outbox::new("a".into(), 8);
        outbox.push("b").unwrap();
        assert_eq!(outbox.next().await.as_deref(), Some("ab"));
        outbox.push("c").unwrap();
        outbox.close();
        assert_eq!(outbox.push("d"), Err(PushError::Closed));
        assert_eq!(outbox.next().await.as_deref(), Some("c"));
        assert_eq!(outbox.next().await, None);
    }

    /// A waker that counts its wakes.
    struct Counter(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Counter {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn a_push_wakes_the_waiting_taker_and_no_taker_that_left() {
        use std::sync::Arc;
        use std::sync::atomic::Ordering;
        let outbox = Outbox::new(String::new(), 64);
        let counter = Arc::new(Counter(0.into()));
        let waker = std::task::Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);

        let mut waiting = Box::pin(outbox.next());
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        outbox.push("a").unwrap();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            waiting.as_mut().poll(&mut cx),
            Poll::Ready(Some("a".into()))
        );
        drop(waiting);

        // A request that gave up waiting (its client went away) is not
        // woken by later output, which stays for the next taker.
        let mut abandoned = Box::pin(outbox.next());
        assert!(abandoned.as_mut().poll(&mut cx).is_pending());
        drop(abandoned);
        outbox.push("b").unwrap();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(outbox.take().as_deref(), Some("b"));
    }

    #[test]
    fn refuses_past_the_limit() {
        let outbox = Outbox::new(String::new(), 4);
        outbox.push("abcd").unwrap();
        assert_eq!(outbox.push("e"), Err(PushError::Full));
        assert_eq!(outbox.take().as_deref(), Some("abcd"));
        assert_eq!(outbox.take(), None);
    }
}
