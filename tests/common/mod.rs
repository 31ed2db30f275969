//! Helpers for the integration tests: a real server on 127.0.0.1:0, a
//! recording echo connection, and minimal 0.6 clients.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tornadio::{Connection, Message, OpenInfo, Refused, Router, Socket, SocketServer};

/// How long a test waits for something that should happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// What a [`Recorder`] saw, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Open {
        id: String,
        extra: Option<String>,
    },
    Message {
        id: String,
        message: Message,
    },
    Close {
        id: String,
    },
    /// A send from `on_close` was accepted: it must fail.
    SentAfterClose {
        id: String,
    },
}

/// An echo connection that reports every callback on a channel. It sends
/// `Welcome` on open; the text `close-me` makes it close the session.
pub struct Recorder {
    pub events: mpsc::UnboundedSender<Event>,
    pub refuse: bool,
}

impl Connection for Recorder {
    async fn on_open(&mut self, socket: &Socket, info: &OpenInfo) -> Result<(), Refused> {
        if self.refuse {
            return Err(Refused::new());
        }
        let _ = self.events.send(Event::Open {
            id: socket.id().to_owned(),
            extra: info.extra().map(str::to_owned),
        });
        socket.send("Welcome").unwrap();
        Ok(())
    }

    async fn on_message(&mut self, socket: &Socket, message: Message) {
        let _ = self.events.send(Event::Message {
            id: socket.id().to_owned(),
            message: message.clone(),
        });
        if message.as_text() == Some("close-me") {
            socket.close();
            return;
        }
        let _ = socket.send(message);
    }

    async fn on_close(&mut self, socket: &Socket, _reason: tornadio::DisconnectReason) {
        let id = socket.id().to_owned();
        let event = if socket.send("too late").is_err() {
            Event::Close { id }
        } else {
            Event::SentAfterClose { id }
        };
        let _ = self.events.send(event);
    }
}

/// A router of [`Recorder`]s and the receiving end of their events.
pub fn recorder_router() -> (Router, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let router = Router::new(move || Recorder {
        events: tx.clone(),
        refuse: false,
    });
    (router, rx)
}

/// Waits for the next event, failing the test after [`PATIENCE`].
pub async fn next_event(events: &mut mpsc::UnboundedReceiver<Event>) -> Event {
    tokio::time::timeout(PATIENCE, events.recv())
        .await
        .expect("an event in time")
        .expect("the event channel is open")
}

/// A running server; dropping `stop` (or sending on it) shuts it down.
pub struct TestServer {
    pub addr: SocketAddr,
    pub stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<Result<(), tornadio::Error>>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    /// Shuts the server down and waits until `run_until` returned.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), &mut self.task)
            .await
            .expect("server stops in time")
            .expect("server task did not panic")
            .expect("server ran without error");
    }
}

/// Serves `app` on 127.0.0.1 with a free port, no policy port.
pub async fn serve(app: axum::Router) -> TestServer {
    start(SocketServer::new(app)).await
}

/// Serves one router alone ([`SocketServer::standalone`]), as [`serve`]
/// serves an application.
#[allow(dead_code)]
pub async fn serve_standalone(router: tornadio::Router) -> TestServer {
    start(SocketServer::standalone(router)).await
}

async fn start(server: SocketServer) -> TestServer {
    let server = server
        .address("127.0.0.1".parse().unwrap())
        .port(0)
        .flash_policy_port(None)
        .bind()
        .await
        .expect("bind 127.0.0.1:0");
    let addr = server.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    TestServer {
        addr,
        stop: Some(stop),
        task,
    }
}

/// JavaScript's `s.length`.
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// One framed 0.6 message.
pub fn frame(data: &str) -> String {
    format!("~m~{}~m~{}", utf16_len(data), data)
}

/// Splits a 0.6 payload into its messages' data (test-side decoder,
/// independent of the library's).
pub fn unframe(mut payload: &str) -> Vec<String> {
    let mut out = Vec::new();
    while !payload.is_empty() {
        let rest = payload.strip_prefix("~m~").expect("frame marker");
        let end = rest.find("~m~").expect("length end");
        let len: usize = rest[..end].parse().expect("length");
        let data = &rest[end + 3..];
        let units: Vec<u16> = data.encode_utf16().take(len).collect();
        let text = String::from_utf16(&units).expect("whole characters");
        payload = &data[text.len()..];
        out.push(text);
    }
    out
}

/// A minimal socket.io 0.6 WebSocket client.
pub struct WsClient {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub id: String,
    /// Messages received but not yet read.
    pending: std::collections::VecDeque<String>,
}

impl WsClient {
    /// Connects and reads the session id, the first message.
    pub async fn connect(url: &str) -> WsClient {
        let (ws, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect in time")
            .expect("websocket handshake");
        let mut client = WsClient {
            ws,
            id: String::new(),
            pending: Default::default(),
        };
        client.id = client.recv().await.expect("session id");
        client
    }

    pub async fn send_raw(&mut self, payload: &str) {
        self.ws.send(Ws::text(payload)).await.expect("send");
    }

    pub async fn send(&mut self, data: &str) {
        self.send_raw(&frame(data)).await;
    }

    /// The next message's data, answering heartbeats unless asked not to;
    /// `None` when the server closed the connection.
    pub async fn recv(&mut self) -> Option<String> {
        self.recv_inner(true).await
    }

    /// The next message's data, heartbeats included and not answered.
    pub async fn recv_raw(&mut self) -> Option<String> {
        self.recv_inner(false).await
    }

    async fn recv_inner(&mut self, answer_heartbeats: bool) -> Option<String> {
        loop {
            if let Some(data) = self.pending.pop_front() {
                if answer_heartbeats && data.starts_with("~h~") {
                    self.send(&data).await;
                    continue;
                }
                return Some(data);
            }
            let next = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a message in time");
            match next {
                Some(Ok(Ws::Text(text))) => self.pending.extend(unframe(text.as_str())),
                Some(Ok(Ws::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }
}
