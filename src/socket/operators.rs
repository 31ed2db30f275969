//! [`BroadcastOperator`]: which sockets, then what to do with them, as
//! node's `io.to(room).except(other).emit(..)`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;

use super::namespace::Namespace;
use super::{Args, RemoteSocket, Socket};
use crate::adapter::{AckEvent, AdapterError, BroadcastOptions, LocalOps, Packet, ServerAckError};
use crate::error::SendError;
use crate::message::Outgoing;

/// A selection of the sockets of one namespace, on every server of the
/// cluster, and what to do with them. Made by [`Socket::to`],
/// [`Socket::broadcast`], [`Io::of`](crate::Io::of); cheap to clone.
///
/// With the default adapter the cluster is this process; with a cluster
/// adapter ([`Router::adapter`](crate::Router::adapter)) broadcasts and
/// operations reach the matching sockets of every server, unless
/// [`local`](Self::local) narrows them to this one.
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
    opts: BroadcastOptions,
    local: bool,
    timeout: Option<Duration>,
}

/// Some clients did not acknowledge a broadcast in time.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{missing} of the clients did not acknowledge in time")]
#[non_exhaustive]
pub struct BroadcastAckError {
    /// The answers that did come.
    pub responses: Vec<Args>,
    /// How many clients did not answer (clients of servers that did not
    /// report in time are not counted).
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
        self.opts.except.push(id.to_string());
        self
    }

    /// Narrows to the sockets in `room` (several calls: in any of them).
    pub fn to(mut self, room: impl Into<String>) -> BroadcastOperator {
        self.opts.rooms.push(room.into());
        self
    }

    /// Leaves out the sockets in `room`.
    pub fn except(mut self, room: impl Into<String>) -> BroadcastOperator {
        self.opts.except.push(room.into());
        self
    }

    /// Narrows to the sockets connected to this server (node's `local`):
    /// nothing is sent to other servers.
    pub fn local(mut self) -> BroadcastOperator {
        self.local = true;
        self
    }

    /// How long [`emit_with_ack`](Self::emit_with_ack) (default
    /// [`Settings::ack_timeout`](crate::Settings::ack_timeout)) and
    /// [`server_side_emit_with_ack`](Self::server_side_emit_with_ack)
    /// (default: the adapter's request timeout) wait.
    pub fn timeout(mut self, timeout: Duration) -> BroadcastOperator {
        self.timeout = Some(timeout);
        self
    }

    /// The selected sockets connected to this server.
    pub fn sockets(&self) -> Vec<Socket> {
        match &self.ns {
            Some(ns) => ns.select(&self.opts),
            None => Vec::new(),
        }
    }

    /// The selected sockets of every server (node's `fetchSockets`), with
    /// their rooms and handshakes.
    ///
    /// # Errors
    /// [`AdapterError`] when some server did not answer within the
    /// adapter's request timeout, or the cluster cannot be reached.
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        let Some(ns) = &self.ns else {
            return Ok(Vec::new());
        };
        let infos = if self.local {
            LocalOps::fetch_sockets(&**ns, &self.opts)
        } else {
            ns.adapter
                .fetch_sockets(&ns.local(), self.opts.clone())
                .await?
        };
        Ok(infos
            .into_iter()
            .map(|info| RemoteSocket::new(ns, info))
            .collect())
    }

    /// Emits an event to every selected socket, encoded once per client
    /// generation. 0.6 sockets get only `message` events of one argument,
    /// as messages; they skip other events.
    ///
    /// # Errors
    /// [`SendError::Json`] when `data` cannot be serialised. Sockets that
    /// cannot take the event are skipped, not reported.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), SendError> {
        let args = Args::from_serialize(data).map_err(|e| SendError::Json(e.to_string()))?;
        self.broadcast(Packet::event(event, args));
        Ok(())
    }

    /// [`emit`](Self::emit) with arguments as they are.
    pub fn emit_args(&self, event: &str, args: Args) {
        self.broadcast(Packet::event(event, args));
    }

    /// Sends a message to every selected socket (see [`Socket::send`]).
    pub fn send(&self, message: impl Into<Outgoing>) {
        match message.into() {
            Outgoing::One(message) => self.broadcast(Packet::message(message)),
            Outgoing::Batch(messages) => {
                for message in messages {
                    self.broadcast(Packet::message(message));
                }
            }
        }
    }

    fn broadcast(&self, packet: Packet) {
        let Some(ns) = &self.ns else {
            return;
        };
        if self.local {
            LocalOps::broadcast(&**ns, packet, &self.opts);
        } else {
            ns.adapter.broadcast(&ns.local(), packet, self.opts.clone());
        }
    }

    /// Emits an event asking every selected socket for an acknowledgement,
    /// and collects the answers: `Ok` with all of them once every server
    /// reported and every client it reached answered, or the error with
    /// those that came when some did not within the timeout. 0.6 sockets,
    /// which cannot answer, are skipped. Answers from clients of other
    /// servers carry only their first argument, as node sends them.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Vec<Args>, BroadcastAckError> {
        let Ok(args) = Args::from_serialize(data) else {
            return Err(BroadcastAckError {
                responses: Vec::new(),
                missing: 0,
            });
        };
        self.emit_args_with_ack(event, args).await
    }

    /// [`emit_with_ack`](Self::emit_with_ack) with arguments as they are.
    pub async fn emit_args_with_ack(
        &self,
        event: &str,
        args: Args,
    ) -> Result<Vec<Args>, BroadcastAckError> {
        let Some(ns) = &self.ns else {
            return Ok(Vec::new());
        };
        let packet = Packet::event(event, args);
        let timeout = self.timeout.unwrap_or(ns.settings.ack_timeout);
        let deadline = crate::engine::later(tokio::time::Instant::now(), timeout);
        let local = ns.local();
        let (mut acks, mut servers): (_, BoxFuture<'static, Result<usize, AdapterError>>) =
            if self.local {
                let acks = local.broadcast_with_ack(packet, &self.opts, timeout);
                (acks, Box::pin(std::future::ready(Ok(1))))
            } else {
                let acks =
                    ns.adapter
                        .broadcast_with_ack(&local, packet, self.opts.clone(), timeout);
                (acks, ns.adapter.server_count(&local))
            };
        // Node's rule: done when every server reported how many clients it
        // reached, and that many answers came.
        let mut expected_servers = None;
        let (mut counting, mut streaming) = (true, true);
        let (mut reported, mut expected_clients) = (0usize, 0usize);
        let mut responses = Vec::new();
        loop {
            if expected_servers == Some(reported) && responses.len() >= expected_clients {
                return Ok(responses);
            }
            if !counting && !streaming {
                break;
            }
            tokio::select! {
                count = &mut servers, if counting => {
                    counting = false;
                    expected_servers = count.ok();
                }
                event = acks.next(), if streaming => match event {
                    Some(AckEvent::Reached(clients)) => {
                        reported += 1;
                        expected_clients += clients;
                    }
                    Some(AckEvent::Answer(args)) => responses.push(args),
                    None => streaming = false,
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        Err(BroadcastAckError {
            missing: expected_clients.saturating_sub(responses.len()),
            responses,
        })
    }

    /// Makes every selected socket, on every server, join `room` (node's
    /// `socketsJoin`).
    pub fn sockets_join(&self, room: impl Into<String>) {
        let rooms = vec![room.into()];
        if let Some(ns) = &self.ns {
            if self.local {
                LocalOps::add_sockets(&**ns, &self.opts, &rooms);
            } else {
                ns.adapter
                    .add_sockets(&ns.local(), self.opts.clone(), rooms);
            }
        }
    }

    /// Makes every selected socket, on every server, leave `room` (node's
    /// `socketsLeave`).
    pub fn sockets_leave(&self, room: &str) {
        let rooms = vec![room.to_owned()];
        if let Some(ns) = &self.ns {
            if self.local {
                LocalOps::del_sockets(&**ns, &self.opts, &rooms);
            } else {
                ns.adapter
                    .del_sockets(&ns.local(), self.opts.clone(), rooms);
            }
        }
    }

    /// Disconnects every selected socket, on every server, from the
    /// namespace (node's `disconnectSockets()`); each gets its `on_close`.
    pub fn disconnect_sockets(&self) {
        self.disconnect_all(false);
    }

    /// Closes the whole client connection of every selected socket, on
    /// every server (node's `disconnectSockets(true)`).
    pub fn close_sockets(&self) {
        self.disconnect_all(true);
    }

    fn disconnect_all(&self, close: bool) {
        if let Some(ns) = &self.ns {
            if self.local {
                LocalOps::disconnect_sockets(&**ns, &self.opts, close);
            } else {
                ns.adapter
                    .disconnect_sockets(&ns.local(), self.opts.clone(), close);
            }
        }
    }

    /// The same as [`disconnect_sockets`](Self::disconnect_sockets).
    pub fn disconnect(&self) {
        self.disconnect_sockets();
    }

    /// Every room with a socket in it, on every server (node's
    /// `adapter.allRooms()`); the selection does not matter.
    ///
    /// # Errors
    /// As [`fetch_sockets`](Self::fetch_sockets).
    pub async fn all_rooms(&self) -> Result<Vec<String>, AdapterError> {
        match &self.ns {
            Some(ns) if self.local => Ok(ns.all_rooms()),
            Some(ns) => ns.adapter.all_rooms(&ns.local()).await,
            None => Ok(Vec::new()),
        }
    }

    /// How many servers serve the namespace, this one included.
    ///
    /// # Errors
    /// [`AdapterError::Unavailable`] when the cluster cannot be reached.
    pub async fn server_count(&self) -> Result<usize, AdapterError> {
        match &self.ns {
            Some(ns) if !self.local => ns.adapter.server_count(&ns.local()).await,
            _ => Ok(1),
        }
    }

    /// Sends an event to the other servers of the namespace (node's
    /// `serverSideEmit`), for their server-side handlers
    /// ([`Router::on_server_event`](crate::Router::on_server_event) here,
    /// `io.on(event, ..)` on node). Not to this server, nor to clients.
    ///
    /// # Errors
    /// [`SendError::Json`] when `data` cannot be serialised.
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), SendError> {
        let args = Args::from_serialize(data).map_err(|e| SendError::Json(e.to_string()))?;
        if let Some(ns) = &self.ns {
            ns.adapter
                .server_side_emit(&ns.local(), Packet::event(event, args));
        }
        Ok(())
    }

    /// [`server_side_emit`](Self::server_side_emit), collecting one answer
    /// per other server (node's `serverSideEmitWithAck`) within the
    /// [`timeout`](Self::timeout) if one was set, else the adapter's
    /// request timeout.
    ///
    /// # Errors
    /// [`ServerAckError`] with the answers that came, when some server did
    /// not answer in time or the cluster cannot be reached.
    pub async fn server_side_emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Vec<Value>, ServerAckError> {
        let Some(ns) = &self.ns else {
            return Ok(Vec::new());
        };
        let args = Args::from_serialize(data)
            .map_err(|e| ServerAckError::new(AdapterError::Encode(e.to_string()), Vec::new()))?;
        ns.adapter
            .server_side_emit_with_ack(&ns.local(), Packet::event(event, args), self.timeout)
            .await
    }
}
