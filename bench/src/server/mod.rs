//! The servers the bench starts as child processes: the server under test
//! (tornadio) and the two baselines doing the same work with no Socket.IO
//! logic. Each prints `LISTENING <addr>` on stdout once bound, then serves
//! until killed.

mod poll_baseline;
mod tornadio;
mod ws_baseline;

use std::io::{self, Write};
use std::net::SocketAddr;

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

/// Runs `kind` in `mode` on 127.0.0.1, an ephemeral port, until killed.
pub async fn serve(kind: ServerKind, mode: Mode) -> io::Result<()> {
    match kind {
        ServerKind::Tornadio => tornadio::serve(mode).await,
        ServerKind::WsBaseline => ws_baseline::serve(mode).await,
        ServerKind::PollBaseline => poll_baseline::serve().await,
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
