//! Property: however a stream's segments are reordered and duplicated, the
//! reassembler hands over the same bytes and declares the same gaps.

use connlint::reassembly::{Reassembler, ReassemblyLimits, Side, StreamHandler};
use connlint::Timestamp;
use proptest::prelude::*;

#[derive(Default)]
struct Collect {
    bytes: Vec<u8>,
    /// (offset, len) of each gap, and where data resumed.
    gaps: Vec<(u64, u64)>,
    fins: usize,
}

impl StreamHandler for Collect {
    fn on_data(&mut self, _: Side, offset: u64, bytes: &[u8], _: Timestamp) {
        assert_eq!(
            offset as usize,
            self.bytes.len() + self.gaps.iter().map(|g| g.1 as usize).sum::<usize>()
        );
        self.bytes.extend_from_slice(bytes);
    }
    fn on_gap(&mut self, _: Side, offset: u64, len: u64, _: Timestamp) {
        self.gaps.push((offset, len));
    }
    fn on_fin(&mut self, _: Side, _: Timestamp) {
        self.fins += 1;
    }
    fn on_rst(&mut self, _: Side, _: Timestamp) {}
}

/// Feeds `order` (indices into `segments`) after a SYN with `isn`; returns
/// what the handler saw.
fn run(isn: u32, stream: &[u8], cuts: &[usize], order: &[usize]) -> Collect {
    let mut r = Reassembler::new(ReassemblyLimits {
        max_out_of_order_bytes: 1 << 30,
    });
    let mut h = Collect::default();
    r.syn(isn);
    let bounds: Vec<(usize, usize)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
    for (n, &i) in order.iter().enumerate() {
        let (a, b) = bounds[i];
        let seq = isn.wrapping_add(1).wrapping_add(a as u32);
        let fin = b == stream.len();
        r.segment(
            Side::Client,
            seq,
            &stream[a..b],
            (b - a) as u32,
            fin,
            false,
            Timestamp(n as i64),
            &mut h,
        );
    }
    r.flush(Side::Client, Timestamp(1 << 40), &mut h);
    h
}

fn segmentation() -> impl Strategy<Value = (u32, Vec<u8>, Vec<usize>)> {
    (any::<u32>(), prop::collection::vec(any::<u8>(), 2..2000)).prop_flat_map(|(isn, stream)| {
        let n = stream.len();
        (
            Just(isn),
            Just(stream),
            prop::collection::btree_set(1..n, 0..40).prop_map(move |set| {
                let mut cuts = vec![0];
                cuts.extend(set);
                cuts.push(n);
                cuts
            }),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_permutation_with_duplicates_gives_the_same_stream(
        (isn, stream, cuts) in segmentation(),
        seed in any::<u64>(),
        dups in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let n = cuts.len() - 1;
        let mut order: Vec<usize> = (0..n).collect();
        for d in &dups { order.push(d.index(n)); }
        // Shuffle deterministically from the seed.
        let mut s = seed | 1;
        for i in (1..order.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            order.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let got = run(isn, &stream, &cuts, &order);
        prop_assert_eq!(&got.bytes, &stream);
        prop_assert!(got.gaps.is_empty());
        prop_assert_eq!(got.fins, 1);
    }

    #[test]
    fn missing_segments_give_the_same_gaps_in_any_order(
        (isn, stream, cuts) in segmentation(),
        seed in any::<u64>(),
        drop in prop::collection::vec(any::<prop::sample::Index>(), 1..5),
    ) {
        let n = cuts.len() - 1;
        let dropped: std::collections::BTreeSet<usize> = drop.iter().map(|d| d.index(n)).collect();
        let kept: Vec<usize> = (0..n).filter(|i| !dropped.contains(i)).collect();
        let in_order = run(isn, &stream, &cuts, &kept);
        let mut shuffled = kept.clone();
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let mut twice = shuffled.clone();
        twice.extend(shuffled.iter().rev());
        let any_order = run(isn, &stream, &cuts, &twice);
        prop_assert_eq!(&any_order.bytes, &in_order.bytes);
        prop_assert_eq!(&any_order.gaps, &in_order.gaps);
        // The gaps are exactly the dropped segments (adjacent ones merged),
        // except a dropped tail: with nothing after it (no FIN either), the
        // stream just ends earlier as far as the capture can tell.
        let last_kept = kept.last().copied();
        let mut expect: Vec<(u64, u64)> = Vec::new();
        for &i in dropped.iter().filter(|&&i| Some(i) < last_kept) {
            let (a, b) = (cuts[i] as u64, cuts[i + 1] as u64);
            match expect.last_mut() {
                Some(last) if last.0 + last.1 == a => last.1 += b - a,
                _ => expect.push((a, b - a)),
            }
        }
        prop_assert_eq!(&in_order.gaps, &expect);
    }
}
