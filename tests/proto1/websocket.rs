//! websocket and flashsocket: `1::` first, one packet per message, the
//! session's end in every way it can end.

use tornadio::{DisconnectReason, Message, Protocol, Settings, Transport};

use crate::p1::{self, WsClient};
use crate::{Harness, Seen, j, patient};

#[tokio::test]
async fn the_client_reads_1_then_the_welcome_and_on_open_sees_protocol_1() {
    let mut h = Harness::start(patient()).await;
    let hs = p1::handshake_with(h.addr(), "user=ann&").await;
    let path = format!("/socket.io/1/websocket/{}?user=ann", hs.sid);
    let mut client = WsClient::connect(h.addr(), &path).await;
    client.expect("1::").await;
    client.expect("3:::Welcome").await;
    let Seen::Open {
        id,
        protocol,
        transport,
        query,
        auth,
        ..
    } = h.opened("/").await
    else {
        unreachable!()
    };
    assert_eq!(id, hs.sid);
    assert_eq!(protocol, Protocol::SocketIo09);
    assert_eq!(transport, Transport::WebSocket);
    // The handshake's query: the client's own, then `t`.
    assert_eq!(query.as_deref(), Some("user=ann&t=1700000000000"));
    assert_eq!(auth, None);
    let socket = h.router.sockets().get(&hs.sid).expect("listed");
    assert_eq!(socket.transport(), Transport::WebSocket);
    assert_eq!(socket.protocol(), Protocol::SocketIo09);

    // Text as `3`, JSON as `4`, both ways; data may hold `:`.
    client.send("3:::hi: there").await;
    h.message("/", "hi: there").await;
    client.expect("3:::hi: there").await;
    client.send("4:::{\"a\":[1,\"é\"]}").await;
    assert_eq!(
        h.next().await,
        Seen::Message {
            nsp: "/".into(),
            message: Message::Json(j(r#"{"a":[1,"é"]}"#)),
        }
    );
    client.expect("4:::{\"a\":[1,\"é\"]}").await;
    // A JSON string stays JSON: it comes back as `4`.
    client.send("4:::\"s\"").await;
    client.expect("4:::\"s\"").await;

    drop(client);
    h.next().await; // the JSON string
    h.closed("/", DisconnectReason::TransportClose).await;
    h.no_sessions().await;
}

#[tokio::test]
async fn flashsocket_is_served_as_websocket_when_enabled() {
    let mut h = Harness::start(patient()).await;
    let sid = p1::handshake(h.addr()).await;
    let mut client = WsClient::connect(h.addr(), &format!("/socket.io/1/flashsocket/{sid}")).await;
    client.expect("1::").await;
    client.expect("3:::Welcome").await;
    let Seen::Open { transport, .. } = h.opened("/").await else {
        unreachable!()
    };
    assert_eq!(transport, Transport::FlashSocket);
    client.send("3:::flash").await;
    client.expect("3:::flash").await;

    // Off by default, as in 0.9.17.
    let h = Harness::start(Settings::default()).await;
    let sid = p1::handshake(h.addr()).await;
    let response = crate::http::get(format!("/socket.io/1/flashsocket/{sid}"))
        .send(h.addr())
        .await;
    assert_eq!(response.status, 403);
}

#[tokio::test]
async fn an_unknown_sid_reads_not_handshaken_and_the_connection_closes() {
    let mut h = Harness::start(patient()).await;
    let mut client = WsClient::connect(h.addr(), "/socket.io/1/websocket/nosuchsession").await;
    assert_eq!(client.until_closed().await, ["7:::1+0"]);
    h.quiet();
}

#[tokio::test]
async fn a_second_transport_for_a_carried_session_is_refused() {
    let h = Harness::start(patient()).await;
    let (sid, _client) = WsClient::open(h.addr()).await;
    let poll = crate::http::get(format!("/socket.io/1/xhr-polling/{sid}?t=1"))
        .send(h.addr())
        .await;
    assert_eq!(poll.status, 409);
}

#[tokio::test]
async fn the_clients_0_is_echoed_and_closes_every_endpoint() {
    let mut h = Harness::start(patient()).await;
    let (_, mut client) = WsClient::open(h.addr()).await;
    client.expect("3:::Welcome").await;
    h.opened("/").await;
    client.send("1::/custom").await;
    client.expect("1::/custom").await;
    client.expect("3::/custom:Welcome").await;
    h.opened("/custom").await;
    client.send("0::").await;
    assert_eq!(client.until_closed().await, ["0::"]);
    let mut reasons = vec![h.next().await, h.next().await];
    reasons.sort_by_key(|seen| format!("{seen:?}"));
    assert_eq!(
        reasons,
        [
            Seen::Close {
                nsp: "/".into(),
                reason: DisconnectReason::ClientNamespaceDisconnect
            },
            Seen::Close {
                nsp: "/custom".into(),
                reason: DisconnectReason::ClientNamespaceDisconnect
            },
        ]
    );
    h.no_sessions().await;
}

#[tokio::test]
async fn a_server_close_tells_the_client_0_so_that_it_does_not_reconnect() {
    let mut h = Harness::start(patient()).await;
    let (_, mut client) = WsClient::open(h.addr()).await;
    client.expect("3:::Welcome").await;
    h.opened("/").await;
    client.send("1::/custom").await;
    client.expect("1::/custom").await;
    h.opened("/custom").await;
    client.send("3::/custom:close-me").await;
    h.message("/custom", "close-me").await;
    let read = client.until_closed().await;
    assert_eq!(read.last().map(String::as_str), Some("0::"), "{read:?}");
    let mut closes = vec![h.next().await, h.next().await];
    closes.sort_by_key(|seen| format!("{seen:?}"));
    assert_eq!(
        closes,
        [
            Seen::Close {
                nsp: "/".into(),
                reason: DisconnectReason::ForcedClose
            },
            Seen::Close {
                nsp: "/custom".into(),
                reason: DisconnectReason::ServerNamespaceDisconnect
            },
        ]
    );
}

#[tokio::test]
async fn a_server_disconnect_of_the_endpoint_0_ends_the_session() {
    let mut h = Harness::start(patient()).await;
    let (_, mut client) = WsClient::open(h.addr()).await;
    client.expect("3:::Welcome").await;
    h.opened("/").await;
    client.send("3:::disconnect-me").await;
    h.message("/", "disconnect-me").await;
    assert_eq!(client.until_closed().await, ["0::"]);
    h.closed("/", DisconnectReason::ServerNamespaceDisconnect)
        .await;
    h.no_sessions().await;
}
