//! `broadcast`: N WebSocket clients in one room; client 0 sends a message
//! that the server fans out to everyone; a round lasts until the last of the
//! other N-1 clients has it. Repeated for the given time.

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;

use super::load::{
    ANSWER_TIMEOUT, AnyClient, Incoming, Progress, TransportKind, connect_all, message, quantile,
    within,
};
use super::{Measurement, Params};
use crate::system::{CpuSample, ServerProcess};

/// Rounds are capped so a long `--seconds` with few clients stays bounded.
const MAX_ROUNDS: usize = 500;
/// Pause between rounds, so rounds do not overlap.
const GAP: Duration = Duration::from_millis(20);

/// The round in flight and how many receivers have its message.
#[derive(Default)]
struct Round {
    seq: AtomicU64,
    received: AtomicUsize,
    finished_at: Mutex<Option<Instant>>,
    finished: Notify,
}

pub async fn run(
    server: &ServerProcess,
    params: &Params,
    progress: &mut Progress,
) -> io::Result<Measurement> {
    run_on(&[server], params, progress).await
}

/// The same over several processes of one cluster (sharing rooms through
/// Redis): the clients spread evenly over them, the sender on the first;
/// the CPU figure is theirs together.
pub async fn run_on(
    servers: &[&ServerProcess],
    params: &Params,
    progress: &mut Progress,
) -> io::Result<Measurement> {
    if params.clients < 2 {
        return Err(io::Error::other("broadcast needs at least 2 clients"));
    }
    let Some(first) = servers.first() else {
        return Err(io::Error::other("broadcast needs a server"));
    };
    let protocol = first.kind().protocol();
    let mut clients = Vec::with_capacity(params.clients);
    for (i, server) in servers.iter().enumerate() {
        // The first server takes the remainder.
        let share = params.clients / servers.len()
            + if i == 0 {
                params.clients % servers.len()
            } else {
                0
            };
        let ws = TransportKind::WebSocket;
        clients.extend(connect_all(protocol, ws, server.addr(), share, progress).await?);
    }
    let receivers = clients.len() - 1;
    let round = Arc::new(Round::default());
    let mut tasks = JoinSet::new();
    let sender = clients.remove(0);
    let (to_sender, commands) = mpsc::channel(1);
    tasks.spawn(sender_loop(sender, commands));
    for client in clients {
        tasks.spawn(receiver_loop(client, Arc::clone(&round), receivers));
    }

    let mut times = Vec::new();
    let cpu_before = CpuSample::take_all(servers);
    let started = Instant::now();
    while times.len() < MAX_ROUNDS && (times.is_empty() || started.elapsed() < params.duration()) {
        if let Some(failed) = tasks.try_join_next() {
            return Err(failure(failed));
        }
        let seq = times.len() as u64 + 1;
        round.received.store(0, Ordering::SeqCst);
        round.seq.store(seq, Ordering::SeqCst);
        let sent = Instant::now();
        to_sender
            .send(message(&format!("b{seq} "), params.size))
            .await
            .map_err(|_| io::Error::other("the sending client stopped"))?;
        within(ANSWER_TIMEOUT, "for a broadcast to reach everyone", async {
            round.finished.notified().await;
            Ok(())
        })
        .await
        .map_err(|e| {
            let got = round.received.load(Ordering::SeqCst);
            io::Error::new(e.kind(), format!("{e}: {got}/{receivers} got round {seq}"))
        })?;
        let finished = lock(&round.finished_at).take().unwrap_or_else(Instant::now);
        times.push(finished.duration_since(sent).as_secs_f64() * 1000.0);
        progress.update(&format!(
            "round {seq}  last client after {:.1} ms",
            times[times.len() - 1]
        ));
        tokio::time::sleep(GAP).await;
    }
    let cpu_after = CpuSample::take_all(servers);
    let cpu = cpu_before.describe_until(&cpu_after);
    let server_seconds = cpu_before.server_seconds_until(&cpu_after);
    let user_seconds = cpu_before.server_user_seconds_until(&cpu_after);
    drop(to_sender);
    tasks.abort_all();

    let rounds = times.len();
    times.sort_by(f64::total_cmp);
    let p95 = quantile(&times, 0.95).unwrap_or(f64::NAN);
    Ok(Measurement {
        value: p95,
        p50_ms: quantile(&times, 0.50),
        p95_ms: Some(p95),
        p99_ms: quantile(&times, 0.99),
        // Every round delivers one copy to each client, the sender included.
        cpu_us_per_msg: Some(server_seconds * 1e6 / (rounds * params.clients) as f64),
        user_us_per_msg: Some(user_seconds * 1e6 / (rounds * params.clients) as f64),
        note: format!("{rounds} rounds to {receivers} receivers, {cpu}"),
    })
}

/// Client 0: sends what it is told, and keeps reading (its own copy, heartbeats).
async fn sender_loop(
    mut client: AnyClient,
    mut commands: mpsc::Receiver<String>,
) -> io::Result<()> {
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(text) => client.send(&text).await?,
                None => return Ok(()),
            },
            frame = client.recv_forever() => { frame?; }
        }
    }
}

/// Every other client: counts itself in when it gets the current round.
async fn receiver_loop(
    mut client: AnyClient,
    round: Arc<Round>,
    receivers: usize,
) -> io::Result<()> {
    loop {
        let Incoming::Message(text) = client.recv_forever().await? else {
            continue;
        };
        let seq = text
            .strip_prefix('b')
            .and_then(|rest| rest.split(' ').next())
            .and_then(|digits| digits.parse::<u64>().ok());
        if seq.is_some_and(|seq| seq == round.seq.load(Ordering::SeqCst))
            && round.received.fetch_add(1, Ordering::SeqCst) + 1 == receivers
        {
            *lock(&round.finished_at) = Some(Instant::now());
            round.finished.notify_one();
        }
    }
}

fn failure(joined: Result<io::Result<()>, tokio::task::JoinError>) -> io::Error {
    match joined {
        Ok(Err(e)) => e,
        Ok(Ok(())) => io::Error::other("a client stopped early"),
        Err(e) => io::Error::other(e),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
