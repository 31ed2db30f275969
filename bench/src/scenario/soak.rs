//! `soak`: tornadio under churn for a long time. Each round opens N
//! sessions of every generation and transport at once (Socket.IO v5 on
//! WebSocket and polling, 0.6 on WebSocket and xhr-polling), has each echo
//! a few messages, then drops them all: half of the WebSocket clients close
//! politely, every other client just vanishes, so the server must notice
//! each by itself (a closed TCP connection, an unanswered ping, a 0.6
//! session that stopped polling). The round ends when the server reports
//! that only the steady clients remain; its resident memory is read then.
//! A few steady clients echo throughout, on every generation, so a round
//! that disturbed other sessions shows as a failed or stalled echo.
//!
//! The server runs with short heartbeats (see the `soak` mode of
//! `serve tornadio`) so a round waits seconds, not the default 45 s, for
//! vanished clients. The figures: RSS after each round and at each round's
//! peak, open file descriptors after each round, and the steady clients'
//! echoes per second, written as CSV and plotted.

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt, stream};
use plotters::prelude::{RGBColor, SeriesLabelPosition};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::load::{AnyClient, Incoming, Progress, TransportKind, message, within};
use crate::report::{Chart, Line};
use crate::server::{Mode, Protocol, ServerKind};
use crate::system::ServerProcess;

/// Which clients a round opens: per ten sessions, four v5 WebSocket, two v5
/// polling, two 0.6 WebSocket and two 0.6 xhr-polling.
const MIX: [(Protocol, TransportKind); 10] = {
    use Protocol::{Legacy, V5};
    use TransportKind::{Polling, WebSocket};
    [
        (V5, WebSocket),
        (V5, Polling),
        (Legacy, WebSocket),
        (V5, WebSocket),
        (Legacy, Polling),
        (V5, WebSocket),
        (V5, Polling),
        (Legacy, WebSocket),
        (V5, WebSocket),
        (Legacy, Polling),
    ]
};

/// Handshakes or echo exchanges in flight at once.
const CONCURRENCY: usize = 128;

/// How long the server may take to reap a round's vanished clients: the
/// soak server's ping interval + timeout (4 s) and 0.6 expiry (3 s) with a
/// wide margin for a loaded machine.
const REAP_LIMIT: Duration = Duration::from_secs(60);

/// What the soak run does.
#[derive(Debug, Clone)]
pub struct SoakParams {
    /// Sessions opened (and dropped) per round.
    pub clients: usize,
    /// Keep starting rounds until this much time has passed.
    pub duration: Duration,
    /// Messages each session of a round echoes before it is dropped.
    pub echoes: usize,
    /// Clients that echo throughout the run, closed loop.
    pub steady: usize,
    /// Message size in bytes.
    pub size: usize,
    /// Where the CSV and SVG go.
    pub out: PathBuf,
}

/// One round's figures.
#[derive(Debug, Clone)]
struct Round {
    round: usize,
    /// Since the start of the first round.
    elapsed: Duration,
    /// Server RSS with the round's sessions all open and echoed.
    peak_rss: u64,
    /// Server RSS once the round's sessions were all closed and reaped.
    rss: u64,
    /// Heap bytes in use in the server after the round (0 where the
    /// allocator cannot tell).
    heap: u64,
    /// Open file descriptors of the server after the round.
    fds: usize,
    /// How long the server took to close every dropped session.
    reaped_in: Duration,
    /// The steady clients' echoes per second during the round.
    steady_rate: f64,
}

pub async fn run(params: &SoakParams) -> io::Result<()> {
    let server = ServerProcess::start(ServerKind::Tornadio, Mode::Soak)?;
    let addr = server.addr();
    let mut progress = Progress::new(format!("[soak tornadio pid {}]", server.pid()));

    let echoed = Arc::new(AtomicU64::new(0));
    let mut steady = JoinSet::new();
    for i in 0..params.steady {
        let (protocol, transport) = MIX[i % MIX.len()];
        let mut client = AnyClient::connect(protocol, transport, addr).await?;
        let echoed = Arc::clone(&echoed);
        let text = message(&format!("steady {i} "), params.size);
        steady.spawn(async move {
            loop {
                echo(&mut client, &text).await?;
                echoed.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let start_heap = wait_for_count(addr, params.steady, Duration::from_secs(15)).await?;
    let start_rss = server.rss_bytes()?;
    let start_fds = server.open_fds()?;
    eprintln!(
        "  soak: {} sessions a round, {} echoes each, {} steady clients, {:.0} s; \
         server RSS {:.1} MiB, {start_fds} fds with only the steady clients",
        params.clients,
        params.echoes,
        params.steady,
        params.duration.as_secs_f64(),
        mib(start_rss)
    );

    let started = Instant::now();
    let mut rounds = Vec::new();
    let mut opened = 0usize;
    while started.elapsed() < params.duration || rounds.is_empty() {
        let round_started = Instant::now();
        let echoed_before = echoed.load(Ordering::Relaxed);
        let n = rounds.len() + 1;

        progress.update(&format!("round {n}: connecting {}", params.clients));
        let clients = within(
            REAP_LIMIT,
            "connecting a round",
            stream::iter(0..params.clients)
                .map(|i| {
                    let (protocol, transport) = MIX[i % MIX.len()];
                    AnyClient::connect(protocol, transport, addr)
                })
                .buffer_unordered(CONCURRENCY)
                .try_collect::<Vec<_>>(),
        )
        .await?;
        opened += clients.len();

        progress.update(&format!("round {n}: echoing"));
        let echoes = params.echoes;
        let size = params.size;
        let clients = within(
            REAP_LIMIT,
            "a round's echoes",
            stream::iter(clients.into_iter().enumerate())
                .map(|(i, mut client)| async move {
                    let text = message(&format!("r{n} c{i} "), size);
                    for _ in 0..echoes {
                        echo(&mut client, &text).await?;
                    }
                    Ok::<_, io::Error>((i, client))
                })
                .buffer_unordered(CONCURRENCY)
                .try_collect::<Vec<_>>(),
        )
        .await?;
        let peak_rss = server.rss_bytes()?;

        progress.update(&format!("round {n}: dropping"));
        let dropped_at = Instant::now();
        stream::iter(clients)
            .for_each_concurrent(CONCURRENCY, |(i, client)| async move {
                if i % 2 == 0 {
                    // A close frame where the transport has one; a close
                    // that fails (the server closed first) does not count.
                    let _ = within(Duration::from_secs(5), "closing", client.close()).await;
                } else {
                    drop(client);
                }
            })
            .await;
        progress.update(&format!("round {n}: waiting for the server to reap"));
        let heap = wait_for_count(addr, params.steady, REAP_LIMIT).await?;
        let reaped_in = dropped_at.elapsed();
        if let Some(joined) = steady.try_join_next() {
            let outcome: io::Result<()> = joined.map_err(io::Error::other)?;
            return Err(io::Error::other(format!(
                "a steady client stopped in round {n}: {outcome:?}"
            )));
        }
        let round = Round {
            round: n,
            elapsed: started.elapsed(),
            peak_rss,
            rss: server.rss_bytes()?,
            heap,
            fds: server.open_fds()?,
            reaped_in,
            steady_rate: (echoed.load(Ordering::Relaxed) - echoed_before) as f64
                / round_started.elapsed().as_secs_f64(),
        };
        progress.finish();
        eprintln!(
            "  round {:>3} at {:>5.0} s: RSS {:.1} MiB after ({:.1} MiB at peak), \
             heap in use {:.2} MiB, {} fds, reaped in {:.1} s, steady echoes {:.0}/s",
            round.round,
            round.elapsed.as_secs_f64(),
            mib(round.rss),
            mib(round.peak_rss),
            mib(round.heap),
            round.fds,
            round.reaped_in.as_secs_f64(),
            round.steady_rate
        );
        rounds.push(round);
    }
    steady.abort_all();

    std::fs::create_dir_all(&params.out)?;
    let csv = params.out.join("soak.csv");
    let svg = params.out.join("soak.svg");
    std::fs::write(&csv, soak_csv(&rounds))?;
    plot(&rounds, &svg)?;
    println!(
        "{}",
        summary(&rounds, opened, (start_rss, start_heap), start_fds)
    );
    println!("wrote {} and {}", csv.display(), svg.display());
    // A steady polling client may hold a second connection for a moment.
    let allowed = start_fds + params.steady;
    if let Some(r) = rounds.iter().find(|r| r.fds > allowed) {
        return Err(io::Error::other(format!(
            "after round {} the server held {} file descriptors, {start_fds} before the first",
            r.round, r.fds
        )));
    }
    Ok(())
}

/// Sends `text` and waits for it to come back.
async fn echo(client: &mut AnyClient, text: &str) -> io::Result<()> {
    client.send(text).await?;
    match client.recv().await? {
        Incoming::Message(back) if back == text => Ok(()),
        other => Err(io::Error::other(format!(
            "sent {text:?}, received {other:?}"
        ))),
    }
}

/// Waits until the server reports `count` open connections; returns its
/// heap bytes in use then.
async fn wait_for_count(addr: SocketAddr, count: usize, limit: Duration) -> io::Result<u64> {
    let deadline = Instant::now() + limit;
    loop {
        let (open, heap) = stats(addr).await?;
        if open == count {
            return Ok(heap);
        }
        if Instant::now() >= deadline {
            return Err(io::Error::other(format!(
                "the server still holds {open} connections after {:.0} s (expected {count})",
                limit.as_secs_f64()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `GET /stats` of the soak server: its open connections and heap bytes in
/// use.
async fn stats(addr: SocketAddr) -> io::Result<(usize, u64)> {
    let ask = async {
        let mut tcp = TcpStream::connect(addr).await?;
        tcp.write_all(b"GET /stats HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
            .await?;
        let mut response = String::new();
        tcp.read_to_string(&mut response).await?;
        Ok(response)
    };
    let response: String = within(Duration::from_secs(5), "asking for /stats", ask).await?;
    response
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| {
            let (open, heap) = body.trim().split_once(' ')?;
            Some((open.parse().ok()?, heap.parse().ok()?))
        })
        .ok_or_else(|| io::Error::other(format!("/stats answered {response:?}")))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// The CSV header of a soak run.
const CSV_HEADER: &str =
    "round,elapsed_s,rss_bytes,peak_rss_bytes,heap_bytes,fds,reaped_in_s,steady_echo_per_s";

/// Whether `csv` is a soak run's (for `tornadio-bench plot`).
pub fn is_soak_csv(csv: &str) -> bool {
    csv.lines().next() == Some(CSV_HEADER)
}

/// Redraws a soak run's plot from its CSV.
pub fn replot(csv: &str, path: &Path) -> io::Result<()> {
    let bad = |line: &str| io::Error::other(format!("not a soak CSV line: {line:?}"));
    let rounds = csv
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let [round, elapsed, rss, peak, heap, fds, reaped, rate] = fields[..] else {
                return Err(bad(line));
            };
            let number = |field: &str| field.parse::<f64>().map_err(|_| bad(line));
            Ok(Round {
                round: number(round)? as usize,
                elapsed: Duration::from_secs_f64(number(elapsed)?),
                rss: number(rss)? as u64,
                peak_rss: number(peak)? as u64,
                heap: number(heap)? as u64,
                fds: number(fds)? as usize,
                reaped_in: Duration::from_secs_f64(number(reaped)?),
                steady_rate: number(rate)?,
            })
        })
        .collect::<io::Result<Vec<_>>>()?;
    if rounds.is_empty() {
        return Err(io::Error::other("a soak CSV without rounds"));
    }
    plot(&rounds, path)
}

fn soak_csv(rounds: &[Round]) -> String {
    let mut csv = format!("{CSV_HEADER}\n");
    for r in rounds {
        let _ = writeln!(
            csv,
            "{},{:.1},{},{},{},{},{:.2},{:.0}",
            r.round,
            r.elapsed.as_secs_f64(),
            r.rss,
            r.peak_rss,
            r.heap,
            r.fds,
            r.reaped_in.as_secs_f64(),
            r.steady_rate
        );
    }
    csv
}

/// The verdict: RSS and heap in use after the first round against the
/// rounds after it, and against the second half of the run.
fn summary(rounds: &[Round], opened: usize, start: (u64, u64), start_fds: usize) -> String {
    let (start_rss, start_heap) = start;
    let last = &rounds[rounds.len() - 1];
    let first = &rounds[0];
    let later = &rounds[1.min(rounds.len() - 1)..];
    let second_half = &rounds[rounds.len() / 2..];
    let max =
        |rounds: &[Round], pick: fn(&Round) -> u64| rounds.iter().map(pick).max().unwrap_or(0);
    let min =
        |rounds: &[Round], pick: fn(&Round) -> u64| rounds.iter().map(pick).min().unwrap_or(0);
    let reap = rounds
        .iter()
        .map(|r| r.reaped_in.as_secs_f64())
        .fold(0.0, f64::max);
    let rates: Vec<f64> = rounds.iter().map(|r| r.steady_rate).collect();
    let rate = super::load::median(&rates).unwrap_or(0.0);
    let half_rss = (min(second_half, |r| r.rss), max(second_half, |r| r.rss));
    let half_heap = (min(second_half, |r| r.heap), max(second_half, |r| r.heap));
    format!(
        "soak: {} rounds, {opened} sessions opened and dropped in {:.0} s\n\
         RSS: {:.1} MiB before the first round, {:.1} after round 1, {:.1} at most after a later \
         round, {:.1}..{:.1} after the rounds of the second half, {:.1} after the last; \
         {:.1} MiB at most with a round open\n\
         heap in use: {:.2} MiB before the first round, {:.2} after round 1, {:.2} at most after \
         a later round, {:.2}..{:.2} in the second half, {:.2} after the last\n\
         file descriptors: {start_fds} before, {} after the last round; slowest reaping {reap:.1} s; \
         steady echoes {rate:.0}/s (median of rounds)\n\
         RESULT scenario=soak rounds={} sessions={opened} rss_round1={} rss_max_later={} \
         rss_last={} heap_start={start_heap} heap_round1={} heap_max_later={} heap_last={} unit=bytes",
        rounds.len(),
        last.elapsed.as_secs_f64(),
        mib(start_rss),
        mib(first.rss),
        mib(max(later, |r| r.rss)),
        mib(half_rss.0),
        mib(half_rss.1),
        mib(last.rss),
        mib(max(rounds, |r| r.peak_rss)),
        mib(start_heap),
        mib(first.heap),
        mib(max(later, |r| r.heap)),
        mib(half_heap.0),
        mib(half_heap.1),
        mib(last.heap),
        last.fds,
        rounds.len(),
        first.rss,
        max(later, |r| r.rss),
        last.rss,
        first.heap,
        max(later, |r| r.heap),
        last.heap,
    )
}

/// RSS after each round and at each round's peak, and heap in use after
/// each round, by minute.
fn plot(rounds: &[Round], path: &Path) -> io::Result<()> {
    let line = |label: &str, color, value: fn(&Round) -> u64| Line {
        label: label.to_owned(),
        color,
        points: rounds
            .iter()
            .map(|r| (r.elapsed.as_secs_f64() / 60.0, mib(value(r))))
            .collect(),
    };
    let chart = Chart {
        caption: "soak: tornadio memory, round after round of churned sessions".to_owned(),
        x_desc: "minutes",
        y_desc: "server memory, MiB",
        legend: SeriesLabelPosition::MiddleRight,
        lines: vec![
            line(
                "RSS after each round (sessions reaped)",
                RGBColor(0xd6, 0x27, 0x28),
                |r| r.rss,
            ),
            line(
                "RSS with a round's sessions open",
                RGBColor(0x1f, 0x77, 0xb4),
                |r| r.peak_rss,
            ),
            line(
                "heap in use after each round",
                RGBColor(0x2c, 0xa0, 0x2c),
                |r| r.heap,
            ),
        ],
    };
    chart.draw(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_soak_csv_is_recognised_and_replotted() {
        let round = |n: usize, rss: u64| Round {
            round: n,
            elapsed: Duration::from_secs(6 * n as u64),
            peak_rss: rss + (20 << 20),
            rss,
            heap: 5 << 20,
            fds: 40,
            reaped_in: Duration::from_millis(3800),
            steady_rate: 20_000.0,
        };
        let csv = soak_csv(&[round(1, 150 << 20), round(2, 190 << 20)]);
        assert!(is_soak_csv(&csv));
        assert_eq!(csv.lines().count(), 3);
        assert!(!is_soak_csv("scenario,server,clients\n"));
        let svg = std::env::temp_dir().join(format!("soak-test-{}.svg", std::process::id()));
        replot(&csv, &svg).unwrap();
        assert!(
            std::fs::read_to_string(&svg)
                .unwrap()
                .contains("heap in use")
        );
        let _ = std::fs::remove_file(&svg);
        assert!(replot("round,elapsed_s\n1,2\n", &svg).is_err());
    }
}
