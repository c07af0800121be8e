//! The PyO3 binding layer: thin frozen pyclasses over the pure core. This
//! is the only module that imports pyo3.

mod anthropic;
mod chat;
mod chat_add;
mod empty_list;
mod errors;
mod exclusive;
mod frames;
mod input;
mod method_o;
mod responses;
mod shell;
mod sse;

use pyo3::prelude::*;

/// Monotonic nanoseconds on the clock of Python's `time.monotonic_ns()`.
pub(crate) fn now_ns() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (now.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(now.tv_nsec as u64)
}

#[pymodule(gil_used = false)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_MAX_EVENT_SIZE", crate::DEFAULT_MAX_EVENT_SIZE)?;
    m.add_class::<sse::SSEDecoder>()?;
    m.add_class::<sse::ServerSentEvent>()?;
    m.add_class::<frames::ChunkFramer>()?;
    m.add_class::<chat::Accumulator>()?;
    m.add_class::<responses::ResponseFold>()?;
    m.add_function(wrap_pyfunction!(chat_add::register_chat_models, m)?)?;
    m.add_class::<frames::Segment>()?;
    m.add_class::<anthropic::MessageAccumulator>()?;
    Ok(())
}
