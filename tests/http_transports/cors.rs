//! CORS: preflight, the origin allow-list on every transport, the
//! headers an allowed cross-origin request gets.

use tornadio::Settings;

use crate::client::{self, Response, xhr_form};
use crate::common::{frame, unframe};
use crate::{Harness, patient};

const GOOD: &str = "http://good.example:8080";
const EVIL: &str = "http://evil.example";

fn allow_list() -> Settings {
    patient().allowed_origins(vec![GOOD.to_owned()])
}

fn websocket_upgrade(origin: &str) -> client::Request {
    client::get("/socket.io/websocket")
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("Origin", origin)
}

#[tokio::test]
async fn a_preflight_is_answered_for_allowed_origins() {
    let h = Harness::start(allow_list()).await;
    let answer = client::options("/socket.io/xhr-polling/someid/send")
        .header("Origin", GOOD)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send(h.addr())
        .await;
    assert!((200..300).contains(&answer.status), "{}", answer.status);
    assert_eq!(answer.header("access-control-allow-origin"), Some(GOOD));
    let methods = answer.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("POST") && methods.contains("GET"));
    let headers = answer.header("access-control-allow-headers").unwrap();
    assert!(headers.to_lowercase().contains("content-type"));
    let refused = client::options("/socket.io/xhr-polling/someid/send")
        .header("Origin", EVIL)
        .header("Access-Control-Request-Method", "POST")
        .send(h.addr())
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn allowed_cross_origin_requests_get_their_origin_back() {
    let mut h = Harness::start(allow_list()).await;
    let opening = client::get("/socket.io/xhr-polling//1")
        .header("Origin", GOOD)
        .send(h.addr())
        .await;
    assert_eq!(opening.header("access-control-allow-origin"), Some(GOOD));
    // A listed origin may send its cookies.
    assert_eq!(
        opening.header("access-control-allow-credentials"),
        Some("true")
    );
    let id = opening.messages()[0].clone();
    h.opened(&id).await;
    let posted = client::post(
        format!("/socket.io/xhr-polling/{id}/send"),
        xhr_form(&frame("x")),
    )
    .header("Origin", GOOD)
    .header("Cookie", "a=b")
    .send(h.addr())
    .await;
    assert_eq!(posted.status, 200);
    assert_eq!(posted.header("access-control-allow-origin"), Some(GOOD));
    assert_eq!(
        posted.header("access-control-allow-credentials"),
        Some("true")
    );
    // Requests without an Origin (same-origin GETs, jsonp scripts) pass.
    let answer = client::get(format!("/socket.io/xhr-polling/{id}/2"))
        .send(h.addr())
        .await;
    assert_eq!(answer.messages(), ["x"]);
    assert_eq!(answer.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn refused_origins_get_403_on_every_transport() {
    let mut h = Harness::start(allow_list()).await;
    let addr = h.addr();
    let id = h.open_xhr().await;
    let requests = [
        client::get("/socket.io/xhr-polling//1"),
        client::get(format!("/socket.io/xhr-polling/{id}/1")),
        client::post(
            format!("/socket.io/xhr-polling/{id}/send"),
            xhr_form(&frame("x")),
        ),
        client::get("/socket.io/jsonp-polling//1/0"),
        client::post(
            format!("/socket.io/jsonp-polling/{id}/1/0"),
            xhr_form(&frame("x")),
        ),
        client::get("/socket.io/htmlfile//1"),
        client::post(
            format!("/socket.io/htmlfile/{id}/send"),
            xhr_form(&frame("x")),
        ),
        client::get("/socket.io/xhr-multipart/"),
        client::post(
            format!("/socket.io/xhr-multipart/{id}/send"),
            xhr_form(&frame("x")),
        ),
    ];
    for request in requests {
        let answer = request.header("Origin", EVIL).send(addr).await;
        assert_eq!(answer.status, 403);
        assert_eq!(answer.header("access-control-allow-origin"), None);
    }
    let answer = websocket_upgrade(EVIL).send(addr).await;
    assert_eq!(answer.status, 403);
    // Nothing opened and nothing was delivered.
    h.quiet();
    assert_eq!(h.sockets.len(), 1);
    // The allowed origin opens a websocket.
    let mut conn = websocket_upgrade(GOOD).start(addr).await;
    assert_eq!(conn.head().await.status, 101);
}

#[tokio::test]
async fn a_page_without_an_origin_of_its_own_is_served_like_node_did() {
    // `Origin: null` (sandboxed or file:// pages): allowed when any origin
    // is, answered with `*` as the node server did.
    let mut h = Harness::start(patient()).await;
    let opening = client::get("/socket.io/xhr-polling//1")
        .header("Origin", "null")
        .send(h.addr())
        .await;
    assert_eq!(opening.status, 200);
    assert_eq!(opening.header("access-control-allow-origin"), Some("*"));
    h.opened(&opening.messages()[0]).await;
    // An allow-list that does not name it refuses it.
    let h = Harness::start(allow_list()).await;
    let refused = client::get("/socket.io/xhr-polling//1")
        .header("Origin", "null")
        .send(h.addr())
        .await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn any_origin_is_reflected_when_no_list_is_set_and_same_origin_always_passes() {
    let mut h = Harness::start(patient()).await;
    let opening = client::get("/socket.io/xhr-polling//1")
        .header("Origin", EVIL)
        .send(h.addr())
        .await;
    assert_eq!(opening.header("access-control-allow-origin"), Some(EVIL));
    let vary = opening.header("vary").unwrap_or("").to_lowercase();
    assert!(vary.contains("origin"), "Vary: {vary}");
    h.opened(&opening.messages()[0]).await;

    // Chromium sends Origin on same-origin POSTs too: the server's own
    // origin passes an allow-list that does not name it.
    let mut h = Harness::start(allow_list()).await;
    let own = format!("http://{}", h.addr());
    let opening = client::get("/socket.io/xhr-polling//1")
        .header("Origin", &own)
        .send(h.addr())
        .await;
    assert_eq!(opening.status, 200);
    let id = unframe(&opening.text())[0].clone();
    h.opened(&id).await;
    let posted: Response = client::post(
        format!("/socket.io/xhr-polling/{id}/send"),
        xhr_form(&frame("same")),
    )
    .header("Origin", &own)
    .send(h.addr())
    .await;
    assert_eq!(posted.status, 200);
    h.received(&id, "same").await;
}
