//! xhr-polling: sessions, long polls, batching, expiry.

use serde_json::json;

use crate::client::{self, xhr_form};
use crate::common::frame;
use crate::{Harness, patient, short_expiry, short_polls};

#[tokio::test]
async fn the_first_get_opens_a_session_whose_id_comes_first() {
    let mut h = Harness::start(patient()).await;
    let opening = client::get("/socket.io/xhr-polling//1700000000000")
        .send(h.addr())
        .await;
    assert_eq!(opening.status, 200);
    assert_eq!(
        opening.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    // User text inside: no browser may sniff it into HTML.
    assert_eq!(opening.header("x-content-type-options"), Some("nosniff"));
    let messages = opening.messages();
    let id = &messages[0];
    assert!(id.len() >= 22 && id.chars().all(|c| c.is_ascii_alphanumeric()));
    // What on_open sent follows the id in the same answer.
    assert_eq!(messages[1..], ["Welcome"]);
    h.opened(id).await;
    assert!(h.sockets.get(id).is_some());
}

#[tokio::test]
async fn a_post_delivers_its_messages_and_the_echoes_come_in_the_next_get() {
    let mut h = Harness::start(patient()).await;
    let id = h.open_xhr().await;
    let payload = frame("hello") + &frame("~j~{\"a\":1}") + &frame("é😀 x");
    let posted = client::post(
        format!("/socket.io/xhr-polling/{id}/send"),
        xhr_form(&payload),
    )
    .send(h.addr())
    .await;
    assert_eq!(posted.status, 200);
    assert_eq!(posted.text(), "ok");
    h.received(&id, "hello").await;
    match h.event().await {
        crate::common::Event::Message { message, .. } => {
            assert_eq!(message.as_json(), Some(&json!({"a": 1})));
        }
        other => panic!("expected the JSON message, got {other:?}"),
    }
    h.received(&id, "é😀 x").await;
    let answer = client::get(format!("/socket.io/xhr-polling/{id}/1700000000001"))
        .send(h.addr())
        .await;
    assert_eq!(answer.messages(), ["hello", "~j~{\"a\":1}", "é😀 x"]);
}

#[tokio::test]
async fn everything_queued_goes_out_in_order_in_one_get() {
    let mut h = Harness::start(patient()).await;
    let id = h.open_xhr().await;
    let socket = h.sockets.get(&id).expect("a live session");
    socket.send("one").unwrap();
    socket.send(json!({"two": 2})).unwrap();
    socket.send(vec!["three", "four"]).unwrap();
    let answer = client::get(format!("/socket.io/xhr-polling/{id}/1"))
        .send(h.addr())
        .await;
    assert_eq!(
        answer.messages(),
        ["one", "~j~{\"two\":2}", "three", "four"]
    );
}

#[tokio::test]
async fn a_waiting_get_is_woken_and_a_concurrent_one_is_refused_empty_handed() {
    let mut h = Harness::start(patient()).await;
    let id = h.open_xhr().await;
    let addr = h.addr();
    let (refused, waiting) = h.two_polls(&format!("/socket.io/xhr-polling/{id}/2")).await;
    assert!(
        (400..500).contains(&refused.status),
        "status {}",
        refused.status
    );
    assert!(!refused.text().contains("~m~"));
    let posted = client::post(
        format!("/socket.io/xhr-polling/{id}/send"),
        xhr_form(&frame("wake up")),
    )
    .send(addr)
    .await;
    assert_eq!(posted.status, 200);
    let woken = waiting.await.unwrap();
    assert_eq!(woken.messages(), ["wake up"]);
    h.received(&id, "wake up").await;
}

#[tokio::test]
async fn a_get_with_nothing_to_say_is_answered_empty_after_the_polling_timeout() {
    let mut h = Harness::start(short_polls()).await;
    let id = h.open_xhr().await;
    let answer = client::get(format!("/socket.io/xhr-polling/{id}/3"))
        .send(h.addr())
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text(), "");
    // The session is still there.
    h.sockets.get(&id).unwrap().send("still here").unwrap();
    let answer = client::get(format!("/socket.io/xhr-polling/{id}/4"))
        .send(h.addr())
        .await;
    assert_eq!(answer.messages(), ["still here"]);
    h.quiet();
}

#[tokio::test]
async fn a_session_without_gets_expires_and_on_close_runs_once() {
    let mut h = Harness::start(short_expiry()).await;
    let id = h.open_xhr().await;
    h.closed(&id).await;
    assert!(h.sockets.get(&id).is_none());
    let late = client::get(format!("/socket.io/xhr-polling/{id}/5"))
        .send(h.addr())
        .await;
    assert!((400..500).contains(&late.status), "status {}", late.status);
    let late = client::post(
        format!("/socket.io/xhr-polling/{id}/send"),
        xhr_form(&frame("anyone?")),
    )
    .send(h.addr())
    .await;
    assert!((400..500).contains(&late.status), "status {}", late.status);
    let Harness {
        server,
        sockets,
        mut events,
    } = h;
    server.shutdown().await;
    // The last handle on the router goes; its event channel then closes.
    drop(sockets);
    // on_close ran once: shutting the server down did not call it again.
    if let Some(event) = events.recv().await {
        panic!("unexpected event {event:?}");
    }
}

#[tokio::test]
async fn a_session_does_not_expire_while_a_get_waits() {
    let settings = short_expiry()
        .xhr_polling_timeout(std::time::Duration::from_millis(1500))
        .session_expiry(std::time::Duration::from_millis(500));
    let mut h = Harness::start(settings).await;
    let id = h.open_xhr().await;
    // This GET waits three times the expiry.
    let answer = client::get(format!("/socket.io/xhr-polling/{id}/6"))
        .send(h.addr())
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text(), "");
    // The session lived through it: it still takes a message and echoes it.
    assert!(h.sockets.get(&id).is_some(), "the session expired");
    let posted = client::post(
        format!("/socket.io/xhr-polling/{id}/send"),
        xhr_form(&frame("still here")),
    )
    .send(h.addr())
    .await;
    assert_eq!(posted.status, 200);
    let echo = client::get(format!("/socket.io/xhr-polling/{id}/7"))
        .send(h.addr())
        .await;
    assert_eq!(echo.messages(), ["still here"]);
    assert!(matches!(
        h.event().await,
        crate::common::Event::Message { .. }
    ));
    h.quiet();
}

#[tokio::test]
async fn unknown_and_closed_sessions_are_refused() {
    let mut h = Harness::start(patient()).await;
    for path in [
        "/socket.io/xhr-polling/nosuchsession/1",
        "/socket.io/jsonp-polling/nosuchsession/1/0",
    ] {
        let answer = client::get(path).send(h.addr()).await;
        assert!(
            (400..500).contains(&answer.status),
            "{path}: {}",
            answer.status
        );
    }
    for path in [
        "/socket.io/xhr-polling/nosuchsession/send",
        "/socket.io/jsonp-polling/nosuchsession/1/0",
        "/socket.io/htmlfile/nosuchsession/send",
        "/socket.io/xhr-multipart/nosuchsession/send",
    ] {
        let answer = client::post(path, xhr_form(&frame("x")))
            .send(h.addr())
            .await;
        assert!(
            (400..500).contains(&answer.status),
            "{path}: {}",
            answer.status
        );
    }
    // A live session is not reachable through another transport's URLs.
    let id = h.open_xhr().await;
    let answer = client::get(format!("/socket.io/jsonp-polling/{id}/1/0"))
        .send(h.addr())
        .await;
    assert!((400..500).contains(&answer.status));
    // Closed by the application: refused from then on.
    let posted = client::post(
        format!("/socket.io/xhr-polling/{id}/send"),
        xhr_form(&frame("close-me")),
    )
    .send(h.addr())
    .await;
    assert_eq!(posted.status, 200);
    h.received(&id, "close-me").await;
    h.closed(&id).await;
    let answer = client::get(format!("/socket.io/xhr-polling/{id}/7"))
        .send(h.addr())
        .await;
    assert!((400..500).contains(&answer.status));
}

#[tokio::test]
async fn a_get_whose_client_vanished_mid_wait_loses_nothing() {
    let mut h = Harness::start(patient()).await;
    let id = h.open_xhr().await;
    let addr = h.addr();
    let path = format!("/socket.io/xhr-polling/{id}/8");
    // Two polls at once: the refused one answers, so the other one is
    // known to be waiting inside the server.
    let mut first = client::get(path.clone()).start(addr).await;
    let mut second = client::get(path).start(addr).await;
    let waiting = tokio::select! {
        head = first.head() => { assert_eq!(head.status, 409); second }
        head = second.head() => { assert_eq!(head.status, 409); first }
    };
    // The waiting client goes away without reading anything.
    drop(waiting);
    let posted = client::post(
        format!("/socket.io/xhr-polling/{id}/send"),
        xhr_form(&frame("not lost")),
    )
    .send(addr)
    .await;
    assert_eq!(posted.status, 200);
    h.received(&id, "not lost").await;
    h.sockets.get(&id).unwrap().send("nor this").unwrap();
    let answer = client::get(format!("/socket.io/xhr-polling/{id}/9"))
        .send(addr)
        .await;
    assert_eq!(answer.messages(), ["not lost", "nor this"]);
    h.quiet();
}

#[tokio::test]
async fn a_waiting_get_is_answered_when_the_application_closes_the_session() {
    let mut h = Harness::start(patient()).await;
    let id = h.open_xhr().await;
    let addr = h.addr();
    let (refused, waiting) = h
        .two_polls(&format!("/socket.io/xhr-polling/{id}/10"))
        .await;
    assert_eq!(refused.status, 409);
    let socket = h.sockets.get(&id).unwrap();
    socket.send("goodbye").unwrap();
    socket.close();
    let answer = waiting.await.unwrap();
    assert_eq!(answer.messages(), ["goodbye"]);
    h.closed(&id).await;
    let answer = client::get(format!("/socket.io/xhr-polling/{id}/11"))
        .send(addr)
        .await;
    assert!((400..500).contains(&answer.status));
}

#[tokio::test]
async fn a_connection_refused_by_the_application_gets_403_and_no_session() {
    let (events, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let router = tornadio::Router::new(move || crate::common::Recorder {
        events: events.clone(),
        refuse: true,
    });
    let sockets = router.sockets();
    let server = crate::common::serve(axum::Router::new().merge(router)).await;
    for path in [
        "/socket.io/xhr-polling//1",
        "/socket.io/jsonp-polling//1/0",
        "/socket.io/htmlfile//1",
        "/socket.io/xhr-multipart/",
    ] {
        let answer = client::get(path).send(server.addr).await;
        assert_eq!(answer.status, 403, "{path}");
        assert!(!answer.text().contains("~m~"));
    }
    assert!(sockets.is_empty());
    assert!(seen.try_recv().is_err());
}

#[tokio::test]
async fn disabled_transports_and_sessions_over_the_limit_are_refused() {
    use tornadio::Transport;
    let mut h = Harness::start(
        patient()
            .enabled_protocols(vec![Transport::WebSocket, Transport::XhrPolling])
            .max_sessions(Some(1)),
    )
    .await;
    for path in [
        "/socket.io/jsonp-polling//1/0",
        "/socket.io/htmlfile//1",
        "/socket.io/xhr-multipart/",
    ] {
        let answer = client::get(path).send(h.addr()).await;
        assert_eq!(answer.status, 403, "{path}");
    }
    let id = h.open_xhr().await;
    let answer = client::get("/socket.io/xhr-polling//2")
        .send(h.addr())
        .await;
    assert_eq!(answer.status, 503);
    assert!(!answer.text().contains("~m~"));
    h.sockets.get(&id).unwrap().close();
    h.closed(&id).await;
    h.open_xhr().await;
}
