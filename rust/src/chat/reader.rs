//! A lazy reader of one `chat.completion.chunk` payload.
//!
//! It pulls only what folding needs out of the JSON with [`Cursor`] and
//! skips the rest (`obfuscation`, `object`, unknown provider fields, and the
//! ids once they are known) without decoding it. What it finds becomes a list of [`Op`]s, applied to the fold state
//! only once the whole payload has parsed, so that a payload that turns out
//! to be malformed changes nothing. Text is copied into a reusable arena;
//! values kept verbatim (usage, logprob tokens, annotations) are ranges of
//! the payload.
//!
//! The reader is lenient about types, as providers are: a field of an
//! unexpected type is skipped, never an error. Only invalid JSON, or a
//! payload that is not an object, is an error.

use std::borrow::Cow;

use crate::json::{Cursor, Result};

/// A range of the text arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text(pub u32, pub u32);

/// A range of the payload holding one JSON value verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raw(pub usize, pub usize);

/// One tool call fragment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ToolFragment {
    pub index: Option<i64>,
    pub id: Option<Text>,
    pub kind: Option<Text>,
    pub name: Option<Text>,
    pub arguments: Option<Text>,
}

/// One audio fragment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AudioFragment {
    pub id: Option<Text>,
    pub data: Option<Text>,
    pub transcript: Option<Text>,
    pub expires_at: Option<i64>,
}

/// What one payload says, in JSON order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Id(Text),
    Model(Text),
    Created(i64),
    Fingerprint(Text),
    ServiceTier(Text),
    Usage(Raw),
    Citation(Text),
    /// A top-level `error`, or `"object": "error"`.
    Error,
    /// The following ops, up to the next `Choice`, belong to this choice.
    Choice(i64),
    Role(Text),
    Content(Text),
    Refusal(Text),
    ReasoningContent(Text),
    Reasoning(Text),
    FinishReason(Text),
    Tool(ToolFragment),
    FunctionCall {
        name: Option<Text>,
        arguments: Option<Text>,
    },
    Audio(AudioFragment),
    /// The choice's `logprobs` was not null.
    Logprobs,
    /// `logprobs.content` was a list; its tokens follow as `LogprobToken`.
    LogprobContent,
    /// `logprobs.refusal` was a list; its tokens follow as `LogprobToken`.
    LogprobRefusal,
    LogprobToken(Raw),
    Annotation(Raw),
}

/// Reads `payload`, appending its ops to `ops` and its text to `arena`.
/// With `meta` false, `id`, `model` and `created` (set once, and already
/// known) are skipped unread.
///
/// `resume`, if given, is where the value of `"choices"` starts in
/// `payload`, because everything before it is known to repeat the previous
/// chunk byte for byte (see [`Prefix`]); reading starts there.
///
/// Returns where the payload's parts lie, for the caches of the next chunk.
pub fn read(
    payload: &[u8],
    meta: bool,
    resume: Option<usize>,
    ops: &mut Vec<Op>,
    arena: &mut String,
) -> Result<Layout> {
    let mut reader = Reader {
        j: Cursor::new(payload),
        meta,
        ops,
        arena,
        layout: Layout::default(),
        last_span: (0, 0),
    };
    reader.chunk(resume)?;
    reader.j.finish()?;
    Ok(reader.layout)
}

/// Where a payload's parts lie.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// See [`Prefix`].
    pub prefix: Option<Prefix>,
    /// The JSON string of the last text op that may differ from chunk to
    /// chunk (content, refusal, reasoning, tool arguments), and how many
    /// such ops there were.
    pub variable: Option<(usize, usize)>,
    pub variables: u32,
    /// The JSON string of a top-level `obfuscation`, which folding ignores.
    pub volatile: Option<(usize, usize)>,
    /// The last `logprobs.content` array: where its `[` is and where it ends.
    pub tokens: Option<(usize, usize)>,
}

/// The keys whose values are idempotent to fold again: set once, or "last
/// non-empty wins". A chunk whose keys before `"choices"` are all among
/// them, and whose bytes up to it equal the previous chunk's, can skip
/// straight to its choices, as OpenAI's chunks do (id, object, created,
/// model, service tier and fingerprint repeat on every chunk).
const PREFIX_KEYS: [&[u8]; 6] = [
    b"id",
    b"object",
    b"created",
    b"model",
    b"service_tier",
    b"system_fingerprint",
];

/// See [`PREFIX_KEYS`]: the length of the payload up to the value of `"choices"`.
pub type Prefix = usize;

struct Reader<'a, 'j> {
    j: Cursor<'j>,
    meta: bool,
    ops: &'a mut Vec<Op>,
    arena: &'a mut String,
    layout: Layout,
    /// The JSON string `text()` read last.
    last_span: (usize, usize),
}

impl<'j> Reader<'_, 'j> {
    /// The first key of the object that starts here (`first`) or the next one.
    fn key(&mut self, first: bool) -> Result<Option<Cow<'j, [u8]>>> {
        if first {
            self.j.object_first()
        } else {
            self.j.object_next()
        }
    }

    fn chunk(&mut self, resume: Option<usize>) -> Result<()> {
        let mut cacheable = true;
        let mut key = match resume {
            Some(at) => {
                self.j.seek(at);
                self.layout.prefix = Some(at);
                cacheable = false;
                Some(Cow::Borrowed(&b"choices"[..]))
            }
            None => self.key(true)?,
        };
        while let Some(name) = key {
            let name = &*name;
            if cacheable {
                if name == b"choices" {
                    self.j.peek()?;
                    self.layout.prefix = Some(self.j.position());
                }
                cacheable = PREFIX_KEYS.contains(&name);
            } else if self.layout.prefix.is_some() && PREFIX_KEYS.contains(&name) {
                // A prefix key again after `choices` (a duplicate): skipping
                // the prefix next time would lose its earlier value's turn.
                self.layout.prefix = None;
            }
            match name {
                b"id" | b"model" | b"created" if !self.meta => self.j.skip()?,
                b"id" => self.text_op(Op::Id)?,
                b"model" => self.text_op(Op::Model)?,
                b"created" => {
                    if let Some(created) = self.int()? {
                        self.ops.push(Op::Created(created));
                    }
                }
                b"system_fingerprint" => self.text_op(Op::Fingerprint)?,
                b"service_tier" => self.text_op(Op::ServiceTier)?,
                b"usage" => self.usage()?,
                b"x_groq" => {
                    self.object(|r, key| match key {
                        b"usage" => r.usage(),
                        _ => r.j.skip(),
                    })?;
                }
                b"choices" => self.array(Self::choice)?,
                b"citations" => self.array(|r| r.text_op(Op::Citation))?,
                b"error" => {
                    if !self.j.null()? {
                        self.ops.push(Op::Error);
                        self.j.skip()?;
                    }
                }
                b"object" => {
                    if self.text()?.is_some_and(|t| self.str_of(t) == "error") {
                        self.ops.push(Op::Error);
                    }
                }
                b"obfuscation" if self.j.peek()? == b'"' => {
                    let start = self.j.position();
                    self.j.skip()?;
                    self.layout.volatile = Some((start, self.j.position()));
                }
                _ => self.j.skip()?,
            }
            key = self.key(false)?;
        }
        Ok(())
    }

    fn choice(&mut self) -> Result<()> {
        let at = self.ops.len();
        self.ops.push(Op::Choice(0));
        self.object(|r, key| match key {
            b"index" => {
                if let (Some(index), Some(slot)) = (r.int()?, r.ops.get_mut(at)) {
                    *slot = Op::Choice(index);
                }
                Ok(())
            }
            b"delta" => r.object(Self::delta_field).map(drop),
            b"finish_reason" => r.text_op(Op::FinishReason),
            b"logprobs" => r.logprobs(),
            b"usage" => r.usage(),
            _ => r.j.skip(),
        })
        .map(drop)
    }

    fn delta_field(&mut self, key: &[u8]) -> Result<()> {
        match key {
            b"role" => self.text_op(Op::Role),
            b"content" => match self.j.peek()? {
                b'[' => self.array(Self::content_part),
                _ => self.variable_op(Op::Content),
            },
            b"refusal" => self.variable_op(Op::Refusal),
            b"reasoning_content" => self.variable_op(Op::ReasoningContent),
            b"reasoning" => self.variable_op(Op::Reasoning),
            b"tool_calls" => self.array(Self::tool_call),
            b"function_call" => {
                let (mut name, mut arguments) = (None, None);
                let seen = self.object(|r, key| {
                    match key {
                        b"name" => name = r.text()?,
                        b"arguments" => arguments = r.text()?,
                        _ => r.j.skip()?,
                    }
                    Ok(())
                })?;
                if seen {
                    self.ops.push(Op::FunctionCall { name, arguments });
                }
                Ok(())
            }
            b"audio" => {
                let mut audio = AudioFragment::default();
                if self.object(|r, key| {
                    match key {
                        b"id" => audio.id = r.text()?,
                        b"data" => audio.data = r.text()?,
                        b"transcript" => audio.transcript = r.text()?,
                        b"expires_at" => audio.expires_at = r.int()?,
                        _ => r.j.skip()?,
                    }
                    Ok(())
                })? {
                    self.ops.push(Op::Audio(audio));
                }
                Ok(())
            }
            b"annotations" => self.array(|r| {
                let raw = r.raw()?;
                r.ops.push(Op::Annotation(raw));
                Ok(())
            }),
            _ => self.j.skip(),
        }
    }

    fn tool_call(&mut self) -> Result<()> {
        let mut tool = ToolFragment::default();
        let seen = self.object(|r, key| {
            match key {
                b"index" => tool.index = r.int()?,
                b"id" => tool.id = r.text()?,
                b"type" => tool.kind = r.text()?,
                b"function" => {
                    r.object(|r, key| {
                        match key {
                            b"name" => tool.name = r.text()?,
                            b"arguments" => {
                                tool.arguments = r.text()?;
                                if tool.arguments.is_some() {
                                    r.mark_variable();
                                }
                            }
                            _ => r.j.skip()?,
                        }
                        Ok(())
                    })?;
                }
                _ => r.j.skip()?,
            }
            Ok(())
        })?;
        if seen {
            self.ops.push(Op::Tool(tool));
        }
        Ok(())
    }

    /// Mistral Magistral: `[{"type":"text","text":..}, {"type":"thinking","thinking":[..]}]`.
    fn content_part(&mut self) -> Result<()> {
        let (mut kind, mut text) = (None, None);
        let mut thinking = Vec::new();
        self.object(|r, key| {
            match key {
                b"type" => kind = r.text()?,
                b"text" => text = r.text()?,
                b"thinking" => match r.j.peek()? {
                    b'[' => {
                        r.array(|r| {
                            let mut part = None;
                            r.object(|r, key| {
                                match key {
                                    b"text" => part = r.text()?,
                                    _ => r.j.skip()?,
                                }
                                Ok(())
                            })?;
                            thinking.extend(part);
                            Ok(())
                        })?;
                    }
                    _ => thinking.extend(r.text()?),
                },
                _ => r.j.skip()?,
            }
            Ok(())
        })?;
        match kind.map(|k| self.str_of(k)) {
            Some("text") => self.ops.extend(text.map(Op::Content)),
            Some("thinking") => self
                .ops
                .extend(thinking.into_iter().map(Op::ReasoningContent)),
            _ => {}
        }
        Ok(())
    }

    fn logprobs(&mut self) -> Result<()> {
        if self.j.peek()? == b'n' {
            return self.j.skip();
        }
        self.ops.push(Op::Logprobs);
        self.object(|r, key| {
            let marker = match key {
                b"content" => Op::LogprobContent,
                b"refusal" => Op::LogprobRefusal,
                _ => return r.j.skip(),
            };
            if r.j.peek()? != b'[' {
                return r.j.skip();
            }
            let start = r.j.position();
            r.ops.push(marker);
            r.array(|r| {
                let raw = r.raw()?;
                r.ops.push(Op::LogprobToken(raw));
                Ok(())
            })?;
            if marker == Op::LogprobContent {
                r.layout.tokens = Some((start, r.j.position()));
            }
            Ok(())
        })?;
        Ok(())
    }

    fn usage(&mut self) -> Result<()> {
        if self.j.peek()? != b'{' {
            return self.j.skip();
        }
        let raw = self.raw()?;
        self.ops.push(Op::Usage(raw));
        Ok(())
    }

    /// Calls `field` for each key of an object; a non-object is skipped.
    /// Returns whether it was an object.
    fn object<F>(&mut self, mut field: F) -> Result<bool>
    where
        F: FnMut(&mut Self, &[u8]) -> Result<()>,
    {
        if self.j.peek()? != b'{' {
            self.j.skip()?;
            return Ok(false);
        }
        let mut key = self.key(true)?;
        while let Some(name) = key {
            field(self, &name)?;
            key = self.key(false)?;
        }
        Ok(true)
    }

    /// Calls `item` for each element of an array; a non-array is skipped.
    fn array<F>(&mut self, mut item: F) -> Result<()>
    where
        F: FnMut(&mut Self) -> Result<()>,
    {
        if self.j.peek()? != b'[' {
            return self.j.skip();
        }
        let mut more = self.j.array_first()?;
        while more {
            item(self)?;
            more = self.j.array_next()?;
        }
        Ok(())
    }

    fn raw(&mut self) -> Result<Raw> {
        self.j.peek()?;
        let start = self.j.position();
        self.j.skip()?;
        Ok(Raw(start, self.j.position()))
    }

    /// A string value into the arena; null or another type gives `None`.
    fn text(&mut self) -> Result<Option<Text>> {
        if self.j.peek()? != b'"' {
            self.j.skip()?;
            return Ok(None);
        }
        let start = self.arena.len();
        let at = self.j.position();
        self.j.string_into(self.arena)?;
        self.last_span = (at, self.j.position());
        Ok(Some(Text(start as u32, (self.arena.len() - start) as u32)))
    }

    /// A text op whose value changes from chunk to chunk.
    fn variable_op(&mut self, op: fn(Text) -> Op) -> Result<()> {
        if let Some(text) = self.text()? {
            self.ops.push(op(text));
            self.mark_variable();
        }
        Ok(())
    }

    fn mark_variable(&mut self) {
        self.layout.variable = Some(self.last_span);
        self.layout.variables += 1;
    }

    fn text_op(&mut self, op: fn(Text) -> Op) -> Result<()> {
        if let Some(text) = self.text()? {
            self.ops.push(op(text));
        }
        Ok(())
    }

    /// An integer value; other types and fractions are skipped as `None`.
    fn int(&mut self) -> Result<Option<i64>> {
        if !matches!(self.j.peek()?, b'-' | b'0'..=b'9') {
            self.j.skip()?;
            return Ok(None);
        }
        self.j.int()
    }

    fn str_of(&self, text: Text) -> &str {
        text_str(self.arena, text)
    }
}

/// The arena text a [`Text`] refers to.
pub fn text_str(arena: &str, Text(start, len): Text) -> &str {
    arena
        .get(start as usize..start as usize + len as usize)
        .unwrap_or_default()
}
