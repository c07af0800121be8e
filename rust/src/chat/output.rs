//! Writes the fold state as `ChatCompletion` JSON, for msgspec to decode
//! into the Python Structs. Absent optional fields are left out.

use super::state::{Choice, Fold};

/// Appends `value` as a JSON string.
fn string(out: &mut Vec<u8>, value: &str) {
    // serde_json's escaping of a `&str` cannot fail when writing to a Vec.
    let _ = serde_json::to_writer(&mut *out, value);
}

fn key(out: &mut Vec<u8>, first: &mut bool, name: &str) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    string(out, name);
    out.push(b':');
}

fn opt_string(out: &mut Vec<u8>, first: &mut bool, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        key(out, first, name);
        string(out, value);
    }
}

/// Appends a JSON array of `items`, each written by `item`.
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

fn non_empty(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

/// Appends the completion JSON for `fold` to `out`.
pub fn write(fold: &Fold, out: &mut Vec<u8>) {
    let first = &mut true;
    out.push(b'{');
    key(out, first, "id");
    string(out, &fold.id);
    key(out, first, "object");
    string(out, "chat.completion");
    key(out, first, "created");
    out.extend_from_slice(fold.created.to_string().as_bytes());
    key(out, first, "model");
    string(out, &fold.model);
    key(out, first, "choices");
    array(out, &fold.choices, |out, (index, choice)| {
        write_choice(*index, choice, out)
    });
    if let Some(usage) = &fold.usage {
        key(out, first, "usage");
        out.extend_from_slice(usage);
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
    out.push(b'}');
}

fn write_choice(index: i64, choice: &Choice, out: &mut Vec<u8>) {
    let first = &mut true;
    out.push(b'{');
    key(out, first, "index");
    out.extend_from_slice(index.to_string().as_bytes());
    key(out, first, "message");
    write_message(choice, out);
    opt_string(out, first, "finish_reason", choice.finish_reason.as_deref());
    if let Some(logprobs) = &choice.logprobs {
        key(out, first, "logprobs");
        let inner = &mut true;
        out.push(b'{');
        for (name, list) in [
            ("content", &logprobs.content),
            ("refusal", &logprobs.refusal),
        ] {
            if let Some(list) = list {
                key(out, inner, name);
                out.push(b'[');
                out.extend_from_slice(list);
                out.push(b']');
            }
        }
        out.push(b'}');
    }
    out.push(b'}');
}

fn write_message(choice: &Choice, out: &mut Vec<u8>) {
    let first = &mut true;
    out.push(b'{');
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
        array(out, &choice.annotations, |out, raw| {
            out.extend_from_slice(raw)
        });
    }
    if let Some(audio) = &choice.audio {
        key(out, first, "audio");
        let inner = &mut true;
        out.push(b'{');
        opt_string(out, inner, "id", audio.id.as_deref());
        opt_string(out, inner, "data", audio.data.as_deref());
        opt_string(out, inner, "transcript", audio.transcript.as_deref());
        if let Some(expires_at) = audio.expires_at {
            key(out, inner, "expires_at");
            out.extend_from_slice(expires_at.to_string().as_bytes());
        }
        out.push(b'}');
    }
    if let Some((name, arguments)) = &choice.function_call {
        key(out, first, "function_call");
        let inner = &mut true;
        out.push(b'{');
        opt_string(out, inner, "name", Some(name));
        opt_string(out, inner, "arguments", Some(arguments));
        out.push(b'}');
    }
    if !choice.tools.is_empty() {
        key(out, first, "tool_calls");
        array(out, &choice.tools_in_order(), |out, call| {
            let inner = &mut true;
            out.push(b'{');
            opt_string(out, inner, "id", Some(&call.id));
            let kind = non_empty(&call.kind).unwrap_or("function");
            opt_string(out, inner, "type", Some(kind));
            key(out, inner, "function");
            let func = &mut true;
            out.push(b'{');
            opt_string(out, func, "name", Some(&call.name));
            opt_string(out, func, "arguments", Some(&call.arguments));
            out.extend_from_slice(b"}}");
        });
    }
    out.push(b'}');
}
