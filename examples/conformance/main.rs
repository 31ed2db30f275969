//! The server the official protocol test suites and the real-client tests
//! run against: bare Engine.IO at `/engine.io/`, Socket.IO at `/socket.io/`.
//!
//! ```text
//! cargo run --release --example conformance -- --port 3000
//! ```
//!
//! * `/engine.io/`: every message back, text as text, binary as binary.
//! * `/socket.io/`: namespaces `/` and `/custom` (others refused). On
//!   connection the server emits `auth` with the client's auth; `message`
//!   comes back as `message-back`; `message-with-ack` is acknowledged with
//!   its arguments; `join`/`leave` (room, ack) ack `true`; `to` (room,
//!   event, ...args) emits `event(...args)` to that room but the sender;
//!   `ask` (event, ...args) asks the sender, then emits `answer` with its
//!   acknowledgement; `bye` disconnects the sender.
//!
//! socket.io-client 0.9 ("protocol 1", `/socket.io/1/`) reaches the same
//! `/` and `/custom` through its endpoints, with the same events and acks
//! (`auth` is `{}`, or an endpoint's query as an object).
//!
//! `--auth-delay-ms N` emits `auth` N ms after the CONNECT reply instead of
//! with it. The official socket.io-protocol suite wants about 20: its test
//! client registers each next frame listener only after the previous frame
//! was handled, so a frame arriving in the same TCP read as the one before
//! (as `auth` does right behind the CONNECT reply) is lost by the test, not
//! by the server (node's own server loses it there too).
//!
//! Ping interval 300 ms, ping timeout 200 ms, connect timeout 1000 ms,
//! max payload 1,000,000, any origin; `--ping-interval-ms`,
//! `--ping-timeout-ms` and `--max-payload` change them. Protocol 1 keeps
//! 0.9.17's clocks (heartbeats every 25 s, 60 s timeouts, 20 s polls);
//! `--proto1-heartbeat-interval-ms` and `--proto1-heartbeat-timeout-ms`
//! change the heartbeat's. `--redis URL` (key prefix `socket.io`) makes
//! rooms span every process on that Redis, node servers with
//! `@socket.io/redis-adapter` included.

#[path = "../common/mod.rs"]
mod common;

use std::time::Duration;

use serde_json::{Value, json};
use tornadio::{
    Args, Connection, Data, EngineConnection, EngineRouter, EngineSocket, Event, Message, OpenInfo,
    Refused, Router, Settings, Socket,
};

/// The bare Engine.IO echo.
struct Echo;

impl EngineConnection for Echo {
    async fn on_message(&mut self, socket: &EngineSocket, data: Data) {
        let _ = socket.send(data);
    }
}

/// One Socket.IO connection, in `/` or `/custom`.
struct Conformance {
    /// How long after the CONNECT reply `auth` is emitted.
    auth_delay: Duration,
}

impl Connection for Conformance {
    async fn on_open(&mut self, socket: &Socket, info: &OpenInfo) -> Result<(), Refused> {
        let auth = info.auth().cloned().unwrap_or_else(|| json!({}));
        if self.auth_delay.is_zero() {
            let _ = socket.emit("auth", &auth);
        } else {
            let (socket, delay) = (socket.clone(), self.auth_delay);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = socket.emit("auth", &auth);
            });
        }
        Ok(())
    }

    async fn on_message(&mut self, socket: &Socket, message: Message) {
        let _ = socket.emit("message-back", &message.into_value());
    }

    async fn on_event(&mut self, socket: &Socket, mut event: Event) {
        let ack = event.take_ack();
        let (name, args, _) = event.into_parts();
        match name.as_str() {
            "message" => {
                let _ = socket.emit_args("message-back", args);
            }
            "message-with-ack" => {
                if let Some(ack) = ack {
                    let _ = ack.send_args(&args);
                }
            }
            "join" | "leave" => {
                if let Ok(room) = args.get::<String>(0) {
                    if name == "join" {
                        let _ = socket.join(room);
                    } else {
                        socket.leave(&room);
                    }
                }
                if let Some(ack) = ack {
                    let _ = ack.send(&true);
                }
            }
            "to" => {
                let (values, binary) = args.into_parts();
                let mut values = values.into_iter();
                if let (Some(Value::String(room)), Some(Value::String(event))) =
                    (values.next(), values.next())
                {
                    let rest = Args::from_parts(values.collect(), binary);
                    socket.to(room).emit_args(&event, rest);
                }
            }
            "ask" => {
                let (values, binary) = args.into_parts();
                let mut values = values.into_iter();
                if let Some(Value::String(event)) = values.next() {
                    let rest = Args::from_parts(values.collect(), binary);
                    // The answer arrives through this socket's own task:
                    // wait for it elsewhere, never inside this callback.
                    let answer = socket.emit_args_with_ack(&event, rest);
                    let socket = socket.clone();
                    tokio::spawn(async move {
                        if let Ok(answer) = answer.await
                            && !answer.is_empty()
                        {
                            let _ = socket.emit_args("answer", answer);
                        }
                    });
                }
            }
            "bye" => socket.disconnect(),
            _ => {}
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = common::Options::from_args_with(
        "conformance",
        &[
            (
                "--ping-interval-ms",
                "Engine.IO ping interval (default 300)",
            ),
            ("--ping-timeout-ms", "Engine.IO ping timeout (default 200)"),
            (
                "--max-payload",
                "largest message or POST body in bytes (default 1000000)",
            ),
            (
                "--proto1-heartbeat-interval-ms",
                "socket.io 0.9 heartbeat interval (default 25000)",
            ),
            (
                "--proto1-heartbeat-timeout-ms",
                "socket.io 0.9 heartbeat timeout, announced in whole seconds (default 60000)",
            ),
            (
                "--auth-delay-ms",
                "emit `auth` this long after the CONNECT reply (default 0)",
            ),
            common::REDIS_FLAG,
        ],
    );
    common::init_logging();
    let millis = |flag: &str, default: u64| -> Result<Duration, String> {
        match options.flag(flag) {
            Some(text) => text
                .parse()
                .map(Duration::from_millis)
                .map_err(|_| format!("{flag}: not a number of milliseconds: {text}")),
            None => Ok(Duration::from_millis(default)),
        }
    };
    let max_payload = match options.flag("--max-payload") {
        Some(text) => text
            .parse()
            .map_err(|_| format!("--max-payload: not a number: {text}"))?,
        None => 1_000_000,
    };
    let settings = Settings::default()
        .ping_interval(millis("--ping-interval-ms", 300)?)
        .ping_timeout(millis("--ping-timeout-ms", 200)?)
        .connect_timeout(Duration::from_millis(1000))
        .max_payload(max_payload)
        .max_queued_bytes(max_payload.max(1 << 20) * 4)
        .proto1_heartbeat_interval(millis("--proto1-heartbeat-interval-ms", 25_000)?)
        .proto1_heartbeat_timeout(millis("--proto1-heartbeat-timeout-ms", 60_000)?)
        .allowed_origins(["*"]);
    let engine = EngineRouter::new(|| Echo).settings(settings.clone());
    let auth_delay = millis("--auth-delay-ms", 0)?;
    let socketio = Router::new(move || Conformance { auth_delay })
        .namespace("/custom", move || Conformance { auth_delay })
        .settings(settings);
    // With `--redis`, rooms (`join`, `to`) span every process on that Redis.
    let socketio = common::with_redis(socketio, &options).await?;
    let app = axum::Router::new().merge(engine).merge(socketio);
    common::serve(app, &options).await
}
