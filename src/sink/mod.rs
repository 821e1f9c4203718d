//! Sinks: turn rankings and tweets into external effects.

pub mod console;
pub mod kafka;
pub mod mysql;
