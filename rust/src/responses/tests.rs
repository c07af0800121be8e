use super::*;
use crate::stream::{ApiError, Timings};
use crate::testing::same_with_and_without;
use crate::DEFAULT_MAX_EVENT_SIZE;

const TEXT: &[u8] = include_bytes!("../../../tests/data/fixtures/responses/mira-text-gpt4o.sse");
const TOOLS: &[u8] =
    include_bytes!("../../../tests/data/fixtures/responses/mira-parallel-function-calls.sse");
const REASONING: &[u8] = include_bytes!(
    "../../../tests/data/fixtures/responses/vercel-xai-reasoning-summary-grok43.sse"
);
const FAILED: &[u8] = include_bytes!(
    "../../../tests/data/fixtures/responses/vercel-openai-error-insufficient-quota-then-failed.sse"
);
const INCOMPLETE: &[u8] =
    include_bytes!("../../../tests/data/fixtures/responses/mira-incomplete-max-output-tokens.sse");

fn fold(pieces: &[&[u8]]) -> Accumulator {
    let mut acc = Accumulator::new(DEFAULT_MAX_EVENT_SIZE, true, false);
    for piece in pieces {
        assert_eq!(acc.feed(piece, 0), Ok(()));
    }
    assert_eq!(acc.finish(), Ok(()));
    acc
}

fn json(acc: &Accumulator) -> serde_json::Value {
    serde_json::from_slice(&acc.snapshot_json()).unwrap()
}

fn frame(payload: &str) -> Vec<u8> {
    format!("data: {payload}\n\n").into_bytes()
}

#[test]
fn text_stream_folds_to_its_completed_response() {
    let acc = fold(&[TEXT]);
    assert_eq!(acc.status(), Status::Done);
    assert_eq!(acc.finish_reason().as_deref(), Some("completed"));
    let value = json(&acc);
    assert_eq!(value["status"], "completed");
    assert_eq!(value["model"], "gpt-4o-2024-08-06");
    assert!(value["usage"]["input_tokens"].as_i64().unwrap() > 0);
    let text = value["output"][0]["content"][0]["text"].as_str().unwrap();
    assert!(!text.is_empty());
}

#[test]
fn every_split_point_gives_the_same_fold() {
    for stream in [TEXT, TOOLS, FAILED] {
        let whole = fold(&[stream]);
        for cut in 0..=stream.len() {
            let split = fold(&[&stream[..cut], &stream[cut..]]);
            assert_eq!(split.snapshot_json(), whole.snapshot_json(), "cut at {cut}");
            assert_eq!(split.status(), whole.status());
            assert_eq!(split.chunks(), whole.chunks());
        }
    }
}

#[test]
fn folded_items_match_the_terminal_output() {
    // Without the terminal event, the folded items alone rebuild the output.
    for stream in [TEXT, TOOLS, REASONING] {
        let whole = json(&fold(&[stream]));
        let cut = memchr::memmem::rfind(stream, b"event: response.completed").unwrap();
        let cut_off = fold(&[&stream[..cut]]);
        assert_eq!(cut_off.status(), Status::Truncated);
        let partial = json(&cut_off);
        let strip = |v: &serde_json::Value| -> Vec<serde_json::Value> {
            v["output"].as_array().unwrap().clone()
        };
        assert_eq!(strip(&partial), strip(&whole));
    }
}

#[test]
fn error_then_failed_is_an_error_with_the_failed_usage() {
    let acc = fold(&[FAILED]);
    assert_eq!(acc.status(), Status::Error);
    let error = acc.error().unwrap();
    assert!(error.payload.starts_with(br#"{"type":"error""#));
    assert_eq!(json(&acc)["status"], "failed");
}

#[test]
fn incomplete_keeps_its_reason() {
    let acc = fold(&[INCOMPLETE]);
    assert_eq!(acc.status(), Status::Incomplete);
    assert_eq!(acc.finish_reason().as_deref(), Some("max_output_tokens"));
}

#[test]
fn duplicates_are_skipped_and_gaps_counted() {
    let delta = |seq: i64, text: &str| {
        frame(&format!(
            r#"{{"type":"response.output_text.delta","sequence_number":{seq},"item_id":"m","output_index":0,"content_index":0,"delta":"{text}"}}"#
        ))
    };
    let stream = [
        delta(1, "a"),
        delta(2, "b"),
        delta(2, "b"),
        delta(1, "a"),
        delta(5, "c"),
    ]
    .concat();
    let acc = fold(&[&stream]);
    let value = json(&acc);
    assert_eq!(value["output"][0]["content"][0]["text"], "abc");
    assert_eq!(acc.fold().counts.duplicates, 2);
    assert_eq!(acc.fold().counts.gaps, 1);
    assert_eq!(acc.status(), Status::Truncated);
}

#[test]
fn items_keyed_by_output_index_in_any_order_and_by_item_id_without_one() {
    let stream = [
        frame(r#"{"type":"response.function_call_arguments.delta","output_index":7,"item_id":"fc","delta":"{\"a\""}"#),
        frame(r#"{"type":"response.output_text.delta","output_index":2,"item_id":"m","content_index":1,"delta":"hi"}"#),
        frame(r#"{"type":"response.function_call_arguments.delta","item_id":"fc","delta":":1}"}"#),
        frame(r#"{"type":"response.output_text.delta","output_index":2,"item_id":"other","content_index":1,"delta":"!"}"#),
        frame(r#"{"type":"keepalive"}"#),
        frame(r#"{"type":"ping"}"#),
    ]
    .concat();
    let acc = fold(&[&stream]);
    let value = json(&acc);
    assert_eq!(value["output"][0]["id"], "m");
    assert_eq!(value["output"][0]["content"][0]["text"], "hi!");
    assert_eq!(value["output"][1]["id"], "fc");
    assert_eq!(value["output"][1]["arguments"], r#"{"a":1}"#);
    assert_eq!(acc.fold().counts.item_id_mismatches, 1);
    assert_eq!(acc.fold().counts.ignored, 2);
}

#[test]
fn done_values_replace_what_was_folded_and_nothing_after_the_terminal_counts() {
    let stream = [
        frame(r#"{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"draft"}"#),
        frame(r#"{"type":"response.output_text.done","output_index":0,"content_index":0,"text":"final"}"#),
        frame(r#"{"type":"response.completed","response":{"id":"r1","output":[],"usage":{"input_tokens":3}}}"#),
        frame(r#"{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"late"}"#),
        frame("[DONE]"),
    ]
    .concat();
    let acc = fold(&[&stream]);
    let value = json(&acc);
    assert_eq!(value["output"][0]["content"][0]["text"], "final");
    assert_eq!(value["id"], "r1");
    assert_eq!(value["usage"]["input_tokens"], 3);
    assert_eq!(acc.chunks(), 3);
    assert!(acc.done());
}

#[test]
fn malformed_payloads_are_skipped_and_reported_with_their_offset() {
    let good = frame(r#"{"type":"response.output_text.delta","output_index":0,"delta":"a"}"#);
    let bad = frame("{nope");
    let stream = [good.clone(), bad, good.clone()].concat();
    let mut acc = Accumulator::new(DEFAULT_MAX_EVENT_SIZE, false, false);
    let error = acc.feed(&stream, 0).unwrap_err();
    assert_eq!(error.offset(), Some(good.len() as u64));
    assert_eq!(acc.skipped(), 1);
    assert_eq!(json(&acc)["output"][0]["content"][0]["text"], "aa");
}

#[test]
fn hostile_inputs_are_bounded() {
    let mut acc = Accumulator::new(1024, false, false);
    let deep = [b"data: ".as_slice(), &vec![b'['; 100_000], b"\n\n"].concat();
    assert!(acc.feed(&deep, 0).is_err());
    let huge = frame(
        r#"{"type":"response.output_text.delta","output_index":9223372036854775807,"content_index":-9223372036854775808,"delta":"x"}"#,
    );
    assert_eq!(acc.feed(&huge, 0), Ok(()));
    assert!(acc.feed(&vec![b'x'; 10_000], 0).is_err());
    assert!(serde_json::from_slice::<serde_json::Value>(&acc.snapshot_json()).is_ok());
}

#[test]
fn nesting_depth_of_kept_objects() {
    assert_eq!(
        reader::depth_for_tests(br#"{"a":[1,{"b":"[[[{"}],"c":{}}"#),
        3
    );
    assert_eq!(reader::depth_for_tests(br#""\"[""#), 0);
    let nest = |n: usize| {
        let item = format!(r#"{{"type":"x","d":{}{}}}"#, "[".repeat(n), "]".repeat(n));
        frame(&format!(
            r#"{{"type":"response.output_item.added","output_index":0,"item":{item}}}"#
        ))
    };
    let mut acc = Accumulator::new(DEFAULT_MAX_EVENT_SIZE, false, false);
    assert_eq!(acc.feed(&nest(reader::MAX_DEPTH - 1), 0), Ok(()));
    assert!(acc.feed(&nest(reader::MAX_DEPTH), 0).is_err());
    assert_eq!(acc.skipped(), 1);
}

/// Everything a fold ends with, to compare folds with and without the
/// event templates.
#[derive(Debug, PartialEq)]
struct Outcome {
    snapshot: Vec<u8>,
    status: Status,
    reason: Option<String>,
    chunks: u64,
    skipped: u64,
    done: bool,
    error: Option<ApiError>,
    counts: Counts,
    events: Vec<Event>,
    timings: Timings,
    errors: Vec<Error>,
}

/// Folds `stream` in reads of `step` bytes, read `i` at time `i`; returns
/// the outcome and how many payloads a template matched.
fn fold_templated(stream: &[u8], step: usize, templates: bool) -> (Outcome, u64) {
    let mut acc = Accumulator::new(DEFAULT_MAX_EVENT_SIZE, true, true);
    acc.set_templates(templates);
    let mut errors = Vec::new();
    for (i, piece) in stream.chunks(step.max(1)).enumerate() {
        if let Err(error) = acc.feed(piece, i as u64) {
            errors.push(error);
        }
    }
    assert_eq!(acc.finish(), Ok(()));
    let outcome = Outcome {
        snapshot: acc.snapshot_json(),
        status: acc.status(),
        reason: acc.finish_reason(),
        chunks: acc.chunks(),
        skipped: acc.skipped(),
        done: acc.done(),
        error: acc.error().cloned(),
        counts: acc.fold().counts,
        events: acc.take_events(),
        timings: acc.timings(),
        errors,
    };
    (outcome, acc.state.templates.hits)
}

/// Asserts that the templates change nothing for `stream`, read whole, in
/// small reads and byte by byte; returns how many payloads they matched.
#[test]
fn templates_change_nothing_on_any_fixture() {
    let mut hits = 0;
    for (name, stream) in crate::testing::fixtures("responses", 70) {
        hits += same_with_and_without(&name, &stream, fold_templated);
    }
    // Recorded streams are mostly delta events: most of them take the fast path.
    assert!(hits > 1000, "{hits} template matches");
}

fn delta_event(head: &str, seq: &str, delta: &str, tail: &str) -> Vec<u8> {
    frame(&format!(
        r#"{{"type":"response.output_text.delta",{head}"sequence_number":{seq},"item_id":"msg_1","output_index":0,"content_index":0,"delta":{delta},"logprobs":[]{tail}}}"#
    ))
}

#[test]
fn templates_keep_sequence_numbers_duplicates_and_gaps() {
    let pad = |p: &str| format!(r#","obfuscation":"{p}""#);
    let stream = [
        delta_event("", "1", r#""""#, &pad("a")),
        delta_event("", "2", r#""Hel""#, &pad("abcdef")),
        // A duplicate, byte for byte and with another delta and padding.
        delta_event("", "2", r#""Hel""#, &pad("abcdef")),
        delta_event("", "2", r#""xx""#, &pad("q")),
        delta_event("", "1", r#""yy""#, &pad("q")),
        delta_event("", "3", r#""lo""#, &pad("")),
        // A gap, then numbers the fast path leaves to the full read.
        delta_event("", "7", r#"" w""#, &pad("\\\"esc")),
        delta_event("", "008", r#""o""#, &pad("z")),
        delta_event("", "9.5", r#""r""#, &pad("z")),
        delta_event("", "1e3", r#""l""#, &pad("z")),
        delta_event("", "99999999999999999999", r#""d""#, &pad("z")),
        delta_event("", "999999999999999999", r#""!""#, &pad("z")),
        delta_event("", "-5", r#""no""#, &pad("z")),
        delta_event("", "null", r#""?""#, &pad("z")),
    ]
    .concat();
    let hits = same_with_and_without("sequence numbers", &stream, fold_templated);
    assert!(hits >= 4, "{hits}");
    let (outcome, _) = fold_templated(&stream, stream.len(), true);
    let value: serde_json::Value = serde_json::from_slice(&outcome.snapshot).unwrap();
    assert_eq!(value["output"][0]["content"][0]["text"], "Hello world!?");
    assert_eq!(outcome.counts.duplicates, 4);
}

#[test]
fn templates_keep_interleaved_items_mismatched_ids_and_padding() {
    let call = |index: u32, id: &str, delta: &str, pad: &str| {
        frame(&format!(
            r#"{{"type":"response.function_call_arguments.delta","item_id":"{id}","output_index":{index},"delta":"{delta}","obfuscation":{pad}}}"#
        ))
    };
    let stream = [
        call(1, "fc_1", "{", r#""p""#),
        call(2, "fc_2", "[", r#""pp""#),
        call(1, "fc_1", "\\\"a\\\"", r#""ppp""#),
        call(2, "fc_2", "1", r#""""#),
        call(1, "fc_1", ":1", r#""\u0041""#),
        // The same bytes but for the id: a mismatch, counted each time.
        call(1, "fc_9", "}", r#""p""#),
        call(1, "fc_9", "", r#""p""#),
        call(2, "fc_2", "]", r#"7"#),
        call(2, "fc_2", "", r#"null"#),
        // Not UTF-8, and whitespace where the template has none.
        call(3, "fc_3", "\u{e9}", r#""p""#),
        [
            b"data: ".as_slice(),
            br#"{"type":"response.function_call_arguments.delta","item_id":"fc_3","output_index":3,"delta":""#,
            b"\xff\xfe",
            br#"","obfuscation":"p"}"#,
            b"\n\n",
        ]
        .concat(),
        frame(r#"{"type":"response.function_call_arguments.delta","item_id":"fc_3","output_index":3,"delta": "x","obfuscation":"p"}"#),
        frame(r#"{"type":"response.function_call_arguments.delta","item_id":"fc_3","output_index":3,"delta":"y","obfuscation":"p"} "#),
        // Keys repeated, and values of other types where the holes were.
        frame(r#"{"type":"response.function_call_arguments.delta","item_id":"fc_3","output_index":3,"delta":"z","obfuscation":"p","delta":"Z"}"#),
        call(3, "fc_3", "w", r#""p","delta":null"#),
        frame(r#"{"type":"response.function_call_arguments.delta","item_id":"fc_3","output_index":3,"delta":null,"obfuscation":"p"}"#),
        frame(r#"{"type":"response.function_call_arguments.delta","item_id":"fc_3","output_index":3,"delta":{"a":1},"obfuscation":"p"}"#),
        // Malformed where a hole was, and after one.
        frame(r#"{"type":"response.function_call_arguments.delta","item_id":"fc_3","output_index":3,"delta":"v,"obfuscation":"p"}"#),
        frame(r#"{"type":"response.function_call_arguments.delta","item_id":"fc_3","output_index":3,"delta":"\q","obfuscation":"p"}"#),
        frame(r#"{"type":"response.function_call_arguments.delta","item_id":"fc_3","output_index":3,"delta":"u","obfuscation":"p"}}"#),
    ]
    .concat();
    let hits = same_with_and_without("interleaved", &stream, fold_templated);
    assert!(hits >= 5, "{hits}");
    let (outcome, _) = fold_templated(&stream, stream.len(), true);
    let value: serde_json::Value = serde_json::from_slice(&outcome.snapshot).unwrap();
    assert_eq!(value["output"][0]["arguments"], r#"{"a":1}"#);
    assert_eq!(value["output"][1]["arguments"], "[1]");
    assert_eq!(outcome.counts.item_id_mismatches, 2);
    assert_eq!(outcome.skipped, 3);
}

#[test]
fn templates_keep_first_token_times_events_and_errors() {
    let delta = |seq: u32, delta: &str| {
        frame(&format!(
            r#"{{"type":"response.reasoning_summary_text.delta","sequence_number":{seq},"item_id":"rs","output_index":0,"summary_index":0,"delta":"{delta}","obfuscation":"pad"}}"#
        ))
    };
    let stream = [
        delta(0, ""),
        delta(1, ""),
        delta(2, ""),
        delta(3, "think"),
        // The same payload as an SSE error event: an error, not a delta.
        [b"event: error\n".as_slice(), &delta(4, "boom")].concat(),
        delta(5, "ing"),
        frame(r#"{"type":"response.completed","sequence_number":6,"response":{"id":"r","output":[]}}"#),
        delta(7, "late"),
    ]
    .concat();
    let hits = same_with_and_without("timings", &stream, fold_templated);
    assert!(hits >= 3, "{hits}");
    // One read per event: the first token is the fourth read's.
    let events: Vec<Vec<u8>> = stream
        .split_inclusive(|&b| b == b'\n')
        .collect::<Vec<_>>()
        .chunks(1)
        .map(|lines| lines.concat())
        .collect();
    for templates in [true, false] {
        let mut acc = Accumulator::new(DEFAULT_MAX_EVENT_SIZE, true, false);
        acc.set_templates(templates);
        let mut now = 0;
        for line in &events {
            now += u64::from(line == b"\n");
            assert_eq!(acc.feed(line, now), Ok(()));
        }
        assert_eq!(acc.timings().first_token, Some(4));
        assert_eq!(acc.status(), Status::Error);
        let texts: Vec<String> = acc
            .take_events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Text { delta, .. } => Some(delta),
                _ => None,
            })
            .collect();
        assert_eq!(texts, ["", "", "", "think", "ing"]);
        assert_eq!(json(&acc)["output"][0]["summary"][0]["text"], "thinking");
    }
}
