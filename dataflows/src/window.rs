//! Windows over event time: which windows a tweet belongs to, and how a spec is written.
//!
//! A [`WindowSpec`] of length L and slide S defines the windows `[E - L, E)` for every `E` that is
//! a multiple of S. A tweet at time `t` belongs to each such window with `E - L <= t < E`: `L / S`
//! windows when S divides L, one when the window is tumbling (`L == S`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::EventTime;

/// Length and slide of a family of windows, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WindowSpec {
    length_ms: u64,
    slide_ms: u64,
}

/// One window: its spec and the (exclusive) end of its interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Window {
    /// The family this window belongs to.
    pub spec: WindowSpec,
    /// The window covers `[end - length, end)`; `end` is a multiple of the slide.
    pub end: EventTime,
}

impl WindowSpec {
    /// A spec of the given length and slide, both in milliseconds.
    ///
    /// Both must be positive; a slide longer than the length would leave gaps no window covers,
    /// which nobody wants from a trending view, so it is rejected too.
    pub fn new(length_ms: u64, slide_ms: u64) -> Result<Self, WindowError> {
        if length_ms == 0 || slide_ms == 0 {
            return Err(WindowError::NotPositive);
        }
        if slide_ms > length_ms {
            return Err(WindowError::Gaps { length: format_duration(length_ms), slide: format_duration(slide_ms) });
        }
        Ok(WindowSpec { length_ms, slide_ms })
    }

    /// A tumbling spec: windows of `length_ms` that do not overlap.
    pub fn tumbling(length_ms: u64) -> Result<Self, WindowError> {
        Self::new(length_ms, length_ms)
    }

    /// The window length in milliseconds.
    pub fn length_ms(&self) -> u64 {
        self.length_ms
    }

    /// The slide (distance between consecutive window ends) in milliseconds.
    pub fn slide_ms(&self) -> u64 {
        self.slide_ms
    }

    /// The windows of this spec that contain `time`, in increasing order of their end.
    ///
    /// ```
    /// use trendflow_dataflows::window::WindowSpec;
    /// let spec: WindowSpec = "5m/1m".parse().unwrap();
    /// let ends: Vec<u64> = spec.windows_containing(90_000).map(|w| w.end).collect();
    /// assert_eq!(ends, vec![120_000, 180_000, 240_000, 300_000, 360_000]);
    /// ```
    pub fn windows_containing(self, time: EventTime) -> impl Iterator<Item = Window> {
        // The first end strictly after `time`, then every slide while the window still reaches back to `time`.
        let first_end = enters_at(time, self.slide_ms);
        let last_end = time.saturating_add(self.length_ms);
        (0..)
            .map(move |i| first_end + i * self.slide_ms)
            .take_while(move |end| *end <= last_end)
            .map(move |end| Window { spec: self, end })
    }
}

impl Window {
    /// The first instant the window covers.
    pub fn start(&self) -> EventTime {
        self.end.saturating_sub(self.spec.length_ms)
    }
}

/// Parses `LENGTH/SLIDE` (`5m/1m`, `1h/5m`, `30s/10s`) or a lone `LENGTH` for a tumbling window.
/// Units: `ms`, `s`, `m`, `h`, `d`.
impl FromStr for WindowSpec {
    type Err = WindowError;

    fn from_str(text: &str) -> Result<Self, WindowError> {
        let (length, slide) = match text.split_once('/') {
            Some((length, slide)) => (parse_duration(length)?, parse_duration(slide)?),
            None => {
                let length = parse_duration(text)?;
                (length, length)
            }
        };
        WindowSpec::new(length, slide)
    }
}

/// Writes the spec back in the form [`FromStr`] reads: `5m/1m`, or `1m` when tumbling.
impl fmt::Display for WindowSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.length_ms == self.slide_ms {
            write!(f, "{}", format_duration(self.length_ms))
        } else {
            write!(f, "{}/{}", format_duration(self.length_ms), format_duration(self.slide_ms))
        }
    }
}

const UNITS: [(&str, u64); 5] = [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];

/// Parses a duration such as `90s`, `5m` or `250ms` into milliseconds.
///
/// ```
/// use trendflow_dataflows::window::{format_duration, parse_duration};
/// assert_eq!(parse_duration("90s"), Ok(90_000));
/// assert_eq!(format_duration(90_000), "90s");
/// assert_eq!(format_duration(3_600_000), "1h");
/// assert!(parse_duration("5 minutes").unwrap_err().to_string().contains("such as 5m or 30s"));
/// ```
pub fn parse_duration(text: &str) -> Result<u64, WindowError> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let unreadable = || WindowError::Duration(text.to_string());
    let number: u64 = number.parse().map_err(|_| unreadable())?;
    let scale = UNITS.iter().find(|(name, _)| *name == unit).map(|(_, scale)| *scale).ok_or_else(unreadable)?;
    number.checked_mul(scale).ok_or_else(|| WindowError::TooLong(text.to_string()))
}

/// Why a duration or a window spec could not be read; each says what would be right.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// A length or slide of zero.
    #[error("window length and slide must be positive")]
    NotPositive,
    /// A slide longer than the length (durations as written).
    #[error(
        "window slide {slide} is longer than its length {length}: windows would leave gaps; use LENGTH/SLIDE with SLIDE <= LENGTH"
    )]
    Gaps {
        /// The window's length.
        length: String,
        /// The window's slide.
        slide: String,
    },
    /// Not a number and a unit.
    #[error("invalid duration '{0}': expected a number and a unit (ms, s, m, h, d), such as 5m or 30s")]
    Duration(String),
    /// More milliseconds than fit.
    #[error("duration '{0}' is too long")]
    TooLong(String),
}

/// The greatest common divisor: the longest step that lands on every multiple of both, such as
/// the tick that divides a window's length and slide.
///
/// ```
/// assert_eq!(trendflow_dataflows::window::gcd(300_000, 120_000), 60_000);
/// assert_eq!(trendflow_dataflows::window::gcd(0, 7), 7);
/// ```
pub fn gcd(a: u64, b: u64) -> u64 {
    match b {
        0 => a,
        _ => gcd(b, a % b),
    }
}

/// The first boundary of `tick` after `time`: where a tweet of that time enters a state that
/// moves by `tick`, and the end of the first window of slide `tick` that holds it.
pub(crate) fn enters_at(time: EventTime, tick: u64) -> EventTime {
    (time / tick + 1) * tick
}

/// Writes milliseconds in the largest unit that divides them exactly.
pub fn format_duration(ms: u64) -> String {
    let (unit, scale) = UNITS.iter().find(|(_, scale)| ms % scale == 0 && ms > 0).copied().unwrap_or(("ms", 1));
    format!("{}{unit}", ms / scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tweet_belongs_to_every_window_whose_interval_holds_it() {
        let spec = WindowSpec::new(300_000, 60_000).unwrap();
        for t in [0, 1, 59_999, 60_000, 61_234, 1_000_000_007] {
            let windows: Vec<Window> = spec.windows_containing(t).collect();
            assert_eq!(windows.len(), 5, "t = {t}");
            for w in &windows {
                assert!(w.start() <= t && t < w.end, "{t} not in [{}, {})", w.start(), w.end);
                assert_eq!(w.end % 60_000, 0);
            }
        }
    }

    #[test]
    fn a_tumbling_window_holds_each_tweet_once() {
        let spec: WindowSpec = "1m".parse().unwrap();
        let windows: Vec<u64> = spec.windows_containing(60_000).map(|w| w.end).collect();
        assert_eq!(windows, vec![120_000]);
        let windows: Vec<u64> = spec.windows_containing(59_999).map(|w| w.end).collect();
        assert_eq!(windows, vec![60_000]);
    }

    #[test]
    fn a_length_that_is_no_multiple_of_the_slide_still_follows_the_definition() {
        let spec = WindowSpec::new(150, 100).unwrap();
        let ends = |t| spec.windows_containing(t).map(|w| w.end).collect::<Vec<_>>();
        assert_eq!(ends(0), vec![100]);
        assert_eq!(ends(60), vec![100, 200]);
        assert_eq!(ends(149), vec![200]);
    }

    #[test]
    fn specs_parse_and_print_back() {
        for (text, length, slide) in [
            ("5m/1m", 300_000, 60_000),
            ("1h/5m", 3_600_000, 300_000),
            ("1m", 60_000, 60_000),
            ("90s/30s", 90_000, 30_000),
        ] {
            let spec: WindowSpec = text.parse().unwrap();
            assert_eq!((spec.length_ms(), spec.slide_ms()), (length, slide));
            assert_eq!(spec.to_string(), text);
        }
    }

    #[test]
    fn bad_specs_say_what_would_be_right() {
        assert!("5x".parse::<WindowSpec>().unwrap_err().to_string().contains("expected a number and a unit"));
        assert!("1m/5m".parse::<WindowSpec>().unwrap_err().to_string().contains("SLIDE <= LENGTH"));
        assert!("0s".parse::<WindowSpec>().unwrap_err().to_string().contains("positive"));
        assert!("".parse::<WindowSpec>().is_err());
    }
}
