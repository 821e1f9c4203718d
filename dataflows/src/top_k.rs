//! Ranking operators: fold events into per-item aggregates and keep each key's best rows.
//!
//! Differential's `count` and `reduce` keep every input in arrangements and hand `reduce` logic
//! every value of a key each time the key changes, so a top-K over a window with a hundred thousand
//! hashtags would rescan all of them on every tick. [`fold_top_k`] keeps, per key, a hash map of
//! item aggregates and a `BTreeSet` of rows in rank order: an event costs a hash update and a
//! logarithmic reorder, and the best K are read off the front. It relies on totally ordered time
//! (event time), applying each time's events once the input frontier has passed it; its output is
//! an ordinary differential collection of the best rows.
//!
//! Within one time, events are folded into the aggregates first and each touched item's row is
//! moved once at the end: with coarse ticks (the batch layer) a popular hashtag gets hundreds of
//! events per time, and reordering it for each would dominate the cost.
//!
//! [`ranked`] runs two levels — within hash buckets of each key, then over the buckets' winners —
//! so the bulk of the work spreads over all workers while the final merge per key sees at most
//! `BUCKETS * K` rows.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hash;

use differential_dataflow::hashable::Hashable;
use differential_dataflow::{AsCollection, ExchangeData, VecCollection as Collection};
use rustc_hash::{FxHashMap, FxHashSet};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;

use crate::EventTime;

/// How many buckets the first level spreads each key's items over.
const BUCKETS: u64 = 64;

/// Folds each key's events into per-item aggregates and keeps the key's `k` best rows, in two
/// levels (see the module doc). `fold` applies an event with its multiplicity to an aggregate;
/// `row` ranks an item by its aggregate, or leaves it out (`None`).
pub fn ranked<'scope, K, I, E, A, R>(
    events: Collection<'scope, EventTime, (K, (I, E))>,
    k: usize,
    name: &str,
    fold: impl Fn(&mut A, &E, isize) + 'static,
    row: impl Fn(&I, &A) -> Option<R> + 'static,
) -> Collection<'scope, EventTime, (K, R)>
where
    K: ExchangeData + Hash,
    I: ExchangeData + Hash,
    E: ExchangeData,
    A: Default + PartialEq + 'static,
    R: ExchangeData + Hash,
{
    let bucketed = events.map(|(key, (item, event))| ((key, item.hashed() % BUCKETS), (item, event)));
    let winners =
        fold_top_k(bucketed, k, &format!("{name} by bucket"), fold, row).map(|((key, _bucket), row)| (key, (row, ())));
    fold_top_k(
        winners,
        k,
        name,
        |count: &mut isize, _, diff| *count += diff,
        |row, count| (*count > 0).then(|| row.clone()),
    )
}

/// Keeps the `k` smallest rows of each key by their `Ord` (rows are ordered best first).
///
/// ```
/// use differential_dataflow::input::Input;
/// use trendflow_dataflows::top_k::top_k;
///
/// timely::example(|scope| {
///     let rows = scope.new_collection_from((0..100u32).map(|x| (7u64, x))).1;
///     top_k(rows, 3, "Top3").inspect(|((_, row), _, _)| assert!(*row < 3));
/// });
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
        k,
        name,
        |count: &mut isize, _, diff| *count += diff,
        |row, count| (*count > 0).then(|| row.clone()),
    )
}

/// One level of [`ranked`]: each key is handled by one worker, chosen by the key's hash.
pub fn fold_top_k<'scope, K, I, E, A, R>(
    events: Collection<'scope, EventTime, (K, (I, E))>,
    k: usize,
    name: &str,
    fold: impl Fn(&mut A, &E, isize) + 'static,
    row: impl Fn(&I, &A) -> Option<R> + 'static,
) -> Collection<'scope, EventTime, (K, R)>
where
    K: ExchangeData + Hash,
    I: ExchangeData + Hash,
    E: ExchangeData,
    A: Default + PartialEq + 'static,
    R: ExchangeData,
{
    let pact = Exchange::new(|((key, _), _, _): &((K, (I, E)), EventTime, isize)| key.hashed());
    events
        .inner
        .unary_frontier(pact, name, move |_, _| {
            let mut pending: BTreeMap<EventTime, Vec<(K, I, E, isize)>> = BTreeMap::new();
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
                        pending.entry(time).or_default().push((key, item, event, diff));
                    }
                });
                let Some(capability) = held.as_mut() else { return };
                while let Some(entry) = pending.first_entry().filter(|entry| !frontier.less_equal(entry.key())) {
                    let (time, updates) = entry.remove_entry();
                    let mut changed = FxHashSet::default();
                    for (key, item, event, diff) in updates {
                        let ranking = keys.entry(key.clone()).or_default();
                        ranking.fold(item, &event, diff, &fold, &row);
                        changed.insert(key);
                    }
                    let at = capability.delayed(&time);
                    let mut session = output.session(&at);
                    for key in changed {
                        let Some(ranking) = keys.get_mut(&key) else { continue };
                        ranking.settle(&row);
                        let best: Vec<R> = ranking.rows.iter().take(k).cloned().collect();
                        for row in ranking.published.iter().filter(|row| !best.contains(row)) {
                            session.give(((key.clone(), row.clone()), time, -1));
                        }
                        for row in best.iter().filter(|row| !ranking.published.contains(row)) {
                            session.give(((key.clone(), row.clone()), time, 1));
                        }
                        ranking.published = best;
                        if ranking.aggregates.is_empty() {
                            keys.remove(&key);
                        }
                    }
                }
                match pending.keys().next() {
                    Some(first) => capability.downgrade(first),
                    None => held = None,
                }
            }
        })
        .as_collection()
}

/// One key's state: each item's aggregate, the items' rows in rank order, and the rows last output.
struct Ranking<I, A, R> {
    aggregates: FxHashMap<I, Aggregate<A, R>>,
    rows: BTreeSet<R>,
    published: Vec<R>,
    /// Items folded since the last [`Ranking::settle`].
    touched: Vec<I>,
}

/// An item's aggregate, and while the item is touched, its row as it was before.
struct Aggregate<A, R> {
    value: A,
    before: Option<Option<R>>,
}

impl<I, A, R> Default for Ranking<I, A, R> {
    fn default() -> Self {
        Ranking { aggregates: FxHashMap::default(), rows: BTreeSet::new(), published: Vec::new(), touched: Vec::new() }
    }
}

impl<I: Hash + Eq + Clone, A: Default + PartialEq, R: Ord> Ranking<I, A, R> {
    /// Applies one event to its item's aggregate; the item's row moves at the next settle.
    fn fold<E>(
        &mut self,
        item: I,
        event: &E,
        diff: isize,
        fold: impl Fn(&mut A, &E, isize),
        row: impl Fn(&I, &A) -> Option<R>,
    ) {
        let aggregate = match self.aggregates.get_mut(&item) {
            Some(aggregate) => aggregate,
            None => self.aggregates.entry(item.clone()).or_insert(Aggregate { value: A::default(), before: None }),
        };
        if aggregate.before.is_none() {
            aggregate.before = Some(row(&item, &aggregate.value));
            self.touched.push(item);
        }
        fold(&mut aggregate.value, event, diff);
    }

    /// Moves every touched item's row to its new rank, and forgets items back at the default.
    fn settle(&mut self, row: impl Fn(&I, &A) -> Option<R>) {
        for item in self.touched.drain(..) {
            let Some(aggregate) = self.aggregates.get_mut(&item) else { continue };
            let before = aggregate.before.take().flatten();
            let after = row(&item, &aggregate.value);
            if before != after {
                if let Some(before) = before {
                    self.rows.remove(&before);
                }
                if let Some(after) = after {
                    self.rows.insert(after);
                }
            }
            if aggregate.value == A::default() {
                self.aggregates.remove(&item);
            }
        }
    }
}
