//! The WebSocket baseline: tokio-tungstenite with no Socket.IO logic. It
//! greets each connection as the protocol's server would (0.6: one framed
//! session id; protocol 1: `1::`), so clients and memory figures are
//! comparable, then echoes every text frame as-is, or hands it to every
//! connection's writer (broadcast).
//!
//! Protocol 1 opens a session with an HTTP handshake first, on a connection
//! of its own: a connection whose first bytes ask for it gets a fixed
//! answer and is closed.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tornadio_bench::codec;

use super::{Mode, Protocol, announce, session_id};

/// How a protocol-1 handshake request begins.
const HANDSHAKE: &[u8] = b"GET /socket.io/1/?";
/// The most of a handshake request read before answering it.
const MAX_HEAD: usize = 8 * 1024;

type Peers = Mutex<HashMap<u64, mpsc::UnboundedSender<Message>>>;

pub async fn serve(mode: Mode, protocol: Protocol) -> io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    announce(listener.local_addr()?)?;
    let peers: Arc<Peers> = Arc::default();
    let mut next = 0;
    loop {
        // Accept errors (EMFILE under load) are transient: keep serving.
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::task::yield_now().await;
            continue;
        };
        next += 1;
        tokio::spawn(connection(tcp, next, mode, protocol, Arc::clone(&peers)));
    }
}

async fn connection(tcp: TcpStream, n: u64, mode: Mode, protocol: Protocol, peers: Arc<Peers>) {
    let _ = tcp.set_nodelay(true);
    if protocol == Protocol::Proto1 {
        let mut first = [0; HANDSHAKE.len()];
        if tcp
            .peek(&mut first)
            .await
            .is_ok_and(|n| first[..n] == *HANDSHAKE)
        {
            let _ = handshake(tcp, n).await;
            return;
        }
    }
    // A 4 KiB read buffer instead of tungstenite's 128 KiB default (which is
    // zero-filled, so resident): what a server holding many sockets needs.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await else {
        return;
    };
    let greeting = match protocol {
        Protocol::Proto1 => Message::text("1::"),
        _ => Message::text(codec::encode(&session_id(n))),
    };
    match mode {
        Mode::Echo | Mode::Soak => echo(ws, greeting).await,
        Mode::Broadcast => broadcast(ws, n, greeting, &peers).await,
    }
}

async fn echo(mut ws: WebSocketStream<TcpStream>, greeting: Message) {
    if ws.send(greeting).await.is_err() {
        return;
    }
    while let Some(Ok(message)) = ws.next().await {
        if message.is_close() || (message.is_text() && ws.send(message).await.is_err()) {
            return;
        }
    }
}

async fn broadcast(ws: WebSocketStream<TcpStream>, n: u64, greeting: Message, peers: &Peers) {
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _ = tx.send(greeting);
    lock(peers).insert(n, tx);
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if sink.feed(message).await.is_err() {
                return;
            }
            while let Ok(message) = rx.try_recv() {
                if sink.feed(message).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        match message {
            Message::Text(_) => {
                for peer in lock(peers).values() {
                    let _ = peer.send(message.clone());
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    lock(peers).remove(&n);
    writer.abort();
}

/// Answers a protocol-1 handshake as 0.9.17's defaults would, then closes.
async fn handshake(mut tcp: TcpStream, n: u64) -> io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = tcp.read(&mut buf).await?;
        if read == 0 || head.len() + read > MAX_HEAD {
            return Ok(());
        }
        head.extend_from_slice(&buf[..read]);
    }
    let body = format!("{}:60:60:websocket", session_id(n));
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=UTF-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(answer.as_bytes()).await?;
    tcp.shutdown().await
}

fn lock(peers: &Peers) -> std::sync::MutexGuard<'_, HashMap<u64, mpsc::UnboundedSender<Message>>> {
    peers.lock().unwrap_or_else(PoisonError::into_inner)
}
