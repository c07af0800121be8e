//! Writes the fold state as `Response` JSON, for msgspec to decode into the
//! Python Structs.
//!
//! Objects the stream announced whole (the lifecycle or terminal response,
//! each item, each part) are copied through key by key, verbatim, with the
//! folded fields written over theirs: so every field a provider adds
//! survives, and a `done` object, once it replaced the folded state, comes
//! out exactly as sent.

use super::state::{Fold, Item, Part, PartKind, ShellOutput, Terminal, TextField};
use crate::json::Cursor;

/// Appends `value` as a JSON string.
fn string(out: &mut Vec<u8>, value: &str) {
    // serde_json's escaping of a `&str` cannot fail when writing to a Vec.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// How a field is written over an announced object.
enum Mode {
    /// Replaces the object's own value.
    Replace,
    /// Written only when the object has no such key.
    Default,
}

type Write<'a> = Box<dyn Fn(&mut Vec<u8>) + 'a>;

/// One field written over an object.
struct Field<'a> {
    key: &'static str,
    mode: Mode,
    write: Write<'a>,
}

fn replace<'a>(key: &'static str, write: impl Fn(&mut Vec<u8>) + 'a) -> Field<'a> {
    Field {
        key,
        mode: Mode::Replace,
        write: Box::new(write),
    }
}

fn default<'a>(key: &'static str, write: impl Fn(&mut Vec<u8>) + 'a) -> Field<'a> {
    Field {
        key,
        mode: Mode::Default,
        write: Box::new(write),
    }
}

fn str_field<'a>(key: &'static str, mode: Mode, value: &'a str) -> Field<'a> {
    Field {
        key,
        mode,
        write: Box::new(move |out| string(out, value)),
    }
}

fn raw_field<'a>(key: &'static str, value: &'a [u8]) -> Field<'a> {
    replace(key, move |out| out.extend_from_slice(value))
}

/// Adds `field`, dropping an earlier one with the same key: each key is
/// written once, as the last rule that set it says.
fn set<'a>(fields: &mut Vec<Field<'a>>, field: Field<'a>) {
    fields.retain(|f| f.key != field.key);
    fields.push(field);
}

/// Writes `base` (a JSON object, or nothing) with `fields` written over it.
/// A base that turns out not to be an object is dropped.
fn object(base: Option<&[u8]>, fields: &[Field<'_>], out: &mut Vec<u8>) {
    let start = out.len();
    let mut written = vec![false; fields.len()];
    out.push(b'{');
    let mut first = true;
    if let Some(base) = base {
        if copy_over(base, fields, &mut written, &mut first, out).is_err() {
            out.truncate(start);
            out.push(b'{');
            written.iter_mut().for_each(|w| *w = false);
            first = true;
        }
    }
    for (field, done) in fields.iter().zip(&written) {
        if !done {
            key(out, &mut first, field.key);
            (field.write)(out);
        }
    }
    out.push(b'}');
}

fn key(out: &mut Vec<u8>, first: &mut bool, name: &str) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    string(out, name);
    out.push(b':');
}

fn copy_over(
    base: &[u8],
    fields: &[Field<'_>],
    written: &mut [bool],
    first: &mut bool,
    out: &mut Vec<u8>,
) -> crate::json::Result<()> {
    let mut j = Cursor::new(base);
    let mut next = j.object_first()?;
    while let Some(name) = next {
        j.peek()?;
        let start = j.position();
        j.skip()?;
        let value = base.get(start..j.position()).unwrap_or_default();
        let name = String::from_utf8_lossy(&name);
        let at = fields.iter().position(|f| f.key == name);
        match at {
            // A key repeated in the base after it was written: dropped.
            Some(at) if written.get(at) == Some(&true) => {}
            Some(at) => {
                key(out, first, &name);
                match fields.get(at) {
                    Some(Field {
                        mode: Mode::Replace,
                        write,
                        ..
                    }) => write(out),
                    _ => out.extend_from_slice(value),
                }
                if let Some(w) = written.get_mut(at) {
                    *w = true;
                }
            }
            None => {
                key(out, first, &name);
                out.extend_from_slice(value);
            }
        }
        next = j.object_next()?;
    }
    Ok(())
}

/// The verbatim value of `name` in the object `base`.
fn member<'a>(base: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut j = Cursor::new(base);
    let mut next = j.object_first().ok()?;
    while let Some(key) = next {
        j.peek().ok()?;
        let start = j.position();
        j.skip().ok()?;
        if &*key == name {
            return base.get(start..j.position());
        }
        next = j.object_next().ok()?;
    }
    None
}

/// The verbatim elements of the array `raw`.
fn elements(raw: &[u8]) -> Vec<&[u8]> {
    let mut j = Cursor::new(raw);
    let mut out = Vec::new();
    let mut more = j.array_first().unwrap_or(false);
    while more {
        if j.peek().is_err() {
            break;
        }
        let start = j.position();
        if j.skip().is_err() {
            break;
        }
        out.extend(raw.get(start..j.position()));
        more = j.array_next().unwrap_or(false);
    }
    out
}

fn array<T>(out: &mut Vec<u8>, items: &[T], mut item: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, value) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item(out, value);
    }
    out.push(b']');
}

/// How the stream stands, for the `status` field.
pub fn status_field(fold: &Fold, error: bool) -> Option<&'static str> {
    match fold.terminal.as_ref().map(|(kind, _)| *kind) {
        Some(Terminal::Completed) if !error => Some("completed"),
        Some(Terminal::Incomplete) if !error => Some("incomplete"),
        Some(_) => Some("failed"),
        None if error => Some("failed"),
        None => None,
    }
}

/// Appends the `Response` JSON for `fold` to `out`. `error` says whether
/// the stream carried an API error.
pub fn write(fold: &Fold, error: bool, out: &mut Vec<u8>) {
    let (base, terminal_output) = match &fold.terminal {
        Some((_, raw)) => (Some(raw.as_slice()), fold.terminal_scan.output),
        None => (fold.lifecycle.as_deref(), false),
    };
    let mut fields = vec![str_field("object", Mode::Default, "response")];
    if !fold.id.is_empty() {
        set(&mut fields, str_field("id", Mode::Replace, &fold.id));
    }
    if !fold.model.is_empty() {
        set(&mut fields, str_field("model", Mode::Replace, &fold.model));
    }
    if let Some(created_at) = &fold.created_at {
        set(&mut fields, raw_field("created_at", created_at));
    }
    match status_field(fold, error) {
        Some(status) => set(&mut fields, str_field("status", Mode::Replace, status)),
        None => set(
            &mut fields,
            str_field("status", Mode::Default, "in_progress"),
        ),
    }
    // Rule 5: a terminal response's non-empty output replaces the folded items.
    if !terminal_output {
        set(
            &mut fields,
            replace("output", |out| {
                array(out, &fold.items, |out, (_, item)| write_item(item, out));
            }),
        );
    }
    if let Some(usage) = &fold.usage {
        set(&mut fields, raw_field("usage", usage));
    }
    object(base, &fields, out);
}

fn write_item(item: &Item, out: &mut Vec<u8>) {
    let base = item.base.as_deref();
    let mut fields = Vec::new();
    if !item.id.is_empty() {
        set(&mut fields, str_field("id", Mode::Default, &item.id));
    }
    if !item.kind.is_empty() {
        set(&mut fields, str_field("type", Mode::Default, &item.kind));
    }
    if base.is_none() {
        // An item never announced: what its events imply (a message when
        // nothing says otherwise).
        if item.kind.is_empty() {
            set(&mut fields, str_field("type", Mode::Default, "message"));
        }
        match item.kind.as_str() {
            "message" | "" => {
                set(&mut fields, str_field("role", Mode::Default, "assistant"));
                set(
                    &mut fields,
                    default("content", |out| out.extend_from_slice(b"[]")),
                );
            }
            "reasoning" => set(
                &mut fields,
                default("summary", |out| out.extend_from_slice(b"[]")),
            ),
            _ => {}
        }
        set(
            &mut fields,
            str_field("status", Mode::Default, "in_progress"),
        );
    }
    if !item.parts.is_empty() {
        set(
            &mut fields,
            replace("content", |out| {
                array(out, &item.parts, |out, (_, part)| write_part(part, out))
            }),
        );
    }
    if !item.summary.is_empty() {
        set(
            &mut fields,
            replace("summary", |out| {
                array(out, &item.summary, |out, (_, part)| write_part(part, out))
            }),
        );
    }
    if let Some((field, text)) = &item.text {
        let name = match field {
            TextField::Arguments => "arguments",
            TextField::Input => "input",
            TextField::Code => "code",
            TextField::Diff => "operation",
        };
        if *field == TextField::Diff {
            let operation = base.and_then(|b| member(b, b"operation"));
            set(
                &mut fields,
                replace(name, move |out| {
                    object(operation, &[str_field("diff", Mode::Replace, text)], out)
                }),
            );
        } else {
            set(&mut fields, str_field(name, Mode::Replace, text));
        }
    }
    if !item.commands.is_empty() {
        let action = base.and_then(|b| member(b, b"action"));
        set(
            &mut fields,
            replace("action", move |out| {
                let commands = replace("commands", |out| {
                    array(out, &item.commands, |out, (_, c)| string(out, c))
                });
                object(action, &[commands], out);
            }),
        );
    }
    if let Some(done) = &item.outputs_done {
        set(&mut fields, raw_field("output", done));
    } else if !item.outputs.is_empty() {
        set(
            &mut fields,
            replace("output", |out| {
                array(out, &item.outputs, |out, (_, o): &(i64, ShellOutput)| {
                    let streams = [
                        str_field("stdout", Mode::Replace, &o.stdout),
                        str_field("stderr", Mode::Replace, &o.stderr),
                    ];
                    object(None, &streams, out);
                })
            }),
        );
    }
    object(base, &fields, out);
}

fn write_part(part: &Part, out: &mut Vec<u8>) {
    let base = part.base.as_deref();
    let text_key = part.kind.text_key();
    let mut fields = vec![str_field("type", Mode::Default, part.kind.as_str())];
    match &part.text {
        Some(text) => set(&mut fields, str_field(text_key, Mode::Replace, text)),
        None => set(&mut fields, str_field(text_key, Mode::Default, "")),
    }
    if part.kind == PartKind::OutputText {
        if part.annotations.is_empty() {
            set(
                &mut fields,
                default("annotations", |out| out.extend_from_slice(b"[]")),
            );
        } else {
            // Rule 2: annotations by `annotation_index`, over the announced ones.
            let announced = base
                .and_then(|b| member(b, b"annotations"))
                .map(elements)
                .unwrap_or_default();
            let mut merged: Vec<(i64, &[u8])> = announced
                .into_iter()
                .enumerate()
                .map(|(i, raw)| (i as i64, raw))
                .collect();
            for (index, raw) in &part.annotations {
                match merged.binary_search_by_key(index, |(k, _)| *k) {
                    Ok(at) => {
                        if let Some(slot) = merged.get_mut(at) {
                            slot.1 = raw;
                        }
                    }
                    Err(at) => merged.insert(at, (*index, raw)),
                }
            }
            set(
                &mut fields,
                replace("annotations", move |out| {
                    array(out, &merged, |out, (_, raw)| out.extend_from_slice(raw))
                }),
            );
        }
    }
    object(base, &fields, out);
}
