//! `ResponseFold`: the Rust half of `chunkfold.ResponseAccumulator`.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::input::event_size_limit;
use super::method_o::MethodO;
use super::shell::{shell_feed, Shell};
use crate::responses::{self, Event};

/// `(kind, output index, index, name, text)`, as `responses/accumulate.py` reads it.
type PyEvent = (&'static str, i64, i64, Option<String>, String);

fn to_py_event(event: Event) -> PyEvent {
    match event {
        Event::Item {
            output_index,
            kind,
            id,
            done,
        } => {
            let name = if done { "item_done" } else { "item_added" };
            (name, output_index, 0, Some(kind), id)
        }
        Event::Text {
            output_index,
            index,
            kind,
            delta,
        } => (kind.as_str(), output_index, index, None, delta),
        Event::Arguments {
            output_index,
            name,
            delta,
        } => ("arguments", output_index, 0, Some(name), delta),
        Event::ArgumentsDone {
            output_index,
            name,
            value,
        } => ("arguments_done", output_index, 0, Some(name), value),
        Event::Usage(raw) => (
            "usage",
            0,
            0,
            None,
            String::from_utf8_lossy(&raw).into_owned(),
        ),
    }
}

/// Folds raw Responses stream bytes into a response, all in Rust.
#[pyclass(frozen, module = "chunkfold._core", name = "ResponseFold")]
pub struct ResponseFold(Shell<responses::Accumulator>);

#[pymethods]
impl ResponseFold {
    #[new]
    #[pyo3(signature = (*, max_event_size = None, events = false, keep_audio = false, strict = true))]
    fn new(
        max_event_size: Option<&Bound<'_, PyAny>>,
        events: bool,
        keep_audio: bool,
        strict: bool,
    ) -> PyResult<Self> {
        let max_event_size = event_size_limit(max_event_size)?;
        let core = responses::Accumulator::new(max_event_size, events, keep_audio);
        Ok(Self(Shell::new(core, strict, "ResponseAccumulator")))
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

    /// The response so far, as JSON.
    fn snapshot_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.0.snapshot_json(py)
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

    /// `"in_progress"`, `"done"`, `"incomplete"`, `"error"` or `"truncated"`.
    #[getter]
    fn status(&self, py: Python<'_>) -> PyResult<&'static str> {
        self.0.status(py)
    }

    /// The terminal event's status, or its incomplete reason.
    #[getter]
    fn finish_reason(&self, py: Python<'_>) -> PyResult<Option<String>> {
        Ok(self.0.lock(py)?.finish_reason())
    }

    /// `(id, model)` as the stream gave them, empty until known.
    #[getter]
    fn meta(&self, py: Python<'_>) -> PyResult<(String, String)> {
        let acc = self.0.lock(py)?;
        Ok((acc.fold().id.clone(), acc.fold().model.clone()))
    }

    /// `(duplicates, gaps, item_id mismatches, id changes, ignored)`.
    #[getter]
    fn counts(&self, py: Python<'_>) -> PyResult<(u64, u64, u64, u64, u64)> {
        let c = self.0.lock(py)?.fold().counts;
        Ok((
            c.duplicates,
            c.gaps,
            c.item_id_mismatches,
            c.id_changes,
            c.ignored,
        ))
    }

    /// `(transcript, audio data, audio bytes)`.
    #[getter]
    fn audio(&self, py: Python<'_>) -> PyResult<(Option<String>, Option<String>, u64)> {
        let acc = self.0.lock(py)?;
        let fold = acc.fold();
        Ok((
            fold.transcript.clone(),
            fold.audio.clone(),
            fold.audio_bytes,
        ))
    }

    /// Whether a terminal event was seen.
    #[getter]
    fn done(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.0.lock(py)?.done())
    }

    /// Event payloads folded.
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

/// `ResponseAccumulator.feed` with events off.
static FEED: MethodO = shell_feed!(ResponseFold);
