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
    let Baselines { earliest: earliest_events, earlier_input, lengths: baseline_ms } = baselines;
    let mut published = Published {
        windows: windows.to_vec(),
        baseline_ms,
        earliest: earlier_input,
        pending: BTreeMap::new(),
        rows_by_length: BTreeMap::new(),
        next_end: vec![None; windows.len()],
    };
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
                        published.pending.entry(time).or_default().push((length, row, diff));
                    }
                });
                starts.for_each(|_time, times| {
                    for time in times.drain(..) {
                        published.earliest = Some(published.earliest.map_or(time, |earliest| earliest.min(time)));
                    }
                });
                let complete = |time: &EventTime| !frontier.less_equal(time) && !start_frontier.less_equal(time);
                // Once the input has ended, every window still holding tweets gets its final
                // ranking: a live one on the way would be out of date on arrival.
                let live = changes && !start_frontier.frontier().is_empty();
                while let Some(next) = published.next(complete) {
                    match next {
                        Next::WindowEnds { end, spec } => published.close(spec, end, &mut emit),
                        Next::Changes(time) => published.apply(time, live, &mut emit),
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

/// What publishing a view keeps between activations: each window length's rows as they stand,
/// the changes waiting for their time, and where each spec's next window ends.
struct Published<R> {
    windows: Vec<WindowSpec>,
    /// Each window length's baseline, in milliseconds (none without baselines).
    baseline_ms: BTreeMap<u64, u64>,
    /// The earliest event time seen (or known of): exact for every window whose end the frontier
    /// has passed.
    earliest: Option<EventTime>,
    pending: BTreeMap<EventTime, Vec<(u64, R, isize)>>,
    rows_by_length: BTreeMap<u64, BTreeMap<R, isize>>,
    /// For each spec, the end of the next window to publish; none while its length's state is empty.
    next_end: Vec<Option<EventTime>>,
}

/// What publishing does next, in time order.
enum Next {
    /// The window of spec `spec` ending at `end` closes.
    WindowEnds { end: EventTime, spec: usize },
    /// The changes of this time apply.
    Changes(EventTime),
}

impl<R: Ord + Clone> Published<R> {
    /// The earliest of the next window end and the next changes among the times `complete` says
    /// the inputs have passed; a window that ends before the next changes goes first.
    fn next(&self, complete: impl Fn(&EventTime) -> bool) -> Option<Next> {
        let update_time = self.pending.keys().next().copied().filter(&complete);
        let boundary = self
            .next_end
            .iter()
            .enumerate()
            .filter_map(|(spec, end)| end.filter(&complete).map(|end| (end, spec)))
            .min();
        match (update_time, boundary) {
            // A window ends before the next changes: its contents are the state as it stands.
            (_, Some((end, spec))) if update_time.is_none_or(|time| end < time) => Some(Next::WindowEnds { end, spec }),
            (time, _) => time.map(Next::Changes),
        }
    }

    /// Emits the final ranking of the window of `spec` ending at `end`, and moves the spec on to
    /// its next window; or, with its length's state empty, stops it until changes come.
    fn close(&mut self, spec: usize, end: EventTime, emit: &mut impl FnMut(Ranking<R>)) {
        let window = Window { spec: self.windows[spec], end };
        match self.rows_by_length.get(&window.spec.length_ms()) {
            Some(rows) => {
                let partial = self.partial(window.spec.length_ms(), end);
                emit(ranking(window, rows, end, true, partial));
                self.next_end[spec] = Some(end + window.spec.slide_ms());
            }
            None => self.next_end[spec] = None,
        }
    }

    /// Applies the changes of `time` and, when `live`, emits the live ranking of each spec whose
    /// length's rows changed and whose window does not end at `time` (its final ranking will).
    fn apply(&mut self, time: EventTime, live: bool, emit: &mut impl FnMut(Ranking<R>)) {
        let updates = self.pending.remove(&time).unwrap_or_default();
        let mut changed = BTreeSet::new();
        for (length, row, diff) in updates {
            let rows = self.rows_by_length.entry(length).or_default();
            let count = rows.entry(row.clone()).or_default();
            *count += diff;
            if *count == 0 {
                rows.remove(&row);
            }
            if rows.is_empty() {
                self.rows_by_length.remove(&length);
            }
            changed.insert(length);
        }
        for (spec, window) in self.windows.iter().enumerate().filter(|(_, w)| changed.contains(&w.length_ms())) {
            let end = *self.next_end[spec].get_or_insert(time.div_ceil(window.slide_ms()) * window.slide_ms());
            if live && end != time {
                if let Some(rows) = self.rows_by_length.get(&window.length_ms()) {
                    let partial = self.partial(window.length_ms(), time);
                    emit(ranking(Window { spec: *window, end }, rows, time, false, partial));
                }
            }
        }
    }

    /// Whether the baseline of the span of `length` that ends at `end` starts before the input.
    fn partial(&self, length: u64, end: EventTime) -> bool {
        self.baseline_ms.get(&length).is_some_and(|baseline| match end.checked_sub(length + baseline) {
            Some(start) => self.earliest.is_none_or(|earliest| start < earliest),
            None => true,
        })
    }
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
