//! The stream's archive: the tweets a worker consumes, on their way into the master dataset,
//! written by a thread of the worker's own.
//!
//! A batch of a few thousand tweets is one MySQL transaction of tens of milliseconds. Written on
//! the worker's thread, it held up consuming and the graph once a second, and every tweet that
//! arrived meanwhile waited for it. The worker now hands tweets over and goes on; at a checkpoint
//! it asks whether what it handed over before is stored, without waiting for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use crossbeam_channel::{bounded, RecvTimeoutError, Sender};

use crate::mysql::MysqlConfig;
use crate::mysql::{StoredTweet, TweetWriter};

/// What a worker hands its archive's thread.
enum Handed {
    Tweet(StoredTweet),
    /// Write what is queued now: a checkpoint waits for it.
    Flush,
}

/// The tweets handed over before a moment: the first this many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandedBefore(u64);

/// Tweets on their way into the master dataset, written in batches of `batch` tweets, or at least
/// every `every` so that a slow trickle is stored too, by a thread of their own.
pub struct Archive {
    tweets: Option<Sender<Handed>>,
    handed: u64,
    /// How many of the handed tweets are stored, in the order they were handed over.
    stored: Arc<AtomicU64>,
    writer: Option<JoinHandle<Result<()>>>,
}

impl Archive {
    /// An archive writing through a connection of its own; every tweet it stores, or finds stored
    /// with its values, is counted in `archived` too (the job's total).
    pub fn start(config: &MysqlConfig, batch: usize, every: Duration, archived: Arc<AtomicU64>) -> Result<Self> {
        // What the stream archives came from the tweets topic: change capture must not send it
        // there again.
        let mut writer = TweetWriter::new(&config.unfollowed())?;
        // Room for a few batches: a worker far ahead of MySQL waits, as it did writing itself.
        let (tweets, handed) = bounded(batch * 4);
        let stored = Arc::new(AtomicU64::new(0));
        let counted = stored.clone();
        let mut write = move |pending: &mut Vec<StoredTweet>| -> Result<()> {
            if pending.is_empty() {
                return Ok(());
            }
            let count = pending.len() as u64;
            let written = writer.write(std::mem::take(pending)).context("archiving consumed tweets into MySQL")?;
            // The reader looks tweets up in the master dataset before it feeds them, and drops a
            // conflict there; one found here was read by another worker (a copy on another
            // partition) or stored by another writer meanwhile: first write wins all the same.
            for conflict in &written.conflicts {
                log::warn!("archive: {}", conflict.reason);
            }
            counted.fetch_add(count, Ordering::Release);
            archived.fetch_add(written.kept(), Ordering::Relaxed);
            Ok(())
        };
        let thread = std::thread::Builder::new()
            .name("archive".into())
            .spawn(move || {
                let mut pending = Vec::with_capacity(batch);
                let mut written = Instant::now();
                loop {
                    let flush = match handed.recv_timeout(every.saturating_sub(written.elapsed())) {
                        Ok(Handed::Tweet(tweet)) => {
                            pending.push(tweet);
                            pending.len() >= batch
                        }
                        Ok(Handed::Flush) | Err(RecvTimeoutError::Timeout) => true,
                        Err(RecvTimeoutError::Disconnected) => return write(&mut pending),
                    };
                    if flush {
                        write(&mut pending)?;
                        written = Instant::now();
                    }
                }
            })
            .context("starting the archive's thread")?;
        Ok(Archive { tweets: Some(tweets), handed: 0, stored, writer: Some(thread) })
    }

    /// Hands `tweet` over, waiting while a few batches are queued already.
    pub fn push(&mut self, tweet: StoredTweet) -> Result<()> {
        self.hand_over(Handed::Tweet(tweet))?;
        self.handed += 1;
        Ok(())
    }

    /// Has what is queued written now; [`stored`](Self::stored) tells when it is.
    pub fn flush(&mut self) -> Result<HandedBefore> {
        self.hand_over(Handed::Flush)?;
        Ok(HandedBefore(self.handed))
    }

    /// Whether every tweet of `handed` is stored. Fails if the archive's thread failed.
    pub fn stored(&mut self, handed: HandedBefore) -> Result<bool> {
        self.check()?;
        Ok(self.stored.load(Ordering::Acquire) >= handed.0)
    }

    /// Fails with the archive thread's error once it has failed.
    pub fn check(&mut self) -> Result<()> {
        match self.writer.as_ref().is_some_and(|writer| writer.is_finished()) {
            true => self.finish(),
            false => Ok(()),
        }
    }

    /// Stores what is queued and ends the thread.
    pub fn finish(&mut self) -> Result<()> {
        self.tweets.take();
        match self.writer.take() {
            Some(writer) => writer.join().map_err(|_| anyhow!("the archive's thread panicked"))?,
            None => Ok(()),
        }
    }

    fn hand_over(&mut self, handed: Handed) -> Result<()> {
        let sent = self.tweets.as_ref().is_some_and(|tweets| tweets.send(handed).is_ok());
        match sent {
            true => Ok(()),
            // The thread ended: with its error, which finishing returns.
            false => self.finish().and_then(|()| Err(anyhow!("the archive is closed"))),
        }
    }
}
