//! Flags a user gets wrong: each refused with one line that names what is wrong and what would be
//! right, before any work starts. No service is needed.

use crate::common::{run_bounded, trendflow};

/// Runs `trendflow demo` with `flags` over a few tweets; returns its exit success and stderr.
fn demo(flags: &[&str]) -> (bool, String) {
    let ended = run_bounded(trendflow(&[&["demo", "--tweets", "100", "-q"], flags].concat()));
    (ended.status.success(), ended.stderr)
}

#[test]
fn bad_trend_settings_are_refused_naming_themselves_not_the_tick() {
    for (flags, said) in [
        (&["--trend-min-count", "0"][..], "the trending minimum count must be at least 1"),
        (&["--trend-baseline", "0s"][..], "the trend baseline must be positive"),
        (
            &["--trend-baseline", "1500ms"][..],
            "trend baseline 1500ms is not a multiple of the tick 1s; choose one that is, such as 2s",
        ),
        (&["--tick", "7s"][..], "tick 7s does not divide"),
    ] {
        let (succeeded, stderr) = demo(flags);
        assert!(!succeeded, "{flags:?} was taken");
        assert!(stderr.contains(said), "{flags:?}: {stderr}");
        assert!(!stderr.contains("--tick:"), "{flags:?} blamed on --tick: {stderr}");
    }
    let (succeeded, stderr) = demo(&["--no-trending", "--trend-baseline", "1h"]);
    assert!(!succeeded && stderr.contains("cannot be used with"), "{stderr}");
}
