//! Ranking operators: fold events into per-item aggregates and keep each key's best rows.
//!
//! Differential's `count` and `reduce` keep every input in arrangements and hand `reduce` logic
//! every value of a key each time the key changes, so a top-K over a window with a hundred thousand
//! hashtags would rescan all of them on every tick. [`fold_top_k`] keeps, per key, a hash map of
//! item aggregates and, in rank order, only a few more than K rows (see [`Ranking`]): an event
//! costs a hash update, and a time costs a sort of the rows it touched. It relies on totally
//! ordered time (event time), applying each time's events once the input frontier has passed it;
//! its output is an ordinary differential collection of the best rows.
//!
//! Within one time, events are folded into the aggregates first and each touched item is ranked
//! once at the end: with coarse ticks (the batch layer) a popular hashtag gets hundreds of events
//! per time.
//!
//! [`ranked`] runs two levels — every worker ranks the items of each key that hash to it, then one
//! worker per key ranks the workers' winners — so the bulk of the work spreads over all workers
//! while the final merge per key sees at most `workers * K` rows. A worker holds one share of a
//! key, not several: on one worker, the first level is the whole ranking, once per time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::Hash;

use differential_dataflow::hashable::Hashable;
use differential_dataflow::{AsCollection, ExchangeData, VecCollection as Collection};
use rustc_hash::{FxBuildHasher, FxHashMap};
use timely::dataflow::channels::pact::{Exchange, ParallelizationContract};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;

use crate::EventTime;

/// Folds each key's events into per-item aggregates and keeps the key's `k` best rows, in two
/// levels (see the module doc). `shares` brings each event to the worker that folds its item
/// (see [`by_item`]); `fold` applies an event with its multiplicity to an aggregate; `row` ranks
/// an item of a key by its aggregate, or leaves it out (`None`).
pub fn ranked<'scope, K, I, E, A, R, P>(
    events: Collection<'scope, EventTime, (K, (I, E))>,
    shares: P,
    k: usize,
    name: &str,
    fold: impl Fn(&mut A, &E, isize) + 'static,
    row: impl Fn(&K, &I, &A) -> Option<R> + 'static,
) -> Collection<'scope, EventTime, (K, R)>
where
    K: ExchangeData + Hash,
    I: ExchangeData + Hash,
    E: ExchangeData,
    A: Default + PartialEq + 'static,
    R: ExchangeData + Hash,
    P: ParallelizationContract<EventTime, Vec<Event<K, I, E>>>,
{
    let fold = move |_: &K, aggregate: &mut A, event: &E, diff| {
        fold(aggregate, event, diff);
        None
    };
    ranked_in_orders(events, shares, 1, k, name, fold, move |key, _, item, aggregate, _| row(key, item, aggregate))
        .map(|((key, _order), row)| (key, row))
}

/// An event of a ranking, as a differential update: the key, the item, what happened to it, when,
/// and how many times.
pub type Event<K, I, E> = ((K, (I, E)), EventTime, isize);

/// Exchanges a ranking's events by item, as the first level of [`ranked_in_orders`] needs them:
/// every event of an item on one worker. Events already spread over the workers by item alone
/// go with `Pipeline` instead: a record exchanged once, then made into several events, costs
/// less than several exchanged records.
pub fn by_item<K, I, E>() -> impl ParallelizationContract<EventTime, Vec<Event<K, I, E>>>
where
    K: ExchangeData,
    I: ExchangeData + Hash,
    E: ExchangeData,
{
    Exchange::new(|((_, (item, _)), _, _): &Event<K, I, E>| item.hashed())
}

/// An event that folding another brings about: the same item's, `after` milliseconds later, with
/// the same multiplicity (see [`ranked_in_orders`]).
pub type FollowUp<E> = Option<(u64, E)>;

/// A fold that counts events, whatever they are.
pub fn count<K, E>(_key: &K, count: &mut isize, _event: &E, diff: isize) -> FollowUp<E> {
    *count += diff;
    None
}

/// [`ranked`] with several rankings of the same aggregates: `row(key, order, item, aggregate,
/// bound)` gives an item's row in each of `orders` rankings, and each ranking keeps its own `k`
/// best, keyed by `(key, order)`. One fold serves them all: the events are exchanged and folded
/// once. Given a `bound`, `row` may also answer `None` for a row that would rank below it (such a
/// row cannot be kept): most items of a long tail then cost no row at all.
///
/// `fold(key, aggregate, event, diff)` may answer the event that follows this one (a hashtag that
/// ages out of a window leaves the trend baseline a baseline later). The follow-up is filed at its
/// time on the worker that folded this event: no stage upstream makes, consolidates or exchanges
/// it.
pub fn ranked_in_orders<'scope, K, I, E, A, R, P>(
    events: Collection<'scope, EventTime, (K, (I, E))>,
    shares: P,
    orders: usize,
    k: usize,
    name: &str,
    fold: impl Fn(&K, &mut A, &E, isize) -> FollowUp<E> + 'static,
    row: impl Fn(&K, usize, &I, &A, Option<&R>) -> Option<R> + 'static,
) -> Collection<'scope, EventTime, ((K, usize), R)>
where
    K: ExchangeData + Hash,
    I: ExchangeData + Hash,
    E: ExchangeData,
    A: Default + PartialEq + 'static,
    R: ExchangeData + Hash,
    P: ParallelizationContract<EventTime, Vec<Event<K, I, E>>>,
{
    let winners = fold_top_k(events, shares, orders, k, &format!("{name}, each worker's share"), fold, row)
        .map(|((key, order), row)| ((key, order), (row, ())));
    fold_top_k(winners, by_key(), 1, k, name, count, |_, _, row, count, _| (*count > 0).then(|| row.clone()))
        .map(|((key, _order), row)| (key, row))
}

/// Keeps the `k` smallest rows of each key by their `Ord` (rows are ordered best first).
///
/// ```
/// use differential_dataflow::input::Input;
/// use trendflow_dataflows::top_k::top_k;
///
/// let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
/// let sink = kept.clone();
/// timely::example(move |scope| {
///     let rows = scope.new_collection_from((0..100u32).map(|x| (7u64, x))).1;
///     top_k(rows, 3, "Top3").inspect(move |((_, row), _, diff)| sink.lock().unwrap().push((*row, *diff)));
/// });
/// let mut kept = kept.lock().unwrap().clone();
/// kept.sort();
/// assert_eq!(kept, [(0, 1), (1, 1), (2, 1)]);
/// ```
pub fn top_k<'scope, K, R>(
    rows: Collection<'scope, EventTime, (K, R)>,
    k: usize,
    name: &str,
) -> Collection<'scope, EventTime, (K, R)>
where
    K: ExchangeData + Hash,
    R: ExchangeData + Hash,
{
    ranked(
        rows.map(|(key, row)| (key, (row, ()))),
        by_item(),
        k,
        name,
        |count: &mut isize, _, diff| *count += diff,
        |_, row, count| (*count > 0).then(|| row.clone()),
    )
}

/// Exchanges a ranking's events by key: each key is then ranked whole on one worker.
pub fn by_key<K, I, E>() -> impl ParallelizationContract<EventTime, Vec<Event<K, I, E>>>
where
    K: ExchangeData + Hash,
    I: ExchangeData,
    E: ExchangeData,
{
    Exchange::new(|((key, _), _, _): &Event<K, I, E>| key.hashed())
}

/// One level of [`ranked_in_orders`]: `shares` brings each event to a worker ([`by_item`],
/// [`by_key`]), which ranks the items of each key it receives; their rows of each of `orders`
/// rankings come out keyed by `(key, order)`. `fold` and `row` are as for [`ranked_in_orders`].
pub fn fold_top_k<'scope, K, I, E, A, R, P>(
    events: Collection<'scope, EventTime, (K, (I, E))>,
    shares: P,
    orders: usize,
    k: usize,
    name: &str,
    fold: impl Fn(&K, &mut A, &E, isize) -> FollowUp<E> + 'static,
    row: impl Fn(&K, usize, &I, &A, Option<&R>) -> Option<R> + 'static,
) -> Collection<'scope, EventTime, ((K, usize), R)>
where
    K: ExchangeData + Hash,
    I: ExchangeData + Hash,
    E: ExchangeData,
    A: Default + PartialEq + 'static,
    R: ExchangeData,
    P: ParallelizationContract<EventTime, Vec<Event<K, I, E>>>,
{
    events
        .inner
        .unary_frontier(shares, name, move |_, _| {
            let mut pending: Pending<(K, I, E, isize)> = Pending::default();
            // A capability at or before every pending time, to emit each time's changes at it.
            let mut held: Option<Capability<EventTime>> = None;
            let mut keys: FxHashMap<K, Ranking<I, A, R>> = FxHashMap::default();
            move |(input, frontier), output| {
                input.for_each(|capability, updates| {
                    if let Some(capability) = capability.retain_least(output.output_index()) {
                        if held.as_ref().is_none_or(|held| capability.time() < held.time()) {
                            held = Some(capability);
                        }
                    }
                    for ((key, (item, event)), time, diff) in updates.drain(..) {
                        pending.push(time, (key, item, event, diff));
                    }
                });
                let Some(capability) = held.as_mut() else { return };
                // Every time's changes go out at the held capability, with their own times in the
                // records: a capability per time made each one-second tick a timestamp that every
                // worker's progress tracking had to hear of, 41 per batch of tweets in the stream.
                let mut session = output.session(&*capability);
                while let Some(time) = pending.first().filter(|time| !frontier.less_equal(time)) {
                    let updates = pending.take_first();
                    // The keys whose rankings this time touches, each once: a ranking's touched items
                    // are settled at the end of every time, so its first touch in this one finds none.
                    let mut changed = Vec::new();
                    for (key, item, event, diff) in updates {
                        let ranking = keys.entry(key.clone()).or_insert_with(|| Ranking::new(orders));
                        let untouched = ranking.touched.is_empty();
                        let follow_up = ranking
                            .fold(item, &event, diff, |aggregate, event, diff| fold(&key, aggregate, event, diff));
                        if let Some((after, event, item)) = follow_up {
                            pending.push(time + after, (key.clone(), item, event, diff));
                        }
                        if untouched && !ranking.touched.is_empty() {
                            changed.push(key);
                        }
                    }
                    for key in changed {
                        let Some(ranking) = keys.get_mut(&key) else { continue };
                        ranking.settle(k, kept_rows(k), |order, item: &I, aggregate: &A, bound: Option<&R>| {
                            row(&key, order, item, aggregate, bound)
                        });
                        for (index, order) in ranking.orders.iter_mut().enumerate() {
                            // Most times leave most of a ranking's rows as they were published.
                            let changed = changes(order.published.iter(), order.best(k), |row, diff| {
                                session.give((((key.clone(), index), row.clone()), time, diff))
                            });
                            if changed {
                                order.published = order.best(k).cloned().collect();
                            }
                        }
                        if ranking.aggregates.is_empty() {
                            keys.remove(&key);
                        }
                    }
                }
                drop(session);
                match pending.first() {
                    Some(first) => capability.downgrade(&first),
                    None => held = None,
                }
            }
        })
        .as_collection()
}

/// Records waiting for their time. With a trend baseline a record may wait twelve hours, so
/// the queue holds tens of thousands of times: a hash map files each record at its time, and a
/// heap of the times gives them back in order (an ordered map took a tree search per record).
struct Pending<T> {
    by_time: FxHashMap<EventTime, Vec<T>>,
    times: BinaryHeap<Reverse<EventTime>>,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending { by_time: FxHashMap::default(), times: BinaryHeap::new() }
    }
}

impl<T> Pending<T> {
    fn push(&mut self, time: EventTime, record: T) {
        self.by_time
            .entry(time)
            .or_insert_with(|| {
                self.times.push(Reverse(time));
                Vec::new()
            })
            .push(record);
    }

    /// The earliest time with records waiting.
    fn first(&self) -> Option<EventTime> {
        self.times.peek().map(|Reverse(time)| *time)
    }

    /// Takes the records of the earliest time.
    fn take_first(&mut self) -> Vec<T> {
        let Some(Reverse(time)) = self.times.pop() else { return Vec::new() };
        self.by_time.remove(&time).unwrap_or_default()
    }
}

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
struct Ranking<I, A, R> {
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
fn kept_rows(k: usize) -> usize {
    k.saturating_add(k.max(48))
}

impl<I: Hash + Eq + Clone, A: Default + PartialEq, R: Ord + Clone> Ranking<I, A, R> {
    fn new(orders: usize) -> Self {
        let order = || Order { kept: Vec::new(), complete: true, published: Vec::new() };
        Ranking {
            aggregates: Aggregates::default(),
            orders: (0..orders).map(|_| order()).collect(),
            touched: Vec::new(),
        }
    }

    /// Applies one event to its item's aggregate; the item's rows move at the next settle. Gives
    /// back the event's follow-up, if `fold` answers one, with the item it is for.
    fn fold<E>(
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
    /// [`ranked_in_orders`] for the bound).
    ///
    /// Each touched item is looked up once for all rankings: the map holds a window's items (with
    /// a trend baseline, thirteen hours of hashtags), and a lookup per ranking and another to
    /// clear the mark took a third of the trending view's cost.
    fn settle(&mut self, k: usize, capacity: usize, row: impl Fn(usize, &I, &A, Option<&R>) -> Option<R>) {
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
    fn pending_records_come_back_by_time_in_order() {
        let mut pending = Pending::default();
        for (time, record) in [(30, 'a'), (10, 'b'), (30, 'c'), (20, 'd')] {
            pending.push(time, record);
        }
        assert_eq!(pending.first(), Some(10));
        assert_eq!(pending.take_first(), ['b']);
        pending.push(15, 'e');
        let taken: Vec<_> = std::iter::from_fn(|| pending.first().map(|time| (time, pending.take_first()))).collect();
        assert_eq!(taken, [(15, vec!['e']), (20, vec!['d']), (30, vec!['a', 'c'])]);
    }

    #[test]
    fn a_follow_up_is_folded_at_its_own_time_on_one_worker_and_on_two() {
        use differential_dataflow::input::Input;
        use std::sync::{Arc, Mutex};

        for workers in [1, 2] {
            let output = Arc::new(Mutex::new(Vec::new()));
            let sink = output.clone();
            timely::execute(timely::Config::process(workers), move |worker| {
                let sink = sink.clone();
                let mut input = worker.dataflow(|scope| {
                    let (input, events) = scope.new_collection::<(u64, (u8, bool)), isize>();
                    // An arrival (`true`) counts until its departure, which it brings 10 later.
                    let fold = |_: &u64, count: &mut isize, arrives: &bool, diff: isize| {
                        *count += if *arrives { diff } else { -diff };
                        arrives.then_some((10, false))
                    };
                    let row = |_: &u64, _, item: &u8, count: &isize, _: Option<&(isize, u8)>| {
                        (*count > 0).then_some((-*count, *item))
                    };
                    ranked_in_orders(events, by_item(), 1, 2, "Arrivals", fold, row).inspect(
                        move |(((_, _), row), time, diff)| {
                            sink.lock().expect("the test's output").push((*time, *row, *diff))
                        },
                    );
                    input
                });
                if worker.index() == 0 {
                    for (item, time) in [(1, 0), (1, 5), (2, 5)] {
                        input.update_at((7, (item, true)), time, 1);
                    }
                }
            })
            .expect("a timely computation");
            let mut output = output.lock().expect("the test's output").clone();
            output.sort();
            let expected = [
                (0, (-1, 1), 1),
                (5, (-2, 1), 1),
                (5, (-1, 1), -1),
                (5, (-1, 2), 1),
                (10, (-2, 1), -1),
                (10, (-1, 1), 1),
                (15, (-1, 1), -1),
                (15, (-1, 2), -1),
            ];
            assert_eq!(output, expected, "on {workers} worker(s)");
        }
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
                    ranking.fold(item, &(), diff, |aggregate, event, diff| super::count(&(), aggregate, event, diff));
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
