//! `idle-memory`: open N WebSocket sessions, hold them, and read how much the
//! server's resident memory grew per session.

use std::io;
use std::time::Duration;

use tokio::task::JoinSet;

use super::load::{Progress, TransportKind, connect_all};
use super::{Measurement, Params};
use crate::system::ServerProcess;

/// Sessions opened and closed before the first reading, so one-time costs
/// (code paged in, runtime buffers) are not charged to the sessions.
const WARMUP_SESSIONS: usize = 20;

pub async fn run(
    server: &mut ServerProcess,
    params: &Params,
    progress: &mut Progress,
) -> io::Result<Measurement> {
    let addr = server.addr();
    let protocol = server.kind().protocol();
    let ws = TransportKind::WebSocket;
    let warmup = connect_all(protocol, ws, addr, WARMUP_SESSIONS, progress).await?;
    for client in warmup {
        let _ = client.close().await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.rss_bytes()?;

    let clients = connect_all(protocol, ws, addr, params.clients, progress).await?;
    let mut holders = JoinSet::new();
    for mut client in clients {
        // Hold the session: answer heartbeats, ignore anything else.
        holders.spawn(async move {
            loop {
                client.recv_forever().await?;
            }
        });
    }
    let hold = params.duration();
    let mut held = Duration::ZERO;
    while held < hold {
        let step = Duration::from_secs(1).min(hold - held);
        tokio::time::sleep(step).await;
        held += step;
        if let Some(joined) = holders.try_join_next() {
            let reason: io::Result<()> = joined.map_err(io::Error::other)?;
            return Err(io::Error::other(format!("a session dropped: {reason:?}")));
        }
        let rss = server.rss_bytes()?;
        progress.update(&format!(
            "holding {} sessions {:.0}/{:.0} s  server RSS {:.1} MiB",
            params.clients,
            held.as_secs_f64(),
            hold.as_secs_f64(),
            rss as f64 / (1 << 20) as f64
        ));
    }
    if !server.is_running() {
        return Err(io::Error::other("the server exited"));
    }
    let after = server.rss_bytes()?;
    holders.abort_all();
    let per_session = after.saturating_sub(before) as f64 / params.clients as f64;
    Ok(Measurement {
        value: per_session,
        p50_ms: None,
        p95_ms: None,
        p99_ms: None,
        cpu_us_per_msg: None,
        user_us_per_msg: None,
        note: format!(
            "RSS {:.1} MiB -> {:.1} MiB",
            before as f64 / (1 << 20) as f64,
            after as f64 / (1 << 20) as f64
        ),
    })
}
