//! Sources: turn external bytes into `Tweet`s — generated ([`generator`]), the seed's dump
//! ([`seed_dump`]) and files of real-world formats ([`files`], [`formats`]) — under one set of
//! input rules ([`crate::limits`]), which the stored history ([`crate::mysql::history`]) and the
//! `tweets` topic ([`crate::kafka::source`]) follow too.

pub mod files;
pub mod formats;
pub mod generator;
pub mod seed_dump;
pub mod seed_tweet;
