//! `add(chunk)` without encoding the chunk again: the fields of a decoded
//! `ChatCompletionChunk` of the common shape are read straight from the
//! Struct (see `crate::chat::DirectChunk`); any other chunk is encoded with
//! msgspec and read as JSON, as before.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyInt, PyList, PyString, PyTuple, PyType};

use crate::chat::{DirectChoice, DirectChunk};

/// `__struct_fields__` of the models as this reader knows them; if the
/// models differ, every chunk takes the JSON way.
const CHUNK_FIELDS: [&str; 13] = [
    "id",
    "choices",
    "created",
    "model",
    "object",
    "service_tier",
    "system_fingerprint",
    "usage",
    "obfuscation",
    "moderation",
    "prompt_filter_results",
    "x_groq",
    "citations",
];
const CHOICE_FIELDS: [&str; 6] = [
    "delta",
    "index",
    "finish_reason",
    "logprobs",
    "usage",
    "content_filter_results",
];
const DELTA_FIELDS: [&str; 10] = [
    "audio",
    "content",
    "function_call",
    "refusal",
    "role",
    "tool_calls",
    "reasoning_content",
    "reasoning",
    "reasoning_details",
    "annotations",
];

/// What `add` needs from Python, given once by `chunkfold.chat.accumulate`.
struct Models {
    chunk: Py<PyType>,
    choice: Py<PyType>,
    delta: Py<PyType>,
    /// `msgspec.structs.astuple`: one call reads every field.
    astuple: Py<PyAny>,
    /// `msgspec.UNSET`, which like `None` means "absent".
    unset: Py<PyAny>,
    /// Encodes a chunk to JSON, for the other shapes.
    encode: Py<PyAny>,
    /// Whether the models have the fields above, in that order.
    direct: bool,
}

static MODELS: PyOnceLock<Models> = PyOnceLock::new();

fn fields_are(cls: &Bound<'_, PyType>, names: &[&str]) -> bool {
    cls.getattr("__struct_fields__")
        .and_then(|f| f.extract::<Vec<String>>())
        .is_ok_and(|f| f.iter().map(String::as_str).eq(names.iter().copied()))
}

/// Registers the chat models; returns whether chunks of the common shape
/// are read directly. Later calls change nothing.
#[pyfunction]
#[pyo3(signature = (chunk, choice, delta, astuple, unset, encode, /))]
pub(crate) fn register_chat_models(
    py: Python<'_>,
    chunk: Bound<'_, PyType>,
    choice: Bound<'_, PyType>,
    delta: Bound<'_, PyType>,
    astuple: Bound<'_, PyAny>,
    unset: Bound<'_, PyAny>,
    encode: Bound<'_, PyAny>,
) -> bool {
    let direct = fields_are(&chunk, &CHUNK_FIELDS)
        && fields_are(&choice, &CHOICE_FIELDS)
        && fields_are(&delta, &DELTA_FIELDS);
    let models = MODELS.get_or_init(py, || Models {
        chunk: chunk.unbind(),
        choice: choice.unbind(),
        delta: delta.unbind(),
        astuple: astuple.unbind(),
        unset: unset.unbind(),
        encode: encode.unbind(),
        direct,
    });
    models.direct
}

/// `chunk`'s fields as tuples (chunk, then choice and delta if it has one),
/// when it may be read directly; see [`direct`].
pub(crate) fn read<'py>(chunk: &Bound<'py, PyAny>) -> PyResult<Option<Vec<Bound<'py, PyTuple>>>> {
    match MODELS.get(chunk.py()) {
        Some(models) if models.direct => tuples(models, chunk),
        _ => Ok(None),
    }
}

/// `chunk` as JSON, for the chunks not read directly.
pub(crate) fn encode<'py>(chunk: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let py = chunk.py();
    let Some(models) = MODELS.get(py) else {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "chunkfold.chat.accumulate registers the chat models on import",
        ));
    };
    Ok(models
        .encode
        .bind(py)
        .call1((chunk,))?
        .cast_into::<PyBytes>()?)
}

fn tuples<'py>(
    models: &Models,
    chunk: &Bound<'py, PyAny>,
) -> PyResult<Option<Vec<Bound<'py, PyTuple>>>> {
    let py = chunk.py();
    let astuple = models.astuple.bind(py);
    if !chunk.get_type().is(models.chunk.bind(py)) {
        return Ok(None);
    }
    let fields = astuple.call1((chunk,))?.cast_into::<PyTuple>()?;
    let Ok(choices) = fields.get_item(1)?.cast_into_exact::<PyList>() else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(3);
    out.push(fields);
    match choices.len() {
        0 => {}
        1 => {
            let choice = choices.get_item(0)?;
            if !choice.get_type().is(models.choice.bind(py)) {
                return Ok(None);
            }
            let choice = astuple.call1((choice,))?.cast_into::<PyTuple>()?;
            let delta = choice.get_item(0)?;
            if !delta.get_type().is(models.delta.bind(py)) {
                return Ok(None);
            }
            let delta = astuple.call1((delta,))?.cast_into::<PyTuple>()?;
            out.push(choice);
            out.push(delta);
        }
        _ => return Ok(None),
    }
    Ok(Some(out))
}

/// `Some(value)` for a field that is a `str`, `None`, or `UNSET` (both
/// read as absent); `None` for anything else.
fn text<'a>(
    value: Option<&'a Bound<'_, PyAny>>,
    unset: &Bound<'_, PyAny>,
) -> Option<Option<&'a str>> {
    let value = value?;
    if value.is_none() || value.is(unset) {
        return Some(None);
    }
    value.cast_exact::<PyString>().ok()?.to_str().ok().map(Some)
}

/// Whether a field is `None` or `UNSET`.
fn absent(value: Option<&Bound<'_, PyAny>>, unset: &Bound<'_, PyAny>) -> bool {
    value.is_some_and(|v| v.is_none() || v.is(unset))
}

fn int(value: Option<&Bound<'_, PyAny>>) -> Option<i64> {
    value?.cast_exact::<PyInt>().ok()?.extract().ok()
}

/// The chunk the tuples describe, if it has the common shape.
pub(crate) fn direct<'a>(
    py: Python<'_>,
    tuples: &'a [Bound<'_, PyTuple>],
) -> Option<DirectChunk<'a>> {
    let unset = MODELS.get(py)?.unset.bind(py);
    let chunk = tuples.first()?.as_slice();
    let object = text(chunk.get(4), unset)?;
    // usage, x_groq, citations and an "error" object fold otherwise.
    if object == Some("error") || ![7, 11, 12].iter().all(|&i| absent(chunk.get(i), unset)) {
        return None;
    }
    let created = chunk.get(2)?;
    let mut out = DirectChunk {
        id: text(chunk.first(), unset)?,
        created: if absent(Some(created), unset) {
            None
        } else {
            Some(int(Some(created))?)
        },
        model: text(chunk.get(3), unset)?,
        service_tier: text(chunk.get(5), unset)?,
        system_fingerprint: text(chunk.get(6), unset)?,
        choice: None,
    };
    if let (Some(choice), Some(delta)) = (tuples.get(1), tuples.get(2)) {
        let (choice, delta) = (choice.as_slice(), delta.as_slice());
        // logprobs and usage; audio, function_call, tool_calls, annotations.
        if ![3, 4].iter().all(|&i| absent(choice.get(i), unset))
            || ![0, 2, 5, 9].iter().all(|&i| absent(delta.get(i), unset))
        {
            return None;
        }
        out.choice = Some(DirectChoice {
            index: int(choice.get(1))?,
            finish_reason: text(choice.get(2), unset)?,
            content: text(delta.get(1), unset)?,
            refusal: text(delta.get(3), unset)?,
            role: text(delta.get(4), unset)?,
            reasoning_content: text(delta.get(6), unset)?,
            reasoning: text(delta.get(7), unset)?,
        });
    }
    Some(out)
}
