//! One-argument methods that CPython calls as `METH_O`: the argument
//! arrives as is, with no argument vector to parse. A pyo3 method goes
//! through `METH_FASTCALL | METH_KEYWORDS` and pyo3's argument parser, which
//! costs `feed` with one read per event about 8 ns per call, a tenth of its
//! whole per-call cost.

use std::ffi::CStr;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::PyTypeInfo;

/// A `METH_O` method's definition, for a pyclass to hold as a class
/// attribute (see [`method_o!`]).
pub(crate) struct MethodO(ffi::PyMethodDef);

// SAFETY: the definition is a constant that CPython only reads.
unsafe impl Sync for MethodO {}

impl MethodO {
    /// `doc` starts with the signature line CPython's `inspect` reads, as
    /// `"feed($self, data, /)\n--\n\n..."`.
    pub(crate) const fn new(
        name: &'static CStr,
        doc: &'static CStr,
        call: ffi::PyCFunction,
    ) -> Self {
        Self(ffi::PyMethodDef {
            ml_name: name.as_ptr(),
            ml_meth: ffi::PyMethodDefPointer { PyCFunction: call },
            ml_flags: ffi::METH_O,
            ml_doc: doc.as_ptr(),
        })
    }

    /// The method descriptor of `T.<name>`. CPython binds and calls it only
    /// with instances of `T`, which the call relies on.
    pub(crate) fn descriptor<T: PyTypeInfo>(&'static self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let ty = T::type_object(py);
        let def = std::ptr::from_ref(&self.0).cast_mut();
        // SAFETY: `def` is static, as the descriptor keeps it; CPython never
        // writes through it.
        let descriptor = unsafe { ffi::PyDescr_NewMethod(ty.as_type_ptr(), def) };
        // SAFETY: a new reference, or null with an exception set.
        Ok(unsafe { Bound::from_owned_ptr_or_err(py, descriptor) }?.unbind())
    }
}

/// A [`MethodO`] for `$class`, whose call is `$body` with `$slf: &$class`
/// and `$arg: &Bound<PyAny>` returning a `PyResult<Bound<_>>`; it runs
/// inside pyo3's own trampoline (a panic becomes `PanicException`, and the
/// thread's attachment is counted as for any pyo3 method).
macro_rules! method_o {
    ($class:ty, $name:literal, $doc:literal, |$slf:ident, $arg:ident| $body:expr) => {{
        /// # Safety
        /// `slf` is a `$class` and `arg` an object, both borrowed for the call.
        unsafe fn call(
            py: ::pyo3::Python<'_>,
            slf: *mut ::pyo3::ffi::PyObject,
            arg: *mut ::pyo3::ffi::PyObject,
        ) -> ::pyo3::PyResult<*mut ::pyo3::ffi::PyObject> {
            // SAFETY: the caller's contract; the descriptor (`MethodO::descriptor`)
            // is only ever called with instances of `$class`.
            let slf = unsafe { ::pyo3::Borrowed::from_ptr(py, slf).cast_unchecked::<$class>() };
            // SAFETY: CPython passes a live object, borrowed for the call.
            let arg = unsafe { ::pyo3::Borrowed::from_ptr(py, arg) };
            let ($slf, $arg): (&$class, &::pyo3::Bound<'_, ::pyo3::PyAny>) = (slf.get(), &arg);
            $body.map(::pyo3::Bound::into_ptr)
        }
        $crate::bindings::method_o::MethodO::new(
            $name,
            $doc,
            ::pyo3::impl_::trampoline::get_trampoline_function!(binaryfunc, call),
        )
    }};
}
pub(crate) use method_o;
