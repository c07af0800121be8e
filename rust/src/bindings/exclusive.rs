//! `Exclusive`: the lock each pyclass keeps its state behind. Python code
//! never waits on it: a call that overlaps another raises
//! `ConcurrentUseError`, so a flag is enough, and every taker is attached to
//! the interpreter. With a GIL, taking it is then a plain load and store and
//! releasing it a plain store; a `Mutex` costs two atomic
//! read-modify-writes a call (a compare-exchange, and a swap for the
//! futex's waiters), which was a tenth of a one-event `feed`.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::{PyResult, Python};

use super::errors::busy;

/// A value one caller at a time may use; the others are refused.
pub(crate) struct Exclusive<T> {
    busy: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through an `ExclusiveGuard`, and at
// most one guard exists at a time (see `lock`), so no two
// threads ever hold references to it at once; `T: Send` lets the holder use
// it from any thread.
unsafe impl<T: Send> Sync for Exclusive<T> {}

impl<T> Exclusive<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self {
            busy: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, or `ConcurrentUseError` naming `what` (the Python class)
    /// while another call holds it. Every caller is attached to the
    /// interpreter, which the token shows. With a GIL, whose handovers order memory between threads, that
    /// makes a load and a store enough: no other taker can run between
    /// them. A holder may let the GIL go, as `feed` does around large
    /// inputs; takers then find the flag set. A free-threaded build
    /// compare-exchanges.
    pub(crate) fn lock(
        &self,
        _attached: Python<'_>,
        what: &str,
    ) -> PyResult<ExclusiveGuard<'_, T>> {
        #[cfg(not(Py_GIL_DISABLED))]
        {
            if self.busy.load(Ordering::Acquire) {
                return Err(busy(what));
            }
            self.busy.store(true, Ordering::Relaxed);
            Ok(ExclusiveGuard { cell: self })
        }
        #[cfg(Py_GIL_DISABLED)]
        self.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .map(|_| ExclusiveGuard { cell: self })
            .map_err(|_| busy(what))
    }
}

/// Access to an [`Exclusive`]'s value until dropped.
pub(crate) struct ExclusiveGuard<'a, T> {
    cell: &'a Exclusive<T>,
}

impl<T> Deref for ExclusiveGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one (see `Exclusive::lock`).
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> DerefMut for ExclusiveGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard is the only one, and `&mut self` makes this the
        // only borrow through it.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T> Drop for ExclusiveGuard<'_, T> {
    fn drop(&mut self) {
        self.cell.busy.store(false, Ordering::Release);
    }
}
