//! `tornadio-bench`: measures tornadio against bare WebSocket and bare HTTP
//! servers doing the same work, and against socketioxide and node
//! socket.io, on this machine, in the same run, with one load generator.
//!
//! ```text
//! cargo run --release -p tornadio-bench -- SCENARIO [--protocol 0.6|0.9|v5|all]
//!     [--servers LIST] [--clients N] [--seconds S] [--size BYTES] [--runs R]
//!     [--sweep 10,50,100,200] [--out DIR] [--compare] [--smoke]
//! SCENARIO: ws-echo | polling-echo | idle-memory | broadcast | all
//! ```
//!
//! The servers run as child processes (this binary's `serve` subcommand, or
//! their own programs), pinned to core 0 while the load generator runs on
//! core 1.

mod cli;
mod compare;
mod report;
mod scenario;
mod server;
mod system;

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use cli::{Bench, Command};
use report::Row;
use scenario::{Measurement, Params, Scenario};
use server::{Protocol, ServerKind};

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{message}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    if let Err(e) = system::raise_nofile_limit() {
        eprintln!("warning: could not raise the open-files limit: {e}");
    }
    let outcome = match command {
        Command::Help => {
            println!("{}", cli::USAGE);
            Ok(())
        }
        Command::Plot(csv) => replot(&csv),
        Command::Serve {
            kind,
            mode,
            cpu,
            redis,
        } => {
            if let Some(cpu) = cpu
                && let Err(e) = system::pin_to_cpu(cpu)
            {
                eprintln!("warning: could not pin the server to cpu {cpu}: {e}");
            }
            runtime(false).and_then(|rt| rt.block_on(server::serve(kind, mode, redis)))
        }
        Command::Soak(params) => {
            let pinned = system::can_pin() && system::pin_to_cpu(system::LOADGEN_CPU).is_ok();
            runtime(pinned).and_then(|rt| rt.block_on(scenario::soak::run(&params)))
        }
        Command::Cluster(params, runs) => {
            let pinned = system::can_pin() && system::pin_to_cpu(system::LOADGEN_CPU).is_ok();
            runtime(pinned).and_then(|rt| rt.block_on(scenario::cluster::run(&params, runs)))
        }
        Command::Bench(bench) => {
            let pinned = system::can_pin() && system::pin_to_cpu(system::LOADGEN_CPU).is_ok();
            runtime(pinned).and_then(|rt| rt.block_on(run_bench(&bench)))
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A single-threaded runtime for a load generator pinned to one core, a
/// multi-threaded one (one worker per allowed core) otherwise.
fn runtime(single_core: bool) -> io::Result<tokio::runtime::Runtime> {
    if single_core {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    }
}

async fn run_bench(bench: &Bench) -> io::Result<()> {
    let mut failures = Vec::new();
    let unready = prepare_servers(bench, &mut failures);
    let mut all_rows = Vec::new();
    for &protocol in &bench.protocols {
        for &scenario in &bench.scenarios {
            let name = format!("{} {}", protocol.as_str(), scenario.name());
            let mut lineup = bench.lineup(scenario, protocol);
            lineup.retain(|kind| !unready.contains(kind));
            if lineup.is_empty() {
                eprintln!(
                    "{name}: no server to run (--servers, a failed preparation, \
                     or tornadio-v5, which is not available yet)"
                );
                continue;
            }
            match run_scenario(scenario, &lineup, bench).await {
                Ok((rows, failed)) => {
                    all_rows.extend(rows);
                    failures.extend(failed.into_iter().map(|server| format!("{name} {server}")));
                }
                Err(e) => {
                    eprintln!("FAILED {name}: {e}");
                    failures.push(name);
                }
            }
        }
    }
    if bench.compare && !all_rows.is_empty() {
        let mut out = io::stdout().lock();
        write!(out, "\n{}", compare::table(&all_rows))?;
        out.flush()?;
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(io::Error::other(format!("failed: {}", failures.join(", "))))
    }
}

/// Builds or installs the servers that are programs of their own, before
/// any measurement; returns those that could not be made ready.
fn prepare_servers(bench: &Bench, failures: &mut Vec<String>) -> Vec<ServerKind> {
    let mut kinds: Vec<ServerKind> = bench
        .protocols
        .iter()
        .flat_map(|&p| {
            bench
                .scenarios
                .iter()
                .flat_map(move |&s| bench.lineup(s, p))
        })
        .filter(|kind| kind.is_external())
        .collect();
    kinds.sort();
    kinds.dedup();
    let mut unready = Vec::new();
    for kind in kinds {
        if let Err(e) = server::prepare(&[kind]) {
            eprintln!("FAILED preparing {}: {e}", kind.as_str());
            failures.push(format!("preparing {}", kind.as_str()));
            unready.push(kind);
        }
    }
    unready
}

/// Runs one scenario against `lineup` at each client count asked for;
/// prints the table and RESULT lines, and for a sweep writes the CSV and
/// the plot. Returns the rows and the servers that failed.
async fn run_scenario(
    scenario: Scenario,
    lineup: &[ServerKind],
    bench: &Bench,
) -> io::Result<(Vec<Row>, Vec<&'static str>)> {
    let counts = bench.client_counts(scenario);
    let mut rows = Vec::new();
    let mut results = Vec::new();
    let mut failed = Vec::new();
    for &clients in &counts {
        let params = bench.params(scenario, clients);
        let (measured, failures) = measure(scenario, lineup, &params, bench.runs).await;
        failed.extend(
            failures
                .into_iter()
                .filter(|f| !failed.contains(f))
                .collect::<Vec<_>>(),
        );
        let value = |kind| {
            measured
                .iter()
                .find(|row: &&Row| row.server == kind)
                .map(|row| row.median.value)
        };
        // The 0.6 line as it always was, for whoever reads it.
        if let (Some(tornadio), Some(baseline)) = (
            value(ServerKind::Tornadio),
            value(scenario.baseline(Protocol::Legacy)),
        ) {
            results.push(report::result_line(scenario, clients, tornadio, baseline));
        }
        results.extend(measured.iter().map(report::server_result_line));
        rows.extend(measured);
    }
    if rows.is_empty() {
        return Err(io::Error::other("no server completed a run"));
    }
    let mut out = io::stdout().lock();
    write!(out, "\n{}", report::table(&rows))?;
    if bench.sweep.is_some() {
        let dir = bench.out_dir();
        std::fs::create_dir_all(&dir)?;
        let stem = match lineup[0].protocol() {
            Protocol::Legacy => format!("{}-sweep", scenario.name()),
            Protocol::Proto1 => format!("{}-0.9-sweep", scenario.name()),
            Protocol::V5 => format!("{}-v5-sweep", scenario.name()),
        };
        let csv = dir.join(format!("{stem}.csv"));
        let svg = dir.join(format!("{stem}.svg"));
        std::fs::write(&csv, report::csv(&rows))?;
        report::plot(&rows, &svg)?;
        writeln!(out, "wrote {} and {}", shown(&csv), shown(&svg))?;
    }
    for line in results {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok((rows, failed))
}

/// Runs every server of `lineup` `runs` times, alternating (each run takes
/// the servers in turn) so drift (thermal, page cache, neighbours) hits all
/// alike; returns their median rows and the servers that failed (which
/// then sit out the remaining runs).
async fn measure(
    scenario: Scenario,
    lineup: &[ServerKind],
    params: &Params,
    runs: usize,
) -> (Vec<Row>, Vec<&'static str>) {
    let mut measured: Vec<Vec<Measurement>> = vec![Vec::new(); lineup.len()];
    let mut failed = vec![false; lineup.len()];
    for run in 1..=runs {
        for (i, &kind) in lineup.iter().enumerate() {
            if failed[i] {
                continue;
            }
            match scenario.run_once(kind, params, run).await {
                Ok(measurement) => {
                    eprintln!("  {}", report::run_line(scenario, kind, run, &measurement));
                    measured[i].push(measurement);
                }
                Err(e) => {
                    eprintln!("FAILED {}: {e}", kind.as_str());
                    failed[i] = true;
                }
            }
        }
    }
    let rows = lineup
        .iter()
        .zip(&measured)
        .zip(&failed)
        .filter(|(_, failed)| !**failed)
        .map(|((&kind, runs), _)| Row::new(scenario, kind, params.clients, runs))
        .collect();
    let failures = lineup
        .iter()
        .zip(&failed)
        .filter(|(_, failed)| **failed)
        .map(|(kind, _)| kind.as_str())
        .collect();
    (rows, failures)
}

/// Redraws `FILE.svg` from `FILE.csv`.
fn replot(csv: &Path) -> io::Result<()> {
    let text = std::fs::read_to_string(csv)?;
    let svg = csv.with_extension("svg");
    if scenario::soak::is_soak_csv(&text) {
        scenario::soak::replot(&text, &svg)?;
    } else {
        let rows = report::parse_csv(&text).map_err(io::Error::other)?;
        report::plot(&rows, &svg)?;
    }
    println!("wrote {}", shown(&svg));
    Ok(())
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}
