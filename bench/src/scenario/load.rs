//! Pieces every scenario uses: one client type over both transports,
//! connecting many clients at once, timeouts, percentiles, the progress line.

use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt, stream};
use tornadio_bench::client::{PollingClient, WsClient};
use tornadio_bench::codec::Frame;
use tornadio_bench::{proto1, v5};

use crate::server::Protocol;

/// How long any single answer from a server may take before the scenario
/// counts as failed.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);

/// Handshakes in flight at once while connecting many clients (keeps the
/// listen backlog from overflowing).
const CONNECT_CONCURRENCY: usize = 128;

/// The event the v5 clients send and expect back (`socket.on("message")`).
const EVENT: &str = "message";

/// Which transport a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    WebSocket,
    /// HTTP long polling: `xhr-polling` in 0.6 and 0.9, `polling` in v5.
    Polling,
}

/// A Socket.IO client of either protocol on either transport. The
/// scenarios speak in messages (the text of a 0.6 message, the string of a
/// v5 `message` event); the client frames them.
// Each client lives alone in its own task, so the size gap between the
// variants costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
pub enum AnyClient {
    Ws(WsClient),
    Polling(PollingClient),
    WsProto1(proto1::WsClient),
    PollingProto1(proto1::PollingClient),
    WsV5(v5::WsClient),
    PollingV5(v5::PollingClient),
}

/// What a client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A message: 0.6 plain text, a 0.9 message's text, or the string of a
    /// v5 `message` event.
    Message(String),
    /// Anything else, as it came (for error messages).
    Other(String),
}

impl AnyClient {
    pub async fn connect(
        protocol: Protocol,
        transport: TransportKind,
        addr: SocketAddr,
    ) -> io::Result<AnyClient> {
        use {Protocol::*, TransportKind::*};
        let connect = async {
            Ok(match (protocol, transport) {
                (Legacy, WebSocket) => AnyClient::Ws(WsClient::connect(addr, "socket.io").await?),
                (Legacy, Polling) => {
                    AnyClient::Polling(PollingClient::connect(addr, "socket.io").await?)
                }
                (Proto1, WebSocket) => AnyClient::WsProto1(proto1::WsClient::connect(addr).await?),
                (Proto1, Polling) => {
                    AnyClient::PollingProto1(proto1::PollingClient::connect(addr).await?)
                }
                (V5, WebSocket) => AnyClient::WsV5(v5::WsClient::connect(addr).await?),
                (V5, Polling) => AnyClient::PollingV5(v5::PollingClient::connect(addr).await?),
            })
        };
        within(ANSWER_TIMEOUT, "connecting", connect).await
    }

    /// Sends one message.
    pub async fn send(&mut self, text: &str) -> io::Result<()> {
        match self {
            AnyClient::Ws(client) => client.send(text).await,
            AnyClient::Polling(client) => client.send(text).await,
            AnyClient::WsProto1(client) => client.send(text).await,
            AnyClient::PollingProto1(client) => client.send(text).await,
            AnyClient::WsV5(client) => client.send(&v5::codec::event(EVENT, text)).await,
            AnyClient::PollingV5(client) => client.send(&v5::codec::event(EVENT, text)).await,
        }
    }

    /// The next message, failing after [`ANSWER_TIMEOUT`].
    pub async fn recv(&mut self) -> io::Result<Incoming> {
        within(ANSWER_TIMEOUT, "waiting for a message", self.recv_forever()).await
    }

    /// The next message, with no time limit (for clients that just hold on).
    pub async fn recv_forever(&mut self) -> io::Result<Incoming> {
        Ok(match self {
            AnyClient::Ws(client) => legacy_incoming(client.recv().await?),
            AnyClient::Polling(client) => legacy_incoming(client.recv().await?),
            AnyClient::WsProto1(client) => proto1_incoming(client.recv().await?),
            AnyClient::PollingProto1(client) => proto1_incoming(client.recv().await?),
            AnyClient::WsV5(client) => v5_incoming(client.recv().await?),
            AnyClient::PollingV5(client) => v5_incoming(client.recv().await?),
        })
    }

    /// Closes a WebSocket client politely; drops a polling one.
    pub async fn close(self) -> io::Result<()> {
        match self {
            AnyClient::Ws(client) => client.close().await,
            AnyClient::WsProto1(client) => client.close().await,
            AnyClient::WsV5(client) => client.close().await,
            AnyClient::Polling(_) | AnyClient::PollingProto1(_) | AnyClient::PollingV5(_) => Ok(()),
        }
    }
}

fn legacy_incoming(frame: Frame) -> Incoming {
    match frame {
        Frame::Text(text) => Incoming::Message(text),
        other => Incoming::Other(format!("{other:?}")),
    }
}

fn proto1_incoming(packet: String) -> Incoming {
    match proto1::message_text(&packet) {
        Some(text) => Incoming::Message(text.to_owned()),
        None => Incoming::Other(packet),
    }
}

fn v5_incoming(packet: String) -> Incoming {
    match v5::codec::parse_event(&packet) {
        Some((event, text)) if event == EVENT => Incoming::Message(text.into_owned()),
        _ => Incoming::Other(packet),
    }
}

/// Connects `n` clients, [`CONNECT_CONCURRENCY`] at a time, reporting progress.
pub async fn connect_all(
    protocol: Protocol,
    transport: TransportKind,
    addr: SocketAddr,
    n: usize,
    progress: &mut Progress,
) -> io::Result<Vec<AnyClient>> {
    let mut clients = Vec::with_capacity(n);
    let mut connecting = stream::iter(0..n)
        .map(|_| AnyClient::connect(protocol, transport, addr))
        .buffer_unordered(CONNECT_CONCURRENCY);
    while let Some(client) = connecting.try_next().await? {
        clients.push(client);
        if clients.len() % 500 == 0 || clients.len() == n {
            progress.update(&format!("connected {}/{n}", clients.len()));
        }
    }
    Ok(clients)
}

/// Runs `future`, turning a timeout into an error that says what was awaited.
pub async fn within<T>(
    limit: Duration,
    what: &str,
    future: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("timed out {what}")))?
}

/// A message of exactly `size` bytes (ASCII), starting with `tag`.
pub fn message(tag: &str, size: usize) -> String {
    let mut text = String::with_capacity(size.max(tag.len()));
    text.push_str(tag);
    let filler = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut i = 0;
    while text.len() < size {
        text.push(filler[i % filler.len()] as char);
        i += 1;
    }
    text
}

/// The `q` quantile (0..=1) of sorted `values`, nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The median of `values` (any order).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The progress line on stderr: rewritten in place on a terminal, one line
/// per update otherwise (CI logs).
pub struct Progress {
    label: String,
    terminal: bool,
    dirty: bool,
}

impl Progress {
    pub fn new(label: String) -> Progress {
        Progress {
            label,
            terminal: io::stderr().is_terminal(),
            dirty: false,
        }
    }

    pub fn update(&mut self, text: &str) {
        let mut err = io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[K  {} {text}", self.label);
            self.dirty = true;
        } else {
            let _ = writeln!(err, "  {} {text}", self.label);
        }
        let _ = err.flush();
    }

    pub fn finish(&mut self) {
        if self.dirty {
            let _ = writeln!(io::stderr());
            self.dirty = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), Some(50.0));
        assert_eq!(quantile(&v, 0.95), Some(95.0));
        assert_eq!(quantile(&v, 0.99), Some(99.0));
        assert_eq!(quantile(&[7.0], 0.99), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn messages_have_the_asked_size() {
        assert_eq!(message("b12 ", 64).len(), 64);
        assert!(message("b12 ", 64).starts_with("b12 "));
        assert_eq!(message("long tag", 3), "long tag");
    }
}
