//! `Shell`: what the three accumulator pyclasses share. Each pyclass holds a
//! `Shell` over its protocol's core accumulator and adds only its own
//! getters and event conversion.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use super::empty_list::empty_list;
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

/// A core accumulator behind a lock, with the methods every accumulator
/// pyclass has.
pub(crate) struct Shell<A> {
    state: Exclusive<A>,
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
            state: Exclusive::new(core),
            strict,
            name,
        }
    }

    /// The core, or `ConcurrentUseError` if another thread holds it.
    pub(crate) fn lock(&self, py: Python<'_>) -> PyResult<ExclusiveGuard<'_, A>> {
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
        let mut core = self.lock(py)?;
        let result = fold(&mut core);
        let counted = lenient
            && matches!(
                result,
                Err(Error::Json { .. } | Error::EventTooLarge { .. })
            );
        match result {
            Err(e) if !counted => {
                drop(core);
                Err(to_pyerr(py, &e, None))
            }
            _ => Ok(empty_list(py)),
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
