//! Stable sorting through one copy of the standard library's sort.
//!
//! `slice::sort_by` is generic over the element and the comparison, so each call with its
//! own closure compiled its own copy of the whole sort (driftsort, about 3,000 lines of LLVM
//! IR each): the runtime's dozen sorts were a tenth of its code, compiled by every build that
//! depends on it, a build-dependency's on its critical path included (BENCHMARKS.md, "Light
//! in build scripts"). Here the sort runs once for all of them, on positions compared through
//! `dyn`; what stays generic per call is a closure and a loop of swaps. The lists sorted
//! (summary rows, spool files) are short, and the indirect call costs them nothing that shows.

use std::cmp::Ordering;

/// Sorts `items` by `cmp`, keeping equal items in their order, as `slice::sort_by` does.
pub(crate) fn sort_by<T>(items: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    let mut order: Vec<usize> = (0..items.len()).collect();
    sort_positions(&mut order, &mut |a, b| cmp(&items[a], &items[b]));
    // `order[k]` is where the item that belongs at `k` was. Items before `k` are in place; an
    // item that was at a position before `k` has since moved to where `order` says the
    // item at that position went, so follow it there.
    for k in 0..order.len() {
        let mut from = order[k];
        while from < k {
            from = order[from];
        }
        items.swap(k, from);
    }
}

/// Sorts `items` by the key `key` gives, keeping equal items in their order, as
/// `slice::sort_by_key` does.
pub(crate) fn sort_by_key<T, K: Ord>(items: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

/// The one instantiation of the standard library's sort.
fn sort_positions(order: &mut [usize], cmp: &mut dyn FnMut(usize, usize) -> Ordering) {
    order.sort_by(|&a, &b| cmp(a, b));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_as_the_standard_library_does_keeping_equal_items_in_order() {
        // Lists of up to 40 items from a fixed xorshift seed, keys 0 to 4 so that many are
        // equal: the result is exactly what the standard library's stable sort makes.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..40 {
            for _ in 0..50 {
                let mut items: Vec<(u8, usize)> = (0..len)
                    .map(|i| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        ((state % 5) as u8, i)
                    })
                    .collect();
                let mut expected = items.clone();
                expected.sort_by_key(|&(k, _)| k);
                sort_by_key(&mut items, |&(k, _)| k);
                assert_eq!(items, expected);
            }
        }
    }

    #[test]
    fn sorts_by_a_comparison_descending() {
        let mut items = [1.5_f64, -0.0, 3.0, 0.0, f64::NAN, -2.0];
        let mut expected = items;
        sort_by(&mut items, |a, b| b.total_cmp(a));
        expected.sort_by(|a, b| b.total_cmp(a));
        assert_eq!(items.map(f64::to_bits), expected.map(f64::to_bits));
    }
}
