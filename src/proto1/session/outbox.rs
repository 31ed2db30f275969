//! A protocol-1 session's outgoing queue: encoded packets in order,
//! bounded in bytes, taken all at once by whichever transport carries
//! them (a poll frames them as one payload; a WebSocket sends one message
//! each).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use crate::ws::Text as Utf8Bytes;
use futures_util::task::AtomicWaker;
use tokio::sync::Notify;

/// Why a push was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The session is closed.
    Closed,
    /// The queue would pass its byte limit: the client does not read.
    Full,
}

/// Encoded packets waiting for a transport. Each is shared, not copied,
/// with the other receivers of a broadcast.
pub(crate) struct Outbox {
    state: Mutex<State>,
    /// Something was queued, or the outbox closed. Every waiter is woken
    /// (a waiter registers before it looks, so none misses a change): a
    /// taker that stopped waiting must not swallow the wake-up of the next.
    ready: Notify,
    /// The session's actor while a WebSocket carries the session: woken
    /// like `ready`'s waiters, through one registered waker, which a wake
    /// takes (the pushes until its next look wake it no more).
    actor: AtomicWaker,
    /// Everything queued was taken.
    drained: Notify,
    limit: usize,
}

struct State {
    queue: VecDeque<Utf8Bytes>,
    bytes: usize,
    closed: bool,
}

impl Outbox {
    pub(crate) fn new(limit: usize) -> Outbox {
        Outbox {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                bytes: 0,
                closed: false,
            }),
            ready: Notify::new(),
            actor: AtomicWaker::new(),
            drained: Notify::new(),
            limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section is one push or take: a panic elsewhere
        // cannot leave the state half-made.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues packets together (nothing comes between them), or none of
    /// them when they would pass the limit.
    pub(crate) fn push_all(
        &self,
        packets: impl IntoIterator<Item = Utf8Bytes>,
    ) -> Result<(), PushError> {
        {
            let mut state = self.lock();
            if state.closed {
                return Err(PushError::Closed);
            }
            let start = state.queue.len();
            let mut bytes = state.bytes;
            for packet in packets {
                bytes += packet.len();
                state.queue.push_back(packet);
            }
            if bytes > self.limit {
                state.queue.truncate(start);
                return Err(PushError::Full);
            }
            state.bytes = bytes;
        }
        self.wake();
        Ok(())
    }

    /// Queues a protocol packet (a heartbeat, an ack, a farewell) even past
    /// the limit: losing it would break the protocol. `false` once closed.
    pub(crate) fn push_control(&self, packet: Utf8Bytes) -> bool {
        {
            let mut state = self.lock();
            if state.closed {
                return false;
            }
            state.bytes += packet.len();
            state.queue.push_back(packet);
        }
        self.wake();
        true
    }

    fn drain(&self, state: &mut State) -> Vec<Utf8Bytes> {
        state.bytes = 0;
        let packets = state.queue.drain(..).collect();
        self.drained.notify_waiters();
        packets
    }

    /// Everything queued, oldest first; the queue is then empty.
    #[cfg(test)]
    pub(crate) fn take(&self) -> Vec<Utf8Bytes> {
        let mut state = self.lock();
        self.drain(&mut state)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lock().queue.is_empty()
    }

    /// Waits until something is queued and takes it all; `None` once the
    /// outbox is closed and empty. Dropped while it waits, it takes
    /// nothing: what is queued stays for the next taker.
    pub(crate) async fn next(&self) -> Option<Vec<Utf8Bytes>> {
        loop {
            let notified = self.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if !state.queue.is_empty() {
                    return Some(self.drain(&mut state));
                }
                if state.closed {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Resolves once nothing is queued.
    pub(crate) async fn drained(&self) {
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_empty() {
                return;
            }
            notified.await;
        }
    }

    /// Refuses further pushes and wakes the taker; what is queued can still
    /// be taken.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.wake();
    }

    fn wake(&self) {
        self.ready.notify_waiters();
        self.actor.wake();
    }

    /// [`next`](Outbox::next) for the session's actor, polled: it leaves
    /// its waker, then looks.
    pub(crate) fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Vec<Utf8Bytes>>> {
        self.actor.register(cx.waker());
        let mut state = self.lock();
        if !state.queue.is_empty() {
            return Poll::Ready(Some(self.drain(&mut state)));
        }
        if state.closed {
            return Poll::Ready(None);
        }
        Poll::Pending
    }

    /// Takes the actor's waker back: what is pushed until its next look is
    /// taken then, without waking it (it pushes itself, while it handles a
    /// message).
    pub(crate) fn mute(&self) {
        drop(self.actor.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &'static str) -> Utf8Bytes {
        Utf8Bytes::from_static(s)
    }

    #[tokio::test]
    async fn takes_in_order_and_drains_after_close() {
        let outbox = Outbox::new(64);
        outbox.push_all([text("1::"), text("3:::a")]).unwrap();
        assert!(outbox.push_control(text("2::")));
        assert_eq!(
            outbox.next().await.unwrap(),
            [text("1::"), text("3:::a"), text("2::")]
        );
        outbox.push_all([text("3:::b")]).unwrap();
        outbox.close();
        assert_eq!(outbox.push_all([text("x")]), Err(PushError::Closed));
        assert!(!outbox.push_control(text("0::")));
        assert_eq!(outbox.next().await.unwrap(), [text("3:::b")]);
        assert_eq!(outbox.next().await, None);
        outbox.drained().await;
    }

    #[tokio::test]
    async fn an_abandoned_taker_does_not_swallow_the_next_ones_wake_up() {
        let outbox = std::sync::Arc::new(Outbox::new(64));
        let abandoned = outbox.next();
        tokio::pin!(abandoned);
        assert!(futures_util::poll!(abandoned.as_mut()).is_pending());
        let taker = tokio::spawn({
            let outbox = std::sync::Arc::clone(&outbox);
            async move { outbox.next().await }
        });
        tokio::task::yield_now().await;
        outbox.close();
        let taken = tokio::time::timeout(std::time::Duration::from_secs(5), taker)
            .await
            .expect("the live taker wakes")
            .unwrap();
        assert_eq!(taken, None);
    }

    #[test]
    fn refuses_a_batch_past_the_limit_whole() {
        let outbox = Outbox::new(8);
        outbox.push_all([text("3:::abc")]).unwrap();
        assert_eq!(
            outbox.push_all([text("2::"), text("3:::d")]),
            Err(PushError::Full)
        );
        assert_eq!(outbox.take(), [text("3:::abc")]);
        // Control packets pass the limit.
        assert!(outbox.push_control(text("3:::0123456789")));
    }
}
