//! JSON string bodies: the full decoder the Anthropic reader uses, the fast
//! decoder of its delta fast path (`anthropic::fast`), and the scan for a
//! body's next special byte that the msgspec check ([`super::validate`])
//! uses.
//!
//! The fast ones take sixteen bytes at a time ([`classify`]): one mask of
//! the bytes a string body cannot hold as they are (`"`, `\\`, controls) and
//! one of the bytes of 0x80 or more, so that a body that is all ASCII needs
//! no UTF-8 check.

use crate::json::{Cursor, JsonError, Result};

/// Whether a string's body cannot hold `byte` as it is: `"`, `\\` and the
/// control characters.
fn special(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Decodes the string that starts here onto `out`, like
/// [`Cursor::string_into`] but with escapes decoded in place: tool argument
/// fragments are mostly escapes (`{\"city\": ...`), and a per-fragment
/// allocation, or a search call per escape, would dominate their cost. The
/// bytes are copied run by run into `out`'s own buffer and checked as UTF-8
/// once at the end. Any other value is stepped over as absent.
pub fn append_string(cursor: &mut Cursor<'_>, out: &mut String) -> Result<bool> {
    cursor.peek()?;
    let start = cursor.position();
    if cursor.peek()? != b'"' {
        cursor.skip()?;
        return Ok(false);
    }
    let kept = out.len();
    let mut bytes = std::mem::take(out).into_bytes();
    let decoded = decode_body(cursor.data(), start + 1, &mut bytes);
    // Escapes decode to whole characters, so the text is UTF-8 exactly when
    // every raw run between them is.
    let (result, text) = match (decoded, String::from_utf8(bytes)) {
        (Ok(end), Ok(text)) => {
            cursor.seek(end);
            (Ok(true), text)
        }
        (decoded, text) => {
            let mut bytes = text.map_or_else(|e| e.into_bytes(), String::into_bytes);
            bytes.truncate(kept);
            let what = match decoded {
                Err(Unterminated) => {
                    cursor.seek(cursor.data().len());
                    "unterminated string"
                }
                _ => "invalid string escape or UTF-8",
            };
            let error = JsonError { at: start, what };
            (Err(error), String::from_utf8(bytes).unwrap_or_default())
        }
    };
    *out = text;
    result
}

/// Why [`decode_body`] stopped short.
enum BodyError {
    Unterminated,
    Invalid,
}
use BodyError::{Invalid, Unterminated};

/// Appends the decoded body of the string whose first byte (after the
/// quote) is at `at` to `out`; the position after the closing quote.
fn decode_body(data: &[u8], at: usize, out: &mut Vec<u8>) -> std::result::Result<usize, BodyError> {
    let body = data.get(at..).unwrap_or_default();
    // A decoded body is never longer than its JSON: one reservation (and a
    // word more, for the whole-word stores of `copy_plain`).
    out.reserve(body.len() + 8);
    let (mut escaped, mut control) = (false, false);
    let mut i = 0;
    loop {
        i = copy_plain(body, i, out);
        match body.get(i) {
            Some(b'"') => {
                // Like the cursor, which leaves escaped strings to serde_json:
                // raw control characters are rejected only next to escapes.
                return if escaped && control {
                    Err(Invalid)
                } else {
                    Ok(at + i + 1)
                };
            }
            Some(b'\\') => {
                escaped = true;
                match body.get(i + 1) {
                    // The escape of argument fragments, by far.
                    Some(b'"') => {
                        out.push(b'"');
                        i += 2;
                    }
                    _ => {
                        let (plain, used) = escape(body, i + 1).ok_or(Invalid)?;
                        out.extend_from_slice(plain.encode_utf8(&mut [0; 4]).as_bytes());
                        i += 1 + used;
                    }
                }
            }
            Some(&byte) => {
                control = true;
                out.push(byte);
                i += 1;
            }
            None => return Err(Unterminated),
        }
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The special bytes (`"`, `\\`, below 0x20) of eight, as high bits; the
/// lowest one marks the first (the bits above it may be spurious).
fn specials(word: u64) -> u64 {
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let quotes = zero_bytes(word ^ (ONES * u64::from(b'"')));
    let backslashes = zero_bytes(word ^ (ONES * u64::from(b'\\')));
    let controls = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    quotes | backslashes | controls
}

/// The position of the first special byte in `body` from `i` on (or the
/// end), sixteen bytes at a time.
pub(super) fn next_special(body: &[u8], mut i: usize) -> usize {
    let mut padded = [0u8; 16];
    loop {
        let specials = classify(block_at(body, i, &mut padded)).specials();
        if specials != 0 {
            return (i + specials.trailing_zeros() as usize).min(body.len());
        }
        i += 16;
    }
}

/// The sixteen bytes of `body` from `i` on: in place, or near the end
/// copied into `padded` after the real bytes, whose NUL padding is special
/// (so a scan always stops by the end).
fn block_at<'a>(body: &'a [u8], i: usize, padded: &'a mut [u8; 16]) -> &'a [u8; 16] {
    if let Some(block) = body
        .get(i..i + 16)
        .and_then(|b| <&[u8; 16]>::try_from(b).ok())
    {
        return block;
    }
    let rest = body.get(i..).unwrap_or_default();
    *padded = [0; 16];
    let real = rest.len().min(16);
    if let (Some(to), Some(from)) = (padded.get_mut(..real), rest.get(..real)) {
        to.copy_from_slice(from);
    }
    padded
}

/// One block's byte classes, bit `i` for byte `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Masks {
    pub backslashes: u32,
    /// `"` and the controls below 0x20: the bytes that end a string's
    /// plain run, other than the backslash.
    pub ends: u32,
    /// Bytes of 0x80 or more.
    pub highs: u32,
}

impl Masks {
    /// The bytes a string body cannot hold as they are.
    pub fn specials(self) -> u32 {
        self.backslashes | self.ends
    }
}

/// The byte classes of `block`.
#[cfg(target_arch = "x86_64")]
pub(super) fn classify(block: &[u8; 16]) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of x86_64; `block` holds 16 readable bytes, and
    // `loadu` needs no alignment.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
        let quotes = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslashes = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // A byte below 0x20 is left as it is by an unsigned min with 0x1F.
        let controls = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v);
        let mask = |x: __m128i| _mm_movemask_epi8(x) as u32 & 0xFFFF;
        Masks {
            backslashes: mask(backslashes),
            ends: mask(_mm_or_si128(quotes, controls)),
            highs: mask(v),
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) fn classify(block: &[u8; 16]) -> Masks {
    portable_classify(block)
}

/// [`classify`] one byte at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(super) fn portable_classify(block: &[u8; 16]) -> Masks {
    let mut masks = Masks {
        backslashes: 0,
        ends: 0,
        highs: 0,
    };
    for (i, &byte) in block.iter().enumerate() {
        masks.backslashes |= u32::from(byte == b'\\') << i;
        masks.ends |= u32::from(byte == b'"' || byte < 0x20) << i;
        masks.highs |= u32::from(byte >= 0x80) << i;
    }
    masks
}

/// What the one-letter escape `\letter` decodes to; 0 for `u` (four hex
/// digits follow) and for letters that are not an escape.
fn unescape(letter: u8) -> u8 {
    match letter {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0C,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        _ => 0,
    }
}

/// Appends the decoded body of the JSON string whose first byte (after the
/// quote) is at `at` to `out`; the position after its closing quote.
///
/// The decoder of the delta fast path: it takes the strings the API sends
/// (plain bytes and escapes) and gives `None`, leaving `out` as it was, for
/// anything else (a raw control character, an invalid escape or UTF-8, no
/// closing quote), which the full read then reads or rejects. What it
/// decodes, [`append_string`] decodes to the same text.
///
/// It goes sixteen bytes at a time. In a block whose backslashes each start
/// an escape of one letter (no `\\` next to another, none in the last byte),
/// the escapes are found from the masks alone: the plain runs between them
/// are stored sixteen bytes at a time (the next store overwrites the excess)
/// and each escape's letter is decoded by a table, so a fragment of argument
/// text, mostly `\"`, costs no branch per escape but the loop's. Any other
/// block takes one special byte at a time.
pub fn decode_fast(data: &[u8], at: usize, out: &mut Vec<u8>) -> Option<usize> {
    let kept = out.len();
    let end = decode_fast_into(data.get(at..)?, out);
    if end.is_none() {
        out.truncate(kept);
    }
    Some(at + end?)
}

/// [`decode_fast`] on a body; on `None`, `out` holds a partial decoding.
fn decode_fast_into(body: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    let kept = out.len();
    // A decoded body is never longer than its JSON, so writing at `w` never
    // passes reading at `i`: one resize makes room for every whole-block
    // store, and the bytes are then written in place, with no `Vec` call
    // per escape.
    out.resize(kept + body.len() + 32, 0);
    let buf = out.get_mut(kept..)?;
    let (mut i, mut w) = (0, 0);
    let mut high = 0;
    let mut padded = [0u8; 16];
    // The block, then zeros: where the runs are stored from.
    let mut window = [0u8; 32];
    loop {
        let block = block_at(body, i, &mut padded);
        let masks = classify(block);
        let escapes = masks.backslashes;
        if escapes & (escapes << 1 | 0x8000) == 0 {
            // Each backslash escapes the byte after it, in this block.
            let ends = masks.ends & !(escapes << 1);
            let limit = if ends == 0 {
                16
            } else {
                ends.trailing_zeros() as usize
            };
            let below = (1u32 << limit) - 1;
            window.get_mut(..16)?.copy_from_slice(block);
            let mut bits = escapes & below;
            let mut from = 0;
            let mut stopped = false;
            while bits != 0 {
                let p = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                buf.get_mut(w..w + 16)?
                    .copy_from_slice(window.get(from..from + 16)?);
                w += p - from;
                from = p + 2;
                let plain = unescape(*window.get(p + 1)?);
                if plain == 0 {
                    // `\u`, or not an escape: decoded on its own.
                    stopped = true;
                    i += p;
                    break;
                }
                *buf.get_mut(w)? = plain;
                w += 1;
            }
            if stopped {
                (i, w) = put_escape(body, i, buf, w)?;
                continue;
            }
            buf.get_mut(w..w + 16)?
                .copy_from_slice(window.get(from..from + 16)?);
            w += limit - from;
            high |= masks.highs & below;
            i += limit;
            if ends == 0 {
                continue;
            }
        } else {
            // One special byte at a time.
            buf.get_mut(w..w + 16)?.copy_from_slice(block);
            let run = masks.specials().trailing_zeros();
            high |= masks.highs & ((1 << run) - 1);
            i += run as usize;
            w += run as usize;
            if body.get(i) == Some(&b'\\') {
                (i, w) = put_escape(body, i, buf, w)?;
                continue;
            }
        }
        // Past the end is the padding: no closing quote; a control
        // character is left to the full read.
        if body.get(i) != Some(&b'"') {
            return None;
        }
        break;
    }
    out.truncate(kept + w);
    // Escapes decode to whole characters: the text is UTF-8 when its raw
    // bytes are all ASCII, and otherwise checked.
    if high != 0 && std::str::from_utf8(out.get(kept..)?).is_err() {
        return None;
    }
    Some(i + 1)
}

/// Copies the plain bytes of `body` from `i` on to `out`, eight at a time
/// (a whole word is stored, then the length cut back to the special byte);
/// the position of the first special byte, or the end.
fn copy_plain(body: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    while let Some(chunk) = body.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let hits = specials(u64::from_le_bytes(word));
        let len = out.len();
        out.extend_from_slice(&word);
        if hits != 0 {
            let run = (hits.trailing_zeros() / 8) as usize;
            out.truncate(len + run);
            return i + run;
        }
        i += 8;
    }
    while let Some(&byte) = body.get(i) {
        if special(byte) {
            return i;
        }
        out.push(byte);
        i += 1;
    }
    i
}

/// Decodes the escape whose backslash is `body[i]` into `buf` at `w`;
/// where reading and writing go on.
#[inline(always)]
fn put_escape(body: &[u8], i: usize, buf: &mut [u8], w: usize) -> Option<(usize, usize)> {
    let (plain, used) = escape(body, i + 1)?;
    let len = plain.len_utf8();
    plain.encode_utf8(buf.get_mut(w..w + len)?);
    Some((i + 1 + used, w + len))
}

/// The character of the escape whose letter is at `at` (just after the
/// backslash), and how many bytes it took; `None` where serde_json would
/// reject it: an unknown escape or a lone surrogate.
pub fn escape(data: &[u8], at: usize) -> Option<(char, usize)> {
    let plain = match *data.get(at)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let high = hex4(data, at + 1)?;
            return match high {
                0xD800..=0xDBFF => {
                    if data.get(at + 5..at + 7) != Some(b"\\u") {
                        return None;
                    }
                    let low = hex4(data, at + 7)?;
                    if !(0xDC00..=0xDFFF).contains(&low) {
                        return None;
                    }
                    let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    Some((char::from_u32(code)?, 11))
                }
                0xDC00..=0xDFFF => None,
                other => Some((char::from_u32(other)?, 5)),
            };
        }
        _ => return None,
    };
    Some((plain, 1))
}

/// The value of the four hex digits at `at` in `bytes`.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    let mut value = 0u32;
    for &d in digits {
        value = value * 16 + char::from(d).to_digit(16)?;
    }
    Some(value)
}
