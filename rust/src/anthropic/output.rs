//! Writes the fold state as Anthropic `Message` JSON, for msgspec to decode
//! into the Python Structs. Blocks that came whole are copied as sent, with
//! only the fields the deltas touched replaced.

use super::state::{each_key, get, key_text, Block, BlockKind, Fold, Input, RawMap};
use crate::json::Cursor;

/// Appends `value` as a JSON string.
fn string(out: &mut Vec<u8>, value: &str) {
    // serde_json's escaping of a `&str` cannot fail when writing to a Vec.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Appends a block buffer (UTF-8 by construction; `None` is empty) as a
/// JSON string.
fn utf8(out: &mut Vec<u8>, value: Option<&[u8]>) {
    string(out, &String::from_utf8_lossy(value.unwrap_or_default()));
}

fn key(out: &mut Vec<u8>, first: &mut bool, name: &str) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    string(out, name);
    out.push(b':');
}

/// Appends the message JSON for `fold` to `out`.
pub fn message(fold: &Fold, out: &mut Vec<u8>) {
    let first = &mut true;
    out.push(b'{');
    key(out, first, "id");
    string(out, fold.id.as_deref().unwrap_or_default());
    for (name, default) in [("type", &b"\"message\""[..]), ("role", b"\"assistant\"")] {
        key(out, first, name);
        out.extend_from_slice(get(&fold.fields, name.as_bytes()).unwrap_or(default));
    }
    key(out, first, "model");
    string(out, fold.model.as_deref().unwrap_or_default());
    key(out, first, "content");
    out.push(b'[');
    for (i, (_, block)) in fold.blocks.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_block(block, out);
    }
    out.push(b']');
    for name in ["stop_reason", "stop_sequence"] {
        key(out, first, name);
        out.extend_from_slice(get(&fold.fields, name.as_bytes()).unwrap_or(b"null"));
    }
    for (name, value) in &fold.fields {
        if !matches!(
            &name[..],
            b"type" | b"role" | b"stop_reason" | b"stop_sequence"
        ) {
            key(out, first, &key_text(name));
            out.extend_from_slice(value);
        }
    }
    key(out, first, "usage");
    usage_object(&fold.usage, None, out);
    out.push(b'}');
}

/// Appends the usage map as an object, with Bedrock's metrics if given.
pub fn usage_object(usage: &RawMap, bedrock: Option<&[u8]>, out: &mut Vec<u8>) {
    let first = &mut true;
    out.push(b'{');
    for (name, value) in usage {
        key(out, first, &key_text(name));
        out.extend_from_slice(value);
    }
    if let Some(metrics) = bedrock {
        key(out, first, "amazon-bedrock-invocationMetrics");
        out.extend_from_slice(metrics);
    }
    out.push(b'}');
}

/// The fields a block's deltas replace, in writing order.
const OVERRIDES: [&[u8]; 7] = [
    b"text",
    b"citations",
    b"thinking",
    b"signature",
    b"content",
    b"input",
    b"input_json",
];

fn overridden(block: &Block, name: &[u8]) -> bool {
    match name {
        b"text" => block.text.is_some(),
        b"citations" => block.citations.is_some(),
        b"thinking" => block.thinking.is_some(),
        b"signature" => block.signature.is_some(),
        b"content" => block.content.is_some(),
        b"input" => block.input != Input::Start,
        b"input_json" => json_kept(block),
        _ => false,
    }
}

/// Whether the argument text is shown: invalid, or not parsed yet.
fn json_kept(block: &Block) -> bool {
    block.input != Input::Parsed
        && block
            .json
            .as_deref()
            .is_some_and(|j| !j.trim_ascii().is_empty())
}

fn write_block(block: &Block, out: &mut Vec<u8>) {
    let first = &mut true;
    out.push(b'{');
    match block.start.as_deref() {
        Some(start) => {
            let mut cursor = Cursor::new(start);
            // The start was validated when it was folded.
            let _ = each_key(&mut cursor, |name, cursor| {
                let at = super::reader::value_start(cursor)?;
                cursor.skip()?;
                if !overridden(block, name) {
                    key(out, first, &key_text(name));
                    out.extend_from_slice(start.get(at..cursor.position()).unwrap_or_default());
                }
                Ok(())
            });
        }
        None => {
            key(out, first, "type");
            let (kind, defaults): (&str, &[(&str, &str)]) = match block.kind {
                BlockKind::Text => ("text", &[("text", "\"\"")]),
                BlockKind::Thinking => ("thinking", &[("thinking", "\"\""), ("signature", "\"\"")]),
                BlockKind::Tool => (
                    "tool_use",
                    &[("id", "\"\""), ("name", "\"\""), ("input", "{}")],
                ),
                BlockKind::Compaction => ("compaction", &[("content", "null")]),
                BlockKind::Other => ("unknown", &[]),
            };
            string(out, kind);
            for (name, value) in defaults {
                if !overridden(block, name.as_bytes()) {
                    key(out, first, name);
                    out.extend_from_slice(value.as_bytes());
                }
            }
        }
    }
    for name in OVERRIDES {
        if !overridden(block, name) {
            continue;
        }
        key(out, first, &key_text(name));
        match name {
            b"text" => utf8(out, block.text.as_deref()),
            b"thinking" => utf8(out, block.thinking.as_deref()),
            b"signature" => string(out, block.signature.as_deref().unwrap_or_default()),
            b"content" => string(out, block.content.as_deref().unwrap_or_default()),
            b"citations" => {
                out.push(b'[');
                out.extend_from_slice(block.citations.as_deref().unwrap_or_default());
                out.push(b']');
            }
            b"input" => match block.input {
                Input::Parsed => out.extend_from_slice(block.json.as_deref().unwrap_or(b"{}")),
                _ => out.extend_from_slice(b"null"),
            },
            _ => utf8(out, block.json.as_deref()),
        }
    }
    out.push(b'}');
}
