//! What the fuzz targets share: a choice stream over the fuzz input, the
//! ways of splitting an input into reads, a plain WHATWG reference parser
//! and a generator of chat-completion-chunk-like streams.
//!
//! This crate is test code: it indexes slices and asserts freely, unlike the
//! core it tests.

pub mod choices;
pub mod generate;
pub mod reference;
pub mod responses;
pub mod splits;

/// A first input byte at or above this selects a structured mode (explicit
/// cuts or the generator); anything below means "the input is the stream",
/// so the seed corpora can be verbatim `.sse` files. `0xF5..=0xFF` never
/// occur in UTF-8 and `0xF0..=0xF4` only begin a four-byte character, which
/// no real stream starts with.
pub const HEADER_MIN: u8 = 0xF0;
