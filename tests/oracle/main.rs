//! An independent oracle for every view a user reads: top hashtags, top tweets, languages and
//! trending hashtags, final and live.
//!
//! `dataflows/tests/graph_matches_reference.rs` checks the graph against a reference that shares
//! the graph's hashtag extraction, its rows' ranking order and its trend score, so a mistake in any
//! of those would be made twice and pass. The oracle here (`oracle.rs`) shares no code with the
//! graph: it is written from DESIGN.md's "Hashtag extraction" and "View semantics" alone, with its
//! own extraction, comparators, formula and window membership, and reads the graph's rankings only
//! as data (`compare.rs`). Where DESIGN leaves a rule open it names the source it followed instead.
//!
//! * `generated`: a property test over tweets with tricky texts and retweets, many settings,
//!   arrival orders and worker counts;
//! * `seed`: the seed's real dump, with the seed tests' configurations.

mod compare;
mod generated;
mod oracle;
mod seed;
