//! JavaScript string lengths. The length-prefixed payloads of Socket.IO
//! 0.6 (`~m~LEN~m~`), protocol 1 (`\u{fffd}LEN\u{fffd}`) and Engine.IO v3
//! (`LEN:`) count UTF-16 code units, as `String.length` does in the
//! browser clients that wrote them.

/// Number of UTF-16 code units in `s`: JavaScript's `s.length`.
pub(crate) fn len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().map(char::len_utf16).sum()
    }
}

/// Why a text has no offset after the units asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Short {
    /// The text holds only `available` units.
    Truncated { available: usize },
    /// The count ends inside a surrogate pair.
    SplitsCharacter,
}

/// Byte offset in `s` after `units` UTF-16 code units.
pub(crate) fn offset(s: &str, units: usize) -> Result<usize, Short> {
    // No character has more UTF-16 units than UTF-8 bytes.
    if units > s.len() {
        return Err(Short::Truncated { available: len(s) });
    }
    // Text is nearly always ASCII, one unit per byte: the offset is the
    // count itself (a character boundary, since every byte before it is a
    // whole character).
    if s.as_bytes()[..units].is_ascii() {
        return Ok(units);
    }
    counted_offset(s, units)
}

/// [`offset`] the long way, a character at a time.
fn counted_offset(s: &str, units: usize) -> Result<usize, Short> {
    let mut counted = 0;
    for (index, c) in s.char_indices() {
        if counted == units {
            return Ok(index);
        }
        counted += c.len_utf16();
        if counted > units {
            return Err(Short::SplitsCharacter);
        }
    }
    if counted == units {
        Ok(s.len())
    } else {
        Err(Short::Truncated { available: counted })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counts_and_offsets_as_javascript_does() {
        let cases: [(&str, usize, Result<usize, Short>); 9] = [
            ("", 0, Ok(0)),
            ("abc", 2, Ok(2)),
            ("abc", 3, Ok(3)),
            ("abc", 4, Err(Short::Truncated { available: 3 })),
            ("é!", 1, Ok(2)),
            ("😀!", 2, Ok(4)),
            ("😀!", 1, Err(Short::SplitsCharacter)),
            ("a😀", 5, Err(Short::Truncated { available: 3 })),
            ("日本語", 3, Ok(9)),
        ];
        for (text, units, expected) in cases {
            assert_eq!(
                offset(text, units),
                expected,
                "{text:?} after {units} units"
            );
        }
        assert_eq!(len("a😀é"), 4);
    }

    proptest! {
        #![proptest_config(crate::testing::proptest_config(10_000))]

        #[test]
        fn the_shortcuts_agree_with_counting_each_character(
            text in prop_oneof![any::<String>(), "[a-z~]{0,40}", "[a-z]{0,20}[é😀][a-z]{0,20}"],
            units in 0usize..50,
        ) {
            prop_assert_eq!(offset(&text, units), counted_offset(&text, units));
        }

        #[test]
        fn the_length_is_the_offset_of_the_whole(text in any::<String>()) {
            prop_assert_eq!(offset(&text, len(&text)), Ok(text.len()));
        }
    }
}
