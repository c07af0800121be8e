//! Reading one Anthropic event payload: the top-level fields the fold
//! routes on, with every other value stepped over.
//!
//! Keys may come in any order (a proxy that sorts keys puts `delta` before
//! `type`), so values the fold needs later are recorded by position and
//! read once the event's `type` is known; in the usual order (`type`
//! first) they are read in place.

use crate::json::{Cursor, Result};

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
    fn of(name: &str) -> Self {
        match name {
            "message_start" => Self::MessageStart,
            "content_block_start" => Self::BlockStart,
            "content_block_delta" => Self::BlockDelta,
            "content_block_stop" => Self::BlockStop,
            "message_delta" => Self::MessageDelta,
            "message_stop" => Self::MessageStop,
            "ping" => Self::Ping,
            "error" => Self::Error,
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
    fn of(name: &str) -> Self {
        match name {
            "text_delta" => Self::Text,
            "input_json_delta" => Self::InputJson,
            "thinking_delta" => Self::Thinking,
            "signature_delta" => Self::Signature,
            "citations_delta" => Self::Citations,
            "compaction_delta" => Self::Compaction,
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

/// Reads the payload `data`; its `type` goes into `kind_name`, a text or
/// JSON-fragment delta into `arena` (both cleared first).
pub fn read(data: &[u8], kind_name: &mut String, arena: &mut String) -> Result<Read> {
    kind_name.clear();
    arena.clear();
    let mut cursor = Cursor::new(data);
    let mut read = Read {
        kind: Kind::Other,
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
                if cursor.peek()? == b'"' {
                    cursor.string_into(kind_name)?;
                } else {
                    cursor.skip()?;
                }
                read.kind = Kind::of(kind_name);
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
                read.delta = delta(&mut cursor, arena)?;
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
            read.delta = delta(&mut cursor, arena)?;
        }
    }
    Ok(read)
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
fn delta(cursor: &mut Cursor<'_>, arena: &mut String) -> Result<Option<Delta>> {
    if cursor.peek()? != b'{' {
        cursor.skip()?;
        return Ok(None);
    }
    let mut kind_name = String::new();
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
                if opt_string(cursor, &mut kind_name)? {
                    let found = DeltaKind::of(&kind_name);
                    kind = Some(found);
                    out.kind = found;
                    pending = early_slot(found).and_then(|slot| early.get(slot).copied().flatten()).map(|at| (found, at));
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

fn value(cursor: &mut Cursor<'_>, kind: DeltaKind, arena: &mut String, out: &mut Delta) -> Result<()> {
    if kind == DeltaKind::Citations {
        if cursor.null()? {
            return Ok(());
        }
        out.citation = span(cursor)?;
        out.present = true;
        return Ok(());
    }
    arena.clear();
    out.present = opt_string(cursor, arena)?;
    Ok(())
}
