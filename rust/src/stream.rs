//! What every protocol's accumulator shares: when things happened, the
//! first API error of a stream, and payload excerpts for error messages.

/// When things happened, as given to an accumulator's `feed` (any clock).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    pub first_byte: Option<u64>,
    pub first_token: Option<u64>,
    pub last_token: Option<u64>,
}

impl Timings {
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
