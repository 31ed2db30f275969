//! The Engine.IO wire codec, versions 3 and 4, without any IO.
//!
//! ```text
//! packet   = TYPE [DATA]          TYPE: 0 open, 1 close, 2 ping, 3 pong,
//!                                       4 message, 5 upgrade, 6 noop
//! binary   = v4: the bytes        v3: 0x04 then the bytes (WebSocket)
//!            "b" BASE64 (v4) | "b4" BASE64 (v3)   in text form
//! payload  = v4: packets joined by U+001E
//!            v3: (LEN ":" packet)+, LEN in UTF-16 code units
//!            v3 binary: (0|1 DIGIT-BYTES 0xFF CONTENT)+
//! ```
//!
//! The judges of this format are the real clients (engine.io-client 6 for
//! v4, 3.5 for v3); see `PROTOCOL-CURRENT.md` in the design notes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;

use super::utf16;

/// The record separator between the packets of a v4 polling payload.
pub(crate) const SEPARATOR: char = '\u{1e}';
/// A v3 length prefix with more digits than this is refused outright.
const MAX_LEN_DIGITS: usize = 10;

/// The two Engine.IO protocol revisions served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Version {
    /// `EIO=3`: socket.io-client 1.x/2.x (engine.io-client 3.x).
    V3,
    /// `EIO=4`: socket.io-client 3.x/4.x (engine.io-client 4.x-6.x).
    V4,
}

impl Version {
    /// The version named by an `EIO` query value: exactly `3` or `4`.
    pub(crate) fn from_query(value: &str) -> Option<Version> {
        match value {
            "3" => Some(Version::V3),
            "4" => Some(Version::V4),
            _ => None,
        }
    }
}

/// One decoded packet from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Packet {
    /// `0`: only a server sends it.
    Open,
    /// `1`: the client is leaving.
    Close,
    /// `2` with its data (`probe` during an upgrade).
    Ping(String),
    /// `3` with its data.
    Pong(String),
    /// `4` text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
    /// `5`: the client switches to the probed transport.
    Upgrade,
    /// `6`.
    Noop,
}

/// A payload or packet that is not Engine.IO. A client that sends one has
/// its session closed (node answers a polling POST with `400`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineDecodeError {
    /// A packet with no type character.
    #[error("empty packet")]
    Empty,
    /// The type character is not `0`-`6` (or `b` for base64 binary).
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// Base64 binary that does not decode.
    #[error("invalid base64 in a binary packet")]
    BadBase64,
    /// A v3 binary packet whose type byte is not a message.
    #[error("binary packet of type {0} (only messages carry binary)")]
    BinaryType(u8),
    /// A v3 length prefix that is missing, not decimal, or too long.
    #[error("bad length prefix at byte {offset}")]
    BadLength {
        /// Byte offset of the packet in the payload.
        offset: usize,
    },
    /// A v3 length that runs past the end of the payload or splits a
    /// character.
    #[error("length at byte {offset} does not fit the payload")]
    Truncated {
        /// Byte offset of the packet in the payload.
        offset: usize,
    },
    /// A v3 binary payload's text part is not UTF-8.
    #[error("text packet at byte {offset} is not UTF-8")]
    NotUtf8 {
        /// Byte offset of the packet in the payload.
        offset: usize,
    },
}

/// One packet on its way to a client, as the session's outbox holds it.
///
/// Text is the whole packet (type digit included); binary is the message's
/// bytes alone, framed per transport and version when sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outgoing<T> {
    /// A text packet, e.g. `4hello` or `2`.
    Text(T),
    /// A binary message.
    Binary(Bytes),
}

/// The open packet's JSON: exactly the five keys the v4 suite checks.
pub(crate) fn open_packet(
    sid: &str,
    upgrades: &[&str],
    ping_interval_ms: u128,
    ping_timeout_ms: u128,
    max_payload: usize,
) -> String {
    let json = serde_json::json!({
        "sid": sid,
        "upgrades": upgrades,
        "pingInterval": ping_interval_ms,
        "pingTimeout": ping_timeout_ms,
        "maxPayload": max_payload,
    });
    format!("0{json}")
}

/// Decodes one text packet (a WebSocket text frame, or one packet of a
/// polling payload).
pub(crate) fn decode_text(packet: &str, version: Version) -> Result<Packet, EngineDecodeError> {
    let mut chars = packet.chars();
    let kind = chars.next().ok_or(EngineDecodeError::Empty)?;
    let data = chars.as_str();
    Ok(match kind {
        '0' => Packet::Open,
        '1' => Packet::Close,
        '2' => Packet::Ping(data.to_owned()),
        '3' => Packet::Pong(data.to_owned()),
        '4' => Packet::Text(data.to_owned()),
        '5' => Packet::Upgrade,
        '6' => Packet::Noop,
        'b' => {
            let base64 = match version {
                Version::V4 => data,
                Version::V3 => match data.strip_prefix('4') {
                    Some(rest) => rest,
                    None => {
                        let kind = data.chars().next().ok_or(EngineDecodeError::Empty)?;
                        return Err(match kind.to_digit(10) {
                            Some(digit) => EngineDecodeError::BinaryType(digit as u8),
                            None => EngineDecodeError::UnknownType(kind),
                        });
                    }
                },
            };
            let bytes = BASE64
                .decode(base64)
                .map_err(|_| EngineDecodeError::BadBase64)?;
            Packet::Binary(Bytes::from(bytes))
        }
        other => return Err(EngineDecodeError::UnknownType(other)),
    })
}

/// [`decode_text`] of an owned packet: a message keeps the text's own
/// allocation, without its type character.
pub(crate) fn decode_text_owned(
    mut packet: String,
    version: Version,
) -> Result<Packet, EngineDecodeError> {
    if packet.starts_with('4') {
        packet.remove(0);
        return Ok(Packet::Text(packet));
    }
    decode_text(&packet, version)
}

/// Decodes a binary WebSocket frame: v4 carries the message bytes, v3 a
/// type byte (`4`) before them.
pub(crate) fn decode_binary_frame(
    mut frame: Bytes,
    version: Version,
) -> Result<Packet, EngineDecodeError> {
    match version {
        Version::V4 => Ok(Packet::Binary(frame)),
        Version::V3 => match frame.first() {
            Some(4) => Ok(Packet::Binary(frame.split_off(1))),
            Some(&other) => Err(EngineDecodeError::BinaryType(other)),
            None => Err(EngineDecodeError::Empty),
        },
    }
}

/// Decodes a v4 polling payload: packets joined by U+001E. Stops at the
/// first bad packet, which fails the whole payload.
pub(crate) fn decode_payload_v4(payload: &str) -> Result<Vec<Packet>, EngineDecodeError> {
    payload
        .split(SEPARATOR)
        .map(|packet| decode_text(packet, Version::V4))
        .collect()
}

/// Decodes a v3 text payload: `LEN:packet` repeated, LEN in UTF-16 units.
pub(crate) fn decode_payload_v3(payload: &str) -> Result<Vec<Packet>, EngineDecodeError> {
    let mut packets = Vec::new();
    let mut rest = payload;
    if rest.is_empty() {
        return Err(EngineDecodeError::Empty);
    }
    while !rest.is_empty() {
        let offset = payload.len() - rest.len();
        let colon = rest
            .find(':')
            .filter(|&at| at > 0 && at <= MAX_LEN_DIGITS)
            .ok_or(EngineDecodeError::BadLength { offset })?;
        let digits = &rest[..colon];
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EngineDecodeError::BadLength { offset });
        }
        let units: usize = digits
            .parse()
            .map_err(|_| EngineDecodeError::BadLength { offset })?;
        let body = &rest[colon + 1..];
        let end =
            utf16::offset(body, units).map_err(|_| EngineDecodeError::Truncated { offset })?;
        packets.push(decode_text(&body[..end], Version::V3)?);
        rest = &body[end..];
    }
    Ok(packets)
}

/// Decodes a v3 binary payload (what a v3 browser client POSTs as
/// `application/octet-stream` when it has binary to send).
pub(crate) fn decode_payload_v3_binary(payload: &[u8]) -> Result<Vec<Packet>, EngineDecodeError> {
    let mut packets = Vec::new();
    let mut at = 0;
    if payload.is_empty() {
        return Err(EngineDecodeError::Empty);
    }
    while at < payload.len() {
        let offset = at;
        let is_binary = match payload[at] {
            0 => false,
            1 => true,
            _ => return Err(EngineDecodeError::BadLength { offset }),
        };
        at += 1;
        let mut len: usize = 0;
        let mut digits = 0;
        loop {
            let byte = *payload
                .get(at)
                .ok_or(EngineDecodeError::Truncated { offset })?;
            at += 1;
            if byte == 0xFF {
                break;
            }
            if byte > 9 || digits == MAX_LEN_DIGITS {
                return Err(EngineDecodeError::BadLength { offset });
            }
            digits += 1;
            len = len * 10 + usize::from(byte);
        }
        if digits == 0 {
            return Err(EngineDecodeError::BadLength { offset });
        }
        let end = at
            .checked_add(len)
            .filter(|&end| end <= payload.len())
            .ok_or(EngineDecodeError::Truncated { offset })?;
        let content = &payload[at..end];
        at = end;
        if is_binary {
            let frame = Bytes::copy_from_slice(content);
            packets.push(decode_binary_frame(frame, Version::V3)?);
        } else {
            let text =
                std::str::from_utf8(content).map_err(|_| EngineDecodeError::NotUtf8 { offset })?;
            packets.push(decode_text(text, Version::V3)?);
        }
    }
    Ok(packets)
}

/// How binary messages travel on one transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryMode {
    /// As binary (v4 polling still uses base64: its payloads are text).
    Native,
    /// As base64 text (`b64=1`, JSONP, clients without binary support).
    Base64,
}

/// A binary message as text: `b<base64>` (v4) or `b4<base64>` (v3).
pub(crate) fn binary_as_text(data: &[u8], version: Version, out: &mut String) {
    out.push('b');
    if version == Version::V3 {
        out.push('4');
    }
    BASE64.encode_string(data, out);
}

/// What a polling GET answers: a text payload, or (v3, when binary is in it
/// and the client takes binary) a binary one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Payload {
    /// `text/plain`.
    Text(String),
    /// `application/octet-stream`.
    Binary(Vec<u8>),
}

/// Encodes packets as one polling payload.
pub(crate) fn encode_payload<T: AsRef<str>>(
    packets: &[Outgoing<T>],
    version: Version,
    mode: BinaryMode,
) -> Payload {
    match version {
        Version::V4 => {
            let mut out = String::with_capacity(estimate(packets));
            for (i, packet) in packets.iter().enumerate() {
                if i > 0 {
                    out.push(SEPARATOR);
                }
                match packet {
                    Outgoing::Text(text) => out.push_str(text.as_ref()),
                    Outgoing::Binary(data) => binary_as_text(data, Version::V4, &mut out),
                }
            }
            Payload::Text(out)
        }
        Version::V3 => {
            let has_binary = packets.iter().any(|p| matches!(p, Outgoing::Binary(_)));
            if has_binary && mode == BinaryMode::Native {
                Payload::Binary(encode_payload_v3_binary(packets))
            } else {
                Payload::Text(encode_payload_v3_text(packets))
            }
        }
    }
}

fn estimate<T: AsRef<str>>(packets: &[Outgoing<T>]) -> usize {
    packets
        .iter()
        .map(|p| match p {
            Outgoing::Text(text) => text.as_ref().len() + 12,
            Outgoing::Binary(data) => data.len() * 4 / 3 + 16,
        })
        .sum()
}

fn encode_payload_v3_text<T: AsRef<str>>(packets: &[Outgoing<T>]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(estimate(packets));
    let mut scratch = String::new();
    for packet in packets {
        let text = match packet {
            Outgoing::Text(text) => text.as_ref(),
            Outgoing::Binary(data) => {
                scratch.clear();
                binary_as_text(data, Version::V3, &mut scratch);
                &scratch
            }
        };
        // Writing into a String cannot fail.
        let _ = write!(out, "{}:", utf16::len(text));
        out.push_str(text);
    }
    out
}

fn encode_payload_v3_binary<T: AsRef<str>>(packets: &[Outgoing<T>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(estimate(packets));
    for packet in packets {
        let (kind, prefix, content): (u8, &[u8], &[u8]) = match packet {
            Outgoing::Text(text) => (0, &[], text.as_ref().as_bytes()),
            Outgoing::Binary(data) => (1, &[4], data),
        };
        out.push(kind);
        let len = prefix.len() + content.len();
        out.extend(len.to_string().bytes().map(|digit| digit - b'0'));
        out.push(0xFF);
        out.extend_from_slice(prefix);
        out.extend_from_slice(content);
    }
    out
}

/// A binary message as a v3 WebSocket binary frame: the type byte first.
pub(crate) fn binary_frame_v3(data: &[u8]) -> Bytes {
    let mut frame = Vec::with_capacity(data.len() + 1);
    frame.push(4);
    frame.extend_from_slice(data);
    Bytes::from(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Out = Outgoing<&'static str>;

    fn bin(bytes: &[u8]) -> Packet {
        Packet::Binary(Bytes::copy_from_slice(bytes))
    }

    #[test]
    fn open_packet_has_exactly_the_five_keys() {
        let open = open_packet("abc", &["websocket"], 25000, 20000, 1_000_000);
        assert_eq!(
            open,
            r#"0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
        let ws = open_packet("abc", &[], 300, 200, 10);
        assert!(ws.contains(r#""upgrades":[]"#));
    }

    #[test]
    fn decodes_every_text_packet() {
        let cases: [(&str, Packet); 10] = [
            ("0", Packet::Open),
            ("1", Packet::Close),
            ("2", Packet::Ping(String::new())),
            ("2probe", Packet::Ping("probe".into())),
            ("3probe", Packet::Pong("probe".into())),
            ("4hello", Packet::Text("hello".into())),
            ("4", Packet::Text(String::new())),
            ("4€😀", Packet::Text("€😀".into())),
            ("5", Packet::Upgrade),
            ("6", Packet::Noop),
        ];
        for (wire, packet) in cases {
            assert_eq!(decode_text(wire, Version::V4), Ok(packet.clone()), "{wire}");
            assert_eq!(decode_text(wire, Version::V3), Ok(packet), "{wire}");
        }
        assert_eq!(
            decode_text("bAQIDBA==", Version::V4),
            Ok(bin(&[1, 2, 3, 4]))
        );
        assert_eq!(
            decode_text("b4AQIDBA==", Version::V3),
            Ok(bin(&[1, 2, 3, 4]))
        );
    }

    #[test]
    fn rejects_bad_text_packets() {
        for (wire, version) in [
            ("", Version::V4),
            ("7", Version::V4),
            ("x", Version::V4),
            ("b!!!", Version::V4),
            ("b", Version::V3),
            ("b2AQ==", Version::V3),
            ("bx", Version::V3),
            ("b4@@", Version::V3),
        ] {
            assert!(decode_text(wire, version).is_err(), "{wire:?}");
        }
    }

    #[test]
    fn decodes_binary_frames() {
        let frame = Bytes::from_static(&[1, 2, 3]);
        assert_eq!(
            decode_binary_frame(frame.clone(), Version::V4),
            Ok(bin(&[1, 2, 3]))
        );
        assert_eq!(
            decode_binary_frame(Bytes::from_static(&[4, 1, 2, 3]), Version::V3),
            Ok(bin(&[1, 2, 3]))
        );
        assert!(decode_binary_frame(frame, Version::V3).is_err());
        assert!(decode_binary_frame(Bytes::new(), Version::V3).is_err());
        assert_eq!(binary_frame_v3(&[9]), Bytes::from_static(&[4, 9]));
    }

    #[test]
    fn v4_payloads_both_ways() {
        let packets = decode_payload_v4("4hello\u{1e}bAQIDBA==\u{1e}2").unwrap();
        assert_eq!(
            packets,
            vec![
                Packet::Text("hello".into()),
                bin(&[1, 2, 3, 4]),
                Packet::Ping(String::new())
            ]
        );
        let out: [Out; 2] = [
            Outgoing::Text("4hello"),
            Outgoing::Binary(Bytes::from_static(&[1, 2, 3, 4])),
        ];
        assert_eq!(
            encode_payload(&out, Version::V4, BinaryMode::Native),
            Payload::Text("4hello\u{1e}bAQIDBA==".into())
        );
        assert!(decode_payload_v4("").is_err());
        assert!(decode_payload_v4("4a\u{1e}\u{1e}4b").is_err());
        assert!(decode_payload_v4("4a\u{1e}9").is_err());
    }

    #[test]
    fn v3_text_payloads_count_utf16_units() {
        let packets = decode_payload_v3("6:4hello2:4€10:b4AQIDBA==3:4😀").unwrap();
        assert_eq!(
            packets,
            vec![
                Packet::Text("hello".into()),
                Packet::Text("€".into()),
                bin(&[1, 2, 3, 4]),
                Packet::Text("😀".into()),
            ]
        );
        let out: [Out; 3] = [
            Outgoing::Text("4hello"),
            Outgoing::Text("4€"),
            Outgoing::Binary(Bytes::from_static(&[1, 2, 3, 4])),
        ];
        assert_eq!(
            encode_payload(&out, Version::V3, BinaryMode::Base64),
            Payload::Text("6:4hello2:4€10:b4AQIDBA==".into())
        );
    }

    #[test]
    fn v3_text_payloads_that_lie_are_errors() {
        for wire in [
            "",
            "7:4hello",
            "5:4hello",
            ":4",
            "x:4a",
            "2",
            "2:4",
            "99999999999:4",
            "1:4😀",
            "2:4😀",
            "-1:4",
            "1:",
            "1:9",
            "+2:4a",
        ] {
            assert!(decode_payload_v3(wire).is_err(), "{wire:?}");
        }
    }

    #[test]
    fn v3_binary_payloads_both_ways() {
        let wire = [
            0x00, 0x06, 0xFF, b'4', b'h', b'e', b'l', b'l', b'o', 0x01, 0x05, 0xFF, 0x04, 0x01,
            0x02, 0x03, 0x04,
        ];
        let out: [Out; 2] = [
            Outgoing::Text("4hello"),
            Outgoing::Binary(Bytes::from_static(&[1, 2, 3, 4])),
        ];
        assert_eq!(
            encode_payload(&out, Version::V3, BinaryMode::Native),
            Payload::Binary(wire.to_vec())
        );
        assert_eq!(
            decode_payload_v3_binary(&wire).unwrap(),
            vec![Packet::Text("hello".into()), bin(&[1, 2, 3, 4])]
        );
        // Text only: the text form, even when the client takes binary.
        let text_only: [Out; 1] = [Outgoing::Text("4€")];
        assert_eq!(
            encode_payload(&text_only, Version::V3, BinaryMode::Native),
            Payload::Text("2:4€".into())
        );
        // Lengths of ten bytes or more take several digit bytes; UTF-8 bytes count.
        let long = "4€€€€";
        let wire = encode_payload_v3_binary(&[Outgoing::Text(long)]);
        assert_eq!(&wire[..4], &[0, 1, 3, 0xFF]);
        assert_eq!(
            decode_payload_v3_binary(&wire).unwrap(),
            vec![Packet::Text("€€€€".into())]
        );
    }

    #[test]
    fn v3_binary_payloads_that_lie_are_errors() {
        let cases: [&[u8]; 9] = [
            &[],
            &[2, 1, 0xFF, b'4'],
            &[0, 0xFF, b'4'],
            &[0, 5, 0xFF, b'4'],
            &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF],
            &[0, 10, 0xFF, b'4'],
            &[0, 1],
            &[0, 2, 0xFF, b'4', 0xC3],
            &[1, 2, 0xFF, 3, 1],
        ];
        for wire in cases {
            assert!(decode_payload_v3_binary(wire).is_err(), "{wire:?}");
        }
    }
}

/// Property tests: decoding never panics on arbitrary or near-valid
/// input, and what the server encodes, a client's decoder reads back.
#[cfg(test)]
mod proptests {
    use super::*;
    use crate::testing::proptest_config as config;
    use proptest::prelude::*;

    fn character() -> impl Strategy<Value = char> {
        const SPECIAL: [char; 10] = [
            '0', '4', 'b', ':', '\u{1e}', '\u{fffd}', '😀', '€', '\u{2028}', '\0',
        ];
        (any::<u32>()).prop_map(|x| {
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

    /// Text shaped like payloads: digits, colons, separators, type digits.
    fn wireish() -> impl Strategy<Value = String> {
        const PIECES: [&str; 10] = [
            "4",
            "b4",
            "b",
            ":",
            "\u{1e}",
            "2probe",
            "99999999999",
            "AQID",
            "==",
            "😀",
        ];
        let piece = (any::<u32>(), character()).prop_map(|(x, c)| match x % 4 {
            0 | 1 => PIECES[(x / 4) as usize % PIECES.len()].to_owned(),
            2 => ((x / 4) % 40).to_string(),
            _ => String::from(c),
        });
        prop::collection::vec(piece, 0..24).prop_map(|p| p.concat())
    }

    fn outgoing() -> impl Strategy<Value = Outgoing<String>> {
        prop_oneof![
            // A text packet holding the separator cannot travel in a v4
            // payload; the socket layer never makes one (JSON escapes it).
            text(24).prop_map(|t| Outgoing::Text(format!("4{}", t.replace(SEPARATOR, "x")))),
            prop::collection::vec(any::<u8>(), 0..40)
                .prop_map(|b| Outgoing::Binary(Bytes::from(b))),
        ]
    }

    fn expected(packets: &[Outgoing<String>]) -> Vec<Packet> {
        packets
            .iter()
            .map(|p| match p {
                Outgoing::Text(t) => Packet::Text(t[1..].to_owned()),
                Outgoing::Binary(b) => Packet::Binary(b.clone()),
            })
            .collect()
    }

    proptest! {
        #![proptest_config(config(20_000))]

        #[test]
        fn decoders_never_panic_on_any_text(input in text(64)) {
            let _ = decode_payload_v4(&input);
            let _ = decode_payload_v3(&input);
            let _ = decode_text(&input, Version::V3);
            let _ = decode_payload_v3_binary(input.as_bytes());
        }

        #[test]
        fn decoders_never_panic_on_payload_like_text(input in wireish()) {
            let _ = decode_payload_v4(&input);
            let _ = decode_payload_v3(&input);
            let _ = decode_payload_v3_binary(input.as_bytes());
        }

        #[test]
        fn binary_decoder_never_panics_on_any_bytes(
            input in prop::collection::vec(any::<u16>(), 0..64),
        ) {
            // Weighted towards the bytes the format gives meaning to.
            let input: Vec<u8> = input
                .into_iter()
                .map(|x| match x % 4 {
                    0 => [0, 1, 0xFF, 4][usize::from(x / 4) % 4],
                    1 => (x / 4 % 10) as u8,
                    _ => (x >> 8) as u8,
                })
                .collect();
            let _ = decode_payload_v3_binary(&input);
            let _ = decode_binary_frame(Bytes::from(input), Version::V3);
        }

        #[test]
        fn v4_payloads_round_trip(packets in prop::collection::vec(outgoing(), 1..5)) {
            let Payload::Text(wire) = encode_payload(&packets, Version::V4, BinaryMode::Native) else {
                return Err(TestCaseError::fail("v4 payloads are text"));
            };
            prop_assert_eq!(decode_payload_v4(&wire).unwrap(), expected(&packets));
        }

        #[test]
        fn v3_payloads_round_trip_in_both_forms(packets in prop::collection::vec(outgoing(), 1..5)) {
            for mode in [BinaryMode::Native, BinaryMode::Base64] {
                let decoded = match encode_payload(&packets, Version::V3, mode) {
                    Payload::Text(wire) => decode_payload_v3(&wire).unwrap(),
                    Payload::Binary(wire) => decode_payload_v3_binary(&wire).unwrap(),
                };
                prop_assert_eq!(decoded, expected(&packets));
            }
        }

        #[test]
        fn cut_v3_payloads_never_panic(
            packets in prop::collection::vec(outgoing(), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            if let Payload::Binary(wire) = encode_payload(&packets, Version::V3, BinaryMode::Native) {
                let at = cut.index(wire.len() + 1);
                let _ = decode_payload_v3_binary(&wire[..at]);
            }
            if let Payload::Text(wire) = encode_payload(&packets, Version::V3, BinaryMode::Base64) {
                let at = cut.index(wire.len() + 1);
                if wire.is_char_boundary(at) {
                    let _ = decode_payload_v3(&wire[..at]);
                }
            }
        }
    }
}
