//! From polling to WebSocket: the probe, the noop that frees a waiting
//! poll, the switch, what polling gets afterwards, abandoned upgrades.

use std::time::Duration;

use tokio_tungstenite::tungstenite::Message as Ws;

use crate::{Harness, client, error_code, patient};

#[tokio::test]
async fn an_upgrade_frees_the_waiting_poll_then_carries_the_session() {
    for version in [4u8, 3] {
        let mut h = Harness::start(patient()).await;
        let sid = h.open_polling(version, "&b64=1").await["sid"]
            .as_str()
            .unwrap()
            .to_owned();
        // A poll waits, as a client's always does.
        let addr = h.addr();
        let path = format!("/engine.io/?EIO={version}&transport=polling&sid={sid}");
        let waiting = tokio::spawn(async move { client::get(path).send(addr).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut ws = h
            .ws(&format!("EIO={version}&transport=websocket&sid={sid}"))
            .await;
        ws.text("2probe").await;
        assert_eq!(ws.recv_text().await, "3probe");
        let freed = waiting.await.unwrap();
        assert_eq!(freed.status, 200);
        let noop = if version == 4 { "6" } else { "1:6" };
        assert_eq!(freed.text(), noop);
        // Output queued during the probe goes over the socket after `5`.
        let posted = h
            .post(
                version,
                &sid,
                if version == 4 { "4queued" } else { "7:4queued" },
            )
            .await;
        assert_eq!(posted.status, 200);
        ws.text("5").await;
        assert_eq!(ws.recv_text().await, "4queued");
        ws.text("4over ws").await;
        assert_eq!(ws.recv_text().await, "4over ws");
        // Polling that session is now a bad request (code 3).
        let late = h.poll(version, &sid).await;
        assert_eq!((late.status, error_code(&late)), (400, 3));
        // A second WebSocket for it is accepted, then closed.
        let mut second = h
            .ws(&format!("EIO={version}&transport=websocket&sid={sid}"))
            .await;
        second.closed().await;
        ws.text("4still").await;
        assert_eq!(ws.recv_text().await, "4still");
    }
}

#[tokio::test]
async fn an_abandoned_upgrade_is_dropped_and_polling_goes_on() {
    let mut h = Harness::start(patient().upgrade_timeout(Duration::from_millis(500))).await;
    let sid = h.open_polling(4, "").await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ws = h.ws(&format!("EIO=4&transport=websocket&sid={sid}")).await;
    ws.text("2probe").await;
    assert_eq!(ws.recv_text().await, "3probe");
    // No `5`: the probe is closed after the upgrade timeout...
    assert!(
        tokio::time::timeout(Duration::from_secs(5), ws.closed())
            .await
            .is_ok(),
        "the probe outlived the upgrade timeout"
    );
    // ...and the session polls again, with data, not noops forever.
    assert_eq!(h.post(4, &sid, "4back").await.status, 200);
    assert_eq!(h.poll(4, &sid).await.text(), "4back");
    // A probe that sends anything else is dropped at once.
    let mut ws = h.ws(&format!("EIO=4&transport=websocket&sid={sid}")).await;
    ws.text("4not a probe").await;
    ws.closed().await;
    assert_eq!(h.post(4, &sid, "4again").await.status, 200);
    assert_eq!(h.poll(4, &sid).await.text(), "4again");
    // `2probe` twice aborts too.
    let mut ws = h.ws(&format!("EIO=4&transport=websocket&sid={sid}")).await;
    ws.text("2probe").await;
    assert_eq!(ws.recv_text().await, "3probe");
    ws.send(Ws::text("2probe")).await;
    ws.closed().await;
    assert_eq!(h.post(4, &sid, "4third").await.status, 200);
    assert_eq!(h.poll(4, &sid).await.text(), "4third");
}

#[tokio::test]
async fn an_upgrade_for_an_unknown_session_is_refused() {
    let h = Harness::start(patient()).await;
    let url = format!(
        "ws://{}/engine.io/?EIO=4&transport=websocket&sid=nosuchsession",
        h.addr()
    );
    let refused = tokio_tungstenite::connect_async(url).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
        }
        other => panic!("expected a 400, got {other:?}"),
    }
}
