//! # tornadio
//!
//! A [Socket.IO](https://socket.io) server for tokio and hyper, mountable in
//! axum, that serves every client generation ever shipped through one
//! handler API: socket.io-client 3.x/4.x (Socket.IO v5 over Engine.IO v4),
//! socket.io-client 1.x/2.x (v4 over Engine.IO v3), socket.io-client
//! 0.7–0.9 ("protocol 1"), and the original 2011 Socket.IO 0.6 client on
//! its six transports, with the API of Python's TornadIO.
//!
//! 1. Implement [`Connection`]: `on_message` (what `socket.send(x)` sends),
//!    and optionally `on_event` (events, with acknowledgements), `on_open`
//!    (may refuse) and `on_close` (called exactly once, with the reason).
//! 2. Make a [`Router`] for it; add namespaces, each with its own type.
//! 3. Merge the router into an [`axum::Router`] beside your own routes.
//! 4. Serve it with [`SocketServer`], which also answers Flash policy
//!    requests and shuts down gracefully.
//!
//! ```no_run
//! use tornadio::{Connection, DisconnectReason, Event, Message, OpenInfo, Refused, Router, Socket, SocketServer};
//!
//! struct Chat;
//!
//! impl Connection for Chat {
//!     async fn on_open(&mut self, socket: &Socket, _info: &OpenInfo) -> Result<(), Refused> {
//!         let _ = socket.join("lobby");
//!         let _ = socket.send("Welcome!");
//!         Ok(())
//!     }
//!
//!     // `socket.send(text)` from any client, 2011 or 2026.
//!     async fn on_message(&mut self, socket: &Socket, message: Message) {
//!         socket.sockets().broadcast(message);
//!     }
//!
//!     // `socket.emit("whisper", to, text, ack)` from a current client.
//!     async fn on_event(&mut self, socket: &Socket, mut event: Event) {
//!         if event.name() == "whisper" {
//!             if let Ok((to, text)) = event.decode::<(String, String)>() {
//!                 let _ = socket.to(to).emit("whisper", &(socket.id(), text));
//!             }
//!             if let Some(ack) = event.take_ack() {
//!                 let _ = ack.send(&"delivered");
//!             }
//!         }
//!     }
//!
//!     async fn on_close(&mut self, socket: &Socket, _reason: DisconnectReason) {
//!         socket.sockets().broadcast_except("A user has left.", socket.id());
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), tornadio::Error> {
//!     let app = axum::Router::new()
//!         .route("/", axum::routing::get(|| async { "the page" }))
//!         .merge(Router::new(|| Chat));
//!     SocketServer::new(app).port(8001).run().await
//! }
//! ```
//!
//! ## Generations
//!
//! | client | protocol | transports | messages | events, acks | namespaces | binary |
//! |---|---|---|---|---|---|---|
//! | socket.io-client 3.x, 4.x | Socket.IO 5 / Engine.IO 4 | polling, websocket, upgrade | `message` events | yes | yes | yes |
//! | socket.io-client 1.x, 2.x | Socket.IO 4 / Engine.IO 3 | polling (XHR, JSONP), websocket, upgrade | `message` events | yes | yes | yes |
//! | socket.io-client 0.7–0.9 | protocol 1 (`/socket.io/1/`) | websocket, flashsocket, htmlfile, xhr-polling, jsonp-polling | yes (`3` text, `4` JSON) | yes, data acks both ways | endpoints | no |
//! | Socket.IO 0.6 | 0.6 framing | websocket, flashsocket, xhr-multipart, htmlfile, xhr-polling, jsonp-polling | yes | no | `/` only | no |
//!
//! A 0.6 client is a socket in the namespace `/`: its messages reach
//! [`Connection::on_message`], and a `message` event of one argument reaches
//! it as a message. Other events skip it in broadcasts and are refused
//! ([`SendError::Unsupported`]) when emitted to it directly.
//!
//! A protocol-1 client is a socket in each endpoint it joins, the endpoint
//! `""` being the namespace `/` (opened when its first transport connects,
//! refusing it ends the session) and `/chat` the namespace `/chat` (joined
//! with `1::/chat`; refused or unknown ones are told `7::/chat:2`, and the
//! endpoint's query reaches [`OpenInfo::auth`] as an object). Its socket id
//! is the session id in every endpoint. Events with a data ack (`5:1+:...`)
//! reach [`Connection::on_event`] with an [`Ack`]; a protocol ack (an id
//! without `+`) is answered at once. [`Socket::emit_with_ack`] asks it with
//! a data ack. Binary arguments have no protocol-1 form: emitting them to
//! such a client fails with [`SendError::Unsupported`], and broadcasts
//! skip it.
//!
//! | a protocol-1 session ends when | `on_close` reason |
//! |---|---|
//! | the client sends `0::` (or `0::/ep`: that endpoint only) | [`ClientNamespaceDisconnect`](DisconnectReason::ClientNamespaceDisconnect) |
//! | its page unloads (`?disconnect`), its websocket or htmlfile stream ends | [`TransportClose`](DisconnectReason::TransportClose) |
//! | a heartbeat goes unanswered, or no transport carries it for the close timeout | [`PingTimeout`](DisconnectReason::PingTimeout) |
//! | it sends what is not protocol 1, or joins too many endpoints | [`ParseError`](DisconnectReason::ParseError) |
//! | [`Socket::disconnect`] on `/`, [`Socket::close`] | [`ServerNamespaceDisconnect`](DisconnectReason::ServerNamespaceDisconnect) for that socket, [`ForcedClose`](DisconnectReason::ForcedClose) for its others; the client reads `0::` and does not reconnect |
//! | it does not read ([`Settings::max_queued_bytes`]), the server stops, a callback panics | [`SlowClient`](DisconnectReason::SlowClient), [`ServerShuttingDown`](DisconnectReason::ServerShuttingDown), [`HandlerPanicked`](DisconnectReason::HandlerPanicked); the client is not told, and reconnects |
//!
//! ## 0.6 transports
//!
//! Persistent transports send `~h~N` every
//! [`heartbeat_interval`](Settings::heartbeat_interval); a client that does
//! not echo a heartbeat within [`heartbeat_timeout`](Settings::heartbeat_timeout)
//! is disconnected. Polling sessions end after
//! [`session_expiry`](Settings::session_expiry) without a GET, checked every
//! [`session_check_interval`](Settings::session_check_interval).
//! Engine.IO clients follow node's rules: [`ping_interval`](Settings::ping_interval),
//! [`ping_timeout`](Settings::ping_timeout). Protocol-1 clients follow
//! socket.io 0.9's: heartbeats on websocket, flashsocket and htmlfile
//! every [`proto1_heartbeat_interval`](Settings::proto1_heartbeat_interval),
//! answered within [`proto1_heartbeat_timeout`](Settings::proto1_heartbeat_timeout);
//! polls answered `8::` after [`proto1_polling_duration`](Settings::proto1_polling_duration);
//! a session no transport carries ends after [`proto1_close_timeout`](Settings::proto1_close_timeout).
//!
//! ## Several processes
//!
//! A router's broadcasts and the operations of [`BroadcastOperator`]
//! (`fetch_sockets`, `sockets_join`, acknowledged broadcasts, server-side
//! events...) go through its [`adapter`]: this process alone by default,
//! every process of a cluster with [`Router::adapter`] and a cluster
//! adapter such as the `tornadio-redis` crate's, which joins node
//! socket.io servers using `@socket.io/redis-adapter`.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod adapter;
mod args;
mod connection;
mod context;
mod engine;
mod error;
mod flash;
mod http;
mod js;
mod latch;
mod legacy;
mod message;
mod panic;
mod proto1;
mod protocol;
mod query;
mod registry;
mod server;
mod settings;
mod socket;
#[cfg(test)]
mod testing;
mod ws;

pub use connection::{Connection, DisconnectReason, OpenInfo, Protocol, Refused};
pub use engine::{Data, EngineConnection, EngineSocket};
pub use error::{DecodeError, Error, SendError};
pub use http::{EngineRouter, Router};
pub use message::{Message, Outgoing};
pub use protocol::engine::EngineDecodeError;
pub use protocol::packet::PacketError;
pub use server::{BoundServer, SocketServer};
pub use settings::{Settings, Transport, UnknownTransport};
pub use socket::{
    Ack, AckError, AckFuture, Args, BroadcastAckError, BroadcastOperator, Event, Io, RemoteSocket,
    Socket, Sockets,
};
