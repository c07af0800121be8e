//! A lazy reader of one Responses stream event payload.
//!
//! One pass over the top-level object with [`Cursor`]: the fields any event
//! type folds are pulled out, whatever their order (the `type` usually comes
//! first, but nothing relies on it), and everything else (`obfuscation`,
//! `logprobs`, unknown provider fields) is skipped undecoded. Strings the
//! fold appends are decoded into a reusable arena; objects kept verbatim
//! (`item`, `part`, `response`, `annotation`) are ranges of the payload,
//! read further only by the rare event that needs them. Nothing touches
//! the fold state until the whole payload has parsed, so a malformed
//! payload changes nothing.
//!
//! Lenient about types, as providers are: a field of an unexpected type is
//! skipped as absent, never an error. Only invalid JSON, or a payload that
//! is not an object, is an error.

use crate::json::{Cursor, JsonError, Result};

/// A range of the text arena.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Text(pub u32, pub u32);

/// A range of the payload holding one JSON value verbatim.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Raw(pub usize, pub usize);

/// What one event payload says, by field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fields {
    pub kind: Option<Text>,
    pub sequence_number: Option<i64>,
    pub output_index: Option<i64>,
    pub content_index: Option<i64>,
    pub summary_index: Option<i64>,
    pub annotation_index: Option<i64>,
    pub command_index: Option<i64>,
    pub item_id: Option<Text>,
    /// `delta` when it is a string (every text delta).
    pub delta: Option<Text>,
    /// `delta` when it is an object (shell output content: `{stdout, stderr}`).
    pub delta_object: Option<Raw>,
    /// The value a `*.done` event replaces with, by its key.
    pub text: Option<Text>,
    pub refusal: Option<Text>,
    pub arguments: Option<Text>,
    pub input: Option<Text>,
    pub code: Option<Text>,
    pub diff: Option<Text>,
    pub command: Option<Text>,
    /// Objects kept verbatim.
    pub item: Option<Raw>,
    pub part: Option<Raw>,
    pub response: Option<Raw>,
    pub annotation: Option<Raw>,
    /// `output` of a shell output `done` event: a list.
    pub output: Option<Raw>,
    /// A nested `error` object (the `error` event's other shape).
    pub error: Option<Raw>,
    /// Where the values an event template leaves open lie.
    pub holes: Holes,
}

/// Where the values that change from one delta event to the next lie in
/// the payload: the string `delta`, the integer `sequence_number` and the
/// string `obfuscation` padding (see `template`). Each is set only when its
/// value has that type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holes {
    pub delta: Option<Raw>,
    pub sequence: Option<Raw>,
    pub padding: Option<Raw>,
    /// One of those keys came more than once: the payload is no template.
    pub repeated: bool,
}

impl Holes {
    /// Records the value at `start..end` under one of the hole keys.
    fn note(&mut self, slot: fn(&mut Self) -> &mut Option<Raw>, span: Option<Raw>) {
        let slot_ref = slot(self);
        let seen = slot_ref.is_some();
        *slot_ref = span;
        self.repeated |= seen;
    }
}

/// Reads `payload`, decoding its strings into `arena` (cleared by the caller).
pub fn read(payload: &[u8], arena: &mut String) -> Result<Fields> {
    let mut j = Cursor::new(payload);
    let mut f = Fields::default();
    let mut key = j.object_first()?;
    while let Some(name) = key {
        match &*name {
            b"type" => f.kind = text(&mut j, arena)?,
            b"delta" => match j.peek()? {
                b'{' => {
                    f.delta_object = Some(raw(&mut j)?);
                    f.holes.repeated = true;
                }
                _ => {
                    let start = j.position();
                    f.delta = text(&mut j, arena)?;
                    let span = f.delta.map(|_| Raw(start, j.position()));
                    f.holes.note(|h| &mut h.delta, span);
                }
            },
            b"sequence_number" => {
                j.peek()?;
                let start = j.position();
                f.sequence_number = int(&mut j)?;
                let span = f.sequence_number.map(|_| Raw(start, j.position()));
                f.holes.note(|h| &mut h.sequence, span);
            }
            b"obfuscation" => {
                let span = match j.peek()? {
                    b'"' => Some(raw(&mut j)?),
                    _ => {
                        j.skip()?;
                        None
                    }
                };
                f.holes.note(|h| &mut h.padding, span);
            }
            b"output_index" => f.output_index = int(&mut j)?,
            b"content_index" => f.content_index = int(&mut j)?,
            b"summary_index" => f.summary_index = int(&mut j)?,
            b"annotation_index" => f.annotation_index = int(&mut j)?,
            b"command_index" => f.command_index = int(&mut j)?,
            b"item_id" => f.item_id = text(&mut j, arena)?,
            b"text" => f.text = text(&mut j, arena)?,
            b"refusal" => f.refusal = text(&mut j, arena)?,
            b"arguments" => f.arguments = text(&mut j, arena)?,
            b"input" => f.input = text(&mut j, arena)?,
            b"code" => f.code = text(&mut j, arena)?,
            b"diff" => f.diff = text(&mut j, arena)?,
            b"command" => f.command = text(&mut j, arena)?,
            b"item" => f.item = object(&mut j)?,
            b"part" => f.part = object(&mut j)?,
            b"response" => f.response = object(&mut j)?,
            b"annotation" => f.annotation = object(&mut j)?,
            b"error" => f.error = object(&mut j)?,
            b"output" if j.peek()? == b'[' => f.output = Some(raw(&mut j)?),
            _ => j.skip()?,
        }
        key = j.object_next()?;
    }
    j.finish()?;
    for kept in [f.item, f.part, f.response, f.annotation, f.output, f.error] {
        let Some(Raw(start, end)) = kept else {
            continue;
        };
        if depth(payload.get(start..end).unwrap_or_default()) > MAX_DEPTH {
            return Err(JsonError {
                at: start,
                what: "an object kept for the response nests deeper than 128 levels",
            });
        }
    }
    Ok(f)
}

/// How deep an object kept verbatim may nest. The response written around
/// it must still decode in Python, whose decoders stop near 1000 levels;
/// real items nest fewer than ten.
pub const MAX_DEPTH: usize = 128;

/// The deepest nesting of arrays and objects in `value` (valid JSON).
fn depth(value: &[u8]) -> usize {
    let (mut deepest, mut level, mut at) = (0usize, 0usize, 0usize);
    while let Some(found) = memchr::memchr3(b'"', b'{', b'[', value.get(at..).unwrap_or_default()) {
        let pos = at + found;
        // Closing brackets between here and the last stop lower the level.
        let closed = value
            .get(at..pos)
            .unwrap_or_default()
            .iter()
            .filter(|&&b| b == b'}' || b == b']')
            .count();
        level = level.saturating_sub(closed);
        if value.get(pos) == Some(&b'"') {
            // Skip the string: to the next quote not escaped.
            let mut end = pos + 1;
            while let Some(next) =
                memchr::memchr2(b'"', b'\\', value.get(end..).unwrap_or_default())
            {
                end += next;
                if value.get(end) == Some(&b'\\') {
                    end += 2;
                    continue;
                }
                break;
            }
            at = end + 1;
        } else {
            level += 1;
            deepest = deepest.max(level);
            at = pos + 1;
        }
    }
    deepest
}

/// A string value into the arena; null or another type gives `None`.
pub fn text(j: &mut Cursor<'_>, arena: &mut String) -> Result<Option<Text>> {
    if j.peek()? != b'"' {
        j.skip()?;
        return Ok(None);
    }
    let start = arena.len();
    j.string_into(arena)?;
    Ok(Some(Text(start as u32, (arena.len() - start) as u32)))
}

/// An integer value; other types and fractions are skipped as `None`.
pub fn int(j: &mut Cursor<'_>) -> Result<Option<i64>> {
    if !matches!(j.peek()?, b'-' | b'0'..=b'9') {
        j.skip()?;
        return Ok(None);
    }
    j.int()
}

/// The span of the value that starts here.
pub fn raw(j: &mut Cursor<'_>) -> Result<Raw> {
    j.peek()?;
    let start = j.position();
    j.skip()?;
    Ok(Raw(start, j.position()))
}

/// The span of an object value; anything else is skipped as `None`.
fn object(j: &mut Cursor<'_>) -> Result<Option<Raw>> {
    if j.peek()? != b'{' {
        j.skip()?;
        return Ok(None);
    }
    raw(j).map(Some)
}

/// The arena text a [`Text`] refers to.
pub fn text_str(arena: &str, Text(start, len): Text) -> &str {
    arena
        .get(start as usize..start as usize + len as usize)
        .unwrap_or_default()
}

/// The bytes a [`Raw`] refers to.
pub fn raw_bytes(payload: &[u8], Raw(start, end): Raw) -> &[u8] {
    payload.get(start..end).unwrap_or_default()
}

/// What the fold needs from an object kept verbatim (an item, a response):
/// a few top-level strings and whether some fields are present.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scan {
    pub id: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub model: Option<String>,
    /// `created_at` verbatim (an integer, or a float from some providers).
    pub created_at: Option<Vec<u8>>,
    /// `usage`, when it is an object.
    pub usage: Option<Raw>,
    /// `error`, when it is an object.
    pub error: Option<Raw>,
    /// Whether `output` is a non-empty list.
    pub output: bool,
    /// `incomplete_details.reason`.
    pub reason: Option<String>,
}

/// Scans one object (a `response` or an `item`) for [`Scan`]'s fields.
/// Positions are relative to `object`.
pub fn scan(object: &[u8]) -> Result<Scan> {
    let mut j = Cursor::new(object);
    let mut s = Scan::default();
    let mut arena = String::new();
    let mut string = |j: &mut Cursor<'_>| -> Result<Option<String>> {
        arena.clear();
        Ok(text(j, &mut arena)?.map(|_| arena.clone()))
    };
    let mut key = j.object_first()?;
    while let Some(name) = key {
        match &*name {
            b"id" => s.id = string(&mut j)?,
            b"type" => s.kind = string(&mut j)?,
            b"name" => s.name = string(&mut j)?,
            b"model" => s.model = string(&mut j)?,
            b"created_at" if matches!(j.peek()?, b'-' | b'0'..=b'9') => {
                let Raw(start, end) = raw(&mut j)?;
                s.created_at = object.get(start..end).map(<[u8]>::to_vec);
            }
            b"usage" | b"error" if j.peek()? == b'{' => {
                let span = Some(raw(&mut j)?);
                if &*name == b"usage" {
                    s.usage = span;
                } else {
                    s.error = span;
                }
            }
            b"output" if j.peek()? == b'[' => {
                let mut inner = Cursor::new(object);
                inner.seek(j.position());
                s.output = inner.array_first()?;
                j.skip()?;
            }
            b"incomplete_details" if j.peek()? == b'{' => {
                let mut first = true;
                loop {
                    let key = if std::mem::take(&mut first) {
                        j.object_first()?
                    } else {
                        j.object_next()?
                    };
                    let Some(key) = key else { break };
                    match &*key {
                        b"reason" => s.reason = string(&mut j)?,
                        _ => j.skip()?,
                    }
                }
            }
            _ => j.skip()?,
        }
        key = j.object_next()?;
    }
    Ok(s)
}

/// [`depth`], for the tests.
#[cfg(test)]
pub fn depth_for_tests(value: &[u8]) -> usize {
    depth(value)
}
