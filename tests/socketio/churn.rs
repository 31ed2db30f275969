//! Churn: sessions of every generation and transport open and vanish
//! without a goodbye, round after round; the count returns to zero and
//! every `on_close` runs exactly once.

use std::collections::HashMap;
use std::time::Duration;

use crate::common::WsClient;
use crate::{Harness, Seen, SioClient, client, patient};

const ROUNDS: usize = 4;
const PER_KIND: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_of_every_kind_dropped_abruptly_each_close_once() {
    // Short enough that a client which vanished before its poll was taken
    // (no poll to abort) is reaped by its ping timeout within the round.
    let settings = patient()
        .ping_interval(Duration::from_secs(4))
        .ping_timeout(Duration::from_secs(4));
    let mut h = Harness::start(settings).await;
    let addr = h.addr();
    let mut opened: HashMap<String, usize> = HashMap::new();
    let mut closed: HashMap<String, usize> = HashMap::new();
    for _round in 0..ROUNDS {
        let opening = (0..PER_KIND).map(|_| open_one_of_each(addr));
        let held: Vec<Held> = futures_util::future::join_all(opening)
            .await
            .into_iter()
            .flatten()
            .collect();
        let live = h.router.sockets().len();
        assert!(live >= PER_KIND * 4, "{live} sockets live");
        drop(held);
        // Everything held goes at once; the xhr sessions expire on their own
        // clock, so close them from the server side.
        h.router.sockets().close_all();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !h.router.sockets().is_empty() || h.router.connection_count() > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} sockets, {} connections still live",
                h.router.sockets().len(),
                h.router.connection_count()
            );
            drain(&mut h, &mut opened, &mut closed);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drain(&mut h, &mut opened, &mut closed);
    }
    // One more moment for late callbacks, then every count is exactly one.
    tokio::time::sleep(Duration::from_millis(200)).await;
    drain(&mut h, &mut opened, &mut closed);
    assert_eq!(opened.len(), ROUNDS * PER_KIND * 5, "sessions opened");
    assert!(opened.values().all(|&n| n == 1));
    assert_eq!(closed.len(), opened.len(), "every opened socket closed");
    let twice: Vec<_> = closed.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "closed more than once: {twice:?}");
}

type Held = Box<dyn std::any::Any + Send>;

/// One session of each kind, held open by what is returned.
async fn open_one_of_each(addr: std::net::SocketAddr) -> Vec<Held> {
    let mut held: Vec<Held> = Vec::new();
    // 0.6 websocket.
    let ws = WsClient::connect(&format!("ws://{addr}/socket.io/websocket")).await;
    held.push(Box::new(ws));
    // 0.6 xhr-polling: opened, never polled again.
    let opening = client::get("/socket.io/xhr-polling//1").send(addr).await;
    assert_eq!(opening.status, 200);
    // v5 over websocket, joined.
    let mut v5 = SioClient::connect(addr, 4).await;
    v5.join_namespace("/", None).await;
    held.push(Box::new(v5));
    // v4 over websocket (joined by the server).
    let v4 = SioClient::connect(addr, 3).await;
    held.push(Box::new(v4));
    // v5 over polling, joined, with a poll left waiting: dropping it is
    // what a vanished polling client looks like to the server.
    let open = client::get("/socket.io/?EIO=4&transport=polling")
        .send(addr)
        .await;
    let sid = open_sid(&open.text());
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    assert_eq!(
        client::post(path.clone(), "40").send(addr).await.status,
        200
    );
    let reply = client::get(path.clone()).send(addr).await;
    assert!(reply.text().starts_with("40{"), "{}", reply.text());
    held.push(Box::new(client::get(path).start(addr).await));
    // Let the poll be taken up before its client vanishes.
    tokio::time::sleep(Duration::from_millis(100)).await;
    held
}

fn drain(
    h: &mut Harness,
    opened: &mut HashMap<String, usize>,
    closed: &mut HashMap<String, usize>,
) {
    while let Ok(seen) = h.seen.try_recv() {
        match seen {
            Seen::Open(id) => *opened.entry(id).or_default() += 1,
            Seen::Close(id, _) => *closed.entry(id).or_default() += 1,
            _ => {}
        }
    }
}

fn open_sid(payload: &str) -> String {
    let open: serde_json::Value =
        serde_json::from_str(payload.strip_prefix('0').expect("open packet")).expect("JSON");
    open["sid"].as_str().expect("sid").to_owned()
}
