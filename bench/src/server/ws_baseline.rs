//! The WebSocket baseline: tokio-tungstenite (the crate tornadio uses) with
//! no Socket.IO logic. It greets each connection with one framed session id,
//! so clients and memory figures are comparable, then echoes every text
//! frame as-is, or hands it to every connection's writer (broadcast).

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tornadio_bench::codec;

use super::{Mode, announce, session_id};

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
    // A 4 KiB read buffer instead of tungstenite's 128 KiB default (which is
    // zero-filled, so resident): what a server holding many sockets needs.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await else {
        return;
    };
    let greeting = Message::text(codec::encode(&session_id(n)));
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

fn lock(peers: &Peers) -> std::sync::MutexGuard<'_, HashMap<u64, mpsc::UnboundedSender<Message>>> {
    peers.lock().unwrap_or_else(PoisonError::into_inner)
}
