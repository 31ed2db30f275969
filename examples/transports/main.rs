//! Transports: pick the transports the client may use, connect, and echo.
//!
//! The server side of TornadIO's `examples/transports`: every new connection
//! gets `Welcome from the server.`, then every message comes back unchanged
//! (text as text, JSON as JSON). The page picks the client: the socket.io
//! 0.6 client or socket.io-client 0.9, each with a checkbox per transport,
//! or socket.io-client 4 on websocket, polling, or polling upgraded to
//! websocket; all reach the same `Echo`, its messages arriving as `message`
//! events on the 0.9 and current clients.
//!
//! ```text
//! cargo run --example transports          # then open http://127.0.0.1:8001/
//! ```

#[path = "../common/mod.rs"]
mod common;

use tornadio::{Connection, Message, OpenInfo, Refused, Router, Socket};

struct Echo;

impl Connection for Echo {
    async fn on_open(&mut self, socket: &Socket, info: &OpenInfo) -> Result<(), Refused> {
        // The session's span already names its id and transport.
        tracing::info!(peer = ?info.peer_addr(), "connected");
        let _ = socket.send("Welcome from the server.");
        Ok(())
    }

    async fn on_message(&mut self, socket: &Socket, message: Message) {
        let _ = socket.send(message);
    }

    async fn on_close(&mut self, _socket: &Socket, _reason: tornadio::DisconnectReason) {
        tracing::info!("disconnected");
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = common::Options::from_args("transports");
    common::init_logging();

    let app = common::pages(include_str!("index.html")).merge(Router::new(|| Echo));
    common::serve(app, &options).await
}
