//! Ranking operators: fold events into per-item aggregates and keep each key's best rows.
//!
//! Differential's `count` and `reduce` keep every input in arrangements and hand `reduce` logic
//! every value of a key each time the key changes, so a top-K over a window with a hundred thousand
//! hashtags would rescan all of them on every tick. [`fold_top_k`] keeps, per key, a hash map of
//! item aggregates and, in rank order, only a few more than K rows (see [`ranking`]): an event
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
//!
//! The operator is here; [`ranking`] holds one key's state — the item aggregates and, for each
//! ranking of them, the rows kept in order — and [`pending`] the updates waiting for their time.

mod pending;
mod ranking;

use std::hash::Hash;

use differential_dataflow::hashable::Hashable;
use differential_dataflow::{AsCollection, ExchangeData, VecCollection as Collection};
use rustc_hash::FxHashMap;
use timely::dataflow::channels::pact::{Exchange, ParallelizationContract};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;

use crate::EventTime;
use pending::Pending;
use ranking::{kept_rows, Ranking};

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
                        let untouched = ranking.is_settled();
                        let follow_up = ranking
                            .fold(item, &event, diff, |aggregate, event, diff| fold(&key, aggregate, event, diff));
                        if let Some((after, event, item)) = follow_up {
                            pending.push(time + after, (key.clone(), item, event, diff));
                        }
                        if untouched && !ranking.is_settled() {
                            changed.push(key);
                        }
                    }
                    for key in changed {
                        let Some(ranking) = keys.get_mut(&key) else { continue };
                        ranking.settle(k, kept_rows(k), |order, item: &I, aggregate: &A, bound: Option<&R>| {
                            row(&key, order, item, aggregate, bound)
                        });
                        ranking.publish(k, |order, row, diff| {
                            session.give((((key.clone(), order), row.clone()), time, diff))
                        });
                        if ranking.is_empty() {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
