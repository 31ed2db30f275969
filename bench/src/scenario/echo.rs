//! `ws-echo` and `polling-echo`: N clients in a closed loop, each sending a
//! message and waiting for its echo before sending the next.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::load::{AnyClient, Incoming, Progress, TransportKind, connect_all, message, quantile};
use super::{Measurement, Params};
use crate::system::{CpuSample, ServerProcess};
use tokio::task::JoinSet;

/// Echoes before this are not counted: connections warm up, buffers grow.
const WARMUP: Duration = Duration::from_millis(1000);

#[derive(Default)]
struct Clock {
    measuring: AtomicBool,
    stop: AtomicBool,
    done: AtomicU64,
}

pub async fn run(
    transport: TransportKind,
    server: &ServerProcess,
    params: &Params,
    progress: &mut Progress,
) -> io::Result<Measurement> {
    let protocol = server.kind().protocol();
    let clients = connect_all(protocol, transport, server.addr(), params.clients, progress).await?;
    let clock = Arc::new(Clock::default());
    let mut tasks = JoinSet::new();
    for (i, client) in clients.into_iter().enumerate() {
        let text = message(&format!("c{i} "), params.size);
        tasks.spawn(echo_loop(client, text, Arc::clone(&clock)));
    }

    progress.update("warming up");
    tokio::time::sleep(WARMUP.min(params.duration() / 2)).await;
    let cpu_before = CpuSample::take(server);
    let started = Instant::now();
    clock.measuring.store(true, Ordering::SeqCst);
    let mut next_report = Duration::from_secs(1);
    while started.elapsed() < params.duration() {
        if let Some(failed) = tasks.try_join_next() {
            return Err(failure(failed));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if started.elapsed() >= next_report {
            let done = clock.done.load(Ordering::Relaxed);
            let elapsed = started.elapsed().as_secs_f64();
            progress.update(&format!(
                "{elapsed:.0}/{:.0} s  {:.0} echoes/s",
                params.seconds,
                done as f64 / elapsed
            ));
            next_report += Duration::from_secs(1);
        }
    }
    clock.measuring.store(false, Ordering::SeqCst);
    let window = started.elapsed().as_secs_f64();
    let done = clock.done.load(Ordering::SeqCst);
    let cpu_after = CpuSample::take(server);
    let cpu = cpu_before.describe_until(&cpu_after);
    let server_seconds = cpu_before.server_seconds_until(&cpu_after);
    let user_seconds = cpu_before.server_user_seconds_until(&cpu_after);
    clock.stop.store(true, Ordering::SeqCst);

    let mut latencies = Vec::with_capacity(done as usize);
    while let Some(joined) = tasks.join_next().await {
        latencies.extend(joined.map_err(io::Error::other)??);
    }
    if done == 0 {
        return Err(io::Error::other("no echo came back"));
    }
    latencies.sort_by(f64::total_cmp);
    Ok(Measurement {
        value: done as f64 / window,
        p50_ms: quantile(&latencies, 0.50),
        p95_ms: quantile(&latencies, 0.95),
        p99_ms: quantile(&latencies, 0.99),
        cpu_us_per_msg: Some(server_seconds * 1e6 / done as f64),
        user_us_per_msg: Some(user_seconds * 1e6 / done as f64),
        note: format!("{done} echoes in {window:.1} s, {cpu}"),
    })
}

/// Sends and awaits echoes until told to stop; returns the latencies (ms) of
/// the round trips that ended inside the measuring window.
async fn echo_loop(mut client: AnyClient, text: String, clock: Arc<Clock>) -> io::Result<Vec<f64>> {
    let mut latencies = Vec::new();
    while !clock.stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        client.send(&text).await?;
        match client.recv().await? {
            Incoming::Message(echo) if echo == text => {}
            other => {
                return Err(io::Error::other(format!(
                    "expected the echo, got {other:?}"
                )));
            }
        }
        if clock.measuring.load(Ordering::Relaxed) {
            latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            clock.done.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(latencies)
}

fn failure(joined: Result<io::Result<Vec<f64>>, tokio::task::JoinError>) -> io::Error {
    match joined {
        Ok(Err(e)) => e,
        Ok(Ok(_)) => io::Error::other("a client stopped early"),
        Err(e) => io::Error::other(e),
    }
}
