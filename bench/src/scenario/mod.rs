//! The four scenarios of the bench, each run in both protocols against a
//! lineup of servers: Socket.IO 0.6 against tornadio and its bare baseline,
//! Socket.IO v5 against its bare baseline, socketioxide, node socket.io and
//! (once it speaks v5) tornadio.

mod broadcast;
pub mod cluster;
mod echo;
mod idle;
pub mod load;
pub mod soak;

use std::io;
use std::time::Duration;

use crate::server::{Mode, Protocol, ServerKind};
use crate::system::ServerProcess;
use load::{Progress, TransportKind};

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    WsEcho,
    PollingEcho,
    IdleMemory,
    Broadcast,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [
        Scenario::WsEcho,
        Scenario::PollingEcho,
        Scenario::IdleMemory,
        Scenario::Broadcast,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::WsEcho => "ws-echo",
            Scenario::PollingEcho => "polling-echo",
            Scenario::IdleMemory => "idle-memory",
            Scenario::Broadcast => "broadcast",
        }
    }

    pub fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The unit of the headline figure.
    pub fn unit(self) -> &'static str {
        match self {
            Scenario::WsEcho => "msg/s",
            Scenario::PollingEcho => "rt/s",
            Scenario::IdleMemory => "bytes/session",
            Scenario::Broadcast => "ms",
        }
    }

    /// Whether a bigger headline figure is better (throughput) or worse
    /// (memory, latency).
    pub fn higher_is_better(self) -> bool {
        matches!(self, Scenario::WsEcho | Scenario::PollingEcho)
    }

    /// `ratio` on the RESULT line: tornadio relative to the baseline, so that
    /// higher is always better.
    pub fn ratio(self, tornadio: f64, baseline: f64) -> f64 {
        if self.higher_is_better() {
            tornadio / baseline
        } else {
            baseline / tornadio
        }
    }

    pub fn default_clients(self) -> usize {
        match self {
            Scenario::WsEcho => 200,
            Scenario::PollingEcho => 100,
            Scenario::IdleMemory | Scenario::Broadcast => 10_000,
        }
    }

    pub fn default_seconds(self) -> f64 {
        match self {
            Scenario::IdleMemory => 3.0,
            _ => 10.0,
        }
    }

    /// The baseline server doing the same work without Socket.IO logic.
    pub fn baseline(self, protocol: Protocol) -> ServerKind {
        match (protocol, self) {
            (Protocol::Legacy, Scenario::PollingEcho) => ServerKind::PollBaseline,
            (Protocol::Legacy, _) => ServerKind::WsBaseline,
            (Protocol::Proto1, Scenario::PollingEcho) => ServerKind::PollBaselineProto1,
            (Protocol::Proto1, _) => ServerKind::WsBaselineProto1,
            (Protocol::V5, Scenario::PollingEcho) => ServerKind::PollBaselineV5,
            (Protocol::V5, _) => ServerKind::WsBaselineV5,
        }
    }

    /// The servers this scenario runs against in `protocol`, in the order
    /// each run takes them: the baseline first, then tornadio, then the
    /// peers.
    pub fn lineup(self, protocol: Protocol) -> Vec<ServerKind> {
        let others: &[ServerKind] = match protocol {
            Protocol::Legacy => &[ServerKind::Tornadio],
            Protocol::Proto1 => &[ServerKind::TornadioProto1],
            Protocol::V5 => &[
                ServerKind::TornadioV5,
                ServerKind::Socketioxide,
                ServerKind::Node,
            ],
        };
        std::iter::once(self.baseline(protocol))
            .chain(others.iter().copied())
            .filter(|kind| kind.available())
            .collect()
    }

    fn mode(self) -> Mode {
        match self {
            Scenario::Broadcast => Mode::Broadcast,
            _ => Mode::Echo,
        }
    }

    /// Starts a fresh `kind` server, measures once, stops the server.
    pub async fn run_once(
        self,
        kind: ServerKind,
        params: &Params,
        run: usize,
    ) -> io::Result<Measurement> {
        wait_for_quiet(params.max_wait).await;
        let mut server = ServerProcess::start(kind, self.mode())?;
        let mut progress = Progress::new(format!(
            "[{} {} {} pid {} n={} run {run}]",
            kind.protocol().as_str(),
            self.name(),
            kind.as_str(),
            server.pid(),
            params.clients
        ));
        let measured = match self {
            Scenario::WsEcho => {
                echo::run(TransportKind::WebSocket, &server, params, &mut progress).await
            }
            Scenario::PollingEcho => {
                echo::run(TransportKind::Polling, &server, params, &mut progress).await
            }
            Scenario::IdleMemory => idle::run(&mut server, params, &mut progress).await,
            Scenario::Broadcast => broadcast::run(&server, params, &mut progress).await,
        };
        progress.finish();
        let measured = measured.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("{} against {}: {e}", self.name(), kind.as_str()),
            )
        })?;
        if !server.is_running() {
            return Err(io::Error::other(format!(
                "{} server exited during {}",
                kind.as_str(),
                self.name()
            )));
        }
        Ok(measured)
    }
}

/// How hard and how long to push.
#[derive(Debug, Clone)]
pub struct Params {
    pub clients: usize,
    pub seconds: f64,
    pub size: usize,
    /// How long to wait for other processes to leave the cores before a run.
    pub max_wait: Duration,
}

/// Machine load (in cores) that counts as quiet enough to measure.
const QUIET_LOAD: f64 = 0.25;

/// Waits until other processes use less than [`QUIET_LOAD`] of the cores,
/// at most `max_wait`; says so on stderr when it waits or gives up. On a
/// shared machine a run next to a busy neighbour measures the neighbour.
pub(crate) async fn wait_for_quiet(max_wait: Duration) {
    if max_wait.is_zero() {
        return;
    }
    let started = std::time::Instant::now();
    let mut progress = Progress::new("[waiting for a quiet machine]".to_owned());
    loop {
        let load = crate::system::machine_load(Duration::from_millis(500)).await;
        if load < QUIET_LOAD {
            return;
        }
        let waited = started.elapsed();
        if waited >= max_wait {
            progress.update(&format!(
                "others still use {:.0}% of a core after {:.0} s; measuring anyway",
                load * 100.0,
                waited.as_secs_f64()
            ));
            return;
        }
        progress.update(&format!(
            "others use {:.0}% of a core ({:.0}/{:.0} s)",
            load * 100.0,
            waited.as_secs_f64(),
            max_wait.as_secs_f64()
        ));
    }
}

impl Params {
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.seconds)
    }
}

/// One run's figures against one server.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The headline figure, in [`Scenario::unit`].
    pub value: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Server CPU time (user + system) per message: per echo, or per copy
    /// delivered by a broadcast.
    pub cpu_us_per_msg: Option<f64>,
    /// The user-space part of `cpu_us_per_msg`: what the server's own code
    /// costs, without the kernel's socket work.
    pub user_us_per_msg: Option<f64>,
    /// A human-readable detail for the table.
    pub note: String,
}
