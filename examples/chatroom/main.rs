//! A chat room: everyone who opens the page talks to everyone else.
//!
//! The server side of TornadIO's `examples/chatroom`: a new participant gets
//! `Welcome!`, every message goes to every participant (the sender too, so each
//! page shows the room's one true order), and when someone leaves the others
//! read `A user has left.`.
//!
//! One room for every client generation: the page at `/` runs the socket.io
//! 0.6 client, the same page at `/v09` runs socket.io-client 0.9 and at
//! `/current` socket.io-client 4, and all are sockets of the same router, so
//! they chat with each other.
//!
//! ```text
//! cargo run --example chatroom            # then open http://127.0.0.1:8001/,
//!                                         # http://127.0.0.1:8001/v09
//!                                         # and http://127.0.0.1:8001/current
//! cargo run --example chatroom -- --port 8002 --redis redis://127.0.0.1:6379   # one room, two processes
//! ```

#[path = "../common/mod.rs"]
mod common;

use axum::response::Html;
use axum::routing::get;
use tornadio::{Connection, Message, OpenInfo, Refused, Router, Settings, Socket, Transport};

/// One participant. The room itself is the router's registry of live sockets,
/// so the connection needs no state of its own.
struct Participant;

impl Connection for Participant {
    async fn on_open(&mut self, socket: &Socket, info: &OpenInfo) -> Result<(), Refused> {
        // The session's span already names its id and transport.
        tracing::info!(peer = ?info.peer_addr(), "joined; {} in the room", socket.sockets().len());
        let _ = socket.send("Welcome!");
        Ok(())
    }

    async fn on_message(&mut self, socket: &Socket, message: Message) {
        // Text or JSON, relayed as it came; the page sends {"name", "text"} objects.
        socket.sockets().broadcast(message);
    }

    async fn on_close(&mut self, socket: &Socket, _reason: tornadio::DisconnectReason) {
        tracing::info!("left");
        socket
            .sockets()
            .broadcast_except("A user has left.", socket.id());
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = common::Options::from_args_with("chatroom", &[common::REDIS_FLAG]);
    common::init_logging();

    // The seed's chatroom protocols, plus jsonp-polling and htmlfile so that
    // every browser finds one.
    let settings = Settings::default().enabled_protocols(vec![
        Transport::WebSocket,
        Transport::FlashSocket,
        Transport::XhrMultipart,
        Transport::XhrPolling,
        Transport::JsonpPolling,
        Transport::HtmlFile,
    ]);
    // With `--redis`, the room spans every process on that Redis.
    let chat = common::with_redis(Router::new(|| Participant).settings(settings), &options).await?;

    // One page, three paths: it picks its client from the path it was loaded at.
    let page = include_str!("index.html");
    let app = common::pages(page)
        .route("/v09", get(move || async move { Html(page) }))
        .route("/current", get(move || async move { Html(page) }))
        .merge(chat);
    common::serve(app, &options).await
}
