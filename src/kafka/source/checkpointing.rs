//! A worker's checkpoints, and the handshake that guards them.
//!
//! A restart skips what a stored checkpoint's positions have passed, so what the job wrote for
//! those messages (the archive, dead letters, hashtag occurrences) must be durable before the
//! checkpoint goes to the harness. Every `checkpoint_every` the worker asks the job to flush
//! ([`Durability::flush`]), takes a checkpoint, and hands it over once the job says that what the
//! flush covers is durable ([`Durability::is_durable`]). It reads on meanwhile, asking once a
//! round (a checkpoint is not worth a stall of the broker's round trip every time one is
//! taken); it waits only for its last checkpoint, asking until the answer is yes. A later
//! checkpoint takes the place of one still waiting.

use std::time::{Duration, Instant};

use anyhow::Result;
use trendflow_dataflows::EventTime;

use crate::checkpoint::Checkpoint;
use crate::harness::worker::Feed;
use crate::kafka::source::dedup::{RememberedBefore, SeenTweets};
use crate::kafka::source::replay::Positions;

/// The job's side of the handshake: what it wrote for the tweets read so far, made durable on
/// request, and its word on whether that is done.
pub trait Durability {
    /// What the job had written when a flush was asked for.
    type Written;

    /// Starts making durable everything written so far, without waiting; says what that covers.
    fn flush(&mut self) -> Result<Self::Written>;

    /// Whether everything `written` covers is durable now, without waiting.
    fn is_durable(&mut self, written: &Self::Written) -> Result<bool>;
}

/// How often a stopping worker asks whether what it wrote before its last checkpoint is durable.
const DURABLE_POLL: Duration = Duration::from_millis(1);

/// A checkpoint taken, waiting for the flush that covers it.
struct Awaiting<W> {
    checkpoint: Checkpoint,
    /// What the job had written when the flush was asked for.
    written: W,
    /// How far remembering tweets had got then: the archive holds those once the flush is durable.
    remembered: RememberedBefore,
}

/// A worker's checkpoints: when one is due, and the one waiting for the job's flush.
pub struct Checkpoints<D: Durability> {
    every: Duration,
    awaiting: Option<Awaiting<D::Written>>,
}

impl<D: Durability> Checkpoints<D> {
    /// A checkpoint every `every`.
    pub fn new(every: Duration) -> Self {
        Checkpoints { every, awaiting: None }
    }

    /// Whether a checkpoint is due at `now`: none is waiting, and the last one of `positions`
    /// was taken at least `every` ago.
    pub fn due(&self, positions: &Positions, now: Instant) -> bool {
        self.awaiting.is_none() && now.duration_since(positions.taken()) >= self.every
    }

    /// Asks `job` to flush, and takes a checkpoint of `positions` for the rankings published up
    /// to `output_frontier` (the worker's `last` if so), to hand over once the flush is durable.
    /// Without a new checkpoint, one still waiting waits for this flush instead.
    pub fn take(
        &mut self,
        job: &mut D,
        positions: &mut Positions,
        seen: &SeenTweets,
        output_frontier: Option<EventTime>,
        last: bool,
    ) -> Result<()> {
        let written = job.flush()?;
        let remembered = seen.mark();
        let checkpoint = positions.checkpoint(output_frontier, last).or(self.awaiting.take().map(|a| a.checkpoint));
        self.awaiting = checkpoint.map(|checkpoint| Awaiting { checkpoint, written, remembered });
        Ok(())
    }

    /// Hands the waiting checkpoint to `feed` if `job` says what it covers is durable, and tells
    /// `seen` that the archive holds what was remembered before it. On the worker's `last` round,
    /// waits until it is.
    pub fn hand_over(
        &mut self,
        job: &mut D,
        seen: &mut SeenTweets,
        feed: &mut dyn Feed<Checkpoint>,
        last: bool,
    ) -> Result<()> {
        let Some(awaiting) = self.awaiting.take() else { return Ok(()) };
        let durable = loop {
            let durable = job.is_durable(&awaiting.written)?;
            if durable || !last {
                break durable;
            }
            std::thread::sleep(DURABLE_POLL);
        };
        match durable {
            true => {
                seen.archived(awaiting.remembered);
                feed.checkpoint(awaiting.checkpoint);
            }
            false => self.awaiting = Some(awaiting),
        }
        Ok(())
    }
}
