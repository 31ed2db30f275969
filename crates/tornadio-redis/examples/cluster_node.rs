//! A tornadio server in a Redis cluster, with an HTTP API that runs the
//! cluster-wide operations: what the interop tests in `e2e/cluster/` drive
//! beside node socket.io servers, and a way to try the adapter by hand.
//!
//! ```text
//! cargo run -p tornadio-redis --example cluster_node -- --redis redis://127.0.0.1:6379 --port 3001
//! curl 'http://127.0.0.1:3001/op/fetch?rooms=lobby'
//! ```
//!
//! Socket.IO at `/socket.io/`, namespaces `/` and `/chat`: a client joins
//! the rooms of its `auth.rooms`, and a room on `join` (room, ack). Other
//! servers' server-side events to `/` are recorded (`/op/server-events`)
//! and answered `{"from": "tornadio", "args": [...]}`.
//!
//! Every `/op/...` takes `nsp` (default `/`), `rooms` and `except`
//! (comma-separated) and answers JSON with `ms`, the time the operation
//! took: `fetch`, `rooms`, `count`, `emit` (`event`, `args` a JSON array,
//! `bin` hex bytes appended as a binary argument), `ack` (the same and
//! `timeout` ms: an acknowledged broadcast), `join`/`leave` (`room`),
//! `disconnect` (`close=true`), `server-emit` (`event`, `arg` JSON,
//! `ack=true`), `server-events`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Query, State};
use axum::routing::get;
use bytes::Bytes;
use serde_json::{Value, json};
use tornadio::adapter::ServerEvent;
use tornadio::{
    Args, BroadcastOperator, Connection, Event, Io, Message, OpenInfo, Refused, Router, Socket,
    SocketServer,
};
use tornadio_redis::RedisAdapter;

struct Member;

impl Connection for Member {
    async fn on_open(&mut self, socket: &Socket, info: &OpenInfo) -> Result<(), Refused> {
        if let Some(Value::Array(rooms)) = info.auth().and_then(|a| a.get("rooms")) {
            for room in rooms.iter().filter_map(Value::as_str) {
                let _ = socket.join(room);
            }
        }
        Ok(())
    }

    async fn on_message(&mut self, _socket: &Socket, _message: Message) {}

    async fn on_event(&mut self, socket: &Socket, mut event: Event) {
        if let ("join", Ok(room)) = (event.name(), event.args().get::<String>(0)) {
            let _ = socket.join(room);
            if let Some(ack) = event.take_ack() {
                let _ = ack.send(&true);
            }
        }
    }
}

#[derive(Clone)]
struct App {
    io: Io,
    events: Arc<Mutex<Vec<Value>>>,
}

type Params = Query<HashMap<String, String>>;

fn list(params: &HashMap<String, String>, key: &str) -> Vec<String> {
    params
        .get(key)
        .map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn operator(app: &App, params: &HashMap<String, String>) -> BroadcastOperator {
    let nsp = params.get("nsp").map_or("/", String::as_str);
    let mut op = app.io.of(nsp);
    for room in list(params, "rooms") {
        op = op.to(room);
    }
    for room in list(params, "except") {
        op = op.except(room);
    }
    op
}

fn millis(started: Instant) -> u128 {
    started.elapsed().as_millis()
}

/// The arguments of `args` (a JSON array), plus `bin` as binary.
fn args(params: &HashMap<String, String>) -> Args {
    let mut values = match params.get("args").map(|a| serde_json::from_str(a)) {
        Some(Ok(Value::Array(values))) => values,
        _ => Vec::new(),
    };
    let mut binary = Vec::new();
    if let Some(hex) = params.get("bin") {
        let bytes: Vec<u8> = (0..hex.len() / 2)
            .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        values.push(json!({"_placeholder": true, "num": 0}));
        binary.push(Bytes::from(bytes));
    }
    Args::from_parts(values, binary)
}

async fn fetch(State(app): State<App>, Query(p): Params) -> Json<Value> {
    let started = Instant::now();
    Json(match operator(&app, &p).fetch_sockets().await {
        Ok(sockets) => {
            let sockets: Vec<Value> = sockets
                .iter()
                .map(|s| json!({"id": s.id(), "rooms": s.rooms(), "handshake": s.handshake(), "local": s.local().is_some()}))
                .collect();
            json!({"sockets": sockets, "ms": millis(started)})
        }
        Err(error) => json!({"error": error.to_string(), "ms": millis(started)}),
    })
}

async fn rooms(State(app): State<App>, Query(p): Params) -> Json<Value> {
    let started = Instant::now();
    Json(match operator(&app, &p).all_rooms().await {
        Ok(rooms) => json!({"rooms": rooms, "ms": millis(started)}),
        Err(error) => json!({"error": error.to_string(), "ms": millis(started)}),
    })
}

async fn count(State(app): State<App>, Query(p): Params) -> Json<Value> {
    let started = Instant::now();
    Json(match operator(&app, &p).server_count().await {
        Ok(count) => json!({"count": count, "ms": millis(started)}),
        Err(error) => json!({"error": error.to_string(), "ms": millis(started)}),
    })
}

async fn emit(State(app): State<App>, Query(p): Params) -> Json<Value> {
    let started = Instant::now();
    let event = p.get("event").cloned().unwrap_or_default();
    operator(&app, &p).emit_args(&event, args(&p));
    Json(json!({"ms": millis(started)}))
}

async fn ack(State(app): State<App>, Query(p): Params) -> Json<Value> {
    let started = Instant::now();
    let event = p.get("event").cloned().unwrap_or_default();
    let timeout = p
        .get("timeout")
        .and_then(|t| t.parse().ok())
        .unwrap_or(5000);
    let op = operator(&app, &p).timeout(Duration::from_millis(timeout));
    let answers = |r: &[Args]| -> Vec<Value> {
        r.iter()
            .map(|a| Value::Array(a.values().to_vec()))
            .collect()
    };
    Json(match op.emit_args_with_ack(&event, args(&p)).await {
        Ok(responses) => json!({"responses": answers(&responses), "ms": millis(started)}),
        Err(error) => json!({
            "error": error.to_string(), "responses": answers(&error.responses), "ms": millis(started),
        }),
    })
}

async fn join(State(app): State<App>, Query(p): Params) -> Json<Value> {
    operator(&app, &p).sockets_join(p.get("room").cloned().unwrap_or_default());
    Json(json!({}))
}

async fn leave(State(app): State<App>, Query(p): Params) -> Json<Value> {
    operator(&app, &p).sockets_leave(p.get("room").map_or("", String::as_str));
    Json(json!({}))
}

async fn disconnect(State(app): State<App>, Query(p): Params) -> Json<Value> {
    let op = operator(&app, &p);
    if p.get("close").is_some_and(|c| c == "true") {
        op.close_sockets();
    } else {
        op.disconnect_sockets();
    }
    Json(json!({}))
}

async fn server_emit(State(app): State<App>, Query(p): Params) -> Json<Value> {
    let started = Instant::now();
    let event = p.get("event").cloned().unwrap_or_default();
    let arg: Value = p
        .get("arg")
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or(Value::Null);
    let op = operator(&app, &p);
    if p.get("ack").is_none_or(|a| a != "true") {
        let _ = op.server_side_emit(&event, &arg);
        return Json(json!({"ms": millis(started)}));
    }
    Json(match op.server_side_emit_with_ack(&event, &arg).await {
        Ok(responses) => json!({"responses": responses, "ms": millis(started)}),
        Err(error) => json!({
            "error": error.to_string(), "responses": error.responses, "ms": millis(started),
        }),
    })
}

async fn server_events(State(app): State<App>) -> Json<Value> {
    let events = app.events.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Json(Value::Array(events))
}

fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let url = flag("--redis").unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let port: u16 = flag("--port").map_or(Ok(0), |p| p.parse())?;
    let mut adapter = RedisAdapter::new(&url)?;
    if let Some(prefix) = flag("--prefix") {
        adapter = adapter.prefix(&prefix);
    }
    if let Some(ms) = flag("--request-timeout-ms") {
        adapter = adapter.request_timeout(Duration::from_millis(ms.parse()?));
    }
    let events = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&events);
    let router = Router::new(|| Member)
        .namespace("/chat", || Member)
        .adapter(adapter.clone())
        .on_server_event("/", move |mut event: ServerEvent| {
            let args = Value::Array(event.args().values().to_vec());
            if let Some(ack) = event.take_ack() {
                let _ = ack.send(&json!({"from": "tornadio", "args": args}));
            }
            let record = json!({"event": event.name(), "args": args});
            recorded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(record);
        });
    let app = App {
        io: router.io(),
        events,
    };
    let ops = axum::Router::new()
        .route("/op/fetch", get(fetch))
        .route("/op/rooms", get(rooms))
        .route("/op/count", get(count))
        .route("/op/emit", get(emit))
        .route("/op/ack", get(ack))
        .route("/op/join", get(join))
        .route("/op/leave", get(leave))
        .route("/op/disconnect", get(disconnect))
        .route("/op/server-emit", get(server_emit))
        .route("/op/server-events", get(server_events))
        .with_state(app);
    if tokio::time::timeout(Duration::from_secs(10), adapter.ready())
        .await
        .is_err()
    {
        tracing::warn!("not subscribed to Redis yet; serving anyway");
    }
    let server = SocketServer::new(ops.merge(router))
        .address("127.0.0.1".parse()?)
        .port(port)
        .flash_policy_port(None)
        .bind()
        .await?;
    println!("Listening on http://{}/", server.local_addr());
    use std::io::Write as _;
    std::io::stdout().flush()?;
    server.run().await?;
    Ok(())
}
