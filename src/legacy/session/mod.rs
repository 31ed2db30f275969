//! 0.6 sessions: the state transports and [`Socket`](crate::Socket) handles
//! share, and the actor task that owns the application's connection.
//!
//! A session is created by the request that opens it. Its outgoing side is
//! an [`Outbox`]: encoded frames appended in order and taken, all at once,
//! by whichever transport request is there to carry them. Its incoming side
//! is a bounded channel to the actor (`actor::Actor::run`).

pub(crate) mod actor;
mod outbox;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rand::Rng;
use rand::distr::Alphanumeric;
use tokio::sync::mpsc;

use crate::latch::Latch;
use crate::protocol::legacy::{self, Frame};
use crate::{DisconnectReason, Transport};

pub(crate) use outbox::{Outbox, PushError};

/// Length of a session id: 22 characters of `[0-9A-Za-z]` carry 130 bits.
const ID_LEN: usize = 22;
/// Batches of incoming messages the actor may lag behind its transport.
const INBOX_DEPTH: usize = 8;

/// A fresh, unguessable session id from the thread's CSPRNG.
pub(crate) fn new_id() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(ID_LEN)
        .map(char::from)
        .collect()
}

/// The part of a session shared between its actor, its transports and the
/// application's `Socket` handles.
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) transport: Transport,
    pub(crate) outbox: Outbox,
    /// HTTP transports' POSTs deliver here; a WebSocket session's task
    /// reads its client itself and has none.
    inbox: Option<mpsc::Sender<Vec<Frame>>>,
    /// Raised once the session is asked to end.
    closing: Latch,
    /// The session's task, woken too when the session is asked to end: it
    /// watches that at every turn, which through the latch's `Notify`
    /// would take a lock each time.
    actor: futures_util::task::AtomicWaker,
    reason: OnceLock<DisconnectReason>,
    poll: Mutex<PollState>,
}

struct PollState {
    /// A request is carrying this session's output right now.
    request_open: bool,
    /// When the last carrying request ended (or the session began).
    last_seen: Instant,
}

impl crate::registry::Listed for Session {
    fn id(&self) -> &str {
        &self.id
    }

    fn close(&self, reason: DisconnectReason) {
        Session::close(self, reason);
    }
}

impl Session {
    /// A new session whose outbox already holds the session id, the first
    /// message the client must see.
    pub(crate) fn new(
        transport: Transport,
        max_queued_bytes: usize,
    ) -> (Session, Option<mpsc::Receiver<Vec<Frame>>>) {
        let id = new_id();
        let mut greeting = String::with_capacity(32);
        legacy::encode_text(&mut greeting, &id);
        let outbox = Outbox::new(greeting, max_queued_bytes);
        let (inbox, receiver) = if transport.is_websocket() {
            (None, None)
        } else {
            let (inbox, receiver) = mpsc::channel(INBOX_DEPTH);
            (Some(inbox), Some(receiver))
        };
        let session = Session {
            id,
            transport,
            outbox,
            inbox,
            closing: Latch::default(),
            actor: futures_util::task::AtomicWaker::new(),
            reason: OnceLock::new(),
            poll: Mutex::new(PollState {
                request_open: false,
                last_seen: Instant::now(),
            }),
        };
        (session, receiver)
    }

    /// Asks the actor to end the session. The first reason given wins.
    pub(crate) fn close(&self, reason: DisconnectReason) {
        let _ = self.reason.set(reason);
        self.closing.raise();
        self.actor.wake();
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.is_raised()
    }

    /// Resolves once the session is asked to close.
    pub(crate) async fn closing(&self) {
        self.closing.raised().await
    }

    /// [`closing`](Session::closing) for the session's own task, polled:
    /// a registered waker instead of a `Notify`'s list. Only that task
    /// may use it (it has room for one waker).
    pub(crate) fn poll_closing(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.is_closing() {
            return std::task::Poll::Ready(());
        }
        self.actor.register(cx.waker());
        if self.is_closing() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }

    /// The reason the session is closing; a cancelled parent means shutdown.
    pub(crate) fn close_reason(&self) -> DisconnectReason {
        self.reason
            .get()
            .copied()
            .unwrap_or(DisconnectReason::ServerShuttingDown)
    }

    /// Hands decoded messages to the actor, waiting while it is busy (the
    /// transport then stops reading: backpressure). `false` once the
    /// session is gone.
    pub(crate) async fn deliver(&self, frames: Vec<Frame>) -> bool {
        let Some(inbox) = &self.inbox else {
            return false;
        };
        if frames.is_empty() {
            return !self.is_closing();
        }
        // The common case, an actor keeping up, needs no waiting machinery.
        let frames = match inbox.try_send(frames) {
            Ok(()) => return true,
            Err(mpsc::error::TrySendError::Closed(_)) => return false,
            Err(mpsc::error::TrySendError::Full(frames)) => frames,
        };
        tokio::select! {
            sent = inbox.send(frames) => sent.is_ok(),
            () = self.closing() => false,
        }
    }

    /// Marks a request as carrying this session's output. `None` when one
    /// already is: a second concurrent poll is refused, not served.
    pub(crate) fn begin_request(self: &Arc<Self>) -> Option<RequestGuard> {
        let mut poll = self.poll.lock().unwrap_or_else(|e| e.into_inner());
        if poll.request_open {
            return None;
        }
        poll.request_open = true;
        Some(RequestGuard {
            session: Arc::clone(self),
        })
    }

    /// No request carried this session's output for `expiry`.
    pub(crate) fn expired(&self, expiry: Duration) -> bool {
        let poll = self.poll.lock().unwrap_or_else(|e| e.into_inner());
        !poll.request_open && poll.last_seen.elapsed() >= expiry
    }
}

/// Held while a request carries a session's output; releases it on drop,
/// whether the request completed or its client vanished.
pub(crate) struct RequestGuard {
    session: Arc<Session>,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut poll = self.session.poll.lock().unwrap_or_else(|e| e.into_inner());
        poll.request_open = false;
        poll.last_seen = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_long_alphanumeric_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), ID_LEN);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn a_second_request_is_refused_while_one_is_open() {
        let (session, _rx) = Session::new(Transport::XhrPolling, 1024);
        let session = Arc::new(session);
        let first = session.begin_request();
        assert!(first.is_some());
        assert!(session.begin_request().is_none());
        drop(first);
        assert!(session.begin_request().is_some());
    }
}
