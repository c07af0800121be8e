//! `MessageAccumulator`: the Rust half of `chunkfold.MessageAccumulator`.

use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::errors::{busy, to_pyerr};
use super::input::{event_size_limit, to_bytes, DETACH_AT};
use super::now_ns;
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
pub struct MessageAccumulator {
    state: Mutex<anthropic::Accumulator>,
}

impl MessageAccumulator {
    fn lock(&self) -> PyResult<MutexGuard<'_, anthropic::Accumulator>> {
        self.state
            .try_lock()
            .map_err(|_| busy("MessageAccumulator"))
    }
}

#[pymethods]
impl MessageAccumulator {
    #[new]
    #[pyo3(signature = (*, max_event_size = None, events = false))]
    fn new(max_event_size: Option<&Bound<'_, PyAny>>, events: bool) -> PyResult<Self> {
        let max_event_size = event_size_limit(max_event_size)?;
        Ok(Self {
            state: Mutex::new(anthropic::Accumulator::new(max_event_size, events)),
        })
    }

    /// Folds `data`; raises after folding everything else if a payload was
    /// malformed or an event too large.
    #[pyo3(signature = (data, /))]
    fn feed(&self, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = data.py();
        let input = to_bytes(data)?;
        let mut guard = self.lock()?;
        let acc = &mut *guard;
        let bytes = input.as_bytes();
        let now = now_ns();
        let result = if bytes.len() >= DETACH_AT {
            // The input is an immutable `bytes` kept alive by `input`.
            py.detach(|| acc.feed(bytes, now))
        } else {
            acc.feed(bytes, now)
        };
        result.map_err(|e| to_pyerr(py, &e, None))
    }

    /// Folds one whole event payload (JSON bytes).
    #[pyo3(signature = (payload, /))]
    fn add(&self, payload: &Bound<'_, PyBytes>) -> PyResult<()> {
        let mut acc = self.lock()?;
        acc.add(payload.as_bytes(), now_ns())
            .map_err(|e| to_pyerr(payload.py(), &e, None))
    }

    /// Ends the stream.
    fn finish(&self, py: Python<'_>) -> PyResult<()> {
        self.lock()?
            .finish(now_ns())
            .map_err(|e| to_pyerr(py, &e, None))
    }

    /// The message so far, as JSON.
    fn snapshot_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.lock()?.snapshot_json()))
    }

    /// The usage so far, as one JSON object.
    fn usage_json<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let acc = self.lock()?;
        Ok(acc.usage_json().map(|u| PyBytes::new(py, &u)))
    }

    /// The first API error: `(payload, came as event: error, offset)`.
    fn error<'py>(&self, py: Python<'py>) -> PyResult<Option<(Bound<'py, PyBytes>, bool, u64)>> {
        let acc = self.lock()?;
        Ok(acc
            .error()
            .map(|e| (PyBytes::new(py, &e.payload), e.event, e.offset)))
    }

    /// The events collected since the last call.
    fn take_events(&self) -> PyResult<Vec<PyEvent>> {
        Ok(self
            .lock()?
            .take_events()
            .into_iter()
            .map(to_py_event)
            .collect())
    }

    /// `"in_progress"`, `"done"`, `"incomplete"`, `"finished"`, `"error"` or `"truncated"`.
    #[getter]
    fn status(&self) -> PyResult<&'static str> {
        Ok(self.lock()?.status().as_str())
    }

    /// The model `message_start` gave.
    #[getter]
    fn model(&self) -> PyResult<Option<String>> {
        Ok(self.lock()?.fold().model.clone())
    }

    /// The message id `message_start` gave.
    #[getter]
    fn response_id(&self) -> PyResult<Option<String>> {
        Ok(self.lock()?.fold().id.clone())
    }

    /// The last non-null stop reason.
    #[getter]
    fn stop_reason(&self) -> PyResult<Option<String>> {
        Ok(self.lock()?.fold().stop_reason.clone())
    }

    /// Whether `message_stop` was seen.
    #[getter]
    fn done(&self) -> PyResult<bool> {
        Ok(self.lock()?.done())
    }

    /// `(events folded, malformed skipped, ignored, renamed, wrong-kind
    /// deltas, invalid tool inputs, unknown deltas, bytes)`.
    #[getter]
    fn counts(&self) -> PyResult<Counts> {
        let acc = self.lock()?;
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
    fn timings(&self) -> PyResult<(Option<u64>, Option<u64>, Option<u64>)> {
        let t = self.lock()?.timings();
        Ok((t.first_byte, t.first_token, t.last_token))
    }
}
