//! Closed windows' rows as read from MySQL, kept for the requests after: a closed window does not
//! change until a batch run rewrites the views, so reading it again for every request (a hundred
//! times fewer answers a second than the latest window, answered from memory) is waste. An entry
//! is dropped when a batch run completes, and after [`KEPT_FOR`] in any case (a speed layer
//! rebuilt with other settings rewrites its windows without a batch run); the cache holds at most
//! [`ENTRIES`], emptied when full.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::EventTime;

use crate::vocabulary::{Layer, ViewKind};

/// How long rows are kept at most.
const KEPT_FOR: Duration = Duration::from_secs(60);
/// The most windows kept.
const ENTRIES: usize = 4_096;

/// A window's first `k` rows of one layer's view: (layer, kind, spec, window end, k).
pub type WindowKey = (Layer, ViewKind, WindowSpec, EventTime, usize);

/// The rows kept, and the latest batch run they were read under.
#[derive(Default)]
pub struct ClosedWindows {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    batch_run: Option<i64>,
    rows: HashMap<WindowKey, (Instant, Arc<RawValue>)>,
}

impl ClosedWindows {
    /// The rows kept for `key`, if read since `batch_run`, the latest batch run, completed and
    /// within [`KEPT_FOR`].
    pub fn get(&self, batch_run: Option<i64>, key: &WindowKey) -> Option<Arc<RawValue>> {
        let mut kept = self.kept.lock().ok()?;
        if kept.batch_run != batch_run {
            kept.rows.clear();
            kept.batch_run = batch_run;
        }
        let (read, rows) = kept.rows.get(key)?;
        (read.elapsed() < KEPT_FOR).then(|| rows.clone())
    }

    /// Keeps `rows` for `key`, read under `batch_run`.
    pub fn keep(&self, batch_run: Option<i64>, key: WindowKey, rows: Arc<RawValue>) {
        let Ok(mut kept) = self.kept.lock() else { return };
        if kept.batch_run != batch_run {
            kept.rows.clear();
            kept.batch_run = batch_run;
        }
        if kept.rows.len() >= ENTRIES {
            kept.rows.clear();
        }
        kept.rows.insert(key, (Instant::now(), rows));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Arc<RawValue> {
        Arc::from(serde_json::value::to_raw_value(text).unwrap())
    }

    #[test]
    fn rows_are_kept_until_a_batch_run_completes() {
        let cache = ClosedWindows::default();
        let key = (Layer::Batch, ViewKind::Hashtags, "1m".parse().unwrap(), 60_000, 10);
        assert!(cache.get(Some(1), &key).is_none());
        cache.keep(Some(1), key, rows("first"));
        assert_eq!(cache.get(Some(1), &key).unwrap().get(), "\"first\"");
        let other = (Layer::Speed, ViewKind::Hashtags, "1m".parse().unwrap(), 60_000, 10);
        assert!(cache.get(Some(1), &other).is_none(), "the layer is part of the key");
        assert!(cache.get(Some(2), &key).is_none(), "a batch run completed");
        assert!(cache.get(Some(1), &key).is_none(), "and what was kept before it is gone");
    }
}
