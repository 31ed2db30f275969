//! Socket.IO clients in Rust and the framing they speak, used by the
//! `tornadio-bench` load generator and reusable by tests.
//!
//! Socket.IO 0.6:
//!
//! * [`codec`]: `~m~LEN~m~DATA` framing, LEN in UTF-16 code units.
//! * [`client::WsClient`]: the `websocket` transport.
//! * [`client::PollingClient`]: the `xhr-polling` transport over hyper.
//!
//! Both clients wait for the session id (the first message of a session),
//! echo `~h~N` heartbeats as the browser client does, and hand every other
//! message to the caller.
//!
//! ```no_run
//! # async fn demo(addr: std::net::SocketAddr) -> std::io::Result<()> {
//! use tornadio_bench::client::WsClient;
//! use tornadio_bench::codec::Frame;
//!
//! let mut client = WsClient::connect(addr, "socket.io").await?;
//! println!("session {}", client.session_id());
//! client.send("hello").await?;
//! assert_eq!(client.recv().await?, Frame::Text("hello".into()));
//! # Ok(())
//! # }
//! ```
//!
//! The current protocol, Engine.IO v4 / Socket.IO v5 ([`v5`]): a
//! [`v5::WsClient`] and a [`v5::PollingClient`] that connect to the
//! namespace `/`, answer pings, and send and receive Engine.IO packets such
//! as `42["message","hello"]`.
//!
//! ```no_run
//! # async fn demo(addr: std::net::SocketAddr) -> std::io::Result<()> {
//! use tornadio_bench::v5::{WsClient, codec};
//!
//! let mut client = WsClient::connect(addr).await?;
//! client.send(&codec::event("message", "hello")).await?;
//! let packet = client.recv().await?;
//! let (event, text) = codec::parse_event(&packet).expect("an event");
//! assert_eq!((event.as_ref(), text.as_ref()), ("message", "hello"));
//! # Ok(())
//! # }
//! ```
//!
//! Socket.IO "protocol 1" (socket.io 0.7–0.9, [`proto1`]): a
//! [`proto1::WsClient`] that shakes hands, opens the session's WebSocket,
//! answers heartbeats, and sends and receives packets such as `3:::hello`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod codec;
pub mod proto1;
pub mod v5;
