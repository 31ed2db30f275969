//! Query strings, strictly: `name=value` pairs, `+` as space,
//! percent-decoding, never a panic on junk.

use std::borrow::Cow;

/// The percent-decoded value of the first parameter `name`; `Some("")`
/// for a bare `name`.
pub(crate) fn param(query: &str, name: &str) -> Option<String> {
    // Asked on every protocol-1 request: bytes rather than `split`, and
    // plain keys compared as they are, without a decoded copy.
    let mut rest = query;
    loop {
        let end = rest.bytes().position(|b| b == b'&').unwrap_or(rest.len());
        let pair = &rest[..end];
        let (key, value) = match pair.bytes().position(|b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, ""),
        };
        let matches = if is_plain(key) {
            key == name
        } else {
            decode(key) == name
        };
        if matches {
            return Some(decode(value));
        }
        // `end` is at an ASCII `&` or at the end: a character boundary.
        rest = rest.get(end + 1..)?;
    }
}

/// Whether `text` decodes to itself (no `+`, no `%`).
fn is_plain(text: &str) -> bool {
    !text.bytes().any(|b| matches!(b, b'%' | b'+'))
}

/// `+` as space, then percent-decoding; invalid UTF-8 is replaced.
pub(crate) fn decode(text: &str) -> String {
    if is_plain(text) {
        return text.to_owned();
    }
    String::from_utf8(decode_bytes(text.as_bytes()))
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `+` as space and `%XX` as its byte, in one pass; a `%` not followed by
/// two hex digits stays as it is.
pub(crate) fn decode_bytes(text: &[u8]) -> Vec<u8> {
    fn hex(digit: u8) -> Option<u8> {
        char::from(digit)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    // Runs of plain bytes copied whole, then the escape that ends them.
    while let Some(special) = rest.iter().position(|&b| b == b'+' || b == b'%') {
        out.extend_from_slice(&rest[..special]);
        rest = &rest[special..];
        let taken = match rest {
            [b'%', high, low, ..] => match (hex(*high), hex(*low)) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    3
                }
                _ => {
                    out.push(b'%');
                    1
                }
            },
            [b'+', ..] => {
                out.push(b' ');
                1
            }
            _ => {
                out.push(b'%');
                1
            }
        };
        rest = &rest[taken..];
    }
    out.extend_from_slice(rest);
    out
}

/// The parameters the Engine.IO layer reads, borrowed from the query
/// unless they need decoding.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct EngineQuery<'q> {
    pub(crate) eio: Option<Cow<'q, str>>,
    pub(crate) transport: Option<Cow<'q, str>>,
    pub(crate) sid: Option<Cow<'q, str>>,
    /// The JSONP callback index (`j`), digits only.
    pub(crate) jsonp: Option<Cow<'q, str>>,
    pub(crate) b64: bool,
}

impl<'q> EngineQuery<'q> {
    pub(crate) fn parse(query: &'q str) -> EngineQuery<'q> {
        let mut parsed = EngineQuery::default();
        // Every request carries a query: one pass over its bytes.
        let bytes = query.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let start = at;
            while at < bytes.len() && bytes[at] != b'=' && bytes[at] != b'&' {
                at += 1;
            }
            // `start` and `at` sit next to ASCII bytes: character boundaries.
            let key = &query[start..at];
            let has_value = at < bytes.len() && bytes[at] == b'=';
            if has_value {
                at += 1;
            }
            let value_start = at;
            let mut encoded = false;
            while at < bytes.len() && bytes[at] != b'&' {
                encoded |= matches!(bytes[at], b'%' | b'+');
                at += 1;
            }
            let value = &query[value_start..at];
            at += 1;
            let slot = match key {
                "EIO" => &mut parsed.eio,
                "transport" => &mut parsed.transport,
                "sid" => &mut parsed.sid,
                "j" => &mut parsed.jsonp,
                "b64" => {
                    parsed.b64 = !value.is_empty() && value != "0" && value != "false";
                    continue;
                }
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(if encoded {
                    Cow::Owned(decode(value))
                } else {
                    Cow::Borrowed(value)
                });
            }
        }
        parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_parameters() {
        let q = "EIO=4&transport=polling&t=x&sid=a%2Bb&b64=1&j=3&name=J%C3%BCrgen+M";
        let parsed = EngineQuery::parse(q);
        assert_eq!(parsed.eio.as_deref(), Some("4"));
        assert_eq!(parsed.transport.as_deref(), Some("polling"));
        assert_eq!(parsed.sid.as_deref(), Some("a+b"));
        assert_eq!(parsed.jsonp.as_deref(), Some("3"));
        assert!(parsed.b64);
        assert_eq!(param(q, "name").as_deref(), Some("Jürgen M"));
        assert_eq!(param("flag&x=1", "flag").as_deref(), Some(""));
        assert_eq!(param("x=%ZZ%FF", "x").as_deref(), Some("%ZZ\u{fffd}"));
        assert_eq!(param("", "x"), None);
        assert_eq!(param("", ""), Some(String::new()));
        assert_eq!(param("a=1&&b", "b").as_deref(), Some(""));
        assert_eq!(param("a=1&", "b"), None);
        assert_eq!(decode("%2B+%2b%4"), "+ +%4");
        assert_eq!(decode("%e2%82%ac%"), "€%");
        assert_eq!(decode_bytes(b"%C3%28%zz"), b"\xc3(%zz");
        assert_eq!(param("é=ü&x=é", "x").as_deref(), Some("é"));
        assert_eq!(param("na%6De=x&name=y", "name").as_deref(), Some("x"));
        assert_eq!(param("a+b=1", "a b").as_deref(), Some("1"));
        assert_eq!(param("a+b=1", "a+b"), None);
        assert!(!EngineQuery::parse("b64=0").b64);
        let odd = EngineQuery::parse("&&sid&EIO=3=4&transport=&sid=x&é=1&EIO=4");
        assert_eq!(odd.sid.as_deref(), Some(""));
        assert_eq!(odd.eio.as_deref(), Some("3=4"));
        assert_eq!(odd.transport.as_deref(), Some(""));
    }

    proptest::proptest! {
        #![proptest_config(crate::testing::proptest_config(2_000))]

        /// The one-pass decoder agrees with the `percent-encoding` crate
        /// after `+` is made a space, on escapes whole, broken and cut off.
        #[test]
        fn decodes_as_the_percent_encoding_crate(
            text in proptest::collection::vec(
                proptest::sample::select(b"%+aF09gz~ \xc3".to_vec()), 0..24),
        ) {
            let spaced: Vec<u8> =
                text.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
            let expected: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
            proptest::prop_assert_eq!(decode_bytes(&text), expected);
        }
    }
}
