//! `SSEDecoder` and `ServerSentEvent`.

use std::os::raw::c_int;

use pyo3::basic::CompareOp;
use pyo3::exceptions::PyBufferError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use pyo3::{ffi, intern};

use super::errors::to_pyerr;
use super::exclusive::{Exclusive, ExclusiveGuard};
use super::input::{event_size_limit, to_bytes, DETACH_AT};
use super::method_o::{method_o, MethodO};
use crate::sse::{span_in, Event, Scanner};

/// Where an event's data bytes live.
enum Payload {
    /// A range of the `bytes` object that was fed: no copy.
    Slice(Py<PyBytes>, usize, usize),
    /// Data carried across reads or joined from several lines.
    Owned(Box<[u8]>),
}

/// One dispatched Server-Sent Event.
///
/// The object supports the buffer protocol over its data bytes, so
/// `memoryview(event)` and `msgspec.json.decode(event)` read them without a
/// copy; `raw` returns them as `bytes` and `data` as `str`.
#[pyclass(frozen, module = "chunkfold._core", name = "ServerSentEvent")]
pub struct ServerSentEvent {
    payload: Payload,
    event: Option<Py<PyString>>,
    id: Option<Py<PyString>>,
    retry: Option<u64>,
    offset: u64,
}

impl ServerSentEvent {
    fn bytes<'a>(&'a self, py: Python<'a>) -> &'a [u8] {
        match &self.payload {
            Payload::Slice(bytes, start, end) => {
                bytes.as_bytes(py).get(*start..*end).unwrap_or_default()
            }
            Payload::Owned(data) => data,
        }
    }

    fn event_name<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        match &self.event {
            Some(name) => name.bind(py).clone(),
            None => intern!(py, "message").clone(),
        }
    }
}

#[pymethods]
impl ServerSentEvent {
    #[new]
    #[pyo3(signature = (data = "", *, event = None, id = None, retry = None))]
    fn new(
        data: &str,
        event: Option<Py<PyString>>,
        id: Option<Py<PyString>>,
        retry: Option<u64>,
    ) -> Self {
        Self {
            payload: Payload::Owned(data.as_bytes().into()),
            event,
            id,
            retry,
            offset: 0,
        }
    }

    /// The event type; `"message"` unless an `event` field set it.
    #[getter]
    fn event<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        self.event_name(py)
    }

    /// The data, decoded as UTF-8 with invalid bytes replaced by U+FFFD.
    #[getter]
    fn data(&self, py: Python<'_>) -> String {
        String::from_utf8_lossy(self.bytes(py)).into_owned()
    }

    /// The data bytes, undecoded. Prefer `memoryview(event)` to avoid a copy.
    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        match &self.payload {
            Payload::Slice(bytes, 0, end) if *end == bytes.as_bytes(py).len() => {
                bytes.bind(py).clone()
            }
            _ => PyBytes::new(py, self.bytes(py)),
        }
    }

    /// The last event ID in effect when the event was dispatched, if any.
    #[getter]
    fn id(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.id.as_ref().map(|id| id.clone_ref(py))
    }

    /// The reconnection time in effect, in milliseconds, if any was set.
    #[getter]
    fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Stream byte offset of the event's first line.
    #[getter]
    fn offset(&self) -> u64 {
        self.offset
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.bytes(py).len()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let data = PyString::new(py, &self.data(py)).repr()?;
        let id = match &self.id {
            Some(id) => id.bind(py).repr()?.to_string(),
            None => "None".to_owned(),
        };
        let retry = self.retry.map_or("None".to_owned(), |r| r.to_string());
        Ok(format!(
            "ServerSentEvent(event={}, data={data}, id={id}, retry={retry})",
            self.event_name(py).repr()?
        ))
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let py = other.py();
        let Ok(other) = other.cast::<ServerSentEvent>() else {
            return Ok(py.NotImplemented());
        };
        let other = other.get();
        let same = self.bytes(py) == other.bytes(py)
            && self.event_name(py).to_cow()? == other.event_name(py).to_cow()?
            && self.id(py).map(|s| s.to_string()) == other.id(py).map(|s| s.to_string())
            && self.retry == other.retry;
        match op {
            CompareOp::Eq => Ok(same.into_pyobject(py)?.to_owned().into_any().unbind()),
            CompareOp::Ne => Ok((!same).into_pyobject(py)?.to_owned().into_any().unbind()),
            _ => Ok(py.NotImplemented()),
        }
    }

    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        if view.is_null() {
            return Err(PyBufferError::new_err("view is null"));
        }
        let data = slf.get().bytes(slf.py());
        // SAFETY: the data is immutable and owned by `slf` (or by a `bytes`
        // that `slf` keeps alive), and the view holds a reference to `slf`.
        let rc = unsafe {
            ffi::PyBuffer_FillInfo(
                view,
                slf.as_ptr(),
                data.as_ptr().cast_mut().cast(),
                data.len() as ffi::Py_ssize_t,
                1,
                flags,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(PyErr::fetch(slf.py()))
        }
    }
}

/// The last `str` made for an event type or id, reused while it repeats.
#[derive(Default)]
struct StrCache(Vec<u8>, Option<Py<PyString>>);

impl StrCache {
    fn get(&mut self, py: Python<'_>, bytes: &[u8]) -> Py<PyString> {
        match &self.1 {
            Some(cached) if self.0 == bytes => cached.clone_ref(py),
            _ => {
                let made = PyString::new(py, &String::from_utf8_lossy(bytes)).unbind();
                self.0 = bytes.to_vec();
                self.1 = Some(made.clone_ref(py));
                made
            }
        }
    }
}

/// An event scanned while the interpreter was released, kept until objects
/// can be made: data that lies in the input is kept as its range.
struct Held {
    data: Result<(usize, usize), Box<[u8]>>,
    event_type: Box<[u8]>,
    id: Option<Box<[u8]>>,
    retry: Option<u64>,
    offset: u64,
}

impl Held {
    fn keep(input: &[u8], event: &Event<'_>) -> Self {
        Self {
            data: span_in(input, event.data).ok_or_else(|| event.data.into()),
            event_type: event.event_type.into(),
            id: event.id.map(Into::into),
            retry: event.retry,
            offset: event.offset,
        }
    }

    fn view<'a>(&'a self, input: &'a [u8]) -> Event<'a> {
        let data = match &self.data {
            Ok((start, end)) => input.get(*start..*end).unwrap_or_default(),
            Err(owned) => owned,
        };
        Event {
            event_type: &self.event_type,
            data,
            id: self.id.as_deref(),
            retry: self.retry,
            offset: self.offset,
        }
    }
}

/// Strings reused across events: ids and event types repeat.
#[derive(Default)]
struct Names {
    ids: StrCache,
    types: StrCache,
}

struct DecoderState {
    scanner: Scanner,
    names: Names,
}

/// Incremental WHATWG Server-Sent Events decoder.
///
/// Threads may share a decoder: a call that overlaps another raises
/// `ConcurrentUseError` and changes nothing.
#[pyclass(frozen, module = "chunkfold._core", name = "SSEDecoder")]
pub struct SSEDecoder {
    state: Exclusive<DecoderState>,
}

impl SSEDecoder {
    /// Decodes `data` and returns the events it completed.
    fn feed_data<'py>(&self, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let py = data.py();
        let input = to_bytes(data)?;
        let mut state = self.lock(py)?;
        let DecoderState { scanner, names } = &mut *state;
        let bytes = input.as_bytes();
        let mut events = Vec::new();
        let result = if bytes.len() >= DETACH_AT {
            let mut held = Vec::new();
            // The input is an immutable `bytes` kept alive by `input`.
            let result = py.detach(|| scanner.feed(bytes, |e| held.push(Held::keep(bytes, &e))));
            events.extend(
                held.iter()
                    .map(|h| Self::event(names, &input, &h.view(bytes))),
            );
            result
        } else {
            scanner.feed(bytes, |e| events.push(Self::event(names, &input, &e)))
        };
        let list = PyList::new(py, events)?;
        match result {
            Ok(()) => Ok(list),
            Err(error) => Err(to_pyerr(py, &error, Some(list.into_any()))),
        }
    }

    fn event(names: &mut Names, input: &Bound<'_, PyBytes>, event: &Event<'_>) -> ServerSentEvent {
        let py = input.py();
        let payload = match span_in(input.as_bytes(), event.data) {
            Some((start, end)) => Payload::Slice(input.clone().unbind(), start, end),
            // copy: the data was carried over from an earlier read or joined.
            None => Payload::Owned(event.data.into()),
        };
        ServerSentEvent {
            payload,
            event: (!event.event_type.is_empty()).then(|| names.types.get(py, event.event_type)),
            id: event.id.map(|id| names.ids.get(py, id)),
            retry: event.retry,
            offset: event.offset,
        }
    }

    /// The state, or a clear error if another thread is feeding this object.
    fn lock(&self, py: Python<'_>) -> PyResult<ExclusiveGuard<'_, DecoderState>> {
        self.state.lock(py, "SSEDecoder")
    }
}

#[pymethods]
impl SSEDecoder {
    #[new]
    #[pyo3(signature = (*, max_event_size = None))]
    fn new(max_event_size: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let max_event_size = event_size_limit(max_event_size)?;
        Ok(Self {
            state: Exclusive::new(DecoderState {
                scanner: Scanner::new(max_event_size),
                names: Names::default(),
            }),
        })
    }

    /// `feed(data, /)`, a `METH_O` method (see [`FEED`]).
    #[classattr]
    fn feed(py: Python<'_>) -> PyResult<Py<PyAny>> {
        FEED.descriptor::<Self>(py)
    }

    /// Ends the stream; the incomplete final event, if any, is discarded.
    /// Always returns an empty list, for symmetry with `feed`.
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut state = self.lock(py)?;
        state.scanner.finish().map_err(|e| to_pyerr(py, &e, None))?;
        Ok(PyList::empty(py))
    }

    /// The last event ID buffer; `None` until an `id` field is seen.
    #[getter]
    fn last_event_id(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let state = self.lock(py)?;
        Ok(state
            .scanner
            .last_event_id()
            .map(|id| String::from_utf8_lossy(id).into_owned()))
    }

    /// The reconnection time set by the last valid `retry` field.
    #[getter]
    fn retry(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        let state = self.lock(py)?;
        Ok(state.scanner.retry())
    }

    /// The configured event size limit in bytes.
    #[getter]
    fn max_event_size(&self, py: Python<'_>) -> PyResult<usize> {
        let state = self.lock(py)?;
        Ok(state.scanner.max_event_size())
    }

    /// Bytes fed so far.
    #[getter]
    fn position(&self, py: Python<'_>) -> PyResult<u64> {
        let state = self.lock(py)?;
        Ok(state.scanner.position())
    }
}

/// `SSEDecoder.feed(data, /)`.
static FEED: MethodO = method_o!(
    SSEDecoder,
    c"feed",
    c"feed($self, data, /)\n--\n\nDecodes data and returns the events it completed.",
    |this, data| this.feed_data(data)
);
