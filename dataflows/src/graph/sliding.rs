//! The sliding pass: from tweets to the records of each window length's state.
//!
//! A tweet enters a length's state at its first tick after it and leaves it a length later (see
//! [`crate::graph`]). Hashtag occurrences and posts are made into those records after they are
//! exchanged to the worker that ranks them; languages, a few dozen, straight away. With the
//! trending view, the input's earliest event time tells which baselines reach back before it.

use std::hash::Hash;

use differential_dataflow::hashable::Hashable;
use differential_dataflow::{AsCollection, ExchangeData, VecCollection as Collection};
use rustc_hash::FxHashMap;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::{Operator, OutputBuilder};
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::StreamVec;
use timely::progress::Antichain;

use super::tallies::{Occurrence, TweetEvent};
use crate::config::GraphConfig;
use crate::symbol::Symbol;
use crate::window::enters_at;
use crate::{Contribution, EventTime};

/// What the sliding pass makes of a batch of tweets: the entries of the hashtag and tweet states
/// (each at its tweet's first boundary of the finest tick), the records of the language state for
/// each window length, and with trending the batch's earliest time.
pub(super) struct SlidingStates<'scope> {
    /// Each hashtag occurrence, entering.
    pub(super) occurrences: Collection<'scope, EventTime, (Symbol, Occurrence)>,
    /// Each tweet's language, entering and leaving each length's state.
    pub(super) languages: Collection<'scope, EventTime, (u64, (Symbol, ()))>,
    /// Each post and retweet, of the tweet it ranks.
    pub(super) tweets: Collection<'scope, EventTime, (u64, TweetEvent)>,
    /// With trending, the earliest event time of each batch of tweets, a millisecond after it: what
    /// [`earliest_event`] needs, without a copy of every contribution. Trending or not, its
    /// frontier follows the input's, and is empty once the input has ended.
    pub(super) batch_times: StreamVec<'scope, EventTime, EventTime>,
}

/// Turns each contribution, in one pass, into what the three sliding states need: its hashtag
/// occurrences and its post or retweet once, as entries at the tweet's first boundary of the
/// finest tick (the greatest common divisor of every length's tick), which [`window_states`]
/// makes into each length's records once they are exchanged; and its language's records for
/// each length, entering the state at the first tick after the tweet and leaving it `length`
/// later. Languages are ranked whole per length, one worker each, so there is nothing to gain by
/// exchanging them first.
///
/// One operator reads each tweet once: three would each receive a deep copy of every
/// contribution. The records of each batch of tweets are consolidated before they go on: tweets
/// of one tick enter (and leave) at the same time, so a batch holds a language or a popular
/// hashtag many times over, and one record with the summed multiplicity is far cheaper to
/// exchange and rank.
///
/// Its outputs tell timely that every record comes at least a millisecond after the tweets it
/// is made of (each enters at a boundary after its tweet; a batch's earliest time is sent a
/// millisecond after itself). Downstream, a tick is then complete once the input frontier has
/// passed the tick's tweets, not only once it has passed the tick's end: without the promise,
/// the tweets of a batch's last millisecond but one would wait for the next batch of input.
pub(super) fn sliding_states<'scope>(
    contributions: Collection<'scope, EventTime, Contribution>,
    config: &GraphConfig,
) -> SlidingStates<'scope> {
    let ticks = config.ticks().to_vec();
    let finest = config.finest_tick();
    let mut builder = OperatorBuilder::new(
        "Sliding: hashtag occurrences, tweets by language, posts and retweets".to_string(),
        contributions.inner.scope(),
    );
    let mut input = builder.new_input(contributions.inner, Pipeline);
    let (mut occurrences_output, occurrences) = vec_output(&mut builder);
    let (mut languages_output, languages) = vec_output(&mut builder);
    let (mut tweets_output, tweets) = vec_output(&mut builder);
    let (mut batch_times_output, batch_times) = vec_output(&mut builder);
    let trending = config.trending().is_some();
    builder.build(move |_| {
        let mut occurrence_entries = Consolidated::default();
        let mut language_records = Consolidated::default();
        let mut tweet_entries = Consolidated::default();
        move |_frontiers| {
            let (mut occurrences, mut languages, mut tweets) =
                (occurrences_output.activate(), languages_output.activate(), tweets_output.activate());
            let mut batch_times = batch_times_output.activate();
            input.for_each(|capability, contributions| {
                let Some(earliest) = contributions.iter().map(|(_, time, _)| *time).min() else { return };
                // Every record, the batch's earliest time too, comes after its tweet, as the
                // outputs' connections promise.
                let after = earliest + 1;
                if trending {
                    let at = capability.delayed(&after, batch_times.output_index());
                    batch_times.session(&at).give(earliest);
                }
                for (tweet, time, diff) in contributions.drain(..) {
                    let entry = enters_at(time, finest);
                    for hashtag in &tweet.hashtags {
                        occurrence_entries.add((hashtag.clone(), Occurrence::Enters), entry, diff);
                    }
                    let event = match tweet.retweet_of {
                        Some(original) => (original, TweetEvent::Retweeted),
                        None => (tweet.id, TweetEvent::Posted { hashtags: tweet.hashtags.len() as u64 }),
                    };
                    tweet_entries.add(event, entry, diff);
                    for &(length, tick) in &ticks {
                        let enter = enters_at(time, tick);
                        let lang = (length, (tweet.lang.clone(), ()));
                        language_records.add(lang.clone(), enter, diff);
                        language_records.add(lang, enter + length, -diff);
                    }
                }
                let at = capability.delayed(&after, occurrences.output_index());
                occurrences.session(&at).give_iterator(occurrence_entries.drain());
                let at = capability.delayed(&after, languages.output_index());
                languages.session(&at).give_iterator(language_records.drain());
                let at = capability.delayed(&after, tweets.output_index());
                tweets.session(&at).give_iterator(tweet_entries.drain());
            });
        }
    });
    SlidingStates {
        occurrences: occurrences.as_collection(),
        languages: languages.as_collection(),
        tweets: tweets.as_collection(),
        batch_times,
    }
}

/// Exchanges each entry by its item, then makes it the records of every window length's state:
/// the event enters at the first tick after the entry's tweet and `leaves(event, diff)` happens
/// `length` later. An item's records all go to the worker that ranks the item's share (see
/// [`by_item`](crate::top_k::by_item)), so one exchanged entry takes the place of two records
/// per length.
///
/// An entry stands at its tweet's first boundary `e` of the finest tick, which divides every
/// length's tick: the tweet and `e - 1` lie in the same finest tick, so in the same tick of every
/// length, and enter each state at the same boundary.
pub(super) fn window_states<'scope, I, E>(
    entries: Collection<'scope, EventTime, (I, E)>,
    ticks: Vec<(u64, u64)>,
    name: &str,
    leaves: impl Fn(&E, isize) -> (E, isize) + 'static,
) -> Collection<'scope, EventTime, (u64, (I, E))>
where
    I: ExchangeData + Hash,
    E: ExchangeData,
{
    let by_item = Exchange::new(|((item, _), _, _): &((I, E), EventTime, isize)| item.hashed());
    entries
        .inner
        .unary(by_item, name, move |_, _| {
            move |input, output| {
                input.for_each(|capability, entries| {
                    let mut session = output.session(&capability);
                    for ((item, event), entry, diff) in entries.drain(..) {
                        // The same leaving event for every length: made once, cloned per length.
                        let (left, left_diff) = leaves(&event, diff);
                        for &(length, tick) in &ticks {
                            let enter = enters_at(entry - 1, tick);
                            session.give(((length, (item.clone(), event.clone())), enter, diff));
                            session.give(((length, (item.clone(), left.clone())), enter + length, left_diff));
                        }
                    }
                });
            }
        })
        .as_collection()
}

/// An output of an operator that gathers its records in vectors.
type VecOutput<D> = OutputBuilder<EventTime, CapacityContainerBuilder<Vec<D>>>;

/// A new output of `builder`, an operator of one input, whose records come at least a
/// millisecond after the input records they are made of, gathered in vectors; and its stream.
fn vec_output<'scope, D: Clone + 'static>(
    builder: &mut OperatorBuilder<'scope, EventTime>,
) -> (VecOutput<D>, StreamVec<'scope, EventTime, D>) {
    let (output, stream) = builder.new_output_connection([(0, Antichain::from_elem(1))]);
    (OutputBuilder::from(output), stream)
}

/// One sliding state's records of a batch of tweets, their multiplicities summed by record and
/// time.
struct Consolidated<D>(FxHashMap<(D, EventTime), isize>);

impl<D> Default for Consolidated<D> {
    fn default() -> Self {
        Consolidated(FxHashMap::default())
    }
}

impl<D: Hash + Eq> Consolidated<D> {
    fn add(&mut self, record: D, time: EventTime, diff: isize) {
        *self.0.entry((record, time)).or_default() += diff;
    }

    /// Empties the batch: its records as updates, those whose changes cancelled out left out.
    fn drain(&mut self) -> impl Iterator<Item = (D, EventTime, isize)> + '_ {
        self.0.drain().filter(|(_, diff)| *diff != 0).map(|((record, time), diff)| (record, time, diff))
    }
}

/// The earliest event time of the whole input, sent to every worker a millisecond after that
/// time once no earlier tweet can come: whether a trending window's baseline reaches back before
/// the input starts. A millisecond after, as every record [`sliding_states`] makes: a tick's
/// trending rankings wait for this stream's frontier too.
/// It reads the earliest time of each batch of tweets, as [`sliding_states`] passes them on, and
/// each worker sends on its own earliest time once its input frontier has passed it, so the
/// operator's output is a record per worker, however long the stream.
pub(super) fn earliest_event<'scope>(
    batch_times: StreamVec<'scope, EventTime, EventTime>,
) -> StreamVec<'scope, EventTime, EventTime> {
    batch_times
        .unary_frontier(Pipeline, "Earliest: first event time", |capability, _| {
            let mut held = Some(capability);
            let mut earliest: Option<EventTime> = None;
            move |(input, frontier), output| {
                input.for_each(|_, times| {
                    for time in times.drain(..) {
                        earliest = Some(earliest.map_or(time, |earliest| earliest.min(time)));
                    }
                });
                let Some(capability) = held.as_mut() else { return };
                let frontier = frontier.frontier().first().copied();
                // Each time arrives a millisecond after itself, as the tweets' records do.
                match earliest {
                    // Nothing earlier can come: pass it on, and never send again.
                    Some(time) if frontier.is_none_or(|frontier| time < frontier) => {
                        output.session(&capability.delayed(&(time + 1))).give(time);
                        held = None;
                    }
                    _ => match earliest.map(|time| time + 1).into_iter().chain(frontier).min() {
                        Some(time) => capability.downgrade(&time),
                        None => held = None,
                    },
                }
            }
        })
        .broadcast()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// An entry at its tweet's first boundary of the finest tick enters every length's state
        /// where the tweet itself would: what lets `window_states` make the records after the
        /// exchange.
        #[test]
        fn an_entry_enters_every_state_at_its_tweets_own_boundary(
            time in 0u64..10_000_000,
            finest in 1u64..5_000,
            multiples in proptest::collection::vec(1u64..20, 1..4),
        ) {
            let entry = enters_at(time, finest);
            for tick in multiples.into_iter().map(|multiple| multiple * finest) {
                proptest::prop_assert_eq!(enters_at(entry - 1, tick), enters_at(time, tick));
            }
        }
    }
}
