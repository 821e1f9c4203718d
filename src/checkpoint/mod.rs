//! What a stream's checkpoint holds: where each `tweets` partition is read again from, and which
//! windows are written already. The Kafka source takes checkpoints, the MySQL checkpoint store
//! keeps them, and a restart resumes from what it loads.
//!
//! A window's final ranking depends on every tweet of the window, and the graph's state lives in
//! memory only. So a stored position is not simply "the next message": it is the offset from
//! which reading again yields every tweet from `rebuilds_from` on, stored only once every window
//! that starts before `rebuilds_from` has been written.
//!
//! Positions are stored per stream, under a name that says which views it computes: see
//! [`consumer`].

pub mod consumer;

use std::collections::BTreeMap;

use trendflow_dataflows::EventTime;

/// Where one worker of a stream stands, handed to the job in order with the rankings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub worker: usize,
    /// The cluster had published every ranking before this time; this process's share of them
    /// reached the job ahead of the checkpoint.
    pub published_before: EventTime,
    /// Where each of the worker's partitions would be read again from.
    pub positions: Vec<PartitionPosition>,
    pub rebuilds_from: EventTime,
    /// The worker's last checkpoint: it stops reading, and closes its input, after it.
    pub last: bool,
}

/// Where a restart reads one partition again from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionPosition {
    pub partition: i32,
    /// Reading the partition again from this offset yields every tweet of event time at or after
    /// the checkpoint's `rebuilds_from`.
    pub replay_from: i64,
    /// Every message before this offset has been handled for good (archived, dead-lettered, its
    /// hashtags published): reading it again only feeds the graph.
    pub handled_to: i64,
}

/// Where a stream starts: an offset per partition (none stored: the beginning), the offset
/// before which an earlier run handled every message, and the first window start it computes in
/// full.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResumePoint {
    pub offsets: BTreeMap<i32, i64>,
    pub handled_to: BTreeMap<i32, i64>,
    pub rebuild_from: EventTime,
}
