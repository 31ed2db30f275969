//! The server under test: the tornadio library as a user would write it,
//! with default settings.

use std::io;
use std::net::Ipv4Addr;
use std::time::Duration;

use axum::routing::get;
use tornadio::{Connection, Message, Router, Settings, Socket, SocketServer};
use tornadio_redis::RedisAdapter;

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

/// Serves `mode`; with `redis`, sharing rooms and broadcasts with every
/// other process on that Redis (node's `@socket.io/redis-adapter` format).
pub async fn serve(
    mode: Mode,
    redis: Option<String>,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut router = match mode {
        Mode::Echo => Router::new(|| Echo),
        Mode::Broadcast => Router::new(|| Broadcast),
        Mode::Soak => Router::new(|| Echo).settings(soak_settings()),
    };
    if let Some(url) = redis {
        let adapter = RedisAdapter::new(&url).map_err(io::Error::other)?;
        router = router.adapter(adapter.clone());
        tokio::time::timeout(Duration::from_secs(10), adapter.ready())
            .await
            .map_err(|_| io::Error::other(format!("Redis at {url} not ready within 10 s")))?;
    }
    // Nothing but sockets: served without axum's routing, as socketioxide's
    // server here runs its service on bare hyper. The soak needs a route of
    // its own; BENCH_TORNADIO_AXUM=1 mounts the router in axum as an
    // application with other routes would.
    let server = if mode == Mode::Soak || std::env::var_os("BENCH_TORNADIO_AXUM").is_some() {
        let mut app = axum::Router::new().merge(router.clone());
        if mode == Mode::Soak {
            let count = move || {
                let open = router.connection_count();
                async move { format!("{open} {}", heap_in_use()) }
            };
            app = app.route("/stats", get(count));
        }
        SocketServer::new(app)
    } else {
        SocketServer::standalone(router)
    };
    let server = server
        .address(Ipv4Addr::LOCALHOST.into())
        .port(0)
        .flash_policy_port(None)
        .bind()
        .await
        .map_err(io::Error::other)?;
    announce(server.local_addr())?;
    server.run_until(stop).await.map_err(io::Error::other)
}

/// Bytes the allocator has handed out and not yet got back (glibc's
/// `mallinfo2`: small blocks in use plus mmapped ones): unlike RSS, it
/// falls as soon as the program frees, so it shows a leak directly.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap_in_use() -> usize {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    info.uordblks + info.hblkhd
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn heap_in_use() -> usize {
    0
}

/// The soak's settings: every abandoned session is noticed within a few
/// seconds (a v4 client that stops answering pings, a 0.6 polling client
/// that stops polling), so a round can wait for the count to return.
fn soak_settings() -> Settings {
    let second = Duration::from_secs(1);
    Settings::default()
        .ping_interval(2 * second)
        .ping_timeout(2 * second)
        .session_check_interval(second)
        .session_expiry(3 * second)
        .heartbeat_interval(3 * second)
        .heartbeat_timeout(3 * second)
        .xhr_polling_timeout(2 * second)
}
