//! A generator of Responses API event streams: every event kind the fold
//! reads, with sparse, missing and huge indices, item ids that agree or
//! not, repeated and skipped sequence numbers, unknown events, errors and
//! every terminal event, in any order, plus a few raw mutations.

use crate::choices::Choices;

const KINDS: &[&str] = &[
    "response.output_text.delta",
    "response.refusal.delta",
    "response.reasoning_text.delta",
    "response.reasoning_summary_text.delta",
    "response.function_call_arguments.delta",
    "response.mcp_call_arguments.delta",
    "response.custom_tool_call_input.delta",
    "response.code_interpreter_call_code.delta",
    "response.apply_patch_call_operation_diff.delta",
    "response.shell_call_command.delta",
    "response.audio.transcript.delta",
    "response.audio.delta",
];
const DONES: &[(&str, &str)] = &[
    ("response.output_text.done", "text"),
    ("response.refusal.done", "refusal"),
    ("response.reasoning_text.done", "text"),
    ("response.reasoning_summary_text.done", "text"),
    ("response.function_call_arguments.done", "arguments"),
    ("response.custom_tool_call_input.done", "input"),
    ("response.code_interpreter_call_code.done", "code"),
    ("response.apply_patch_call_operation_diff.done", "diff"),
    ("response.shell_call_command.added", "command"),
    ("response.shell_call_command.done", "command"),
];
const TEXTS: &[&str] = &[
    "",
    "a",
    " word",
    "中文",
    "😀",
    "\\\"q\\\"",
    "\\n",
    "\\u00e9",
    "\\ud83d\\ude00",
];
const ITEMS: &[&str] = &[
    r#"{"type":"message","id":"msg_1","role":"assistant","status":"in_progress","content":[]}"#,
    r#"{"type":"message","id":"msg_2","role":"assistant","content":[{"type":"output_text","text":"x","annotations":[{"type":"url_citation","url":"u"}]}]}"#,
    r#"{"type":"function_call","id":"fc_1","call_id":"c","name":"get","arguments":""}"#,
    r#"{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"e"}"#,
    r#"{"type":"apply_patch_call","id":"ap","operation":{"type":"create_file","diff":"d"}}"#,
    r#"{"type":"shell_call","id":"sh","action":{"commands":["ls"]}}"#,
    r#"{"type":"hologram","id":"h","x":[1,{"y":null}]}"#,
    r#"{"type":"message"}"#,
];
const PARTS: &[&str] = &[
    r#"{"type":"output_text","text":"","annotations":[],"logprobs":[]}"#,
    r#"{"type":"refusal","refusal":"no"}"#,
    r#"{"type":"reasoning_text","text":"t"}"#,
    r#"{"type":"summary_text","text":""}"#,
    r#"{"type":"odd"}"#,
];
const OTHERS: &[&str] = &[
    r#"{"type":"keepalive"}"#,
    r#"{"type":"ping"}"#,
    r#"{"type":"response.web_search_call.searching","output_index":1,"item_id":"ws"}"#,
    r#"{"type":"response.brand_new","output_index":0}"#,
    r#"{"type":"error","code":"server_error","message":"boom","param":null}"#,
    r#"{"type":"error","error":{"type":"x","code":"q","message":"m"}}"#,
    r#"{"type":"response.shell_call_output_content.delta","command_index":0,"delta":{"stdout":"o","stderr":"e"}}"#,
    r#"{"type":"response.shell_call_output_content.done","command_index":0,"output":[{"stdout":"o"}]}"#,
    r#"{"type":"response.output_text.annotation.added","output_index":0,"content_index":0,"annotation_index":1,"annotation":{"type":"url_citation","url":"v"}}"#,
    r#"{"type":"response.output_text.annotation.added","annotation":{"type":"file_path"}}"#,
    "[1]",
    "{nope",
    "[DONE]",
    "",
];
const RESPONSES: &[&str] = &[
    r#"{"id":"resp_1","object":"response","created_at":1,"model":"gpt-5","status":"in_progress","output":[],"usage":null}"#,
    r#"{"id":"resp_2","created_at":1.5,"model":"","output":[]}"#,
    r#"{"id":"resp_1","status":"completed","output":[],"usage":{"input_tokens":3,"input_tokens_details":{"cached_tokens":1},"output_tokens":2,"total_tokens":5}}"#,
    r#"{"id":"resp_1","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[{"type":"message","id":"m","content":[]}]}"#,
    r#"{"error":{"code":"rate_limit_exceeded","message":"slow"},"output":null,"usage":{"input_tokens":1}}"#,
    "{}",
];
const LIFECYCLE: &[&str] = &[
    "response.created",
    "response.in_progress",
    "response.queued",
];
const TERMINAL: &[&str] = &[
    "response.completed",
    "response.incomplete",
    "response.failed",
];

/// Builds one stream from the choices; see the module docs.
pub fn stream(c: &mut Choices<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut sequence: i64 = 0;
    let numbered = c.chance(200);
    while !c.is_empty() && out.len() < 12_000 {
        let payload = event(c);
        let payload = if numbered && payload.starts_with('{') && payload.len() > 2 {
            sequence += [1, 1, 1, 0, -1, 4][c.below(6)];
            format!("{{\"sequence_number\":{sequence},{}", &payload[1..])
        } else {
            payload
        };
        let mut bytes = payload.into_bytes();
        if c.chance(8) && !bytes.is_empty() {
            // A raw mutation: one byte flipped, dropped or duplicated.
            let at = c.below(bytes.len());
            match c.below(3) {
                0 => bytes[at] ^= c.byte(),
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, bytes[at]),
            }
        }
        if c.chance(40) {
            out.extend_from_slice(b"event: error\n");
        } else if c.chance(128) {
            out.extend_from_slice(b"event: message\n");
        }
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&bytes);
        out.extend_from_slice(if c.chance(20) { b"\r\n\r\n" } else { b"\n\n" });
        if c.chance(10) {
            out.extend_from_slice(b": keep-alive comment\n\n");
        }
    }
    out
}

fn index(c: &mut Choices<'_>) -> String {
    [
        "0",
        "1",
        "2",
        "3",
        "-1",
        "9223372036854775807",
        "1e3",
        "null",
        "\"0\"",
        "99999999999999999999",
    ][c.below(10)]
    .to_owned()
}

fn event(c: &mut Choices<'_>) -> String {
    let mut fields: Vec<String> = Vec::new();
    let kind = match c.below(10) {
        0..=3 => {
            let kind = c.pick(KINDS);
            fields.push(format!("\"delta\":\"{}\"", c.pick(TEXTS)));
            if c.chance(128) {
                fields.push("\"logprobs\":[],\"obfuscation\":\"xyz\"".to_owned());
            }
            kind
        }
        4 => {
            let (kind, key) = c.pick(DONES);
            fields.push(format!("\"{key}\":\"{}\"", c.pick(TEXTS)));
            kind
        }
        5 => {
            fields.push(format!("\"item\":{}", c.pick(ITEMS)));
            ["response.output_item.added", "response.output_item.done"][c.below(2)]
        }
        6 => {
            fields.push(format!("\"part\":{}", c.pick(PARTS)));
            [
                "response.content_part.added",
                "response.content_part.done",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_part.done",
            ][c.below(4)]
        }
        7 => {
            let kind = if c.chance(128) {
                c.pick(LIFECYCLE)
            } else {
                c.pick(TERMINAL)
            };
            return format!("{{\"type\":\"{kind}\",\"response\":{}}}", c.pick(RESPONSES));
        }
        _ => return c.pick(OTHERS).to_owned(),
    };
    for key in [
        "output_index",
        "content_index",
        "summary_index",
        "command_index",
    ] {
        if c.chance(170) {
            fields.push(format!("\"{key}\":{}", index(c)));
        }
    }
    if c.chance(150) {
        fields.push(format!(
            "\"item_id\":\"{}\"",
            ["msg_1", "fc_1", "rs_1", "", "zz"][c.below(5)]
        ));
    }
    format!("{{\"type\":\"{kind}\",{}}}", fields.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_streams_are_mostly_valid_events() {
        let (mut valid, mut total) = (0, 0);
        for seed in 0u32..200 {
            let input: Vec<u8> = (0..600u32)
                .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed * 7919) >> 13) as u8)
                .collect();
            let stream = stream(&mut Choices::new(&input));
            for frame in stream
                .split(|&b| b == b'\n')
                .filter(|l| l.starts_with(b"data: "))
            {
                total += 1;
                let payload = frame[6..].strip_suffix(b"\r").unwrap_or(&frame[6..]);
                valid += usize::from(serde_json::from_slice::<serde_json::Value>(payload).is_ok());
            }
        }
        assert!(total > 1000, "{total} events");
        assert!(
            valid * 10 > total * 7,
            "only {valid} of {total} events are JSON"
        );
    }
}
