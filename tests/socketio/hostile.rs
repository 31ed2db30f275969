//! What a broken or hostile Socket.IO client gets: its connection closed
//! (node's answer), a warning logged, and nobody else disturbed.

use tornadio::DisconnectReason;

use crate::{Harness, SioClient, patient};

/// Sends `packets` on a fresh connection that joined `/`, expects the
/// server to close it, and checks a new client is still served.
async fn closes(h: &mut Harness, packets: &[&str]) {
    let (mut client, id) = h.client().await;
    let _ = h.next().await;
    for packet in packets {
        if !client.send(packet).await {
            break;
        }
    }
    assert!(client.closed().await, "{packets:?}");
    assert_eq!(
        h.closed(&id).await,
        DisconnectReason::ParseError,
        "{packets:?}"
    );
    let (mut fresh, _) = h.client().await;
    let _ = h.next().await;
    fresh.send("42[\"ping\",1]").await;
    assert_eq!(fresh.recv().await.as_deref(), Some("42[\"echo\",1]"));
}

#[tokio::test]
async fn malformed_packets_close_the_connection() {
    let mut h = Harness::start(patient()).await;
    let cases: &[&[&str]] = &[
        &["47"],
        &["4x"],
        &["4"],
        &["42{}"],
        &["42[]"],
        &["42[{}]"],
        &["42abc[\"x\"]"],
        &["42[\"connect\"]"],
        &["42[\"disconnect\",1]"],
        &["42[\"newListener\"]"],
        &["4299999999999999999999[\"x\"]"],
        &["44\"hello\""],
        &["41{}"],
        &["42/never,[\"x\"]"],
        &["43/never,1[]"],
        &["41/never,"],
        &["40"],
        &["451000000-[\"m\"]"],
        &["450-[\"m\",{\"_placeholder\":true,\"num\":0}]"],
        &["451-[\"m\",{\"_placeholder\":true,\"num\":5}]", "\u{0}"],
        &["452-[\"m\"]", "42[\"x\"]"],
    ];
    for packets in cases {
        closes(&mut h, packets).await;
    }
    // Nesting too deep for any JSON parser.
    let deep = format!("42[\"x\",{}{}]", "[".repeat(100_000), "]".repeat(100_000));
    closes(&mut h, &[&deep]).await;
}

#[tokio::test]
async fn placeholders_out_of_range_close_after_the_last_attachment() {
    let mut h = Harness::start(patient()).await;
    let (mut client, id) = h.client().await;
    let _ = h.next().await;
    client
        .send("451-[\"m\",{\"_placeholder\":true,\"num\":3}]")
        .await;
    client.send_binary(vec![1, 2]).await;
    assert!(client.closed().await);
    assert_eq!(h.closed(&id).await, DisconnectReason::ParseError);
}

#[tokio::test]
async fn binary_where_none_is_due_closes() {
    let mut h = Harness::start(patient()).await;
    let (mut client, id) = h.client().await;
    let _ = h.next().await;
    client.send_binary(vec![1, 2, 3]).await;
    assert!(client.closed().await);
    assert_eq!(h.closed(&id).await, DisconnectReason::ParseError);
}

#[tokio::test]
async fn acks_for_unknown_or_repeated_ids_are_ignored() {
    let mut h = Harness::start(patient()).await;
    let (mut client, _id) = h.client().await;
    let _ = h.next().await;
    client.send("43[\"nobody asked\"]").await;
    client.send("4312[\"nobody asked\"]").await;
    client.send("4312[\"twice\"]").await;
    // Still connected and served.
    client.send("42[\"ping\",2]").await;
    assert_eq!(client.recv().await.as_deref(), Some("42[\"echo\",2]"));
}

#[tokio::test]
async fn connecting_a_namespace_twice_closes() {
    let mut h = Harness::start(patient()).await;
    let (mut client, id) = h.client().await;
    let _ = h.next().await;
    let custom = client.join_namespace("/custom", None).await;
    let _ = h.next().await;
    client.send("40/custom,").await;
    assert!(client.closed().await);
    // Both sockets of the connection close, in either order.
    let mut closed = Vec::new();
    while closed.len() < 2 {
        if let crate::Seen::Close(socket, reason) = h.next().await {
            assert_eq!(reason, DisconnectReason::ParseError);
            closed.push(socket);
        }
    }
    closed.sort();
    let mut expected = vec![id, custom];
    expected.sort();
    assert_eq!(closed, expected);
}

#[tokio::test]
async fn unknown_and_refused_namespaces_get_connect_error_and_the_connection_stays() {
    let mut h = Harness::start(patient()).await;
    let (mut client, _id) = h.client().await;
    let _ = h.next().await;
    client.send("40/nowhere,").await;
    assert_eq!(
        client.recv().await.as_deref(),
        Some("44/nowhere,{\"message\":\"Invalid namespace\"}")
    );
    client.send("40/custom,{\"refuse\":1}").await;
    assert_eq!(
        client.recv().await.as_deref(),
        Some("44/custom,{\"message\":\"refused\",\"data\":{\"why\":1}}")
    );
    client.send("42[\"ping\",3]").await;
    assert_eq!(client.recv().await.as_deref(), Some("42[\"echo\",3]"));
}

#[tokio::test]
async fn namespaces_per_client_are_bounded() {
    let mut h = Harness::start(patient().max_namespaces_per_client(2)).await;
    let mut client = SioClient::connect(h.addr(), 4).await;
    client.join_namespace("/", None).await;
    client.join_namespace("/custom", None).await;
    // A third, even an unknown one, is over the bound.
    client.send("40/third,").await;
    assert!(client.closed().await);
    let _ = &mut h;
}

#[tokio::test]
async fn a_client_that_joins_nothing_is_closed_after_the_connect_timeout() {
    let mut h =
        Harness::start(patient().connect_timeout(std::time::Duration::from_millis(300))).await;
    let mut client = SioClient::connect(h.addr(), 4).await;
    assert!(client.closed().await);
    // A v4 client is connected to `/` by the server: no timeout.
    let mut v4 = SioClient::connect(h.addr(), 3).await;
    assert_eq!(v4.recv().await.as_deref(), Some("40"));
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    v4.send("42[\"ping\",4]").await;
    assert_eq!(v4.recv().await.as_deref(), Some("42[\"echo\",4]"));
    let _ = &mut h;
}

#[tokio::test]
async fn a_message_event_reaches_on_message_and_others_on_event() {
    let mut h = Harness::start(patient()).await;
    let (mut client, id) = h.client().await;
    let _ = h.next().await;
    client.send("42[\"message\",\"hi\"]").await;
    assert_eq!(
        h.next().await,
        crate::Seen::Message(id.clone(), tornadio::Message::Text("hi".into()))
    );
    assert_eq!(
        client.recv().await.as_deref(),
        Some("42[\"message\",\"hi\"]")
    );
    client.send("42[\"message\",\"a\",\"b\"]").await;
    assert_eq!(
        h.next().await,
        crate::Seen::Event(id.clone(), "message".into())
    );
    assert_eq!(
        client.recv().await.as_deref(),
        Some("42[\"echo\",\"a\",\"b\"]")
    );
    // An ack round trip, with binary.
    client
        .send("451-7[\"x\",{\"_placeholder\":true,\"num\":0}]")
        .await;
    client.send_binary(vec![9, 9]).await;
    let ack = client.recv().await.unwrap();
    assert_eq!(ack, "461-7[{\"_placeholder\":true,\"num\":0}]");
    assert_eq!(client.recv().await.as_deref(), Some("<binary>"));
}

#[tokio::test]
async fn a_callback_may_await_the_clients_acknowledgement() {
    let mut h = Harness::start(patient()).await;
    let (mut client, _id) = h.client().await;
    let _ = h.next().await;
    client.send("42[\"ask-inline\"]").await;
    let question = client.recv().await.unwrap();
    let id = question
        .strip_prefix("42")
        .and_then(|rest| rest.strip_suffix("[\"question\",\"6 x 7?\"]"))
        .unwrap_or_else(|| panic!("{question}"));
    // An event sent meanwhile waits for the callback; the answer does not.
    client.send("42[\"ping\",5]").await;
    client.send(&format!("43{id}[42]")).await;
    assert_eq!(client.recv().await.as_deref(), Some("42[\"answered\",42]"));
    assert_eq!(client.recv().await.as_deref(), Some("42[\"echo\",5]"));
}
