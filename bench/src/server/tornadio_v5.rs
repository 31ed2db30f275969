//! PLUG-IN POINT: tornadio on the current protocol (Engine.IO v4 /
//! Socket.IO v5), the server the v5 scenarios compare with socketioxide,
//! node socket.io and the bare baselines.
//!
//! tornadio does not speak the current protocol yet. Until it does,
//! [`AVAILABLE`] is `false`: the v5 scenarios leave `tornadio-v5` out of
//! their lineup and `serve tornadio-v5` refuses. Everything else (the
//! lineup, the alternating runs, the tables, `--compare`, the sweeps, the
//! smoke run) already takes it in.
//!
//! To plug it in, set `AVAILABLE` to `true` and make `serve` the server, in
//! this file only. It must serve `/socket.io/` with `?EIO=4` on 127.0.0.1,
//! port 0, call `announce` with its address, and run until `stop`, doing
//! the work the other servers do: in [`Mode::Echo`] a client's `message`
//! event goes back to its sender, in [`Mode::Broadcast`] to every socket,
//! the sender included. With the planned API:
//!
//! ```ignore
//! struct Echo;
//!
//! impl tornadio::Connection for Echo {
//!     async fn on_message(&mut self, socket: &tornadio::Socket, message: tornadio::Message) {
//!         let _ = socket.send(message);
//!     }
//! }
//!
//! struct Broadcast;
//!
//! impl tornadio::Connection for Broadcast {
//!     async fn on_message(&mut self, socket: &tornadio::Socket, message: tornadio::Message) {
//!         socket.sockets().broadcast(message);
//!     }
//! }
//!
//! // Router::new(|| Echo) / Router::new(|| Broadcast), merged into an
//! // axum::Router and served by SocketServer exactly as `super::tornadio`
//! // does; if one Router serves every generation, the body of `serve` is
//! // just `super::tornadio::serve(mode, stop).await`.
//! ```

use std::io;

use super::Mode;

/// Whether tornadio speaks the current protocol, so the v5 scenarios run it.
pub const AVAILABLE: bool = false;

pub async fn serve(mode: Mode, stop: impl Future<Output = ()>) -> io::Result<()> {
    let _ = (mode, stop);
    Err(io::Error::other(
        "tornadio does not speak Engine.IO v4 / Socket.IO v5 yet (bench/src/server/tornadio_v5.rs)",
    ))
}
