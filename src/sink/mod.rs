//! Sinks: turn rankings into external effects.

pub mod console;
