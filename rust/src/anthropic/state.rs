//! The fold state of one Anthropic message and its merge rules (the
//! README's table). Blocks are keyed by their `index` value, usage and the
//! message's other fields are maps of raw JSON values that each non-null
//! value overwrites, and a tool's input is buffered and parsed once.

use std::borrow::Cow;

use super::reader::{opt_string, span, value_start, Delta, DeltaKind};
use crate::json::strings::decode_fast;
use crate::json::{Cursor, Result};

/// What a block holds, by its `type` (or, for a block no
/// `content_block_start` announced, by the delta that created it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Text,
    Thinking,
    /// `tool_use`, `server_tool_use`, `mcp_tool_use`, or any block that
    /// starts with an `input`.
    Tool,
    Compaction,
    /// `redacted_thinking`, tool results and unknown types: kept as sent.
    Other,
}

impl BlockKind {
    fn of(name: &str) -> Self {
        match name {
            "text" => Self::Text,
            "thinking" => Self::Thinking,
            "tool_use" | "server_tool_use" | "mcp_tool_use" => Self::Tool,
            "compaction" => Self::Compaction,
            _ => Self::Other,
        }
    }

    /// The block kind a delta belongs to.
    fn of_delta(kind: DeltaKind) -> Option<Self> {
        match kind {
            DeltaKind::Text | DeltaKind::Citations => Some(Self::Text),
            DeltaKind::Thinking | DeltaKind::Signature => Some(Self::Thinking),
            DeltaKind::InputJson => Some(Self::Tool),
            DeltaKind::Compaction => Some(Self::Compaction),
            DeltaKind::Other => None,
        }
    }
}

/// How far a tool block's `input` got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// As `content_block_start` gave it (no argument text, or not yet parsed).
    Start,
    /// The argument buffer parsed as a JSON object; it is the input.
    Parsed,
    /// The argument buffer is not a JSON object: `input` is `null` and the
    /// text is kept.
    Invalid,
}

/// One content block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The block object as `content_block_start` (or `message_start`) sent
    /// it; `None` for a block created by a delta.
    pub start: Option<Vec<u8>>,
    pub kind: BlockKind,
    /// A tool block's `name`, for events.
    pub name: String,
    /// Each field a delta touched: the start's value with the deltas
    /// applied. `None` leaves the start's value as it was. `text`,
    /// `thinking` and `json` are UTF-8 (bytes, so that the fast path can
    /// decode straight onto them).
    pub text: Option<Vec<u8>>,
    pub thinking: Option<Vec<u8>>,
    pub signature: Option<String>,
    pub content: Option<String>,
    /// Citations as JSON array elements joined by commas.
    pub citations: Option<Vec<u8>>,
    /// A tool's argument text, appended from `input_json_delta`s.
    pub json: Option<Vec<u8>>,
    pub input: Input,
    /// Whether `json` grew since it was last parsed.
    dirty: bool,
}

impl Block {
    fn new(start: Option<Vec<u8>>, kind: BlockKind) -> Self {
        Self {
            start,
            kind,
            name: String::new(),
            text: None,
            thinking: None,
            signature: None,
            content: None,
            citations: None,
            json: None,
            input: Input::Start,
            dirty: false,
        }
    }

    /// A block from its start object (already validated JSON).
    fn from_start(raw: &[u8]) -> Self {
        let mut kind = BlockKind::Other;
        let mut name = String::new();
        let mut has_input = false;
        let mut cursor = Cursor::new(raw);
        let _ = each_key(&mut cursor, |key, cursor| {
            match key {
                b"type" => {
                    let mut found = String::new();
                    if opt_string(cursor, &mut found)? {
                        kind = BlockKind::of(&found);
                    }
                }
                b"name" => {
                    name.clear();
                    opt_string(cursor, &mut name)?;
                }
                b"input" => {
                    has_input = true;
                    cursor.skip()?;
                }
                _ => cursor.skip()?,
            }
            Ok(())
        });
        if kind == BlockKind::Other && has_input {
            kind = BlockKind::Tool;
        }
        let mut block = Self::new(Some(raw.to_vec()), kind);
        block.name = name;
        block
    }

    /// The start's string value of `key`, or `""`.
    fn start_string(&self, key: &[u8]) -> String {
        let mut out = String::new();
        if let Some((at, _)) = self.start.as_deref().and_then(|s| field(s, key)) {
            let mut cursor = Cursor::new(self.start.as_deref().unwrap_or_default());
            cursor.seek(at);
            if opt_string(&mut cursor, &mut out).is_err() {
                out.clear();
            }
        }
        out
    }

    /// The elements of the start's `citations` array, comma-joined.
    fn start_citations(&self) -> Vec<u8> {
        let start = self.start.as_deref().unwrap_or_default();
        match field(start, b"citations").and_then(|(a, b)| start.get(a..b)) {
            Some(array) if array.first() == Some(&b'[') => {
                let inner = array
                    .get(1..array.len().saturating_sub(1))
                    .unwrap_or_default();
                inner.trim_ascii().to_vec()
            }
            _ => Vec::new(),
        }
    }

    /// Applies a delta whose value (for string kinds) is `text`; whether
    /// the delta was of the block's own kind.
    fn apply(&mut self, delta: &Delta, text: &str, payload: &[u8]) -> bool {
        let fits = BlockKind::of_delta(delta.kind) == Some(self.kind);
        match delta.kind {
            DeltaKind::Text => {
                if self.text.is_none() {
                    self.text = Some(self.start_string(b"text").into_bytes());
                }
                if let Some(t) = self.text.as_mut() {
                    t.extend_from_slice(text.as_bytes());
                }
            }
            DeltaKind::Thinking => {
                if self.thinking.is_none() {
                    self.thinking = Some(self.start_string(b"thinking").into_bytes());
                }
                if let Some(t) = self.thinking.as_mut() {
                    t.extend_from_slice(text.as_bytes());
                }
            }
            DeltaKind::Compaction => {
                if self.content.is_none() {
                    self.content = Some(self.start_string(b"content"));
                }
                if let Some(t) = self.content.as_mut() {
                    t.push_str(text);
                }
            }
            DeltaKind::Signature => {
                if delta.present {
                    self.signature = Some(text.to_owned());
                }
            }
            DeltaKind::Citations => {
                if self.citations.is_none() {
                    self.citations = Some(self.start_citations());
                }
                let citation = payload.get(delta.citation.0..delta.citation.1);
                if let (Some(list), Some(citation), true) =
                    (self.citations.as_mut(), citation, delta.present)
                {
                    if !list.is_empty() {
                        list.push(b',');
                    }
                    list.extend_from_slice(citation);
                }
            }
            DeltaKind::InputJson => {
                self.json
                    .get_or_insert_with(Vec::new)
                    .extend_from_slice(text.as_bytes());
                self.json_grew(!text.is_empty());
            }
            DeltaKind::Other => {}
        }
        fits
    }

    /// After argument text was appended (`grew`: some).
    fn json_grew(&mut self, grew: bool) {
        if grew {
            self.dirty = true;
            // Text after the parse (a delta after `content_block_stop`, or a
            // restarted block): the input is streaming again, and is parsed
            // again, whole, at the next stop or at the end.
            if self.input == Input::Parsed {
                self.input = Input::Start;
            }
        }
    }

    /// The buffer a string delta of `kind` appends to, if the block has it
    /// yet (text and thinking start from the start's value, set by the
    /// first delta's full fold).
    fn buffer(&mut self, kind: DeltaKind) -> Option<&mut Vec<u8>> {
        match kind {
            DeltaKind::Text => self.text.as_mut(),
            DeltaKind::Thinking => self.thinking.as_mut(),
            DeltaKind::InputJson => self.json.as_mut(),
            _ => None,
        }
    }

    /// Parses the argument buffer once; whether it turned out invalid.
    fn settle(&mut self) -> bool {
        if !std::mem::take(&mut self.dirty) {
            return false;
        }
        let Some(json) = self.json.as_deref() else {
            return false;
        };
        if json.trim_ascii().is_empty() {
            self.input = Input::Start;
            return false;
        }
        // One pass over the whole text, however many fragments it came in:
        // checked, not built (the Python side decodes it once, at the end).
        let object = json.trim_ascii_start().starts_with(b"{");
        let valid = object && crate::json::validate::is_json(json);
        self.input = if object && valid {
            Input::Parsed
        } else {
            Input::Invalid
        };
        self.input == Input::Invalid
    }
}

/// Calls `each` with every key of the object that starts here, the cursor
/// on its value; `each` must step over or read the value.
pub fn each_key<'a>(
    cursor: &mut Cursor<'a>,
    mut each: impl FnMut(&[u8], &mut Cursor<'a>) -> Result<()>,
) -> Result<()> {
    let mut key = cursor.object_first()?;
    while let Some(name) = key {
        each(&name, cursor)?;
        key = cursor.object_next()?;
    }
    Ok(())
}

/// The range of `key`'s value in the object `raw`; the last one if the
/// key repeats, as a JSON decoder would keep.
pub fn field(raw: &[u8], key: &[u8]) -> Option<(usize, usize)> {
    let mut found = None;
    let mut cursor = Cursor::new(raw);
    each_key(&mut cursor, |name, cursor| {
        let at = span(cursor)?;
        if name == key {
            found = Some(at);
        }
        Ok(())
    })
    .ok()?;
    found
}

/// An ordered map of raw JSON values by key.
pub type RawMap = Vec<(Vec<u8>, Vec<u8>)>;

fn set(map: &mut RawMap, key: &[u8], value: &[u8]) {
    if let Some(slot) = map.iter_mut().find(|(k, _)| k == key) {
        slot.1.clear();
        slot.1.extend_from_slice(value);
    } else {
        map.push((key.to_vec(), value.to_vec()));
    }
}

/// Looks a key up in a raw map.
pub fn get<'m>(map: &'m RawMap, key: &[u8]) -> Option<&'m [u8]> {
    map.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_slice())
}

/// The message being folded.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fold {
    pub id: Option<String>,
    pub model: Option<String>,
    pub stop_reason: Option<String>,
    /// The message's other fields (`type`, `role`, `stop_sequence`,
    /// `container`, ...): last non-null value wins.
    pub fields: RawMap,
    /// Blocks by index, sorted.
    pub blocks: Vec<(i64, Block)>,
    /// Position in `blocks` of the last block used.
    last: usize,
    /// Usage counters and objects: each non-null value overwrites.
    pub usage: RawMap,
    /// Bedrock's invocation metrics, as sent.
    pub bedrock: Option<Vec<u8>>,
    /// Deltas of the wrong kind for their block (kept, counted).
    pub mismatches: u64,
    /// Tool inputs that did not parse as a JSON object.
    pub invalid_inputs: u64,
    /// Unknown delta types (counted, nothing changed).
    pub unknown_deltas: u64,
}

impl Fold {
    /// The position of block `index`, created by `make` if it is new.
    fn slot(&mut self, index: i64, make: impl FnOnce() -> Block) -> usize {
        if let Some((found, _)) = self.blocks.get(self.last) {
            if *found == index {
                return self.last;
            }
        }
        let at = match self.blocks.binary_search_by_key(&index, |(i, _)| *i) {
            Ok(at) => at,
            Err(at) => {
                self.blocks.insert(at, (index, make()));
                at
            }
        };
        self.last = at;
        at
    }

    /// `message_start`'s `message` object, at `at` in `payload`.
    pub fn message_start(&mut self, payload: &[u8], at: usize) -> Result<()> {
        let mut cursor = Cursor::new(payload);
        cursor.seek(at);
        if cursor.peek()? != b'{' {
            return Ok(());
        }
        each_key(&mut cursor, |key, cursor| {
            match key {
                b"id" => self.id = read_string(cursor)?,
                b"model" => self.model = read_string(cursor)?,
                b"usage" => merge(&mut self.usage, cursor)?,
                b"content" => self.content(payload, cursor)?,
                _ => {
                    let (a, b) = span(cursor)?;
                    let value = payload.get(a..b).unwrap_or_default();
                    if key == b"stop_reason" {
                        self.stop_reason = string_value(value);
                    }
                    set(&mut self.fields, key, value);
                }
            }
            Ok(())
        })
    }

    /// A `message_start` message's `content`: whole blocks, indexed by position.
    fn content(&mut self, payload: &[u8], cursor: &mut Cursor<'_>) -> Result<()> {
        if cursor.peek()? != b'[' {
            return cursor.skip();
        }
        let mut position = 0i64;
        let mut more = cursor.array_first()?;
        while more {
            let (a, b) = span(cursor)?;
            let raw = payload.get(a..b).unwrap_or_default();
            if raw.first() == Some(&b'{') {
                self.block_start(position, raw);
            }
            position += 1;
            more = cursor.array_next()?;
        }
        Ok(())
    }

    /// `content_block_start`: the block as sent. A block that deltas already
    /// created keeps what they folded.
    pub fn block_start(&mut self, index: i64, raw: &[u8]) {
        let fresh = Block::from_start(raw);
        let at = self.slot(index, || fresh.clone());
        if let Some((_, block)) = self.blocks.get_mut(at) {
            if block.start.as_deref() != Some(raw) {
                block.start = fresh.start;
                block.kind = fresh.kind;
                block.name = fresh.name;
            }
        }
    }

    /// `content_block_delta`; the delta's string value is `text`. Returns
    /// the block's tool name for events.
    pub fn block_delta(&mut self, index: i64, delta: &Delta, text: &str, payload: &[u8]) -> &str {
        let Some(kind) = BlockKind::of_delta(delta.kind) else {
            self.unknown_deltas += 1;
            return "";
        };
        let at = self.slot(index, || Block::new(None, kind));
        let Some((_, block)) = self.blocks.get_mut(at) else {
            return "";
        };
        if !block.apply(delta, text, payload) {
            self.mismatches += 1;
        }
        &block.name
    }

    /// The position of block `index`, if it exists.
    fn find(&mut self, index: i64) -> Option<usize> {
        if let Some((found, _)) = self.blocks.get(self.last) {
            if *found == index {
                return Some(self.last);
            }
        }
        let at = self.blocks.binary_search_by_key(&index, |(i, _)| *i).ok()?;
        self.last = at;
        Some(at)
    }

    /// The fast path's `content_block_delta` (see `fast`): decodes the
    /// string delta of `kind` that starts at `at` (just past its quote) in
    /// `payload` straight onto block `index`'s buffer, with the effects
    /// [`Fold::block_delta`] would have. `None`, with nothing changed, when
    /// the block or its buffer does not exist yet, or the string or the
    /// rest of the payload is not one the fast path takes. Otherwise the
    /// block and where the delta's text starts in its buffer.
    pub fn fast_delta(
        &mut self,
        index: i64,
        kind: DeltaKind,
        payload: &[u8],
        at: usize,
    ) -> Option<(&Block, usize)> {
        let slot = self.find(index)?;
        let (_, block) = self.blocks.get_mut(slot)?;
        let buffer = block.buffer(kind)?;
        let from = buffer.len();
        let end = decode_fast(payload, at, buffer)?;
        if !super::fast::closes(payload, end) {
            buffer.truncate(from);
            return None;
        }
        let grew = buffer.len() > from;
        if kind == DeltaKind::InputJson {
            block.json_grew(grew);
        }
        if BlockKind::of_delta(kind) != Some(block.kind) {
            self.mismatches += 1;
        }
        let (_, block) = self.blocks.get(slot)?;
        Some((block, from))
    }

    /// `content_block_stop`: the tool input is parsed, once.
    pub fn block_stop(&mut self, index: i64) {
        if let Ok(at) = self.blocks.binary_search_by_key(&index, |(i, _)| *i) {
            if let Some((_, block)) = self.blocks.get_mut(at) {
                if block.settle() {
                    self.invalid_inputs += 1;
                }
            }
        }
    }

    /// Parses every tool input still open (at the end of the stream).
    pub fn settle_all(&mut self) {
        for (_, block) in &mut self.blocks {
            if block.settle() {
                self.invalid_inputs += 1;
            }
        }
    }

    /// `message_delta`: its `delta` (at `delta`) and `usage` (at `usage`).
    pub fn message_delta(
        &mut self,
        payload: &[u8],
        delta: Option<usize>,
        usage: Option<usize>,
    ) -> Result<()> {
        let mut cursor = Cursor::new(payload);
        if let Some(at) = delta {
            cursor.seek(at);
            if cursor.peek()? == b'{' {
                each_key(&mut cursor, |key, cursor| {
                    if cursor.null()? {
                        return Ok(());
                    }
                    let (a, b) = span(cursor)?;
                    let value = payload.get(a..b).unwrap_or_default();
                    match key {
                        // Not delta fields: the message's identity and
                        // content come from message_start and the blocks.
                        b"id" | b"model" | b"content" | b"usage" | b"type" | b"role" => {}
                        _ => {
                            if key == b"stop_reason" {
                                self.stop_reason = string_value(value).or(self.stop_reason.take());
                            }
                            set(&mut self.fields, key, value);
                        }
                    }
                    Ok(())
                })?;
            }
        }
        if let Some(at) = usage {
            cursor.seek(at);
            merge(&mut self.usage, &mut cursor)?;
        }
        Ok(())
    }
}

/// Merges the object that starts here into `map`: each non-null value
/// overwrites. Anything but an object is stepped over.
fn merge(map: &mut RawMap, cursor: &mut Cursor<'_>) -> Result<()> {
    if cursor.peek()? != b'{' {
        return cursor.skip();
    }
    let data = cursor_data(cursor);
    each_key(cursor, |key, cursor| {
        if cursor.null()? {
            return Ok(());
        }
        let start = value_start(cursor)?;
        cursor.skip()?;
        set(
            map,
            key,
            data.get(start..cursor.position()).unwrap_or_default(),
        );
        Ok(())
    })
}

/// The document a cursor reads (the cursor does not expose it; its
/// `position` at the end is its length).
fn cursor_data<'a>(cursor: &Cursor<'a>) -> &'a [u8] {
    cursor.data()
}

fn read_string(cursor: &mut Cursor<'_>) -> Result<Option<String>> {
    let mut out = String::new();
    Ok(opt_string(cursor, &mut out)?.then_some(out))
}

/// A raw JSON value decoded as a string, if it is one.
fn string_value(raw: &[u8]) -> Option<String> {
    let mut out = String::new();
    let mut cursor = Cursor::new(raw);
    match opt_string(&mut cursor, &mut out) {
        Ok(true) => Some(out),
        _ => None,
    }
}

/// A key as text, for writing.
pub fn key_text(key: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(key)
}
