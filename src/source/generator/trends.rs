//! The trend plan: event time cut into slots, each with a viral tweet and maybe a trending hashtag.

use super::TagRef;

/// Event time is cut into slots; each may hold one trend and has one viral tweet.
pub(super) const SLOT_MS: u64 = 10 * 60 * 1000;
pub(super) const BURST_CHANCE_PERCENT: u64 = 65;
pub(super) const BURST_MIN_MS: u64 = 5 * 60 * 1000;
pub(super) const BURST_MAX_MS: u64 = 20 * 60 * 1000;
/// A trend reaches tweets in other languages at this fraction of its own language's share.
pub(super) const CROSS_LANGUAGE_TREND_SHARE: f64 = 0.3;
/// How many slots back a trend can still be running: it starts within its slot and lasts at most
/// `BURST_MAX_MS`.
pub(super) const BURST_REACH_SLOTS: u64 = BURST_MAX_MS.div_ceil(SLOT_MS);

/// What happens in a slot: its viral tweet is posted at `start` (milliseconds from the first
/// tweet), and `draw` decides whether a trend starts then and which.
#[derive(Clone, Copy, Debug)]
pub(super) struct SlotEvent {
    pub(super) start: u64,
    pub(super) draw: u64,
}

impl SlotEvent {
    pub(super) fn has_burst(&self) -> bool {
        self.draw % 100 < BURST_CHANCE_PERCENT
    }
}

/// A trending hashtag: from `start` for `duration` (milliseconds from the first tweet), in up to
/// `peak` of its language's tweets.
#[derive(Clone, Copy, Debug)]
pub(super) struct Burst {
    pub(super) start: u64,
    pub(super) duration: u64,
    pub(super) tag: TagRef,
    pub(super) peak: f64,
}

impl Burst {
    /// The share of its language's tweets that carry the tag at `offset`: a quick rise over the
    /// first fifth, then a slow fade to 40% of the peak.
    pub(super) fn share_at(&self, offset: u64) -> f64 {
        if offset < self.start || offset >= self.start + self.duration {
            return 0.0;
        }
        let progress = (offset - self.start) as f64 / self.duration as f64;
        if progress < 0.2 {
            self.peak * progress / 0.2
        } else {
            self.peak * (1.0 - 0.6 * (progress - 0.2) / 0.8)
        }
    }
}
