//! Writes the fold state as `ChatCompletion` JSON, for msgspec to decode
//! into the Python Structs. Absent optional fields are left out.
//!
//! The writer is generic over where the bytes go, so that the binding can
//! count them first and then write them straight into a Python `bytes` of
//! that size: a logprob stream's completion is mostly its tokens, copied
//! once that way instead of three times (growing a vector, then into the
//! `bytes`).

use std::io;

use super::state::{Choice, Fold};

/// Where the JSON goes.
pub trait Out {
    fn put(&mut self, bytes: &[u8]);
}

impl Out for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Counts the bytes instead of writing them.
#[derive(Debug, Default)]
pub struct Count(pub usize);

impl Out for Count {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

/// Fills a buffer of the counted size; `at` is how much was written.
#[derive(Debug)]
pub struct Fill<'a> {
    pub buf: &'a mut [u8],
    pub at: usize,
}

impl Out for Fill<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.at + bytes.len();
        if let Some(dest) = self.buf.get_mut(self.at..end) {
            dest.copy_from_slice(bytes);
        }
        self.at = end;
    }
}

/// serde_json writes strings to an `io::Write`.
struct Writer<'a, O: Out + ?Sized>(&'a mut O);

impl<O: Out + ?Sized> io::Write for Writer<'_, O> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.put(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Appends `value` as a JSON string.
fn string<O: Out + ?Sized>(out: &mut O, value: &str) {
    // serde_json's escaping of a `&str` cannot fail when writing to an `Out`.
    let _ = serde_json::to_writer(Writer(out), value);
}

fn key<O: Out + ?Sized>(out: &mut O, first: &mut bool, name: &str) {
    if !std::mem::take(first) {
        out.put(b",");
    }
    string(out, name);
    out.put(b":");
}

fn opt_string<O: Out + ?Sized>(out: &mut O, first: &mut bool, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        key(out, first, name);
        string(out, value);
    }
}

/// Appends a JSON array of `items`, each written by `item`.
fn array<O: Out + ?Sized, T>(out: &mut O, items: &[T], mut item: impl FnMut(&mut O, &T)) {
    out.put(b"[");
    for (i, value) in items.iter().enumerate() {
        if i > 0 {
            out.put(b",");
        }
        item(out, value);
    }
    out.put(b"]");
}

fn non_empty(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

/// Appends the completion JSON for `fold` to `out`.
pub fn write<O: Out + ?Sized>(fold: &Fold, out: &mut O) {
    let first = &mut true;
    out.put(b"{");
    key(out, first, "id");
    string(out, &fold.id);
    key(out, first, "object");
    string(out, "chat.completion");
    key(out, first, "created");
    out.put(fold.created.to_string().as_bytes());
    key(out, first, "model");
    string(out, &fold.model);
    key(out, first, "choices");
    array(out, &fold.choices, |out, (index, choice)| {
        write_choice(*index, choice, out)
    });
    if let Some(usage) = &fold.usage {
        key(out, first, "usage");
        out.put(usage);
    }
    opt_string(
        out,
        first,
        "system_fingerprint",
        non_empty(&fold.system_fingerprint),
    );
    opt_string(out, first, "service_tier", non_empty(&fold.service_tier));
    if !fold.citations.is_empty() {
        key(out, first, "citations");
        array(out, &fold.citations, |out, citation| string(out, citation));
    }
    out.put(b"}");
}

fn write_choice<O: Out + ?Sized>(index: i64, choice: &Choice, out: &mut O) {
    let first = &mut true;
    out.put(b"{");
    key(out, first, "index");
    out.put(index.to_string().as_bytes());
    key(out, first, "message");
    write_message(choice, out);
    opt_string(out, first, "finish_reason", choice.finish_reason.as_deref());
    if let Some(logprobs) = &choice.logprobs {
        key(out, first, "logprobs");
        let inner = &mut true;
        out.put(b"{");
        for (name, list) in [
            ("content", &logprobs.content),
            ("refusal", &logprobs.refusal),
        ] {
            if let Some(list) = list {
                key(out, inner, name);
                out.put(b"[");
                out.put(list);
                out.put(b"]");
            }
        }
        out.put(b"}");
    }
    out.put(b"}");
}

fn write_message<O: Out + ?Sized>(choice: &Choice, out: &mut O) {
    let first = &mut true;
    out.put(b"{");
    key(out, first, "role");
    string(out, non_empty(&choice.role).unwrap_or("assistant"));
    opt_string(out, first, "content", choice.content.as_deref());
    opt_string(out, first, "refusal", choice.refusal.as_deref());
    opt_string(
        out,
        first,
        "reasoning_content",
        choice.reasoning_content.as_deref(),
    );
    opt_string(out, first, "reasoning", choice.reasoning.as_deref());
    if !choice.annotations.is_empty() {
        key(out, first, "annotations");
        array(out, &choice.annotations, |out, raw| out.put(raw));
    }
    if let Some(audio) = &choice.audio {
        key(out, first, "audio");
        let inner = &mut true;
        out.put(b"{");
        opt_string(out, inner, "id", audio.id.as_deref());
        opt_string(out, inner, "data", audio.data.as_deref());
        opt_string(out, inner, "transcript", audio.transcript.as_deref());
        if let Some(expires_at) = audio.expires_at {
            key(out, inner, "expires_at");
            out.put(expires_at.to_string().as_bytes());
        }
        out.put(b"}");
    }
    if let Some((name, arguments)) = &choice.function_call {
        key(out, first, "function_call");
        let inner = &mut true;
        out.put(b"{");
        opt_string(out, inner, "name", Some(name));
        opt_string(out, inner, "arguments", Some(arguments));
        out.put(b"}");
    }
    if !choice.tools.is_empty() {
        key(out, first, "tool_calls");
        array(out, &choice.tools_in_order(), |out, call| {
            let inner = &mut true;
            out.put(b"{");
            opt_string(out, inner, "id", Some(&call.id));
            let kind = non_empty(&call.kind).unwrap_or("function");
            opt_string(out, inner, "type", Some(kind));
            key(out, inner, "function");
            let func = &mut true;
            out.put(b"{");
            opt_string(out, func, "name", Some(&call.name));
            opt_string(out, func, "arguments", Some(&call.arguments));
            out.put(b"}}");
        });
    }
    out.put(b"}");
}
