//! The accumulator fed whole and in many splits must end in the same state;
//! fed the same events one payload at a time through `add()` it must end
//! in the same state too; and with its prefix and template caches off
//! (`set_caches(false)`, and an `add(b"{}")` between payloads, which folds
//! nothing) the result must not change either.
//!
//! Input: if the first byte is below `HEADER_MIN`, the input is the stream
//! (the seeds are verbatim `.sse` files). Otherwise the rest is a choice
//! stream: its first bytes pick up to seven cut points, and the rest
//! assembles a chat-completion-chunk stream (`generate::ChunkStream`).
//!
//! What is compared, and what is not:
//! * whole vs split (any limit): `snapshot_json()`, `status()`, `chunks()`,
//!   `skipped()`, `done()`, `error()`, the collected events, `timings()`
//!   (every read is at time 0) and `bytes()`. Errors: with the default
//!   limit the first error is the same, and each split's errors are among
//!   those of the byte-at-a-time run. With the small limit errors are not
//!   compared: a `feed` reports the earliest error among those of its own
//!   read, and after `[DONE]` a read is not scanned at all, so which error
//!   a read reports depends on the split by design.
//! * feed vs `add()`: the same except `bytes()` and `timings().first_byte`
//!   (`add` reads no bytes), and offsets: `add` gives every payload the
//!   accumulator's own stream position (0 here), so errors are compared by
//!   message and excerpt, with the offsets of the framed events, and
//!   `error()` by payload and kind only. Only streams without an
//!   `event: error` before `[DONE]` are compared: `add` has no way to say
//!   a payload came as `event: error`, which folds differently.
//! * the JSON contract of the reader: a payload that serde_json parses as
//!   an object is never rejected; if every payload that was folded is
//!   valid JSON, `snapshot_json()` is valid JSON.

#![no_main]

use chunkfold::chat::{Accumulator, ApiError, Event, Status, Timings};
use chunkfold::{Error, Scanner, DEFAULT_MAX_EVENT_SIZE};
use chunkfold_fuzz::choices::Choices;
use chunkfold_fuzz::generate::ChunkStream;
use chunkfold_fuzz::{splits, HEADER_MIN};
use libfuzzer_sys::fuzz_target;

const SMALL_LIMIT: usize = 256;

#[derive(Debug, PartialEq)]
struct Outcome {
    snapshot: Vec<u8>,
    status: Status,
    chunks: u64,
    skipped: u64,
    done: bool,
    error: Option<ApiError>,
    events: Vec<Event>,
    timings: Timings,
    bytes: u64,
}

fn outcome(acc: &mut Accumulator) -> Outcome {
    Outcome {
        snapshot: acc.snapshot_json(),
        status: acc.status(),
        chunks: acc.chunks(),
        skipped: acc.skipped(),
        done: acc.done(),
        error: acc.error().cloned(),
        events: acc.take_events(),
        timings: acc.timings(),
        bytes: acc.bytes(),
    }
}

fn finish(acc: &mut Accumulator) {
    let finished = acc.finish();
    assert!(finished.is_ok(), "finish failed: {finished:?}");
    assert_eq!(acc.feed(b"data: {}\n\n", 0), Err(Error::Finished));
    assert_eq!(acc.add(b"{}", 0), Err(Error::Finished));
    assert_eq!(acc.finish(), Err(Error::Finished));
}

/// Feeds `pieces`; returns the end state and each failed read's error.
fn feed_run(pieces: &[&[u8]], limit: usize) -> (Outcome, Vec<Error>) {
    let mut acc = Accumulator::new(limit, true);
    let mut errors = Vec::new();
    for piece in pieces {
        if let Err(error) = acc.feed(piece, 0) {
            errors.push(error);
        }
    }
    finish(&mut acc);
    (outcome(&mut acc), errors)
}

fn is_blank_or_done(payload: &[u8]) -> bool {
    let trimmed = payload.trim_ascii();
    trimmed.is_empty() || trimmed == b"[DONE]"
}

/// What the add path found.
struct Added {
    outcome: Outcome,
    /// (offset of the framed event, message, excerpt) per rejected payload.
    errors: Vec<(u64, String, Vec<u8>)>,
    /// `{}` payloads folded to keep the caches cold.
    padding: u64,
    /// Whether every payload that was folded is valid JSON.
    all_valid: bool,
}

/// Frames `stream` with a scanner of our own and hands each event's data
/// to `add()`; `None` if an `event: error` comes before `[DONE]`.
fn add_run(stream: &[u8], cold: bool) -> Option<Added> {
    let mut scanner = Scanner::default();
    let mut events: Vec<(bool, Vec<u8>, u64)> = Vec::new();
    let framed = scanner.feed(stream, |e| {
        events.push((e.kind() == b"error", e.data.to_vec(), e.offset))
    });
    assert!(framed.is_ok());
    let tail = scanner.finish().ok()?;
    for (is_error_event, data, _) in &events {
        if *is_error_event {
            return None;
        }
        if data.trim_ascii() == b"[DONE]" {
            break;
        }
    }

    let mut acc = Accumulator::new(DEFAULT_MAX_EVENT_SIZE, true);
    acc.set_caches(!cold);
    let (mut errors, mut padding, mut all_valid) = (Vec::new(), 0, true);
    for (i, (_, data, offset)) in events.iter().enumerate() {
        if cold && i > 0 {
            padding += u64::from(!acc.done());
            assert_eq!(acc.add(b"{}", 0), Ok(()));
        }
        let read = !acc.done() && !is_blank_or_done(data);
        match acc.add(data, 0) {
            Ok(()) if read => {
                all_valid &= serde_json::from_slice::<serde_json::Value>(data).is_ok();
            }
            Ok(()) => {}
            Err(Error::Json {
                message, excerpt, ..
            }) => {
                let parsed = serde_json::from_slice::<serde_json::Value>(data);
                assert!(
                    !matches!(parsed, Ok(serde_json::Value::Object(_))),
                    "a valid JSON object was rejected ({message}): {:?}",
                    String::from_utf8_lossy(data)
                );
                errors.push((*offset, message, excerpt));
            }
            Err(other) => panic!("add failed: {other:?}"),
        }
    }
    // feed's finish() counts an unterminated final `data: [DONE]`.
    if let Some(data) = tail.data.filter(|d| d.trim_ascii() == b"[DONE]") {
        assert_eq!(acc.add(&data, 0), Ok(()));
    }
    finish(&mut acc);
    Some(Added {
        outcome: outcome(&mut acc),
        errors,
        padding,
        all_valid,
    })
}

fn check_splits(
    stream: &[u8],
    plans: &[(&str, Vec<&[u8]>)],
    limit: usize,
) -> (Outcome, Vec<Error>) {
    let (whole, whole_errors) = feed_run(&[stream], limit);
    let runs: Vec<_> = plans
        .iter()
        .map(|(_, pieces)| feed_run(pieces, limit))
        .collect();
    let bytewise = plans
        .iter()
        .zip(&runs)
        .find(|((n, _), _)| *n == "bytewise")
        .map(|(_, r)| r);
    for ((name, pieces), (split, errors)) in plans.iter().zip(&runs) {
        let at = format!("limit {limit}, plan {name}, {} pieces", pieces.len());
        assert_eq!(
            split.snapshot, whole.snapshot,
            "snapshot_json differs: {at}"
        );
        assert_eq!(split, &whole, "state differs: {at}");
        if limit == DEFAULT_MAX_EVENT_SIZE {
            assert_eq!(
                errors.first(),
                whole_errors.first(),
                "first error differs: {at}"
            );
            if let Some((_, all)) = bytewise {
                let mut all = all.iter();
                assert!(
                    errors.iter().all(|e| all.any(|a| a == e)),
                    "errors not among the byte-at-a-time run's: {at}"
                );
            }
        }
    }
    let all_errors = bytewise.map_or(whole_errors, |(_, e)| e.clone());
    (whole, all_errors)
}

fn check_add_path(stream: &[u8], fed: &Outcome, fed_errors: Option<&[Error]>) {
    let Some(added) = add_run(stream, false) else {
        return;
    };
    let got = &added.outcome;
    assert_eq!(
        got.snapshot, fed.snapshot,
        "add: snapshot_json differs from feed"
    );
    assert_eq!(got.status, fed.status, "add: status differs");
    assert_eq!(got.chunks, fed.chunks, "add: chunks differ");
    assert_eq!(got.skipped, fed.skipped, "add: skipped differs");
    assert_eq!(got.done, fed.done, "add: done differs");
    assert_eq!(got.events, fed.events, "add: events differ");
    let api = |e: &Option<ApiError>| e.as_ref().map(|e| (e.payload.clone(), e.event));
    assert_eq!(api(&got.error), api(&fed.error), "add: error() differs");
    assert_eq!(got.timings.first_token, fed.timings.first_token);
    assert_eq!(got.timings.last_token, fed.timings.last_token);
    assert_eq!(
        added.errors.len() as u64,
        fed.skipped,
        "add: rejected payloads != skipped()"
    );
    if let Some(fed_errors) = fed_errors {
        let fed_errors: Vec<_> = fed_errors
            .iter()
            .map(|e| match e {
                Error::Json {
                    offset,
                    message,
                    excerpt,
                } => (*offset, message.clone(), excerpt.clone()),
                other => panic!("unexpected error under the default limit: {other:?}"),
            })
            .collect();
        assert_eq!(
            added.errors, fed_errors,
            "add: rejected payloads differ from feed's errors"
        );
    }
    if added.all_valid {
        let parsed = serde_json::from_slice::<serde_json::Value>(&got.snapshot);
        assert!(
            parsed.is_ok(),
            "valid chunks gave invalid snapshot_json: {}",
            String::from_utf8_lossy(&got.snapshot)
        );
    }

    let Some(cold) = add_run(stream, true) else {
        return;
    };
    let cold_got = &cold.outcome;
    assert_eq!(
        cold_got.snapshot, fed.snapshot,
        "cold caches: snapshot_json differs"
    );
    assert_eq!(cold_got.status, fed.status, "cold caches: status differs");
    assert_eq!(
        cold_got.chunks,
        fed.chunks + cold.padding,
        "cold caches: chunks differ"
    );
    assert_eq!(
        cold_got.skipped, fed.skipped,
        "cold caches: skipped differs"
    );
    assert_eq!(cold_got.events, fed.events, "cold caches: events differ");
    assert_eq!(
        cold.errors, added.errors,
        "cold caches: rejected payloads differ"
    );
}

fuzz_target!(|input: &[u8]| {
    let generated;
    let mut cuts = Vec::new();
    let stream: &[u8] = match input.first() {
        Some(&h) if h >= HEADER_MIN => {
            let mut c = Choices::new(&input[1..]);
            cuts = (0..c.below(8)).map(|_| usize::from(c.u16())).collect();
            generated = ChunkStream::new(&mut c).build();
            &generated
        }
        _ => input,
    };
    let plans = splits::plans(stream, &cuts);
    let (whole, all_errors) = check_splits(stream, &plans, DEFAULT_MAX_EVENT_SIZE);
    // The error list is complete only when read byte at a time.
    let complete = stream.len() <= splits::BYTEWISE_MAX;
    check_add_path(stream, &whole, complete.then_some(&all_errors[..]));
    check_splits(stream, &plans, SMALL_LIMIT);
});
