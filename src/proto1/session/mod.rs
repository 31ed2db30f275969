//! Protocol-1 sessions: the state the transports and [`Socket`](crate::Socket)
//! handles share, and the actor task that owns the application's
//! connections, one per endpoint.
//!
//! A session is made by the handshake. Its outgoing side is an [`Outbox`]
//! of encoded packets, taken by whichever request carries them (one at a
//! time); its incoming side is a short queue to the actor
//! (`actor::Actor::run`), which also keeps the session's clocks: the
//! heartbeats of the persistent transports and the close timeout of a
//! session no transport carries. A WebSocket carrying the session is
//! handed to the actor, which then reads and writes it itself
//! ([`carrier`]).

pub(crate) mod actor;
pub(crate) mod carrier;
mod endpoints;
mod outbox;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::latch::Latch;
use crate::protocol::proto1::Packet;
use crate::{DisconnectReason, Transport};
use carrier::Carrier;

pub(crate) use outbox::{Outbox, PushError};

/// Batches of incoming packets the actor may lag behind its transports.
const INBOX_DEPTH: usize = 8;

/// What reaches a session's actor from its transports.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A transport carries the session for the first time: the client is
    /// connected, and the endpoint `""` opens.
    Opened(Transport),
    /// Packets from the client, in order.
    Packets(Vec<Packet>),
    /// A WebSocket carries the session from now on: the actor reads and
    /// writes it.
    WebSocket(Box<Carrier>),
}

/// What the session's actor is called for ([`Session::poll_call`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// The session is asked to end.
    Close,
    /// A request began or stopped carrying the session (maybe spuriously:
    /// look again).
    CarrierChanged,
    /// Commands wait in the connections' mailbox.
    Commands,
    /// Something waits in the inbox ([`Session::take_inbound`]).
    Inbound,
}

/// The part of a session shared by its actor, its transports and the
/// application's `Socket` handles.
pub(crate) struct Session {
    pub(crate) id: Arc<str>,
    pub(crate) outbox: Outbox,
    /// What the transports hand the actor, in order: a queue, not a
    /// channel, which would allocate a block of slots per session up
    /// front and take more work to look at once per message.
    inbox: Mutex<Inbox>,
    /// The actor took from a full inbox, or it closed: a transport
    /// waiting to hand something over looks again.
    inbox_room: Notify,
    /// Raised once the session is asked to end. It and the flags below
    /// wake the actor through `actor`: a registered waker, not a
    /// cancellation token or a `Notify`, since the actor looks at them at
    /// every turn, once per message, and a look at either of those takes a
    /// lock.
    closing: Latch,
    /// A persistent transport's request began or stopped carrying the
    /// session (the heartbeat starts with one). A polling request does
    /// not wake the actor: the idle clock looks at the carrier when it
    /// runs out.
    carrier_changed: AtomicBool,
    /// The handles of the session's connections left commands.
    signaled: AtomicBool,
    /// Something was put in the inbox.
    inbound: AtomicBool,
    /// The session's actor, woken when the latch or one of the three flags
    /// above is set ([`Session::poll_call`]).
    actor: AtomicWaker,
    reason: OnceLock<DisconnectReason>,
    carry: Mutex<Carry>,
}

/// The actor's inbox: at most [`INBOX_DEPTH`] things waiting.
struct Inbox {
    queue: VecDeque<Inbound>,
    /// The actor takes no more.
    closed: bool,
}

/// Who carries the session's output.
struct Carry {
    /// The transport of the request carrying it now, if one does.
    current: Option<Transport>,
    /// The transport that carries it, or carried it last.
    transport: Option<Transport>,
    /// When the last carrying request ended (at first: the handshake).
    idle_since: Instant,
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
    /// A new session with a fresh CSPRNG id.
    pub(crate) fn new(max_queued_bytes: usize) -> Session {
        Session {
            id: Arc::from(crate::legacy::session::new_id().as_str()),
            outbox: Outbox::new(max_queued_bytes),
            inbox: Mutex::new(Inbox {
                queue: VecDeque::new(),
                closed: false,
            }),
            inbox_room: Notify::new(),
            closing: Latch::default(),
            carrier_changed: AtomicBool::new(false),
            signaled: AtomicBool::new(false),
            inbound: AtomicBool::new(false),
            actor: AtomicWaker::new(),
            reason: OnceLock::new(),
            carry: Mutex::new(Carry {
                current: None,
                transport: None,
                idle_since: Instant::now(),
            }),
        }
    }

    fn carry_state(&self) -> MutexGuard<'_, Carry> {
        self.carry.lock().unwrap_or_else(|e| e.into_inner())
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

    /// What the session's actor is called for besides its clocks and its
    /// transports' input, polled: it leaves its waker, then looks. The
    /// session's end comes first.
    pub(crate) fn poll_call(&self, cx: &mut Context<'_>) -> Poll<Call> {
        if let Some(call) = self.call() {
            return Poll::Ready(call);
        }
        self.actor.register(cx.waker());
        match self.call() {
            Some(call) => Poll::Ready(call),
            None => Poll::Pending,
        }
    }

    fn call(&self) -> Option<Call> {
        fn take(flag: &AtomicBool) -> bool {
            // Read before written: the common answer, no, writes nothing.
            flag.load(Ordering::Relaxed) && flag.swap(false, Ordering::AcqRel)
        }
        if self.is_closing() {
            Some(Call::Close)
        } else if take(&self.carrier_changed) {
            Some(Call::CarrierChanged)
        } else if take(&self.signaled) {
            Some(Call::Commands)
        } else if take(&self.inbound) {
            Some(Call::Inbound)
        } else {
            None
        }
    }

    fn carrier_changed(&self) {
        self.carrier_changed.store(true, Ordering::Release);
        self.actor.wake();
    }

    /// Tells the actor that its connections' handles left commands.
    pub(crate) fn signal(&self) {
        self.signaled.store(true, Ordering::Release);
        self.actor.wake();
    }

    /// Why the session is closing; no reason given means shutdown.
    pub(crate) fn close_reason(&self) -> DisconnectReason {
        self.reason
            .get()
            .copied()
            .unwrap_or(DisconnectReason::ServerShuttingDown)
    }

    /// Hands decoded packets to the actor, waiting while it is busy (the
    /// transport then stops reading: backpressure). `false` once the
    /// session is gone.
    pub(crate) async fn deliver(&self, packets: Vec<Packet>) -> bool {
        if packets.is_empty() {
            return !self.is_closing();
        }
        self.send(Inbound::Packets(packets)).await
    }

    /// Hands a WebSocket carrying the session to the actor; gives it back
    /// when the session is gone.
    pub(crate) async fn hand_over(&self, carrier: Carrier) -> Result<(), Box<Carrier>> {
        let inbound = Inbound::WebSocket(Box::new(carrier));
        match self.send_or_return(inbound).await {
            Some(Inbound::WebSocket(carrier)) => Err(carrier),
            _ => Ok(()),
        }
    }

    async fn send(&self, inbound: Inbound) -> bool {
        self.send_or_return(inbound).await.is_none()
    }

    fn inbox(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends to the actor, waiting while [`INBOX_DEPTH`] things wait
    /// already; `Some` with what was not delivered, once the actor takes
    /// no more or the session is closing.
    async fn send_or_return(&self, mut inbound: Inbound) -> Option<Inbound> {
        loop {
            match self.try_send(inbound) {
                Ok(()) => return None,
                Err((inbound, true)) => return Some(inbound),
                Err((again, false)) => inbound = again,
            }
            let room = self.inbox_room.notified();
            tokio::pin!(room);
            // Registered before the second look: room made between the
            // two wakes it.
            room.as_mut().enable();
            match self.try_send(inbound) {
                Ok(()) => return None,
                Err((inbound, true)) => return Some(inbound),
                Err((again, false)) => inbound = again,
            }
            tokio::select! {
                () = room => {}
                () = self.closing() => return Some(inbound),
            }
        }
    }

    /// Queues `inbound` unless the inbox is full or closed: then gives it
    /// back, with whether it is closed.
    fn try_send(&self, inbound: Inbound) -> Result<(), (Inbound, bool)> {
        {
            let mut inbox = self.inbox();
            if inbox.closed {
                return Err((inbound, true));
            }
            if inbox.queue.len() >= INBOX_DEPTH {
                return Err((inbound, false));
            }
            inbox.queue.push_back(inbound);
        }
        self.inbound.store(true, Ordering::Release);
        self.actor.wake();
        Ok(())
    }

    /// For the actor: the oldest thing in the inbox.
    pub(crate) fn take_inbound(&self) -> Option<Inbound> {
        let (next, was_full) = {
            let mut inbox = self.inbox();
            let was_full = inbox.queue.len() >= INBOX_DEPTH;
            (inbox.queue.pop_front(), was_full)
        };
        if was_full {
            self.inbox_room.notify_waiters();
        }
        next
    }

    /// For the actor, at its end: it takes no more. What waits in the
    /// inbox is dropped (a WebSocket in it closes).
    pub(crate) fn close_inbox(&self) {
        let unread = {
            let mut inbox = self.inbox();
            inbox.closed = true;
            std::mem::take(&mut inbox.queue)
        };
        self.inbox_room.notify_waiters();
        drop(unread);
    }

    /// Marks a request of `transport` as carrying the session's output;
    /// the first one ever also opens the client's connection. `None` when
    /// another request carries it already.
    pub(crate) async fn carry(self: &Arc<Self>, transport: Transport) -> Option<CarryGuard> {
        let first = {
            let mut carry = self.carry_state();
            if carry.current.is_some() {
                return None;
            }
            carry.current = Some(transport);
            carry.transport.replace(transport).is_none()
        };
        if transport.is_persistent() {
            self.carrier_changed();
        }
        let guard = CarryGuard {
            session: Arc::clone(self),
        };
        if first {
            // Nothing else can be queued before the first carrier: the
            // client sends nothing before it is connected.
            self.send(Inbound::Opened(transport)).await;
        }
        Some(guard)
    }

    /// The transport of the request carrying the session now, if one does.
    pub(crate) fn carrier(&self) -> Option<Transport> {
        self.carry_state().current
    }

    /// The transport that carries the session, or carried it last.
    pub(crate) fn transport(&self) -> Option<Transport> {
        self.carry_state().transport
    }

    /// When the session times out unless a request carries it before: a
    /// close timeout after the last carrying request ended. While one
    /// carries it, this has passed or will pass; [`Session::idle_expired`]
    /// then says no.
    pub(crate) fn idle_deadline(&self, close_timeout: Duration) -> Instant {
        crate::engine::later(self.carry_state().idle_since, close_timeout)
    }

    /// Whether no request carried the session for `close_timeout` until
    /// `now`. A request carrying it now counts as its last sign of life,
    /// so the deadline moves past `now`.
    pub(crate) fn idle_expired(&self, close_timeout: Duration, now: Instant) -> bool {
        let mut carry = self.carry_state();
        if carry.current.is_some() {
            carry.idle_since = now;
            return false;
        }
        crate::engine::later(carry.idle_since, close_timeout) <= now
    }
}

/// Held while a request carries a session's output; releases it on drop,
/// whether the request completed or its client vanished.
pub(crate) struct CarryGuard {
    session: Arc<Session>,
}

impl Drop for CarryGuard {
    fn drop(&mut self) {
        let persistent = {
            let mut carry = self.session.carry_state();
            carry.idle_since = Instant::now();
            carry.current.take().is_some_and(Transport::is_persistent)
        };
        if persistent {
            self.session.carrier_changed();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_request_carries_at_a_time_and_the_first_opens() {
        let session = Session::new(1024);
        let session = Arc::new(session);
        assert_eq!(session.id.len(), 22);
        let timeout = Duration::from_secs(1);
        let opened = session.idle_deadline(timeout);
        assert!(!session.idle_expired(timeout, opened - Duration::from_millis(1)));
        assert!(session.idle_expired(timeout, opened));
        let first = session.carry(Transport::XhrPolling).await.unwrap();
        assert!(matches!(
            session.take_inbound(),
            Some(Inbound::Opened(Transport::XhrPolling))
        ));
        assert!(session.carry(Transport::XhrPolling).await.is_none());
        // Carried: never idle, and the deadline moves past the look.
        let later = opened + Duration::from_secs(5);
        assert!(!session.idle_expired(timeout, later));
        assert_eq!(session.idle_deadline(timeout), later + timeout);
        drop(first);
        assert!(!session.idle_expired(timeout, Instant::now()));
        assert!(session.idle_expired(timeout, session.idle_deadline(timeout)));
        let _second = session.carry(Transport::XhrPolling).await.unwrap();
        assert!(
            session.take_inbound().is_none(),
            "only the first carrier opens"
        );
        assert_eq!(session.transport(), Some(Transport::XhrPolling));
    }

    #[tokio::test]
    async fn a_full_inbox_holds_its_sender_until_the_actor_takes_and_a_closed_one_refuses() {
        let session = Arc::new(Session::new(1024));
        for _ in 0..INBOX_DEPTH {
            assert!(session.deliver(vec![Packet::Noop]).await);
        }
        let waiting = tokio::spawn({
            let session = Arc::clone(&session);
            async move { session.deliver(vec![Packet::Heartbeat]).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the ninth waits for room");
        assert!(matches!(session.take_inbound(), Some(Inbound::Packets(_))));
        let delivered = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert!(delivered.expect("room wakes the sender").unwrap());
        let mut taken = 0;
        while session.take_inbound().is_some() {
            taken += 1;
        }
        assert_eq!(taken, INBOX_DEPTH, "seven left and the one that waited");
        session.close_inbox();
        assert!(!session.deliver(vec![Packet::Noop]).await);
        assert!(session.take_inbound().is_none());
    }
}
