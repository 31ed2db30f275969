//! Events and acks both ways: data acks (`+`) answered by the application,
//! protocol acks answered at once, `emit_with_ack` to a protocol-1 client.

use std::time::Duration;

use tornadio::{DisconnectReason, Message, SendError};

use crate::p1::{Poller, WsClient};
use crate::{Harness, Seen, j, patient};

#[tokio::test]
async fn events_with_data_acks_reach_on_event_and_are_answered() {
    let mut h = Harness::start(patient()).await;
    let (_, mut client) = WsClient::open(h.addr()).await;
    client.expect("3:::Welcome").await;
    h.opened("/").await;
    client
        .send(r#"5:1+::{"name":"echo","args":[1,"two",{"three":3}]}"#)
        .await;
    assert_eq!(
        h.next().await,
        Seen::Event {
            nsp: "/".into(),
            name: "echo".into(),
            args: vec![j("1"), j("\"two\""), j(r#"{"three":3}"#)],
            ack: true,
        }
    );
    client.expect(r#"6:::1+[1,"two",{"three":3}]"#).await;

    // In an endpoint, the ack names it; no args, no `args` key.
    client.send("1::/custom").await;
    client.expect("1::/custom").await;
    client.expect("3::/custom:Welcome").await;
    h.opened("/custom").await;
    client.send(r#"5:2+:/custom:{"name":"empty"}"#).await;
    assert_eq!(
        h.next().await,
        Seen::Event {
            nsp: "/custom".into(),
            name: "empty".into(),
            args: vec![],
            ack: true,
        }
    );
    client.expect("6::/custom:2+[]").await;

    // Without an id: no ack.
    client.send(r#"5:::{"name":"plain","args":[null]}"#).await;
    assert_eq!(
        h.next().await,
        Seen::Event {
            nsp: "/".into(),
            name: "plain".into(),
            args: vec![j("null")],
            ack: false,
        }
    );
    h.quiet();
}

#[tokio::test]
async fn protocol_acks_are_answered_before_the_application_sees_the_packet() {
    let mut h = Harness::start(patient()).await;
    let poller = Poller::open(h.addr(), "xhr-polling").await;
    h.opened("/").await;
    // `send(x, fn)` in 0.9.17: an id without `+`.
    poller
        .post(&crate::p1::batch(&["3:7::hi", r#"5:8::{"name":"ev"}"#]))
        .await;
    h.message("/", "hi").await;
    assert_eq!(
        h.next().await,
        Seen::Event {
            nsp: "/".into(),
            name: "ev".into(),
            args: vec![],
            ack: false,
        }
    );
    assert_eq!(poller.get_n(3).await, ["6:::7", "3:::hi", "6:::8"]);
}

#[tokio::test]
async fn message_events_are_messages_and_disconnect_events_are_reserved() {
    let mut h = Harness::start(patient()).await;
    let (_, mut client) = WsClient::open(h.addr()).await;
    client.expect("3:::Welcome").await;
    h.opened("/").await;
    client.send(r#"5:::{"name":"disconnect"}"#).await;
    client
        .send(r#"5:::{"name":"message","args":["as a message"]}"#)
        .await;
    h.message("/", "as a message").await;
    client.expect("3:::as a message").await;
    // With a data ack it is an event, as a current client's send(x, fn).
    client.send("3:4+::with ack").await;
    assert_eq!(
        h.next().await,
        Seen::Event {
            nsp: "/".into(),
            name: "message".into(),
            args: vec![j("\"with ack\"")],
            ack: true,
        }
    );
    client.expect(r#"6:::4+["with ack"]"#).await;
    h.quiet();
}

#[tokio::test]
async fn the_server_asks_with_a_data_ack_and_the_clients_answer_resolves_it() {
    let mut h = Harness::start(patient()).await;
    let (_, mut client) = WsClient::open(h.addr()).await;
    client.expect("3:::Welcome").await;
    h.opened("/").await;
    client.send(r#"5:::{"name":"ask","args":["6x7?"]}"#).await;
    h.next().await;
    // The 0.9 client gives an ack function only for `+` ids.
    let question = client.recv().await.unwrap();
    let (id, rest) = question
        .strip_prefix("5:")
        .and_then(|q| q.split_once("+::"))
        .unwrap_or_else(|| panic!("{question}"));
    assert_eq!(rest, r#"{"name":"question","args":["6x7?"]}"#);
    client.send(&format!("6:::{id}+[42,\"sure\"]")).await;
    assert_eq!(
        h.next().await,
        Seen::Answer {
            nsp: "/".into(),
            args: vec![j("42"), j("\"sure\"")],
        }
    );

    // From outside any handler, with a timeout.
    let socket = h.router.sockets().get(&client_id(&h)).unwrap();
    let answer = socket
        .emit_with_ack("outside", &("a", 1))
        .timeout(Duration::from_secs(5));
    let question = client.recv().await.unwrap();
    let id = question
        .strip_prefix("5:")
        .and_then(|q| q.split_once('+'))
        .map(|(id, _)| id.to_owned())
        .unwrap();
    client.send(&format!("6:::{id}")).await;
    assert!(answer.await.unwrap().is_empty(), "an ack without args");
}

fn client_id(h: &Harness) -> String {
    h.router.sockets().ids().pop().expect("one socket")
}

#[tokio::test]
async fn binary_arguments_have_no_protocol_1_form() {
    let mut h = Harness::start(patient()).await;
    let (_, mut client) = WsClient::open(h.addr()).await;
    client.expect("3:::Welcome").await;
    h.opened("/").await;
    client.send(r#"5:::{"name":"binary"}"#).await;
    h.next().await;
    assert_eq!(h.next().await, Seen::Sent { ok: false });
    let socket = h.router.sockets().get(&client_id(&h)).unwrap();
    let refused = socket.emit("bin", &bytes::Bytes::from_static(b"x"));
    assert_eq!(refused, Err(SendError::Unsupported));
    // Nothing went out, and the session goes on.
    client.send("3:::after").await;
    client.expect("3:::after").await;
    assert_eq!(
        h.next().await,
        Seen::Message {
            nsp: "/".into(),
            message: Message::Text("after".into())
        }
    );
    drop(client);
    h.closed("/", DisconnectReason::TransportClose).await;
}
