//! # tornadio
//!
//! A [Socket.IO](https://socket.io) server for tokio and hyper, mountable in
//! axum. It speaks the Socket.IO 0.6 protocol on all six of its transports,
//! so the original `socket.io.js` client connects from any browser, with
//! the API of Python's TornadIO.
//!
//! 1. Implement [`Connection`]: `on_message` (JSON is decoded for you), and
//!    optionally `on_open` (with the `extra` data from the URL) and
//!    `on_close` (called exactly once per session).
//! 2. Make a [`Router`] for it: a resource, optional `extra_re`, [`Settings`].
//! 3. Merge the router into an [`axum::Router`] beside your own routes.
//! 4. Serve it with [`SocketServer`], which also answers Flash policy
//!    requests and shuts down gracefully.
//!
//! ```no_run
//! use tornadio::{Connection, Message, OpenInfo, Refused, Router, Socket, SocketServer};
//!
//! struct Chat;
//!
//! impl Connection for Chat {
//!     async fn on_open(&mut self, socket: &Socket, _info: &OpenInfo) -> Result<(), Refused> {
//!         let _ = socket.send("Welcome!");
//!         Ok(())
//!     }
//!
//!     async fn on_message(&mut self, socket: &Socket, message: Message) {
//!         // Text as text, JSON as JSON, to everyone in the room.
//!         socket.sockets().broadcast(message);
//!     }
//!
//!     async fn on_close(&mut self, socket: &Socket) {
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
//! ## Transports
//!
//! | transport | kind | liveness |
//! |---|---|---|
//! | `websocket` | RFC 6455 | heartbeats |
//! | `flashsocket` | WebSocket from Flash; needs the policy | heartbeats |
//! | `xhr-multipart` | one multipart GET stream, POSTs | heartbeats |
//! | `htmlfile` | one `text/html` stream of scripts, POSTs | heartbeats |
//! | `xhr-polling` | long-polling GETs, POSTs | `session_expiry` |
//! | `jsonp-polling` | long-polling `<script>`s, form POSTs | `session_expiry` |
//!
//! Persistent transports send `~h~N` after
//! [`heartbeat_interval`](Settings::heartbeat_interval) without other output;
//! a client that does not echo a heartbeat within
//! [`heartbeat_timeout`](Settings::heartbeat_timeout) is disconnected.
//! Polling sessions end after [`session_expiry`](Settings::session_expiry)
//! without a GET, checked every
//! [`session_check_interval`](Settings::session_check_interval).
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod connection;
mod error;
mod flash;
mod message;
mod protocol;
mod router;
mod server;
mod session;
mod settings;
mod socket;
#[cfg(test)]
mod testing;
mod transport;

pub use connection::{Connection, OpenInfo, Refused};
pub use error::{DecodeError, Error, SendError};
pub use message::{Message, Outgoing};
pub use router::Router;
pub use server::{BoundServer, SocketServer};
pub use settings::{Settings, Transport, UnknownTransport};
pub use socket::{Socket, Sockets};
