//! `Accumulator`: the Rust half of `chunkfold.ChatCompletionAccumulator`.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use super::chat_add as add;
use super::frames::new_bytes;
use super::input::event_size_limit;
use super::method_o::MethodO;
use super::now_ns;
use super::shell::{shell_feed, Shell};
use crate::chat::{self, Event};

/// `(kind, choice, tool position, tool name, text)`, as `accumulate.py` reads it.
type PyEvent = (
    &'static str,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
);

fn to_py_event(event: Event) -> PyEvent {
    match event {
        Event::Content { choice, delta } => ("content", choice, None, None, Some(delta)),
        Event::Refusal { choice, delta } => ("refusal", choice, None, None, Some(delta)),
        Event::Reasoning { choice, delta } => ("reasoning", choice, None, None, Some(delta)),
        Event::ToolArguments {
            choice,
            tool,
            name,
            delta,
        } => (
            "tool_arguments",
            choice,
            Some(tool),
            Some(name),
            Some(delta),
        ),
        Event::Finished { choice, reason } => ("finished", choice, None, None, Some(reason)),
        Event::Logprobs {
            choice,
            refusal,
            tokens,
        } => {
            let kind = if refusal {
                "logprobs_refusal"
            } else {
                "logprobs"
            };
            let tokens = format!("[{}]", String::from_utf8_lossy(&tokens));
            (kind, choice, None, None, Some(tokens))
        }
        Event::Usage(raw) => {
            let raw = String::from_utf8_lossy(&raw).into_owned();
            ("usage", 0, None, None, Some(raw))
        }
    }
}

/// Folds raw stream bytes into a completion, all in Rust.
#[pyclass(frozen, module = "chunkfold._core", name = "Accumulator")]
pub struct Accumulator(Shell<chat::Accumulator>);

#[pymethods]
impl Accumulator {
    #[new]
    #[pyo3(signature = (*, max_event_size = None, events = false, strict = true))]
    fn new(
        max_event_size: Option<&Bound<'_, PyAny>>,
        events: bool,
        strict: bool,
    ) -> PyResult<Self> {
        let max_event_size = event_size_limit(max_event_size)?;
        let core = chat::Accumulator::new(max_event_size, events);
        Ok(Self(Shell::new(core, strict, "ChatCompletionAccumulator")))
    }

    /// `feed(data, /)`, a `METH_O` method (see [`FEED`]).
    #[classattr]
    fn feed(py: Python<'_>) -> PyResult<Py<PyAny>> {
        FEED.descriptor::<Self>(py)
    }

    /// Folds one decoded `ChatCompletionChunk`, reading its fields directly
    /// when it has the common shape, else as its JSON. Returns an empty
    /// list: with events off, `ChatCompletionAccumulator.add` is this method.
    #[pyo3(signature = (chunk, /))]
    fn add_chunk<'py>(&self, chunk: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let py = chunk.py();
        let tuples = add::read(chunk)?;
        match tuples.as_deref().and_then(|t| add::direct(py, t)) {
            Some(direct) => self
                .0
                .fold(py, false, |acc| acc.add_direct(&direct, now_ns())),
            None => {
                let json = add::encode(chunk)?;
                self.0
                    .fold(py, false, |acc| acc.add(json.as_bytes(), now_ns()))
            }
        }
    }

    /// Folds one whole chunk payload (JSON bytes).
    #[pyo3(signature = (payload, /))]
    fn add(&self, payload: &Bound<'_, PyBytes>) -> PyResult<()> {
        self.0.add(payload)
    }

    /// Ends the stream.
    fn finish(&self, py: Python<'_>) -> PyResult<()> {
        self.0.finish(py)
    }

    /// The completion so far, as JSON: counted, then written straight into
    /// the `bytes` (a logprob stream's tokens are copied once).
    fn snapshot_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let acc = self.0.lock(py)?;
        let mut exact = true;
        let json = new_bytes(py, acc.snapshot_len(), |out| {
            exact = acc.write_snapshot(out);
        })?;
        if exact {
            return Ok(json);
        }
        // Unreachable: both passes write the same state under one lock.
        Ok(PyBytes::new(py, &acc.snapshot_json()))
    }

    /// The last usage object, as JSON.
    fn usage_json<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let acc = self.0.lock(py)?;
        Ok(acc.fold().usage.as_deref().map(|u| PyBytes::new(py, u)))
    }

    /// The first API error: `(payload, came as event: error, offset)`.
    fn error<'py>(&self, py: Python<'py>) -> PyResult<Option<(Bound<'py, PyBytes>, bool, u64)>> {
        self.0.error(py)
    }

    /// The events collected since the last call.
    fn take_events(&self, py: Python<'_>) -> PyResult<Vec<PyEvent>> {
        self.0.take_events(py, to_py_event)
    }

    /// `"in_progress"`, `"done"`, `"finished"`, `"error"` or `"truncated"`.
    #[getter]
    fn status(&self, py: Python<'_>) -> PyResult<&'static str> {
        self.0.status(py)
    }

    /// Whether `[DONE]` was seen.
    #[getter]
    fn done(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.0.lock(py)?.done())
    }

    /// Chunk payloads folded.
    #[getter]
    fn chunks(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.0.lock(py)?.chunks())
    }

    /// Malformed payloads skipped.
    #[getter]
    fn skipped(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.0.lock(py)?.skipped())
    }

    /// Bytes fed.
    #[getter]
    fn bytes(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.0.lock(py)?.bytes())
    }

    /// `(first byte, first token, last token)` in `time.monotonic_ns()` time.
    #[getter]
    fn timings(&self, py: Python<'_>) -> PyResult<(Option<u64>, Option<u64>, Option<u64>)> {
        self.0.timings(py)
    }
}

/// `ChatCompletionAccumulator.feed` with events off.
static FEED: MethodO = shell_feed!(Accumulator);
