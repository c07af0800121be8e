//! Sorting SSE events of a chat completion stream into what a chunk decoder
//! does with them: chunk payloads, batched into one JSON array per read so
//! that they decode in a single call; possible API errors, for a closer
//! look; and the `[DONE]` sentinel, after which nothing more is read.

use crate::sse::{Event, Scanner, Tail};
use crate::Error;

/// What one event's data is, judged by cheap byte checks alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `data: [DONE]`: the end of the stream.
    Done,
    /// Whitespace only: some providers' keep-alive.
    Blank,
    /// `event: error`, or a payload that mentions `"error"` as a key or
    /// value (`{"error": {...}}`, vLLM's `"object": "error"`). The check is
    /// deliberately loose; the caller parses it to be sure.
    MaybeError,
    /// Anything else: a chunk, or a payload that fails to decode as one.
    Chunk,
}

/// Classifies one event.
pub fn classify(event: &Event<'_>) -> Kind {
    if event.kind() == b"error" {
        return Kind::MaybeError;
    }
    let data = event.data.trim_ascii();
    if data.is_empty() {
        Kind::Blank
    } else if data == b"[DONE]" {
        Kind::Done
    } else if memchr::memmem::find(data, b"\"error\"").is_some() {
        Kind::MaybeError
    } else {
        Kind::Chunk
    }
}

/// A run of events of one kind, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// [`Kind::Chunk`] or [`Kind::MaybeError`]; the others are not reported.
    pub kind: Kind,
    /// For chunks, `[p1,p2,...]`; for a possible error, the raw data.
    pub payload: Vec<u8>,
    /// Per event: stream offset, and its range inside `payload`.
    pub items: Vec<(u64, usize, usize)>,
    /// The event type, for a possible error.
    pub event_type: Vec<u8>,
}

/// Frames a byte stream into [`Segment`]s; see the module docs.
#[derive(Debug, Default)]
pub struct Framer {
    scanner: Scanner,
    done: bool,
    blanks: u64,
}

impl Framer {
    /// A framer whose scanner enforces `max_event_size`.
    pub fn new(max_event_size: usize) -> Self {
        Self {
            scanner: Scanner::new(max_event_size),
            done: false,
            blanks: 0,
        }
    }

    /// Whether `[DONE]` has been seen.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Blank (whitespace-only) payloads skipped so far.
    pub fn blanks(&self) -> u64 {
        self.blanks
    }

    /// The scanner underneath, for its position and ids.
    pub fn scanner(&self) -> &Scanner {
        &self.scanner
    }

    /// Frames `input`, appending segments to `out`. Events after `[DONE]` are
    /// ignored. An oversized event is reported after the whole input is
    /// framed, with everything around it already in `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<Segment>) -> Result<(), Error> {
        if self.done {
            return if self.scanner.is_finished() {
                Err(Error::Finished)
            } else {
                Ok(())
            };
        }
        let Self {
            scanner,
            done,
            blanks,
        } = self;
        scanner.feed(input, |event| {
            if !*done {
                push(event, done, blanks, out);
            }
        })
    }

    /// Ends the stream. A final `data: [DONE]` with no blank line after it
    /// still counts as `[DONE]`; any other incomplete event is discarded.
    pub fn finish(&mut self) -> Result<(), Error> {
        let Tail { data } = self.scanner.finish()?;
        if data.is_some_and(|data| data.trim_ascii() == b"[DONE]") {
            self.done = true;
        }
        Ok(())
    }
}

fn push(event: Event<'_>, done: &mut bool, blanks: &mut u64, out: &mut Vec<Segment>) {
    let kind = classify(&event);
    match kind {
        Kind::Done => *done = true,
        Kind::Blank => *blanks += 1,
        Kind::MaybeError => out.push(Segment {
            kind,
            payload: event.data.to_vec(),
            items: vec![(event.offset, 0, event.data.len())],
            event_type: event.event_type.to_vec(),
        }),
        Kind::Chunk => {
            let segment = match out.last_mut() {
                Some(last) if last.kind == Kind::Chunk => last,
                _ => {
                    out.push(Segment {
                        kind,
                        payload: vec![b'['],
                        items: Vec::new(),
                        event_type: Vec::new(),
                    });
                    let Some(last) = out.last_mut() else { return };
                    last
                }
            };
            if !segment.items.is_empty() {
                segment.payload.push(b',');
            }
            let start = segment.payload.len();
            // copy: payloads are joined into one array, decoded in one call.
            segment.payload.extend_from_slice(event.data);
            segment
                .items
                .push((event.offset, start, segment.payload.len()));
        }
    }
}

/// Closes each chunk segment's JSON array.
pub fn seal(segments: &mut [Segment]) {
    for segment in segments.iter_mut().filter(|s| s.kind == Kind::Chunk) {
        segment.payload.push(b']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(pieces: &[&[u8]]) -> (Vec<Segment>, Framer) {
        let mut framer = Framer::default();
        let mut out = Vec::new();
        for piece in pieces {
            assert!(framer.feed(piece, &mut out).is_ok());
        }
        seal(&mut out);
        (out, framer)
    }

    #[test]
    fn chunks_of_a_read_form_one_array() {
        let (out, framer) = frame(&[
            b"data: {\"a\":1}\n\n: ping\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\ndata: {}\n\n",
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].payload, b"[{\"a\":1},{\"b\":2}]");
        assert_eq!(out[0].items, [(0, 1, 8), (23, 9, 16)]);
        assert!(framer.done());
    }

    #[test]
    fn possible_errors_split_the_batch_in_order() {
        let (out, _) = frame(&[
            b"data: {}\n\ndata: {\"error\":{}}\n\nevent: error\ndata: boom\n\ndata: {}\n\n",
        ]);
        let kinds: Vec<Kind> = out.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [Kind::Chunk, Kind::MaybeError, Kind::MaybeError, Kind::Chunk]
        );
        assert_eq!(out[2].event_type, b"error");
        assert_eq!(out[2].payload, b"boom");
    }

    #[test]
    fn blank_payloads_are_counted_keepalives() {
        let (out, framer) = frame(&[b"data:\n\ndata:  \n\n"]);
        assert!(out.is_empty());
        assert_eq!(framer.blanks(), 2);
    }

    #[test]
    fn unterminated_done_at_eof_counts() {
        for tail in [&b"data: [DONE]"[..], b"data: [DONE]\n", b"data: [DONE]\r\n"] {
            let mut framer = Framer::default();
            let mut out = Vec::new();
            assert!(framer.feed(b"data: {}\n\n", &mut out).is_ok());
            assert!(framer.feed(tail, &mut out).is_ok());
            assert!(!framer.done());
            assert!(framer.finish().is_ok());
            assert!(framer.done());
        }
    }

    #[test]
    fn incomplete_other_event_is_not_done() {
        let mut framer = Framer::default();
        let mut out = Vec::new();
        assert!(framer.feed(b"data: {\"x\"", &mut out).is_ok());
        assert!(framer.finish().is_ok());
        assert!(!framer.done());
        assert!(out.is_empty());
    }
}
