use super::*;
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
