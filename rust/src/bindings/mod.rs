//! The PyO3 binding layer: thin frozen pyclasses over the pure core. This
//! is the only module that imports pyo3.

mod chat;
mod chat_add;
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
    m.add_function(wrap_pyfunction!(chat_add::register_chat_models, m)?)?;
    m.add_class::<frames::Segment>()?;
    Ok(())
}
