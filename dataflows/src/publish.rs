//! Turning a view's changes into rankings: live ones as they change, final ones as windows close.
//!
//! This is the boundary between the graph and its sinks. The graph keeps one sliding state per
//! window length; the state at a window's end is that window's contents. So this operator applies
//! each time's changes once the input frontier has passed it (never publishing a half-updated
//! ranking), and at every multiple of a spec's slide that the frontier passes it hands out the
//! state as the final ranking of the window ending there.
//!
//! The operator holds a capability at its input frontier, and lets go of it only after emitting
//! everything before: a probe on its (empty) output stream therefore says which rankings have all
//! been emitted, which is what a sink needs to know before it records how far it has got.
//!
//! A view that reaches back before its windows (the trending view's baselines) also learns the
//! input's earliest event time, to mark the windows whose baseline starts before it.

use std::collections::{BTreeMap, BTreeSet};

use differential_dataflow::hashable::Hashable;
use differential_dataflow::{ExchangeData, VecCollection as Collection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;

use crate::views::Ranking;
use crate::window::{Window, WindowSpec};
use crate::EventTime;

/// Calls `emit` with the rankings of `view` (keyed by window length) for each of `windows`: every
/// window's final ranking once the input frontier has passed its end, and with `changes` the live
/// ranking after each time at which it changed while the input is open: the state at that time,
/// the rolling span of the last window length up to it (see [`Ranking`]), labelled with the
/// window that ends next. All of a length's changes go to one worker, so each ranking is emitted
/// once across the whole cluster.
///
/// `input` is a stream whose frontier follows the graph's input, and is empty once it has ended:
/// from then on every window still holding tweets gets its final ranking, and no live one.
///
/// The returned stream carries no data; its frontier passes a time once every ranking before it
/// has been emitted.
pub fn publish<'scope, R>(
    view: Collection<'scope, EventTime, (u64, R)>,
    windows: &[WindowSpec],
    name: &str,
    changes: bool,
    input: &StreamVec<'scope, EventTime, EventTime>,
    emit: impl FnMut(Ranking<R>) + 'static,
) -> StreamVec<'scope, EventTime, ()>
where
    R: ExchangeData,
{
    let baselines = Baselines { earliest: input.clone(), earlier_input: None, lengths: BTreeMap::new() };
    publish_with_baselines(view, windows, name, changes, baselines, emit)
}

/// What a view with baselines needs to mark its windows: the input's earliest event time (one
/// or more records at or after it, on every worker), and each window length's baseline.
pub struct Baselines<'scope> {
    /// The input's earliest event time, as [`crate::graph`] finds it, and maybe later times; its
    /// frontier follows the graph's input, as [`publish`]'s `input` does.
    pub earliest: StreamVec<'scope, EventTime, EventTime>,
    /// A time before which the input had tweets the graph is not fed (see
    /// [`crate::config::GraphConfig::with_earlier_input`]).
    pub earlier_input: Option<EventTime>,
    /// Each window length's baseline, in milliseconds.
    pub lengths: BTreeMap<u64, u64>,
}

/// [`publish`] for a view whose windows `[E - L, E)` are compared with baselines
/// `[E - L - B, E - L)`: a ranking is marked [`Ranking::partial_baseline`] when its baseline starts
/// before the input's earliest event.
pub fn publish_with_baselines<'scope, R>(
    view: Collection<'scope, EventTime, (u64, R)>,
    windows: &[WindowSpec],
    name: &str,
    changes: bool,
    baselines: Baselines<'scope>,
    mut emit: impl FnMut(Ranking<R>) + 'static,
) -> StreamVec<'scope, EventTime, ()>
where
    R: ExchangeData,
{
    let windows = windows.to_vec();
    let Baselines { earliest: earliest_events, earlier_input, lengths: baseline_ms } = baselines;
    // The earliest event time seen (or known of): exact for every window whose end the frontier
    // has passed.
    let mut earliest: Option<EventTime> = earlier_input;
    // Whether the baseline of the span of `length` that ends at `end` starts before the input.
    let partial = move |length: u64, end: EventTime, earliest: Option<EventTime>| {
        baseline_ms.get(&length).is_some_and(|baseline| match end.checked_sub(length + baseline) {
            Some(start) => earliest.is_none_or(|earliest| start < earliest),
            None => true,
        })
    };
    let mut pending: BTreeMap<EventTime, Vec<(u64, R, isize)>> = BTreeMap::new();
    let mut rows_by_length: BTreeMap<u64, BTreeMap<R, isize>> = BTreeMap::new();
    // For each spec, the end of the next window to publish; none while its length's state is empty.
    let mut next_end: Vec<Option<EventTime>> = vec![None; windows.len()];
    let pact = Exchange::new(|((length, _), _, _): &((u64, R), EventTime, isize)| length.hashed());
    view.inner.binary_frontier::<_, CapacityContainerBuilder<Vec<()>>, _, _, _, _>(
        earliest_events,
        pact,
        Pipeline,
        name,
        move |capability, _info| {
            let mut emitting = Some(capability);
            move |(input, frontier), (starts, start_frontier), _output| {
                input.for_each(|_time, updates| {
                    for ((length, row), time, diff) in updates.drain(..) {
                        pending.entry(time).or_default().push((length, row, diff));
                    }
                });
                starts.for_each(|_time, times| {
                    for time in times.drain(..) {
                        earliest = Some(earliest.map_or(time, |earliest: EventTime| earliest.min(time)));
                    }
                });
                let complete = |time: &EventTime| !frontier.less_equal(time) && !start_frontier.less_equal(time);
                loop {
                    let update_time = pending.keys().next().copied().filter(complete);
                    let boundary = next_end
                        .iter()
                        .enumerate()
                        .filter_map(|(spec, end)| end.filter(complete).map(|end| (end, spec)))
                        .min();
                    match (update_time, boundary) {
                        // A window ends before the next changes: its contents are the state as it stands.
                        (_, Some((end, spec))) if update_time.is_none_or(|time| end < time) => {
                            let window = Window { spec: windows[spec], end };
                            match rows_by_length.get(&window.spec.length_ms()) {
                                Some(rows) => {
                                    let partial = partial(window.spec.length_ms(), end, earliest);
                                    emit(ranking(window, rows, end, true, partial));
                                    next_end[spec] = Some(end + window.spec.slide_ms());
                                }
                                None => next_end[spec] = None,
                            }
                        }
                        (Some(time), _) => {
                            let updates = pending.remove(&time).unwrap_or_default();
                            let mut changed = BTreeSet::new();
                            for (length, row, diff) in updates {
                                let rows = rows_by_length.entry(length).or_default();
                                let count = rows.entry(row.clone()).or_default();
                                *count += diff;
                                if *count == 0 {
                                    rows.remove(&row);
                                }
                                if rows.is_empty() {
                                    rows_by_length.remove(&length);
                                }
                                changed.insert(length);
                            }
                            // Once the input has ended, every window still holding tweets gets its
                            // final ranking: a live one on the way would be out of date on arrival.
                            let live = changes && !start_frontier.frontier().is_empty();
                            for (spec, window) in
                                windows.iter().enumerate().filter(|(_, w)| changed.contains(&w.length_ms()))
                            {
                                let end =
                                    *next_end[spec].get_or_insert(time.div_ceil(window.slide_ms()) * window.slide_ms());
                                if live && end != time {
                                    if let Some(rows) = rows_by_length.get(&window.length_ms()) {
                                        let partial = partial(window.length_ms(), time, earliest);
                                        emit(ranking(Window { spec: *window, end }, rows, time, false, partial));
                                    }
                                }
                            }
                        }
                        _ => break,
                    }
                }
                // Everything before the inputs' frontier has been emitted.
                let first = [frontier, start_frontier].into_iter().filter_map(|f| f.frontier().first().copied()).min();
                match first {
                    Some(time) => {
                        if let Some(capability) = emitting.as_mut() {
                            capability.downgrade(&time);
                        }
                    }
                    None => emitting = None,
                }
            }
        },
    )
}

/// The ranking of `window` whose rows count the span of its length up to `as_of`.
fn ranking<R: Clone>(
    window: Window,
    rows: &BTreeMap<R, isize>,
    as_of: EventTime,
    is_final: bool,
    partial_baseline: bool,
) -> Ranking<R> {
    debug_assert!(rows.values().all(|count| *count == 1), "a ranking row has multiplicity other than one");
    Ranking { window, rows: rows.keys().cloned().collect(), is_final, as_of, partial_baseline }
}
