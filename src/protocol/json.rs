//! JSON text that needs no general parser or escaper: the strings that have
//! nothing to escape, which is most of what clients send and are sent.

use serde_json::Value;

/// How many of `bytes` come before the first `"`, `\\` or control
/// character: the part of a JSON string's body that stands for itself.
pub(crate) fn plain_len(bytes: &[u8]) -> usize {
    // Sixteen bytes at a time, looking at every byte of a chunk without
    // stopping early, which compiles to a few vector instructions; then one
    // at a time from the chunk that stopped.
    let mut clean = 0;
    for chunk in bytes.chunks_exact(16) {
        if chunk.iter().fold(false, |seen, &b| seen | needs_escape(b)) {
            break;
        }
        clean += 16;
    }
    bytes[clean..]
        .iter()
        .position(|&b| needs_escape(b))
        .map_or(bytes.len(), |at| clean + at)
}

/// Whether a byte cannot stand for itself in a JSON string.
fn needs_escape(b: u8) -> bool {
    (b == b'"') | (b == b'\\') | (b < 0x20)
}

/// Reads the commonest payload, an array of strings without escapes and
/// without spaces (`["message","hello"]`), as serde_json reads it, without
/// its general parser; `None` for any other text, which the caller gives to
/// serde_json. An event's name and text arguments come this way.
pub(crate) fn plain_string_array(text: &str) -> Option<Value> {
    let mut rest = text.strip_prefix('[')?.strip_suffix(']')?;
    // An event's name and its arguments: room for a few without growing.
    let mut items = Vec::with_capacity(4);
    loop {
        let body = rest.strip_prefix('"')?;
        let end = plain_len(body.as_bytes());
        if body.as_bytes().get(end) != Some(&b'"') {
            return None;
        }
        // `end` is at an ASCII quote: a character boundary.
        items.push(Value::String(body[..end].to_owned()));
        rest = &body[end + 1..];
        if rest.is_empty() {
            return Some(Value::Array(items));
        }
        rest = rest.strip_prefix(',')?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_arrays_read_as_serde_json_reads_them() {
        for text in [
            r#"["message","hello"]"#,
            r#"["a"]"#,
            r#"[""]"#,
            r#"["",""]"#,
            "[\"é✓😀\u{7f}\",\"sixteen bytes ok, sixteen more!!\"]",
        ] {
            assert_eq!(
                plain_string_array(text),
                Some(serde_json::from_str::<Value>(text).unwrap()),
                "{text}"
            );
        }
    }

    #[test]
    fn anything_else_is_left_to_serde_json() {
        for text in [
            "[]",
            "[ \"a\"]",
            "[\"a\" ]",
            "[\"a\",]",
            "[\"a\"]]",
            "[[\"a\"]",
            "[\"a\",1]",
            "[\"a\\\"b\"]",
            "[\"a\\u0041\"]",
            "[\"tab\there\"]",
            "[\"unterminated]",
            "[\"a\"\"b\"]",
            "\"a\"",
            "{\"a\":\"b\"}",
            "",
            "[",
        ] {
            assert_eq!(plain_string_array(text), None, "{text}");
        }
    }

    #[test]
    fn plain_len_stops_at_what_needs_escaping() {
        assert_eq!(plain_len(b""), 0);
        assert_eq!(plain_len(b"plain"), 5);
        assert_eq!(plain_len(b"eight ok then \" more"), 14);
        assert_eq!(plain_len(b"sixteen bytes ok\\"), 16);
        assert_eq!(plain_len(b"ab\x1fcd"), 2);
        assert_eq!(plain_len("é\u{7f}x".as_bytes()), 4);
    }

    fn strings() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec("[a-d \"\\\\\u{0}-\u{1f}\u{7f}é😀]{0,20}", 0..4)
    }

    proptest! {
        #![proptest_config(crate::testing::proptest_config(2_000))]

        /// Whatever it reads, serde_json reads the same; what serde_json
        /// reads as an array of strings without escapes, it reads too.
        #[test]
        fn it_agrees_with_serde_json(items in strings(), spaced in any::<bool>()) {
            let separator = if spaced { ", " } else { "," };
            let text = format!(
                "[{}]",
                items
                    .iter()
                    .map(|s| serde_json::to_string(s).unwrap())
                    .collect::<Vec<_>>()
                    .join(separator)
            );
            // One item has no separator to space.
            let unspaced = !spaced || items.len() == 1;
            let plain = !items.is_empty()
                && unspaced
                && items
                    .iter()
                    .all(|s| s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'));
            let ours = plain_string_array(&text);
            prop_assert_eq!(ours.is_some(), plain, "{}", text);
            if let Some(ours) = ours {
                prop_assert_eq!(ours, serde_json::from_str::<Value>(&text).unwrap());
            }
        }

        /// On any text at all it reads nothing serde_json would not.
        #[test]
        fn it_never_reads_what_serde_json_refuses(text in "[\\[\\]\",\\\\a é\u{1}]{0,24}") {
            if let Some(ours) = plain_string_array(&text) {
                prop_assert_eq!(Some(ours), serde_json::from_str::<Value>(&text).ok());
            }
        }
    }
}
