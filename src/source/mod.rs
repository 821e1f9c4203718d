//! Sources: turn external bytes into `Tweet`s.

pub mod files;
pub mod formats;
pub mod generator;
pub mod kafka;
pub mod limits;
pub mod mysql;
pub mod resume;
pub mod seed_dump;
pub mod seed_tweet;
