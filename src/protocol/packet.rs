//! The Socket.IO packet codec, protocol revisions 4 (over Engine.IO v3) and
//! 5 (over Engine.IO v4), binary attachments included, without any IO.
//!
//! ```text
//! packet = TYPE [ATTACHMENTS "-"] [NSP ","] [ACK-ID] [JSON]
//! TYPE   = 0 CONNECT | 1 DISCONNECT | 2 EVENT | 3 ACK | 4 CONNECT_ERROR
//!        | 5 BINARY_EVENT | 6 BINARY_ACK
//! ```
//!
//! Binary values travel as `{"_placeholder":true,"num":N}` in the JSON and
//! as the N-th Engine.IO binary message after the packet.

use std::borrow::Cow;

use bytes::Bytes;
use serde_json::Value;

use super::json;

/// Socket.IO packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Connect,
    Disconnect,
    Event,
    Ack,
    ConnectError,
    BinaryEvent,
    BinaryAck,
}

impl Kind {
    fn from_digit(c: char) -> Option<Kind> {
        Some(match c {
            '0' => Kind::Connect,
            '1' => Kind::Disconnect,
            '2' => Kind::Event,
            '3' => Kind::Ack,
            '4' => Kind::ConnectError,
            '5' => Kind::BinaryEvent,
            '6' => Kind::BinaryAck,
            _ => return None,
        })
    }

    fn digit(self) -> char {
        match self {
            Kind::Connect => '0',
            Kind::Disconnect => '1',
            Kind::Event => '2',
            Kind::Ack => '3',
            Kind::ConnectError => '4',
            Kind::BinaryEvent => '5',
            Kind::BinaryAck => '6',
        }
    }

    pub(crate) fn is_binary(self) -> bool {
        matches!(self, Kind::BinaryEvent | Kind::BinaryAck)
    }
}

/// Event names a client may not send: the 4.x parsers reserve them.
pub(crate) const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// A decoded packet, its binary attachments still to come when
/// `attachments` is above zero.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Packet {
    pub(crate) kind: Kind,
    /// The namespace, `/` when the packet names none (most packets: no
    /// allocation then).
    pub(crate) nsp: Cow<'static, str>,
    /// A query after the namespace of a v4 CONNECT (`40/admin?tok=1,`).
    pub(crate) query: Option<String>,
    pub(crate) id: Option<u64>,
    pub(crate) data: Option<Value>,
    pub(crate) attachments: usize,
}

/// A packet that breaks the Socket.IO protocol. The connection that sent it
/// is closed, as node closes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// Empty text, or a type outside `0`-`6`.
    #[error("unknown packet type")]
    UnknownType,
    /// A binary packet without a valid `N-` attachment count.
    #[error("illegal attachment count")]
    BadAttachments,
    /// More attachments announced than the server accepts.
    #[error("{0} attachments announced, more than allowed")]
    TooManyAttachments(usize),
    /// An acknowledgement id that is too large.
    #[error("acknowledgement id out of range")]
    BadAckId,
    /// The data after the header is not JSON.
    #[error("invalid JSON payload")]
    BadJson,
    /// The JSON is not what the packet type carries (an EVENT without a
    /// name, a DISCONNECT with data, a reserved event name...).
    #[error("invalid payload for a {0} packet")]
    BadPayload(&'static str),
    /// A placeholder naming an attachment that does not exist.
    #[error("placeholder out of range")]
    BadPlaceholder,
    /// A binary message arrived when no packet waited for attachments.
    #[error("unexpected binary message")]
    UnexpectedBinary,
    /// A text packet arrived while attachments were still due.
    #[error("packet arrived while attachments were due")]
    AttachmentsDue,
}

/// Largest acknowledgement id accepted: what JavaScript numbers hold exactly.
const MAX_ACK_ID: u64 = (1 << 53) - 1;

/// Decodes one packet from the text of an Engine.IO message.
pub(crate) fn decode(text: &str, max_attachments: usize) -> Result<Packet, PacketError> {
    let mut rest = text;
    let kind = rest
        .chars()
        .next()
        .and_then(Kind::from_digit)
        .ok_or(PacketError::UnknownType)?;
    rest = &rest[1..];

    let mut attachments = 0;
    if kind.is_binary() {
        let dash = rest.find('-').ok_or(PacketError::BadAttachments)?;
        let digits = &rest[..dash];
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PacketError::BadAttachments);
        }
        attachments = digits.parse().map_err(|_| PacketError::BadAttachments)?;
        if attachments > max_attachments {
            return Err(PacketError::TooManyAttachments(attachments));
        }
        rest = &rest[dash + 1..];
    }

    let mut nsp = Cow::Borrowed("/");
    let mut query = None;
    if rest.starts_with('/') {
        let end = rest.find(',').unwrap_or(rest.len());
        let full = &rest[..end];
        let (path, q) = match full.split_once('?') {
            Some((path, q)) => (path, Some(q.to_owned())),
            None => (full, None),
        };
        nsp = Cow::Owned(path.to_owned());
        query = q;
        rest = rest.get(end + 1..).unwrap_or("");
    }

    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = if digits > 0 {
        let id: u64 = rest[..digits].parse().map_err(|_| PacketError::BadAckId)?;
        if id > MAX_ACK_ID {
            return Err(PacketError::BadAckId);
        }
        rest = &rest[digits..];
        Some(id)
    } else {
        None
    };

    let data = if rest.is_empty() {
        None
    } else {
        Some(match json::plain_string_array(rest) {
            Some(plain) => plain,
            None => serde_json::from_str::<Value>(rest).map_err(|_| PacketError::BadJson)?,
        })
    };
    check_payload(kind, data.as_ref())?;
    Ok(Packet {
        kind,
        nsp,
        query,
        id,
        data,
        attachments,
    })
}

/// Whether the data fits the packet type, as node's parser judges it.
fn check_payload(kind: Kind, data: Option<&Value>) -> Result<(), PacketError> {
    let ok = match kind {
        Kind::Connect => matches!(data, None | Some(Value::Object(_))),
        Kind::Disconnect => data.is_none(),
        Kind::ConnectError => matches!(data, Some(Value::String(_) | Value::Object(_))),
        Kind::Event | Kind::BinaryEvent => match data {
            Some(Value::Array(items)) => match items.first() {
                Some(Value::String(name)) => !RESERVED_EVENTS.contains(&name.as_str()),
                Some(Value::Number(_)) => true,
                _ => false,
            },
            _ => false,
        },
        Kind::Ack | Kind::BinaryAck => matches!(data, Some(Value::Array(_))),
    };
    if ok {
        Ok(())
    } else {
        Err(PacketError::BadPayload(match kind {
            Kind::Connect => "CONNECT",
            Kind::Disconnect => "DISCONNECT",
            Kind::Event | Kind::BinaryEvent => "EVENT",
            Kind::Ack | Kind::BinaryAck => "ACK",
            Kind::ConnectError => "CONNECT_ERROR",
        }))
    }
}

/// Writes a packet header: type, attachment count, namespace, ack id.
pub(crate) fn encode_header(
    out: &mut String,
    kind: Kind,
    attachments: usize,
    nsp: &str,
    id: Option<u64>,
) {
    use std::fmt::Write;
    out.push(kind.digit());
    if kind.is_binary() {
        let _ = write!(out, "{attachments}-");
    }
    if nsp != "/" {
        out.push_str(nsp);
        out.push(',');
    }
    if let Some(id) = id {
        let _ = write!(out, "{id}");
    }
}

/// Encodes a whole packet: the header, then `data` as JSON.
pub(crate) fn encode(
    kind: Kind,
    attachments: usize,
    nsp: &str,
    id: Option<u64>,
    data: Option<&Value>,
) -> String {
    let mut out = String::with_capacity(16);
    encode_header(&mut out, kind, attachments, nsp, id);
    if let Some(data) = data {
        // Serialising a Value into a String cannot fail.
        let _ = serde_json::to_writer(StringWriter(&mut out), data);
    }
    out
}

/// Lets serde_json write into a String without an intermediate buffer.
pub(crate) struct StringWriter<'a>(pub(crate) &'a mut String);

impl std::io::Write for StringWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // serde_json writes whole UTF-8 sequences, valid JSON text.
        match std::str::from_utf8(buf) {
            Ok(text) => {
                self.0.push_str(text);
                Ok(buf.len())
            }
            Err(_) => Err(std::io::Error::other("not UTF-8")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether a JSON value is a binary placeholder; its index if so.
pub(crate) fn placeholder(value: &Value) -> Option<u64> {
    let Value::Object(map) = value else {
        return None;
    };
    if map.len() != 2 || map.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    map.get("num").and_then(Value::as_u64)
}

/// Checks that every placeholder in `data` names one of `count` attachments.
pub(crate) fn check_placeholders(data: &Value, count: usize) -> Result<(), PacketError> {
    let mut stack = vec![data];
    while let Some(value) = stack.pop() {
        if let Some(num) = placeholder(value) {
            if num >= count as u64 {
                return Err(PacketError::BadPlaceholder);
            }
            continue;
        }
        match value {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    Ok(())
}

/// A binary packet collecting its attachments, which arrive as the next
/// Engine.IO binary messages.
#[derive(Debug)]
pub(crate) struct Reassembly {
    packet: Packet,
    attachments: Vec<Bytes>,
    bytes: usize,
}

/// What feeding one Engine.IO message to the decoder gave.
#[derive(Debug)]
pub(crate) enum Decoded {
    /// A complete packet with its attachments (none for text packets).
    Packet(Packet, Vec<Bytes>),
    /// More attachments are due.
    Pending,
}

/// The per-connection decoder state: nothing, or a binary packet awaiting
/// its attachments.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    // Boxed: a decoder sits in every client's task, and rarely holds one.
    pending: Option<Box<Reassembly>>,
}

impl Decoder {
    /// Feeds a text message.
    pub(crate) fn text(
        &mut self,
        text: &str,
        max_attachments: usize,
    ) -> Result<Decoded, PacketError> {
        if self.pending.is_some() {
            return Err(PacketError::AttachmentsDue);
        }
        let packet = decode(text, max_attachments)?;
        if packet.kind.is_binary() && packet.attachments > 0 {
            self.pending = Some(Box::new(Reassembly {
                attachments: Vec::with_capacity(packet.attachments),
                packet,
                bytes: 0,
            }));
            return Ok(Decoded::Pending);
        }
        finish(packet, Vec::new())
    }

    /// Feeds a binary message: the next attachment of the pending packet.
    /// `max_bytes` bounds the attachments' total size.
    pub(crate) fn binary(&mut self, data: Bytes, max_bytes: usize) -> Result<Decoded, PacketError> {
        let pending = self.pending.as_mut().ok_or(PacketError::UnexpectedBinary)?;
        pending.bytes += data.len();
        if pending.bytes > max_bytes {
            self.pending = None;
            return Err(PacketError::TooManyAttachments(usize::MAX));
        }
        pending.attachments.push(data);
        if pending.attachments.len() < pending.packet.attachments {
            return Ok(Decoded::Pending);
        }
        let Some(pending) = self.pending.take() else {
            return Err(PacketError::UnexpectedBinary);
        };
        let Reassembly {
            packet,
            attachments,
            ..
        } = *pending;
        finish(packet, attachments)
    }

    /// Whether attachments are due.
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

fn finish(packet: Packet, attachments: Vec<Bytes>) -> Result<Decoded, PacketError> {
    if packet.kind.is_binary()
        && let Some(data) = &packet.data
    {
        check_placeholders(data, attachments.len())?;
    }
    Ok(Decoded::Packet(packet, attachments))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn packet(kind: Kind, nsp: &str, id: Option<u64>, data: Option<Value>) -> Packet {
        Packet {
            kind,
            nsp: nsp.to_owned().into(),
            query: None,
            id,
            data,
            attachments: 0,
        }
    }

    #[test]
    fn decodes_the_documented_forms() {
        let cases: Vec<(&str, Packet)> = vec![
            ("0", packet(Kind::Connect, "/", None, None)),
            (
                "0{\"token\":\"1\"}",
                packet(Kind::Connect, "/", None, Some(json!({"token": "1"}))),
            ),
            (
                "0/admin,{\"a\":1}",
                packet(Kind::Connect, "/admin", None, Some(json!({"a": 1}))),
            ),
            ("0/random", packet(Kind::Connect, "/random", None, None)),
            ("1", packet(Kind::Disconnect, "/", None, None)),
            ("1/admin,", packet(Kind::Disconnect, "/admin", None, None)),
            (
                "2[\"ev\",1]",
                packet(Kind::Event, "/", None, Some(json!(["ev", 1]))),
            ),
            (
                "2/admin,[\"ev\"]",
                packet(Kind::Event, "/admin", None, Some(json!(["ev"]))),
            ),
            (
                "212[\"ev\"]",
                packet(Kind::Event, "/", Some(12), Some(json!(["ev"]))),
            ),
            (
                "2[1,2]",
                packet(Kind::Event, "/", None, Some(json!([1, 2]))),
            ),
            ("312[]", packet(Kind::Ack, "/", Some(12), Some(json!([])))),
            (
                "3/a,0[\"x\"]",
                packet(Kind::Ack, "/a", Some(0), Some(json!(["x"]))),
            ),
            (
                "4\"nope\"",
                packet(Kind::ConnectError, "/", None, Some(json!("nope"))),
            ),
        ];
        for (wire, expected) in cases {
            assert_eq!(decode(wire, 10).as_ref(), Ok(&expected), "{wire}");
        }
        let binary = decode("51-[\"m\",{\"_placeholder\":true,\"num\":0}]", 10).unwrap();
        assert_eq!(binary.kind, Kind::BinaryEvent);
        assert_eq!(binary.attachments, 1);
        let ack = decode("61-/a,789[{\"_placeholder\":true,\"num\":0}]", 10).unwrap();
        assert_eq!(
            (ack.kind, &*ack.nsp, ack.id),
            (Kind::BinaryAck, "/a", Some(789))
        );
        let v4 = decode("0/admin?tok=1&x=%20,", 10).unwrap();
        assert_eq!(v4.nsp, "/admin");
        assert_eq!(v4.query.as_deref(), Some("tok=1&x=%20"));
    }

    #[test]
    fn rejects_what_node_rejects() {
        for wire in [
            "",
            "7",
            "x",
            "4abc",
            "2abc[\"x\"]",
            "2{}",
            "2[]",
            "2[{}]",
            "2[null]",
            "2[\"connect\"]",
            "2[\"disconnect\",1]",
            "2[\"newListener\"]",
            "1{}",
            "0[1]",
            "0\"x\"",
            "3{}",
            "3",
            "4",
            "4[1]",
            "5[\"m\"]",
            "5x-[\"m\"]",
            "5-[\"m\"]",
            "511-[\"m\"]",
            "59999999999-[\"m\"]",
            "299999999999999999999[\"x\"]",
            "29007199254740992[\"x\"]",
            "2[\"x\"",
        ] {
            assert!(decode(wire, 10).is_err(), "{wire:?} must not decode");
        }
        let deep = format!("2[\"x\",{}{}]", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(decode(&deep, 10), Err(PacketError::BadJson));
    }

    #[test]
    fn encodes_headers() {
        assert_eq!(
            encode(Kind::Connect, 0, "/", None, Some(&json!({"sid": "x"}))),
            "0{\"sid\":\"x\"}"
        );
        assert_eq!(encode(Kind::Connect, 0, "/admin", None, None), "0/admin,");
        assert_eq!(
            encode(
                Kind::Event,
                0,
                "/",
                Some(3),
                Some(&json!(["a", {"b": "é"}]))
            ),
            "23[\"a\",{\"b\":\"é\"}]"
        );
        assert_eq!(
            encode(Kind::BinaryAck, 2, "/x", Some(0), Some(&json!([]))),
            "62-/x,0[]"
        );
        assert_eq!(encode(Kind::Disconnect, 0, "/", None, None), "1");
    }

    #[test]
    fn reassembles_attachments_in_order() {
        let mut decoder = Decoder::default();
        let text = "52-[\"m\",{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}]";
        assert!(matches!(decoder.text(text, 10), Ok(Decoded::Pending)));
        assert!(matches!(
            decoder.text("2[\"x\"]", 10),
            Err(PacketError::AttachmentsDue)
        ));
        assert!(matches!(
            decoder.binary(Bytes::from_static(b"a"), 100),
            Ok(Decoded::Pending)
        ));
        let Ok(Decoded::Packet(packet, attachments)) =
            decoder.binary(Bytes::from_static(b"b"), 100)
        else {
            panic!("complete");
        };
        assert_eq!(packet.kind, Kind::BinaryEvent);
        assert_eq!(
            attachments,
            vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]
        );
        assert!(!decoder.is_pending());
        assert!(matches!(
            decoder.binary(Bytes::from_static(b"c"), 100),
            Err(PacketError::UnexpectedBinary)
        ));
    }

    #[test]
    fn attachments_that_lie_are_errors() {
        let mut decoder = Decoder::default();
        // A placeholder past the attachments sent.
        decoder
            .text("51-[\"m\",{\"_placeholder\":true,\"num\":3}]", 10)
            .unwrap();
        assert_eq!(
            decoder.binary(Bytes::from_static(b"a"), 100).unwrap_err(),
            PacketError::BadPlaceholder
        );
        // No attachments announced, placeholders present.
        let mut decoder = Decoder::default();
        assert_eq!(
            decoder
                .text("50-[\"m\",{\"_placeholder\":true,\"num\":0}]", 10)
                .unwrap_err(),
            PacketError::BadPlaceholder
        );
        // More bytes than allowed.
        let mut decoder = Decoder::default();
        decoder.text("51-[\"m\"]", 10).unwrap();
        assert!(decoder.binary(Bytes::from(vec![0; 11]), 10).is_err());
        assert!(!decoder.is_pending());
    }
}

/// Property tests: the decoder never panics on arbitrary or near-valid
/// packets, and encoded packets decode to what was encoded.
#[cfg(test)]
mod proptests {
    use super::*;
    use crate::testing::proptest_config as config;
    use proptest::prelude::*;

    fn character() -> impl Strategy<Value = char> {
        const SPECIAL: [char; 12] = ['0', '5', '-', '/', ',', '[', ']', '{', '"', '😀', '?', '\0'];
        any::<u32>().prop_map(|x| {
            let (kind, n) = (x % 8, x / 8);
            match kind {
                0..=3 => char::from(b' ' + (n % 95) as u8),
                4 | 5 => SPECIAL[n as usize % SPECIAL.len()],
                _ => char::from_u32(n % 0x11_0000).unwrap_or('😀'),
            }
        })
    }

    fn text(max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(character(), 0..max).prop_map(String::from_iter)
    }

    /// Pieces of packets glued together: headers, namespaces, ids, JSON.
    fn packetish() -> impl Strategy<Value = String> {
        const PIECES: [&str; 14] = [
            "2",
            "5",
            "6",
            "3",
            "0",
            "1-",
            "99999999999-",
            "/admin,",
            "/a?x=1,",
            "12",
            "[\"ev\",1]",
            "{\"_placeholder\":true,\"num\":0}",
            "[",
            "]",
        ];
        let piece = (any::<u32>(), character()).prop_map(|(x, c)| match x % 4 {
            0..=2 => PIECES[(x / 4) as usize % PIECES.len()].to_owned(),
            _ => String::from(c),
        });
        prop::collection::vec(piece, 0..16).prop_map(|p| p.concat())
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            text(8).prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::vec((text(6), inner), 0..4)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    fn nsp() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("/".to_owned()),
            prop::collection::vec(0u8..38, 1..12).prop_map(|s| {
                let name: String = s
                    .into_iter()
                    .map(|c| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789_."[usize::from(c)]))
                    .collect();
                format!("/{name}")
            }),
        ]
    }

    proptest! {
        #![proptest_config(config(25_000))]

        #[test]
        fn decode_never_panics_on_any_text(input in text(48)) {
            let _ = decode(&input, 10);
            let mut decoder = Decoder::default();
            let _ = decoder.text(&input, 10);
            let _ = decoder.binary(Bytes::from(input.into_bytes()), 64);
        }

        #[test]
        fn decode_never_panics_on_packet_like_text(input in packetish()) {
            let mut decoder = Decoder::default();
            let _ = decoder.text(&input, 10);
            for _ in 0..3 {
                let _ = decoder.binary(Bytes::from_static(b"x"), 64);
            }
        }

        #[test]
        fn events_round_trip(
            nsp in nsp(),
            id in prop::option::of(0u64..MAX_ACK_ID),
            name in text(8),
            args in prop::collection::vec(json(), 0..4),
        ) {
            prop_assume!(!RESERVED_EVENTS.contains(&name.as_str()));
            let mut data = vec![Value::from(name)];
            data.extend(args);
            let data = Value::Array(data);
            let wire = encode(Kind::Event, 0, &nsp, id, Some(&data));
            let packet = decode(&wire, 10).unwrap();
            prop_assert_eq!(packet.kind, Kind::Event);
            prop_assert_eq!(packet.nsp, nsp);
            prop_assert_eq!(packet.id, id);
            prop_assert_eq!(packet.data, Some(data));
        }

        #[test]
        fn binary_packets_round_trip_through_the_decoder(
            nsp in nsp(),
            id in prop::option::of(0u64..1000),
            blobs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..16), 1..5),
        ) {
            let placeholders: Vec<Value> = (0..blobs.len())
                .map(|n| serde_json::json!({"_placeholder": true, "num": n}))
                .collect();
            let mut data = vec![Value::from("bin")];
            data.extend(placeholders);
            let data = Value::Array(data);
            let wire = encode(Kind::BinaryEvent, blobs.len(), &nsp, id, Some(&data));
            let mut decoder = Decoder::default();
            let mut decoded = decoder.text(&wire, 10).unwrap();
            for blob in &blobs {
                prop_assert!(matches!(decoded, Decoded::Pending));
                decoded = decoder.binary(Bytes::from(blob.clone()), 1 << 20).unwrap();
            }
            let Decoded::Packet(packet, attachments) = decoded else {
                return Err(TestCaseError::fail("complete after the last attachment"));
            };
            prop_assert_eq!(packet.nsp, nsp);
            prop_assert_eq!(packet.id, id);
            prop_assert_eq!(packet.data, Some(data));
            let blobs: Vec<Bytes> = blobs.into_iter().map(Bytes::from).collect();
            prop_assert_eq!(attachments, blobs);
        }
    }
}
