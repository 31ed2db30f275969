//! The socket layer: namespaces, one [`Socket`] per connected namespace,
//! events, acknowledgements and rooms, for every client generation.
//!
//! A socket knows events, acks and rooms, never HTTP: it hands encoded
//! packets to its client's wire (an Engine.IO session, a protocol-1
//! session, a 0.6 session).

pub(crate) mod client;
mod cluster;
pub(crate) mod encode;
mod event;
mod io;
pub(crate) mod namespace;
mod operators;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use serde::Serialize;
use tokio::sync::oneshot;

pub use crate::args::Args;
pub use cluster::RemoteSocket;
pub use event::{Ack, AckError, AckFuture, Event};
pub(crate) use io::Cluster;
pub use io::{Io, Sockets};
pub use operators::{BroadcastAckError, BroadcastOperator};

use crate::connection::{Handshake, Protocol};
use crate::engine::Conn;
use crate::engine::conn::{Frame, PushError};
use crate::error::SendError;
use crate::legacy::Session as LegacySession;
use crate::message::{Message, Outgoing};
use crate::proto1::{PushError as Proto1PushError, Session as Proto1Session};
use crate::{DisconnectReason, Transport};
use client::{Command, Mailbox};
use encode::{Body, Encoded};
use namespace::Namespace;

/// How a socket's packets reach its client.
pub(crate) enum Wire {
    /// An Engine.IO session (Socket.IO v4 and v5), and the command channel
    /// of the task that owns it.
    Engine {
        conn: Arc<Conn>,
        commands: Arc<Mailbox>,
    },
    /// A socket.io 0.7–0.9 ("protocol 1") session, and the command channel
    /// of the actor that owns it.
    Proto1 {
        session: Arc<Proto1Session>,
        commands: Arc<Mailbox>,
    },
    /// A Socket.IO 0.6 session.
    Legacy(Arc<LegacySession>),
}

const CONNECTING: u8 = 0;
const OPEN: u8 = 1;
const CLOSED: u8 = 2;

pub(crate) struct SocketInner {
    pub(crate) id: Arc<str>,
    pub(crate) ns: Arc<Namespace>,
    pub(crate) protocol: Protocol,
    pub(crate) handshake: Arc<Handshake>,
    pub(crate) wire: Wire,
    state: AtomicU8,
    /// What was sent while `on_open` ran, to follow the CONNECT reply.
    pending: Mutex<Vec<Frame>>,
    /// Acknowledgements the client owes, by id.
    acks: Mutex<HashMap<u64, oneshot::Sender<Args>>>,
    /// The `auth` payload the client connected with, if any.
    auth: OnceLock<serde_json::Value>,
}

/// A cheap, cloneable handle on one client's connection to one namespace:
/// send, emit, join rooms, disconnect. Usable from any task; what is sent
/// is queued in order and never waits.
#[derive(Clone)]
pub struct Socket {
    pub(crate) inner: Arc<SocketInner>,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id())
            .field("namespace", &self.namespace())
            .field("protocol", &self.protocol())
            .finish()
    }
}

impl Socket {
    pub(crate) fn new(
        id: Arc<str>,
        ns: Arc<Namespace>,
        protocol: Protocol,
        handshake: Arc<Handshake>,
        wire: Wire,
    ) -> Socket {
        // A 0.6 session is confirmed by its first answer, which carries its
        // id before anything `on_open` sends: nothing to hold back.
        let state = match wire {
            Wire::Legacy(_) => OPEN,
            Wire::Engine { .. } | Wire::Proto1 { .. } => CONNECTING,
        };
        Socket {
            inner: Arc::new(SocketInner {
                id,
                ns,
                protocol,
                handshake,
                wire,
                state: AtomicU8::new(state),
                pending: Mutex::new(Vec::new()),
                acks: Mutex::new(HashMap::new()),
                auth: OnceLock::new(),
            }),
        }
    }

    /// The socket's id: the session id for 0.6 and protocol-1 clients (the
    /// same in every endpoint, as socket.io 0.9 gives it), a fresh id per
    /// namespace for socket.io-client 3+, `/nsp#sid` (or the session id on
    /// `/`) for socket.io-client 1.x–2.x, as node gives them.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The namespace, e.g. `/` or `/chat`.
    pub fn namespace(&self) -> &str {
        &self.inner.ns.name
    }

    /// The generation of the client's protocol.
    pub fn protocol(&self) -> Protocol {
        self.inner.protocol
    }

    /// The headers of the request that opened the client's connection.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.inner.handshake.headers
    }

    /// The URI of that request (its query holds the client's `query` option).
    pub fn uri(&self) -> &http::Uri {
        &self.inner.handshake.uri
    }

    /// The client's address, when the server knows it.
    pub fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.handshake.peer_addr
    }

    /// When the client's connection was opened.
    pub fn connected_at(&self) -> std::time::SystemTime {
        self.inner.handshake.issued
    }

    /// The transport the client connected with.
    pub fn transport(&self) -> Transport {
        match &self.inner.wire {
            Wire::Engine { conn, .. } => match conn.carrier() {
                crate::engine::conn::Carrier::WebSocket => Transport::WebSocket,
                _ => Transport::Polling,
            },
            Wire::Proto1 { session, .. } => session.transport().unwrap_or(Transport::XhrPolling),
            Wire::Legacy(session) => session.transport,
        }
    }

    /// Queues a message: 0.6 and protocol-1 clients get it as a message
    /// (protocol 1: text as `3`, JSON as `4`), a current client as a
    /// `message` event. Text goes as a string, a
    /// [`serde_json::Value`] as JSON, a `Vec` as several messages written
    /// together.
    ///
    /// ```no_run
    /// # fn demo(socket: &tornadio::Socket) -> Result<(), tornadio::SendError> {
    /// socket.send("plain text")?;
    /// socket.send(serde_json::json!({"user": "ann", "text": "hi"}))?;
    /// socket.send(vec!["one", "two", "three"])?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`SendError::Closed`] once the socket closed; [`SendError::QueueFull`]
    /// when the client stopped reading, which also closes it.
    pub fn send(&self, message: impl Into<Outgoing>) -> Result<(), SendError> {
        match message.into() {
            Outgoing::One(message) => self.deliver_body(&Body::Message(message), None),
            Outgoing::Batch(messages) => {
                if let Wire::Legacy(session) = &self.inner.wire {
                    let mut frames = String::new();
                    messages.iter().for_each(|m| m.encode(&mut frames));
                    return legacy_push(session, &frames);
                }
                messages
                    .into_iter()
                    .try_for_each(|m| self.deliver_body(&Body::Message(m), None))
            }
        }
    }

    /// Queues any serialisable value as a JSON message.
    ///
    /// # Errors
    /// As [`send`](Socket::send), plus [`SendError::Json`] when `value`
    /// cannot be serialised.
    pub fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), SendError> {
        let value = serde_json::to_value(value).map_err(|e| SendError::Json(e.to_string()))?;
        self.send(Message::Json(value))
    }

    /// Emits an event. `data` is the arguments: a tuple for several, `()`
    /// for none, anything else for one; `bytes::Bytes` inside travel as
    /// binary.
    ///
    /// ```no_run
    /// # fn demo(socket: &tornadio::Socket) -> Result<(), tornadio::SendError> {
    /// socket.emit("hello", &"world")?;
    /// socket.emit("move", &(3, 4))?;
    /// socket.emit("file", &("a.png", bytes::Bytes::from_static(b"\x89PNG")))?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`send`](Socket::send), plus [`SendError::Json`] when `data`
    /// cannot be serialised, and [`SendError::Unsupported`] for a 0.6
    /// client, which has no events (but a `message` event of one argument
    /// reaches it as a message), and for binary arguments to a protocol-1
    /// client, whose protocol has no binary.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), SendError> {
        let body = event_body(event, data)?;
        self.deliver_body(&body, None)
    }

    /// Emits an event with arguments as they are (an event's, passed on).
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn emit_args(&self, event: &str, args: Args) -> Result<(), SendError> {
        let body = Body::Event {
            name: event.to_owned(),
            args,
        };
        self.deliver_body(&body, None)
    }

    /// Emits an event that asks for an acknowledgement; the future resolves
    /// to the client's answer, or an error after
    /// [`ack_timeout`](crate::Settings::ack_timeout) (change it with
    /// [`AckFuture::timeout`]).
    ///
    /// ```no_run
    /// # async fn demo(socket: tornadio::Socket) {
    /// use std::time::Duration;
    /// match socket.emit_with_ack("question", &"6 x 7?").timeout(Duration::from_secs(2)).await {
    ///     Ok(answer) => println!("{:?}", answer.decode::<(u32,)>()),
    ///     Err(error) => println!("no answer: {error}"),
    /// }
    /// # }
    /// ```
    pub fn emit_with_ack<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> AckFuture {
        match event_body(event, data) {
            Ok(body) => self.body_with_ack(body),
            Err(error) => {
                AckFuture::failed(AckError::Send(error), self.inner.ns.settings.ack_timeout)
            }
        }
    }

    /// [`emit_with_ack`](Self::emit_with_ack) with arguments as they are.
    pub fn emit_args_with_ack(&self, event: &str, args: Args) -> AckFuture {
        self.body_with_ack(Body::Event {
            name: event.to_owned(),
            args,
        })
    }

    fn body_with_ack(&self, body: Body) -> AckFuture {
        let timeout = self.inner.ns.settings.ack_timeout;
        if !self.inner.protocol.has_events() {
            return AckFuture::failed(AckError::Send(SendError::Unsupported), timeout);
        }
        let id = self.inner.ns.next_ack_id();
        let receiver = self.expect_ack(id);
        match self.deliver_body(&body, Some(id)) {
            Ok(()) => AckFuture::waiting(self, id, receiver, timeout),
            Err(error) => {
                self.forget_ack(id);
                AckFuture::failed(AckError::Send(error), timeout)
            }
        }
    }

    /// Joins a room (local to this server; see the adapter for clusters).
    /// Joining twice is harmless.
    ///
    /// # Errors
    /// [`SendError::Closed`] once the socket closed.
    pub fn join(&self, room: impl Into<String>) -> Result<(), SendError> {
        if self.inner.state.load(Ordering::Acquire) == CLOSED {
            return Err(SendError::Closed);
        }
        self.inner.ns.join(&self.inner.id, &[room.into()]);
        Ok(())
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) {
        self.inner.ns.leave(&self.inner.id, room);
    }

    /// The rooms the socket is in, its own id-room included.
    pub fn rooms(&self) -> Vec<String> {
        self.inner.ns.rooms_of(&self.inner.id)
    }

    /// Selects the sockets in `room`, this one excepted: `socket.to("r").emit(..)`.
    pub fn to(&self, room: impl Into<String>) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// Selects the sockets not in `room`, this one excepted.
    pub fn except(&self, room: impl Into<String>) -> BroadcastOperator {
        self.broadcast().except(room)
    }

    /// Selects every socket of the namespace but this one.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(Arc::clone(&self.inner.ns)).except_socket(Arc::clone(&self.inner.id))
    }

    /// Disconnects the socket from its namespace: the client is told
    /// (`io server disconnect`; protocol 1: `0::/ep`) and does not
    /// reconnect; `on_close` follows with
    /// [`DisconnectReason::ServerNamespaceDisconnect`]. A 0.6 client's
    /// whole session ends, and so does a protocol-1 client's when this is
    /// its endpoint `/` (it is told `0::`).
    pub fn disconnect(&self) {
        match &self.inner.wire {
            Wire::Engine { commands, conn } => {
                commands.send_to(conn, Command::Disconnect(Arc::clone(&self.inner.ns.name)));
            }
            Wire::Proto1 { commands, session } => {
                let command = Command::Disconnect(Arc::clone(&self.inner.ns.name));
                commands.send_to_session(session, command);
            }
            Wire::Legacy(session) => session.close(DisconnectReason::ServerNamespaceDisconnect),
        }
    }

    /// Closes the client's whole connection, every namespace of it (node's
    /// `disconnect(true)`). For a 0.6 client, the same as
    /// [`disconnect`](Self::disconnect).
    pub fn close(&self) {
        match &self.inner.wire {
            Wire::Engine { commands, conn } => {
                commands.send_to(conn, Command::CloseAll(Arc::clone(&self.inner.ns.name)));
            }
            Wire::Proto1 { commands, session } => {
                let command = Command::CloseAll(Arc::clone(&self.inner.ns.name));
                commands.send_to_session(session, command);
            }
            Wire::Legacy(session) => session.close(DisconnectReason::ServerNamespaceDisconnect),
        }
    }

    /// Whether the socket has closed or is closing.
    pub fn is_closed(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) == CLOSED
            || match &self.inner.wire {
                Wire::Engine { conn, .. } => conn.is_closing(),
                Wire::Proto1 { session, .. } => session.is_closing(),
                Wire::Legacy(session) => session.is_closing(),
            }
    }

    /// The live sockets of this socket's namespace (TornadIO's list of
    /// sessions): count them, look one up, broadcast to all.
    pub fn sockets(&self) -> Sockets {
        Sockets::new(Arc::clone(&self.inner.ns))
    }

    /// The server handle, to reach any namespace from here.
    pub fn io(&self) -> Io {
        self.inner.ns.io()
    }

    /// The `auth` payload the client connected with.
    pub(crate) fn auth(&self) -> Option<&serde_json::Value> {
        self.inner.auth.get()
    }

    /// Records the `auth` payload (once, when the socket connects).
    pub(crate) fn set_auth(&self, auth: serde_json::Value) {
        let _ = self.inner.auth.set(auth);
    }

    /// The 0.6 session behind this socket, if it is one.
    pub(crate) fn legacy_session(&self) -> Option<Arc<LegacySession>> {
        match &self.inner.wire {
            Wire::Legacy(session) => Some(Arc::clone(session)),
            Wire::Engine { .. } | Wire::Proto1 { .. } => None,
        }
    }

    // --- delivery ---

    /// Encodes `body` for this socket's generation and queues it.
    pub(crate) fn deliver_body(&self, body: &Body, ack: Option<u64>) -> Result<(), SendError> {
        let encoded = Encoded::new(&self.inner.ns.name, body, ack);
        self.deliver(&encoded)
    }

    /// Queues an encoded packet, in this socket's generation's form.
    pub(crate) fn deliver(&self, encoded: &Encoded<'_>) -> Result<(), SendError> {
        match &self.inner.wire {
            Wire::Engine { conn, .. } => self.push_engine(conn, encoded.engine()),
            Wire::Proto1 { session, .. } => match encoded.proto1() {
                Some(packet) => self.push_proto1(session, &[encode::text_frame(packet)]),
                None => Err(SendError::Unsupported),
            },
            Wire::Legacy(session) => match encoded.legacy() {
                Some(frames) => legacy_push(session, frames),
                None => Err(SendError::Unsupported),
            },
        }
    }

    /// Holds `frames` back while `on_open` runs (`Some(Ok)`), or refuses
    /// them once the socket closed (`Some(Err)`); `None`: send them now.
    fn hold_back(&self, frames: &[Frame]) -> Option<Result<(), SendError>> {
        if self.inner.state.load(Ordering::Acquire) == CONNECTING {
            let mut pending = self.pending();
            match self.inner.state.load(Ordering::Acquire) {
                CONNECTING => {
                    pending.extend_from_slice(frames);
                    return Some(Ok(()));
                }
                CLOSED => return Some(Err(SendError::Closed)),
                _ => {}
            }
        }
        if self.inner.state.load(Ordering::Acquire) == CLOSED {
            return Some(Err(SendError::Closed));
        }
        None
    }

    /// Queues Engine.IO frames, or holds them back while `on_open` runs.
    pub(crate) fn push_engine(&self, conn: &Conn, frames: &[Frame]) -> Result<(), SendError> {
        if let Some(held) = self.hold_back(frames) {
            return held;
        }
        match conn.push_all(frames.iter().cloned()) {
            Ok(()) => Ok(()),
            Err(PushError::Closed) => Err(SendError::Closed),
            Err(PushError::Full) => {
                tracing::warn!(session = %conn.sid, "client is not reading; closing its connection");
                conn.close(DisconnectReason::SlowClient);
                Err(SendError::QueueFull)
            }
        }
    }

    /// Queues protocol-1 packets (text frames), or holds them back while
    /// `on_open` runs.
    pub(crate) fn push_proto1(
        &self,
        session: &Proto1Session,
        frames: &[Frame],
    ) -> Result<(), SendError> {
        if let Some(held) = self.hold_back(frames) {
            return held;
        }
        proto1_push(session, frames)
    }

    fn pending(&self) -> MutexGuard<'_, Vec<Frame>> {
        self.inner.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `on_open` accepted: the CONNECT reply goes out, then what was held.
    pub(crate) fn confirm(&self, reply: Frame) -> Result<(), SendError> {
        let mut pending = self.pending();
        let mut frames = Vec::with_capacity(1 + pending.len());
        frames.push(reply);
        frames.append(&mut pending);
        self.inner.state.store(OPEN, Ordering::Release);
        drop(pending);
        match &self.inner.wire {
            Wire::Engine { conn, .. } => self.push_engine(conn, &frames),
            Wire::Proto1 { session, .. } => self.push_proto1(session, &frames),
            Wire::Legacy(_) => Ok(()),
        }
    }

    /// The socket ended: sends fail from now on, owed acks fail.
    pub(crate) fn mark_closed(&self) {
        self.inner.state.store(CLOSED, Ordering::Release);
        self.pending().clear();
        self.acks().clear();
    }

    fn acks(&self) -> MutexGuard<'_, HashMap<u64, oneshot::Sender<Args>>> {
        self.inner.acks.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn expect_ack(&self, id: u64) -> oneshot::Receiver<Args> {
        let (sender, receiver) = oneshot::channel();
        self.acks().insert(id, sender);
        receiver
    }

    pub(crate) fn forget_ack(&self, id: u64) {
        self.acks().remove(&id);
    }

    /// The client answered acknowledgement `id`; `false` when none was owed.
    pub(crate) fn resolve_ack(&self, id: u64, args: Args) -> bool {
        match self.acks().remove(&id) {
            Some(sender) => {
                let _ = sender.send(args);
                true
            }
            None => false,
        }
    }
}

/// An event's body from its name and serialisable arguments.
pub(crate) fn event_body<T: Serialize + ?Sized>(event: &str, data: &T) -> Result<Body, SendError> {
    let args = Args::from_serialize(data).map_err(|e| SendError::Json(e.to_string()))?;
    Ok(Body::Event {
        name: event.to_owned(),
        args,
    })
}

/// Queues protocol-1 packets together; a full queue closes the session.
fn proto1_push(session: &Proto1Session, frames: &[Frame]) -> Result<(), SendError> {
    let packets = frames.iter().filter_map(|frame| match frame {
        crate::protocol::engine::Outgoing::Text(text) => Some(text.clone()),
        // Never made: protocol 1 has no binary.
        crate::protocol::engine::Outgoing::Binary(_) => None,
    });
    match session.outbox.push_all(packets) {
        Ok(()) => Ok(()),
        Err(Proto1PushError::Closed) => Err(SendError::Closed),
        Err(Proto1PushError::Full) => {
            tracing::warn!(session = %session.id, "client is not reading; closing its session");
            session.close(DisconnectReason::SlowClient);
            Err(SendError::QueueFull)
        }
    }
}

/// Queues 0.6 frames; a full queue closes the session.
pub(crate) fn legacy_push(session: &LegacySession, frames: &str) -> Result<(), SendError> {
    use crate::legacy::PushError as LegacyPushError;
    match session.outbox.push(frames) {
        Ok(()) => Ok(()),
        Err(LegacyPushError::Closed) => Err(SendError::Closed),
        Err(LegacyPushError::Full) => {
            tracing::warn!(session = %session.id, "client is not reading its messages; closing the session");
            session.close(DisconnectReason::SlowClient);
            Err(SendError::QueueFull)
        }
    }
}
