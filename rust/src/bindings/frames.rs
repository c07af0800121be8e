//! `ChunkFramer`: the Rust half of `chunkfold.ChunkDecoder`.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use super::errors::{busy, to_pyerr};
use super::input::to_bytes;
use crate::frames::{self, Framer, Kind};

/// A run of events from one `feed`: `kind` 0 is a JSON array of chunk
/// payloads, 1 is one payload that may be an API error.
#[pyclass(frozen, module = "chunkfold._core", name = "Segment")]
pub struct Segment {
    #[pyo3(get)]
    kind: u8,
    #[pyo3(get)]
    payload: Py<PyBytes>,
    #[pyo3(get)]
    count: usize,
    #[pyo3(get)]
    offset: u64,
    #[pyo3(get)]
    event: String,
    items: Vec<(u64, usize, usize)>,
}

#[pymethods]
impl Segment {
    /// Each event's stream offset and payload, for the slow path that finds
    /// which payload of a batch failed to decode.
    fn items<'py>(&self, py: Python<'py>) -> Vec<(u64, Bound<'py, PyBytes>)> {
        let payload = self.payload.as_bytes(py);
        self.items
            .iter()
            .map(|&(offset, start, end)| {
                (
                    offset,
                    PyBytes::new(py, payload.get(start..end).unwrap_or_default()),
                )
            })
            .collect()
    }
}

/// Frames raw stream bytes into batches of chunk payloads.
#[pyclass(frozen, module = "chunkfold._core", name = "ChunkFramer")]
pub struct ChunkFramer {
    framer: Mutex<Framer>,
}

#[pymethods]
impl ChunkFramer {
    #[new]
    #[pyo3(signature = (*, max_event_size = crate::DEFAULT_MAX_EVENT_SIZE))]
    fn new(max_event_size: usize) -> Self {
        Self {
            framer: Mutex::new(Framer::new(max_event_size)),
        }
    }

    /// Frames `data` into a list of `Segment`s, in stream order.
    #[pyo3(signature = (data, /))]
    fn feed<'py>(&self, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let py = data.py();
        let input = to_bytes(data)?;
        let mut framer = self.framer.try_lock().map_err(|_| busy("ChunkDecoder"))?;
        let mut segments = Vec::new();
        let result = framer.feed(input.as_bytes(), &mut segments);
        frames::seal(&mut segments);
        let list = PyList::new(py, segments.into_iter().map(|s| to_py(py, s)))?;
        match result {
            Ok(()) => Ok(list),
            Err(error) => Err(to_pyerr(py, &error, Some(list.into_any()))),
        }
    }

    /// Ends the stream.
    fn finish(&self, py: Python<'_>) -> PyResult<()> {
        let mut framer = self.framer.try_lock().map_err(|_| busy("ChunkDecoder"))?;
        framer.finish().map_err(|e| to_pyerr(py, &e, None))
    }

    /// Whether `[DONE]` has been seen.
    #[getter]
    fn done(&self) -> PyResult<bool> {
        Ok(self
            .framer
            .try_lock()
            .map_err(|_| busy("ChunkDecoder"))?
            .done())
    }

    /// Whitespace-only payloads skipped so far.
    #[getter]
    fn blanks(&self) -> PyResult<u64> {
        Ok(self
            .framer
            .try_lock()
            .map_err(|_| busy("ChunkDecoder"))?
            .blanks())
    }

    /// Bytes fed so far.
    #[getter]
    fn position(&self) -> PyResult<u64> {
        Ok(self
            .framer
            .try_lock()
            .map_err(|_| busy("ChunkDecoder"))?
            .scanner()
            .position())
    }
}

fn to_py(py: Python<'_>, segment: frames::Segment) -> Segment {
    Segment {
        kind: u8::from(segment.kind != Kind::Chunk),
        // copy: one memcpy of the batch into the bytes msgspec decodes.
        payload: PyBytes::new(py, &segment.payload).unbind(),
        count: segment.items.len(),
        offset: segment.items.first().map_or(0, |item| item.0),
        event: String::from_utf8_lossy(&segment.event_type).into_owned(),
        items: segment.items,
    }
}
