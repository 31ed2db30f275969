//! A Socket.IO 0.6 client in Rust and the framing it speaks, used by the
//! `tornadio-bench` load generator and reusable by tests.
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

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod codec;
