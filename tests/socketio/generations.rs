//! Every generation in one room: a 0.6 client, a socket.io-client 2 (v4)
//! and a socket.io-client 4 (v5) client chat through one connection type.

use std::time::Duration;

use tornadio::{Connection, DisconnectReason, Message, Router, Socket};

use crate::common::{WsClient, serve};
use crate::{SioClient, patient};

/// TornadIO's chatroom: every message to everyone, a farewell on leaving.
struct Chat;

impl Connection for Chat {
    async fn on_message(&mut self, socket: &Socket, message: Message) {
        socket.sockets().broadcast(message);
    }

    async fn on_close(&mut self, socket: &Socket, _reason: DisconnectReason) {
        socket
            .sockets()
            .broadcast_except("A user has left.", socket.id());
    }
}

#[tokio::test]
async fn a_2011_client_and_todays_clients_chat_in_one_room() {
    let router = Router::new(|| Chat).settings(patient());
    let sockets = router.sockets();
    let server = serve(axum::Router::new().merge(router)).await;
    let mut old = WsClient::connect(&server.ws_url("/socket.io/websocket")).await;
    let mut v5 = SioClient::connect(server.addr, 4).await;
    v5.join_namespace("/", None).await;
    let mut v4 = SioClient::connect(server.addr, 3).await;
    assert_eq!(v4.recv().await.as_deref(), Some("40"));
    // Everyone is listed before anyone speaks.
    tokio::time::timeout(Duration::from_secs(10), async {
        while sockets.len() < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("three sockets listed");

    old.send("from 2011").await;
    assert_eq!(old.recv().await.as_deref(), Some("from 2011"));
    assert_eq!(
        v5.recv().await.as_deref(),
        Some("42[\"message\",\"from 2011\"]")
    );
    assert_eq!(
        v4.recv().await.as_deref(),
        Some("42[\"message\",\"from 2011\"]")
    );

    v5.send("42[\"message\",{\"text\":\"from 2026\",\"n\":\"😀\"}]")
        .await;
    assert_eq!(
        old.recv().await.as_deref(),
        Some("~j~{\"text\":\"from 2026\",\"n\":\"😀\"}")
    );
    assert_eq!(
        v4.recv().await.as_deref(),
        Some("42[\"message\",{\"text\":\"from 2026\",\"n\":\"😀\"}]")
    );
    assert_eq!(
        v5.recv().await.as_deref(),
        Some("42[\"message\",{\"text\":\"from 2026\",\"n\":\"😀\"}]")
    );

    // An event other than a plain message skips the 0.6 client.
    sockets
        .get(&v5_id(&sockets, &old.id))
        .expect("the v5 socket")
        .broadcast()
        .emit("news", &("only", "current"))
        .unwrap();
    assert_eq!(
        v4.recv().await.as_deref(),
        Some("42[\"news\",\"only\",\"current\"]")
    );

    // Leaving: the others are told, whatever their generation.
    drop(v4);
    assert_eq!(old.recv().await.as_deref(), Some("A user has left."));
    assert_eq!(
        v5.recv().await.as_deref(),
        Some("42[\"message\",\"A user has left.\"]")
    );
    drop(old);
    assert_eq!(
        v5.recv().await.as_deref(),
        Some("42[\"message\",\"A user has left.\"]")
    );
}

/// The id of a socket other than the 0.6 one and not a v4 one (whose id is
/// its Engine.IO sid, as long as a v5 id).
fn v5_id(sockets: &tornadio::Sockets, legacy: &str) -> String {
    sockets
        .ids()
        .into_iter()
        .find(|id| {
            id != legacy
                && sockets
                    .get(id)
                    .is_some_and(|s| s.protocol() == tornadio::Protocol::SocketIo4)
        })
        .expect("a v5 socket")
}
