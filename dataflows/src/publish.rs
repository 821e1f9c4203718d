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

use std::collections::{BTreeMap, BTreeSet};

use differential_dataflow::hashable::Hashable;
use differential_dataflow::{ExchangeData, VecCollection as Collection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;

use crate::views::Ranking;
use crate::window::{Window, WindowSpec};
use crate::EventTime;

/// Calls `emit` with the rankings of `view` (keyed by window length) for each of `windows`: every
/// window's final ranking once the input frontier has passed its end, and with `changes` the live
/// ranking after each time at which it changed, labelled with the window that ends next. All of a
/// length's changes go to one worker, so each ranking is emitted once across the whole cluster.
///
/// The returned stream carries no data; its frontier passes a time once every ranking before it
/// has been emitted.
pub fn publish<'scope, R>(
    view: Collection<'scope, EventTime, (u64, R)>,
    windows: &[WindowSpec],
    name: &str,
    changes: bool,
    mut emit: impl FnMut(Ranking<R>) + 'static,
) -> StreamVec<'scope, EventTime, ()>
where
    R: ExchangeData,
{
    let windows = windows.to_vec();
    let mut pending: BTreeMap<EventTime, Vec<(u64, R, isize)>> = BTreeMap::new();
    let mut rows_by_length: BTreeMap<u64, BTreeMap<R, isize>> = BTreeMap::new();
    // For each spec, the end of the next window to publish; none while its length's state is empty.
    let mut next_end: Vec<Option<EventTime>> = vec![None; windows.len()];
    let pact = Exchange::new(|((length, _), _, _): &((u64, R), EventTime, isize)| length.hashed());
    view.inner.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(pact, name, move |capability, _info| {
        let mut emitting = Some(capability);
        move |(input, frontier), _output| {
            input.for_each(|_time, updates| {
                for ((length, row), time, diff) in updates.drain(..) {
                    pending.entry(time).or_default().push((length, row, diff));
                }
            });
            let complete = |time: &EventTime| !frontier.less_equal(time);
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
                                emit(ranking(window, rows, true));
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
                        for (spec, window) in
                            windows.iter().enumerate().filter(|(_, w)| changed.contains(&w.length_ms()))
                        {
                            let end =
                                *next_end[spec].get_or_insert(time.div_ceil(window.slide_ms()) * window.slide_ms());
                            if changes && end != time {
                                if let Some(rows) = rows_by_length.get(&window.length_ms()) {
                                    emit(ranking(Window { spec: *window, end }, rows, false));
                                }
                            }
                        }
                    }
                    _ => break,
                }
            }
            // Everything before the input frontier has been emitted.
            match frontier.frontier().first() {
                Some(time) => {
                    if let Some(capability) = emitting.as_mut() {
                        capability.downgrade(time);
                    }
                }
                None => emitting = None,
            }
        }
    })
}

fn ranking<R: Clone>(window: Window, rows: &BTreeMap<R, isize>, is_final: bool) -> Ranking<R> {
    debug_assert!(rows.values().all(|count| *count == 1), "a ranking row has multiplicity other than one");
    Ranking { window, rows: rows.keys().cloned().collect(), is_final }
}
