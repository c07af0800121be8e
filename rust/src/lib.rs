//! chunkfold's pure Rust core: incremental WHATWG Server-Sent Events framing
//! and folding of LLM streams.
//!
//! The shared core is [`sse`] (the scanner), [`json`] (the pull reader),
//! [`frames`] (payload framing for batch decoding), [`stream`] (timings and
//! API errors) and [`error`]; each protocol has a home of its own: [`chat`]
//! for OpenAI Chat Completions, [`responses`] for the OpenAI Responses API,
//! [`anthropic`] for Anthropic Messages.
//!
//! Nothing here knows about Python: the `python` feature adds the PyO3
//! binding layer in [`bindings`], and `cargo test` runs without it.

#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::unwrap_used))]

pub mod anthropic;
pub mod chat;
pub mod error;
pub mod frames;
pub mod json;
pub mod responses;
pub mod sse;
pub mod stream;
#[cfg(test)]
mod testing;

pub use error::Error;
pub use sse::{Event, Scanner, Tail, DEFAULT_MAX_EVENT_SIZE};

#[cfg(feature = "python")]
mod bindings;
