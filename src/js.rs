//! Text that goes into a browser's `<script>`.

/// A string as a JavaScript string literal that is safe inside an HTML
/// `<script>` element: it cannot end the element (`</script>`), open a
/// comment, or break the string (U+2028, U+2029).
pub(crate) fn string_literal(text: &str) -> String {
    let json = serde_json::Value::from(text).to_string();
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals_cannot_escape_their_script() {
        assert_eq!(string_literal("a\"b"), r#""a\"b""#);
        let hostile = string_literal("</script><script>alert(1)</script>\u{2028}\u{2029}<!--");
        assert!(!hostile.contains('<'));
        assert!(!hostile.contains('\u{2028}'));
        assert!(!hostile.contains('\u{2029}'));
        let back: String = serde_json::from_str(&hostile).unwrap();
        assert_eq!(
            back,
            "</script><script>alert(1)</script>\u{2028}\u{2029}<!--"
        );
    }
}
