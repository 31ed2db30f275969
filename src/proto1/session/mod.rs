//! Protocol-1 sessions: the state the transports and [`Socket`](crate::Socket)
//! handles share, and the actor task that owns the application's
//! connections, one per endpoint.
//!
//! A session is made by the handshake. Its outgoing side is an [`Outbox`]
//! of encoded packets, taken by whichever request carries them (one at a
//! time); its incoming side is a bounded channel to the actor
//! (`actor::Actor::run`), which also keeps the session's clocks: the
//! heartbeats of the persistent transports and the close timeout of a
//! session no transport carries.

pub(crate) mod actor;
mod endpoints;
mod outbox;

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::protocol::proto1::Packet;
use crate::{DisconnectReason, Transport};

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
}

/// The part of a session shared by its actor, its transports and the
/// application's `Socket` handles.
pub(crate) struct Session {
    pub(crate) id: Arc<str>,
    pub(crate) outbox: Outbox,
    inbox: mpsc::Sender<Inbound>,
    cancel: CancellationToken,
    reason: OnceLock<DisconnectReason>,
    carry: Mutex<Carry>,
    /// A request began or stopped carrying the session.
    carrier_changed: Notify,
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

impl Session {
    /// A new session with a fresh CSPRNG id; `parent` ties it to a
    /// server's shutdown.
    pub(crate) fn new(
        max_queued_bytes: usize,
        parent: Option<&CancellationToken>,
    ) -> (Session, mpsc::Receiver<Inbound>) {
        let (inbox, receiver) = mpsc::channel(INBOX_DEPTH);
        let session = Session {
            id: Arc::from(crate::legacy::session::new_id().as_str()),
            outbox: Outbox::new(max_queued_bytes),
            inbox,
            cancel: parent.map_or_else(CancellationToken::new, CancellationToken::child_token),
            reason: OnceLock::new(),
            carry: Mutex::new(Carry {
                current: None,
                transport: None,
                idle_since: Instant::now(),
            }),
            carrier_changed: Notify::new(),
        };
        (session, receiver)
    }

    fn carry_state(&self) -> MutexGuard<'_, Carry> {
        self.carry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the actor to end the session. The first reason given wins.
    pub(crate) fn close(&self, reason: DisconnectReason) {
        let _ = self.reason.set(reason);
        self.cancel.cancel();
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves once the session is asked to close.
    pub(crate) async fn closing(&self) {
        self.cancel.cancelled().await
    }

    /// Why the session is closing; a cancelled parent means shutdown.
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

    async fn send(&self, inbound: Inbound) -> bool {
        let inbound = match self.inbox.try_send(inbound) {
            Ok(()) => return true,
            Err(mpsc::error::TrySendError::Closed(_)) => return false,
            Err(mpsc::error::TrySendError::Full(inbound)) => inbound,
        };
        tokio::select! {
            sent = self.inbox.send(inbound) => sent.is_ok(),
            () = self.cancel.cancelled() => false,
        }
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
        self.carrier_changed.notify_one();
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

    /// When the session times out unless a request carries it before:
    /// `None` while one does.
    pub(crate) fn idle_deadline(&self, close_timeout: Duration) -> Option<Instant> {
        let carry = self.carry_state();
        match carry.current {
            Some(_) => None,
            None => Some(crate::engine::later(carry.idle_since, close_timeout)),
        }
    }

    /// Resolves when a request begins or stops carrying the session (maybe
    /// spuriously: look again).
    pub(crate) async fn carrier_changed(&self) {
        self.carrier_changed.notified().await
    }
}

/// Held while a request carries a session's output; releases it on drop,
/// whether the request completed or its client vanished.
pub(crate) struct CarryGuard {
    session: Arc<Session>,
}

impl Drop for CarryGuard {
    fn drop(&mut self) {
        {
            let mut carry = self.session.carry_state();
            carry.current = None;
            carry.idle_since = Instant::now();
        }
        self.session.carrier_changed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_request_carries_at_a_time_and_the_first_opens() {
        let (session, mut inbox) = Session::new(1024, None);
        let session = Arc::new(session);
        assert_eq!(session.id.len(), 22);
        assert!(session.idle_deadline(Duration::from_secs(1)).is_some());
        let first = session.carry(Transport::XhrPolling).await.unwrap();
        assert!(matches!(
            inbox.try_recv(),
            Ok(Inbound::Opened(Transport::XhrPolling))
        ));
        assert!(session.carry(Transport::XhrPolling).await.is_none());
        assert!(session.idle_deadline(Duration::from_secs(1)).is_none());
        drop(first);
        let _second = session.carry(Transport::XhrPolling).await.unwrap();
        assert!(inbox.try_recv().is_err(), "only the first carrier opens");
        assert_eq!(session.transport(), Some(Transport::XhrPolling));
    }
}
