//! The servers the bench starts as child processes: the server under test
//! (tornadio) and the two baselines doing the same work with no Socket.IO
//! logic. Each prints `LISTENING <addr>` on stdout once bound, then serves
//! until killed.

mod poll_baseline;
mod tornadio;
mod ws_baseline;

use std::io::{self, Write};
use std::net::SocketAddr;

use tokio::signal::unix::{SignalKind, signal};

/// Which server a child process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// The tornadio library, all transports.
    Tornadio,
    /// A bare WebSocket server on tokio-tungstenite.
    WsBaseline,
    /// A bare hyper long-poll server.
    PollBaseline,
}

impl ServerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerKind::Tornadio => "tornadio",
            ServerKind::WsBaseline => "ws-baseline",
            ServerKind::PollBaseline => "poll-baseline",
        }
    }

    pub fn parse(name: &str) -> Option<ServerKind> {
        [
            ServerKind::Tornadio,
            ServerKind::WsBaseline,
            ServerKind::PollBaseline,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == name)
    }
}

/// What the server does with a message it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Send it back to its sender.
    Echo,
    /// Send it to every connected client, the sender included.
    Broadcast,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Echo => "echo",
            Mode::Broadcast => "broadcast",
        }
    }

    pub fn parse(name: &str) -> Option<Mode> {
        [Mode::Echo, Mode::Broadcast]
            .into_iter()
            .find(|mode| mode.as_str() == name)
    }
}

/// Runs `kind` in `mode` on 127.0.0.1, an ephemeral port, until SIGTERM
/// (then returns, so a profiler wrapping the process can write its report).
pub async fn serve(kind: ServerKind, mode: Mode) -> io::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    let stop = async move {
        terminate.recv().await;
    };
    match kind {
        ServerKind::Tornadio => tornadio::serve(mode, stop).await,
        ServerKind::WsBaseline => until(stop, ws_baseline::serve(mode)).await,
        ServerKind::PollBaseline => until(stop, poll_baseline::serve()).await,
    }
}

async fn until(
    stop: impl Future<Output = ()>,
    serve: impl Future<Output = io::Result<()>>,
) -> io::Result<()> {
    tokio::select! {
        () = stop => Ok(()),
        served = serve => served,
    }
}

/// Tells the parent process where the server listens.
fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "LISTENING {addr}")?;
    out.flush()
}

/// A session id for the baselines: unique, not secret (they hold no state
/// worth guessing).
fn session_id(n: u64) -> String {
    format!("{n:016x}")
}
