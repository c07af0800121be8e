//! The empty list `feed` and `add(chunk)` return with events off.
//! Allocating and freeing one is about a tenth of a one-event `feed`, so
//! each thread keeps the last one it handed out and hands it out again
//! while the caller has let go of it (this is its only reference) and it is
//! still empty, as CPython reuses `zip`'s and `enumerate`'s result tuples.
//! The list belongs to the thread, not to an accumulator, so accumulators
//! hold no Python objects and need no garbage-collector support; a list a
//! caller filled and dropped is released at that thread's next call.
//! Free-threaded builds always allocate: their reference counts cannot
//! tell, without a race, that no other thread holds the list.

#[cfg(not(Py_GIL_DISABLED))]
use std::cell::Cell;

use pyo3::prelude::*;
use pyo3::types::PyList;

#[cfg(not(Py_GIL_DISABLED))]
thread_local! {
    static LAST: Cell<Option<Py<PyList>>> = const { Cell::new(None) };
}

/// An empty list no caller holds.
pub(crate) fn empty_list(py: Python<'_>) -> Bound<'_, PyList> {
    #[cfg(not(Py_GIL_DISABLED))]
    {
        // `take`, not a borrow: dropping a filled list may run code that
        // comes back here.
        let reused = LAST.try_with(|last| {
            let list = last.take()?.into_bound(py);
            // SAFETY: a live object.
            let refs = unsafe { pyo3::ffi::Py_REFCNT(list.as_ptr()) };
            if refs != 1 || !list.is_empty() {
                return None;
            }
            last.set(Some(list.clone().unbind()));
            Some(list)
        });
        if let Ok(Some(list)) = reused {
            return list;
        }
        let list = PyList::empty(py);
        // At thread exit (the cell already gone) the list is just not kept.
        let _ = LAST.try_with(|last| last.set(Some(list.clone().unbind())));
        list
    }
    #[cfg(Py_GIL_DISABLED)]
    PyList::empty(py)
}
