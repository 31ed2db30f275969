//! What adapters pass around: packets, selections, fetched sockets,
//! acknowledgements, server-side events.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use futures_util::stream::{self, BoxStream, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::args::Args;
use crate::message::Message;

/// What a broadcast carries: an event with its arguments, or a message
/// (what [`Socket::send`](crate::Socket::send) sends: a `message` event of
/// one argument to current clients, a message to 0.6 clients).
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub(crate) body: PacketBody,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PacketBody {
    Event { name: String, args: Args },
    Message(Message),
}

impl Packet {
    /// An event named `name` with `args`.
    pub fn event(name: impl Into<String>, args: Args) -> Packet {
        Packet {
            body: PacketBody::Event {
                name: name.into(),
                args,
            },
        }
    }

    /// A message: on the wire of current clients, a `message` event of one
    /// argument (text as a string).
    pub fn message(message: Message) -> Packet {
        Packet {
            body: PacketBody::Message(message),
        }
    }

    /// The event's name (`message` for a message).
    pub fn name(&self) -> &str {
        match &self.body {
            PacketBody::Event { name, .. } => name,
            PacketBody::Message(_) => "message",
        }
    }

    /// The arguments (a message's one value for a message).
    pub fn args(&self) -> Args {
        match &self.body {
            PacketBody::Event { args, .. } => args.clone(),
            PacketBody::Message(message) => {
                Args::from_parts(vec![message.clone().into_value()], Vec::new())
            }
        }
    }

    /// The name and the arguments.
    pub fn into_parts(self) -> (String, Args) {
        match self.body {
            PacketBody::Event { name, args } => (name, args),
            PacketBody::Message(message) => (
                "message".to_owned(),
                Args::from_parts(vec![message.into_value()], Vec::new()),
            ),
        }
    }
}

/// Which sockets of a namespace an operation reaches: those in any of
/// `rooms` (every socket when empty), minus those in any of `except`.
/// Every socket is in the room named by its id, so a socket id names it
/// in either list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastOptions {
    /// Sockets in any of these rooms; every socket when empty.
    pub rooms: Vec<String>,
    /// Minus the sockets in any of these rooms (or with these ids).
    pub except: Vec<String>,
}

impl BroadcastOptions {
    /// Every socket of the namespace.
    pub fn new() -> BroadcastOptions {
        BroadcastOptions::default()
    }

    /// Narrows to the sockets in `rooms` (in any of them).
    pub fn rooms<I, S>(mut self, rooms: I) -> BroadcastOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rooms.extend(rooms.into_iter().map(Into::into));
        self
    }

    /// Leaves out the sockets in `rooms`.
    pub fn except<I, S>(mut self, rooms: I) -> BroadcastOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.except.extend(rooms.into_iter().map(Into::into));
        self
    }
}

/// A socket as [`fetch_sockets`](crate::BroadcastOperator::fetch_sockets)
/// finds it, on this process or another: what node's `fetchSockets()`
/// tells of it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SocketInfo {
    /// The socket's id.
    pub id: String,
    /// The rooms it is in, its id-room included.
    pub rooms: Vec<String>,
    /// The handshake as node gives it: `headers`, `time`, `address`,
    /// `xdomain`, `secure`, `issued`, `url`, `query`, `auth`.
    pub handshake: Value,
    /// The application's data of the socket (node's `socket.data`; `{}`
    /// for tornadio sockets).
    pub data: Value,
}

impl SocketInfo {
    /// A socket's description.
    pub fn new(id: impl Into<String>, rooms: Vec<String>, handshake: Value, data: Value) -> Self {
        SocketInfo {
            id: id.into(),
            rooms,
            handshake,
            data,
        }
    }
}

/// What comes back from a broadcast that asks for acknowledgements.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AckEvent {
    /// One server sent the packet to this many of its clients (each server,
    /// this one included, reports once; `0` too).
    Reached(usize),
    /// One client answered. Answers from other servers carry only the
    /// first argument, as node's adapters send them.
    Answer(Args),
}

/// The stream of [`AckEvent`]s of one broadcast: from this process, merged
/// with those of other servers. It ends when nothing more can come.
pub struct BroadcastAcks {
    inner: BoxStream<'static, AckEvent>,
}

impl fmt::Debug for BroadcastAcks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastAcks").finish_non_exhaustive()
    }
}

impl BroadcastAcks {
    /// Acknowledgement events from any stream.
    pub fn from_stream(stream: impl Stream<Item = AckEvent> + Send + 'static) -> BroadcastAcks {
        BroadcastAcks {
            inner: stream.boxed(),
        }
    }

    /// Nothing was sent anywhere.
    pub fn none() -> BroadcastAcks {
        BroadcastAcks::from_stream(stream::empty())
    }

    /// Both streams' events as they come; ends when both ended.
    pub fn merge(self, other: BroadcastAcks) -> BroadcastAcks {
        BroadcastAcks::from_stream(stream::select(self.inner, other.inner))
    }
}

impl Stream for BroadcastAcks {
    type Item = AckEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<AckEvent>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// An event another server sent this one (node's `serverSideEmit`), for
/// the handler given to
/// [`Router::on_server_event`](crate::Router::on_server_event).
#[derive(Debug)]
pub struct ServerEvent {
    name: String,
    args: Args,
    ack: Option<ServerAck>,
}

impl ServerEvent {
    /// An event named `name` with `args`, wanting no answer.
    pub fn new(name: impl Into<String>, args: Args) -> ServerEvent {
        ServerEvent {
            name: name.into(),
            args,
            ack: None,
        }
    }

    /// The same event, answered through `ack`.
    pub fn with_ack(mut self, ack: ServerAck) -> ServerEvent {
        self.ack = Some(ack);
        self
    }

    /// The event's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The arguments.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The arguments as `T`: see [`Args::decode`].
    ///
    /// # Errors
    /// When the arguments do not fit `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.args.decode()
    }

    /// Whether the sending server waits for an answer.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// The answer the sending server waits for, if it does.
    pub fn take_ack(&mut self) -> Option<ServerAck> {
        self.ack.take()
    }

    /// The name, the arguments and the answer.
    pub fn into_parts(self) -> (String, Args, Option<ServerAck>) {
        (self.name, self.args, self.ack)
    }
}

/// The answer to a [`ServerEvent`]: one JSON value, sent once (node's
/// servers pass on only the first argument of an answer, and no binary).
pub struct ServerAck {
    send: Box<dyn FnOnce(Value) + Send>,
}

impl fmt::Debug for ServerAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerAck").finish_non_exhaustive()
    }
}

impl ServerAck {
    /// An answer that hands its value to `send` (an adapter publishes it).
    pub fn new(send: impl FnOnce(Value) + Send + 'static) -> ServerAck {
        ServerAck {
            send: Box::new(send),
        }
    }

    /// Answers with `data`.
    ///
    /// # Errors
    /// When `data` cannot be serialised to JSON.
    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), serde_json::Error> {
        let value = serde_json::to_value(data)?;
        (self.send)(value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_message_is_a_message_event_of_one_argument() {
        let packet = Packet::message(Message::Text("hi".into()));
        assert_eq!(packet.name(), "message");
        assert_eq!(packet.args().values(), &[json!("hi")]);
        let (name, args) = Packet::event("e", Args::from_serialize(&(1, 2)).unwrap()).into_parts();
        assert_eq!((name.as_str(), args.len()), ("e", 2));
    }

    #[test]
    fn server_acks_hand_over_json() {
        let (tx, rx) = std::sync::mpsc::channel();
        let ack = ServerAck::new(move |v| tx.send(v).unwrap());
        let mut event = ServerEvent::new("ping", Args::default()).with_ack(ack);
        assert!(event.wants_ack());
        event.take_ack().unwrap().send(&("pong", 1)).unwrap();
        assert_eq!(rx.recv().unwrap(), json!(["pong", 1]));
        assert!(!event.wants_ack());
    }
}
