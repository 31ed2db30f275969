//! A packet for the sockets of one namespace, encoded once per client
//! generation and shared by every receiver of that generation.

use std::cell::OnceCell;

use crate::ws::Text as Utf8Bytes;
use serde_json::Value;
use smallvec::SmallVec;

use crate::engine::conn::{self, Frame};
use crate::message::Message;
use crate::protocol::json;
use crate::protocol::packet::{self, Kind, StringWriter};
use crate::protocol::proto1::{self, MessageId};
use crate::socket::Args;

/// What goes to a socket: an event (maybe asking for an ack), or a message
/// (`Socket::send`).
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Event { name: String, args: Args },
    Message(Message),
}

/// An Engine.IO client's frames for one packet: the packet, then its
/// attachments. Inline for a packet without any, the common case.
pub(crate) type Frames = SmallVec<[Frame; 1]>;

/// One outgoing packet and its encodings, made when first asked for.
pub(crate) struct Encoded<'a> {
    pub(crate) nsp: &'a str,
    pub(crate) body: &'a Body,
    pub(crate) ack: Option<u64>,
    engine: OnceCell<Frames>,
    proto1: OnceCell<Option<Utf8Bytes>>,
    legacy: OnceCell<Option<String>>,
}

impl<'a> Encoded<'a> {
    pub(crate) fn new(nsp: &'a str, body: &'a Body, ack: Option<u64>) -> Self {
        Encoded {
            nsp,
            body,
            ack,
            engine: OnceCell::new(),
            proto1: OnceCell::new(),
            legacy: OnceCell::new(),
        }
    }

    /// For Engine.IO clients (Socket.IO v4 and v5 encode events alike): the
    /// `4`-prefixed packet, then its attachments.
    pub(crate) fn engine(&self) -> &[Frame] {
        self.engine.get_or_init(|| match self.body {
            Body::Event { name, args } => engine_event(self.nsp, name, args, self.ack),
            Body::Message(message) => {
                // Sized for the whole packet: text is most messages, and a
                // string regrown for its last part is one more copy.
                let room = match message {
                    Message::Text(t) => t.len() + 2,
                    Message::Json(_) => 32,
                };
                let mut text = String::with_capacity(16 + self.nsp.len() + room);
                text.push('4');
                packet::encode_header(&mut text, Kind::Event, 0, self.nsp, self.ack);
                text.push_str("[\"message\",");
                match message {
                    Message::Text(t) => write_json_str(&mut text, t),
                    Message::Json(v) => write_json(&mut text, v),
                }
                text.push(']');
                smallvec::smallvec![conn::text(text)]
            }
        })
    }

    /// For protocol-1 clients: one packet, shared by every receiver. A
    /// message is `3` (text) or `4` (JSON); an event is `5`, asking for a
    /// data ack (`5:N+:...`) when the server wants an answer, since the
    /// 0.9 client answers only those. Binary arguments have no protocol-1
    /// form (`None`): that protocol has no binary, and a byte array made
    /// JSON would reach the client as something else than was sent.
    pub(crate) fn proto1(&self) -> Option<&Utf8Bytes> {
        self.proto1
            .get_or_init(|| {
                let endpoint = proto1_endpoint(self.nsp);
                // Sized for the whole packet when it is text (most are):
                // a string regrown for its last part is one more copy.
                let room = match self.body {
                    Body::Message(Message::Text(text)) => text.len(),
                    _ => 16,
                };
                let mut out = String::with_capacity(16 + endpoint.len() + room);
                match self.body {
                    Body::Message(Message::Text(text)) => {
                        proto1::encode_message(&mut out, None, endpoint, text);
                    }
                    Body::Message(Message::Json(value)) => {
                        proto1::encode_json(&mut out, None, endpoint, value);
                    }
                    Body::Event { name, args } => {
                        if !args.binary.is_empty() {
                            return None;
                        }
                        let id = self.ack.map(|id| MessageId { id, data_ack: true });
                        proto1::encode_event(&mut out, id, endpoint, name, &args.values);
                    }
                }
                Some(Utf8Bytes::from(out))
            })
            .as_ref()
    }

    /// For 0.6 clients: messages only. An event is a message when it is
    /// `message` with one JSON argument and no ack; anything else has no
    /// 0.6 form (`None`).
    pub(crate) fn legacy(&self) -> Option<&str> {
        self.legacy
            .get_or_init(|| {
                let message = match self.body {
                    Body::Message(message) => message.clone(),
                    Body::Event { name, args } => {
                        if name != "message"
                            || args.len() != 1
                            || !args.binary.is_empty()
                            || self.ack.is_some()
                        {
                            return None;
                        }
                        Message::from_value(args.values[0].clone())
                    }
                };
                let mut frames = String::new();
                message.encode(&mut frames);
                Some(frames)
            })
            .as_deref()
    }
}

/// `4` + an EVENT (or BINARY_EVENT) packet, then the attachments.
pub(crate) fn engine_event(nsp: &str, name: &str, args: &Args, ack: Option<u64>) -> Frames {
    let kind = if args.binary.is_empty() {
        Kind::Event
    } else {
        Kind::BinaryEvent
    };
    // Sized for the whole packet, roughly: a string regrown is a copy.
    let hint: usize = args
        .values
        .iter()
        .map(|value| match value {
            Value::String(text) => text.len() + 3,
            _ => 16,
        })
        .sum();
    let mut text = String::with_capacity(16 + nsp.len() + name.len() + hint);
    text.push('4');
    packet::encode_header(&mut text, kind, args.binary.len(), nsp, ack);
    text.push('[');
    write_json_str(&mut text, name);
    for value in &args.values {
        text.push(',');
        write_json(&mut text, value);
    }
    text.push(']');
    with_attachments(text, args)
}

/// The protocol-1 endpoint of a namespace: `""` for `/`.
pub(crate) fn proto1_endpoint(nsp: &str) -> &str {
    if nsp == "/" { "" } else { nsp }
}

/// A protocol-1 packet as the frame a socket holds back while `on_open`
/// runs.
pub(crate) fn text_frame(packet: &Utf8Bytes) -> Frame {
    crate::protocol::engine::Outgoing::Text(packet.clone())
}

/// A protocol-1 data ack, `6::[ep]:id+[args]`; `None` with binary
/// arguments, which protocol 1 cannot carry.
pub(crate) fn proto1_ack(nsp: &str, id: u64, args: &Args) -> Option<Frame> {
    if !args.binary.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(32);
    proto1::encode_ack(&mut out, proto1_endpoint(nsp), id, Some(&args.values));
    Some(conn::text(out))
}

/// `4` + an ACK (or BINARY_ACK) packet, then the attachments.
pub(crate) fn engine_ack(nsp: &str, id: u64, args: &Args) -> Frames {
    let kind = if args.binary.is_empty() {
        Kind::Ack
    } else {
        Kind::BinaryAck
    };
    let mut text = String::with_capacity(32);
    text.push('4');
    packet::encode_header(&mut text, kind, args.binary.len(), nsp, Some(id));
    write_json(&mut text, &args.values);
    with_attachments(text, args)
}

/// `4` + any other packet: CONNECT, DISCONNECT, CONNECT_ERROR.
pub(crate) fn engine_packet(kind: Kind, nsp: &str, data: Option<&Value>) -> Frame {
    let mut text = String::with_capacity(32);
    text.push('4');
    text.push_str(&packet::encode(kind, 0, nsp, None, data));
    conn::text(text)
}

fn with_attachments(text: String, args: &Args) -> Frames {
    let mut frames = Frames::with_capacity(1 + args.binary.len());
    frames.push(conn::text(text));
    frames.extend(args.binary.iter().cloned().map(conn::binary));
    frames
}

/// Appends a string's JSON text, escaped as serde_json escapes it (`"`,
/// `\\` and control characters), without serde_json's writer: text is most
/// of what is sent, and mostly needs no escape at all.
pub(crate) fn write_json_str(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(text.len() + 2);
    out.push('"');
    let bytes = text.as_bytes();
    // Past what needs no escape, the common case, in one go.
    let clean = json::plain_len(bytes);
    let mut plain = 0;
    for (at, &byte) in bytes.iter().enumerate().skip(clean) {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // `at` is an ASCII byte: a character boundary.
        out.push_str(&text[plain..at]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        } else {
            out.push_str(escape);
        }
        plain = at + 1;
    }
    out.push_str(&text[plain..]);
    out.push('"');
}

/// Appends a value's JSON text.
pub(crate) fn write_json<T: serde::Serialize + ?Sized>(out: &mut String, value: &T) {
    // Strings, numbers and Values always serialise.
    let _ = serde_json::to_writer(StringWriter(out), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn escaped(text: &str) -> String {
        let mut out = String::from("x");
        write_json_str(&mut out, text);
        out
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for text in [
            "",
            "plain",
            "q\"b\\s/",
            "\n\r\t\u{8}\u{c}",
            "\u{0}\u{1f}\u{7f}",
            "é✓😀\u{2028}",
            "eight ok then \" and \\ and \u{1}",
            "sixteen bytes ok, sixteen more!!\u{1f}",
            "\u{80}\u{ff}\u{100}\u{7ff}\u{800}\u{ffff}",
        ] {
            assert_eq!(
                escaped(text),
                format!("x{}", serde_json::to_string(text).unwrap())
            );
        }
    }

    proptest! {
            #![proptest_config(crate::testing::proptest_config(2_000))]

            #[test]
    fn any_string_is_escaped_as_serde_json_escapes_it(text in any::<String>()) {
                prop_assert_eq!(escaped(&text), format!("x{}", serde_json::to_string(&text).unwrap()));
            }

            #[test]
            fn strings_full_of_escapes_too(text in "[a-h\"\\\\\u{0}-\u{1f}\u{7f}é😀]{0,40}") {
                prop_assert_eq!(escaped(&text), format!("x{}", serde_json::to_string(&text).unwrap()));
            }
        }
}
