//! `tornadio-bench`: measures tornadio against bare WebSocket and bare HTTP
//! servers doing the same work, on this machine, in the same run.
//!
//! ```text
//! cargo run --release -p tornadio-bench -- SCENARIO [--clients N] [--seconds S]
//!     [--size BYTES] [--runs R] [--sweep 10,50,100,200] [--out DIR] [--smoke]
//! SCENARIO: ws-echo | polling-echo | idle-memory | broadcast | all
//! ```
//!
//! The servers run as child processes of this binary (`serve` subcommand),
//! pinned to core 0 while the load generator runs on core 1.

mod cli;
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
use server::ServerKind;

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
        Command::Serve { kind, mode, cpu } => {
            if let Some(cpu) = cpu
                && let Err(e) = system::pin_to_cpu(cpu)
            {
                eprintln!("warning: could not pin the server to cpu {cpu}: {e}");
            }
            runtime(false).and_then(|rt| rt.block_on(server::serve(kind, mode)))
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
    for &scenario in &bench.scenarios {
        if let Err(e) = run_scenario(scenario, bench).await {
            eprintln!("FAILED {}: {e}", scenario.name());
            failures.push(scenario.name());
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "scenario(s) failed: {}",
            failures.join(", ")
        )))
    }
}

/// Runs one scenario at each client count asked for; prints the table and
/// RESULT lines, and for a sweep writes the CSV and the plot.
async fn run_scenario(scenario: Scenario, bench: &Bench) -> io::Result<()> {
    let counts = bench.client_counts(scenario);
    let mut rows = Vec::new();
    let mut results = Vec::new();
    for &clients in &counts {
        let params = bench.params(scenario, clients);
        let (baseline, tornadio) = measure(scenario, &params, bench.runs).await?;
        results.push(report::result_line(
            scenario,
            clients,
            tornadio.median.value,
            baseline.median.value,
        ));
        rows.push(baseline);
        rows.push(tornadio);
    }
    let mut out = io::stdout().lock();
    write!(out, "\n{}", report::table(&rows))?;
    if bench.sweep.is_some() {
        let dir = bench.out_dir();
        std::fs::create_dir_all(&dir)?;
        let csv = dir.join(format!("{}-sweep.csv", scenario.name()));
        let svg = dir.join(format!("{}-sweep.svg", scenario.name()));
        std::fs::write(&csv, report::csv(&rows))?;
        report::plot(&rows, &svg)?;
        writeln!(out, "wrote {} and {}", shown(&csv), shown(&svg))?;
    }
    for line in results {
        writeln!(out, "{line}")?;
    }
    out.flush()
}

/// Runs the baseline and tornadio `runs` times each, alternating so drift
/// (thermal, page cache) hits both alike; returns their median rows.
async fn measure(scenario: Scenario, params: &Params, runs: usize) -> io::Result<(Row, Row)> {
    let baseline_kind = scenario.baseline();
    let mut baseline: Vec<Measurement> = Vec::new();
    let mut tornadio: Vec<Measurement> = Vec::new();
    for run in 1..=runs {
        baseline.push(scenario.run_once(baseline_kind, params, run).await?);
        tornadio.push(scenario.run_once(ServerKind::Tornadio, params, run).await?);
    }
    Ok((
        Row::new(scenario, baseline_kind, params.clients, &baseline),
        Row::new(scenario, ServerKind::Tornadio, params.clients, &tornadio),
    ))
}

/// Redraws `FILE.svg` from `FILE.csv`.
fn replot(csv: &Path) -> io::Result<()> {
    let text = std::fs::read_to_string(csv)?;
    let rows = report::parse_csv(&text).map_err(io::Error::other)?;
    let svg = csv.with_extension("svg");
    report::plot(&rows, &svg)?;
    println!("wrote {}", shown(&svg));
    Ok(())
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}
