//! The one check of a tool's argument text at `content_block_stop`: is it
//! one JSON value? It accepts exactly what serde_json's `IgnoredAny` does
//! (an explicit bracket stack, so any depth; `\u` escapes checked as hex
//! digits, lone surrogates let through), in a single pass that builds
//! nothing: the Python side decodes the text once, into the `input` dict.

/// Whether `text` is one JSON value, with only whitespace around it.
pub fn is_json(text: &[u8]) -> bool {
    Validator { data: text, pos: 0 }.document().is_some()
}

use super::reader::next_special;

struct Validator<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Validator<'_> {
    /// The next byte past JSON whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&byte) = self.data.get(self.pos) {
            if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(byte);
            }
            self.pos += 1;
        }
        None
    }

    fn document(&mut self) -> Option<()> {
        // The open containers, innermost last.
        let mut stack: Vec<u8> = Vec::new();
        loop {
            match self.peek()? {
                open @ (b'{' | b'[') => {
                    self.pos += 1;
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.peek()? == close {
                        self.pos += 1;
                    } else {
                        stack.push(open);
                        if open == b'{' {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b'"' => self.string()?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return None,
            }
            // A value ended: close containers until a comma starts the next.
            loop {
                let Some(&frame) = stack.last() else {
                    return self.peek().is_none().then_some(());
                };
                match (self.peek()?, frame) {
                    (b',', _) => {
                        self.pos += 1;
                        if frame == b'{' {
                            self.key()?;
                        }
                        break;
                    }
                    (b'}', b'{') | (b']', b'[') => {
                        self.pos += 1;
                        stack.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    /// An object key and its colon.
    fn key(&mut self) -> Option<()> {
        if self.peek()? != b'"' {
            return None;
        }
        self.string()?;
        if self.peek()? != b':' {
            return None;
        }
        self.pos += 1;
        Some(())
    }

    /// The string that starts here (on its quote).
    fn string(&mut self) -> Option<()> {
        self.pos += 1;
        loop {
            self.pos = next_special(self.data, self.pos);
            let byte = *self.data.get(self.pos)?;
            self.pos += 1;
            match byte {
                b'"' => return Some(()),
                b'\\' => match *self.data.get(self.pos)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.pos += 1,
                    b'u' => {
                        let hex = self.data.get(self.pos + 1..self.pos + 5)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        self.pos += 5;
                    }
                    _ => return None,
                },
                0..=0x1f => return None,
                _ => {}
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.data.get(self.pos..self.pos + word.len())? != word {
            return None;
        }
        self.pos += word.len();
        Some(())
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Option<()> {
        if self.data.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match *self.data.get(self.pos)? {
            b'0' => {
                self.pos += 1;
                if self.data.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    return None;
                }
            }
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.data.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            self.some_digits()?;
        }
        if matches!(self.data.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.data.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.some_digits()?;
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.data.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
    }

    /// One digit or more.
    fn some_digits(&mut self) -> Option<()> {
        let start = self.pos;
        self.digits();
        (self.pos > start).then_some(())
    }
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
