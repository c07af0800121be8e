//! The PyO3 binding layer: thin frozen pyclasses over the pure core. This
//! is the only module that imports pyo3.

mod anthropic;
mod chat;
mod errors;
mod frames;
mod input;
mod sse;

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_MAX_EVENT_SIZE", crate::DEFAULT_MAX_EVENT_SIZE)?;
    m.add_class::<sse::SSEDecoder>()?;
    m.add_class::<sse::ServerSentEvent>()?;
    m.add_class::<frames::ChunkFramer>()?;
    m.add_class::<chat::Accumulator>()?;
    m.add_class::<frames::Segment>()?;
    m.add_class::<anthropic::MessageAccumulator>()?;
    Ok(())
}
