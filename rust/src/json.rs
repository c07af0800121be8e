//! A minimal pull reader over one JSON document, built for skipping.
//!
//! Folding needs a handful of fields out of each ~300-byte chunk and must
//! step over the rest (`obfuscation`, ids, unknown provider fields) as fast
//! as memory allows. A general parser validates and decodes everything it
//! passes; this reader only finds where skipped values end (strings with
//! memchr, containers by bracket depth without recursion), and fully checks
//! just what it returns: object and array structure along the path it
//! walks, the strings it decodes (escapes, surrogates, UTF-8) and the
//! integers it reads. That is the leniency the core allows itself: a
//! malformed value the fold never looks at may pass unnoticed.

mod skip;
pub mod strings;
pub mod validate;

use std::borrow::Cow;
use std::fmt;

/// Why a payload could not be read, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonError {
    /// Byte position in the payload.
    pub at: usize,
    pub what: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {} of the payload", self.what, self.at)
    }
}

pub type Result<T> = std::result::Result<T, JsonError>;

/// Strings up to this long are scanned eight bytes at a time, longer ones
/// with memchr.
const SHORT: usize = 32;

/// The first `"` or `\\` in `bytes`, by SWAR: a word's bytes that equal
/// the target become zero after the XOR, and the classic has-zero-byte
/// trick finds them.
fn find_quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut words = bytes.chunks_exact(8);
    let mut base = 0;
    for word in words.by_ref() {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(word);
        let x = u64::from_le_bytes(buf);
        let hits =
            zero_bytes(x ^ (ONES * u64::from(b'"'))) | zero_bytes(x ^ (ONES * u64::from(b'\\')));
        if hits != 0 {
            return Some(base + (hits.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    let tail = words.remainder();
    tail.iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|at| base + at)
}

/// A cursor over one JSON document.
pub struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Moves to `pos`, which must be where a value starts.
    pub fn seek(&mut self, pos: usize) {
        self.pos = pos.min(self.data.len());
    }

    /// The current byte position.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The whole document being read.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    fn error<T>(&self, what: &'static str) -> Result<T> {
        Err(JsonError { at: self.pos, what })
    }

    /// The next byte that is not whitespace, without consuming it.
    pub fn peek(&mut self) -> Result<u8> {
        // Compact JSON, the common case, has no whitespace to skip.
        if let Some(&byte) = self.data.get(self.pos).filter(|&&b| b > b' ') {
            return Ok(byte);
        }
        while let Some(&byte) = self.data.get(self.pos) {
            if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
                return Ok(byte);
            }
            self.pos += 1;
        }
        self.error("unexpected end of JSON")
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<()> {
        if self.peek()? != byte {
            return self.error(what);
        }
        self.pos += 1;
        Ok(())
    }

    /// Checks that only whitespace is left.
    pub fn finish(&mut self) -> Result<()> {
        match self.peek() {
            Err(_) => Ok(()),
            Ok(_) => self.error("trailing characters after JSON"),
        }
    }

    /// Enters the object that starts here and returns its first key.
    pub fn object_first(&mut self) -> Result<Option<Cow<'a, [u8]>>> {
        self.expect(b'{', "expected an object")?;
        if self.peek()? == b'}' {
            self.pos += 1;
            return Ok(None);
        }
        self.key().map(Some)
    }

    /// The next key of the object being read, or `None` at its end.
    pub fn object_next(&mut self) -> Result<Option<Cow<'a, [u8]>>> {
        if self.data.get(self.pos..self.pos + 2) == Some(b",\"") {
            self.pos += 1;
            return self.key().map(Some);
        }
        match self.peek()? {
            b',' => {
                self.pos += 1;
                self.key().map(Some)
            }
            b'}' => {
                self.pos += 1;
                Ok(None)
            }
            _ => self.error("expected ',' or '}' in object"),
        }
    }

    /// A key and its colon. Keys are borrowed; one written with escapes
    /// (`"\u0069d"` is `"id"`) is decoded into a copy.
    fn key(&mut self) -> Result<Cow<'a, [u8]>> {
        if self.peek()? != b'"' {
            return self.error("expected a string key");
        }
        let start = self.pos;
        let (raw, escaped) = self.string_raw()?;
        let raw = if escaped {
            self.pos = start;
            let mut decoded = String::new();
            self.string_into(&mut decoded)?;
            Cow::Owned(decoded.into_bytes())
        } else {
            Cow::Borrowed(raw)
        };
        if self.data.get(self.pos) == Some(&b':') {
            self.pos += 1;
        } else {
            self.expect(b':', "expected ':' after key")?;
        }
        Ok(raw)
    }

    /// Enters the array that starts here; whether it has an element.
    pub fn array_first(&mut self) -> Result<bool> {
        self.expect(b'[', "expected an array")?;
        if self.peek()? == b']' {
            self.pos += 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// Whether the array being read has another element.
    pub fn array_next(&mut self) -> Result<bool> {
        match self.peek()? {
            b',' => {
                self.pos += 1;
                Ok(true)
            }
            b']' => {
                self.pos += 1;
                Ok(false)
            }
            _ => self.error("expected ',' or ']' in array"),
        }
    }

    /// The raw bytes between the quotes of the string that starts here,
    /// and whether they hold escapes.
    fn string_raw(&mut self) -> Result<(&'a [u8], bool)> {
        self.pos += 1;
        let start = self.pos;
        // Most strings here are short keys and tokens: eight bytes at a time
        // beats memchr's setup for them.
        let rest = self.data.get(start..).unwrap_or_default();
        match find_quote_or_backslash(rest.get(..SHORT).unwrap_or(rest)) {
            Some(at) if rest.get(at) == Some(&b'"') => {
                self.pos = start + at + 1;
                return Ok((rest.get(..at).unwrap_or_default(), false));
            }
            Some(at) => self.pos = start + at,
            None => self.pos = start + rest.len().min(SHORT),
        }
        let mut escaped = false;
        loop {
            let rest = self.data.get(self.pos..).unwrap_or_default();
            let Some(at) = memchr::memchr2(b'"', b'\\', rest) else {
                self.pos = self.data.len();
                return self.error("unterminated string");
            };
            self.pos += at;
            if self.data.get(self.pos) == Some(&b'"') {
                let raw = self.data.get(start..self.pos).unwrap_or_default();
                self.pos += 1;
                return Ok((raw, escaped));
            }
            escaped = true;
            self.pos += 2;
        }
    }

    /// Decodes the string that starts here, appending it to `out`.
    pub fn string_into(&mut self, out: &mut String) -> Result<()> {
        let start = self.pos;
        let (raw, escaped) = self.string_raw()?;
        if !escaped {
            // Bytes that are not UTF-8 follow WHATWG's rule, as SSEDecoder and
            // ChunkDecoder do: one U+FFFD per maximal invalid subpart, which is
            // what `from_utf8_lossy` substitutes. Valid text is borrowed.
            out.push_str(&String::from_utf8_lossy(raw));
            return Ok(());
        }
        // Escapes are rare in the fields we read: serde_json decodes them.
        let quoted = self.data.get(start..self.pos).unwrap_or_default();
        // copy: only a string with both escapes and invalid UTF-8 is replaced first.
        let decoded = match std::str::from_utf8(quoted) {
            Ok(text) => serde_json::from_str::<String>(text),
            Err(_) => serde_json::from_str::<String>(&String::from_utf8_lossy(quoted)),
        };
        match decoded {
            Ok(text) => {
                out.push_str(&text);
                Ok(())
            }
            Err(_) => Err(JsonError {
                at: start,
                what: "invalid string escape",
            }),
        }
    }

    /// Reads an integer; a fraction, an exponent or a value beyond `i64`
    /// gives `None`.
    pub fn int(&mut self) -> Result<Option<i64>> {
        let (raw, integral) = self.number()?;
        if !integral {
            return Ok(None);
        }
        // Beyond i64 is valid JSON no field can hold: skipped as absent,
        // like a value of the wrong type.
        let text = std::str::from_utf8(raw).unwrap_or_default();
        Ok(text.parse::<i64>().ok())
    }

    /// The number that starts here, and whether it is an integer.
    fn number(&mut self) -> Result<(&'a [u8], bool)> {
        let start = self.pos;
        let mut integral = true;
        while let Some(&byte) = self.data.get(self.pos) {
            match byte {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => integral = false,
                _ => break,
            }
            self.pos += 1;
        }
        let raw = self.data.get(start..self.pos).unwrap_or_default();
        let digits = raw.iter().filter(|b| b.is_ascii_digit()).count();
        if digits == 0 || raw.get(1..).is_some_and(|r| r.contains(&b'-') && integral) {
            return Err(JsonError {
                at: start,
                what: "invalid number",
            });
        }
        Ok((raw, integral))
    }

    /// Steps over the value that starts here.
    pub fn skip(&mut self) -> Result<()> {
        match self.peek()? {
            b'"' => self.string_raw().map(drop),
            // `[]` and `{}` (OpenAI's `"logprobs":[]` on every delta) need no
            // bracket stack.
            b'{' if self.data.get(self.pos + 1) == Some(&b'}') => {
                self.pos += 2;
                Ok(())
            }
            b'[' if self.data.get(self.pos + 1) == Some(&b']') => {
                self.pos += 2;
                Ok(())
            }
            b'{' | b'[' => self.skip_container(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            _ => self.error("expected a JSON value"),
        }
    }

    /// Consumes `null` if it is next; whether it was.
    pub fn null(&mut self) -> Result<bool> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Ok(true);
        }
        Ok(false)
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<()> {
        if self.data.get(self.pos..self.pos + word.len()) != Some(word) {
            return self.error("invalid literal");
        }
        self.pos += word.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &[u8]) -> Result<String> {
        let mut out = String::new();
        let mut cursor = Cursor::new(json);
        cursor.string_into(&mut out)?;
        cursor.finish()?;
        Ok(out)
    }

    #[test]
    fn strings_decode_like_serde_json() {
        for json in [
            r#""plain""#,
            r#""a\"b\\c\/d\b\f\n\r\t""#,
            r#""\u00e9\u4f60\ud83d\ude00""#,
            "\"raw é 你 😀\"",
            r#""""#,
        ] {
            let expected: String = serde_json::from_str(json).unwrap_or_default();
            assert_eq!(decode(json.as_bytes()), Ok(expected), "{json}");
        }
    }

    #[test]
    fn lone_surrogates_are_errors() {
        assert!(decode(br#""a\ud800b""#).is_err());
        assert!(decode(br#""\udc00""#).is_err());
    }

    #[test]
    fn bad_strings_are_errors() {
        assert!(decode(b"\"abc").is_err());
        assert!(decode(b"\"\\x\"").is_err());
        assert!(decode(b"\"\\u12\"").is_err());
    }

    #[test]
    fn invalid_utf8_is_replaced_as_whatwg_says() {
        // One U+FFFD per maximal invalid subpart, with or without escapes.
        let cases: [(&[u8], &str); 5] = [
            (b"\"\xff\"", "\u{fffd}"),
            (b"\"a\xe2\x82b\"", "a\u{fffd}b"),
            (b"\"\xf0\x9f\x98\"", "\u{fffd}"),
            (b"\"\xc0\xaf\"", "\u{fffd}\u{fffd}"),
            (b"\"\\n\xff\"", "\n\u{fffd}"),
        ];
        for (raw, text) in cases {
            assert_eq!(decode(raw).ok().as_deref(), Some(text), "{raw:?}");
        }
    }

    #[test]
    fn swar_search_agrees_with_a_plain_scan() {
        let text = br#"abc"def\ghi"jklmnopqrstuvwxyz0123456789"#;
        for start in 0..text.len() {
            for end in start..=text.len() {
                let slice = &text[start..end];
                let plain = slice.iter().position(|&b| b == b'"' || b == b'\\');
                assert_eq!(find_quote_or_backslash(slice), plain, "{start}..{end}");
            }
        }
    }

    #[test]
    fn skip_steps_over_every_kind_of_value() {
        let json = br#"{"a": [1, -2.5e3, true, false, null, "x\"]", {"b": {}}], "c": "}"} 7"#;
        let mut cursor = Cursor::new(json);
        assert!(cursor.skip().is_ok());
        assert_eq!(cursor.peek(), Ok(b'7'));
    }

    #[test]
    fn deep_nesting_is_skipped_without_recursion() {
        let mut json = vec![b'['; 1_000_000];
        json.extend(vec![b']'; 1_000_000]);
        assert!(Cursor::new(&json).skip().is_ok());
        json.pop();
        assert!(Cursor::new(&json).skip().is_err());
    }

    #[test]
    fn integers_and_their_limits() {
        let int = |json: &[u8]| Cursor::new(json).int();
        assert_eq!(
            int(b"1000000000000000000"),
            Ok(Some(1_000_000_000_000_000_000))
        );
        assert_eq!(int(b"-3"), Ok(Some(-3)));
        assert_eq!(int(b"1.5"), Ok(None));
        assert_eq!(int(b"99999999999999999999999"), Ok(None));
        assert!(int(b"-").is_err());
    }
}
