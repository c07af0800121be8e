//! The core's one error type. Every variant that concerns input carries the
//! stream byte offset it was found at; messages are formatted only on demand.

use std::fmt;

/// An error from the pure core, mapped onto `chunkfold.errors` by the bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// An event held more than `limit` bytes; it was dropped whole.
    EventTooLarge {
        /// The configured `max_event_size`.
        limit: usize,
        /// Stream offset where the oversized event began.
        offset: u64,
    },
    /// Input was fed after `finish()`.
    Finished,
    /// An event's data is not a JSON object; it was skipped.
    Json {
        /// Stream offset of the event.
        offset: u64,
        /// The JSON parser's message, with the position inside the payload.
        message: String,
        /// The first bytes of the payload.
        excerpt: Vec<u8>,
    },
}

impl Error {
    /// The stream offset the error concerns; `None` for `Finished`.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Self::EventTooLarge { offset, .. } | Self::Json { offset, .. } => Some(*offset),
            Self::Finished => None,
        }
    }

    /// Of two errors found in one read, the one earlier in the stream.
    pub fn earlier(self, other: Self) -> Self {
        if other.offset() < self.offset() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EventTooLarge { limit, offset } => write!(
                f,
                "event at byte offset {offset} exceeds max_event_size of {limit} bytes; \
                 it was dropped and decoding resumes at the next event"
            ),
            Self::Finished => f.write_str("finish() was already called; create a new decoder"),
            Self::Json {
                offset, message, ..
            } => {
                write!(f, "undecodable chunk at byte offset {offset}: {message}")
            }
        }
    }
}

impl std::error::Error for Error {}

/// The first bytes of a payload, for error messages.
pub fn excerpt(data: &[u8]) -> Vec<u8> {
    data.get(..200).unwrap_or(data).to_vec()
}
