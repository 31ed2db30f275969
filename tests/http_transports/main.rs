//! The four HTTP transports (xhr-polling, jsonp-polling, htmlfile,
//! xhr-multipart) over real sockets, spoken the way the 0.6 client does.

#[path = "../common/mod.rs"]
mod common;

#[allow(dead_code)]
mod client;
mod cors;
mod jsonp;
mod limits;
mod polling;
mod streaming;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;
use tornadio::{Settings, Sockets};

use common::{Event, TestServer, next_event, recorder_router, serve};

/// Settings for tests that never wait on a clock: a GET left waiting is
/// always woken by a message well before its polling timeout.
pub fn patient() -> Settings {
    Settings::default().xhr_polling_timeout(Duration::from_secs(8))
}

/// A short polling timeout; nothing else short, so that a loaded machine
/// cannot expire a session between two requests of a test.
pub fn short_polls() -> Settings {
    Settings::default().xhr_polling_timeout(Duration::from_millis(200))
}

/// Polling sessions expire quickly.
pub fn short_expiry() -> Settings {
    patient()
        .session_expiry(Duration::from_millis(300))
        .session_check_interval(Duration::from_millis(100))
}

/// Persistent transports beat often; a beat must be echoed within a second.
pub fn short_heartbeats() -> Settings {
    patient()
        .heartbeat_interval(Duration::from_millis(100))
        .heartbeat_timeout(Duration::from_secs(1))
}

/// A server of recording echo connections.
pub struct Harness {
    pub server: TestServer,
    pub sockets: Sockets,
    pub events: UnboundedReceiver<Event>,
}

impl Harness {
    pub async fn start(settings: Settings) -> Harness {
        let (router, events) = recorder_router();
        let router = router.settings(settings);
        let sockets = router.sockets();
        let server = serve(axum::Router::new().merge(router)).await;
        Harness {
            server,
            sockets,
            events,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    pub async fn event(&mut self) -> Event {
        next_event(&mut self.events).await
    }

    /// Waits for the `Open` event of session `id`.
    pub async fn opened(&mut self, id: &str) {
        match self.event().await {
            Event::Open { id: opened, .. } => assert_eq!(opened, id),
            other => panic!("expected the session to open, got {other:?}"),
        }
    }

    /// Waits for the message `text` from session `id`.
    pub async fn received(&mut self, id: &str, text: &str) {
        match self.event().await {
            Event::Message { id: from, message } => {
                assert_eq!(from, id);
                assert_eq!(message.as_text(), Some(text));
            }
            other => panic!("expected message {text:?}, got {other:?}"),
        }
    }

    /// Waits for the `Close` event of session `id`.
    pub async fn closed(&mut self, id: &str) {
        match self.event().await {
            Event::Close { id: closed } => assert_eq!(closed, id),
            other => panic!("expected the session to close, got {other:?}"),
        }
    }

    /// No callback ran that the test has not read.
    pub fn quiet(&mut self) {
        if let Ok(event) = self.events.try_recv() {
            panic!("unexpected event {event:?}");
        }
    }

    /// Sends two GETs for `path` at once. The one the server saw second is
    /// refused at once; the other is then known to be waiting, and is
    /// returned still running.
    pub async fn two_polls(&self, path: &str) -> (client::Response, JoinHandle<client::Response>) {
        let mut first = tokio::spawn(client::get(path).send(self.addr()));
        let mut second = tokio::spawn(client::get(path).send(self.addr()));
        tokio::select! {
            done = &mut first => (done.expect("no panic"), second),
            done = &mut second => (done.expect("no panic"), first),
        }
    }

    /// Opens an xhr-polling session; returns its id.
    pub async fn open_xhr(&mut self) -> String {
        let opening = client::get("/socket.io/xhr-polling//1700000000000")
            .send(self.addr())
            .await;
        let messages = opening.messages();
        assert_eq!(messages[1..], ["Welcome"]);
        self.opened(&messages[0]).await;
        messages[0].clone()
    }
}
