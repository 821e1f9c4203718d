//! Every input the fuzzers found (`fuzz/regressions/TARGET/`), replayed through the check its
//! fuzz target runs (`trendflow::fuzzing`): a finding, once fixed, stays fixed. `scripts/fuzz.sh`
//! runs the fuzzers themselves.

use std::collections::BTreeSet;
use std::path::PathBuf;

use trendflow::fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn names_in(dir: &str, suffix: &str) -> BTreeSet<String> {
    std::fs::read_dir(fuzz_dir().join(dir))
        .unwrap_or_else(|e| panic!("reading fuzz/{dir}: {e}"))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().trim_end_matches(suffix).to_string())
        .collect()
}

#[test]
fn every_fuzz_target_has_its_check_and_its_regressions() {
    let checks: BTreeSet<String> = TARGETS.iter().map(|(name, _)| name.to_string()).collect();
    assert_eq!(names_in("fuzz_targets", ".rs"), checks);
    assert_eq!(names_in("regressions", ""), checks);
}

#[test]
fn every_input_the_fuzzers_found_passes_its_check() {
    let mut failed = Vec::new();
    for (target, check) in TARGETS {
        let inputs = names_in(&format!("regressions/{target}"), "");
        assert!(!inputs.is_empty(), "fuzz/regressions/{target} holds no inputs");
        for input in inputs {
            let path = fuzz_dir().join("regressions").join(target).join(&input);
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                failed.push(format!("{target}/{input}"));
            }
        }
    }
    assert!(failed.is_empty(), "checks fail again on fuzz/regressions/{{{}}}", failed.join(", "));
}
