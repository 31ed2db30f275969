//! Endpoints are namespaces: joined with `1::/ep`, refused or unknown
//! ones answered `7::/ep:2`, left with `0::/ep`, bounded per client.

use tornadio::DisconnectReason;

use crate::p1::{Poller, WsClient};
use crate::{Harness, Seen, j, patient};

#[tokio::test]
async fn an_endpoint_reaches_its_namespaces_connection_type_with_its_query() {
    let mut h = Harness::start(patient()).await;
    let (sid, mut client) = WsClient::open(h.addr()).await;
    client.expect("3:::Welcome").await;
    h.opened("/").await;

    client.send("1::/custom?token=abc&x=1").await;
    client.expect("1::/custom").await;
    client.expect("3::/custom:Welcome").await;
    let Seen::Open { id, auth, .. } = h.opened("/custom").await else {
        unreachable!()
    };
    // The session id in every endpoint, as 0.9 gives it.
    assert_eq!(id, sid);
    assert_eq!(auth, Some(j(r#"{"token":"abc","x":"1"}"#)));
    assert!(h.router.io().of("/custom").sockets().len() == 1);

    // Each endpoint's packets reach its own connection.
    client.send("3::/custom:in custom").await;
    h.message("/custom", "in custom").await;
    client.expect("3::/custom:in custom").await;
    client.send("3:::in root").await;
    h.message("/", "in root").await;
    client.expect("3:::in root").await;

    // Asking again is answered again, without a second `on_open`.
    client.send("1::/custom").await;
    client.expect("1::/custom").await;

    // Leaving one endpoint leaves the others.
    client.send("0::/custom").await;
    h.closed("/custom", DisconnectReason::ClientNamespaceDisconnect)
        .await;
    client.send("3:::still here").await;
    h.message("/", "still here").await;
    client.expect("3:::still here").await;
    h.quiet();
}

#[tokio::test]
async fn refused_and_unknown_endpoints_are_told_unauthorized() {
    let mut h = Harness::start(patient()).await;
    let poller = Poller::open(h.addr(), "xhr-polling").await;
    h.opened("/").await;
    poller
        .post(&crate::p1::batch(&[
            "1::/refused",
            "1::/nope",
            "1::/custom?refuse=1",
            "3::/nope:hello?",
        ]))
        .await;
    assert_eq!(
        poller.get_n(4).await,
        ["7::/refused:2", "7::/nope:2", "7::/custom:2", "7::/nope:2"]
    );
    h.quiet();
}

#[tokio::test]
async fn a_server_disconnect_of_an_endpoint_tells_the_client_and_leaves_the_rest() {
    let mut h = Harness::start(patient()).await;
    let (_, mut client) = WsClient::open(h.addr()).await;
    client.expect("3:::Welcome").await;
    h.opened("/").await;
    client.send("1::/custom").await;
    client.expect("1::/custom").await;
    client.expect("3::/custom:Welcome").await;
    h.opened("/custom").await;
    client.send("3::/custom:disconnect-me").await;
    h.message("/custom", "disconnect-me").await;
    client.expect("0::/custom").await;
    h.closed("/custom", DisconnectReason::ServerNamespaceDisconnect)
        .await;
    // Packets for it now are for an endpoint not joined.
    client.send("3::/custom:anyone?").await;
    client.expect("7::/custom:2").await;
    client.send("3:::root lives").await;
    client.expect("3:::root lives").await;
}

#[tokio::test]
async fn an_endpoint_flood_closes_the_session() {
    let mut h = Harness::start(patient().max_namespaces_per_client(3)).await;
    let (_, mut client) = WsClient::open(h.addr()).await;
    client.expect("3:::Welcome").await;
    h.opened("/").await;
    for n in 1..=2 {
        client.send(&format!("1::/room-{n}")).await;
        client.expect(&format!("1::/room-{n}")).await;
        client.expect(&format!("3::/room-{n}:Welcome")).await;
        h.opened(&format!("/room-{n}")).await;
    }
    assert_eq!(h.router.io().namespace_names().len(), 5);
    client.send("1::/room-3").await;
    let read = client.until_closed().await;
    assert!(!read.contains(&"1::/room-3".to_owned()), "{read:?}");
    let mut closes = Vec::new();
    for _ in 0..3 {
        closes.push(h.next().await);
    }
    assert!(closes.iter().all(|seen| matches!(
        seen,
        Seen::Close {
            reason: DisconnectReason::ParseError,
            ..
        }
    )));
    h.no_sessions().await;
    // The dynamic namespaces went with their last socket.
    assert_eq!(h.router.io().namespace_names().len(), 3);
}
