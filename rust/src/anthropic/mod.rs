//! Folding an Anthropic Messages stream (`POST /v1/messages` with
//! `stream: true`) into the final `Message`, straight from the raw bytes:
//! SSE framing, a lazy JSON read of each event and the merge rules, with no
//! intermediate objects. A tool's `input_json_delta` fragments are appended
//! to one buffer and parsed once, at `content_block_stop`. The delta events
//! that make up nearly every stream skip even the JSON read: see `fast`.

mod fast;
mod output;
mod reader;
mod state;

pub use reader::{DeltaKind, Kind};
pub use state::{Block, BlockKind, Fold, Input};

use crate::chat::{ApiError, Timings};
use crate::sse::{Event as SseEvent, Scanner, Tail};
use crate::stream;
use crate::Error;

/// How the stream stands or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InProgress,
    /// `message_stop` was seen.
    Done,
    /// The stop reason says the message was cut short (`max_tokens`,
    /// `model_context_window_exceeded`), with or without `message_stop`.
    Incomplete,
    /// EOF before `message_stop`, with another stop reason.
    Finished,
    /// An `error` event, or a protocol error (a second `message_start`).
    Error,
    /// EOF before `message_stop` and with no stop reason.
    Truncated,
}

impl Status {
    /// The status as the Python API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::Incomplete => "incomplete",
            Self::Finished => "finished",
            Self::Error => "error",
            Self::Truncated => "truncated",
        }
    }
}

/// A fold event, collected when events are on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Text appended to a text block.
    Text { index: i64, delta: String },
    /// Text appended to a thinking block.
    Thinking { index: i64, delta: String },
    /// Argument text appended to a tool block, with the tool's name.
    InputJson {
        index: i64,
        name: String,
        delta: String,
    },
    /// A block ended.
    BlockStop { index: i64 },
    /// The stop reason arrived.
    StopReason(String),
    /// Usage arrived: the whole usage so far, as JSON.
    Usage(Vec<u8>),
}

/// One stream's accumulator; see the module docs.
#[derive(Debug, Default)]
pub struct Accumulator {
    scanner: Scanner,
    state: State,
}

/// Everything but the scanner, so that the scanner's sink can borrow it.
#[derive(Debug, Default)]
struct State {
    fold: Fold,
    scratch: reader::Scratch,
    started: bool,
    done: bool,
    finished: bool,
    /// A protocol error stopped the fold: nothing more is folded.
    halted: bool,
    error: Option<ApiError>,
    chunks: u64,
    skipped: u64,
    ignored: u64,
    renamed: u64,
    bytes: u64,
    timings: Timings,
    events: Option<Vec<Event>>,
    /// The header of the last delta event; see `fast`.
    header: fast::Header,
    /// Every event is read in full (`Accumulator::set_fast_path`).
    no_fast: bool,
    /// Payloads the fast path folded, for the tests.
    fast_hits: u64,
}

impl Accumulator {
    /// An accumulator whose scanner enforces `max_event_size`; `events`
    /// turns on the collection of [`Event`]s.
    pub fn new(max_event_size: usize, events: bool) -> Self {
        Self {
            scanner: Scanner::new(max_event_size),
            state: State {
                events: events.then(Vec::new),
                ..State::default()
            },
        }
    }

    /// Turns the fast path for delta events (the `fast` module, and the
    /// reader's compact read) on or off; it is on by default. Off, every
    /// payload is read in full: the same result, slower (for the tests).
    pub fn set_fast_path(&mut self, on: bool) {
        self.state.no_fast = !on;
        self.state.header.clear();
    }

    /// Folds `input`, read at time `now`. Everything decodable is folded;
    /// then the malformed payload or oversized event earliest in the stream
    /// among those of this read is reported.
    pub fn feed(&mut self, input: &[u8], now: u64) -> Result<(), Error> {
        if self.state.finished {
            return Err(Error::Finished);
        }
        let state = &mut self.state;
        state.bytes += input.len() as u64;
        state.timings.read(input.len(), now);
        stream::feed(&mut self.scanner, input, |event| state.event(event, now))
    }

    /// Folds one event payload given whole, exactly as `feed` would.
    pub fn add(&mut self, payload: &[u8], now: u64) -> Result<(), Error> {
        if self.state.finished {
            return Err(Error::Finished);
        }
        let event = stream::whole(payload, &self.scanner);
        self.state.event(&event, now)
    }

    /// Ends the stream: open tool inputs are parsed, and a final
    /// `message_stop` without a blank line after it still counts.
    pub fn finish(&mut self, now: u64) -> Result<(), Error> {
        let Tail { data } = self.scanner.finish()?;
        let state = &mut self.state;
        if let Some(data) = data {
            let read = reader::read(&data, &mut reader::Scratch::default());
            if read.is_ok_and(|r| r.kind == Kind::MessageStop) {
                let event = SseEvent {
                    event_type: b"",
                    data: &data,
                    id: None,
                    retry: None,
                    offset: self.scanner.position().saturating_sub(data.len() as u64),
                };
                let _ = state.event(&event, now);
            }
        }
        state.finished = true;
        state.fold.settle_all();
        Ok(())
    }

    /// The current status.
    pub fn status(&self) -> Status {
        let state = &self.state;
        let cut_short = matches!(
            state.fold.stop_reason.as_deref(),
            Some("max_tokens" | "model_context_window_exceeded")
        );
        if state.error.is_some() {
            Status::Error
        } else if (state.done || state.finished) && cut_short {
            Status::Incomplete
        } else if state.done {
            Status::Done
        } else if !state.finished {
            Status::InProgress
        } else if state.fold.stop_reason.is_some() {
            Status::Finished
        } else {
            Status::Truncated
        }
    }

    /// The fold state.
    pub fn fold(&self) -> &Fold {
        &self.state.fold
    }

    /// The message so far, as JSON.
    pub fn snapshot_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        output::message(&self.state.fold, &mut out);
        out
    }

    /// The usage so far as one JSON object (Bedrock's metrics included),
    /// or `None` if none arrived.
    pub fn usage_json(&self) -> Option<Vec<u8>> {
        let fold = &self.state.fold;
        if fold.usage.is_empty() && fold.bedrock.is_none() {
            return None;
        }
        let mut out = Vec::with_capacity(128);
        output::usage_object(&fold.usage, fold.bedrock.as_deref(), &mut out);
        Some(out)
    }

    /// The first API error, if any.
    pub fn error(&self) -> Option<&ApiError> {
        self.state.error.as_ref()
    }

    /// Whether `message_stop` was seen.
    pub fn done(&self) -> bool {
        self.state.done
    }

    /// Event payloads folded.
    pub fn chunks(&self) -> u64 {
        self.state.chunks
    }

    /// Malformed payloads skipped.
    pub fn skipped(&self) -> u64 {
        self.state.skipped
    }

    /// Events that changed nothing: `ping`, unknown types, events after a
    /// protocol error.
    pub fn ignored(&self) -> u64 {
        self.state.ignored
    }

    /// Events whose `event:` line disagreed with their JSON `type`.
    pub fn renamed(&self) -> u64 {
        self.state.renamed
    }

    /// Bytes fed.
    pub fn bytes(&self) -> u64 {
        self.state.bytes
    }

    /// First byte, first token and last token times.
    pub fn timings(&self) -> Timings {
        self.state.timings
    }

    /// Takes the events collected since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        stream::take_events(&mut self.state.events)
    }
}

impl State {
    fn event(&mut self, event: &SseEvent<'_>, now: u64) -> Result<(), Error> {
        if self.halted {
            self.ignored += 1;
            return Ok(());
        }
        if !self.no_fast && self.fast_delta(event, now) {
            return Ok(());
        }
        let read = if self.no_fast {
            reader::read_any(event.data, &mut self.scratch)
        } else {
            reader::read(event.data, &mut self.scratch)
        };
        let read = match read {
            Ok(read) => read,
            Err(error) if event.kind() == b"error" => {
                // An error event that is not JSON is still an error.
                let _ = error;
                self.record_error(event.data.to_vec(), true, event.offset);
                self.chunks += 1;
                return Ok(());
            }
            Err(error) => return Err(self.malformed(event, &error.to_string())),
        };
        // Events whose values are copied into the result are checked
        // whole, so that the result is always JSON that msgspec decodes.
        let copies = !matches!(
            read.kind,
            Kind::BlockDelta | Kind::BlockStop | Kind::Ping | Kind::Error | Kind::Other
        ) || read.delta.is_some_and(|d| d.kind == DeltaKind::Citations)
            || read.bedrock.is_some();
        if copies && !crate::json::validate::is_json(event.data) {
            return Err(self.malformed(event, crate::json::validate::REFUSED));
        }
        let name = match read.type_span {
            Some((a, b)) => event.data.get(a..b).unwrap_or_default(),
            None => self.scratch.kind.as_bytes(),
        };
        if !event.event_type.is_empty() && event.event_type != name {
            self.renamed += 1;
        }
        self.chunks += 1;
        if let Some((a, b)) = read.bedrock {
            self.fold.bedrock = event.data.get(a..b).map(<[u8]>::to_vec);
        }
        let data = event.data;
        let result = match read.kind {
            Kind::MessageStart if self.started => {
                self.halted = true;
                let message = format!(
                    "a second message_start at byte offset {}: the stream's first message \
                     is kept and nothing after it is folded",
                    event.offset
                );
                let payload = serde_json::json!({
                    "type": "error",
                    "error": {"type": "protocol_error", "message": message},
                });
                self.record_error(payload.to_string().into_bytes(), false, event.offset);
                Ok(())
            }
            Kind::MessageStart => {
                self.started = true;
                match read.message {
                    Some(at) => self.fold.message_start(data, at),
                    None => Ok(()),
                }
            }
            Kind::BlockStart => {
                match (read.index, read.content_block) {
                    (Some(index), Some((a, b))) if data.get(a) == Some(&b'{') => {
                        self.fold
                            .block_start(index, data.get(a..b).unwrap_or_default());
                    }
                    _ => self.ignored += 1,
                }
                Ok(())
            }
            Kind::BlockDelta => {
                self.block_delta(&read, data, now);
                Ok(())
            }
            Kind::BlockStop => {
                match read.index {
                    Some(index) => {
                        self.fold.block_stop(index);
                        if let Some(events) = self.events.as_mut() {
                            events.push(Event::BlockStop { index });
                        }
                    }
                    None => self.ignored += 1,
                }
                Ok(())
            }
            Kind::MessageDelta => self.message_delta(&read, data),
            Kind::MessageStop => {
                self.done = true;
                Ok(())
            }
            Kind::Error => {
                self.record_error(data.to_vec(), event.kind() == b"error", event.offset);
                Ok(())
            }
            Kind::Ping | Kind::Other => {
                self.ignored += 1;
                Ok(())
            }
        };
        result.map_err(|error| self.malformed(event, &error.to_string()))
    }

    /// Folds `event` on the fast path if it takes it (see `fast`), exactly
    /// as the full path below would; whether it did.
    fn fast_delta(&mut self, event: &SseEvent<'_>, now: u64) -> bool {
        let data = event.data;
        let Some((index, kind, at)) = self.header.read(data) else {
            return false;
        };
        let Some((block, from)) = self.fold.fast_delta(index, kind, data, at) else {
            return false;
        };
        let text = match kind {
            DeltaKind::Text => block.text.as_deref(),
            DeltaKind::Thinking => block.thinking.as_deref(),
            _ => block.json.as_deref(),
        };
        let text = text.and_then(|t| t.get(from..)).unwrap_or_default();
        #[cfg(debug_assertions)]
        check_fast(data, index, kind, text);
        if !event.event_type.is_empty() && event.event_type != b"content_block_delta" {
            self.renamed += 1;
        }
        self.chunks += 1;
        self.fast_hits += 1;
        if !text.is_empty() {
            self.timings.token(now);
        }
        if let Some(events) = self.events.as_mut() {
            let delta = String::from_utf8_lossy(text).into_owned();
            events.push(match kind {
                DeltaKind::Text => Event::Text { index, delta },
                DeltaKind::Thinking => Event::Thinking { index, delta },
                _ => Event::InputJson {
                    index,
                    name: block.name.clone(),
                    delta,
                },
            });
        }
        true
    }

    fn block_delta(&mut self, read: &reader::Read, data: &[u8], now: u64) {
        let (Some(index), Some(delta)) = (read.index, read.delta) else {
            self.ignored += 1;
            return;
        };
        let text = &self.scratch.arena;
        let name = self.fold.block_delta(index, &delta, text, data);
        let token = !text.is_empty()
            && matches!(
                delta.kind,
                DeltaKind::Text
                    | DeltaKind::Thinking
                    | DeltaKind::InputJson
                    | DeltaKind::Compaction
            );
        if token {
            self.timings.first_token.get_or_insert(now);
            self.timings.last_token = Some(now);
        }
        if let Some(events) = self.events.as_mut() {
            let delta = text.clone();
            match read.delta.map(|d| d.kind) {
                Some(DeltaKind::Text) => events.push(Event::Text { index, delta }),
                Some(DeltaKind::Thinking) => events.push(Event::Thinking { index, delta }),
                Some(DeltaKind::InputJson) => events.push(Event::InputJson {
                    index,
                    name: name.to_owned(),
                    delta,
                }),
                _ => {}
            }
        }
    }

    fn message_delta(&mut self, read: &reader::Read, data: &[u8]) -> crate::json::Result<()> {
        let before = self.fold.stop_reason.clone();
        self.fold.message_delta(data, read.delta_at, read.usage)?;
        if let Some(events) = self.events.as_mut() {
            if let Some(reason) = self
                .fold
                .stop_reason
                .as_ref()
                .filter(|r| before.as_ref() != Some(*r))
            {
                events.push(Event::StopReason(reason.clone()));
            }
            if read.usage.is_some() {
                let mut usage = Vec::new();
                output::usage_object(&self.fold.usage, None, &mut usage);
                events.push(Event::Usage(usage));
            }
        }
        Ok(())
    }

    fn malformed(&mut self, event: &SseEvent<'_>, message: &str) -> Error {
        self.skipped += 1;
        Error::Json {
            offset: event.offset,
            message: message.to_owned(),
            excerpt: crate::stream::excerpt(event.data),
        }
    }

    fn record_error(&mut self, payload: Vec<u8>, is_event: bool, offset: u64) {
        self.error.get_or_insert(ApiError {
            payload,
            event: is_event,
            offset,
        });
    }
}

/// The fast path's read of a payload must be the full read's (debug
/// builds: the tests and the fuzz targets).
#[cfg(debug_assertions)]
fn check_fast(payload: &[u8], index: i64, kind: DeltaKind, text: &[u8]) {
    let mut scratch = reader::Scratch::default();
    let full = reader::read_any(payload, &mut scratch);
    let same = full.is_ok_and(|r| {
        r.kind == Kind::BlockDelta
            && r.index == Some(index)
            && r.delta.is_some_and(|d| d.kind == kind && d.present)
            && r.bedrock.is_none()
    }) && scratch.arena.as_bytes() == text;
    debug_assert!(
        same,
        "the fast path read differs from the full read: {:?}",
        String::from_utf8_lossy(payload)
    );
}

#[cfg(test)]
mod tests;
