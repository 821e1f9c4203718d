//! Stopping cleanly on Ctrl-C or SIGTERM: jobs poll a flag instead of dying mid-write.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};

/// A flag that turns true on the first Ctrl-C or SIGTERM. A second signal ends the process at once,
/// for a job that does not stop fast enough.
pub fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("stopping: finishing in-flight work (signal again to abort)");
    })
    .context("installing the Ctrl-C handler")?;
    Ok(stop)
}
