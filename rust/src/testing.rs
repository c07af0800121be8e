//! What the protocols' unit tests share: their recorded fixtures, and the
//! check that a fold's fast path changes nothing.

use std::fmt::Debug;
use std::path::Path;

/// Every `.sse` fixture of `protocol` (`tests/data/fixtures/<protocol>`), by
/// path, sorted; at least `at_least` of them.
pub fn fixtures(protocol: &str, at_least: usize) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/fixtures")
        .join(protocol);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "sse"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= at_least,
        "{} fixtures in {dir:?}",
        paths.len()
    );
    paths
        .iter()
        .map(|path| (path.display().to_string(), std::fs::read(path).unwrap()))
        .collect()
}

/// Folds `stream` whole, in 7-byte reads and byte by byte, each time with
/// the fast path on and off: `fold(stream, step, on)` gives the outcome and
/// how many events took the fast path. The outcomes must be equal; returns
/// the fast path's count of the last pass.
pub fn same_with_and_without<T: PartialEq + Debug>(
    name: &str,
    stream: &[u8],
    fold: impl Fn(&[u8], usize, bool) -> (T, u64),
) -> u64 {
    let mut hits = 0;
    for step in [stream.len(), 7, 1] {
        let (fast, matched) = fold(stream, step, true);
        let (full, none) = fold(stream, step, false);
        assert_eq!(none, 0);
        assert_eq!(
            fast, full,
            "{name}, reads of {step}: the fast path changed the result"
        );
        hits = matched;
    }
    hits
}
