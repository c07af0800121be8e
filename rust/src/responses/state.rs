//! The fold state of one Responses stream and the merge rules that update
//! it. Each rule cites the numbered merge rule of the README table.

use super::kinds::{implied_kind, text_field};
use super::reader::{raw_bytes, scan, text_str, Fields, Scan};

/// What kind of content part a text delta builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    OutputText,
    Refusal,
    ReasoningText,
    SummaryText,
}

impl PartKind {
    /// The part's `type` on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutputText => "output_text",
            Self::Refusal => "refusal",
            Self::ReasoningText => "reasoning_text",
            Self::SummaryText => "summary_text",
        }
    }

    /// The key that holds the part's text.
    pub fn text_key(self) -> &'static str {
        match self {
            Self::Refusal => "refusal",
            _ => "text",
        }
    }
}

/// One content part (or reasoning summary part) being assembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub kind: PartKind,
    /// The part object as last announced (`*.added` / `*.done`), verbatim.
    pub base: Option<Vec<u8>>,
    /// Text folded since `base`; `None` keeps the base's text.
    pub text: Option<String>,
    /// Annotations added since `base`, by `annotation_index`, verbatim.
    pub annotations: Vec<(i64, Vec<u8>)>,
}

/// Which field of an item its one streamed string builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    /// `arguments` of a function, MCP or tool search call.
    Arguments,
    /// `input` of a custom tool call.
    Input,
    /// `code` of a code interpreter call.
    Code,
    /// `operation.diff` of an apply-patch call.
    Diff,
}

/// One shell command's output being assembled.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ShellOutput {
    pub stdout: String,
    pub stderr: String,
}

/// One output item being assembled.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub kind: String,
    pub name: String,
    /// The item object as last announced (`output_item.added` / `.done`).
    pub base: Option<Vec<u8>>,
    /// Content parts by `content_index` (message text and refusals,
    /// reasoning text), sorted.
    pub parts: Vec<(i64, Part)>,
    /// Reasoning summary parts by `summary_index`, sorted.
    pub summary: Vec<(i64, Part)>,
    /// The item's streamed string, and which field it is.
    pub text: Option<(TextField, String)>,
    /// Shell commands by `command_index`, sorted.
    pub commands: Vec<(i64, String)>,
    /// Shell output content by `command_index`, sorted.
    pub outputs: Vec<(i64, ShellOutput)>,
    /// A shell output `done` event's `output` list, verbatim.
    pub outputs_done: Option<Vec<u8>>,
}

impl Item {
    /// Rule 4: a `done` item replaces everything folded into it.
    fn replace(&mut self, base: &[u8], scanned: &Scan) {
        *self = Self {
            id: scanned
                .id
                .clone()
                .unwrap_or_else(|| std::mem::take(&mut self.id)),
            kind: scanned
                .kind
                .clone()
                .unwrap_or_else(|| std::mem::take(&mut self.kind)),
            name: scanned
                .name
                .clone()
                .unwrap_or_else(|| std::mem::take(&mut self.name)),
            base: Some(base.to_vec()),
            ..Self::default()
        };
    }
}

/// The terminal event that ended the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    Completed,
    Incomplete,
    Failed,
}

/// Something a UI or guardrail may want to hear about, opt-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An output item was announced (`added`) or finished (`done`).
    Item {
        output_index: i64,
        kind: String,
        id: String,
        done: bool,
    },
    /// Text added to a content part or a reasoning summary part.
    Text {
        output_index: i64,
        index: i64,
        kind: PartKind,
        delta: String,
    },
    /// Text added to an item's streamed string (arguments, input, code, diff).
    Arguments {
        output_index: i64,
        name: String,
        delta: String,
    },
    /// An item's streamed string was replaced by its `done` value.
    ArgumentsDone {
        output_index: i64,
        name: String,
        value: String,
    },
    /// A response object with a non-null usage arrived, as its raw JSON.
    Usage(Vec<u8>),
}

/// Counters of what was skipped or looked wrong; none of it is an error.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Events whose `sequence_number` was at or below the last one seen.
    pub duplicates: u64,
    /// Jumps forward in `sequence_number` by more than one.
    pub gaps: u64,
    /// `item_id`s that disagreed with the item at their `output_index`.
    pub item_id_mismatches: u64,
    /// Lifecycle or terminal responses whose `id` differed from the first.
    pub id_changes: u64,
    /// `keepalive`, `ping`, unknown types, and events placed nowhere.
    pub ignored: u64,
}

/// The fold state: everything the final `Response` needs.
#[derive(Debug, Default)]
pub struct Fold {
    pub id: String,
    pub model: String,
    pub created_at: Option<Vec<u8>>,
    /// Whether a lifecycle event set `id`, `model` and `created_at` (rule 6).
    pub announced: bool,
    /// The latest lifecycle event's `response`, verbatim.
    pub lifecycle: Option<Vec<u8>>,
    /// The terminal event, and its `response` verbatim.
    pub terminal: Option<(Terminal, Vec<u8>)>,
    /// What the terminal response said, scanned.
    pub terminal_scan: Scan,
    /// Raw JSON of the last non-null usage (rule 7).
    pub usage: Option<Vec<u8>>,
    /// Items by `output_index`, sorted (rule 1).
    pub items: Vec<(i64, Item)>,
    /// The response-level audio transcript.
    pub transcript: Option<String>,
    /// Audio data: its length in base64 bytes, and the data when kept.
    pub audio_bytes: u64,
    pub audio: Option<String>,
    pub counts: Counts,
}

/// Finds or inserts the entry keyed `key` in a vector sorted by key. Sparse
/// keys take no room, and lists here hold one or a few entries, so a sorted
/// vector beats a map. Always `Some`: the entry was found or just inserted.
fn entry<T>(list: &mut Vec<(i64, T)>, key: i64, make: impl FnOnce() -> T) -> Option<&mut T> {
    let at = match list.binary_search_by_key(&key, |(k, _)| *k) {
        Ok(at) => at,
        Err(at) => {
            list.insert(at, (key, make()));
            at
        }
    };
    list.get_mut(at).map(|(_, value)| value)
}

/// The part at `index`, created with `kind` when never announced (rule 2).
fn part(list: &mut Vec<(i64, Part)>, index: i64, kind: PartKind) -> Option<&mut Part> {
    entry(list, index, || Part {
        kind,
        base: None,
        text: None,
        annotations: Vec::new(),
    })
}

/// A part object announced or finished: it becomes the part's base, and
/// replaces what was folded (rule 4).
fn set_part(list: &mut Vec<(i64, Part)>, index: i64, kind: PartKind, raw: &[u8]) {
    let kind = match scan(raw).ok().and_then(|s| s.kind).as_deref() {
        Some("refusal") => PartKind::Refusal,
        Some("output_text") => PartKind::OutputText,
        Some("reasoning_text") => PartKind::ReasoningText,
        Some("summary_text") => PartKind::SummaryText,
        _ => kind,
    };
    let Some(part) = part(list, index, kind) else {
        return;
    };
    part.kind = kind;
    part.base = Some(raw.to_vec());
    part.text = None;
    part.annotations.clear();
}

/// Inputs of one fold step.
pub struct Step<'a> {
    pub fields: &'a Fields,
    pub payload: &'a [u8],
    pub arena: &'a str,
    pub keep_audio: bool,
}

impl Fold {
    /// The item an event names: by `output_index`, else by `item_id`, else
    /// `None` (rule 1). A missing item is created.
    fn item(&mut self, f: &Fields, arena: &str) -> Option<(i64, &mut Item)> {
        let item_id = f.item_id.map(|t| text_str(arena, t));
        let key = match f.output_index {
            Some(index) => index,
            None => {
                let id = item_id.filter(|id| !id.is_empty())?;
                match self.items.iter().find(|(_, item)| item.id == id) {
                    Some((key, _)) => *key,
                    None => self.items.last().map_or(0, |(k, _)| k.saturating_add(1)),
                }
            }
        };
        let item = entry(&mut self.items, key, Item::default)?;
        if let Some(id) = item_id.filter(|id| !id.is_empty()) {
            if item.id.is_empty() {
                item.id.push_str(id);
            } else if item.id != id {
                self.counts.item_id_mismatches += 1;
            }
        }
        Some((key, item))
    }

    /// Rule 6: the first lifecycle event sets id, model and created_at.
    pub fn lifecycle(&mut self, response: &[u8], events: Option<&mut Vec<Event>>) {
        let Ok(scanned) = scan(response) else {
            return;
        };
        self.meta(&scanned, true);
        self.usage(response, &scanned, events);
        // copy: the response outlives the read; lifecycle events are few.
        self.lifecycle = Some(response.to_vec());
    }

    /// Rule 5: the terminal event's response is authoritative.
    pub fn terminal(&mut self, kind: Terminal, response: &[u8], events: Option<&mut Vec<Event>>) {
        let scanned = scan(response).unwrap_or_default();
        self.meta(&scanned, false);
        self.usage(response, &scanned, events);
        // copy: decoded lazily by `finish()`.
        self.terminal = Some((kind, response.to_vec()));
        self.terminal_scan = scanned;
    }

    fn meta(&mut self, scanned: &Scan, lifecycle: bool) {
        let id = scanned.id.as_deref().unwrap_or_default();
        if !self.id.is_empty() && !id.is_empty() && self.id != id {
            self.counts.id_changes += 1;
        }
        if self.announced {
            return;
        }
        // Without a lifecycle event, the terminal response's non-empty values.
        if !id.is_empty() {
            self.id = id.to_owned();
        }
        if let Some(model) = scanned.model.as_deref().filter(|m| !m.is_empty()) {
            self.model = model.to_owned();
        }
        if scanned.created_at.is_some() {
            self.created_at.clone_from(&scanned.created_at);
        }
        self.announced = lifecycle;
    }

    /// Rule 7: the whole usage object of the last response that had one.
    fn usage(&mut self, response: &[u8], scanned: &Scan, events: Option<&mut Vec<Event>>) {
        if let Some(usage) = scanned.usage {
            let raw = raw_bytes(response, usage).to_vec();
            if let Some(events) = events {
                events.push(Event::Usage(raw.clone()));
            }
            self.usage = Some(raw);
        }
    }

    /// Folds one item-level event. Returns whether a token arrived.
    pub fn apply(&mut self, kind: &[u8], step: &Step<'_>, events: Option<&mut Vec<Event>>) -> bool {
        let f = step.fields;
        let text = |t| text_str(step.arena, t);
        let delta = f.delta.map(text);
        match kind {
            b"response.audio.transcript.delta" => {
                let delta = delta.unwrap_or_default();
                self.transcript
                    .get_or_insert_with(String::new)
                    .push_str(delta);
                return !delta.is_empty();
            }
            b"response.audio.transcript.done" | b"response.audio.done" => return false,
            b"response.audio.delta" => {
                let delta = delta.unwrap_or_default();
                self.audio_bytes += delta.len() as u64;
                if step.keep_audio {
                    self.audio.get_or_insert_with(String::new).push_str(delta);
                }
                return false;
            }
            _ => {}
        }
        let Some((index, item)) = self.item(f, step.arena) else {
            self.counts.ignored += 1;
            return false;
        };
        // An item never announced takes the kind its first event implies.
        if item.kind.is_empty() {
            item.kind.push_str(implied_kind(kind));
        }
        let content = f.content_index.unwrap_or(0);
        let summary = f.summary_index.unwrap_or(0);
        let text_event = |kind: PartKind, i: i64, delta: &str| Event::Text {
            output_index: index,
            index: i,
            kind,
            delta: delta.to_owned(),
        };
        match kind {
            b"response.output_item.added" | b"response.output_item.done" => {
                let Some(raw) = f.item.map(|r| raw_bytes(step.payload, r)) else {
                    return false;
                };
                let scanned = scan(raw).unwrap_or_default();
                item.replace(raw, &scanned);
                if let Some(events) = events {
                    events.push(Event::Item {
                        output_index: index,
                        kind: item.kind.clone(),
                        id: item.id.clone(),
                        done: kind == b"response.output_item.done",
                    });
                }
            }
            b"response.content_part.added" | b"response.content_part.done" => {
                if let Some(raw) = f.part.map(|r| raw_bytes(step.payload, r)) {
                    set_part(&mut item.parts, content, PartKind::OutputText, raw);
                }
            }
            b"response.reasoning_summary_part.added" | b"response.reasoning_summary_part.done" => {
                if let Some(raw) = f.part.map(|r| raw_bytes(step.payload, r)) {
                    set_part(&mut item.summary, summary, PartKind::SummaryText, raw);
                }
            }
            b"response.output_text.delta"
            | b"response.refusal.delta"
            | b"response.reasoning_text.delta"
            | b"response.reasoning_summary_text.delta" => {
                let (list, i, part_kind) = match kind {
                    b"response.output_text.delta" => {
                        (&mut item.parts, content, PartKind::OutputText)
                    }
                    b"response.refusal.delta" => (&mut item.parts, content, PartKind::Refusal),
                    b"response.reasoning_text.delta" => {
                        (&mut item.parts, content, PartKind::ReasoningText)
                    }
                    _ => (&mut item.summary, summary, PartKind::SummaryText),
                };
                let delta = delta.unwrap_or_default();
                let Some(part) = part(list, i, part_kind) else {
                    return false;
                };
                match &mut part.text {
                    Some(folded) => folded.push_str(delta),
                    // Appends to the announced part's text (normally "").
                    None => part.text = Some(base_text(part) + delta),
                }
                if let Some(events) = events {
                    events.push(text_event(part.kind, i, delta));
                }
                return !delta.is_empty();
            }
            b"response.output_text.done"
            | b"response.refusal.done"
            | b"response.reasoning_text.done"
            | b"response.reasoning_summary_text.done" => {
                let (list, i, part_kind, value) = match kind {
                    b"response.output_text.done" => {
                        (&mut item.parts, content, PartKind::OutputText, f.text)
                    }
                    b"response.refusal.done" => {
                        (&mut item.parts, content, PartKind::Refusal, f.refusal)
                    }
                    b"response.reasoning_text.done" => {
                        (&mut item.parts, content, PartKind::ReasoningText, f.text)
                    }
                    _ => (&mut item.summary, summary, PartKind::SummaryText, f.text),
                };
                if let (Some(value), Some(part)) = (value, part(list, i, part_kind)) {
                    part.text = Some(text(value).to_owned());
                }
            }
            b"response.output_text.annotation.added" => {
                let raw = f.annotation.map(|r| raw_bytes(step.payload, r));
                let part = part(&mut item.parts, content, PartKind::OutputText);
                if let (Some(raw), Some(part)) = (raw, part) {
                    let at = f.annotation_index.unwrap_or_else(|| {
                        part.annotations
                            .last()
                            .map_or(0, |(k, _)| k.saturating_add(1))
                    });
                    if let Some(slot) = entry(&mut part.annotations, at, Vec::new) {
                        *slot = raw.to_vec();
                    }
                }
            }
            b"response.function_call_arguments.delta"
            | b"response.mcp_call_arguments.delta"
            | b"response.custom_tool_call_input.delta"
            | b"response.code_interpreter_call_code.delta"
            | b"response.apply_patch_call_operation_diff.delta" => {
                let field = text_field(kind);
                let delta = delta.unwrap_or_default();
                match &mut item.text {
                    Some((_, folded)) => folded.push_str(delta),
                    None => item.text = Some((field, delta.to_owned())),
                }
                if let Some(events) = events {
                    events.push(Event::Arguments {
                        output_index: index,
                        name: item.name.clone(),
                        delta: delta.to_owned(),
                    });
                }
                return !delta.is_empty();
            }
            b"response.function_call_arguments.done"
            | b"response.mcp_call_arguments.done"
            | b"response.custom_tool_call_input.done"
            | b"response.code_interpreter_call_code.done"
            | b"response.apply_patch_call_operation_diff.done" => {
                let field = text_field(kind);
                let value = match field {
                    TextField::Arguments => f.arguments,
                    TextField::Input => f.input,
                    TextField::Code => f.code,
                    TextField::Diff => f.diff,
                };
                if let Some(value) = value.map(text) {
                    item.text = Some((field, value.to_owned()));
                    if let Some(events) = events {
                        events.push(Event::ArgumentsDone {
                            output_index: index,
                            name: item.name.clone(),
                            value: value.to_owned(),
                        });
                    }
                }
            }
            b"response.shell_call_command.added" | b"response.shell_call_command.done" => {
                let command = f.command.map(text).unwrap_or_default();
                let i = f.command_index.unwrap_or(0);
                if let Some(folded) = entry(&mut item.commands, i, String::new) {
                    folded.clear();
                    folded.push_str(command);
                }
            }
            b"response.shell_call_command.delta" => {
                let delta = delta.unwrap_or_default();
                let i = f.command_index.unwrap_or(0);
                if let Some(folded) = entry(&mut item.commands, i, String::new) {
                    folded.push_str(delta);
                }
                return !delta.is_empty();
            }
            b"response.shell_call_output_content.delta" => {
                let i = f.command_index.unwrap_or(0);
                let out = entry(&mut item.outputs, i, ShellOutput::default);
                if let (Some(out), Some(raw)) = (out, f.delta_object) {
                    return append_streams(out, raw_bytes(step.payload, raw));
                }
            }
            b"response.shell_call_output_content.done" => {
                if let Some(raw) = f.output.map(|r| raw_bytes(step.payload, r)) {
                    item.outputs.clear();
                    item.outputs_done = Some(raw.to_vec());
                }
            }
            // Progress events (`*.in_progress`, `*.searching`, ...) say
            // nothing the item's `done` will not.
            _ => {}
        }
        false
    }
}

/// The text a part's base holds, to which the first delta appends.
fn base_text(part: &Part) -> String {
    let Some(base) = &part.base else {
        return String::new();
    };
    let key = part.kind.text_key().as_bytes();
    let mut j = crate::json::Cursor::new(base);
    let mut arena = String::new();
    let mut found = String::new();
    let mut next = j.object_first();
    while let Ok(Some(name)) = next {
        if &*name == key {
            arena.clear();
            if let Ok(Some(t)) = super::reader::text(&mut j, &mut arena) {
                found = text_str(&arena, t).to_owned();
            }
        } else if j.skip().is_err() {
            break;
        }
        next = j.object_next();
    }
    found
}

/// Appends a shell output delta's `stdout` and `stderr`.
fn append_streams(out: &mut ShellOutput, raw: &[u8]) -> bool {
    let mut j = crate::json::Cursor::new(raw);
    let mut arena = String::new();
    let mut token = false;
    let mut next = j.object_first();
    while let Ok(Some(name)) = next {
        arena.clear();
        let target = match &*name {
            b"stdout" => Some(&mut out.stdout),
            b"stderr" => Some(&mut out.stderr),
            _ => None,
        };
        match target {
            Some(target) => {
                if let Ok(Some(t)) = super::reader::text(&mut j, &mut arena) {
                    target.push_str(text_str(&arena, t));
                    token |= t.1 > 0;
                }
            }
            None if j.skip().is_err() => break,
            None => {}
        }
        next = j.object_next();
    }
    token
}
