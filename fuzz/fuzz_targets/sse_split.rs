//! The SSE scanner fed whole and in many splits must dispatch the same
//! events, return the same errors and leave the same tail, and, with the
//! default limit, agree with the plain WHATWG reference in
//! `chunkfold_fuzz::reference`.
//!
//! Input: if the first byte is below `HEADER_MIN`, the input is the stream
//! (so the seeds are verbatim `.sse` files). `0xF0..=0xF7`: the rest is a
//! choice stream for `generate::sse_soup`. `0xF8..=0xFF`: the low three
//! bits give a number of explicit cut points, two bytes each, and the rest
//! is the stream. Either way, further splits are derived from the input's
//! hash (see `splits::plans`).

#![no_main]

use chunkfold::sse::span_in;
use chunkfold::{Error, Scanner, Tail, DEFAULT_MAX_EVENT_SIZE};
use chunkfold_fuzz::choices::Choices;
use chunkfold_fuzz::{generate, reference, splits, HEADER_MIN};
use libfuzzer_sys::fuzz_target;

/// The small limit of the second run, to reach the oversize paths.
const SMALL_LIMIT: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Owned {
    event_type: Vec<u8>,
    data: Vec<u8>,
    id: Option<Vec<u8>>,
    retry: Option<u64>,
    offset: u64,
}

#[derive(Debug)]
struct Run {
    events: Vec<Owned>,
    /// Whether each event's data was a slice of the read it came from.
    borrowed: Vec<bool>,
    /// Per `feed` call that failed: its index and error.
    errors: Vec<(usize, Error)>,
    tail: Tail,
    last_event_id: Option<Vec<u8>>,
    retry: Option<u64>,
    position: u64,
}

fn run(pieces: &[&[u8]], limit: usize) -> Run {
    let mut scanner = Scanner::new(limit);
    let (mut events, mut borrowed, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for (i, piece) in pieces.iter().enumerate() {
        let fed = scanner.feed(piece, |event| {
            borrowed.push(span_in(piece, event.data).is_some());
            events.push(Owned {
                event_type: event.event_type.to_vec(),
                data: event.data.to_vec(),
                id: event.id.map(<[u8]>::to_vec),
                retry: event.retry,
                offset: event.offset,
            });
        });
        if let Err(error) = fed {
            errors.push((i, error));
        }
    }
    let position = scanner.position();
    let tail = scanner.finish();
    assert!(tail.is_ok(), "finish failed: {tail:?}");
    assert_eq!(
        scanner.feed(b"data: x\n\n", |_| panic!("event after finish")),
        Err(Error::Finished)
    );
    assert_eq!(scanner.finish(), Err(Error::Finished));
    Run {
        events,
        borrowed,
        errors,
        tail: tail.unwrap_or_default(),
        last_event_id: scanner.last_event_id().map(<[u8]>::to_vec),
        retry: scanner.retry(),
        position,
    }
}

fn first_error(run: &Run) -> Option<&Error> {
    run.errors.first().map(|(_, e)| e)
}

/// Whether `sub` is a subsequence of `all`.
fn subsequence<T: PartialEq>(sub: &[T], all: &[T]) -> bool {
    let mut all = all.iter();
    sub.iter().all(|x| all.any(|y| y == x))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Same result for every split, whatever the limit. Returns the whole
/// run and one run per plan.
fn check_split_invariance(
    stream: &[u8],
    plans: &[(&str, Vec<&[u8]>)],
    limit: usize,
) -> (Run, Vec<Run>) {
    let whole = run(&[stream], limit);
    assert_eq!(whole.position, stream.len() as u64);
    assert!(whole.errors.len() <= 1);
    let runs: Vec<Run> = plans.iter().map(|(_, pieces)| run(pieces, limit)).collect();
    let bytewise = plans
        .iter()
        .zip(&runs)
        .find(|((name, _), _)| *name == "bytewise")
        .map(|(_, run)| run);
    for ((name, pieces), split) in plans.iter().zip(&runs) {
        let at = format!("limit {limit}, plan {name}, {} pieces", pieces.len());
        assert_eq!(split.events, whole.events, "events differ: {at}");
        assert_eq!(
            first_error(split),
            first_error(&whole),
            "first error differs: {at}"
        );
        assert_eq!(split.tail, whole.tail, "tail differs: {at}");
        assert_eq!(
            split.last_event_id, whole.last_event_id,
            "last event id differs: {at}"
        );
        assert_eq!(split.retry, whole.retry, "retry differs: {at}");
        assert_eq!(split.position, whole.position, "position differs: {at}");
        // Fed a byte at a time, every oversized event is reported by the
        // read that reveals it; any other split reports some of them.
        if let Some(bytewise) = bytewise {
            let all: Vec<&Error> = bytewise.errors.iter().map(|(_, e)| e).collect();
            let some: Vec<&Error> = split.errors.iter().map(|(_, e)| e).collect();
            assert!(
                subsequence(&some, &all),
                "errors {some:?} not among {all:?}: {at}"
            );
        }
    }
    (whole, runs)
}

/// The default-limit run against the reference.
fn check_reference(stream: &[u8], whole: &Run, plans: &[(&str, Vec<&[u8]>)], runs: &[Run]) {
    let expected = reference::parse(stream);
    assert!(
        whole.errors.is_empty(),
        "error under the default limit: {:?}",
        whole.errors
    );
    assert_eq!(
        whole.events.len(),
        expected.events.len(),
        "event count differs from the reference"
    );
    for (i, (got, want)) in whole.events.iter().zip(&expected.events).enumerate() {
        assert_eq!(lossy(&got.event_type), want.event_type, "event {i}: type");
        assert_eq!(lossy(&got.data), want.data, "event {i}: data");
        assert_eq!(
            got.id.as_deref().map(lossy),
            want.last_event_id,
            "event {i}: id"
        );
        assert_eq!(got.retry, want.retry, "event {i}: retry");
        assert_eq!(got.offset, want.offset, "event {i}: offset");
    }
    assert_eq!(
        whole.last_event_id.as_deref().map(lossy),
        expected.last_event_id,
        "final id"
    );
    assert_eq!(whole.retry, expected.retry, "final retry");
    assert_eq!(whole.tail.data.as_deref().map(lossy), expected.tail, "tail");

    // The zero-copy contract: a one-line event whose data line and
    // dispatching blank line lie in one read is a slice of that read.
    // (Lines within the first three bytes may be held as a possible BOM.)
    let check_borrowing = |pieces: &[&[u8]], borrowed: &[bool], plan: &str| {
        let mut starts = Vec::with_capacity(pieces.len());
        let mut at = 0u64;
        for piece in pieces {
            starts.push((at, at + piece.len() as u64));
            at += piece.len() as u64;
        }
        let read_of = |pos: u64| starts.iter().position(|&(a, b)| a <= pos && pos < b);
        for (i, (want, &was_borrowed)) in expected.events.iter().zip(borrowed).enumerate() {
            let one_read = read_of(want.data_line_start) == read_of(want.dispatch_at);
            if want.data_lines == 1
                && !want.data.is_empty()
                && want.data_line_start >= 3
                && one_read
            {
                assert!(
                    was_borrowed,
                    "event {i} was copied though it lay in one read ({plan})"
                );
            }
        }
    };
    check_borrowing(&[stream], &whole.borrowed, "whole");
    for ((name, pieces), split) in plans.iter().zip(runs) {
        check_borrowing(pieces, &split.borrowed, name);
    }
}

fuzz_target!(|input: &[u8]| {
    let generated;
    let mut explicit = Vec::new();
    let stream: &[u8] = match input.first() {
        Some(&h) if (HEADER_MIN..0xF8).contains(&h) => {
            generated = generate::sse_soup(&mut Choices::new(&input[1..]));
            &generated
        }
        Some(&h) if h >= 0xF8 => {
            let mut c = Choices::new(&input[1..]);
            explicit = (0..h & 7).map(|_| usize::from(c.u16())).collect();
            c.rest()
        }
        _ => input,
    };
    let plans = splits::plans(stream, &explicit);
    let (whole, runs) = check_split_invariance(stream, &plans, DEFAULT_MAX_EVENT_SIZE);
    check_reference(stream, &whole, &plans, &runs);

    let (limited, _) = check_split_invariance(stream, &plans, SMALL_LIMIT);
    // Dropping oversized events only removes events: what is left was
    // dispatched without the limit too, with the same type, data and offset.
    let key = |e: &Owned| (e.offset, e.event_type.clone(), e.data.clone());
    let kept: Vec<_> = limited.events.iter().map(key).collect();
    let all: Vec<_> = whole.events.iter().map(key).collect();
    assert!(
        subsequence(&kept, &all),
        "the limit changed an event instead of dropping it"
    );
    if limited.errors.is_empty() {
        assert_eq!(
            limited.events, whole.events,
            "no error, but the limit changed the events"
        );
    }
});
