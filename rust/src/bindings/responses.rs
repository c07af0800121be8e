//! `ResponseFold`: the Rust half of `chunkfold.ResponseAccumulator`.

use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::errors::{busy, to_pyerr};
use super::input::{event_size_limit, to_bytes, DETACH_AT};
use super::now_ns;
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
pub struct ResponseFold {
    state: Mutex<responses::Accumulator>,
}

impl ResponseFold {
    fn lock(&self) -> PyResult<MutexGuard<'_, responses::Accumulator>> {
        self.state
            .try_lock()
            .map_err(|_| busy("ResponseAccumulator"))
    }
}

#[pymethods]
impl ResponseFold {
    #[new]
    #[pyo3(signature = (*, max_event_size = None, events = false, keep_audio = false))]
    fn new(
        max_event_size: Option<&Bound<'_, PyAny>>,
        events: bool,
        keep_audio: bool,
    ) -> PyResult<Self> {
        let max_event_size = event_size_limit(max_event_size)?;
        Ok(Self {
            state: Mutex::new(responses::Accumulator::new(
                max_event_size,
                events,
                keep_audio,
            )),
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
        self.lock()?.finish().map_err(|e| to_pyerr(py, &e, None))
    }

    /// The response so far, as JSON.
    fn snapshot_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.lock()?.snapshot_json()))
    }

    /// The last usage object, as JSON.
    fn usage_json<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let acc = self.lock()?;
        Ok(acc.fold().usage.as_deref().map(|u| PyBytes::new(py, u)))
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

    /// `"in_progress"`, `"done"`, `"incomplete"`, `"error"` or `"truncated"`.
    #[getter]
    fn status(&self) -> PyResult<&'static str> {
        Ok(self.lock()?.status().as_str())
    }

    /// The terminal event's status, or its incomplete reason.
    #[getter]
    fn finish_reason(&self) -> PyResult<Option<String>> {
        Ok(self.lock()?.finish_reason())
    }

    /// `(id, model)` as the stream gave them, empty until known.
    #[getter]
    fn meta(&self) -> PyResult<(String, String)> {
        let acc = self.lock()?;
        Ok((acc.fold().id.clone(), acc.fold().model.clone()))
    }

    /// `(duplicates, gaps, item_id mismatches, id changes, ignored)`.
    #[getter]
    fn counts(&self) -> PyResult<(u64, u64, u64, u64, u64)> {
        let c = self.lock()?.fold().counts;
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
    fn audio(&self) -> PyResult<(Option<String>, Option<String>, u64)> {
        let acc = self.lock()?;
        let fold = acc.fold();
        Ok((
            fold.transcript.clone(),
            fold.audio.clone(),
            fold.audio_bytes,
        ))
    }

    /// Whether a terminal event was seen.
    #[getter]
    fn done(&self) -> PyResult<bool> {
        Ok(self.lock()?.done())
    }

    /// Event payloads folded.
    #[getter]
    fn chunks(&self) -> PyResult<u64> {
        Ok(self.lock()?.chunks())
    }

    /// Malformed payloads skipped.
    #[getter]
    fn skipped(&self) -> PyResult<u64> {
        Ok(self.lock()?.skipped())
    }

    /// Bytes fed.
    #[getter]
    fn bytes(&self) -> PyResult<u64> {
        Ok(self.lock()?.bytes())
    }

    /// `(first byte, first token, last token)` in `time.monotonic_ns()` time.
    #[getter]
    fn timings(&self) -> PyResult<(Option<u64>, Option<u64>, Option<u64>)> {
        let t = self.lock()?.timings();
        Ok((t.first_byte, t.first_token, t.last_token))
    }
}
