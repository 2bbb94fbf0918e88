//! Spinning before sleeping: a thread that expects an answer within microseconds polls for it
//! a little rather than sleep, because waking a sleeping thread on another CPU costs tens of
//! microseconds on a VM. Used by REQ/REP blocking calls (`Socket::wait`) and by busy I/O
//! threads (`Reactor::watch`). Never with a single CPU, where the spinner would only keep the
//! thread it waits for off the CPU.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// More than one CPU to run on (the process's affinity counts).
static MULTI_CPU: LazyLock<bool> =
    LazyLock::new(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1));

/// Calls `ready` until it returns true (then true) or `limit` has passed (then false). With a
/// single CPU, or a zero limit, returns false at once without calling it.
#[inline]
pub(crate) fn spin_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    if limit.is_zero() || !*MULTI_CPU {
        return false;
    }
    let start = Instant::now();
    loop {
        if ready() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_when_ready_or_at_the_limit() {
        let mut calls = 0;
        let got = spin_until(Duration::from_millis(100), || {
            calls += 1;
            calls == 3
        });
        assert_eq!(got, *MULTI_CPU);
        assert_eq!(calls, if *MULTI_CPU { 3 } else { 0 });
        let start = Instant::now();
        assert!(!spin_until(Duration::from_micros(200), || false));
        assert!(!*MULTI_CPU || start.elapsed() >= Duration::from_micros(200));
        assert!(!spin_until(Duration::ZERO, || true));
    }
}
