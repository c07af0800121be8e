use super::*;
use crate::testing::same_with_and_without;

const TEXT: &[u8] = b"event: message_start\n\
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n\
event: content_block_start\n\
data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: ping\ndata: {\"type\": \"ping\"}\n\n\
event: content_block_delta\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n\
event: content_block_delta\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo \\u00e9\"}     }\n\n\
event: content_block_stop\n\
data: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: content_block_start\n\
data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get\",\"input\":{}}}\n\n\
event: content_block_delta\n\
data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\": \"}}\n\n\
event: content_block_delta\n\
data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"[1, 2]}\"}}\n\n\
event: content_block_stop\n\
data: {\"type\":\"content_block_stop\",\"index\":1}\n\n\
event: message_delta\n\
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":12}}\n\n\
event: message_stop\n\
data: {\"type\":\"message_stop\"}\n\n";

fn fold(input: &[u8]) -> Accumulator {
    let mut acc = Accumulator::new(crate::DEFAULT_MAX_EVENT_SIZE, false);
    acc.feed(input, 1).unwrap();
    acc.finish(2).unwrap();
    acc
}

fn json(acc: &Accumulator) -> serde_json::Value {
    serde_json::from_slice(&acc.snapshot_json()).unwrap()
}

#[test]
fn folds_text_and_a_tool_call() {
    let acc = fold(TEXT);
    assert_eq!(acc.status(), Status::Done);
    let message = json(&acc);
    assert_eq!(message["id"], "msg_1");
    assert_eq!(message["model"], "claude-x");
    assert_eq!(message["content"][0]["text"], "Hello é");
    assert_eq!(
        message["content"][1]["input"],
        serde_json::json!({"a": [1, 2]})
    );
    assert_eq!(message["content"][1]["name"], "get");
    assert_eq!(message["stop_reason"], "tool_use");
    assert_eq!(message["stop_sequence"], serde_json::Value::Null);
    assert_eq!(message["usage"]["input_tokens"], 10);
    assert_eq!(message["usage"]["output_tokens"], 12);
    assert_eq!(message["usage"]["cache_read_input_tokens"], 5);
    assert_eq!(acc.chunks(), 12);
    assert_eq!(acc.renamed(), 0);
    assert_eq!(acc.ignored(), 1);
}

#[test]
fn every_split_gives_the_same_message() {
    let whole = fold(TEXT).snapshot_json();
    for at in 0..=TEXT.len() {
        let mut acc = Accumulator::new(crate::DEFAULT_MAX_EVENT_SIZE, false);
        acc.feed(&TEXT[..at], 1).unwrap();
        acc.feed(&TEXT[at..], 1).unwrap();
        acc.finish(2).unwrap();
        assert_eq!(acc.snapshot_json(), whole, "split at {at}");
    }
}

#[test]
fn sparse_indices_sort_and_deltas_create_blocks() {
    let input = b"data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"x\"}}\n\n\
data: {\"type\":\"content_block_delta\",\"index\":7,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}}\n\n\
data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"text\":\"hi\",\"type\":\"text_delta\"}}\n\n\
data: {\"type\":\"content_block_delta\",\"index\":7,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"sig\"}}\n\n\
data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"odd\"}}\n\n";
    let acc = fold(input);
    let message = json(&acc);
    assert_eq!(message["content"][0]["type"], "text");
    assert_eq!(message["content"][0]["text"], "hi");
    assert_eq!(message["content"][0]["thinking"], "odd");
    assert_eq!(message["content"][1]["type"], "thinking");
    assert_eq!(message["content"][1]["thinking"], "hm");
    assert_eq!(message["content"][1]["signature"], "sig");
    assert_eq!(acc.fold().mismatches, 1);
    assert_eq!(acc.status(), Status::Truncated);
}

#[test]
fn invalid_tool_json_is_kept_and_counted() {
    let input = b"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\",\"input\":{}}}\n\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n\n";
    let acc = fold(input);
    let message = json(&acc);
    assert_eq!(message["content"][0]["input"], serde_json::Value::Null);
    assert_eq!(message["content"][0]["input_json"], "{\"a\":");
    assert_eq!(acc.fold().invalid_inputs, 1);
}

#[test]
fn empty_argument_text_keeps_the_start_input() {
    let input = b"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\",\"input\":{}}}\n\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n\
data: {\"type\":\"content_block_stop\",\"index\":0}\n\n";
    let message = json(&fold(input));
    assert_eq!(message["content"][0]["input"], serde_json::json!({}));
    assert!(message["content"][0].get("input_json").is_none());
}

#[test]
fn a_second_message_start_is_a_protocol_error() {
    let mut doubled = TEXT.to_vec();
    doubled.extend_from_slice(TEXT);
    let acc = fold(&doubled);
    assert_eq!(acc.status(), Status::Error);
    let once = fold(TEXT);
    assert_eq!(json(&acc)["content"], json(&once)["content"]);
    let error: serde_json::Value = serde_json::from_slice(&acc.error().unwrap().payload).unwrap();
    assert_eq!(error["error"]["type"], "protocol_error");
}

#[test]
fn statuses() {
    let status = |input: &[u8]| fold(input).status();
    let start = "data: {\"type\":\"message_start\",\"message\":{}}\n\n";
    let stop = |reason: &str| {
        format!(
            "data: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"{reason}\"}}}}\n\n"
        )
    };
    let end = "data: {\"type\":\"message_stop\"}\n\n";
    assert_eq!(status(start.as_bytes()), Status::Truncated);
    assert_eq!(
        status(format!("{start}{}", stop("end_turn")).as_bytes()),
        Status::Finished
    );
    assert_eq!(
        status(format!("{start}{}{end}", stop("end_turn")).as_bytes()),
        Status::Done
    );
    assert_eq!(
        status(format!("{start}{}", stop("max_tokens")).as_bytes()),
        Status::Incomplete
    );
    assert_eq!(
        status(format!("{start}{}{end}", stop("max_tokens")).as_bytes()),
        Status::Incomplete
    );
    // An unterminated final message_stop still counts.
    assert_eq!(
        status(
            format!(
                "{start}{}data: {{\"type\":\"message_stop\"}}",
                stop("end_turn")
            )
            .as_bytes()
        ),
        Status::Done
    );
    let error = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    assert_eq!(status(format!("{start}{error}").as_bytes()), Status::Error);
    let mut acc = Accumulator::new(1024, false);
    acc.feed(start.as_bytes(), 0).unwrap();
    assert_eq!(acc.status(), Status::InProgress);
}

#[test]
fn usage_counters_overwrite_and_never_add() {
    let input = b"data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n\
data: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"output_tokens\":5,\"input_tokens\":null}}\n\n\
data: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"output_tokens\":9}}\n\n";
    let acc = fold(input);
    let usage: serde_json::Value = serde_json::from_slice(&acc.usage_json().unwrap()).unwrap();
    assert_eq!(
        usage,
        serde_json::json!({"input_tokens": 10, "output_tokens": 9})
    );
}

#[test]
fn malformed_payloads_are_errors_with_offsets_and_the_rest_folds() {
    let input = b"data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\ndata: {nope\n\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n";
    let mut acc = Accumulator::new(1024, false);
    let error = acc.feed(input, 0).unwrap_err();
    assert_eq!(error.offset(), Some(53));
    assert_eq!(acc.skipped(), 1);
    assert_eq!(json(&acc)["content"][0]["text"], "x");
}

#[test]
fn routing_is_by_type_and_renamed_events_are_counted() {
    let input = b"event: ping\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n\
event: message_stop\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}\n\n";
    let acc = fold(input);
    assert_eq!(json(&acc)["content"][0]["text"], "x");
    assert_eq!(acc.renamed(), 2);
    assert_eq!(acc.status(), Status::Error);
}

#[test]
fn bedrock_metrics_are_kept_in_usage() {
    let input = b"data: {\"type\":\"message_stop\",\"amazon-bedrock-invocationMetrics\":{\"inputTokenCount\":3,\"outputTokenCount\":4}}\n\n";
    let acc = fold(input);
    let usage: serde_json::Value = serde_json::from_slice(&acc.usage_json().unwrap()).unwrap();
    assert_eq!(
        usage["amazon-bedrock-invocationMetrics"]["inputTokenCount"],
        3
    );
}

#[test]
fn escapes_decode_like_serde_json() {
    let cases: [&[u8]; 13] = [
        br#""plain""#,
        br#""a\"b\\c\/d\b\f\n\r\t""#,
        "\"\\u00e9\\u4f60\\ud83d\\ude00 raw é\"".as_bytes(),
        br#""{\"city\": \"Paris\"}""#,
        br#""\ud800""#,
        br#""\udc00x""#,
        br#""\ud800\u0041""#,
        br#""\x""#,
        br#""\u12""#,
        br#""\u12G4""#,
        b"\"\\n\x01\"",
        b"\"\\n\xff\"",
        br#""\""#,
    ];
    for case in cases {
        let expected = serde_json::from_slice::<String>(case).ok();
        let mut out = String::new();
        let mut cursor = crate::json::Cursor::new(case);
        let got = reader::append_string(&mut cursor, &mut out)
            .ok()
            .map(|_| out);
        assert_eq!(got, expected, "{}", String::from_utf8_lossy(case));
    }
}

#[test]
fn the_compact_delta_path_reads_like_the_full_read() {
    let cases: [&[u8]; 12] = [
        br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi \"x\""}}"#,
        br#"{"type":"content_block_delta","index":12,"delta":{"type":"input_json_delta","partial_json":"{\"a\""}}       "#,
        br#"{"type":"content_block_delta","index":3,"delta":{"type":"thinking_delta","thinking":""} }"#,
        br#"{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"x"}}"#,
        br#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"x"},"index":2}"#,
        br#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"x","text":"y"}}"#,
        br#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"\ud800"}}"#,
        br#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":5}}"#,
        br#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"x"}} x"#,
        br#"{"type":"content_block_delta","index":99999999999999999999,"delta":{"type":"text_delta","text":"x"}}"#,
        br#"{"type":"content_block_delta","index":1.5,"delta":{"type":"text_delta","text":"x"}}"#,
        br#"{"type":"content_block_delta","index":7,"delta":{"type":"text_delta","text":"x"}"#,
    ];
    for case in cases {
        let mut fast = reader::Scratch::default();
        let mut full = reader::Scratch::default();
        let got = reader::read(case, &mut fast);
        let want = reader::read_any(case, &mut full);
        let text = String::from_utf8_lossy(case);
        assert_eq!(got, want, "{text}");
        if got.is_ok() {
            assert_eq!(fast.arena, full.arena, "{text}");
        }
    }
}

#[test]
fn argument_text_after_the_stop_streams_again_and_the_snapshot_stays_json() {
    let start = b"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\",\"input\":{}}}\n\n";
    let part = |text: &str| {
        let payload = serde_json::json!({
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": text},
        });
        format!("data: {payload}\n\n").into_bytes()
    };
    let stop = b"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n";
    let mut acc = Accumulator::new(1 << 20, false);
    for read in [
        &start[..],
        &part("{\"a\": 1}"),
        stop,
        start,
        &part("{\"b\": "),
    ] {
        acc.feed(read, 0).ok();
    }
    // Mid-stream: the start's input, with all the text so far.
    let message = json(&acc);
    assert_eq!(message["content"][0]["input"], serde_json::json!({}));
    assert_eq!(message["content"][0]["input_json"], "{\"a\": 1}{\"b\": ");
    acc.finish(0).ok();
    let message = json(&acc);
    assert_eq!(message["content"][0]["input"], serde_json::Value::Null);
    assert_eq!(acc.fold().invalid_inputs, 1);
}

#[test]
fn escapes_decode_like_serde_json_at_every_word_position() {
    for at in 0..=24 {
        for insert in [
            "\\\"",
            "\\n",
            "\\u00e9",
            "é",
            "\\ud83d\\ude00",
            "\u{1}\\t",
            "\\q",
        ] {
            let body = format!("{}{insert}{}", "a".repeat(at), "b".repeat(24 - at));
            let case = format!("\"{body}\"   }}");
            let expected = serde_json::from_str::<String>(&format!("\"{body}\"")).ok();
            let mut out = String::from("kept");
            let mut cursor = crate::json::Cursor::new(case.as_bytes());
            let got = reader::append_string(&mut cursor, &mut out);
            match expected {
                Some(text) => {
                    assert_eq!(got, Ok(true), "{case}");
                    assert_eq!(out, format!("kept{text}"), "{case}");
                    assert_eq!(cursor.position(), body.len() + 2, "{case}");
                }
                None => {
                    assert!(got.is_err(), "{case}");
                    assert_eq!(out, "kept", "{case}");
                }
            }
        }
    }
    let mut out = String::new();
    let unterminated = br#""abcdefghijklmnop\"qrstuvwxyz"#;
    let mut cursor = crate::json::Cursor::new(unterminated);
    assert!(reader::append_string(&mut cursor, &mut out).is_err());
    assert_eq!((out.as_str(), cursor.position()), ("", unterminated.len()));
}

/// Everything a fold ends with, to compare folds with the fast path on and
/// off.
#[derive(Debug, PartialEq)]
struct Outcome {
    snapshot: Vec<u8>,
    usage: Option<Vec<u8>>,
    status: Status,
    counts: [u64; 8],
    done: bool,
    error: Option<ApiError>,
    events: Vec<Event>,
    timings: Timings,
    errors: Vec<Error>,
}

/// Folds `stream` in reads of `step` bytes, read `i` at time `i`, with
/// events on; the outcome and how many payloads the fast path folded.
fn fold_fast(stream: &[u8], step: usize, fast: bool) -> (Outcome, u64) {
    let mut acc = Accumulator::new(crate::DEFAULT_MAX_EVENT_SIZE, true);
    acc.set_fast_path(fast);
    let mut errors = Vec::new();
    for (i, piece) in stream.chunks(step.max(1)).enumerate() {
        if let Err(error) = acc.feed(piece, i as u64) {
            errors.push(error);
        }
    }
    assert_eq!(acc.finish(u64::MAX), Ok(()));
    let fold = acc.fold();
    let outcome = Outcome {
        snapshot: acc.snapshot_json(),
        usage: acc.usage_json(),
        status: acc.status(),
        counts: [
            acc.chunks(),
            acc.skipped(),
            acc.ignored(),
            acc.renamed(),
            fold.mismatches,
            fold.invalid_inputs,
            fold.unknown_deltas,
            acc.bytes(),
        ],
        done: acc.done(),
        error: acc.error().cloned(),
        events: acc.take_events(),
        timings: acc.timings(),
        errors,
    };
    (outcome, acc.state.fast_hits)
}

/// Asserts that the fast path changes nothing for `stream`, read whole, in
/// small reads and byte by byte; how many payloads it folded.
#[test]
fn the_fast_path_changes_nothing_on_any_fixture() {
    let mut hits = 0;
    for (name, stream) in crate::testing::fixtures("anthropic", 50) {
        hits += same_with_and_without(&name, &stream, fold_fast);
    }
    hits += same_with_and_without("TEXT", TEXT, fold_fast);
    // Recorded streams are mostly delta events: most take the fast path.
    assert!(hits > 1000, "{hits} fast-path payloads");
}

#[test]
fn the_fast_path_changes_nothing_on_odd_deltas() {
    let start = |index: u32, block: &str| {
        format!(
            "event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":{index},\"content_block\":{block}}}\n\n"
        )
    };
    let delta = |name: &str, index: &str, kind: &str, field: &str, value: &str, tail: &str| {
        format!(
            "event: {name}\ndata: {{\"type\":\"content_block_delta\",\"index\":{index},\"delta\":{{\"type\":\"{kind}\",\"{field}\":{value}}}{tail}\n\n"
        )
    };
    let tool = r#"{"type":"tool_use","id":"t","name":"f","input":{}}"#;
    let text = r#"{"type":"text","text":"A"}"#;
    let thinking = r#"{"type":"thinking","thinking":"","signature":""}"#;
    let values = [
        r#""plain""#,
        r#""{\"a\": [1, \"x\"]}""#,
        r#""\u00e9\ud83d\ude00 é 你好""#,
        r#""a\nb\tc\\d\/e\"f""#,
        r#""""#,
        r#""\ud800""#,
        r#""\x""#,
        "\"raw\u{1}control\"",
        "\"raw\u{1}control\\n\"",
        r#""unterminated"#,
        "5",
        "null",
        r#""a","partial_json":"b""#,
        r#""abcdefghijklmnopqrstuvwxyz0123456789\"abcdefghijklmnop""#,
    ];
    let tails = [
        "}",
        "}    }",
        "} } ",
        "}} x",
        "},\"index\":3}",
        "}\n",
        "}\u{c}}",
    ];
    let kinds = [
        ("text_delta", "text"),
        ("input_json_delta", "partial_json"),
        ("thinking_delta", "thinking"),
    ];
    let mut stream = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"x\",\"content\":[]}}\n\n",
    );
    // Deltas before their block, then blocks of every kind, each with
    // deltas of every kind, shape and value; a stop and more text after it.
    for (i, (kind, field)) in kinds.iter().enumerate() {
        stream += &delta("content_block_delta", "9", kind, field, r#""early""#, "}");
        for (index, block) in [tool, text, thinking].iter().enumerate() {
            let index = index + 3 * i;
            stream += &start(index as u32, block);
            for (v, value) in values.iter().enumerate() {
                let tail = tails[v % tails.len()];
                let name = if v % 5 == 4 {
                    "renamed"
                } else {
                    "content_block_delta"
                };
                for (other, field) in kinds {
                    stream += &delta(name, &index.to_string(), other, field, value, tail);
                    stream += &delta(name, &index.to_string(), other, field, value, "}");
                }
            }
            stream += &format!("data: {{\"type\":\"content_block_stop\",\"index\":{index}}}\n\n");
            stream += &delta(
                "content_block_delta",
                &index.to_string(),
                kind,
                field,
                r#""{}""#,
                "}",
            );
        }
    }
    stream += &delta(
        "content_block_delta",
        "01",
        "text_delta",
        "text",
        r#""x""#,
        "}",
    );
    stream += &delta(
        "content_block_delta",
        "-1",
        "text_delta",
        "text",
        r#""x""#,
        "}",
    );
    stream += "data: {\"type\":\"message_stop\"}\n\n";
    let hits = same_with_and_without("odd deltas", stream.as_bytes(), fold_fast);
    assert!(hits > 100, "{hits} fast-path payloads");
}

#[test]
fn the_fast_decoder_decodes_like_the_full_one_at_every_block_position() {
    let inserts = [
        "\\\"",
        "\\\\",
        "\\n",
        "\\u00e9",
        "é",
        "\\ud83d\\ude00",
        "\u{1}\\t",
        "\u{1}",
        "\\q",
        "\\ud800",
        "\\u12",
        "\u{7f}",
        "\\\\\\\"",
        "\\\"\\\"x\\\"",
        "\\/\\b\\f\\n\\r\\t",
        "a\\\"b\\\\c\\u0041d\\\"é\\\"",
        "\\\"\\u00e9\\\"\\ud83d\\ude00\\\"",
        "\\\"\\q\\\"",
        "\\\"\u{1}\\\"",
    ];
    for at in 0..=40 {
        for insert in inserts {
            let body = format!("{}{insert}{}", "a".repeat(at), "b".repeat(40 - at));
            for tail in ["\"", "\"}}", "\"   }  }      "] {
                let case = format!("\"{body}{tail}");
                let mut full = String::from("kept");
                let mut cursor = crate::json::Cursor::new(case.as_bytes());
                let want = reader::append_string(&mut cursor, &mut full);
                let mut fast = b"kept".to_vec();
                match crate::json::strings::decode_fast(case.as_bytes(), 1, &mut fast) {
                    Some(end) => {
                        assert_eq!(want, Ok(true), "{case}");
                        assert_eq!(fast, full.as_bytes(), "{case}");
                        assert_eq!(end, cursor.position(), "{case}");
                    }
                    None => {
                        assert_eq!(fast, b"kept", "{case}");
                        // Only raw control characters are left to the full
                        // read when it would take the string.
                        assert!(want.is_err() || insert.contains('\u{1}'), "{case}");
                    }
                }
            }
            let cut = format!("\"{body}");
            let mut fast = Vec::new();
            assert_eq!(
                crate::json::strings::decode_fast(cut.as_bytes(), 1, &mut fast),
                None
            );
            assert!(fast.is_empty());
        }
    }
}
