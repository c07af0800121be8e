//! chunkfold's pure Rust core: incremental WHATWG Server-Sent Events framing
//! for OpenAI-style chat completion streams.
//!
//! Nothing here knows about Python: the `python` feature adds the PyO3
//! binding layer in [`bindings`], and `cargo test` runs without it.

#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::unwrap_used))]

pub mod error;
pub mod fold;
pub mod frames;
pub mod sse;

pub use error::Error;
pub use sse::{Event, Scanner, Tail, DEFAULT_MAX_EVENT_SIZE};

#[cfg(feature = "python")]
mod bindings;
