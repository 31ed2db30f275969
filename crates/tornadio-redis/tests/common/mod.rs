//! Helpers for the cluster tests: a real `redis-server` on a free port, a
//! tornadio server with the Redis adapter on 127.0.0.1:0, and two minimal
//! clients written from the protocols (Socket.IO v5 over a websocket, and
//! the 0.6 websocket transport). Nothing is mocked.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tornadio::adapter::ServerEvent;
use tornadio::{Connection, Event, Io, Message, OpenInfo, Refused, Router, Socket, SocketServer};
use tornadio_redis::RedisAdapter;

/// How long a test waits for something that should happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `redis-server` of its own, on a free port, without persistence.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    pub async fn start() -> Redis {
        Redis::start_on(free_port()).await
    }

    /// Starts on `port` (again, after [`stop`](Self::stop)).
    pub async fn start_on(port: u16) -> Redis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run redis-server ({e}): apt-get install -y redis-server")
            });
        let redis = Redis {
            port,
            child: Some(child),
        };
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if redis.ping().await {
                return redis;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn ping(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
            return false;
        };
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .is_ok()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash would) and waits until it is gone.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// A plain connection, to publish or query like another program would.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("connect to redis")
    }

    /// `PUBSUB NUMSUB channel`.
    pub async fn numsub(&self, channel: &str) -> i64 {
        let mut conn = self.connection().await;
        let (_, n): (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(channel)
            .query_async(&mut conn)
            .await
            .expect("numsub");
        n
    }
}

/// The application of the test servers: joins the rooms its client names
/// in `auth.rooms`, and a room on a `join` event (acknowledged).
pub struct Member;

impl Connection for Member {
    async fn on_open(&mut self, socket: &Socket, info: &OpenInfo) -> Result<(), Refused> {
        if let Some(Value::Array(rooms)) = info.auth().and_then(|a| a.get("rooms")) {
            for room in rooms.iter().filter_map(Value::as_str) {
                let _ = socket.join(room);
            }
        }
        Ok(())
    }

    async fn on_message(&mut self, _socket: &Socket, _message: Message) {}

    async fn on_event(&mut self, socket: &Socket, mut event: Event) {
        if event.name() == "join" {
            if let Ok(room) = event.args().get::<String>(0) {
                let _ = socket.join(room);
            }
            if let Some(ack) = event.take_ack() {
                let _ = ack.send(&true);
            }
        }
    }
}

/// A tornadio server with the Redis adapter, serving `/` and `/chat`.
/// Server-side events to `/` are recorded and answered
/// `{"from": uid, "args": [...]}`.
pub struct Node {
    pub addr: SocketAddr,
    pub io: Io,
    pub adapter: RedisAdapter,
    pub server_events: mpsc::UnboundedReceiver<(String, Value)>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), tornadio::Error>>,
}

impl Node {
    pub async fn start(redis: &Redis) -> Node {
        Node::start_with(redis, Duration::from_secs(2)).await
    }

    pub async fn start_with(redis: &Redis, request_timeout: Duration) -> Node {
        let adapter = RedisAdapter::new(&redis.url())
            .expect("redis url")
            .request_timeout(request_timeout);
        let (events, server_events) = mpsc::unbounded_channel();
        let uid = adapter.uid().to_owned();
        let router = Router::new(|| Member)
            .namespace("/chat", || Member)
            .adapter(adapter.clone())
            .on_server_event("/", move |mut event: ServerEvent| {
                let args = Value::Array(event.args().values().to_vec());
                if let Some(ack) = event.take_ack() {
                    let _ = ack.send(&json!({"from": uid, "args": args}));
                }
                let _ = events.send((event.name().to_owned(), args));
            });
        let io = router.io();
        let server = SocketServer::new(axum::Router::new().merge(router))
            .address("127.0.0.1".parse().unwrap())
            .port(0)
            .flash_policy_port(None)
            .bind()
            .await
            .expect("bind");
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run_until(async {
            let _ = stopped.await;
        }));
        tokio::time::timeout(PATIENCE, adapter.ready())
            .await
            .expect("the adapter subscribes");
        Node {
            addr,
            io,
            adapter,
            server_events,
            stop: Some(stop),
            task,
        }
    }

    /// The socket with this id, on this server.
    pub fn socket(&self, id: &str) -> Socket {
        self.io
            .of("/")
            .sockets()
            .into_iter()
            .find(|s| s.id() == id)
            .expect("the socket is here")
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(PATIENCE, &mut self.task).await;
    }
}

/// What a Socket.IO client got.
#[derive(Debug, Clone, PartialEq)]
pub enum Got {
    Event {
        name: String,
        args: Vec<Value>,
        binary: Vec<Vec<u8>>,
        ack: Option<u64>,
    },
    Disconnect,
    Closed,
}

impl Got {
    pub fn name(&self) -> &str {
        match self {
            Got::Event { name, .. } => name,
            Got::Disconnect => "<disconnect>",
            Got::Closed => "<closed>",
        }
    }
}

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A Socket.IO v5 client over a websocket (socket.io-client 4's wire).
pub struct SioClient {
    ws: Stream,
    pub sid: String,
    nsp: String,
}

impl SioClient {
    pub async fn connect(addr: SocketAddr, nsp: &str, auth: Value) -> SioClient {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect in time")
            .expect("websocket handshake");
        let mut client = SioClient {
            ws,
            sid: String::new(),
            nsp: nsp.to_owned(),
        };
        let open = client.text().await.expect("open packet");
        assert!(open.starts_with('0'), "{open}");
        let prefix = client.prefix();
        client.send(format!("40{prefix}{auth}")).await;
        let connect = client.text().await.expect("connect packet");
        let data = connect
            .strip_prefix(&format!("40{prefix}"))
            .unwrap_or_else(|| panic!("CONNECT expected: {connect}"));
        let data: Value = serde_json::from_str(data).expect("connect data");
        client.sid = data["sid"].as_str().expect("sid").to_owned();
        client
    }

    fn prefix(&self) -> String {
        if self.nsp == "/" {
            String::new()
        } else {
            format!("{},", self.nsp)
        }
    }

    async fn send(&mut self, text: String) {
        self.ws.send(Ws::text(text)).await.expect("send");
    }

    /// The next text frame, answering pings; `None` once closed.
    async fn text(&mut self) -> Option<String> {
        loop {
            match self.frame().await? {
                Ws::Text(text) if text.as_str() == "2" => self.send("3".into()).await,
                Ws::Text(text) => return Some(text.as_str().to_owned()),
                _ => {}
            }
        }
    }

    async fn frame(&mut self) -> Option<Ws> {
        let next = tokio::time::timeout(PATIENCE, self.ws.next())
            .await
            .expect("a frame in time");
        match next {
            Some(Ok(Ws::Close(_))) | None | Some(Err(_)) => None,
            Some(Ok(frame)) => Some(frame),
        }
    }

    /// The next packet of this client's namespace.
    pub async fn next(&mut self) -> Got {
        loop {
            let Some(text) = self.text().await else {
                return Got::Closed;
            };
            if let Some(got) = self.parse(&text).await {
                return got;
            }
        }
    }

    async fn parse(&mut self, text: &str) -> Option<Got> {
        let packet = text.strip_prefix('4')?;
        let (kind, mut rest) = packet.split_at(1);
        let mut attachments = 0;
        if kind == "5" {
            let dash = rest.find('-')?;
            attachments = rest[..dash].parse().ok()?;
            rest = &rest[dash + 1..];
        }
        let nsp = if rest.starts_with('/') {
            let comma = rest.find(',').unwrap_or(rest.len());
            let nsp = &rest[..comma];
            rest = rest.get(comma + 1..).unwrap_or("");
            nsp
        } else {
            "/"
        };
        if nsp != self.nsp {
            return None;
        }
        if kind == "1" {
            return Some(Got::Disconnect);
        }
        if kind != "2" && kind != "5" {
            return None;
        }
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let ack = rest[..digits].parse().ok();
        let Ok(Value::Array(mut data)) = serde_json::from_str(&rest[digits..]) else {
            panic!("bad event packet {text}");
        };
        let name = data.remove(0).as_str().unwrap_or_default().to_owned();
        let mut binary = Vec::new();
        for _ in 0..attachments {
            match self.frame().await {
                Some(Ws::Binary(bytes)) => binary.push(bytes.to_vec()),
                other => panic!("attachment expected, got {other:?}"),
            }
        }
        Some(Got::Event {
            name,
            args: data,
            binary,
            ack,
        })
    }

    /// The next event, which must be named `name`.
    pub async fn expect(&mut self, name: &str) -> Got {
        let got = self.next().await;
        assert_eq!(got.name(), name, "{} got {got:?}", self.sid);
        got
    }

    /// Every event until (and without) the one named `end`.
    pub async fn until(&mut self, end: &str) -> Vec<Got> {
        let mut seen = Vec::new();
        loop {
            let got = self.next().await;
            if got.name() == end {
                return seen;
            }
            assert!(!matches!(got, Got::Closed), "closed before {end}: {seen:?}");
            seen.push(got);
        }
    }

    /// Emits `name` with JSON arguments (and an ack id).
    pub async fn emit(&mut self, name: &str, args: &[Value], ack: Option<u64>) {
        let mut data = vec![Value::from(name)];
        data.extend_from_slice(args);
        let id = ack.map(|a| a.to_string()).unwrap_or_default();
        let text = format!("42{}{id}{}", self.prefix(), Value::Array(data));
        self.send(text).await;
    }

    /// Answers acknowledgement `id`.
    pub async fn ack(&mut self, id: u64, args: &[Value]) {
        let text = format!("43{}{id}{}", self.prefix(), Value::Array(args.to_vec()));
        self.send(text).await;
    }
}

/// A socket.io 0.6 client on the websocket transport.
pub struct LegacyClient {
    ws: Stream,
    pub id: String,
    pending: VecDeque<String>,
}

/// `~m~len~m~data`, len in UTF-16 units.
fn frame(data: &str) -> String {
    format!("~m~{}~m~{}", data.encode_utf16().count(), data)
}

fn unframe(mut payload: &str) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(rest) = payload.strip_prefix("~m~") {
        let Some(end) = rest.find("~m~") else { break };
        let Ok(len) = rest[..end].parse::<usize>() else {
            break;
        };
        let data = &rest[end + 3..];
        let units: Vec<u16> = data.encode_utf16().take(len).collect();
        let text = String::from_utf16(&units).expect("whole characters");
        payload = &data[text.len()..];
        out.push(text);
    }
    out
}

impl LegacyClient {
    pub async fn connect(addr: SocketAddr) -> LegacyClient {
        let url = format!("ws://{addr}/socket.io/websocket");
        let (ws, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect in time")
            .expect("websocket handshake");
        let mut client = LegacyClient {
            ws,
            id: String::new(),
            pending: VecDeque::new(),
        };
        client.id = client.recv().await.expect("session id");
        client
    }

    /// The next message, answering heartbeats.
    pub async fn recv(&mut self) -> Option<String> {
        loop {
            if let Some(data) = self.pending.pop_front() {
                if data.starts_with("~h~") {
                    self.ws.send(Ws::text(frame(&data))).await.ok()?;
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
