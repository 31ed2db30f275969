//! [`BroadcastOperator`]: which sockets, then what to do with them, as
//! node's `io.to(room).except(other).emit(..)`.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::encode::{Body, Encoded};
use super::namespace::{Namespace, Selector};
use super::{AckFuture, Args, Socket, event_body};
use crate::error::SendError;
use crate::message::Outgoing;

/// A selection of the sockets of one namespace, and what to do with them.
/// Made by [`Socket::to`], [`Socket::broadcast`], [`Io::of`](crate::Io::of);
/// cheap to clone.
///
/// ```no_run
/// # fn demo(socket: &tornadio::Socket) -> Result<(), tornadio::SendError> {
/// // Everyone in "lobby" but those also in "muted", the sender excepted.
/// socket.to("lobby").except("muted").emit("chat", &("ann", "hello"))?;
/// // Everyone else in the namespace.
/// socket.broadcast().emit("joined", &socket.id())?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct BroadcastOperator {
    ns: Option<Arc<Namespace>>,
    selector: Selector,
    except_ids: Vec<Arc<str>>,
    timeout: Option<Duration>,
}

/// Some clients did not acknowledge a broadcast in time.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{missing} of the clients did not acknowledge in time")]
#[non_exhaustive]
pub struct BroadcastAckError {
    /// The answers that did come.
    pub responses: Vec<Args>,
    /// How many clients did not answer.
    pub missing: usize,
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<Namespace>) -> BroadcastOperator {
        BroadcastOperator {
            ns: Some(ns),
            ..BroadcastOperator::default()
        }
    }

    /// Selects nothing (an unknown namespace).
    pub(crate) fn nothing() -> BroadcastOperator {
        BroadcastOperator::default()
    }

    pub(crate) fn except_socket(mut self, id: Arc<str>) -> BroadcastOperator {
        self.except_ids.push(id);
        self
    }

    /// Narrows to the sockets in `room` (several calls: in any of them).
    pub fn to(mut self, room: impl Into<String>) -> BroadcastOperator {
        self.selector.rooms.push(Arc::from(room.into().as_str()));
        self
    }

    /// Leaves out the sockets in `room`.
    pub fn except(mut self, room: impl Into<String>) -> BroadcastOperator {
        self.selector.except.push(Arc::from(room.into().as_str()));
        self
    }

    /// How long [`emit_with_ack`](Self::emit_with_ack) waits. Default
    /// [`Settings::ack_timeout`](crate::Settings::ack_timeout).
    pub fn timeout(mut self, timeout: Duration) -> BroadcastOperator {
        self.timeout = Some(timeout);
        self
    }

    /// The selected sockets connected to this server.
    pub fn sockets(&self) -> Vec<Socket> {
        match &self.ns {
            Some(ns) => ns.select(&self.selector, &self.except_ids),
            None => Vec::new(),
        }
    }

    /// The selected sockets (node's `fetchSockets`).
    pub async fn fetch_sockets(&self) -> Vec<Socket> {
        self.sockets()
    }

    /// Emits an event to every selected socket, encoded once per client
    /// generation. 0.6 sockets get only `message` events of one argument,
    /// as messages; they skip other events.
    ///
    /// # Errors
    /// [`SendError::Json`] when `data` cannot be serialised. Sockets that
    /// cannot take the event are skipped, not reported.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), SendError> {
        let body = event_body(event, data)?;
        self.deliver(&body, None);
        Ok(())
    }

    /// [`emit`](Self::emit) with arguments as they are.
    pub fn emit_args(&self, event: &str, args: Args) {
        let body = Body::Event {
            name: event.to_owned(),
            args,
        };
        self.deliver(&body, None);
    }

    /// Sends a message to every selected socket (see [`Socket::send`]).
    pub fn send(&self, message: impl Into<Outgoing>) {
        let messages = match message.into() {
            Outgoing::One(message) => vec![message],
            Outgoing::Batch(messages) => messages,
        };
        for message in messages {
            self.deliver(&Body::Message(message), None);
        }
    }

    fn deliver(&self, body: &Body, ack: Option<u64>) -> Vec<Socket> {
        let Some(ns) = &self.ns else {
            return Vec::new();
        };
        let encoded = Encoded::new(&ns.name, body, ack);
        let targets = self.sockets();
        let mut reached = Vec::with_capacity(targets.len());
        for socket in targets {
            if socket.deliver(&encoded).is_ok() {
                reached.push(socket);
            }
        }
        reached
    }

    /// Emits an event asking every selected socket for an acknowledgement,
    /// and collects the answers: `Ok` with all of them, or the error with
    /// those that came when some did not within the timeout. 0.6 sockets,
    /// which cannot answer, are skipped.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Vec<Args>, BroadcastAckError> {
        let Some(ns) = &self.ns else {
            return Ok(Vec::new());
        };
        let body = match event_body(event, data) {
            Ok(body) => body,
            Err(_) => {
                return Err(BroadcastAckError {
                    responses: Vec::new(),
                    missing: 0,
                });
            }
        };
        let timeout = self.timeout.unwrap_or(ns.settings.ack_timeout);
        let id = ns.next_ack_id();
        let encoded = Encoded::new(&ns.name, &body, Some(id));
        let mut waiting = Vec::new();
        for socket in self.sockets() {
            if !socket.protocol().has_events() {
                continue;
            }
            let receiver = socket.expect_ack(id);
            match socket.deliver(&encoded) {
                Ok(()) => waiting.push(AckFuture::waiting(&socket, id, receiver, timeout)),
                Err(_) => socket.forget_ack(id),
            }
        }
        let answers = futures_util::future::join_all(waiting).await;
        let total = answers.len();
        let responses: Vec<Args> = answers.into_iter().filter_map(Result::ok).collect();
        if responses.len() == total {
            Ok(responses)
        } else {
            Err(BroadcastAckError {
                missing: total - responses.len(),
                responses,
            })
        }
    }

    /// Makes every selected socket join `room` (node's `socketsJoin`).
    pub fn sockets_join(&self, room: impl Into<String>) {
        let rooms = [room.into()];
        if let Some(ns) = &self.ns {
            for socket in self.sockets() {
                ns.join(&socket.inner.id, &rooms);
            }
        }
    }

    /// Makes every selected socket leave `room` (node's `socketsLeave`).
    pub fn sockets_leave(&self, room: &str) {
        if let Some(ns) = &self.ns {
            for socket in self.sockets() {
                ns.leave(&socket.inner.id, room);
            }
        }
    }

    /// Disconnects every selected socket (node's `disconnectSockets`); each
    /// gets its `on_close`.
    pub fn disconnect_sockets(&self) {
        for socket in self.sockets() {
            socket.disconnect();
        }
    }

    /// The same as [`disconnect_sockets`](Self::disconnect_sockets).
    pub fn disconnect(&self) {
        self.disconnect_sockets();
    }
}
