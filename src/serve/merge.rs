//! The merge rule, per window spec: which layer answers for a window.
//!
//! Each complete batch run records a *time boundary*, the latest window end it covered. A window
//! ending at or before the boundary is answered by the batch layer; a later, closed one by the
//! speed layer's final view; the window still open by the latest live snapshot. Speed rows at or
//! before the boundary may exist (`verify` compares them) but are never served.

use serde::Serialize;
use trendflow_dataflows::EventTime;

/// The layer that answers a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Answerer {
    /// The batch layer's view table.
    Batch,
    /// The speed layer's final view table.
    Speed,
    /// The speed layer's latest live snapshot of the open window.
    Live,
}

/// What the serving layer knows of one window spec's layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SpecState {
    /// The latest complete batch run's boundary.
    pub boundary: Option<EventTime>,
    /// The end of the latest window the speed layer wrote as final.
    pub speed_final: Option<EventTime>,
    /// The end of the open window of the latest live snapshot.
    pub live: Option<EventTime>,
}

impl SpecState {
    /// Which layer answers for the window ending at `end`, if any holds it.
    ///
    /// ```
    /// use trendflow::serve::merge::{Answerer, SpecState};
    ///
    /// let state = SpecState { boundary: Some(600), speed_final: Some(900), live: Some(960) };
    /// assert_eq!(state.answerer(540), Some(Answerer::Batch));
    /// assert_eq!(state.answerer(600), Some(Answerer::Batch), "the boundary itself is the batch layer's");
    /// assert_eq!(state.answerer(660), Some(Answerer::Speed));
    /// assert_eq!(state.answerer(960), Some(Answerer::Live));
    /// assert_eq!(state.answerer(1_020), None, "no layer holds a window that has not begun");
    /// ```
    pub fn answerer(&self, end: EventTime) -> Option<Answerer> {
        if self.boundary.is_some_and(|boundary| end <= boundary) {
            Some(Answerer::Batch)
        } else if self.speed_final.is_some_and(|last| end <= last) {
            Some(Answerer::Speed)
        } else if self.live == Some(end) {
            Some(Answerer::Live)
        } else {
            None
        }
    }

    /// The latest window any layer holds: the open one when a live snapshot is newer than every
    /// closed window, else the latest closed one.
    pub fn latest(&self) -> Option<(EventTime, Answerer)> {
        let closed = self.boundary.max(self.speed_final);
        match self.live {
            Some(live) if closed.is_none_or(|closed| live > closed) => Some((live, Answerer::Live)),
            _ => closed.and_then(|end| Some((end, self.answerer(end)?))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_window_is_the_open_one_while_it_is_newer_than_every_closed_one() {
        let state = SpecState { boundary: Some(600), speed_final: Some(900), live: Some(960) };
        assert_eq!(state.latest(), Some((960, Answerer::Live)));
        let closed = SpecState { live: Some(900), ..state };
        assert_eq!(closed.latest(), Some((900, Answerer::Speed)), "a live snapshot of a closed window");
        let batch_only = SpecState { boundary: Some(600), ..SpecState::default() };
        assert_eq!(batch_only.latest(), Some((600, Answerer::Batch)));
        let speed_behind_batch = SpecState { boundary: Some(600), speed_final: Some(300), live: None };
        assert_eq!(speed_behind_batch.latest(), Some((600, Answerer::Batch)));
        assert_eq!(SpecState::default().latest(), None);
    }

    #[test]
    fn speed_rows_at_or_before_the_boundary_are_never_served() {
        let state = SpecState { boundary: Some(600), speed_final: Some(900), live: None };
        assert_eq!(state.answerer(300), Some(Answerer::Batch));
        let without_batch = SpecState { boundary: None, ..state };
        assert_eq!(without_batch.answerer(300), Some(Answerer::Speed));
    }
}
