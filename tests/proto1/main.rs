//! socket.io 0.7–0.9 ("protocol 1") over real sockets on 127.0.0.1: the
//! handshake, every transport, endpoints, events and acks both ways,
//! broadcasts beside the other generations, the clocks, and hostile
//! input, each spoken as socket.io-client 0.9.17 speaks it and checked as
//! that client would read it.

#[path = "../common/mod.rs"]
mod common;
#[path = "../http_transports/client.rs"]
#[allow(dead_code)]
mod http;

mod p1;

mod broadcast;
mod endpoints;
mod events;
mod handshake;
mod hostile;
mod htmlfile;
mod lifecycle;
mod polling;
mod websocket;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tornadio::{
    Connection, DisconnectReason, Event as SocketEvent, Message, OpenInfo, Protocol, Refused,
    Router, Settings, Socket, Transport,
};

use common::{PATIENCE, TestServer, serve};

/// What a [`Probe`] saw, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Open {
        nsp: String,
        id: String,
        protocol: Protocol,
        transport: Transport,
        query: Option<String>,
        auth: Option<Value>,
    },
    Message {
        nsp: String,
        message: Message,
    },
    Event {
        nsp: String,
        name: String,
        args: Vec<Value>,
        ack: bool,
    },
    /// The client answered a server `emit_with_ack`.
    Answer {
        nsp: String,
        args: Vec<Value>,
    },
    /// What a send the client asked for returned.
    Sent {
        ok: bool,
    },
    Close {
        nsp: String,
        reason: DisconnectReason,
    },
}

/// A connection that reports every callback, echoes, and obeys a few
/// commands:
///
/// * messages: `close-me` closes the client's connection, `disconnect-me`
///   disconnects this socket, `join:R` joins room `R`, `shout:T` sends `T`
///   to everyone in the namespace, `news:T` emits `news(T)` to room `r`;
///   anything else comes back;
/// * events: answered (when asked) with their own arguments, except
///   `ask`, which asks the client `question(...args)` and reports the
///   answer, and `binary`, which emits a binary argument and reports
///   whether it could.
pub struct Probe {
    pub seen: mpsc::UnboundedSender<Seen>,
    /// Refuses every socket.
    pub refuse: bool,
}

impl Probe {
    fn see(&self, seen: Seen) {
        let _ = self.seen.send(seen);
    }
}

impl Connection for Probe {
    async fn on_open(&mut self, socket: &Socket, info: &OpenInfo) -> Result<(), Refused> {
        if self.refuse || info.auth().and_then(|a| a.get("refuse")).is_some() {
            return Err(Refused::because("no"));
        }
        self.see(Seen::Open {
            nsp: socket.namespace().to_owned(),
            id: socket.id().to_owned(),
            protocol: info.protocol(),
            transport: info.transport(),
            query: info.query().map(str::to_owned),
            auth: info.auth().cloned(),
        });
        socket.send("Welcome").unwrap();
        Ok(())
    }

    async fn on_message(&mut self, socket: &Socket, message: Message) {
        self.see(Seen::Message {
            nsp: socket.namespace().to_owned(),
            message: message.clone(),
        });
        let text = message.as_text().unwrap_or("");
        if text == "close-me" {
            socket.close();
        } else if text == "disconnect-me" {
            socket.disconnect();
        } else if let Some(room) = text.strip_prefix("join:") {
            socket.join(room).unwrap();
            let _ = socket.send(format!("joined:{room}"));
        } else if let Some(shout) = text.strip_prefix("shout:") {
            socket.sockets().broadcast(shout);
        } else if let Some(news) = text.strip_prefix("news:") {
            let _ = socket.to("r").emit("news", &news);
        } else {
            let _ = socket.send(message);
        }
    }

    async fn on_event(&mut self, socket: &Socket, mut event: SocketEvent) {
        let ack = event.take_ack();
        self.see(Seen::Event {
            nsp: socket.namespace().to_owned(),
            name: event.name().to_owned(),
            args: event.args().values().to_vec(),
            ack: ack.is_some(),
        });
        match event.name() {
            "ask" => {
                let answer = socket.emit_args_with_ack("question", event.args().clone());
                let seen = self.seen.clone();
                let nsp = socket.namespace().to_owned();
                tokio::spawn(async move {
                    if let Ok(args) = answer.await {
                        let _ = seen.send(Seen::Answer {
                            nsp,
                            args: args.values().to_vec(),
                        });
                    }
                });
            }
            "binary" => {
                let sent = socket.emit("bin", &bytes::Bytes::from_static(b"\x01\x02"));
                self.see(Seen::Sent { ok: sent.is_ok() });
            }
            _ => {
                if let Some(ack) = ack {
                    ack.send_args(event.args()).unwrap();
                }
            }
        }
    }

    async fn on_close(&mut self, socket: &Socket, reason: DisconnectReason) {
        assert!(socket.send("too late").is_err(), "sends fail in on_close");
        self.see(Seen::Close {
            nsp: socket.namespace().to_owned(),
            reason,
        });
    }
}

/// A server of probes at `/`, `/custom`, `/refused` (which refuses) and
/// the dynamic `/room-N`.
pub struct Harness {
    pub server: TestServer,
    pub router: Router,
    pub seen: mpsc::UnboundedReceiver<Seen>,
}

impl Harness {
    pub async fn start(settings: Settings) -> Harness {
        let (tx, seen) = mpsc::unbounded_channel();
        let probe = |refuse: bool| {
            let tx = tx.clone();
            move || Probe {
                seen: tx.clone(),
                refuse,
            }
        };
        let router = Router::new(probe(false))
            .namespace("/custom", probe(false))
            .namespace("/refused", probe(true))
            .dynamic_namespace(r"^/room-\d+$", probe(false))
            .settings(settings);
        let server = serve(axum::Router::new().merge(router.clone())).await;
        Harness {
            server,
            router,
            seen,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The next thing the probes saw.
    pub async fn next(&mut self) -> Seen {
        tokio::time::timeout(PATIENCE, self.seen.recv())
            .await
            .expect("a callback in time")
            .expect("the channel is open")
    }

    /// Waits for the `Open` of namespace `nsp`; returns what it saw.
    pub async fn opened(&mut self, nsp: &str) -> Seen {
        let seen = self.next().await;
        match &seen {
            Seen::Open { nsp: opened, .. } if opened == nsp => seen,
            other => panic!("expected {nsp} to open, got {other:?}"),
        }
    }

    /// Waits for the message `text` in `nsp`.
    pub async fn message(&mut self, nsp: &str, text: &str) {
        let expected = Seen::Message {
            nsp: nsp.into(),
            message: Message::Text(text.into()),
        };
        assert_eq!(self.next().await, expected);
    }

    /// Waits for the `Close` of `nsp`, and checks its reason.
    pub async fn closed(&mut self, nsp: &str, reason: DisconnectReason) {
        let expected = Seen::Close {
            nsp: nsp.into(),
            reason,
        };
        assert_eq!(self.next().await, expected);
    }

    /// The first thing seen that is not a message.
    pub async fn next_after_messages(&mut self) -> Seen {
        loop {
            let seen = self.next().await;
            if !matches!(seen, Seen::Message { .. }) {
                return seen;
            }
        }
    }

    /// Nothing was seen that the test has not read.
    pub fn quiet(&mut self) {
        if let Ok(seen) = self.seen.try_recv() {
            panic!("unexpected {seen:?}");
        }
    }

    /// Waits until the router holds no session: ended sessions are
    /// unlisted right after their `on_close`.
    pub async fn no_sessions(&self) {
        tokio::time::timeout(PATIENCE, async {
            while self.router.connection_count() > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("every session unlisted in time");
    }
}

/// Settings for tests that never wait on a clock: long enough that a busy
/// machine cannot trip them between two steps of a test.
pub fn patient() -> Settings {
    Settings::default()
        .proto1_polling_duration(Duration::from_secs(8))
        .proto1_transports([
            Transport::WebSocket,
            Transport::FlashSocket,
            Transport::HtmlFile,
            Transport::XhrPolling,
            Transport::JsonpPolling,
        ])
}

/// A JSON value, for brevity.
pub fn j(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}
