use super::*;

fn fold(pieces: &[&[u8]]) -> Accumulator {
    fold_with(pieces, false)
}

fn fold_with(pieces: &[&[u8]], uncached: bool) -> Accumulator {
    let mut acc = Accumulator::default();
    acc.set_caches(!uncached);
    for (i, piece) in pieces.iter().enumerate() {
        let _ = acc.feed(piece, i as u64);
    }
    assert!(acc.finish().is_ok());
    acc
}

fn completion(acc: &Accumulator) -> String {
    let json = acc.snapshot_json();
    // The binding's way, counted and then written in place, gives the same bytes.
    let mut filled = vec![0; acc.snapshot_len()];
    assert!(acc.write_snapshot(&mut filled));
    assert_eq!(filled, json);
    String::from_utf8_lossy(&json).into_owned()
}

const TEXT: &[u8] = b"data: {\"id\":\"\",\"created\":0,\"choices\":[]}\n\n\
data: {\"id\":\"c1\",\"created\":5,\"model\":\"m\",\"obfuscation\":\"zz\",\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"index\":0}]}\n\n\
data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n\
data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":null}}]}\n\n\
data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\u00e9\"},\"finish_reason\":\"stop\"}]}\n\n\
data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n\
data: {\"id\":\"c1\",\"choices\":[],\"usage\":null}\n\n\
data: [DONE]\n\n";

#[test]
fn folds_text_with_merge_rules() {
    let acc = fold(&[TEXT]);
    assert_eq!(
        completion(&acc),
        "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":5,\"model\":\"m\",\"choices\":[{\"index\":0,\
         \"message\":{\"role\":\"assistant\",\"content\":\"Hello é\"},\"finish_reason\":\"stop\"}],\
         \"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}"
    );
    assert_eq!(acc.status(), Status::Done);
    assert_eq!(acc.chunks(), 7);
}

#[test]
fn any_split_gives_the_same_result() {
    let whole = completion(&fold(&[TEXT]));
    for cut in 0..=TEXT.len() {
        let (a, b) = TEXT.split_at(cut);
        assert_eq!(completion(&fold(&[a, b])), whole, "cut {cut}");
    }
}

#[test]
fn tool_calls_by_index_and_without() {
    let body = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[\
{\"index\":1,\"id\":\"a\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\"\"}},\
{\"index\":2,\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"\"}}]}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"\",\"function\":{\"name\":\"f\",\"arguments\":\":1}\"}},\
{\"index\":2,\"function\":{\"arguments\":\"{}\"}}]}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"m1\",\"function\":{\"name\":\"h\",\"arguments\":\"[\"}}]}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\"]\"}}]}}]}\n\n";
    let acc = fold(&[body]);
    let tools = acc
        .fold()
        .choice(0)
        .map(|c| c.tools.clone())
        .unwrap_or_default();
    let summary: Vec<(&str, &str, &str)> = tools
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str(), t.arguments.as_str()))
        .collect();
    assert_eq!(
        summary,
        [("a", "f", "{\"x\":1}"), ("b", "g", "{}"), ("m1", "h", "[]")]
    );
    assert_eq!(acc.status(), Status::Truncated);
}

#[test]
fn tool_calls_come_out_by_index_value() {
    let body = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"u\",\"function\":{\"name\":\"n\"}}]}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"g\"}}]}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\"}}]}}]}\n\n";
    let acc = fold(&[body]);
    let ids: Vec<String> = acc
        .fold()
        .choice(0)
        .map(|c| c.tools_in_order().iter().map(|t| t.id.clone()).collect())
        .unwrap_or_default();
    assert_eq!(ids, ["a", "b", "u"]);
}

#[test]
fn huge_and_negative_indices_do_not_allocate() {
    let body = b"data: {\"choices\":[{\"index\":1000000000000000000,\"delta\":{\"content\":\"a\"},\"finish_reason\":\"stop\"},\
{\"index\":-3,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"length\"}]}\n\n";
    let acc = fold(&[body]);
    let keys: Vec<i64> = acc.fold().choices.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, [-3, 1_000_000_000_000_000_000]);
    assert_eq!(acc.status(), Status::Finished);
}

#[test]
fn malformed_payload_is_reported_and_the_rest_folded() {
    let mut acc = Accumulator::default();
    let body =
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\ndata: {nope\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\n";
    let result = acc.feed(body, 0);
    assert!(
        matches!(result, Err(Error::Json { offset: 57, .. })),
        "{result:?}"
    );
    assert_eq!(
        acc.fold().choice(0).and_then(|c| c.content.as_deref()),
        Some("ab")
    );
    assert_eq!(acc.skipped(), 1);
}

#[test]
fn of_two_errors_in_one_read_the_earlier_is_reported() {
    let malformed = b"data: {nope\n\n".as_slice();
    let oversized = [b"data: ".as_slice(), &[b'x'; 40], b"\n\n"].concat();
    for (body, json_first) in [
        ([malformed, &oversized].concat(), true),
        ([&oversized, malformed].concat(), false),
    ] {
        let mut acc = Accumulator::new(16, false);
        let result = acc.feed(&body, 0);
        assert!(
            matches!(
                (&result, json_first),
                (Err(Error::Json { offset: 0, .. }), true)
                    | (Err(Error::EventTooLarge { offset: 0, .. }), false)
            ),
            "{result:?}"
        );
        assert_eq!(acc.skipped(), 1, "the malformed chunk is skipped");
    }
}

#[test]
fn api_errors_are_kept_and_their_usage_folded() {
    let body = b"data: {\"error\":{\"message\":\"x\"},\"choices\":[],\"usage\":{\"total_tokens\":9}}\n\ndata: [DONE]\n\n";
    let acc = fold(&[body]);
    assert_eq!(acc.status(), Status::Error);
    assert!(acc.error().is_some_and(|e| !e.event));
    assert!(acc.fold().usage.is_some());
    let acc = fold(&[b"event: error\ndata: not json\n\n"]);
    assert!(acc
        .error()
        .is_some_and(|e| e.event && e.payload == b"not json"));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let mut body = b"data: {\"x\":".to_vec();
    body.extend(std::iter::repeat_n(b'[', 100_000));
    body.extend_from_slice(b"\n\n");
    let mut acc = Accumulator::default();
    assert!(matches!(acc.feed(&body, 0), Err(Error::Json { .. })));
}

#[test]
fn every_fixture_folds_the_same_in_any_split() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/fixtures");
    let mut seen = 0;
    for dir in ["openai", "providers"] {
        let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "sse") {
                continue;
            }
            let Ok(body) = std::fs::read(&path) else {
                continue;
            };
            let whole = completion(&fold(&[&body]));
            let uncached = completion(&fold_with(&[&body], true));
            assert_eq!(whole, uncached, "{path:?}: the caches changed the result");
            for cut in (0..body.len()).step_by((body.len() / 16).max(1)) {
                let (a, b) = body.split_at(cut);
                assert_eq!(completion(&fold(&[a, b])), whole, "{path:?} cut {cut}");
            }
            let bytes: Vec<&[u8]> = body.chunks(7).collect();
            assert_eq!(completion(&fold(&bytes)), whole, "{path:?}");
            seen += 1;
        }
    }
    assert!(seen >= 90, "fixtures not found under {root}");
}

#[test]
fn caches_never_skip_a_changed_fingerprint() {
    let chunk = |fp: &str, text: &str, finish: &str| {
        format!(
            "data: {{\"id\":\"c\",\"model\":\"m\",\"created\":1,\"system_fingerprint\":\"{fp}\",\
\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}},\"finish_reason\":{finish}}}],\
\"obfuscation\":\"{text}{text}\"}}\n\n"
        )
    };
    let body = [
        chunk("fp1", "a", "null"),
        chunk("fp1", "b\\n", "null"),
        chunk("fp2", "c", "\"length\""),
        chunk("fp1", "d", "null"),
        chunk("fp1", "e\\u00e9", "null"),
        chunk("fp3", "f", "null"),
    ]
    .concat();
    let cached = fold(&[body.as_bytes()]);
    let uncached = fold_with(&[body.as_bytes()], true);
    assert_eq!(completion(&cached), completion(&uncached));
    assert_eq!(cached.fold().system_fingerprint, "fp3");
    assert_eq!(
        cached.fold().choice(0).and_then(|c| c.content.as_deref()),
        Some("ab\ncde\u{e9}f")
    );
}

#[test]
fn a_prefix_key_repeated_after_choices_is_not_skipped_next_time() {
    let first = b"data: {\"system_fingerprint\":\"fp1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}],\
\"system_fingerprint\":\"fp2\"}\n\n";
    let second = b"data: {\"system_fingerprint\":\"fp1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\n";
    let body = [&first[..], &second[..]].concat();
    let cached = fold(&[&body]);
    assert_eq!(cached.fold().system_fingerprint, "fp1");
    assert_eq!(completion(&cached), completion(&fold_with(&[&body], true)));
}

#[test]
fn first_token_is_the_first_chunk_with_output_not_the_role() {
    let first_token = |chunks: &[&[u8]]| {
        let mut acc = Accumulator::default();
        for (now, chunk) in chunks.iter().enumerate() {
            let _ = acc.feed(chunk, now as u64);
        }
        acc.timings().first_token
    };
    let role: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";
    let head: &[u8] =
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\
\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}\n\n";
    let function: &[u8] =
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"function_call\":{\"name\":\"f\"}}}]}\n\n";
    let audio: &[u8] =
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"audio\":{\"data\":\"UklG\"}}}]}\n\n";
    let audio_id: &[u8] =
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"audio\":{\"id\":\"a\"}}}]}\n\n";
    assert_eq!(first_token(&[role, role]), None);
    assert_eq!(first_token(&[role, head]), Some(1));
    assert_eq!(first_token(&[role, function]), Some(1));
    assert_eq!(first_token(&[role, audio_id, audio]), Some(2));
}

#[test]
fn interleaved_choices_keep_the_last_fingerprint() {
    let chunk = |choice: u8, fp: &str, text: &str| {
        format!(
            "data: {{\"id\":\"c\",\"model\":\"m\",\"created\":1,\"system_fingerprint\":\"{fp}\",\
\"choices\":[{{\"index\":{choice},\"delta\":{{\"content\":\"{text}\"}},\"finish_reason\":null}}]}}\n\n"
        )
    };
    let body = [
        chunk(0, "fp1", "a"),
        chunk(1, "fp1", "x"),
        chunk(0, "fp1", "b"),
        chunk(1, "fp2", "y"),
        chunk(1, "fp2", "z"),
        chunk(0, "fp1", "c"),
        chunk(1, "fp2", "w"),
        chunk(0, "fp1", "d"),
    ]
    .concat();
    let cached = fold(&[body.as_bytes()]);
    assert_eq!(
        completion(&cached),
        completion(&fold_with(&[body.as_bytes()], true))
    );
    assert_eq!(cached.fold().system_fingerprint, "fp1");
    let content = |i| cached.fold().choice(i).and_then(|c| c.content.clone());
    assert_eq!(content(0).as_deref(), Some("abcd"));
    assert_eq!(content(1).as_deref(), Some("xyzw"));
}

#[test]
fn a_template_learned_past_a_cached_prefix_keeps_its_fingerprint() {
    let chunk = |fp: &str, choice: u8, text: &str| {
        format!(
            "data: {{\"id\":\"c\",\"model\":\"m\",\"system_fingerprint\":\"{fp}\",\
\"choices\":[{{\"index\":{choice},\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n"
        )
    };
    let other = "data: {\"system_fingerprint\":\"fp2\",\"choices\":[{\"index\":0}]}\n\n";
    // The second chunk is read past the first's prefix, so its template is
    // learned from ops without the fingerprint; the fourth must still set it.
    let body = [
        chunk("fp1", 1, "a"),
        chunk("fp1", 0, "b"),
        other.to_owned(),
        chunk("fp1", 0, "c"),
    ]
    .concat();
    let cached = fold(&[body.as_bytes()]);
    assert_eq!(cached.fold().system_fingerprint, "fp1");
    assert_eq!(
        completion(&cached),
        completion(&fold_with(&[body.as_bytes()], true))
    );
}

#[test]
fn logprob_chunks_fold_through_their_template_as_a_full_read_does() {
    let chunk = |text: &str, tokens: &str, pad: &str| {
        format!(
            "data: {{\"id\":\"c\",\"model\":\"m\",\"created\":1,\"choices\":[{{\"index\":0,\
\"delta\":{{\"content\":\"{text}\"}},\"logprobs\":{{\"content\":{tokens},\"refusal\":null}},\
\"finish_reason\":null}}],\"usage\":null,\"obfuscation\":\"{pad}\"}}\n\n"
        )
    };
    let token = |t: &str| {
        format!(
            "{{\"token\":\"{t}\",\"logprob\":-0.5,\"bytes\":[97],\"top_logprobs\":\
[{{\"token\":\"{t}\",\"logprob\":-0.5,\"bytes\":null}}]}}"
        )
    };
    let body = [
        chunk("a", &format!("[{}]", token("a")), "x"),
        chunk("b", &format!("[{}]", token("b")), "xyz"),
        chunk("c]", &format!("[{},{}]", token("c]"), token("\\\"}")), ""),
        chunk("d", "[]", "p"),
        chunk("e", &format!("[ {} , {} ]", token("e"), token("[")), "q"),
        chunk("f", &format!("[{}]", token("f")), "r"),
        chunk("g", "[{\"token\":", "s"),
        chunk("h", &format!("[{}]", token("h")), "t"),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    let run = |uncached: bool| {
        let mut acc = Accumulator::new(crate::DEFAULT_MAX_EVENT_SIZE, true);
        acc.set_caches(!uncached);
        let result = acc.feed(body.as_bytes(), 0);
        assert!(matches!(result, Err(Error::Json { .. })), "{result:?}");
        let learned = acc.state.templates.hits;
        (completion(&acc), acc.take_events(), acc.skipped(), learned)
    };
    let (cached, uncached) = (run(false), run(true));
    assert_eq!(cached.0, uncached.0);
    assert_eq!(cached.1, uncached.1);
    assert_eq!((cached.2, uncached.2), (1, 1));
    // b to f match the template learned from a; g's failed read forgets it,
    // and h is read in full to learn it again.
    assert_eq!((cached.3, uncached.3), (5, 0));
    assert!(
        cached.0.contains("\"content\":\"abc]defh\""),
        "{}",
        cached.0
    );
    assert_eq!(cached.0.matches("\"top_logprobs\"").count(), 8);
}
