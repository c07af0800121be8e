//! Folding an OpenAI Responses API stream into the final `Response`,
//! straight from the raw bytes: SSE framing, a lazy JSON read of each event
//! and the merge rules of the README's table, with no intermediate objects.
//!
//! The hot path is the text delta: its `type`, indices, `item_id` and
//! `delta` are read, everything else skipped, and the delta appended to the
//! part it names, so the cost per event does not grow with the stream.
//! Delta events that repeat an earlier one's bytes but for the delta, the
//! sequence number and the padding skip even that read: see `template`.

mod kinds;
mod output;
mod reader;
mod state;
mod template;

use reader::Fields;
pub use reader::Scan;
pub use state::{Counts, Event, Fold, Item, Part, PartKind, Terminal, TextField};

use crate::json::validate;
use crate::sse::{Event as SseEvent, Scanner, Tail};
use crate::stream::{self, excerpt, ApiError, Timings};
use crate::Error;

/// How the stream stands or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InProgress,
    /// `response.completed`.
    Done,
    /// `response.incomplete`.
    Incomplete,
    /// An `error` event or `response.failed`.
    Error,
    /// Ended before a terminal event, with no error.
    Truncated,
}

impl Status {
    /// The status as the Python API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::Incomplete => "incomplete",
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
    arena: String,
    /// A terminal event was folded: nothing after it is (rule 11).
    ended: bool,
    finished: bool,
    error: Option<ApiError>,
    last_sequence: Option<i64>,
    chunks: u64,
    skipped: u64,
    bytes: u64,
    timings: Timings,
    keep_audio: bool,
    events: Option<Vec<Event>>,
    /// The shapes of recent delta events; see `template`.
    templates: template::Templates,
    /// Every event is read in full (`Accumulator::set_templates`).
    no_templates: bool,
}

impl Accumulator {
    /// An accumulator whose scanner enforces `max_event_size`; `events`
    /// turns on the collection of [`Event`]s, `keep_audio` keeps audio data.
    pub fn new(max_event_size: usize, events: bool, keep_audio: bool) -> Self {
        Self {
            scanner: Scanner::new(max_event_size),
            state: State {
                events: events.then(Vec::new),
                keep_audio,
                ..State::default()
            },
        }
    }

    /// Turns the event templates (the fast path for repeated delta events)
    /// on, as they are by default, or off: then every event is read in
    /// full. The result is the same either way; the tests and the fuzz
    /// target check that it is.
    pub fn set_templates(&mut self, on: bool) {
        self.state.no_templates = !on;
        self.state.templates.clear();
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

    /// Folds one event payload given whole (an event decoded elsewhere and
    /// re-encoded), exactly as `feed` would.
    pub fn add(&mut self, payload: &[u8], now: u64) -> Result<(), Error> {
        if self.state.finished {
            return Err(Error::Finished);
        }
        let event = stream::whole(payload, &self.scanner);
        self.state.event(&event, now)
    }

    /// Ends the stream; an event cut off without its blank line is dropped.
    pub fn finish(&mut self) -> Result<(), Error> {
        let Tail { .. } = self.scanner.finish()?;
        self.state.finished = true;
        Ok(())
    }

    /// The current status: the terminal event's type decides, not its
    /// `status` field (some providers omit it).
    pub fn status(&self) -> Status {
        let state = &self.state;
        match state.fold.terminal.as_ref().map(|(kind, _)| *kind) {
            _ if state.error.is_some() => Status::Error,
            Some(Terminal::Failed) => Status::Error,
            Some(Terminal::Completed) => Status::Done,
            Some(Terminal::Incomplete) => Status::Incomplete,
            None if state.finished => Status::Truncated,
            None => Status::InProgress,
        }
    }

    /// `[status]` of the terminal event, or the incomplete reason; empty
    /// before one.
    pub fn finish_reason(&self) -> Option<String> {
        let fold = &self.state.fold;
        let (kind, _) = fold.terminal.as_ref()?;
        Some(match kind {
            Terminal::Completed => "completed".to_owned(),
            Terminal::Failed => "failed".to_owned(),
            Terminal::Incomplete => fold
                .terminal_scan
                .reason
                .clone()
                .unwrap_or_else(|| "incomplete".to_owned()),
        })
    }

    /// The fold state.
    pub fn fold(&self) -> &Fold {
        &self.state.fold
    }

    /// The response so far, as JSON.
    pub fn snapshot_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        output::write(&self.state.fold, self.state.error.is_some(), &mut out);
        out
    }

    /// The first API error (an `error` event, else a `response.failed`).
    pub fn error(&self) -> Option<&ApiError> {
        self.state.error.as_ref()
    }

    /// Whether a terminal event was seen.
    pub fn done(&self) -> bool {
        self.state.ended
    }

    /// Event payloads folded (duplicates and payloads after the terminal
    /// event are not).
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
        let is_error_event = event.kind() == b"error";
        let trimmed = event.data.trim_ascii();
        // Rule 11: a trailing `data: [DONE]` (some proxies add one) is
        // accepted, and nothing after the terminal event is folded.
        if self.ended || (!is_error_event && (trimmed.is_empty() || trimmed == b"[DONE]")) {
            return Ok(());
        }
        let mut fields = Fields::default();
        let templated = !(is_error_event || self.no_templates)
            && self
                .templates
                .matches(event.data, &mut self.arena, &mut fields);
        if templated {
            #[cfg(debug_assertions)]
            self.check_template(event.data, &fields);
        } else {
            match self.read(event, is_error_event)? {
                Some(read) => fields = read,
                None => return Ok(()),
            }
        }
        // Rule 10: a sequence number at or below the last is a resumed
        // stream's repeat.
        if let Some(sequence) = fields.sequence_number {
            match self.last_sequence {
                Some(last) if sequence <= last => {
                    self.fold.counts.duplicates += 1;
                    return Ok(());
                }
                Some(last) if sequence > last.saturating_add(1) => self.fold.counts.gaps += 1,
                _ => {}
            }
            self.last_sequence = Some(sequence);
        }
        self.chunks += 1;
        let kind = fields.kind.map(|t| reader::text_str(&self.arena, t));
        let kind = kind.unwrap_or_default().as_bytes();
        let payload = event.data;
        let response = fields.response.map(|r| reader::raw_bytes(payload, r));
        // A template is only ever learned from an item event outside an
        // `event: error`: it goes straight to the last arm.
        let item_event = templated
            || match kind {
                b"response.created" | b"response.queued" | b"response.in_progress" => {
                    if let Some(response) = response {
                        self.fold.lifecycle(response, self.events.as_mut());
                    }
                    false
                }
                b"response.completed" | b"response.incomplete" | b"response.failed" => {
                    let terminal = match kind {
                        b"response.completed" => Terminal::Completed,
                        b"response.incomplete" => Terminal::Incomplete,
                        _ => Terminal::Failed,
                    };
                    self.fold
                        .terminal(terminal, response.unwrap_or(b"{}"), self.events.as_mut());
                    self.ended = true;
                    if terminal == Terminal::Failed {
                        record_error(&mut self.error, event, is_error_event);
                    }
                    false
                }
                // Rule 8: the first error is kept; folding goes on.
                b"error" => {
                    record_error(&mut self.error, event, is_error_event);
                    false
                }
                _ if is_error_event => {
                    record_error(&mut self.error, event, true);
                    false
                }
                // Rule 9: these change nothing.
                b"keepalive" | b"ping" | b"" => {
                    self.fold.counts.ignored += 1;
                    false
                }
                _ if !kinds::item_event(kind) => {
                    self.fold.counts.ignored += 1;
                    false
                }
                _ => true,
            };
        if item_event {
            let step = state::Step {
                fields: &fields,
                payload,
                arena: &self.arena,
                keep_audio: self.keep_audio,
            };
            if self.fold.apply(kind, &step, self.events.as_mut()) {
                self.timings.token(now);
            }
        }
        Ok(())
    }

    /// Reads a payload in full, and learns its template if it has one.
    /// `None`: an `event: error` whose payload is not an event, recorded
    /// as the error.
    fn read(
        &mut self,
        event: &SseEvent<'_>,
        is_error_event: bool,
    ) -> Result<Option<Fields>, Error> {
        self.arena.clear();
        let read = reader::read(event.data, &mut self.arena).map_err(|e| e.to_string());
        // Items, parts, responses and annotations are copied as sent:
        // checked whole, so that the result is JSON msgspec decodes.
        let read = read.and_then(|fields| {
            let copies = fields.item.is_some()
                || fields.part.is_some()
                || fields.response.is_some()
                || fields.annotation.is_some()
                || fields.output.is_some();
            match copies && !validate::is_json(event.data) {
                true => Err(validate::REFUSED.to_owned()),
                false => Ok(fields),
            }
        });
        match read {
            Ok(fields) => {
                if !is_error_event && !self.no_templates {
                    self.templates.learn(event.data, &fields, &self.arena);
                }
                Ok(Some(fields))
            }
            Err(_) if is_error_event => {
                record_error(&mut self.error, event, true);
                self.chunks += 1;
                Ok(None)
            }
            Err(message) => {
                self.skipped += 1;
                Err(Error::Json {
                    offset: event.offset,
                    message,
                    excerpt: excerpt(event.data),
                })
            }
        }
    }

    /// A template's read must be the full read's (debug builds: the tests
    /// and the fuzz targets).
    #[cfg(debug_assertions)]
    fn check_template(&self, payload: &[u8], fields: &Fields) {
        let mut arena = String::new();
        let full = reader::read(payload, &mut arena);
        debug_assert!(
            full.is_ok_and(|full| template::same(fields, &self.arena, &full, &arena)),
            "a template read differs from the full read: {:?}",
            String::from_utf8_lossy(payload)
        );
    }
}

/// Keeps the first API error (rule 8).
fn record_error(slot: &mut Option<ApiError>, event: &SseEvent<'_>, is_event: bool) {
    slot.get_or_insert_with(|| ApiError {
        payload: event.data.to_vec(),
        event: is_event,
        offset: event.offset,
    });
}

#[cfg(test)]
mod tests;
