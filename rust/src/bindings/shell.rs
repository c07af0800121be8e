//! `Shell`: what the three accumulator pyclasses share. Each pyclass holds a
//! `Shell` over its protocol's core accumulator and adds only its own
//! getters and event conversion.

use std::ops::{Deref, DerefMut};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use pyo3::{PyTraverseError, PyVisit};

use super::errors::to_pyerr;
use super::exclusive::{Exclusive, ExclusiveGuard};
use super::input::{with_bytes, DETACH_AT};
use super::now_ns;
use crate::stream::{ApiError, Timings};
use crate::{anthropic, chat, responses, Error};

/// The calls a [`Shell`] makes of a protocol's core accumulator (whose
/// inherent methods of the same names do the work).
pub(crate) trait Core: Send {
    /// The fold event collected when events are on.
    type Event;
    fn feed(&mut self, input: &[u8], now: u64) -> Result<(), Error>;
    fn add(&mut self, payload: &[u8], now: u64) -> Result<(), Error>;
    fn finish(&mut self, now: u64) -> Result<(), Error>;
    fn snapshot_json(&self) -> Vec<u8>;
    fn error(&self) -> Option<&ApiError>;
    fn status(&self) -> &'static str;
    fn timings(&self) -> Timings;
    fn take_events(&mut self) -> Vec<Self::Event>;
}

/// Implements [`Core`] for `$core` by calling its inherent methods; `timed`
/// when its `finish` takes the time.
macro_rules! core {
    ($core:ty, $event:ty) => {
        core!(@ $core, $event, |acc, _now| acc.finish());
    };
    ($core:ty, $event:ty, timed) => {
        core!(@ $core, $event, |acc, now| acc.finish(now));
    };
    (@ $core:ty, $event:ty, |$this:ident, $now:ident| $finish:expr) => {
        impl Core for $core {
            type Event = $event;
            fn feed(&mut self, input: &[u8], now: u64) -> Result<(), Error> {
                <$core>::feed(self, input, now)
            }
            fn add(&mut self, payload: &[u8], now: u64) -> Result<(), Error> {
                <$core>::add(self, payload, now)
            }
            fn finish(&mut self, $now: u64) -> Result<(), Error> {
                let $this = self;
                $finish
            }
            fn snapshot_json(&self) -> Vec<u8> {
                <$core>::snapshot_json(self)
            }
            fn error(&self) -> Option<&ApiError> {
                <$core>::error(self)
            }
            fn status(&self) -> &'static str {
                <$core>::status(self).as_str()
            }
            fn timings(&self) -> Timings {
                <$core>::timings(self)
            }
            fn take_events(&mut self) -> Vec<$event> {
                <$core>::take_events(self)
            }
        }
    };
}

core!(chat::Accumulator, chat::Event);
core!(responses::Accumulator, responses::Event);
core!(anthropic::Accumulator, anthropic::Event, timed);

/// What a [`Shell`]'s lock guards: the core accumulator (which it derefs
/// to) and the empty list `feed` last returned.
pub(crate) struct Held<A> {
    core: A,
    empty: Option<Py<PyList>>,
}

impl<A> Deref for Held<A> {
    type Target = A;
    fn deref(&self) -> &A {
        &self.core
    }
}

impl<A> DerefMut for Held<A> {
    fn deref_mut(&mut self) -> &mut A {
        &mut self.core
    }
}

impl<A> Held<A> {
    /// An empty list for `feed` to return: the one it returned last if the
    /// caller has let go of it (this is its only reference) and it is still
    /// empty, else a new one. Allocating and freeing a list is a tenth of a
    /// call's cost; CPython reuses `zip`'s and `enumerate`'s result tuples
    /// the same way. Free-threaded builds always allocate: their reference
    /// counts cannot tell, without a race, that no other thread holds it.
    fn empty_list<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyList> {
        #[cfg(not(Py_GIL_DISABLED))]
        if let Some(last) = &self.empty {
            let last = last.bind(py);
            // SAFETY: a live object.
            let refs = unsafe { pyo3::ffi::Py_REFCNT(last.as_ptr()) };
            if refs == 1 && last.is_empty() {
                return last.clone();
            }
        }
        let list = PyList::empty(py);
        #[cfg(not(Py_GIL_DISABLED))]
        {
            self.empty = Some(list.clone().unbind());
        }
        list
    }
}

/// A core accumulator behind a lock, with the methods every accumulator
/// pyclass has.
pub(crate) struct Shell<A> {
    state: Exclusive<Held<A>>,
    /// Raise malformed payloads and oversized events from `feed` (else they
    /// are only counted), so that the Python `feed` can be [`Shell::feed`]
    /// itself when events are off.
    strict: bool,
    /// The Python class, for [`busy`]'s message.
    name: &'static str,
}

impl<A: Core> Shell<A> {
    pub(crate) fn new(core: A, strict: bool, name: &'static str) -> Self {
        Self {
            state: Exclusive::new(Held { core, empty: None }),
            strict,
            name,
        }
    }

    /// The core, or `ConcurrentUseError` if another thread holds it.
    pub(crate) fn lock(&self, py: Python<'_>) -> PyResult<ExclusiveGuard<'_, Held<A>>> {
        self.state.lock(py, self.name)
    }

    /// Folds `data`; raises after folding everything else if a payload was
    /// malformed or an event too large (with `strict`). Returns an empty
    /// list, as the Python `feed` does with events off.
    pub(crate) fn feed<'py>(&self, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let py = data.py();
        with_bytes(data, |bytes| {
            self.fold(py, !self.strict, |core| {
                let now = now_ns();
                if bytes.len() >= DETACH_AT {
                    // The input is an immutable `bytes`, alive for the whole call.
                    py.detach(|| core.feed(bytes, now))
                } else {
                    core.feed(bytes, now)
                }
            })
        })
    }

    /// Runs `fold` on the core under the lock, then raises its error (unless
    /// `lenient` and it is a malformed payload or an oversized event, which
    /// the core counted) or returns the empty list `feed` and `add` return.
    pub(crate) fn fold<'py>(
        &self,
        py: Python<'py>,
        lenient: bool,
        fold: impl FnOnce(&mut A) -> Result<(), Error>,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut held = self.lock(py)?;
        let result = fold(&mut held.core);
        let counted = lenient
            && matches!(
                result,
                Err(Error::Json { .. } | Error::EventTooLarge { .. })
            );
        match result {
            Err(e) if !counted => {
                drop(held);
                Err(to_pyerr(py, &e, None))
            }
            _ => Ok(held.empty_list(py)),
        }
    }

    /// Folds one whole payload (JSON bytes); raises if it is malformed.
    pub(crate) fn add(&self, payload: &Bound<'_, PyBytes>) -> PyResult<()> {
        let mut acc = self.lock(payload.py())?;
        acc.add(payload.as_bytes(), now_ns())
            .map_err(|e| to_pyerr(payload.py(), &e, None))
    }

    /// Ends the stream.
    pub(crate) fn finish(&self, py: Python<'_>) -> PyResult<()> {
        self.lock(py)?
            .finish(now_ns())
            .map_err(|e| to_pyerr(py, &e, None))
    }

    /// The result so far, as JSON.
    pub(crate) fn snapshot_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.lock(py)?.snapshot_json()))
    }

    /// The first API error: `(payload, came as event: error, offset)`.
    pub(crate) fn error<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<(Bound<'py, PyBytes>, bool, u64)>> {
        let acc = self.lock(py)?;
        Ok(acc
            .error()
            .map(|e| (PyBytes::new(py, &e.payload), e.event, e.offset)))
    }

    /// The events collected since the last call, converted by `convert`.
    pub(crate) fn take_events<E>(
        &self,
        py: Python<'_>,
        convert: fn(A::Event) -> E,
    ) -> PyResult<Vec<E>> {
        Ok(self
            .lock(py)?
            .take_events()
            .into_iter()
            .map(convert)
            .collect())
    }

    /// The status as the Python API spells it.
    pub(crate) fn status(&self, py: Python<'_>) -> PyResult<&'static str> {
        Ok(self.lock(py)?.status())
    }

    /// `(first byte, first token, last token)` in `time.monotonic_ns()` time.
    pub(crate) fn timings(
        &self,
        py: Python<'_>,
    ) -> PyResult<(Option<u64>, Option<u64>, Option<u64>)> {
        let t = self.lock(py)?.timings();
        Ok((t.first_byte, t.first_token, t.last_token))
    }

    /// `__traverse__`: the empty list, which the caller may have filled
    /// with references back to the accumulator. Skipped while a call holds
    /// the lock (a collection started by its own allocation): an edge not
    /// reported only keeps objects alive until the next collection.
    pub(crate) fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        match self.state.try_lock() {
            Some(held) => visit.call(held.empty.as_ref()),
            None => Ok(()),
        }
    }

    /// `__clear__`: drops the empty list.
    pub(crate) fn clear(&self) {
        if let Some(mut held) = self.state.try_lock() {
            held.empty = None;
        }
    }
}

/// The `feed` of a pyclass over a [`Shell`] (its field `0`): [`Shell::feed`]
/// as a `METH_O` method.
macro_rules! shell_feed {
    ($class:ty) => {
        $crate::bindings::method_o::method_o!(
            $class,
            c"feed",
            c"feed($self, data, /)\n--\n\nFolds raw stream bytes, split anywhere; raises after folding \
              everything else if a payload was malformed or an event too large (with strict). \
              Returns an empty list.",
            |acc, data| acc.0.feed(data)
        )
    };
}
pub(crate) use shell_feed;
