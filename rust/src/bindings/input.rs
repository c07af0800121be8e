//! Turning `feed()` arguments into bytes.

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

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
