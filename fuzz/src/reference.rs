//! WHATWG HTML §9.2.6 "Interpreting an event stream", written as plainly
//! as the spec reads, to compare the scanner against.
//!
//! The spec decodes the whole stream with UTF-8 decode (which strips one
//! leading BOM and replaces invalid sequences) and then splits it into
//! lines. Here the byte stream is split into lines first and each line is
//! decoded on its own, so that lines keep their byte offsets; [`parse`]
//! asserts that this gives exactly the lines of the whole-stream decode,
//! which is the equivalence the scanner's module docs rely on.
//!
//! Two things the spec leaves open, resolved as the scanner documents them:
//! a `retry` of only digits that does not fit `u64` is ignored, and an
//! event's offset is that of its first line that is neither blank nor a
//! comment.

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched event, as the spec's `MessageEvent` would carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefEvent {
    /// The event type buffer; empty means `message`.
    pub event_type: String,
    pub data: String,
    /// The last event ID buffer; `None` until an `id` field set it (the
    /// spec's buffer starts empty: `None` and `Some("")` look the same to
    /// a page, but the scanner tells them apart).
    pub last_event_id: Option<String>,
    /// The reconnection time, if a valid `retry` field set it.
    pub retry: Option<u64>,
    /// Byte offset of the event's first line, a BOM included.
    pub offset: u64,
    /// How many `data` lines the event had, and where the first began.
    pub data_lines: usize,
    pub data_line_start: u64,
    /// Byte offset of the blank line that dispatched the event.
    pub dispatch_at: u64,
}

/// The result of parsing a whole stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefStream {
    pub events: Vec<RefEvent>,
    pub last_event_id: Option<String>,
    pub retry: Option<u64>,
    /// What the incomplete final event's data would have been, with an
    /// unterminated final `data` line (the scanner's `Tail`); `None` if it
    /// had no `data` line. The spec discards it.
    pub tail: Option<String>,
}

/// Splits `body` into (offset, line) at CRLF, LF or CR, and returns the
/// unterminated rest. "end-of-line = ( cr lf / cr / lf )".
fn split_lines(body: &[u8]) -> (Vec<(usize, &[u8])>, &[u8]) {
    let mut lines = Vec::new();
    let (mut i, mut start) = (0, 0);
    while i < body.len() {
        match body[i] {
            b'\r' => {
                lines.push((start, &body[start..i]));
                i += 1;
                if body.get(i) == Some(&b'\n') {
                    i += 1;
                }
                start = i;
            }
            b'\n' => {
                lines.push((start, &body[start..i]));
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    (lines, &body[start..])
}

/// The spec's order: decode everything, then split the text into lines.
fn lines_of_decoded_stream(body: &[u8]) -> (Vec<String>, String) {
    let text = String::from_utf8_lossy(body);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                lines.push(std::mem::take(&mut line));
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
            }
            '\n' => lines.push(std::mem::take(&mut line)),
            _ => line.push(c),
        }
    }
    (lines, line)
}

/// "Collect the characters before the first U+003A COLON (:) as field and
/// the characters after it as value; if value starts with a U+0020 SPACE
/// character, remove it." No colon: the whole line is the field name and
/// the value is empty.
fn field(line: &str) -> (&str, &str) {
    match line.find(':') {
        Some(colon) => {
            let value = &line[colon + 1..];
            (&line[..colon], value.strip_prefix(' ').unwrap_or(value))
        }
        None => (line, ""),
    }
}

/// Parses and interprets a whole stream.
pub fn parse(stream: &[u8]) -> RefStream {
    // UTF-8 decode: "If the first three bytes of stream are a UTF-8 BOM,
    // ... skip them" (once, only at the very start).
    let skip = if stream.starts_with(BOM) {
        BOM.len()
    } else {
        0
    };
    let body = &stream[skip..];
    let (lines, rest) = split_lines(body);

    let decoded: Vec<String> = lines
        .iter()
        .map(|(_, line)| String::from_utf8_lossy(line).into_owned())
        .collect();
    let (whole, whole_rest) = lines_of_decoded_stream(body);
    assert_eq!(
        (&decoded, &whole_rest),
        (&whole, &String::from_utf8_lossy(rest).into_owned()),
        "decoding line by line differs from decoding the stream first"
    );

    let mut out = RefStream::default();
    let mut data = String::new();
    let mut event_type = String::new();
    let mut event_start: Option<u64> = None;
    let (mut data_lines, mut data_line_start) = (0, 0);

    for ((at, _), line) in lines.iter().zip(&decoded) {
        let offset = (skip + at) as u64;
        // "If the line is empty (a blank line): Dispatch the event."
        if line.is_empty() {
            // "If the data buffer is an empty string, set the data buffer
            // and the event type buffer to the empty string and return."
            if !data.is_empty() {
                // "If the data buffer's last character is a U+000A LINE
                // FEED (LF) character, then remove the last character."
                if data.ends_with('\n') {
                    data.pop();
                }
                out.events.push(RefEvent {
                    event_type: event_type.clone(),
                    data: data.clone(),
                    last_event_id: out.last_event_id.clone(),
                    retry: out.retry,
                    offset: event_start.unwrap_or(offset),
                    data_lines,
                    data_line_start,
                    dispatch_at: offset,
                });
            }
            data.clear();
            event_type.clear();
            event_start = None;
            data_lines = 0;
            continue;
        }
        // "If the line starts with a U+003A COLON character (:): Ignore the line."
        if line.starts_with(':') {
            continue;
        }
        event_start.get_or_insert(offset);
        let (name, value) = field(line);
        match name {
            // "Set the event type buffer to field value."
            "event" => event_type = value.to_owned(),
            // "Append the field value to the data buffer, then append a
            // single U+000A LINE FEED (LF) character to the data buffer."
            "data" => {
                data.push_str(value);
                data.push('\n');
                if data_lines == 0 {
                    data_line_start = offset;
                }
                data_lines += 1;
            }
            // "If the field value does not contain U+0000 NULL, then set
            // the last event ID buffer to the field value."
            "id" if !value.contains('\0') => out.last_event_id = Some(value.to_owned()),
            // "If the field value consists of only ASCII digits, then
            // interpret the field value as an integer in base ten, and set
            // the event stream's reconnection time to that integer."
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse::<u64>() {
                    out.retry = Some(ms);
                }
            }
            // "Otherwise: The field is ignored."
            _ => {}
        }
    }

    // "Once the end of the file is reached, any pending data must be
    // discarded." The scanner returns it in its `Tail` all the same.
    let rest = String::from_utf8_lossy(rest);
    let rest_data = match field(&rest) {
        ("data", value) if !rest.starts_with(':') => Some(value),
        _ => None,
    };
    out.tail = match rest_data {
        Some(value) => {
            data.push_str(value);
            Some(data)
        }
        None if data_lines > 0 => {
            data.pop();
            Some(data)
        }
        None => None,
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference against the project's conformance corpus, so that a
    /// disagreement in fuzzing points at the scanner, not at this file.
    #[test]
    fn reference_passes_the_conformance_corpus() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/data/sse_conformance.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let corpus: serde_json::Value = serde_json::from_str(&text).unwrap();
        let latin1 = |s: &str| s.chars().map(|c| c as u32 as u8).collect::<Vec<u8>>();
        let mut checked = 0;
        for case in corpus["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let stream: Vec<u8> = case["chunks"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| latin1(c.as_str().unwrap()))
                .collect();
            let parsed = parse(&stream);
            let got: Vec<serde_json::Value> = parsed
                .events
                .iter()
                .map(|e| {
                    let kind = if e.event_type.is_empty() {
                        "message"
                    } else {
                        &e.event_type
                    };
                    serde_json::json!([kind, e.data, e.last_event_id, e.retry])
                })
                .collect();
            assert_eq!(&serde_json::Value::from(got), &case["expected"], "{name}");
            let last =
                serde_json::json!({"last_event_id": parsed.last_event_id, "retry": parsed.retry});
            for (key, want) in case
                .get("final")
                .and_then(|f| f.as_object())
                .into_iter()
                .flatten()
            {
                assert_eq!(&last[key], want, "{name}: final {key}");
            }
            checked += 1;
        }
        assert!(checked > 20);
    }

    #[test]
    fn tail_and_offsets() {
        let parsed = parse(b"\xEF\xBB\xBF: c\nid: 1\ndata: a\r\n\r\ndata: b\ndata: c");
        assert_eq!(parsed.events.len(), 1);
        assert_eq!(parsed.events[0].offset, 7);
        assert_eq!(parsed.events[0].data, "a");
        assert_eq!(parsed.tail.as_deref(), Some("b\nc"));
        assert_eq!(parse(b"data: x\n").tail.as_deref(), Some("x"));
        assert_eq!(parse(b"data\n").tail.as_deref(), Some(""));
        assert_eq!(parse(b"event: x\n").tail, None);
    }
}
