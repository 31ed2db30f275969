//! Socket.IO v5 and v4 over real sockets, with minimal raw clients: what a
//! hostile or broken client gets, and every generation in one room.

#[path = "../http_transports/client.rs"]
#[allow(dead_code)]
mod client;
#[path = "../common/mod.rs"]
mod common;

mod churn;
mod generations;
mod hostile;
mod resilience;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tornadio::{
    Connection, DisconnectReason, Event, Message, OpenInfo, Refused, Router, Settings, Socket,
};

use common::{PATIENCE, TestServer, serve};

/// What the recording connection saw, by socket id.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Open(String),
    Message(String, Message),
    Event(String, String),
    Close(String, DisconnectReason),
}

/// Echoes messages and events back (events as `echo`), acks what asks for
/// an ack, joins the room named by an event `join`, and reports callbacks.
pub struct Recorder {
    pub seen: mpsc::UnboundedSender<Seen>,
}

impl Connection for Recorder {
    async fn on_open(&mut self, socket: &Socket, info: &OpenInfo) -> Result<(), Refused> {
        if info.auth().and_then(|a| a.get("refuse")).is_some() {
            return Err(Refused::because("refused").with_data(serde_json::json!({"why": 1})));
        }
        let _ = self.seen.send(Seen::Open(socket.id().to_owned()));
        Ok(())
    }

    async fn on_message(&mut self, socket: &Socket, message: Message) {
        let _ = self
            .seen
            .send(Seen::Message(socket.id().to_owned(), message.clone()));
        let _ = socket.send(message);
    }

    async fn on_event(&mut self, socket: &Socket, mut event: Event) {
        let _ = self
            .seen
            .send(Seen::Event(socket.id().to_owned(), event.name().to_owned()));
        if event.name() == "join"
            && let Ok(room) = event.args().get::<String>(0)
        {
            let _ = socket.join(room);
        }
        if event.name() == "ask-inline" {
            // Awaits the client's answer inside this very callback.
            let answer = socket
                .emit_with_ack("question", &"6 x 7?")
                .timeout(Duration::from_secs(5))
                .await;
            let _ = match answer {
                Ok(args) => socket.emit_args("answered", args),
                Err(error) => socket.emit("unanswered", &error.to_string()),
            };
            return;
        }
        if let Some(ack) = event.take_ack() {
            let _ = ack.send_args(event.args());
        } else {
            let _ = socket.emit_args("echo", event.args().clone());
        }
    }

    async fn on_close(&mut self, socket: &Socket, reason: DisconnectReason) {
        let _ = self.seen.send(Seen::Close(socket.id().to_owned(), reason));
    }
}

/// A server whose `/` and `/custom` record, and what they saw.
pub struct Harness {
    pub server: TestServer,
    pub seen: mpsc::UnboundedReceiver<Seen>,
    pub router: Router,
}

/// Long clocks: a busy machine must not trip them.
pub fn patient() -> Settings {
    Settings::default()
        .ping_interval(Duration::from_secs(20))
        .ping_timeout(Duration::from_secs(20))
}

impl Harness {
    pub async fn start(settings: Settings) -> Harness {
        let (tx, seen) = mpsc::unbounded_channel();
        let custom = tx.clone();
        let router = Router::new(move || Recorder { seen: tx.clone() })
            .namespace("/custom", move || Recorder {
                seen: custom.clone(),
            })
            .settings(settings);
        let server = serve(axum::Router::new().merge(router.clone())).await;
        Harness {
            server,
            seen,
            router,
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr
    }

    pub async fn next(&mut self) -> Seen {
        tokio::time::timeout(PATIENCE, self.seen.recv())
            .await
            .expect("a callback in time")
            .expect("the channel is open")
    }

    /// Waits for the close of socket `id`.
    pub async fn closed(&mut self, id: &str) -> DisconnectReason {
        loop {
            if let Seen::Close(closed, reason) = self.next().await
                && closed == id
            {
                return reason;
            }
        }
    }

    /// A v5 client connected to `/` over WebSocket; its socket id.
    pub async fn client(&mut self) -> (SioClient, String) {
        let mut client = SioClient::connect(self.addr(), 4).await;
        let id = client.join_namespace("/", None).await;
        (client, id)
    }
}

/// A raw Engine.IO WebSocket client that speaks Socket.IO packets.
pub struct SioClient {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub sid: String,
    pub version: u8,
}

impl SioClient {
    /// Opens an Engine.IO session of `version` over WebSocket.
    pub async fn connect(addr: std::net::SocketAddr, version: u8) -> SioClient {
        let url = format!("ws://{addr}/socket.io/?EIO={version}&transport=websocket");
        let (ws, _) = tokio::time::timeout(
            PATIENCE,
            tokio_tungstenite::connect_async_with_config(url, None, true),
        )
        .await
        .expect("connect in time")
        .expect("websocket handshake");
        let mut client = SioClient {
            ws,
            sid: String::new(),
            version,
        };
        let open = client.recv().await.expect("an open packet");
        let open: serde_json::Value =
            serde_json::from_str(open.strip_prefix('0').expect("open")).expect("JSON");
        client.sid = open["sid"].as_str().expect("sid").to_owned();
        client
    }

    /// Sends an Engine.IO text packet; `false` once the server is gone.
    pub async fn send(&mut self, packet: &str) -> bool {
        self.ws.send(Ws::text(packet)).await.is_ok()
    }

    pub async fn send_binary(&mut self, data: Vec<u8>) -> bool {
        self.ws.send(Ws::binary(data)).await.is_ok()
    }

    /// The next Engine.IO text packet, answering pings; `None` once the
    /// server closed.
    pub async fn recv(&mut self) -> Option<String> {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a packet in time");
            match next {
                Some(Ok(Ws::Text(text))) if text.as_str() == "2" => {
                    self.send("3").await;
                }
                Some(Ok(Ws::Text(text))) => return Some(text.as_str().to_owned()),
                Some(Ok(Ws::Binary(_))) => return Some("<binary>".to_owned()),
                Some(Ok(Ws::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Connects namespace `nsp` (v5: CONNECT with `auth`); the socket id.
    pub async fn join_namespace(&mut self, nsp: &str, auth: Option<&str>) -> String {
        let prefix = if nsp == "/" {
            String::new()
        } else {
            format!("{nsp},")
        };
        if self.version == 4 {
            self.send(&format!("40{prefix}{}", auth.unwrap_or("")))
                .await;
        } else if nsp != "/" {
            self.send(&format!("40{prefix}")).await;
        }
        let reply = self.recv().await.expect("a CONNECT reply");
        let body = reply
            .strip_prefix(&format!("40{prefix}"))
            .unwrap_or_else(|| panic!("expected a CONNECT reply, got {reply:?}"));
        if self.version == 4 {
            let body: serde_json::Value = serde_json::from_str(body).expect("JSON");
            body["sid"].as_str().expect("sid").to_owned()
        } else if nsp == "/" {
            self.sid.clone()
        } else {
            format!("{nsp}#{}", self.sid)
        }
    }

    /// Reads until the server closes the connection.
    pub async fn closed(&mut self) -> bool {
        while self.recv().await.is_some() {}
        true
    }
}
