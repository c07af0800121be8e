//! `ChunkFramer`: the Rust half of `chunkfold.ChunkDecoder`.

use pyo3::exceptions::{PyException, PyMemoryError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use super::errors::to_pyerr;
use super::exclusive::{Exclusive, ExclusiveGuard};
use super::input::{event_size_limit, to_bytes, DETACH_AT};
use super::method_o::{method_o, MethodO};
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

/// Frames raw stream bytes into batches of chunk payloads, and decodes the
/// common batch, a read holding only chunks, with the decoder it was given.
#[pyclass(frozen, module = "chunkfold._core", name = "ChunkFramer")]
pub struct ChunkFramer {
    state: Exclusive<Framer>,
    decode: Py<PyAny>,
}

impl ChunkFramer {
    /// Frames `data`. The common case, a read holding only chunks, returns
    /// what `decode` made of their JSON array, a `list`; otherwise, or if
    /// `decode` raised, a tuple of `Segment`s in stream order (empty when the
    /// read completed no event).
    ///
    /// The lock is held while `decode` runs, so a batch and its fallback
    /// can never be mixed up with another thread's.
    fn feed_data<'py>(&self, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = data.py();
        let input = to_bytes(data)?;
        let mut guard = self.lock(py)?;
        let framer = &mut *guard;
        let mut segments = Vec::new();
        let bytes = input.as_bytes();
        let result = if bytes.len() >= DETACH_AT {
            // The input is an immutable `bytes` kept alive by `input`.
            py.detach(|| framer.feed(bytes, &mut segments))
        } else {
            framer.feed(bytes, &mut segments)
        };
        if let (Ok(()), [single]) = (&result, segments.as_slice()) {
            if single.kind == Kind::Chunk {
                let payload = write(&input, single)?;
                return match self.decode.call1(py, (&payload,)) {
                    Ok(decoded) => Ok(decoded.into_bound(py)),
                    // The slow path finds the payload that failed, and why.
                    Err(error) if error.is_instance_of::<PyException>(py) => {
                        let segment = Segment {
                            kind: 0,
                            payload: payload.unbind(),
                            event: String::new(),
                            ranges: single.ranges(),
                        };
                        Ok(PyTuple::new(py, [segment])?.into_any())
                    }
                    Err(error) => Err(error),
                };
            }
        }
        drop(guard);
        let built: PyResult<Vec<Segment>> = segments
            .iter()
            .map(|segment| {
                let payload = write(&input, segment)?;
                Ok(Segment {
                    kind: u8::from(segment.kind != Kind::Chunk),
                    payload: payload.unbind(),
                    event: String::from_utf8_lossy(&segment.event_type).into_owned(),
                    ranges: segment.ranges(),
                })
            })
            .collect();
        let work = PyTuple::new(py, built?)?;
        match result {
            Ok(()) => Ok(work.into_any()),
            Err(error) => Err(to_pyerr(py, &error, Some(work.into_any()))),
        }
    }

    /// The state, or a clear error if another thread is feeding this object.
    fn lock(&self, py: Python<'_>) -> PyResult<ExclusiveGuard<'_, Framer>> {
        self.state.lock(py, "ChunkDecoder")
    }
}

#[pymethods]
impl ChunkFramer {
    /// `decode` takes the JSON array of a batch's payloads (`bytes`) and
    /// returns the decoded list.
    #[new]
    #[pyo3(signature = (decode, *, max_event_size = None))]
    fn new(decode: Py<PyAny>, max_event_size: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let max_event_size = event_size_limit(max_event_size)?;
        Ok(Self {
            state: Exclusive::new(Framer::new(max_event_size)),
            decode,
        })
    }

    /// `feed(data, /)`, a `METH_O` method (see [`FEED`]).
    #[classattr]
    fn feed(py: Python<'_>) -> PyResult<Py<PyAny>> {
        FEED.descriptor::<Self>(py)
    }

    /// Ends the stream.
    fn finish(&self, py: Python<'_>) -> PyResult<()> {
        let mut framer = self.lock(py)?;
        framer.finish().map_err(|e| to_pyerr(py, &e, None))
    }

    /// Whether `[DONE]` has been seen.
    #[getter]
    fn done(&self, py: Python<'_>) -> PyResult<bool> {
        let framer = self.lock(py)?;
        Ok(framer.done())
    }

    /// Whitespace-only payloads skipped so far.
    #[getter]
    fn blanks(&self, py: Python<'_>) -> PyResult<u64> {
        let framer = self.lock(py)?;
        Ok(framer.blanks())
    }

    /// Bytes fed so far.
    #[getter]
    fn position(&self, py: Python<'_>) -> PyResult<u64> {
        let framer = self.lock(py)?;
        Ok(framer.scanner().position())
    }
}

/// Writes a segment's payload straight into a new `bytes`: the only copy
/// of the chunk data on the way to msgspec.
fn write<'py>(
    input: &Bound<'py, PyBytes>,
    segment: &frames::Segment,
) -> PyResult<Bound<'py, PyBytes>> {
    new_bytes(input.py(), segment.payload_len(), |out| {
        segment.write_payload(input.as_bytes(), out);
    })
}

/// A new `bytes` of `len` bytes, all written by `fill`. `PyBytes::new_with`
/// zeroes the buffer first, which costs as much as the copy itself.
pub(crate) fn new_bytes<'py>(
    py: Python<'py>,
    len: usize,
    fill: impl FnOnce(&mut [u8]),
) -> PyResult<Bound<'py, PyBytes>> {
    let size = ffi::Py_ssize_t::try_from(len).map_err(|_| PyMemoryError::new_err(()))?;
    // SAFETY: a NULL source asks CPython for an uninitialised `bytes` of
    // `size` bytes (or NULL with an exception set, turned into `Err`).
    let bytes = unsafe { ffi::PyBytes_FromStringAndSize(std::ptr::null(), size) };
    // SAFETY: `bytes` is a new reference or NULL.
    let bytes = unsafe { Bound::from_owned_ptr_or_err(py, bytes) }?;
    // SAFETY: `bytes` is a new `bytes` object that no other code has seen
    // yet, so its `len` bytes of storage are ours to fill before it is
    // shared. `fill` must write every byte: callers write exactly `len`.
    let out = unsafe {
        let data = ffi::PyBytes_AsString(bytes.as_ptr()).cast::<u8>();
        std::slice::from_raw_parts_mut(data, len)
    };
    fill(out);
    // SAFETY: `PyBytes_FromStringAndSize` returned a `bytes` object.
    Ok(unsafe { bytes.cast_into_unchecked() })
}

/// `ChunkFramer.feed(data, /)`.
static FEED: MethodO = method_o!(
    ChunkFramer,
    c"feed",
    c"feed($self, data, /)\n--\n\nFrames data into decoded chunks or segments.",
    |this, data| this.feed_data(data)
);
