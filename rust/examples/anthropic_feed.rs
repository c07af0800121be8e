//! Times the Anthropic fold against the SSE scan and a bare JSON skip, per
//! event, on a stream file: `cargo run --release --example anthropic_feed --
//! STREAM.sse [scan|read|fold]`.

fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let data = std::fs::read(path).unwrap_or_default();
    let events = data.windows(7).filter(|w| w == b"\ndata: ").count() as f64;
    for mode in std::env::args()
        .nth(2)
        .map(|m| vec![m])
        .unwrap_or_else(|| vec!["scan".into(), "read".into(), "fold".into()])
    {
        let mut best = f64::MAX;
        for _ in 0..30 {
            let t = std::time::Instant::now();
            match mode.as_str() {
                "scan" => {
                    let mut s = chunkfold::Scanner::new(1 << 24);
                    let mut n = 0usize;
                    for c in data.chunks(65536) {
                        let _ = s.feed(c, |e| n += e.data.len());
                    }
                    std::hint::black_box(n);
                }
                "read" => {
                    let mut s = chunkfold::Scanner::new(1 << 24);
                    let mut k = 0usize;
                    for c in data.chunks(65536) {
                        let _ = s.feed(c, |e| {
                            let mut c = chunkfold::json::Cursor::new(e.data);
                            let _ = c.skip();
                            k += c.position();
                        });
                    }
                    std::hint::black_box(k);
                }
                _ => {
                    let mut a = chunkfold::anthropic::Accumulator::new(1 << 24, false);
                    for c in data.chunks(65536) {
                        let _ = a.feed(c, 0);
                    }
                    std::hint::black_box(a.chunks());
                }
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("{mode}: {:.3} us/event", best / events * 1e6);
    }
}
