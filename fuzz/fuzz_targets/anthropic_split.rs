//! The Anthropic fold fed whole and in many splits must end in the same
//! state; fed the same events one payload at a time through `add()` it must
//! end in the same state too; and whatever the input, it must not panic and
//! its snapshot must stay valid JSON when every payload it folded was.
//!
//! Input: if the first byte is below `HEADER_MIN`, the input is the stream
//! (the seeds are the recorded `.sse` files of tests/data/fixtures/anthropic).
//! Otherwise the rest is a choice stream: its first bytes pick up to seven
//! cut points, and the rest assembles an Anthropic event stream from the
//! event shapes the fold handles (sparse and repeated indices, deltas of
//! every kind before and after their block, tool argument fragments that
//! may or may not add up to JSON, usage, errors, second `message_start`s,
//! unknown types, missing `event:` lines).
//!
//! What is compared: `snapshot_json()`, `usage_json()`, `status()`, every
//! counter, `done()`, `error()` and the collected events. The delta fast
//! path on (the default) vs off (every payload read in full), whole and in
//! the first split plan: all of that and every error (debug assertions are
//! on in the fuzz profile, so each fast-path payload is also checked against
//! a full read as it is folded). Errors are
//! not compared between splits: a split's read reports the earliest error of
//! its own read, so which one depends on the split by design. Against the
//! `add()` path, the API error is compared by payload, except the fold's own
//! protocol error, whose message names a stream offset that `add` does not
//! know (it gives every payload the accumulator's own position).

#![no_main]

use chunkfold::anthropic::{Accumulator, Event, Status};
use chunkfold::chat::ApiError;
use chunkfold::{Error, Scanner, DEFAULT_MAX_EVENT_SIZE};
use chunkfold_fuzz::choices::Choices;
use chunkfold_fuzz::{splits, HEADER_MIN};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq)]
struct Outcome {
    snapshot: Vec<u8>,
    usage: Option<Vec<u8>>,
    status: Status,
    counts: [u64; 7],
    done: bool,
    error: Option<ApiError>,
    events: Vec<Event>,
}

fn outcome(acc: &mut Accumulator) -> Outcome {
    let fold = acc.fold();
    let counts = [
        acc.chunks(),
        acc.skipped(),
        acc.ignored(),
        acc.renamed(),
        fold.mismatches,
        fold.invalid_inputs,
        fold.unknown_deltas,
    ];
    Outcome {
        snapshot: acc.snapshot_json(),
        usage: acc.usage_json(),
        status: acc.status(),
        counts,
        done: acc.done(),
        error: acc.error().cloned(),
        events: acc.take_events(),
    }
}

fn feed_run(pieces: &[&[u8]], limit: usize) -> (Outcome, Vec<Error>) {
    feed_run_with(pieces, limit, true)
}

fn feed_run_with(pieces: &[&[u8]], limit: usize, fast: bool) -> (Outcome, Vec<Error>) {
    let mut acc = Accumulator::new(limit, true);
    acc.set_fast_path(fast);
    let mut errors = Vec::new();
    for piece in pieces {
        if let Err(error) = acc.feed(piece, 0) {
            errors.push(error);
        }
    }
    assert!(acc.finish(0).is_ok());
    assert_eq!(acc.feed(b"data: {}\n\n", 0), Err(Error::Finished));
    assert_eq!(acc.finish(0), Err(Error::Finished));
    (outcome(&mut acc), errors)
}

/// Frames the stream with a scanner of our own and `add()`s each payload;
/// `None` when an event's `event:` line matters to the fold (`add` cannot
/// say a payload came as `event: error` or under another name).
fn add_run(stream: &[u8]) -> Option<(Outcome, usize, bool)> {
    let mut scanner = Scanner::default();
    let mut payloads: Vec<Vec<u8>> = Vec::new();
    let mut named = false;
    let framed = scanner.feed(stream, |e| {
        named |= !e.event_type.is_empty();
        payloads.push(e.data.to_vec());
    });
    assert!(framed.is_ok());
    let tail = scanner.finish().ok()?;
    if named {
        return None;
    }
    let mut acc = Accumulator::new(DEFAULT_MAX_EVENT_SIZE, true);
    let (mut rejected, mut all_valid) = (0, true);
    for data in &payloads {
        let valid = serde_json::from_slice::<serde_json::Value>(data).is_ok();
        match acc.add(data, 0) {
            Ok(()) => all_valid &= valid,
            Err(Error::Json { message, .. }) => {
                let parsed = serde_json::from_slice::<serde_json::Value>(data);
                assert!(
                    !matches!(parsed, Ok(serde_json::Value::Object(_))) || data.len() > 1 << 16,
                    "a valid JSON object was rejected ({message}): {:?}",
                    String::from_utf8_lossy(data)
                );
                rejected += 1;
            }
            Err(other) => panic!("add failed: {other:?}"),
        }
    }
    if let Some(data) = tail.data {
        // feed's finish() folds an unterminated final message_stop.
        let stop = serde_json::from_slice::<serde_json::Value>(&data)
            .ok()
            .is_some_and(|v| v.get("type").and_then(|t| t.as_str()) == Some("message_stop"));
        if stop {
            assert_eq!(acc.add(&data, 0), Ok(()));
        }
    }
    assert!(acc.finish(0).is_ok());
    Some((outcome(&mut acc), rejected, all_valid))
}

/// Whether an error payload is the fold's own protocol error.
fn memchr_protocol(payload: &[u8]) -> bool {
    payload
        .windows(b"\"protocol_error\"".len())
        .any(|w| w == b"\"protocol_error\"")
}

/// A generated event stream.
fn generate(c: &mut Choices<'_>) -> Vec<u8> {
    const INDICES: [&str; 6] = ["0", "1", "2", "7", "-1", "99999999999999999999"];
    const TEXTS: [&str; 6] = [
        "",
        "hi",
        "\\u00e9\\n",
        "\\ud83d\\ude00",
        "\\\"q\\\"",
        "\\ud800",
    ];
    const FRAGMENTS: [&str; 8] = [
        "{\\\"a\\\"",
        ": 1",
        ", \\\"b\\\": [true]",
        "}",
        "",
        "[1]",
        "{",
        " ",
    ];
    const BLOCKS: [&str; 6] = [
        r#"{"type":"text","text":"A"}"#,
        r#"{"type":"thinking","thinking":"","signature":""}"#,
        r#"{"type":"tool_use","id":"t","name":"f","input":{}}"#,
        r#"{"type":"compaction","content":null}"#,
        r#"{"type":"web_search_tool_result","tool_use_id":"s","content":[]}"#,
        r#"{"type":"mystery","input":{"x":1}}"#,
    ];
    let mut out = Vec::new();
    while !c.is_empty() && out.len() < 8192 {
        let index = c.pick(&INDICES);
        let text = c.pick(&TEXTS);
        let (name, payload) = match c.below(14) {
            0 => (
                "message_start",
                format!(
                    r#"{{"type":"message_start","message":{{"id":"m","model":"x","content":{},"usage":{{"input_tokens":{},"output_tokens":1}}}}}}"#,
                    if c.chance(40) {
                        "[{\"type\":\"text\",\"text\":\"w\"}]"
                    } else {
                        "[]"
                    },
                    c.below(100)
                ),
            ),
            1 => (
                "content_block_start",
                format!(
                    r#"{{"type":"content_block_start","index":{index},"content_block":{}}}"#,
                    c.pick(&BLOCKS)
                ),
            ),
            2 | 3 => (
                "content_block_delta",
                format!(
                    r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"text_delta","text":"{text}"}}}}"#
                ),
            ),
            4 | 5 => (
                "content_block_delta",
                format!(
                    r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"input_json_delta","partial_json":"{}"}}}}"#,
                    c.pick(&FRAGMENTS)
                ),
            ),
            6 => (
                "content_block_delta",
                format!(
                    r#"{{"type":"content_block_delta","index":{index},"delta":{{"{}":"{text}","type":"{}"}}}}"#,
                    c.pick(&["thinking", "signature", "content", "text"]),
                    c.pick(&[
                        "thinking_delta",
                        "signature_delta",
                        "compaction_delta",
                        "odd_delta"
                    ])
                ),
            ),
            7 => (
                "content_block_delta",
                format!(
                    r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"citations_delta","citation":{{"n":{}}}}}}}"#,
                    c.below(9)
                ),
            ),
            8 => (
                "content_block_stop",
                format!(r#"{{"type":"content_block_stop","index":{index}}}"#),
            ),
            9 => (
                "message_delta",
                format!(
                    r#"{{"type":"message_delta","delta":{{"stop_reason":{},"stop_sequence":null}},"usage":{{"output_tokens":{}}}}}"#,
                    c.pick(&["null", "\"end_turn\"", "\"max_tokens\""]),
                    c.below(1000)
                ),
            ),
            10 => ("message_stop", r#"{"type":"message_stop"}"#.to_owned()),
            11 => (
                "error",
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
                    .to_owned(),
            ),
            12 => ("ping", r#"{"type": "ping"}"#.to_owned()),
            _ => (
                "",
                c.pick(&[
                    "{nope",
                    "[1]",
                    r#"{"type":"vertex_event"}"#,
                    r#"{"type":5}"#,
                ])
                .to_owned(),
            ),
        };
        if !name.is_empty() && c.chance(200) {
            out.extend_from_slice(b"event: ");
            out.extend_from_slice(name.as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(payload.as_bytes());
        out.extend_from_slice(if c.chance(16) { b"\n" } else { b"\n\n" });
    }
    out
}

fuzz_target!(|input: &[u8]| {
    let generated;
    let mut cuts = Vec::new();
    let stream: &[u8] = match input.first() {
        Some(&h) if h >= HEADER_MIN => {
            let mut c = Choices::new(input.get(1..).unwrap_or_default());
            cuts = (0..c.below(8)).map(|_| usize::from(c.u16())).collect();
            generated = generate(&mut c);
            &generated
        }
        _ => input,
    };
    let plans = splits::plans(stream, &cuts);
    for limit in [DEFAULT_MAX_EVENT_SIZE, 256] {
        let (whole, whole_errors) = feed_run(&[stream], limit);
        let (full, full_errors) = feed_run_with(&[stream], limit, false);
        assert_eq!(full.snapshot, whole.snapshot, "fast path: snapshot differs");
        assert_eq!(full, whole, "fast path: state differs");
        assert_eq!(full_errors, whole_errors, "fast path: errors differ");
        if let Some((name, pieces)) = plans.first() {
            let on = feed_run_with(pieces, limit, true);
            let off = feed_run_with(pieces, limit, false);
            assert_eq!(on, off, "fast path: plan {name} differs");
        }
        for (name, pieces) in &plans {
            let (split, _) = feed_run(pieces, limit);
            assert_eq!(
                split.snapshot, whole.snapshot,
                "snapshot differs: limit {limit}, plan {name}"
            );
            assert_eq!(split, whole, "state differs: limit {limit}, plan {name}");
        }
    }
    let (whole, errors) = feed_run(&[stream], DEFAULT_MAX_EVENT_SIZE);
    if let Some((added, rejected, all_valid)) = add_run(stream) {
        assert_eq!(added.snapshot, whole.snapshot, "add: snapshot differs");
        assert_eq!(added.usage, whole.usage, "add: usage differs");
        assert_eq!(added.status, whole.status, "add: status differs");
        assert_eq!(added.counts, whole.counts, "add: counts differ");
        assert_eq!(added.events, whole.events, "add: events differ");
        // A protocol error's message names the stream offset, which `add`
        // does not know (it gives every payload its own position, 0 here).
        let api = |e: &Option<ApiError>| {
            e.as_ref().map(|e| {
                let synthesized = memchr_protocol(&e.payload);
                (
                    synthesized,
                    if synthesized {
                        Vec::new()
                    } else {
                        e.payload.clone()
                    },
                )
            })
        };
        assert_eq!(api(&added.error), api(&whole.error), "add: error differs");
        assert!(
            rejected >= errors.len().min(1),
            "add accepted what feed rejected"
        );
        if all_valid {
            let parsed = serde_json::from_slice::<serde_json::Value>(&whole.snapshot);
            assert!(
                parsed.is_ok(),
                "valid payloads gave invalid snapshot_json: {}",
                String::from_utf8_lossy(&whole.snapshot)
            );
        }
    }
});
