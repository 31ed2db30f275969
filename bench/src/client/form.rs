//! `application/x-www-form-urlencoded`, as a browser encodes a form field.

/// Percent-encodes `value` for a form body (space as `+`).
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + value.len() / 4);
    for &b in value.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
    out
}

/// Decodes one form-encoded value; `None` on bad escapes or invalid UTF-8.
pub fn form_decode(value: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = value.get(i + 1..i + 3)?;
                let hi = (hex[0] as char).to_digit(16)?;
                let lo = (hex[1] as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in ["~m~5~m~hello", "a b+c&d=e", "é😀", ""] {
            assert_eq!(form_decode(form_encode(s).as_bytes()).as_deref(), Some(s));
        }
        assert_eq!(form_encode("~m~1~m~ "), "%7Em%7E1%7Em%7E+");
    }

    #[test]
    fn bad_escapes_are_none() {
        assert_eq!(form_decode(b"%4"), None);
        assert_eq!(form_decode(b"%zz"), None);
        assert_eq!(form_decode(b"%FF"), None);
    }
}
