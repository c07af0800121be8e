//! Ways of cutting one input into a sequence of reads. Every plan's pieces
//! concatenate to the input; empty pieces are allowed on purpose (a `feed`
//! of nothing must change nothing).

/// Inputs up to this long are also fed one byte at a time.
pub const BYTEWISE_MAX: usize = 4096;

/// FNV-1a: a cheap, stable hash to derive split points from the input
/// itself, so that every input (a verbatim seed too) is split differently.
pub fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// splitmix64.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..=n`.
    pub fn upto(&mut self, n: usize) -> usize {
        (self.next_u64() % (n as u64 + 1)) as usize
    }
}

/// Cuts `data` at `cuts` (taken modulo `len + 1`, sorted; repeats give
/// empty pieces).
pub fn cut<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::with_capacity(cuts.len() + 1);
    let mut at = 0;
    for c in cuts {
        pieces.push(&data[at..c]);
        at = c;
    }
    pieces.push(&data[at..]);
    pieces
}

/// Pieces of sizes drawn from `0..=max` (zero gives an empty read).
pub fn random_sizes<'a>(data: &'a [u8], rng: &mut Rng, max: usize) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = rng.upto(max).min(rest.len());
        let (a, b) = rest.split_at(n);
        pieces.push(a);
        rest = b;
    }
    pieces
}

/// Cuts right after every CR (so CRLF straddles reads) and inside a
/// leading BOM: the two places where the scanner carries state that is
/// not a partial line.
pub fn at_cr_and_bom(data: &[u8]) -> Vec<&[u8]> {
    let mut cuts = vec![1, 2];
    cuts.extend(
        data.iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\r')
            .map(|(i, _)| i + 1),
    );
    cut(data, &cuts)
}

/// Every plan to compare against feeding `data` whole (which is not
/// included): `explicit` cuts if any, a few cuts from the input's hash,
/// random small reads, cuts at CR and in the BOM, and one byte at a time
/// for short inputs. Returns (name, pieces).
pub fn plans<'a>(data: &'a [u8], explicit: &[usize]) -> Vec<(&'static str, Vec<&'a [u8]>)> {
    let mut rng = Rng(hash(data));
    let mut plans = Vec::new();
    if !explicit.is_empty() {
        plans.push(("explicit", cut(data, explicit)));
    }
    let n = 1 + rng.upto(7);
    let cuts: Vec<usize> = (0..n).map(|_| rng.upto(data.len())).collect();
    plans.push(("hashed cuts", cut(data, &cuts)));
    let max = if data.len() <= 16 * 1024 { 16 } else { 4096 };
    plans.push(("random sizes", random_sizes(data, &mut rng, max)));
    plans.push(("cr and bom", at_cr_and_bom(data)));
    if data.len() <= BYTEWISE_MAX {
        plans.push(("bytewise", data.chunks(1).collect()));
    }
    plans
}
