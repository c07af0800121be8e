//! The fold state of one stream and the merge rules that update it.
//!
//! Each rule below cites the numbered merge rule of the README table.

use std::collections::{HashMap, HashSet};

use super::reader::{text_str, AudioFragment, Op, Text, ToolFragment};

/// One tool call being assembled.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// The provider's `index`, if it sent one: OpenAI's position in
    /// `message.tool_calls`, which orders the final list (rule 3).
    pub index: Option<i64>,
    pub id: String,
    pub kind: String,
    pub name: String,
    pub arguments: String,
}

/// Audio output being assembled. A field the stream never sent stays `None`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Audio {
    pub id: Option<String>,
    pub data: Option<String>,
    pub transcript: Option<String>,
    pub expires_at: Option<i64>,
}

/// Log probabilities: the raw JSON token objects, comma-joined.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Logprobs {
    pub content: Option<Vec<u8>>,
    pub refusal: Option<Vec<u8>>,
}

/// One choice being assembled.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Choice {
    pub role: String,
    pub content: Option<String>,
    pub refusal: Option<String>,
    pub reasoning_content: Option<String>,
    pub reasoning: Option<String>,
    pub finish_reason: Option<String>,
    pub tools: Vec<ToolCall>,
    /// Tool call position by `index` value.
    tool_keys: HashMap<i64, usize>,
    /// Tool call position by id, for calls without `index`.
    tool_ids: HashMap<String, usize>,
    /// Position of the most recently created tool call.
    last_tool: Option<usize>,
    pub function_call: Option<(String, String)>,
    pub audio: Option<Audio>,
    pub logprobs: Option<Logprobs>,
    /// Raw JSON of each distinct annotation, in order of first appearance.
    pub annotations: Vec<Vec<u8>>,
    annotations_seen: HashSet<Vec<u8>>,
}

impl Choice {
    /// Rule 3: the tool calls in their final order: by `index` value, as
    /// OpenAI means it (the position in `message.tool_calls`), like choices;
    /// calls without an index (Gemini, Mistral) keep their order of first
    /// appearance, after the indexed ones.
    pub fn tools_in_order(&self) -> Vec<&ToolCall> {
        let mut calls: Vec<&ToolCall> = self.tools.iter().collect();
        // A stable sort: in order already (the usual case) it only compares.
        calls.sort_by_key(|call| (call.index.is_none(), call.index));
        calls
    }
}

/// Something a UI or guardrail may want to hear about, opt-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Content {
        choice: i64,
        delta: String,
    },
    Refusal {
        choice: i64,
        delta: String,
    },
    Reasoning {
        choice: i64,
        delta: String,
    },
    ToolArguments {
        choice: i64,
        /// The call's `index` as sent; without one, its position of first appearance.
        tool: i64,
        name: String,
        delta: String,
    },
    Finished {
        choice: i64,
        reason: String,
    },
    /// Log probability tokens, as the raw JSON objects comma-joined.
    Logprobs {
        choice: i64,
        refusal: bool,
        tokens: Vec<u8>,
    },
    /// A usage object arrived, as its raw JSON.
    Usage(Vec<u8>),
}

/// The fold state: everything the final `ChatCompletion` needs.
#[derive(Debug, Default)]
pub struct Fold {
    pub id: String,
    pub model: String,
    pub created: i64,
    pub system_fingerprint: String,
    pub service_tier: String,
    /// Raw JSON of the last non-null usage.
    pub usage: Option<Vec<u8>>,
    pub citations: Vec<String>,
    citations_seen: HashSet<String>,
    /// Choices sorted by `index` value: sparse indices take no room, and a
    /// stream has one or a few, so a sorted vector beats a tree's nodes.
    pub choices: Vec<(i64, Choice)>,
}

/// Raw JSON kept as it was sent, but with WHATWG's rule for bytes that are
/// not UTF-8 (one U+FFFD per invalid sequence), so that it decodes as the
/// same text ChunkDecoder gives. The copy is the one the caller keeps.
fn utf8_owned(bytes: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(bytes).into_owned().into_bytes()
}

/// Appends `text` to a text field that stays `None` until a value arrives.
fn append(field: &mut Option<String>, text: &str) {
    field.get_or_insert_with(String::new).push_str(text);
}

/// Rule 2: set once, the first non-empty value wins.
fn set_once(field: &mut String, text: &str) {
    if field.is_empty() {
        field.push_str(text);
    }
}

/// Rule 6: the last non-empty value wins; the buffer is reused, since the
/// same value usually repeats on every chunk.
fn replace_non_empty(field: &mut String, text: &str) {
    if !text.is_empty() && field != text {
        field.clear();
        field.push_str(text);
    }
}

/// Rule 2: a name fragment that is empty or repeats the name so far changes
/// nothing (providers repeat the full name); any other is appended (a few split it).
fn merge_name(name: &mut String, fragment: &str) {
    if !fragment.is_empty() && fragment != name.as_str() {
        name.push_str(fragment);
    }
}

impl Fold {
    /// Applies one payload's ops. `payload` and `arena` are what the ops'
    /// ranges refer to. Returns whether the chunk carried a token: content,
    /// refusal, reasoning, audio, or a tool or function call's name or
    /// arguments. A role-only chunk carries none.
    pub fn apply(
        &mut self,
        ops: &[Op],
        payload: &[u8],
        arena: &str,
        mut events: Option<&mut Vec<Event>>,
    ) -> bool {
        let text = |t: Text| text_str(arena, t);
        let mut token = false;
        let mut choice_key = 0i64;
        let mut choice: Option<&mut Choice> = None;
        let mut logprob_target: Option<bool> = None;
        for op in ops {
            match *op {
                Op::Id(t) => set_once(&mut self.id, text(t)),
                Op::Model(t) => set_once(&mut self.model, text(t)),
                Op::Created(c) if self.created == 0 => self.created = c,
                Op::Created(_) => {}
                Op::Fingerprint(t) => replace_non_empty(&mut self.system_fingerprint, text(t)),
                Op::ServiceTier(t) => replace_non_empty(&mut self.service_tier, text(t)),
                Op::Error => {}
                Op::Usage(raw) => {
                    let bytes = utf8_owned(payload.get(raw.0..raw.1).unwrap_or_default());
                    if let Some(events) = events.as_deref_mut() {
                        events.push(Event::Usage(bytes.clone()));
                    }
                    self.usage = Some(bytes);
                }
                Op::Citation(t) => {
                    let citation = text(t);
                    if !self.citations_seen.contains(citation) {
                        self.citations_seen.insert(citation.to_owned());
                        self.citations.push(citation.to_owned());
                    }
                }
                Op::Choice(key) => {
                    choice_key = key;
                    logprob_target = None;
                    let at = match self.choices.binary_search_by_key(&key, |(k, _)| *k) {
                        Ok(at) => at,
                        Err(at) => {
                            if self.choices.is_empty() {
                                // Most streams have one choice: don't reserve four.
                                self.choices.reserve_exact(1);
                            }
                            self.choices.insert(at, (key, Choice::default()));
                            at
                        }
                    };
                    choice = self.choices.get_mut(at).map(|(_, c)| c);
                }
                _ => {
                    if let Some(choice) = choice.as_deref_mut() {
                        token |= apply_choice(
                            choice,
                            choice_key,
                            op,
                            payload,
                            arena,
                            &mut logprob_target,
                            events.as_deref_mut(),
                        );
                    }
                }
            }
        }
        token
    }

    /// Whether there is at least one choice and every choice has a finish reason.
    pub fn all_finished(&self) -> bool {
        !self.choices.is_empty() && self.choices.iter().all(|(_, c)| c.finish_reason.is_some())
    }

    /// The choice with this `index` value.
    pub fn choice(&self, index: i64) -> Option<&Choice> {
        let at = self
            .choices
            .binary_search_by_key(&index, |(k, _)| *k)
            .ok()?;
        self.choices.get(at).map(|(_, c)| c)
    }
}

fn apply_choice(
    choice: &mut Choice,
    key: i64,
    op: &Op,
    payload: &[u8],
    arena: &str,
    logprob_target: &mut Option<bool>,
    events: Option<&mut Vec<Event>>,
) -> bool {
    let text = |t: Text| text_str(arena, t);
    // Events are built only when asked for: the fast path pays nothing.
    let emit = |events: Option<&mut Vec<Event>>, event: &dyn Fn() -> Event| {
        if let Some(events) = events {
            events.push(event());
        }
    };
    match *op {
        Op::Role(t) => set_once(&mut choice.role, text(t)),
        Op::Content(t) => {
            append(&mut choice.content, text(t));
            emit(events, &|| Event::Content {
                choice: key,
                delta: text(t).to_owned(),
            });
            return !text(t).is_empty();
        }
        Op::Refusal(t) => {
            append(&mut choice.refusal, text(t));
            emit(events, &|| Event::Refusal {
                choice: key,
                delta: text(t).to_owned(),
            });
            return !text(t).is_empty();
        }
        Op::ReasoningContent(t) | Op::Reasoning(t) => {
            let field = match op {
                Op::Reasoning(_) => &mut choice.reasoning,
                _ => &mut choice.reasoning_content,
            };
            append(field, text(t));
            emit(events, &|| Event::Reasoning {
                choice: key,
                delta: text(t).to_owned(),
            });
            return !text(t).is_empty();
        }
        // Rule 8: the last non-null value; "" counts as null.
        Op::FinishReason(t) if !text(t).is_empty() => {
            choice.finish_reason = Some(text(t).to_owned());
            emit(events, &|| Event::Finished {
                choice: key,
                reason: text(t).to_owned(),
            });
        }
        Op::Tool(fragment) => return apply_tool(choice, key, fragment, arena, events),
        Op::FunctionCall { name, arguments } => {
            let (full_name, args) = choice.function_call.get_or_insert_with(Default::default);
            if let Some(name) = name {
                merge_name(full_name, text(name));
            }
            if let Some(arguments) = arguments {
                args.push_str(text(arguments));
            }
            // The name is generated output too: it counts as the first token.
            return name.is_some_and(|t| !text(t).is_empty())
                || arguments.is_some_and(|t| !text(t).is_empty());
        }
        Op::Audio(AudioFragment {
            id,
            data,
            transcript,
            expires_at,
        }) => {
            let audio = choice.audio.get_or_insert_with(Audio::default);
            if let Some(id) = id {
                set_once(audio.id.get_or_insert_with(String::new), text(id));
            }
            if let Some(data) = data {
                append(&mut audio.data, text(data));
            }
            if let Some(transcript) = transcript {
                append(&mut audio.transcript, text(transcript));
            }
            if expires_at.is_some() {
                audio.expires_at = expires_at;
            }
            return transcript.is_some_and(|t| !text(t).is_empty())
                || data.is_some_and(|t| !text(t).is_empty());
        }
        Op::Logprobs => {
            choice.logprobs.get_or_insert_with(Logprobs::default);
        }
        Op::LogprobContent | Op::LogprobRefusal => {
            let refusal = matches!(op, Op::LogprobRefusal);
            *logprob_target = Some(refusal);
            let logprobs = choice.logprobs.get_or_insert_with(Logprobs::default);
            let list = if refusal {
                &mut logprobs.refusal
            } else {
                &mut logprobs.content
            };
            list.get_or_insert_with(Vec::new);
        }
        Op::LogprobToken(raw) => {
            let logprobs = choice.logprobs.get_or_insert_with(Logprobs::default);
            let list = match logprob_target {
                Some(true) => &mut logprobs.refusal,
                _ => &mut logprobs.content,
            };
            let list = list.get_or_insert_with(Vec::new);
            if !list.is_empty() {
                list.push(b',');
            }
            // Kept as sent, invalid UTF-8 included: the hot path of logprob
            // streams skips a validation pass, and Python's decode of the
            // completion applies WHATWG's rule when it finds one.
            let token = payload.get(raw.0..raw.1).unwrap_or_default();
            list.extend_from_slice(token);
            if let Some(events) = events {
                let refusal = *logprob_target == Some(true);
                match events.last_mut() {
                    Some(Event::Logprobs {
                        choice,
                        refusal: r,
                        tokens,
                    }) if *choice == key && *r == refusal => {
                        tokens.push(b',');
                        tokens.extend_from_slice(token);
                    }
                    _ => events.push(Event::Logprobs {
                        choice: key,
                        refusal,
                        tokens: token.to_vec(),
                    }),
                }
            }
        }
        // Rule 10: in order of first appearance, nothing twice. Equal values
        // count as one however they are spelled (key order, whitespace,
        // escapes): serde_json's sorted map gives them one canonical form.
        Op::Annotation(raw) => {
            let bytes = utf8_owned(payload.get(raw.0..raw.1).unwrap_or_default());
            let canonical = serde_json::from_slice::<serde_json::Value>(&bytes)
                .and_then(|value| serde_json::to_vec(&value))
                .unwrap_or_else(|_| bytes.clone());
            if choice.annotations_seen.insert(canonical) {
                choice.annotations.push(bytes);
            }
        }
        _ => {}
    }
    false
}

/// Rule 3: tool calls are keyed by `index`; without one (Gemini, Mistral), a
/// new non-empty id starts a call, a known id continues its call, and
/// anything else continues the most recently created call. `tools` keeps
/// creation order; [`Choice::tools_in_order`] gives the final order.
fn apply_tool(
    choice: &mut Choice,
    key: i64,
    fragment: ToolFragment,
    arena: &str,
    events: Option<&mut Vec<Event>>,
) -> bool {
    let text = |t: Option<Text>| t.map(|t| text_str(arena, t));
    let id = text(fragment.id).filter(|id| !id.is_empty());
    let known = match fragment.index {
        Some(index) => choice.tool_keys.get(&index).copied(),
        None => match id {
            Some(id) => choice.tool_ids.get(id).copied(),
            None => choice.last_tool,
        },
    };
    let position = known.unwrap_or_else(|| {
        choice.tools.push(ToolCall {
            index: fragment.index,
            ..ToolCall::default()
        });
        let position = choice.tools.len() - 1;
        if let Some(index) = fragment.index {
            choice.tool_keys.insert(index, position);
        }
        choice.last_tool = Some(position);
        position
    });
    let Some(call) = choice.tools.get_mut(position) else {
        return false;
    };
    // Events name a call as the final list will: by its index when it has one.
    let tool = call
        .index
        .unwrap_or_else(|| i64::try_from(position).unwrap_or(i64::MAX));
    if let Some(id) = id.filter(|_| call.id.is_empty()) {
        call.id.push_str(id);
        choice.tool_ids.insert(id.to_owned(), position);
    }
    if let Some(kind) = text(fragment.kind) {
        set_once(&mut call.kind, kind);
    }
    // A call's head (its name) is generated output: the first token of a
    // tool-calling answer, though its arguments are still empty.
    let named = text(fragment.name).is_some_and(|name| !name.is_empty());
    if let Some(name) = text(fragment.name) {
        merge_name(&mut call.name, name);
    }
    let Some(arguments) = text(fragment.arguments) else {
        return named;
    };
    call.arguments.push_str(arguments);
    if let Some(events) = events {
        events.push(Event::ToolArguments {
            choice: key,
            tool,
            name: call.name.clone(),
            delta: arguments.to_owned(),
        });
    }
    named || !arguments.is_empty()
}
