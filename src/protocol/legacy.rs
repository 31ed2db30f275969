//! The Socket.IO 0.6 wire codec, without any IO.
//!
//! ```text
//! message = "~m~" LEN "~m~" DATA
//! DATA    = "~h~" NUMBER       heartbeat
//!         | "~j~" JSON-TEXT    JSON value
//!         | anything else      plain text
//! ```
//!
//! `LEN` counts UTF-16 code units, the way JavaScript's `String.length` does,
//! because the judge of this format is the browser client. Several messages
//! may follow each other in one payload (a batch).

use serde_json::Value;

use super::utf16;
use crate::error::DecodeError;

const MARKER: &str = "~m~";
const JSON: &str = "~j~";
const HEARTBEAT: &str = "~h~";
/// A length with more digits than this cannot describe a payload we accept.
const MAX_LEN_DIGITS: usize = 10;

/// One decoded message of a payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Frame {
    /// Plain text, sent as is.
    Text(String),
    /// A JSON value (`~j~`).
    Json(Value),
    /// A heartbeat (`~h~N`): the client's echo of the server's beat `N`.
    Heartbeat(u64),
}

/// Appends one framed message carrying `data` verbatim.
fn push_framed(out: &mut String, prefix: &str, data: &str) {
    let len = utf16::len(prefix) + utf16::len(data);
    out.reserve(prefix.len() + data.len() + 2 * MARKER.len() + 20);
    out.push_str(MARKER);
    push_decimal(out, len);
    out.push_str(MARKER);
    out.push_str(prefix);
    out.push_str(data);
}

/// Appends `n` in decimal, without the formatting machinery (this runs
/// for every message sent).
fn push_decimal(out: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &digit in &digits[start..] {
        out.push(char::from(digit));
    }
}

/// Appends a text message.
pub(crate) fn encode_text(out: &mut String, text: &str) {
    push_framed(out, "", text);
}

/// Appends a JSON message (`~j~`).
pub(crate) fn encode_json(out: &mut String, value: &Value) {
    push_framed(out, JSON, &value.to_string());
}

/// Appends a heartbeat `~h~n`.
pub(crate) fn encode_heartbeat(out: &mut String, n: u64) {
    push_framed(out, HEARTBEAT, &n.to_string());
}

/// Decodes a whole payload into its messages.
///
/// An empty payload holds no messages. Any malformation (missing markers,
/// bad or oversized lengths, a length past the end of the payload or through
/// the middle of a character, invalid JSON after `~j~`, a heartbeat that is
/// not a number) is an error; this function never panics.
pub(crate) fn decode(payload: &str) -> Result<Vec<Frame>, DecodeError> {
    let mut frames = Vec::new();
    let mut rest = payload;
    while !rest.is_empty() {
        let offset = payload.len() - rest.len();
        let (data, after) = split_message(rest, offset)?;
        frames.push(decode_data(data, offset)?);
        rest = after;
    }
    Ok(frames)
}

/// Splits the first framed message off `input`: returns its data and the rest.
fn split_message(input: &str, offset: usize) -> Result<(&str, &str), DecodeError> {
    let body = input
        .strip_prefix(MARKER)
        .ok_or(DecodeError::MissingMarker { offset })?;
    let digits_end = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    let digits = &body[..digits_end];
    if digits.is_empty() {
        return Err(DecodeError::BadLength { offset });
    }
    if digits.len() > MAX_LEN_DIGITS {
        return Err(DecodeError::LengthTooLarge { offset });
    }
    let len: usize = digits
        .parse()
        .map_err(|_| DecodeError::LengthTooLarge { offset })?;
    let data_and_rest =
        body[digits_end..]
            .strip_prefix(MARKER)
            .ok_or(DecodeError::MissingMarker {
                offset: offset + MARKER.len() + digits_end,
            })?;
    let end = utf16::offset(data_and_rest, len).map_err(|short| match short {
        utf16::Short::SplitsCharacter => DecodeError::SplitCharacter { offset },
        utf16::Short::Truncated { available } => DecodeError::Truncated {
            offset,
            expected: len,
            available,
        },
    })?;
    Ok(data_and_rest.split_at(end))
}

fn decode_data(data: &str, offset: usize) -> Result<Frame, DecodeError> {
    if let Some(json) = data.strip_prefix(JSON) {
        serde_json::from_str(json)
            .map(Frame::Json)
            .map_err(|source| DecodeError::BadJson { offset, source })
    } else if let Some(beat) = data.strip_prefix(HEARTBEAT) {
        beat.parse()
            .map(Frame::Heartbeat)
            .map_err(|_| DecodeError::BadHeartbeat { offset })
    } else {
        Ok(Frame::Text(data.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(s: &str) -> String {
        let mut out = String::new();
        encode_text(&mut out, s);
        out
    }

    #[test]
    fn encodes_with_utf16_lengths() {
        let cases = [
            ("", "~m~0~m~"),
            ("hello", "~m~5~m~hello"),
            ("é", "~m~1~m~é"),
            ("😀", "~m~2~m~😀"),
            ("a😀b", "~m~4~m~a😀b"),
            ("日本語", "~m~3~m~日本語"),
            ("~m~", "~m~3~m~~m~"),
        ];
        for (input, wire) in cases {
            assert_eq!(text(input), wire, "encoding {input:?}");
        }
    }

    #[test]
    fn encodes_lengths_of_any_number_of_digits() {
        for len in [9, 10, 99, 100, 1000, 12345] {
            let data = "x".repeat(len);
            assert_eq!(text(&data), format!("~m~{len}~m~{data}"));
        }
        let mut out = String::new();
        push_decimal(&mut out, usize::MAX);
        assert_eq!(out, usize::MAX.to_string());
    }

    #[test]
    fn encodes_json_and_heartbeats() {
        let mut out = String::new();
        encode_json(&mut out, &json!({"a": "é"}));
        assert_eq!(out, "~m~12~m~~j~{\"a\":\"é\"}");
        out.clear();
        encode_heartbeat(&mut out, 42);
        assert_eq!(out, "~m~5~m~~h~42");
    }

    #[test]
    fn decodes_table() {
        let cases: Vec<(&str, Vec<Frame>)> = vec![
            ("", vec![]),
            ("~m~0~m~", vec![Frame::Text(String::new())]),
            ("~m~5~m~hello", vec![Frame::Text("hello".into())]),
            ("~m~1~m~é", vec![Frame::Text("é".into())]),
            ("~m~2~m~😀", vec![Frame::Text("😀".into())]),
            ("~m~3~m~~m~", vec![Frame::Text("~m~".into())]),
            ("~m~4~m~~h~7", vec![Frame::Heartbeat(7)]),
            ("~m~8~m~~j~[1,2]", vec![Frame::Json(json!([1, 2]))]),
            ("~m~10~m~~j~{\"a\":1}", vec![Frame::Json(json!({"a": 1}))]),
            (
                "~m~1~m~a~m~2~m~😀~m~4~m~~h~1~m~6~m~~j~\"é\"",
                vec![
                    Frame::Text("a".into()),
                    Frame::Text("😀".into()),
                    Frame::Heartbeat(1),
                    Frame::Json(json!("é")),
                ],
            ),
        ];
        for (wire, frames) in cases {
            assert_eq!(decode(wire).unwrap(), frames, "decoding {wire:?}");
        }
    }

    #[test]
    fn rejects_malformed_input() {
        let cases = [
            "hello",
            "~m~",
            "~m~~m~",
            "~m~x~m~a",
            "~m~5~m~abc",
            "~m~1~m~ab",
            "~m~1~m~😀",
            "~m~2~m~a😀",
            "~m~12345678901234567890123456789012345678901~m~a",
            "~m~99999999999~m~a",
            "~m~4294967296~m~a",
            "~m~5",
            "~m~5~x~hello",
            "~m~6~m~~j~{a}",
            "~m~3~m~~j~",
            "~m~4~m~~h~x",
            "~m~3~m~~h~",
            "~m~1~m~a~m~1~m~",
            "~m~1~m~a garbage",
        ];
        for wire in cases {
            assert!(decode(wire).is_err(), "{wire:?} must not decode");
        }
    }

    #[test]
    fn round_trips_batches() {
        let mut out = String::new();
        let parts = ["plain", "~m~1~m~x", "é😀\u{2028}</script>", ""];
        for part in parts {
            encode_text(&mut out, part);
        }
        encode_json(&mut out, &json!({"nested": {"k": [1, "😀"]}}));
        let frames = decode(&out).unwrap();
        assert_eq!(frames.len(), 5);
        for (frame, part) in frames.iter().zip(parts) {
            assert_eq!(frame, &Frame::Text(part.into()));
        }
        assert_eq!(frames[4], Frame::Json(json!({"nested": {"k": [1, "😀"]}})));
    }
}

/// Property tests: the decoder never panics on any input, and what the
/// encoder writes decodes back to the same messages.
///
/// Each property runs `PROPTEST_CASES` cases when that variable is set,
/// otherwise its default below (together over 100,000 per run).
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    use crate::testing::proptest_config as config;

    /// Any character, weighted towards the ones the codec cares about:
    /// ASCII, tildes and digits, and characters of every UTF-8 width
    /// (including ones that are surrogate pairs in UTF-16). One mapped
    /// integer rather than a union of strategies: several times faster.
    fn character() -> impl Strategy<Value = char> {
        const SPECIAL: [char; 12] = [
            '~', 'm', 'j', 'h', '0', '9', 'é', '日', '😀', '\u{2028}', '\0', '\u{FFFF}',
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

    /// Text the encoder writes as plain text and the decoder reads back as
    /// text: 0.6 has no escaping, so text starting with `~j~` or `~h~` reads
    /// as JSON or a heartbeat on the other side, in every implementation.
    fn plain_text() -> impl Strategy<Value = String> {
        text(32).prop_filter("not a JSON or heartbeat marker", |s| {
            !s.starts_with(JSON) && !s.starts_with(HEARTBEAT)
        })
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

    /// A run of `min..max` decimal digits.
    fn digits(min: usize, max: usize) -> impl Strategy<Value = String> {
        (any::<u64>(), min..max).prop_map(|(seed, count)| digits_from(seed, count))
    }

    /// Text that looks like the protocol: markers, numbers of every size,
    /// stray tildes, and arbitrary characters.
    fn wireish() -> impl Strategy<Value = String> {
        const PIECES: [&str; 7] = ["~m~", "~j~", "~h~", "~", "{", "\"", "[1]"];
        let piece = (any::<u32>(), character()).prop_map(|(x, c)| {
            let (kind, n) = (x % 8, x / 8);
            match kind {
                0..=2 => PIECES[n as usize % PIECES.len()].to_owned(),
                3 | 4 => (n % 1000).to_string(),
                5 => digits_from(u64::from(n), 9 + n as usize % 37),
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

    fn frame() -> impl Strategy<Value = Frame> {
        prop_oneof![
            plain_text().prop_map(Frame::Text),
            json().prop_map(Frame::Json),
            any::<u64>().prop_map(Frame::Heartbeat),
        ]
    }

    fn encode(frames: &[Frame]) -> String {
        let mut out = String::new();
        for frame in frames {
            match frame {
                Frame::Text(text) => encode_text(&mut out, text),
                Frame::Json(value) => encode_json(&mut out, value),
                Frame::Heartbeat(n) => encode_heartbeat(&mut out, *n),
            }
        }
        out
    }

    /// A message whose length field is `length`, whatever `data` holds.
    fn with_length(data: &str, length: &str) -> String {
        format!("{MARKER}{length}{MARKER}{data}")
    }

    /// One message as a hostile client might write it: right, or wrong in
    /// one of the ways the protocol can be wrong.
    fn near_valid_message() -> impl Strategy<Value = String> {
        let data = prop_oneof![text(24), wireish()];
        (data, 0usize..12, any::<usize>(), digits(11, 45)).prop_map(
            |(data, kind, n, long_digits)| {
                let units = utf16::len(&data);
                match kind {
                    0 => with_length(&data, &units.to_string()),
                    1 => with_length(&data, &units.saturating_add(1 + n % 4).to_string()),
                    2 => with_length(&data, &units.saturating_sub(1 + n % 4).to_string()),
                    3 => with_length(&data, &long_digits),
                    4 => with_length(&data, &n.to_string()),
                    5 => with_length(&data, ""),
                    6 => format!("{MARKER}{units}{data}"),
                    7 => format!("{units}{MARKER}{data}"),
                    8 => with_length(&format!("{JSON}{data}"), &(units + 3).to_string()),
                    9 => with_length(&format!("{HEARTBEAT}{data}"), &(units + 3).to_string()),
                    10 => format!("{MARKER}{units}~M~{data}"),
                    _ => data,
                }
            },
        )
    }

    proptest! {
        #![proptest_config(config(20_000))]

        #[test]
        fn decode_never_panics_on_any_text(input in text(64)) {
            let _ = decode(&input);
        }

        #[test]
        fn decode_never_panics_on_protocol_like_text(input in wireish()) {
            let _ = decode(&input);
        }

        #[test]
        fn decode_never_panics_on_near_valid_batches(
            parts in prop::collection::vec(near_valid_message(), 0..5),
        ) {
            let _ = decode(&parts.concat());
        }

        #[test]
        fn decode_never_panics_on_cut_or_spliced_payloads(
            frames in prop::collection::vec(frame(), 1..4),
            cut in any::<prop::sample::Index>(),
            junk in wireish(),
        ) {
            let wire = encode(&frames);
            let boundaries: Vec<usize> = wire
                .char_indices()
                .map(|(i, _)| i)
                .chain([wire.len()])
                .collect();
            let at = boundaries[cut.index(boundaries.len())];
            let _ = decode(&wire[..at]);
            let _ = decode(&format!("{}{junk}{}", &wire[..at], &wire[at..]));
        }

        #[test]
        fn batches_round_trip(frames in prop::collection::vec(frame(), 0..5)) {
            prop_assert_eq!(decode(&encode(&frames)).unwrap(), frames);
        }
    }

    proptest! {
        #![proptest_config(config(10_000))]

        #[test]
        fn any_unicode_text_round_trips(text in any::<String>().prop_filter(
            "not a JSON or heartbeat marker",
            |s| !s.starts_with(JSON) && !s.starts_with(HEARTBEAT),
        )) {
            let mut wire = String::new();
            encode_text(&mut wire, &text);
            prop_assert_eq!(decode(&wire).unwrap(), vec![Frame::Text(text)]);
        }

        #[test]
        fn any_json_round_trips(value in json()) {
            let mut wire = String::new();
            encode_json(&mut wire, &value);
            prop_assert_eq!(decode(&wire).unwrap(), vec![Frame::Json(value)]);
        }
    }
}
