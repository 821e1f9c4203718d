//! Updates waiting for their time, given back earliest time first.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;

use crate::EventTime;

/// Records waiting for their time. With a trend baseline a record may wait twelve hours, so
/// the queue holds tens of thousands of times: a hash map files each record at its time, and a
/// heap of the times gives them back in order (an ordered map took a tree search per record).
pub(super) struct Pending<T> {
    by_time: FxHashMap<EventTime, Vec<T>>,
    times: BinaryHeap<Reverse<EventTime>>,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending { by_time: FxHashMap::default(), times: BinaryHeap::new() }
    }
}

impl<T> Pending<T> {
    pub(super) fn push(&mut self, time: EventTime, record: T) {
        self.by_time
            .entry(time)
            .or_insert_with(|| {
                self.times.push(Reverse(time));
                Vec::new()
            })
            .push(record);
    }

    /// The earliest time with records waiting.
    pub(super) fn first(&self) -> Option<EventTime> {
        self.times.peek().map(|Reverse(time)| *time)
    }

    /// Takes the records of the earliest time.
    pub(super) fn take_first(&mut self) -> Vec<T> {
        let Some(Reverse(time)) = self.times.pop() else { return Vec::new() };
        self.by_time.remove(&time).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
