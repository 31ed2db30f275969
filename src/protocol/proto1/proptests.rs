//! Property tests: the decoders never panic on any input, and what the
//! encoders write decodes back to the same packets.
//!
//! Each property runs `PROPTEST_CASES` cases when that variable is set,
//! otherwise its default below (together over 100,000 per run).

use proptest::prelude::*;

use super::payload::MARK;
use super::*;
use crate::protocol::utf16;
use crate::testing::proptest_config as config;

/// Any character, weighted towards the ones the codec cares about:
/// separators, digits, the frame mark, and characters of every UTF-8
/// width (including ones that are surrogate pairs in UTF-16). One
/// mapped integer rather than a union of strategies: several times
/// faster.
fn character() -> impl Strategy<Value = char> {
    const SPECIAL: [char; 16] = [
        ':', ':', '+', '/', '?', '\u{fffd}', '0', '1', '9', '{', '"', 'é', '😀', '𝄞', '\0',
        '\u{FFFF}',
    ];
    any::<u32>().prop_map(|x| {
        let (kind, n) = (x % 8, x / 8);
        match kind {
            0..=3 => char::from(b' ' + (n % 95) as u8),
            4 | 5 => SPECIAL[n as usize % SPECIAL.len()],
            6 => char::from_u32(0x80 + n % 0x800).unwrap_or('\u{FFFD}'),
            _ => char::from_u32(n % 0x11_0000).unwrap_or('\u{1F600}'),
        }
    })
}

/// Arbitrary Unicode text, up to `max` characters.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(character(), 0..max).prop_map(String::from_iter)
}

/// Text without `:`, as endpoints and queries must be.
fn colonless(max: usize) -> impl Strategy<Value = String> {
    text(max).prop_map(|s| s.replace(':', ""))
}

/// `count` decimal digits derived from `seed`.
fn digits_from(mut seed: u64, count: usize) -> String {
    (0..count)
        .map(|_| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(b'0' + (seed >> 60) as u8 % 10)
        })
        .collect()
}

/// Text that looks like the protocol: types, separators, ids, endpoints,
/// JSON fragments, frame marks, numbers of every size, and arbitrary
/// characters.
fn wireish() -> impl Strategy<Value = String> {
    const PIECES: [&str; 16] = [
        ":",
        "::",
        ":::",
        "+",
        "/chat",
        "?x=1",
        "\u{fffd}",
        "{\"name\":",
        "\"ev\"",
        ",\"args\":",
        "[",
        "]",
        "{",
        "}",
        "\"",
        "😀",
    ];
    let piece = (any::<u32>(), character()).prop_map(|(x, c)| {
        let (kind, n) = (x % 8, x / 8);
        match kind {
            0..=2 => PIECES[n as usize % PIECES.len()].to_owned(),
            3 => (n % 9).to_string(),
            4 => (n % 1000).to_string(),
            5 => digits_from(u64::from(n), 9 + n as usize % 15),
            _ => String::from(c),
        }
    });
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// JSON values without floats (whose text form need not round-trip
/// bit for bit through serde_json without its `float_roundtrip` feature).
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text(12).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec((text(8), inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn args() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(json(), 0..4)
}

/// `""` or `/` and text without `:` (nor `?`, for connects).
fn endpoint(for_connect: bool) -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        colonless(10).prop_map(move |s| {
            let s = if for_connect { s.replace('?', "") } else { s };
            format!("/{s}")
        }),
    ]
}

fn message_id() -> impl Strategy<Value = Option<MessageId>> {
    prop::option::of(
        (any::<u64>(), any::<bool>()).prop_map(|(id, data_ack)| MessageId { id, data_ack }),
    )
}

/// Error texts that read back as text: not empty, not an index.
fn error_text(plus_allowed: bool) -> impl Strategy<Value = String> {
    text(10).prop_filter_map("an index or empty", move |s| {
        let s = if plus_allowed { s } else { s.replace('+', "") };
        (!matches!(s.as_str(), "" | "0" | "1" | "2")).then_some(s)
    })
}

fn reason() -> impl Strategy<Value = Option<ErrorReason>> {
    prop::option::of(prop_oneof![
        Just(ErrorReason::TransportNotSupported),
        Just(ErrorReason::ClientNotHandshaken),
        Just(ErrorReason::Unauthorized),
        error_text(false).prop_map(ErrorReason::Text),
    ])
}

fn advice() -> impl Strategy<Value = Option<ErrorAdvice>> {
    prop::option::of(prop_oneof![
        Just(ErrorAdvice::Reconnect),
        error_text(true).prop_map(ErrorAdvice::Text),
    ])
}

/// Every packet shape, with any contents the encoder promises to carry.
fn packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        endpoint(false).prop_map(|endpoint| Packet::Disconnect { endpoint }),
        (endpoint(true), prop::option::of(colonless(12)))
            .prop_map(|(endpoint, query)| Packet::Connect { endpoint, query }),
        Just(Packet::Heartbeat),
        (message_id(), endpoint(false), text(24))
            .prop_map(|(id, endpoint, data)| Packet::Message { id, endpoint, data }),
        (message_id(), endpoint(false), json()).prop_map(|(id, endpoint, data)| Packet::Json {
            id,
            endpoint,
            data
        }),
        (message_id(), endpoint(false), text(12), args()).prop_map(|(id, endpoint, name, args)| {
            Packet::Event {
                id,
                endpoint,
                name,
                args,
            }
        }),
        (endpoint(false), any::<u64>(), prop::option::of(args())).prop_map(
            |(endpoint, ack_id, args)| Packet::Ack {
                endpoint,
                ack_id,
                args,
            }
        ),
        (endpoint(false), reason(), advice()).prop_map(|(endpoint, reason, advice)| {
            Packet::Error {
                endpoint,
                reason,
                advice,
            }
        }),
        Just(Packet::Noop),
    ]
}

fn encoded(packet: &Packet) -> String {
    let mut out = String::new();
    encode_packet(packet, &mut out);
    out
}

/// Inserts `junk` before the character at `at`, or deletes or replaces
/// that character, or cuts the text there.
fn mutate(wire: &str, at: prop::sample::Index, how: u8, junk: &str) -> String {
    let boundaries: Vec<usize> = wire
        .char_indices()
        .map(|(i, _)| i)
        .chain([wire.len()])
        .collect();
    let i = at.index(boundaries.len());
    let (head, tail) = wire.split_at(boundaries[i]);
    let next = boundaries.get(i + 1).map_or(tail, |&end| &wire[end..]);
    match how % 4 {
        0 => format!("{head}{junk}{tail}"),
        1 => format!("{head}{next}"),
        2 => format!("{head}{junk}{next}"),
        _ => head.to_owned(),
    }
}

/// A packet as a hostile peer might write it: encoded, then changed in
/// one or two places.
fn near_valid_packet() -> impl Strategy<Value = String> {
    let change = || (any::<prop::sample::Index>(), any::<u8>(), wireish());
    (packet(), change(), prop::option::of(change())).prop_map(|(packet, first, second)| {
        let wire = mutate(&encoded(&packet), first.0, first.1, &first.2);
        match second {
            Some((at, how, junk)) => mutate(&wire, at, how, &junk),
            None => wire,
        }
    })
}

/// One frame whose length field is `length`, whatever `packet` holds.
fn with_length(packet: &str, length: &str) -> String {
    format!("{MARK}{length}{MARK}{packet}")
}

/// One frame as a hostile peer might write it: right, or wrong in one
/// of the ways a length can be wrong.
fn near_valid_frame() -> impl Strategy<Value = String> {
    let packet = prop_oneof![packet().prop_map(|p| encoded(&p)), text(24), wireish()];
    (packet, 0usize..11, any::<u64>(), any::<u32>()).prop_map(|(packet, kind, n, seed)| {
        let units = utf16::len(&packet);
        match kind {
            0 | 1 => with_length(&packet, &units.to_string()),
            2 => with_length(
                &packet,
                &units.saturating_add(1 + n as usize % 4).to_string(),
            ),
            3 => with_length(
                &packet,
                &units.saturating_sub(1 + n as usize % 4).to_string(),
            ),
            4 => with_length(&packet, &digits_from(n, 9 + seed as usize % 15)),
            5 => with_length(&packet, &n.to_string()),
            6 => with_length(&packet, ""),
            7 => format!("{MARK}{units}{packet}"),
            8 => format!("{units}{MARK}{packet}"),
            9 => format!("{MARK}{units}:{packet}"),
            _ => packet,
        }
    })
}

/// Texts for a batch, heavy in frame marks and non-BMP characters.
fn markish_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => character().prop_map(String::from),
        1 => Just(MARK.to_string()),
        1 => Just("𝄞".to_owned()),
        1 => (0u32..100).prop_map(|n| n.to_string()),
    ];
    prop::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(config(20_000))]

    #[test]
    fn decode_packet_never_panics_on_any_text(input in text(64)) {
        let _ = decode_packet(&input);
    }

    #[test]
    fn decode_packet_never_panics_on_protocol_like_text(input in wireish()) {
        let _ = decode_packet(&input);
    }

    #[test]
    fn decode_packet_never_panics_on_near_valid_packets(input in near_valid_packet()) {
        let _ = decode_packet(&input);
    }

    #[test]
    fn packets_round_trip(packet in packet()) {
        prop_assert_eq!(decode_packet(&encoded(&packet)).unwrap(), packet);
    }
}

proptest! {
    #![proptest_config(config(10_000))]

    #[test]
    fn decode_payload_never_panics_on_any_text(
        input in prop_oneof![text(64), wireish()],
    ) {
        if let Ok(packets) = decode_payload(&input) {
            for packet in packets {
                let _ = decode_packet(packet);
            }
        }
    }

    #[test]
    fn decode_payload_never_panics_on_near_valid_frames(
        frames in prop::collection::vec(near_valid_frame(), 0..5),
    ) {
        let _ = decode_payload(&frames.concat());
    }

    #[test]
    fn decode_payload_never_panics_on_cut_or_spliced_batches(
        packets in prop::collection::vec(packet(), 1..4),
        cut in any::<prop::sample::Index>(),
        junk in wireish(),
    ) {
        let wires: Vec<String> = packets.iter().map(encoded).collect();
        let wire = encode_payload(&wires);
        let cut = mutate(&wire, cut, 3, "");
        let _ = decode_payload(&cut);
        let spliced = format!("{cut}{junk}{}", &wire[cut.len()..]);
        let _ = decode_payload(&spliced);
    }

    #[test]
    fn batches_of_packets_round_trip(
        packets in prop::collection::vec(packet(), 0..5),
    ) {
        let wires: Vec<String> = packets.iter().map(encoded).collect();
        let payload = encode_payload(&wires);
        let decoded: Vec<Packet> = decode_payload(&payload)
            .unwrap()
            .into_iter()
            .map(|wire| decode_packet(wire).unwrap())
            .collect();
        prop_assert_eq!(decoded, packets);
    }

    #[test]
    fn batches_of_any_text_round_trip(
        texts in prop::collection::vec(
            prop_oneof![markish_text(), any::<String>()],
            0..5,
        ),
    ) {
        let payload = encode_payload(&texts);
        prop_assert_eq!(decode_payload(&payload).unwrap(), texts);
    }
}
