//! Sources: turn external bytes into `Tweet`s — generated ([`generator`]), the seed's dump
//! ([`seed_dump`]), files of real-world formats ([`files`], [`formats`]), the stored history
//! ([`mysql`]) and the `tweets` topic ([`kafka`]) — under one set of input rules ([`crate::limits`]).

pub mod files;
pub mod formats;
pub mod generator;
pub mod kafka;
pub mod mysql;
pub mod seed_dump;
pub mod seed_tweet;
