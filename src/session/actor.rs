//! The one task per session that owns the application's [`Connection`].
//!
//! It runs the callbacks one at a time, in order, and is the only place
//! that decides a session's life: heartbeats and their timeout for
//! persistent transports, expiry for polling ones, and the final
//! `on_close`, called exactly once.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};

use super::{CloseReason, Session};
use crate::connection::{Connection, OpenInfo};
use crate::protocol::legacy::{self, Frame};
use crate::{Message, Settings, Socket};

/// Everything a session's task needs, handed over when it starts.
pub(crate) struct Actor<C> {
    pub(crate) connection: C,
    pub(crate) opening: Opening,
}

/// A new session as its opening request left it, before a connection
/// value is made for it.
pub(crate) struct Opening {
    pub(crate) socket: Socket,
    pub(crate) info: OpenInfo,
    pub(crate) inbox: mpsc::Receiver<Vec<Frame>>,
    pub(crate) settings: Arc<Settings>,
    /// Told whether `on_open` accepted the connection.
    pub(crate) opened: oneshot::Sender<bool>,
}

/// Runs a user callback; a panic in it is caught and reported as `None`.
async fn guarded<T>(socket: &Socket, callback: &str, future: impl Future<Output = T>) -> Option<T> {
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(value) => Some(value),
        Err(_) => {
            tracing::error!(session = %socket.id(), callback, "callback panicked; closing the session");
            None
        }
    }
}

impl<C: Connection> Actor<C> {
    /// Runs the session to its end.
    pub(crate) async fn run(self) {
        let Actor {
            mut connection,
            opening:
                Opening {
                    socket,
                    info,
                    mut inbox,
                    settings,
                    opened,
                },
        } = self;
        let session = Arc::clone(&socket.session);
        let accepted = matches!(
            guarded(&socket, "on_open", connection.on_open(&socket, &info)).await,
            Some(Ok(()))
        );
        // What the opening request carried is not needed any more.
        drop(info);
        let delivered = opened.send(accepted).is_ok();
        if !accepted || !delivered {
            socket.sockets().remove(&session.id);
            session.outbox.close();
            if !accepted {
                tracing::debug!("session refused");
                session.close(CloseReason::Server);
                return;
            }
            // on_open accepted the session, so on_close must follow, even
            // though its opening request went away before hearing of it.
            tracing::debug!("the opening request went away; closing the session");
            session.close(CloseReason::TransportClosed);
            guarded(&socket, "on_close", connection.on_close(&socket)).await;
            return;
        }
        tracing::debug!("session open");

        let reason = Lifecycle::new(&session, &settings)
            .drive(&mut connection, &socket, &mut inbox)
            .await;
        session.close(reason);
        let reason = session.close_reason();
        socket.sockets().remove(&session.id);
        session.outbox.close();
        let unsent = session.outbox.queued_len();
        if unsent > 0 && !session.transport.is_persistent() {
            tracing::info!(?reason, unsent, "session closed with undelivered output");
        }
        tracing::debug!(?reason, "session closed");
        guarded(&socket, "on_close", connection.on_close(&socket)).await;
    }
}

/// The heartbeat and expiry clocks of one session.
struct Lifecycle<'a> {
    session: &'a Session,
    settings: &'a Settings,
    beat: u64,
    next_beat: Instant,
    /// The oldest unanswered heartbeat and when it times out.
    awaiting: Option<(u64, Instant)>,
}

impl<'a> Lifecycle<'a> {
    fn new(session: &'a Session, settings: &'a Settings) -> Self {
        Lifecycle {
            session,
            settings,
            beat: 0,
            next_beat: Instant::now() + settings.heartbeat_interval,
            awaiting: None,
        }
    }

    /// Feeds messages to the connection until something ends the session.
    async fn drive<C: Connection>(
        &mut self,
        connection: &mut C,
        socket: &Socket,
        inbox: &mut mpsc::Receiver<Vec<Frame>>,
    ) -> CloseReason {
        let session = self.session;
        let persistent = session.transport.is_persistent();
        let mut expiry_check = tokio::time::interval(self.settings.session_check_interval);
        expiry_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Built once and reset, not rebuilt each turn: this loop runs per
        // message, and a timer rebuilt is a timer wheel entry registered
        // and cleared again.
        let closing = session.closing();
        let beat = sleep_until(self.next_beat);
        let echo_deadline = sleep_until(self.next_beat);
        tokio::pin!(closing, beat, echo_deadline);
        loop {
            tokio::select! {
                biased;
                () = &mut closing => return session.close_reason(),
                frames = inbox.recv() => {
                    let Some(frames) = frames else { return CloseReason::TransportClosed };
                    for frame in frames {
                        if !self.handle(connection, socket, frame).await {
                            return CloseReason::Panic;
                        }
                    }
                }
                () = &mut echo_deadline, if self.awaiting.is_some() => {
                    tracing::debug!(beat = self.awaiting.map(|a| a.0), "no heartbeat echo in time");
                    return CloseReason::HeartbeatTimeout;
                }
                () = &mut beat, if persistent => {
                    let was_awaiting = self.awaiting.is_some();
                    self.heartbeat();
                    beat.as_mut().reset(self.next_beat);
                    if let (false, Some((_, at))) = (was_awaiting, self.awaiting) {
                        echo_deadline.as_mut().reset(at);
                    }
                }
                _ = expiry_check.tick(), if !persistent => {
                    if session.expired(self.settings.session_expiry) {
                        return CloseReason::Expired;
                    }
                }
            }
        }
    }

    /// Handles one incoming frame; `false` when a callback panicked.
    async fn handle<C: Connection>(
        &mut self,
        connection: &mut C,
        socket: &Socket,
        frame: Frame,
    ) -> bool {
        let message = match frame {
            Frame::Heartbeat(n) => {
                tracing::trace!(n, "heartbeat echo");
                if self.awaiting.is_some_and(|(expected, _)| n >= expected) {
                    self.awaiting = None;
                }
                return true;
            }
            Frame::Text(text) => Message::Text(text),
            Frame::Json(value) => Message::Json(value),
        };
        tracing::trace!(?message, "message");
        guarded(socket, "on_message", connection.on_message(socket, message))
            .await
            .is_some()
    }

    /// Sends a heartbeat, unless other output went out recently enough.
    fn heartbeat(&mut self) {
        let interval = self.settings.heartbeat_interval;
        let now = Instant::now();
        let quiet_until = Instant::from_std(self.session.outbox.last_push()) + interval;
        if quiet_until > now {
            self.next_beat = quiet_until;
            return;
        }
        self.beat += 1;
        let mut frame = String::new();
        legacy::encode_heartbeat(&mut frame, self.beat);
        if self.session.outbox.push(&frame).is_ok() {
            tracing::trace!(n = self.beat, "heartbeat");
            if self.awaiting.is_none() {
                self.awaiting = Some((self.beat, now + self.settings.heartbeat_timeout));
            }
        }
        self.next_beat = now + interval;
    }
}
