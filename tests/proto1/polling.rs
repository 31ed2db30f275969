//! xhr-polling and jsonp-polling: batches framed by UTF-16 lengths, noops,
//! POSTs in both envelopes, and what a poll of a gone session reads.

use std::time::Duration;

use tornadio::{DisconnectReason, Message, Transport};

use crate::p1::{self, Poller};
use crate::{Harness, Seen, http, patient};

#[tokio::test]
async fn the_first_poll_connects_and_later_ones_carry_everything_queued() {
    let mut h = Harness::start(patient()).await;
    let poller = Poller::handshake(h.addr(), "xhr-polling").await;
    let first = poller.get_raw().await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    // Two packets: framed.
    assert_eq!(
        first.text(),
        "\u{fffd}3\u{fffd}1::\u{fffd}11\u{fffd}3:::Welcome"
    );
    let Seen::Open { transport, .. } = h.opened("/").await else {
        unreachable!()
    };
    assert_eq!(transport, Transport::XhrPolling);

    // One packet: bare.
    poller.post("3:::one").await;
    h.message("/", "one").await;
    assert_eq!(poller.get_payload().await, "3:::one");

    // A batch in, a batch out, lengths in UTF-16 units, U+FFFD in text.
    let tricky = "3:::héllo 😀 \u{fffd}9\u{fffd} 𝄞";
    poller.post(&p1::batch(&["2::", tricky, "3:::two"])).await;
    h.message("/", "héllo 😀 \u{fffd}9\u{fffd} 𝄞").await;
    h.message("/", "two").await;
    let payload = poller.get_payload().await;
    let framed = format!(
        "\u{fffd}{}\u{fffd}{tricky}",
        crate::common::utf16_len(tricky)
    );
    assert!(payload.starts_with(&framed), "{payload:?}");
    assert_eq!(p1::unbatch(&payload), [tricky, "3:::two"]);
    h.quiet();
}

#[tokio::test]
async fn a_poll_with_nothing_to_carry_gets_a_noop() {
    let h = Harness::start(patient().proto1_polling_duration(Duration::from_millis(100))).await;
    let poller = Poller::open(h.addr(), "xhr-polling").await;
    assert_eq!(poller.get().await, ["8::"]);
    // Polling sessions get no heartbeats: the polls are the heartbeat.
    assert_eq!(poller.get().await, ["8::"]);
}

#[tokio::test]
async fn jsonp_polls_call_the_clients_callback_and_its_form_posts_are_read() {
    let mut h = Harness::start(patient()).await;
    let poller = Poller::handshake(h.addr(), "jsonp-polling").await;
    let first = http::get(format!("{}?t=1&i=7", poller.path()))
        .send(h.addr())
        .await;
    assert_eq!(
        first.header("content-type"),
        Some("text/javascript; charset=UTF-8")
    );
    let text = first.text();
    assert!(text.starts_with("io.j[7](\""), "{text}");
    assert!(text.ends_with("\");"), "{text}");
    h.opened("/").await;
    // `d` holds the payload as a JSON string; spaces come as `+`, line
    // breaks escaped by the stringify.
    let message = "a b\nc </script> 😀";
    poller.post(&format!("3:::{message}")).await;
    h.message("/", message).await;
    assert_eq!(poller.get().await, [format!("3:::{message}")]);
    // The script cannot end early.
    let raw = poller.get_request();
    poller.post("3:::</script>").await;
    let answer = raw.send(h.addr()).await.text();
    assert!(!answer.contains("</script>"), "{answer}");
    h.message("/", "</script>").await;
}

#[tokio::test]
async fn a_gone_session_reads_not_handshaken_and_its_posts_are_answered() {
    let h = Harness::start(patient()).await;
    for transport in ["xhr-polling", "jsonp-polling"] {
        let poller = Poller::new(h.addr(), "nosuchsession", transport);
        assert_eq!(poller.get().await, ["7:::1+0"]);
        poller.post("3:::lost").await;
    }
}

#[tokio::test]
async fn a_second_concurrent_poll_is_refused() {
    let h = Harness::start(patient()).await;
    let poller = Poller::open(h.addr(), "xhr-polling").await;
    let poll = || {
        let request = poller.get_request();
        let addr = h.addr();
        tokio::spawn(async move { request.send(addr).await })
    };
    let (mut a, mut b) = (poll(), poll());
    // Whichever the server saw second is refused at once; the other waits.
    let (refused, waiting) = tokio::select! {
        done = &mut a => (done.unwrap(), b),
        done = &mut b => (done.unwrap(), a),
    };
    assert_eq!(refused.status, 409);
    poller.post("3:::wake").await;
    let carried = waiting.await.unwrap();
    assert_eq!(p1::unbatch(&carried.text()), ["3:::wake"]);
}

#[tokio::test]
async fn a_session_that_stops_polling_ends_after_the_close_timeout() {
    let mut h = Harness::start(
        patient()
            .proto1_close_timeout(Duration::from_millis(400))
            .proto1_polling_duration(Duration::from_millis(100)),
    )
    .await;
    let poller = Poller::open(h.addr(), "xhr-polling").await;
    h.opened("/").await;
    // Polling on keeps it alive past the close timeout.
    for _ in 0..6 {
        assert_eq!(poller.get().await, ["8::"]);
    }
    h.quiet();
    h.closed("/", DisconnectReason::PingTimeout).await;
    h.no_sessions().await;
    assert_eq!(poller.get().await, ["7:::1+0"]);
}

#[tokio::test]
async fn a_poll_held_past_the_close_timeout_keeps_its_session() {
    let mut h = Harness::start(
        patient()
            .proto1_close_timeout(Duration::from_millis(200))
            .proto1_polling_duration(Duration::from_millis(700)),
    )
    .await;
    let poller = Poller::open(h.addr(), "xhr-polling").await;
    h.opened("/").await;
    // Carried for 700 ms, over three close timeouts: alive throughout.
    assert_eq!(poller.get().await, ["8::"]);
    poller.post("3:::still here").await;
    h.message("/", "still here").await;
    assert_eq!(h.router.connection_count(), 1);
}

#[tokio::test]
async fn a_server_disconnect_between_polls_reaches_the_next_poll() {
    let mut h = Harness::start(patient()).await;
    let poller = Poller::open(h.addr(), "xhr-polling").await;
    h.opened("/").await;
    poller.post("3:::disconnect-me").await;
    h.message("/", "disconnect-me").await;
    h.closed("/", DisconnectReason::ServerNamespaceDisconnect)
        .await;
    // 0.9.17 would lose it; here the session waits for this poll.
    assert_eq!(h.router.connection_count(), 1);
    assert_eq!(poller.get().await, ["0::"]);
    h.no_sessions().await;
    assert_eq!(poller.get().await, ["7:::1+0"]);
}

#[tokio::test]
async fn the_clients_disconnect_on_unload_ends_its_session() {
    let mut h = Harness::start(patient()).await;
    let poller = Poller::open(h.addr(), "xhr-polling").await;
    h.opened("/").await;
    // As 0.9.17 sends it: an empty transport segment, a trailing slash.
    let path = format!("/socket.io/1//{}/?disconnect=1", poller.sid);
    let response = http::get(path).send(h.addr()).await;
    assert_eq!(response.status, 200);
    h.closed("/", DisconnectReason::TransportClose).await;
    h.no_sessions().await;
    // Unknown sessions too, in the spec's form.
    let response = http::get("/socket.io/1/xhr-polling/nosuchsession?disconnect")
        .send(h.addr())
        .await;
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn json_messages_arrive_as_json() {
    let mut h = Harness::start(patient()).await;
    let poller = Poller::open(h.addr(), "jsonp-polling").await;
    h.opened("/").await;
    poller.post("4:::[1,{\"b\":null}]").await;
    assert_eq!(
        h.next().await,
        Seen::Message {
            nsp: "/".into(),
            message: Message::Json(serde_json::json!([1, {"b": null}])),
        }
    );
    assert_eq!(poller.get().await, ["4:::[1,{\"b\":null}]"]);
}
