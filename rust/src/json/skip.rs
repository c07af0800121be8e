//! Skipping a whole array or object: where it ends, found without reading
//! what is inside.
//!
//! The values skipped this way can be long (a chunk's logprob tokens are
//! 700 bytes of nested objects, numbers and byte lists), so the scan takes
//! 64 bytes at a time: one mask per byte class (quotes, backslashes, opening
//! and closing brackets), the bytes inside strings from a prefix XOR of the
//! quotes, as simdjson does, and then only the brackets outside strings are
//! visited, one by one. A block with a backslash is cut before it, and the
//! bytes from there are scanned one structural byte at a time, as strings
//! with escapes need; so is the tail of the input. Both scans visit the same
//! brackets in the same order and stop at the same byte, so the result (the
//! end, or the error and its position) does not depend on which one ran.

use super::{Cursor, Result};

/// The open containers: whether each is an object. The first 64 levels are
/// bits, deeper ones go on a heap stack, so that deep nesting costs no
/// recursion and shallow nesting no allocation.
#[derive(Default)]
struct Brackets {
    depth: usize,
    objects: u64,
    deeper: Vec<bool>,
}

impl Brackets {
    fn open(&mut self, object: bool) {
        match self.depth {
            0..=63 if object => self.objects |= 1 << self.depth,
            0..=63 => self.objects &= !(1 << self.depth),
            _ => self.deeper.push(object),
        }
        self.depth += 1;
    }

    /// Closes the innermost container with `}` (`object`) or `]`: whether
    /// the bracket matches its opening one.
    fn close(&mut self, object: bool) -> bool {
        let Some(level) = self.depth.checked_sub(1) else {
            return false;
        };
        self.depth = level;
        let was_object = match level {
            0..=63 => self.objects >> level & 1 == 1,
            _ => self.deeper.pop().unwrap_or_default(),
        };
        was_object == object
    }
}

/// One 64-byte block's byte classes, bit `i` for byte `i`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Masks {
    quotes: u64,
    backslashes: u64,
    /// `[` and `{`.
    opening: u64,
    /// `]` and `}`.
    closing: u64,
}

/// Setting bit 5 turns `[` into `{` and `]` into `}`, and no other byte
/// into either, so two compares find the four brackets.
const FOLD: u8 = 0x20;

#[cfg(target_arch = "x86_64")]
fn masks(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    let mut out = Masks::default();
    for (i, lane) in block.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of x86_64; `lane` holds 16 readable bytes,
        // and `loadu` needs no alignment.
        let [quotes, backslashes, opening, closing] = unsafe {
            let v = _mm_loadu_si128(lane.as_ptr().cast::<__m128i>());
            let folded = _mm_or_si128(v, _mm_set1_epi8(FOLD as i8));
            let bits = |x: __m128i, byte: u8| {
                let eq = _mm_cmpeq_epi8(x, _mm_set1_epi8(byte as i8));
                u64::from(_mm_movemask_epi8(eq) as u16)
            };
            [
                bits(v, b'"'),
                bits(v, b'\\'),
                bits(folded, b'{'),
                bits(folded, b'}'),
            ]
        };
        let shift = 16 * i;
        out.quotes |= quotes << shift;
        out.backslashes |= backslashes << shift;
        out.opening |= opening << shift;
        out.closing |= closing << shift;
    }
    out
}

#[cfg(not(target_arch = "x86_64"))]
fn masks(block: &[u8; 64]) -> Masks {
    portable_masks(block)
}

/// [`masks`] one byte at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn portable_masks(block: &[u8; 64]) -> Masks {
    let mut out = Masks::default();
    for (i, &byte) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match byte {
            b'"' => out.quotes |= bit,
            b'\\' => out.backslashes |= bit,
            b'[' | b'{' => out.opening |= bit,
            b']' | b'}' => out.closing |= bit,
            _ => {}
        }
    }
    out
}

/// Bit `i` is the XOR of bits `0..=i`: with quotes in, the bytes from an
/// opening quote up to (not including) its closing one.
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// The bits below `n` (at most 64).
fn below(n: u32) -> u64 {
    1u64.checked_shl(n).map_or(u64::MAX, |bit| bit - 1)
}

/// What one block did.
enum Block {
    /// The container ended at this position (one past its closing bracket).
    End(usize),
    /// No decision: the scan goes on from this position, outside a string.
    Next(usize),
    /// The block cannot be taken whole: scan one structural byte.
    Scalar,
}

/// The first `"`, `[`, `]`, `{` or `}` in `bytes`, by SWAR as in
/// `find_quote_or_backslash`, with the bracket compares folded as in
/// [`FOLD`].
fn find_structural(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut words = bytes.chunks_exact(8);
    let mut base = 0;
    for word in words.by_ref() {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(word);
        let x = u64::from_le_bytes(buf);
        let folded = x | (ONES * u64::from(FOLD));
        let hits = zero_bytes(x ^ (ONES * u64::from(b'"')))
            | zero_bytes(folded ^ (ONES * u64::from(b'{')))
            | zero_bytes(folded ^ (ONES * u64::from(b'}')));
        if hits != 0 {
            return Some(base + (hits.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| matches!(b, b'"' | b'[' | b']' | b'{' | b'}'))
        .map(|at| base + at)
}

impl Cursor<'_> {
    /// Skips the array or object that starts here; see the module docs.
    pub(super) fn skip_container(&mut self) -> Result<()> {
        let mut open = Brackets::default();
        loop {
            let block = self.data.get(self.pos..).and_then(<[u8]>::first_chunk);
            if let Some(block) = block {
                match self.block(block, &mut open)? {
                    Block::End(end) => {
                        self.pos = end;
                        return Ok(());
                    }
                    Block::Next(at) => {
                        self.pos = at;
                        continue;
                    }
                    Block::Scalar => {}
                }
            }
            if self.scalar(&mut open)? {
                return Ok(());
            }
        }
    }

    /// The 64 bytes from the current position, which is outside any string.
    fn block(&mut self, block: &[u8; 64], open: &mut Brackets) -> Result<Block> {
        let m = masks(block);
        // Escapes are left to the scalar scan: cut the block before them.
        let limit = m.backslashes.trailing_zeros();
        let quotes = m.quotes & below(limit);
        let strings = prefix_xor(quotes);
        // A string still open at the cut is left whole to the next scan,
        // from its opening quote.
        let end = match limit.checked_sub(1) {
            Some(last) if strings >> last & 1 == 1 => 63 - quotes.leading_zeros(),
            Some(_) => limit,
            None => 0,
        };
        if end == 0 {
            return Ok(Block::Scalar);
        }
        let mut brackets = (m.opening | m.closing) & !strings & below(end);
        while brackets != 0 {
            let at = brackets.trailing_zeros();
            brackets &= brackets - 1;
            let bit = 1u64 << at;
            let byte = block.get(at as usize).copied().unwrap_or_default();
            let object = byte & FOLD != 0;
            if m.opening & bit != 0 {
                open.open(object);
                continue;
            }
            let pos = self.pos + at as usize;
            if !open.close(object) {
                self.pos = pos;
                return self.error("mismatched bracket");
            }
            if open.depth == 0 {
                return Ok(Block::End(pos + 1));
            }
        }
        Ok(Block::Next(self.pos + end as usize))
    }

    /// Steps over the next structural byte (a whole string, for a quote);
    /// whether that closed the container.
    fn scalar(&mut self, open: &mut Brackets) -> Result<bool> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let Some(at) = find_structural(rest) else {
            self.pos = self.data.len();
            return self.error("unterminated array or object");
        };
        self.pos += at;
        let byte = self.data.get(self.pos).copied().unwrap_or_default();
        match byte {
            b'"' => {
                self.string_raw()?;
                return Ok(false);
            }
            b'{' | b'[' => open.open(byte == b'{'),
            _ => {
                if !open.close(byte == b'}') {
                    return self.error("mismatched bracket");
                }
                if open.depth == 0 {
                    self.pos += 1;
                    return Ok(true);
                }
            }
        }
        self.pos += 1;
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-at-a-time bracket scan this module replaced: where a
    /// container starting at 0 ends, or the error's position.
    fn skip_by_bytes(data: &[u8]) -> std::result::Result<usize, usize> {
        let mut cursor = Cursor::new(data);
        let mut stack = Vec::new();
        loop {
            let Some(&byte) = data.get(cursor.pos) else {
                return Err(data.len());
            };
            match byte {
                b'"' => {
                    cursor.string_raw().map_err(|e| e.at)?;
                    continue;
                }
                b'{' | b'[' => stack.push(byte),
                b'}' | b']' => {
                    let open = if byte == b'}' { b'{' } else { b'[' };
                    if stack.pop() != Some(open) {
                        return Err(cursor.pos);
                    }
                    if stack.is_empty() {
                        return Ok(cursor.pos + 1);
                    }
                }
                _ => {}
            }
            cursor.pos += 1;
        }
    }

    fn skip_at(data: &[u8]) -> std::result::Result<usize, usize> {
        let mut cursor = Cursor::new(data);
        cursor.skip().map(|()| cursor.position()).map_err(|e| e.at)
    }

    /// A small xorshift generator, so that the tests need no crate.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    #[test]
    fn structural_search_agrees_with_a_plain_scan() {
        let all: Vec<u8> = (0..=255).collect();
        for start in 0..all.len() {
            for end in [start, start + 1, start + 9, all.len()] {
                let slice = &all[start..end.min(all.len())];
                let plain = slice
                    .iter()
                    .position(|&b| matches!(b, b'"' | b'[' | b']' | b'{' | b'}'));
                assert_eq!(find_structural(slice), plain, "{start}..{end}");
            }
        }
    }

    #[test]
    fn block_masks_agree_with_the_portable_ones() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let all: Vec<u8> = (0..=255).collect();
        let mut blocks: Vec<[u8; 64]> = all
            .chunks_exact(64)
            .map(|c| c.try_into().unwrap_or([0; 64]))
            .collect();
        let alphabet = b"[]{}\"\\a{\x7b\x5b\xdb\xfb";
        for _ in 0..200 {
            blocks.push(std::array::from_fn(|_| alphabet[rng.below(alphabet.len())]));
        }
        for block in &blocks {
            assert_eq!(masks(block), portable_masks(block), "{block:?}");
        }
    }

    #[test]
    fn skip_agrees_with_the_byte_scan_on_short_inputs() {
        // Every string of up to six of these bytes after an opening bracket.
        let alphabet = b"[]{}\"\\a";
        for len in 0..=6u32 {
            for mut n in 0..alphabet.len().pow(len) {
                let mut json = vec![if n % 2 == 0 { b'[' } else { b'{' }];
                for _ in 0..len {
                    json.push(alphabet[n % alphabet.len()]);
                    n /= alphabet.len();
                }
                assert_eq!(skip_at(&json), skip_by_bytes(&json), "{json:?}");
            }
        }
    }

    #[test]
    fn skip_agrees_with_the_byte_scan_across_blocks() {
        // Long random inputs cross the 64-byte blocks every way: strings
        // and escapes cut by a block's end, brackets inside strings, and
        // nesting beyond the 64 levels kept as bits.
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let weights: &[(&[u8], usize)] = &[
            (b"[", 6),
            (b"{", 6),
            (b"]", 5),
            (b"}", 5),
            (b"\"", 8),
            (b"\\", 2),
            (b"\\\"", 1),
            (b"a", 30),
            (b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 1),
            (b"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", 1),
        ];
        let total: usize = weights.iter().map(|w| w.1).sum();
        for round in 0..4000 {
            let mut json = vec![if round % 2 == 0 { b'[' } else { b'{' }];
            let len = 1 + rng.below(400);
            while json.len() < len {
                let mut pick = rng.below(total);
                for (piece, weight) in weights {
                    if pick < *weight {
                        json.extend_from_slice(piece);
                        break;
                    }
                    pick -= weight;
                }
            }
            for end in [json.len(), json.len() / 2, 70] {
                let json = &json[..end.min(json.len())];
                assert_eq!(skip_at(json), skip_by_bytes(json), "{json:?}");
            }
        }
    }

    #[test]
    fn skip_agrees_on_logprob_tokens() {
        let entry: &[u8] = br#"[{"token":" a]","logprob":-0.5,"bytes":[32,97],"top_logprobs":[{"token":"\"}","logprob":-1.25,"bytes":null},{"token":"{[","logprob":-2.5,"bytes":[123,91]}]}]"#;
        for end in 0..=entry.len() {
            assert_eq!(
                skip_at(&entry[..end]),
                skip_by_bytes(&entry[..end]),
                "{end}"
            );
        }
        assert_eq!(skip_at(entry), Ok(entry.len()));
        let mut deep = vec![b'['; 100];
        deep[70] = b'{';
        deep.extend_from_slice(b"\"a]}\\\"x\"");
        deep.extend(vec![b']'; 100]);
        assert_eq!(skip_at(&deep), Err(137));
        deep[137] = b'}';
        assert_eq!(skip_at(&deep), Ok(deep.len()));
    }
}
