//! One key's ranking state: each item's aggregate and, for each ranking of them, a few more than
//! K rows kept in order, with the rows last published.
//!
//! The operator folds a time's events into the aggregates, then settles each touched key once:
//! the touched items' rows are merged into the kept ones, and only the changes between the rows
//! last published and the new best K go out.

use std::collections::BinaryHeap;
use std::hash::Hash;

use rustc_hash::FxBuildHasher;

use super::FollowUp;

/// Calls `change` with each row of `old` that is not in `new` (-1) and each of `new` not in `old`
/// (+1), and says whether there was any. Both are sorted (best first), so one merge finds them:
/// rows of the same rank are mostly equal, and most comparisons of unequal rows end at their
/// counts, not their names.
fn changes<'a, R: Ord + 'a>(
    old: impl Iterator<Item = &'a R>,
    new: impl Iterator<Item = &'a R>,
    mut change: impl FnMut(&R, isize),
) -> bool {
    let (mut old, mut new) = (old.peekable(), new.peekable());
    let mut changed = false;
    loop {
        let diff = match (old.peek(), new.peek()) {
            (Some(gone), Some(came)) => match gone.cmp(came) {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Greater => 1,
                std::cmp::Ordering::Equal => 0,
            },
            (Some(_), None) => -1,
            (None, Some(_)) => 1,
            (None, None) => return changed,
        };
        match diff {
            -1 => change(old.next().expect("peeked"), -1),
            1 => change(new.next().expect("peeked"), 1),
            _ => {
                old.next();
                new.next();
                continue;
            }
        }
        changed = true;
    }
}

/// One key's state: each item's aggregate, and for each ranking of them its best rows and the
/// rows last output.
pub(super) struct Ranking<I, A, R> {
    aggregates: Aggregates<I, A>,
    orders: Vec<Order<I, R>>,
    /// Items folded since the last [`Ranking::settle`].
    touched: Vec<I>,
}

/// One ranking of a key's items, kept in part.
///
/// Keeping every item's row in order (a `BTreeSet`) made each event a logarithmic reorder with
/// string comparisons: half of the graph's time. Only the best `k` rows are ever output, so a
/// ranking keeps a few more than `k` rows in order, with the promise that every other item ranks
/// below the last of them. A time's touched items are merged into those rows, and every merged row
/// that ranks at or above the old last one is exact: an item neither kept nor touched still ranks
/// below it (its row depends on its aggregate alone). Only when fewer than `k` such rows are left
/// does the ranking take all of the key's items again.
struct Order<I, R> {
    /// The best rows, best first, with their items.
    kept: Vec<(R, I)>,
    /// Whether `kept` holds the row of every item that has one.
    complete: bool,
    published: Vec<R>,
}

/// Each item's aggregate. A share holds up to a window's worth of items (hundreds of thousands of
/// tweets), and a map that moves them all at once when it grows stalled the worker for tens of
/// milliseconds: p99 latency at 100,000 tweets/s went from 15 to 45 ms. This one moves a few
/// entries on each insert instead.
type Aggregates<I, A> = griddle::HashMap<I, Aggregate<A>, FxBuildHasher>;

/// An item's aggregate, and whether it was folded since the last settle.
struct Aggregate<A> {
    value: A,
    touched: bool,
}

/// How many rows a ranking keeps in order to output `k`: the slack lets most times go by without
/// ranking all of a key's items again. Trending scores move every row at every tick, so its
/// ranking loses kept rows fast: with a slack of 16 rows rather than 48, re-ranking every item
/// took a tenth of the worker's time with the trending view, and the standard specs' stream ran
/// about 8% slower with it (a few % without it).
pub(super) fn kept_rows(k: usize) -> usize {
    k.saturating_add(k.max(48))
}

impl<I: Hash + Eq + Clone, A: Default + PartialEq, R: Ord + Clone> Ranking<I, A, R> {
    pub(super) fn new(orders: usize) -> Self {
        let order = || Order { kept: Vec::new(), complete: true, published: Vec::new() };
        Ranking {
            aggregates: Aggregates::default(),
            orders: (0..orders).map(|_| order()).collect(),
            touched: Vec::new(),
        }
    }

    /// Applies one event to its item's aggregate; the item's rows move at the next settle. Gives
    /// back the event's follow-up, if `fold` answers one, with the item it is for.
    pub(super) fn fold<E>(
        &mut self,
        item: I,
        event: &E,
        diff: isize,
        fold: impl Fn(&mut A, &E, isize) -> FollowUp<E>,
    ) -> Option<(u64, E, I)> {
        let aggregate = match self.aggregates.get_mut(&item) {
            Some(aggregate) => aggregate,
            None => self.aggregates.entry(item.clone()).or_insert(Aggregate { value: A::default(), touched: false }),
        };
        let follow_up = fold(&mut aggregate.value, event, diff).map(|(after, event)| (after, event, item.clone()));
        if !aggregate.touched {
            aggregate.touched = true;
            self.touched.push(item);
        }
        follow_up
    }

    /// Brings every ranking's kept rows up to date with the touched items, keeping at most
    /// `capacity` in each, and forgets items back at the default aggregate (which must have no
    /// row). `row(order, item, aggregate, bound)` is an item's row in a ranking (see
    /// [`ranked_in_orders`](super::ranked_in_orders) for the bound).
    ///
    /// Each touched item is looked up once for all rankings: the map holds a window's items (with
    /// a trend baseline, thirteen hours of hashtags), and a lookup per ranking and another to
    /// clear the mark took a third of the trending view's cost.
    pub(super) fn settle(&mut self, k: usize, capacity: usize, row: impl Fn(usize, &I, &A, Option<&R>) -> Option<R>) {
        let boundaries: Vec<Option<R>> =
            self.orders.iter_mut().map(|order| order.keep_untouched(&self.aggregates)).collect();
        let mut moved: Vec<Vec<(R, I)>> = self.orders.iter().map(|_| Vec::new()).collect();
        for item in self.touched.drain(..) {
            let Some(aggregate) = self.aggregates.get_mut(&item) else { continue };
            aggregate.touched = false;
            for (index, (boundary, moved)) in boundaries.iter().zip(&mut moved).enumerate() {
                let Some(row) = row(index, &item, &aggregate.value, boundary.as_ref()) else { continue };
                // Below the boundary, an item neither kept nor touched may rank above this row:
                // it cannot be kept. Most touched items of a long tail stop here, unsorted.
                if boundary.as_ref().is_none_or(|boundary| row <= *boundary) {
                    moved.push((row, item.clone()));
                }
            }
            if aggregate.value == A::default() {
                self.aggregates.remove(&item);
            }
        }
        for (index, ((order, moved), boundary)) in self.orders.iter_mut().zip(moved).zip(boundaries).enumerate() {
            order.merge(moved, boundary, &self.aggregates, k, capacity, |item, aggregate, bound| {
                row(index, item, aggregate, bound)
            });
        }
    }

    /// Whether every folded item has been settled: the key has not been touched since.
    pub(super) fn is_settled(&self) -> bool {
        self.touched.is_empty()
    }

    /// Whether every item is back at the default aggregate, and forgotten: the key holds nothing.
    pub(super) fn is_empty(&self) -> bool {
        self.aggregates.is_empty()
    }

    /// Calls `change(order, row, diff)` with each row that left a ranking's best `k` since they
    /// were last published (-1) and each that came into them (+1), and notes the best `k` as
    /// published. Most times leave most of a ranking's rows as they were published.
    pub(super) fn publish(&mut self, k: usize, mut change: impl FnMut(usize, &R, isize)) {
        for (index, order) in self.orders.iter_mut().enumerate() {
            if changes(order.published.iter(), order.best(k), |row, diff| change(index, row, diff)) {
                order.published = order.best(k).cloned().collect();
            }
        }
    }
}

impl<I: Hash + Eq + Clone, R: Ord + Clone> Order<I, R> {
    /// Drops the kept rows of items marked touched in `aggregates` (their rows may have moved),
    /// and gives the boundary that a touched item's row must reach to be kept: the last kept row,
    /// unless every row is kept. Every kept item is in `aggregates` (an item is forgotten only
    /// after every ranking settled it).
    fn keep_untouched<A>(&mut self, aggregates: &Aggregates<I, A>) -> Option<R> {
        let boundary = if self.complete { None } else { self.kept.last().map(|(row, _)| row.clone()) };
        self.kept.retain(|(_, item)| !aggregates.get(item).is_some_and(|aggregate| aggregate.touched));
        boundary
    }

    /// Merges the `moved` rows (of touched items, at or above the `boundary`) into the kept ones,
    /// or ranks every item of `aggregates` again when fewer than `k` rows are known to be exact.
    fn merge<A>(
        &mut self,
        mut moved: Vec<(R, I)>,
        boundary: Option<R>,
        aggregates: &Aggregates<I, A>,
        k: usize,
        capacity: usize,
        row: impl Fn(&I, &A, Option<&R>) -> Option<R>,
    ) {
        let exact = self.kept.len() + moved.len();
        if exact < k && boundary.is_some() {
            let items = aggregates.iter().map(|(item, aggregate)| (item, &aggregate.value));
            let (best, complete) = best_of(items, capacity, row);
            self.complete = complete;
            self.kept = best.into_iter().map(|(row, item)| (row, item.clone())).collect();
            return;
        }
        // The untouched kept rows are still in order: only the moved rows need sorting.
        moved.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.kept = merge_sorted(std::mem::take(&mut self.kept), moved, capacity);
        self.complete = boundary.is_none() && exact <= capacity;
    }

    /// The best `k` rows, best first.
    fn best(&self, k: usize) -> impl Iterator<Item = &R> {
        self.kept.iter().take(k).map(|(row, _)| row)
    }
}

/// The best `capacity` rows of `items`, best first, and whether they are all the rows there are
/// (when `capacity` rows are kept, there may have been more: not known). A full re-ranking visits
/// every item of a window (hundreds of thousands of tweets): holding only the best seen so far,
/// each item is one comparison with the worst of them, and nothing grows with the window. Once
/// `capacity` rows are held, `row` is given the worst as its bound.
fn best_of<'a, I: 'a, A: 'a, R: Ord>(
    items: impl Iterator<Item = (&'a I, &'a A)>,
    capacity: usize,
    row: impl Fn(&I, &A, Option<&R>) -> Option<R>,
) -> (Vec<(R, &'a I)>, bool) {
    let mut best: BinaryHeap<ByRow<R, &I>> = BinaryHeap::with_capacity(capacity);
    for (item, aggregate) in items {
        if best.len() < capacity {
            if let Some(row) = row(item, aggregate, None) {
                best.push(ByRow(row, item));
            }
        } else if let Some(mut worst) = best.peek_mut() {
            if let Some(row) = row(item, aggregate, Some(&worst.0)).filter(|row| *row < worst.0) {
                *worst = ByRow(row, item);
            }
        }
    }
    let complete = best.len() < capacity;
    (best.into_sorted_vec().into_iter().map(|ByRow(row, item)| (row, item)).collect(), complete)
}

/// A row with its item, ordered by the row alone: the heap of [`best_of`] keeps the worst on top.
struct ByRow<R, I>(R, I);

impl<R: Ord, I> Ord for ByRow<R, I> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl<R: Ord, I> PartialOrd for ByRow<R, I> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<R: Ord, I> PartialEq for ByRow<R, I> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<R: Ord, I> Eq for ByRow<R, I> {}

/// The first `capacity` rows of two sorted lists, merged in order.
fn merge_sorted<R: Ord, I>(first: Vec<(R, I)>, second: Vec<(R, I)>, capacity: usize) -> Vec<(R, I)> {
    let mut merged = Vec::with_capacity((first.len() + second.len()).min(capacity));
    let (mut first, mut second) = (first.into_iter().peekable(), second.into_iter().peekable());
    while merged.len() < capacity {
        let next = match (first.peek(), second.peek()) {
            (Some(a), Some(b)) if a.0 <= b.0 => first.next(),
            (Some(_), Some(_)) => second.next(),
            (Some(_), None) => first.next(),
            (None, _) => second.next(),
        };
        match next {
            Some(row) => merged.push(row),
            None => break,
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn changes_between_sorted_rankings_are_the_rows_of_one_only() {
        let mut seen = Vec::new();
        assert!(changes([1, 3, 5, 7].iter(), [2, 3, 7, 8].iter(), |row, diff| seen.push((*row, diff))));
        assert_eq!(seen, [(1, -1), (2, 1), (5, -1), (8, 1)]);
        assert!(!changes([1, 3].iter(), [1, 3].iter(), |_, _| panic!("no change")));
    }

    #[test]
    fn merging_keeps_order_and_capacity() {
        let rows = |rows: &[u8]| rows.iter().map(|row| (*row, ())).collect::<Vec<_>>();
        assert_eq!(merge_sorted(rows(&[1, 4, 6]), rows(&[2, 3, 9]), 5), rows(&[1, 2, 3, 4, 6]));
        assert_eq!(merge_sorted(rows(&[]), rows(&[2]), 5), rows(&[2]));
    }

    #[test]
    fn the_best_of_all_rows_are_kept_and_said_to_be_all_only_when_fewer_fit() {
        let best = |counts: &[u8], capacity| {
            let items: Vec<(u8, u8)> = counts.iter().map(|count| (*count, *count)).collect();
            let (rows, complete) = best_of(items.iter().map(|(item, count)| (item, count)), capacity, |_, count, _| {
                (*count > 0).then_some(*count)
            });
            (rows.into_iter().map(|(row, _)| row).collect::<Vec<_>>(), complete)
        };
        assert_eq!(best(&[5, 1, 4, 2], 2), (vec![1, 2], false));
        assert_eq!(best(&[5, 0, 4], 3), (vec![4, 5], true));
        assert_eq!(best(&[3, 1], 0), (vec![], false));
    }

    proptest! {
        /// Whatever the changes, each ranking's kept rows' first `k` are the best `k` of all
        /// items, as a full sort of every aggregate ranks them: with a small capacity, both the
        /// merge of touched rows and the full re-ranking it falls back on are exercised. The second
        /// ranking orders the same counts the other way round and leaves out the items above 3.
        /// With up to 80 items the item map grows several times, and is read and changed while it
        /// still moves its entries from the old table to the new one.
        #[test]
        fn the_best_rows_are_those_of_a_full_sort(
            times in prop::collection::vec(prop::collection::vec((0u8..80, -2isize..4), 0..24), 1..40),
            k in 1usize..5,
            slack in 0usize..4,
        ) {
            let mut ranking: Ranking<u8, isize, (isize, u8)> = Ranking::new(2);
            let row = |order: usize, item: &u8, count: &isize| match order {
                // Most first, ties by item, as the hashtag ranking has them.
                0 => (*count > 0).then_some((-*count, *item)),
                _ => (*count > 0 && *count <= 3).then_some((*count, *item)),
            };
            // As the graph's rows do, it builds no row that ranks below the bound.
            let bounded_row = |order: usize, item: &u8, count: &isize, bound: Option<&(isize, u8)>| {
                row(order, item, count).filter(|row| bound.is_none_or(|bound| row <= bound))
            };
            let mut counts: BTreeMap<u8, isize> = BTreeMap::new();
            for changes in times {
                for (item, diff) in changes {
                    // Counts never go below zero, as occurrences leave only after they entered.
                    let count = counts.entry(item).or_default();
                    let diff = diff.max(-*count);
                    *count += diff;
                    ranking.fold(item, &(), diff, |aggregate, event, diff| crate::top_k::count(&(), aggregate, event, diff));
                }
                ranking.settle(k, k + slack, bounded_row);
                for order in 0..2 {
                    let mut expected: Vec<_> = counts.iter().filter_map(|(item, count)| row(order, item, count)).collect();
                    expected.sort();
                    expected.truncate(k);
                    let best: Vec<_> = ranking.orders[order].best(k).cloned().collect();
                    prop_assert_eq!(best, expected);
                }
                prop_assert!(ranking.aggregates.values().all(|aggregate| aggregate.value != 0));
            }
        }
    }
}
