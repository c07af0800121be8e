//! The one mapping from core errors to the exception classes defined in
//! `chunkfold/errors.py`.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::PyTypeInfo;

use crate::Error;

pyo3::import_exception!(chunkfold.errors, EventTooLargeError);
pyo3::import_exception!(chunkfold.errors, DecoderFinishedError);
pyo3::import_exception!(chunkfold.errors, ConcurrentUseError);
pyo3::import_exception!(chunkfold.errors, ChunkDecodeError);

/// Builds the Python exception for `error`. `decoded` is what the call
/// produced before and after it, attached so that nothing is lost.
pub(crate) fn to_pyerr(py: Python<'_>, error: &Error, decoded: Option<Bound<'_, PyAny>>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        let kind = match error {
            Error::EventTooLarge { limit, offset } => {
                kwargs.set_item("limit", limit)?;
                kwargs.set_item("offset", offset)?;
                EventTooLargeError::type_object(py)
            }
            Error::Finished => DecoderFinishedError::type_object(py),
            Error::Json {
                offset, excerpt, ..
            } => {
                kwargs.set_item("offset", offset)?;
                kwargs.set_item("excerpt", pyo3::types::PyBytes::new(py, excerpt))?;
                ChunkDecodeError::type_object(py)
            }
        };
        if let Some(decoded) = decoded {
            kwargs.set_item("decoded", decoded)?;
        }
        let exc = kind.call((error.to_string(),), Some(&kwargs))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|failure| failure)
}

/// The error for a decoder already in use by another thread.
pub(crate) fn busy(what: &str) -> PyErr {
    ConcurrentUseError::new_err(format!(
        "this {what} is being fed by another thread; give each thread its own {what} \
         or serialise calls"
    ))
}
