//! The Responses accumulator fed whole and in many splits must end in the
//! same state; fed the same events one payload at a time through `add()`
//! it must end in the same state too; and its snapshot must be valid JSON
//! whenever every folded payload was.
//!
//! Input: if the first byte is below `HEADER_MIN`, the input is the stream
//! (the seeds are the recorded Responses fixtures, verbatim). Otherwise the
//! rest is a choice stream: its first bytes pick up to seven cut points, and
//! the rest builds a Responses event stream (`responses::stream`).
//!
//! Compared whole vs split: `snapshot_json()`, `status()`, `finish_reason()`,
//! `chunks()`, `skipped()`, `done()`, `error()`, the counters, the events,
//! `timings()` (every read at time 0) and `bytes()`; with the default limit
//! also the first error. Feed vs `add()`: the same but `bytes()` and
//! offsets, for streams with no `event: error` (which `add()` cannot say).
//! Event templates on (the default) vs off (every payload read in full),
//! whole and in the first split plan: everything, every error included.
//! Debug assertions are on in the fuzz profile, so each template match is
//! also checked against a full read of its payload as it happens.

#![no_main]

use chunkfold::responses::{Accumulator, Counts, Event, Status};
use chunkfold::stream::{ApiError, Timings};
use chunkfold::{Error, Scanner, DEFAULT_MAX_EVENT_SIZE};
use chunkfold_fuzz::choices::Choices;
use chunkfold_fuzz::{responses, splits, HEADER_MIN};
use libfuzzer_sys::fuzz_target;

const SMALL_LIMIT: usize = 256;

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
    bytes: u64,
}

fn outcome(acc: &mut Accumulator) -> Outcome {
    Outcome {
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
        bytes: acc.bytes(),
    }
}

fn feed_run(pieces: &[&[u8]], limit: usize) -> (Outcome, Vec<Error>) {
    feed_run_with(pieces, limit, true)
}

fn feed_run_with(pieces: &[&[u8]], limit: usize, templates: bool) -> (Outcome, Vec<Error>) {
    let mut acc = Accumulator::new(limit, true, true);
    acc.set_templates(templates);
    let mut errors = Vec::new();
    for piece in pieces {
        if let Err(error) = acc.feed(piece, 0) {
            errors.push(error);
        }
    }
    assert!(acc.finish().is_ok());
    assert_eq!(acc.feed(b"data: {}\n\n", 0), Err(Error::Finished));
    assert_eq!(acc.add(b"{}", 0), Err(Error::Finished));
    (outcome(&mut acc), errors)
}

fn check_add_path(stream: &[u8], fed: &Outcome) {
    let mut scanner = Scanner::default();
    let mut events: Vec<(bool, Vec<u8>)> = Vec::new();
    let framed = scanner.feed(stream, |e| {
        events.push((e.kind() == b"error", e.data.to_vec()))
    });
    assert!(framed.is_ok());
    assert!(scanner.finish().is_ok());
    if events.iter().any(|(is_error, _)| *is_error) {
        return;
    }
    let mut acc = Accumulator::new(DEFAULT_MAX_EVENT_SIZE, true, true);
    let mut all_valid = true;
    for (_, data) in &events {
        let read = !acc.done() && !matches!(data.trim_ascii(), b"" | b"[DONE]");
        match acc.add(data, 0) {
            Ok(()) if read => {
                all_valid &= serde_json::from_slice::<serde_json::Value>(data).is_ok();
            }
            Ok(()) => {}
            Err(Error::Json { message, .. }) => {
                let parsed = serde_json::from_slice::<serde_json::Value>(data);
                let shallow = !message.contains("deeper than");
                assert!(
                    !(shallow && matches!(parsed, Ok(serde_json::Value::Object(_)))),
                    "a valid JSON object was rejected ({message}): {:?}",
                    String::from_utf8_lossy(data)
                );
            }
            Err(other) => panic!("add failed: {other:?}"),
        }
    }
    assert!(acc.finish().is_ok());
    let got = outcome(&mut acc);
    assert_eq!(
        got.snapshot, fed.snapshot,
        "add: snapshot_json differs from feed"
    );
    assert_eq!(
        (
            got.status,
            &got.reason,
            got.chunks,
            got.skipped,
            got.done,
            got.counts
        ),
        (
            fed.status,
            &fed.reason,
            fed.chunks,
            fed.skipped,
            fed.done,
            fed.counts
        ),
        "add: state differs"
    );
    assert_eq!(got.events, fed.events, "add: events differ");
    let api = |e: &Option<ApiError>| e.as_ref().map(|e| (e.payload.clone(), e.event));
    assert_eq!(api(&got.error), api(&fed.error), "add: error() differs");
    if all_valid {
        let parsed = serde_json::from_slice::<serde_json::Value>(&got.snapshot);
        assert!(
            parsed.is_ok(),
            "valid events gave invalid snapshot_json: {}",
            String::from_utf8_lossy(&got.snapshot)
        );
    }
}

fuzz_target!(|input: &[u8]| {
    let generated;
    let mut cuts = Vec::new();
    let stream: &[u8] = match input.first() {
        Some(&h) if h >= HEADER_MIN => {
            let mut c = Choices::new(&input[1..]);
            cuts = (0..c.below(8)).map(|_| usize::from(c.u16())).collect();
            generated = responses::stream(&mut c);
            &generated
        }
        _ => input,
    };
    let plans = splits::plans(stream, &cuts);
    for limit in [DEFAULT_MAX_EVENT_SIZE, SMALL_LIMIT] {
        let (whole, whole_errors) = feed_run(&[stream], limit);
        let (full, full_errors) = feed_run_with(&[stream], limit, false);
        assert_eq!(full.snapshot, whole.snapshot, "templates: snapshot_json differs");
        assert_eq!(full, whole, "templates: state differs");
        assert_eq!(full_errors, whole_errors, "templates: errors differ");
        if let Some((name, pieces)) = plans.first() {
            let on = feed_run_with(pieces, limit, true);
            let off = feed_run_with(pieces, limit, false);
            assert_eq!(on, off, "templates: plan {name} differs");
        }
        for (name, pieces) in &plans {
            let (split, errors) = feed_run(pieces, limit);
            let at = format!("limit {limit}, plan {name}, {} pieces", pieces.len());
            assert_eq!(
                split.snapshot, whole.snapshot,
                "snapshot_json differs: {at}"
            );
            assert_eq!(split, whole, "state differs: {at}");
            if limit == DEFAULT_MAX_EVENT_SIZE {
                assert_eq!(
                    errors.first(),
                    whole_errors.first(),
                    "first error differs: {at}"
                );
            }
        }
        if limit == DEFAULT_MAX_EVENT_SIZE {
            check_add_path(stream, &whole);
        }
    }
});
