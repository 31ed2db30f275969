//! Tables of literal messages, as node's adapter and emitter write them.

use super::*;
use serde_json::json;

/// `msgpack` bytes from a readable description: `"text"` pieces are raw
/// UTF-8, numbers are bytes.
macro_rules! bytes {
    ($($part:expr),* $(,)?) => {{
        let mut out: Vec<u8> = Vec::new();
        $( Piece::from($part).push(&mut out); )*
        out
    }};
}

enum Piece {
    Byte(u8),
    Text(&'static str),
}

impl From<u8> for Piece {
    fn from(b: u8) -> Piece {
        Piece::Byte(b)
    }
}

impl From<&'static str> for Piece {
    fn from(s: &'static str) -> Piece {
        Piece::Text(s)
    }
}

impl Piece {
    fn push(self, out: &mut Vec<u8>) {
        match self {
            Piece::Byte(b) => out.push(b),
            Piece::Text(s) => out.extend_from_slice(s.as_bytes()),
        }
    }
}

/// What node 4.8 with adapter 8.3 published on `socket.io#/#r1#` for
/// `io.to("r1").emit("news", "x", Buffer.from([9, 8]))`.
fn node_room_broadcast() -> Vec<u8> {
    bytes![
        0x93, 0xa6, "zMjJfh", 0x83, 0xa4, "type", 0x02, 0xa4, "data", 0x93, 0xa4, "news", 0xa1,
        "x", 0xc4, 0x02, 0x09, 0x08, 0xa3, "nsp", 0xa1, "/", 0x83, 0xa5, "rooms", 0x91, 0xa2, "r1",
        0xa6, "except", 0x90, 0xa5, "flags", 0x80
    ]
}

#[test]
fn reads_a_node_broadcast_with_binary() {
    let b = decode_broadcast(&node_room_broadcast()).unwrap();
    assert_eq!(b.uid, "zMjJfh");
    assert_eq!(b.nsp, "/");
    assert_eq!(b.opts.rooms, ["r1"]);
    assert!(b.opts.except.is_empty());
    assert_eq!(b.packet.name(), "news");
    let args = b.packet.args();
    assert_eq!(
        args.values(),
        &[json!("x"), json!({"_placeholder": true, "num": 0})]
    );
    assert_eq!(args.binary(), &[Bytes::from_static(&[9, 8])]);
}

#[test]
fn writes_a_broadcast_byte_for_byte_as_node_does() {
    let args = Args::from_serialize(&("x", Bytes::from_static(&[9, 8]))).unwrap();
    let packet = Packet::event("news", args);
    let opts = BroadcastOptions::new().rooms(["r1"]);
    assert_eq!(
        broadcast("zMjJfh", "/", &packet, &opts),
        node_room_broadcast()
    );
    let channels = Channels::new("socket.io");
    assert_eq!(channels.broadcast_to("/", &opts), "socket.io#/#r1#");
    let two = BroadcastOptions::new().rooms(["a", "b"]);
    assert_eq!(channels.broadcast_to("/chat", &two), "socket.io#/chat#");
}

#[test]
fn reads_the_emitters_key_order_and_missing_namespace() {
    // `[uid, {type, data}, {rooms, flags, except}]` without `nsp`.
    let msg = bytes![
        0x93, 0xa7, "emitter", 0x82, 0xa4, "type", 0x02, 0xa4, "data", 0x92, 0xa2, "hi", 0xc3,
        0x83, 0xa5, "rooms", 0x90, 0xa5, "flags", 0x81, 0xa8, "volatile", 0xc3, 0xa6, "except",
        0x91, 0xa1, "z"
    ];
    let b = decode_broadcast(&msg).unwrap();
    assert_eq!((b.uid.as_str(), b.nsp.as_str()), ("emitter", "/"));
    assert_eq!(b.packet.args().values(), &[json!(true)]);
    assert_eq!(b.opts.except, ["z"]);
    assert!(b.opts.rooms.is_empty());
}

#[test]
fn refuses_what_is_not_a_broadcast() {
    for junk in [
        &b""[..],
        &[0xc1],
        &[0x93, 0xa1, b'u', 0xc0, 0x80],
        &[0x91, 0xa1, b'u'],
        b"{\"a\":1}",
    ] {
        assert!(decode_broadcast(junk).is_err(), "{junk:?}");
    }
    // A packet whose event name is not a string.
    let msg = bytes![
        0x93, 0xa1, "u", 0x82, 0xa4, "type", 0x02, 0xa4, "data", 0x91, 0x01, 0x80
    ];
    assert!(decode_broadcast(&msg).is_err());
}

#[test]
fn reads_json_requests() {
    let r = decode_request(
        br#"{"uid":"abc","requestId":"r1","type":5,"opts":{"rooms":["a"],"except":["b"]}}"#,
    )
    .unwrap();
    assert_eq!(r.uid.as_deref(), Some("abc"));
    let RequestKind::Fetch { request_id, opts } = r.kind else {
        panic!("{:?}", r.kind)
    };
    assert_eq!(
        (request_id.as_str(), opts.rooms, opts.except),
        ("r1", vec!["a".into()], vec!["b".into()])
    );

    // The emitter's socketsJoin: no uid.
    let r = decode_request(br#"{"type":2,"opts":{"rooms":["a"],"except":[]},"rooms":["x","y"]}"#)
        .unwrap();
    assert!(r.uid.is_none());
    assert!(matches!(r.kind, RequestKind::Join { ref rooms, .. } if rooms == &["x", "y"]));

    let r = decode_request(br#"{"type":4,"opts":{"rooms":[],"except":[]},"close":true}"#).unwrap();
    assert!(matches!(
        r.kind,
        RequestKind::Disconnect { close: true, .. }
    ));

    // Old adapters name one socket.
    let r =
        decode_request(br#"{"uid":"o","requestId":"q","type":2,"sid":"s1","room":"r"}"#).unwrap();
    assert!(
        matches!(r.kind, RequestKind::OneSocket { kind: 2, ref sid, ref room, .. } if sid == "s1" && room == "r")
    );

    let r = decode_request(br#"{"uid":"n","requestId":"q","type":6,"data":["ping",1,{"a":2}]}"#)
        .unwrap();
    let RequestKind::ServerSideEmit { request_id, packet } = r.kind else {
        panic!()
    };
    assert_eq!(request_id.as_deref(), Some("q"));
    assert_eq!(packet.name(), "ping");
    assert_eq!(packet.args().values(), &[json!(1), json!({"a": 2})]);

    let r = decode_request(br#"{"uid":"emitter","type":6,"data":["hello"]}"#).unwrap();
    assert!(matches!(
        r.kind,
        RequestKind::ServerSideEmit {
            request_id: None,
            ..
        }
    ));

    assert!(matches!(
        decode_request(br#"{"type":42}"#).unwrap().kind,
        RequestKind::Unknown(42)
    ));
    assert!(
        decode_request(br#"{"type":5}"#).is_err(),
        "a fetch without requestId"
    );
    assert!(decode_request(b"{not json").is_err());
}

#[test]
fn reads_and_writes_acknowledged_broadcasts() {
    let args = Args::from_serialize(&(1, Bytes::from_static(b"\x07"))).unwrap();
    let packet = Packet::event("q", args);
    let opts = BroadcastOptions::new().except(["s1"]);
    let bytes = broadcast_request(
        "me",
        "rq",
        "/chat",
        &packet,
        &opts,
        Duration::from_millis(1500),
    );
    assert_ne!(bytes[0], b'{');
    let r = decode_request(&bytes).unwrap();
    assert_eq!(r.uid.as_deref(), Some("me"));
    let RequestKind::Broadcast {
        request_id,
        packet: p,
        opts: o,
        timeout,
    } = r.kind
    else {
        panic!()
    };
    assert_eq!(request_id, "rq");
    assert_eq!(p, packet);
    assert_eq!(o, opts);
    assert_eq!(timeout, Some(Duration::from_millis(1500)));
}

#[test]
fn reads_responses() {
    let r = decode_response(
        br#"{"requestId":"a","sockets":[{"id":"s","handshake":{"auth":{}},"rooms":["s","r"],"data":{}}]}"#,
    )
    .unwrap();
    let ResponseKind::Sockets(sockets) = r.kind else {
        panic!()
    };
    assert_eq!(sockets[0].id, "s");
    assert_eq!(sockets[0].rooms, ["s", "r"]);
    assert_eq!(sockets[0].handshake, json!({"auth": {}}));

    let r = decode_response(br#"{"requestId":"a","rooms":["x"]}"#).unwrap();
    assert!(matches!(r.kind, ResponseKind::Rooms(ref rooms) if rooms == &["x"]));
    let r = decode_response(br#"{"requestId":"a"}"#).unwrap();
    assert!(matches!(r.kind, ResponseKind::Bare));
    let r = decode_response(br#"{"type":6,"requestId":"a","data":"pong"}"#).unwrap();
    assert!(matches!(r.kind, ResponseKind::ServerAck(ref v) if v == "pong"));
    let r = decode_response(br#"{"type":8,"requestId":"a","clientCount":0}"#).unwrap();
    assert!(matches!(r.kind, ResponseKind::ClientCount(0)));

    // A client's binary acknowledgement, msgpack.
    let ack = client_ack_response(
        "a",
        &Args::from_serialize(&(Bytes::from_static(b"\x01"), 2)).unwrap(),
    );
    let r = decode_response(&ack).unwrap();
    let ResponseKind::ClientAck(args) = r.kind else {
        panic!()
    };
    assert_eq!(args.len(), 1, "only the first argument travels");
    assert_eq!(args.binary(), &[Bytes::from_static(b"\x01")]);
    // No argument: `packet` left out, as `undefined` is.
    let none = client_ack_response("a", &Args::default());
    let ResponseKind::ClientAck(args) = decode_response(&none).unwrap().kind else {
        panic!()
    };
    assert!(args.is_empty());

    assert!(
        decode_response(br#"{"sockets":[]}"#).is_err(),
        "no requestId"
    );
}

#[test]
fn writes_json_as_node_reads_it() {
    let opts = BroadcastOptions::new().rooms(["r"]);
    let v: Value = serde_json::from_slice(&fetch_request("u", "q", &opts)).unwrap();
    assert_eq!(
        v,
        json!({"uid": "u", "requestId": "q", "type": 5, "opts": {"rooms": ["r"], "except": []}})
    );
    let v: Value = serde_json::from_slice(&rooms_request(
        "u",
        kind::REMOTE_LEAVE,
        &opts,
        &["x".into()],
    ))
    .unwrap();
    assert_eq!(
        v,
        json!({"uid": "u", "type": 3, "opts": {"rooms": ["r"], "except": []}, "rooms": ["x"]})
    );
    let v: Value = serde_json::from_slice(&disconnect_request("u", &opts, true)).unwrap();
    assert_eq!(v["close"], json!(true));
    let packet = Packet::event(
        "e",
        Args::from_serialize(&(1, Bytes::from_static(b"\x02"))).unwrap(),
    );
    let v: Value = serde_json::from_slice(&server_side_emit_request("u", None, &packet)).unwrap();
    assert_eq!(
        v,
        json!({"uid": "u", "type": 6, "data": ["e", 1, {"type": "Buffer", "data": [2]}]})
    );
    let v: Value =
        serde_json::from_slice(&server_side_emit_request("u", Some("q"), &packet)).unwrap();
    assert_eq!(v["requestId"], json!("q"));
    for (bytes, expected) in [
        (
            ids_response("q", &["a".into()]),
            json!({"requestId": "q", "sockets": ["a"]}),
        ),
        (
            rooms_response("q", &[]),
            json!({"requestId": "q", "rooms": []}),
        ),
        (bare_response("q"), json!({"requestId": "q"})),
        (
            server_ack_response("q", &json!("x")),
            json!({"type": 6, "requestId": "q", "data": "x"}),
        ),
        (
            client_count_response("q", 0),
            json!({"type": 8, "requestId": "q", "clientCount": 0}),
        ),
    ] {
        assert_eq!(bytes[0], b'{');
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), expected);
    }
    let info = SocketInfo::new("s", vec!["s".into()], json!({}), json!({}));
    let v: Value = serde_json::from_slice(&sockets_response("q", &[info])).unwrap();
    assert_eq!(
        v,
        json!({"requestId": "q", "sockets": [{"id": "s", "handshake": {}, "rooms": ["s"], "data": {}}]})
    );
}

#[test]
fn names_channels_as_node_does() {
    let c = Channels::new("socket.io");
    assert_eq!(c.broadcast("/"), "socket.io#/#");
    assert_eq!(c.request("/chat"), "socket.io-request#/chat#");
    assert_eq!(c.response("/"), "socket.io-response#/#");
    assert_eq!(c.response_for("/", "abc"), "socket.io-response#/#abc#");
    assert_eq!(c.broadcast_pattern("/"), "socket.io#/#*");
    assert_eq!(
        Channels::new("a*b").broadcast_pattern("/[x]"),
        "a\\*b#/\\[x\\]#*"
    );
    assert_eq!(
        c.classify("socket.io-request#/chat#"),
        Channel::Request("/chat")
    );
    assert_eq!(c.classify("socket.io-response#/#"), Channel::Response);
    assert_eq!(c.classify("socket.io-response#/#abc#"), Channel::Response);
    assert_eq!(c.classify("other-request#/#"), Channel::Other);
    assert_eq!(c.classify("socket.io#/#"), Channel::Other);
}
