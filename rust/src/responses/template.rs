//! The event template: the fast path for the delta events that make up
//! almost every Responses stream.
//!
//! After the first, a stream's delta events for one item or part differ
//! from one another only in the `delta` string, the `sequence_number` and,
//! from OpenAI, the random `obfuscation` padding. Everything else repeats
//! byte for byte: the `type`, the `item_id`, the indices, `"logprobs":[]`.
//!
//! So once a delta event has been read in full, its bytes around those
//! three values (the *holes*) become a template, together with the
//! [`Fields`] the read gave. A later payload that matches the template byte
//! for byte outside the holes, and whose holes hold values of the same JSON
//! types, reads to the same [`Fields`] but for the holes: the bytes
//! compared are the same, so a full read would take the same path through
//! them, and the holes are read here with the reader's own functions. The
//! template gives back those [`Fields`], and the event is folded exactly as
//! a full read's would be, by the same code: the sequence-number check
//! (rule 10), the `item_id` check (rule 1), the token timing and the
//! events all see what they would have seen. Nothing about the fold state
//! is assumed, so a template stays exact whatever was folded in between.
//!
//! Only payloads with no span kept verbatim (`item`, `part`, `response`,
//! ...) become templates, since such spans would move with the holes'
//! lengths; the strings a payload names (`type`, `item_id`) are kept in the
//! template's own arena and copied into the fold's on each match.
//! [`Templates`] keeps one template per item and part, so that streams that
//! interleave them match too.

use super::kinds::item_event;
use super::reader::{self, text_str, Fields, Raw, Text};
use crate::json::Cursor;

/// The most templates kept.
const MAX_TEMPLATES: usize = 4;

/// A value a template leaves open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    /// The `delta` string, decoded into the arena.
    Delta,
    /// The `sequence_number` integer.
    Sequence,
    /// The `obfuscation` string, skipped.
    Padding,
}

/// The recent templates, one per item and part; see the module docs.
#[derive(Debug, Default)]
pub struct Templates {
    list: Vec<Template>,
    /// The template to try first: the last one that matched.
    last: usize,
    /// Payloads matched, for the tests.
    pub hits: u64,
}

impl Templates {
    /// Whether a template matches `payload`; if one does, `out` holds the
    /// payload's [`Fields`], with their strings in `arena` (cleared first).
    pub fn matches(&mut self, payload: &[u8], arena: &mut String, out: &mut Fields) -> bool {
        let count = self.list.len();
        for step in 0..count {
            let at = (self.last + step) % count;
            let Some(template) = self.list.get(at) else {
                break;
            };
            if template.matches(payload, arena, out).is_some() {
                self.last = at;
                self.hits += 1;
                return true;
            }
        }
        false
    }

    /// Learns the template of a payload just read in full into `fields`
    /// (strings in `arena`), if it has one, in place of the template of the
    /// same item and part (whose buffers it reuses: a stream whose deltas
    /// never match costs no allocation per event).
    pub fn learn(&mut self, payload: &[u8], fields: &Fields, arena: &str) {
        if !Template::fits(fields, arena) {
            return;
        }
        let found = self.list.iter().position(|t| t.targets(fields, arena));
        let at = match found {
            Some(at) => at,
            None => {
                if self.list.len() == MAX_TEMPLATES {
                    self.list.remove(0);
                }
                self.list.push(Template::default());
                self.list.len() - 1
            }
        };
        let learned = self
            .list
            .get_mut(at)
            .is_some_and(|t| t.learn(payload, fields, arena).is_some());
        if !learned && at < self.list.len() {
            self.list.remove(at);
        }
        self.last = at.min(self.list.len().saturating_sub(1));
    }

    /// Forgets every template.
    pub fn clear(&mut self) {
        self.list.clear();
        self.last = 0;
    }
}

/// See the module docs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Template {
    /// The template payload's bytes outside the holes, in order.
    literal: Vec<u8>,
    /// The holes in payload order, each with the length of `literal` that
    /// comes before it.
    holes: Vec<(usize, Hole)>,
    /// What the template payload read to, with the holes' values cleared
    /// and its strings in `arena`.
    fields: Fields,
    arena: String,
}

impl Template {
    /// Whether a payload just read in full has a template: a delta event
    /// of a type the fold knows, with a string `delta`, no hole key twice
    /// and no span kept verbatim.
    fn fits(f: &Fields, arena: &str) -> bool {
        let spans = [f.item, f.part, f.response, f.annotation, f.output, f.error];
        f.holes.delta.is_some()
            && !f.holes.repeated
            && f.delta_object.is_none()
            && spans.iter().all(Option::is_none)
            && f.kind
                .is_some_and(|k| item_event(text_str(arena, k).as_bytes()))
    }

    /// Becomes the template of a payload that [`Template::fits`].
    fn learn(&mut self, payload: &[u8], f: &Fields, arena: &str) -> Option<()> {
        let delta = f.holes.delta?;
        let mut holes = [
            Some((delta, Hole::Delta)),
            f.holes.sequence.map(|s| (s, Hole::Sequence)),
            f.holes.padding.map(|s| (s, Hole::Padding)),
        ];
        holes.sort_unstable_by_key(|h| h.map_or(usize::MAX, |(Raw(start, _), _)| start));
        self.literal.clear();
        self.holes.clear();
        let mut at = 0;
        for (Raw(start, end), hole) in holes.into_iter().flatten() {
            self.literal.extend_from_slice(payload.get(at..start)?);
            self.holes.push((self.literal.len(), hole));
            at = end;
        }
        self.literal.extend_from_slice(payload.get(at..)?);
        self.fields = Fields {
            delta: None,
            sequence_number: None,
            holes: reader::Holes::default(),
            ..*f
        };
        self.arena.clear();
        rebase(&mut self.fields, arena, &mut self.arena);
        Some(())
    }

    /// Whether this template folds into the item and part `f` names.
    fn targets(&self, f: &Fields, arena: &str) -> bool {
        let a = &self.fields;
        let text = |arena, t: Option<Text>| t.map(|t| text_str(arena, t));
        text(&self.arena, a.kind) == text(arena, f.kind)
            && text(&self.arena, a.item_id) == text(arena, f.item_id)
            && (
                a.output_index,
                a.content_index,
                a.summary_index,
                a.command_index,
            ) == (
                f.output_index,
                f.content_index,
                f.summary_index,
                f.command_index,
            )
    }

    /// If `payload` matches, its [`Fields`] into `out`, with their strings
    /// in `arena`.
    fn matches(&self, payload: &[u8], arena: &mut String, out: &mut Fields) -> Option<()> {
        let (mut delta, mut sequence_number) = (None, None);
        // The first segment fails fast on another event type or item.
        let first = self.holes.first().map_or(self.literal.len(), |(at, _)| *at);
        if !payload.starts_with(self.literal.get(..first)?) {
            return None;
        }
        arena.clear();
        arena.push_str(&self.arena);
        let mut cursor = Cursor::new(payload);
        let (mut at, mut done) = (first, first);
        for (i, &(_, hole)) in self.holes.iter().enumerate() {
            cursor.seek(at);
            match hole {
                Hole::Delta => delta = Some(string_into(&mut cursor, arena)?),
                Hole::Sequence => sequence_number = Some(int(&mut cursor)?),
                Hole::Padding => skip_string(&mut cursor)?,
            }
            at = cursor.position();
            let next = self
                .holes
                .get(i + 1)
                .map_or(self.literal.len(), |(n, _)| *n);
            let segment = self.literal.get(done..next)?;
            if payload.get(at..at + segment.len())? != segment {
                return None;
            }
            at += segment.len();
            done = next;
        }
        if at != payload.len() {
            return None;
        }
        *out = Fields {
            delta,
            sequence_number,
            ..self.fields
        };
        Some(())
    }
}

/// The integer that starts at the cursor, as `reader::int` reads it
/// (`None` if it is not an integer, or out of range).
fn int(cursor: &mut Cursor<'_>) -> Option<i64> {
    let start = cursor.position();
    let bytes = cursor.data().get(start..)?;
    // The common case, a few digits, without the cursor's validation: the
    // same value when no other number character follows them.
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let after = bytes.get(digits).copied().unwrap_or(b'}');
    if (1..=18).contains(&digits) && !matches!(after, b'+' | b'-' | b'.' | b'e' | b'E') {
        cursor.seek(start + digits);
        let digits = bytes.get(..digits)?;
        return Some(digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')));
    }
    if !matches!(bytes.first(), Some(b'-' | b'0'..=b'9')) {
        return None;
    }
    reader::int(cursor).ok()?
}

/// Where the short string that starts at the cursor ends: the position of
/// its closing quote, when it has no escape (`None` if it has one or is
/// not a string). Tokens and padding are a few bytes, too few for memchr.
fn plain_string(cursor: &Cursor<'_>) -> Option<usize> {
    let start = cursor.position();
    let bytes = cursor.data().get(start..)?;
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let body = bytes.get(1..)?;
    let end = body.iter().position(|&b| b == b'"' || b == b'\\')?;
    (body.get(end) == Some(&b'"')).then_some(start + 1 + end)
}

/// Steps over the string that starts at the cursor, as the reader skips it.
fn skip_string(cursor: &mut Cursor<'_>) -> Option<()> {
    match plain_string(cursor) {
        Some(end) => cursor.seek(end + 1),
        None if cursor.data().get(cursor.position()) == Some(&b'"') => cursor.skip().ok()?,
        None => return None,
    }
    Some(())
}

/// The string that starts at the cursor, appended to `arena`, as
/// `reader::text` reads it (`None` if it is not a string or is invalid).
fn string_into(cursor: &mut Cursor<'_>, arena: &mut String) -> Option<Text> {
    let start = cursor.position();
    let from = arena.len();
    // The common case, with no escape, without the cursor's lossy decoding:
    // the same text when the bytes are UTF-8.
    let plain = plain_string(cursor).and_then(|end| {
        let text = std::str::from_utf8(cursor.data().get(start + 1..end)?).ok()?;
        Some((text, end))
    });
    match plain {
        Some((text, end)) => {
            arena.push_str(text);
            cursor.seek(end + 1);
        }
        None if cursor.data().get(start) == Some(&b'"') => cursor.string_into(arena).ok()?,
        None => return None,
    }
    Some(Text(from as u32, (arena.len() - from) as u32))
}

/// Moves every string of `fields` but the holes from `from` into `to`.
fn rebase(fields: &mut Fields, from: &str, to: &mut String) {
    let f = fields;
    for slot in [
        &mut f.kind,
        &mut f.item_id,
        &mut f.text,
        &mut f.refusal,
        &mut f.arguments,
        &mut f.input,
        &mut f.code,
        &mut f.diff,
        &mut f.command,
    ] {
        if let Some(t) = *slot {
            let start = to.len();
            to.push_str(text_str(from, t));
            *slot = Some(Text(start as u32, (to.len() - start) as u32));
        }
    }
}

/// Whether two reads say the same, strings compared by value and holes'
/// spans ignored: a template's fields against a full read's.
#[cfg(debug_assertions)]
pub fn same(a: &Fields, a_arena: &str, b: &Fields, b_arena: &str) -> bool {
    let mut a = Fields {
        holes: reader::Holes::default(),
        ..*a
    };
    let mut b = Fields {
        holes: reader::Holes::default(),
        ..*b
    };
    let (mut a_own, mut b_own) = (String::new(), String::new());
    for (fields, arena, own) in [(&mut a, a_arena, &mut a_own), (&mut b, b_arena, &mut b_own)] {
        let delta = fields.delta.map(|t| text_str(arena, t).to_owned());
        rebase(fields, arena, own);
        fields.delta = delta.map(|d| {
            let start = own.len();
            own.push_str(&d);
            Text(start as u32, d.len() as u32)
        });
    }
    a == b && a_own == b_own
}
