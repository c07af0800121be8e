//! Builds inputs from a [`Choices`] stream: SSE-ish byte soup for the
//! scanner, and chat-completion-chunk-like streams for the accumulator.
//! Random bytes are almost never a chunk that parses, let alone one that
//! reaches the fold's fast paths, so the accumulator's target assembles
//! chunks from fragments (with the repetition that the prefix and template
//! caches feed on) and then mutates a few raw bytes.

use crate::choices::Choices;

/// Pieces of SSE lines, for the scanner's generator mode.
const SSE_TOKENS: &[&[u8]] = &[
    b"data",
    b"data:",
    b"data: ",
    b"event:",
    b"event: ",
    b"id:",
    b"id: ",
    b"retry:",
    b"retry: ",
    b":",
    b" ",
    b"\n",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"\0",
    b"\xEF\xBB\xBF",
    b"\xEF\xBB",
    b"\xE2\x82",
    b"\xFF",
    b"\xC3\xA9",
    b"0",
    b"1000",
    b"18446744073709551616",
    b"-1",
    b"message",
    b"error",
    b"x",
    b"[DONE]",
    b": ping\n\n",
    b"data: {}\n\n",
];

/// SSE-ish bytes: tokens, literal bytes and long runs (for the size limit).
pub fn sse_soup(c: &mut Choices<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    while !c.is_empty() && out.len() < 64 * 1024 {
        match c.byte() {
            0..=199 => out.extend_from_slice(c.pick(SSE_TOKENS)),
            200..=239 => out.push(c.byte()),
            _ => {
                let byte = c.pick(b"x:a");
                let n = usize::from(c.u16()) % 700;
                out.extend(std::iter::repeat_n(byte, n));
            }
        }
    }
    out
}

/// JSON string contents, already escaped.
const TEXTS: &[&str] = &[
    "",
    "Hel",
    "lo ",
    "a",
    " world",
    "\\n",
    "\\\"",
    "\\\\",
    "\\/",
    "\\t",
    "\\u00e9",
    "\\u4f60",
    "\\ud83d\\ude00",
    "é",
    "你好",
    "😀",
    "[DONE]",
    "\\\"error\\\"",
    "{\\\"x\\\":",
    "1}",
    "get_",
    "weather",
    "stop",
    "assistant",
    "call_1",
    "fp_1",
    "\\u0069d",
    "error",
    "null",
    "data: x",
];

/// Escaped contents that make the payload invalid, chosen rarely.
const BAD_TEXTS: &[&str] = &[
    "\\ud800", "\\udc00x", "\\x", "\\u12", "\t", "\n", "\\", "\u{1}",
];

const INTS: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "3",
    "7",
    "1700000000",
    "9223372036854775807",
    "-9223372036854775808",
    "1.5",
    "1e3",
    "-0",
    "0.0",
    "2E+2",
];

/// Integers that are valid JSON but do not fit `i64`.
const HUGE_INTS: &[&str] = &[
    "9223372036854775808",
    "99999999999999999999",
    "-9223372036854775809",
];

const KEYS: &[&str] = &[
    "id",
    "object",
    "created",
    "model",
    "choices",
    "delta",
    "content",
    "index",
    "usage",
    "error",
    "tool_calls",
    "function",
    "arguments",
    "name",
    "role",
    "finish_reason",
    "logprobs",
    "x",
    "",
    "\\u0069ndex",
];

/// Builds one stream of chunk events.
pub struct ChunkStream<'c, 'a> {
    c: &'c mut Choices<'a>,
    /// The keys every chunk of this stream repeats before `choices`.
    header: String,
    /// The delta field simple chunks put their text in.
    field: &'static str,
    choice_index: &'static str,
    finish_key: bool,
    usage_null: bool,
    obfuscation: bool,
}

impl<'c, 'a> ChunkStream<'c, 'a> {
    pub fn new(c: &'c mut Choices<'a>) -> Self {
        let mut s = Self {
            c,
            header: String::new(),
            field: "content",
            choice_index: "0",
            finish_key: true,
            usage_null: false,
            obfuscation: false,
        };
        s.reshape();
        s
    }

    /// Draws a new shape for the simple chunks (rarely called mid-stream:
    /// a changed fingerprint, a second choice).
    fn reshape(&mut self) {
        let mut header = String::new();
        let id = self.string();
        let model = self.string();
        for (key, value) in [
            ("id", id),
            ("object", "\"chat.completion.chunk\"".to_owned()),
            ("created", self.int().to_owned()),
            ("model", model),
            ("service_tier", "\"default\"".to_owned()),
            (
                "system_fingerprint",
                self.pick_str(&["\"fp_1\"", "\"fp_2\"", "null", "\"\""]),
            ),
        ] {
            if self.c.chance(200) {
                header.push_str(&format!("\"{key}\":{value},"));
            }
        }
        if self.c.chance(16) {
            // A key outside the prefix keys: the prefix cache must not apply.
            header.push_str("\"x\":1,");
        }
        self.header = header;
        self.field = self.c.pick(&[
            "content",
            "content",
            "content",
            "refusal",
            "reasoning_content",
            "reasoning",
            "tool",
        ]);
        self.choice_index = self.c.pick(&["0", "0", "0", "1", "-3"]);
        self.finish_key = self.c.chance(200);
        self.usage_null = self.c.chance(100);
        self.obfuscation = self.c.chance(100);
    }

    fn pick_str(&mut self, items: &[&str]) -> String {
        self.c.pick(items).to_owned()
    }

    fn int(&mut self) -> &'static str {
        if self.c.chance(4) {
            self.c.pick(HUGE_INTS)
        } else {
            self.c.pick(INTS)
        }
    }

    /// A JSON string literal from 0 to 3 fragments.
    fn string(&mut self) -> String {
        let mut s = String::from("\"");
        for _ in 0..self.c.below(4) {
            let text = if self.c.chance(6) {
                self.c.pick(BAD_TEXTS)
            } else {
                self.c.pick(TEXTS)
            };
            s.push_str(text);
        }
        s.push('"');
        s
    }

    /// A string, or sometimes null or another type.
    fn text_value(&mut self) -> String {
        match self.c.byte() {
            0..=219 => self.string(),
            220..=239 => "null".to_owned(),
            240..=247 => self.int().to_owned(),
            _ => self.junk(2),
        }
    }

    /// Any JSON value, nested up to `depth`.
    fn junk(&mut self, depth: u32) -> String {
        let top = if depth == 0 { 5 } else { 7 };
        match self.c.below(top) {
            0 => "null".to_owned(),
            1 => self.pick_str(&["true", "false"]),
            2 => self.int().to_owned(),
            3 | 4 => self.string(),
            5 => {
                let items: Vec<String> =
                    (0..self.c.below(4)).map(|_| self.junk(depth - 1)).collect();
                format!("[{}]", items.join(","))
            }
            _ => {
                let fields: Vec<String> = (0..self.c.below(4))
                    .map(|_| {
                        let key = self.c.pick(KEYS);
                        format!("\"{key}\":{}", self.junk(depth - 1))
                    })
                    .collect();
                format!("{{{}}}", fields.join(","))
            }
        }
    }

    fn object(fields: &[(&str, String)]) -> String {
        let inner: Vec<String> = fields
            .iter()
            .map(|(key, value)| format!("\"{key}\":{value}"))
            .collect();
        format!("{{{}}}", inner.join(","))
    }

    /// Keeps each of `fields` with probability `keep / 256`, and shuffles
    /// them now and then.
    fn some_of(&mut self, mut fields: Vec<(&'static str, String)>, keep: u8) -> String {
        fields.retain(|_| self.c.chance(keep));
        if self.c.chance(40) {
            for i in (1..fields.len()).rev() {
                let j = self.c.below(i + 1);
                fields.swap(i, j);
            }
        }
        Self::object(&fields)
    }

    fn usage(&mut self) -> String {
        match self.c.below(6) {
            0 => "null".to_owned(),
            1 => self.junk(1),
            _ => {
                let fields = vec![
                    ("prompt_tokens", self.int().to_owned()),
                    ("completion_tokens", self.int().to_owned()),
                    ("total_tokens", self.int().to_owned()),
                    (
                        "completion_tokens_details",
                        "{\"reasoning_tokens\":0}".to_owned(),
                    ),
                ];
                self.some_of(fields, 200)
            }
        }
    }

    fn tool_call(&mut self) -> String {
        let function = vec![
            ("name", self.text_value()),
            ("arguments", self.text_value()),
        ];
        let function = self.some_of(function, 180);
        let fields = vec![
            ("index", self.c.pick(&["0", "1", "2", "-1", "0"]).to_owned()),
            ("id", self.text_value()),
            ("type", "\"function\"".to_owned()),
            ("function", function),
        ];
        self.some_of(fields, 160)
    }

    fn list(&mut self, max: usize, item: fn(&mut Self) -> String) -> String {
        let items: Vec<String> = (0..self.c.below(max + 1)).map(|_| item(self)).collect();
        format!("[{}]", items.join(","))
    }

    fn logprobs(&mut self) -> String {
        if self.c.chance(128) {
            return "null".to_owned();
        }
        let token = |s: &mut Self| {
            format!(
                "{{\"token\":{},\"logprob\":-0.5,\"bytes\":[97],\"top_logprobs\":[]}}",
                s.string()
            )
        };
        let fields = vec![
            (
                "content",
                if self.c.chance(200) {
                    self.list(2, token)
                } else {
                    "null".to_owned()
                },
            ),
            (
                "refusal",
                if self.c.chance(60) {
                    self.list(2, token)
                } else {
                    "null".to_owned()
                },
            ),
        ];
        self.some_of(fields, 200)
    }

    fn annotation(&mut self) -> String {
        let url = self.string();
        self.c
            .pick(&[
                "{\"type\":\"url_citation\",\"url_citation\":{\"url\":URL,\"title\":\"t\"}}",
                "{\"url_citation\": {\"title\":\"t\",\"url\":URL}, \"type\":\"url_citation\"}",
                "{\"type\":\"url_citation\"}",
            ])
            .replace("URL", &url)
    }

    fn content_part(&mut self) -> String {
        let text = self.string();
        match self.c.below(3) {
            0 => format!("{{\"type\":\"text\",\"text\":{text}}}"),
            1 => format!(
                "{{\"type\":\"thinking\",\"thinking\":[{{\"type\":\"text\",\"text\":{text}}}]}}"
            ),
            _ => format!("{{\"type\":\"thinking\",\"thinking\":{text}}}"),
        }
    }

    fn delta(&mut self) -> String {
        let content = if self.c.chance(30) {
            self.list(2, Self::content_part)
        } else {
            self.text_value()
        };
        let fields = vec![
            (
                "role",
                self.pick_str(&["\"assistant\"", "\"\"", "null", "\"tool\""]),
            ),
            ("content", content),
            ("refusal", self.text_value()),
            ("reasoning_content", self.text_value()),
            ("reasoning", self.text_value()),
            ("tool_calls", self.list(2, Self::tool_call)),
            ("function_call", {
                let f = vec![
                    ("name", self.text_value()),
                    ("arguments", self.text_value()),
                ];
                self.some_of(f, 200)
            }),
            ("audio", {
                let f = vec![
                    ("id", self.text_value()),
                    ("data", self.text_value()),
                    ("transcript", self.text_value()),
                    ("expires_at", self.int().to_owned()),
                ];
                self.some_of(f, 160)
            }),
            ("annotations", self.list(2, Self::annotation)),
            ("x", self.junk(2)),
        ];
        self.some_of(fields, 60)
    }

    fn choice(&mut self) -> String {
        let fields = vec![
            ("index", self.int().to_owned()),
            ("delta", self.delta()),
            ("logprobs", self.logprobs()),
            (
                "finish_reason",
                self.pick_str(&[
                    "null",
                    "\"stop\"",
                    "\"\"",
                    "\"length\"",
                    "\"tool_calls\"",
                    "1",
                ]),
            ),
            ("usage", self.usage()),
        ];
        let kept = if self.c.chance(128) { 255 } else { 180 };
        self.some_of(fields, kept)
    }

    /// A chunk built from scratch.
    fn random_chunk(&mut self) -> String {
        let header = if self.c.chance(128) {
            self.header.clone()
        } else {
            String::new()
        };
        let fields = vec![
            ("choices", self.list(2, Self::choice)),
            ("usage", self.usage()),
            ("citations", self.list(2, Self::string)),
            (
                "x_groq",
                format!("{{\"id\":\"q\",\"usage\":{}}}", self.usage()),
            ),
            (
                "error",
                if self.c.chance(128) {
                    "null".to_owned()
                } else {
                    self.junk(1)
                },
            ),
            (
                "object",
                self.pick_str(&["\"chat.completion.chunk\"", "\"error\"", "null"]),
            ),
            ("created", self.int().to_owned()),
            ("obfuscation", self.string()),
            ("x", self.junk(2)),
        ];
        let mut keep = [200u8, 30, 30, 10, 5, 10, 20, 40, 30];
        if self.c.chance(128) {
            keep.fill(60);
        }
        let fields: Vec<(&str, String)> = fields
            .into_iter()
            .zip(keep)
            .filter_map(|(field, keep)| self.c.chance(keep).then_some(field))
            .collect();
        let body = Self::object(&fields);
        // Splice the stream's header keys in front.
        if header.is_empty() || body == "{}" {
            return body;
        }
        format!("{{{header}{}", &body[1..])
    }

    /// A chunk of the stream's repeating shape: only its one text (and
    /// the padding) changes, which is what the template cache learns.
    fn simple_chunk(&mut self) -> String {
        let text = self.string();
        let delta = if self.field == "tool" {
            format!("{{\"tool_calls\":[{{\"index\":0,\"function\":{{\"arguments\":{text}}}}}]}}")
        } else {
            format!("{{\"{}\":{text}}}", self.field)
        };
        let mut chunk = format!(
            "{{{}\"choices\":[{{\"index\":{},\"delta\":{delta}",
            self.header, self.choice_index
        );
        if self.finish_key {
            chunk.push_str(",\"logprobs\":null,\"finish_reason\":null");
        }
        chunk.push_str("}]");
        if self.usage_null {
            chunk.push_str(",\"usage\":null");
        }
        if self.obfuscation {
            chunk.push_str(&format!(",\"obfuscation\":{}", self.string()));
        }
        chunk.push('}');
        chunk
    }

    /// One event's payload.
    fn payload(&mut self) -> String {
        match self.c.byte() {
            0..=139 => self.simple_chunk(),
            140..=219 => self.random_chunk(),
            220..=229 => self.pick_str(&["", " ", "[DONE]", " [DONE] ", "{}", "[]", "1", "null"]),
            230..=239 => {
                self.reshape();
                self.simple_chunk()
            }
            240..=247 => format!(
                "{{\"error\":{{\"message\":{},\"code\":500}}}}",
                self.string()
            ),
            _ => self.junk(3),
        }
    }

    fn eol(&mut self) -> &'static str {
        self.c
            .pick(&["\n", "\n", "\n", "\n", "\n", "\r\n", "\r\n", "\r"])
    }

    /// The whole stream: events with SSE framing variants, usually ended by
    /// `[DONE]`, and then a few raw byte mutations.
    pub fn build(mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.c.chance(10) {
            out.extend_from_slice(b"\xEF\xBB\xBF");
        }
        let events = 1 + self.c.below(24);
        for _ in 0..events {
            let eol = self.eol();
            for _ in 0..4 {
                if !self.c.chance(20) {
                    break;
                }
                let line = self.pick_str(&[
                    ": ping",
                    "id: 7",
                    "id",
                    "retry: 100",
                    "event: message",
                    "event: error",
                    "event: other",
                    "foo: bar",
                    "data",
                ]);
                out.extend_from_slice(line.as_bytes());
                out.extend_from_slice(eol.as_bytes());
            }
            let payload = self.payload();
            let prefix = self
                .c
                .pick(&["data: ", "data: ", "data: ", "data:", "data:  "]);
            if self.c.chance(8) && payload.len() > 1 {
                // Two data lines: joined by LF, which JSON mostly tolerates.
                let at = self.c.below(payload.len());
                let at = (0..=at)
                    .rev()
                    .find(|&i| payload.is_char_boundary(i))
                    .unwrap_or(0);
                let (a, b) = payload.split_at(at);
                for part in [a, b] {
                    out.extend_from_slice(prefix.as_bytes());
                    out.extend_from_slice(part.as_bytes());
                    out.extend_from_slice(eol.as_bytes());
                }
            } else {
                out.extend_from_slice(prefix.as_bytes());
                out.extend_from_slice(payload.as_bytes());
                out.extend_from_slice(eol.as_bytes());
            }
            if !self.c.chance(6) {
                out.extend_from_slice(eol.as_bytes());
            }
        }
        if self.c.chance(200) {
            out.extend_from_slice(b"data: [DONE]");
            match self.c.below(4) {
                0 => {}
                1 => out.extend_from_slice(b"\n"),
                _ => out.extend_from_slice(b"\n\n"),
            }
            if self.c.chance(20) {
                out.extend_from_slice(
                    b"data: {\"choices\":[{\"delta\":{\"content\":\"after\"}}]}\n\n",
                );
            }
        }
        for _ in 0..self.c.pick(&[0, 0, 0, 0, 1, 1, 2, 4]) {
            mutate(self.c, &mut out);
        }
        out
    }
}

/// One raw mutation: flip, delete, insert or duplicate bytes.
fn mutate(c: &mut Choices<'_>, out: &mut Vec<u8>) {
    if out.is_empty() {
        return;
    }
    let at = c.below(out.len());
    match c.below(4) {
        0 => out[at] ^= 1 << c.below(8),
        1 => {
            let n = (1 + c.below(8)).min(out.len() - at);
            out.drain(at..at + n);
        }
        2 => {
            let byte = c.byte();
            out.insert(at, byte);
        }
        _ => {
            let n = (1 + c.below(32)).min(out.len() - at);
            let copy = out[at..at + n].to_vec();
            let to = c.below(out.len() + 1);
            out.splice(to..to, copy);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generator is only worth its keep if most of its payloads are
    /// chunks that parse (so the fold's paths are reached) and most
    /// streams repeat a shape (so the caches are).
    #[test]
    fn most_generated_payloads_are_valid_json() {
        let (mut payloads, mut valid) = (0, 0);
        let mut state = 1u64;
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..2048)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (state >> 56) as u8
                })
                .collect();
            let stream = ChunkStream::new(&mut Choices::new(&bytes)).build();
            for line in stream.split(|&b| b == b'\n' || b == b'\r') {
                if let Some(payload) = line.strip_prefix(b"data:") {
                    payloads += 1;
                    valid +=
                        usize::from(serde_json::from_slice::<serde_json::Value>(payload).is_ok());
                }
            }
        }
        println!("{valid} of {payloads} payloads are valid JSON");
        assert!(valid * 2 > payloads, "{valid} of {payloads}");
    }
}
