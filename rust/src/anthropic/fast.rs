//! The delta fast path: the `content_block_delta` events that make up
//! nearly every stream, folded without a JSON read.
//!
//! The API writes these events in one compact shape,
//! `{"type":"content_block_delta","index":N,"delta":{"type":"input_json_delta","partial_json":"..."}}`
//! (also `text_delta`/`text` and `thinking_delta`/`thinking`), sometimes
//! padded with spaces before the last brace. Everything before the string's
//! opening quote is the event's *header*, and a block's deltas repeat it
//! byte for byte. So the header of the last event read is kept: a payload
//! that starts with the same bytes has the same index and delta kind, since
//! [`header`] reads nothing past them (one memory compare instead of four).
//! The string is then decoded straight onto the block's own buffer
//! ([`decode_fast`](crate::json::strings::decode_fast)), with no copy in between,
//! and the rest of the payload must close the two objects
//! ([`closes`]).
//!
//! Anything else takes the full read: another shape or key order, a string
//! the fast decoder leaves alone, a block not started yet, or the first
//! delta of a text or thinking block (whose text starts from the start's).
//! Where the fast path folds an event, the full read gives the same fields
//! and the same decoded text (checked in debug builds, and by the tests and
//! the fuzz target with the fast path on and off), and the fold applies the
//! same rules, so the result never depends on which path ran.

use super::reader::DeltaKind;

/// The start of a delta event as the API writes it, up to the index.
const HEAD: &[u8] = br#"{"type":"content_block_delta","index":"#;

/// The header of the last delta event read; see the module docs.
#[derive(Debug, Default)]
pub struct Header {
    /// The header's bytes, up to and including the string's opening quote;
    /// empty before the first.
    bytes: Vec<u8>,
    index: i64,
    kind: Option<DeltaKind>,
}

impl Header {
    /// The block index, delta kind and string position (just past the
    /// opening quote) of `data`, if it starts with a compact delta header.
    pub fn read(&mut self, data: &[u8]) -> Option<(i64, DeltaKind, usize)> {
        if let Some(kind) = self.kind {
            if same_start(data, &self.bytes) {
                return Some((self.index, kind, self.bytes.len()));
            }
        }
        let (index, kind, at) = header(data)?;
        self.bytes.clear();
        self.bytes.extend_from_slice(data.get(..at)?);
        self.index = index;
        self.kind = Some(kind);
        Some((index, kind, at))
    }

    /// Forgets the header.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.kind = None;
    }
}

/// Reads a compact delta header: the block index, the delta kind and the
/// position just past the string value's opening quote. It reads no byte
/// past that position.
pub fn header(data: &[u8]) -> Option<(i64, DeltaKind, usize)> {
    let rest = data.strip_prefix(HEAD)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    // Up to 18 digits always fits an i64; a leading zero is not JSON.
    if digits == 0 || digits > 18 || (digits > 1 && rest.first() == Some(&b'0')) {
        return None;
    }
    let index = rest
        .get(..digits)?
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    let rest = rest.get(digits..)?.strip_prefix(br#","delta":{"type":""#)?;
    let (kind, rest) = if let Some(rest) = rest.strip_prefix(br#"text_delta","text":""#) {
        (DeltaKind::Text, rest)
    } else if let Some(rest) = rest.strip_prefix(br#"input_json_delta","partial_json":""#) {
        (DeltaKind::InputJson, rest)
    } else if let Some(rest) = rest.strip_prefix(br#"thinking_delta","thinking":""#) {
        (DeltaKind::Thinking, rest)
    } else {
        return None;
    };
    Some((index, kind, data.len() - rest.len()))
}

/// Whether `data` starts with `head`: sixteen bytes at a time, inline (a
/// header is about ninety bytes).
fn same_start(data: &[u8], head: &[u8]) -> bool {
    let Some(start) = data.get(..head.len()) else {
        return false;
    };
    let mut left = start.chunks_exact(16);
    let mut right = head.chunks_exact(16);
    let blocks_equal = left.by_ref().zip(right.by_ref()).all(|(a, b)| {
        let word = |x: &[u8]| {
            let mut w = [0u8; 16];
            w.copy_from_slice(x);
            u128::from_le_bytes(w)
        };
        word(a) == word(b)
    });
    blocks_equal && left.remainder() == right.remainder()
}

/// Whether the bytes of `data` from `end` (just past the string value) are
/// the two closing braces, with only whitespace around them.
pub fn closes(data: &[u8], end: usize) -> bool {
    let mut braces = 0;
    for &byte in data.get(end..).unwrap_or_default() {
        match byte {
            b'}' if braces < 2 => braces += 1,
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => return false,
        }
    }
    braces == 2
}
