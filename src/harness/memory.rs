//! The process's peak resident memory, for the summaries jobs print.

/// Peak resident set size in bytes (`VmHWM`), where the platform reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    status_bytes("/proc/self/status", "VmHWM:")
}

/// Resident set size now, in bytes (`VmRSS`), where the platform reports it.
pub fn rss_bytes() -> Option<u64> {
    status_bytes("/proc/self/status", "VmRSS:")
}

/// Resident set size of process `pid` now, in bytes, where the platform reports it.
pub fn rss_bytes_of(pid: u32) -> Option<u64> {
    status_bytes(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// A size field of a process's `status` file, which the kernel gives in KiB.
fn status_bytes(path: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
