//! Incremental, zero-copy Server-Sent Events scanner.
//!
//! Implements the WHATWG HTML "parse an event stream" and "interpret an event
//! stream" algorithms (§9.2.6) over raw bytes, for input split at arbitrary
//! points. The scanner never decodes UTF-8 itself: every rule that decides
//! framing looks only at ASCII bytes (CR, LF, `:`, space, NUL and digits),
//! which can never occur inside a valid multi-byte sequence, so decoding each
//! complete field afterwards with replacement is exactly equivalent to
//! decoding the whole stream first, as the spec describes.
//!
//! # Zero-copy contract
//! The data of an event whose lines all lie in one `feed` input and that has
//! a single `data` line is handed to the sink as a slice of that input. Only
//! the carry-over between reads is copied: the partial line at the end of an
//! input, and the data of an event that is still open when the input ends.
//! Multi-line data is joined into an owned buffer, as the spec's LF join
//! requires.

use crate::error::Error;

/// The UTF-8 byte order mark, skipped once at the very start of the stream.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The default for [`Scanner::new`]'s `max_event_size`: 16 MiB.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

/// One dispatched event, borrowing from the input or the scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// The event type buffer; empty means the default type, `message`.
    pub event_type: &'a [u8],
    /// The data buffer with the trailing LF removed (lines joined by LF).
    pub data: &'a [u8],
    /// The last event ID in effect at dispatch; `None` if no `id` was ever set.
    pub id: Option<&'a [u8]>,
    /// The reconnection time in effect, in milliseconds, if a `retry` was seen.
    pub retry: Option<u64>,
    /// Stream offset of the first byte of the event's first line.
    pub offset: u64,
}

impl Event<'_> {
    /// The event type with the spec's default applied.
    pub fn kind(&self) -> &[u8] {
        if self.event_type.is_empty() {
            b"message"
        } else {
            self.event_type
        }
    }
}

/// What [`Scanner::finish`] found after the last complete event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tail {
    /// The data the incomplete final event would have carried, including an
    /// unterminated last `data` line. The spec discards it; callers may look
    /// at it (a final `data: [DONE]` without a blank line, say).
    pub data: Option<Vec<u8>>,
}

/// Where the current event's data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Data {
    /// No `data` field seen: the spec's empty data buffer.
    None,
    /// One `data` line, lying in the current input at this range.
    Borrowed(usize, usize),
    /// In `Scanner::data`.
    Owned,
}

/// Incremental SSE scanner; see the module docs.
#[derive(Debug)]
pub struct Scanner {
    max_event_size: usize,
    /// Bytes of the stream consumed before the current input.
    consumed: u64,
    /// Leading bytes held while they may still be a split BOM.
    bom_prefix: Vec<u8>,
    bom_checked: bool,
    /// The previous input ended with CR: a leading LF completes that CRLF.
    pending_cr: bool,
    /// Carry-over of a line that has not ended yet.
    line: Vec<u8>,
    /// Stream offset of the carried line's first byte.
    line_start: u64,
    /// The carried line is being discarded (its event is too large).
    line_dropped: bool,
    data: Data,
    data_buf: Vec<u8>,
    event_type: Vec<u8>,
    event_start: Option<u64>,
    /// Discarding the rest of an oversized event, up to the next blank line.
    skipping: bool,
    last_event_id: Option<Vec<u8>>,
    retry: Option<u64>,
    finished: bool,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_EVENT_SIZE)
    }
}

impl Scanner {
    /// A scanner that rejects events holding more than `max_event_size` bytes.
    pub fn new(max_event_size: usize) -> Self {
        Self {
            max_event_size,
            consumed: 0,
            bom_prefix: Vec::new(),
            bom_checked: false,
            pending_cr: false,
            line: Vec::new(),
            line_start: 0,
            line_dropped: false,
            data: Data::None,
            data_buf: Vec::new(),
            event_type: Vec::new(),
            event_start: None,
            skipping: false,
            last_event_id: None,
            retry: None,
            finished: false,
        }
    }

    /// The configured event size limit.
    pub fn max_event_size(&self) -> usize {
        self.max_event_size
    }

    /// The last event ID buffer: `None` until an `id` field is seen.
    pub fn last_event_id(&self) -> Option<&[u8]> {
        self.last_event_id.as_deref()
    }

    /// The reconnection time set by the last valid `retry` field.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Total bytes fed so far.
    pub fn position(&self) -> u64 {
        self.consumed
    }

    /// Whether [`Scanner::finish`] has been called.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Scans `input`, calling `sink` for each dispatched event.
    ///
    /// The whole input is always consumed. If an event exceeded the size
    /// limit it is dropped, scanning resumes at the next blank line, and the
    /// first such error is returned after the rest of the input is scanned,
    /// so that no event around it is lost.
    pub fn feed<F: FnMut(Event<'_>)>(&mut self, input: &[u8], mut sink: F) -> Result<(), Error> {
        if self.finished {
            return Err(Error::Finished);
        }
        let mut first_error = None;
        let start = self.skip_bom(input);
        self.scan(input, start, &mut sink, &mut first_error);
        self.consumed += input.len() as u64;
        first_error.map_or(Ok(()), Err)
    }

    /// Ends the stream. The incomplete final event, if any, is not
    /// dispatched (WHATWG: "any pending data must be discarded"); its data is
    /// returned in the [`Tail`] for callers that want to look at it.
    pub fn finish(&mut self) -> Result<Tail, Error> {
        if self.finished {
            return Err(Error::Finished);
        }
        self.finished = true;
        if !self.bom_checked {
            self.line.append(&mut self.bom_prefix);
        }
        let mut tail = Tail::default();
        if self.skipping {
            return Ok(tail);
        }
        let mut data = match self.data {
            Data::None => None,
            // Unreachable after `feed`, which owns borrowed data on return.
            Data::Borrowed(..) => None,
            Data::Owned => Some(std::mem::take(&mut self.data_buf)),
        };
        if !self.line_dropped {
            let (name_end, value_start) = field_bounds(&self.line);
            if self.line.get(..name_end) == Some(b"data") {
                let had_data = data.is_some();
                let buf = data.get_or_insert_with(Vec::new);
                if had_data {
                    buf.push(b'\n');
                }
                buf.extend_from_slice(self.line.get(value_start..).unwrap_or_default());
            }
        }
        tail.data = data;
        self.line = Vec::new();
        Ok(tail)
    }

    /// Holds the first bytes until it is known whether they are a BOM.
    /// Returns where scanning of `input` starts.
    #[inline]
    fn skip_bom(&mut self, input: &[u8]) -> usize {
        if self.bom_checked {
            0
        } else {
            self.check_bom(input)
        }
    }

    #[cold]
    fn check_bom(&mut self, input: &[u8]) -> usize {
        let want = BOM.len() - self.bom_prefix.len();
        let take = want.min(input.len());
        let head = input.get(..take).unwrap_or_default();
        self.bom_prefix.extend_from_slice(head);
        if !BOM.starts_with(&self.bom_prefix) {
            self.bom_checked = true;
            // copy: at most three bytes that turned out not to be a BOM.
            let held = self.bom_prefix.len() - take;
            let prefix = std::mem::take(&mut self.bom_prefix);
            if held > 0 {
                self.line_start = 0;
                self.line
                    .extend_from_slice(prefix.get(..held).unwrap_or_default());
            }
            return 0;
        }
        if self.bom_prefix.len() == BOM.len() {
            self.bom_checked = true;
            self.bom_prefix = Vec::new();
        }
        take
    }

    fn scan<F: FnMut(Event<'_>)>(
        &mut self,
        input: &[u8],
        mut pos: usize,
        sink: &mut F,
        first_error: &mut Option<Error>,
    ) {
        if !self.bom_checked {
            return;
        }
        if self.pending_cr && pos < input.len() {
            self.pending_cr = false;
            if input.get(pos) == Some(&b'\n') {
                pos += 1;
            }
        }
        while let Some(rest) = input.get(pos..).filter(|rest| !rest.is_empty()) {
            if let Some(used) = self.plain_event(input, pos, sink) {
                pos += used;
                continue;
            }
            let Some(rel) = memchr::memchr2(b'\n', b'\r', rest) else {
                self.carry(input, pos, first_error);
                break;
            };
            let end = pos + rel;
            self.end_line(input, pos, end, sink, first_error);
            pos = end + 1;
            if rest.get(rel) == Some(&b'\r') {
                match input.get(pos) {
                    Some(b'\n') => pos += 1,
                    Some(_) => {}
                    None => self.pending_cr = true,
                }
            }
        }
        if let Data::Borrowed(a, b) = self.data {
            // copy: the open event's data outlives this input.
            self.data_buf.clear();
            self.data_buf
                .extend_from_slice(input.get(a..b).unwrap_or_default());
            self.data = Data::Owned;
        }
    }

    /// The fast path for the shape nearly every LLM event has: an optional
    /// `event` line, one `data` line and a blank line, all LF-terminated and
    /// lying whole in `input` at `pos`, with no event open. Dispatches it
    /// straight from `input` and returns the bytes it spans; any other shape
    /// (or one near the size limit) returns `None` for the line-by-line path,
    /// which would dispatch exactly the same event.
    fn plain_event<F: FnMut(Event<'_>)>(
        &self,
        input: &[u8],
        pos: usize,
        sink: &mut F,
    ) -> Option<usize> {
        let idle = self.line.is_empty()
            && !self.line_dropped
            && !self.skipping
            && self.data == Data::None
            && self.event_type.is_empty()
            && self.event_start.is_none();
        if !idle {
            return None;
        }
        let rest = input.get(pos..)?;
        let (event_type, data_at) = match rest.strip_prefix(b"event:") {
            Some(line) => lf_line_value(line).map(|(value, used)| (value, used + 6))?,
            None => (&[][..], 0),
        };
        let (data, used) = rest
            .get(data_at..)?
            .strip_prefix(b"data:")
            .and_then(lf_line_value)?;
        let end = data_at + 5 + used;
        let fits = data.len() <= self.max_event_size && event_type.len() <= self.max_event_size;
        if !fits || rest.get(end) != Some(&b'\n') {
            return None;
        }
        sink(Event {
            event_type,
            data,
            id: self.last_event_id.as_deref(),
            retry: self.retry,
            offset: self.consumed + pos as u64,
        });
        Some(end + 1)
    }

    /// Keeps the unterminated end of `input`, from `begin`, for the next read.
    fn carry(&mut self, input: &[u8], begin: usize, first_error: &mut Option<Error>) {
        let rest = input.get(begin..).unwrap_or_default();
        if self.skipping {
            self.line_dropped |= !rest.is_empty();
            return;
        }
        if self.line.is_empty() {
            self.line_start = self.consumed + begin as u64;
        }
        if self.line.len() + rest.len() > self.max_line() {
            self.too_large(self.line_start, first_error);
            self.line_dropped = true;
            return;
        }
        // copy: a partial line carried over to the next read.
        self.line.extend_from_slice(rest);
    }

    /// A line ended at `input[end]`; it began at `input[begin]`, after any carry.
    fn end_line<F: FnMut(Event<'_>)>(
        &mut self,
        input: &[u8],
        begin: usize,
        end: usize,
        sink: &mut F,
        first_error: &mut Option<Error>,
    ) {
        let piece = input.get(begin..end).unwrap_or_default();
        if self.line_dropped {
            self.line_dropped = false;
            return;
        }
        if self.line.is_empty() {
            let offset = self.consumed + begin as u64;
            self.process_line(input, piece, Some(begin), offset, sink, first_error);
            return;
        }
        let mut line = std::mem::take(&mut self.line);
        if self.skipping || line.len() + piece.len() > self.max_line() {
            if !self.skipping {
                self.too_large(self.line_start, first_error);
            }
        } else {
            // copy: completes the line carried over from the previous read.
            line.extend_from_slice(piece);
            self.process_line(input, &line, None, self.line_start, sink, first_error);
        }
        line.clear();
        self.line = line;
    }

    /// Interprets one complete line. `in_input` is where it starts in `input`
    /// when it lies there whole, so that its data can be borrowed.
    fn process_line<F: FnMut(Event<'_>)>(
        &mut self,
        input: &[u8],
        line: &[u8],
        in_input: Option<usize>,
        offset: u64,
        sink: &mut F,
        first_error: &mut Option<Error>,
    ) {
        if line.is_empty() {
            if self.skipping {
                self.skipping = false;
                self.reset_event();
            } else {
                self.dispatch(input, sink);
            }
            return;
        }
        if self.skipping {
            return;
        }
        // Checked before comments too: a carried line cannot know it is one
        // until it ends, so the limit must not depend on where reads split.
        if line.len() > self.max_line() {
            self.too_large(offset, first_error);
            return;
        }
        if line.first() == Some(&b':') {
            return;
        }
        let event_start = *self.event_start.get_or_insert(offset);
        let (name_end, value_start) = field_bounds(line);
        let value = line.get(value_start..).unwrap_or_default();
        match line.get(..name_end).unwrap_or_default() {
            b"data" => {
                let joined = self.data_len() + usize::from(self.data != Data::None) + value.len();
                if joined > self.max_event_size {
                    self.too_large(event_start, first_error);
                    return;
                }
                self.append_data(input, value, in_input.map(|at| at + value_start));
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.extend_from_slice(value);
            }
            b"id" if memchr::memchr(0, value).is_none() => {
                self.last_event_id = Some(value.to_vec());
            }
            b"retry" => {
                if let Some(ms) = parse_retry(value) {
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
    }

    /// WHATWG: append the value to the data buffer, then a LF. The trailing
    /// LF is left implicit; lines are joined with LF instead.
    fn append_data(&mut self, input: &[u8], value: &[u8], at: Option<usize>) {
        match (&self.data, at) {
            (Data::None, Some(a)) => self.data = Data::Borrowed(a, a + value.len()),
            (Data::None, None) => {
                self.data_buf.clear();
                self.data_buf.extend_from_slice(value);
                self.data = Data::Owned;
            }
            (Data::Borrowed(a, b), _) => {
                // copy: multi-line data must be joined.
                let first = input.get(*a..*b).unwrap_or_default();
                self.data_buf.clear();
                self.data_buf.extend_from_slice(first);
                self.data_buf.push(b'\n');
                self.data_buf.extend_from_slice(value);
                self.data = Data::Owned;
            }
            (Data::Owned, _) => {
                self.data_buf.push(b'\n');
                self.data_buf.extend_from_slice(value);
            }
        }
    }

    /// WHATWG "dispatch the event": an event with an empty data buffer is
    /// not dispatched, but its type is reset all the same.
    fn dispatch<F: FnMut(Event<'_>)>(&mut self, input: &[u8], sink: &mut F) {
        let data = match self.data {
            Data::None => {
                self.reset_event();
                return;
            }
            Data::Borrowed(a, b) => input.get(a..b).unwrap_or_default(),
            Data::Owned => &self.data_buf,
        };
        sink(Event {
            event_type: &self.event_type,
            data,
            id: self.last_event_id.as_deref(),
            retry: self.retry,
            offset: self.event_start.unwrap_or(self.consumed),
        });
        self.reset_event();
    }

    fn reset_event(&mut self) {
        self.data = Data::None;
        if self.data_buf.capacity() > REUSE_LIMIT {
            self.data_buf = Vec::new();
        }
        self.data_buf.clear();
        self.event_type.clear();
        self.event_start = None;
    }

    /// Drops the oversized event, releasing its memory, and skips to the
    /// next blank line.
    fn too_large(&mut self, offset: u64, first_error: &mut Option<Error>) {
        let offset = self.event_start.unwrap_or(offset);
        first_error.get_or_insert(Error::EventTooLarge {
            limit: self.max_event_size,
            offset,
        });
        self.reset_event();
        self.data_buf = Vec::new();
        self.line = Vec::new();
        self.skipping = true;
    }

    /// The longest line accepted: a full-size data value plus room for
    /// its field name. Applied to whole and carried lines alike, so that the
    /// outcome does not depend on how the input was split.
    fn max_line(&self) -> usize {
        self.max_event_size.saturating_add(LINE_SLACK)
    }

    fn data_len(&self) -> usize {
        match self.data {
            Data::None => 0,
            Data::Borrowed(a, b) => b - a,
            Data::Owned => self.data_buf.len(),
        }
    }
}

/// Where `data` lies inside `input`, if it is a sub-slice of it: the test
/// that tells a borrowed event payload from a carried-over copy.
pub fn span_in(input: &[u8], data: &[u8]) -> Option<(usize, usize)> {
    let start = (data.as_ptr() as usize).wrapping_sub(input.as_ptr() as usize);
    (!data.is_empty() && start < input.len() && data.len() <= input.len() - start)
        .then(|| (start, start + data.len()))
}

/// Bytes allowed in a line beyond `max_event_size`, for `data: ` and the like.
const LINE_SLACK: usize = 64;

/// Buffers larger than this are released after each event instead of reused.
const REUSE_LIMIT: usize = 64 * 1024;

/// WHATWG: "If the field value consists of only ASCII digits, then interpret
/// the field value as an integer in base ten". An empty value, any other
/// character (`-1000`, `1e3`, ` 5`) or a value beyond `u64` is ignored.
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    value.iter().try_fold(0u64, |acc, digit| {
        acc.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}

/// A field's value (after the colon, minus one leading space) when its line
/// ends with a LF inside `after_colon`, and the bytes up to and including
/// that LF; `None` if the line ends with a CR or not at all.
fn lf_line_value(after_colon: &[u8]) -> Option<(&[u8], usize)> {
    let start = usize::from(after_colon.first() == Some(&b' '));
    let value = after_colon.get(start..)?;
    let len = memchr::memchr2(b'\n', b'\r', value)?;
    (value.get(len) == Some(&b'\n'))
        .then(|| (value.get(..len).unwrap_or_default(), start + len + 1))
}

/// Where the field name ends and the value starts: the value follows the
/// first colon, minus exactly one leading space. A line without a colon is
/// a field name with an empty value.
fn field_bounds(line: &[u8]) -> (usize, usize) {
    match memchr::memchr(b':', line) {
        None => (line.len(), line.len()),
        Some(colon) => {
            let value_start = colon + 1;
            let skip = usize::from(line.get(value_start) == Some(&b' '));
            (colon, value_start + skip)
        }
    }
}

#[cfg(test)]
mod tests;
