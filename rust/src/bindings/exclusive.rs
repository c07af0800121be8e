//! `Exclusive`: the lock each pyclass keeps its state behind. Python code
//! never waits on it: a call that overlaps another raises
//! `ConcurrentUseError`, so a flag is enough. A `Mutex` would also keep a
//! futex protocol for waiters, whose release is a second atomic
//! read-modify-write on every call.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::PyResult;

use super::errors::busy;

/// A value one caller at a time may use; the others are refused.
pub(crate) struct Exclusive<T> {
    busy: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through an `ExclusiveGuard`, and at
// most one guard exists at a time (`lock`'s compare-exchange), so no two
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
    /// while another call holds it.
    pub(crate) fn lock(&self, what: &str) -> PyResult<ExclusiveGuard<'_, T>> {
        self.try_lock().ok_or_else(|| busy(what))
    }

    /// The value, or `None` while another call holds it.
    pub(crate) fn try_lock(&self) -> Option<ExclusiveGuard<'_, T>> {
        self.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| ExclusiveGuard { cell: self })
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
