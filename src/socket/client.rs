//! One Socket.IO client over one Engine.IO session: the layer above the
//! engine, in the session's own task. It owns the application's
//! connection value of every namespace the client joined, decodes packets
//! (reassembling binary ones), and dispatches them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::encode::engine_packet;
use super::namespace::{DynConnection, Namespace};
use super::{Ack, Args, Event, Io, Socket, Wire};
use crate::connection::{Handshake, OpenInfo, Protocol};
use crate::engine::{Conn, Data, Flow, Shortcut, StartUpper, Upper, new_sid};
use crate::message::Message;
use crate::panic::guarded;
use crate::proto1::Session as Proto1Session;
use crate::protocol::engine::Version;
use crate::protocol::packet::{Decoded, Decoder, Kind, Packet};
use crate::{DisconnectReason, Refused};

/// What a [`Socket`] handle asks of its client's task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Disconnect the socket of this namespace (server side).
    Disconnect(Arc<str>),
    /// Close the whole connection; this namespace's socket was asked.
    CloseAll(Arc<str>),
}

/// The commands a client's [`Socket`] handles leave for its task: lighter
/// than a channel, which allocates a block of slots per client up front.
#[derive(Default)]
pub(crate) struct Mailbox {
    commands: Mutex<std::collections::VecDeque<Command>>,
}

impl Mailbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::VecDeque<Command>> {
        self.commands.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Leaves a command for a protocol-1 client's task and wakes it.
    pub(crate) fn send_to_session(&self, session: &Proto1Session, command: Command) {
        self.lock().push_back(command);
        session.signal();
    }

    /// Leaves a command for an Engine.IO client's task and wakes it.
    pub(crate) fn send_to(&self, conn: &Conn, command: Command) {
        self.lock().push_back(command);
        conn.signal();
    }

    /// The oldest command, if any.
    pub(crate) fn take(&self) -> Option<Command> {
        self.lock().pop_front()
    }
}

/// A joined namespace: the handle and the application's value.
pub(crate) struct Slot {
    pub(crate) socket: Socket,
    pub(crate) connection: Box<dyn DynConnection>,
}

/// The joined namespaces of one client, in the order joined. A client joins
/// few (at most `max_namespaces_per_client`), so they are a list, where
/// each packet's lookup compares a name or two instead of hashing one.
#[derive(Default)]
struct Slots(Vec<(Arc<str>, Slot)>);

impl Slots {
    fn position(&self, nsp: &str) -> Option<usize> {
        self.0.iter().position(|(name, _)| **name == *nsp)
    }

    fn contains(&self, nsp: &str) -> bool {
        self.position(nsp).is_some()
    }

    fn get(&self, nsp: &str) -> Option<&Slot> {
        self.position(nsp).map(|at| &self.0[at].1)
    }

    fn get_mut(&mut self, nsp: &str) -> Option<&mut Slot> {
        self.position(nsp).map(|at| &mut self.0[at].1)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn names(&self) -> Vec<Arc<str>> {
        self.0.iter().map(|(name, _)| Arc::clone(name)).collect()
    }

    /// Lists `slot` under `nsp`, in place of one listed there before.
    fn insert(&mut self, nsp: Arc<str>, slot: Slot) {
        match self.position(&nsp) {
            Some(at) => self.0[at].1 = slot,
            None => self.0.push((nsp, slot)),
        }
    }

    fn remove(&mut self, nsp: &str) -> Option<Slot> {
        let at = self.position(nsp)?;
        Some(self.0.remove(at).1)
    }

    fn drain(&mut self) -> impl Iterator<Item = Slot> + use<> {
        std::mem::take(&mut self.0)
            .into_iter()
            .map(|(_, slot)| slot)
    }
}

pub(crate) struct Client {
    io: Io,
    acks: Arc<AckShortcut>,
    handshake: Option<Arc<Handshake>>,
    protocol: Protocol,
    slots: Slots,
    decoder: Decoder,
    commands: Arc<Mailbox>,
    /// Until a namespace is joined: when the client is given up.
    connect_deadline: Option<Instant>,
}

/// Makes a [`Client`] per Engine.IO session.
pub(crate) struct ClientFactory {
    pub(crate) io: Io,
}

impl StartUpper for ClientFactory {
    type Upper = Client;

    fn make(&self) -> Client {
        let settings = &self.io.inner.settings;
        Client {
            acks: Arc::new(AckShortcut {
                sockets: Mutex::default(),
                decoder: Mutex::default(),
                max_attachments: settings.max_attachments,
                max_bytes: settings.max_payload,
            }),
            io: self.io.clone(),
            handshake: None,
            protocol: Protocol::SocketIo4,
            slots: Slots::default(),
            decoder: Decoder::default(),
            commands: Arc::default(),
            connect_deadline: None,
        }
    }
}

impl Upper for Client {
    async fn open(&mut self, conn: &Arc<Conn>, handshake: &Arc<Handshake>) -> Result<(), Refused> {
        self.protocol = match conn.version {
            Version::V3 => Protocol::SocketIo2,
            Version::V4 => Protocol::SocketIo4,
        };
        self.handshake = Some(Arc::clone(handshake));
        Ok(())
    }

    fn shortcut(&self) -> Option<Arc<dyn Shortcut>> {
        Some(Arc::clone(&self.acks) as Arc<dyn Shortcut>)
    }

    async fn opened(&mut self, conn: &Arc<Conn>) -> Flow {
        let settings = &self.io.inner.settings;
        self.connect_deadline = Some(crate::engine::later(
            Instant::now(),
            settings.connect_timeout,
        ));
        if self.protocol == Protocol::SocketIo2 {
            // A v4 client never asks for `/`: the server connects it.
            return self.connect(conn, Arc::from("/"), None).await;
        }
        Flow::Continue
    }

    async fn message(&mut self, conn: &Arc<Conn>, data: Data) -> Flow {
        let settings = &self.io.inner.settings;
        let decoded = match data {
            Data::Text(text) => self.decoder.text(&text, settings.max_attachments),
            Data::Binary(bytes) => self.decoder.binary(bytes, settings.max_payload),
        };
        match decoded {
            Ok(Decoded::Pending) => Flow::Continue,
            Ok(Decoded::Packet(packet, attachments)) => {
                self.dispatch(conn, packet, attachments).await
            }
            Err(error) => {
                tracing::warn!(%error, "invalid Socket.IO packet; closing the connection");
                Flow::Close(DisconnectReason::ParseError)
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.connect_deadline
    }

    fn on_deadline(&mut self) -> Flow {
        self.connect_deadline = None;
        if self.slots.is_empty() {
            tracing::debug!("no namespace joined in time; closing");
            return Flow::Close(DisconnectReason::ForcedServerClose);
        }
        Flow::Continue
    }

    async fn on_signal(&mut self, conn: &Arc<Conn>) -> Flow {
        while let Some(command) = self.commands.take() {
            match command {
                Command::Disconnect(nsp) => {
                    let reason = DisconnectReason::ServerNamespaceDisconnect;
                    self.leave(conn, &nsp, reason, true).await;
                }
                Command::CloseAll(nsp) => {
                    let names = self.slots.names();
                    for name in names {
                        let reason = if name == nsp {
                            DisconnectReason::ServerNamespaceDisconnect
                        } else {
                            DisconnectReason::ForcedClose
                        };
                        self.leave(conn, &name, reason, true).await;
                    }
                    return Flow::Close(DisconnectReason::ForcedClose);
                }
            }
        }
        Flow::Continue
    }

    async fn closed(&mut self, _conn: &Arc<Conn>, reason: DisconnectReason) {
        self.acks.sockets().clear();
        for slot in self.slots.drain() {
            close_slot(&self.io, slot, reason).await;
        }
    }
}

/// Unlists a socket, then tells its connection value: exactly once.
pub(crate) async fn close_slot(io: &Io, mut slot: Slot, reason: DisconnectReason) {
    let ns = Arc::clone(&slot.socket.inner.ns);
    ns.remove(&slot.socket.inner.id);
    slot.socket.mark_closed();
    io.forget_if_empty(&ns);
    tracing::debug!(nsp = %ns.name, %reason, "socket closed");
    guarded("on_close", slot.connection.on_close(&slot.socket, reason)).await;
}

impl Client {
    async fn dispatch(
        &mut self,
        conn: &Arc<Conn>,
        packet: Packet,
        attachments: Vec<Bytes>,
    ) -> Flow {
        // Events and acks, nearly every packet, only look their namespace up.
        let nsp = &*packet.nsp;
        match packet.kind {
            Kind::Connect => {
                let nsp: Arc<str> = Arc::from(nsp);
                if self.slots.contains(&nsp) {
                    tracing::warn!(%nsp, "second CONNECT for a joined namespace; closing");
                    return Flow::Close(DisconnectReason::ParseError);
                }
                if self.slots.len() >= self.io.inner.settings.max_namespaces_per_client {
                    tracing::warn!(%nsp, "too many namespaces for one client; closing");
                    return Flow::Close(DisconnectReason::ParseError);
                }
                let auth = match self.protocol {
                    Protocol::SocketIo4 => packet.data,
                    _ => packet.query.as_deref().map(query_object),
                };
                // Boxed, as the other rare steps: a message's future is
                // allocated for each message, and should be small.
                Box::pin(self.connect(conn, nsp, auth)).await
            }
            Kind::Disconnect => {
                if !self.slots.contains(nsp) {
                    return self.not_joined(nsp);
                }
                Box::pin(self.leave(
                    conn,
                    nsp,
                    DisconnectReason::ClientNamespaceDisconnect,
                    false,
                ))
                .await;
                Flow::Continue
            }
            Kind::Event | Kind::BinaryEvent => {
                let Some(Value::Array(mut values)) = packet.data else {
                    return Flow::Close(DisconnectReason::ParseError);
                };
                let Some(slot) = self.slots.get_mut(nsp) else {
                    return self.not_joined(nsp);
                };
                let name = match values.remove(0) {
                    Value::String(name) => name,
                    other => other.to_string(),
                };
                let args = Args::new(values, attachments);
                on_event(slot, name, args, packet.id).await
            }
            Kind::Ack | Kind::BinaryAck => {
                let Some(slot) = self.slots.get(nsp) else {
                    return self.not_joined(nsp);
                };
                let values = match packet.data {
                    Some(Value::Array(values)) => values,
                    _ => Vec::new(),
                };
                let id = packet.id.unwrap_or(u64::MAX);
                if !slot.socket.resolve_ack(id, Args::new(values, attachments)) {
                    tracing::warn!(%nsp, id, "acknowledgement for an unknown id ignored");
                }
                Flow::Continue
            }
            Kind::ConnectError => {
                tracing::warn!(%nsp, "CONNECT_ERROR from a client; closing");
                Flow::Close(DisconnectReason::ParseError)
            }
        }
    }

    fn not_joined(&self, nsp: &str) -> Flow {
        tracing::warn!(%nsp, "packet for a namespace not joined; closing");
        Flow::Close(DisconnectReason::ParseError)
    }

    /// Connects a namespace: middleware, `on_open`, then the CONNECT reply
    /// and what `on_open` sent; or CONNECT_ERROR.
    async fn connect(&mut self, conn: &Arc<Conn>, nsp: Arc<str>, auth: Option<Value>) -> Flow {
        let Some(ns) = self.io.namespace_for_connect(&nsp) else {
            tracing::debug!(%nsp, "connect to an unknown namespace refused");
            let error = serde_json::json!({"message": "Invalid namespace"});
            push_control(conn, engine_packet(Kind::ConnectError, &nsp, Some(&error)));
            return Flow::Continue;
        };
        let Some(handshake) = self.handshake.clone() else {
            return Flow::Close(DisconnectReason::TransportError);
        };
        let id: Arc<str> = match self.protocol {
            Protocol::SocketIo4 => Arc::from(new_sid().as_str()),
            _ if &*nsp == "/" => Arc::from(&*conn.sid),
            _ => Arc::from(format!("{nsp}#{}", conn.sid).as_str()),
        };
        let wire = Wire::Engine {
            conn: Arc::clone(conn),
            commands: Arc::clone(&self.commands),
        };
        let socket = Socket::new(
            id,
            Arc::clone(&ns),
            self.protocol,
            Arc::clone(&handshake),
            wire,
        );
        if let Some(auth) = &auth {
            socket.set_auth(auth.clone());
        }
        let info = OpenInfo {
            handshake,
            extra: None,
            namespace: Arc::clone(&nsp),
            auth,
            protocol: self.protocol,
        };
        ns.insert(socket.clone());
        let mut connection = (ns.factory)();
        let refused = match self.io.inner.middleware.iter().try_for_each(|m| m(&info)) {
            Err(refused) => Some(refused),
            Ok(()) => match guarded("on_open", connection.on_open(&socket, &info)).await {
                Some(Ok(())) => None,
                Some(Err(refused)) => Some(refused),
                None => {
                    self.unlist(&ns, &socket);
                    return Flow::Close(DisconnectReason::HandlerPanicked);
                }
            },
        };
        drop(info);
        if let Some(refused) = refused {
            self.unlist(&ns, &socket);
            tracing::debug!(%nsp, %refused, "connection refused");
            push_control(conn, self.connect_error(&nsp, &refused));
            return Flow::Continue;
        }
        let reply = match self.protocol {
            Protocol::SocketIo4 => {
                let data = serde_json::json!({"sid": &*socket.inner.id});
                engine_packet(Kind::Connect, &nsp, Some(&data))
            }
            _ => engine_packet(Kind::Connect, &nsp, None),
        };
        if socket.confirm(reply).is_err() {
            // The connection is closing: `closed` will not see this slot.
            self.unlist(&ns, &socket);
            guarded(
                "on_close",
                connection.on_close(&socket, conn.close_reason()),
            )
            .await;
            return Flow::Continue;
        }
        tracing::debug!(%nsp, id = %socket.inner.id, "socket connected");
        self.connect_deadline = None;
        self.acks.sockets().insert(Arc::clone(&nsp), socket.clone());
        self.slots.insert(nsp, Slot { socket, connection });
        Flow::Continue
    }

    fn unlist(&self, ns: &Arc<Namespace>, socket: &Socket) {
        self.acks.sockets().remove(&*ns.name);
        ns.remove(&socket.inner.id);
        socket.mark_closed();
        self.io.forget_if_empty(ns);
    }

    fn connect_error(&self, nsp: &str, refused: &Refused) -> crate::engine::conn::Frame {
        let data = match self.protocol {
            Protocol::SocketIo4 => {
                let mut error = Map::new();
                error.insert("message".into(), Value::from(refused.text()));
                if let Some(data) = refused.data() {
                    error.insert("data".into(), data.clone());
                }
                Value::Object(error)
            }
            _ => refused
                .data()
                .cloned()
                .unwrap_or_else(|| Value::from(refused.text())),
        };
        engine_packet(Kind::ConnectError, nsp, Some(&data))
    }

    /// Ends one namespace's socket; `notify` sends the client DISCONNECT.
    async fn leave(&mut self, conn: &Arc<Conn>, nsp: &str, reason: DisconnectReason, notify: bool) {
        let Some(slot) = self.slots.remove(nsp) else {
            return;
        };
        self.acks.sockets().remove(nsp);
        if notify {
            push_control(conn, engine_packet(Kind::Disconnect, nsp, None));
        }
        close_slot(&self.io, slot, reason).await;
    }
}

/// Hands an event to the application: a plain `message` to `on_message`,
/// anything else to `on_event`.
pub(crate) async fn on_event(slot: &mut Slot, name: String, args: Args, id: Option<u64>) -> Flow {
    let Slot { socket, connection } = slot;
    let plain = name == "message" && id.is_none() && args.len() == 1 && args.binary.is_empty();
    let handled = if plain {
        let (mut values, _) = args.into_parts();
        let message = Message::from_value(values.remove(0));
        tracing::trace!(?message, "message");
        guarded("on_message", connection.on_message(socket, message)).await
    } else {
        tracing::trace!(%name, "event");
        let ack = id.map(|id| Ack {
            socket: socket.clone(),
            id,
        });
        let event = Event { name, args, ack };
        guarded("on_event", connection.on_event(socket, event)).await
    };
    match handled {
        Some(()) => Flow::Continue,
        None => Flow::Close(DisconnectReason::HandlerPanicked),
    }
}

/// Takes acknowledgements as they arrive, even while a callback of the same
/// client runs: a callback may await one (`emit_with_ack(..).await`), and
/// the answer must not wait for that callback to end.
struct AckShortcut {
    /// The joined namespaces' sockets.
    sockets: Mutex<HashMap<Arc<str>, Socket>>,
    /// A binary acknowledgement collecting its attachments.
    decoder: Mutex<Decoder>,
    max_attachments: usize,
    max_bytes: usize,
}

impl AckShortcut {
    fn sockets(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Socket>> {
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn decoder(&self) -> std::sync::MutexGuard<'_, Decoder> {
        self.decoder.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resolves a decoded acknowledgement; `false` when it is not one of
    /// a joined namespace (the usual path then judges it).
    fn resolve(&self, packet: Packet, attachments: Vec<Bytes>) -> bool {
        if !matches!(packet.kind, Kind::Ack | Kind::BinaryAck) {
            return false;
        }
        let Some(socket) = self.sockets().get(&*packet.nsp).cloned() else {
            return false;
        };
        let values = match packet.data {
            Some(Value::Array(values)) => values,
            _ => Vec::new(),
        };
        let id = packet.id.unwrap_or(u64::MAX);
        if !socket.resolve_ack(id, Args::new(values, attachments)) {
            tracing::warn!(nsp = %packet.nsp, id, "acknowledgement for an unknown id ignored");
        }
        true
    }
}

impl Shortcut for AckShortcut {
    fn text(&self, text: &str) -> bool {
        if !text.starts_with(['3', '6']) {
            return false;
        }
        let mut decoder = self.decoder();
        if decoder.is_pending() {
            return false;
        }
        match decoder.text(text, self.max_attachments) {
            Ok(Decoded::Pending) => true,
            Ok(Decoded::Packet(packet, attachments)) => {
                drop(decoder);
                self.resolve(packet, attachments)
            }
            Err(_) => false,
        }
    }

    fn binary(&self, data: &Bytes) -> bool {
        let mut decoder = self.decoder();
        if !decoder.is_pending() {
            return false;
        }
        match decoder.binary(data.clone(), self.max_bytes) {
            Ok(Decoded::Pending) => true,
            Ok(Decoded::Packet(packet, attachments)) => {
                drop(decoder);
                self.resolve(packet, attachments);
                true
            }
            // The attachments lied; the usual path sees the next one as
            // unexpected and closes the connection.
            Err(_) => false,
        }
    }
}

/// Queues a protocol packet regardless of the queue's limit.
fn push_control(conn: &Conn, frame: crate::engine::conn::Frame) {
    conn.push_control(frame);
}

/// A v4 namespace query (`/admin?token=1`) as node 4 turns it into `auth`
/// (and so does a protocol-1 endpoint's, `1::/admin?token=1`).
pub(crate) fn query_object(query: &str) -> Value {
    let mut object = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        object.insert(
            crate::query::decode(key),
            Value::from(crate::query::decode(value)),
        );
    }
    Value::Object(object)
}
