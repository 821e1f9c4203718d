//! Cheap deterministic randomness: mixing an index into draws, and the distributions the generator needs.

use rand::rngs::Xoshiro256PlusPlus;
use rand::Rng;

/// SplitMix64's finaliser: spreads nearby inputs over the whole range.
pub(super) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A uniform draw in `[0, 1)` from 53 random bits.
pub(super) fn unit(draw: u64) -> f64 {
    (draw >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A draw in `0..n` by multiply-and-shift: one multiplication, and a bias below 2^-40 for the
/// small `n` used here.
pub(super) fn below(rng: &mut Xoshiro256PlusPlus, n: u64) -> u64 {
    ((rng.next_u64() as u128 * n as u128) >> 64) as u64
}

/// A user in `1..=users`, log-uniformly: user k is drawn about 1/k as often as user 1, the
/// heavy tail of activity real accounts show.
pub(super) fn log_uniform_user(draw: u64, users: u32, users_ln: f64) -> u64 {
    let user = (unit(draw) * users_ln).exp() as u64;
    user.clamp(1, users as u64)
}
