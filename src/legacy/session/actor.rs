//! The one task per session that owns the application's [`Connection`].
//!
//! It runs the callbacks one at a time, in order, and is the only place
//! that decides a session's life: heartbeats and their timeout for
//! persistent transports, expiry for polling ones, and the final
//! `on_close`, called exactly once. A WebSocket session's task also owns
//! its socket: a message is read, handled and answered here, without a hop
//! to another task.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};

use super::Session;
use crate::connection::OpenInfo;
use crate::engine::later;
use crate::legacy::Registry;
use crate::panic::guarded;
use crate::protocol::legacy::{self, Frame};
use crate::socket::namespace::DynConnection;
use crate::ws::{self, WsStream};
use crate::{DisconnectReason, Message, Settings, Socket};

/// How long a closing session's last output and close frame may take to go
/// out: a client that does not read must not hold its connection open.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Everything a session's task needs, handed over when it starts.
pub(crate) struct Actor {
    pub(crate) connection: Box<dyn DynConnection>,
    pub(crate) opening: Opening,
}

/// A new session as its opening request left it, before a connection
/// value is made for it.
pub(crate) struct Opening {
    pub(crate) socket: Socket,
    pub(crate) info: OpenInfo,
    /// HTTP transports' POSTs, decoded (none for a WebSocket session).
    pub(crate) inbox: Option<mpsc::Receiver<Vec<Frame>>>,
    /// A WebSocket session's upgrade, taken over once `on_open` accepted.
    pub(crate) upgrade: Option<hyper::upgrade::OnUpgrade>,
    pub(crate) settings: Arc<Settings>,
    /// Where the session is listed by id, for its transports.
    pub(crate) registry: Registry,
    /// Told whether `on_open` accepted the connection.
    pub(crate) opened: oneshot::Sender<bool>,
}

impl Actor {
    /// Runs the session to its end.
    pub(crate) async fn run(self) {
        let Actor {
            mut connection,
            opening:
                Opening {
                    socket,
                    info,
                    mut inbox,
                    upgrade,
                    settings,
                    registry,
                    opened,
                },
        } = self;
        let Some(session) = socket.legacy_session() else {
            return;
        };
        let accepted = matches!(
            guarded("on_open", connection.on_open(&socket, &info)).await,
            Some(Ok(()))
        );
        // What the opening request carried is not needed any more.
        drop(info);
        let delivered = opened.send(accepted).is_ok();
        if !accepted || !delivered {
            unlist(&socket, &registry);
            session.outbox.close();
            if !accepted {
                tracing::debug!("session refused");
                session.close(DisconnectReason::ServerNamespaceDisconnect);
                return;
            }
            // on_open accepted the session, so on_close must follow, even
            // though its opening request went away before hearing of it.
            tracing::debug!("the opening request went away; closing the session");
            session.close(DisconnectReason::TransportClose);
            let reason = DisconnectReason::TransportClose;
            guarded("on_close", connection.on_close(&socket, reason)).await;
            return;
        }
        tracing::debug!("session open");

        let mut ws = match upgrade {
            Some(upgrade) => match ws::accept(upgrade, settings.max_message_size).await {
                Some(ws) => Some(ws),
                None => {
                    session.close(DisconnectReason::TransportClose);
                    None
                }
            },
            None => None,
        };
        let reason = Lifecycle::new(&session, &settings)
            .drive(&mut *connection, &socket, &mut inbox, &mut ws)
            .await;
        session.close(reason);
        let reason = session.close_reason();
        unlist(&socket, &registry);
        session.outbox.close();
        if let Some(ws) = &mut ws {
            farewell(&session, ws, reason).await;
        }
        let unsent = session.outbox.queued_len();
        if unsent > 0 && !session.transport.is_persistent() {
            tracing::info!(?reason, unsent, "session closed with undelivered output");
        }
        tracing::debug!(%reason, "session closed");
        guarded("on_close", connection.on_close(&socket, reason)).await;
    }
}

/// The next decoded POST; pending forever for a WebSocket session.
async fn receive(inbox: &mut Option<mpsc::Receiver<Vec<Frame>>>) -> Option<Vec<Frame>> {
    match inbox {
        Some(inbox) => inbox.recv().await,
        None => std::future::pending().await,
    }
}

/// The frames of the next WebSocket message; pending forever without one.
async fn next_message(ws: &mut Option<WsStream>) -> Result<Vec<Frame>, DisconnectReason> {
    let Some(ws) = ws else {
        return std::future::pending().await;
    };
    let violation = match ws.next().await {
        Some(Ok(ws::Message::Text(text))) => match legacy::decode(&text) {
            Ok(frames) => return Ok(frames),
            Err(error) => format!("malformed message: {error}"),
        },
        Some(Ok(ws::Message::Binary(_))) => "binary message on a text protocol".to_owned(),
        Some(Ok(ws::Message::Close(_))) | None => return Err(DisconnectReason::TransportClose),
        Some(Err(ws::Error::Violation(violation))) => violation.to_string(),
        Some(Err(error)) => {
            tracing::debug!(%error, "websocket ended");
            return Err(DisconnectReason::TransportError);
        }
    };
    tracing::warn!(%violation, "closing the session");
    Err(DisconnectReason::ParseError)
}

/// After the session ended: what the application queued before it closed
/// goes out, if the client takes it promptly, then the close frame.
async fn farewell(session: &Session, ws: &mut WsStream, reason: DisconnectReason) {
    let gone = matches!(
        reason,
        DisconnectReason::TransportClose | DisconnectReason::TransportError
    );
    let goodbye = async {
        if !gone && let Some(payload) = session.outbox.take() {
            ws.send(&[ws::Payload::OwnedText(payload)]).await?;
        }
        ws.close(1000).await
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, goodbye).await;
}

/// Takes a session out of its namespace and the transports' registry.
fn unlist(socket: &Socket, registry: &Registry) {
    socket.inner.ns.remove(socket.id());
    socket.mark_closed();
    registry.remove(socket.id());
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
            next_beat: later(Instant::now(), settings.heartbeat_interval),
            awaiting: None,
        }
    }

    /// Feeds messages to the connection until something ends the session.
    async fn drive(
        &mut self,
        connection: &mut dyn DynConnection,
        socket: &Socket,
        inbox: &mut Option<mpsc::Receiver<Vec<Frame>>>,
        ws: &mut Option<WsStream>,
    ) -> DisconnectReason {
        let session = self.session;
        let persistent = session.transport.is_persistent();
        let mut expiry_check = tokio::time::interval(self.settings.session_check_interval);
        expiry_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Built once and reset, not rebuilt each turn: this loop runs per
        // message, and a timer rebuilt is a timer wheel entry registered
        // and cleared again.
        let beat = sleep_until(self.next_beat);
        let echo_deadline = sleep_until(self.next_beat);
        tokio::pin!(beat, echo_deadline);
        // The session's task takes its own output only when a WebSocket
        // carries it; otherwise the request carrying the session does.
        let carried = ws.is_some();
        loop {
            tokio::select! {
                biased;
                () = poll_fn(|cx| session.poll_closing(cx)) => return session.close_reason(),
                frames = receive(inbox) => {
                    let Some(frames) = frames else { return DisconnectReason::TransportClose };
                    for frame in frames {
                        if !self.handle(connection, socket, frame).await {
                            return DisconnectReason::HandlerPanicked;
                        }
                    }
                }
                read = next_message(ws) => {
                    let frames = match read {
                        Ok(frames) => frames,
                        Err(reason) => return reason,
                    };
                    // What the callbacks queue is taken in this same turn,
                    // just below: their pushes need not wake this task.
                    session.outbox.mute();
                    for frame in frames {
                        if !self.handle(connection, socket, frame).await {
                            return DisconnectReason::HandlerPanicked;
                        }
                    }
                }
                payload = poll_fn(|cx| session.outbox.poll_next(cx)), if carried => {
                    let Some(payload) = payload else { return session.close_reason() };
                    if let Some(ws) = ws.as_mut() {
                        // A client that does not read blocks this write; the
                        // session then closes (its queue fills, or its
                        // heartbeat goes unanswered) and must not wait on it.
                        let payload = [ws::Payload::OwnedText(payload)];
                        let sent = tokio::select! {
                            biased;
                            sent = ws.send(&payload) => sent.is_ok(),
                            () = poll_fn(|cx| session.poll_closing(cx)) => false,
                        };
                        if !sent {
                            return DisconnectReason::TransportError;
                        }
                    }
                }
                () = &mut echo_deadline, if self.awaiting.is_some() => {
                    tracing::debug!(beat = self.awaiting.map(|a| a.0), "no heartbeat echo in time");
                    return DisconnectReason::PingTimeout;
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
                        return DisconnectReason::PingTimeout;
                    }
                }
            }
        }
    }

    /// Handles one incoming frame; `false` when a callback panicked.
    async fn handle(
        &mut self,
        connection: &mut dyn DynConnection,
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
        guarded("on_message", connection.on_message(socket, message))
            .await
            .is_some()
    }

    /// Sends a heartbeat and, unless one is awaited already, arms its echo
    /// deadline. Heartbeats go out every interval, traffic or not, so that
    /// a client which takes output but never answers is still found out.
    fn heartbeat(&mut self) {
        let now = Instant::now();
        self.beat += 1;
        let mut frame = String::new();
        legacy::encode_heartbeat(&mut frame, self.beat);
        // Past the queue's limit if need be: a lost heartbeat would leave
        // the echo deadline unarmed.
        if self.session.outbox.push_control(&frame) {
            tracing::trace!(n = self.beat, "heartbeat");
            if self.awaiting.is_none() {
                self.awaiting = Some((self.beat, later(now, self.settings.heartbeat_timeout)));
            }
        }
        self.next_beat = later(now, self.settings.heartbeat_interval);
    }
}
