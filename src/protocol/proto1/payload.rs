//! Polling payloads: one packet bare, or `\u{fffd}LEN\u{fffd}packet`
//! frames, `LEN` in UTF-16 code units.

use std::fmt::Write;

use super::{Proto1Error, parse_u64};
use crate::protocol::utf16;

/// Starts each frame of a batch and ends its length; a lone packet never
/// begins with it.
pub(crate) const MARK: char = '\u{fffd}';
/// A frame length with more digits than this cannot describe a payload we
/// accept (ten digits already allow 9,999,999,999 UTF-16 units).
const MAX_LEN_DIGITS: usize = 10;

/// Splits a polling payload into its packets, without decoding them.
///
/// An empty payload holds none; one that does not start with U+FFFD is
/// one bare packet; else it is one or more frames, each `\u{fffd}LEN\u{fffd}`
/// and `LEN` UTF-16 units of packet. Lengths that lie (past the end, short
/// of the next U+FFFD, inside a surrogate pair, not digits, more than ten
/// digits) are errors; this function never panics.
pub(crate) fn decode_payload(payload: &str) -> Result<Vec<&str>, Proto1Error> {
    if payload.is_empty() {
        return Ok(Vec::new());
    }
    if !payload.starts_with(MARK) {
        return Ok(vec![payload]);
    }
    let mut packets = Vec::new();
    let mut rest = payload;
    while !rest.is_empty() {
        let offset = payload.len() - rest.len();
        let (packet, after) = split_frame(rest, offset)?;
        packets.push(packet);
        rest = after;
    }
    Ok(packets)
}

/// Splits the first frame off `input`: returns its packet and the rest.
fn split_frame(input: &str, offset: usize) -> Result<(&str, &str), Proto1Error> {
    let body = input
        .strip_prefix(MARK)
        .ok_or(Proto1Error::MissingMark { offset })?;
    let digits_end = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    let (digits, after) = body.split_at(digits_end);
    if digits.len() > MAX_LEN_DIGITS {
        return Err(Proto1Error::LengthTooLarge { offset });
    }
    // Empty digits fail here too.
    let len = parse_u64(digits).ok_or(Proto1Error::BadLength { offset })?;
    let after = after
        .strip_prefix(MARK)
        .ok_or(Proto1Error::BadLength { offset })?;
    // A count past `usize` (on 32 bits) is past any text we hold.
    let units = usize::try_from(len).unwrap_or(usize::MAX);
    let end = utf16::offset(after, units).map_err(|short| match short {
        utf16::Short::SplitsCharacter => Proto1Error::SplitCharacter { offset },
        utf16::Short::Truncated { available } => Proto1Error::Truncated {
            offset,
            expected: len,
            available,
        },
    })?;
    Ok(after.split_at(end))
}

/// Joins encoded packets into one polling payload: one packet bare, any
/// other number framed. (A lone packet that is empty or starts with U+FFFD,
/// which no valid packet does, is framed too, so that it reads back.)
pub(crate) fn encode_payload<S: AsRef<str>>(packets: &[S]) -> String {
    if let [only] = packets {
        let only = only.as_ref();
        if !only.is_empty() && !only.starts_with(MARK) {
            return only.to_owned();
        }
    }
    let size = packets.iter().map(|p| p.as_ref().len() + 16).sum();
    let mut out = String::with_capacity(size);
    for packet in packets {
        let packet = packet.as_ref();
        let _ = write!(out, "{MARK}{}{MARK}{packet}", utf16::len(packet));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_payload_table() {
        let cases: Vec<(&str, Vec<&str>)> = vec![
            ("", vec![]),
            ("2::", vec!["2::"]),
            ("3:::a\u{fffd}3\u{fffd}b", vec!["3:::a\u{fffd}3\u{fffd}b"]),
            ("\u{fffd}3\u{fffd}2::", vec!["2::"]),
            ("\u{fffd}15\u{fffd}3:::héllo 😀 𝄞", vec!["3:::héllo 😀 𝄞"]),
            (
                "\u{fffd}3\u{fffd}2::\u{fffd}6\u{fffd}3:::hi",
                vec!["2::", "3:::hi"],
            ),
            (
                "\u{fffd}7\u{fffd}3:::\u{fffd}\u{fffd}x\u{fffd}3\u{fffd}8::",
                vec!["3:::\u{fffd}\u{fffd}x", "8::"],
            ),
            ("\u{fffd}0\u{fffd}", vec![""]),
            ("\u{fffd}2\u{fffd}😀\u{fffd}00\u{fffd}", vec!["😀", ""]),
            ("\u{fffd}0000000003\u{fffd}2::", vec!["2::"]),
        ];
        for (wire, packets) in cases {
            assert_eq!(decode_payload(wire).unwrap(), packets, "decoding {wire:?}");
        }
    }

    #[test]
    fn encodes_payload_table() {
        let cases: Vec<(Vec<&str>, &str)> = vec![
            (vec![], ""),
            (vec!["2::"], "2::"),
            (vec!["3:::héllo 😀 𝄞"], "3:::héllo 😀 𝄞"),
            (
                vec!["2::", "3:::hi"],
                "\u{fffd}3\u{fffd}2::\u{fffd}6\u{fffd}3:::hi",
            ),
            (
                vec!["3:::héllo 😀 𝄞", "3:::\u{fffd}"],
                "\u{fffd}15\u{fffd}3:::héllo 😀 𝄞\u{fffd}5\u{fffd}3:::\u{fffd}",
            ),
            (vec![""], "\u{fffd}0\u{fffd}"),
            (vec!["\u{fffd}x"], "\u{fffd}2\u{fffd}\u{fffd}x"),
        ];
        for (packets, wire) in cases {
            assert_eq!(encode_payload(&packets), wire, "encoding {packets:?}");
        }
        let owned = vec![String::from("2::"), String::from("8::")];
        assert_eq!(
            encode_payload(&owned),
            "\u{fffd}3\u{fffd}2::\u{fffd}3\u{fffd}8::"
        );
    }

    #[test]
    fn rejects_lying_payloads() {
        let cases = [
            "\u{fffd}",
            "\u{fffd}\u{fffd}2::",
            "\u{fffd}3",
            "\u{fffd}32::",
            "\u{fffd}x\u{fffd}2::",
            "\u{fffd}3x\u{fffd}2::",
            "\u{fffd}-3\u{fffd}2::",
            "\u{fffd}+3\u{fffd}2::",
            "\u{fffd} 3\u{fffd}2::",
            "\u{fffd}٣\u{fffd}2::",
            "\u{fffd}4\u{fffd}2::",
            "\u{fffd}2\u{fffd}2::",
            "\u{fffd}3\u{fffd}2::garbage",
            "\u{fffd}3\u{fffd}2::\u{fffd}",
            "\u{fffd}3\u{fffd}2::\u{fffd}1",
            "\u{fffd}3\u{fffd}2::\u{fffd}1\u{fffd}",
            "\u{fffd}12345678901\u{fffd}a",
            "\u{fffd}00000000003\u{fffd}2::",
            "\u{fffd}9999999999\u{fffd}a",
            "\u{fffd}4294967296\u{fffd}a",
            "\u{fffd}18446744073709551616\u{fffd}a",
            "\u{fffd}1\u{fffd}😀",
            "\u{fffd}2\u{fffd}a😀",
            "\u{fffd}15\u{fffd}3:::héllo 😀 𝄞 ",
            "\u{fffd}14\u{fffd}3:::héllo 😀 𝄞",
            "\u{fffd}16\u{fffd}3:::héllo 😀 𝄞",
        ];
        for wire in cases {
            let result = decode_payload(wire);
            assert!(result.is_err(), "{wire:?} must not decode: {result:?}");
        }
    }

    #[test]
    fn payload_errors_point_at_the_frame() {
        let second = "\u{fffd}3\u{fffd}2::".len();
        let wire = "\u{fffd}3\u{fffd}2::\u{fffd}9\u{fffd}3:::hi";
        assert!(matches!(
            decode_payload(wire),
            Err(Proto1Error::Truncated { offset, expected: 9, available: 6 }) if offset == second
        ));
        assert!(matches!(
            decode_payload("\u{fffd}2\u{fffd}2::"),
            Err(Proto1Error::MissingMark { offset: 9 })
        ));
        assert!(matches!(
            decode_payload("\u{fffd}1\u{fffd}😀"),
            Err(Proto1Error::SplitCharacter { offset: 0 })
        ));
        assert!(matches!(
            decode_payload("\u{fffd}12345678901\u{fffd}a"),
            Err(Proto1Error::LengthTooLarge { offset: 0 })
        ));
        assert!(matches!(
            decode_payload("\u{fffd}1a\u{fffd}a"),
            Err(Proto1Error::BadLength { offset: 0 })
        ));
    }
}
