//! Sorting SSE events of a chat completion stream into what a chunk decoder
//! does with them: chunk payloads, batched into one JSON array per read so
//! that they decode in a single call; possible API errors, for a closer
//! look; and the `[DONE]` sentinel, after which nothing more is read.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use crate::sse::{span_in, Event, Scanner, Tail};
use crate::Error;

/// The searcher for `"error"`, built once: building one costs more than
/// searching a chunk with it.
static ERROR_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"error\""));

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
    classify_known(event, false)
}

/// [`classify`], where `clean` says the data is known not to hold
/// `"error"` (it lies in a read that was searched whole).
fn classify_known(event: &Event<'_>, clean: bool) -> Kind {
    if event.kind() == b"error" {
        return Kind::MaybeError;
    }
    let data = event.data.trim_ascii();
    if data.is_empty() {
        Kind::Blank
    } else if data == b"[DONE]" {
        Kind::Done
    } else if !clean && ERROR_KEY.find(data).is_some() {
        Kind::MaybeError
    } else {
        Kind::Chunk
    }
}

/// One event's data: a range of the current input, or a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// `input[start..end]` of the `feed` call that produced the segment.
    Input(usize, usize),
    /// Carried over from an earlier read, or joined from several lines.
    Owned(Vec<u8>),
}

impl Data {
    fn bytes<'a>(&'a self, input: &'a [u8]) -> &'a [u8] {
        match self {
            Self::Input(start, end) => input.get(*start..*end).unwrap_or_default(),
            Self::Owned(data) => data,
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Input(start, end) => end - start,
            Self::Owned(data) => data.len(),
        }
    }
}

/// Per event of a segment: its stream offset and its range in the payload.
pub type Ranges = Vec<(u64, usize, usize)>;

/// A run of events of one kind, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// [`Kind::Chunk`] or [`Kind::MaybeError`]; the others are not reported.
    pub kind: Kind,
    /// Per event: its stream offset and data.
    pub items: Vec<(u64, Data)>,
    /// The event type, for a possible error.
    pub event_type: Vec<u8>,
}

impl Segment {
    /// Length of [`Segment::write_payload`]'s output.
    pub fn payload_len(&self) -> usize {
        let data: usize = self.items.iter().map(|(_, data)| data.len()).sum();
        match self.kind {
            Kind::Chunk => data + 1 + self.items.len().max(1),
            _ => data,
        }
    }

    /// Writes the payload into `out` (of [`Segment::payload_len`] bytes): for
    /// chunks the JSON array `[p1,p2,...]`, otherwise the one event's data.
    pub fn write_payload(&self, input: &[u8], out: &mut [u8]) {
        let array = self.kind == Kind::Chunk;
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            if let Some(dest) = out.get_mut(at..at + bytes.len()) {
                dest.copy_from_slice(bytes);
            }
            at += bytes.len();
        };
        if array {
            put(b"[");
        }
        for (i, (_, data)) in self.items.iter().enumerate() {
            if array && i > 0 {
                put(b",");
            }
            put(data.bytes(input));
        }
        if array {
            put(b"]");
        }
    }

    /// Each event's offset and range inside [`Segment::write_payload`]'s
    /// output: only the slow path, which splits a failed batch, needs them.
    pub fn ranges(&self) -> Ranges {
        let array = usize::from(self.kind == Kind::Chunk);
        let mut at = array;
        let mut ranges = Vec::with_capacity(self.items.len());
        for (offset, data) in &self.items {
            ranges.push((*offset, at, at + data.len()));
            at += data.len() + array;
        }
        ranges
    }

    /// The payload as a new vector; see [`Segment::write_payload`].
    pub fn payload(&self, input: &[u8]) -> Vec<u8> {
        let mut out = vec![0; self.payload_len()];
        self.write_payload(input, &mut out);
        out
    }
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

    /// Frames `input`, appending segments to `out`; their [`Data::Input`]
    /// ranges refer to `input`. Events after `[DONE]` are ignored. An
    /// oversized event is reported after the whole input is framed, with
    /// everything around it already in `out`.
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
        // One search of the whole read instead of one per event: a read with
        // no `"error"` anywhere has none in the events that lie in it.
        let clean = ERROR_KEY.find(input).is_none();
        scanner.feed(input, |event| {
            if !*done {
                push(input, clean, event, done, blanks, out);
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

fn push(
    input: &[u8],
    clean: bool,
    event: Event<'_>,
    done: &mut bool,
    blanks: &mut u64,
    out: &mut Vec<Segment>,
) {
    let span = span_in(input, event.data);
    let kind = classify_known(&event, clean && span.is_some());
    let data = || match span {
        Some((start, end)) => Data::Input(start, end),
        // copy: data carried over from an earlier read.
        None => Data::Owned(event.data.to_vec()),
    };
    match kind {
        Kind::Done => *done = true,
        Kind::Blank => *blanks += 1,
        Kind::MaybeError => out.push(Segment {
            kind,
            items: vec![(event.offset, data())],
            event_type: event.event_type.to_vec(),
        }),
        Kind::Chunk => match out.last_mut() {
            Some(last) if last.kind == Kind::Chunk => last.items.push((event.offset, data())),
            _ => out.push(Segment {
                kind,
                items: vec![(event.offset, data())],
                event_type: Vec::new(),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames one input; returns (kind, payload, ranges, event type) per segment.
    type Framed = (Kind, Vec<u8>, Ranges, Vec<u8>);

    fn frame(input: &[u8]) -> (Vec<Framed>, Framer) {
        let mut framer = Framer::default();
        let mut out = Vec::new();
        assert!(framer.feed(input, &mut out).is_ok());
        let segments = out
            .iter()
            .map(|s| {
                let mut payload = vec![0; s.payload_len()];
                s.write_payload(input, &mut payload);
                (s.kind, payload, s.ranges(), s.event_type.clone())
            })
            .collect();
        (segments, framer)
    }

    #[test]
    fn chunks_of_a_read_form_one_array() {
        let (out, framer) =
            frame(b"data: {\"a\":1}\n\n: ping\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\ndata: {}\n\n");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1, b"[{\"a\":1},{\"b\":2}]");
        assert_eq!(out[0].2, [(0, 1, 8), (23, 9, 16)]);
        assert!(framer.done());
    }

    #[test]
    fn possible_errors_split_the_batch_in_order() {
        let (out, _) =
            frame(b"data: {}\n\ndata: {\"error\":{}}\n\nevent: error\ndata: boom\n\ndata: {}\n\n");
        let kinds: Vec<Kind> = out.iter().map(|s| s.0).collect();
        assert_eq!(
            kinds,
            [Kind::Chunk, Kind::MaybeError, Kind::MaybeError, Kind::Chunk]
        );
        assert_eq!(out[2].3, b"error");
        assert_eq!(out[2].1, b"boom");
    }

    #[test]
    fn possible_errors_are_found_however_the_reads_split() {
        let stream =
            b"data: {}\n\ndata: {\"a\":\n\ndata: {\"error\":{}}\n\ndata: 1\ndata: \"error\"\n\n";
        // Each event's kind, whichever segment it went to.
        let kinds = |segments: &[Segment]| -> Vec<Kind> {
            segments
                .iter()
                .flat_map(|s| s.items.iter().map(|_| s.kind))
                .collect()
        };
        let whole = kinds(&Framer::default().feed_all(&[stream]));
        assert_eq!(
            whole,
            [Kind::Chunk, Kind::Chunk, Kind::MaybeError, Kind::MaybeError]
        );
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            let split = kinds(&Framer::default().feed_all(&[a, b]));
            assert_eq!(split, whole, "cut at {cut}");
        }
    }

    impl Framer {
        /// Feeds every read, returning all their segments.
        fn feed_all(&mut self, reads: &[&[u8]]) -> Vec<Segment> {
            let mut out = Vec::new();
            for read in reads {
                let mut segments = Vec::new();
                assert!(self.feed(read, &mut segments).is_ok());
                out.extend(segments);
            }
            out
        }
    }

    #[test]
    fn carried_data_is_owned_and_joined_in_order() {
        let mut framer = Framer::default();
        let mut out = Vec::new();
        assert!(framer.feed(b"data: {\"a\"", &mut out).is_ok());
        let second = b":1}\n\ndata: {}\n\n";
        assert!(framer.feed(second, &mut out).is_ok());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].payload(second), b"[{\"a\":1},{}]");
        assert!(matches!(out[0].items[0].1, Data::Owned(_)));
        assert!(matches!(out[0].items[1].1, Data::Input(..)));
    }

    #[test]
    fn blank_payloads_are_counted_keepalives() {
        let (out, framer) = frame(b"data:\n\ndata:  \n\n");
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
