//! `MessageAccumulator`: the Rust half of `chunkfold.MessageAccumulator`.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::input::event_size_limit;
use super::method_o::MethodO;
use super::shell::{shell_feed, Shell};
use crate::anthropic::{self, Event};

/// `(kind, block index, tool name, text)`, as `anthropic/accumulate.py` reads it.
type PyEvent = (&'static str, i64, Option<String>, Option<String>);

/// The counters, in the order `counts` gives them.
type Counts = (u64, u64, u64, u64, u64, u64, u64, u64);

fn to_py_event(event: Event) -> PyEvent {
    match event {
        Event::Text { index, delta } => ("text", index, None, Some(delta)),
        Event::Thinking { index, delta } => ("thinking", index, None, Some(delta)),
        Event::InputJson { index, name, delta } => ("input_json", index, Some(name), Some(delta)),
        Event::BlockStop { index } => ("block_stop", index, None, None),
        Event::StopReason(reason) => ("stop_reason", 0, None, Some(reason)),
        Event::Usage(raw) => {
            let raw = String::from_utf8_lossy(&raw).into_owned();
            ("usage", 0, None, Some(raw))
        }
    }
}

/// Folds raw Anthropic stream bytes into a message, all in Rust.
#[pyclass(frozen, module = "chunkfold._core", name = "MessageAccumulator")]
pub struct MessageAccumulator(Shell<anthropic::Accumulator>);

#[pymethods]
impl MessageAccumulator {
    #[new]
    #[pyo3(signature = (*, max_event_size = None, events = false, strict = true))]
    fn new(
        max_event_size: Option<&Bound<'_, PyAny>>,
        events: bool,
        strict: bool,
    ) -> PyResult<Self> {
        let max_event_size = event_size_limit(max_event_size)?;
        let core = anthropic::Accumulator::new(max_event_size, events);
        Ok(Self(Shell::new(core, strict, "MessageAccumulator")))
    }

    /// `feed(data, /)`, a `METH_O` method (see [`FEED`]).
    #[classattr]
    fn feed(py: Python<'_>) -> PyResult<Py<PyAny>> {
        FEED.descriptor::<Self>(py)
    }

    /// Folds one whole event payload (JSON bytes).
    #[pyo3(signature = (payload, /))]
    fn add(&self, payload: &Bound<'_, PyBytes>) -> PyResult<()> {
        self.0.add(payload)
    }

    /// Ends the stream.
    fn finish(&self, py: Python<'_>) -> PyResult<()> {
        self.0.finish(py)
    }

    /// The message so far, as JSON.
    fn snapshot_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.0.snapshot_json(py)
    }

    /// The usage so far, as one JSON object.
    fn usage_json<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let acc = self.0.lock(py)?;
        Ok(acc.usage_json().map(|u| PyBytes::new(py, &u)))
    }

    /// The first API error: `(payload, came as event: error, offset)`.
    fn error<'py>(&self, py: Python<'py>) -> PyResult<Option<(Bound<'py, PyBytes>, bool, u64)>> {
        self.0.error(py)
    }

    /// The events collected since the last call.
    fn take_events(&self, py: Python<'_>) -> PyResult<Vec<PyEvent>> {
        self.0.take_events(py, to_py_event)
    }

    /// `"in_progress"`, `"done"`, `"incomplete"`, `"finished"`, `"error"` or `"truncated"`.
    #[getter]
    fn status(&self, py: Python<'_>) -> PyResult<&'static str> {
        self.0.status(py)
    }

    /// The model `message_start` gave.
    #[getter]
    fn model(&self, py: Python<'_>) -> PyResult<Option<String>> {
        Ok(self.0.lock(py)?.fold().model.clone())
    }

    /// The message id `message_start` gave.
    #[getter]
    fn response_id(&self, py: Python<'_>) -> PyResult<Option<String>> {
        Ok(self.0.lock(py)?.fold().id.clone())
    }

    /// The last non-null stop reason.
    #[getter]
    fn stop_reason(&self, py: Python<'_>) -> PyResult<Option<String>> {
        Ok(self.0.lock(py)?.fold().stop_reason.clone())
    }

    /// Whether `message_stop` was seen.
    #[getter]
    fn done(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.0.lock(py)?.done())
    }

    /// `(events folded, malformed skipped, ignored, renamed, wrong-kind
    /// deltas, invalid tool inputs, unknown deltas, bytes)`.
    #[getter]
    fn counts(&self, py: Python<'_>) -> PyResult<Counts> {
        let acc = self.0.lock(py)?;
        let fold = acc.fold();
        Ok((
            acc.chunks(),
            acc.skipped(),
            acc.ignored(),
            acc.renamed(),
            fold.mismatches,
            fold.invalid_inputs,
            fold.unknown_deltas,
            acc.bytes(),
        ))
    }

    /// `(first byte, first token, last token)` in `time.monotonic_ns()` time.
    #[getter]
    fn timings(&self, py: Python<'_>) -> PyResult<(Option<u64>, Option<u64>, Option<u64>)> {
        self.0.timings(py)
    }
}

/// `MessageAccumulator.feed` with events off.
static FEED: MethodO = shell_feed!(MessageAccumulator);
