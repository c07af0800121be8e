//! Is a JSON text one value that msgspec will decode? The folds copy some
//! values as the provider sent them, and the Python side decodes the result
//! with msgspec, so they check those values with this first: the Anthropic
//! fold each tool's argument text at `content_block_stop` and every event
//! whose values it copies, the Responses fold every event that carries an
//! item, part, response or annotation. It accepts what serde_json's
//! `IgnoredAny` does less what msgspec refuses: a lone UTF-16 surrogate
//! escape, a number beyond `f64` (`1e400`), and nesting deeper than
//! [`MAX_DEPTH`] (msgspec's decode recurses and would raise
//! `RecursionError`). A single pass with an explicit bracket stack that
//! builds nothing.

/// The deepest nesting of arrays and objects accepted: deeper, msgspec's
/// recursive decode would come near Python's recursion limit (1,000 frames,
/// the caller's included). jiter, under anthropic-sdk-python's partial
/// parse, stops at 200.
pub const MAX_DEPTH: usize = 256;

/// Why [`is_json`] refused a payload, for error messages.
pub const REFUSED: &str = "not JSON, or JSON that msgspec refuses (a lone surrogate escape, \
     a number beyond the range of a float, or nesting deeper than 256)";

/// Whether `text` is one JSON value, with only whitespace around it, that
/// msgspec decodes (see the module docs).
pub fn is_json(text: &[u8]) -> bool {
    document(text).is_some()
}

use super::strings::{classify, escape, next_special};

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
        let opens = matches!(data.get(at), Some(b'{' | b'['));
        if opens && stack.len() >= MAX_DEPTH {
            return None;
        }
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
            // A lone surrogate is refused here, as msgspec refuses it.
            b'\\' => at += 1 + escape(data, at + 1)?.1,
            // A raw control character.
            _ => return None,
        }
    }
}

fn literal(data: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    (data.get(at..at + word.len())? == word).then_some(at + word.len())
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` at `at`; the position
/// after. A number with a fraction or an exponent is a float to msgspec,
/// which refuses one beyond `f64`'s range; an integer may be any size.
fn number(data: &[u8], start: usize) -> Option<usize> {
    let end = number_end(data, start)?;
    let text = data.get(start..end)?;
    if text.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
        if !value.is_finite() {
            return None;
        }
    }
    Some(end)
}

fn number_end(data: &[u8], mut at: usize) -> Option<usize> {
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

    use super::MAX_DEPTH;

    /// serde_json building a `Value` refuses lone surrogates and numbers
    /// beyond `f64`, as msgspec does (its own nesting limit, 128, is not
    /// reached by these cases).
    fn serde_accepts(text: &[u8]) -> bool {
        serde_json::from_slice::<serde_json::Value>(text).is_ok()
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
    fn what_msgspec_refuses_is_refused() {
        for (text, ok) in [
            (r#""\ud83d\ude00""#, true),
            (r#""\ud800""#, false),
            (r#""\ud800x""#, false),
            (r#""\ud800\u0041""#, false),
            (r#""\udc00""#, false),
            (r#""\udfff\ud800""#, false),
            (r#""\uD83D\uDE00""#, true),
            ("1e308", true),
            ("1e400", false),
            ("-1.8e308", false),
            ("1e-400", true),
            ("123456789012345678901234567890", true),
            ("1234567890123456789012345678901234567890.5e300", false),
        ] {
            assert_eq!(is_json(text.as_bytes()), ok, "{text}");
            assert_eq!(serde_accepts(text.as_bytes()), ok, "serde_json on {text}");
        }
    }

    #[test]
    fn nesting_is_checked_without_recursion_up_to_the_limit() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(is_json(nested(MAX_DEPTH).as_bytes()));
        assert!(!is_json(nested(MAX_DEPTH + 1).as_bytes()));
        let objects = format!("{}1{}", r#"{"a":"#.repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        assert!(is_json(objects.as_bytes()));
        assert!(!is_json(format!("[{objects}]").as_bytes()));
        let deep = nested(100_000);
        assert!(!is_json(deep.as_bytes()));
        assert!(!is_json(&deep.as_bytes()[1..]));
    }
}
