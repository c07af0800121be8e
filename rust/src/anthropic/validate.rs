//! The one check of a tool's argument text at `content_block_stop`: is it
//! one JSON value? It accepts exactly what serde_json's `IgnoredAny` does
//! (an explicit bracket stack, so any depth; `\u` escapes checked as hex
//! digits, lone surrogates let through), in a single pass that builds
//! nothing: the Python side decodes the text once, into the `input` dict.

/// Whether `text` is one JSON value, with only whitespace around it.
pub fn is_json(text: &[u8]) -> bool {
    document(text).is_some()
}

use super::strings::{classify, next_special};

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// The position of the first byte from `at` on that is not whitespace.
fn skip_space(data: &[u8], mut at: usize) -> usize {
    while data.get(at).is_some_and(|&b| is_space(b)) {
        at += 1;
    }
    at
}

/// The whole document, its position kept in a local: one loop over values,
/// with the open containers on an explicit stack.
fn document(data: &[u8]) -> Option<()> {
    // The closing bracket of each open container, innermost last.
    let mut stack: Vec<u8> = Vec::new();
    let mut at = 0;
    loop {
        at = skip_space(data, at);
        match *data.get(at)? {
            b'{' => {
                at = skip_space(data, at + 1);
                if data.get(at) == Some(&b'}') {
                    at += 1;
                } else {
                    stack.push(b'}');
                    at = key(data, at)?;
                    continue;
                }
            }
            b'[' => {
                at = skip_space(data, at + 1);
                if data.get(at) == Some(&b']') {
                    at += 1;
                } else {
                    stack.push(b']');
                    continue;
                }
            }
            b'"' => at = string(data, at + 1)?,
            b'-' | b'0'..=b'9' => at = number(data, at)?,
            b't' => at = literal(data, at, b"true")?,
            b'f' => at = literal(data, at, b"false")?,
            b'n' => at = literal(data, at, b"null")?,
            _ => return None,
        }
        // A value ended: close containers until a comma starts the next.
        loop {
            at = skip_space(data, at);
            let Some(&close) = stack.last() else {
                return (at == data.len()).then_some(());
            };
            let byte = *data.get(at)?;
            if byte == b',' {
                at += 1;
                if close == b'}' {
                    at = key(data, skip_space(data, at))?;
                }
                break;
            }
            if byte != close {
                return None;
            }
            at += 1;
            stack.pop();
        }
    }
}

/// An object key at `at` (past whitespace) and its colon; the position after.
fn key(data: &[u8], at: usize) -> Option<usize> {
    if data.get(at) != Some(&b'"') {
        return None;
    }
    let at = skip_space(data, string(data, at + 1)?);
    (data.get(at) == Some(&b':')).then_some(at + 1)
}

/// The string whose body starts at `at`; the position after its quote.
#[inline(always)]
fn string(data: &[u8], at: usize) -> Option<usize> {
    // Most strings are short keys and values with no escape: one block.
    if let Some(block) = data
        .get(at..at + 16)
        .and_then(|b| <&[u8; 16]>::try_from(b).ok())
    {
        let specials = classify(block).specials();
        let end = at + specials.trailing_zeros() as usize;
        if specials != 0 && data.get(end) == Some(&b'"') {
            return Some(end + 1);
        }
    }
    escaped_string(data, at)
}

/// [`string`] one special byte at a time.
#[inline(never)]
fn escaped_string(data: &[u8], mut at: usize) -> Option<usize> {
    loop {
        at = next_special(data, at);
        match *data.get(at)? {
            b'"' => return Some(at + 1),
            b'\\' => match *data.get(at + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at += 2,
                b'u' => {
                    let hex = data.get(at + 2..at + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    at += 6;
                }
                _ => return None,
            },
            // A raw control character.
            _ => return None,
        }
    }
}

fn literal(data: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    (data.get(at..at + word.len())? == word).then_some(at + word.len())
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` at `at`; the position after.
fn number(data: &[u8], mut at: usize) -> Option<usize> {
    if data.get(at) == Some(&b'-') {
        at += 1;
    }
    match *data.get(at)? {
        b'0' => {
            at += 1;
            if data.get(at).is_some_and(u8::is_ascii_digit) {
                return None;
            }
        }
        b'1'..=b'9' => at = digits(data, at + 1),
        _ => return None,
    }
    if data.get(at) == Some(&b'.') {
        at = some_digits(data, at + 1)?;
    }
    if matches!(data.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(data.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        at = some_digits(data, at)?;
    }
    Some(at)
}

fn digits(data: &[u8], mut at: usize) -> usize {
    while data.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    at
}

/// One digit or more.
fn some_digits(data: &[u8], at: usize) -> Option<usize> {
    let end = digits(data, at);
    (end > at).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::is_json;

    fn serde_accepts(text: &[u8]) -> bool {
        serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
    }

    const DOCUMENTS: [&str; 8] = [
        r#"{"rows": [{"id": 0, "city": "Paris"}, {"id": -1.5e+3, "ok": true, "n": null}], "x": false}"#,
        r#" [1, -0, 0.25, 2E-7, "a\"b\\c\/d\b\f\n\r\t\u00e9\ud800", [], {}, [[{}]]] "#,
        r#"{"deep": [[[[[[{"a": [[[]]]}]]]]]], "": "", "k": "é 你好 😀"}"#,
        r#""just a string""#,
        "123",
        "\t\r\n null \n",
        r#"{"a":{"b":{"c":[1,2,{"d":"e"}]}}}"#,
        "[0,1e5,-12.5E+2,true,false]",
    ];

    #[test]
    fn accepts_what_serde_json_accepts() {
        let extra: [&[u8]; 24] = [
            b"",
            b" ",
            b"{",
            b"}",
            b"[}",
            b"{]",
            b"{,}",
            b"[,]",
            b"[1,]",
            b"{\"a\"}",
            b"{\"a\":}",
            b"{\"a\":1,}",
            b"{a:1}",
            b"01",
            b"-",
            b"1.",
            b".5",
            b"1e",
            b"1e+",
            b"\"\\x\"",
            b"\"\\u12g4\"",
            b"\"a\x01\"",
            b"nul",
            b"[1] 2",
        ];
        let mut cases: Vec<Vec<u8>> = extra.iter().map(|c| c.to_vec()).collect();
        for doc in DOCUMENTS {
            let doc = doc.as_bytes();
            for cut in 0..=doc.len() {
                cases.extend(doc.get(..cut).map(<[u8]>::to_vec));
                let mut dropped = doc.to_vec();
                if cut < dropped.len() {
                    dropped.remove(cut);
                    cases.push(dropped);
                }
                for byte in [b'"', b',', b'}', b']', b'\\', b'x', b'1', b' ', b'-', b'.'] {
                    let mut bytes = doc.to_vec();
                    bytes.insert(cut, byte);
                    cases.push(bytes);
                }
            }
        }
        for case in cases {
            // The argument buffer is a `String`: only UTF-8 reaches the check.
            if std::str::from_utf8(&case).is_err() {
                continue;
            }
            let text = String::from_utf8_lossy(&case);
            assert_eq!(is_json(&case), serde_accepts(&case), "{text}");
        }
    }

    #[test]
    fn any_depth_is_checked_without_recursion() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(is_json(deep.as_bytes()));
        assert!(!is_json(&deep.as_bytes()[1..]));
    }
}
