#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trendflow::fuzzing::seed_dump(data));
