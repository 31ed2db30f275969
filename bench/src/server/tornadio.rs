//! The server under test: the tornadio library as a user would write it,
//! with default settings.

use std::io;
use std::net::Ipv4Addr;

use tornadio::{Connection, Message, Router, Socket, SocketServer};

use super::{Mode, announce};

/// Sends every message back to its sender.
struct Echo;

impl Connection for Echo {
    async fn on_message(&mut self, socket: &Socket, message: Message) {
        let _ = socket.send(message);
    }
}

/// Sends every message to every session (the chatroom).
struct Broadcast;

impl Connection for Broadcast {
    async fn on_message(&mut self, socket: &Socket, message: Message) {
        socket.sockets().broadcast(message);
    }
}

pub async fn serve(mode: Mode, stop: impl Future<Output = ()>) -> io::Result<()> {
    let router = match mode {
        Mode::Echo => Router::new(|| Echo),
        Mode::Broadcast => Router::new(|| Broadcast),
    };
    let app = axum::Router::new().merge(router);
    let server = SocketServer::new(app)
        .address(Ipv4Addr::LOCALHOST.into())
        .port(0)
        .flash_policy_port(None)
        .bind()
        .await
        .map_err(io::Error::other)?;
    announce(server.local_addr())?;
    server.run_until(stop).await.map_err(io::Error::other)
}
