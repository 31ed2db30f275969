//! Command-line parsing (a few flags; no parser crate needed).

use std::path::PathBuf;
use std::time::Duration;

use crate::scenario::soak::SoakParams;
use crate::scenario::{Params, Scenario};
use crate::server::{Mode, Protocol, ServerKind};

pub const USAGE: &str = "\
usage: tornadio-bench SCENARIO [options]
       tornadio-bench all [options]          every scenario in turn

scenarios (each in Socket.IO 0.6, 0.9 and v5, see --protocol):
  ws-echo       N WebSocket clients, closed-loop echo (msg/s, latency)     default N=200
  polling-echo  N long-polling clients, POST then GET the echo (rt/s)      default N=100
  idle-memory   hold N WebSocket sessions, server RSS growth per session   default N=10000
  broadcast     one message fanned out to N WebSocket clients (p95 ms)     default N=10000

servers, a fresh process per run, alternating within each run:
  0.6  tornadio, ws-baseline / poll-baseline (bare tungstenite / hyper)
  0.9  tornadio-0.9, ws-baseline-0.9 / poll-baseline-0.9 (bare tungstenite /
       hyper, just enough protocol 1)
  v5   tornadio-v5, ws-baseline-v5 / poll-baseline-v5 (bare, just enough
       Engine.IO v4), socketioxide (bench/socketioxide, built on first use),
       node (node socket.io 4.8, bench/node, npm ci on first use)

options:
  --protocol P     0.6, 0.9, v5 (or current), or all (default)
  --servers LIST   only these servers, by name or role (tornadio, baseline,
                   socketioxide, node), e.g. --servers baseline,node
  --clients N      number of clients
  --seconds S      measuring time (idle-memory: holding time)
  --size BYTES     message size, default 64
  --runs R         runs per server; the figures are medians, default 1
  --sweep LIST     client counts, e.g. 10,50,100,200: writes CSV and SVG
  --out DIR        where --sweep writes, default target/bench
  --compare        at the end, one table of every scenario with tornadio's
                   ratio against each peer that ran (with several runs, also
                   the lowest and highest ratio within one run)
  --max-wait S     before each run, wait up to S seconds (default 120) for
                   other processes to leave the cores; 0 = never wait
  --smoke          a few seconds, small N, no waiting: proves each scenario works

       tornadio-bench plot FILE.csv          redraw a sweep's or a soak's SVG (FILE.svg) from its CSV

       tornadio-bench cluster [--clients N] [--seconds S] [--runs R] [--smoke]
           broadcast to N clients (default 10000) across two tornadio processes
           sharing rooms through a redis-server of its own, beside one process
           with and without Redis (needs redis-server)

       tornadio-bench soak [--clients N] [--seconds S] [--out DIR] [--smoke]
           tornadio under churn: rounds of N sessions (default 10000) of every
           generation and transport opened, echoed and dropped, for S seconds
           (default 600) beside steady echo clients; server RSS after each
           round, written to DIR/soak.csv and DIR/soak.svg

internal:
  tornadio-bench serve SERVER echo|broadcast [--cpu N]
      SERVER: tornadio|ws-baseline|poll-baseline|ws-baseline-v5|poll-baseline-v5";

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Help,
    /// Redraw the SVG of a sweep from its CSV.
    Plot(PathBuf),
    Bench(Bench),
    Soak(SoakParams),
    /// Broadcast across processes through Redis: the parameters, the runs.
    Cluster(Params, usize),
    Serve {
        kind: ServerKind,
        mode: Mode,
        cpu: Option<usize>,
        /// Share rooms through the Redis at this URL (tornadio only).
        redis: Option<String>,
    },
}

/// A benchmark run: which scenarios, how hard, how often.
#[derive(Debug, Default)]
pub struct Bench {
    pub scenarios: Vec<Scenario>,
    pub protocols: Vec<Protocol>,
    /// Names or roles of the only servers to run (`--servers`).
    pub servers: Option<Vec<String>>,
    pub compare: bool,
    pub clients: Option<usize>,
    pub seconds: Option<f64>,
    pub size: Option<usize>,
    pub runs: usize,
    pub sweep: Option<Vec<usize>>,
    pub out: Option<PathBuf>,
    pub smoke: bool,
    pub max_wait: Option<f64>,
}

impl Bench {
    /// The servers `scenario` runs against in `protocol`, after `--servers`.
    pub fn lineup(&self, scenario: Scenario, protocol: Protocol) -> Vec<ServerKind> {
        let mut lineup = scenario.lineup(protocol);
        if let Some(only) = &self.servers {
            lineup.retain(|kind| {
                only.iter()
                    .any(|name| name == kind.as_str() || name == kind.role())
            });
        }
        lineup
    }

    /// The client counts to run `scenario` at.
    pub fn client_counts(&self, scenario: Scenario) -> Vec<usize> {
        if let Some(sweep) = &self.sweep {
            return sweep.clone();
        }
        let default = if self.smoke {
            match scenario {
                Scenario::IdleMemory => 200,
                _ => 20,
            }
        } else {
            scenario.default_clients()
        };
        vec![self.clients.unwrap_or(default)]
    }

    pub fn params(&self, scenario: Scenario, clients: usize) -> Params {
        let default_seconds = if self.smoke {
            match scenario {
                Scenario::IdleMemory => 1.0,
                _ => 2.0,
            }
        } else {
            scenario.default_seconds()
        };
        let default_wait = if self.smoke { 0.0 } else { 120.0 };
        Params {
            clients,
            seconds: self.seconds.unwrap_or(default_seconds),
            size: self.size.unwrap_or(64),
            max_wait: Duration::from_secs_f64(self.max_wait.unwrap_or(default_wait)),
        }
    }

    /// Where sweeps write: `--out`, else `target/bench` of the workspace.
    pub fn out_dir(&self) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            let bench = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            bench.parent().unwrap_or(bench).join("target").join("bench")
        })
    }
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let first = args.next().ok_or("missing SCENARIO")?;
    match first.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help),
        "serve" => parse_serve(args),
        "soak" => parse_soak(args).map(Command::Soak),
        "cluster" => {
            let bench = parse_bench("broadcast", args)?;
            let clients = bench.client_counts(Scenario::Broadcast)[0];
            Ok(Command::Cluster(
                bench.params(Scenario::Broadcast, clients),
                bench.runs,
            ))
        }
        "plot" => {
            let csv = args.next().ok_or("plot: missing CSV file")?;
            Ok(Command::Plot(csv.into()))
        }
        _ => parse_bench(&first, args).map(Command::Bench),
    }
}

fn parse_serve(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let kind = args.next().ok_or("serve: missing SERVER")?;
    let kind = ServerKind::parse(&kind).ok_or(format!("serve: unknown server {kind:?}"))?;
    let mode = args.next().ok_or("serve: missing MODE")?;
    let mode = Mode::parse(&mode).ok_or(format!("serve: unknown mode {mode:?}"))?;
    let (mut cpu, mut redis) = (None, None);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--cpu" => cpu = Some(number(args.next(), "--cpu")?),
            "--redis" => redis = Some(args.next().ok_or("--redis needs a URL")?),
            other => return Err(format!("serve: unknown option {other:?}")),
        }
    }
    Ok(Command::Serve {
        kind,
        mode,
        cpu,
        redis,
    })
}

fn parse_soak(args: impl Iterator<Item = String>) -> Result<SoakParams, String> {
    // The same flags as a benchmark run, of which the soak takes a few.
    let bench = parse_bench("ws-echo", args)?;
    let (clients, seconds) = if bench.smoke {
        (500, 10.0)
    } else {
        (10_000, 600.0)
    };
    let out = bench.out_dir();
    Ok(SoakParams {
        clients: bench.clients.unwrap_or(clients),
        duration: Duration::from_secs_f64(bench.seconds.unwrap_or(seconds)),
        echoes: 2,
        steady: 20,
        size: bench.size.unwrap_or(64),
        out,
    })
}

fn parse_bench(first: &str, mut args: impl Iterator<Item = String>) -> Result<Bench, String> {
    let scenarios = if first == "all" {
        Scenario::ALL.to_vec()
    } else {
        vec![Scenario::parse(first).ok_or(format!("unknown scenario {first:?}"))?]
    };
    let mut bench = Bench {
        scenarios,
        protocols: Protocol::ALL.to_vec(),
        runs: 1,
        ..Bench::default()
    };
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--clients" => bench.clients = Some(positive(args.next(), "--clients")?),
            "--seconds" => {
                let seconds: f64 = number(args.next(), "--seconds")?;
                if !(seconds > 0.0 && seconds <= 3600.0) {
                    return Err("--seconds must be in (0, 3600]".into());
                }
                bench.seconds = Some(seconds);
            }
            "--size" => bench.size = Some(positive(args.next(), "--size")?),
            "--runs" => bench.runs = positive(args.next(), "--runs")?,
            "--sweep" => {
                let list = args.next().ok_or("--sweep needs a list like 10,50,100")?;
                let counts = list
                    .split(',')
                    .map(|n| positive(Some(n.trim().to_owned()), "--sweep"))
                    .collect::<Result<Vec<_>, _>>()?;
                bench.sweep = Some(counts);
            }
            "--out" => bench.out = Some(args.next().ok_or("--out needs a directory")?.into()),
            "--smoke" => bench.smoke = true,
            "--compare" => bench.compare = true,
            "--protocol" => {
                let name = args.next().ok_or("--protocol needs 0.6, 0.9, v5 or all")?;
                bench.protocols = match name.as_str() {
                    "all" => Protocol::ALL.to_vec(),
                    other => {
                        vec![Protocol::parse(other).ok_or(format!("unknown protocol {other:?}"))?]
                    }
                };
            }
            "--servers" => {
                let list = args
                    .next()
                    .ok_or("--servers needs a list like baseline,node")?;
                let names: Vec<String> = list.split(',').map(|n| n.trim().to_owned()).collect();
                for name in &names {
                    let known = ServerKind::ALL
                        .iter()
                        .any(|kind| kind.as_str() == name || kind.role() == name);
                    if !known {
                        return Err(format!("unknown server {name:?}"));
                    }
                }
                bench.servers = Some(names);
            }
            "--max-wait" => {
                let seconds: f64 = number(args.next(), "--max-wait")?;
                if !(0.0..=3600.0).contains(&seconds) {
                    return Err("--max-wait must be in [0, 3600]".into());
                }
                bench.max_wait = Some(seconds);
            }
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(bench)
}

fn number<T: std::str::FromStr>(value: Option<String>, flag: &str) -> Result<T, String> {
    let value = value.ok_or(format!("{flag} needs a value"))?;
    value
        .parse()
        .map_err(|_| format!("{flag}: not a number: {value:?}"))
}

fn positive(value: Option<String>, flag: &str) -> Result<usize, String> {
    match number(value, flag)? {
        0 => Err(format!("{flag} must be at least 1")),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bench(line: &str) -> Result<Bench, String> {
        match parse(line.split_whitespace().map(String::from))? {
            Command::Bench(bench) => Ok(bench),
            other => Err(format!("not a bench: {other:?}")),
        }
    }

    #[test]
    fn flags_override_defaults() {
        let b = bench("ws-echo --clients 50 --seconds 3 --size 128 --runs 3").unwrap();
        assert_eq!(b.scenarios, [Scenario::WsEcho]);
        assert_eq!(b.client_counts(Scenario::WsEcho), [50]);
        let p = b.params(Scenario::WsEcho, 50);
        assert_eq!((p.clients, p.seconds, p.size), (50, 3.0, 128));
        assert_eq!(b.runs, 3);
        assert_eq!(b.protocols, Protocol::ALL);
        assert!(!b.compare);
    }

    #[test]
    fn protocols_and_servers_narrow_the_lineup() {
        let b = bench("ws-echo --protocol v5 --servers baseline,node --compare").unwrap();
        assert_eq!(b.protocols, [Protocol::V5]);
        assert!(b.compare);
        assert_eq!(
            b.lineup(Scenario::WsEcho, Protocol::V5),
            [ServerKind::WsBaselineV5, ServerKind::Node]
        );
        assert_eq!(
            b.lineup(Scenario::PollingEcho, Protocol::Legacy),
            [ServerKind::PollBaseline]
        );
        let b = bench("broadcast --protocol 0.9").unwrap();
        assert_eq!(
            b.lineup(Scenario::Broadcast, Protocol::Proto1),
            [ServerKind::WsBaselineProto1, ServerKind::TornadioProto1]
        );
        assert_eq!(
            b.lineup(Scenario::PollingEcho, Protocol::Proto1),
            [ServerKind::PollBaselineProto1, ServerKind::TornadioProto1]
        );
        let b = bench("all --protocol current").unwrap();
        assert_eq!(b.protocols, [Protocol::V5]);
        let full = b.lineup(Scenario::Broadcast, Protocol::V5);
        assert_eq!(full[0], ServerKind::WsBaselineV5);
        assert!(full.contains(&ServerKind::Socketioxide) && full.contains(&ServerKind::Node));
        assert!(bench("ws-echo --protocol 0.7").is_err());
        assert!(bench("ws-echo --servers nginx").is_err());
    }

    #[test]
    fn smoke_and_sweep() {
        let b = bench("all --smoke").unwrap();
        assert_eq!(b.scenarios.len(), 4);
        assert_eq!(b.client_counts(Scenario::IdleMemory), [200]);
        assert_eq!(b.params(Scenario::Broadcast, 20).seconds, 2.0);
        let b = bench("polling-echo --sweep 10,50,100").unwrap();
        assert_eq!(b.client_counts(Scenario::PollingEcho), [10, 50, 100]);
    }

    #[test]
    fn soak_defaults_and_smoke() {
        let Ok(Command::Soak(soak)) = parse(["soak".to_owned()]) else {
            panic!("not a soak");
        };
        assert_eq!(
            (soak.clients, soak.duration),
            (10_000, Duration::from_secs(600))
        );
        let line = "soak --smoke --clients 300 --out /tmp/x";
        let Ok(Command::Soak(soak)) = parse(line.split(' ').map(String::from)) else {
            panic!("not a soak");
        };
        assert_eq!(
            (soak.clients, soak.duration),
            (300, Duration::from_secs(10))
        );
        assert_eq!(soak.out, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn bad_input_is_refused() {
        assert!(bench("nope").is_err());
        assert!(bench("ws-echo --clients 0").is_err());
        assert!(bench("ws-echo --clients").is_err());
        assert!(bench("ws-echo --seconds -1").is_err());
        assert!(bench("ws-echo --sweep 10,x").is_err());
        assert!(parse(["serve".into(), "nope".into()]).is_err());
        assert!(matches!(
            parse("serve tornadio echo --cpu 0".split(' ').map(String::from)),
            Ok(Command::Serve { cpu: Some(0), .. })
        ));
    }
}
