//! `ChunkFramer`: the Rust half of `chunkfold.ChunkDecoder`.

use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use super::errors::{busy, to_pyerr};
use super::input::{event_size_limit, to_bytes, DETACH_AT};
use crate::frames::{self, Framer, Kind, Ranges};

/// A run of events from one `feed`: `kind` 0 is a JSON array of chunk
/// payloads, 1 is one payload that may be an API error.
#[pyclass(frozen, module = "chunkfold._core", name = "Segment")]
pub struct Segment {
    #[pyo3(get)]
    kind: u8,
    #[pyo3(get)]
    payload: Py<PyBytes>,
    #[pyo3(get)]
    event: String,
    ranges: Ranges,
}

#[pymethods]
impl Segment {
    /// Stream offset of the first event.
    #[getter]
    fn offset(&self) -> u64 {
        self.ranges.first().map_or(0, |range| range.0)
    }

    /// Each event's stream offset and payload, for the slow path that finds
    /// which payload of a batch failed to decode.
    fn items<'py>(&self, py: Python<'py>) -> Vec<(u64, Bound<'py, PyBytes>)> {
        items(self.payload.bind(py), &self.ranges)
    }
}

fn items<'py>(
    payload: &Bound<'py, PyBytes>,
    ranges: &[(u64, usize, usize)],
) -> Vec<(u64, Bound<'py, PyBytes>)> {
    let bytes = payload.as_bytes();
    ranges
        .iter()
        .map(|&(offset, start, end)| {
            let data = bytes.get(start..end).unwrap_or_default();
            (offset, PyBytes::new(payload.py(), data))
        })
        .collect()
}

struct State {
    framer: Framer,
    /// The batch `feed` last returned as bare `bytes`, for `last_items()`.
    last: Option<(Py<PyBytes>, Ranges)>,
}

/// Frames raw stream bytes into batches of chunk payloads.
#[pyclass(frozen, module = "chunkfold._core", name = "ChunkFramer")]
pub struct ChunkFramer {
    state: Mutex<State>,
}

impl ChunkFramer {
    /// The state, or a clear error if another thread is feeding this object.
    fn lock(&self) -> PyResult<MutexGuard<'_, State>> {
        self.state.try_lock().map_err(|_| busy("ChunkDecoder"))
    }
}

#[pymethods]
impl ChunkFramer {
    #[new]
    #[pyo3(signature = (*, max_event_size = None))]
    fn new(max_event_size: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let max_event_size = event_size_limit(max_event_size)?;
        Ok(Self {
            state: Mutex::new(State {
                framer: Framer::new(max_event_size),
                last: None,
            }),
        })
    }

    /// Frames `data`. The common case, a read holding only chunks, returns
    /// their JSON array as `bytes`; otherwise a list of `Segment`s in stream
    /// order (empty when the read completed no event).
    #[pyo3(signature = (data, /))]
    fn feed<'py>(&self, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = data.py();
        let input = to_bytes(data)?;
        let mut state = self.lock()?;
        let mut segments = Vec::new();
        let bytes = input.as_bytes();
        let framer = &mut state.framer;
        let result = if bytes.len() >= DETACH_AT {
            // The input is an immutable `bytes` kept alive by `input`.
            py.detach(|| framer.feed(bytes, &mut segments))
        } else {
            framer.feed(bytes, &mut segments)
        };
        state.last = None;
        if let (Ok(()), [single]) = (&result, segments.as_slice()) {
            if single.kind == Kind::Chunk {
                let (payload, ranges) = write(&input, single)?;
                state.last = Some((payload.clone().unbind(), ranges));
                return Ok(payload.into_any());
            }
        }
        let built: PyResult<Vec<Segment>> = segments
            .iter()
            .map(|segment| {
                let (payload, ranges) = write(&input, segment)?;
                Ok(Segment {
                    kind: u8::from(segment.kind != Kind::Chunk),
                    payload: payload.unbind(),
                    event: String::from_utf8_lossy(&segment.event_type).into_owned(),
                    ranges,
                })
            })
            .collect();
        let list = PyList::new(py, built?)?;
        match result {
            Ok(()) => Ok(list.into_any()),
            Err(error) => Err(to_pyerr(py, &error, Some(list.into_any()))),
        }
    }

    /// The events of the `bytes` batch the last `feed` returned, as
    /// `(offset, payload)` pairs.
    fn last_items<'py>(&self, py: Python<'py>) -> PyResult<Vec<(u64, Bound<'py, PyBytes>)>> {
        let state = self.lock()?;
        Ok(match &state.last {
            Some((payload, ranges)) => items(payload.bind(py), ranges),
            None => Vec::new(),
        })
    }

    /// Ends the stream.
    fn finish(&self, py: Python<'_>) -> PyResult<()> {
        let mut state = self.lock()?;
        state.framer.finish().map_err(|e| to_pyerr(py, &e, None))
    }

    /// Whether `[DONE]` has been seen.
    #[getter]
    fn done(&self) -> PyResult<bool> {
        let state = self.lock()?;
        Ok(state.framer.done())
    }

    /// Whitespace-only payloads skipped so far.
    #[getter]
    fn blanks(&self) -> PyResult<u64> {
        let state = self.lock()?;
        Ok(state.framer.blanks())
    }

    /// Bytes fed so far.
    #[getter]
    fn position(&self) -> PyResult<u64> {
        let state = self.lock()?;
        Ok(state.framer.scanner().position())
    }
}

/// Writes a segment's payload straight into a new `bytes`: the only copy
/// of the chunk data on the way to msgspec.
fn write<'py>(
    input: &Bound<'py, PyBytes>,
    segment: &frames::Segment,
) -> PyResult<(Bound<'py, PyBytes>, Ranges)> {
    let mut ranges = Vec::new();
    let payload = PyBytes::new_with(input.py(), segment.payload_len(), |out| {
        ranges = segment.write_payload(input.as_bytes(), out);
        Ok(())
    })?;
    Ok((payload, ranges))
}
