//! Turning `feed()` arguments into bytes.

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// Inputs at least this large are processed with the interpreter released,
/// so that other threads run meanwhile; smaller ones are not worth the
/// hand-over.
pub(crate) const DETACH_AT: usize = 1 << 20;

/// `feed()` input as an immutable `bytes`. `bytes` is taken as is; any other
/// buffer (bytearray, memoryview, array) is copied once, because its memory
/// may change after `feed` returns while events still point into it.
pub(crate) fn to_bytes<'py>(data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return Ok(bytes.clone());
    }
    if data.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "feed() takes bytes, bytearray or memoryview, not str: \
             pass the raw response bytes (httpx: response.iter_bytes()) or text.encode()",
        ));
    }
    let buffer = PyBuffer::<u8>::get(data).map_err(|_| {
        let kind = data
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        PyTypeError::new_err(format!(
            "feed() takes bytes, bytearray or memoryview, not {kind}"
        ))
    })?;
    // copy: a mutable buffer must not be borrowed past this call.
    let owned = buffer.to_vec(data.py())?;
    Ok(PyBytes::new(data.py(), &owned))
}

/// Calls `f` with `data`'s bytes: a `bytes` is borrowed where it lies (no
/// reference taken: the caller's argument keeps it alive for the call), any
/// other buffer goes through [`to_bytes`].
pub(crate) fn with_bytes<T>(
    data: &Bound<'_, PyAny>,
    f: impl FnOnce(&[u8]) -> PyResult<T>,
) -> PyResult<T> {
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return f(bytes.as_bytes());
    }
    f(to_bytes(data)?.as_bytes())
}

/// A `max_event_size` argument: a positive `int`, or `None` for the default.
pub(crate) fn event_size_limit(value: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(crate::DEFAULT_MAX_EVENT_SIZE);
    };
    if !value.is_instance_of::<pyo3::types::PyInt>() {
        let kind = value
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        return Err(PyTypeError::new_err(format!(
            "max_event_size must be an int, not {kind}"
        )));
    }
    match value.extract::<u64>() {
        Ok(limit) if limit > 0 => usize::try_from(limit).map_err(|_| too_big(value)),
        _ => Err(too_big(value)),
    }
}

fn too_big(value: &Bound<'_, PyAny>) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(format!(
        "max_event_size must be a positive number of bytes below 2**64, not {value}"
    ))
}
