//! Time spent in each stage summed over threads, for `build --timings`
//! and the benchmark. Stages run in parallel, so wall time alone cannot
//! tell them apart.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Nanoseconds spent in one stage, summed over threads.
#[derive(Debug)]
pub struct CpuClock(AtomicU64);

impl CpuClock {
    /// A clock at zero.
    pub const fn new() -> Self {
        CpuClock(AtomicU64::new(0))
    }

    /// Runs `f`, adding its duration to the clock.
    pub fn time<T>(&self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let value = f();
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.0.fetch_add(nanos, Ordering::Relaxed);
        value
    }

    /// The time added since the last call, and a reset.
    pub fn take(&self) -> Duration {
        Duration::from_nanos(self.0.swap(0, Ordering::Relaxed))
    }
}

impl Default for CpuClock {
    fn default() -> Self {
        Self::new()
    }
}

/// Parsing and rendering Markdown, highlighting included.
pub static MARKDOWN: CpuClock = CpuClock::new();
/// Highlighting code blocks.
pub static HIGHLIGHT: CpuClock = CpuClock::new();
/// Rendering templates.
pub static TEMPLATES: CpuClock = CpuClock::new();
/// Writing files.
pub static WRITE: CpuClock = CpuClock::new();

/// Resets every clock.
pub fn reset() {
    for clock in [&MARKDOWN, &HIGHLIGHT, &TEMPLATES, &WRITE] {
        clock.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_add_and_reset() {
        let clock = CpuClock::new();
        clock.time(|| std::thread::sleep(Duration::from_millis(5)));
        assert!(clock.take() >= Duration::from_millis(5));
        assert_eq!(clock.take(), Duration::ZERO);
    }
}
