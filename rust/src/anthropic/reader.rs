//! Reading one Anthropic event payload: the top-level fields the fold
//! routes on, with every other value stepped over.
//!
//! Keys may come in any order (a proxy that sorts keys puts `delta` before
//! `type`), so values the fold needs later are recorded by position and
//! read once the event's `type` is known; in the usual order (`type`
//! first) they are read in place.

use crate::json::{Cursor, JsonError, Result};

pub use crate::json::strings::append_string;

use super::fast;

/// The event kinds the fold knows, routed by the payload's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MessageStart,
    BlockStart,
    BlockDelta,
    BlockStop,
    MessageDelta,
    MessageStop,
    Ping,
    Error,
    /// Any other type (Vertex's `vertex_event`, future events), or none.
    Other,
}

impl Kind {
    fn of(name: &[u8]) -> Self {
        match name {
            b"message_start" => Self::MessageStart,
            b"content_block_start" => Self::BlockStart,
            b"content_block_delta" => Self::BlockDelta,
            b"content_block_stop" => Self::BlockStop,
            b"message_delta" => Self::MessageDelta,
            b"message_stop" => Self::MessageStop,
            b"ping" => Self::Ping,
            b"error" => Self::Error,
            _ => Self::Other,
        }
    }
}

/// The delta kinds of `content_block_delta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaKind {
    Text,
    InputJson,
    Thinking,
    Signature,
    Citations,
    Compaction,
    /// An unknown delta type: counted, its block untouched.
    Other,
}

impl DeltaKind {
    fn of(name: &[u8]) -> Self {
        match name {
            b"text_delta" => Self::Text,
            b"input_json_delta" => Self::InputJson,
            b"thinking_delta" => Self::Thinking,
            b"signature_delta" => Self::Signature,
            b"citations_delta" => Self::Citations,
            b"compaction_delta" => Self::Compaction,
            _ => Self::Other,
        }
    }

    /// The key of the delta's value.
    fn field(self) -> &'static [u8] {
        match self {
            Self::Text => b"text",
            Self::InputJson => b"partial_json",
            Self::Thinking => b"thinking",
            Self::Signature => b"signature",
            Self::Citations => b"citation",
            Self::Compaction => b"content",
            Self::Other => b"",
        }
    }
}

/// A `content_block_delta`'s delta. String values are decoded into the
/// caller's arena; a citation is a range of the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    pub kind: DeltaKind,
    /// Whether the value was present as a string (or, for a citation, as
    /// any non-null JSON value).
    pub present: bool,
    /// The citation's range in the payload.
    pub citation: (usize, usize),
}

/// What one payload holds, as far as the fold cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub kind: Kind,
    /// The `type` string's range in the payload; when it held escapes it
    /// is `None` and the decoded name is in [`Scratch::kind`].
    pub type_span: Option<(usize, usize)>,
    pub index: Option<i64>,
    pub delta: Option<Delta>,
    /// Where the `delta` object starts, for `message_delta`.
    pub delta_at: Option<usize>,
    pub content_block: Option<(usize, usize)>,
    pub message: Option<usize>,
    pub usage: Option<usize>,
    /// Bedrock's `amazon-bedrock-invocationMetrics` object.
    pub bedrock: Option<(usize, usize)>,
}

/// Reusable buffers for [`read`], so that no event allocates.
#[derive(Debug, Default)]
pub struct Scratch {
    /// The event's `type`.
    pub kind: String,
    /// The delta's `type`.
    pub delta_kind: String,
    /// The delta's decoded string value.
    pub arena: String,
}

/// Reads the payload `data` into `scratch` (the event's `type`, and a text
/// or JSON-fragment delta's value).
pub fn read(data: &[u8], scratch: &mut Scratch) -> Result<Read> {
    if let Some(read) = compact_delta(data, &mut scratch.arena) {
        return Ok(read);
    }
    read_any(data, scratch)
}

/// The fast read of the events that make up nearly every stream: a
/// `content_block_delta` in the API's own compact key order,
/// `{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"..."}}`
/// (also `input_json_delta`/`partial_json` and `thinking_delta`/`thinking`),
/// with only whitespace after it (the API pads some events); see
/// [`fast::header`]. Anything else, or anything odd in it, returns `None`
/// and takes the full read, which gives the same result for these payloads.
fn compact_delta(data: &[u8], arena: &mut String) -> Option<Read> {
    let (index, kind, at) = fast::header(data)?;
    let mut cursor = Cursor::new(data);
    cursor.seek(at - 1);
    arena.clear();
    if !matches!(append_string(&mut cursor, arena), Ok(true)) {
        arena.clear();
        return None;
    }
    if !fast::closes(data, cursor.position()) {
        arena.clear();
        return None;
    }
    Some(Read {
        kind: Kind::BlockDelta,
        type_span: Some((9, 28)),
        index: Some(index),
        delta: Some(Delta {
            kind,
            present: true,
            citation: (0, 0),
        }),
        delta_at: None,
        content_block: None,
        message: None,
        usage: None,
        bedrock: None,
    })
}

pub(super) fn read_any(data: &[u8], scratch: &mut Scratch) -> Result<Read> {
    let Scratch {
        kind: kind_name,
        delta_kind,
        arena,
    } = scratch;
    kind_name.clear();
    arena.clear();
    let mut cursor = Cursor::new(data);
    let mut read = Read {
        kind: Kind::Other,
        type_span: None,
        index: None,
        delta: None,
        delta_at: None,
        content_block: None,
        message: None,
        usage: None,
        bedrock: None,
    };
    let mut key = cursor.object_first()?;
    while let Some(name) = key {
        match &*name {
            b"type" => {
                kind_name.clear();
                read.type_span = None;
                read.kind = match name_of(&mut cursor, kind_name)? {
                    Some(Name::Plain(a, b)) => {
                        read.type_span = Some((a, b));
                        Kind::of(data.get(a..b).unwrap_or_default())
                    }
                    Some(Name::Decoded) => Kind::of(kind_name.as_bytes()),
                    None => Kind::Other,
                };
            }
            b"index" => {
                read.index = if cursor.peek()? == b'-' || cursor.peek()?.is_ascii_digit() {
                    cursor.int()?
                } else {
                    cursor.skip()?;
                    None
                };
            }
            b"delta" if read.kind == Kind::BlockDelta => {
                read.delta = delta(&mut cursor, arena, delta_kind)?;
            }
            b"delta" => {
                read.delta_at = Some(value_start(&mut cursor)?);
                cursor.skip()?;
            }
            b"content_block" => read.content_block = Some(span(&mut cursor)?),
            b"message" => {
                read.message = Some(value_start(&mut cursor)?);
                cursor.skip()?;
            }
            b"usage" => {
                read.usage = Some(value_start(&mut cursor)?);
                cursor.skip()?;
            }
            b"amazon-bedrock-invocationMetrics" => read.bedrock = Some(span(&mut cursor)?),
            _ => cursor.skip()?,
        }
        key = cursor.object_next()?;
    }
    cursor.finish()?;
    if read.kind == Kind::BlockDelta && read.delta.is_none() {
        if let Some(at) = read.delta_at.take() {
            cursor.seek(at);
            read.delta = delta(&mut cursor, arena, delta_kind)?;
        }
    }
    Ok(read)
}

/// A string read by [`name_of`].
enum Name {
    /// Its range in the payload: it held no escapes.
    Plain(usize, usize),
    /// It held escapes; it was decoded into the caller's buffer.
    Decoded,
}

/// Reads the string that starts here without copying it when it has no
/// escapes (type names never do); `None` for any other value.
fn name_of(cursor: &mut Cursor<'_>, spill: &mut String) -> Result<Option<Name>> {
    let start = value_start(cursor)?;
    if cursor.peek()? != b'"' {
        cursor.skip()?;
        return Ok(None);
    }
    let body = start + 1;
    let rest = cursor.data().get(body..).unwrap_or_default();
    match memchr::memchr2(b'"', b'\\', rest) {
        Some(at) if rest.get(at) == Some(&b'"') => {
            let raw = rest.get(..at).unwrap_or_default();
            // Known names are ASCII; anything else must still be valid JSON.
            if !raw.is_ascii() && std::str::from_utf8(raw).is_err() {
                return Err(JsonError {
                    at: start,
                    what: "invalid UTF-8 in string",
                });
            }
            cursor.seek(body + at + 1);
            Ok(Some(Name::Plain(body, body + at)))
        }
        _ => {
            cursor.string_into(spill)?;
            Ok(Some(Name::Decoded))
        }
    }
}

/// Where the value that starts here begins, past any whitespace.
pub fn value_start(cursor: &mut Cursor<'_>) -> Result<usize> {
    cursor.peek()?;
    Ok(cursor.position())
}

/// The range of the value that starts here, stepped over.
pub fn span(cursor: &mut Cursor<'_>) -> Result<(usize, usize)> {
    let start = value_start(cursor)?;
    cursor.skip()?;
    Ok((start, cursor.position()))
}

/// Decodes the string that starts here into `out` if it is one; any other
/// value (null, or a value of the wrong type) is stepped over as absent.
pub fn opt_string(cursor: &mut Cursor<'_>, out: &mut String) -> Result<bool> {
    if cursor.peek()? == b'"' {
        cursor.string_into(out)?;
        Ok(true)
    } else {
        cursor.skip()?;
        Ok(false)
    }
}

/// Reads a `content_block_delta`'s `delta` object; `None` if it is not an
/// object (`null`, or a value of the wrong type).
fn delta(
    cursor: &mut Cursor<'_>,
    arena: &mut String,
    kind_name: &mut String,
) -> Result<Option<Delta>> {
    if cursor.peek()? != b'{' {
        cursor.skip()?;
        return Ok(None);
    }
    kind_name.clear();
    let mut kind = None;
    let mut out = Delta {
        kind: DeltaKind::Other,
        present: false,
        citation: (0, 0),
    };
    // Values met before `type`, by key: read once the type is known.
    let mut pending: Option<(DeltaKind, usize)> = None;
    let mut early: [Option<usize>; 6] = [None; 6];
    let mut key = cursor.object_first()?;
    while let Some(name) = key {
        match (&*name, kind) {
            (b"type", _) => {
                kind_name.clear();
                let name = match name_of(cursor, kind_name)? {
                    Some(Name::Plain(a, b)) => Some(cursor.data().get(a..b).unwrap_or_default()),
                    Some(Name::Decoded) => Some(kind_name.as_bytes()),
                    None => None,
                };
                if let Some(name) = name {
                    let found = DeltaKind::of(name);
                    kind = Some(found);
                    out.kind = found;
                    pending = early_slot(found)
                        .and_then(|slot| early.get(slot).copied().flatten())
                        .map(|at| (found, at));
                } else {
                    kind = Some(DeltaKind::Other);
                }
            }
            (field, Some(known)) if field == known.field() && known != DeltaKind::Other => {
                value(cursor, known, arena, &mut out)?;
                pending = None;
            }
            (field, None) => {
                let slot = FIELDS.iter().position(|f| *f == field);
                if let Some(slot) = slot.and_then(|s| early.get_mut(s)) {
                    *slot = Some(value_start(cursor)?);
                }
                cursor.skip()?;
            }
            _ => cursor.skip()?,
        }
        key = cursor.object_next()?;
    }
    if let Some((known, at)) = pending {
        let end = cursor.position();
        cursor.seek(at);
        value(cursor, known, arena, &mut out)?;
        cursor.seek(end);
    }
    Ok(Some(out))
}

/// The value keys of the known delta kinds, in `early`'s order.
const FIELDS: [&[u8]; 6] = [
    b"text",
    b"partial_json",
    b"thinking",
    b"signature",
    b"citation",
    b"content",
];

fn early_slot(kind: DeltaKind) -> Option<usize> {
    FIELDS.iter().position(|f| *f == kind.field())
}

fn value(
    cursor: &mut Cursor<'_>,
    kind: DeltaKind,
    arena: &mut String,
    out: &mut Delta,
) -> Result<()> {
    if kind == DeltaKind::Citations {
        if cursor.null()? {
            return Ok(());
        }
        out.citation = span(cursor)?;
        out.present = true;
        return Ok(());
    }
    arena.clear();
    out.present = append_string(cursor, arena)?;
    Ok(())
}
