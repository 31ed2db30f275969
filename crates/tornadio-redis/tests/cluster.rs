//! Two tornadio servers on one real Redis: broadcasts and cluster-wide
//! operations reach the clients of both, each exactly once.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Got, LegacyClient, Node, PATIENCE, Redis, SioClient, init_logging};
use serde_json::{Value, json};

fn event(name: &str, args: Vec<Value>) -> Got {
    Got::Event {
        name: name.into(),
        args,
        binary: Vec::new(),
        ack: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_reach_every_process_once() {
    init_logging();
    let redis = Redis::start().await;
    let a = Node::start(&redis).await;
    let b = Node::start(&redis).await;
    assert_eq!(redis.numsub("socket.io-request#/#").await, 2);

    let mut a1 = SioClient::connect(a.addr, "/", json!({"rooms": ["r1"]})).await;
    let mut b1 = SioClient::connect(b.addr, "/", json!({"rooms": ["r1"]})).await;
    let mut b2 = SioClient::connect(b.addr, "/", json!({})).await;
    let mut legacy = LegacyClient::connect(b.addr).await;

    let all = a.io.of("/");
    all.emit("all", &1).unwrap();
    all.clone().to("r1").emit("room", &2).unwrap();
    all.clone().except("r1").emit("except", &3).unwrap();
    all.clone()
        .to("r1")
        .emit("bin", &("x", Bytes::from_static(&[9, 8])))
        .unwrap();
    all.send("to-everyone");
    // What a socket broadcasts skips that socket, wherever the others are.
    a.socket(&a1.sid).broadcast().emit("from-a1", &4).unwrap();
    // A 0.6 client takes `message` events of one argument, as messages.
    all.emit("message", &"as-a-message").unwrap();
    all.emit("end", &()).unwrap();

    let binary = Got::Event {
        name: "bin".into(),
        args: vec![json!("x"), json!({"_placeholder": true, "num": 0})],
        binary: vec![vec![9, 8]],
        ack: None,
    };
    let message = |text: &str| event("message", vec![json!(text)]);
    assert_eq!(
        a1.until("end").await,
        [
            event("all", vec![json!(1)]),
            event("room", vec![json!(2)]),
            binary.clone(),
            message("to-everyone"),
            message("as-a-message"),
        ]
    );
    assert_eq!(
        b1.until("end").await,
        [
            event("all", vec![json!(1)]),
            event("room", vec![json!(2)]),
            binary,
            message("to-everyone"),
            event("from-a1", vec![json!(4)]),
            message("as-a-message"),
        ]
    );
    assert_eq!(
        b2.until("end").await,
        [
            event("all", vec![json!(1)]),
            event("except", vec![json!(3)]),
            message("to-everyone"),
            event("from-a1", vec![json!(4)]),
            message("as-a-message"),
        ]
    );
    assert_eq!(legacy.recv().await.as_deref(), Some("to-everyone"));
    assert_eq!(legacy.recv().await.as_deref(), Some("as-a-message"));

    // From the other side, to a room; then an end mark from each server:
    // the second mark closes each list, so nothing came twice.
    b.io.of("/").to("r1").emit("back", &5).unwrap();
    b.io.of("/").send("from-b");
    b.io.of("/").emit("end", &()).unwrap();
    a.io.of("/").emit("end", &()).unwrap();
    let back = event("back", vec![json!(5)]);
    for client in [&mut a1, &mut b1] {
        let mut seen = client.until("end").await;
        seen.extend(client.until("end").await);
        assert_eq!(seen, [back.clone(), message("from-b")], "{}", client.sid);
    }
    let mut seen = b2.until("end").await;
    seen.extend(b2.until("end").await);
    assert_eq!(seen, [message("from-b")]);
    assert_eq!(legacy.recv().await.as_deref(), Some("from-b"));

    // What node's adapter publishes (io.to("r1").emit("news", "x",
    // Buffer[9, 8])), byte for byte, from another program.
    let node_bytes: Vec<u8> = [
        &[0x93, 0xa6][..],
        b"zMjJfh",
        &[0x83, 0xa4],
        b"type",
        &[0x02, 0xa4],
        b"data",
        &[0x93, 0xa4],
        b"news",
        &[0xa1],
        b"x",
        &[0xc4, 0x02, 0x09, 0x08, 0xa3],
        b"nsp",
        &[0xa1],
        b"/",
        &[0x83, 0xa5],
        b"rooms",
        &[0x91, 0xa2],
        b"r1",
        &[0xa6],
        b"except",
        &[0x90, 0xa5],
        b"flags",
        &[0x80],
    ]
    .concat();
    let mut conn = redis.connection().await;
    redis::cmd("PUBLISH")
        .arg("socket.io#/#r1#")
        .arg(node_bytes)
        .query_async::<i64>(&mut conn)
        .await
        .unwrap();
    for client in [&mut a1, &mut b1] {
        let Got::Event { args, binary, .. } = client.expect("news").await else {
            unreachable!()
        };
        assert_eq!(args[0], json!("x"));
        assert_eq!(binary, [vec![9, 8]]);
    }
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_operations_span_processes() {
    init_logging();
    let redis = Redis::start().await;
    let a = Node::start(&redis).await;
    let mut b = Node::start(&redis).await;
    let mut a1 = SioClient::connect(a.addr, "/", json!({"rooms": ["r1"]})).await;
    let mut b1 = SioClient::connect(b.addr, "/", json!({"rooms": ["r1"], "name": "b1"})).await;
    let mut b2 = SioClient::connect(b.addr, "/", json!({})).await;
    let io = a.io.of("/");
    assert_eq!(io.server_count().await.unwrap(), 2);

    // fetch_sockets: the remote socket with its rooms and handshake.
    let started = Instant::now();
    let found = io.clone().to("r1").fetch_sockets().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    let mut ids: Vec<&str> = found.iter().map(|s| s.id()).collect();
    ids.sort();
    let mut expected = vec![a1.sid.as_str(), b1.sid.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    let remote = found.iter().find(|s| s.id() == b1.sid).unwrap();
    assert!(remote.local().is_none());
    assert!(remote.rooms().contains(&"r1".to_owned()));
    assert!(remote.rooms().contains(&b1.sid));
    assert_eq!(
        remote.handshake()["auth"],
        json!({"rooms": ["r1"], "name": "b1"})
    );
    assert_eq!(remote.handshake()["address"], json!("127.0.0.1"));
    assert!(remote.handshake()["headers"]["host"].is_string());
    assert!(remote.handshake()["query"]["EIO"] == json!("4"));
    assert!(
        found
            .iter()
            .any(|s| s.id() == a1.sid && s.local().is_some())
    );

    let rooms = io.all_rooms().await.unwrap();
    for room in ["r1", a1.sid.as_str(), b1.sid.as_str(), b2.sid.as_str()] {
        assert!(rooms.contains(&room.to_owned()), "{room} in {rooms:?}");
    }

    // Join and leave on the other server, then a broadcast to the room:
    // both travel in publish order.
    io.clone().to(b2.sid.clone()).sockets_join("r9");
    io.clone().to("r9").emit("r9", &1).unwrap();
    assert_eq!(b2.expect("r9").await, event("r9", vec![json!(1)]));
    remote.join("r8");
    io.clone().to("r8").emit("r8", &()).unwrap();
    b1.expect("r8").await;
    io.clone().to("r9").sockets_leave("r9");
    io.clone().to("r9").emit("r9", &2).unwrap();
    io.emit("mark", &()).unwrap();
    assert_eq!(b2.until("mark").await, []);
    assert_eq!(a1.until("mark").await, []);
    assert_eq!(b1.until("mark").await, []);

    // Acknowledged broadcast: every client of both servers answers.
    let asking = tokio::spawn({
        let io = io.clone();
        async move {
            io.timeout(Duration::from_secs(5))
                .emit_with_ack("question", &"6x7?")
                .await
        }
    });
    for client in [&mut a1, &mut b1, &mut b2] {
        let Got::Event { ack: Some(id), .. } = client.expect("question").await else {
            panic!("an ack id");
        };
        client
            .ack(id, &[json!(42), json!("dropped remotely")])
            .await;
    }
    let answers = tokio::time::timeout(PATIENCE, asking)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(answers.len(), 3);
    assert!(answers.iter().all(|a| a.values()[0] == json!(42)));

    // Server-side events, with and without answers.
    let started = Instant::now();
    let answers = io
        .server_side_emit_with_ack("hello", &("x", 1))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(
        answers,
        [json!({"from": b.adapter.uid(), "args": ["x", 1]})]
    );
    assert_eq!(
        b.server_events.recv().await.unwrap(),
        ("hello".into(), json!(["x", 1]))
    );
    io.server_side_emit("quiet", &()).unwrap();
    assert_eq!(
        b.server_events.recv().await.unwrap(),
        ("quiet".into(), json!([]))
    );

    // Disconnect and close sockets of the other server.
    io.clone().to(b2.sid.clone()).disconnect_sockets();
    assert_eq!(b2.next().await, Got::Disconnect);
    remote.close();
    assert_eq!(b1.next().await, Got::Disconnect);
    assert_eq!(b1.next().await, Got::Closed);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_departed_servers_cost_at_most_the_timeout() {
    init_logging();
    let redis = Redis::start().await;
    let a = Node::start_with(&redis, Duration::from_millis(800)).await;
    let b = Node::start(&redis).await;
    let io = a.io.of("/");
    assert_eq!(io.server_count().await.unwrap(), 2);
    b.shutdown().await;
    // The departed server's subscriber connection closes with it.
    let deadline = Instant::now() + PATIENCE;
    while io.server_count().await.unwrap() != 1 {
        assert!(Instant::now() < deadline, "b still counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    assert!(io.fetch_sockets().await.unwrap().is_empty());
    assert!(started.elapsed() < Duration::from_millis(200));

    // A subscriber that never answers: the request fails at its timeout.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut silent = client.get_async_pubsub().await.unwrap();
    silent.subscribe("socket.io-request#/#").await.unwrap();
    let started = Instant::now();
    let error = io.fetch_sockets().await.unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_millis(1500),
        "{waited:?}"
    );
    assert!(matches!(
        error,
        tornadio::adapter::AdapterError::Timeout {
            answered: 0,
            expected: 1,
            ..
        }
    ));
    let error = io
        .server_side_emit_with_ack("anyone", &())
        .await
        .unwrap_err();
    assert!(error.responses.is_empty());
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_under_traffic_is_survived() {
    init_logging();
    let mut redis = Redis::start().await;
    let a = Node::start_with(&redis, Duration::from_millis(500)).await;
    let b = Node::start(&redis).await;
    let mut a1 = SioClient::connect(a.addr, "/", json!({})).await;
    let mut b1 = SioClient::connect(b.addr, "/", json!({})).await;
    let io = a.io.of("/");
    io.emit("tick", &0).unwrap();
    a1.expect("tick").await;
    b1.expect("tick").await;

    redis.stop().await;
    // Local delivery goes on while Redis is away; requests fail, fast.
    for n in 1..=20 {
        io.emit("tick", &n).unwrap();
        assert_eq!(a1.expect("tick").await, event("tick", vec![json!(n)]));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    assert!(io.fetch_sockets().await.is_err());
    assert!(started.elapsed() < Duration::from_secs(3));

    let port = redis.port;
    let redis = Redis::start_on(port).await;
    for node in [&a, &b] {
        tokio::time::timeout(PATIENCE, node.adapter.ready())
            .await
            .expect("resubscribed");
    }
    // Both publishers are back once a round trip gets through each way.
    let deadline = Instant::now() + PATIENCE;
    let (mut a_heard_b, mut b_heard_a) = (false, false);
    while !(a_heard_b && b_heard_a) {
        assert!(Instant::now() < deadline, "the cluster did not recover");
        io.emit("probe", &()).unwrap();
        b.io.of("/").emit("probe-b", &()).unwrap();
        let _ = tokio::time::timeout(Duration::from_millis(300), async {
            while !b_heard_a {
                b_heard_a = b1.next().await.name() == "probe";
            }
        })
        .await;
        let _ = tokio::time::timeout(Duration::from_millis(300), async {
            while !a_heard_b {
                a_heard_b = a1.next().await.name() == "probe-b";
            }
        })
        .await;
    }
    // Later broadcasts arrive, each way.
    io.emit("after", &1).unwrap();
    b.io.of("/").emit("after-b", &2).unwrap();
    let expected = |g: &Got| ["probe", "probe-b", "after", "after-b"].contains(&g.name());
    let rest = b1.until("after").await;
    assert!(rest.iter().all(expected), "{rest:?}");
    let rest = a1.until("after-b").await;
    assert!(rest.iter().all(expected), "{rest:?}");
    assert_eq!(io.server_count().await.unwrap(), 2);
    assert_eq!(redis.numsub("socket.io-request#/#").await, 2);
    a.shutdown().await;
    b.shutdown().await;
}
