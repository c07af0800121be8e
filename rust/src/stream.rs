//! What every protocol's accumulator shares: when things happened, the
//! first API error of a stream, payload excerpts for error messages, and the
//! plumbing between the shared [`Scanner`] and a protocol's fold.

use crate::sse::{Event, Scanner};
use crate::Error;

/// When things happened, as given to an accumulator's `feed` (any clock).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    pub first_byte: Option<u64>,
    pub first_token: Option<u64>,
    pub last_token: Option<u64>,
}

impl Timings {
    /// Records a read of `len` bytes at `now`.
    pub fn read(&mut self, len: usize, now: u64) {
        if len > 0 {
            self.first_byte.get_or_insert(now);
        }
    }

    /// Records a token (a non-empty text delta) arriving at `now`.
    pub fn token(&mut self, now: u64) {
        self.first_token.get_or_insert(now);
        self.last_token = Some(now);
    }
}

/// The first API error of the stream: its payload, and whether it came as
/// `event: error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub payload: Vec<u8>,
    pub event: bool,
    pub offset: u64,
}

/// The first bytes of a payload, for error messages.
pub fn excerpt(data: &[u8]) -> Vec<u8> {
    data.get(..200).unwrap_or(data).to_vec()
}

/// Feeds `input` through `scanner`, handing each event to `fold`.
/// Everything decodable is folded; then the malformed payload or oversized
/// event earliest in the stream among those of this read is reported.
pub fn feed(
    scanner: &mut Scanner,
    input: &[u8],
    mut fold: impl FnMut(&Event<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut first_error = None;
    let framed = scanner.feed(input, |event| {
        if let Err(error) = fold(&event) {
            first_error.get_or_insert(error);
        }
    });
    match (framed, first_error) {
        (Err(framing), Some(folding)) => Err(framing.earlier(folding)),
        (Err(error), None) | (Ok(()), Some(error)) => Err(error),
        (Ok(()), None) => Ok(()),
    }
}

/// A payload given whole to `add`, as the event `feed` would have framed
/// at the scanner's position.
pub fn whole<'a>(payload: &'a [u8], scanner: &Scanner) -> Event<'a> {
    Event {
        event_type: b"",
        data: payload,
        id: None,
        retry: None,
        offset: scanner.position(),
    }
}

/// Takes the events collected so far; empty when collection is off.
pub fn take_events<T>(events: &mut Option<Vec<T>>) -> Vec<T> {
    events.as_mut().map(std::mem::take).unwrap_or_default()
}
