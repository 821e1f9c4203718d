//! trendflow's differential dataflow graph: windowed rankings of hashtags, tweets and languages.
//!
//! Both of trendflow's layers run this one graph: the speed layer over tweets as they arrive
//! from Kafka, the batch layer over the full history in MySQL. Nothing here knows where tweets come
//! from or where rankings go — no Kafka, no MySQL, no clock — which is what makes the two layers'
//! views identical by construction. The pieces:
//!
//! * [`tweet`]: the tweet, its event time, and the graph's input record, its [`Contribution`];
//! * [`hashtags`]: hashtag extraction by Twitter's rules;
//! * [`symbol`]: the interned strings hashtags and languages are kept as;
//! * [`window`]: window specs and which windows hold a moment;
//! * [`config`]: what the graph computes and how often, and the [`config::ViewSet`] it is known by;
//! * [`graph`]: the graph itself, from tweets to [`graph::Views`];
//! * [`top_k`]: the hierarchical top-K reduction the rankings use;
//! * [`publish`]: rankings out of the graph, as they change and as windows close;
//! * [`views`]: the rows of each view, ordered by rank, and [`views::FinalViews`] to compare runs.

#![warn(missing_docs)]

pub mod config;
pub mod graph;
pub mod hashtags;
pub mod publish;
pub mod symbol;
pub mod top_k;
pub mod tweet;
pub mod views;
pub mod window;

#[cfg(feature = "reference")]
pub mod reference;
#[cfg(feature = "reference")]
pub mod testing;

pub use tweet::{Contribution, EventTime, Tweet};
