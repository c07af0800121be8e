//! Folding a chunk whose fields were read from decoded objects rather than
//! from JSON bytes: `ChatCompletionAccumulator.add(chunk)` without encoding
//! the chunk again.
//!
//! Only the common shape comes this way: metadata and at most one choice
//! whose delta holds text fields. The binding sends anything else (usage,
//! tool calls, logprobs, ...) through [`Accumulator::add`] as JSON. The ops
//! are those the reader produces for the chunk's JSON, in the order the
//! fields are encoded, so both ways fold alike.

use super::reader::{Op, Text};
use super::Accumulator;
use crate::Error;

/// A chunk's fields, `None` where the chunk has `null` or nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct DirectChunk<'a> {
    pub id: Option<&'a str>,
    pub choice: Option<DirectChoice<'a>>,
    pub created: Option<i64>,
    pub model: Option<&'a str>,
    pub service_tier: Option<&'a str>,
    pub system_fingerprint: Option<&'a str>,
}

/// A choice's fields, as [`DirectChunk`]'s.
#[derive(Debug, Default, Clone, Copy)]
pub struct DirectChoice<'a> {
    pub index: i64,
    pub content: Option<&'a str>,
    pub refusal: Option<&'a str>,
    pub role: Option<&'a str>,
    pub reasoning_content: Option<&'a str>,
    pub reasoning: Option<&'a str>,
    pub finish_reason: Option<&'a str>,
}

impl Accumulator {
    /// Folds `chunk` exactly as [`Accumulator::add`] folds its JSON.
    pub fn add_direct(&mut self, chunk: &DirectChunk<'_>, now: u64) -> Result<(), Error> {
        let state = &mut self.state;
        if state.finished {
            return Err(Error::Finished);
        }
        if state.done {
            return Ok(());
        }
        state.ops.clear();
        state.arena.clear();
        // The prefix cache skips a repeated prefix's "last non-empty wins"
        // fields, which is exact only right after the chunk it came from.
        state.prefix.clear();
        let (ops, arena) = (&mut state.ops, &mut state.arena);
        push_text(ops, arena, Op::Id, chunk.id);
        if let Some(c) = &chunk.choice {
            ops.push(Op::Choice(c.index));
            push_text(ops, arena, Op::Content, c.content);
            push_text(ops, arena, Op::Refusal, c.refusal);
            push_text(ops, arena, Op::Role, c.role);
            push_text(ops, arena, Op::ReasoningContent, c.reasoning_content);
            push_text(ops, arena, Op::Reasoning, c.reasoning);
            push_text(ops, arena, Op::FinishReason, c.finish_reason);
        }
        if let Some(created) = chunk.created {
            ops.push(Op::Created(created));
        }
        push_text(ops, arena, Op::Model, chunk.model);
        push_text(ops, arena, Op::ServiceTier, chunk.service_tier);
        push_text(ops, arena, Op::Fingerprint, chunk.system_fingerprint);
        state.chunks += 1;
        let token = state
            .fold
            .apply(&state.ops, b"", &state.arena, state.events.as_mut());
        if token {
            state.timings.first_token.get_or_insert(now);
            state.timings.last_token = Some(now);
        }
        Ok(())
    }
}

/// Appends `value` to the arena and its op to `ops`, if there is a value.
fn push_text(ops: &mut Vec<Op>, arena: &mut String, op: fn(Text) -> Op, value: Option<&str>) {
    if let Some(value) = value {
        let start = arena.len();
        arena.push_str(value);
        ops.push(op(Text(start as u32, value.len() as u32)));
    }
}
