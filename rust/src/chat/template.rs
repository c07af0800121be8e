//! The chunk template: the fast path for the chunks that make up almost
//! every stream.
//!
//! After the first few, a provider's chunks differ from one another only in
//! one text value (the content token, a reasoning token or a tool-argument
//! fragment) and, for OpenAI, the random `obfuscation` padding. Everything
//! else repeats byte for byte: ids, model, fingerprint, the choice index,
//! `"logprobs":null,"finish_reason":null`, `"usage":null`.
//!
//! So once a chunk has been read in full, and all it did was fold one
//! variable text into one choice (plus idempotent metadata), its bytes
//! around that text become a template. A later chunk that matches the
//! template byte for byte outside the variable string and the padding
//! folds exactly as the template chunk did but for the text: the bytes
//! compared are the same, so they mean the same, and what they meant was
//! idempotent (set-once ids, "last non-empty" fingerprints, nulls). Matching
//! costs two memory compares and two string scans instead of a parse.
//!
//! Logprob streams repeat everything but the text, the padding and the
//! `logprobs.content` array: their template has a hole for that array too,
//! whose tokens are read as the full read does (each one skipped whole,
//! then kept verbatim), so a template chunk may carry any number of them.
//!
//! [`Templates`] keeps one template per choice, so that streams that
//! interleave choices (`n > 1`) match too. A template met again after other
//! chunks folded in between is still exact: the set-once metadata cannot
//! have changed, and the "last non-empty wins" fingerprint and service tier
//! are compared with the fold's before the template is used.

use super::reader::{text_str, Layout, Op, Raw, Text, ToolFragment};
use super::state::Fold;
use crate::json::Cursor;

/// The most templates kept: one per choice, for this many choices.
const MAX_TEMPLATES: usize = 8;

/// One [`Template`] per choice; see the module docs.
#[derive(Debug, Default)]
pub struct Templates {
    list: Vec<Template>,
    /// The template to try first: the one after the last that matched, as
    /// interleaved choices take turns.
    next: usize,
    /// Chunks matched, for the tests.
    #[cfg(test)]
    pub hits: usize,
}

impl Templates {
    /// Forgets every template.
    pub fn clear(&mut self) {
        self.list.clear();
        self.next = 0;
    }

    /// Appends the ops of `payload` to `ops` if a template matches it and
    /// still folds exactly as a full read would; see [`Template::matches`].
    pub fn matches(
        &mut self,
        payload: &[u8],
        arena: &mut String,
        fold: &Fold,
        ops: &mut Vec<Op>,
    ) -> bool {
        let count = self.list.len();
        for step in 0..count {
            let at = (self.next + step) % count;
            let Some(template) = self.list.get(at) else {
                break;
            };
            if !template.current(fold) {
                continue;
            }
            if template.matches(payload, arena, ops) {
                #[cfg(test)]
                {
                    self.hits += 1;
                }
                self.next = (at + 1) % count;
                return true;
            }
        }
        false
    }

    /// Learns the template of a chunk just read in full, if it has one, in
    /// place of its choice's previous template.
    pub fn learn(&mut self, payload: &[u8], ops: &[Op], arena: &str, layout: &Layout, fold: &Fold) {
        let Some(template) = Template::learn(payload, ops, arena, layout, fold) else {
            return;
        };
        let choice = template.ops[0];
        if let Some(old) = self.list.iter_mut().find(|t| t.ops[0] == choice) {
            *old = template;
        } else {
            if self.list.len() == MAX_TEMPLATES {
                self.list.remove(0);
            }
            self.list.push(template);
        }
    }
}

/// See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Bytes before the variable string.
    head: Vec<u8>,
    /// Bytes between the variable string and the padding, or to the end;
    /// with logprob tokens, up to their array.
    middle: Vec<u8>,
    /// With logprob tokens: the bytes between their array and the padding,
    /// or to the end.
    after_tokens: Option<Vec<u8>>,
    /// Bytes after the padding, when there is one.
    tail: Option<Vec<u8>>,
    /// The ops the template chunk folded, less its idempotent metadata; the
    /// variable op's text is replaced on each match.
    ops: [Op; 2],
    /// The `system_fingerprint` and `service_tier` the fold held right
    /// after the template chunk: folding its metadata again changes nothing
    /// while the fold still holds them. Taken from the fold, not the chunk,
    /// because a chunk read past a cached prefix has no metadata ops.
    fingerprint: String,
    service_tier: String,
}

/// Whether an op is metadata that folding again changes nothing.
fn idempotent(op: &Op) -> bool {
    matches!(
        op,
        Op::Id(_) | Op::Model(_) | Op::Created(_) | Op::Fingerprint(_) | Op::ServiceTier(_)
    )
}

impl Template {
    /// Whether folding the template chunk's metadata again would change
    /// nothing in `fold`.
    fn current(&self, fold: &Fold) -> bool {
        self.fingerprint == fold.system_fingerprint && self.service_tier == fold.service_tier
    }

    /// The template of a chunk just read in full, if it has one.
    pub fn learn(
        payload: &[u8],
        ops: &[Op],
        arena: &str,
        layout: &Layout,
        fold: &Fold,
    ) -> Option<Self> {
        let (start, end) = layout.variable.filter(|_| layout.variables == 1)?;
        let mut folded = ops.iter().filter(|op| !idempotent(op));
        let choice @ Op::Choice(_) = *folded.next()? else {
            return None;
        };
        let variable = *folded.next()?;
        let text_op = match variable {
            Op::Content(_) | Op::Refusal(_) | Op::ReasoningContent(_) | Op::Reasoning(_) => true,
            // Arguments only: a name fragment is not idempotent ("get_" +
            // "weather"), and ids would point into the old chunk's arena.
            Op::Tool(ToolFragment {
                id: None,
                kind: None,
                name: None,
                ..
            }) => true,
            _ => false,
        };
        if !text_op {
            return None;
        }
        // The rest of the ops: none, or exactly the tokens of one
        // `logprobs.content` array after the text.
        let tokens = match layout.tokens {
            Some((start, _)) if start < end => return None,
            Some(tokens) => {
                let logprobs = [folded.next(), folded.next()];
                if logprobs != [Some(&Op::Logprobs), Some(&Op::LogprobContent)]
                    || !folded.all(|op| matches!(op, Op::LogprobToken(_)))
                {
                    return None;
                }
                Some(tokens)
            }
            None if folded.next().is_some() => return None,
            None => None,
        };
        let head = payload.get(..start)?.to_vec();
        let rest = tokens.map_or(end, |(_, tokens_end)| tokens_end);
        let (section, tail) = match layout.volatile {
            Some((v_start, v_end)) if v_start >= rest => (
                payload.get(rest..v_start)?.to_vec(),
                Some(payload.get(v_end..)?.to_vec()),
            ),
            Some(_) => return None,
            None => (payload.get(rest..)?.to_vec(), None),
        };
        let (middle, after_tokens) = match tokens {
            Some((tokens_start, _)) => (payload.get(end..tokens_start)?.to_vec(), Some(section)),
            None => (section, None),
        };
        let mut fingerprint = fold.system_fingerprint.as_str();
        let mut service_tier = fold.service_tier.as_str();
        for op in ops {
            let (field, t) = match *op {
                Op::Fingerprint(t) => (&mut fingerprint, t),
                Op::ServiceTier(t) => (&mut service_tier, t),
                _ => continue,
            };
            let text = text_str(arena, t);
            if !text.is_empty() {
                *field = text;
            }
        }
        Some(Self {
            head,
            middle,
            after_tokens,
            tail,
            ops: [choice, variable],
            fingerprint: fingerprint.to_owned(),
            service_tier: service_tier.to_owned(),
        })
    }

    /// If `payload` matches, decodes its variable text into `arena`, appends
    /// the ops to fold to `ops` and returns true; otherwise leaves `ops` as
    /// it was.
    pub fn matches(&self, payload: &[u8], arena: &mut String, ops: &mut Vec<Op>) -> bool {
        let base = ops.len();
        let matched = self.read(payload, arena, ops).is_some();
        if !matched {
            ops.truncate(base);
        }
        matched
    }

    fn read(&self, payload: &[u8], arena: &mut String, ops: &mut Vec<Op>) -> Option<()> {
        let rest = payload.strip_prefix(self.head.as_slice())?;
        if rest.first() != Some(&b'"') {
            return None;
        }
        let mut cursor = Cursor::new(payload);
        cursor.seek(self.head.len());
        let start = arena.len();
        cursor.string_into(arena).ok()?;
        let text = Text(start as u32, (arena.len() - start) as u32);
        let variable = match self.ops[1] {
            Op::Content(_) => Op::Content(text),
            Op::Refusal(_) => Op::Refusal(text),
            Op::ReasoningContent(_) => Op::ReasoningContent(text),
            Op::Reasoning(_) => Op::Reasoning(text),
            Op::Tool(fragment) => Op::Tool(ToolFragment {
                arguments: Some(text),
                ..fragment
            }),
            _ => return None,
        };
        ops.extend([self.ops[0], variable]);
        let mut section = self.middle.as_slice();
        if let Some(after_tokens) = &self.after_tokens {
            let rest = payload.get(cursor.position()..)?;
            if !rest.starts_with(section) {
                return None;
            }
            cursor.seek(cursor.position() + section.len());
            ops.extend([Op::Logprobs, Op::LogprobContent]);
            // The full read's loop (`Reader::array` over `Reader::raw`).
            let mut more = cursor.array_first().ok()?;
            while more {
                cursor.peek().ok()?;
                let token_start = cursor.position();
                cursor.skip().ok()?;
                ops.push(Op::LogprobToken(Raw(token_start, cursor.position())));
                more = cursor.array_next().ok()?;
            }
            section = after_tokens;
        }
        let rest = payload.get(cursor.position()..)?;
        match &self.tail {
            None if rest != section => return None,
            None => {}
            Some(tail) => {
                let padding = rest.strip_prefix(section)?;
                if padding.first() != Some(&b'"') {
                    return None;
                }
                let mut cursor = Cursor::new(padding);
                cursor.skip().ok()?;
                if padding.get(cursor.position()..)? != tail.as_slice() {
                    return None;
                }
            }
        }
        Some(())
    }
}
