//! Folding a chat completion stream into the final completion, straight
//! from the raw bytes: SSE framing, a lazy JSON read and the merge rules,
//! with no intermediate objects.

mod direct;
mod output;
mod reader;
mod state;
mod template;

pub use direct::{DirectChoice, DirectChunk};
pub use state::{Event, Fold};

use crate::sse::{Event as SseEvent, Scanner, Tail};
use crate::stream::{self, excerpt};
pub use crate::stream::{ApiError, Timings};
use crate::Error;

/// How the stream stands or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InProgress,
    /// `[DONE]` was seen.
    Done,
    /// Ended without `[DONE]`, but every choice has a finish reason.
    Finished,
    /// The provider sent an API error.
    Error,
    /// Ended with a choice still unfinished, or with no choice at all.
    Truncated,
}

impl Status {
    /// The status as the Python API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::Finished => "finished",
            Self::Error => "error",
            Self::Truncated => "truncated",
        }
    }
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
    ops: Vec<reader::Op>,
    arena: String,
    done: bool,
    finished: bool,
    error: Option<ApiError>,
    chunks: u64,
    skipped: u64,
    bytes: u64,
    timings: Timings,
    events: Option<Vec<Event>>,
    /// The previous chunk's bytes up to its choices; see `reader::Prefix`.
    prefix: Vec<u8>,
    /// The shape of each choice's latest chunk, if it had one; see `template`.
    templates: template::Templates,
    /// The prefix and template caches are off; see `set_caches`.
    uncached: bool,
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

    /// Turns the prefix and template caches (the fast paths for a chunk
    /// that repeats the previous one) on, as they are by default, or off:
    /// then every chunk is read in full. The result is the same either way;
    /// the tests and the fuzz target check that it is.
    pub fn set_caches(&mut self, on: bool) {
        self.state.uncached = !on;
        self.state.templates.clear();
        self.state.prefix.clear();
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
        if state.done {
            return Ok(());
        }
        stream::feed(&mut self.scanner, input, |event| state.event(event, now))
    }

    /// Folds one chunk payload given whole (a chunk decoded elsewhere and
    /// re-encoded), exactly as `feed` would.
    pub fn add(&mut self, payload: &[u8], now: u64) -> Result<(), Error> {
        if self.state.finished {
            return Err(Error::Finished);
        }
        let event = stream::whole(payload, &self.scanner);
        self.state.event(&event, now)
    }

    /// Ends the stream. A final `data: [DONE]` without a blank line after
    /// it still counts.
    pub fn finish(&mut self) -> Result<(), Error> {
        let Tail { data } = self.scanner.finish()?;
        self.state.finished = true;
        if data.is_some_and(|data| data.trim_ascii() == b"[DONE]") {
            self.state.done = true;
        }
        Ok(())
    }

    /// The current status.
    pub fn status(&self) -> Status {
        let state = &self.state;
        if state.error.is_some() {
            Status::Error
        } else if state.done {
            Status::Done
        } else if !state.finished {
            Status::InProgress
        } else if state.fold.all_finished() {
            Status::Finished
        } else {
            Status::Truncated
        }
    }

    /// The fold state.
    pub fn fold(&self) -> &Fold {
        &self.state.fold
    }

    /// The completion so far, as JSON.
    pub fn snapshot_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        output::write(&self.state.fold, &mut out);
        out
    }

    /// The length of [`Accumulator::snapshot_json`], counted without
    /// writing it.
    pub fn snapshot_len(&self) -> usize {
        let mut count = output::Count::default();
        output::write(&self.state.fold, &mut count);
        count.0
    }

    /// Writes [`Accumulator::snapshot_json`] into `out`, of
    /// [`Accumulator::snapshot_len`] bytes; whether it filled `out` exactly.
    pub fn write_snapshot(&self, out: &mut [u8]) -> bool {
        let len = out.len();
        let mut fill = output::Fill { buf: out, at: 0 };
        output::write(&self.state.fold, &mut fill);
        fill.at == len
    }

    /// The first API error, if any.
    pub fn error(&self) -> Option<&ApiError> {
        self.state.error.as_ref()
    }

    /// Whether `[DONE]` was seen.
    pub fn done(&self) -> bool {
        self.state.done
    }

    /// Chunk payloads folded.
    pub fn chunks(&self) -> u64 {
        self.state.chunks
    }

    /// Malformed payloads skipped.
    pub fn skipped(&self) -> u64 {
        self.state.skipped
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
        if self.done {
            return Ok(());
        }
        let is_error_event = event.kind() == b"error";
        let trimmed = event.data.trim_ascii();
        if !is_error_event && (trimmed.is_empty() || trimmed == b"[DONE]") {
            self.done = !trimmed.is_empty();
            return Ok(());
        }
        self.ops.clear();
        self.arena.clear();
        if self.uncached {
            self.templates.clear();
            self.prefix.clear();
        }
        let templated = !is_error_event
            && self
                .templates
                .matches(event.data, &mut self.arena, &self.fold, &mut self.ops);
        if let Err(error) = match templated {
            true => Ok(()),
            false => self.read(event),
        } {
            if is_error_event {
                self.record_error(event, true);
                return Ok(());
            }
            self.skipped += 1;
            return Err(error);
        }
        if is_error_event || self.ops.contains(&reader::Op::Error) {
            self.record_error(event, is_error_event);
        }
        self.chunks += 1;
        let token = self
            .fold
            .apply(&self.ops, event.data, &self.arena, self.events.as_mut());
        if token {
            self.timings.token(now);
        }
        Ok(())
    }

    /// Reads a payload in full, and keeps its prefix and template for the
    /// next chunks. The prefix is dropped whenever this chunk has none,
    /// because "last non-empty wins" fields are idempotent only right after;
    /// templates check those fields themselves (see `template`).
    fn read(&mut self, event: &SseEvent<'_>) -> Result<(), Error> {
        let meta = self.fold.id.is_empty() || self.fold.model.is_empty() || self.fold.created == 0;
        let resume = (!self.prefix.is_empty() && event.data.starts_with(&self.prefix))
            .then_some(self.prefix.len());
        let read = reader::read(event.data, meta, resume, &mut self.ops, &mut self.arena);
        let layout = match read {
            Ok(layout) => layout,
            Err(error) => {
                self.prefix.clear();
                self.templates.clear();
                return Err(Error::Json {
                    offset: event.offset,
                    message: error.to_string(),
                    excerpt: excerpt(event.data),
                });
            }
        };
        match layout.prefix {
            Some(prefix) if resume.is_none() => {
                self.prefix.clear();
                self.prefix
                    .extend_from_slice(event.data.get(..prefix).unwrap_or_default());
            }
            Some(_) => {}
            None => self.prefix.clear(),
        }
        self.templates
            .learn(event.data, &self.ops, &self.arena, &layout, &self.fold);
        Ok(())
    }

    fn record_error(&mut self, event: &SseEvent<'_>, is_event: bool) {
        self.error.get_or_insert_with(|| ApiError {
            // WHATWG's rule for bytes that are not UTF-8, as everywhere else.
            payload: String::from_utf8_lossy(event.data)
                .into_owned()
                .into_bytes(),
            event: is_event,
            offset: event.offset,
        });
    }
}

#[cfg(test)]
mod tests;
