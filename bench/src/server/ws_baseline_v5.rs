//! The current-protocol WebSocket baseline: tokio-tungstenite (the crate
//! tornadio uses) speaking just enough Engine.IO v4 / Socket.IO v5 for the
//! bench's clients: the open packet, a `40{"sid"}` reply to `40`, a ping
//! every 25 s, and `42` event packets echoed as-is, or handed to every
//! connection's writer (broadcast). No parsing beyond the first two bytes.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{Instant, Interval, interval_at};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{Mode, PING_INTERVAL, announce, connect_reply, open_packet};

type Peers = Mutex<HashMap<u64, mpsc::UnboundedSender<Message>>>;

pub async fn serve(mode: Mode) -> io::Result<()> {
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
        tokio::spawn(connection(tcp, next, mode, Arc::clone(&peers)));
    }
}

async fn connection(tcp: TcpStream, n: u64, mode: Mode, peers: Arc<Peers>) {
    let _ = tcp.set_nodelay(true);
    // The same 4 KiB read buffer as the 0.6 baseline and tornadio.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await else {
        return;
    };
    match mode {
        Mode::Echo | Mode::Soak => echo(ws, n).await,
        Mode::Broadcast => broadcast(ws, n, &peers).await,
    }
}

/// What a packet from the client asks for.
enum Answer {
    /// Send this to the client (the CONNECT reply).
    Reply(Message),
    /// An event: back to the sender, or to everyone.
    Relay(Message),
    /// The client leaves.
    Close,
    /// Nothing (a pong, anything else).
    Nothing,
}

fn answer(n: u64, message: Message) -> Answer {
    let Message::Text(text) = &message else {
        return if message.is_close() {
            Answer::Close
        } else {
            Answer::Nothing
        };
    };
    match text.as_bytes() {
        [b'4', b'2', ..] => Answer::Relay(message),
        [b'4', b'0', ..] => Answer::Reply(Message::text(connect_reply(n))),
        [b'1'] | [b'4', b'1', ..] => Answer::Close,
        _ => Answer::Nothing,
    }
}

fn ping_timer() -> Interval {
    interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL)
}

async fn echo(mut ws: WebSocketStream<TcpStream>, n: u64) {
    if ws.send(Message::text(open_packet(n, "[]"))).await.is_err() {
        return;
    }
    let mut ping = ping_timer();
    loop {
        let out = tokio::select! {
            message = ws.next() => match message {
                Some(Ok(message)) => match answer(n, message) {
                    Answer::Reply(out) | Answer::Relay(out) => out,
                    Answer::Close => return,
                    Answer::Nothing => continue,
                },
                _ => return,
            },
            _ = ping.tick() => Message::text("2"),
        };
        if ws.send(out).await.is_err() {
            return;
        }
    }
}

async fn broadcast(ws: WebSocketStream<TcpStream>, n: u64, peers: &Peers) {
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _ = tx.send(Message::text(open_packet(n, "[]")));
    lock(peers).insert(n, tx.clone());
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
    let mut ping = ping_timer();
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            _ = ping.tick() => {
                let _ = tx.send(Message::text("2"));
                continue;
            }
        };
        let Some(Ok(message)) = message else { break };
        match answer(n, message) {
            Answer::Reply(out) => {
                let _ = tx.send(out);
            }
            Answer::Relay(event) => {
                for peer in lock(peers).values() {
                    let _ = peer.send(event.clone());
                }
            }
            Answer::Close => break,
            Answer::Nothing => {}
        }
    }
    lock(peers).remove(&n);
    writer.abort();
}

fn lock(peers: &Peers) -> std::sync::MutexGuard<'_, HashMap<u64, mpsc::UnboundedSender<Message>>> {
    peers.lock().unwrap_or_else(PoisonError::into_inner)
}
