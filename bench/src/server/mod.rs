//! The servers the bench starts as child processes, one fresh process per
//! run. Each prints `LISTENING <addr>` on stdout once bound, then serves
//! until SIGTERM.
//!
//! Socket.IO 0.6: the server under test (tornadio) and two baselines doing
//! the same work with no Socket.IO logic.
//!
//! Socket.IO "protocol 1" (0.7–0.9): tornadio and a bare WebSocket
//! baseline.
//!
//! Socket.IO v5 (Engine.IO v4): bare baselines speaking just enough of the
//! protocol, socketioxide and node socket.io (their own programs, see
//! [`external`]), and tornadio once it speaks it ([`tornadio_v5`]).

mod external;
mod poll_baseline;
mod poll_baseline_v5;
mod tornadio;
mod tornadio_v5;
mod ws_baseline;
mod ws_baseline_v5;

use std::ffi::OsString;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

pub use external::prepare;

/// Which generation of the protocol a server and its clients speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// Socket.IO 0.6 (`~m~` framing).
    Legacy,
    /// Socket.IO "protocol 1": socket.io-client 0.7 to 0.9.
    Proto1,
    /// Engine.IO v4 / Socket.IO v5: socket.io-client 3.x and 4.x.
    V5,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Legacy, Protocol::Proto1, Protocol::V5];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Legacy => "0.6",
            Protocol::Proto1 => "0.9",
            Protocol::V5 => "v5",
        }
    }

    /// `0.6`, `0.9`, or `v5` (also `current`).
    pub fn parse(name: &str) -> Option<Protocol> {
        match name {
            "0.6" => Some(Protocol::Legacy),
            "0.9" => Some(Protocol::Proto1),
            "v5" | "current" => Some(Protocol::V5),
            _ => None,
        }
    }
}

/// Which server a child process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServerKind {
    /// The tornadio library, all 0.6 transports.
    Tornadio,
    /// A bare WebSocket server on tokio-tungstenite.
    WsBaseline,
    /// A bare hyper long-poll server.
    PollBaseline,
    /// The tornadio library to protocol-1 clients.
    TornadioProto1,
    /// A bare tokio-tungstenite server speaking just enough protocol 1.
    WsBaselineProto1,
    /// A bare hyper long-poll server speaking just enough protocol 1.
    PollBaselineProto1,
    /// The tornadio library on the current protocol (not available yet:
    /// see [`tornadio_v5`]).
    TornadioV5,
    /// A bare tokio-tungstenite server speaking just enough Engine.IO v4 /
    /// Socket.IO v5.
    WsBaselineV5,
    /// A bare hyper server speaking just enough Engine.IO v4 polling /
    /// Socket.IO v5.
    PollBaselineV5,
    /// socketioxide, the latest release (`bench/socketioxide`).
    Socketioxide,
    /// node socket.io 4.8 (`bench/node`).
    Node,
}

impl ServerKind {
    pub const ALL: [ServerKind; 11] = [
        ServerKind::Tornadio,
        ServerKind::WsBaseline,
        ServerKind::PollBaseline,
        ServerKind::TornadioProto1,
        ServerKind::WsBaselineProto1,
        ServerKind::PollBaselineProto1,
        ServerKind::TornadioV5,
        ServerKind::WsBaselineV5,
        ServerKind::PollBaselineV5,
        ServerKind::Socketioxide,
        ServerKind::Node,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServerKind::Tornadio => "tornadio",
            ServerKind::WsBaseline => "ws-baseline",
            ServerKind::PollBaseline => "poll-baseline",
            ServerKind::TornadioProto1 => "tornadio-0.9",
            ServerKind::WsBaselineProto1 => "ws-baseline-0.9",
            ServerKind::PollBaselineProto1 => "poll-baseline-0.9",
            ServerKind::TornadioV5 => "tornadio-v5",
            ServerKind::WsBaselineV5 => "ws-baseline-v5",
            ServerKind::PollBaselineV5 => "poll-baseline-v5",
            ServerKind::Socketioxide => "socketioxide",
            ServerKind::Node => "node",
        }
    }

    pub fn parse(name: &str) -> Option<ServerKind> {
        ServerKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// The protocol its clients must speak.
    pub fn protocol(self) -> Protocol {
        match self {
            ServerKind::Tornadio | ServerKind::WsBaseline | ServerKind::PollBaseline => {
                Protocol::Legacy
            }
            ServerKind::TornadioProto1
            | ServerKind::WsBaselineProto1
            | ServerKind::PollBaselineProto1 => Protocol::Proto1,
            _ => Protocol::V5,
        }
    }

    /// Its column in comparisons: `tornadio`, `baseline`, `socketioxide`
    /// or `node`, whatever the protocol and transport.
    pub fn role(self) -> &'static str {
        match self {
            ServerKind::Tornadio | ServerKind::TornadioProto1 | ServerKind::TornadioV5 => {
                "tornadio"
            }
            ServerKind::WsBaseline
            | ServerKind::PollBaseline
            | ServerKind::WsBaselineProto1
            | ServerKind::PollBaselineProto1
            | ServerKind::WsBaselineV5
            | ServerKind::PollBaselineV5 => "baseline",
            ServerKind::Socketioxide => "socketioxide",
            ServerKind::Node => "node",
        }
    }

    /// Whether the current tornadio can serve it (see [`tornadio_v5`]).
    pub fn available(self) -> bool {
        self != ServerKind::TornadioV5 || tornadio_v5::AVAILABLE
    }

    /// The program and arguments that serve `kind` in `mode`: this binary's
    /// `serve` subcommand, or the server's own program.
    pub fn invocation(self, mode: Mode) -> io::Result<(OsString, Vec<OsString>)> {
        if let Some(invocation) = external::invocation(self, mode) {
            return Ok(invocation);
        }
        let exe = std::env::current_exe()?;
        let args = ["serve", self.as_str(), mode.as_str()];
        Ok((exe.into(), args.into_iter().map(OsString::from).collect()))
    }

    /// Whether it runs as its own program rather than as this binary.
    pub fn is_external(self) -> bool {
        external::invocation(self, Mode::Echo).is_some()
    }
}

/// What the server does with a message it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Send it back to its sender.
    Echo,
    /// Send it to every connected client, the sender included.
    Broadcast,
    /// Echo, with heartbeats and expiry short enough that abandoned
    /// sessions are reaped within seconds, and `GET /stats` answering how
    /// many connections are open and how many heap bytes are in use: the
    /// `soak` run (tornadio only).
    Soak,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Echo => "echo",
            Mode::Broadcast => "broadcast",
            Mode::Soak => "soak",
        }
    }

    pub fn parse(name: &str) -> Option<Mode> {
        [Mode::Echo, Mode::Broadcast, Mode::Soak]
            .into_iter()
            .find(|mode| mode.as_str() == name)
    }
}

/// Runs `kind` in `mode` on 127.0.0.1, an ephemeral port, until SIGTERM
/// (then returns, so a profiler wrapping the process can write its report).
pub async fn serve(kind: ServerKind, mode: Mode, redis: Option<String>) -> io::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    let stop = async move {
        terminate.recv().await;
    };
    if (mode == Mode::Soak || redis.is_some()) && kind.role() != "tornadio" {
        return Err(io::Error::other(format!(
            "{} has no soak mode and no Redis (tornadio only)",
            kind.as_str()
        )));
    }
    match kind {
        ServerKind::Tornadio => tornadio::serve(mode, redis, stop).await,
        ServerKind::WsBaseline => until(stop, ws_baseline::serve(mode, Protocol::Legacy)).await,
        ServerKind::TornadioProto1 => tornadio::serve(mode, redis, stop).await,
        ServerKind::WsBaselineProto1 => {
            until(stop, ws_baseline::serve(mode, Protocol::Proto1)).await
        }
        ServerKind::PollBaseline => until(stop, poll_baseline::serve(Protocol::Legacy)).await,
        ServerKind::PollBaselineProto1 => until(stop, poll_baseline::serve(Protocol::Proto1)).await,
        ServerKind::TornadioV5 => tornadio_v5::serve(mode, redis, stop).await,
        ServerKind::WsBaselineV5 => until(stop, ws_baseline_v5::serve(mode)).await,
        ServerKind::PollBaselineV5 => until(stop, poll_baseline_v5::serve()).await,
        ServerKind::Socketioxide | ServerKind::Node => Err(io::Error::other(format!(
            "{} runs as its own program, not as `serve`",
            kind.as_str()
        ))),
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

/// The v5 baselines' heartbeat, node's and socketioxide's default.
const PING_INTERVAL: Duration = Duration::from_millis(25_000);

/// The Engine.IO v4 open packet of session `n`, with node's default
/// settings; `upgrades` is `[]` on a websocket, `["websocket"]` on polling.
fn open_packet(n: u64, upgrades: &str) -> String {
    format!(
        r#"0{{"sid":"{}","upgrades":{upgrades},"pingInterval":{},"pingTimeout":20000,"maxPayload":1000000}}"#,
        session_id(n),
        PING_INTERVAL.as_millis()
    )
}

/// The Socket.IO CONNECT reply to session `n`: a socket id of its own, never
/// the Engine.IO one.
fn connect_reply(n: u64) -> String {
    format!(r#"40{{"sid":"s{n:015x}"}}"#)
}
