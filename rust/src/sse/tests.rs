use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Owned {
    event: String,
    data: String,
    id: Option<String>,
    retry: Option<u64>,
}

fn ev(event: &str, data: &str) -> Owned {
    Owned {
        event: event.into(),
        data: data.into(),
        id: None,
        retry: None,
    }
}

fn with_id(mut e: Owned, id: &str) -> Owned {
    e.id = Some(id.into());
    e
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn feed_pieces(pieces: &[&[u8]], limit: usize) -> (Vec<Owned>, Vec<Error>) {
    let mut scanner = Scanner::new(limit);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for piece in pieces {
        let result = scanner.feed(piece, |e| {
            out.push(Owned {
                event: lossy(e.kind()),
                data: lossy(e.data),
                id: e.id.map(lossy),
                retry: e.retry,
            })
        });
        if let Err(err) = result {
            errors.push(err);
        }
    }
    assert!(scanner.finish().is_ok());
    (out, errors)
}

/// Feeds `input` whole, split in two at every offset, and byte by byte;
/// every way must give `expected`.
fn check(input: &[u8], expected: &[Owned]) {
    let (whole, _) = feed_pieces(&[input], DEFAULT_MAX_EVENT_SIZE);
    assert_eq!(whole, expected, "whole input {:?}", lossy(input));
    for cut in 0..=input.len() {
        let (a, b) = input.split_at(cut);
        let (split, _) = feed_pieces(&[a, b], DEFAULT_MAX_EVENT_SIZE);
        assert_eq!(split, expected, "split at {cut} of {:?}", lossy(input));
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let (single, _) = feed_pieces(&bytes, DEFAULT_MAX_EVENT_SIZE);
    assert_eq!(single, expected, "byte by byte {:?}", lossy(input));
}

#[test]
fn simple_event_defaults_to_message() {
    check(b"data: hello\n\n", &[ev("message", "hello")]);
}

#[test]
fn bom_is_skipped_only_at_stream_start() {
    check(b"\xEF\xBB\xBFdata: a\n\n", &[ev("message", "a")]);
    check(
        b"\xEF\xBB\xBFdata: a\n\n\xEF\xBB\xBFdata: b\n\ndata: c\n\n",
        &[ev("message", "a"), ev("message", "c")],
    );
    check(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n", &[]);
}

#[test]
fn partial_bom_is_not_a_bom() {
    check(b"\xEF\xBBdata: a\n\ndata: b\n\n", &[ev("message", "b")]);
    check(b"\xEFdata: a\n\ndata: b\n\n", &[ev("message", "b")]);
}

#[test]
fn cr_lf_and_crlf_all_end_lines() {
    let expected = [ev("message", "a"), ev("message", "b")];
    check(b"data: a\r\rdata: b\r\r", &expected);
    check(b"data: a\r\n\r\ndata: b\r\n\r\n", &expected);
    check(b"data: a\n\ndata: b\n\n", &expected);
    check(b"data: a\r\n\rdata: b\n\r\n", &expected);
}

#[test]
fn crlf_counts_once_even_split() {
    check(b"data: a\r\ndata: b\r\n\r\n", &[ev("message", "a\nb")]);
    let (events, _) = feed_pieces(&[b"data: a\r", b"\ndata: b\r", b"\n", b"\r", b"\n"], 64);
    assert_eq!(events, [ev("message", "a\nb")]);
}

#[test]
fn comments_are_ignored() {
    check(b": ping\n\n:\n\ndata: x\n: mid\n\n", &[ev("message", "x")]);
}

#[test]
fn field_without_colon_has_empty_value() {
    check(b"data\n\n", &[ev("message", "")]);
    check(b"data\ndata\n\n", &[ev("message", "\n")]);
    check(b"event\ndata: x\n\n", &[ev("message", "x")]);
}

#[test]
fn exactly_one_leading_space_is_stripped() {
    check(b"data:x\n\n", &[ev("message", "x")]);
    check(b"data:  x\n\n", &[ev("message", " x")]);
    check(b"data: x \n\n", &[ev("message", "x ")]);
    check(b"data:\tx\n\n", &[ev("message", "\tx")]);
}

#[test]
fn only_the_first_colon_splits() {
    check(b"data: a: b\n\n", &[ev("message", "a: b")]);
    check(b"data::x\n\n", &[ev("message", ":x")]);
}

#[test]
fn data_lines_are_joined_with_lf() {
    check(b"data: a\ndata: b\ndata\n\n", &[ev("message", "a\nb\n")]);
    check(b"data:\n\n", &[ev("message", "")]);
    check(b"data:\ndata:\n\n", &[ev("message", "\n")]);
}

#[test]
fn event_type_is_set_and_reset() {
    check(
        b"event: add\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n",
        &[ev("add", "1"), ev("message", "2"), ev("message", "3")],
    );
}

#[test]
fn field_names_are_case_sensitive_and_unknown_ignored() {
    check(b"Data: a\nDATA: b\nfoo: c\ndata : d\n\n", &[]);
    check(b"Data: a\ndata: z\n\n", &[ev("message", "z")]);
}

#[test]
fn event_with_empty_data_buffer_is_not_dispatched() {
    check(b"event: x\n\ndata: y\n\n", &[ev("message", "y")]);
    check(b"id: 1\n\n: ping\n\n\n\n", &[]);
}

#[test]
fn last_event_id_persists_and_nul_ids_are_ignored() {
    check(
        b"id: 1\ndata: a\n\ndata: b\n\nid: 2\0x\ndata: c\n\nid\ndata: d\n\n",
        &[
            with_id(ev("message", "a"), "1"),
            with_id(ev("message", "b"), "1"),
            with_id(ev("message", "c"), "1"),
            with_id(ev("message", "d"), ""),
        ],
    );
}

#[test]
fn id_set_by_undispatched_event_still_applies() {
    check(b"id: 7\n\ndata: a\n\n", &[with_id(ev("message", "a"), "7")]);
}

#[test]
fn retry_takes_ascii_digits_only() {
    let retry = |ms| Owned {
        retry: Some(ms),
        ..ev("message", "a")
    };
    check(b"retry: 1000\ndata: a\n\n", &[retry(1000)]);
    for bad in [
        &b"retry: -1000\n"[..],
        b"retry: 1e3\n",
        b"retry:  5\n",
        b"retry:\n",
        b"retry\n",
    ] {
        let mut input = bad.to_vec();
        input.extend_from_slice(b"data: a\n\n");
        check(&input, &[ev("message", "a")]);
    }
    check(
        b"retry: 99999999999999999999999\ndata: a\n\n",
        &[ev("message", "a")],
    );
    check(b"retry: 5\n\nretry: x\ndata: a\n\n", &[retry(5)]);
}

#[test]
fn incomplete_final_event_is_discarded() {
    check(b"data: a\n\ndata: b\n", &[ev("message", "a")]);
    check(b"data: a\n\ndata: b", &[ev("message", "a")]);
}

#[test]
fn tail_reports_the_discarded_data() {
    let mut scanner = Scanner::default();
    assert!(scanner.feed(b"data: a\ndata: [DONE]", |_| {}).is_ok());
    assert_eq!(
        scanner.finish(),
        Ok(Tail {
            data: Some(b"a\n[DONE]".to_vec())
        })
    );
    let mut scanner = Scanner::default();
    assert!(scanner.feed(b"data: [DONE]\n", |_| {}).is_ok());
    assert_eq!(
        scanner.finish(),
        Ok(Tail {
            data: Some(b"[DONE]".to_vec())
        })
    );
    let mut scanner = Scanner::default();
    assert!(scanner.feed(b"data: x\n\n", |_| {}).is_ok());
    assert_eq!(scanner.finish(), Ok(Tail { data: None }));
}

#[test]
fn invalid_utf8_is_kept_as_bytes() {
    let mut data = Vec::new();
    let mut scanner = Scanner::default();
    assert!(scanner
        .feed(b"data: \xFF\xC3\n\n", |e| data.extend_from_slice(e.data))
        .is_ok());
    assert_eq!(data, b"\xFF\xC3");
    assert_eq!(lossy(&data), "\u{FFFD}\u{FFFD}");
}

#[test]
fn multibyte_characters_survive_any_split() {
    check("data: 你好 👋\n\n".as_bytes(), &[ev("message", "你好 👋")]);
}

#[test]
fn single_line_data_inside_one_read_is_borrowed() {
    let input = b"data: abc\n\n";
    let mut scanner = Scanner::default();
    let mut borrowed = false;
    let range = input.as_ptr_range();
    assert!(scanner
        .feed(input, |e| borrowed = range.contains(&e.data.as_ptr()))
        .is_ok());
    assert!(borrowed);
}

#[test]
fn offsets_point_at_the_event_start() {
    let mut offsets = Vec::new();
    let mut scanner = Scanner::default();
    assert!(scanner
        .feed(b": c\n\ndata: a\n\n", |e| offsets.push(e.offset))
        .is_ok());
    assert!(scanner
        .feed(b"data: b\n\n", |e| offsets.push(e.offset))
        .is_ok());
    assert_eq!(offsets, [5, 14]);
}

#[test]
fn oversized_event_is_dropped_and_decoding_resumes() {
    let input = b"data: ok\n\ndata: 0123456789abcdef\n\ndata: after\n\n";
    let (events, errors) = feed_pieces(&[input], 10);
    assert_eq!(events, [ev("message", "ok"), ev("message", "after")]);
    assert_eq!(
        errors,
        [Error::EventTooLarge {
            limit: 10,
            offset: 10
        }]
    );
    for cut in 0..=input.len() {
        let (a, b) = input.split_at(cut);
        let (events, errors) = feed_pieces(&[a, b], 10);
        assert_eq!(
            events,
            [ev("message", "ok"), ev("message", "after")],
            "cut {cut}"
        );
        assert_eq!(errors.len(), 1, "cut {cut}");
    }
}

#[test]
fn oversized_line_without_newline_is_not_buffered() {
    let mut scanner = Scanner::new(1024);
    let block = vec![b'x'; 4096];
    assert!(scanner.feed(b"data: ", |_| {}).is_ok());
    assert_eq!(
        scanner.feed(&block, |_| {}),
        Err(Error::EventTooLarge {
            limit: 1024,
            offset: 0
        })
    );
    for _ in 0..100 {
        assert!(scanner.feed(&block, |_| {}).is_ok());
    }
    assert!(scanner.line.capacity() <= 1024 && scanner.data_buf.capacity() <= 1024);
    let mut got = Vec::new();
    assert!(scanner
        .feed(b"\n\ndata: next\n\n", |e| got.push(lossy(e.data)))
        .is_ok());
    assert_eq!(got, ["next"]);
}

#[test]
fn multi_line_oversize_is_caught() {
    let (events, errors) = feed_pieces(&[b"data: 12345\ndata: 12345\n\ndata: y\n\n"], 10);
    assert_eq!(events, [ev("message", "y")]);
    assert_eq!(errors.len(), 1);
}

#[test]
fn feeding_after_finish_fails() {
    let mut scanner = Scanner::default();
    assert!(scanner.finish().is_ok());
    assert_eq!(scanner.feed(b"data: x\n\n", |_| {}), Err(Error::Finished));
    assert_eq!(scanner.finish(), Err(Error::Finished));
}

#[test]
fn long_comment_lines_hit_the_limit_however_split() {
    let mut input = b": ".to_vec();
    input.extend(std::iter::repeat_n(b'x', 200));
    input.extend_from_slice(b"\ndata: ok\n\n");
    for cut in 0..=input.len() {
        let (a, b) = input.split_at(cut);
        let (events, errors) = feed_pieces(&[a, b], 100);
        assert_eq!(errors.len(), 1, "cut {cut}");
        assert_eq!(events, [], "cut {cut}");
    }
}

/// Shapes at the edge of `Scanner::plain_event`'s fast path: whole input
/// takes it where it can, byte-by-byte input never does, and `check` wants
/// the same events from both.
#[test]
fn plain_event_fast_path_agrees_with_the_line_path() {
    check(b"data:x\n\n", &[ev("message", "x")]);
    check(b"data:  two spaces\n\n", &[ev("message", " two spaces")]);
    check(b"data:\n\n", &[ev("message", "")]);
    check(b"event: delta\ndata: {}\n\n", &[ev("delta", "{}")]);
    check(b"event:\ndata: x\n\n", &[ev("message", "x")]);
    check(b"event: a\r\ndata: x\n\n", &[ev("a", "x")]);
    check(b"data: x\r\n\r\n", &[ev("message", "x")]);
    check(b"data: x\n\r\n", &[ev("message", "x")]);
    check(b"data: a\rb\n\n", &[ev("message", "a")]);
    check(b"data: a\rdata: b\n\n", &[ev("message", "a\nb")]);
    check(b"data: a\ndata: b\n\n", &[ev("message", "a\nb")]);
    check(b"event: a\nevent: b\ndata: x\n\n", &[ev("b", "x")]);
    check(b"event: a\n\ndata: x\n\n", &[ev("message", "x")]);
    check(
        b"event: a\nid: 7\ndata: x\n\n",
        &[with_id(ev("a", "x"), "7")],
    );
    check(
        b"id: 1\n\ndata: x\n\ndata: y\n\n",
        &[
            with_id(ev("message", "x"), "1"),
            with_id(ev("message", "y"), "1"),
        ],
    );
    check(b": c\ndata: x\n\n", &[ev("message", "x")]);
    check(b"data: x\n: c\n\n", &[ev("message", "x")]);
    check(
        b"data: x\nretry: 5\n\n",
        &[Owned {
            retry: Some(5),
            ..ev("message", "x")
        }],
    );
    check(b"datax: y\n\ndata: z\n\n", &[ev("message", "z")]);
}

#[test]
fn plain_event_fast_path_keeps_the_size_limit() {
    for limit in [3, 4, 5] {
        let input = b"data: abcd\n\nevent: abcde\ndata: x\n\ndata: ok\n\n";
        let (whole, whole_errors) = feed_pieces(&[input], limit);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let (single, single_errors) = feed_pieces(&bytes, limit);
        assert_eq!(whole, single, "limit {limit}");
        assert_eq!(whole_errors, single_errors, "limit {limit}");
        assert_eq!(whole.last(), Some(&ev("message", "ok")), "limit {limit}");
    }
    let (events, errors) = feed_pieces(&[b"data: abcd\n\n"], 4);
    assert_eq!((events, errors), (vec![ev("message", "abcd")], vec![]));
    let (events, errors) = feed_pieces(&[b"data: abcd\n\n"], 3);
    assert!(events.is_empty());
    assert_eq!(
        errors,
        [Error::EventTooLarge {
            limit: 3,
            offset: 0
        }]
    );
}
