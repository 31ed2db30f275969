//! `cluster`: the `broadcast` scenario across processes sharing rooms
//! through Redis, beside the single process. In one run, alternating, with
//! the same N WebSocket clients (Socket.IO v5) and the same one sender:
//!
//! * `1 process`: tornadio alone, as in `broadcast`;
//! * `1 process + Redis`: the same process with the Redis adapter (each
//!   broadcast also published to Redis, for nobody);
//! * `2 processes + Redis`: two tornadio processes on one Redis, the
//!   clients split between them; the sender's process delivers to its half
//!   and publishes, the other receives from Redis and delivers to its half.
//!
//! The servers and `redis-server` share core 0 (the load generator has core
//! 1), so every line has the same CPU to spend. The figure is the p95 time
//! until the last client has the message.

use std::io::{self, Write};

use super::broadcast;
use super::load::{Progress, median};
use super::{Measurement, Params, wait_for_quiet};
use crate::server::{Mode, ServerKind};
use crate::system::{RedisProcess, ServerProcess};

/// The three set-ups, in the order each run takes them.
const SETUPS: [(&str, usize, bool); 3] = [
    ("1 process", 1, false),
    ("1 process + Redis", 1, true),
    ("2 processes + Redis", 2, true),
];

pub async fn run(params: &Params, runs: usize) -> io::Result<()> {
    let redis = RedisProcess::start()?;
    let mut measured: Vec<Vec<Measurement>> = vec![Vec::new(); SETUPS.len()];
    for run in 1..=runs {
        for (i, &(label, processes, with_redis)) in SETUPS.iter().enumerate() {
            wait_for_quiet(params.max_wait).await;
            let extra: &[&str] = if with_redis {
                &["--redis", redis.url()]
            } else {
                &[]
            };
            let servers = (0..processes)
                .map(|_| ServerProcess::start_with(ServerKind::TornadioV5, Mode::Broadcast, extra))
                .collect::<io::Result<Vec<_>>>()?;
            let pids: Vec<String> = servers.iter().map(|s| s.pid().to_string()).collect();
            let mut progress = Progress::new(format!(
                "[v5 cluster {label} pid {} n={} run {run}]",
                pids.join(","),
                params.clients
            ));
            let servers: Vec<&ServerProcess> = servers.iter().collect();
            let measurement = broadcast::run_on(&servers, params, &mut progress)
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("cluster {label}: {e}")))?;
            progress.finish();
            eprintln!(
                "  cluster {label} run {run}: p95 {:.1} ms (p50 {:.1}, p99 {:.1}), \
                 {:.2} µs server CPU per delivered copy, {}",
                measurement.value,
                measurement.p50_ms.unwrap_or(f64::NAN),
                measurement.p99_ms.unwrap_or(f64::NAN),
                measurement.cpu_us_per_msg.unwrap_or(f64::NAN),
                measurement.note
            );
            measured[i].push(measurement);
        }
    }
    let figure = |i: usize, pick: fn(&Measurement) -> Option<f64>| {
        let values: Vec<f64> = measured[i].iter().filter_map(pick).collect();
        median(&values).unwrap_or(f64::NAN)
    };
    let single = figure(0, |m| Some(m.value));
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "\ncluster broadcast to {} clients (Socket.IO v5), medians of {runs} run(s)",
        params.clients
    )?;
    writeln!(
        out,
        "| set-up | p50 ms | p95 ms | p99 ms | server CPU µs per copy | p95 vs 1 process |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|")?;
    let mut p95s = Vec::new();
    for (i, &(label, ..)) in SETUPS.iter().enumerate() {
        let p95 = figure(i, |m| Some(m.value));
        p95s.push(p95);
        writeln!(
            out,
            "| {label} | {:.1} | {p95:.1} | {:.1} | {:.2} | {:.2}× |",
            figure(i, |m| m.p50_ms),
            figure(i, |m| m.p99_ms),
            figure(i, |m| m.cpu_us_per_msg),
            p95 / single
        )?;
    }
    writeln!(
        out,
        "RESULT scenario=cluster-broadcast clients={} single={:.1} single_redis={:.1} \
         two_redis={:.1} unit=ms",
        params.clients, p95s[0], p95s[1], p95s[2]
    )?;
    out.flush()
}
