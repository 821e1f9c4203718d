//! The process's peak resident memory, for the summaries jobs print.

/// Peak resident set size in bytes (`VmHWM`), where the platform reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    status_bytes("VmHWM:")
}

/// Resident set size now, in bytes (`VmRSS`), where the platform reports it.
pub fn rss_bytes() -> Option<u64> {
    status_bytes("VmRSS:")
}

/// A size field of `/proc/self/status`, which the kernel gives in KiB.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
